/* workers.c - running the worker threads: start, config hand-over, graceful stop */
#include "dns64d/workers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dns64d/fetch.h"
#include "dns64d/listener.h"
#include "dns64d/log.h"
#include "dns64d/request.h"

#define STOP_GRACE_MS 2000

static void stop_check(uv_timer_t *t);

static void begin_stop(struct worker *w)
{
	w->stopping = true;
	for (size_t i = 0; i < w->n_listeners; i++)
		listener_stop(w->listeners[i]);
	listener_tls_stop(w);
	uv_timer_start(&w->stop_timer, stop_check, 0, 20);
}

static void close_all(struct worker *w)
{
	for (size_t i = 0; i < w->n_listeners; i++)
		listener_close(w->listeners[i]);
	w->n_listeners = 0;
	listener_tls_stop(w);
	listener_close_tcp_conns(w);
	fetch_ctx_close(w->fetch);
	uv_close((uv_handle_t *)&w->wakeup, NULL);
	uv_close((uv_handle_t *)&w->stop_timer, NULL);
}

/* Finish queries in progress for up to the grace time, then close everything. A worker with no
 * requests of its own still runs questions other workers' clients wait for (a shared A
 * prefetch, say): those get the grace time too; only questions nobody waits for are
 * cancelled at once. */
static void stop_check(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now = uv_now(&w->loop);
	if (!w->stop_deadline)
		w->stop_deadline = now + STOP_GRACE_MS;
	unsigned waited = fetch_shutdown(w, false);
	if (request_count(w) == 0 && waited == 0) {
		w->cancelling = true;
		fetch_shutdown(w, true);
		uv_timer_stop(t);
		close_all(w);
	} else if (now >= w->stop_deadline && !w->cancelling) {
		/* grace time over: what is still waiting for an upstream gets SERVFAIL */
		log_warn("worker %u stopping with %u queries unanswered, answering SERVFAIL", w->index,
		         request_count(w));
		w->cancelling = true;
		fetch_shutdown(w, true);
	}
}

static void on_wakeup(uv_async_t *a)
{
	struct worker *w = a->data;
	struct daemon *d = w->d;
	fetch_drain(w); /* answers for our waiters from other workers' questions */
	pthread_mutex_lock(&d->pending_lock);
	struct config *cfg = d->pending;
	if (cfg && cfg != w->wcfg->cfg)
		config_ref(cfg);
	else
		cfg = NULL;
	pthread_mutex_unlock(&d->pending_lock);
	if (cfg) {
		if (wcfg_swap(w, cfg) < 0)
			log_error("worker %u could not take the new config", w->index);
		config_unref(cfg);
	}
	if (atomic_load(&d->stopping) && !w->stopping)
		begin_stop(w);
}

int worker_new(struct daemon *d, unsigned index, const int (*fds)[2], size_t n, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->d = d;
	w->index = index;
	int rc = uv_loop_init(&w->loop);
	if (rc) {
		free(w);
		return rc;
	}
	if ((rc = request_ctx_new(w)) < 0 || (rc = fetch_ctx_new(w, &w->fetch)) < 0)
		return rc;
	uv_async_init(&w->loop, &w->wakeup, on_wakeup);
	w->wakeup.data = w;
	uv_timer_init(&w->loop, &w->stop_timer);
	w->stop_timer.data = w;
	pthread_mutex_lock(&d->pending_lock);
	rc = wcfg_swap(w, d->pending);
	pthread_mutex_unlock(&d->pending_lock);
	if (rc)
		return rc;
	if ((rc = listen_ctx_new(w, &d->listen, &w->listen)) < 0)
		return rc;
	w->listeners = calloc(n ? n : 1, sizeof(*w->listeners));
	if (!w->listeners)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((rc = listener_start(w, fds[i][0], fds[i][1], &w->listeners[i])) < 0)
			return rc;
		w->n_listeners++;
	}
	*out = w;
	return 0;
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int worker_start(struct worker *w)
{
	return uv_thread_create(&w->thread, worker_main, w);
}

void worker_notify(struct worker *w)
{
	uv_async_send(&w->wakeup);
}

void worker_stop(struct worker *w)
{
	uv_async_send(&w->wakeup);
}

void worker_join(struct worker *w)
{
	uv_thread_join(&w->thread);
}

void worker_free(struct worker *w)
{
	/* every handle is closed by now; run the last close callbacks, then the loop closes */
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0)
		log_warn("worker %u loop did not close cleanly", w->index);
	fetch_ctx_free(w->fetch);
	request_ctx_free(w);
	if (w->wcfg) {
		w->wcfg->retired = true;
		if (w->wcfg->users == 0) {
			config_unref(w->wcfg->cfg);
			free(w->wcfg);
		}
	}
	free(w->listeners);
	listen_ctx_free(w->listen);
	free(w);
}
