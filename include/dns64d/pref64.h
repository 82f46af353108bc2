/* pref64.h - the NAT64 prefixes routers advertise (RFC 8781 PREF64 in RAs); pure, no I/O
 *
 * pref64_parse_ra() reads the PREF64 options out of the ICMPv6 part of a Router
 * Advertisement; a pref64_table remembers what was advertised, per interface, until each
 * prefix's lifetime ends, and says which one is in use: the one advertised most recently
 * (the first of an RA's options before its later ones). An older prefix still within its
 * lifetime takes over again when the newer one is withdrawn (lifetime 0) or expires. The
 * clock is a parameter (milliseconds of a monotonic clock).
 */
#ifndef DNS64D_PREF64_H
#define DNS64D_PREF64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns64d/prefix.h"

#define PREF64_OPTION_TYPE  38    /* RFC 8781 §4 */
#define PREF64_LIFETIME_MAX 65528 /* 13 bits of 8-second units */
#define PREF64_OPTIONS_MAX  8     /* PREF64 options taken from one RA; more are ignored */
#define PREF64_TABLE_MAX    8     /* prefixes remembered at once, all interfaces together */

/* One valid PREF64 option: the prefix (bits past its length zero) and its lifetime. */
struct pref64_option {
	struct nat64_prefix prefix;
	uint32_t lifetime_s; /* 0: withdrawn */
};

/* What one RA held. */
struct pref64_ra {
	struct pref64_option opt[PREF64_OPTIONS_MAX];
	size_t n;
	unsigned ignored; /* PREF64 options that were malformed (length, PLC, u-octet) or too many */
};

/* Parse the ICMPv6 message msg (type, code, checksum, ...) of an RA. The RA itself must be
 * well formed (RFC 4861 §6.1.2: type 134, code 0, 16 bytes or more, every option with a
 * non-zero length inside the message); -EINVAL otherwise, and nothing in it counts. A PREF64
 * option whose Length is not 2, whose Prefix Length Code is 6 or 7, or whose /96 prefix has a
 * non-zero u-octet (RFC 6052 §2.2) is ignored (counted in ignored). Returns 0. */
int pref64_parse_ra(const uint8_t *msg, size_t len, struct pref64_ra *out);

/* Build one PREF64 option (16 bytes) into out: the lifetime is rounded up to 8-second units
 * and capped at PREF64_LIFETIME_MAX. For tests and tools. Returns 0, or -EINVAL for a length
 * RFC 8781 cannot encode. */
int pref64_build_option(const struct nat64_prefix *p, uint32_t lifetime_s, uint8_t out[16]);

struct pref64_entry {
	struct nat64_prefix prefix;
	unsigned iface;      /* the caller's interface index (position in its list) */
	uint64_t expires_ms; /* when the lifetime ends */
	uint64_t order;      /* larger: advertised more recently */
};

struct pref64_table {
	struct pref64_entry e[PREF64_TABLE_MAX];
	size_t n;
	uint64_t next_order;
};

/* An RA from interface iface at now_ms: each option refreshes (or adds) its prefix for that
 * interface, a lifetime 0 removes it. When the table is full the entry that would expire first
 * makes room. */
void pref64_table_update(struct pref64_table *t, unsigned iface, const struct pref64_ra *ra, uint64_t now_ms);

/* Drop the entries whose lifetime ended at or before now_ms. Returns how many. */
unsigned pref64_table_expire(struct pref64_table *t, uint64_t now_ms);

/* The prefix in use at now_ms: the most recently advertised entry still within its lifetime,
 * or NULL when there is none. */
const struct pref64_entry *pref64_table_current(const struct pref64_table *t, uint64_t now_ms);

/* When the next entry expires (UINT64_MAX: the table is empty). */
uint64_t pref64_table_next_expiry(const struct pref64_table *t);

/* Do two prefixes differ (length or bits)? */
bool pref64_differ(const struct nat64_prefix *a, const struct nat64_prefix *b);

#endif
