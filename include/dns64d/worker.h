/* worker.h - one worker thread: its event loop, its modules' contexts and its config
 *
 * Every worker has its own libuv loop and its own SO_REUSEPORT UDP and TCP sockets on every
 * listen address. What its modules keep per worker is behind opaque pointers, each owned by
 * its module: listen (listener.c: client TCP connections), req (request.c: the request pool
 * and reply buffers), fetch (fetch.c: transports, the questions it runs, its mailbox for
 * answers of other workers' questions). Daemon-wide state is in daemon.h. The main thread
 * hands new configs to workers through their wakeup handle; a worker swaps its config pointer
 * in its own thread, and each request keeps the config it started with (wcfg_get/put).
 */
#ifndef DNS64D_WORKER_H
#define DNS64D_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <uv.h>

#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/daemon.h"
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


/* Take and release a worker-local reference to the worker's current config. */
struct wcfg *wcfg_get(struct worker *w);
void wcfg_put(struct worker *w, struct wcfg *c);

#endif
