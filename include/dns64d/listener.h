/* listener.h - client-facing UDP, TCP and TLS sockets: bytes in, bytes out, stream framing only
 *
 * Sockets are created and bound by the main thread (listener_bind, as root, before privileges
 * are dropped), one UDP and one TCP socket per listen address per worker with SO_REUSEPORT,
 * and then adopted by the worker's loop (listener_start).
 *
 * Every query goes to request_start() with a struct client (client.h) that the request
 * answers and releases through; the listener calls nothing else in the request.
 * The receive buffer belongs to the listener and is reused after request_start returns;
 * the request copies what it needs.
 *
 * UDP: the listener reads the socket itself (recvmmsg, no allocation per datagram) and
 * answers the replies of one batch together with one sendmmsg; what the socket does not
 * take at once is copied to a bounded queue and sent when it is writable. On a socket bound
 * to a wildcard address every datagram's destination address (IP_PKTINFO, IPV6_PKTINFO) is
 * kept in client.local and its reply leaves from that address.
 *
 * TCP (RFC 7766): at accept the ACL decides (drop: closed at once; refuse: one query, which
 * the request answers REFUSED, then closed), then the per-host limit (tcp-clients-per-host;
 * an IPv4 address or an IPv6 /64) and the daemon-wide pool (tcp-clients): when the pool is
 * full, the worker's least recently active connection with nothing in progress is closed to
 * make room, else the new one is. A connection carries several queries, answered as they
 * complete; it holds one reference per query in progress and closes after tcp-idle-timeout
 * without an answer sent (queries that are dropped are no activity).
 *
 * TLS (RFC 7858, listen-tls): a TCP connection as above (the same ACL at accept, per-host
 * limit, pool, framing and idle timeout, which also bounds the handshake) whose bytes go
 * through a GnuTLS server session (TLS 1.2 and 1.3, ALPN "dot", TLS 1.3 session tickets)
 * driven by memory push/pull functions: the loop never blocks on TLS. The certificates are
 * loaded by the main thread at start (a bad one: the daemon does not start) and re-read on
 * reload; each connection keeps the credentials it started with.
 */
#ifndef DNS64D_LISTENER_H
#define DNS64D_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/errbuf.h"

struct config;
struct tls_server; /* daemon-wide: the listen-tls credentials */
struct worker;
struct listener;
struct listen_ctx;    /* one worker's: its open TCP connections */
struct listen_shared; /* daemon-wide: the TCP pool and the per-host counts */

/* Create and bind the UDP and TCP sockets for addr (SO_REUSEPORT; on a wildcard address the
 * UDP socket reports each datagram's destination). fds[0] UDP, fds[1] TCP. */
int listener_bind(const struct sockaddr *addr, int fds[2]);

/* Create worker w's listener context. The first call (*shared NULL) also creates the
 * daemon-wide part at *shared; every context holds a reference to it, and the last
 * listen_ctx_free frees it and sets *shared back to NULL. Main thread only. */
int listen_ctx_new(struct worker *w, struct listen_shared **shared, struct listen_ctx **out);
/* Free a context once its connections are closed and the loop has run their callbacks. */
void listen_ctx_free(struct listen_ctx *ctx);

/* Client TCP connections open now, all workers (NULL: none). Thread-safe. */
unsigned listener_tcp_connections(const struct listen_shared *s);

/* Adopt bound sockets into w's loop (w->listen must exist) and start serving. */
int listener_start(struct worker *w, int udp_fd, int tcp_fd, struct listener **out);

/* Stop accepting new queries and connections (graceful shutdown). The UDP socket stays open
 * so that queries in progress can still be answered. */
void listener_stop(struct listener *l);
/* Close the sockets; the listener frees itself in its close callbacks. No request may hold
 * one of its UDP clients any more. */
void listener_close(struct listener *l);

/* Close every open client TCP (and TLS) connection of w (shutdown). */
void listener_close_tcp_conns(struct worker *w);

/* Load the certificate chain and key of every listen-tls of cfg. Errors ("FILE:LINE:
 * listen-tls 'ADDR': cannot read key 'PATH': ...", each naming the file) go to *err and the
 * result is -EINVAL. With out NULL it only checks (dns64d -t); else *out is the daemon's
 * TLS state for listener_tls_start (NULL when cfg has no listen-tls is fine too). */
int listener_tls_load(const struct config *cfg, struct tls_server **out, struct errbuf *err);
/* Reload (main thread): re-read the files of every TLS listener (the paths cfg gives for
 * its address, else the ones it had). A file that fails is logged and the old credentials
 * stay; connections open keep theirs either way. */
void listener_tls_reload(struct tls_server *s, const struct config *cfg);
void listener_tls_free(struct tls_server *s);

/* Create and bind the TCP socket of a listen-tls address (SO_REUSEPORT, one per worker). */
int listener_tls_bind(const struct sockaddr *addr, int *fd);
/* Adopt a bound socket into w's loop: DNS over TLS with the credentials of listen-tls number
 * index of w->d->tls. */
int listener_tls_start(struct worker *w, int fd, unsigned index);
/* Close w's TLS sockets (shutdown; their connections are closed with the TCP ones). */
void listener_tls_stop(struct worker *w);

#endif
