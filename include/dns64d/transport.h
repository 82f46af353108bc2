/* transport.h - one exchange with one upstream server: query bytes out, an answer or an error back
 *
 * A transport (UDP, TCP, TLS) belongs to one worker's libuv loop and runs its callbacks in
 * that loop's thread. The fetch layer hands it a query message (with the random ID the fetch
 * layer chose) and a server address; the transport sends it and hands back the first answer
 * that matches: from the server's address and port, the same ID, QR=1, opcode QUERY and the
 * same question in any case (RFC 5452 §9.1). Anything else is ignored and the wait goes on.
 * A transport never looks at the cache, never retries and never gives up on its own timer: the
 * fetch layer decides when an exchange has taken too long and cancels it. It only reports what
 * it cannot get past: an ICMP error, a refused, reset or closed connection, broken framing.
 *
 * Ownership and timing:
 * - struct xfer and the query bytes belong to the caller and must stay valid and unmoved until
 *   the callback has run or xfer_cancel() has returned.
 * - The answer given to the callback is the transport's and valid only during the call.
 * - The callback never runs inside transport_start(): an error found at once is its return
 *   value, and then no callback follows. After xfer_cancel() no callback follows either.
 * - The callback may start or cancel other exchanges, on any transport.
 *
 * A third transport is one new file: a struct transport_ops and a constructor.
 */
#ifndef DNS64D_TRANSPORT_H
#define DNS64D_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

struct xfer;
struct transport;

/* status 0: answer/len is the matching answer. status < 0: -ECONNREFUSED (ICMP), -ECONNRESET /
 * -EPIPE (stream closed before the answer), -EBADMSG (broken framing), -ENOMEM, ... */
typedef void (*xfer_cb)(struct xfer *x, int status, const uint8_t *answer, size_t len);

struct xfer {
	/* the caller's, set before transport_start() */
	struct sockaddr_storage server;
	const uint8_t *query; /* a whole DNS message, without a TCP length prefix */
	size_t query_len;
	const char *auth_name;     /* TLS: the name the certificate must carry (SNI too); NULL otherwise */
	const uint8_t *pin_sha256; /* TLS: 32 bytes, SHA-256 of the server's SPKI (RFC 7858 §4.2); NULL = no pin */
	xfer_cb cb;
	void *data;
	/* the transport's, valid while the exchange is in progress */
	struct transport *t;
	void *conn;               /* socket or connection the exchange uses */
	struct xfer *next, *prev; /* on that socket or connection */
	uint16_t id;
	uint8_t qname_len; /* length of the question name at query + 12 */
	bool active;
};

/* What a transport counts, for tests and metrics (never reset). */
struct transport_stats {
	uint64_t exchanges;  /* transport_start() calls that returned 0 */
	uint64_t sockets;    /* UDP sockets opened, TCP/TLS connections opened */
	uint64_t reused;     /* exchanges that went on an already open connection */
	uint64_t unmatched;  /* messages received that matched no exchange */
	uint64_t handshakes; /* TLS: full handshakes; resumed ones are not counted */
};

struct transport_ops {
	const char *name; /* "udp", "tcp", "tls" */
	int (*start)(struct transport *t, struct xfer *x);
	void (*cancel)(struct transport *t, struct xfer *x);
	/* Close every socket and connection; exchanges still in progress get no callback. The
	 * transport frees itself once its handles are closed (run the loop to finish). */
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	uv_loop_t *loop;
	struct transport_stats stats;
};

static inline int transport_start(struct transport *t, struct xfer *x)
{
	x->t = t;
	return t->ops->start(t, x);
}
static inline void xfer_cancel(struct xfer *x)
{
	if (x->active)
		x->t->ops->cancel(x->t, x);
}
static inline void transport_close(struct transport *t)
{
	t->ops->close(t);
}

/* For transports: check x's query (a header, one question with a valid uncompressed name,
 * at most 65535 bytes) and fill x->id and x->qname_len; 0 or -EINVAL. */
int xfer_prepare(struct xfer *x);

/* For transports: whether msg is an answer to x's query: same ID, QR=1, opcode QUERY and one
 * question equal to the query's (name in any case, type, class). The source is the caller's
 * to check. */
bool xfer_answer_matches(const struct xfer *x, const uint8_t *msg, size_t len);

/* For stream transports: the exchanges of one connection, in the order they were started. */
struct xfer_queue {
	struct xfer *head, *tail;
};

/* x joins the end of q; it is in progress on conn. */
void xfer_queue_push(struct xfer_queue *q, struct xfer *x, void *conn);

/* x leaves q: no longer in progress anywhere. */
void xfer_queue_remove(struct xfer_queue *q, struct xfer *x);

/* UDP: a bounded set of open sockets, each bound to a random ephemeral port chosen by the
 * kernel and used for at most max_uses exchanges before it is replaced; sockets are not
 * connected, so one socket serves exchanges to several servers. Each exchange goes on a socket
 * drawn at random; start() returns -EEXIST when every socket already has an exchange with the
 * same ID, server and question (the fetch layer draws another ID). Unconnected sockets get no
 * ICMP errors: an unreachable server just never answers (the fetch layer's timeout). */
struct transport_udp_opts {
	unsigned sockets;  /* open sockets kept per address family (e.g. 16) */
	unsigned max_uses; /* exchanges per socket before a fresh one replaces it (e.g. 64) */
};
int transport_udp_new(uv_loop_t *loop, const struct transport_udp_opts *o, struct transport **out);

/* TCP: one connection per server, reused for later exchanges and pipelined (RFC 7766: several
 * queries in flight, answers matched by ID and question, out of order); closed after idle_ms
 * without exchanges in progress, reopened on demand. A connection that fails or is closed by
 * the server gives each exchange still on it its error (-ECONNREFUSED, -ECONNRESET for EOF or
 * reset, -EBADMSG for a frame shorter than a DNS header); the fetch layer retries. */
int transport_tcp_new(uv_loop_t *loop, unsigned idle_ms, struct transport **out);

/* TLS (RFC 7858, RFC 8310 strict profile), GnuTLS over libuv streams: like TCP, one connection
 * per server and auth name, reused and pipelined, closed after idle_ms without exchanges,
 * reopened on demand with TLS 1.3 session resumption. The certificate is verified against the
 * system trust store (or ca_file) and x->auth_name, and x->pin_sha256 when set; a failed
 * verification is logged with the reason and every exchange on that connection gets -EACCES.
 * Queries are padded to a multiple of 128 bytes (RFC 7830, RFC 8467) when they carry an OPT
 * record. Never falls back to plain text. */
struct transport_tls_opts {
	unsigned idle_ms;
	const char *ca_file; /* PEM bundle; NULL = the system trust store */
};
int transport_tls_new(uv_loop_t *loop, const struct transport_tls_opts *o, struct transport **out);

#endif
