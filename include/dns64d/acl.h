/* acl.h - client address to policy (dns64, forward, refuse, drop; NAT64 prefixes) by longest match */
#ifndef DNS64D_ACL_H
#define DNS64D_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns64d/addr.h"
#include "dns64d/prefix.h"

struct errbuf;

enum acl_action { ACL_DNS64 = 0, ACL_FORWARD, ACL_REFUSE, ACL_DROP };

struct acl_rule {
	struct network net;
	enum acl_action action;
	bool filter_a;       /* "NETWORK dns64 [PREFIX ...] filter-a": A is NODATA when AAAA exists */
	unsigned n_prefixes; /* "NETWORK dns64 PREFIX ...": how many; 0 = the default set */
	size_t prefix_at;    /* the rule's prefixes are acl.prefixes[prefix_at ..] */
	unsigned line;
};

/* Rules kept sorted most specific first, so the first match is the longest match.
 * prefixes: the prefixes the rules name, a rule's in the order written (rules with the same
 * list as the rule before them share it). acl_parse fills only .p (with .line the ACL line
 * and no mapped or exclude rules); acl_resolve gives them their options. */
struct acl {
	struct acl_rule *rules;
	size_t n;
	struct synth_prefix *prefixes;
	size_t n_prefixes;
};

/* Parse ACL text ("NETWORK ACTION [PREFIX ...] [filter-a]" per line, '#' comments). path
 * names the file in errors. A duplicate network is an error; prefixes (at most
 * PREFIX_SET_MAX, no repeats) and filter-a are only allowed with dns64.
 * Returns 0 or -EINVAL with "PATH:LINE: ..." lines in *err. */
int acl_parse(const char *path, const char *text, struct acl *out, struct errbuf *err);

/* Give the ACL's prefixes their rules: a prefix equal (address and length) to one of
 * lines[] (the config's `prefix` lines) becomes a copy of it, options and all; any other
 * takes *global (the global mapped and exclude; global->p.suffix the global suffix, set when
 * global->own has PREFIX_OWN_SUFFIX; its address and length unused), where the suffix
 * applies to prefixes shorter than /96 and must fit them. path names the ACL file in errors.
 * Returns 0 or -EINVAL with "PATH:LINE: ..." lines in *err. */
int acl_resolve(struct acl *acl, const char *path, const struct synth_prefix *lines, size_t n_lines,
                const struct synth_prefix *global, struct errbuf *err);

/* The prefixes of rule r, when it names any (else the caller's default set): *n of them. */
const struct synth_prefix *acl_rule_prefixes(const struct acl *acl, const struct acl_rule *r, size_t *n);

/* Install the default ACL: 127.0.0.0/8 and ::1/128 dns64. */
int acl_default(struct acl *out);

/* Longest-prefix match of a client address (family and bytes as from addr_raw, so
 * IPv4-mapped sources arrive as AF_INET). Returns the rule, or NULL (= refuse). */
const struct acl_rule *acl_match(const struct acl *acl, int family, const uint8_t *addr);

void acl_free(struct acl *acl);

const char *acl_action_name(enum acl_action a);

#endif
