/* prefix.h - a NAT64 prefix (RFC 6052) with its suffix and synthesis rules, and their parsers; pure, no I/O */
#ifndef DNS64D_PREFIX_H
#define DNS64D_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns64d/addr.h"

/* A NAT64 prefix (RFC 6052): len is one of 32, 40, 48, 56, 64, 96; bits past len are zero.
 * suffix holds the bits after the embedded IPv4 address (RFC 6052 §2.2 "suffix", BIND's
 * dns64 suffix): zero in the prefix, u-octet and IPv4 bytes; all zero for a /96. */
struct nat64_prefix {
	uint8_t addr[16];
	unsigned len;
	uint8_t suffix[16];
};

/* One entry of a mapped list: an IPv4 network, maybe negated ("!10.0.0.0/8"). */
struct mapped_net {
	struct network net;
	bool negate;
};

/* Bits of synth_prefix.own: options given on the prefix's own `prefix` line. */
#define PREFIX_OWN_SUFFIX  0x1u
#define PREFIX_OWN_MAPPED  0x2u
#define PREFIX_OWN_EXCLUDE 0x4u

/* At most this many prefixes in one set (the default set, an ACL line). */
#define PREFIX_SET_MAX 8

/* A synthesis prefix with the rules it synthesizes by: a `prefix` line's options, the global
 * mapped / exclude / suffix where the line gives none. mapped: first match wins, a negated
 * match refuses; n_mapped 0 is the default rule (dns64.h). The arrays belong to the config. */
struct synth_prefix {
	struct nat64_prefix p;
	const struct mapped_net *mapped;
	size_t n_mapped;
	const struct network *exclude;
	size_t n_exclude;
	unsigned own;  /* PREFIX_OWN_*: what the prefix line itself said */
	unsigned line; /* the config line of the prefix; 0: not a prefix line (global options) */
};

/* Parse "64:ff9b::/96"; lengths other than 32/40/48/56/64/96, host bits set or a non-zero
 * u-octet (bits 64-71) are errors. The suffix is zero. Returns 0 or -EINVAL with *why set. */
int nat64_prefix_parse(const char *s, struct nat64_prefix *out, const char **why);

/* Same prefix (address and length; the suffix is not compared)? */
bool nat64_prefix_equal(const struct nat64_prefix *a, const struct nat64_prefix *b);

/* "2001:db8::/64" into buf (at least 64 bytes). Returns buf. */
char *nat64_prefix_format(const struct nat64_prefix *p, char *buf, size_t len);

/* An IPv6 address (a suffix) in hex groups, "::ff:ffff" (never the dotted IPv4 tail
 * inet_ntop gives such addresses), into buf (at least 46 bytes). Returns buf. */
char *nat64_suffix_format(const uint8_t a[16], char *buf, size_t len);

/* May suffix go with p (BIND's rule)? It must be zero in every byte of the prefix, the
 * u-octet and the IPv4 address, so a /96 takes only the zero suffix. Returns 0, or -EINVAL
 * with *why saying which bytes overlap. */
int nat64_suffix_check(const struct nat64_prefix *p, const uint8_t suffix[16], const char **why);

/* One mapped entry: "192.0.2.0/24", "!10.0.0.0/8", "any" (0.0.0.0/0), "!any"; IPv4 only.
 * Returns 0 or -EINVAL with *why set. */
int mapped_parse(const char *s, struct mapped_net *out, const char **why);

/* Does the mapped list allow v4? First match wins; a negated match or no match refuses. */
bool mapped_allows(const struct mapped_net *m, size_t n, const uint8_t v4[4]);

/* "!10.0.0.0/8" into buf (at least 64 bytes). Returns buf. */
char *mapped_format(const struct mapped_net *m, char *buf, size_t len);

#endif
