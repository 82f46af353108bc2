/* dns64.h - RFC 6052 address embedding and RFC 6147 synthesis decisions; pure, no I/O
 *
 * How one AAAA query from a dns64 client flows through here (request.c drives it):
 *   1. dns64_decide() looks at the upstream AAAA answer and says PASS (send it as is),
 *      FILTER (send it without the excluded AAAA records) or SYNTH (look up A, then
 *      dns64_synthesize()).
 *   2. dns64_synthesize() turns the A answer into the AAAA answer the client gets.
 * PTR queries under a synthesis prefix's ip6.arpa go through dns64_ptr_target().
 */
#ifndef DNS64D_DNS64_H
#define DNS64D_DNS64_H

#include <stdbool.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "dns64d/config.h"
#include "dns64d/prefix.h"

/* Well-Known Prefix 64:ff9b::/96 (RFC 6052 §2.1). */
extern const struct nat64_prefix dns64_wkp;

bool dns64_prefix_len_valid(unsigned len);
bool dns64_prefix_is_wkp(const struct nat64_prefix *p);

/* RFC 6052 §2.2 embedding of v4 into prefix p (u-octet, bits 64-71, zero; then p's suffix). */
void dns64_embed(const struct nat64_prefix *p, const uint8_t v4[4], uint8_t out[16]);

/* Inverse of dns64_embed. Returns 0, or -ENOENT if v6 is not inside p. */
int dns64_extract(const struct nat64_prefix *p, const uint8_t v6[16], uint8_t v4[4]);

/* False for RFC 6890 special-purpose space that is not globally reachable:
 * 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24,
 * 192.88.99/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4 (multicast), 240/4 (incl. broadcast). */
bool dns64_ipv4_is_global(const uint8_t v4[4]);

/* May this A address be synthesized with prefix sp? With a mapped list: only what it allows
 * (first match wins, a negated match refuses, no match refuses). Without one: with the WKP
 * only global addresses; with a network-specific prefix everything. */
bool dns64_ipv4_may_synth(const struct synth_prefix *sp, const uint8_t v4[4]);

/* True if v6 lies in an exclude network of every prefix of the set (n >= 1): a real AAAA a
 * client may use with any of its prefixes is kept, as BIND does for a client of several
 * dns64 blocks. */
bool dns64_ipv6_excluded(const struct synth_prefix *set, size_t n, const uint8_t v6[16]);

/* True if name (uncompressed wire, any case) equals domain or lies under it
 * (domain is lowercased wire, as in struct dname). */
bool dns64_name_under(const uint8_t *name, size_t name_len, const struct dname *domain);

enum dns64_verdict {
	DNS64_PASS = 0, /* hand the AAAA answer to the client unchanged */
	DNS64_FILTER,   /* hand it on without the excluded AAAA records */
	DNS64_SYNTH,    /* look up A and synthesize */
};

/* Why synthesis did not happen; for metrics and the query log. */
enum dns64_reason {
	DNS64_REASON_NONE = 0, /* synthesized */
	DNS64_REASON_REAL_AAAA,
	DNS64_REASON_NXDOMAIN,
	DNS64_REASON_NO_A,
	DNS64_REASON_EXCLUDED,   /* partly excluded AAAA: others returned */
	DNS64_REASON_NON_GLOBAL, /* every A was non-global (WKP) or outside mapped */
	DNS64_REASON_CD_DO,
	DNS64_REASON_NO_SYNTH,
	DNS64_REASON_FORWARD_ONLY,
	DNS64_REASON_RCODE, /* upstream error and synth-on nodata, or DNSSEC EDE */
	DNS64_REASON_NOT_AAAA,
	DNS64_REASON_NOT_RECURSIVE, /* recursive-only and the query had RD=0 */
	DNS64_REASON_SIGNED_A,      /* break-dnssec no, DO=1 and the A answer is signed */
	DNS64_REASON_COUNT
};
const char *dns64_reason_name(enum dns64_reason r);

/* What dns64_decide looks at. */
struct dns64_facts {
	int rcode;           /* upstream AAAA rcode; -1 when every upstream timed out/failed */
	unsigned n_aaaa;     /* AAAA records (class IN) in the answer section */
	unsigned n_excluded; /* how many of those lie in the exclusion set */
	bool dnssec_ede;     /* the answer carries EDE 6..12 */
	bool do_bit, cd_bit; /* client's */
	bool synth_all;      /* name is under a synth-all domain */
	bool no_synth;       /* name is under a no-synth domain */
	enum synth_on synth_on;
};

/* RFC 6147 §5.1.1-5.1.3 and §5.5 trigger decision, plus synth-all / no-synth / synth-on.
 * Order: CD+DO -> PASS; no-synth -> PASS; NXDOMAIN -> PASS; synth-all -> SYNTH;
 * NOERROR with non-excluded AAAA -> PASS (or FILTER if some were excluded);
 * NOERROR with none usable -> SYNTH; other rcode or -1: DNSSEC EDE -> PASS,
 * synth-on nodata -> PASS, else SYNTH. *why gets the reason when not SYNTH. */
enum dns64_verdict dns64_decide(const struct dns64_facts *f, enum dns64_reason *why);

/* Count AAAA records of the answer section and how many of them the set excludes. */
void dns64_count_aaaa(const struct synth_prefix *set, size_t n_set, const ldns_pkt *aaaa, unsigned *n,
                      unsigned *n_excluded);

/* True if the packet's OPT carries an Extended DNS Error with info code 6..12. */
bool dns64_has_dnssec_ede(const ldns_pkt *pkt);

/* Remove the AAAA records the set excludes (and RRSIGs covering AAAA) from the answer section. */
void dns64_filter_excluded(const struct synth_prefix *set, size_t n_set, ldns_pkt *aaaa);

/* Would dns64_synthesize make at least one AAAA of this A answer with the set? */
bool dns64_synthesizable(const struct synth_prefix *set, size_t n_set, const ldns_pkt *a);

/* filter-a: answer an A query NODATA? Yes when the client's AAAA query for the name would
 * get AAAA records: real ones (f: the AAAA answer's facts, as for dns64_decide) or
 * synthesized ones (dns64_decide says SYNTH and a_synthesizable: the A answer holds an
 * address the client's prefixes synthesize and nothing, such as break-dnssec, stops it). */
bool dns64_filter_a(const struct dns64_facts *f, bool a_synthesizable);

/* The NODATA answer of filter-a for the A answer a: question and CNAME/DNAME chain of a,
 * no A records or their RRSIGs, the SOA of a's authority section (else aaaa's, which may be
 * NULL) for the negative TTL; NOERROR, AD=0. Returns 0 and *out (caller frees) or -ENOMEM. */
int dns64_filter_a_answer(const ldns_pkt *a, const ldns_pkt *aaaa, ldns_pkt **out);

/* Build the synthesized answer (RFC 6147 §5.1.4-5.1.7, §5.3, §5.4, §5.5) with the client's
 * prefix set (n_set >= 1, in order).
 * aaaa: the upstream AAAA answer (may be NULL when every upstream failed).
 * a:    the upstream A answer for the same qname.
 * The result is a new packet: question as in a but qtype AAAA; answer = a's answer in order,
 * CNAME/DNAME kept, each A becomes one AAAA per prefix of the set that may synthesize it
 * (dns64_ipv4_may_synth), in the set's order, with the same owner,
 * class and TTL min(A TTL, T) where T is the AAAA negative answer's SOA TTL bound
 * (min(SOA TTL, SOA MINIMUM)) if aaaa has a SOA in authority, else 600;
 * A records that may not be synthesized are dropped; RRSIGs covering A are dropped;
 * authority and additional copied from a (without OPT); rcode NOERROR; AD=0; AA=0.
 * Returns 0 and *out (caller frees), *n_synth = AAAA records made, *used (may be NULL) bit i
 * set when prefix i made one; -ENOENT when no AAAA could be made (*why: NO_A, or NON_GLOBAL
 * if A records existed). */
int dns64_synthesize(const struct synth_prefix *set, size_t n_set, const ldns_pkt *aaaa, const ldns_pkt *a,
                     ldns_pkt **out, unsigned *n_synth, unsigned *used, enum dns64_reason *why);

/* ---- the same on stored wire messages (dns64_wire.c), for the request driver's hot path ---- */

struct msg_meta;

/* What synthesis needs of the upstream AAAA answer (a stored message, its TTLs aged by
 * elapsed_s): its AAAA records (and how many the set excludes), and the SOA bound of §5.1.7. */
struct dns64_wire_facts {
	unsigned n_aaaa, n_excluded;
	bool have_soa;
	uint32_t soa_bound; /* min(SOA TTL, SOA MINIMUM) of the authority's first SOA */
};
void dns64_wire_aaaa_facts(const struct synth_prefix *set, size_t n_set, const struct msg_meta *m,
                           uint32_t elapsed_s, struct dns64_wire_facts *f);

/* break-dnssec no (BIND's semantics): a query with DO=1 whose A answer (a stored message)
 * carries RRSIGs over A is not synthesized. True when that rule stops synthesis. */
bool dns64_wire_keep_signed(bool break_dnssec, bool do_bit, const struct msg_meta *a);

/* dns64_synthesize() from the stored A answer a (TTLs aged by elapsed_s) and the AAAA
 * answer's facts (NULL: none known, so 600 s bounds the TTL): the synthesized message is
 * written to out (cap bytes; DNS_MAX_MSG is always enough) as DNS wire, id 0, without OPT,
 * its names compressed where a's were. Returns 0 and *out_len; -ENOENT as
 * dns64_synthesize() does (*why); -ENOBUFS when it does not fit; -EBADMSG for a message
 * wire_store() would not have stored. */
int dns64_synthesize_wire(const struct synth_prefix *set, size_t n_set, const struct dns64_wire_facts *aaaa,
                          const struct msg_meta *a, uint32_t elapsed_s, uint8_t *out, size_t cap, size_t *out_len,
                          unsigned *n_synth, unsigned *used, enum dns64_reason *why);

/* The variant bytes of a synthesized answer's cache key: the config generation, then each
 * prefix of the set (length, then its len/8 address bytes). out holds at least
 * DNS64_VARIANT_MAX bytes. Returns the length. */
#define DNS64_VARIANT_MAX (4 + PREFIX_SET_MAX * 13)
size_t dns64_synth_variant(const struct synth_prefix *set, size_t n_set, unsigned generation, uint8_t *out);

/* TTL rule of §5.1.7: min(a_ttl, soa_bound) when have_soa, else min(a_ttl, 600). */
uint32_t dns64_ttl(uint32_t a_ttl, bool have_soa, uint32_t soa_bound);

/* PTR (§5.3.1): if qname (uncompressed wire, any case) is the full 32-nibble ip6.arpa name of
 * an address inside p, write the matching "d.c.b.a.in-addr.arpa." wire name into target
 * (at least 30 bytes) and return its length; else return 0. */
size_t dns64_ptr_target(const struct nat64_prefix *p, const uint8_t *qname, size_t qname_len, uint8_t *target);

/* dns64_ptr_target for the first prefix of the set the name lies under. */
size_t dns64_ptr_target_set(const struct synth_prefix *set, size_t n_set, const uint8_t *qname, size_t qname_len,
                            uint8_t *target);

#endif
