/* prefix.h - a NAT64 prefix (RFC 6052) and its parser; pure, no I/O */
#ifndef DNS64D_PREFIX_H
#define DNS64D_PREFIX_H

#include <stdint.h>

/* A NAT64 prefix (RFC 6052): len is one of 32, 40, 48, 56, 64, 96; bits past len are zero. */
struct nat64_prefix {
	uint8_t addr[16];
	unsigned len;
};

/* Parse "64:ff9b::/96"; lengths other than 32/40/48/56/64/96, host bits set or a non-zero
 * u-octet (bits 64-71) are errors. Returns 0 or -EINVAL with *why set. */
int nat64_prefix_parse(const char *s, struct nat64_prefix *out, const char **why);

#endif
