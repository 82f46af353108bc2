/* fuzz_query.c - fuzz target: received bytes through the real request driver to the reply bytes, no sockets
 *
 * Every input is a client query handed to request_start() (request.c) of a worker made
 * without listeners (tests/fakes.h), from two clients whose addresses come from the input's
 * last bytes (every ACL action, both families), over UDP and over TCP. The fake upstream
 * answers every question the fetch layer asks with an answer chosen by the input: records for
 * the question (a few, or so many that UDP needs TC), NODATA, NXDOMAIN, SERVFAIL or a
 * malformed message. Every query must be finished (the client handle released exactly once)
 * once the upstream has answered, with at most one reply, which fits the client's limit,
 * echoes the ID, the RD bit and the question as sent, and parses with ldns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"
#include "dns64d/errbuf.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#include "fakes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			fprintf(stderr, "fuzz_query: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);         \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define MAX_ROUNDS 64 /* loop turns a query may take when every upstream question is answered */

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

/* Two configs: the defaults; and no cookies, no A prefetch, synthesis on NODATA only, with
 * name lists. */
static const char *const config_texts[] = {
        "upstream 127.0.0.53:5300\n"
        "cache-size 256k\n"
        "timeout 100\n",

        "upstream 127.0.0.53:5300\n"
        "upstream [::1]:5300\n"
        "cache-size 256k\n"
        "timeout 100\n"
        "cookies no\n"
        "prefetch-a no\n"
        "synth-on nodata\n"
        "synth-all example.com\n"
        "no-synth intranet.example\n",
};
#define N_CONFIGS (sizeof(config_texts) / sizeof(config_texts[0]))

static struct config *configs[N_CONFIGS];

/* One fake daemon per config for the whole run, reset between inputs (starting a fresh one
 * per input cost 4 loops, epoll sets and eventfds each time: 67 inputs/s under ASan). */
static struct fake_daemon daemons[N_CONFIGS];
static bool started[N_CONFIGS];

static struct fake_daemon *daemon_for(size_t i)
{
	if (!started[i]) {
		CHECK(fake_daemon_start(&daemons[i], configs[i]) == 0);
		started[i] = true;
	}
	return &daemons[i]; /* each use ends with fake_daemon_reset() */
}

static void init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	CHECK(sodium_init() >= 0);
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct errbuf err = {.len = 0};
		CHECK(config_parse("fuzz.conf", config_texts[i], &configs[i], &err) == 0);
		acl_free(&configs[i]->acl);
		CHECK(acl_parse("fuzz.acl", acl_text, &configs[i]->acl, &err) == 0);
		configs[i]->generation = 1;
	}
}

/* ---------- the upstream's answers ---------- */

static void put16(uint8_t *m, size_t *n, unsigned v)
{
	wr16(m + *n, (uint16_t)v);
	*n += 2;
}

static void put32(uint8_t *m, size_t *n, uint32_t v)
{
	wr32(m + *n, v);
	*n += 4;
}

/* One record owned by the question's name (a pointer to it). */
static void put_rr(uint8_t *m, size_t *n, uint16_t type, uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	put16(m, n, 0xc00c);
	put16(m, n, type);
	put16(m, n, DNS_C_IN);
	put32(m, n, ttl);
	put16(m, n, (unsigned)rdlen);
	memcpy(m + *n, rd, rdlen);
	*n += rdlen;
}

/* The answer to x's query chosen by the byte sel; returns its length in m (65535 bytes). */
static size_t make_answer(const struct xfer *x, uint8_t sel, uint8_t *m)
{
	size_t qend = DNS_HDR + x->qname_len + 4, n = qend;
	uint16_t qtype = rd16(x->query + DNS_HDR + x->qname_len);
	unsigned kind = sel % 6, k = 1 + (sel >> 3) % 8, ancount = 0, nscount = 0, rcode = DNS_R_NOERROR;
	static const uint8_t soa[] = {0, 0, 0,    0, 0, 1,    0,    0, 0x0e, 0x10, 0,
	                              0, 2, 0x58, 0, 1, 0x51, 0x80, 0, 0,    1,    0x2c};
	static const uint8_t ptr[] = {3, 'd', 'n', 's', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

	memcpy(m, x->query, qend);
	wr16(m + 2, (uint16_t)((rd16(x->query + 2) & (F_RD | F_CD)) | F_QR | F_RA));
	wr16(m + 4, 1);
	if (kind == 4)
		k = 120; /* over 1232 bytes for AAAA: TC over UDP, the same again over TCP */
	switch (kind) {
	case 0:
	case 4:
		for (unsigned i = 0; i < k; i++) {
			uint8_t rd[16] = {0x20, 0x01, 0x0d, 0xb8};
			if (qtype == DNS_T_A) {
				/* global addresses, and one of TEST-NET-1 now and then */
				uint8_t a4[4] = {(sel & 0x40) ? 192 : 8, (sel & 0x40) ? 0 : 8, (sel & 0x40) ? 2 : 4,
				                 (uint8_t)(i + 1)};
				put_rr(m, &n, DNS_T_A, 300 + i, a4, 4);
			} else if (qtype == DNS_T_AAAA) {
				rd[15] = (uint8_t)i;
				put_rr(m, &n, DNS_T_AAAA, 300 + i, rd, 16);
			} else if (qtype == DNS_T_PTR)
				put_rr(m, &n, DNS_T_PTR, 300 + i, ptr, sizeof(ptr));
			else
				put_rr(m, &n, DNS_T_A, 300 + i, rd, 4); /* an answer of another type */
			ancount++;
		}
		break;
	case 1:
	case 2:
		rcode = kind == 2 ? DNS_R_NXDOMAIN : DNS_R_NOERROR;
		put_rr(m, &n, DNS_T_SOA, 600, soa, sizeof(soa));
		nscount = 1;
		break;
	case 3: rcode = DNS_R_SERVFAIL; break;
	case 5:
		/* malformed: a record announced but cut short */
		put_rr(m, &n, DNS_T_A, 60, soa, 4);
		n -= 3;
		ancount = 1;
		break;
	}
	wr16(m + 2, (uint16_t)(rd16(m + 2) | rcode));
	wr16(m + 6, (uint16_t)ancount);
	wr16(m + 8, (uint16_t)nscount);
	wr16(m + 10, 0);
	if (kind == 4 && x->t && strcmp(x->t->ops->name, "udp") == 0 && n > DNS_UDP_MAX) {
		/* what a server does over UDP with an answer that does not fit */
		n = qend;
		wr16(m + 2, (uint16_t)(rd16(m + 2) | F_TC));
		wr16(m + 6, 0);
	}
	return n;
}

/* Answer every open upstream exchange, with answers chosen by the input. */
static void answer_all(struct fake_net *net, const uint8_t *data, size_t size, unsigned *turn)
{
	static uint8_t m[DNS_MAX_MSG];
	struct fake_xfer *fx;
	while ((fx = net->log) != NULL) {
		/* the oldest open one first */
		struct fake_xfer *open = NULL;
		for (; fx; fx = fx->next)
			if (fx->x)
				open = fx;
		if (!open)
			break;
		/* mixed with the turn and the size, so a corpus of ordinary queries sees every kind */
		uint8_t sel = (uint8_t)(data[(*turn * 7u + size / 2) % size] * 31u + *turn * 53u + size);
		(*turn)++;
		size_t n = make_answer(open->x, sel, m);
		fake_net_answer_raw(net, open, m, n);
	}
}

/* ---------- one client ---------- */

static void check_reply(const struct query *q, bool parsed, const uint8_t *data, const struct fake_reply *r,
                        size_t limit)
{
	ldns_pkt *p = NULL;
	CHECK(r->len >= DNS_HDR && r->len <= limit);
	CHECK(rd16(r->msg) == rd16(data));
	CHECK(r->msg[2] & (F_QR >> 8));
	CHECK((rd16(r->msg + 2) & F_RD) == (rd16(data + 2) & F_RD));
	if (parsed && rd16(r->msg + 4) == 1) {
		/* the question as the client wrote it (case kept) */
		CHECK(r->len >= DNS_HDR + (size_t)q->qname_len + 4);
		CHECK(memcmp(r->msg + DNS_HDR, q->qname, q->qname_len) == 0);
		CHECK(rd16(r->msg + DNS_HDR + q->qname_len) == q->qtype);
	}
	if (r->msg[2] & (F_TC >> 8))
		CHECK(limit < DNS_MAX_MSG && rd16(r->msg + 6) == 0);
	ldns_status st = ldns_wire2pkt(&p, r->msg, r->len);
	if (st != LDNS_STATUS_OK)
		fprintf(stderr, "ldns: %s (limit %zu, len %zu)\n", ldns_get_errorstr_by_id(st), limit, r->len);
	CHECK(st == LDNS_STATUS_OK);
	CHECK(ldns_pkt_id(p) == rd16(data));
	ldns_pkt_free(p);
}

static void serve(size_t ci, const struct query *q, enum wire_verdict v, int family, const uint8_t *ip,
                  const uint8_t *data, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	unsigned turn = 0;
	CHECK(inet_ntop(family, ip, text, sizeof(text)) != NULL);
	for (int tcp = 0; tcp <= 1; tcp++) {
		struct fake_daemon *fd = daemon_for(ci);
		struct fake_net net = {.otherwise = FAKE_HOLD};
		struct fake_conn fc;
		struct client c;
		CHECK(fake_net_attach(&net, fd->w) == 0);
		fake_client_init(&c, &fc, text, tcp);
		request_start(fd->w, &c, data, size);
		for (unsigned i = 0; i < MAX_ROUNDS && fc.releases == 0; i++) {
			answer_all(&net, data, size, &turn);
			uv_run(&fd->w->loop, UV_RUN_NOWAIT);
		}
		CHECK(fc.releases == 1);
		CHECK(fc.sends_after_release == 0);
		CHECK(fc.n_replies <= 1);
		CHECK(net.violations == 0);
		if (v == WIRE_DROP)
			CHECK(fc.n_replies == 0);
		if (fc.n_replies) {
			size_t limit = tcp ? DNS_MAX_MSG : query_udp_limit(q);
			check_reply(q, v == WIRE_OK, data, &fc.replies[0], limit);
		}
		fake_conn_clear(&fc);
		/* questions still asked (an A prefetch) are cancelled by the reset */
		CHECK(fake_daemon_reset(fd) == 0);
		fake_net_detach(&net, fd->w);
		CHECK(net.closed == 2 && net.open == 0);
		fake_net_free(&net);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	uint8_t ip4[4], ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
	static const uint8_t first[4] = {10, 192, 127, 198};

	init();
	if (size == 0 || size > DNS_MAX_MSG)
		return 0;
	/* the verdict only says what to expect; the driver parses the input itself */
	enum wire_verdict v = wire_parse_query(data, size, &q);
	if (v == WIRE_DROP)
		CHECK(size < DNS_HDR || (data[2] & 0x80));
	size_t ci = (data[0] >> 3) % N_CONFIGS;

	/* two clients whose addresses come from the input's last bytes */
	ip4[0] = first[data[size > 4 ? size - 4 : 0] & 3];
	ip4[1] = data[size > 3 ? size - 3 : 0];
	ip4[2] = data[size > 2 ? size - 2 : 0];
	ip4[3] = data[size - 1];
	ip6[4] = 0;
	ip6[5] = ip4[1] & 3;
	ip6[6] = ip4[2] & 1;
	ip6[7] = ip4[3] & 3;
	ip6[15] = data[size > 4 ? size - 4 : 0];
	serve(ci, &q, v, AF_INET, ip4, data, size);
	serve(ci, &q, v, AF_INET6, ip6, data, size);
	return 0;
}
