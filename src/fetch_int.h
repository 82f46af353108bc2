/* fetch_int.h - what the fetch layer's files share: one question in flight and its attempts
 *
 * fetch.c (the API, the in-flight table, start and finish), fetch_attempt.c (server choice,
 * attempts, retransmission, deadline) and fetch_deliver.c (handing results to waiters, stale
 * answers, remembered failures) work on these structs; nothing outside them does.
 * Ownership: a struct fetch belongs to the worker that started it (fx) and is freed in its
 * timer's close callback after finish(); its attempts live inside it; a waiter belongs to
 * its request and is only linked here until its callback has run.
 */
#ifndef DNS64D_FETCH_INT_H
#define DNS64D_FETCH_INT_H

#include "dns64d/fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/select.h"
#include "dns64d/transport.h"
#include "dns64d/worker.h"

#define MAX_TTL              86400
#define MAX_WAITERS          1024 /* clients waiting on one question: beyond this, -EBUSY */
#define MAX_ATTEMPTS         8    /* exchanges per question, all transports */
#define MAX_OPEN             3    /* exchanges of one question in progress at once */
#define MAX_SERVERS          32   /* upstreams one question considers */
/* A server with this many attempts outstanding is queueing, not losing packets: no
 * retransmission to it then (hedging to another server still happens) */
#define RETX_MAX_OUTSTANDING 16
#define REGISTRY_MAX         256   /* distinct upstreams the daemon keeps health for */
#define FAIL_BASE_MS         1000  /* RFC 9520: first failure remembered this long ... */
#define FAIL_MAX_MS          30000 /* ... doubling per repeated failure up to this */
#define LET_THROUGH_MS       1000  /* while all upstreams are down: one query a second past them */
#define FAIL_RECORD_TTL      120   /* s: how long a failure record lives to count repeats */
#define UDP_SOCKETS          64
#define UDP_MAX_USES         32
#define TCP_IDLE_MS          10000
#define TLS_IDLE_MS          10000 /* under the usual servers' idle timeouts: we close first */
#define TLS_RETRY_MS         10000 /* a TLS transport that could not be set up: next try */
#define SHARDS               64
#define BUF_SIZE             (DNS_MAX_MSG + 16384)

/* ---- daemon-wide state ------------------------------------------------------------------- */

struct inflight_shard {
	pthread_mutex_t lock;
	struct fetch **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

struct registry_entry {
	struct upstream up; /* keyed as upstream_spec_same(): address, protocol, auth name */
	struct server_health h;
	unsigned outstanding; /* attempts sent to it and not yet answered, failed or cancelled */
};

struct fetch_shared {
	struct inflight_shard shards[SHARDS];
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	atomic_uint inflight;    /* questions in flight, all workers (max-inflight) */
	uint64_t let_through_ms; /* under reg_lock: the last query let past remembered failures */
	atomic_uint up_epoch;    /* counts upstreams coming back up: remembered failures before it are void */
	pthread_mutex_t reg_lock;
	struct registry_entry reg[REGISTRY_MAX];
	size_t n_reg;
};

/* Answers for one worker's waiters from another worker's question: one copy per worker. */
struct fetch_delivery {
	struct fetch_delivery *next;
	struct fetch_waiter *waiters;
	int status;
	bool failed;    /* every upstream failed: look for a stale answer first */
	bool stale_now; /* the stale timeout passed: look for a stale answer */
	struct sockaddr_storage up;
	uint8_t key[CACHE_KEY_MAX];
	size_t key_len;
	uint8_t *msg; /* stored message or NULL; allocated with the delivery */
};

struct fetch_ctx {
	struct worker *w;
	struct transport *udp, *tcp;
	struct transport *tls;                /* made on first use (tls-ca of that config) */
	uint64_t tls_retry_ms;                /* not before this after a failed set-up */
	uint64_t tls_conns_seen, tls_hs_seen; /* its stats already added to the metrics */
	struct fetch *owned;                  /* questions this worker runs */
	pthread_mutex_t mbox_lock;
	struct fetch_delivery *mbox;
	/* fetch_get's immediate answers land here; valid until the next fetch_get of this worker */
	_Alignas(8) uint8_t hitbuf[BUF_SIZE];
	/* a stale answer handed to one callback; valid during that callback */
	_Alignas(8) uint8_t stalebuf[BUF_SIZE];
};

/* One exchange with one server. */
struct attempt {
	struct xfer x;
	struct fetch *f;
	unsigned srv; /* index into the question's servers */
	uint64_t sent_us, rto_at_ms;
	bool tcp, open, timed_out;
	bool tls; /* over the TLS transport: no TCP fallback, one exchange per server and question */
	uint8_t q[DNS_MAX_NAME + 32];
};

/* One question in flight in the daemon. */
struct fetch {
	struct fetch_ctx *fx;
	struct fetch *next;                    /* shard chain, under its lock */
	struct fetch *owned_next, *owned_prev; /* the owner's list */
	struct inflight_shard *shard;
	uint64_t hash;
	uint8_t key[CACHE_KEY_MAX];
	size_t key_len;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	uint16_t qtype, qclass;
	uint8_t flags;
	struct config *cfg;         /* a reference: upstreams, budget, stale settings */
	const struct upstream *ups; /* the upstreams this question may ask (n_srv of them), in cfg */
	uint64_t deadline_ms, stale_ms, next_try_ms;
	uv_timer_t timer;
	unsigned n_att;
	size_t n_srv;
	unsigned reg[MAX_SERVERS];   /* registry index of each server */
	unsigned asked[MAX_SERVERS]; /* attempts sent to each */
	bool failed[MAX_SERVERS];    /* answered with an error, or unreachable */
	uint8_t *last_servfail;      /* stored SERVFAIL of a failed server, for its EDE */
	unsigned servfail_srv, answered_srv;
	struct fetch_waiter *waiters;
	unsigned n_waiters;
	bool done, stale_fired;
	/* last: only the header above is zeroed at allocation; an attempt is set up on use */
	struct attempt att[MAX_ATTEMPTS];
};

/* A remembered resolution failure (RFC 9520), stored in the cache under CACHE_F_FAIL. */
struct fail_rec {
	uint64_t until_ms;
	uint32_t count;
	uint32_t msg_len; /* a stored SERVFAIL message follows, or 0 */
	uint32_t epoch;   /* fetch_shared.up_epoch when remembered: a server back up voids it */
	uint32_t pad;
};

static inline struct fetch_shared *shared(struct worker *w)
{
	return w->d->fetch;
}

static inline const struct upstream *server_spec(const struct fetch *f, unsigned srv)
{
	return &f->ups[srv];
}

static inline const struct sockaddr *server_addr(const struct fetch *f, unsigned srv)
{
	return (const struct sockaddr *)&f->ups[srv].addr;
}

/* "192.0.2.1:53" or "tls://192.0.2.1:853#dns.example", for log lines; buf of UPSTREAM_FORMAT_MAX */
static inline char *server_text(const struct fetch *f, unsigned srv, char *buf, size_t len)
{
	return upstream_spec_format(&f->ups[srv], false, buf, len);
}

static inline uint64_t now_us(void)
{
	return uv_hrtime() / 1000u;
}

/* fetch.c */
void fetch_finish(struct fetch *f, int status, uint8_t *store, bool failed);

/* fetch_attempt.c */
unsigned fetch_reg_index(struct fetch_shared *s, const struct upstream *up);
int fetch_probe_due(struct fetch *f);
int fetch_pick(struct fetch *f);
int fetch_start_attempt(struct fetch *f, unsigned srv, bool tcp);
void fetch_attempt_closed(struct fetch *f, struct attempt *a);
void fetch_schedule(struct fetch *f);
void fetch_on_timer(uv_timer_t *t);

/* fetch_deliver.c */
bool fetch_stale_lookup(struct worker *w, const struct config *cfg, const uint8_t *key, size_t key_len, uint8_t *buf);
void fetch_deliver(struct fetch *f, struct fetch_waiter *wt, int status, const struct msg_meta *m, bool failed,
                   bool stale_now, const struct sockaddr_storage *up);
void fetch_hand_stale(struct fetch *f);
void fetch_remember_failure(struct fetch *f, const uint8_t *servfail);
bool fetch_remembered_failure(struct worker *w, const uint8_t *key, size_t key_len, struct fetch_result *res);

#endif
