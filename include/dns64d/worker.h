/* worker.h - the daemon's shared state and one worker thread with its own event loop
 *
 * Every worker has its own libuv loop, its own SO_REUSEPORT UDP and TCP sockets on every
 * listen address, the upstream queries it started, and its own metrics. The cache, the
 * in-flight table (so identical questions go upstream once) and the cookie secrets are
 * shared by all workers; answers for another worker's waiters arrive in its mailbox. The main thread loads config,
 * handles signals and the metrics endpoint, and hands new configs to workers through their
 * async handles; a worker swaps its config pointer in its own thread.
 */
#ifndef DNS64D_WORKER_H
#define DNS64D_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <uv.h>

#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/cookie.h"
#include "dns64d/metrics.h"
#include "dns64d/wire.h"

struct request;
struct uquery;
struct listener;
struct tcp_conn;
struct fetch_waiter;

/* A config as used by one worker: requests count their use of it without atomics. */
struct wcfg {
	struct config *cfg; /* holds one reference */
	unsigned users;     /* requests of this worker still using it */
	bool retired;       /* the worker has moved on to a newer config */
};

/* One shard of the daemon-wide table of upstream queries in flight (coalescing across workers). */
struct inflight_table {
	pthread_mutex_t lock;
	struct uquery **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

#define INFLIGHT_SHARDS 64

struct worker {
	struct daemon *d;
	unsigned index;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t wakeup;
	uv_timer_t stop_timer;
	struct wcfg *wcfg;
	struct listener **listeners;
	size_t n_listeners;
	struct uquery *owned;      /* upstream queries this worker runs */
	pthread_mutex_t mbox_lock; /* answers from other workers' queries */
	struct fetch_waiter *mbox;
	struct request *free_reqs;
	unsigned n_requests; /* requests alive */
	unsigned n_free;     /* requests kept in free_reqs */
	unsigned tcp_conns;
	struct tcp_conn *conns; /* open client TCP connections */
	bool stopping;
	bool cancelling; /* grace time over: upstream work is cancelled */
	struct metrics m;
	_Alignas(8) uint8_t sendbuf[2 + DNS_MAX_MSG];
	_Alignas(8) uint8_t storebuf[DNS_MAX_MSG + 16384];  /* cache lookups land here */
	_Alignas(8) uint8_t renderbuf[DNS_MAX_MSG + 16384]; /* answers built by dns64 */
};

struct daemon {
	struct config *_Atomic pending; /* newest config, handed to workers on wakeup */
	pthread_mutex_t pending_lock;
	unsigned generation;
	struct cache *cache;
	struct worker **workers;
	unsigned n_workers;
	atomic_uint inflight; /* upstream queries in flight, all workers */
	struct inflight_table inflight_tables[INFLIGHT_SHARDS];
	uint8_t inflight_key[16];
	atomic_uint tcp_conns; /* client TCP connections, all workers */
	struct cookie_ring secrets[2];
	atomic_uint secret_idx;
	atomic_bool stopping;
	int (*fds)[2]; /* per worker x listen address: UDP and TCP fds */
	bool foreground;
};

/* Create worker i for daemon d with the listen fds given (n pairs of UDP, TCP). */
int worker_new(struct daemon *d, unsigned index, const int (*fds)[2], size_t n, struct worker **out);
int worker_start(struct worker *w);
/* Hand the daemon's pending config to the worker (thread-safe). */
void worker_notify(struct worker *w);
/* Ask the worker to stop accepting, finish in-flight queries, and end its loop. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/* Milliseconds of a monotonic clock. */
uint64_t now_ms(void);

/* The cookie secrets now in force. */
static inline const struct cookie_ring *daemon_secrets(struct daemon *d)
{
	return &d->secrets[atomic_load_explicit(&d->secret_idx, memory_order_acquire) & 1];
}
void daemon_rotate_secret(struct daemon *d);

/* Take and release a worker-local reference to the worker's current config. */
struct wcfg *wcfg_get(struct worker *w);
void wcfg_put(struct worker *w, struct wcfg *c);

#endif
