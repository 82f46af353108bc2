/* listener_tcp.c - client TCP (and TLS) connections: admission at accept, framing, idle timeout */
#include "dns64d/listener.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "dns64d/acl.h"
#include "dns64d/addr.h"
#include "dns64d/client.h"
#include "dns64d/config.h"
#include "dns64d/hostlimit.h"
#include "dns64d/log.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "listener_int.h"

#define TCP_MAX_PENDING     64           /* queries in progress per connection before we stop reading */
#define TCP_MAX_WRITE_QUEUE (256 * 1024) /* unread answers beyond this close the connection */

struct tcp_conn {
	uv_tcp_t h;
	uv_timer_t idle;
	struct listen_ctx *ctx;
	struct tcp_conn *next, *prev; /* ctx's list */
	struct client client;         /* what every query of this connection is handed */
	unsigned refs;                /* 1 while open + 1 per query in progress + 1 per write */
	unsigned pending, writes;
	uv_shutdown_t shutdown_req;
	unsigned open_handles;
	bool closing, paused, parsing, eof, draining;
	bool counted;   /* holds a slot of the pool and of its host */
	bool one_query; /* a refused source: one query (answered REFUSED by the request), then close */
	bool raw_eof;   /* TLS: the stream ended; what GnuTLS holds is still read */
	/* DNS over TLS: the session the bytes go through; NULL: plain TCP */
	struct tls_sess *tls;
	size_t len;
	uint8_t buf[2 + DNS_MAX_MSG];
};

static void conn_free(struct tcp_conn *c)
{
	tls_sess_free(c->tls);
	free(c);
}

static void conn_unref(struct tcp_conn *c)
{
	if (--c->refs == 0 && c->open_handles == 0)
		conn_free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	c->open_handles--;
	if (c->open_handles == 0 && c->refs == 0)
		conn_free(c);
}

static void conn_unlink(struct tcp_conn *c)
{
	struct listen_ctx *ctx = c->ctx;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ctx->tail = c->prev;
	c->next = c->prev = NULL;
}

static void conn_link_head(struct tcp_conn *c)
{
	struct listen_ctx *ctx = c->ctx;
	c->prev = NULL;
	c->next = ctx->head;
	if (ctx->head)
		ctx->head->prev = c;
	else
		ctx->tail = c;
	ctx->head = c;
}

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->counted) {
		struct listen_shared *s = c->ctx->shared;
		conn_unlink(c);
		c->ctx->tcp_conns--;
		atomic_fetch_sub(&s->tcp_conns, 1);
		hostlimit_put(s->hosts, (const struct sockaddr *)&c->client.peer);
	}
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->h, conn_handle_closed);
	conn_unref(c);
}

static void conn_idle(uv_timer_t *t)
{
	struct tcp_conn *c = t->data;
	if (c->pending == 0)
		conn_close(c);
	else
		uv_timer_again(t);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	if (c->tls) {
		tls_sess_rbuf(c->tls, buf);
		return;
	}
	buf->base = (char *)c->buf + c->len;
	buf->len = sizeof(c->buf) - c->len;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_shutdown_done(uv_shutdown_t *req, int status)
{
	struct tcp_conn *c = req->data;
	if (c->closing) {
		conn_unref(c); /* closed meanwhile (idle timeout, error): only our reference is left */
		return;
	}
	c->refs--; /* ours; the connection's own reference keeps it until its handles close */
	conn_close(c);
}

/* The client has sent everything and all its answers are queued: close once they are out
 * (RFC 7766 §6.2.4 with RFC 1035 §4.2.2: outstanding queries are answered first). */
static void conn_drain_close(struct tcp_conn *c)
{
	if (c->draining || c->closing)
		return;
	if (c->tls)
		tls_sess_bye(c->tls); /* close_notify goes out before the FIN */
	if (c->writes == 0) {
		/* nothing left to send: close now, so the connection frees its pool slot at once
		 * (a draining one is never chosen to make room for a new client) */
		conn_close(c);
		return;
	}
	c->draining = true;
	c->refs++;
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->h, conn_shutdown_done) < 0) {
		conn_close(c);
		conn_unref(c);
	}
}

/* TLS: decrypt into the buffer; true when there is more to parse. Sets eof at close_notify,
 * or at the end of the stream once nothing is left to decrypt; closes on a TLS error. */
static bool tls_fill(struct tcp_conn *c)
{
	size_t room = sizeof(c->buf) - c->len;
	if (room == 0)
		return false;
	ssize_t n = tls_sess_read(c->tls, c->buf + c->len, room);
	if (n > 0) {
		c->len += (size_t)n;
		return true;
	}
	if (n == 0 && !c->raw_eof)
		return false; /* wait for more records (at the end of the stream none will come) */
	if (n < 0 && n != TLS_SESS_EOF) {
		conn_close(c);
		return false;
	}
	c->eof = true;
	if (!c->raw_eof)
		uv_read_stop((uv_stream_t *)&c->h);
	return false;
}

/* Hand the complete queries in the buffer to requests, at most TCP_MAX_PENDING at a time;
 * stop reading while that many are in progress and resume when half are done. */
static void conn_parse(struct tcp_conn *c)
{
	if (c->parsing || c->closing)
		return;
	c->parsing = true;
	size_t off = 0;
again:
	while (!c->closing && c->pending < TCP_MAX_PENDING && c->len - off >= 2) {
		size_t mlen = rd16(c->buf + off);
		if (c->len - off < 2 + mlen)
			break;
		c->refs++;
		c->pending++;
		request_start(c->ctx->w, &c->client, c->buf + off + 2, mlen);
		off += 2 + mlen;
		if (c->one_query && !c->eof) {
			/* a refused source gets its answer and nothing more */
			c->eof = true;
			uv_read_stop((uv_stream_t *)&c->h);
			off = c->len;
			break;
		}
	}
	if (off) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
		off = 0;
	}
	/* TLS: decrypt more of what has arrived into the room the parsed queries left */
	if (c->tls && !c->closing && !c->eof && c->pending < TCP_MAX_PENDING && tls_fill(c))
		goto again;
	c->parsing = false;
	if (c->closing)
		return;
	if (c->eof) {
		if (c->pending == 0)
			conn_drain_close(c);
		return;
	}
	if (c->pending >= TCP_MAX_PENDING && !c->paused) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->paused = true;
	} else if (c->paused && !c->raw_eof && c->pending < TCP_MAX_PENDING / 2) {
		c->paused = false;
		uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read);
	}
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	if (nread == UV_EOF) {
		/* a half-close: the queries already received still get their answers */
		uv_read_stop(s);
		if (c->tls)
			c->raw_eof = true; /* eof once the records received are read */
		else
			c->eof = true;
		conn_parse(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->tls)
		tls_sess_got(c->tls, (size_t)nread);
	else
		c->len += (size_t)nread;
	conn_parse(c);
}

static void conn_written(uv_write_t *req, int status)
{
	struct tcp_conn *c = req->data;
	free(req);
	c->writes--;
	if (status < 0 && !c->closing)
		conn_close(c);
	conn_unref(c);
}

/* Queue one write of prefix and data (copied); 0 or -EPIPE (the connection closes). */
static int conn_write2(struct tcp_conn *c, const void *prefix, size_t plen, const void *data, size_t len)
{
	if (c->closing)
		return -EPIPE;
	uv_write_t *req = malloc(sizeof(*req) + plen + len);
	if (!req)
		return -ENOMEM;
	uint8_t *p = (uint8_t *)(req + 1);
	if (plen)
		memcpy(p, prefix, plen);
	memcpy(p + plen, data, len);
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)(plen + len));
	req->data = c;
	c->refs++;
	c->writes++;
	if (uv_write(req, (uv_stream_t *)&c->h, &b, 1, conn_written) < 0) {
		free(req);
		c->refs--;
		c->writes--;
		conn_close(c);
		return -EPIPE;
	}
	return 0;
}

int tcp_conn_write(struct tcp_conn *c, const void *data, size_t len)
{
	return conn_write2(c, NULL, 0, data, len);
}

const struct sockaddr_storage *tcp_conn_peer(const struct tcp_conn *c)
{
	return &c->client.peer;
}

static void tcp_send(struct client *cl, const uint8_t *msg, size_t len)
{
	struct tcp_conn *c = cl->conn;
	if (c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > TCP_MAX_WRITE_QUEUE) {
		/* the client does not read its answers: do not hold memory for it */
		conn_close(c);
		return;
	}
	uint8_t prefix[2];
	wr16(prefix, (uint16_t)len);
	int rc = c->tls ? tls_sess_write(c->tls, prefix, 2, msg, len) : conn_write2(c, prefix, 2, msg, len);
	if (rc < 0) {
		/* a lost TCP answer leaves the framing intact; a lost TLS record does not */
		if (!c->closing && (c->tls || rc != -ENOMEM))
			conn_close(c);
		return;
	}
	/* only answers count as activity: a client whose queries are dropped goes idle */
	uv_timer_again(&c->idle);
	conn_unlink(c);
	conn_link_head(c);
}

static size_t tcp_max_size(const struct client *c, size_t advertised)
{
	return DNS_MAX_MSG;
}

static void tcp_release(struct client *cl)
{
	struct tcp_conn *c = cl->conn;
	c->pending--;
	conn_parse(c);
	conn_unref(c);
}

static const struct client_ops tcp_ops = {.send = tcp_send, .max_size = tcp_max_size, .release = tcp_release};

/* The least recently active connection of this worker with no query and no answer in
 * progress, or NULL. Only our own: another worker's connections belong to its thread. */
static struct tcp_conn *oldest_idle(struct listen_ctx *ctx)
{
	for (struct tcp_conn *c = ctx->tail; c; c = c->prev)
		if (c->pending == 0 && c->writes == 0 && !c->draining)
			return c;
	return NULL;
}

/* Whether a new connection from c's peer may stay: ACL, per-host limit, the pool. On true
 * it holds its slots (counted) and is on the worker's list. */
static bool conn_admit(struct tcp_conn *c, const struct config *cfg)
{
	struct listen_ctx *ctx = c->ctx;
	struct listen_shared *s = ctx->shared;
	const struct sockaddr *peer = (const struct sockaddr *)&c->client.peer;
	char a[64];
	uint8_t raw[16];
	int family = addr_raw(peer, raw);
	const struct acl_rule *rule = family > 0 ? acl_match(&cfg->acl, family, raw) : NULL;
	enum acl_action action = rule ? rule->action : ACL_REFUSE;
	if (action == ACL_DROP) {
		log_debug("tcp client '%s' dropped by the acl", addr_format(peer, a, sizeof(a)));
		return false;
	}
	c->one_query = action == ACL_REFUSE;
	if (hostlimit_take(s->hosts, peer, cfg->tcp_clients_per_host) < 0) {
		log_debug("tcp client '%s' has tcp-clients-per-host %u connections, closing the new one",
		          addr_format(peer, a, sizeof(a)), cfg->tcp_clients_per_host);
		return false;
	}
	if (atomic_fetch_add(&s->tcp_conns, 1) >= cfg->tcp_clients) {
		struct tcp_conn *victim = oldest_idle(ctx);
		if (!victim) {
			atomic_fetch_sub(&s->tcp_conns, 1);
			hostlimit_put(s->hosts, peer);
			log_debug("too many tcp clients, closing a new connection");
			return false;
		}
		/* RFC 7766 §6.2.3: make room by closing the connection idle longest */
		log_debug("too many tcp clients, closing the oldest idle connection");
		conn_close(victim);
	}
	c->counted = true;
	ctx->tcp_conns++;
	conn_link_head(c);
	return true;
}

void tcp_conn_accept(struct worker *w, uv_stream_t *server, int tls_index)
{
	struct tcp_conn *c = malloc(sizeof(*c));
	if (!c)
		return;
	memset(c, 0, offsetof(struct tcp_conn, buf));
	c->ctx = w->listen;
	c->client.ops = &tcp_ops;
	c->client.conn = c;
	c->client.transport = tls_index >= 0 ? TRANSPORT_TLS : TRANSPORT_TCP;
	uv_tcp_init(&w->loop, &c->h);
	uv_timer_init(&w->loop, &c->idle);
	c->h.data = c->idle.data = c;
	c->open_handles = 2;
	c->refs = 1;
	const struct config *cfg = w->wcfg->cfg;
	int namelen = sizeof(c->client.peer), locallen = sizeof(c->client.local);
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0 ||
	    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->client.peer, &namelen) < 0 ||
	    uv_tcp_getsockname(&c->h, (struct sockaddr *)&c->client.local, &locallen) < 0 || !conn_admit(c, cfg) ||
	    (tls_index >= 0 && !(c->tls = tls_sess_new(w, (unsigned)tls_index, c)))) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->h, 1);
	uv_timer_start(&c->idle, conn_idle, cfg->tcp_idle_timeout_ms, cfg->tcp_idle_timeout_ms);
	uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read);
}

void listener_close_tcp_conns(struct worker *w)
{
	while (w->listen->head)
		conn_close(w->listen->head);
}
