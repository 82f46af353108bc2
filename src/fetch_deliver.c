/* fetch_deliver.c - handing a question's result to its waiters, in their workers: answers, stale answers, remembered
 * failures */
#include "fetch_int.h"

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
bool fetch_stale_lookup(struct worker *w, const struct config *cfg, const uint8_t *key, size_t key_len, uint8_t *buf)
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
	    fetch_stale_lookup(w, w->wcfg->cfg, key, key_len, fx->stalebuf)) {
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
void fetch_deliver(struct fetch *f, struct fetch_waiter *wt, int status, const struct msg_meta *m, bool failed,
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
void fetch_hand_stale(struct fetch *f)
{
	struct fetch_ctx *fx = f->fx;
	pthread_mutex_lock(&f->shard->lock);
	f->stale_fired = true; /* read by fetch_get of any worker, under the lock */
	pthread_mutex_unlock(&f->shard->lock);
	if (!fetch_stale_lookup(fx->w, f->cfg, f->key, f->key_len, fx->stalebuf))
		return;
	pthread_mutex_lock(&f->shard->lock);
	struct fetch_waiter *wt = f->waiters;
	f->waiters = NULL;
	f->n_waiters = 0;
	pthread_mutex_unlock(&f->shard->lock);
	fetch_deliver(f, wt, 0, NULL, false, true, NULL);
}

/* ---- remembered failures (RFC 9520) --------------------------------------------------------- */

static size_t fail_key(const uint8_t *key, size_t key_len, uint8_t *out)
{
	/* the flags byte follows qname, type and class; the key of a plain question ends there */
	memcpy(out, key, key_len);
	out[key_len - 1] |= CACHE_F_FAIL;
	return key_len;
}

void fetch_remember_failure(struct fetch *f, const uint8_t *servfail)
{
	struct worker *w = f->fx->w;
	struct cache *c = w->d->cache;
	if (!c)
		return;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = fail_key(f->key, f->key_len, key);
	uint64_t now = uv_now(&w->loop), stored;
	size_t len = 0;
	uint32_t count = 1;
	/* the stale buffer is free here: finish() delivers only after this */
	uint8_t *old = f->fx->stalebuf;
	if (cache_lookup(c, key, klen, now, old, sizeof(f->fx->stalebuf), &len, &stored) == 0 &&
	    len >= sizeof(struct fail_rec) &&
	    ((const struct fail_rec *)(const void *)old)->epoch == atomic_load(&shared(w)->up_epoch))
		count = ((const struct fail_rec *)(const void *)old)->count + 1;
	uint64_t hold = FAIL_BASE_MS;
	for (uint32_t i = 1; i < count && hold < FAIL_MAX_MS; i++)
		hold *= 2;
	if (hold > FAIL_MAX_MS)
		hold = FAIL_MAX_MS;
	size_t msz = servfail ? msg_stored_size((const struct msg_meta *)servfail) : 0;
	uint8_t *rec = malloc(sizeof(struct fail_rec) + msz);
	if (!rec)
		return;
	*(struct fail_rec *)(void *)rec = (struct fail_rec){.until_ms = now + hold,
	                                                    .count = count,
	                                                    .msg_len = (uint32_t)msz,
	                                                    .epoch = atomic_load(&shared(w)->up_epoch)};
	if (msz)
		memcpy(rec + sizeof(struct fail_rec), servfail, msz);
	cache_insert(c, key, klen, rec, sizeof(struct fail_rec) + msz, now, FAIL_RECORD_TTL);
	free(rec);
}

/* A failure remembered for this question: fills res (the SERVFAIL kept, or -ETIMEDOUT). */
bool fetch_remembered_failure(struct worker *w, const uint8_t *key, size_t key_len, struct fetch_result *res)
{
	struct fetch_ctx *fx = w->fetch;
	struct cache *c = w->d->cache;
	uint8_t fkey[CACHE_KEY_MAX];
	size_t klen = fail_key(key, key_len, fkey), len;
	uint64_t now = uv_now(&w->loop), stored;
	if (!c || cache_lookup(c, fkey, klen, now, fx->hitbuf, sizeof(fx->hitbuf), &len, &stored) < 0)
		return false;
	const struct fail_rec *fr = (const struct fail_rec *)(const void *)fx->hitbuf;
	if (len < sizeof(*fr) || now >= fr->until_ms || fr->epoch != atomic_load(&shared(w)->up_epoch))
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
