/* local.c - the answers dns64d gives without asking upstream; pure, no I/O */
#include "dns64d/local.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns64d/dns64.h"

#define DNS_C_CH  3
#define DNS_T_TXT 16
#define DNS_T_ANY 255

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
	char text[256];
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
};

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
        step_chaos,
        step_builtin,
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
	if (!maybe_local(q))
		return 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = steps[i](&lk, out);
		if (rc) {
			*synthesized = rc > 0 && lk.synthesized;
			return rc;
		}
	}
	return 0;
}
