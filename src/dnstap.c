/* dnstap.c - the dnstap writer: libfstrm's I/O thread, one queue per worker, never blocking */
#include "dns64d/dnstap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fstrm.h>

#include "dns64d/client.h"
#include "dns64d/config.h"
#include "dns64d/daemon.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/worker.h"

#define CONTENT_TYPE   "protobuf:dnstap.Dnstap"
#define QUEUE_SIZE     1024 /* messages a worker may have waiting (a power of two) */
#define REOPEN_SECONDS 1    /* a collector that went away is tried again this often */
#define STOP_SECONDS   2    /* at stop, how long the last messages may take */

struct dnstap {
	struct fstrm_iothr *iothr;
	struct fstrm_iothr_queue **queues; /* one per worker, by index */
	unsigned n_queues;
	const char *hostname; /* the daemon's, for an identity nobody configured */
};

static struct fstrm_writer *unix_writer(const char *path)
{
	struct fstrm_writer_options *wo = fstrm_writer_options_init();
	struct fstrm_unix_writer_options *uo = fstrm_unix_writer_options_init();
	struct fstrm_writer *w = NULL;
	if (wo && uo &&
	    fstrm_writer_options_add_content_type(wo, CONTENT_TYPE, strlen(CONTENT_TYPE)) == fstrm_res_success) {
		fstrm_unix_writer_options_set_socket_path(uo, path);
		w = fstrm_unix_writer_init(uo, wo);
	}
	if (uo)
		fstrm_unix_writer_options_destroy(&uo);
	if (wo)
		fstrm_writer_options_destroy(&wo);
	return w;
}

int dnstap_start(struct daemon *d, const struct config *cfg)
{
	if (!cfg->dnstap_socket)
		return 0;
	struct dnstap *t = calloc(1, sizeof(*t));
	struct fstrm_writer *w = unix_writer(cfg->dnstap_socket);
	struct fstrm_iothr_options *io = fstrm_iothr_options_init();
	int rc = -ENOMEM;
	if (!t || !w || !io || !(t->queues = calloc(d->n_workers, sizeof(*t->queues))))
		goto cleanup;
	rc = -EINVAL;
	if (fstrm_iothr_options_set_num_input_queues(io, d->n_workers) != fstrm_res_success ||
	    fstrm_iothr_options_set_input_queue_size(io, QUEUE_SIZE) != fstrm_res_success ||
	    fstrm_iothr_options_set_queue_model(io, FSTRM_IOTHR_QUEUE_MODEL_SPSC) != fstrm_res_success ||
	    fstrm_iothr_options_set_reopen_interval(io, REOPEN_SECONDS) != fstrm_res_success)
		goto cleanup;
	if (!(t->iothr = fstrm_iothr_init(io, &w)))
		goto cleanup;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (!(t->queues[i] = fstrm_iothr_get_input_queue_idx(t->iothr, i)))
			goto cleanup;
	t->n_queues = d->n_workers;
	t->hostname = d->hostname;
	d->dnstap = t;
	t = NULL;
	rc = 0;
	log_notice("dnstap to '%s'", cfg->dnstap_socket);
cleanup:
	if (t) {
		if (t->iothr)
			fstrm_iothr_destroy(&t->iothr);
		free(t->queues);
		free(t);
	}
	if (w)
		fstrm_writer_destroy(&w);
	if (io)
		fstrm_iothr_options_destroy(&io);
	if (rc < 0)
		log_error("cannot set up dnstap to '%s'", cfg->dnstap_socket);
	return rc;
}

static void *destroy_thread(void *arg)
{
	struct dnstap *t = arg;
	fstrm_iothr_destroy(&t->iothr);
	return NULL;
}

void dnstap_stop(struct daemon *d)
{
	struct dnstap *t = d->dnstap;
	pthread_t thr;
	struct timespec until;
	if (!t)
		return;
	d->dnstap = NULL;
	/* a collector that takes the bytes but never reads them (or never acknowledges the end
	 * of the stream) would block fstrm's writes for ever: the stop does not wait for it */
	if (pthread_create(&thr, NULL, destroy_thread, t) != 0) {
		log_warn("dnstap: not flushed at stop");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_SECONDS;
	if (pthread_timedjoin_np(thr, NULL, &until) != 0) {
		log_warn("dnstap collector did not take the last messages within %d s", STOP_SECONDS);
		pthread_detach(thr);
		return; /* the process is ending: what the thread holds goes with it */
	}
	free(t->queues);
	free(t);
}

void dnstap_now(struct timespec *t)
{
	clock_gettime(CLOCK_REALTIME, t);
}

/* Fill in who we are, pack and queue; a full queue (the collector is slow) drops the message. */
static void submit(struct worker *w, const struct config *cfg, struct dnstap_event *ev)
{
	struct dnstap *t = w->d->dnstap;
	char version[64];
	ev->identity = cfg->dnstap_identity ? cfg->dnstap_identity : cfg->identity ? cfg->identity : t->hostname;
	if (!(ev->version = cfg->dnstap_version ? cfg->dnstap_version : cfg->version)) {
		snprintf(version, sizeof(version), "dns64d %s", DNS64D_VERSION);
		ev->version = version;
	}
	uint8_t *buf;
	size_t len;
	if (w->index >= t->n_queues || dnstap_pack(ev, &buf, &len) < 0) {
		counter_inc(&w->m.dnstap_dropped);
		return;
	}
	if (fstrm_iothr_submit(t->iothr, t->queues[w->index], buf, len, fstrm_free_wrapper, NULL) !=
	    fstrm_res_success) {
		free(buf);
		counter_inc(&w->m.dnstap_dropped);
		return;
	}
	counter_inc(&w->m.dnstap_sent);
}

static enum dnstap_proto client_proto(const struct client *c)
{
	return c->transport == TRANSPORT_TLS ? DNSTAP_DOT : c->transport == TRANSPORT_TCP ? DNSTAP_TCP : DNSTAP_UDP;
}

static enum dnstap_proto upstream_proto(const char *transport)
{
	return strcmp(transport, "tls") == 0 ? DNSTAP_DOT : strcmp(transport, "tcp") == 0 ? DNSTAP_TCP : DNSTAP_UDP;
}

void dnstap_client_query(struct worker *w, const struct config *cfg, const struct client *c, const struct timespec *t,
                         const uint8_t *pkt, size_t len)
{
	if (!w->d->dnstap || !(cfg->dnstap_messages & DNSTAP_CLIENT_QUERY))
		return;
	struct dnstap_event ev = {
	        .kind = DNSTAP_CLIENT_QUERY,
	        .proto = client_proto(c),
	        .query_addr = (const struct sockaddr *)&c->peer,
	        .response_addr = c->local.ss_family ? (const struct sockaddr *)&c->local : NULL,
	        .query_time = *t,
	        .query = pkt,
	        .query_len = len,
	};
	submit(w, cfg, &ev);
}

void dnstap_client_response(struct worker *w, const struct config *cfg, const struct client *c,
                            const struct timespec *qt, const uint8_t *msg, size_t len, const char *extra)
{
	if (!w->d->dnstap || !(cfg->dnstap_messages & DNSTAP_CLIENT_RESPONSE))
		return;
	struct dnstap_event ev = {
	        .kind = DNSTAP_CLIENT_RESPONSE,
	        .proto = client_proto(c),
	        .query_addr = (const struct sockaddr *)&c->peer,
	        .response_addr = c->local.ss_family ? (const struct sockaddr *)&c->local : NULL,
	        .query_time = *qt,
	        .response = msg,
	        .response_len = len,
	        .extra = extra,
	};
	dnstap_now(&ev.response_time);
	submit(w, cfg, &ev);
}

void dnstap_forwarder_query(struct worker *w, const struct config *cfg, const struct sockaddr *server,
                            const char *transport, const uint8_t *q, size_t len)
{
	if (!w->d->dnstap || !(cfg->dnstap_messages & DNSTAP_FORWARDER_QUERY))
		return;
	struct dnstap_event ev = {
	        .kind = DNSTAP_FORWARDER_QUERY,
	        .proto = upstream_proto(transport),
	        .response_addr = server,
	        .query = q,
	        .query_len = len,
	};
	dnstap_now(&ev.query_time);
	submit(w, cfg, &ev);
}

void dnstap_forwarder_response(struct worker *w, const struct config *cfg, const struct sockaddr *server,
                               const char *transport, uint64_t sent_ago_us, const uint8_t *ans, size_t len)
{
	if (!w->d->dnstap || !(cfg->dnstap_messages & DNSTAP_FORWARDER_RESPONSE))
		return;
	struct dnstap_event ev = {
	        .kind = DNSTAP_FORWARDER_RESPONSE,
	        .proto = upstream_proto(transport),
	        .response_addr = server,
	        .response = ans,
	        .response_len = len,
	};
	dnstap_now(&ev.response_time);
	/* the query's wall-clock time, from the monotonic time since it was sent */
	int64_t ns =
	        (int64_t)ev.response_time.tv_sec * 1000000000 + ev.response_time.tv_nsec - (int64_t)sent_ago_us * 1000;
	ev.query_time.tv_sec = (time_t)(ns / 1000000000);
	ev.query_time.tv_nsec = (long)(ns % 1000000000);
	submit(w, cfg, &ev);
}
