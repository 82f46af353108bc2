/* fetch.c - getting the answer to one question: cache, coalescing, the in-flight table, start and finish */
#include "fetch_int.h"

#include <stddef.h>

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
void fetch_finish(struct fetch *f, int status, uint8_t *store, bool failed)
{
	struct fetch_ctx *fx = f->fx;
	struct worker *w = fx->w;
	struct cache *c = w->d->cache;
	f->done = true;
	uv_timer_stop(&f->timer);
	for (unsigned i = 0; i < f->n_att; i++)
		if (f->att[i].open) {
			xfer_cancel(&f->att[i].x);
			fetch_attempt_closed(f, &f->att[i]);
		}
	const struct msg_meta *m = status == 0 ? (const struct msg_meta *)store : NULL;
	/* into the cache first, so no new request starts a second query in between */
	if (m && !failed && m->ttl && c)
		cache_insert(c, f->key, f->key_len, store, msg_stored_size(m), uv_now(&w->loop), m->ttl);
	if (failed && status != -ECANCELED)
		fetch_remember_failure(f, m ? store : NULL);

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
	fetch_deliver(f, wt, status, m, failed, false, up.ss_family ? &up : NULL);
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

/* The upstreams for a question about qname: its forward zone's (the longest match), else the
 * global list. The cache and in-flight keys hold the name, so answers from different lists
 * never mix. */
static const struct upstream *upstreams_for(const struct config *cfg, const uint8_t *qname, size_t qname_len, size_t *n)
{
	const struct forward_zone *z = config_forward_match(cfg, qname, qname_len);
	*n = z ? z->n_upstream : cfg->n_upstream;
	return z ? z->upstream : cfg->upstream;
}

/* The first attempt of a new question (and a probe, if one is due), and its timer. */
static void send_first(struct fetch *f, uint64_t now)
{
	int probe = fetch_probe_due(f);
	/* the first attempt now; if none could be sent, the failure is handed out from the timer,
	 * since a callback never runs inside fetch_get */
	int srv;
	while ((srv = fetch_pick(f)) >= 0) {
		if (fetch_start_attempt(f, (unsigned)srv, false) == 0) {
			f->next_try_ms = f->att[f->n_att - 1].rto_at_ms;
			break;
		}
		f->failed[srv] = true;
	}
	if (srv < 0)
		f->next_try_ms = now;
	if (probe >= 0 && f->asked[probe] == 0 && fetch_start_attempt(f, (unsigned)probe, false) < 0)
		f->failed[probe] = true;
	fetch_schedule(f);
}

/* A new question in flight, owned by this worker; its first attempt is sent. */
static int start(struct worker *w, struct config *cfg, const struct fetch_query *q, const uint8_t *key, size_t klen,
                 uint64_t h, struct fetch_waiter *wt)
{
	struct fetch_shared *s = shared(w);
	struct inflight_shard *t = &s->shards[(h >> 58) % SHARDS];
	size_t n_ups;
	const struct upstream *ups = upstreams_for(cfg, q->qname, q->qname_len, &n_ups);
	if (n_ups == 0)
		return -ENOENT;
	if (w->cancelling)
		return -ECANCELED;
	if (atomic_fetch_add(&s->inflight, 1) >= cfg->max_inflight) {
		atomic_fetch_sub(&s->inflight, 1);
		if (wt)
			counter_inc(&w->m.overload); /* a client gets SERVFAIL; a prefetch is just skipped */
		return -EBUSY;
	}
	struct fetch *f = malloc(sizeof(*f));
	if (!f) {
		atomic_fetch_sub(&s->inflight, 1);
		return -ENOMEM;
	}
	memset(f, 0, offsetof(struct fetch, att));
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
	f->ups = ups;
	f->n_srv = n_ups < MAX_SERVERS ? n_ups : MAX_SERVERS;
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < f->n_srv; i++)
		f->reg[i] = fetch_reg_index(s, &ups[i]);
	pthread_mutex_unlock(&s->reg_lock);
	uv_timer_init(&w->loop, &f->timer);
	f->timer.data = f;
	struct fetch_ctx *fx = w->fetch;
	f->owned_next = fx->owned;
	if (fx->owned)
		fx->owned->owned_prev = f;
	fx->owned = f;

	send_first(f, now);
	return 0;
}

/* Remembered failures must not hide that an upstream is back: while every upstream of the
 * question is down, one query a second goes out despite them (real traffic is then the probe). */
static bool let_through(struct worker *w, const struct config *cfg, const struct fetch_query *q)
{
	struct fetch_shared *s = shared(w);
	uint64_t now = uv_now(&w->loop);
	size_t n;
	const struct upstream *ups = upstreams_for(cfg, q->qname, q->qname_len, &n);
	bool all_down = n > 0;
	pthread_mutex_lock(&s->reg_lock);
	for (size_t i = 0; i < n && all_down; i++)
		all_down = s->reg[fetch_reg_index(s, &ups[i])].h.down;
	bool go = all_down && now >= s->let_through_ms + LET_THROUGH_MS;
	if (go)
		s->let_through_ms = now;
	pthread_mutex_unlock(&s->reg_lock);
	return go;
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
		if (fetch_remembered_failure(w, key, klen, res) && !let_through(w, cfg, q)) {
			if (fetch_stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
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
	if (q->stale_ok && c && fetch_stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
		res->m = (const struct msg_meta *)fx->hitbuf;
		res->source = FETCH_SRC_STALE;
		counter_inc(&w->m.stale_served);
		pthread_mutex_lock(&t->lock);
		bool flying = table_find(t, h, key, klen) != NULL;
		pthread_mutex_unlock(&t->lock);
		if (!flying)
			start(w, cfg, q, key, klen, h, NULL); /* the refresh, nobody waiting */
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	struct fetch *f = table_find(t, h, key, klen);
	bool stale_time = f && f->stale_fired;
	int rc = f && !stale_time ? join(f, w, wt) : 0;
	pthread_mutex_unlock(&t->lock);
	if (!f)
		rc = start(w, cfg, q, key, klen, h, wt);
	if (stale_time && wt) {
		/* the upstreams are already slow for this question: serve stale now if there is one */
		if (fetch_stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
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
		if (rc == -EBUSY && fetch_stale_lookup(w, cfg, key, klen, fx->hitbuf)) {
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
			fetch_finish(f, -ECANCELED, NULL, false);
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
	if (fx->tls)
		transport_close(fx->tls);
	fx->udp = fx->tcp = fx->tls = NULL;
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
