/* listener.c - client-facing UDP and TCP sockets: bytes in, bytes out, TCP framing only */
#include "dns64d/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns64d/addr.h"
#include "dns64d/log.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#define MMSG_CHUNKS         20           /* datagrams per recvmmsg batch */
#define DGRAM_MAX           (64 * 1024)  /* libuv hands each datagram a 64 KiB slice */
#define TCP_MAX_PENDING     64           /* queries in progress per connection before we stop reading */
#define TCP_MAX_WRITE_QUEUE (256 * 1024) /* unread answers beyond this close the connection */

/* Replies to one recvmmsg batch, sent together with one sendmmsg when the batch ends. */
struct reply_batch {
	unsigned n;
	bool open; /* inside a receive batch: replies are queued, not sent */
	struct mmsghdr msgs[MMSG_CHUNKS];
	struct iovec iov[MMSG_CHUNKS];
	struct sockaddr_storage peers[MMSG_CHUNKS];
	uint8_t data[MMSG_CHUNKS][DNS_UDP_MAX];
};

struct listener {
	struct worker *w;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uint8_t *rbuf;
	struct reply_batch *batch;
	unsigned open;
	bool stopped, tcp_closed, udp_closed;
};

struct tcp_conn {
	uv_tcp_t h;
	uv_timer_t idle;
	struct worker *w;
	struct tcp_conn *next, *prev; /* the worker's open connections */
	struct sockaddr_storage peer;
	unsigned refs; /* 1 while open + 1 per query in progress */
	unsigned pending;
	uv_shutdown_t shutdown_req;
	unsigned open_handles;
	bool closing, paused, parsing, eof, draining;
	size_t len;
	uint8_t buf[2 + DNS_MAX_MSG];
};

int listener_bind(const struct sockaddr *addr, int fds[2])
{
	int one = 1;
	/* an IPv6 socket serves only IPv6, unless it is bound to an IPv4-mapped address */
	bool v6only = addr->sa_family == AF_INET6 &&
	              !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr);
	fds[0] = fds[1] = -1;
	for (int i = 0; i < 2; i++) {
		int fd = socket(addr->sa_family, (i ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		fds[i] = fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
		    (i && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
		    (v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
			goto fail;
		if (bind(fd, addr, addr_len(addr)) < 0)
			goto fail;
	}
	return 0;
fail:;
	int err = -errno;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
	return err;
}

/* ---- UDP --------------------------------------------------------------------------------- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct listener *l = h->data;
	buf->base = (char *)l->rbuf;
	buf->len = MMSG_CHUNKS * DGRAM_MAX;
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	free(req);
}

#define UDP_MAX_SEND_QUEUE (4 * 1024 * 1024) /* beyond this, replies are dropped, as UDP would */

/* Send through libuv: at once if the socket takes it, else queued (copied). */
static void send_one(uv_udp_t *h, const struct sockaddr *peer, const uint8_t *msg, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	int rc = uv_udp_try_send(h, &b, 1, peer);
	if (rc != UV_EAGAIN || uv_udp_get_send_queue_size(h) > UDP_MAX_SEND_QUEUE)
		return; /* sent, or an error a datagram socket cannot do anything about */
	uv_udp_send_t *req = malloc(sizeof(*req) + len);
	if (!req)
		return;
	memcpy(req + 1, msg, len);
	b.base = (char *)(req + 1);
	if (uv_udp_send(req, h, &b, 1, peer, udp_sent) < 0)
		free(req);
}

static void batch_flush(struct listener *l)
{
	struct reply_batch *b = l->batch;
	unsigned done = 0;
	uv_os_fd_t fd;
	if (b->n && uv_fileno((uv_handle_t *)&l->udp, &fd) == 0) {
		while (done < b->n) {
			int k = sendmmsg(fd, b->msgs + done, b->n - done, MSG_DONTWAIT);
			if (k <= 0)
				break;
			done += (unsigned)k;
		}
	}
	/* what the socket did not take now goes through libuv's queue */
	for (; done < b->n; done++)
		send_one(&l->udp, (const struct sockaddr *)&b->peers[done], b->data[done], b->iov[done].iov_len);
	b->n = 0;
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
	struct listener *l = h->data;
	if (flags & UV_UDP_MMSG_FREE) {
		/* the end of a recvmmsg batch: answer everything answered meanwhile in one go */
		l->batch->open = false;
		batch_flush(l);
		return;
	}
	if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || l->stopped)
		return;
	l->batch->open = (flags & UV_UDP_MMSG_CHUNK) != 0;
	request_udp(l->w, h, addr, (const uint8_t *)buf->base, (size_t)nread);
}

void listener_udp_send(uv_udp_t *h, const struct sockaddr *peer, const uint8_t *msg, size_t len)
{
	struct listener *l = h->data;
	struct reply_batch *b = l->batch;
	if (!b->open || len > DNS_UDP_MAX) {
		send_one(h, peer, msg, len);
		return;
	}
	unsigned i = b->n++;
	memcpy(b->data[i], msg, len);
	memcpy(&b->peers[i], peer, addr_len(peer));
	b->iov[i].iov_base = b->data[i];
	b->iov[i].iov_len = len;
	b->msgs[i].msg_hdr = (struct msghdr){
	        .msg_name = &b->peers[i], .msg_namelen = addr_len(peer), .msg_iov = &b->iov[i], .msg_iovlen = 1};
	if (b->n == MMSG_CHUNKS)
		batch_flush(l);
}

/* ---- TCP connections --------------------------------------------------------------------- */

static void conn_unref(struct tcp_conn *c)
{
	if (--c->refs == 0 && c->open_handles == 0)
		free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	c->open_handles--;
	if (c->open_handles == 0 && c->refs == 0)
		free(c);
}

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->tcp_conns--;
	atomic_fetch_sub(&w->d->tcp_conns, 1);
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
	c->draining = true;
	c->refs++;
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->h, conn_shutdown_done) < 0) {
		conn_close(c);
		conn_unref(c);
	}
}

/* Hand the complete queries in the buffer to requests, at most TCP_MAX_PENDING at a time;
 * stop reading while that many are in progress and resume when half are done. */
static void conn_parse(struct tcp_conn *c)
{
	if (c->parsing || c->closing)
		return;
	c->parsing = true;
	size_t off = 0;
	while (!c->closing && c->pending < TCP_MAX_PENDING && c->len - off >= 2) {
		size_t mlen = rd16(c->buf + off);
		if (c->len - off < 2 + mlen)
			break;
		c->refs++;
		c->pending++;
		request_tcp(c->w, c, c->buf + off + 2, mlen);
		off += 2 + mlen;
	}
	c->parsing = false;
	if (c->closing)
		return;
	if (off) {
		/* only whole queries count as activity: a client trickling bytes is idle */
		uv_timer_again(&c->idle);
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (c->eof) {
		if (c->pending == 0)
			conn_drain_close(c);
		return;
	}
	if (c->pending >= TCP_MAX_PENDING && !c->paused) {
		uv_read_stop((uv_stream_t *)&c->h);
		c->paused = true;
	} else if (c->paused && c->pending < TCP_MAX_PENDING / 2) {
		c->paused = false;
		uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read);
	}
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	if (nread == UV_EOF) {
		/* a half-close: the queries already received still get their answers */
		c->eof = true;
		uv_read_stop(s);
		conn_parse(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	conn_parse(c);
}

static void conn_written(uv_write_t *req, int status)
{
	struct tcp_conn *c = req->data;
	free(req);
	if (status < 0 && !c->closing)
		conn_close(c);
	conn_unref(c);
}

void tcp_conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	if (c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > TCP_MAX_WRITE_QUEUE) {
		/* the client does not read its answers: do not hold memory for it */
		conn_close(c);
		return;
	}
	uv_write_t *req = malloc(sizeof(*req) + 2 + len);
	if (!req)
		return;
	uint8_t *p = (uint8_t *)(req + 1);
	wr16(p, (uint16_t)len);
	memcpy(p + 2, msg, len);
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)(len + 2));
	req->data = c;
	c->refs++;
	if (uv_write(req, (uv_stream_t *)&c->h, &b, 1, conn_written) < 0) {
		free(req);
		c->refs--;
		conn_close(c);
		return;
	}
	uv_timer_again(&c->idle);
}

void tcp_conn_release(struct tcp_conn *c)
{
	c->pending--;
	conn_parse(c);
	conn_unref(c);
}

const struct sockaddr *tcp_conn_peer(const struct tcp_conn *c)
{
	return (const struct sockaddr *)&c->peer;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct worker *w = l->w;
	if (status < 0 || l->stopped)
		return;
	struct tcp_conn *c = malloc(sizeof(*c));
	if (!c)
		return;
	memset(c, 0, offsetof(struct tcp_conn, buf));
	c->w = w;
	uv_tcp_init(&w->loop, &c->h);
	uv_timer_init(&w->loop, &c->idle);
	c->h.data = c->idle.data = c;
	c->open_handles = 2;
	c->refs = 1;
	if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
		uv_close((uv_handle_t *)&c->h, conn_handle_closed);
		conn_unref(c);
		return;
	}
	struct wcfg *wc = w->wcfg;
	int namelen = sizeof(c->peer);
	uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &namelen);
	w->tcp_conns++;
	c->next = w->conns;
	if (c->next)
		c->next->prev = c;
	w->conns = c;
	if (atomic_fetch_add(&w->d->tcp_conns, 1) >= wc->cfg->tcp_clients) {
		log_debug("too many tcp clients, closing a new connection");
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->h, 1);
	uv_timer_start(&c->idle, conn_idle, wc->cfg->tcp_idle_timeout_ms, wc->cfg->tcp_idle_timeout_ms);
	uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read);
}

void listener_close_tcp_conns(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns);
}

/* ---- listeners --------------------------------------------------------------------------- */

static void listener_closed(uv_handle_t *h)
{
	struct listener *l = h->data;
	if (--l->open == 0) {
		free(l->rbuf);
		free(l->batch);
		free(l);
	}
}

int listener_start(struct worker *w, int udp_fd, int tcp_fd, struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->w = w;
	l->rbuf = malloc(MMSG_CHUNKS * DGRAM_MAX);
	l->batch = calloc(1, sizeof(*l->batch));
	if (!l->rbuf || !l->batch) {
		free(l->rbuf);
		free(l->batch);
		free(l);
		return -ENOMEM;
	}
	int rc = uv_udp_init_ex(&w->loop, &l->udp, AF_UNSPEC | UV_UDP_RECVMMSG);
	if (rc)
		goto fail;
	l->open++;
	l->udp.data = l;
	if ((rc = uv_udp_open(&l->udp, udp_fd)) || (rc = uv_udp_recv_start(&l->udp, udp_alloc, udp_recv)))
		goto fail;
	if ((rc = uv_tcp_init(&w->loop, &l->tcp)))
		goto fail;
	l->open++;
	l->tcp.data = l;
	if ((rc = uv_tcp_open(&l->tcp, tcp_fd)) || (rc = uv_listen((uv_stream_t *)&l->tcp, 256, on_connection)))
		goto fail;
	*out = l;
	return 0;
fail:
	if (l->open == 0) {
		free(l->rbuf);
		free(l->batch);
		free(l);
	} else {
		l->stopped = true;
		l->udp_closed = true;
		uv_close((uv_handle_t *)&l->udp, listener_closed);
		if (l->open == 2)
			uv_close((uv_handle_t *)&l->tcp, listener_closed);
	}
	return rc;
}

void listener_stop(struct listener *l)
{
	if (l->stopped)
		return;
	l->stopped = true;
	/* UDP stays open so queries in progress can still be answered; TCP stops accepting */
	if (l->open >= 1)
		uv_udp_recv_stop(&l->udp);
	if (l->open >= 2) {
		uv_close((uv_handle_t *)&l->tcp, listener_closed);
		l->tcp_closed = true;
	}
}

void listener_close(struct listener *l)
{
	listener_stop(l);
	if (!l->udp_closed && !uv_is_closing((uv_handle_t *)&l->udp)) {
		l->udp_closed = true;
		uv_close((uv_handle_t *)&l->udp, listener_closed);
	}
}
