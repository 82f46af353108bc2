/* local.c - the answers dns64d gives without asking upstream; pure, no I/O */
#include "dns64d/local.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns64d/ddr.h"
#include "dns64d/dns64.h"
#include "dns64d/revzone.h"
#include "dns64d/localdata.h"

#define DNS_C_CH  3
#define DNS_T_TXT 16
#define DNS_T_ANY 255

#define DNS_T_SVCB 64

#define DDR_TTL 300 /* of the SVCB records of _dns.resolver.arpa: a client re-checks now and then */

#define V4ONLY_SOA_TTL 3600 /* ipv4only.arpa's SOA, as before the move from request.c */

struct local_zone;

/* One query being looked up: what a step and a zone handler see. */
struct lookup {
	const struct config *cfg;
	const struct query *q;
	const struct local_client *cl;
	const struct local_zone *z; /* the zone holding the name, once found */
	size_t sub;                 /* bytes of the name before the zone's apex; 0 = the apex */
	bool synthesized;
};

/* A record of a built-in zone. rel is its owner relative to the apex (wire labels without the
 * apex; empty = the apex itself), rdata the type and data in presentation form. */
struct local_rr {
	const uint8_t *rel;
	size_t rel_len;
	uint16_t type;
	const char *rdata;
};

struct local_zone {
	const char *apex;    /* presentation form, for the SOA */
	const uint8_t *wire; /* lowercase wire form */
	size_t wire_len;
	uint32_t soa_ttl; /* TTL of the SOA and SOA MINIMUM */
	uint32_t ttl;     /* TTL of the zone's records */
	int (*answer)(struct lookup *lk, ldns_pkt *p);
	const struct local_rr *rrs; /* for static_zone() */
	size_t n_rrs;
};

/* ---- building the packet ---------------------------------------------------------------- */

static ldns_pkt *pkt_new(const struct query *q)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qrr = ldns_rr_new();
	ldns_rdf *owner = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, q->qname_len, q->qname);
	if (!p || !qrr || !owner) {
		ldns_pkt_free(p);
		ldns_rr_free(qrr);
		ldns_rdf_deep_free(owner);
		return NULL;
	}
	ldns_rr_set_owner(qrr, owner);
	ldns_rr_set_type(qrr, q->qtype);
	ldns_rr_set_class(qrr, q->qclass);
	ldns_rr_set_question(qrr, true);
	if (!ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr)) {
		ldns_rr_free(qrr);
		ldns_pkt_free(p);
		return NULL;
	}
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	return p;
}

/* Push rr into section s of p; the packet owns it from here, or it is freed. */
static int push(ldns_pkt *p, ldns_pkt_section s, ldns_rr *rr)
{
	if (!rr)
		return -ENOMEM;
	if (!ldns_pkt_push_rr(p, s, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	return 0;
}

/* A record with the given owner (wire) and one rdata field; rd is consumed. */
static ldns_rr *rr_rdf(const uint8_t *owner, size_t len, uint16_t type, uint16_t cls, uint32_t ttl, ldns_rdf *rd)
{
	ldns_rr *rr = rd ? ldns_rr_new() : NULL;
	ldns_rdf *o = rr ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, owner) : NULL;
	if (!o || !ldns_rr_push_rdf(rr, rd)) {
		ldns_rdf_deep_free(o);
		ldns_rr_free(rr);
		ldns_rdf_deep_free(rd);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, ttl);
	return rr;
}

/* A class IN record from presentation text ("PTR localhost."), owned by the given wire name
 * (the query name, in the client's case). */
static ldns_rr *rr_text(const uint8_t *owner, size_t len, uint32_t ttl, const char *rdata)
{
	char text[2304]; /* an SOA with two names of 255 bytes, each byte escaped as \DDD */
	ldns_rr *rr = NULL;
	snprintf(text, sizeof(text), ". %u IN %s", ttl, rdata);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, owner);
	if (!o) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, o);
	return rr;
}

static ldns_rr *soa_rr(const struct local_zone *z, const uint8_t *owner, size_t len)
{
	char rdata[96];
	snprintf(rdata, sizeof(rdata), "SOA localhost. nobody.invalid. 1 3600 1200 604800 %u", z->soa_ttl);
	return rr_text(owner, len, z->soa_ttl, rdata);
}

/* NODATA (NOERROR) or NXDOMAIN with the zone's SOA in the authority section (RFC 2308 §3). */
static int negative(struct lookup *lk, ldns_pkt *p, ldns_pkt_rcode rcode)
{
	ldns_pkt_set_rcode(p, rcode);
	return push(p, LDNS_SECTION_AUTHORITY, soa_rr(lk->z, lk->z->wire, lk->z->wire_len));
}

/* SOA and NS at the apex of a zone; returns 1 when it answered. */
static int apex_records(struct lookup *lk, ldns_pkt *p)
{
	const struct query *q = lk->q;
	if (lk->sub || q->qclass != DNS_C_IN)
		return 0;
	ldns_rr *rr;
	if (q->qtype == DNS_T_SOA)
		rr = soa_rr(lk->z, q->qname, q->qname_len);
	else if (q->qtype == DNS_T_NS)
		rr = rr_text(q->qname, q->qname_len, lk->z->ttl, "NS localhost.");
	else
		return 0;
	int rc = push(p, LDNS_SECTION_ANSWER, rr);
	return rc < 0 ? rc : 1;
}

/* ---- names ------------------------------------------------------------------------------ */

/* Is the query name the zone's apex or a name under it? *sub gets the bytes before the apex. */
static bool in_zone(const struct query *q, const struct local_zone *z, size_t *sub)
{
	size_t off = 0;
	while (off + z->wire_len < q->qname_len && q->qname[off])
		off += 1u + q->qname[off];
	if (off + z->wire_len != q->qname_len || !wire_name_equal(q->qname + off, z->wire_len, z->wire, z->wire_len))
		return false;
	*sub = off;
	return true;
}

/* Is the relative name a (sub bytes of the query name) an ancestor of rel, i.e. rel ends with
 * it at a label boundary? An empty a is the apex, an ancestor of everything. */
static bool rel_ancestor(const uint8_t *a, size_t alen, const uint8_t *rel, size_t rel_len)
{
	if (alen > rel_len)
		return false;
	size_t off = 0;
	while (off < rel_len - alen)
		off += 1u + rel[off];
	return off == rel_len - alen && wire_name_equal(rel + off, alen, a, alen);
}

/* ---- the built-in zones ----------------------------------------------------------------- */

/* A zone that holds its records and nothing else (Unbound's "static"): the records of the name
 * when there are some of the type; NODATA for a name that exists (it owns records, or it is an
 * empty non-terminal above one, or the apex); NXDOMAIN for any other name. */
static int static_zone(struct lookup *lk, ldns_pkt *p)
{
	const struct query *q = lk->q;
	int rc = apex_records(lk, p);
	if (rc)
		return rc < 0 ? rc : 0;
	bool exists = lk->sub == 0, answered = false;
	for (size_t i = 0; i < lk->z->n_rrs; i++) {
		const struct local_rr *r = &lk->z->rrs[i];
		if (!rel_ancestor(q->qname, lk->sub, r->rel, r->rel_len))
			continue;
		exists = true;
		if (r->rel_len != lk->sub || r->type != q->qtype || q->qclass != DNS_C_IN)
			continue;
		if ((rc = push(p, LDNS_SECTION_ANSWER, rr_text(q->qname, q->qname_len, lk->z->ttl, r->rdata))) < 0)
			return rc;
		answered = true;
	}
	if (answered)
		return 0;
	return negative(lk, p, exists ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
}

/* RFC 6761 §6.3: localhost. and every name under it are the loopback addresses. */
static int localhost_zone(struct lookup *lk, ldns_pkt *p)
{
	const struct query *q = lk->q;
	int rc = apex_records(lk, p);
	if (rc)
		return rc < 0 ? rc : 0;
	const char *rdata = NULL;
	if (q->qclass == DNS_C_IN && q->qtype == DNS_T_A)
		rdata = "A 127.0.0.1";
	else if (q->qclass == DNS_C_IN && q->qtype == DNS_T_AAAA)
		rdata = "AAAA ::1";
	if (!rdata)
		return negative(lk, p, LDNS_RCODE_NOERROR);
	return push(p, LDNS_SECTION_ANSWER, rr_text(q->qname, q->qname_len, lk->z->ttl, rdata));
}

/* RFC 8880 §7.2: A gives 192.0.0.170 and 192.0.0.171, AAAA their synthesis with each of the
 * client's prefixes (RFC 7050 §3: one AAAA per prefix) for a dns64 client; every other type
 * (SOA and NS too) NODATA, names under it NXDOMAIN. */
static int ipv4only_zone(struct lookup *lk, ldns_pkt *p)
{
	const struct query *q = lk->q;
	const struct local_client *cl = lk->cl;
	if (lk->sub)
		return negative(lk, p, LDNS_RCODE_NXDOMAIN);
	bool aaaa = q->qtype == DNS_T_AAAA && cl->dns64 && cl->n_prefixes;
	if (q->qclass != DNS_C_IN || !(q->qtype == DNS_T_A || aaaa))
		return negative(lk, p, LDNS_RCODE_NOERROR);
	for (uint8_t host = 170; host <= 171; host++) {
		for (size_t k = 0; k < (aaaa ? cl->n_prefixes : 1); k++) {
			uint8_t v4[4] = {192, 0, 0, host}, v6[16];
			ldns_rdf *rd;
			if (aaaa) {
				dns64_embed(&cl->prefixes[k].p, v4, v6);
				rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, v6);
			} else
				rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, v4);
			int rc = push(p, LDNS_SECTION_ANSWER,
			              rr_rdf(q->qname, q->qname_len, q->qtype, DNS_C_IN, lk->z->ttl, rd));
			if (rc < 0)
				return rc;
		}
	}
	lk->synthesized = aaaa;
	return 0;
}

static int invalid_zone(struct lookup *lk, ldns_pkt *p)
{
	/* RFC 6761 §6.4: nothing under invalid. exists; the apex itself answers as Unbound's
	 * static zone does (SOA, NS, NODATA), so the SOA we show is not of a name we deny */
	return static_zone(lk, p);
}

/* Wire literals, label lengths in octal: an octal escape ends after three digits, so
 * "\0011" is the label "1" (a hex escape would swallow the digit). */
#define W(s)  ((const uint8_t *)(s)), sizeof(s)
#define R(s)  ((const uint8_t *)(s)), (sizeof(s) - 1) /* relative: no root label */
#define ZERO8 "\0010\0010\0010\0010\0010\0010\0010\0010"

static const struct local_rr loopback4_rrs[] = {
        {R("\0011\0010\0010"), DNS_T_PTR, "PTR localhost."},
};
static const struct local_rr loopback6_rrs[] = {
        {R(""), DNS_T_PTR, "PTR localhost."},
};
static const struct local_rr v4only_rev_rrs[] = {
        {R(""), DNS_T_PTR, "PTR ipv4only.arpa."},
};

/* First match wins; no two of these zones nest. */
static const struct local_zone builtin_zones[] = {
        {"ipv4only.arpa.", W("\010ipv4only\004arpa"), V4ONLY_SOA_TTL, LOCAL_V4ONLY_TTL, ipv4only_zone, NULL, 0},
        {"localhost.", W("\011localhost"), LOCAL_SOA_TTL, LOCAL_SOA_TTL, localhost_zone, NULL, 0},
        {"127.in-addr.arpa.", W("\003127\007in-addr\004arpa"), LOCAL_SOA_TTL, LOCAL_SOA_TTL, static_zone, loopback4_rrs,
         1},
        {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
         W("\0011\0010\0010\0010\0010\0010\0010\0010" ZERO8 ZERO8 ZERO8 "\003ip6\004arpa"), LOCAL_SOA_TTL,
         LOCAL_SOA_TTL, static_zone, loopback6_rrs, 1},
        {"invalid.", W("\007invalid"), LOCAL_SOA_TTL, LOCAL_SOA_TTL, invalid_zone, NULL, 0},
        /* RFC 8880 section 7.1: the reverse names of the ipv4only.arpa addresses */
        {"170.0.0.192.in-addr.arpa.", W("\003170\0010\0010\003192\007in-addr\004arpa"), V4ONLY_SOA_TTL,
         LOCAL_V4ONLY_TTL, static_zone, v4only_rev_rrs, 1},
        {"171.0.0.192.in-addr.arpa.", W("\003171\0010\0010\003192\007in-addr\004arpa"), V4ONLY_SOA_TTL,
         LOCAL_V4ONLY_TTL, static_zone, v4only_rev_rrs, 1},
};

/* ---- resolver.arpa (RFC 9462) ----------------------------------------------------------- */

/* _dns.resolver.arpa SVCB: the listen-tls endpoints (ddr.c), NODATA for other types; every
 * other name under resolver.arpa is NXDOMAIN, and without listen-tls _dns.resolver.arpa too. */
static int resolver_zone(struct lookup *lk, ldns_pkt *p)
{
	const struct query *q = lk->q;
	int rc = apex_records(lk, p);
	if (rc)
		return rc < 0 ? rc : 0;
	if (lk->sub == 0)
		return negative(lk, p, LDNS_RCODE_NOERROR);
	bool dns = lk->sub == 5 && q->qname[0] == 4 && strncasecmp((const char *)q->qname + 1, "_dns", 4) == 0;
	if (!dns || lk->cfg->n_listen_tls == 0)
		return negative(lk, p, LDNS_RCODE_NXDOMAIN);
	struct ddr_record recs[DDR_RECORDS_MAX];
	int n = q->qtype == DNS_T_SVCB && q->qclass == DNS_C_IN
	                ? ddr_records(lk->cfg, lk->cl->local, recs, DDR_RECORDS_MAX)
	                : 0;
	if (n < 0)
		return n;
	if (n == 0)
		return negative(lk, p, LDNS_RCODE_NOERROR);
	for (int i = 0; i < n; i++) {
		/* the rdata as one opaque field: ldns must not compress the TargetName (RFC 9460 §2.2) */
		ldns_rdf *rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, recs[i].len, recs[i].rdata);
		if ((rc = push(p, LDNS_SECTION_ANSWER,
		               rr_rdf(q->qname, q->qname_len, DNS_T_SVCB, DNS_C_IN, DDR_TTL, rd))) < 0)
			return rc;
	}
	return 0;
}

/* resolver.arpa is always ours: a forwarder must not pass _dns.resolver.arpa on (RFC 9462
 * §6.5), or its clients would follow the upstream's designation and lose DNS64. */
static const struct local_zone resolver_arpa = {
        "resolver.arpa.", W("\010resolver\004arpa"), LOCAL_SOA_TTL, LOCAL_SOA_TTL, resolver_zone, NULL, 0};

/* ---- CHAOS ------------------------------------------------------------------------------ */

enum chaos_kind { CHAOS_VERSION, CHAOS_IDENTITY };

static const struct {
	const uint8_t *wire;
	size_t len;
	enum chaos_kind kind;
} chaos_names[] = {
        {W("\007version\004bind"), CHAOS_VERSION},
        {W("\007version\006server"), CHAOS_VERSION},
        {W("\010hostname\004bind"), CHAOS_IDENTITY},
        {W("\002id\006server"), CHAOS_IDENTITY},
};

/* The TXT text of a CHAOS name, or NULL for REFUSED. */
static const char *chaos_text(const struct lookup *lk, enum chaos_kind kind)
{
	const struct config *cfg = lk->cfg;
	if (kind == CHAOS_VERSION)
		return cfg->hide_version ? NULL : cfg->version ? cfg->version : "dns64d " DNS64D_VERSION;
	return cfg->hide_identity ? NULL : cfg->identity ? cfg->identity : lk->cl->hostname;
}

/* Class CH is never forwarded: the four names above with TXT (or ANY) are answered, as BIND
 * and Unbound do, with TTL 0; everything else in CHAOS, and a hidden name, is REFUSED. */
static int step_chaos(struct lookup *lk, ldns_pkt **out)
{
	const struct query *q = lk->q;
	if (q->qclass != DNS_C_CH)
		return 0;
	ldns_pkt *p = pkt_new(q);
	if (!p)
		return -ENOMEM;
	const char *text = NULL;
	for (size_t i = 0; i < sizeof(chaos_names) / sizeof(chaos_names[0]); i++)
		if (wire_name_equal(q->qname, q->qname_len, chaos_names[i].wire, chaos_names[i].len))
			text = chaos_text(lk, chaos_names[i].kind);
	if (!text || (q->qtype != DNS_T_TXT && q->qtype != DNS_T_ANY)) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_REFUSED);
		*out = p;
		return 1;
	}
	/* one character-string holds 255 bytes */
	uint8_t data[256];
	size_t n = strlen(text);
	if (n > 255)
		n = 255;
	data[0] = (uint8_t)n;
	memcpy(data + 1, text, n);
	int rc = push(p, LDNS_SECTION_ANSWER,
	              rr_rdf(q->qname, q->qname_len, DNS_T_TXT, DNS_C_CH, 0,
	                     ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, data)));
	if (rc < 0) {
		ldns_pkt_free(p);
		return rc;
	}
	ldns_pkt_set_aa(p, true);
	*out = p;
	return 1;
}

/* ---- the reverse zones of the synthesis prefixes (revzone.h) ----------------------------- */

#define REV_SOA_TTL   86400 /* TTL and MINIMUM of their SOA, BIND's for its dns64 zones */
#define REV_CNAME_TTL 600   /* a CNAME answered without its target (not PTR), as BIND's */
#define STEP_UPSTREAM 2     /* a step's "the name is ours, but its answer comes from upstream" */

static const char *rev_name(const char *configured)
{
	return configured ? configured : "."; /* BIND's default for dns64-server and -contact */
}

/* The zone's SOA, owned by its apex: MNAME reverse-server, RNAME reverse-contact (BIND's
 * dns64-server and dns64-contact), serial 0 and BIND's timers. */
static ldns_rr *rev_soa(const struct lookup *lk, const struct revzone_match *m)
{
	char rdata[2200];
	snprintf(rdata, sizeof(rdata), "SOA %s %s 0 28800 7200 604800 %u", rev_name(lk->cfg->reverse_server),
	         rev_name(lk->cfg->reverse_contact), REV_SOA_TTL);
	return rr_text(lk->q->qname + m->apex_off, lk->q->qname_len - m->apex_off, REV_SOA_TTL, rdata);
}

/* The one record a name of the zone has for the question, or NULL with *want false when it
 * has none (*want true and NULL: out of memory). */
static ldns_rr *rev_record(const struct lookup *lk, const struct revzone_match *m, bool *want)
{
	const struct query *q = lk->q;
	char rdata[1100];
	uint8_t target[32];
	size_t n;

	*want = q->qclass == DNS_C_IN;
	if (m->kind == REVZONE_APEX && q->qtype == DNS_T_SOA && *want)
		return rev_soa(lk, m);
	if (m->kind == REVZONE_APEX && q->qtype == DNS_T_NS && *want) {
		snprintf(rdata, sizeof(rdata), "NS %s", rev_name(lk->cfg->reverse_server));
		return rr_text(q->qname, q->qname_len, REV_SOA_TTL, rdata);
	}
	/* RFC 8880 section 7.1: the PTR itself, owned by the ip6.arpa name */
	if (m->kind == REVZONE_IPV4ONLY && q->qtype == DNS_T_PTR && *want)
		return rr_text(q->qname, q->qname_len, LOCAL_V4ONLY_TTL, "PTR ipv4only.arpa.");
	/* an address asked for another type than PTR: its CNAME, which the client may follow */
	if (m->kind == REVZONE_ADDRESS && *want && (n = dns64_ptr_target(m->prefix, q->qname, q->qname_len, target)))
		return rr_rdf(q->qname, q->qname_len, DNS_T_CNAME, DNS_C_IN, REV_CNAME_TTL,
		              ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, n, target));
	*want = false;
	return NULL;
}

/* A name in the reverse zone of one of a dns64 client's synthesis prefixes (a forward
 * client's reverse queries, and names in other clients' zones, go upstream as they are). A
 * synthesized address's PTR is the request's: it answers with a CNAME to the in-addr.arpa
 * name and that name's upstream PTR. */
static int step_revzone(struct lookup *lk, ldns_pkt **out)
{
	const struct query *q = lk->q;
	struct revzone_match m;
	bool want;

	if (!lk->cl->dns64 || revzone_find(lk->cfg, lk->cl->rule, q->qname, q->qname_len, &m) == REVZONE_OUTSIDE)
		return 0;
	if (m.kind == REVZONE_ADDRESS && q->qtype == DNS_T_PTR && q->qclass == DNS_C_IN)
		return STEP_UPSTREAM;
	ldns_pkt *p = pkt_new(q);
	if (!p)
		return -ENOMEM;
	ldns_rr *rr = rev_record(lk, &m, &want);
	int rc;
	if (want)
		rc = push(p, LDNS_SECTION_ANSWER, rr);
	else {
		/* NODATA at a name that exists, NXDOMAIN below it where no address can be */
		ldns_pkt_set_rcode(p, m.kind == REVZONE_IMPOSSIBLE ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_NOERROR);
		rc = push(p, LDNS_SECTION_AUTHORITY, rev_soa(lk, &m));
	}
	if (rc < 0) {
		ldns_pkt_free(p);
		return rc;
	}
	ldns_pkt_set_aa(p, true);
	*out = p;
	return 1;
}

/* ---- local data (local-data, hosts) ------------------------------------------------------ */

#define CNAME_HOPS_MAX 8 /* CNAMEs followed inside the local data */
#define LOCALDATA_SOA  "SOA localhost. nobody.invalid. 1 3600 1200 604800 3600"

/* A copy of rr into section s, owned by the given wire name (NULL: its own owner). */
static int push_copy(ldns_pkt *p, ldns_pkt_section s, const ldns_rr *rr, const uint8_t *owner, size_t len)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (c && owner) {
		ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, owner);
		if (!o) {
			ldns_rr_free(c);
			return -ENOMEM;
		}
		ldns_rdf_deep_free(ldns_rr_owner(c));
		ldns_rr_set_owner(c, o);
	}
	return push(p, s, c);
}

/* The answer of a local name (its records rrs[0..n)): the records of the type asked (all of
 * them for ANY), the first owned by the client's name as asked; a CNAME is followed through
 * the local data (a target outside it is the client's to look up); where the name reached
 * has none of the type, NODATA with its SOA (its own, or one made up). Other classes than IN
 * get NODATA. */
static int local_fill(const struct lookup *lk, ldns_pkt *p, ldns_rr *const *rrs, size_t n)
{
	const struct query *q = lk->q;
	const uint8_t *owner = q->qname;
	size_t len = q->qname_len;
	for (int hop = 0;; hop++) {
		const ldns_rr *cname = NULL, *soa = NULL;
		bool found = false;
		for (size_t i = 0; i < n && q->qclass == DNS_C_IN; i++) {
			uint16_t t = ldns_rr_get_type(rrs[i]);
			soa = t == DNS_T_SOA ? rrs[i] : soa;
			cname = t == DNS_T_CNAME ? rrs[i] : cname;
			if (t != q->qtype && q->qtype != DNS_T_ANY)
				continue;
			int rc = push_copy(p, LDNS_SECTION_ANSWER, rrs[i], owner, len);
			if (rc < 0)
				return rc;
			found = true;
		}
		if (found)
			return 0;
		if (!cname || hop == CNAME_HOPS_MAX) {
			if (soa)
				return push_copy(p, LDNS_SECTION_AUTHORITY, soa, NULL, 0);
			return push(p, LDNS_SECTION_AUTHORITY, rr_text(owner, len, LOCALDATA_TTL, LOCALDATA_SOA));
		}
		int rc = push_copy(p, LDNS_SECTION_ANSWER, cname, owner, len);
		if (rc < 0)
			return rc;
		const ldns_rdf *target = ldns_rr_rdf(cname, 0);
		owner = ldns_rdf_data(target);
		len = ldns_rdf_size(target);
		if (!localdata_find(lk->cfg->local, owner, len, &rrs, &n))
			return 0;
	}
}

static bool under_list(const struct dname *list, size_t n, const struct query *q)
{
	for (size_t i = 0; i < n; i++)
		if (dns64_name_under(q->qname, q->qname_len, &list[i]))
			return true;
	return false;
}

/* RFC 6147 for a local name, as request.c does it for upstream answers: *p holds the AAAA
 * answer; when dns64_decide() says so it becomes the synthesis from the name's A records
 * (exclude, mapped, no-synth, synth-all and synth-on apply), or loses its excluded AAAA. */
static int local_dns64(struct lookup *lk, ldns_pkt **p, ldns_rr *const *rrs, size_t n)
{
	const struct config *cfg = lk->cfg;
	const struct query *q = lk->q;
	struct dns64_facts f = {
	        .rcode = LDNS_RCODE_NOERROR,
	        .do_bit = q->do_bit,
	        .cd_bit = (q->flags & F_CD) != 0,
	        .synth_all = under_list(cfg->synth_all, cfg->n_synth_all, q),
	        .no_synth = under_list(cfg->no_synth, cfg->n_no_synth, q),
	        .synth_on = cfg->synth_on,
	};
	enum dns64_reason why = DNS64_REASON_NONE;
	dns64_count_aaaa(lk->cl->prefixes, lk->cl->n_prefixes, *p, &f.n_aaaa, &f.n_excluded);
	enum dns64_verdict v = dns64_decide(&f, &why);
	if (v != DNS64_SYNTH) {
		if (v == DNS64_FILTER || f.n_excluded)
			dns64_filter_excluded(lk->cl->prefixes, lk->cl->n_prefixes, *p);
		return 0;
	}
	struct query aq = *q;
	aq.qtype = DNS_T_A;
	struct lookup alk = *lk;
	alk.q = &aq;
	ldns_pkt *a = pkt_new(&aq), *out = NULL;
	unsigned made = 0, used = 0;
	int rc = a ? local_fill(&alk, a, rrs, n) : -ENOMEM;
	if (rc == 0)
		rc = dns64_synthesize(lk->cl->prefixes, lk->cl->n_prefixes, *p, a, &out, &made, &used, &why);
	ldns_pkt_free(a);
	if (rc == -ENOENT)
		return 0; /* no A to synthesize from: the AAAA answer stands */
	if (rc < 0)
		return rc;
	ldns_pkt_set_qr(out, true);
	ldns_pkt_set_ra(out, true);
	ldns_pkt_free(*p);
	*p = out;
	lk->synthesized = true;
	return 0;
}

/* The operator's names (local-data, hosts): answered here, DNS64 included. */
static int step_localdata(struct lookup *lk, ldns_pkt **out)
{
	const struct query *q = lk->q;
	ldns_rr *const *rrs;
	size_t n;
	if (!localdata_find(lk->cfg->local, q->qname, q->qname_len, &rrs, &n))
		return 0;
	ldns_pkt *p = pkt_new(q);
	if (!p)
		return -ENOMEM;
	int rc = local_fill(lk, p, rrs, n);
	if (rc == 0 && q->qtype == DNS_T_AAAA && q->qclass == DNS_C_IN && lk->cl->dns64 && lk->cl->n_prefixes)
		rc = local_dns64(lk, &p, rrs, n);
	if (rc < 0) {
		ldns_pkt_free(p);
		return rc;
	}
	*out = p;
	return 1;
}

/* ---- RFC 6303 reverse zones --------------------------------------------------------------- */

bool local_reverse_zone_match(const struct config *cfg, const uint8_t *name, size_t len, size_t *apex_off)
{
	if (!cfg->local_reverse_zones || !localdata_reverse_zone_match(name, len, apex_off))
		return false;
	/* a forward zone that covers the name wins over these defaults ("forward
	 * 168.192.in-addr.arpa 192.168.1.1"); "forward ." is where everything else goes, not a
	 * choice for these names, so it does not */
	const struct forward_zone *fz = config_forward_match(cfg, name, len);
	return fz == NULL || fz->name.len <= 1;
}

/* RFC 6303 §3: "@ 10800 IN SOA @ nobody.invalid. 1 3600 1200 604800 10800", owned by owner. */
static ldns_rr *rfc6303_soa(const uint8_t *owner, size_t len, const uint8_t *zone, size_t zlen)
{
	ldns_rr *rr = rr_text(owner, len, LOCAL_SOA_TTL, "SOA . nobody.invalid. 1 3600 1200 604800 10800");
	ldns_rdf *mname = rr ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, zlen, zone) : NULL;
	if (!mname) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rdf_deep_free(ldns_rr_set_rdf(rr, mname, 0));
	return rr;
}

/* The zone's SOA or NS at its apex, NODATA for other types there and for empty
 * non-terminals above local data, NXDOMAIN below. */
static int rfc6303_fill(const struct lookup *lk, ldns_pkt *p, size_t apex)
{
	const struct query *q = lk->q;
	uint8_t zone[DNS_MAX_NAME];
	size_t zlen = q->qname_len - apex;
	for (size_t i = 0; i < zlen; i++)
		zone[i] = (uint8_t)tolower(q->qname[apex + i]);
	if (apex == 0 && q->qclass == DNS_C_IN && q->qtype == DNS_T_SOA)
		return push(p, LDNS_SECTION_ANSWER, rfc6303_soa(q->qname, q->qname_len, zone, zlen));
	if (apex == 0 && q->qclass == DNS_C_IN && q->qtype == DNS_T_NS)
		return push(p, LDNS_SECTION_ANSWER,
		            rr_rdf(q->qname, q->qname_len, DNS_T_NS, DNS_C_IN, LOCAL_SOA_TTL,
		                   ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, zlen, zone)));
	bool exists = apex == 0 || localdata_covers(lk->cfg->local, q->qname, q->qname_len);
	ldns_pkt_set_rcode(p, exists ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
	return push(p, LDNS_SECTION_AUTHORITY, rfc6303_soa(zone, zlen, zone, zlen));
}

/* Reverse names of private and special-purpose addresses: never asked upstream. */
static int step_reverse(struct lookup *lk, ldns_pkt **out)
{
	const struct query *q = lk->q;
	uint8_t target[32];
	size_t apex;
	if (!local_reverse_zone_match(lk->cfg, q->qname, q->qname_len, &apex))
		return 0;
	/* a synthesized address (a ULA or documentation prefix) leads back through its A: request.c */
	if (lk->cl->dns64 && dns64_ptr_target_set(lk->cl->prefixes, lk->cl->n_prefixes, q->qname, q->qname_len, target))
		return 0;
	ldns_pkt *p = pkt_new(q);
	if (!p)
		return -ENOMEM;
	int rc = rfc6303_fill(lk, p, apex);
	if (rc < 0) {
		ldns_pkt_free(p);
		return rc;
	}
	ldns_pkt_set_aa(p, true);
	*out = p;
	return 1;
}

/* ---- zones ------------------------------------------------------------------------------ */

static int answer_zone(struct lookup *lk, const struct local_zone *z, ldns_pkt **out)
{
	ldns_pkt *p = pkt_new(lk->q);
	if (!p)
		return -ENOMEM;
	lk->z = z;
	int rc = z->answer(lk, p);
	if (rc < 0) {
		ldns_pkt_free(p);
		return rc;
	}
	ldns_pkt_set_aa(p, true);
	*out = p;
	return 1;
}

static int step_ddr(struct lookup *lk, ldns_pkt **out)
{
	if (!in_zone(lk->q, &resolver_arpa, &lk->sub))
		return 0;
	return answer_zone(lk, &resolver_arpa, out);
}

static int step_builtin(struct lookup *lk, ldns_pkt **out)
{
	for (size_t i = 0; i < sizeof(builtin_zones) / sizeof(builtin_zones[0]); i++)
		if (in_zone(lk->q, &builtin_zones[i], &lk->sub))
			return answer_zone(lk, &builtin_zones[i], out);
	return 0;
}

/* The sources of local answers in order of precedence; the first that answers wins. Issue 15
 * and 17 add theirs here (see local.h). */
static int (*const steps[])(struct lookup *lk, ldns_pkt **out) = {
        step_chaos, step_revzone, step_ddr, step_localdata, step_builtin, step_reverse,
};

/* Could a built-in zone hold q? All of them sit under the top-level labels arpa, localhost
 * and invalid (and CHAOS is always ours): most queries are turned away here, on the hot path,
 * without walking the zones. A source of local data from the config (issue 15) must widen
 * this check. */
static bool maybe_local(const struct query *q)
{
	if (q->qclass != DNS_C_IN)
		return true;
	size_t off = 0, last = 0;
	while (off < q->qname_len && q->qname[off]) {
		last = off;
		off += 1u + q->qname[off];
	}
	const uint8_t *l = q->qname + last;
	static const char *const tops[] = {"arpa", "localhost", "invalid"};
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		size_t n = strlen(tops[i]);
		if (l[0] == n && last + 1 + n <= q->qname_len && strncasecmp((const char *)l + 1, tops[i], n) == 0)
			return true;
	}
	return false;
}

int local_answer(const struct config *cfg, const struct query *q, const struct local_client *cl, ldns_pkt **out,
                 bool *synthesized)
{
	struct lookup lk = {.cfg = cfg, .q = q, .cl = cl};
	*out = NULL;
	*synthesized = false;
	if (!maybe_local(q) && !localdata_maybe(cfg->local, q->qname, q->qname_len))
		return 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = steps[i](&lk, out);
		if (rc == STEP_UPSTREAM)
			return 0;
		if (rc) {
			*synthesized = rc > 0 && lk.synthesized;
			return rc;
		}
	}
	return 0;
}
