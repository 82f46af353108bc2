/* fuzz_upstream.c - fuzz target: an upstream answer through the fetch layer, the request driver and the reply
 *
 * The input is an upstream answer. First the stored form: wire_store never crashes, never
 * overruns a small buffer, storing a stored message again changes nothing, and ldns reads
 * exactly the records it stored. Then the input goes through the real daemon code (fakes.h:
 * a worker without listeners, the fake upstream answering with the input, its ID set to the
 * query's): a forward client asks the input's question over UDP and over TCP; for an AAAA
 * question a dns64 client asks it, with a fixed A answer next to it (the input decides on
 * synthesis); for an A question a dns64 client asks AAAA, with a fixed NODATA AAAA answer
 * and the input as the A answer, and every AAAA it gets must embed one of the input's A
 * records under the prefix. Every query must finish with one reply that fits the client's
 * limit, echoes the ID and question, and parses with ldns whenever the input did. The input
 * is also tried as a PTR query name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"
#include "dns64d/dns64.h"
#include "dns64d/errbuf.h"
#include "dns64d/request.h"
#include "dns64d/response.h"
#include "dns64d/revzone.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#include "fakes.h"

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

#define MAX_ROUNDS     64
#define FORWARD_CLIENT "203.0.113.7"
#define DNS64_CLIENT   "127.0.0.1"

static const char acl_text[] = "127.0.0.0/8     dns64\n"
                               "203.0.113.0/24  forward\n";

static struct config *configs[N_CONFIGS];

/* One fake daemon per config for the whole run, reset after each query (a fresh daemon per
 * query cost a loop, an epoll set and eventfds each time). */
static struct fake_daemon daemons[N_CONFIGS];
static bool started[N_CONFIGS];

static struct fake_daemon *daemon_for(const struct config *cfg)
{
	size_t i = 0;
	while (configs[i] != cfg)
		i++;
	if (!started[i]) {
		if (fake_daemon_start(&daemons[i], configs[i]) != 0)
			abort();
		started[i] = true;
	}
	return &daemons[i]; /* each use ends with fake_daemon_reset() */
}
static _Alignas(8) uint8_t stored[STORE_MAX];
static _Alignas(8) uint8_t restored[STORE_MAX];
static bool unusable;    /* the fetch layer cannot store the answer: whoever needs it gets SERVFAIL */
static unsigned n_input; /* exchanges answered with the input */

static const struct nat64_prefix prefixes[] = {
        {.addr = {0x00, 0x64, 0xff, 0x9b}, .len = 96},
        {.addr = {0x20, 0x01, 0x0d, 0xb8}, .len = 32},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01}, .len = 40},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22}, .len = 48},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x33}, .len = 56},
        {.addr = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64, 0x00, 0x00}, .len = 64},
};

static void init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	CHECK(sodium_init() >= 0);
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct errbuf err = {.len = 0};

		CHECK(config_parse("/fuzz/dns64d.conf", config_texts[i], &configs[i], &err) == 0);
		acl_free(&configs[i]->acl);
		CHECK(acl_parse("/fuzz/dns64d.acl", acl_text, &configs[i]->acl, &err) == 0);
		configs[i]->generation = 1;
	}
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

/* ---------- through the driver ---------- */

/* The client's query for the input's question (type qtype), with case changed; flags, EDNS
 * and DO from the input's last byte. Returns its length, or 0 when the input has no question. */
static size_t client_query(const uint8_t *data, size_t size, uint16_t qtype, uint8_t *q)
{
	const uint8_t *w = data;
	int n = size > DNS_HDR ? wire_name_len(w + DNS_HDR, size - DNS_HDR) : -1;
	uint8_t last = data[size - 1];
	size_t len = DNS_HDR;

	if (n < 0 || DNS_HDR + (size_t)n + 4 > size)
		return 0;
	wr16(q, (uint16_t)(0xbeef ^ size));
	wr16(q + 2, (uint16_t)(F_RD | ((last & 1) ? F_CD : 0) | ((last & 2) ? F_AD : 0)));
	wr16(q + 4, 1);
	wr16(q + 6, 0);
	wr16(q + 8, 0);
	wr16(q + 10, (last & 4) ? 1 : 0);
	memcpy(q + len, w + DNS_HDR, (size_t)n);
	for (int i = 0; i < n; i++)
		if ((q[len + i] | 0x20) >= 'a' && (q[len + i] | 0x20) <= 'z' && (i + size) % 3 == 0)
			q[len + i] ^= 0x20;
	len += (size_t)n;
	wr16(q + len, qtype);
	wr16(q + len + 2, rd16(w + DNS_HDR + n + 2));
	len += 4;
	if (last & 4) {
		/* OPT: root owner, payload size, DO as given */
		q[len] = 0;
		wr16(q + len + 1, DNS_T_OPT);
		wr16(q + len + 3, (last & 8) ? 4096 : 1232);
		wr32(q + len + 5, (last & 16) ? 0x8000u : 0);
		wr16(q + len + 9, 0);
		len += 11;
	}
	return len;
}

/* A fixed answer to x's query: for A, a global and a non-global address; else NODATA. */
static size_t fixed_answer(const struct xfer *x, uint8_t *m)
{
	static const uint8_t soa[] = {0, 0, 0,    0, 0, 1,    0,    0, 0x0e, 0x10, 0,
	                              0, 2, 0x58, 0, 1, 0x51, 0x80, 0, 0,    1,    0x2c};
	static const uint8_t a[2][4] = {{8, 8, 4, 4}, {192, 0, 2, 1}};
	size_t n = DNS_HDR + x->qname_len + 4;
	uint16_t qtype = rd16(x->query + DNS_HDR + x->qname_len);

	memcpy(m, x->query, n);
	wr16(m + 2, (uint16_t)((rd16(x->query + 2) & (F_RD | F_CD)) | F_QR | F_RA));
	wr16(m + 4, 1);
	wr16(m + 6, 0);
	wr16(m + 8, 0);
	wr16(m + 10, 0);
	for (unsigned i = 0; qtype == DNS_T_A && i < 2; i++) {
		wr16(m + n, 0xc00c);
		wr16(m + n + 2, DNS_T_A);
		wr16(m + n + 4, DNS_C_IN);
		wr32(m + n + 6, 300);
		wr16(m + n + 10, 4);
		memcpy(m + n + 12, a[i], 4);
		n += 16;
		wr16(m + 6, (uint16_t)(i + 1));
	}
	if (qtype != DNS_T_A) {
		wr16(m + n, 0xc00c);
		wr16(m + n + 2, DNS_T_SOA);
		wr16(m + n + 4, DNS_C_IN);
		wr32(m + n + 6, 600);
		wr16(m + n + 10, sizeof(soa));
		memcpy(m + n + 12, soa, sizeof(soa));
		n += 12 + sizeof(soa);
		wr16(m + 8, 1);
	}
	return n;
}

/* Answer every open exchange: the input for its own question, a fixed answer otherwise. */
static void answer_all(struct fake_net *net, const uint8_t *data, size_t size, uint16_t input_type)
{
	static uint8_t m[DNS_MAX_MSG];

	for (;;) {
		struct fake_xfer *open = NULL;

		for (struct fake_xfer *fx = net->log; fx; fx = fx->next)
			if (fx->x)
				open = fx;
		if (!open)
			return;
		if (open->qtype == input_type) {
			n_input++;
			fake_net_answer_raw(net, open, data, size);
		} else
			fake_net_answer_raw(net, open, m, fixed_answer(open->x, m));
	}
}

/* One client query through the driver; the reply checked and handed to check (if given). */
static void run(struct config *cfg, const char *client, bool tcp, const uint8_t *q, size_t qlen, const uint8_t *data,
                size_t size, uint16_t input_type, bool ldns_ok,
                void (*check)(const struct config *, ldns_pkt *, const uint8_t *, size_t))
{
	struct fake_daemon *fd = daemon_for(cfg);
	struct fake_net net = {.otherwise = FAKE_HOLD};
	struct fake_conn fc;
	struct client c;
	struct query pq;
	ldns_pkt *p = NULL;

	CHECK(wire_parse_query(q, qlen, &pq) == WIRE_OK);
	CHECK(fake_net_attach(&net, fd->w) == 0);
	fake_client_init(&c, &fc, client, tcp);
	n_input = 0;
	request_start(fd->w, &c, q, qlen);
	for (unsigned i = 0; i < MAX_ROUNDS && fc.releases == 0; i++) {
		answer_all(&net, data, size, input_type);
		uv_run(&fd->w->loop, UV_RUN_NOWAIT);
	}
	CHECK(fc.releases == 1 && fc.sends_after_release == 0);
	CHECK(fc.n_replies == 1);
	CHECK(net.violations == 0);

	const struct fake_reply *r = &fc.replies[0];
	size_t limit = tcp ? DNS_MAX_MSG : query_udp_limit(&pq);
	CHECK(r->len >= DNS_HDR + (size_t)pq.qname_len + 4 && r->len <= limit);
	CHECK(rd16(r->msg) == pq.id && (r->msg[2] & (F_QR >> 8)));
	CHECK(rd16(r->msg + 4) == 1 && memcmp(r->msg + DNS_HDR, pq.qname, pq.qname_len) == 0);
	CHECK(rd16(r->msg + DNS_HDR + pq.qname_len) == pq.qtype);
	bool tc = (r->msg[2] & (F_TC >> 8)) != 0;
	if (tc)
		CHECK(!tcp && rd16(r->msg + 6) == 0 && rd16(r->msg + 8) == 0);
	unsigned rcode = r->msg[3] & 0x0f;
	/* What ldns could read as stored, it can read as sent; and what dns64d built itself. */
	bool built = tc || (rcode == DNS_R_SERVFAIL && rd16(r->msg + 6) == 0);
	/* a forward client, or a dns64 client whose A answer it was (a failed AAAA is not) */
	if (unusable && n_input && (strcmp(client, FORWARD_CLIENT) == 0 || check))
		CHECK(rcode == DNS_R_SERVFAIL);
	ldns_status st = ldns_wire2pkt(&p, r->msg, r->len);
	if (st != LDNS_STATUS_OK && (ldns_ok || built)) {
		fprintf(stderr, "ldns: %s (limit %zu, len %zu)\n", ldns_get_errorstr_by_id(st), limit, r->len);
		CHECK(st == LDNS_STATUS_OK);
	}
	if (p) {
		CHECK(ldns_pkt_id(p) == pq.id);
		if (check && n_input)
			check(cfg, p, data, size); /* only when the input was the answer (not a local name) */
		ldns_pkt_free(p);
	}
	fake_conn_clear(&fc);
	CHECK(fake_daemon_reset(fd) == 0);
	fake_net_detach(&net, fd->w);
	CHECK(net.closed == 2 && net.open == 0);
	fake_net_free(&net);
}

/* The input was the A answer next to a NODATA AAAA: every AAAA record handed out embeds one
 * of its A records under the prefix (with that record's owner), every CNAME is one of its
 * CNAMEs, and no A record is handed out. */
static void check_synth(const struct config *cfg, ldns_pkt *reply, const uint8_t *data, size_t size)
{
	ldns_pkt *in = NULL;
	const ldns_rr_list *an = ldns_pkt_answer(reply);

	if (ldns_wire2pkt(&in, data, size) != LDNS_STATUS_OK)
		in = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		uint8_t v4[4];
		bool found = false;

		CHECK(ldns_rr_get_type(rr) != LDNS_RR_TYPE_A);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
			/* a chain record is the upstream's, names and all (synthesis rewrites pointers) */
			CHECK(in != NULL);
			const ldns_rr_list *ia = ldns_pkt_answer(in);
			for (size_t k = 0; k < ldns_rr_list_rr_count(ia) && !found; k++)
				found = ldns_rr_compare(ldns_rr_list_rr(ia, k), rr) == 0;
			CHECK(found);
			continue;
		}
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_AAAA)
			continue;
		CHECK(ldns_rr_rd_count(rr) == 1 && ldns_rdf_size(ldns_rr_rdf(rr, 0)) == 16);
		CHECK(dns64_extract(&cfg->prefixes[0].p, ldns_rdf_data(ldns_rr_rdf(rr, 0)), v4) == 0);
		CHECK(in != NULL);
		const ldns_rr_list *ia = ldns_pkt_answer(in);
		for (size_t k = 0; k < ldns_rr_list_rr_count(ia) && !found; k++) {
			const ldns_rr *a = ldns_rr_list_rr(ia, k);

			found = ldns_rr_get_type(a) == LDNS_RR_TYPE_A && ldns_rr_rd_count(a) == 1 &&
			        ldns_rdf_size(ldns_rr_rdf(a, 0)) == 4 &&
			        memcmp(ldns_rdf_data(ldns_rr_rdf(a, 0)), v4, 4) == 0 &&
			        ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(rr)) == 0;
		}
		CHECK(found);
	}
	ldns_pkt_free(in);
}

/* The upstream answer data (the input, as a transport passes it on) through the driver for
 * the clients that lead to it. ldns_ok: the stored form of data parses with ldns. */
static void drive(const uint8_t *data, size_t size, bool ldns_ok)
{
	uint8_t q[DNS_MAX_NAME + 32];
	struct config *cfg = configs[data[size - 1] % N_CONFIGS];
	int n = wire_name_len(data + DNS_HDR, size - DNS_HDR);
	if (n < 0 || DNS_HDR + (size_t)n + 4 > size)
		return;
	uint16_t qtype = rd16(data + DNS_HDR + n);
	size_t qlen;
	struct query pq;
	if ((qlen = client_query(data, size, qtype, q)) == 0 || wire_parse_query(q, qlen, &pq) != WIRE_OK ||
	    qtype == DNS_T_OPT || (qtype >= 128 && qtype <= 255))
		return; /* a question no client query could carry (or a meta type, answered locally) */
	run(cfg, FORWARD_CLIENT, false, q, qlen, data, size, qtype, ldns_ok, NULL);
	run(cfg, FORWARD_CLIENT, true, q, qlen, data, size, qtype, ldns_ok, NULL);
	if (qtype == DNS_T_AAAA)
		run(cfg, DNS64_CLIENT, false, q, qlen, data, size, qtype, ldns_ok, NULL);
	if (qtype == DNS_T_A && (qlen = client_query(data, size, DNS_T_AAAA, q)) != 0)
		run(cfg, DNS64_CLIENT, false, q, qlen, data, size, DNS_T_A, ldns_ok, check_synth);
}

/* The input as the upstream's answer to a client's query: a transport passes on only QR=1,
 * opcode QUERY and one question, so those bits are set (the rest is the input). */
static void as_answer(const uint8_t *data, size_t size, bool ldns_ok)
{
	if (size < DNS_HDR || rd16(data + 4) != 1)
		return;
	uint8_t *ans = malloc(size);
	CHECK(ans != NULL);
	memcpy(ans, data, size);
	ans[2] = (uint8_t)((ans[2] & 0x87) | 0x80);
	unusable = wire_store(ans, size, MAX_TTL, restored, sizeof(restored)) < 0;
	drive(ans, size, ldns_ok && !unusable);
	free(ans);
}

/* The reverse-zone classification agrees with dns64_ptr_target (n: what it returned): a
 * whole synthesized address is exactly what it has a target for. */
static void check_revzone(const struct nat64_prefix *p, const uint8_t *name, size_t len, size_t n)
{
	struct revzone_match m;
	enum revzone_kind k = revzone_classify(p, name, len, &m);

	CHECK((k == REVZONE_ADDRESS || k == REVZONE_IPV4ONLY) == (n != 0));
	CHECK(k == REVZONE_OUTSIDE || m.apex_off < len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct msg_meta *m;
	ldns_pkt *p = NULL;
	uint8_t *small;
	uint8_t target[64];
	int rc;

	init();
	if (size == 0 || size > DNS_MAX_MSG)
		return 0;

	/* the input as a PTR query name, as given and at the question's place */
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = dns64_ptr_target(&prefixes[i], data, size, target);

		CHECK(n == 0 || wire_name_len(target, n) == (int)n);
		check_revzone(&prefixes[i], data, size, n);
		if (size > DNS_HDR) {
			int ql = wire_name_len(data + DNS_HDR, size - DNS_HDR);

			if (ql > 0) {
				n = dns64_ptr_target(&prefixes[i], data + DNS_HDR, (size_t)ql, target);
				CHECK(n == 0 || wire_name_len(target, n) == (int)n);
				check_revzone(&prefixes[i], data + DNS_HDR, (size_t)ql, n);
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
	if (rc < 0) {
		as_answer(data, size, false); /* the fetch layer must refuse it too */
		return 0;
	}
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

	/* the stored message through ldns, as the driver reads it */
	p = response_to_ldns(m, 0);
	bool ldns_ok = p != NULL;
	if (p) {
		check_same_records(m, p);
		ldns_pkt_free(p);
	}
	as_answer(data, size, ldns_ok);
	return 0;
}
