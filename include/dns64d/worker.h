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

struct listener;
struct req_ctx;
struct fetch_ctx;
struct fetch_shared;
struct listen_ctx;
struct listen_shared;

/* A config as used by one worker: requests count their use of it without atomics. */
struct wcfg {
	struct config *cfg; /* holds one reference */
	unsigned users;     /* requests of this worker still using it */
	bool retired;       /* the worker has moved on to a newer config */
};

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
	struct listen_ctx *listen; /* listener.c's: open client TCP connections */
	struct req_ctx *req;       /* request.c's: the request pool and reply buffers */
	struct fetch_ctx *fetch;   /* fetch.c's: transports, questions in flight, mailbox */
	uint64_t stop_deadline;
	bool stopping;
	bool cancelling; /* grace time over: upstream work is cancelled */
	struct metrics m;
};

struct daemon {
	struct config *_Atomic pending; /* newest config, handed to workers on wakeup */
	pthread_mutex_t pending_lock;
	unsigned generation;
	struct cache *cache;
	struct worker **workers;
	unsigned n_workers;
	struct fetch_shared *fetch;   /* fetch.c's: in-flight questions, upstream health */
	struct listen_shared *listen; /* listener.c's: TCP pool and per-host counts */
	struct cookie_ring secrets[2];
	atomic_uint secret_idx;
	atomic_bool stopping;
	int (*fds)[2]; /* per worker x listen address: UDP and TCP fds */
	bool foreground;
	char hostname[256]; /* gethostname() at start: CHAOS id.server */
};

/* Create worker i for daemon d with the listen fds given (n pairs of UDP, TCP; n may be 0 for
 * a worker driven in-process by tests, which then run w->loop themselves). */
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
