/* acl.h - client address to policy (dns64, forward, refuse, drop; NAT64 prefix) by longest match */
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
	bool has_prefix; /* "NETWORK dns64 PREFIX" */
	struct nat64_prefix prefix;
	unsigned line;
};

/* Rules kept sorted most specific first, so the first match is the longest match. */
struct acl {
	struct acl_rule *rules;
	size_t n;
};

/* Parse ACL text ("NETWORK ACTION [PREFIX]" per line, '#' comments). path names the file in
 * errors. A duplicate network is an error; PREFIX is only allowed with dns64.
 * Returns 0 or -EINVAL with "PATH:LINE: ..." lines in *err. */
int acl_parse(const char *path, const char *text, struct acl *out, struct errbuf *err);

/* Install the default ACL: 127.0.0.0/8 and ::1/128 dns64. */
int acl_default(struct acl *out);

/* Longest-prefix match of a client address (family and bytes as from addr_raw, so
 * IPv4-mapped sources arrive as AF_INET). Returns the rule, or NULL (= refuse). */
const struct acl_rule *acl_match(const struct acl *acl, int family, const uint8_t *addr);

void acl_free(struct acl *acl);

const char *acl_action_name(enum acl_action a);

#endif
