/* fuzz_query.c - fuzz target: one client query from received bytes to reply bytes, no sockets
 *
 * Follows request.c's begin(): ACL match for two client addresses taken from the input, query
 * parsing, cookie check, the early rcode replies, then replies built from stored messages
 * (two made at start from real answers, one made per input for the query's own name) for
 * UDP without EDNS (512), the client's EDNS size, 1232 and TCP (65535). Every reply must
 * fit its limit, echo the ID and question, and parse with ldns.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns64d/acl.h"
#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/cookie.h"
#include "dns64d/dns64.h"
#include "dns64d/response.h"
#include "dns64d/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			fprintf(stderr, "fuzz_query: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);         \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define STORE_MAX (DNS_MAX_MSG + 8192)
#define MAX_TTL   86400
#define NOW       1700000000u

static const char acl_text[] = "# fixed ACL for the fuzzer: every action, both families, nested networks\n"
                               "10.0.0.0/8        dns64\n"
                               "10.1.0.0/16       forward\n"
                               "10.1.2.0/24       refuse\n"
                               "10.1.2.3/32       drop\n"
                               "192.0.2.0/24      dns64 2001:db8:64::/96\n"
                               "198.51.100.0/25   dns64 2001:db8:100::/40\n"
                               "203.0.113.0/24    forward\n"
                               "127.0.0.0/8       dns64\n"
                               "2001:db8::/32     dns64\n"
                               "2001:db8:1::/48   forward\n"
                               "2001:db8:1:2::/64 dns64 2001:db8:ff00::/56\n"
                               "2001:db8:2::/48   drop\n"
                               "::1/128           dns64\n"
                               "::/0              refuse\n";

static struct acl acl;
static struct cookie_ring secrets;
static struct cache *cache;
static uint64_t now_ms = 1000;

/* Stored messages made at start from real answers. */
static _Alignas(8) uint8_t stored_big[STORE_MAX]; /* www.example.com AAAA: CNAME + 60 AAAA */
static _Alignas(8) uint8_t stored_neg[STORE_MAX]; /* www.example.com AAAA: NXDOMAIN + SOA */
static _Alignas(8) uint8_t stored_own[STORE_MAX]; /* made per input for the query's name */
static _Alignas(8) uint8_t cached[STORE_MAX];
static uint8_t out[DNS_MAX_MSG + 1024];

static const struct nat64_prefix prefixes[] = {
        {.addr = {0x00, 0x64, 0xff, 0x9b}, .len = 96},
        {.addr = {0x20, 0x01, 0x0d, 0xb8}, .len = 32},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01}, .len = 40},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22}, .len = 48},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x33}, .len = 56},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x33, 0x44}, .len = 64},
};

static void make_stored(const char *const *rrs, size_t n, ldns_pkt_rcode rcode, uint8_t *dst)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	CHECK(ldns_pkt_query_new_frm_str(&p, "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, LDNS_RD) ==
	      LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_ad(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		ldns_pkt_section sec = LDNS_SECTION_ANSWER;
		const char *text = rrs[i];

		if (text[0] == '@') { /* authority */
			sec = LDNS_SECTION_AUTHORITY;
			text++;
		}
		CHECK(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, sec, rr);
	}
	CHECK(ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK);
	CHECK(wire_store(wire, len, MAX_TTL, dst, STORE_MAX) == 0);
	free(wire);
	ldns_pkt_free(p);
}

static void init(void)
{
	static bool done;
	static const char *big[64];
	static char big_text[64][128];
	static const char *const neg[] = {
	        "@example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 "
	        "3600 1209600 300",
	};
	struct errbuf err = {.len = 0};
	size_t n = 0;

	if (done)
		return;
	done = true;
	CHECK(acl_parse("fuzz.acl", acl_text, &acl, &err) == 0);
	uint8_t key[COOKIE_SECRET_LEN];
	for (unsigned i = 0; i < COOKIE_SECRET_LEN; i++)
		key[i] = (uint8_t)(0x7 * i + 3);
	cookie_ring_init(&secrets, key, NOW - 2 * COOKIE_ROTATE_INTERVAL);
	for (unsigned i = 0; i < COOKIE_SECRET_LEN; i++)
		key[i] = (uint8_t)(0x11 * i + 1);
	cookie_ring_rotate(&secrets, key, NOW - COOKIE_ROTATE_INTERVAL);
	CHECK(cache_new(1u << 20, 2, &cache) == 0);

	big[n++] = "www.example.com. 300 IN CNAME host.example.net.";
	for (unsigned i = 0; i < 60; i++) {
		snprintf(big_text[i], sizeof(big_text[i]), "host.example.net. %u IN AAAA 2001:db8::%x", 100 + i, i + 1);
		big[n++] = big_text[i];
	}
	big[n++] = "host.example.net. 300 IN RRSIG AAAA 8 3 300 20300101000000 20200101000000 12345 "
	           "example.net. AAAA";
	big[n++] = "@example.net. 3600 IN NS ns1.example.net.";
	make_stored(big, n, LDNS_RCODE_NOERROR, stored_big);
	make_stored(neg, 1, LDNS_RCODE_NXDOMAIN, stored_neg);
}

/* Our own well-formed answer for q's question: k AAAA records compressed against it. */
static const struct msg_meta *make_own(const struct query *q, unsigned k, uint32_t ttl)
{
	static uint8_t msg[DNS_MAX_MSG];
	size_t n = DNS_HDR;

	wr16(msg, 0);
	wr16(msg + 2, F_QR | F_RD | F_RA);
	wr16(msg + 4, 1);
	wr16(msg + 6, (uint16_t)k);
	wr16(msg + 8, 0);
	wr16(msg + 10, 0);
	memcpy(msg + n, q->qname, q->qname_len);
	n += q->qname_len;
	wr16(msg + n, q->qtype);
	wr16(msg + n + 2, q->qclass);
	n += 4;
	for (unsigned i = 0; i < k; i++) {
		wr16(msg + n, 0xc00c);
		wr16(msg + n + 2, DNS_T_AAAA);
		wr16(msg + n + 4, DNS_C_IN);
		wr32(msg + n + 6, ttl + i);
		wr16(msg + n + 10, 16);
		memset(msg + n + 12, 0, 16);
		msg[n + 12] = 0x20;
		msg[n + 13] = 0x01;
		msg[n + 27] = (uint8_t)i;
		n += 28;
	}
	CHECK(wire_store(msg, n, MAX_TTL, stored_own, sizeof(stored_own)) == 0);
	const struct msg_meta *m = (const struct msg_meta *)stored_own;
	CHECK(m->msg_len == n && m->n_ttl == k);
	return m;
}

static size_t expected_opt_size(const struct reply_opts *o)
{
	return 11 + (o->cookie_len ? 4u + o->cookie_len : 0) + (o->ede != EDE_NONE ? 6 : 0);
}

/* What every reply must satisfy. */
static void check_reply(const struct query *q, const uint8_t *r, size_t n, size_t limit, bool qtype, bool parse)
{
	ldns_pkt *p = NULL;

	CHECK(n >= DNS_HDR && n <= limit);
	CHECK(rd16(r) == q->id);
	CHECK(r[2] & (F_QR >> 8));
	CHECK((rd16(r + 2) & F_RD) == (q->flags & F_RD));
	if (rd16(r + 4) == 1) {
		CHECK(n >= DNS_HDR + (size_t)q->qname_len + 4);
		CHECK(memcmp(r + DNS_HDR, q->qname, q->qname_len) == 0);
		/* a stored reply keeps the stored type: request.c only serves it for that type */
		CHECK(!qtype || rd16(r + DNS_HDR + q->qname_len) == q->qtype);
	}
	if (!parse)
		return;
	CHECK(ldns_wire2pkt(&p, r, n) == LDNS_STATUS_OK);
	CHECK(ldns_pkt_id(p) == q->id);
	ldns_pkt_free(p);
}

static void reply_rcode(const struct query *q, unsigned rcode, const struct reply_opts *o, size_t limit)
{
	size_t n = response_rcode(q, rcode, true, o, out, limit);

	check_reply(q, out, n, limit, true, true);
	CHECK((rd16(out + 2) & 0xf) == (rcode & 0xf));
	CHECK(rd16(out + 6) == 0 && rd16(out + 8) == 0);
	if (q->qname_len)
		CHECK(rd16(out + 4) == 1);
	/* FORMERR for an unparsable question may leave the question out */
	n = response_rcode(q, rcode, false, o, out, limit);
	check_reply(q, out, n, limit, true, true);
	CHECK(rd16(out + 4) == 0);
}

static void reply_stored(const struct query *q, const struct msg_meta *m, uint32_t elapsed, const struct reply_opts *o,
                         size_t limit)
{
	const uint8_t *w = msg_wire(m);
	size_t n = response_stored(q, m, elapsed, o, out, limit);
	bool same_len = m->msg_len >= DNS_HDR + query_question_len(q) &&
	                wire_name_len(w + DNS_HDR, m->msg_len - DNS_HDR) == q->qname_len;
	size_t full = m->msg_len + (q->edns ? expected_opt_size(o) : 0);

	/* compression pointers into the question only make sense for the name it was stored
	 * for (request.c never serves another): only then must the reply parse */
	bool same_name = same_len && wire_name_equal(w + DNS_HDR, q->qname_len, q->qname, q->qname_len);
	check_reply(q, out, n, limit, false, same_name || !same_len || full > limit);
	CHECK(rd16(out + 4) == 1);
	if (!same_len) {
		CHECK((rd16(out + 2) & 0xf) == DNS_R_SERVFAIL);
		return;
	}
	if (full > limit && limit >= DNS_MAX_MSG) {
		/* over a stream never TC: optional parts dropped, or SERVFAIL */
		CHECK(!(out[2] & (F_TC >> 8)));
		if ((rd16(out + 2) & 0xf) == DNS_R_SERVFAIL && rd16(out + 6) == 0)
			return;
		CHECK(rd16(out + 6) == rd16(w + 6) && rd16(out + 8) == rd16(w + 8));
		CHECK(rd16(out + 10) <= rd16(w + 10) + 1);
		return;
	}
	if (full > limit) {
		CHECK(out[2] & (F_TC >> 8));
		CHECK(rd16(out + 6) == 0);
		return;
	}
	CHECK(!(out[2] & (F_TC >> 8)));
	CHECK(n == full);
	CHECK(rd16(out + 6) == rd16(w + 6) && rd16(out + 8) == rd16(w + 8));
	CHECK(memcmp(out + DNS_HDR + q->qname_len, w + DNS_HDR + q->qname_len, m->msg_len - DNS_HDR - q->qname_len) ==
	              0 ||
	      (elapsed && m->n_ttl));
	for (unsigned i = 0; i < m->n_ttl; i++) {
		uint16_t off = msg_ttl_offsets(m)[i];
		uint32_t t = rd32(w + off);

		CHECK(rd32(out + off) == (t > elapsed ? t - elapsed : 0));
	}
}

/* RFC 6147 §5.3.1 target: a valid in-addr.arpa name whose address embeds back to qname. */
static void check_ptr(const struct query *q)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		uint8_t target[64], v4[4], v6[16], v6q[16];
		size_t len = dns64_ptr_target(&prefixes[i], q->qname, q->qname_len, target);
		size_t pos = 0;

		if (len == 0)
			continue;
		CHECK(len <= 30);
		CHECK(wire_name_len(target, len) == (int)len);
		for (int k = 3; k >= 0; k--) {
			unsigned v = 0, l = target[pos++];

			CHECK(l >= 1 && l <= 3);
			for (unsigned j = 0; j < l; j++)
				v = v * 10 + (unsigned)(target[pos++] - '0');
			CHECK(v <= 255);
			v4[k] = (uint8_t)v;
		}
		dns64_embed(&prefixes[i], v4, v6);
		/* qname nibbles, low nibble of the last byte first */
		for (unsigned k = 0; k < 32; k++) {
			uint8_t c = q->qname[2 * k + 1] | 0x20;
			unsigned nib = c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);

			if (k % 2 == 0)
				v6q[15 - k / 2] = (uint8_t)nib;
			else
				v6q[15 - k / 2] |= (uint8_t)(nib << 4);
		}
		CHECK(memcmp(v6, v6q, 16) == 0);
	}
}

static void check_names(const struct query *q)
{
	static const struct dname root = {.wire = {0}, .len = 1};
	static const struct dname com = {.wire = "\3com", .len = 5};
	struct dname self = {.len = q->qname_len};
	uint8_t key[CACHE_KEY_MAX];

	CHECK(dns64_name_under(q->qname, q->qname_len, &root));
	for (size_t i = 0; i < q->qname_len; i++)
		self.wire[i] = (q->qname[i] >= 'A' && q->qname[i] <= 'Z') ? q->qname[i] + 32 : q->qname[i];
	CHECK(dns64_name_under(q->qname, q->qname_len, &self));
	(void)dns64_name_under(q->qname, q->qname_len, &com);
	CHECK(cache_key(key, q->qname, q->qname_len, q->qtype, q->qclass, CACHE_F_RD, NULL, 0) > 0);
}

/* The cache hands back exactly what was stored. */
static void check_cache(const struct query *q, const struct msg_meta *m)
{
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = cache_key(key, q->qname, q->qname_len, q->qtype, q->qclass, 0, NULL, 0);
	size_t len = 0;
	uint64_t stored = 0;

	CHECK(klen > 0);
	now_ms += 1000;
	if (cache_insert(cache, key, klen, m, msg_stored_size(m), now_ms, m->ttl) != 0 || !m->ttl)
		return;
	CHECK(cache_lookup(cache, key, klen, now_ms, cached, sizeof(cached), &len, &stored) == 0);
	CHECK(len == msg_stored_size(m) && stored == now_ms && memcmp(cached, m, len) == 0);
}

/* One client at (family, ip): what request.c's begin() does for it, for UDP and TCP. */
static void serve(const struct query *q, enum wire_verdict v, int family, const uint8_t *ip, const uint8_t *data,
                  size_t size)
{
	const struct acl_rule *rule = acl_match(&acl, family, ip);
	enum acl_action action = rule ? rule->action : ACL_REFUSE;
	size_t iplen = family == AF_INET ? 4 : 16;
	uint8_t last = data[size - 1];

	if (rule)
		CHECK(network_contains(&rule->net, family, ip));
	if (action == ACL_DROP)
		return;
	for (int tcp = 0; tcp <= 1; tcp++) {
		size_t limit = tcp ? DNS_MAX_MSG : query_udp_limit(q);
		struct reply_opts ro = {.ede = EDE_NONE};
		uint8_t cookie[COOKIE_REPLY_LEN];

		if (action == ACL_REFUSE) {
			reply_rcode(q, v == WIRE_OK ? DNS_R_REFUSED : (v == WIRE_NOTIMP ? DNS_R_NOTIMP : DNS_R_FORMERR),
			            &ro, limit);
			continue;
		}
		if (q->cookie_len && v == WIRE_OK) {
			enum cookie_status st =
			        cookie_check(&secrets, q->cookie, q->cookie_len, NOW, ip, iplen, cookie);
			uint8_t again[COOKIE_REPLY_LEN];

			CHECK(st != COOKIE_NONE);
			CHECK(memcmp(cookie, q->cookie, 8) == 0);
			/* the server cookie we hand out is accepted on the next query */
			CHECK(cookie_check(&secrets, cookie, sizeof(cookie), NOW + 10, ip, iplen, again) ==
			      COOKIE_VALID);
			CHECK(memcmp(again, cookie, sizeof(cookie)) == 0);
			ro.cookie = cookie;
			ro.cookie_len = COOKIE_REPLY_LEN;
			if (st == COOKIE_BAD && !tcp) {
				reply_rcode(q, DNS_R_BADCOOKIE, &ro, limit);
				continue;
			}
		}
		if (v != WIRE_OK) {
			reply_rcode(q,
			            v == WIRE_NOTIMP    ? DNS_R_NOTIMP
			            : v == WIRE_BADVERS ? DNS_R_BADVERS
			                                : DNS_R_FORMERR,
			            &ro, limit);
			continue;
		}
		if (q->qtype == DNS_T_OPT || (q->qtype >= 128 && q->qtype < 255)) {
			reply_rcode(q, q->qtype == DNS_T_OPT ? DNS_R_FORMERR : DNS_R_NOTIMP, &ro, limit);
			continue;
		}
		reply_rcode(q, DNS_R_SERVFAIL, &ro, limit);
		ro.ede = (last & 1) ? EDE_SYNTHESIZED : EDE_NONE;
		uint32_t elapsed = (last >> 1) & 0x3f;
		size_t limits[] = {limit, 512, DNS_UDP_MAX};
		for (size_t i = 0; i < (tcp ? 1 : 3); i++) {
			reply_stored(q, (const struct msg_meta *)stored_big, elapsed, &ro, limits[i]);
			reply_stored(q, (const struct msg_meta *)stored_neg, elapsed, &ro, limits[i]);
			reply_stored(q, (const struct msg_meta *)stored_own, elapsed, &ro, limits[i]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	uint8_t ip4[4], ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
	static const uint8_t first[4] = {10, 192, 127, 198};
	enum wire_verdict v;

	init();
	if (size > DNS_MAX_MSG)
		return 0;
	v = wire_parse_query(data, size, &q);
	if (v == WIRE_DROP) {
		CHECK(size < DNS_HDR || (data[2] & 0x80));
		return 0;
	}
	CHECK(size >= DNS_HDR && q.id == rd16(data));
	CHECK(q.qname_len <= DNS_MAX_NAME && q.cookie_len <= 40);
	CHECK(!q.edns || q.udp_size >= 512);
	if (v == WIRE_OK) {
		CHECK(q.qname_len > 0 && wire_name_len(q.qname, q.qname_len) == q.qname_len);
		check_names(&q);
		check_ptr(&q);
		uint8_t last = data[size - 1];
		const struct msg_meta *own = make_own(&q, last % 64 == 63 ? 2000 : last % 64, 60u << (last % 16));
		check_cache(&q, own);
	}

	/* two clients whose addresses come from the input's last bytes */
	ip4[0] = first[data[size - 4] & 3];
	ip4[1] = data[size - 3];
	ip4[2] = data[size - 2];
	ip4[3] = data[size - 1];
	ip6[4] = 0;
	ip6[5] = data[size - 3] & 3;
	ip6[6] = data[size - 2] & 1;
	ip6[7] = data[size - 1] & 3;
	ip6[15] = data[size - 4];
	serve(&q, v, AF_INET, ip4, data, size);
	serve(&q, v, AF_INET6, ip6, data, size);
	return 0;
}
