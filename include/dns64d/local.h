/* local.h - the answers dns64d gives without asking upstream; pure, no I/O
 *
 * How a query flows through here (the request driver calls local_answer() after the ACL and
 * the query checks, before the cache and upstream):
 *   1. Class CH (CHAOS) is never forwarded: version.bind, version.server, hostname.bind and
 *      id.server TXT are answered (or REFUSED with hide-version / hide-identity), every other
 *      CHAOS question is REFUSED.
 *   2. The operator's local data (local-data, hosts; localdata.h): a local name is answered
 *      with its records of the type asked (CNAMEs followed inside the local data), or NODATA
 *      with its SOA (its own, or "NAME. 3600 IN SOA localhost. nobody.invalid. 1 3600 1200
 *      604800 3600"); an AAAA query of a dns64 client goes through dns64_decide() and
 *      dns64_synthesize() as an upstream answer would (synthesized from the name's A records).
 *      Names under a local name without records of their own are not local (Unbound's
 *      "transparent"). Local data wins over the built-in zones and the RFC 6303 defaults.
 *   3. Otherwise the ordered list of local zones is walked; the first zone that holds the
 *      query name (the apex itself or a name under it) answers, with its own handler:
 *        resolver.arpa.                   RFC 9462: _dns.resolver.arpa SVCB names the listen-tls
 *                                         endpoints (ddr.h), NODATA for other types; NXDOMAIN
 *                                         for it without listen-tls and for other names (never
 *                                         forwarded: an upstream's designation loses DNS64)
 *        ipv4only.arpa.                   RFC 8880 §7.2: A 192.0.0.170/171, synthesized AAAA for
 *                                         a dns64 client, NODATA for other types (SOA and NS
 *                                         included), NXDOMAIN below it
 *        localhost.                       RFC 6761 §6.3: A 127.0.0.1 and AAAA ::1 at the name and
 *                                         at every name under it
 *        127.in-addr.arpa.                PTR localhost. for 1.0.0.127, NXDOMAIN for the rest of
 *                                         127/8 (Unbound's default local zone)
 *        1.0.0...0.ip6.arpa. (::1)        PTR localhost.
 *        invalid.                         RFC 6761 §6.4: NXDOMAIN below it
 *        170.0.0.192.in-addr.arpa. and    RFC 8880 §7.1: PTR ipv4only.arpa. at the apex
 *        171.0.0.192.in-addr.arpa.
 *      Before the built-in zones (after CHAOS), for dns64 clients: the ip6.arpa zone of each
 *      of the client's synthesis prefixes (revzone.h): SOA and NS at the apex (reverse-server, reverse-contact),
 *      NODATA at empty non-terminals, NXDOMAIN for names that can never be a synthesized
 *      address, PTR ipv4only.arpa. for the prefix applied to 192.0.0.170/171, a lone CNAME
 *      for an address asked for another type than PTR; the PTR of an address goes upstream
 *      through request.c (CNAME to in-addr.arpa), and the walk stops there.
 *      Each zone's apex answers SOA and NS (but ipv4only.arpa, see above); other types get
 *      NODATA, and names that do not exist NXDOMAIN, with the zone's SOA
 *      ("NAME. 10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800") in the
 *      authority section. The zones hold records of class IN only: a query of another class
 *      for a local name gets no records (NODATA, or NXDOMAIN where the name does not exist)
 *      and never leaks upstream.
 *   4. RFC 6303 (local_reverse_zone_match()): the reverse zones of private and special
 *      addresses answer SOA and NS at the apex ("@ 10800 IN SOA @ nobody.invalid. 1 3600 1200
 *      604800 10800", "@ 10800 IN NS @"), NODATA there for other types and for names above
 *      local data, NXDOMAIN for every other name, unless local-reverse-zones is no. A PTR
 *      name inside a dns64 client's own prefix is left to request.c's synthesis path.
 *   5. Nothing holds the name: local_answer() returns 0 and the query goes upstream.
 *
 * Adding more local answers (issue 15's local-data / hosts and RFC 6303 reverse zones,
 * issue 17's reverse zones of the synthesis prefixes): a source of zones is one more entry in
 * the ordered step list of local.c: a function that, given the config and the query, finds the
 * zone holding the name (from tables built at config load, e.g. cfg->local_data, or computed
 * from cfg's prefixes) and fills the packet with the same helpers the built-in zones use (SOA,
 * NODATA/NXDOMAIN, records). Order is the precedence: CHAOS, ipv4only.arpa, then config data
 * (local-data, hosts, prefix reverse zones: what the operator wrote wins over defaults), then
 * the built-in RFC 6761 zones, then the RFC 6303 defaults (skipped where a forward zone covers
 * the name). The step list is the only place that knows the order.
 */
#ifndef DNS64D_LOCAL_H
#define DNS64D_LOCAL_H

#include <stdbool.h>

#include <ldns/ldns.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"
#include "dns64d/wire.h"

#define LOCAL_SOA_TTL    10800 /* TTL and SOA MINIMUM of the built-in local zones (as Unbound) */
#define LOCAL_V4ONLY_TTL 86400 /* A/AAAA records of ipv4only.arpa (RFC 8880 §7.2) */

/* What the request tells the local step about the client. */
struct local_client {
	bool dns64;                          /* the ACL gave this client dns64 */
	const struct synth_prefix *prefixes; /* the client's prefix set; valid when dns64 */
	size_t n_prefixes;
	/* The client's ACL rule, whose prefixes' reverse zones it is served (revzone.h); NULL: the
	 * zones of every synthesis prefix of the config. */
	const struct acl_rule *rule;
	/* Not about the client but about this host: the daemon's host name (gethostname() at
	 * start, the caller's string), used for id.server / hostname.bind when cfg->identity is
	 * NULL. NULL then means REFUSED. */
	const char *hostname;
	/* The address the query was sent to (NULL or ss_family 0: unknown): the address hint of a
	 * wildcard listen-tls in the DDR answer. */
	const struct sockaddr_storage *local;
};

/* Answer q locally if it is ours. Returns 1 with *out set (an ldns packet with the question,
 * QR, AA as appropriate, RA, rcode and sections filled; the caller renders and frees it), 0
 * when the query is not a local name (go on upstream; also the PTR of a synthesized address
 * in a prefix's reverse zone, whose CNAME the request follows upstream), or a negative errno
 * (-ENOMEM: the caller answers SERVFAIL). *synthesized is set when the answer is a synthesized AAAA
 * (ipv4only.arpa for a dns64 client), cleared otherwise.
 * q is a parsed query (wire_parse_query() said WIRE_OK); meta types are the caller's. */
int local_answer(const struct config *cfg, const struct query *q, const struct local_client *cl, ldns_pkt **out,
                 bool *synthesized);

/* Is name (uncompressed wire, any case) answered by the RFC 6303 defaults under cfg (a name
 * at or under one of localdata_reverse_zone_match()'s zones, with local-reverse-zones yes)?
 * *apex_off is then the offset of the zone's apex in name. Local data and the built-in zones
 * come first in the step list; a forward zone covering the name must make this false. */
bool local_reverse_zone_match(const struct config *cfg, const uint8_t *name, size_t len, size_t *apex_off);

#endif
