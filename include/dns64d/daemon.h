/* daemon.h - what is daemon-wide: config generations, the cache, cookie secrets, the workers
 *
 * One struct daemon per process, set up by main.c before the workers start and torn down
 * after they end. Each module that needs daemon-wide state keeps it behind its own opaque
 * pointer here (fetch: the in-flight table and upstream health; listen: the TCP pool and
 * per-host counts). The pending config is swapped under pending_lock and handed to each
 * worker through its wakeup handle; the cookie secrets are double-buffered so workers read
 * them without a lock while the main thread rotates them.
 */
#ifndef DNS64D_DAEMON_H
#define DNS64D_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dns64d/cookie.h"

struct cache;
struct config;
struct worker;
struct fetch_shared;
struct listen_shared;
struct tls_server;
struct dnstap;
struct ra_shared;

struct daemon {
	struct config *_Atomic pending; /* newest config, handed to workers on wakeup */
	pthread_mutex_t pending_lock;
	unsigned generation;
	struct cache *cache;
	struct worker **workers;
	unsigned n_workers;
	struct fetch_shared *fetch;   /* fetch.c's: in-flight questions, upstream health */
	struct listen_shared *listen; /* listener.c's: TCP pool and per-host counts */
	struct dnstap *dnstap;        /* dnstap.c's: the I/O thread and worker queues; NULL = off */
	struct ra_shared *ra;         /* ra.c's: the NAT64 prefix routers advertise (NULL: not asked) */
	struct cookie_ring secrets[2];
	atomic_uint secret_idx;
	atomic_bool stopping;
	int (*fds)[2]; /* per worker x listen address: UDP and TCP fds */
	/* listener_tls.c's listen-tls credentials (NULL without listen-tls), and the TCP fd of
	 * each worker x listen-tls */
	struct tls_server *tls;
	int *tls_fds;
	bool foreground;
	char hostname[256]; /* gethostname() at start: CHAOS id.server */
};

/* Milliseconds of a monotonic clock. */
uint64_t now_ms(void);

/* The cookie secrets now in force (lock-free for workers). */
static inline const struct cookie_ring *daemon_secrets(struct daemon *d)
{
	return &d->secrets[atomic_load_explicit(&d->secret_idx, memory_order_acquire) & 1];
}

/* Rotate the cookie secret (main thread, every COOKIE_ROTATE_INTERVAL). */
void daemon_rotate_secret(struct daemon *d);

#endif
