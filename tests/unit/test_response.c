/* test_response.c - unit tests for replies to the client in src/response.c */
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

#include "dns64d/response.h"
#include "dns64d/wire.h"

#include "msgbuild.h"

static const uint8_t compressed_qname[] = {3, 'w', 'w', 'w', 0xc0, 0x0c};

/* Age a stored answer with response_stored: every TTL drops by elapsed, never below 0. */
static void test_store_aging(void **state)
{
	static const uint32_t elapsed[] = {0, 1, 100, 119, 120, 121, 300, 599, 600, 899, 900, 901, 100000, UINT32_MAX};
	uint8_t msg[4096], out[4096];
	struct query q;
	size_t len = ldns_msg("www.example.com.", "A", F_QR | F_RD | F_RA, 0, &positive, msg, sizeof(msg));
	const struct msg_meta *m = store_ok(msg, len, 86400);
	client_query(&q, 7, F_RD, "www.example.com.", DNS_T_A, false, 0, false, -1);
	for (size_t e = 0; e < sizeof(elapsed) / sizeof(elapsed[0]); e++) {
		size_t n = response_stored(&q, m, elapsed[e], NULL, out, 4096);
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

/* ---------- response_stored ---------- */

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
		size_t n = response_stored(&q, m, 0, NULL, out, query_udp_limit(&q));
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
		size_t n = response_stored(&q, m, 0, &o, out, sizeof(out));
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
		size_t n = response_stored(&q, m, 0, &o, out, limit);
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
	assert_int_equal(response_stored(&q, m, 0, &o, out, full), full);
	assert_int_equal(rd16(out + 2) & F_TC, 0);
	assert_int_equal(rd16(out + 6), 3);
	size_t n = response_stored(&q, m, 0, &o, out, full - 1);
	assert_int_equal(rd16(out + 2) & F_TC, F_TC);
	assert_int_equal(rd16(out + 6), 0);
	assert_int_equal(n, DNS_HDR + 17 + 4 + 11 + 4 + 24 + 6);
}

/* ---------- response_rcode ---------- */

static void test_reply_rcode(void **state)
{
	uint8_t out[1024], cookie[40];
	struct query q;
	fill_cookie(cookie, sizeof(cookie));

	/* REFUSED, question echoed, no EDNS */
	client_query(&q, 0x1111, F_RD | F_CD, "Www.Example.Com.", DNS_T_AAAA, false, 0, false, -1);
	size_t n = response_rcode(&q, DNS_R_REFUSED, true, NULL, out, 512);
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
	n = response_rcode(&q, DNS_R_REFUSED, true, &o, out, 1232);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RA);
	assert_int_equal(rd16(out + 4), 1);
	assert_int_equal(rd16(out + 10), 1);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, true, 0, 18, cookie, 24);
	p = parse(out, n);
	assert_int_equal(ldns_pkt_edns_udp_size(p), DNS_UDP_MAX);
	ldns_pkt_free(p);

	/* FORMERR without question */
	client_query(&q, 0x3333, F_RD, "www.example.com.", DNS_T_A, false, 0, false, -1);
	n = response_rcode(&q, DNS_R_FORMERR, false, NULL, out, 512);
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
	n = response_rcode(&q, DNS_R_FORMERR, true, NULL, out, 512);
	assert_int_equal(n, DNS_HDR);
	assert_int_equal(rd16(out), 0x4444);
	assert_int_equal(rd16(out + 4), 0);

	/* BADCOOKIE (23): 7 in the header, 1 in the OPT's extended-rcode byte */
	client_query(&q, 0x5555, F_RD, "www.example.com.", DNS_T_A, true, 1232, false, 8);
	struct reply_opts bo = {.ede = EDE_NONE, .cookie = cookie, .cookie_len = 24, .ext_rcode = 1};
	n = response_rcode(&q, DNS_R_BADCOOKIE, true, &bo, out, 1232);
	assert_int_equal(rd16(out + 2) & 0xf, 7);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RD | F_RA);
	assert_int_equal(rd16(out + 10), 1);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, false, 1, EDE_NONE, cookie, 24);
	p = parse(out, n);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	ldns_pkt_free(p);

	/* BADVERS (16): 0 in the header, 1 in the OPT */
	n = response_rcode(&q, DNS_R_BADVERS, true, NULL, out, 1232);
	assert_int_equal(rd16(out + 2) & 0xf, 0);
	assert_int_equal(rd16(out + 2) & FLAG_MASK, F_QR | F_RD | F_RA);
	check_opt(out + DNS_HDR + 21, n - DNS_HDR - 21, false, 1, EDE_NONE, NULL, 0);
}

/* RA, AD and CD are only defined for QUERY: a reply to another opcode (NOTIMP) has them clear,
 * and echoes RD and the opcode (RFC 1035 §4.1.1, RFC 4035 §3.1.6, §3.2.2). */
static void test_reply_rcode_opcodes(void **state)
{
	static const unsigned opcodes[] = {0, 1, 2, 3, 4, 5, 6, 15};
	static const uint16_t client_flags[] = {F_RD | F_CD | F_AD, F_CD, F_AD, 0};
	uint8_t out[1024];
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		for (size_t k = 0; k < sizeof(client_flags) / sizeof(client_flags[0]); k++) {
			struct buf b = {.n = 0};
			struct query q;
			uint16_t flags = (uint16_t)(opcodes[i] << 11 | client_flags[k]);
			put_header(&b, 0x7777, flags, 1, 0, 0, 1);
			put_name(&b, "example.com.");
			put16(&b, 6);
			put16(&b, DNS_C_IN);
			put_opt(&b, false, 1232, 0, 0, true, -1, -1);
			enum wire_verdict v = wire_parse_query(b.b, b.n, &q);
			print_message("opcode %u flags 0x%04x\n", opcodes[i], client_flags[k]);
			assert_int_equal(v, opcodes[i] ? WIRE_NOTIMP : WIRE_OK);
			unsigned rcode = opcodes[i] ? DNS_R_NOTIMP : DNS_R_REFUSED;
			size_t n = response_rcode(&q, rcode, true, NULL, out, 512);
			uint16_t want = (uint16_t)(F_QR | (flags & F_RD));
			if (opcodes[i] == 0)
				want |= (uint16_t)(F_RA | (flags & F_CD));
			assert_int_equal(rd16(out + 2) & FLAG_MASK, want);
			assert_int_equal((rd16(out + 2) >> 11) & 0xf, opcodes[i]);
			assert_int_equal(rd16(out + 2) & 0xf, rcode);
			ldns_pkt *p = parse(out, n);
			assert_int_equal(ldns_pkt_get_opcode(p), opcodes[i]);
			assert_int_equal(ldns_pkt_ra(p), opcodes[i] == 0);
			assert_false(ldns_pkt_ad(p));
			assert_int_equal(ldns_pkt_cd(p), opcodes[i] == 0 && (flags & F_CD));
			ldns_pkt_free(p);
		}
	}
}

/* ---------- stream limits ---------- */

/* A hand-made answer to "www.example.com. AAAA" of total bytes: n_aaaa AAAA records (28 bytes
 * each, owners compressed), then, if pad, one additional record of a private type whose RDATA
 * makes up the rest. */
static size_t huge_answer(uint8_t *msg, unsigned n_aaaa, bool pad, size_t total)
{
	size_t n = 0;
	wr16(msg, 0x4242);
	wr16(msg + 2, F_QR | F_RD | F_RA);
	wr16(msg + 4, 1);
	wr16(msg + 6, (uint16_t)n_aaaa);
	wr16(msg + 8, 0);
	wr16(msg + 10, pad ? 1 : 0);
	n = DNS_HDR;
	memcpy(msg + n, "\3www\7example\3com\0", 17);
	n += 17;
	wr16(msg + n, DNS_T_AAAA);
	wr16(msg + n + 2, DNS_C_IN);
	n += 4;
	for (unsigned i = 0; i < n_aaaa; i++) {
		wr16(msg + n, 0xc00c);
		wr16(msg + n + 2, DNS_T_AAAA);
		wr16(msg + n + 4, DNS_C_IN);
		wr32(msg + n + 6, 300);
		wr16(msg + n + 10, 16);
		memset(msg + n + 12, 0, 16);
		wr16(msg + n + 12, 0x2001);
		wr16(msg + n + 14, 0x0db8);
		wr16(msg + n + 26, (uint16_t)i);
		n += 28;
	}
	if (pad) {
		assert_true(total >= n + 12 && total <= DNS_MAX_MSG);
		wr16(msg + n, 0xc00c);
		wr16(msg + n + 2, 65280);
		wr16(msg + n + 4, DNS_C_IN);
		wr32(msg + n + 6, 600);
		wr16(msg + n + 10, (uint16_t)(total - n - 12));
		memset(msg + n + 12, 0xab, total - n - 12);
		n = total;
	}
	return n;
}

struct stream_case {
	const char *what;
	unsigned n_aaaa;
	bool pad;
	size_t total; /* message size with the pad record */
	size_t limit;
	bool edns;
	/* what the reply keeps */
	uint8_t want_rcode;
	bool want_ede, want_additional, want_tc;
};

#define OPT_FULL  (11 + 4 + 24 + 6) /* OPT with a 24-byte cookie and an EDE */
#define OPT_NOEDE (11 + 4 + 24)

static const struct stream_case stream_cases[] = {
        {"fits with everything", 2300, true, DNS_MAX_MSG - OPT_FULL, DNS_MAX_MSG, true, 0, true, true, false},
        {"one byte over: EDE dropped", 2300, true, DNS_MAX_MSG - OPT_FULL + 1, DNS_MAX_MSG, true, 0, false, true,
         false},
        {"fits without EDE", 2300, true, DNS_MAX_MSG - OPT_NOEDE, DNS_MAX_MSG, true, 0, false, true, false},
        {"additional dropped", 2300, true, DNS_MAX_MSG - OPT_NOEDE + 1, DNS_MAX_MSG, true, 0, false, false, false},
        {"65,535 bytes: additional dropped", 2300, true, DNS_MAX_MSG, DNS_MAX_MSG, true, 0, false, false, false},
        {"no EDNS: all of 65,535 bytes", 2300, true, DNS_MAX_MSG, DNS_MAX_MSG, false, 0, false, true, false},
        {"limit above 65,535 is a stream", 2300, true, DNS_MAX_MSG, 70000, true, 0, false, false, false},
        {"answer alone too big: SERVFAIL", 2338, false, 0, DNS_MAX_MSG, true, DNS_R_SERVFAIL, false, false, false},
        {"UDP limit: TC", 2300, true, 65500, 1232, true, 0, true, false, true},
};

/* Over a stream TC means nothing: an answer that does not fit with its OPT loses the EDE
 * option, then the additional section, and is SERVFAIL if still too big; never TC. */
static void test_reply_stream_limit(void **state)
{
	static uint8_t msg[DNS_MAX_MSG], out[70000 + 64];
	static _Alignas(struct msg_meta) uint8_t stored[DNS_MAX_MSG + 16384];
	uint8_t cookie[24];
	fill_cookie(cookie, sizeof(cookie));
	for (size_t i = 0; i < sizeof(stream_cases) / sizeof(stream_cases[0]); i++) {
		const struct stream_case *c = &stream_cases[i];
		struct query q;
		print_message("case '%s'\n", c->what);
		size_t len = huge_answer(msg, c->n_aaaa, c->pad, c->total);
		assert_true(len >= 65000);
		assert_int_equal(wire_store(msg, len, 86400, stored, sizeof(stored)), 0);
		const struct msg_meta *m = (const struct msg_meta *)stored;
		client_query(&q, 0x5151, F_RD, "www.example.com.", DNS_T_AAAA, c->edns, 4096, false, 8);
		struct reply_opts o = {.ede = EDE_SYNTHESIZED, .cookie = cookie, .cookie_len = 24};
		memset(out, 0xcc, sizeof(out));
		size_t n = response_stored(&q, m, 100, &o, out, c->limit);
		assert_true(n <= (c->limit < DNS_MAX_MSG ? c->limit : DNS_MAX_MSG));
		for (size_t k = n; k < sizeof(out); k++)
			if (out[k] != 0xcc)
				fail_msg("byte %zu written past the reply's end %zu", k, n);
		ldns_pkt *p = parse(out, n);
		assert_int_equal(ldns_pkt_id(p), 0x5151);
		assert_int_equal(ldns_pkt_tc(p), c->want_tc);
		assert_int_equal(ldns_pkt_get_rcode(p), c->want_rcode);
		assert_int_equal(ldns_pkt_edns(p), c->edns);
		size_t want_an = c->want_rcode || c->want_tc ? 0 : c->n_aaaa;
		assert_int_equal(ldns_pkt_ancount(p), want_an);
		assert_int_equal(ldns_pkt_arcount(p), c->want_additional ? 1 : 0);
		if (want_an) {
			/* aged records, in order */
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), want_an - 1);
			assert_int_equal(ldns_rr_ttl(rr), 200);
			assert_int_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0))[15], (want_an - 1) & 0xff);
		}
		if (c->want_additional)
			assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_additional(p), 0)), 500);
		if (c->edns) {
			/* the OPT is last and whole; the cookie is kept, the EDE only if it fit */
			size_t optlen = 11 + 4 + 24 + (c->want_ede ? 6 : 0);
			check_opt(out + n - optlen, optlen, false, 0, c->want_ede ? EDE_SYNTHESIZED : EDE_NONE, cookie,
			          24);
		}
		ldns_pkt_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_store_aging),
	        cmocka_unit_test(test_reply_flags),
	        cmocka_unit_test(test_reply_opt),
	        cmocka_unit_test(test_reply_truncated),
	        cmocka_unit_test(test_reply_limit_boundary),
	        cmocka_unit_test(test_reply_rcode),
	        cmocka_unit_test(test_reply_rcode_opcodes),
	        cmocka_unit_test(test_reply_stream_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
