/* listener_int.h - what the listener's files share: its contexts, TCP accept, TLS sessions
 *
 * listener.c owns the sockets (bind, adopt, stop, close) and the UDP path; listener_tcp.c
 * owns client TCP connections, with or without TLS; listener_tls.c owns the TLS sockets, the
 * credentials and the GnuTLS session of a TLS connection, which reads and writes through its
 * connection. Not a public header: nothing outside the listener uses it.
 */
#ifndef DNS64D_LISTENER_INT_H
#define DNS64D_LISTENER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <uv.h>

struct worker;
struct tcp_conn;
struct hostlimit;
struct tls_listener;
struct tls_sess;

struct listen_shared {
	atomic_uint refs;      /* one per worker context */
	atomic_uint tcp_conns; /* client TCP connections, all workers: the tcp-clients pool */
	struct hostlimit *hosts;
	struct listen_shared **slot; /* the daemon's pointer, cleared when this is freed */
};

struct listen_ctx {
	struct worker *w;
	struct listen_shared *shared;
	struct tcp_conn *head, *tail; /* open connections, most recently active first */
	unsigned tcp_conns;
	struct tls_listener *tls; /* listener_tls.c's accepting sockets of this worker */
};

/* Accept one connection on server for worker w: admit it (ACL, per-host limit, pool) and
 * start reading, or close it at once. tls_index >= 0: DNS over TLS with the credentials of
 * that listen-tls; -1: plain TCP. */
void tcp_conn_accept(struct worker *w, uv_stream_t *server, int tls_index);

/* Queue bytes on the connection's stream as they are (no framing): 0, or < 0 when the
 * connection is closing or the write failed (then it closes). */
int tcp_conn_write(struct tcp_conn *c, const void *data, size_t len);
/* The client's address. */
const struct sockaddr_storage *tcp_conn_peer(const struct tcp_conn *c);

/* A GnuTLS server session of connection c (the credentials of listen-tls index, taken now:
 * a reload does not change them for it); NULL on failure. Freed with the connection. */
struct tls_sess *tls_sess_new(struct worker *w, unsigned index, struct tcp_conn *c);
void tls_sess_free(struct tls_sess *t);
/* Receive ciphertext: where the stream may put it, then how much it put there. */
void tls_sess_rbuf(struct tls_sess *t, uv_buf_t *buf);
void tls_sess_got(struct tls_sess *t, size_t n);

#define TLS_SESS_EOF (-100000) /* the client sent close_notify */
/* Go on with the handshake, then decrypt into out[0..cap): the bytes (> 0), 0 when waiting
 * for more ciphertext, TLS_SESS_EOF, or another negative value (the session failed: close). */
ssize_t tls_sess_read(struct tls_sess *t, uint8_t *out, size_t cap);
/* Encrypt prefix and msg into records and queue them (tcp_conn_write). 0 or -EPIPE. */
int tls_sess_write(struct tls_sess *t, const uint8_t *prefix, size_t plen, const uint8_t *msg, size_t len);
/* Queue close_notify, once the handshake is done. */
void tls_sess_bye(struct tls_sess *t);

#endif
