/* test_wire.c - unit tests for query parsing, stored messages and replies in src/wire.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/wire.h"

/* ---------- a small wire writer for hand-made (and malformed) messages ---------- */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	assert_true(b->n + 1 <= sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static void put_raw(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Dotted text ("www.example.com." or ".") to uncompressed wire, case kept, no escapes and
 * no check of the total length (tests need names that are too long). */
static void put_name(struct buf *b, const char *text)
{
	const char *p = text;
	while (*p && *p != '.') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		assert_true(l >= 1 && l <= 63);
		put8(b, (unsigned)l);
		put_raw(b, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
	put8(b, 0);
}

static void put_header(struct buf *b, uint16_t id, uint16_t flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	put16(b, id);
	put16(b, flags);
	put16(b, qd);
	put16(b, an);
	put16(b, ns);
	put16(b, ar);
}

/* cookie bytes are 0x01, 0x02, ... so copies can be checked */
static void fill_cookie(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i + 1);
}

/* An OPT record; owner "." or, with nonroot, "example." */
static void put_opt(struct buf *b, bool nonroot, uint16_t udp, uint8_t ext_rcode, uint8_t version, bool do_bit,
                    int cookie_len, int ede)
{
	uint8_t cookie[64];
	size_t rdlen = 0;
	if (cookie_len >= 0)
		rdlen += 4u + (size_t)cookie_len;
	if (ede >= 0)
		rdlen += 6;
	put_name(b, nonroot ? "example." : ".");
	put16(b, DNS_T_OPT);
	put16(b, udp);
	put8(b, ext_rcode);
	put8(b, version);
	put16(b, do_bit ? 0x8000 : 0);
	put16(b, (unsigned)rdlen);
	if (cookie_len >= 0) {
		assert_true((size_t)cookie_len <= sizeof(cookie));
		fill_cookie(cookie, (size_t)cookie_len);
		put16(b, EDNS_OPT_COOKIE);
		put16(b, (unsigned)cookie_len);
		put_raw(b, cookie, (size_t)cookie_len);
	}
	if (ede >= 0) {
		put16(b, EDNS_OPT_EDE);
		put16(b, 2);
		put16(b, (unsigned)ede);
	}
}

static size_t text_to_wire(const char *text, uint8_t *out)
{
	struct buf b = {.n = 0};
	put_name(&b, text);
	memcpy(out, b.b, b.n);
	return b.n;
}

/* Parse a client query built from the arguments; it must be WIRE_OK. */
static void client_query(struct query *q, uint16_t id, uint16_t flags, const char *qname, uint16_t qtype, bool edns,
                         uint16_t udp, bool do_bit, int cookie_len)
{
	struct buf b = {.n = 0};
	put_header(&b, id, flags, 1, 0, 0, edns ? 1 : 0);
	put_name(&b, qname);
	put16(&b, qtype);
	put16(&b, DNS_C_IN);
	if (edns)
		put_opt(&b, false, udp, 0, 0, do_bit, cookie_len, -1);
	memset(q, 0xa5, sizeof(*q));
	assert_int_equal(wire_parse_query(b.b, b.n, q), WIRE_OK);
}

/* ---------- wire_parse_query ---------- */

enum opt_place { OPT_NONE, OPT_ADDITIONAL, OPT_ANSWER, OPT_TWICE, OPT_NONROOT };

#define L63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define L61 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1"
#define L62 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12"

static const uint8_t compressed_qname[] = {3, 'w', 'w', 'w', 0xc0, 0x0c};

struct pq_case {
	const char *what;
	uint16_t flags;
	unsigned qdcount;  /* in the header, and that many questions written */
	const char *qname; /* NULL: compressed_qname */
	enum opt_place opt;
	uint16_t udp;
	uint8_t version;
	bool do_bit;
	int cookie_len; /* -1: no COOKIE option */
	size_t keep;    /* 0: the whole message, else only its first keep bytes */
	enum wire_verdict want;
	bool want_edns;
	uint16_t want_udp;
	bool want_do;
	uint8_t want_cookie;
	bool want_question; /* qname, qtype, qclass copied */
};

#define WWW       "www.example.com."
/* question of WWW ends at 12 + 17 + 4 */
#define WWW_Q_END 33

static const struct pq_case pq_cases[] = {
        {"plain query", F_RD, 1, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_OK, false, 512, false, 0, true},
        {"edns query", F_RD, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, -1, 0, WIRE_OK, true, 1232, false, 0, true},
        {"edns 4096", 0, 1, WWW, OPT_ADDITIONAL, 4096, 0, false, -1, 0, WIRE_OK, true, 4096, false, 0, true},
        {"do bit", F_RD, 1, WWW, OPT_ADDITIONAL, 1232, 0, true, -1, 0, WIRE_OK, true, 1232, true, 0, true},
        {"udp 100 raised to 512", 0, 1, WWW, OPT_ADDITIONAL, 100, 0, false, -1, 0, WIRE_OK, true, 512, false, 0, true},
        {"udp 0 raised to 512", 0, 1, WWW, OPT_ADDITIONAL, 0, 0, false, -1, 0, WIRE_OK, true, 512, false, 0, true},
        {"udp 511 raised to 512", 0, 1, WWW, OPT_ADDITIONAL, 511, 0, false, -1, 0, WIRE_OK, true, 512, false, 0, true},
        {"cookie 8", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 8, 0, WIRE_OK, true, 1232, false, 8, true},
        {"cookie 16", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 16, 0, WIRE_OK, true, 1232, false, 16, true},
        {"cookie 24", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, true, 24, 0, WIRE_OK, true, 1232, true, 24, true},
        {"cookie 40", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 40, 0, WIRE_OK, true, 1232, false, 40, true},
        {"cookie 5", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 5, 0, WIRE_FORMERR, true, 1232, false, 0, true},
        {"cookie 9", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 9, 0, WIRE_FORMERR, true, 1232, false, 0, true},
        {"cookie 15", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 15, 0, WIRE_FORMERR, true, 1232, false, 0, true},
        {"cookie 41", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 41, 0, WIRE_FORMERR, true, 1232, false, 0, true},
        {"two OPT", 0, 1, WWW, OPT_TWICE, 1232, 0, false, -1, 0, WIRE_FORMERR, true, 1232, false, 0, true},
        {"OPT in answer", 0, 1, WWW, OPT_ANSWER, 1232, 0, false, -1, 0, WIRE_FORMERR, false, 512, false, 0, true},
        {"OPT non-root owner", 0, 1, WWW, OPT_NONROOT, 1232, 0, false, -1, 0, WIRE_FORMERR, false, 512, false, 0, true},
        {"edns version 1", 0, 1, WWW, OPT_ADDITIONAL, 1232, 1, false, -1, 0, WIRE_BADVERS, true, 1232, false, 0, true},
        {"edns version 1 keeps cookie", 0, 1, WWW, OPT_ADDITIONAL, 1232, 1, true, 8, 0, WIRE_BADVERS, true, 1232, true,
         8, true},
        {"QR=1", F_QR, 1, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_DROP, false, 512, false, 0, false},
        {"11 bytes", 0, 1, WWW, OPT_NONE, 0, 0, false, -1, 11, WIRE_DROP, false, 512, false, 0, false},
        {"0 bytes", 0, 1, WWW, OPT_NONE, 0, 0, false, -1, 0 + 1, WIRE_DROP, false, 512, false, 0, false},
        {"header only", 0, 0, WWW, OPT_NONE, 0, 0, false, -1, 12, WIRE_NOQUESTION, false, 512, false, 0, false},
        {"opcode 2 (status)", 2 << 11, 1, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_NOTIMP, false, 512, false, 0, true},
        {"opcode 2 no question", 2 << 11, 0, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_NOTIMP, false, 512, false, 0,
         false},
        {"opcode 5 (update)", 5 << 11, 1, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_NOTIMP, false, 512, false, 0, true},
        {"qdcount 0", 0, 0, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_NOQUESTION, false, 512, false, 0, false},
        {"qdcount 2", 0, 2, WWW, OPT_NONE, 0, 0, false, -1, 0, WIRE_FORMERR, false, 512, false, 0, true},
        {"compressed qname", 0, 1, NULL, OPT_NONE, 0, 0, false, -1, 0, WIRE_FORMERR, false, 512, false, 0, false},
        {"name of 255", 0, 1, L63 "." L63 "." L63 "." L61 ".", OPT_NONE, 0, 0, false, -1, 0, WIRE_OK, false, 512, false,
         0, true},
        {"name of 256", 0, 1, L63 "." L63 "." L63 "." L62 ".", OPT_NONE, 0, 0, false, -1, 0, WIRE_FORMERR, false, 512,
         false, 0, false},
        {"root name", 0, 1, ".", OPT_NONE, 0, 0, false, -1, 0, WIRE_OK, false, 512, false, 0, true},
        {"question without class", 0, 1, WWW, OPT_NONE, 0, 0, false, -1, WWW_Q_END - 2, WIRE_FORMERR, false, 512, false,
         0, false},
        {"question without type", 0, 1, WWW, OPT_NONE, 0, 0, false, -1, WWW_Q_END - 4, WIRE_FORMERR, false, 512, false,
         0, false},
        {"question name cut", 0, 1, WWW, OPT_NONE, 0, 0, false, -1, 20, WIRE_FORMERR, false, 512, false, 0, false},
        {"OPT cut", 0, 1, WWW, OPT_ADDITIONAL, 1232, 0, false, 8, WWW_Q_END + 11 + 6, WIRE_FORMERR, false, 512, false,
         0, true},
};

static size_t build_pq(const struct pq_case *c, uint8_t *out)
{
	struct buf b = {.n = 0};
	unsigned an = c->opt == OPT_ANSWER;
	unsigned ar = c->opt == OPT_TWICE ? 2 : (c->opt == OPT_ADDITIONAL || c->opt == OPT_NONROOT);
	put_header(&b, 0x1234, c->flags, c->qdcount, an, 0, ar);
	for (unsigned i = 0; i < c->qdcount; i++) {
		if (c->qname)
			put_name(&b, c->qname);
		else
			put_raw(&b, compressed_qname, sizeof(compressed_qname));
		put16(&b, DNS_T_AAAA);
		put16(&b, DNS_C_IN);
	}
	for (unsigned i = 0; i < an + ar; i++)
		put_opt(&b, c->opt == OPT_NONROOT, c->udp, 0, c->version, c->do_bit, c->cookie_len, -1);
	memcpy(out, b.b, b.n);
	if (c->keep)
		return c->keep - (c->keep == 1); /* keep 1 stands for an empty message */
	return b.n;
}

static void test_parse_query(void **state)
{
	for (size_t i = 0; i < sizeof(pq_cases) / sizeof(pq_cases[0]); i++) {
		const struct pq_case *c = &pq_cases[i];
		uint8_t pkt[8192];
		struct query q;
		size_t len = build_pq(c, pkt);
		memset(&q, 0xa5, sizeof(q));
		enum wire_verdict v = wire_parse_query(pkt, len, &q);
		print_message("case '%s'\n", c->what);
		assert_int_equal(v, c->want);
		if (c->want == WIRE_DROP)
			continue;
		assert_int_equal(q.id, 0x1234);
		assert_int_equal(q.flags, c->flags);
		if (c->want_question) {
			uint8_t name[512];
			size_t nlen = text_to_wire(c->qname, name);
			assert_int_equal(q.qname_len, nlen);
			assert_memory_equal(q.qname, name, nlen);
			assert_int_equal(q.qtype, DNS_T_AAAA);
			assert_int_equal(q.qclass, DNS_C_IN);
		} else if (c->want == WIRE_NOTIMP) {
			assert_int_equal(q.qname_len, 0);
		}
		if (c->want != WIRE_OK && c->want != WIRE_BADVERS)
			continue;
		assert_int_equal(q.edns, c->want_edns);
		assert_int_equal(q.udp_size, c->want_udp);
		assert_int_equal(q.do_bit, c->want_do);
		assert_int_equal(q.cookie_len, c->want_cookie);
		if (c->want_cookie) {
			uint8_t cookie[64];
			fill_cookie(cookie, c->want_cookie);
			assert_memory_equal(q.cookie, cookie, c->want_cookie);
		}
		assert_int_equal(query_udp_limit(&q),
		                 !c->want_edns ? 512 : (c->want_udp < DNS_UDP_MAX ? c->want_udp : DNS_UDP_MAX));
	}
}

/* ---------- messages rendered by ldns ---------- */

struct sections {
	const char *an[64];
	const char *ns[8];
	const char *ar[8];
};

static void push_rrs(ldns_pkt *p, ldns_pkt_section s, const char *const *list, size_t max)
{
	for (size_t i = 0; i < max && list[i]; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, list[i], 0, NULL, NULL), LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, s, rr));
	}
}

/* A response to "qname IN qtype" with the given header flags and rcode, rendered (and so
 * compressed) by ldns. */
static size_t ldns_msg(const char *qname, const char *qtype, uint16_t flags, uint8_t rcode, const struct sections *s,
                       uint8_t *out, size_t cap)
{
	char qtext[512];
	ldns_rr *qrr = NULL;
	uint8_t *wire = NULL;
	size_t size = 0;
	ldns_pkt *p = ldns_pkt_new();
	assert_non_null(p);
	ldns_pkt_set_id(p, 0x4242);
	ldns_pkt_set_qr(p, flags & F_QR);
	ldns_pkt_set_aa(p, flags & F_AA);
	ldns_pkt_set_tc(p, flags & F_TC);
	ldns_pkt_set_rd(p, flags & F_RD);
	ldns_pkt_set_ra(p, flags & F_RA);
	ldns_pkt_set_ad(p, flags & F_AD);
	ldns_pkt_set_cd(p, flags & F_CD);
	ldns_pkt_set_rcode(p, rcode);
	snprintf(qtext, sizeof(qtext), "%s IN %s", qname, qtype);
	assert_int_equal(ldns_rr_new_question_frm_str(&qrr, qtext, NULL, NULL), LDNS_STATUS_OK);
	assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr));
	if (s) {
		push_rrs(p, LDNS_SECTION_ANSWER, s->an, 64);
		push_rrs(p, LDNS_SECTION_AUTHORITY, s->ns, 8);
		push_rrs(p, LDNS_SECTION_ADDITIONAL, s->ar, 8);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &size), LDNS_STATUS_OK);
	assert_true(size <= cap);
	memcpy(out, wire, size);
	free(wire);
	ldns_pkt_free(p);
	return size;
}

/* Append an OPT record (EDE info code when ede >= 0) and count it in ARCOUNT. */
static size_t append_opt(uint8_t *msg, size_t len, int ede)
{
	struct buf b = {.n = 0};
	put_opt(&b, false, 1232, 0, 0, true, -1, ede);
	memcpy(msg + len, b.b, b.n);
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return len + b.n;
}

/* Append "www.example.com. 300 IN A 192.0.2.9" with the owner compressed to the question. */
static size_t append_a(uint8_t *msg, size_t len)
{
	struct buf b = {.n = 0};
	put16(&b, 0xc00c);
	put16(&b, DNS_T_A);
	put16(&b, DNS_C_IN);
	put32(&b, 300);
	put16(&b, 4);
	put32(&b, 0xc0000209);
	memcpy(msg + len, b.b, b.n);
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return len + b.n;
}

static _Alignas(struct msg_meta) uint8_t store_buf[DNS_MAX_MSG + 8192];

static const struct msg_meta *store_ok(const uint8_t *msg, size_t len, uint32_t max_ttl)
{
	memset(store_buf, 0xee, sizeof(store_buf));
	assert_int_equal(wire_store(msg, len, max_ttl, store_buf, sizeof(store_buf)), 0);
	return (const struct msg_meta *)store_buf;
}

static ldns_pkt *parse(const uint8_t *wire, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	return p;
}

/* The n-th record of a packet over answer, authority and additional, in wire order. */
static ldns_rr *nth_rr(ldns_pkt *p, size_t n)
{
	ldns_rr_list *l[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)};
	for (int s = 0; s < 3; s++) {
		if (n < ldns_rr_list_rr_count(l[s]))
			return ldns_rr_list_rr(l[s], n);
		n -= ldns_rr_list_rr_count(l[s]);
	}
	return NULL;
}

static size_t rr_total(ldns_pkt *p)
{
	return ldns_pkt_ancount(p) + ldns_pkt_nscount(p) + ldns_pkt_arcount(p);
}

/* Every recorded offset holds the TTL of the record at that position, in order. */
static void check_ttl_offsets(const struct msg_meta *m)
{
	ldns_pkt *p = parse(msg_wire(m), m->msg_len);
	assert_int_equal(m->n_ttl, rr_total(p));
	for (unsigned i = 0; i < m->n_ttl; i++) {
		ldns_rr *rr = nth_rr(p, i);
		assert_non_null(rr);
		assert_true(msg_ttl_offsets(m)[i] + 4u <= m->msg_len);
		assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[i]), ldns_rr_ttl(rr));
	}
	ldns_pkt_free(p);
}

static const struct sections positive = {
        .an = {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 120 IN A 192.0.2.1",
               "web.example.com. 450 IN A 192.0.2.2", NULL},
        .ns = {"example.com. 600 IN NS ns1.example.com.", NULL},
        .ar = {"ns1.example.com. 900 IN A 192.0.2.53", NULL},
};
static const uint32_t positive_ttls[] = {300, 120, 450, 600, 900};

static void test_store_positive(void **state)
{
	uint8_t msg[4096];
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	const struct msg_meta *m = store_ok(msg, len, 86400);
	assert_int_equal(m->ttl, 120);
	assert_int_equal(m->n_ttl, 5);
	assert_int_equal(m->msg_len, len);
	assert_int_equal(m->ede, EDE_NONE);
	assert_int_equal(m->rcode, DNS_R_NOERROR);
	assert_int_equal(m->synthesized, 0);
	assert_int_equal(msg_stored_size(m), sizeof(*m) + 5 * 2 + len);
	/* id zeroed, everything else as received */
	assert_int_equal(rd16(msg_wire(m)), 0);
	assert_memory_equal(msg_wire(m) + 2, msg + 2, len - 2);
	check_ttl_offsets(m);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[i]), positive_ttls[i]);
}

struct cap_case {
	uint32_t max_ttl;
	uint32_t want_ttl;
};

static void test_store_ttl_cap(void **state)
{
	static const struct cap_case cases[] = {
	        {86400, 120}, {900, 120}, {500, 120}, {120, 120}, {119, 119}, {60, 60}, {0, 0},
	};
	uint8_t msg[4096];
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct msg_meta *m = store_ok(msg, len, cases[c].max_ttl);
		print_message("max_ttl %u\n", cases[c].max_ttl);
		assert_int_equal(m->ttl, cases[c].want_ttl);
		check_ttl_offsets(m);
		for (unsigned i = 0; i < 5; i++) {
			uint32_t want = positive_ttls[i] < cases[c].max_ttl ? positive_ttls[i] : cases[c].max_ttl;
			assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[i]), want);
		}
	}
}

/* Age a stored answer with wire_reply_stored: every TTL drops by elapsed, never below 0. */
static void test_store_aging(void **state)
{
	static const uint32_t elapsed[] = {0, 1, 100, 119, 120, 121, 300, 599, 600, 899, 900, 901, 100000, UINT32_MAX};
	uint8_t msg[4096], out[4096];
	struct query q;
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	const struct msg_meta *m = store_ok(msg, len, 86400);
	client_query(&q, 7, F_RD, "www.example.com.", DNS_T_A, false, 0, false, -1);
	for (size_t e = 0; e < sizeof(elapsed) / sizeof(elapsed[0]); e++) {
		size_t n = wire_reply_stored(&q, m, elapsed[e], NULL, out, 4096);
		print_message("elapsed %u\n", elapsed[e]);
		assert_int_equal(n, len);
		ldns_pkt *p = parse(out, n);
		assert_int_equal(rr_total(p), 5);
		for (unsigned i = 0; i < 5; i++) {
			uint32_t t = positive_ttls[i];
			assert_int_equal(ldns_rr_ttl(nth_rr(p, i)), t > elapsed[e] ? t - elapsed[e] : 0);
		}
		ldns_pkt_free(p);
		/* the stored message itself is untouched */
		for (unsigned i = 0; i < 5; i++)
			assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[i]), positive_ttls[i]);
	}
}

/* Hand-made answer "www.example.com. A" with one A record of the given TTL. */
static size_t hand_answer(uint8_t *out, uint32_t ttl)
{
	struct buf b = {.n = 0};
	put_header(&b, 0x9999, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_name(&b, "www.example.com.");
	put16(&b, DNS_T_A);
	put16(&b, DNS_C_IN);
	put16(&b, 0xc00c);
	put16(&b, DNS_T_A);
	put16(&b, DNS_C_IN);
	put32(&b, ttl);
	put16(&b, 4);
	put32(&b, 0xc0000201);
	memcpy(out, b.b, b.n);
	return b.n;
}

static void test_store_ttl_top_bit(void **state)
{
	static const uint32_t ttls[] = {0x80000000u, 0x80000001u, 0xffffffffu};
	uint8_t msg[512];
	for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
		size_t len = hand_answer(msg, ttls[i]);
		const struct msg_meta *m = store_ok(msg, len, 86400);
		assert_int_equal(m->ttl, 0);
		assert_int_equal(m->n_ttl, 1);
		assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[0]), 0);
	}
	/* 0x7fffffff is a valid TTL, capped by max_ttl */
	size_t len = hand_answer(msg, 0x7fffffffu);
	const struct msg_meta *m = store_ok(msg, len, 3600);
	assert_int_equal(m->ttl, 3600);
	assert_int_equal(rd32(msg_wire(m) + msg_ttl_offsets(m)[0]), 3600);
}

#define SOA(ttl, min) "example.com. " #ttl " IN SOA ns1.example.com. host.example.com. 1 7200 3600 1209600 " #min

struct neg_case {
	const char *what;
	uint16_t flags;
	uint8_t rcode;
	struct sections s;
	uint32_t max_ttl;
	uint32_t want_ttl;
	long want_soa_ttl; /* -1: no SOA */
};

static const struct neg_case neg_cases[] = {
        {"nxdomain, minimum smaller", F_QR | F_RA, DNS_R_NXDOMAIN, {.ns = {SOA(3600, 300), NULL}}, 86400, 300, 300},
        {"nxdomain, soa ttl smaller", F_QR | F_RA, DNS_R_NXDOMAIN, {.ns = {SOA(60, 300), NULL}}, 86400, 60, 60},
        {"nxdomain, capped", F_QR | F_RA, DNS_R_NXDOMAIN, {.ns = {SOA(3600, 900), NULL}}, 100, 100, 100},
        {"nxdomain behind cname",
         F_QR | F_RA,
         DNS_R_NXDOMAIN,
         {.an = {"www.example.com. 30 IN CNAME gone.example.com.", NULL}, .ns = {SOA(3600, 600), NULL}},
         86400,
         30,
         600},
        {"nodata, minimum smaller", F_QR | F_RA, DNS_R_NOERROR, {.ns = {SOA(3600, 900), NULL}}, 86400, 900, 900},
        {"nodata, soa ttl smaller", F_QR | F_RA, DNS_R_NOERROR, {.ns = {SOA(50, 900), NULL}}, 86400, 50, 50},
        {"nodata, equal", F_QR | F_RA, DNS_R_NOERROR, {.ns = {SOA(400, 400), NULL}}, 86400, 400, 400},
        {"nodata without soa",
         F_QR | F_RA,
         DNS_R_NOERROR,
         {.ns = {"example.com. 600 IN NS ns1.example.com.", NULL}},
         86400,
         0,
         -1},
        {"nodata, empty", F_QR | F_RA, DNS_R_NOERROR, {.an = {NULL}}, 86400, 0, -1},
        {"nxdomain without soa", F_QR | F_RA, DNS_R_NXDOMAIN, {.an = {NULL}}, 86400, 0, -1},
        {"servfail", F_QR | F_RA, DNS_R_SERVFAIL, {.an = {NULL}}, 86400, 0, -1},
        {"servfail with soa", F_QR | F_RA, DNS_R_SERVFAIL, {.ns = {SOA(3600, 300), NULL}}, 86400, 0, 3600},
        {"refused", F_QR, DNS_R_REFUSED, {.an = {NULL}}, 86400, 0, -1},
        {"tc=1 positive",
         F_QR | F_RA | F_TC,
         DNS_R_NOERROR,
         {.an = {"www.example.com. 300 IN A 192.0.2.1", NULL}},
         86400,
         0,
         -1},
        {"positive", F_QR | F_RA, DNS_R_NOERROR, {.an = {"www.example.com. 300 IN A 192.0.2.1", NULL}}, 86400, 300, -1},
        {"nodata behind cname: soa bound applies",
         F_QR | F_RA,
         DNS_R_NOERROR,
         {.an = {"www.example.com. 3600 IN CNAME host.example.com.", NULL}, .ns = {SOA(3600, 120), NULL}},
         86400,
         120,
         120},
};

static void test_store_ttl_table(void **state)
{
	for (size_t i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
		const struct neg_case *c = &neg_cases[i];
		uint8_t msg[4096];
		print_message("case '%s'\n", c->what);
		size_t len = ldns_msg("www.example.com.", "A", c->flags, c->rcode, &c->s, msg, sizeof(msg));
		const struct msg_meta *m = store_ok(msg, len, c->max_ttl);
		assert_int_equal(m->ttl, c->want_ttl);
		assert_int_equal(m->rcode, c->rcode);
		assert_int_equal(m->msg_len, len);
		check_ttl_offsets(m);
		ldns_pkt *p = parse(msg_wire(m), m->msg_len);
		ldns_rr_list *soa = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY);
		if (c->want_soa_ttl < 0) {
			assert_null(soa);
		} else {
			assert_non_null(soa);
			assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(soa, 0)), c->want_soa_ttl);
			ldns_rr_list_deep_free(soa);
		}
		ldns_pkt_free(p);
	}
}

static void test_store_opt_removed(void **state)
{
	static const int edes[] = {-1, 18, 0, 29};
	for (size_t i = 0; i < sizeof(edes) / sizeof(edes[0]); i++) {
		uint8_t msg[4096];
		size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
		size_t with_opt = append_opt(msg, len, edes[i]);
		assert_int_equal(rd16(msg + 10), 2);
		const struct msg_meta *m = store_ok(msg, with_opt, 86400);
		assert_int_equal(m->msg_len, len);
		assert_int_equal(m->n_ttl, 5);
		assert_int_equal(rd16(msg_wire(m) + 10), 1);
		assert_int_equal(m->ede, edes[i] < 0 ? EDE_NONE : edes[i]);
		assert_int_equal(m->ttl, 120);
		check_ttl_offsets(m);
	}
}

/* ---------- malformed stored messages ---------- */

/* question "www.example.com. A" of the hand-made messages ends here */
#define HQ_END WWW_Q_END

static void put_a_fixed(struct buf *b, uint16_t rdlen)
{
	put16(b, DNS_T_A);
	put16(b, DNS_C_IN);
	put32(b, 300);
	put16(b, rdlen);
}

static void hand_start(struct buf *b, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	put_header(b, 1, F_QR | F_RA, qd, an, ns, ar);
	for (unsigned i = 0; i < qd; i++) {
		put_name(b, "www.example.com.");
		put16(b, DNS_T_A);
		put16(b, DNS_C_IN);
	}
}

/* rec1's owner points forward to rec2's uncompressed owner (at 33 + 2 + 10 + 4 = 49) */
static size_t bad_forward_pointer(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc000 | 49);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	assert_int_equal(b->n, 49);
	put_name(b, "www.example.com.");
	put_a_fixed(b, 4);
	put32(b, 0xc0000202);
	return b->n;
}

static size_t bad_self_pointer(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put16(b, 0xc000 | HQ_END);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

/* rec1 at 33 points to rec2 at 49 which points back to 33 */
static size_t bad_pointer_loop(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc000 | 49);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	assert_int_equal(b->n, 49);
	put16(b, 0xc000 | HQ_END);
	put_a_fixed(b, 4);
	put32(b, 0xc0000202);
	return b->n;
}

/* a label "\3www" followed by a pointer to itself */
static size_t bad_label_loop(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put8(b, 3);
	put_raw(b, "www", 3);
	put16(b, 0xc000 | HQ_END);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

static size_t bad_rdata_past_end(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put16(b, 0xc00c);
	put_a_fixed(b, 4);
	put16(b, 0xc000);
	return b->n;
}

static size_t bad_fixed_past_end(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put16(b, 0xc00c);
	put16(b, DNS_T_A);
	put16(b, DNS_C_IN);
	put16(b, 0);
	return b->n;
}

static size_t bad_count_past_end(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc00c);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

static size_t bad_a_rdlength_5(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put16(b, 0xc00c);
	put_a_fixed(b, 5);
	put32(b, 0xc0000201);
	put8(b, 0);
	return b->n;
}

static size_t bad_aaaa_rdlength_4(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put16(b, 0xc00c);
	put16(b, DNS_T_AAAA);
	put16(b, DNS_C_IN);
	put32(b, 300);
	put16(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

static size_t bad_qdcount_2(struct buf *b)
{
	hand_start(b, 2, 1, 0, 0);
	put16(b, 0xc00c);
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

static size_t bad_qdcount_0(struct buf *b)
{
	hand_start(b, 0, 0, 0, 0);
	return b->n;
}

static size_t bad_opt_not_last(struct buf *b)
{
	size_t n = hand_answer(b->b, 300);
	n = append_opt(b->b, n, -1);
	n = append_a(b->b, n);
	b->n = n;
	return n;
}

static size_t bad_opt_in_answer(struct buf *b)
{
	hand_start(b, 1, 1, 0, 0);
	put_opt(b, false, 1232, 0, 0, false, -1, -1);
	return b->n;
}

static size_t bad_opt_in_authority(struct buf *b)
{
	hand_start(b, 1, 0, 1, 0);
	put_opt(b, false, 1232, 0, 0, false, -1, -1);
	return b->n;
}

static size_t bad_opt_non_root(struct buf *b)
{
	hand_start(b, 1, 0, 0, 1);
	put_opt(b, true, 1232, 0, 0, false, -1, -1);
	return b->n;
}

static size_t bad_compressed_question(struct buf *b)
{
	put_header(b, 1, F_QR, 1, 0, 0, 0);
	put_raw(b, compressed_qname, sizeof(compressed_qname));
	put16(b, DNS_T_A);
	put16(b, DNS_C_IN);
	return b->n;
}

/* rec2's owner points into rec1's TTL (0), which reads as the root name */
static size_t bad_pointer_into_ttl(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc00c);
	put16(b, DNS_T_A);
	put16(b, DNS_C_IN);
	put32(b, 0);
	put16(b, 4);
	put32(b, 0xc0000201);
	put16(b, 0xc000 | (HQ_END + 2 + 4 + 3)); /* last TTL byte, 0 */
	put_a_fixed(b, 4);
	put32(b, 0xc0000202);
	return b->n;
}

/* CNAME target pointing forward, out of its own RDATA */
static size_t bad_cname_forward(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc00c);
	put16(b, DNS_T_CNAME);
	put16(b, DNS_C_IN);
	put32(b, 300);
	put16(b, 2);
	put16(b, 0xc000 | 47);
	assert_int_equal(b->n, 47);
	put_name(b, "web.example.com.");
	put_a_fixed(b, 4);
	put32(b, 0xc0000201);
	return b->n;
}

/* rec2's owner (at 49) points back into rec1's A RDATA, whose last byte starts a 4-byte label
 * that runs over the pointer itself: the name would not be a prior occurrence */
static size_t bad_pointer_over_itself(struct buf *b)
{
	hand_start(b, 1, 2, 0, 0);
	put16(b, 0xc00c);
	put_a_fixed(b, 4);
	put8(b, 2);
	put_raw(b, "xy", 2);
	put8(b, 4);
	assert_int_equal(b->n, 49);
	put16(b, 0xc000 | 45);
	put_a_fixed(b, 4);
	put32(b, 0xc0000202);
	return b->n;
}

static size_t too_short(struct buf *b)
{
	put_header(b, 1, F_QR, 1, 0, 0, 0);
	b->n = 11;
	return b->n;
}

struct bad_case {
	const char *what;
	size_t (*build)(struct buf *b);
};

static const struct bad_case bad_cases[] = {
        {"forward compression pointer", bad_forward_pointer},
        {"pointer to itself", bad_self_pointer},
        {"two-pointer loop", bad_pointer_loop},
        {"label then pointer to itself", bad_label_loop},
        {"rdata past the end", bad_rdata_past_end},
        {"fixed fields past the end", bad_fixed_past_end},
        {"ancount past the end", bad_count_past_end},
        {"A with rdlength 5", bad_a_rdlength_5},
        {"AAAA with rdlength 4", bad_aaaa_rdlength_4},
        {"qdcount 2", bad_qdcount_2},
        {"qdcount 0", bad_qdcount_0},
        {"OPT not last", bad_opt_not_last},
        {"OPT in answer", bad_opt_in_answer},
        {"OPT in authority", bad_opt_in_authority},
        {"OPT non-root", bad_opt_non_root},
        {"compressed question", bad_compressed_question},
        {"pointer into a TTL", bad_pointer_into_ttl},
        {"CNAME forward pointer", bad_cname_forward},
        {"name read over its own pointer", bad_pointer_over_itself},
        {"11 bytes", too_short},
};

static void test_store_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct buf b = {.n = 0};
		size_t len = bad_cases[i].build(&b);
		print_message("case '%s'\n", bad_cases[i].what);
		assert_int_equal(wire_store(b.b, len, 86400, store_buf, sizeof(store_buf)), -EBADMSG);
	}
	/* the good twin of the hand-made messages is accepted, so the cases above fail for
	 * the reason they name */
	struct buf b = {.n = 0};
	size_t len = hand_answer(b.b, 300);
	assert_int_equal(wire_store(b.b, len, 86400, store_buf, sizeof(store_buf)), 0);
	len = append_opt(b.b, len, 5);
	assert_int_equal(wire_store(b.b, len, 86400, store_buf, sizeof(store_buf)), 0);
	assert_int_equal(((const struct msg_meta *)store_buf)->ede, 5);
}

static void test_store_enobufs(void **state)
{
	uint8_t msg[4096];
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	len = append_opt(msg, len, 3);
	const struct msg_meta *m = store_ok(msg, len, 86400);
	size_t need = msg_stored_size(m);
	static _Alignas(struct msg_meta) uint8_t small[4096];
	assert_int_equal(wire_store(msg, len, 86400, small, need - 1), -ENOBUFS);
	assert_int_equal(wire_store(msg, len, 86400, small, 0), -ENOBUFS);
	assert_int_equal(wire_store(msg, len, 86400, small, sizeof(struct msg_meta)), -ENOBUFS);
	assert_int_equal(wire_store(msg, len, 86400, small, need), 0);
	assert_memory_equal(small, store_buf, need);
}

/* ---------- wire_reply_stored ---------- */

#define FLAG_MASK (F_QR | F_AA | F_TC | F_RD | F_RA | F_AD | F_CD)

struct flags_case {
	const char *what;
	uint16_t client; /* client header flags */
	bool edns, do_bit;
	uint16_t upstream; /* flags of the stored message */
	uint8_t rcode;
	uint16_t want; /* reply flags under FLAG_MASK */
};

static const struct flags_case flags_cases[] = {
        {"rd, aa and ad from upstream dropped", F_RD, false, false, F_QR | F_AA | F_RD | F_RA | F_AD, 0,
         F_QR | F_RD | F_RA},
        {"no rd from client", 0, false, false, F_QR | F_RD | F_RA, 0, F_QR | F_RA},
        {"ra always set", F_RD, false, false, F_QR | F_RD, 0, F_QR | F_RD | F_RA},
        {"cd from client", F_RD | F_CD, false, false, F_QR | F_RA, 0, F_QR | F_RD | F_RA | F_CD},
        {"cd from upstream dropped", F_RD, false, false, F_QR | F_RA | F_CD, 0, F_QR | F_RD | F_RA},
        {"ad kept for do", F_RD, true, true, F_QR | F_RA | F_AD, 0, F_QR | F_RD | F_RA | F_AD},
        {"ad kept for ad", F_RD | F_AD, false, false, F_QR | F_RA | F_AD, 0, F_QR | F_RD | F_RA | F_AD},
        {"ad dropped for edns without do", F_RD, true, false, F_QR | F_RA | F_AD, 0, F_QR | F_RD | F_RA},
        {"ad not invented", F_RD | F_AD, true, true, F_QR | F_RA, 0, F_QR | F_RD | F_RA},
        {"tc cleared", F_RD, false, false, F_QR | F_RA | F_TC, 0, F_QR | F_RD | F_RA},
        {"nxdomain kept", F_RD, true, false, F_QR | F_RA | F_AA, DNS_R_NXDOMAIN, F_QR | F_RD | F_RA},
};

static void test_reply_flags(void **state)
{
	for (size_t i = 0; i < sizeof(flags_cases) / sizeof(flags_cases[0]); i++) {
		const struct flags_case *c = &flags_cases[i];
		uint8_t msg[4096], out[4096];
		struct query q;
		print_message("case '%s'\n", c->what);
		size_t len = ldns_msg("www.example.com.", "A", c->upstream, c->rcode, &positive, msg, sizeof(msg));
		const struct msg_meta *m = store_ok(msg, len, 86400);
		client_query(&q, 0xbeef, c->client, "WwW.ExAmPlE.CoM.", DNS_T_A, c->edns, 4096, c->do_bit, -1);
		size_t n = wire_reply_stored(&q, m, 0, NULL, out, query_udp_limit(&q));
		assert_int_equal(n, len + (c->edns ? 11 : 0));
		assert_int_equal(rd16(out), 0xbeef);
		assert_int_equal(rd16(out + 2) & FLAG_MASK, c->want);
		assert_int_equal(rd16(out + 2) & 0xf, c->rcode);
		assert_memory_equal(out + DNS_HDR, "\3WwW\7ExAmPlE\3CoM\0", 17);
		assert_int_equal(rd16(out + 4), 1);
		assert_int_equal(rd16(out + 6), 3);
		assert_int_equal(rd16(out + 8), 1);
		assert_int_equal(rd16(out + 10), c->edns ? 2 : 1);
		/* the rest of the message is the stored one */
		assert_memory_equal(out + DNS_HDR + 17, msg_wire(m) + DNS_HDR + 17, m->msg_len - DNS_HDR - 17);
		ldns_pkt *p = parse(out, n);
		assert_int_equal(ldns_pkt_id(p), 0xbeef);
		assert_int_equal(ldns_pkt_edns(p), c->edns);
		ldns_pkt_free(p);
	}
}

struct opt_case {
	const char *what;
	bool edns, do_bit;
	uint16_t ede;
	uint8_t cookie_len;
	uint8_t ext_rcode;
};

static const struct opt_case opt_cases[] = {
        {"no edns", false, false, EDE_NONE, 0, 0},
        {"no edns, ede and cookie given", false, false, EDE_SYNTHESIZED, 24, 0},
        {"edns", true, false, EDE_NONE, 0, 0},
        {"edns do", true, true, EDE_NONE, 0, 0},
        {"ede", true, false, EDE_SYNTHESIZED, 0, 0},
        {"cookie 24", true, true, EDE_NONE, 24, 0},
        {"cookie 16 and ede", true, false, 18, 16, 0},
        {"cookie 40 and ede 0", true, true, 0, 40, 0},
};

/* Check the OPT record at p (len bytes to the end of the message). */
static void check_opt(const uint8_t *p, size_t len, bool do_bit, uint8_t ext_rcode, uint16_t ede, const uint8_t *cookie,
                      uint8_t cookie_len)
{
	size_t want_rdlen = (cookie_len ? 4u + cookie_len : 0) + (ede != EDE_NONE ? 6 : 0);
	assert_int_equal(len, 11 + want_rdlen);
	assert_int_equal(p[0], 0);
	assert_int_equal(rd16(p + 1), DNS_T_OPT);
	assert_int_equal(rd16(p + 3), DNS_UDP_MAX);
	assert_int_equal(p[5], ext_rcode);
	assert_int_equal(p[6], 0);
	assert_int_equal(rd16(p + 7), do_bit ? 0x8000 : 0);
	assert_int_equal(rd16(p + 9), want_rdlen);
	size_t o = 11;
	bool seen_cookie = false, seen_ede = false;
	while (o < len) {
		uint16_t code = rd16(p + o), olen = rd16(p + o + 2);
		assert_true(o + 4 + olen <= len);
		if (code == EDNS_OPT_COOKIE) {
			assert_false(seen_cookie);
			seen_cookie = true;
			assert_int_equal(olen, cookie_len);
			assert_memory_equal(p + o + 4, cookie, cookie_len);
		} else if (code == EDNS_OPT_EDE) {
			assert_false(seen_ede);
			seen_ede = true;
			assert_int_equal(olen, 2);
			assert_int_equal(rd16(p + o + 4), ede);
		} else {
			fail_msg("unexpected option %u", code);
		}
		o += 4u + olen;
	}
	assert_int_equal(seen_cookie, cookie_len != 0);
	assert_int_equal(seen_ede, ede != EDE_NONE);
}

static void test_reply_opt(void **state)
{
	uint8_t cookie[40];
	fill_cookie(cookie, sizeof(cookie));
	for (size_t i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		const struct opt_case *c = &opt_cases[i];
		uint8_t msg[4096], out[4096];
		struct query q;
		print_message("case '%s'\n", c->what);
		size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RA | F_AD, 0, &positive, msg, sizeof(msg));
		len = append_opt(msg, len, 7);
		const struct msg_meta *m = store_ok(msg, len, 86400);
		client_query(&q, 0x0102, F_RD, "www.example.com.", DNS_T_A, c->edns, 1400, c->do_bit, -1);
		struct reply_opts o = {.ede = c->ede,
		                       .cookie = c->cookie_len ? cookie : NULL,
		                       .cookie_len = c->cookie_len,
		                       .ext_rcode = c->ext_rcode};
		size_t n = wire_reply_stored(&q, m, 0, &o, out, sizeof(out));
		if (!c->edns) {
			assert_int_equal(n, m->msg_len);
			assert_int_equal(rd16(out + 10), 1);
		} else {
			assert_true(n > m->msg_len);
			assert_int_equal(rd16(out + 10), 2);
			check_opt(out + m->msg_len, n - m->msg_len, c->do_bit, c->ext_rcode, c->ede, cookie,
			          c->cookie_len);
		}
		ldns_pkt *p = parse(out, n);
		assert_int_equal(ldns_pkt_edns(p), c->edns);
		if (c->edns) {
			assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_UDP_MAX);
			assert_int_equal(ldns_pkt_edns_do(p), c->do_bit);
		}
		assert_int_equal(ldns_pkt_ad(p), c->do_bit);
		ldns_pkt_free(p);
	}
}

/* An answer of 60 AAAA records (about 1.7 kB): too big for any UDP limit. */
static size_t big_answer(uint8_t *msg, size_t cap)
{
	struct sections s;
	static char rr[60][128];
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 60; i++) {
		snprintf(rr[i], sizeof(rr[i]), "www.example.com. 300 IN AAAA 2001:db8::%x", i + 1);
		s.an[i] = rr[i];
	}
	return ldns_msg("www.example.com.", "AAAA", F_QR | F_RD | F_RA, 0, &s, msg, cap);
}

struct trunc_case {
	const char *what;
	bool edns;
	uint16_t udp;
	uint8_t cookie_len;
	uint16_t ede;
};

static void test_reply_truncated(void **state)
{
	static const struct trunc_case cases[] = {
	        {"no edns, 512", false, 0, 0, EDE_NONE},
	        {"edns 1232", true, 1232, 0, EDE_NONE},
	        {"edns 4096 capped at 1232", true, 4096, 0, EDE_NONE},
	        {"edns 512 with cookie and ede", true, 512, 24, EDE_SYNTHESIZED},
	};
	uint8_t cookie[40], msg[4096], out[4096];
	fill_cookie(cookie, sizeof(cookie));
	size_t len = big_answer(msg, sizeof(msg));
	assert_true(len > DNS_UDP_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trunc_case *c = &cases[i];
		struct query q;
		print_message("case '%s'\n", c->what);
		const struct msg_meta *m = store_ok(msg, len, 86400);
		client_query(&q, 0xabcd, F_RD, "WwW.ExAmPlE.CoM.", DNS_T_AAAA, c->edns, c->udp, true, -1);
		struct reply_opts o = {
		        .ede = c->ede, .cookie = c->cookie_len ? cookie : NULL, .cookie_len = c->cookie_len};
		size_t limit = query_udp_limit(&q);
		memset(out, 0xcc, sizeof(out));
		size_t n = wire_reply_stored(&q, m, 0, &o, out, limit);
		assert_true(n <= limit);
		assert_int_equal(rd16(out), 0xabcd);
		uint16_t f = rd16(out + 2);
		assert_int_equal(f & FLAG_MASK, F_QR | F_TC | F_RD | F_RA);
		assert_int_equal(f & 0xf, 0);
		assert_int_equal(rd16(out + 4), 1);
		assert_int_equal(rd16(out + 6), 0);
		assert_int_equal(rd16(out + 8), 0);
		assert_int_equal(rd16(out + 10), c->edns ? 1 : 0);
		assert_memory_equal(out + DNS_HDR, "\3WwW\7ExAmPlE\3CoM\0", 17);
		assert_int_equal(rd16(out + DNS_HDR + 17), DNS_T_AAAA);
		assert_int_equal(rd16(out + DNS_HDR + 19), DNS_C_IN);
		size_t qend = DNS_HDR + 17 + 4;
		if (c->edns)
			check_opt(out + qend, n - qend, true, 0, c->ede, cookie, c->cookie_len);
		else
			assert_int_equal(n, qend);
		ldns_pkt *p = parse(out, n);
		assert_true(ldns_pkt_tc(p));
		assert_int_equal(ldns_pkt_ancount(p), 0);
		assert_int_equal(ldns_pkt_edns(p), c->edns);
		ldns_pkt_free(p);
	}
}

/* The limit is inclusive: exactly msg_len + OPT fits, one byte less truncates. */
static void test_reply_limit_boundary(void **state)
{
	uint8_t msg[4096], out[4096];
	struct query q;
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	const struct msg_meta *m = store_ok(msg, len, 86400);
	client_query(&q, 1, F_RD, "www.example.com.", DNS_T_A, true, 1232, false, 8);
	uint8_t cookie[24];
	fill_cookie(cookie, sizeof(cookie));
	struct reply_opts o = {.ede = 3, .cookie = cookie, .cookie_len = 24};
	size_t full = m->msg_len + 11 + 4 + 24 + 6;
	assert_int_equal(wire_reply_stored(&q, m, 0, &o, out, full), full);
	assert_int_equal(rd16(out + 2) & F_TC, 0);
	assert_int_equal(rd16(out + 6), 3);
	size_t n = wire_reply_stored(&q, m, 0, &o, out, full - 1);
	assert_int_equal(rd16(out + 2) & F_TC, F_TC);
	assert_int_equal(rd16(out + 6), 0);
	assert_int_equal(n, DNS_HDR + 17 + 4 + 11 + 4 + 24 + 6);
}

/* ---------- wire_reply_rcode ---------- */

static void test_reply_rcode(void **state)
{
	uint8_t out[1024], cookie[40];
	struct query q;
	fill_cookie(cookie, sizeof(cookie));

	/* REFUSED, question echoed, no EDNS */
	client_query(&q, 0x1111, F_RD | F_CD, "Www.Example.Com.", DNS_T_AAAA, false, 0, false, -1);
	size_t n = wire_reply_rcode(&q, DNS_R_REFUSED, true, NULL, out, 512);
	assert_int_equal(n, DNS_HDR + 17 + 4);
	assert_int_equal(rd16(out), 0x1111);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RD | F_RA | F_CD);
	assert_int_equal(rd16(out + 2) & 0xf, DNS_R_REFUSED);
	assert_int_equal(rd16(out + 4), 1);
	assert_int_equal(rd16(out + 6), 0);
	assert_int_equal(rd16(out + 8), 0);
	assert_int_equal(rd16(out + 10), 0);
	assert_memory_equal(out + DNS_HDR, "\3Www\7Example\3Com\0", 17);
	ldns_pkt *p = parse(out, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)), LDNS_RR_TYPE_AAAA);
	ldns_pkt_free(p);

	/* REFUSED with EDNS: the OPT follows the question */
	client_query(&q, 0x2222, 0, "www.example.com.", DNS_T_A, true, 1232, true, 8);
	struct reply_opts o = {.ede = 18, .cookie = cookie, .cookie_len = 24};
	n = wire_reply_rcode(&q, DNS_R_REFUSED, true, &o, out, 1232);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RA);
	assert_int_equal(rd16(out + 4), 1);
	assert_int_equal(rd16(out + 10), 1);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, true, 0, 18, cookie, 24);
	p = parse(out, n);
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_UDP_MAX);
	ldns_pkt_free(p);

	/* FORMERR without question */
	client_query(&q, 0x3333, F_RD, "www.example.com.", DNS_T_A, false, 0, false, -1);
	n = wire_reply_rcode(&q, DNS_R_FORMERR, false, NULL, out, 512);
	assert_int_equal(n, DNS_HDR);
	assert_int_equal(rd16(out), 0x3333);
	assert_int_equal(rd16(out + 2) & 0xf, DNS_R_FORMERR);
	assert_int_equal(rd16(out + 4), 0);
	assert_int_equal(rd16(out + 10), 0);
	p = parse(out, n);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ldns_pkt_free(p);

	/* FORMERR of a query whose question could not be parsed: qname_len 0 */
	struct buf b = {.n = 0};
	put_header(&b, 0x4444, F_RD, 1, 0, 0, 0);
	put_raw(&b, compressed_qname, sizeof(compressed_qname));
	put16(&b, DNS_T_A);
	put16(&b, DNS_C_IN);
	assert_int_equal(wire_parse_query(b.b, b.n, &q), WIRE_FORMERR);
	n = wire_reply_rcode(&q, DNS_R_FORMERR, true, NULL, out, 512);
	assert_int_equal(n, DNS_HDR);
	assert_int_equal(rd16(out), 0x4444);
	assert_int_equal(rd16(out + 4), 0);

	/* BADCOOKIE (23): 7 in the header, 1 in the OPT's extended-rcode byte */
	client_query(&q, 0x5555, F_RD, "www.example.com.", DNS_T_A, true, 1232, false, 8);
	struct reply_opts bo = {.ede = EDE_NONE, .cookie = cookie, .cookie_len = 24, .ext_rcode = 1};
	n = wire_reply_rcode(&q, DNS_R_BADCOOKIE, true, &bo, out, 1232);
	assert_int_equal(rd16(out + 2) & 0xf, 7);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RD | F_RA);
	assert_int_equal(rd16(out + 10), 1);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, false, 1, EDE_NONE, cookie, 24);
	p = parse(out, n);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	ldns_pkt_free(p);

	/* BADVERS (16): 0 in the header, 1 in the OPT */
	n = wire_reply_rcode(&q, DNS_R_BADVERS, true, NULL, out, 1232);
	assert_int_equal(rd16(out + 2) & 0xf, 0);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RD | F_RA);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, false, 1, EDE_NONE, NULL, 0);
}

/* ---------- wire_build_query ---------- */

struct bq_case {
	uint16_t id;
	const char *qname;
	uint16_t qtype;
	bool rd, cd, do_bit;
};

static void test_build_query(void **state)
{
	static const struct bq_case cases[] = {
	        {0x0000, "www.example.com.", DNS_T_A, true, false, false},
	        {0xffff, "www.example.com.", DNS_T_AAAA, true, true, true},
	        {0x1234, "Mixed.Case.Example.", DNS_T_AAAA, false, false, true},
	        {0xbeef, ".", DNS_T_NS, false, true, false},
	        {0x8001, "1.2.0.192.in-addr.arpa.", DNS_T_PTR, true, false, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bq_case *c = &cases[i];
		uint8_t name[DNS_MAX_NAME], out[DNS_MAX_NAME + 32];
		size_t nlen = text_to_wire(c->qname, name);
		size_t n = wire_build_query(c->id, name, nlen, c->qtype, DNS_C_IN, c->rd, c->cd, c->do_bit, out);
		assert_int_equal(n, DNS_HDR + nlen + 4 + 11);
		ldns_pkt *p = parse(out, n);
		assert_int_equal(ldns_pkt_id(p), c->id);
		assert_false(ldns_pkt_qr(p));
		assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
		assert_int_equal(ldns_pkt_rd(p), c->rd);
		assert_int_equal(ldns_pkt_cd(p), c->cd);
		assert_false(ldns_pkt_ad(p));
		assert_true(ldns_pkt_edns(p));
		assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_UDP_MAX);
		assert_int_equal(ldns_pkt_edns_do(p), c->do_bit);
		assert_int_equal(ldns_pkt_edns_version(p), 0);
		assert_int_equal(ldns_pkt_qdcount(p), 1);
		assert_int_equal(ldns_pkt_ancount(p), 0);
		ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		assert_int_equal(ldns_rr_get_type(qrr), c->qtype);
		assert_int_equal(ldns_rr_get_class(qrr), LDNS_RR_CLASS_IN);
		ldns_rdf *owner = ldns_rr_owner(qrr);
		assert_int_equal(ldns_rdf_size(owner), nlen);
		assert_memory_equal(ldns_rdf_data(owner), name, nlen);
		ldns_pkt_free(p);

		/* and our own parser takes it as a client query would be taken */
		struct query q;
		assert_int_equal(wire_parse_query(out, n, &q), WIRE_OK);
		assert_int_equal(q.id, c->id);
		assert_true(q.edns);
		assert_int_equal(q.do_bit, c->do_bit);
		assert_int_equal(q.udp_size, DNS_UDP_MAX);
		assert_true(wire_name_equal(q.qname, q.qname_len, name, nlen));
	}
}

/* ---------- names ---------- */

struct text_case {
	const uint8_t *wire;
	size_t len;
	const char *want;
};

#define W(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_name_to_text(void **state)
{
	static const struct text_case cases[] = {
	        {W("\3www\7example\3com\0"), "www.example.com."},
	        {W("\3WwW\7ExAmPlE\3CoM\0"), "WwW.ExAmPlE.CoM."},
	        {W("\0"), "."},
	        {W("\1a\0"), "a."},
	        {W("\3a.b\3com\0"), "a\\.b.com."},
	        {W("\3a\\b\0"), "a\\\\b."},
	        {W("\3a b\0"), "a\\032b."},
	        {W("\2\x00\xff\0"), "\\000\\255."},
	        {W("\1\"\0"), "\\\"."},
	        {W("\1*\7example\0"), "*.example."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[1024];
		memset(out, 'X', sizeof(out));
		assert_ptr_equal(wire_name_to_text(cases[i].wire, cases[i].len, out), out);
		assert_string_equal(out, cases[i].want);
	}
	/* the longest name, every byte escaped as \DDD, fits in 1024 */
	uint8_t longest[DNS_MAX_NAME];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		size_t ll = l < 3 ? 63 : 61;
		longest[o++] = (uint8_t)ll;
		memset(longest + o, 0x01, ll);
		o += ll;
	}
	longest[o++] = 0;
	assert_int_equal(o, DNS_MAX_NAME);
	char out[1024];
	wire_name_to_text(longest, o, out);
	assert_int_equal(strlen(out), (63 * 3 + 61) * 4 + 4);
}

struct equal_case {
	const char *a, *b;
	bool want;
};

static void test_name_equal(void **state)
{
	static const struct equal_case cases[] = {
	        {"www.example.com.", "www.example.com.", true},
	        {"www.example.com.", "WWW.EXAMPLE.COM.", true},
	        {"WwW.ExAmPlE.CoM.", "wWw.eXaMpLe.cOm.", true},
	        {".", ".", true},
	        {"www.example.com.", "www.example.org.", false},
	        {"www.example.com.", "www.example.com.au.", false},
	        {"www.example.com.", "ww.example.com.", false},
	        {"a.", ".", false},
	        {"a-b.", "a-B.", true},
	        {"a[b.", "a{b.", false}, /* '[' + 32 is '{', but '[' is no letter */
	        {"a@b.", "a`b.", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t a[DNS_MAX_NAME + 8], b[DNS_MAX_NAME + 8];
		size_t al = text_to_wire(cases[i].a, a), bl = text_to_wire(cases[i].b, b);
		print_message("'%s' '%s'\n", cases[i].a, cases[i].b);
		assert_int_equal(wire_name_equal(a, al, b, bl), cases[i].want);
		assert_int_equal(wire_name_equal(b, bl, a, al), cases[i].want);
	}
	/* same bytes, different lengths */
	static const uint8_t n[] = "\3www\7example\3com\0";
	assert_false(wire_name_equal(n, 17, n, 16));
	assert_true(wire_name_equal(n, 0, n + 5, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_query),
	        cmocka_unit_test(test_store_positive),
	        cmocka_unit_test(test_store_ttl_cap),
	        cmocka_unit_test(test_store_aging),
	        cmocka_unit_test(test_store_ttl_top_bit),
	        cmocka_unit_test(test_store_ttl_table),
	        cmocka_unit_test(test_store_opt_removed),
	        cmocka_unit_test(test_store_bad),
	        cmocka_unit_test(test_store_enobufs),
	        cmocka_unit_test(test_reply_flags),
	        cmocka_unit_test(test_reply_opt),
	        cmocka_unit_test(test_reply_truncated),
	        cmocka_unit_test(test_reply_limit_boundary),
	        cmocka_unit_test(test_reply_rcode),
	        cmocka_unit_test(test_build_query),
	        cmocka_unit_test(test_name_to_text),
	        cmocka_unit_test(test_name_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
