/* transport_tcp.c - exchanges with one server over one reused, pipelined TCP connection (RFC 7766)
 *
 * One connection per server address, opened by the first exchange to it and used by every
 * later one while it stays open: each query is written with its 2-byte length as it comes
 * (queued in order while the connection is being opened), and answers are matched to the
 * connection's exchanges by ID and question, in any order (RFC 7766 §6.2.1.1). With no
 * exchange in progress for idle_ms the connection is closed; the next exchange opens a new one.
 *
 * A server may close a connection at any time, idle or not (RFC 7766 §6.2.3): when the
 * connection fails, is reset or reaches EOF, every exchange still on it gets -ECONNRESET (or
 * the connect error, e.g. -ECONNREFUSED), and the fetch layer decides whether to retry. A
 * length prefix under a DNS header's size is broken framing: the connection is closed and its
 * exchanges get -EBADMSG. The receive buffer holds one whole frame (2 + 65535 bytes), no more.
 *
 * Queries are copied into the write request when the kernel does not take them at once, so an
 * exchange cancelled with its query still queued leaves libuv no pointer into freed memory.
 */
#include "dns64d/transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/wire.h"

#define FRAME_MAX (2 + DNS_MAX_MSG)

struct tcp_conn {
	uv_tcp_t h; /* h.data and idle.data are the connection */
	uv_timer_t idle;
	uv_connect_t creq;
	struct tcp_tr *t;
	struct tcp_conn *next, *prev; /* every connection not yet freed */
	struct sockaddr_storage server;
	struct xfer_queue q;      /* exchanges in progress, in the order they were started */
	unsigned handles;         /* of h and idle, not yet through their close callback */
	int fail_status;          /* a failure found inside start(), reported from the timer */
	bool connected;
	bool broken;  /* a write failed: no new exchanges, failed from the timer */
	bool closing; /* no longer used for new exchanges; handles being closed */
	size_t rlen;
	uint8_t *rbuf; /* FRAME_MAX bytes, allocated when connected */
};

struct tcp_tr {
	struct transport base;
	unsigned idle_ms;
	struct tcp_conn *conns;
	bool closing;
};

struct write_req {
	uv_write_t req;
	struct tcp_conn *c;
	size_t len;
	uint8_t data[]; /* length prefix and query */
};

static bool same_server(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
	       x->sin6_scope_id == y->sin6_scope_id;
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	if (--c->handles)
		return;
	struct tcp_tr *t = c->t;
	if (c->next)
		c->next->prev = c->prev;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	free(c->rbuf);
	free(c);
	if (t->closing && !t->conns)
		free(t);
}

/* Stop using c: new exchanges go to a new connection. Its exchanges are the caller's to end. */
static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->h, conn_handle_closed);
}

static void unlink_xfer(struct tcp_conn *c, struct xfer *x)
{
	xfer_queue_remove(&c->q, x);
}

static void idle_expired(uv_timer_t *tm)
{
	struct tcp_conn *c = tm->data;
	if (!c->q.head)
		conn_close(c);
}

/* No exchange left on an open connection: it may idle for idle_ms. */
static void maybe_idle(struct tcp_conn *c)
{
	if (!c->q.head && c->connected && !c->broken && !c->closing)
		uv_timer_start(&c->idle, idle_expired, c->t->idle_ms, 0);
}

/* Close c and give each of its exchanges the error, one at a time: a callback may cancel the
 * others (then they get none) or close the whole transport (then the rest get none). */
static void conn_fail(struct tcp_conn *c, int status)
{
	struct tcp_tr *t = c->t;
	conn_close(c);
	while (c->q.head && !t->closing) {
		struct xfer *x = c->q.head;
		unlink_xfer(c, x);
		x->cb(x, status, NULL, 0);
	}
}

static void fail_later(uv_timer_t *tm)
{
	struct tcp_conn *c = tm->data;
	conn_fail(c, c->fail_status);
}

static void written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct tcp_conn *c = w->c;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing)
		conn_fail(c, status);
}

/* Write x's query with its length prefix; 0 or the error (c is then broken). */
static int write_query(struct tcp_conn *c, const struct xfer *x)
{
	uint8_t len[2];
	wr16(len, (uint16_t)x->query_len);
	uv_buf_t b[2] = {uv_buf_init((char *)len, 2), uv_buf_init((char *)x->query, (unsigned)x->query_len)};
	size_t total = 2 + x->query_len;
	int rc = uv_try_write((uv_stream_t *)&c->h, b, 2);
	size_t done = rc > 0 ? (size_t)rc : 0;
	if (done == total)
		return 0;
	if (rc < 0 && rc != UV_EAGAIN && rc != UV_ENOSYS)
		return rc;
	/* the rest goes through libuv's queue, copied: the query may be cancelled before it is sent */
	struct write_req *w = malloc(sizeof(*w) + total - done);
	if (!w)
		return -ENOMEM;
	w->c = c;
	w->len = total - done;
	size_t off = 0;
	if (done < 2) {
		memcpy(w->data, len + done, 2 - done);
		off = 2 - done;
		memcpy(w->data + off, x->query, x->query_len);
	} else {
		memcpy(w->data, x->query + (done - 2), total - done);
	}
	uv_buf_t wb = uv_buf_init((char *)w->data, (unsigned)w->len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->h, &wb, 1, written);
	if (rc)
		free(w);
	return rc;
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = FRAME_MAX - c->rlen;
}

/* One whole message from the server: the exchange it answers, or counted and dropped. */
static void deliver(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	for (struct xfer *x = c->q.head; x; x = x->next)
		if (xfer_answer_matches(x, msg, len)) {
			unlink_xfer(c, x);
			maybe_idle(c);
			x->cb(x, 0, msg, len);
			return;
		}
	c->t->base.stats.unmatched++;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	if (c->closing)
		return;
	if (nread < 0) {
		conn_fail(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
		return;
	}
	c->rlen += (size_t)nread;
	size_t off = 0;
	/* a callback may close the connection or the transport: nothing read after that counts */
	while (!c->closing && c->rlen - off >= 2) {
		size_t mlen = rd16(c->rbuf + off);
		if (mlen < DNS_HDR) {
			conn_fail(c, -EBADMSG);
			return;
		}
		if (c->rlen - off < 2 + mlen)
			break;
		deliver(c, c->rbuf + off + 2, mlen);
		off += 2 + mlen;
	}
	if (c->closing)
		return;
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

static void connected(uv_connect_t *req, int status)
{
	struct tcp_conn *c = req->data;
	if (c->closing)
		return; /* UV_ECANCELED from our own close */
	if (status < 0) {
		conn_fail(c, status);
		return;
	}
	int rc = 0;
	if (!(c->rbuf = malloc(FRAME_MAX)))
		rc = -ENOMEM;
	else
		rc = uv_read_start((uv_stream_t *)&c->h, tcp_alloc, tcp_read);
	for (struct xfer *x = c->q.head; x && !rc; x = x->next)
		rc = write_query(c, x);
	if (rc) {
		conn_fail(c, rc);
		return;
	}
	c->connected = true;
	maybe_idle(c); /* every exchange was cancelled while connecting */
}

static int conn_open(struct tcp_tr *t, const struct sockaddr_storage *server, struct tcp_conn **out)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int rc = uv_tcp_init(t->base.loop, &c->h);
	if (rc) {
		free(c);
		return rc;
	}
	uv_timer_init(t->base.loop, &c->idle); /* cannot fail */
	c->h.data = c->idle.data = c->creq.data = c;
	c->handles = 2;
	c->t = t;
	c->server = *server;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	uv_tcp_nodelay(&c->h, 1);
	if ((rc = uv_tcp_connect(&c->creq, &c->h, (const struct sockaddr *)server, connected))) {
		conn_close(c);
		return rc;
	}
	t->base.stats.sockets++;
	*out = c;
	return 0;
}

static int tcp_start(struct transport *base, struct xfer *x)
{
	struct tcp_tr *t = (struct tcp_tr *)base;
	if (t->closing)
		return -ESHUTDOWN;
	if (x->server.ss_family != AF_INET && x->server.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	int rc = xfer_prepare(x);
	if (rc)
		return rc;
	struct tcp_conn *c = t->conns;
	while (c && (c->closing || c->broken || !same_server(&c->server, &x->server)))
		c = c->next;
	bool reused = c != NULL;
	if (!c && (rc = conn_open(t, &x->server, &c)))
		return rc;
	if (c->connected && (rc = write_query(c, x))) {
		/* the connection is broken: its other exchanges learn it from the loop, not here */
		c->broken = true;
		c->fail_status = rc;
		uv_timer_start(&c->idle, fail_later, 0, 0);
		return rc;
	}
	uv_timer_stop(&c->idle);
	xfer_queue_push(&c->q, x, c);
	base->stats.exchanges++;
	if (reused)
		base->stats.reused++;
	return 0;
}

static void tcp_cancel(struct transport *base, struct xfer *x)
{
	struct tcp_conn *c = x->conn;
	if (!x->active || !c)
		return;
	/* a query already written stays on the wire: its answer will be counted unmatched */
	unlink_xfer(c, x);
	maybe_idle(c);
}

static void tcp_close(struct transport *base)
{
	struct tcp_tr *t = (struct tcp_tr *)base;
	if (t->closing)
		return;
	t->closing = true;
	for (struct tcp_conn *c = t->conns; c; c = c->next) {
		while (c->q.head)
			unlink_xfer(c, c->q.head);
		conn_close(c);
	}
	if (!t->conns)
		free(t);
}

static const struct transport_ops tcp_ops = {
        .name = "tcp",
        .start = tcp_start,
        .cancel = tcp_cancel,
        .close = tcp_close,
};

int transport_tcp_new(uv_loop_t *loop, unsigned idle_ms, struct transport **out)
{
	struct tcp_tr *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->base.ops = &tcp_ops;
	t->base.loop = loop;
	t->idle_ms = idle_ms ? idle_ms : 1;
	*out = &t->base;
	return 0;
}
