/* fetch.c - getting the answer to one question: cache, coalescing, upstream attempts, stale fallback */
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

#define MAX_TTL         86400
#define MAX_WAITERS     1024  /* clients waiting on one question: beyond this, -EBUSY */
#define MAX_ATTEMPTS    8     /* exchanges per question, all transports */
#define MAX_OPEN        3     /* exchanges of one question in progress at once */
#define MAX_SERVERS     32    /* upstreams one question considers */
/* A server with this many attempts outstanding is queueing, not losing packets: no
 * retransmission to it then (hedging to another server still happens) */
#define RETX_MAX_OUTSTANDING 16
#define REGISTRY_MAX    256   /* distinct upstreams the daemon keeps health for */
#define FAIL_BASE_MS    1000  /* RFC 9520: first failure remembered this long ... */
#define FAIL_MAX_MS     30000 /* ... doubling per repeated failure up to this */
#define FAIL_RECORD_TTL 120   /* s: how long a failure record lives to count repeats */
#define UDP_SOCKETS     64
#define UDP_MAX_USES    32
#define TCP_IDLE_MS     10000
#define SHARDS          64
#define BUF_SIZE        (DNS_MAX_MSG + 16384)

/* ---- daemon-wide state ------------------------------------------------------------------- */

struct inflight_shard {
	pthread_mutex_t lock;
	struct fetch **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

struct registry_entry {
	struct sockaddr_storage addr;
	struct server_health h;
	unsigned outstanding; /* attempts sent to it and not yet answered, failed or cancelled */
};

struct fetch_shared {
	struct inflight_shard shards[SHARDS];
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	atomic_uint inflight; /* questions in flight, all workers (max-inflight) */
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
	struct fetch *owned; /* questions this worker runs */
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
	uint8_t q[DNS_MAX_NAME + 32];
};

/* One question in flight in the daemon. */
struct fetch {
	struct fetch_ctx *fx;
	struct fetch *next;                     /* shard chain, under its lock */
	struct fetch *owned_next, *owned_prev; /* the owner's list */
	struct inflight_shard *shard;
	uint64_t hash;
	uint8_t key[CACHE_KEY_MAX];
	size_t key_len;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	uint16_t qtype, qclass;
	uint8_t flags;
	struct config *cfg; /* a reference: upstreams, budget, stale settings */
	uint64_t deadline_ms, stale_ms, next_try_ms;
	uv_timer_t timer;
	struct attempt att[MAX_ATTEMPTS];
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
};

/* A remembered resolution failure (RFC 9520), stored in the cache under CACHE_F_FAIL. */
struct fail_rec {
	uint64_t until_ms;
	uint32_t count;
	uint32_t msg_len; /* a stored SERVFAIL message follows, or 0 */
};

static void finish(struct fetch *f, int status, uint8_t *store, bool failed);
static void schedule(struct fetch *f);

static struct fetch_shared *shared(struct worker *w)
{
	return w->d->fetch;
}

static uint64_t now_us(void)
{
	return uv_hrtime() / 1000u;
}

/* ---- in-flight table --------------------------------------------------------------------- */

static uint64_t key_hash(struct fetch_shared *s, const uint8_t *key, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, key, len, s->hash_key);
	return h;
}

static struct fetch *table_find(struct inflight_shard *t, uint64_t h, const uint8_t *key, size_t len)
{
	if (!t->nbuckets)
		return NULL;
	for (struct fetch *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->next)
		if (f->hash == h && f->key_len == len && memcmp(f->key, key, len) == 0)
			return f;
	return NULL;
}

static int table_add(struct inflight_shard *t, struct fetch *f)
{
	if (t->count + 1 > t->nbuckets) {
		size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
		struct fetch **b = calloc(n, sizeof(*b));
		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nbuckets; i++)
			for (struct fetch *x = t->buckets[i], *nx; x; x = nx) {
				nx = x->next;
				x->next = b[x->hash & (n - 1)];
				b[x->hash & (n - 1)] = x;
			}
		free(t->buckets);
		t->buckets = b;
		t->nbuckets = n;
	}
	struct fetch **head = &t->buckets[f->hash & (t->nbuckets - 1)];
	f->next = *head;
	*head = f;
	t->count++;
	f->shard = t;
	return 0;
}

static void table_remove(struct inflight_shard *t, struct fetch *f)
{
	for (struct fetch **p = &t->buckets[f->hash & (t->nbuckets - 1)]; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			t->count--;
			return;
		}
}

int fetch_init(struct daemon *d)
{
	struct fetch_shared *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	randombytes_buf(s->hash_key, sizeof(s->hash_key));
	for (size_t i = 0; i < SHARDS; i++)
		pthread_mutex_init(&s->shards[i].lock, NULL);
	pthread_mutex_init(&s->reg_lock, NULL);
	d->fetch = s;
	return 0;
}

void fetch_fini(struct daemon *d)
{
	struct fetch_shared *s = d->fetch;
	if (!s)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		free(s->shards[i].buckets);
		pthread_mutex_destroy(&s->shards[i].lock);
	}
	pthread_mutex_destroy(&s->reg_lock);
	free(s);
	d->fetch = NULL;
}

/* ---- upstream health registry ------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return a->ss_family == b->ss_family && memcmp(a, b, addr_len((const struct sockaddr *)a)) == 0;
}

/* Registry index of addr, added if new (under reg_lock). A full registry shares its last slot. */
static unsigned reg_index(struct fetch_shared *s, const struct sockaddr_storage *addr)
{
	for (size_t i = 0; i < s->n_reg; i++)
		if (same_addr(&s->reg[i].addr, addr))
			return (unsigned)i;
	if (s->n_reg == REGISTRY_MAX)
		return REGISTRY_MAX - 1;
	struct registry_entry *e = &s->reg[s->n_reg];
	memset(e, 0, sizeof(*e));
	memcpy(&e->addr, addr, addr_len((const struct sockaddr *)addr));
	select_init(&e->h);
	return (unsigned)s->n_reg++;
}

unsigned fetch_inflight(struct daemon *d)
{
	return atomic_load(&d->fetch->inflight);
}

void fetch_register(struct daemon *d, const struct config *cfg)
{
	struct fetch_shared *s = d->fetch;
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < cfg->n_upstream; i++)
		reg_index(s, &cfg->upstream[i]);
	pthread_mutex_unlock(&s->reg_lock);
}

size_t fetch_upstreams(struct daemon *d, struct fetch_upstream_info *out, size_t max)
{
	struct fetch_shared *s = d->fetch;
	pthread_mutex_lock(&s->reg_lock);
	size_t n = s->n_reg < max ? s->n_reg : max;
	for (size_t i = 0; i < n; i++) {
		const struct registry_entry *e = &s->reg[i];
		out[i] = (struct fetch_upstream_info){
		        .down = e->h.down,
		        .srtt_us = e->h.srtt_us,
		        .rttvar_us = e->h.rttvar_us,
		        .timeouts = e->h.timeouts,
		        .failures = e->h.failures,
		        .last_change_ms = e->h.last_change_ms,
		};
		memcpy(&out[i].addr, &e->addr, sizeof(e->addr));
	}
	pthread_mutex_unlock(&s->reg_lock);
	return n;
}

static const struct sockaddr *server_addr(const struct fetch *f, unsigned srv)
{
	return (const struct sockaddr *)&f->cfg->upstream[srv];
}

enum outcome { OUT_ANSWER, OUT_TIMEOUT, OUT_FAILURE };

/* Tell the selection state what happened to an attempt; log a server going down or up. */
static void health(struct fetch *f, unsigned srv, enum outcome what, uint32_t rtt_us)
{
	struct fetch_shared *s = shared(f->fx->w);
	uint64_t now = uv_now(&f->fx->w->loop);
	pthread_mutex_lock(&s->reg_lock);
	struct server_health *h = &s->reg[f->reg[srv]].h;
	bool changed = what == OUT_ANSWER    ? select_on_answer(h, now, rtt_us)
	               : what == OUT_TIMEOUT ? select_on_timeout(h, now)
	                                     : select_on_failure(h, now);
	bool down = h->down;
	pthread_mutex_unlock(&s->reg_lock);
	if (changed) {
		char a[64];
		if (down)
			log_warn("upstream '%s' is down: %s", addr_format(server_addr(f, srv), a, sizeof(a)),
			         what == OUT_TIMEOUT ? "not answering" : "answering with errors");
		else
			log_warn("upstream '%s' is up again", addr_format(server_addr(f, srv), a, sizeof(a)));
	}
}

/* The server for the next attempt, or -1 when every server has failed for this question. */
static int pick(struct fetch *f)
{
	struct fetch_shared *s = shared(f->fx->w);
	struct server_health hs[MAX_SERVERS];
	unsigned asked[MAX_SERVERS];
	bool any = false;
	for (size_t i = 0; i < f->n_srv; i++) {
		asked[i] = f->failed[i] ? 1000 : f->asked[i];
		any |= !f->failed[i];
	}
	if (!any)
		return -1;
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < f->n_srv; i++)
		hs[i] = s->reg[f->reg[i]].h;
	pthread_mutex_unlock(&s->reg_lock);
	int i = select_pick(hs, f->n_srv, (enum select_mode)f->cfg->upstream_selection, uv_now(&f->fx->w->loop), asked);
	if (i < 0 || f->failed[i]) {
		/* selection preferred a failed server (the others are down): take the least asked */
		i = -1;
		for (size_t k = 0; k < f->n_srv; k++)
			if (!f->failed[k] && (i < 0 || f->asked[k] < f->asked[i]))
				i = (int)k;
	}
	return i;
}

/* A down server whose probe is due also gets this question (its answer is used too). */
static int probe_due(struct fetch *f)
{
	struct fetch_shared *s = shared(f->fx->w);
	struct server_health hs[MAX_SERVERS];
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < f->n_srv; i++)
		hs[i] = s->reg[f->reg[i]].h;
	int i = select_probe_due(hs, f->n_srv, uv_now(&f->fx->w->loop), f->asked);
	if (i >= 0)
		s->reg[f->reg[i]].h = hs[i]; /* its next probe is scheduled */
	pthread_mutex_unlock(&s->reg_lock);
	return i;
}

/* ---- attempts ---------------------------------------------------------------------------- */

static void on_xfer(struct xfer *x, int status, const uint8_t *ans, size_t len);

static unsigned open_attempts(const struct fetch *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_att; i++)
		n += f->att[i].open;
	return n;
}

/* Send the question to server srv. Returns 0 or a negative errno (nothing in progress). */
static int start_attempt(struct fetch *f, unsigned srv, bool tcp)
{
	struct fetch_ctx *fx = f->fx;
	struct worker *w = fx->w;
	if (f->n_att >= MAX_ATTEMPTS)
		return -ENOSPC;
	struct attempt *a = &f->att[f->n_att];
	memset(a, 0, sizeof(*a));
	a->f = f;
	a->srv = srv;
	a->tcp = tcp;
	uint16_t id = (uint16_t)randombytes_uniform(65536);
	size_t qlen = wire_build_query(id, f->qname, f->qname_len, f->qtype, f->qclass, f->flags & CACHE_F_RD,
	                               f->flags & CACHE_F_CD, f->flags & CACHE_F_DO, a->q);
	memcpy(&a->x.server, server_addr(f, srv), addr_len(server_addr(f, srv)));
	a->x.query = a->q;
	a->x.query_len = qlen;
	a->x.cb = on_xfer;
	a->x.data = a;

	struct metrics_upstream *mu = metrics_upstream(&w->m, server_addr(f, srv));
	struct fetch_shared *s = shared(w);
	pthread_mutex_lock(&s->reg_lock);
	unsigned rto = select_rto_ms(&s->reg[f->reg[srv]].h, f->asked[srv]);
	bool queueing = s->reg[f->reg[srv]].outstanding >= RETX_MAX_OUTSTANDING;
	pthread_mutex_unlock(&s->reg_lock);
	if (f->asked[srv] && !tcp && queueing)
		return -EAGAIN; /* a retransmission would only add to its queue */
	/* at least two attempts fit in the client's budget, whatever the server's RTO */
	unsigned cap = f->cfg->timeout_ms / 2 > SELECT_RTO_MIN_MS ? f->cfg->timeout_ms / 2 : SELECT_RTO_MIN_MS;
	if (rto > cap)
		rto = cap;
	a->sent_us = now_us();
	a->rto_at_ms = uv_now(&w->loop) + rto;
	int rc = transport_start(tcp ? fx->tcp : fx->udp, &a->x);
	if (rc < 0) {
		char b[64];
		log_debug("upstream '%s' send failed: %s", addr_format(server_addr(f, srv), b, sizeof(b)),
		          uv_strerror(rc));
		if (mu)
			counter_inc(&mu->errors);
		return rc;
	}
	if (mu) {
		counter_inc(&mu->queries);
		if (!tcp && f->n_att > 0) {
			bool same = false;
			for (unsigned i = 0; i < f->n_att; i++)
				same |= f->att[i].srv == srv;
			counter_inc(same ? &mu->retransmits : &mu->hedged);
		}
	}
	f->asked[srv]++;
	f->n_att++;
	a->open = true;
	pthread_mutex_lock(&s->reg_lock);
	s->reg[f->reg[srv]].outstanding++;
	pthread_mutex_unlock(&s->reg_lock);
	return 0;
}

/* An attempt is over (answered, failed or cancelled). */
static void attempt_closed(struct fetch *f, struct attempt *a)
{
	struct fetch_shared *s = shared(f->fx->w);
	a->open = false;
	pthread_mutex_lock(&s->reg_lock);
	if (s->reg[f->reg[a->srv]].outstanding)
		s->reg[f->reg[a->srv]].outstanding--;
	pthread_mutex_unlock(&s->reg_lock);
}

/* Ask the next server (or the same one again) now. Finishes the question when nobody is left
 * to ask and nothing is in progress. */
static void next_attempt(struct fetch *f)
{
	f->next_try_ms = 0;
	while (open_attempts(f) < MAX_OPEN && f->n_att < MAX_ATTEMPTS) {
		int srv = pick(f);
		if (srv < 0)
			break;
		int rc = start_attempt(f, (unsigned)srv, false);
		if (rc == 0) {
			f->next_try_ms = f->att[f->n_att - 1].rto_at_ms;
			return;
		}
		if (rc == -EAGAIN && open_attempts(f)) {
			/* the only candidate is queueing our earlier attempts: look again later */
			f->next_try_ms = uv_now(&f->fx->w->loop) + SELECT_RTO_MAX_MS / 4;
			return;
		}
		f->failed[srv] = true;
	}
	if (open_attempts(f) == 0) {
		uint8_t *sf = f->last_servfail;
		f->last_servfail = NULL;
		finish(f, sf ? 0 : -ETIMEDOUT, sf, true);
	}
}

/* A server failed for this question (error answer, ICMP, broken connection): move on at once. */
static void server_failed(struct fetch *f, unsigned srv)
{
	f->failed[srv] = true;
	next_attempt(f);
	if (!f->done)
		schedule(f);
}

static void on_xfer(struct xfer *x, int status, const uint8_t *ans, size_t len)
{
	struct attempt *a = x->data;
	struct fetch *f = a->f;
	struct worker *w = f->fx->w;
	struct metrics_upstream *mu = metrics_upstream(&w->m, server_addr(f, a->srv));
	char b[64];
	attempt_closed(f, a);
	if (f->done)
		return;
	if (status < 0) {
		log_debug("upstream '%s' exchange failed: %s", addr_format(server_addr(f, a->srv), b, sizeof(b)),
		          uv_strerror(status));
		if (mu)
			counter_inc(&mu->errors);
		health(f, a->srv, OUT_FAILURE, 0);
		server_failed(f, a->srv);
		return;
	}
	uint64_t rtt = now_us() - a->sent_us;
	if (mu)
		metrics_upstream_latency(mu, rtt);
	if (len >= DNS_HDR && (ans[2] & (F_TC >> 8))) {
		health(f, a->srv, OUT_ANSWER, (uint32_t)rtt);
		if (!a->tcp && start_attempt(f, a->srv, true) == 0) {
			f->next_try_ms = 0; /* the server is there: wait for its TCP answer */
			schedule(f);
			return;
		}
		/* truncated even over TCP: nothing usable from this server */
		if (mu)
			counter_inc(&mu->errors);
		server_failed(f, a->srv);
		return;
	}
	size_t cap = sizeof(struct msg_meta) + len + 2 * (len / 11 + 1);
	uint8_t *store = malloc(cap);
	if (!store || wire_store(ans, len, MAX_TTL, store, cap) < 0) {
		free(store);
		log_debug("upstream '%s' sent a malformed answer", addr_format(server_addr(f, a->srv), b, sizeof(b)));
		if (mu)
			counter_inc(&mu->errors);
		health(f, a->srv, OUT_FAILURE, 0);
		server_failed(f, a->srv);
		return;
	}
	unsigned rcode = ((const struct msg_meta *)store)->rcode;
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN) {
		/* an upstream that SERVFAILs or REFUSEs everything is as bad as a silent one */
		log_debug("upstream '%s' answered rcode %u", addr_format(server_addr(f, a->srv), b, sizeof(b)), rcode);
		if (mu)
			counter_inc(&mu->errors);
		health(f, a->srv, OUT_FAILURE, 0);
		if (rcode == DNS_R_SERVFAIL) {
			free(f->last_servfail);
			f->last_servfail = store;
			f->servfail_srv = a->srv;
		} else
			free(store);
		server_failed(f, a->srv);
		return;
	}
	health(f, a->srv, OUT_ANSWER, (uint32_t)rtt);
	f->answered_srv = a->srv;
	finish(f, 0, store, false);
}

/* ---- timer: retransmission, stale timeout, deadline --------------------------------------- */

static void hand_stale(struct fetch *f);

static void on_timer(uv_timer_t *t)
{
	struct fetch *f = t->data;
	struct worker *w = f->fx->w;
	uint64_t now = uv_now(&w->loop);
	/* attempts whose retransmission timeout passed count as timeouts (their answer is still
	 * taken if it comes) */
	for (unsigned i = 0; i < f->n_att; i++) {
		struct attempt *a = &f->att[i];
		if (a->open && !a->timed_out && !a->tcp && now >= a->rto_at_ms) {
			a->timed_out = true;
			struct metrics_upstream *mu = metrics_upstream(&w->m, server_addr(f, a->srv));
			if (mu)
				counter_inc(&mu->timeouts);
			health(f, a->srv, OUT_TIMEOUT, 0);
		}
	}
	if (now >= f->deadline_ms) {
		char name[1024];
		log_debug("no upstream answered '%s' within %u ms", wire_name_to_text(f->qname, f->qname_len, name),
		          f->cfg->timeout_ms);
		uint8_t *sf = f->last_servfail;
		f->last_servfail = NULL;
		finish(f, sf ? 0 : -ETIMEDOUT, sf, true);
		return;
	}
	if (!f->stale_fired && f->stale_ms && now >= f->stale_ms) {
		f->stale_fired = true;
		hand_stale(f);
	}
	if (f->next_try_ms && now >= f->next_try_ms) {
		next_attempt(f);
		if (f->done)
			return;
	}
	schedule(f);
}

static void schedule(struct fetch *f)
{
	uint64_t now = uv_now(&f->fx->w->loop), at = f->deadline_ms;
	if (!f->stale_fired && f->stale_ms && f->n_waiters && f->stale_ms < at)
		at = f->stale_ms;
	if (f->next_try_ms && f->next_try_ms < at)
		at = f->next_try_ms;
	uv_timer_start(&f->timer, on_timer, at > now ? at - now : 0, 0);
}

/* ---- delivering results -------------------------------------------------------------------- */

/* Set every TTL of a stored message to ttl (a stale answer's, RFC 8767 §4). */
static void stale_ttls(uint8_t *buf, uint32_t ttl)
{
	struct msg_meta *m = (struct msg_meta *)buf;
	uint8_t *wire = buf + sizeof(*m) + (size_t)m->n_ttl * 2;
	const uint16_t *offs = msg_ttl_offsets(m);
	for (unsigned i = 0; i < m->n_ttl; i++)
		wr32(wire + offs[i], ttl);
	m->ttl = ttl;
}

/* An expired answer for key in buf, made ready to serve; false if there is none. */
static bool stale_lookup(struct worker *w, const struct config *cfg, const uint8_t *key, size_t key_len, uint8_t *buf)
{
	struct cache *c = w->d->cache;
	size_t len;
	uint64_t stored;
	bool stale = false;
	if (!c || !cfg->max_stale_s)
		return false;
	if (cache_lookup_stale(c, key, key_len, uv_now(&w->loop), buf, BUF_SIZE, &len, &stored, &stale) < 0)
		return false;
	if (stale)
		stale_ttls(buf, cfg->stale_answer_ttl_s);
	return true;
}

/* Call one waiter of this worker: with a stale answer when the upstreams failed (or are slow)
 * and one is cached, else with what the question got. */
static void deliver_one(struct fetch_ctx *fx, struct fetch_waiter *wt, int status, const struct msg_meta *m,
                        bool failed, bool stale_now, const struct sockaddr_storage *up, const uint8_t *key,
                        size_t key_len)
{
	struct worker *w = fx->w;
	struct fetch_result res = {.status = status, .m = m, .source = FETCH_SRC_UPSTREAM};
	if ((failed || stale_now || (status < 0 && status != -ECANCELED)) &&
	    stale_lookup(w, w->wcfg->cfg, key, key_len, fx->stalebuf)) {
		res.status = 0;
		res.m = (const struct msg_meta *)fx->stalebuf;
		res.source = FETCH_SRC_STALE;
		counter_inc(&w->m.stale_served);
	} else if (stale_now) {
		res.status = -ETIMEDOUT; /* the stale answer went away meanwhile */
		res.m = NULL;
	} else if (up && status == 0)
		memcpy(&res.upstream, up, sizeof(*up));
	wt->cb(wt, &res);
}

/* Hand waiters to their workers: this worker's are called now, others get one shared copy per
 * worker through its mailbox. Takes the list. */
static void deliver(struct fetch *f, struct fetch_waiter *wt, int status, const struct msg_meta *m, bool failed,
                    bool stale_now, const struct sockaddr_storage *up)
{
	struct fetch_ctx *fx = f->fx;
	struct fetch_delivery *dls = NULL; /* one per other worker, built here */
	struct fetch_waiter *mine = NULL;
	while (wt) {
		struct fetch_waiter *next = wt->next;
		if (wt->w == fx->w) {
			wt->next = mine;
			mine = wt;
		} else {
			struct fetch_delivery *dl = dls;
			while (dl && dl->waiters->w != wt->w)
				dl = dl->next;
			if (!dl) {
				size_t msz = m ? msg_stored_size(m) : 0;
				dl = calloc(1, sizeof(*dl) + msz + 8);
				if (!dl) {
					/* no memory for the copy: that client gets no answer (its request times out
					 * at the client); nothing better to do here */
					wt = next;
					continue;
				}
				dl->status = status;
				dl->failed = failed;
				dl->stale_now = stale_now;
				if (up)
					memcpy(&dl->up, up, sizeof(*up));
				memcpy(dl->key, f->key, f->key_len);
				dl->key_len = f->key_len;
				if (m) {
					dl->msg = (uint8_t *)(((uintptr_t)(dl + 1) + 7) & ~(uintptr_t)7);
					memcpy(dl->msg, m, msz);
				}
				dl->next = dls;
				dls = dl;
			}
			wt->next = dl->waiters;
			dl->waiters = wt;
		}
		wt = next;
	}
	while (dls) {
		struct fetch_delivery *dl = dls;
		dls = dl->next;
		struct worker *to = dl->waiters->w;
		struct fetch_ctx *tfx = to->fetch;
		pthread_mutex_lock(&tfx->mbox_lock);
		dl->next = tfx->mbox;
		tfx->mbox = dl;
		pthread_mutex_unlock(&tfx->mbox_lock);
		uv_async_send(&to->wakeup);
	}
	while (mine) {
		/* the callback may reuse the waiter (its request's next fetch): read first */
		struct fetch_waiter *next = mine->next;
		deliver_one(fx, mine, status, m, failed, stale_now, up, f->key, f->key_len);
		mine = next;
	}
}

void fetch_drain(struct worker *w)
{
	struct fetch_ctx *fx = w->fetch;
	pthread_mutex_lock(&fx->mbox_lock);
	struct fetch_delivery *dl = fx->mbox;
	fx->mbox = NULL;
	pthread_mutex_unlock(&fx->mbox_lock);
	while (dl) {
		struct fetch_delivery *next = dl->next;
		for (struct fetch_waiter *wt = dl->waiters, *nw; wt; wt = nw) {
			nw = wt->next;
			deliver_one(fx, wt, dl->status, (const struct msg_meta *)dl->msg, dl->failed, dl->stale_now,
			            dl->up.ss_family ? &dl->up : NULL, dl->key, dl->key_len);
		}
		free(dl);
		dl = next;
	}
}

/* The stale timeout passed with no answer yet: if an expired answer is cached, every client
 * waiting now gets it, and the question goes on to refresh the cache. */
static void hand_stale(struct fetch *f)
{
	struct fetch_ctx *fx = f->fx;
	if (!stale_lookup(fx->w, f->cfg, f->key, f->key_len, fx->stalebuf))
		return;
	pthread_mutex_lock(&f->shard->lock);
	struct fetch_waiter *wt = f->waiters;
	f->waiters = NULL;
	f->n_waiters = 0;
	pthread_mutex_unlock(&f->shard->lock);
	deliver(f, wt, 0, NULL, false, true, NULL);
}

/* ---- remembered failures (RFC 9520) --------------------------------------------------------- */

static size_t fail_key(const uint8_t *key, size_t key_len, uint8_t *out)
{
	/* the flags byte follows qname, type and class; the key of a plain question ends there */
	memcpy(out, key, key_len);
	out[key_len - 1] |= CACHE_F_FAIL;
	return key_len;
}

static void remember_failure(struct fetch *f, const uint8_t *servfail)
{
	struct worker *w = f->fx->w;
	struct cache *c = w->d->cache;
	if (!c)
		return;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = fail_key(f->key, f->key_len, key);
	uint64_t now = uv_now(&w->loop), stored;
	size_t len;
	uint32_t count = 1;
	_Alignas(8) uint8_t old[sizeof(struct fail_rec)];
	if (cache_lookup(c, key, klen, now, old, sizeof(old), &len, &stored) == 0 || len > sizeof(old)) {
		if (len >= sizeof(struct fail_rec)) {
			/* -ENOBUFS still fills len; read the count with a second, sized lookup */
			_Alignas(8) uint8_t *tmp = malloc(len);
			if (tmp && cache_lookup(c, key, klen, now, tmp, len, &len, &stored) == 0)
				count = ((struct fail_rec *)(void *)tmp)->count + 1;
			free(tmp);
		}
	}
	uint64_t hold = FAIL_BASE_MS;
	for (uint32_t i = 1; i < count && hold < FAIL_MAX_MS; i++)
		hold *= 2;
	if (hold > FAIL_MAX_MS)
		hold = FAIL_MAX_MS;
	size_t msz = servfail ? msg_stored_size((const struct msg_meta *)servfail) : 0;
	uint8_t *rec = malloc(sizeof(struct fail_rec) + msz);
	if (!rec)
		return;
	*(struct fail_rec *)(void *)rec =
	        (struct fail_rec){.until_ms = now + hold, .count = count, .msg_len = (uint32_t)msz};
	if (msz)
		memcpy(rec + sizeof(struct fail_rec), servfail, msz);
	cache_insert(c, key, klen, rec, sizeof(struct fail_rec) + msz, now, FAIL_RECORD_TTL);
	free(rec);
}

/* A failure remembered for this question: fills res (the SERVFAIL kept, or -ETIMEDOUT). */
static bool remembered_failure(struct worker *w, const uint8_t *key, size_t key_len, struct fetch_result *res)
{
	struct fetch_ctx *fx = w->fetch;
	struct cache *c = w->d->cache;
	uint8_t fkey[CACHE_KEY_MAX];
	size_t klen = fail_key(key, key_len, fkey), len;
	uint64_t now = uv_now(&w->loop), stored;
	if (!c || cache_lookup(c, fkey, klen, now, fx->hitbuf, sizeof(fx->hitbuf), &len, &stored) < 0)
		return false;
	const struct fail_rec *fr = (const struct fail_rec *)(const void *)fx->hitbuf;
	if (len < sizeof(*fr) || now >= fr->until_ms)
		return false;
	res->remembered = true;
	res->source = FETCH_SRC_CACHE;
	if (fr->msg_len) {
		res->status = 0;
		res->m = (const struct msg_meta *)(const void *)(fx->hitbuf + sizeof(*fr));
		res->elapsed_s = 0;
	} else
		res->status = -ETIMEDOUT;
	return true;
}

/* ---- start and finish --------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
	struct fetch *f = h->data;
	config_unref(f->cfg);
	free(f);
}

/* Done: store a good answer, remember a failure, hand the result to every waiter, free.
 * Takes ownership of store (a stored message, or NULL). failed: no upstream gave a usable
 * answer (store may be a SERVFAIL to pass on). */
static void finish(struct fetch *f, int status, uint8_t *store, bool failed)
{
	struct fetch_ctx *fx = f->fx;
	struct worker *w = fx->w;
	struct cache *c = w->d->cache;
	f->done = true;
	uv_timer_stop(&f->timer);
	for (unsigned i = 0; i < f->n_att; i++)
		if (f->att[i].open) {
			xfer_cancel(&f->att[i].x);
			attempt_closed(f, &f->att[i]);
		}
	const struct msg_meta *m = status == 0 ? (const struct msg_meta *)store : NULL;
	/* into the cache first, so no new request starts a second query in between */
	if (m && !failed && m->ttl && c)
		cache_insert(c, f->key, f->key_len, store, msg_stored_size(m), uv_now(&w->loop), m->ttl);
	if (failed && status != -ECANCELED)
		remember_failure(f, m ? store : NULL);

	pthread_mutex_lock(&f->shard->lock);
	table_remove(f->shard, f);
	struct fetch_waiter *wt = f->waiters;
	f->waiters = NULL;
	pthread_mutex_unlock(&f->shard->lock);
	if (f->owned_prev)
		f->owned_prev->owned_next = f->owned_next;
	else
		fx->owned = f->owned_next;
	if (f->owned_next)
		f->owned_next->owned_prev = f->owned_prev;
	atomic_fetch_sub(&shared(w)->inflight, 1);

	struct sockaddr_storage up;
	memset(&up, 0, sizeof(up));
	if (m && !failed)
		memcpy(&up, server_addr(f, f->answered_srv), addr_len(server_addr(f, f->answered_srv)));
	deliver(f, wt, status, m, failed, false, up.ss_family ? &up : NULL);
	free(store);
	free(f->last_servfail);
	f->last_servfail = NULL;
	uv_close((uv_handle_t *)&f->timer, on_timer_closed);
}

/* Join wt to f (under f's shard lock). */
static int join(struct fetch *f, struct worker *w, struct fetch_waiter *wt)
{
	if (!wt)
		return 0; /* a prefetch of something already asked */
	if (f->n_waiters >= MAX_WAITERS) {
		counter_inc(&w->m.overload);
		return -EBUSY;
	}
	wt->w = w;
	wt->next = f->waiters;
	f->waiters = wt;
	f->n_waiters++;
	return 0;
}

/* A new question in flight, owned by this worker; its first attempt is sent. */
static int start(struct worker *w, struct config *cfg, const struct fetch_query *q, const uint8_t *key, size_t klen,
                 uint64_t h, struct fetch_waiter *wt)
{
	struct fetch_shared *s = shared(w);
	struct inflight_shard *t = &s->shards[(h >> 58) % SHARDS];
	if (cfg->n_upstream == 0)
		return -ENOENT;
	if (w->cancelling)
		return -ECANCELED;
	if (atomic_fetch_add(&s->inflight, 1) >= cfg->max_inflight) {
		atomic_fetch_sub(&s->inflight, 1);
		if (wt)
			counter_inc(&w->m.overload); /* a client gets SERVFAIL; a prefetch is just skipped */
		return -EBUSY;
	}
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f) {
		atomic_fetch_sub(&s->inflight, 1);
		return -ENOMEM;
	}
	f->fx = w->fetch;
	f->hash = h;
	memcpy(f->key, key, klen);
	f->key_len = klen;
	memcpy(f->qname, q->qname, q->qname_len);
	f->qname_len = q->qname_len;
	f->qtype = q->qtype;
	f->qclass = q->qclass;
	f->flags = q->flags;
	if (wt) {
		wt->w = w;
		wt->next = NULL;
		f->waiters = wt;
		f->n_waiters = 1;
	}
	pthread_mutex_lock(&t->lock);
	struct fetch *other = table_find(t, h, key, klen);
	int rc = other ? join(other, w, wt) : table_add(t, f);
	pthread_mutex_unlock(&t->lock);
	if (other || rc < 0) {
		/* another worker started the same question meanwhile: joined that one */
		atomic_fetch_sub(&s->inflight, 1);
		free(f);
		return rc;
	}
	f->cfg = config_ref(cfg);
	uint64_t now = uv_now(&w->loop);
	f->deadline_ms = now + cfg->timeout_ms;
	if (cfg->max_stale_s && cfg->stale_client_timeout_ms < cfg->timeout_ms)
		f->stale_ms = now + cfg->stale_client_timeout_ms;
	f->n_srv = cfg->n_upstream < MAX_SERVERS ? cfg->n_upstream : MAX_SERVERS;
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < f->n_srv; i++)
		f->reg[i] = reg_index(s, &cfg->upstream[i]);
	pthread_mutex_unlock(&s->reg_lock);
	uv_timer_init(&w->loop, &f->timer);
	f->timer.data = f;
	struct fetch_ctx *fx = w->fetch;
	f->owned_next = fx->owned;
	if (fx->owned)
		fx->owned->owned_prev = f;
	fx->owned = f;

	int probe = probe_due(f);
	/* the first attempt now; if none could be sent, the failure is handed out from the timer,
	 * since a callback never runs inside fetch_get */
	int srv;
	while ((srv = pick(f)) >= 0) {
		if (start_attempt(f, (unsigned)srv, false) == 0) {
			f->next_try_ms = f->att[f->n_att - 1].rto_at_ms;
			break;
		}
		f->failed[srv] = true;
	}
	if (srv < 0)
		f->next_try_ms = now;
	if (probe >= 0 && f->asked[probe] == 0 && start_attempt(f, (unsigned)probe, false) < 0)
		f->failed[probe] = true;
	schedule(f);
	return 0;
}

int fetch_get(struct worker *w, struct config *cfg, const struct fetch_query *q, struct fetch_waiter *wt,
              struct fetch_result *res)
{
	struct fetch_ctx *fx = w->fetch;
	struct cache *c = w->d->cache;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = cache_key(key, q->qname, q->qname_len, q->qtype, q->qclass, q->flags, NULL, 0);
	memset(res, 0, sizeof(*res));
	if (c) {
		size_t len;
		uint64_t stored, now = uv_now(&w->loop);
		if (cache_lookup(c, key, klen, now, fx->hitbuf, sizeof(fx->hitbuf), &len, &stored) == 0) {
			res->m = (const struct msg_meta *)fx->hitbuf;
			res->elapsed_s = now > stored ? (uint32_t)((now - stored) / 1000) : 0;
			res->source = FETCH_SRC_CACHE;
			return 0;
		}
		if (remembered_failure(w, key, klen, res)) {
			if (stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
				res->status = 0;
				res->m = (const struct msg_meta *)fx->hitbuf;
				res->source = FETCH_SRC_STALE;
				counter_inc(&w->m.stale_served);
			}
			return 0;
		}
	}
	struct fetch_shared *s = shared(w);
	uint64_t h = key_hash(s, key, klen);
	struct inflight_shard *t = &s->shards[(h >> 58) % SHARDS];
	pthread_mutex_lock(&t->lock);
	struct fetch *f = table_find(t, h, key, klen);
	bool stale_time = f && f->stale_fired;
	int rc = f && !stale_time ? join(f, w, wt) : 0;
	pthread_mutex_unlock(&t->lock);
	if (!f)
		rc = start(w, cfg, q, key, klen, h, wt);
	if (stale_time && wt) {
		/* the upstreams are already slow for this question: serve stale now if there is one */
		if (stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
			res->m = (const struct msg_meta *)fx->hitbuf;
			res->source = FETCH_SRC_STALE;
			counter_inc(&w->m.stale_served);
			return 0;
		}
		pthread_mutex_lock(&t->lock);
		f = table_find(t, h, key, klen);
		rc = f ? join(f, w, wt) : -EAGAIN;
		pthread_mutex_unlock(&t->lock);
		if (rc == -EAGAIN)
			rc = start(w, cfg, q, key, klen, h, wt);
	}
	if (rc < 0) {
		res->status = rc;
		if (rc == -EBUSY && stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
			res->status = 0;
			res->m = (const struct msg_meta *)fx->hitbuf;
			res->source = FETCH_SRC_STALE;
			counter_inc(&w->m.stale_served);
		}
		return 0;
	}
	return wt ? FETCH_PENDING : 0;
}

void fetch_prefetch(struct worker *w, struct config *cfg, const struct fetch_query *q)
{
	struct fetch_result res;
	fetch_get(w, cfg, q, NULL, &res);
}

unsigned fetch_shutdown(struct worker *w, bool all)
{
	struct fetch_ctx *fx = w->fetch;
	unsigned waited = 0;
	for (struct fetch *f = fx->owned, *next; f; f = next) {
		next = f->owned_next;
		pthread_mutex_lock(&f->shard->lock);
		unsigned n = f->n_waiters;
		pthread_mutex_unlock(&f->shard->lock);
		if (all || n == 0)
			finish(f, -ECANCELED, NULL, false);
		else
			waited++;
	}
	return waited;
}

/* ---- per-worker context -------------------------------------------------------------------- */

int fetch_ctx_new(struct worker *w, struct fetch_ctx **out)
{
	struct fetch_ctx *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -ENOMEM;
	fx->w = w;
	pthread_mutex_init(&fx->mbox_lock, NULL);
	struct transport_udp_opts uo = {.sockets = UDP_SOCKETS, .max_uses = UDP_MAX_USES};
	int rc = transport_udp_new(&w->loop, &uo, &fx->udp);
	if (rc == 0)
		rc = transport_tcp_new(&w->loop, TCP_IDLE_MS, &fx->tcp);
	if (rc < 0) {
		if (fx->udp)
			transport_close(fx->udp);
		pthread_mutex_destroy(&fx->mbox_lock);
		free(fx);
		return rc;
	}
	*out = fx;
	return 0;
}

void fetch_ctx_set_transports(struct fetch_ctx *fx, struct transport *udp, struct transport *tcp)
{
	if (fx->udp)
		transport_close(fx->udp);
	if (fx->tcp)
		transport_close(fx->tcp);
	fx->udp = udp;
	fx->tcp = tcp;
}

void fetch_ctx_close(struct fetch_ctx *fx)
{
	if (fx->udp)
		transport_close(fx->udp);
	if (fx->tcp)
		transport_close(fx->tcp);
	fx->udp = fx->tcp = NULL;
}

void fetch_ctx_free(struct fetch_ctx *fx)
{
	if (!fx)
		return;
	/* deliveries nobody will read: their requests are gone with the loop */
	for (struct fetch_delivery *dl = fx->mbox, *next; dl; dl = next) {
		next = dl->next;
		free(dl);
	}
	pthread_mutex_destroy(&fx->mbox_lock);
	free(fx);
}
