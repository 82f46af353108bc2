/* workers.h - running the worker threads: start, config hand-over, graceful stop
 *
 * The orchestration of one worker: it creates the worker's loop and every module's
 * per-worker context (listener, request, fetch), runs the loop in its thread, takes new
 * configs from the daemon on wakeup, and stops gracefully: stop accepting, finish queries in
 * progress for the grace time, then SERVFAIL what is left and close everything. The worker's
 * state itself is in worker.h, which the modules include; this header is for main.c (and
 * in-process tests), so no module depends on the orchestration.
 */
#ifndef DNS64D_WORKERS_H
#define DNS64D_WORKERS_H

#include <stddef.h>

#include "dns64d/worker.h"

/* Create worker i for daemon d with the listen fds given (n pairs of UDP, TCP; n may be 0 for
 * a worker driven in-process by tests, which then run w->loop themselves). */
int worker_new(struct daemon *d, unsigned index, const int (*fds)[2], size_t n, struct worker **out);
int worker_start(struct worker *w);
/* Hand the daemon's pending config to the worker (thread-safe). */
void worker_notify(struct worker *w);
/* Ask the worker to stop (set d->stopping first) accepting, finish in-flight queries, and end its loop. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

#endif
