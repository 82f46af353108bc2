/* listener.h - client-facing UDP and TCP sockets: bytes in, bytes out, TCP framing only
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
 */
#ifndef DNS64D_LISTENER_H
#define DNS64D_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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

/* Close every open client TCP connection of w (shutdown). */
void listener_close_tcp_conns(struct worker *w);

#endif
