/* localdata.h - local-data records, hosts files and the RFC 6303 zone list; pure, no I/O
 *
 * The operator's own names (issue 15): `local-data "NAME [TTL] [IN] TYPE RDATA"` lines and
 * `hosts FILE` files (the /etc/hosts format) become one set of records, indexed by owner name.
 * It is built while the config loads (localdata_add_rr(), localdata_add_hosts(), then
 * localdata_finish()) and read-only afterwards: a struct config owns it, so every worker
 * thread reads it without locks and a reload builds a new one.
 *
 * A local name is an owner name of some record. Only local names themselves are local: like
 * Unbound's `transparent` local-zone (what Unbound creates for local-data without a
 * local-zone), a name under a local name that has no records of its own is resolved upstream.
 *
 * The RFC 6303 list (localdata_reverse_zone_match()) is the reverse space of private and
 * special-purpose addresses that local.c answers with NXDOMAIN instead of asking upstream.
 */
#ifndef DNS64D_LOCALDATA_H
#define DNS64D_LOCALDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "dns64d/errbuf.h"

#define LOCALDATA_TTL 3600 /* records without a TTL, hosts records, and the synthesized SOA */

struct localdata;

/* A new empty set. Returns 0 or -ENOMEM. */
int localdata_new(struct localdata **out);

/* Free ld and its records; NULL is fine. */
void localdata_free(struct localdata *ld);

/* Add one record from local-data text, "NAME [TTL] [IN] TYPE RDATA" in zone-file syntax (any
 * type ldns knows; names are absolute, with or without the final dot; TTL LOCALDATA_TTL when
 * not given). Class IN only; no meta types (OPT, TSIG, ANY, ...); rdata must be complete.
 * Returns 0, -EINVAL with the reason in why[len], or -ENOMEM. */
int localdata_add_rr(struct localdata *ld, const char *text, char *why, size_t len);

/* Add the records of hosts-file text: "ADDRESS NAME [NAME...]" per line, '#' to the end of
 * the line a comment, blank lines ignored. Each name gets an A (IPv4) or AAAA (IPv6) record
 * of the address, and the address's reverse name a PTR to the first name of the first line
 * that has the address. An IPv6 zone id ("fe80::1%eth0") is refused: an answer cannot carry
 * one. Every bad line is
 * reported as "PATH:LINE: what is wrong" in *err; the good lines are added all the same.
 * Returns 0, -EINVAL (errors in *err) or -ENOMEM. */
int localdata_add_hosts(struct localdata *ld, const char *path, const char *text, struct errbuf *err);

/* Sort and index the records (and drop exact duplicates); call after the last add and before
 * any lookup. May be called again after more adds. Returns 0 or -ENOMEM. */
int localdata_finish(struct localdata *ld);

/* Number of records; 0 for NULL. */
size_t localdata_count(const struct localdata *ld);

/* Cheap pre-check for the hot path: could name (uncompressed wire, any case) be a local
 * name? False means surely not (its top-level label is no local name's); NULL ld: false. */
bool localdata_maybe(const struct localdata *ld, const uint8_t *name, size_t len);

/* Is name (uncompressed wire, any case) a local name? Then *rrs points at its records (owned
 * by ld, owner names lowercased, sorted by type, in the order given within a type) and *n is
 * their count. NULL ld: false. */
bool localdata_find(const struct localdata *ld, const uint8_t *name, size_t len, ldns_rr *const **rrs, size_t *n);

/* Is some local name at or under name? (An RFC 6303 zone answers NODATA, not NXDOMAIN, for an
 * empty non-terminal above local data.) NULL ld: false. */
bool localdata_covers(const struct localdata *ld, const uint8_t *name, size_t len);

/* RFC 6303 §4 and the other special-purpose reverse zones Unbound serves by default:
 * 10, 16..31.172, 168.192, 254.169, 127, 0, 100.64/10 (64..127.100), 2.0.192, 100.51.198,
 * 113.0.203, 255.255.255.255 .in-addr.arpa; :: and ::1, d.f (fd00::/8), 8.e.f .. b.e.f
 * (fe80::/10), 8.b.d.0.1.0.0.2 (2001:db8::/32) .ip6.arpa.
 * Is name (uncompressed wire, any case) such a zone's apex or under it? Then *apex_off is the
 * offset of the apex inside name. This says only what the list holds: the caller decides
 * what wins over it (local data, a `forward` zone, `local-reverse-zones no`). */
bool localdata_reverse_zone_match(const uint8_t *name, size_t len, size_t *apex_off);

#endif
