/* revzone.h - the ip6.arpa reverse zones of the synthesis prefixes: what a name in them is; pure, no I/O
 *
 * For every prefix dns64d synthesizes with, dns64d is authoritative for that prefix's ip6.arpa
 * zone (RFC 6147 section 5.3.1, as BIND's dns64 reverse zones). The zone's apex is the nibble
 * name of the prefix's bits (every RFC 6052 length is a multiple of 4). A name at or under an
 * apex is one of:
 *   apex        the zone's own name: SOA and NS
 *   ENT         fewer than 32 nibbles that can still begin an address dns64d synthesizes (an
 *               empty non-terminal): NODATA with the zone's SOA, never forwarded
 *   address     32 nibbles of an address dns64d could have synthesized: a CNAME to the
 *               in-addr.arpa name of the embedded IPv4 address, followed upstream
 *   ipv4only    the address of 192.0.0.170 or 192.0.0.171 in the prefix: PTR ipv4only.arpa.
 *               (RFC 8880 sections 7.1 and 7.2), no CNAME
 *   impossible  anything else under the apex: a label that is not one hex digit, more than 32
 *               nibbles, a non-zero u-octet (bits 64-71, prefixes shorter than /96), bits after
 *               the IPv4 address that differ from the suffix (all zero: there is no suffix
 *               support yet): NXDOMAIN with the zone's SOA
 * Only the structure of the name counts: an address whose IPv4 part would not be synthesized
 * (mapped, non-global) or that is excluded still counts as an address.
 * A dns64 client is served the zones of its own prefixes (RFC 6147 section 5.3.1 speaks of
 * "the" prefix the DNS64 uses for it): a name in another client's prefix zone is not its
 * business and goes upstream as before. When zones nest (a prefix inside another prefix's
 * zone), the deepest zone decides.
 *
 * Where the prefixes come from is known in one place only, revzone_foreach_prefix().
 */
#ifndef DNS64D_REVZONE_H
#define DNS64D_REVZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"
#include "dns64d/prefix.h"

#define REVZONE_APEX_MAX 58 /* wire length of the deepest apex: 24 nibble labels and ip6.arpa. */

enum revzone_kind {
	REVZONE_OUTSIDE = 0, /* not at or under the apex */
	REVZONE_APEX,
	REVZONE_ENT,
	REVZONE_ADDRESS,
	REVZONE_IPV4ONLY,
	REVZONE_IMPOSSIBLE,
};

/* What a name is in which zone. */
struct revzone_match {
	enum revzone_kind kind;
	const struct nat64_prefix *prefix; /* the zone's prefix (points into what the caller gave) */
	size_t apex_off;                   /* where the apex starts in the name; not for OUTSIDE */
	uint8_t v4[4];                     /* ADDRESS, IPV4ONLY: the embedded IPv4 address */
};

/* Classify qname (uncompressed wire, any case) against the zone of prefix p and fill *m.
 * Returns m->kind; REVZONE_OUTSIDE for a name outside the zone or a prefix of a length
 * RFC 6052 does not define. */
enum revzone_kind revzone_classify(const struct nat64_prefix *p, const uint8_t *qname, size_t qname_len,
                                   struct revzone_match *m);

/* The apex of p's zone in wire form into wire (REVZONE_APEX_MAX bytes); returns its length,
 * 0 for a prefix length RFC 6052 does not define. */
size_t revzone_apex(const struct nat64_prefix *p, uint8_t *wire);

/* Call fn for each synthesis prefix of a dns64 client whose ACL rule is rule: the rule's own
 * prefix, else cfg->prefix (none for a rule that is not dns64). With rule NULL: every prefix
 * dns64d synthesizes with under cfg, the prefix of each dns64 rule that names one, in rule
 * order, then cfg->prefix when some dns64 rule uses the default (the same prefix may come
 * more than once). Stops when fn returns non-zero and returns that value; 0 otherwise.
 * This is the one place that knows where a client's prefixes live. */
int revzone_foreach_prefix(const struct config *cfg, const struct acl_rule *rule,
                           int (*fn)(const struct nat64_prefix *p, void *arg), void *arg);

/* The deepest zone of those prefixes (revzone_foreach_prefix) holding qname, as
 * revzone_classify() says it; REVZONE_OUTSIDE when none does (names not under ip6.arpa are
 * turned away at once). */
enum revzone_kind revzone_find(const struct config *cfg, const struct acl_rule *rule, const uint8_t *qname,
                               size_t qname_len, struct revzone_match *m);

/* For a REVZONE_ADDRESS name of those zones: write "d.c.b.a.in-addr.arpa." (wire, at least 30
 * bytes) into target and return its length; 0 for every other name. */
size_t revzone_ptr_target(const struct config *cfg, const struct acl_rule *rule, const uint8_t *qname, size_t qname_len,
                          uint8_t *target);

#endif
