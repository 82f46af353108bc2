/* listener_int.h - what the listener's two files share: its contexts, and TCP accept
 *
 * listener.c owns the sockets (bind, adopt, stop, close) and the UDP path; listener_tcp.c
 * owns client TCP connections. Not a public header: nothing outside the listener uses it.
 */
#ifndef DNS64D_LISTENER_INT_H
#define DNS64D_LISTENER_INT_H

#include <stdatomic.h>

#include <uv.h>

struct worker;
struct tcp_conn;
struct hostlimit;

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
};

/* Accept one connection on server for worker w: admit it (ACL, per-host limit, pool) and
 * start reading, or close it at once. */
void tcp_conn_accept(struct worker *w, uv_stream_t *server);

#endif
