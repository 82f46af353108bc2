/* listener.h - client-facing UDP and TCP sockets: bytes in, bytes out, TCP framing only
 *
 * Sockets are created and bound by the main thread (listener_bind, as root, before privileges
 * are dropped), one UDP and one TCP socket per listen address per worker with SO_REUSEPORT,
 * and then adopted by the worker's loop (listener_start).
 * The receive buffer belongs to the listener and is reused after the request callback
 * returns; the request copies what it needs.
 * A TCP connection (RFC 7766) carries several queries, answered as they complete; it holds
 * one reference per query in progress and closes after tcp-idle-timeout without queries.
 */
#ifndef DNS64D_LISTENER_H
#define DNS64D_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

struct worker;
struct tcp_conn;
struct listener;

/* Create and bind the UDP and TCP sockets for addr (SO_REUSEPORT). fds[0] UDP, fds[1] TCP. */
int listener_bind(const struct sockaddr *addr, int fds[2]);

/* Adopt bound sockets into w's loop and start serving. */
int listener_start(struct worker *w, int udp_fd, int tcp_fd, struct listener **out);

/* Stop accepting new queries and connections (graceful shutdown). The UDP socket stays open
 * so that queries in progress can still be answered. */
void listener_stop(struct listener *l);
/* Close the sockets; the listener frees itself in its close callbacks. */
void listener_close(struct listener *l);

/* Send a reply datagram (copied if it cannot go out at once). */
void listener_udp_send(uv_udp_t *h, const struct sockaddr *peer, const uint8_t *msg, size_t len);

/* Queue a reply on a TCP connection (copied; the 2-byte length is added). No-op if closed. */
void tcp_conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len);

/* A query taken from this connection is finished (answered or dropped). */
void tcp_conn_release(struct tcp_conn *c);

/* The peer of a TCP connection. */
const struct sockaddr *tcp_conn_peer(const struct tcp_conn *c);

/* Close every open client TCP connection of w (shutdown). */
void listener_close_tcp_conns(struct worker *w);

#endif
