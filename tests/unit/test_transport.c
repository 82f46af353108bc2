/* test_transport.c - the UDP and TCP transports against loopback servers on the same libuv loop
 *
 * Every test drives one loop with the transport and an in-test server (libuv handles too), so
 * events happen in a known order and nothing sleeps; a guard timer of a few seconds only turns
 * a hang into a failure. Each test ends with every handle closed and uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "dns64d/transport.h"
#include "dns64d/wire.h"

#define GUARD_MS 10000

static uv_loop_t loop;
static bool in_start; /* a callback must never run inside transport_start() */

/* ---------- messages ---------- */

/* "q7.example." style names: label n of the test, in lower case */
static size_t make_name(uint8_t *out, const char *label)
{
	size_t l = strlen(label);
	out[0] = (uint8_t)l;
	memcpy(out + 1, label, l);
	memcpy(out + 1 + l, "\7example\0", 9);
	return l + 10;
}

static size_t make_query(uint8_t *out, uint16_t id, const char *label, uint16_t qtype)
{
	uint8_t name[64];
	size_t n = make_name(name, label);
	return wire_build_query(id, name, n, qtype, DNS_C_IN, true, false, false, out);
}

/* An answer to query q: the same message with QR and RA set (a NODATA answer, with OPT). */
static size_t make_answer(uint8_t *out, const uint8_t *q, size_t qlen)
{
	memcpy(out, q, qlen);
	wr16(out + 2, rd16(q + 2) | F_QR | F_RA);
	return qlen;
}

/* ---------- exchanges ---------- */

struct tx {
	struct xfer x;
	uint8_t q[512];
	int calls;
	int status;
	uint8_t ans[512];
	size_t alen;
};

static int total_calls;

static void tx_cb(struct xfer *x, int status, const uint8_t *answer, size_t len)
{
	struct tx *t = (struct tx *)x;
	assert_false(in_start);
	assert_false(x->active);
	t->calls++;
	total_calls++;
	t->status = status;
	t->alen = 0;
	if (status == 0) {
		assert_non_null(answer);
		assert_true(len <= sizeof(t->ans));
		memcpy(t->ans, answer, len);
		t->alen = len;
	}
}

static void tx_init(struct tx *t, const struct sockaddr_storage *server, uint16_t id, const char *label)
{
	memset(t, 0, sizeof(*t));
	t->x.server = *server;
	t->x.query = t->q;
	t->x.query_len = make_query(t->q, id, label, DNS_T_AAAA);
	t->x.cb = tx_cb;
	t->status = 1; /* no callback yet */
}

static int tx_start(struct transport *tr, struct tx *t)
{
	in_start = true;
	int rc = transport_start(tr, &t->x);
	in_start = false;
	return rc;
}

/* ---------- the loop ---------- */

static bool guard_fired;

static void guard_cb(uv_timer_t *tm)
{
	guard_fired = true;
}

/* Run the loop until cond() holds; fail after GUARD_MS. */
static void run_until(bool (*cond)(void *), void *arg)
{
	uv_timer_t guard;
	uv_timer_init(&loop, &guard);
	guard_fired = false;
	uv_timer_start(&guard, guard_cb, GUARD_MS, 0);
	while (!cond(arg) && !guard_fired)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_NOWAIT); /* the guard's close */
	assert_false(guard_fired);
}

static bool calls_at_least(void *arg)
{
	return total_calls >= *(int *)arg;
}

static void run_calls(int n)
{
	run_until(calls_at_least, &n);
}

/* UDP sockets open in the loop: the test server's (uv_udp_t) and the pool's (uv_poll_t;
 * this test makes no other poll handles). */
static void walk_count(uv_handle_t *h, void *arg)
{
	if ((h->type == UV_UDP || h->type == UV_POLL) && !uv_is_closing(h))
		(*(int *)arg)++;
}

static int open_udp_handles(void)
{
	int n = 0;
	uv_walk(&loop, walk_count, &n);
	return n;
}

static void loop_setup(void)
{
	assert_int_equal(uv_loop_init(&loop), 0);
	total_calls = 0;
}

/* Everything closed: the loop ends by itself and closes cleanly. */
static void loop_teardown(void)
{
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
	                                : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* ---------- the UDP server ---------- */

#define MAXQ 64

struct udp_server {
	uv_udp_t h;
	struct sockaddr_storage addr;
	bool answer; /* answer every query at once */
	int nq;
	struct {
		struct sockaddr_storage peer;
		uint8_t msg[512];
		size_t len;
	} q[MAXQ];
};

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static uint8_t b[65536];
	buf->base = (char *)b;
	buf->len = sizeof(b);
}

static void udp_send_to(uv_udp_t *h, const struct sockaddr_storage *to, const uint8_t *msg, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	assert_int_equal(uv_udp_try_send(h, &b, 1, (const struct sockaddr *)to), (int)len);
}

static void srv_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
	struct udp_server *s = h->data;
	if (nread <= 0 || !addr)
		return;
	assert_true(s->nq < MAXQ && (size_t)nread <= sizeof(s->q[0].msg));
	memcpy(&s->q[s->nq].peer, addr,
	       addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	memcpy(s->q[s->nq].msg, buf->base, (size_t)nread);
	s->q[s->nq].len = (size_t)nread;
	if (s->answer) {
		uint8_t a[512];
		size_t n = make_answer(a, s->q[s->nq].msg, s->q[s->nq].len);
		udp_send_to(h, &s->q[s->nq].peer, a, n);
	}
	s->nq++;
}

static int udp_server_open(struct udp_server *s, int family, bool answer)
{
	memset(s, 0, sizeof(*s));
	s->answer = answer;
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET)
		uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&a);
	else
		uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)&a);
	assert_int_equal(uv_udp_init(&loop, &s->h), 0);
	s->h.data = s;
	int rc = uv_udp_bind(&s->h, (const struct sockaddr *)&a, 0);
	if (rc) {
		uv_close((uv_handle_t *)&s->h, NULL);
		return rc;
	}
	int len = sizeof(s->addr);
	assert_int_equal(uv_udp_getsockname(&s->h, (struct sockaddr *)&s->addr, &len), 0);
	assert_int_equal(uv_udp_recv_start(&s->h, srv_alloc, srv_recv), 0);
	return 0;
}

struct want_q {
	struct udp_server *s;
	int n;
};

static bool udp_got_n(void *arg)
{
	struct want_q *w = arg;
	return w->s->nq >= w->n;
}

static void udp_wait_queries(struct udp_server *s, int n)
{
	struct want_q w = {s, n};
	run_until(udp_got_n, &w);
}

static struct transport *udp_new(unsigned sockets, unsigned max_uses)
{
	struct transport_udp_opts o = {.sockets = sockets, .max_uses = max_uses};
	struct transport *t = NULL;
	assert_int_equal(transport_udp_new(&loop, &o, &t), 0);
	assert_non_null(t);
	assert_string_equal(t->ops->name, "udp");
	return t;
}

/* ---------- UDP tests ---------- */

static bool unmatched_at_least(void *arg)
{
	void **p = arg;
	return ((struct transport *)p[0])->stats.unmatched >= *(uint64_t *)p[1];
}

static void wait_unmatched(struct transport *t, uint64_t n)
{
	void *p[2] = {t, &n};
	run_until(unmatched_at_least, p);
}

static void udp_answer_family(int family)
{
	loop_setup();
	struct udp_server s;
	if (udp_server_open(&s, family, true)) {
		/* no ::1 on this machine */
		loop_teardown();
		return;
	}
	struct transport *t = udp_new(4, 64);
	struct tx a;
	tx_init(&a, &s.addr, 0x1234, "www");
	assert_int_equal(tx_start(t, &a), 0);
	assert_true(a.x.active);
	assert_int_equal(a.calls, 0);
	run_calls(1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.alen, a.x.query_len);
	assert_int_equal(rd16(a.ans), 0x1234);
	assert_true(rd16(a.ans + 2) & F_QR);
	assert_int_equal(t->stats.exchanges, 1);
	assert_int_equal(t->stats.sockets, 1);
	assert_int_equal(t->stats.unmatched, 0);
	assert_int_equal(s.nq, 1);
	assert_memory_equal(s.q[0].msg, a.q, a.x.query_len);
	xfer_cancel(&a.x); /* after the callback: a no-op */
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
}

static void test_udp_answer(void **state)
{
	udp_answer_family(AF_INET);
	udp_answer_family(AF_INET6);
}

static void test_udp_start_errors(void **state)
{
	loop_setup();
	struct transport_udp_opts bad = {.sockets = 0, .max_uses = 1};
	struct transport *t = NULL;
	assert_int_equal(transport_udp_new(&loop, &bad, &t), -EINVAL);
	bad.sockets = 1;
	bad.max_uses = 0;
	assert_int_equal(transport_udp_new(&loop, &bad, &t), -EINVAL);
	t = udp_new(2, 8);
	struct sockaddr_storage srv;
	memset(&srv, 0, sizeof(srv));
	uv_ip4_addr("127.0.0.1", 9, (struct sockaddr_in *)&srv);
	struct tx a;
	tx_init(&a, &srv, 1, "www");
	a.x.query_len = 14; /* shorter than a header and a question */
	assert_int_equal(tx_start(t, &a), -EINVAL);
	tx_init(&a, &srv, 1, "www");
	wr16(a.q + 4, 2); /* two questions */
	assert_int_equal(tx_start(t, &a), -EINVAL);
	tx_init(&a, &srv, 1, "www");
	a.q[DNS_HDR] = 0xc0; /* compressed question name */
	assert_int_equal(tx_start(t, &a), -EINVAL);
	tx_init(&a, &srv, 1, "www");
	a.x.server.ss_family = AF_UNIX;
	assert_int_equal(tx_start(t, &a), -EAFNOSUPPORT);
	assert_false(a.x.active);
	assert_int_equal(t->stats.exchanges, 0);
	transport_close(t);
	loop_teardown();
	assert_int_equal(a.calls, 0);
}

static void test_udp_ignores_mismatch(void **state)
{
	loop_setup();
	struct udp_server s, other;
	assert_int_equal(udp_server_open(&s, AF_INET, false), 0);
	assert_int_equal(udp_server_open(&other, AF_INET, false), 0);
	struct transport *t = udp_new(4, 64);
	struct tx a;
	tx_init(&a, &s.addr, 0xbeef, "www");
	assert_int_equal(tx_start(t, &a), 0);
	udp_wait_queries(&s, 1);
	const struct sockaddr_storage *peer = &s.q[0].peer;
	uint8_t good[512], bad[512];
	size_t n = make_answer(good, a.q, a.x.query_len);

	memcpy(bad, good, n); /* wrong ID */
	wr16(bad, 0xbeee);
	udp_send_to(&s.h, peer, bad, n);
	memcpy(bad, good, n); /* QR=0 */
	wr16(bad + 2, rd16(bad + 2) & ~F_QR);
	udp_send_to(&s.h, peer, bad, n);
	memcpy(bad, good, n); /* opcode STATUS */
	wr16(bad + 2, rd16(bad + 2) | (2 << 11));
	udp_send_to(&s.h, peer, bad, n);
	uint8_t q2[512]; /* another name of the same length */
	size_t n2 = make_query(q2, 0xbeef, "wwx", DNS_T_AAAA);
	make_answer(bad, q2, n2);
	udp_send_to(&s.h, peer, bad, n2);
	n2 = make_query(q2, 0xbeef, "www", DNS_T_A); /* another type */
	make_answer(bad, q2, n2);
	udp_send_to(&s.h, peer, bad, n2);
	memcpy(bad, good, n); /* no question */
	wr16(bad + 4, 0);
	udp_send_to(&s.h, peer, bad, DNS_HDR);
	udp_send_to(&s.h, peer, good, 5);     /* runt */
	udp_send_to(&other.h, peer, good, n); /* right answer, wrong source port */
	/* the right one last, the name in another case (RFC 5452 §9.1 compares names in any case) */
	memcpy(good + DNS_HDR + 1, "WwW", 3);
	udp_send_to(&s.h, peer, good, n);
	run_calls(1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.alen, n);
	assert_memory_equal(a.ans, good, n);
	assert_int_equal(t->stats.unmatched, 8);
	/* a late copy of the answer finds no exchange */
	udp_send_to(&s.h, peer, good, n);
	wait_unmatched(t, 9);
	assert_int_equal(a.calls, 1);
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	uv_close((uv_handle_t *)&other.h, NULL);
	loop_teardown();
}

static void test_udp_cancel(void **state)
{
	loop_setup();
	struct udp_server s;
	assert_int_equal(udp_server_open(&s, AF_INET, false), 0);
	struct transport *t = udp_new(1, 64);
	struct tx a, b;
	tx_init(&a, &s.addr, 7, "www");
	tx_init(&b, &s.addr, 8, "www");
	assert_int_equal(tx_start(t, &a), 0);
	assert_int_equal(tx_start(t, &b), 0);
	udp_wait_queries(&s, 2);
	xfer_cancel(&a.x);
	assert_false(a.x.active);
	xfer_cancel(&a.x); /* twice: harmless */
	uint8_t ans[512];
	size_t n = make_answer(ans, a.q, a.x.query_len);
	udp_send_to(&s.h, &s.q[0].peer, ans, n);
	wait_unmatched(t, 1);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 0);
	/* the other exchange on the socket is still served; the cancelled one can start again */
	n = make_answer(ans, b.q, b.x.query_len);
	udp_send_to(&s.h, &s.q[1].peer, ans, n);
	run_calls(1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, 0);
	assert_int_equal(tx_start(t, &a), 0);
	udp_wait_queries(&s, 3);
	n = make_answer(ans, a.q, a.x.query_len);
	udp_send_to(&s.h, &s.q[2].peer, ans, n);
	run_calls(2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(t->stats.sockets, 1);
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
}

static void test_udp_id_collision(void **state)
{
	loop_setup();
	struct udp_server s;
	assert_int_equal(udp_server_open(&s, AF_INET, true), 0);
	struct transport *t = udp_new(1, 64);
	struct tx a, b, c;
	tx_init(&a, &s.addr, 99, "www");
	tx_init(&b, &s.addr, 99, "WWW"); /* the same question in another case */
	tx_init(&c, &s.addr, 99, "web"); /* the same ID, another question: can be told apart */
	assert_int_equal(tx_start(t, &a), 0);
	assert_int_equal(tx_start(t, &b), -EEXIST);
	assert_false(b.x.active);
	assert_int_equal(tx_start(t, &c), 0);
	run_calls(2);
	assert_int_equal(a.status, 0);
	assert_int_equal(c.status, 0);
	assert_int_equal(b.calls, 0);
	transport_close(t);
	/* with two sockets the second one takes it */
	t = udp_new(2, 64);
	assert_int_equal(tx_start(t, &a), 0);
	assert_int_equal(tx_start(t, &b), 0);
	run_calls(4);
	assert_int_equal(a.calls, 2);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, 0);
	assert_int_equal(t->stats.sockets, 2);
	assert_int_not_equal(port_of(&s.q[2].peer), port_of(&s.q[3].peer));
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
}

static void test_udp_socket_reuse(void **state)
{
	loop_setup();
	struct udp_server s;
	assert_int_equal(udp_server_open(&s, AF_INET, true), 0);
	enum { N = 40, SOCKS = 4 };
	struct transport *t = udp_new(SOCKS, 1000);
	static struct tx x[N];
	for (int i = 0; i < N; i++) {
		char label[16];
		snprintf(label, sizeof(label), "q%d", i);
		tx_init(&x[i], &s.addr, (uint16_t)randombytes_uniform(65536), label);
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	run_calls(N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(x[i].calls, 1);
		assert_int_equal(x[i].status, 0);
		assert_memory_equal(x[i].ans + 2 + 10, x[i].q + 2 + 10, x[i].x.query_len - 12); /* its question */
		assert_int_equal(rd16(x[i].ans), rd16(x[i].q));
	}
	/* distinct source ports seen by the server: one per socket, at most SOCKS */
	uint16_t ports[N];
	int np = 0;
	for (int i = 0; i < s.nq; i++) {
		uint16_t p = port_of(&s.q[i].peer);
		bool seen = false;
		for (int k = 0; k < np; k++)
			seen |= ports[k] == p;
		if (!seen)
			ports[np++] = p;
	}
	assert_int_equal(s.nq, N);
	assert_true(t->stats.sockets <= SOCKS);
	assert_int_equal(np, (int)t->stats.sockets);
	assert_true(np >= 2); /* drawn at random: 4 * 4^-40 to see only one */
	assert_int_equal(t->stats.exchanges, N);
	assert_int_equal(t->stats.reused, N - t->stats.sockets);
	assert_int_equal(open_udp_handles(), 1 + np); /* the pool stays open */
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
}

static void test_udp_max_uses(void **state)
{
	loop_setup();
	struct udp_server s;
	assert_int_equal(udp_server_open(&s, AF_INET, false), 0);
	struct transport *t = udp_new(1, 3);
	struct tx x[4];
	for (int i = 0; i < 4; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(100 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	udp_wait_queries(&s, 4);
	/* three on the first socket; the fourth on a fresh one while the first is still open */
	assert_int_equal(t->stats.sockets, 2);
	assert_int_equal(port_of(&s.q[0].peer), port_of(&s.q[1].peer));
	assert_int_equal(port_of(&s.q[0].peer), port_of(&s.q[2].peer));
	assert_int_not_equal(port_of(&s.q[0].peer), port_of(&s.q[3].peer));
	assert_int_equal(open_udp_handles(), 3);
	for (int i = 0; i < 4; i++) {
		uint8_t ans[512];
		size_t n = make_answer(ans, s.q[i].msg, s.q[i].len);
		udp_send_to(&s.h, &s.q[i].peer, ans, n);
	}
	run_calls(4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(x[i].status, 0);
	/* the retired socket closed with its last exchange; the fresh one stays */
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(open_udp_handles(), 2);
	/* one after the other: a new socket every third exchange */
	s.answer = true;
	for (int i = 0; i < 6; i++) {
		struct tx y;
		tx_init(&y, &s.addr, (uint16_t)(200 + i), "www");
		assert_int_equal(tx_start(t, &y), 0);
		run_calls(5 + i);
		assert_int_equal(y.status, 0);
	}
	/* socket 2 had 1 + 2, socket 3 had 3, socket 4 has 1 */
	assert_int_equal(t->stats.sockets, 4);
	assert_int_equal(port_of(&s.q[3].peer), port_of(&s.q[5].peer));
	assert_int_equal(port_of(&s.q[6].peer), port_of(&s.q[8].peer));
	assert_int_equal(t->stats.exchanges, 10);
	transport_close(t);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
}

/* The callback ends the transport: nothing of it may run after that. */
static struct transport *closing_transport;
static void close_in_cb(struct xfer *x, int status, const uint8_t *answer, size_t len)
{
	tx_cb(x, status, answer, len);
	transport_close(closing_transport);
}

static void test_udp_close_inflight(void **state)
{
	loop_setup();
	struct udp_server s;
	assert_int_equal(udp_server_open(&s, AF_INET, false), 0);
	struct transport *t = udp_new(3, 2);
	struct tx x[5];
	for (int i = 0; i < 5; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(300 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	udp_wait_queries(&s, 5);
	transport_close(t);
	for (int i = 0; i < 5; i++) {
		assert_false(x[i].x.active);
		uint8_t ans[512];
		size_t n = make_answer(ans, s.q[i].msg, s.q[i].len);
		uv_buf_t b = uv_buf_init((char *)ans, (unsigned)n);
		uv_udp_try_send(&s.h, &b, 1, (const struct sockaddr *)&s.q[i].peer); /* may be refused */
	}
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
	for (int i = 0; i < 5; i++)
		assert_int_equal(x[i].calls, 0);

	/* closed from inside a callback, with another exchange in flight */
	loop_setup();
	assert_int_equal(udp_server_open(&s, AF_INET, true), 0);
	t = closing_transport = udp_new(1, 64);
	tx_init(&x[0], &s.addr, 1, "www");
	x[0].x.cb = close_in_cb;
	tx_init(&x[1], &s.addr, 2, "zzz");
	assert_int_equal(tx_start(t, &x[0]), 0);
	assert_int_equal(tx_start(t, &x[1]), 0);
	run_calls(1);
	uv_close((uv_handle_t *)&s.h, NULL);
	loop_teardown();
	assert_int_equal(x[0].calls, 1);
	assert_int_equal(x[1].calls, 0);
}

/* ---------- the TCP server ---------- */

enum tcp_mode { TCP_ANSWER, TCP_HOLD };

struct tcp_server;
struct tcp_sconn {
	uv_tcp_t h;
	struct tcp_server *s;
	uint8_t buf[70000];
	size_t len;
	bool eof;
	bool closed;
};

struct tcp_server {
	uv_tcp_t h;
	struct sockaddr_storage addr;
	enum tcp_mode mode;
	int accepted;
	int eofs;
	struct tcp_sconn *conns[8];
	int nq;
	struct {
		uint8_t msg[512];
		size_t len;
		int conn;
	} q[MAXQ];
};

static void sconn_closed(uv_handle_t *h)
{
	struct tcp_sconn *c = h->data;
	c->closed = true;
}

static void swritten(uv_write_t *req, int status)
{
	free(req);
}

static void sconn_write(struct tcp_sconn *c, const uint8_t *data, size_t len)
{
	uv_write_t *req = malloc(sizeof(*req) + len);
	assert_non_null(req);
	memcpy(req + 1, data, len);
	uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)len);
	assert_int_equal(uv_write(req, (uv_stream_t *)&c->h, &b, 1, swritten), 0);
}

/* Write an answer frame to query i of the server. */
static size_t frame_answer(uint8_t *out, const uint8_t *q, size_t qlen)
{
	wr16(out, (uint16_t)qlen);
	return 2 + make_answer(out + 2, q, qlen);
}

static void salloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_sconn *c = h->data;
	buf->base = (char *)c->buf + c->len;
	buf->len = sizeof(c->buf) - c->len;
}

static void sread(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_sconn *c = st->data;
	struct tcp_server *s = c->s;
	if (nread < 0) {
		c->eof = true;
		s->eofs++;
		if (!uv_is_closing((uv_handle_t *)&c->h))
			uv_close((uv_handle_t *)&c->h, sconn_closed);
		return;
	}
	c->len += (size_t)nread;
	size_t off = 0;
	while (c->len - off >= 2 && c->len - off >= 2 + (size_t)rd16(c->buf + off)) {
		size_t l = rd16(c->buf + off);
		assert_true(s->nq < MAXQ && l <= sizeof(s->q[0].msg));
		memcpy(s->q[s->nq].msg, c->buf + off + 2, l);
		s->q[s->nq].len = l;
		int ci = 0;
		while (s->conns[ci] != c)
			ci++;
		s->q[s->nq].conn = ci;
		s->nq++;
		if (s->mode == TCP_ANSWER) {
			uint8_t f[520];
			size_t n = frame_answer(f, c->buf + off + 2, l);
			sconn_write(c, f, n);
		}
		off += 2 + l;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void sconnect(uv_stream_t *ls, int status)
{
	struct tcp_server *s = ls->data;
	assert_int_equal(status, 0);
	assert_true(s->accepted < 8);
	struct tcp_sconn *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->s = s;
	assert_int_equal(uv_tcp_init(&loop, &c->h), 0);
	c->h.data = c;
	assert_int_equal(uv_accept(ls, (uv_stream_t *)&c->h), 0);
	s->conns[s->accepted++] = c;
	assert_int_equal(uv_read_start((uv_stream_t *)&c->h, salloc, sread), 0);
}

static void tcp_server_open(struct tcp_server *s, enum tcp_mode mode)
{
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&a);
	assert_int_equal(uv_tcp_init(&loop, &s->h), 0);
	s->h.data = s;
	assert_int_equal(uv_tcp_bind(&s->h, (const struct sockaddr *)&a, 0), 0);
	int len = sizeof(s->addr);
	assert_int_equal(uv_tcp_getsockname(&s->h, (struct sockaddr *)&s->addr, &len), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&s->h, 16, sconnect), 0);
}

static void sconn_close(struct tcp_sconn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->h))
		uv_close((uv_handle_t *)&c->h, sconn_closed);
}

/* Close the listener and every accepted connection; run the loop; free them. */
static void tcp_server_close(struct tcp_server *s)
{
	for (int i = 0; i < s->accepted; i++)
		sconn_close(s->conns[i]);
	uv_close((uv_handle_t *)&s->h, NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	for (int i = 0; i < s->accepted; i++) {
		assert_true(s->conns[i]->closed);
		free(s->conns[i]);
	}
}

static bool tcp_got_n(void *arg)
{
	struct tcp_server *s = ((void **)arg)[0];
	return s->nq >= *(int *)((void **)arg)[1];
}

static void tcp_wait_queries(struct tcp_server *s, int n)
{
	void *p[2] = {s, &n};
	run_until(tcp_got_n, p);
}

static struct transport *tcp_new(unsigned idle_ms)
{
	struct transport *t = NULL;
	assert_int_equal(transport_tcp_new(&loop, idle_ms, &t), 0);
	assert_non_null(t);
	assert_string_equal(t->ops->name, "tcp");
	return t;
}

/* ---------- TCP tests ---------- */

static void test_tcp_pipelined_out_of_order(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(5000);
	enum { N = 20 };
	struct tx x[N];
	for (int i = 0; i < N; i++) {
		char label[16];
		snprintf(label, sizeof(label), "n%d", i);
		/* pairs share an ID: only the question tells them apart */
		tx_init(&x[i], &s.addr, (uint16_t)(1000 + i / 2), label);
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	tcp_wait_queries(&s, N);
	assert_int_equal(s.accepted, 1);
	assert_int_equal(t->stats.sockets, 1);
	assert_int_equal(t->stats.reused, N - 1);
	assert_int_equal(t->stats.exchanges, N);
	/* answers in reverse order, with two that match nothing, in one stream cut mid-frame */
	static uint8_t stream[N * 80 + 200];
	size_t n = 0;
	uint8_t other[512];
	size_t on = make_query(other, 1000, "n3", DNS_T_AAAA); /* right name, wrong ID for it */
	n += frame_answer(stream + n, other, on);
	for (int i = N - 1; i >= 0; i--)
		n += frame_answer(stream + n, s.q[i].msg, s.q[i].len);
	on = make_query(other, 1001, "n9", DNS_T_AAAA); /* x[9] has ID 1004 */
	n += frame_answer(stream + n, other, on);
	sconn_write(s.conns[0], stream, 7);
	sconn_write(s.conns[0], stream + 7, n - 7);
	run_calls(N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(x[i].calls, 1);
		assert_int_equal(x[i].status, 0);
		assert_int_equal(x[i].alen, x[i].x.query_len);
		assert_int_equal(rd16(x[i].ans), rd16(x[i].q));
		assert_memory_equal(x[i].ans + DNS_HDR, x[i].q + DNS_HDR, x[i].x.query_len - DNS_HDR);
	}
	/* the unmatched ones: one before the answers, one after */
	wait_unmatched(t, 2);
	assert_int_equal(t->stats.unmatched, 2);
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();
}

static void test_tcp_server_closes(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(5000);
	struct tx x[3];
	for (int i = 0; i < 3; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(10 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	tcp_wait_queries(&s, 3);
	/* one answered, then the server goes away with two unanswered */
	uint8_t f[520];
	size_t n = frame_answer(f, s.q[1].msg, s.q[1].len);
	sconn_write(s.conns[0], f, n);
	run_calls(1);
	assert_int_equal(x[1].status, 0);
	sconn_close(s.conns[0]);
	run_calls(3);
	assert_int_equal(x[0].calls, 1);
	assert_int_equal(x[0].status, -ECONNRESET);
	assert_int_equal(x[2].calls, 1);
	assert_int_equal(x[2].status, -ECONNRESET);
	assert_int_equal(x[1].calls, 1);
	/* the next exchange opens a new connection */
	s.mode = TCP_ANSWER;
	struct tx y;
	tx_init(&y, &s.addr, 20, "www");
	assert_int_equal(tx_start(t, &y), 0);
	run_calls(4);
	assert_int_equal(y.status, 0);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(t->stats.sockets, 2);
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();
}

static bool server_eofs(void *arg)
{
	return ((struct tcp_server *)arg)->eofs >= 1;
}

static bool timer_done;
static void timer_cb(uv_timer_t *tm)
{
	timer_done = true;
}
static bool timer_fired(void *arg)
{
	return timer_done;
}

static void test_tcp_idle_close_and_reconnect(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(20);
	struct tx a;
	tx_init(&a, &s.addr, 1, "www");
	assert_int_equal(tx_start(t, &a), 0);
	tcp_wait_queries(&s, 1);
	/* in progress for many idle times: the connection stays */
	uv_timer_t tm;
	uv_timer_init(&loop, &tm);
	timer_done = false;
	uv_timer_start(&tm, timer_cb, 200, 0);
	run_until(timer_fired, NULL);
	assert_int_equal(s.eofs, 0);
	uint8_t f[520];
	size_t n = frame_answer(f, s.q[0].msg, s.q[0].len);
	sconn_write(s.conns[0], f, n);
	run_calls(1);
	assert_int_equal(a.status, 0);
	/* now idle: closed by the transport, the server sees EOF */
	run_until(server_eofs, &s);
	assert_int_equal(s.accepted, 1);
	/* reopened on demand */
	s.mode = TCP_ANSWER;
	tx_init(&a, &s.addr, 2, "www");
	assert_int_equal(tx_start(t, &a), 0);
	run_calls(2);
	assert_int_equal(a.status, 0);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(t->stats.sockets, 2);
	assert_int_equal(t->stats.reused, 0);
	uv_close((uv_handle_t *)&tm, NULL);
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();
}

static void test_tcp_bad_framing(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(5000);
	struct tx x[2];
	for (int i = 0; i < 2; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(10 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	tcp_wait_queries(&s, 2);
	const uint8_t runt[] = {0, 5, 1, 2, 3, 4, 5};
	sconn_write(s.conns[0], runt, sizeof(runt));
	run_calls(2);
	assert_int_equal(x[0].status, -EBADMSG);
	assert_int_equal(x[1].status, -EBADMSG);
	run_until(server_eofs, &s); /* and the connection is closed */
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();
}

static void test_tcp_cancel_and_refused(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(5000);
	struct tx x[3];
	for (int i = 0; i < 3; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(10 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	xfer_cancel(&x[0].x); /* while connecting: never written */
	tcp_wait_queries(&s, 2);
	assert_int_equal(rd16(s.q[0].msg), 11);
	xfer_cancel(&x[1].x); /* written: its answer is unmatched */
	uint8_t f[1040];
	size_t n = frame_answer(f, s.q[0].msg, s.q[0].len);
	n += frame_answer(f + n, s.q[1].msg, s.q[1].len);
	sconn_write(s.conns[0], f, n);
	run_calls(1);
	assert_int_equal(x[2].status, 0);
	assert_int_equal(x[0].calls + x[1].calls, 0);
	assert_int_equal(t->stats.unmatched, 1);
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();

	/* nothing listens: the error comes through the callback, after start */
	loop_setup();
	uv_tcp_t probe;
	struct sockaddr_storage a;
	memset(&a, 0, sizeof(a));
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&a);
	assert_int_equal(uv_tcp_init(&loop, &probe), 0);
	assert_int_equal(uv_tcp_bind(&probe, (const struct sockaddr *)&a, 0), 0);
	int len = sizeof(a);
	assert_int_equal(uv_tcp_getsockname(&probe, (struct sockaddr *)&a, &len), 0);
	uv_close((uv_handle_t *)&probe, NULL); /* bound, never listening: the port is free */
	uv_run(&loop, UV_RUN_NOWAIT);
	t = tcp_new(5000);
	tx_init(&x[0], &a, 1, "www");
	tx_init(&x[1], &a, 2, "www");
	assert_int_equal(tx_start(t, &x[0]), 0);
	assert_int_equal(tx_start(t, &x[1]), 0);
	run_calls(2);
	assert_int_equal(x[0].status, -ECONNREFUSED);
	assert_int_equal(x[1].status, -ECONNREFUSED);
	transport_close(t);
	loop_teardown();
}

static void test_tcp_close_inflight(void **state)
{
	loop_setup();
	struct tcp_server s;
	tcp_server_open(&s, TCP_HOLD);
	struct transport *t = tcp_new(5000);
	struct tx x[4];
	for (int i = 0; i < 4; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(10 + i), "www");
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	tcp_wait_queries(&s, 4);
	transport_close(t);
	for (int i = 0; i < 4; i++)
		assert_false(x[i].x.active);
	tcp_server_close(&s);
	loop_teardown();
	for (int i = 0; i < 4; i++)
		assert_int_equal(x[i].calls, 0);

	/* closed while connecting */
	loop_setup();
	tcp_server_open(&s, TCP_ANSWER);
	t = tcp_new(5000);
	tx_init(&x[0], &s.addr, 1, "www");
	assert_int_equal(tx_start(t, &x[0]), 0);
	transport_close(t);
	tcp_server_close(&s);
	loop_teardown();
	assert_int_equal(x[0].calls, 0);

	/* closed from a callback, with the other exchanges of a failing connection pending */
	loop_setup();
	tcp_server_open(&s, TCP_HOLD);
	t = closing_transport = tcp_new(5000);
	for (int i = 0; i < 3; i++) {
		tx_init(&x[i], &s.addr, (uint16_t)(10 + i), "www");
		x[i].x.cb = close_in_cb;
		assert_int_equal(tx_start(t, &x[i]), 0);
	}
	tcp_wait_queries(&s, 3);
	sconn_close(s.conns[0]);
	run_calls(1);
	tcp_server_close(&s);
	loop_teardown();
	assert_int_equal(x[0].calls + x[1].calls + x[2].calls, 1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_udp_answer),
	        cmocka_unit_test(test_udp_start_errors),
	        cmocka_unit_test(test_udp_ignores_mismatch),
	        cmocka_unit_test(test_udp_cancel),
	        cmocka_unit_test(test_udp_id_collision),
	        cmocka_unit_test(test_udp_socket_reuse),
	        cmocka_unit_test(test_udp_max_uses),
	        cmocka_unit_test(test_udp_close_inflight),
	        cmocka_unit_test(test_tcp_pipelined_out_of_order),
	        cmocka_unit_test(test_tcp_server_closes),
	        cmocka_unit_test(test_tcp_idle_close_and_reconnect),
	        cmocka_unit_test(test_tcp_bad_framing),
	        cmocka_unit_test(test_tcp_cancel_and_refused),
	        cmocka_unit_test(test_tcp_close_inflight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
