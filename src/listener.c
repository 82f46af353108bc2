/* listener.c - listen sockets of a worker: UDP queries in, replies out from the address asked */
#include "dns64d/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "dns64d/addr.h"
#include "dns64d/client.h"
#include "dns64d/hostlimit.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "listener_int.h"

#define MMSG_CHUNKS        20                /* datagrams per recvmmsg batch */
#define RECV_ROUNDS        8                 /* batches per readable event, so TCP and timers get a turn */
#define DGRAM_MAX          (64 * 1024)       /* receive slot: any datagram fits */
#define UDP_MAX_SEND_QUEUE (4 * 1024 * 1024) /* beyond this, replies are dropped, as UDP would */

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message (and some slack on receive). */
union pktinfo_buf {
	size_t align; /* struct cmsghdr's alignment; the struct itself ends in a flexible array */
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 16];
};

/* Datagrams of one recvmmsg batch. */
struct recv_batch {
	struct mmsghdr msgs[MMSG_CHUNKS];
	struct iovec iov[MMSG_CHUNKS];
	struct sockaddr_storage peers[MMSG_CHUNKS];
	union pktinfo_buf ctl[MMSG_CHUNKS];
	uint8_t data[MMSG_CHUNKS][DGRAM_MAX];
};

/* Replies sent together with one sendmmsg: those to one recvmmsg batch when the batch ends,
 * the others (answers that came from upstream, or from a timer) at the end of the loop
 * iteration they were made in. */
struct reply_batch {
	unsigned n;
	bool open; /* inside a receive batch: it flushes when the batch ends */
	struct mmsghdr msgs[MMSG_CHUNKS];
	struct iovec iov[MMSG_CHUNKS];
	struct sockaddr_storage peers[MMSG_CHUNKS];
	union pktinfo_buf ctl[MMSG_CHUNKS];
	uint8_t data[MMSG_CHUNKS][DNS_UDP_MAX];
};

/* A reply the socket did not take at once, copied; sent when the socket is writable. */
struct udp_out {
	struct udp_out *next;
	struct sockaddr_storage peer;
	union pktinfo_buf ctl;
	size_t ctl_len, len;
	uint8_t data[];
};

struct listener {
	struct worker *w;
	uv_poll_t udp; /* readable: queries; writable: only while out is not empty */
	int udp_fd;
	bool wildcard;                 /* bound to 0.0.0.0 or ::: replies say their source */
	struct sockaddr_storage local; /* the UDP socket's bound address */
	uv_tcp_t tcp;
	uv_check_t flush; /* active while replies wait for the end of the loop iteration */
	uv_idle_t wake;   /* with it: the loop does not block before the check runs */
	bool armed;
	struct recv_batch *in;
	struct reply_batch *batch;
	struct udp_out *out, **out_tail;
	size_t out_bytes;
	unsigned open;
	bool stopped, tcp_closed, udp_closed;
};

static bool is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

int listener_bind(const struct sockaddr *addr, int fds[2])
{
	int one = 1;
	/* an IPv6 socket serves only IPv6, unless it is bound to an IPv4-mapped address */
	bool v6only = addr->sa_family == AF_INET6 &&
	              !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr);
	bool pktinfo = is_wildcard(addr);
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
		/* a wildcard UDP socket must learn where each query went, to answer from there */
		if (!i && pktinfo && addr->sa_family == AF_INET &&
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
		if (!i && pktinfo && addr->sa_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
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

/* ---- listener contexts ------------------------------------------------------------------- */

int listen_ctx_new(struct worker *w, struct listen_shared **shared, struct listen_ctx **out)
{
	struct listen_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	struct listen_shared *s = *shared;
	if (!s) {
		int rc;
		if (!(s = calloc(1, sizeof(*s)))) {
			free(ctx);
			return -ENOMEM;
		}
		if ((rc = hostlimit_new(&s->hosts)) < 0) {
			free(s);
			free(ctx);
			return rc;
		}
		s->slot = shared;
		*shared = s;
	}
	atomic_fetch_add(&s->refs, 1);
	ctx->w = w;
	ctx->shared = s;
	*out = ctx;
	return 0;
}

void listen_ctx_free(struct listen_ctx *ctx)
{
	if (!ctx)
		return;
	struct listen_shared *s = ctx->shared;
	if (atomic_fetch_sub(&s->refs, 1) == 1) {
		*s->slot = NULL;
		hostlimit_free(s->hosts);
		free(s);
	}
	free(ctx);
}

unsigned listener_tcp_connections(const struct listen_shared *s)
{
	return s ? atomic_load(&s->tcp_conns) : 0;
}

/* ---- UDP: receive ------------------------------------------------------------------------ */

static const struct client_ops udp_ops;

static void udp_poll_update(struct listener *l);

/* The destination of a datagram from its control messages, into c->local and c->ifindex. */
static void take_pktinfo(const struct listener *l, struct msghdr *mh, struct client *c)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in *sin = (struct sockaddr_in *)&c->local;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin->sin_family = AF_INET;
			sin->sin_port = ((const struct sockaddr_in *)&l->local)->sin_port;
			/* the address the kernel answers from: the destination of a unicast query */
			sin->sin_addr = pi.ipi_spec_dst;
			c->ifindex = (unsigned)pi.ipi_ifindex;
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->local;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = ((const struct sockaddr_in6 *)&l->local)->sin6_port;
			sin6->sin6_addr = pi.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				sin6->sin6_scope_id = pi.ipi6_ifindex;
			c->ifindex = pi.ipi6_ifindex;
			return;
		}
	}
}

static void udp_handle(struct listener *l, struct mmsghdr *m, const uint8_t *data)
{
	struct client c;
	memset(&c, 0, sizeof(c));
	c.ops = &udp_ops;
	c.conn = l;
	c.transport = TRANSPORT_UDP;
	memcpy(&c.peer, m->msg_hdr.msg_name,
	       m->msg_hdr.msg_namelen < sizeof(c.peer) ? m->msg_hdr.msg_namelen : sizeof(c.peer));
	if (l->wildcard)
		take_pktinfo(l, &m->msg_hdr, &c);
	else
		c.local = l->local;
	request_start(l->w, &c, data, m->msg_len);
}

static void batch_flush(struct listener *l);

static void udp_read(struct listener *l)
{
	struct recv_batch *in = l->in;
	for (int round = 0; round < RECV_ROUNDS && !l->stopped; round++) {
		for (unsigned i = 0; i < MMSG_CHUNKS; i++) {
			struct msghdr *mh = &in->msgs[i].msg_hdr;
			mh->msg_name = &in->peers[i];
			mh->msg_namelen = sizeof(in->peers[i]);
			mh->msg_iov = &in->iov[i];
			mh->msg_iovlen = 1;
			mh->msg_control = l->wildcard ? in->ctl[i].buf : NULL;
			mh->msg_controllen = l->wildcard ? sizeof(in->ctl[i].buf) : 0;
			mh->msg_flags = 0;
			in->iov[i].iov_base = in->data[i];
			in->iov[i].iov_len = DGRAM_MAX;
		}
		int n = recvmmsg(l->udp_fd, in->msgs, MMSG_CHUNKS, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN, or an error a datagram socket cannot do anything about */
		l->batch->open = true;
		for (int i = 0; i < n && !l->stopped; i++)
			if (in->msgs[i].msg_len > 0 && !(in->msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
				udp_handle(l, &in->msgs[i], in->data[i]);
		/* the end of a batch: answer everything answered meanwhile in one go */
		l->batch->open = false;
		batch_flush(l);
		if (n < MMSG_CHUNKS)
			return;
	}
}

/* ---- UDP: send --------------------------------------------------------------------------- */

/* The control message that makes a reply leave from the address c's query was sent to. */
static size_t pktinfo_build(const struct listener *l, const struct client *c, union pktinfo_buf *ctl)
{
	if (!l->wildcard)
		return 0;
	memset(ctl, 0, sizeof(*ctl));
	struct cmsghdr *cm = (struct cmsghdr *)(void *)ctl->buf;
	if (c->local.ss_family == AF_INET) {
		struct in_pktinfo pi = {
		        .ipi_spec_dst = ((const struct sockaddr_in *)&c->local)->sin_addr,
		        .ipi_ifindex = 0, /* let routing pick the interface, as for any reply */
		};
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	if (c->local.ss_family == AF_INET6) {
		/* with the interface: a link-local source means nothing without it */
		struct in6_pktinfo pi = {
		        .ipi6_addr = ((const struct sockaddr_in6 *)&c->local)->sin6_addr,
		        .ipi6_ifindex = c->ifindex,
		};
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	return 0;
}

static int send_now(struct listener *l, const struct sockaddr_storage *peer, union pktinfo_buf *ctl, size_t ctl_len,
                    const uint8_t *msg, size_t len)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_name = (void *)peer,
	                    .msg_namelen = addr_len((const struct sockaddr *)peer),
	                    .msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl_len ? ctl->buf : NULL,
	                    .msg_controllen = ctl_len};
	return sendmsg(l->udp_fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* Send one reply at once if the socket takes it, else queue a copy (bounded). */
static void send_one(struct listener *l, const struct sockaddr_storage *peer, union pktinfo_buf *ctl, size_t ctl_len,
                     const uint8_t *msg, size_t len)
{
	if (!l->out) {
		int rc = send_now(l, peer, ctl, ctl_len, msg, len);
		if (rc != -EAGAIN && rc != -ENOBUFS)
			return; /* sent, or an error a datagram socket cannot do anything about */
	}
	if (l->out_bytes + len > UDP_MAX_SEND_QUEUE)
		return;
	struct udp_out *o = malloc(sizeof(*o) + len);
	if (!o)
		return;
	o->next = NULL;
	memcpy(&o->peer, peer, sizeof(o->peer));
	if (ctl_len)
		memcpy(&o->ctl, ctl, sizeof(o->ctl));
	o->ctl_len = ctl_len;
	o->len = len;
	memcpy(o->data, msg, len);
	*l->out_tail = o;
	l->out_tail = &o->next;
	l->out_bytes += len;
	if (o == l->out)
		udp_poll_update(l);
}

static void out_flush(struct listener *l)
{
	while (l->out) {
		struct udp_out *o = l->out;
		int rc = send_now(l, &o->peer, &o->ctl, o->ctl_len, o->data, o->len);
		if (rc == -EAGAIN || rc == -ENOBUFS)
			break;
		l->out = o->next;
		l->out_bytes -= o->len;
		free(o);
	}
	if (!l->out) {
		l->out_tail = &l->out;
		udp_poll_update(l);
	}
}

static void batch_flush(struct listener *l)
{
	struct reply_batch *b = l->batch;
	unsigned done = 0;
	while (!l->out && done < b->n) {
		int k = sendmmsg(l->udp_fd, b->msgs + done, b->n - done, MSG_DONTWAIT);
		if (k <= 0)
			break;
		done += (unsigned)k;
	}
	/* what the socket did not take now is sent one by one, or queued */
	for (; done < b->n; done++)
		send_one(l, &b->peers[done], &b->ctl[done], b->msgs[done].msg_hdr.msg_controllen, b->data[done],
		         b->iov[done].iov_len);
	b->n = 0;
}

static void on_flush(uv_check_t *h)
{
	struct listener *l = h->data;
	batch_flush(l);
	uv_check_stop(&l->flush);
	uv_idle_stop(&l->wake);
	l->armed = false;
}

static void on_wake(uv_idle_t *h)
{
	(void)h; /* only there so that the loop polls without blocking while replies wait */
}

/* Replies made outside a receive batch leave at the end of this loop iteration: several
 * upstream answers that arrive together cost one sendmmsg, not one sendmsg each. */
static void arm_flush(struct listener *l)
{
	if (l->armed)
		return;
	uv_check_start(&l->flush, on_flush);
	uv_idle_start(&l->wake, on_wake);
	l->armed = true;
}

static void udp_send(struct client *c, const uint8_t *msg, size_t len)
{
	struct listener *l = c->conn;
	struct reply_batch *b = l->batch;
	if (l->udp_closed)
		return;
	if (len > DNS_UDP_MAX) {
		union pktinfo_buf ctl;
		size_t ctl_len = pktinfo_build(l, c, &ctl);
		send_one(l, &c->peer, &ctl, ctl_len, msg, len);
		return;
	}
	unsigned i = b->n++;
	memcpy(b->data[i], msg, len);
	memcpy(&b->peers[i], &c->peer, sizeof(c->peer));
	size_t ctl_len = pktinfo_build(l, c, &b->ctl[i]);
	b->iov[i].iov_base = b->data[i];
	b->iov[i].iov_len = len;
	b->msgs[i].msg_hdr = (struct msghdr){.msg_name = &b->peers[i],
	                                     .msg_namelen = addr_len((const struct sockaddr *)&c->peer),
	                                     .msg_iov = &b->iov[i],
	                                     .msg_iovlen = 1,
	                                     .msg_control = ctl_len ? b->ctl[i].buf : NULL,
	                                     .msg_controllen = ctl_len};
	if (b->n == MMSG_CHUNKS)
		batch_flush(l);
	else if (!b->open)
		arm_flush(l);
}

static size_t udp_max_size(const struct client *c, size_t advertised)
{
	return advertised < DNS_UDP_MAX ? advertised : DNS_UDP_MAX;
}

static void udp_release(struct client *c)
{
	/* nothing is held for a datagram */
}

static const struct client_ops udp_ops = {.send = udp_send, .max_size = udp_max_size, .release = udp_release};

static void udp_event(uv_poll_t *p, int status, int events)
{
	struct listener *l = p->data;
	if (status < 0)
		return;
	if (events & UV_WRITABLE)
		out_flush(l);
	if ((events & UV_READABLE) && !l->stopped)
		udp_read(l);
}

/* Readable while serving, writable while replies wait: nothing else wakes the loop. */
static void udp_poll_update(struct listener *l)
{
	if (l->udp_closed)
		return;
	int events = (l->stopped ? 0 : UV_READABLE) | (l->out ? UV_WRITABLE : 0);
	if (events)
		uv_poll_start(&l->udp, events, udp_event);
	else
		uv_poll_stop(&l->udp);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	if (status < 0 || l->stopped)
		return;
	tcp_conn_accept(l->w, server, -1);
}

/* ---- listeners --------------------------------------------------------------------------- */

static void listener_free(struct listener *l)
{
	while (l->out) {
		struct udp_out *o = l->out;
		l->out = o->next;
		free(o);
	}
	free(l->in);
	free(l->batch);
	free(l);
}

static void listener_closed(uv_handle_t *h)
{
	struct listener *l = h->data;
	/* the check and idle handles' data is the listener too */
	if (h == (uv_handle_t *)&l->udp)
		close(l->udp_fd); /* a poll handle watches the fd but does not own it */
	if (--l->open == 0)
		listener_free(l);
}

int listener_start(struct worker *w, int udp_fd, int tcp_fd, struct listener **out)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->w = w;
	l->udp_fd = udp_fd;
	l->out_tail = &l->out;
	l->in = malloc(sizeof(*l->in));
	l->batch = calloc(1, sizeof(*l->batch));
	socklen_t alen = sizeof(l->local);
	if (!l->in || !l->batch || getsockname(udp_fd, (struct sockaddr *)&l->local, &alen) < 0) {
		int err = l->in && l->batch ? -errno : -ENOMEM;
		listener_free(l);
		return err;
	}
	l->wildcard = is_wildcard((const struct sockaddr *)&l->local);
	int rc = uv_poll_init(&w->loop, &l->udp, udp_fd);
	if (rc) {
		listener_free(l);
		return rc;
	}
	l->open++;
	l->udp.data = l;
	udp_poll_update(l);
	if ((rc = uv_tcp_init(&w->loop, &l->tcp)))
		goto fail;
	l->open++;
	l->tcp.data = l;
	if ((rc = uv_tcp_open(&l->tcp, tcp_fd)) || (rc = uv_listen((uv_stream_t *)&l->tcp, 256, on_connection)))
		goto fail;
	uv_check_init(&w->loop, &l->flush); /* neither can fail */
	uv_idle_init(&w->loop, &l->wake);
	l->flush.data = l->wake.data = l;
	l->open += 2;
	*out = l;
	return 0;
fail:
	l->stopped = true;
	l->udp_closed = true;
	uv_close((uv_handle_t *)&l->udp, listener_closed);
	if (l->open == 2)
		uv_close((uv_handle_t *)&l->tcp, listener_closed);
	return rc;
}

void listener_stop(struct listener *l)
{
	if (l->stopped)
		return;
	l->stopped = true;
	/* UDP stays open so queries in progress can still be answered; TCP stops accepting */
	udp_poll_update(l);
	if (!l->tcp_closed) {
		uv_close((uv_handle_t *)&l->tcp, listener_closed);
		l->tcp_closed = true;
	}
}

void listener_close(struct listener *l)
{
	listener_stop(l);
	if (!l->udp_closed) {
		batch_flush(l); /* replies made in this iteration still go */
		l->udp_closed = true;
		uv_close((uv_handle_t *)&l->udp, listener_closed);
		uv_close((uv_handle_t *)&l->flush, listener_closed);
		uv_close((uv_handle_t *)&l->wake, listener_closed);
	}
}
