/* fuzz_upstream.c - fuzz target: an upstream answer through storage, DNS64 synthesis and reply
 *
 * The input is an upstream answer. Follows request.c's on_aaaa()/on_a(): wire_store
 * (never crashes, and storing a stored message again changes nothing), ldns parsing of the
 * stored message, the DNS64 decision, synthesis with the input as the A answer (and as the
 * AAAA answer next to a fixed A answer), filtering of excluded AAAA, rendering through ldns
 * and wire_store again, and the reply to the matching query for UDP and TCP limits. The
 * input is also tried as a PTR query name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/config.h"
#include "dns64d/dns64.h"
#include "dns64d/response.h"
#include "dns64d/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			fprintf(stderr, "fuzz_upstream: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);      \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define STORE_MAX (DNS_MAX_MSG + 8192)
#define MAX_TTL   86400

/* Two configurations: WKP with exclusions and name lists; a network-specific prefix with
 * mapped networks and synth-on nodata. */
static const char *const config_texts[] = {
        "upstream 127.0.0.1:5300\n"
        "prefix 64:ff9b::/96\n"
        "exclude ::ffff:0:0/96\n"
        "exclude 2001:db8:dead::/48\n"
        "synth-all synth.example\n"
        "no-synth intranet.example\n",

        "upstream [::1]:5300\n"
        "prefix 2001:db8:64::/64\n"
        "mapped 192.0.2.0/24\n"
        "mapped 198.51.100.0/24\n"
        "synth-on nodata\n",
};
#define N_CONFIGS (sizeof(config_texts) / sizeof(config_texts[0]))

static struct config *configs[N_CONFIGS];
static ldns_pkt *fixed_aaaa; /* NOERROR/NODATA AAAA answer with a SOA */
static ldns_pkt *fixed_a;    /* A answer: CNAME, A records global and not, RRSIG */
static _Alignas(8) uint8_t stored[STORE_MAX];
static _Alignas(8) uint8_t restored[STORE_MAX];
static _Alignas(8) uint8_t rendered[DNS_MAX_MSG + 16384];
static uint8_t out[DNS_MAX_MSG + 1024];

static const struct nat64_prefix prefixes[] = {
        {.addr = {0x00, 0x64, 0xff, 0x9b}, .len = 96},
        {.addr = {0x20, 0x01, 0x0d, 0xb8}, .len = 32},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01}, .len = 40},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22}, .len = 48},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x33}, .len = 56},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64, 0x00, 0x00}, .len = 64},
};

static ldns_pkt *make_pkt(ldns_rr_type qtype, const char *const *rrs, size_t n)
{
	ldns_pkt *p = NULL;

	CHECK(ldns_pkt_query_new_frm_str(&p, "www.example.com.", qtype, LDNS_RR_CLASS_IN, LDNS_RD) == LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		const char *text = rrs[i];
		ldns_pkt_section sec = text[0] == '@' ? LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER;

		CHECK(ldns_rr_new_frm_str(&rr, text + (text[0] == '@'), 0, NULL, NULL) == LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, sec, rr);
	}
	return p;
}

static void init(void)
{
	static bool done;
	static const char *const aaaa[] = {
	        "@example.com. 900 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300",
	};
	static const char *const a[] = {
	        "www.example.com. 300 IN CNAME web.example.com.",
	        "web.example.com. 3600 IN A 192.0.2.1",
	        "web.example.com. 3600 IN A 198.51.100.7",
	        "web.example.com. 60 IN A 93.184.216.34",
	        "web.example.com. 3600 IN A 10.0.0.1",
	        "web.example.com. 3600 IN RRSIG A 8 3 3600 20300101000000 20200101000000 1 example.com. AAAA",
	};

	if (done)
		return;
	done = true;
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct errbuf err = {.len = 0};

		CHECK(config_parse("/fuzz/dns64d.conf", config_texts[i], &configs[i], &err) == 0);
	}
	fixed_aaaa = make_pkt(LDNS_RR_TYPE_AAAA, aaaa, 1);
	fixed_a = make_pkt(LDNS_RR_TYPE_A, a, sizeof(a) / sizeof(a[0]));
}

/* A stored message is self-consistent: TTL offsets inside, TTLs capped. */
static void check_stored(const struct msg_meta *m, size_t inlen)
{
	const uint8_t *w = msg_wire(m);

	CHECK(m->msg_len >= DNS_HDR && m->msg_len <= inlen);
	CHECK(msg_stored_size(m) <= STORE_MAX);
	CHECK(rd16(w) == 0);
	CHECK(m->ttl <= MAX_TTL);
	CHECK(m->n_ttl <= (unsigned)rd16(w + 6) + rd16(w + 8) + rd16(w + 10));
	for (unsigned i = 0; i < m->n_ttl; i++) {
		uint16_t off = msg_ttl_offsets(m)[i];

		CHECK(off >= DNS_HDR + 5 && (size_t)off + 4 <= m->msg_len);
		CHECK(rd32(w + off) <= MAX_TTL);
	}
}

/* False if ldns renders p in another way than it read it: it takes a TSIG out of the
 * additional section and renders it back its own way. */
static bool renders_back(const ldns_pkt *p)
{
	return ldns_pkt_tsig(p) == NULL;
}

/* Types whose RDATA names wire_store lets be compressed (RFC 1035's, and DNAME). */
static bool compressible(uint16_t type)
{
	switch (type) {
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 7:
	case 8:
	case 9:
	case 12:
	case 14:
	case 15:
	case 39: return true;
	default: return false;
	}
}

/* wire_store checks that every record uses up its RDATA exactly, as ldns reads it, so ldns
 * sees exactly the records of the stored message: no phantom record read out of RDATA. The
 * same type, TTL and, where no name in it may be compressed, the same RDATA bytes. */
static void check_same_records(const struct msg_meta *m, const ldns_pkt *p)
{
	const uint8_t *w = msg_wire(m);
	const ldns_rr_list *secs[] = {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)};
	unsigned total = (unsigned)rd16(w + 6) + rd16(w + 8) + rd16(w + 10);
	long off = wire_skip_name(w, m->msg_len, DNS_HDR);
	size_t s = 0, k = 0;

	/* ldns takes a TSIG out of the additional section */
	if (ldns_pkt_tsig(p) != NULL)
		return;
	CHECK(off > 0 && !ldns_pkt_edns(p));
	off += 4;
	for (unsigned i = 0; i < total; i++) {
		const ldns_rr *rr;
		uint16_t type, rdlen;

		off = wire_skip_name(w, m->msg_len, (size_t)off);
		CHECK(off > 0 && (size_t)off + 10 <= m->msg_len);
		type = rd16(w + off);
		rdlen = rd16(w + off + 8);
		while (s < 3 && k >= ldns_rr_list_rr_count(secs[s])) {
			s++;
			k = 0;
		}
		CHECK(s < 3);
		rr = ldns_rr_list_rr(secs[s], k++);
		CHECK(ldns_rr_get_type(rr) == type && ldns_rr_ttl(rr) == rd32(w + off + 4));
		if (!compressible(type)) {
			size_t at = (size_t)off + 10;

			for (size_t f = 0; f < ldns_rr_rd_count(rr); f++) {
				const ldns_rdf *rdf = ldns_rr_rdf(rr, f);

				CHECK(at + ldns_rdf_size(rdf) <= (size_t)off + 10 + rdlen);
				CHECK(memcmp(ldns_rdf_data(rdf), w + at, ldns_rdf_size(rdf)) == 0);
				at += ldns_rdf_size(rdf);
			}
			CHECK(at == (size_t)off + 10 + rdlen);
		}
		off += 10 + rdlen;
	}
	CHECK((size_t)off == m->msg_len);
	while (s < 3 && k >= ldns_rr_list_rr_count(secs[s])) {
		s++;
		k = 0;
	}
	CHECK(s == 3);
}

/* Render a packet with response_render(), as the daemon does. Returns the stored message or
 * NULL. */
static const struct msg_meta *render(ldns_pkt *p, bool must)
{
	bool edns = ldns_pkt_edns(p);
	int rc = response_render(p, false, MAX_TTL, rendered, sizeof(rendered));

	CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	must = must && renders_back(p);
	/* What ldns renders from a message we accepted, we accept again, unless it grew past
	 * 64 KB. */
	if (must && !edns && rc < 0) {
		uint8_t *wire = NULL;
		size_t len = 0;

		CHECK(ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK);
		free(wire);
		CHECK(len > DNS_MAX_MSG);
	}
	if (rc < 0)
		return NULL;
	check_stored((const struct msg_meta *)rendered, DNS_MAX_MSG);
	return (const struct msg_meta *)rendered;
}

/* The client query that leads to this stored message: its question, with case changed. */
static bool query_for(const struct msg_meta *m, const uint8_t *data, size_t size, struct query *q)
{
	const uint8_t *w = msg_wire(m);
	int n = wire_name_len(w + DNS_HDR, m->msg_len - DNS_HDR);

	if (n < 0 || DNS_HDR + (size_t)n + 4 > m->msg_len)
		return false;
	memset(q, 0, sizeof(*q));
	q->id = (uint16_t)(0xbeef ^ size);
	q->flags = F_RD | ((data[size - 1] & 1) ? F_CD : 0) | ((data[size - 1] & 2) ? F_AD : 0);
	memcpy(q->qname, w + DNS_HDR, (size_t)n);
	q->qname_len = (uint8_t)n;
	for (int i = 0; i < n; i++)
		if ((q->qname[i] | 0x20) >= 'a' && (q->qname[i] | 0x20) <= 'z' && (i + size) % 3 == 0)
			q->qname[i] ^= 0x20;
	q->qtype = rd16(w + DNS_HDR + n);
	q->qclass = rd16(w + DNS_HDR + n + 2);
	q->edns = (data[size - 1] & 4) != 0;
	q->udp_size = (data[size - 1] & 8) ? 4096 : 1232;
	q->do_bit = (data[size - 1] & 16) != 0;
	return true;
}

static void reply(const struct msg_meta *m, bool ldns_ok, const uint8_t *data, size_t size)
{
	static const size_t limits[] = {512, DNS_UDP_MAX, DNS_MAX_MSG};
	struct query q;
	struct reply_opts ro = {.ede = m->synthesized ? EDE_SYNTHESIZED : m->ede};
	uint8_t cookie[24];

	if (!query_for(m, data, size, &q))
		return;
	if (data[0] & 1) {
		memset(cookie, 0xa5, sizeof(cookie));
		ro.cookie = cookie;
		ro.cookie_len = sizeof(cookie);
	}
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		size_t limit = limits[i] == DNS_UDP_MAX ? query_udp_limit(&q) : limits[i];
		/* TTLs aged for the TCP limit: no name is read through a TTL, so aging changes
		 * nothing but TTLs */
		uint32_t elapsed = limits[i] == DNS_MAX_MSG ? (uint32_t)(data[size - 1] >> 5) * 100 : 0;
		size_t n = response_stored(&q, m, elapsed, &ro, out, limit);
		ldns_pkt *p = NULL;

		bool stream = limit >= DNS_MAX_MSG;
		/* over a stream, what does not fit loses the EDE option, then the additional
		 * section, or becomes SERVFAIL */
		bool trimmed = stream && q.edns &&
		               n != (size_t)m->msg_len + 11 + (ro.cookie_len ? 4u + ro.cookie_len : 0) +
		                               (ro.ede != EDE_NONE ? 6 : 0);

		CHECK(n >= DNS_HDR && n <= limit);
		CHECK(rd16(out) == q.id && (out[2] & (F_QR >> 8)));
		CHECK(memcmp(out + DNS_HDR, q.qname, q.qname_len) == 0);
		CHECK(!stream || !(out[2] & (F_TC >> 8)));
		if (out[2] & (F_TC >> 8))
			CHECK(rd16(out + 6) == 0 && rd16(out + 8) == 0);
		else if (trimmed && rd16(out + 6) == 0 && rd16(out + 8) == 0)
			CHECK((rd16(out + 2) & 0xf) == DNS_R_SERVFAIL && (size_t)m->msg_len + 11 > DNS_MAX_MSG - 64);
		else
			CHECK(rd16(out + 6) == rd16(msg_wire(m) + 6));
		if (trimmed)
			CHECK((size_t)m->msg_len + 11 > DNS_MAX_MSG - 64 &&
			      rd16(out + 10) <= rd16(msg_wire(m) + 10) + 1);
		else if (q.edns && !(out[2] & (F_TC >> 8))) {
			/* the OPT record goes last, whole */
			const uint8_t *opt = out + m->msg_len;

			CHECK(n >= (size_t)m->msg_len + 11 && opt[0] == 0 && rd16(opt + 1) == DNS_T_OPT);
			CHECK((size_t)rd16(opt + 9) == n - m->msg_len - 11);
			CHECK(rd16(out + 10) == rd16(msg_wire(m) + 10) + 1);
		}
		/* What ldns could read as stored, it can read as sent. */
		if (ldns_ok || (out[2] & (F_TC >> 8))) {
			ldns_status st = ldns_wire2pkt(&p, out, n);

			if (st != LDNS_STATUS_OK)
				fprintf(stderr, "ldns: %s (limit %zu, len %zu)\n", ldns_get_errorstr_by_id(st), limit,
				        n);
			CHECK(st == LDNS_STATUS_OK);
			CHECK(ldns_pkt_id(p) == q.id);
			ldns_pkt_free(p);
		}
	}
}

/* Synthesized answers: n_synth AAAA records, all inside the prefix, none left as A. */
static void check_synth(const struct config *cfg, const struct nat64_prefix *pfx, ldns_pkt *s, unsigned n_synth,
                        const uint8_t *data, size_t size)
{
	const ldns_rr_list *an = ldns_pkt_answer(s);
	unsigned n = 0;

	CHECK(n_synth > 0);
	CHECK(ldns_pkt_get_rcode(s) == LDNS_RCODE_NOERROR && !ldns_pkt_ad(s) && !ldns_pkt_aa(s));
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		uint8_t v4[4];

		CHECK(ldns_rr_get_type(rr) != LDNS_RR_TYPE_A);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_AAAA || ldns_rr_rd_count(rr) != 1 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 16)
			continue;
		if (dns64_extract(pfx, ldns_rdf_data(ldns_rr_rdf(rr, 0)), v4) == 0 &&
		    dns64_ipv4_may_synth(cfg, pfx, v4))
			n++;
	}
	CHECK(n >= n_synth);
	const struct msg_meta *m = render(s, false);
	if (m) {
		((struct msg_meta *)rendered)->synthesized = 1;
		reply(m, true, data, size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg;
	const struct nat64_prefix *pfx;
	const struct msg_meta *m;
	ldns_pkt *p = NULL, *raw = NULL, *s = NULL;
	uint8_t *small;
	uint8_t target[64];
	unsigned n_aaaa, n_excl, n_synth;
	enum dns64_reason why;
	int rc;

	init();
	if (size == 0 || size > DNS_MAX_MSG)
		return 0;
	cfg = configs[data[size - 1] % N_CONFIGS];
	pfx = (data[size - 1] & 0x40) ? &cfg->prefix : &prefixes[data[0] % 6];

	/* the input as a PTR query name, as given and at the question's place */
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = dns64_ptr_target(&prefixes[i], data, size, target);

		CHECK(n == 0 || wire_name_len(target, n) == (int)n);
		if (size > DNS_HDR) {
			int ql = wire_name_len(data + DNS_HDR, size - DNS_HDR);

			if (ql > 0) {
				n = dns64_ptr_target(&prefixes[i], data + DNS_HDR, (size_t)ql, target);
				CHECK(n == 0 || wire_name_len(target, n) == (int)n);
			}
		}
	}

	/* a buffer too small must be reported, not overrun */
	small = malloc(600);
	CHECK(small != NULL);
	rc = wire_store(data, size, MAX_TTL, small, 600);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOBUFS);
	free(small);

	rc = wire_store(data, size, MAX_TTL, stored, sizeof(stored));
	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc < 0)
		return 0;
	m = (const struct msg_meta *)stored;
	check_stored(m, size);
	if (m->rcode != DNS_R_NOERROR || (rd16(msg_wire(m) + 2) & F_TC))
		CHECK(m->ttl == 0 || m->rcode == DNS_R_NXDOMAIN);

	/* storing a stored message again changes nothing */
	CHECK(wire_store(msg_wire(m), m->msg_len, MAX_TTL, restored, sizeof(restored)) == 0);
	const struct msg_meta *m2 = (const struct msg_meta *)restored;
	CHECK(m2->msg_len == m->msg_len && m2->n_ttl == m->n_ttl && m2->ttl == m->ttl && m2->rcode == m->rcode);
	CHECK(memcmp(msg_ttl_offsets(m2), msg_ttl_offsets(m), m->n_ttl * 2u) == 0);
	CHECK(memcmp(msg_wire(m2), msg_wire(m), m->msg_len) == 0);

	/* on_aaaa(): the stored message through ldns, as response_to_ldns() does */
	p = response_to_ldns(m, 0);
	bool ldns_ok = p != NULL;
	reply(m, ldns_ok, data, size);
	if (!ldns_ok)
		return 0;
	check_same_records(m, p);
	if (ldns_wire2pkt(&raw, data, size) == LDNS_STATUS_OK) {
		bool ede = dns64_has_dnssec_ede(raw);

		if (m->ede >= 6 && m->ede <= 12)
			CHECK(ede);
		ldns_pkt_free(raw);
	}
	(void)dns64_has_dnssec_ede(p);
	dns64_count_aaaa(cfg, p, &n_aaaa, &n_excl);
	CHECK(n_excl <= n_aaaa);
	struct dns64_facts f = {
	        .rcode = m->rcode,
	        .n_aaaa = n_aaaa,
	        .n_excluded = n_excl,
	        .dnssec_ede = m->ede >= 6 && m->ede <= 12,
	        .do_bit = (data[0] & 2) != 0,
	        .cd_bit = (data[0] & 4) != 0,
	        .synth_all = (data[0] & 8) != 0,
	        .no_synth = (data[0] & 16) != 0,
	        .synth_on = cfg->synth_on,
	};
	enum dns64_verdict v = dns64_decide(&f, &why);
	CHECK(v != DNS64_FILTER || (n_excl > 0 && n_excl < n_aaaa));
	CHECK(v == DNS64_SYNTH || why != DNS64_REASON_NONE);
	(void)dns64_reason_name(why);

	/* on_a(): the input as the A answer, the fixed NODATA as the AAAA answer */
	rc = dns64_synthesize(cfg, pfx, (data[0] & 32) ? fixed_aaaa : NULL, p, &s, &n_synth, &why);
	CHECK(rc == 0 || rc == -ENOENT);
	if (rc == 0) {
		check_synth(cfg, pfx, s, n_synth, data, size);
		ldns_pkt_free(s);
	} else
		CHECK(s == NULL && (why == DNS64_REASON_NO_A || why == DNS64_REASON_NON_GLOBAL));
	/* the input as the AAAA answer (its SOA bounds TTLs) next to a fixed A answer */
	rc = dns64_synthesize(cfg, &cfg->prefix, p, fixed_a, &s, &n_synth, &why);
	CHECK(rc == 0);
	check_synth(cfg, &cfg->prefix, s, n_synth, data, size);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(s)); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(s), i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA)
			CHECK(ldns_rr_ttl(rr) <= 600 || ldns_pkt_nscount(p) > 0);
	}
	ldns_pkt_free(s);

	/* FILTER: excluded AAAA records are never handed on */
	dns64_filter_excluded(cfg, p);
	unsigned n_after, n_excl_after;
	dns64_count_aaaa(cfg, p, &n_after, &n_excl_after);
	CHECK(n_excl_after == 0 && n_after == n_aaaa - n_excl);
	m = render(p, true);
	if (m)
		reply(m, true, data, size);
	ldns_pkt_free(p);
	return 0;
}
