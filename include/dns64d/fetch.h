/* fetch.h - getting the answer to one question: cache, coalescing, upstream attempts, stale fallback
 *
 * How a question is answered:
 *   1. a fresh cache entry: returned at once (fetch_get returns 0);
 *   2. a failure remembered for this question (RFC 9520: a short, growing time after every
 *      upstream failed) or local overload: returned at once, as a stale answer when the cache
 *      still holds an expired one (RFC 8767), else as the failure;
 *   3. otherwise the question joins the identical one in flight anywhere in the daemon, or
 *      starts one (coalescing), and the waiter's callback runs later, in the waiter's worker
 *      thread, with the answer; or, when the upstreams have not answered within
 *      stale-answer-client-timeout (or failed) and an expired answer is cached, with that
 *      stale answer while the refresh goes on.
 * One question in flight is asked of the upstreams by attempts: each attempt is one exchange
 * with one server on a transport (transport.h), a fresh random ID each time (RFC 5452). The
 * server for each attempt comes from select.h over daemon-wide per-upstream health; an
 * attempt that is not answered within its retransmission timeout (from that server's RTT)
 * is followed by another one (to the next best server: hedging; or to the same one:
 * retransmission) while the first stays open, all within the client's `timeout` budget.
 * TC=1 over UDP asks the same server over TCP. SERVFAIL, REFUSED, a malformed answer, an
 * ICMP error or a broken connection mark that server failed for this question and move on.
 * A good answer is stored in the cache here, never by a transport.
 *
 * Threads: fetch_get, fetch_prefetch and the callbacks run in the caller's worker thread.
 */
#ifndef DNS64D_FETCH_H
#define DNS64D_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/upstream_info.h"
#include "dns64d/wire.h"

struct worker;
struct daemon;
struct config;
struct transport;
struct fetch_ctx;

#define FETCH_PENDING 1 /* fetch_get: the callback will run later */

struct fetch_query {
	const uint8_t *qname; /* uncompressed wire, any case */
	size_t qname_len;
	uint16_t qtype, qclass;
	uint8_t flags; /* CACHE_F_RD / CACHE_F_DO / CACHE_F_CD of the client */
	/* The client is already getting a stale answer (its AAAA came stale): take an expired
	 * entry at once rather than wait, and refresh it in the background. */
	bool stale_ok;
};

enum fetch_source { FETCH_SRC_NONE = 0, FETCH_SRC_CACHE, FETCH_SRC_UPSTREAM, FETCH_SRC_STALE };

struct fetch_result {
	/* 0: m is the answer. -ETIMEDOUT: no upstream answered usefully within the budget (or a
	 * remembered failure); -EBUSY: local overload (max-inflight, waiters per question);
	 * -ECANCELED: shutdown; -ENOENT: no upstream configured. */
	int status;
	/* The answer as stored (TTLs as received, or already set to stale-answer-ttl when stale).
	 * Valid only until the step that consumes it returns: copy what you keep. */
	const struct msg_meta *m;
	uint32_t elapsed_s; /* subtract from the TTLs (time spent in cache) */
	enum fetch_source source;
	bool remembered;                  /* a failure remembered from an earlier query */
	struct sockaddr_storage upstream; /* who answered; ss_family 0: nobody (cache, failure) */
};

/* A request waiting for an answer. The caller sets cb; the rest is fetch.c's. */
struct fetch_waiter {
	void (*cb)(struct fetch_waiter *wt, const struct fetch_result *res);
	/* fetch.c's */
	struct fetch_waiter *next;
	struct worker *w;
	int status;
	struct fetch_delivery *dl; /* the shared copy of the answer, for another worker's waiters */
	struct sockaddr_storage up;
	bool stale_now; /* delivered because the stale timeout passed */
};

/* Look up q with the config cfg (the request's). Returns 0 with *res filled now (a cache hit,
 * a remembered failure, a stale answer, or a failure such as -EBUSY), or FETCH_PENDING when
 * wt->cb will be called later with the result. */
int fetch_get(struct worker *w, struct config *cfg, const struct fetch_query *q, struct fetch_waiter *wt,
              struct fetch_result *res);

/* Make sure q's answer is in the cache or on its way, with nobody waiting for it (the A query
 * of a dns64 client's AAAA query). Quietly does nothing on overload. */
void fetch_prefetch(struct worker *w, struct config *cfg, const struct fetch_query *q);

/* Per-worker context: its transports, the questions it runs, its mailbox. */
int fetch_ctx_new(struct worker *w, struct fetch_ctx **out);
/* Replace the transports (in-process tests use fakes); the old ones are closed. */
void fetch_ctx_set_transports(struct fetch_ctx *fx, struct transport *udp, struct transport *tcp);
void fetch_ctx_close(struct fetch_ctx *fx); /* closes the transports; free after the loop ran */
void fetch_ctx_free(struct fetch_ctx *fx);

/* Answers that other workers' questions delivered to this worker's waiters: call them (in
 * w's thread, from its wakeup handle). */
void fetch_drain(struct worker *w);

/* Shutdown: questions of this worker that nobody waits for are cancelled; with all true,
 * every question of this worker fails with -ECANCELED (grace time over). Returns how many
 * questions of this worker still have waiters. */
unsigned fetch_shutdown(struct worker *w, bool all);

/* Daemon-wide state (in-flight table, upstream health): before the workers start, after they end. */
int fetch_init(struct daemon *d);
void fetch_fini(struct daemon *d);

/* Give every upstream of cfg its health entry now (metrics show them before first use). */
void fetch_register(struct daemon *d, const struct config *cfg);

/* Questions in flight in the whole daemon. */
unsigned fetch_inflight(struct daemon *d);

/* One upstream's state for the operator (metrics, control). */
/* Copy up to max entries of the daemon's upstream registry; returns how many. */
size_t fetch_upstreams(struct daemon *d, struct upstream_info *out, size_t max);

#endif
