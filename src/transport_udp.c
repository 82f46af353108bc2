/* transport_udp.c - one exchange with one server over UDP, on a bounded pool of unconnected sockets
 *
 * Per address family a pool of opts->sockets slots; a slot is filled on demand with a socket
 * bound to port 0 (the kernel picks a random ephemeral port) and each exchange takes a slot at
 * random. A socket carries at most opts->max_uses exchanges: then it leaves its slot (the next
 * exchange on that slot opens a fresh socket on a fresh port) and is closed once its last
 * exchange ends. So an off-path attacker must guess the ID (16 bits) and one of the ports open
 * at the time, each live for a bounded number of queries (RFC 5452 §9.2).
 *
 * Answers are matched to the exchanges in flight on the socket they arrive on by source
 * address and port, ID, QR, opcode and question (xfer_answer_matches()); anything else is
 * counted in stats.unmatched and ignored. Two exchanges on one socket never share ID, server
 * and question (they could not be told apart): start() takes the next slot when the one drawn
 * has such an exchange, and returns -EEXIST when every slot has one.
 *
 * Errors. A send that fails is start()'s return value (a full socket buffer too: -EAGAIN,
 * and the fetch layer tries again or elsewhere). The sockets are not connected, so the kernel
 * does not report ICMP port or host unreachable to them (Linux would need IP_RECVERR and the
 * error queue): such an exchange just gets no answer and the fetch layer's retransmission
 * timeout covers it.
 *
 * I/O. Each socket is a plain non-blocking socket watched by a uv_poll_t: one recvfrom per
 * readable event (the poll is level-triggered, so a second datagram waiting is the next
 * event). libuv's uv_udp_t reads until EAGAIN, which costs a second, empty recvmsg for
 * nearly every answer: a pool socket rarely has two answers waiting.
 */
#include "dns64d/transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "dns64d/wire.h"

#define UDP_SOCKETS_MAX 1024

struct udp_sock {
	uv_poll_t h; /* h.data is the socket */
	int fd;      /* owned: closed once h is closed */
	struct udp_tr *t;
	struct udp_sock *next, *prev; /* every socket not yet closed, for close() */
	struct xfer *head;            /* exchanges in flight on it */
	unsigned uses;                /* exchanges started on it */
	unsigned inflight;
	int family;
	int slot; /* index in the pool of its family, -1 once retired */
	bool closing;
};

struct udp_tr {
	struct transport base;
	unsigned nslots, max_uses;
	struct udp_sock **pool[2]; /* [0] AF_INET, [1] AF_INET6; NULL slots are empty */
	struct udp_sock *socks;
	unsigned handles; /* handles not yet through their close callback */
	bool closing;
	uint8_t rbuf[DNS_MAX_MSG + 1]; /* one loop thread: one receive buffer for all sockets */
};

static int family_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr_storage *s)
{
	if (!a || a->sa_family != s->ss_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)s;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)s;
	return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
	       (!y->sin6_scope_id || x->sin6_scope_id == y->sin6_scope_id);
}

static void free_if_done(struct udp_tr *t)
{
	if (t->closing && t->handles == 0) {
		free(t->pool[0]);
		free(t->pool[1]);
		free(t);
	}
}

static void sock_closed(uv_handle_t *h)
{
	struct udp_sock *s = h->data;
	struct udp_tr *t = s->t;
	close(s->fd);
	if (s->next)
		s->next->prev = s->prev;
	if (s->prev)
		s->prev->next = s->next;
	else
		t->socks = s->next;
	free(s);
	t->handles--;
	free_if_done(t);
}

static void sock_close(struct udp_sock *s)
{
	if (s->closing)
		return;
	s->closing = true;
	if (s->slot >= 0) {
		s->t->pool[family_index(s->family)][s->slot] = NULL;
		s->slot = -1;
	}
	uv_close((uv_handle_t *)&s->h, sock_closed);
}

/* x leaves its socket (answered or cancelled); a retired socket closes with its last one. */
static void detach(struct xfer *x)
{
	struct udp_sock *s = x->conn;
	if (x->next)
		x->next->prev = x->prev;
	if (x->prev)
		x->prev->next = x->next;
	else
		s->head = x->next;
	x->next = x->prev = NULL;
	x->conn = NULL;
	x->active = false;
	if (--s->inflight == 0 && s->slot < 0)
		sock_close(s);
}

static void udp_recv(uv_poll_t *h, int status, int events)
{
	struct udp_sock *s = h->data;
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	if (status < 0 || !(events & UV_READABLE) || s->closing)
		return;
	/* the buffer holds any datagram (65,507 bytes at most): nothing is cut */
	ssize_t nread = recvfrom(s->fd, s->t->rbuf, sizeof(s->t->rbuf), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
	/* nread < 0: see the top of the file; nothing tells which exchange it was about */
	if (nread < 0)
		return;
	const struct sockaddr *addr = (const struct sockaddr *)&from;
	if (nread < DNS_HDR) {
		s->t->base.stats.unmatched++;
		return;
	}
	const uint8_t *msg = s->t->rbuf;
	size_t len = (size_t)nread;
	for (struct xfer *x = s->head; x; x = x->next)
		if (x->id == rd16(msg) && same_addr(addr, &x->server) && xfer_answer_matches(x, msg, len)) {
			/* everything about the socket is settled first: the callback may
			 * close the transport, and nothing here runs after it */
			detach(x);
			x->cb(x, 0, msg, len);
			return;
		}
	s->t->base.stats.unmatched++;
}

/* A socket of the family on a port the kernel picks at random; -errno on failure. */
static int bound_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)family;
	int on = 1;
	if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (const struct sockaddr *)&any,
	         family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int sock_open(struct udp_tr *t, int family, int slot, struct udp_sock **out)
{
	struct udp_sock *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int rc = s->fd = bound_socket(family);
	if (rc < 0 || (rc = uv_poll_init(t->base.loop, &s->h, s->fd))) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return rc;
	}
	s->h.data = s;
	s->t = t;
	s->family = family;
	s->slot = -1;
	s->next = t->socks;
	if (t->socks)
		t->socks->prev = s;
	t->socks = s;
	t->handles++;
	if ((rc = uv_poll_start(&s->h, UV_READABLE, udp_recv))) {
		sock_close(s);
		return rc;
	}
	s->slot = slot;
	t->pool[family_index(family)][slot] = s;
	t->base.stats.sockets++;
	*out = s;
	return 0;
}

/* Whether s has an exchange that an answer to x could not be told apart from. */
static bool collides(const struct udp_sock *s, const struct xfer *x)
{
	for (const struct xfer *y = s->head; y; y = y->next) {
		if (y->id != x->id || !same_addr((const struct sockaddr *)&y->server, &x->server))
			continue;
		/* y's query is a well-formed question: x's must match it as an answer would */
		const uint8_t *a = y->query + DNS_HDR, *b = x->query + DNS_HDR;
		if (y->qname_len == x->qname_len && wire_name_equal(a, y->qname_len, b, x->qname_len) &&
		    !memcmp(a + y->qname_len, b + x->qname_len, 4))
			return true;
	}
	return false;
}

static int udp_send(struct udp_sock *s, const struct xfer *x)
{
	const struct sockaddr *to = (const struct sockaddr *)&x->server;
	socklen_t to_len = to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (sendto(s->fd, x->query, x->query_len, MSG_DONTWAIT, to, to_len) < 0)
		return errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
	return 0;
}

static int udp_start(struct transport *base, struct xfer *x)
{
	struct udp_tr *t = (struct udp_tr *)base;
	int fi = family_index(x->server.ss_family);
	if (t->closing)
		return -ESHUTDOWN;
	if (fi < 0)
		return -EAFNOSUPPORT;
	int rc = xfer_prepare(x);
	if (rc)
		return rc;
	unsigned first = randombytes_uniform(t->nslots);
	struct udp_sock *s = NULL;
	for (unsigned k = 0; k < t->nslots && !s; k++) {
		unsigned slot = (first + k) % t->nslots;
		s = t->pool[fi][slot];
		if (!s && (rc = sock_open(t, x->server.ss_family, (int)slot, &s)))
			return rc;
		if (collides(s, x))
			s = NULL;
	}
	if (!s)
		return -EEXIST;
	bool fresh = s->uses == 0;
	if ((rc = udp_send(s, x))) {
		if (fresh) /* nothing is on it: close it rather than keep a socket that failed */
			sock_close(s);
		return rc;
	}
	x->conn = s;
	x->prev = NULL;
	x->next = s->head;
	if (s->head)
		s->head->prev = x;
	s->head = x;
	s->inflight++;
	x->active = true;
	if (++s->uses >= t->max_uses) { /* retired: no new exchange, closed after the last */
		t->pool[fi][s->slot] = NULL;
		s->slot = -1;
	}
	base->stats.exchanges++;
	if (!fresh)
		base->stats.reused++;
	return 0;
}

static void udp_cancel(struct transport *base, struct xfer *x)
{
	if (x->active && x->conn)
		detach(x);
}

static void udp_close(struct transport *base)
{
	struct udp_tr *t = (struct udp_tr *)base;
	if (t->closing)
		return;
	t->closing = true;
	for (struct udp_sock *s = t->socks; s; s = s->next) {
		while (s->head) {
			struct xfer *x = s->head;
			s->head = x->next;
			x->next = x->prev = NULL;
			x->conn = NULL;
			x->active = false;
		}
		s->inflight = 0;
		sock_close(s);
	}
	free_if_done(t);
}

static const struct transport_ops udp_ops = {
        .name = "udp",
        .start = udp_start,
        .cancel = udp_cancel,
        .close = udp_close,
};

int transport_udp_new(uv_loop_t *loop, const struct transport_udp_opts *o, struct transport **out)
{
	if (!o || o->sockets == 0 || o->sockets > UDP_SOCKETS_MAX || o->max_uses == 0)
		return -EINVAL;
	struct udp_tr *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pool[0] = calloc(o->sockets, sizeof(*t->pool[0]));
	t->pool[1] = calloc(o->sockets, sizeof(*t->pool[1]));
	if (!t->pool[0] || !t->pool[1]) {
		free(t->pool[0]);
		free(t->pool[1]);
		free(t);
		return -ENOMEM;
	}
	t->base.ops = &udp_ops;
	t->base.loop = loop;
	t->nslots = o->sockets;
	t->max_uses = o->max_uses;
	*out = &t->base;
	return 0;
}
