/* upstream.c - asking upstream resolvers: random ID and port, timeouts, failover, TC -> TCP */
#include "dns64d/upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/log.h"
#include "dns64d/worker.h"

#define MAX_TTL     86400
#define MAX_WAITERS 1024 /* clients waiting on one question: beyond this, SERVFAIL */

struct uquery {
	struct worker *w;
	struct uquery *next;                    /* in-flight table chain (under the shard lock) */
	struct uquery *owned_next, *owned_prev; /* the owner worker's list */
	struct inflight_table *table;
	uint64_t hash;
	uint8_t key[CACHE_KEY_MAX];
	size_t key_len;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	uint16_t qtype, qclass, id;
	uint8_t flags;
	struct config *cfg; /* reference: upstream list and timeout */
	size_t attempt;     /* index into cfg->upstream */
	struct metrics_upstream *mu;
	uint64_t sent_ms;
	uv_udp_t *udp;
	uv_tcp_t *tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_write_t write_req;
	uint8_t qbuf[2 + DNS_MAX_NAME + 32];
	size_t qlen;
	uint8_t *tbuf; /* TCP receive buffer */
	size_t tlen;
	uint8_t *last_servfail; /* stored SERVFAIL answer of an earlier upstream, or NULL */
	size_t servfail_from;   /* the index of that upstream */
	struct fetch_waiter *waiters;
	unsigned n_waiters;
	unsigned open_handles;
	bool done, counted;
};

static void attempt_udp(struct uquery *u);
static void attempt_tcp(struct uquery *u);
static void finish(struct uquery *u, int status, uint8_t *store);

/* ---- in-flight table (shared by all workers, sharded, each shard under its lock) ------- */

static uint64_t key_hash(struct daemon *d, const uint8_t *key, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, key, len, d->inflight_key);
	return h;
}

static struct inflight_table *shard_of(struct daemon *d, uint64_t h)
{
	return &d->inflight_tables[(h >> 58) % INFLIGHT_SHARDS];
}

static struct uquery *table_find(struct inflight_table *t, uint64_t h, const uint8_t *key, size_t len)
{
	if (!t->nbuckets)
		return NULL;
	for (struct uquery *u = t->buckets[h & (t->nbuckets - 1)]; u; u = u->next)
		if (u->hash == h && u->key_len == len && memcmp(u->key, key, len) == 0)
			return u;
	return NULL;
}

static int table_add(struct inflight_table *t, struct uquery *u)
{
	if (t->count + 1 > t->nbuckets) {
		size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
		struct uquery **b = calloc(n, sizeof(*b));
		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < t->nbuckets; i++)
			for (struct uquery *x = t->buckets[i], *nx; x; x = nx) {
				nx = x->next;
				x->next = b[x->hash & (n - 1)];
				b[x->hash & (n - 1)] = x;
			}
		free(t->buckets);
		t->buckets = b;
		t->nbuckets = n;
	}
	struct uquery **head = &t->buckets[u->hash & (t->nbuckets - 1)];
	u->next = *head;
	*head = u;
	t->count++;
	u->table = t;
	return 0;
}

static void table_remove(struct inflight_table *t, struct uquery *u)
{
	for (struct uquery **p = &t->buckets[u->hash & (t->nbuckets - 1)]; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			t->count--;
			return;
		}
}

int upstream_init(struct daemon *d)
{
	randombytes_buf(d->inflight_key, sizeof(d->inflight_key));
	for (size_t i = 0; i < INFLIGHT_SHARDS; i++)
		if (pthread_mutex_init(&d->inflight_tables[i].lock, NULL) != 0)
			return -ENOMEM;
	return 0;
}

void upstream_fini(struct daemon *d)
{
	for (size_t i = 0; i < INFLIGHT_SHARDS; i++) {
		free(d->inflight_tables[i].buckets);
		pthread_mutex_destroy(&d->inflight_tables[i].lock);
	}
}

void upstream_cancel_all(struct worker *w)
{
	while (w->owned)
		finish(w->owned, -ECANCELED, NULL); /* finish() unlinks it */
}

/* ---- answers for waiters of other workers ------------------------------------------------- */

/* Runs in the answering worker's thread: copy what the waiter needs and wake its worker. */
static void deliver_remote(struct fetch_waiter *wt, int status, const struct msg_meta *m, const struct sockaddr *up)
{
	wt->status = status;
	wt->msg = NULL;
	wt->up_addr.ss_family = 0;
	if (up)
		memcpy(&wt->up_addr, up, addr_len(up));
	if (m) {
		wt->msg = malloc(msg_stored_size(m));
		if (wt->msg)
			memcpy(wt->msg, m, msg_stored_size(m));
		else
			wt->status = -ENOMEM;
	}
	struct worker *to = wt->w;
	pthread_mutex_lock(&to->mbox_lock);
	wt->next = to->mbox;
	to->mbox = wt;
	pthread_mutex_unlock(&to->mbox_lock);
	uv_async_send(&to->wakeup);
}

void upstream_drain(struct worker *w)
{
	pthread_mutex_lock(&w->mbox_lock);
	struct fetch_waiter *wt = w->mbox;
	w->mbox = NULL;
	pthread_mutex_unlock(&w->mbox_lock);
	while (wt) {
		/* the callback may reuse wt (a request's next fetch): read everything first */
		struct fetch_waiter *next = wt->next;
		uint8_t *msg = wt->msg;
		wt->upstream = wt->up_addr.ss_family ? (const struct sockaddr *)&wt->up_addr : NULL;
		wt->cb(wt, wt->status, (const struct msg_meta *)msg);
		free(msg);
		wt = next;
	}
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void maybe_free(struct uquery *u)
{
	if (u->done && u->open_handles == 0) {
		config_unref(u->cfg);
		free(u->tbuf);
		free(u);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct uquery *u = h->data;
	if (h != (uv_handle_t *)&u->timer)
		free(h);
	u->open_handles--;
	maybe_free(u);
}

static void close_sockets(struct uquery *u)
{
	if (u->udp) {
		uv_close((uv_handle_t *)u->udp, on_handle_closed);
		u->udp = NULL;
	}
	if (u->tcp) {
		uv_close((uv_handle_t *)u->tcp, on_handle_closed);
		u->tcp = NULL;
	}
	free(u->tbuf);
	u->tbuf = NULL;
	u->tlen = 0;
}

static const struct sockaddr *cur_upstream(struct uquery *u)
{
	return (const struct sockaddr *)&u->cfg->upstream[u->attempt];
}

/* Move on to the next upstream, or give up. */
static void next_upstream(struct uquery *u)
{
	close_sockets(u);
	u->attempt++;
	if (u->attempt >= u->cfg->n_upstream) {
		uint8_t *sf = u->last_servfail;
		u->last_servfail = NULL;
		u->attempt = u->servfail_from;
		finish(u, sf ? 0 : -ETIMEDOUT, sf);
		return;
	}
	attempt_udp(u);
}

static void on_timeout(uv_timer_t *t)
{
	struct uquery *u = t->data;
	char a[64];
	counter_inc(&u->mu->timeouts);
	log_debug("upstream '%s' timed out", addr_format(cur_upstream(u), a, sizeof(a)));
	next_upstream(u);
}

static void arm_timer(struct uquery *u)
{
	uv_timer_start(&u->timer, on_timeout, u->cfg->timeout_ms, 0);
}

/* ---- answer checks ----------------------------------------------------------------------- */

/* RFC 5452 §9.1: ID, question name (any case), type and class must match; QR must be set. */
static bool answer_matches(struct uquery *u, const uint8_t *msg, size_t len)
{
	if (len < DNS_HDR || rd16(msg) != u->id || !(msg[2] & 0x80) || ((msg[2] >> 3) & 0xf) != 0)
		return false;
	if (rd16(msg + 4) != 1)
		return false;
	int n = wire_name_len(msg + DNS_HDR, len - DNS_HDR);
	if (n < 0 || DNS_HDR + (size_t)n + 4 > len)
		return false;
	if (!wire_name_equal(msg + DNS_HDR, (size_t)n, u->qname, u->qname_len))
		return false;
	return rd16(msg + DNS_HDR + n) == u->qtype && rd16(msg + DNS_HDR + n + 2) == u->qclass;
}

static bool same_peer(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* A matching answer arrived over UDP or TCP. A malformed answer, or an error rcode from one
 * upstream, moves on to the next; a SERVFAIL is kept so that, if it was the last word, the
 * client still sees it (with its Extended DNS Error, e.g. a DNSSEC failure). */
static void got_answer(struct uquery *u, const uint8_t *msg, size_t len, bool tcp)
{
	uint64_t now = now_ms();
	char a[64];
	metrics_upstream_latency(u->mu, (now - u->sent_ms) * 1000);
	if (msg[2] & (F_TC >> 8)) {
		if (!tcp) {
			close_sockets(u);
			attempt_tcp(u);
			return;
		}
		/* truncated even over TCP: nothing usable from this upstream */
		counter_inc(&u->mu->errors);
		next_upstream(u);
		return;
	}
	size_t cap = sizeof(struct msg_meta) + len + 2 * (len / 11 + 1);
	uint8_t *store = malloc(cap);
	if (!store || wire_store(msg, len, MAX_TTL, store, cap) < 0) {
		free(store);
		log_debug("upstream '%s' sent a malformed answer", addr_format(cur_upstream(u), a, sizeof(a)));
		counter_inc(&u->mu->errors);
		next_upstream(u);
		return;
	}
	unsigned rcode = ((const struct msg_meta *)store)->rcode;
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN) {
		log_debug("upstream '%s' answered rcode %u", addr_format(cur_upstream(u), a, sizeof(a)), rcode);
		counter_inc(&u->mu->errors);
		if (rcode == DNS_R_SERVFAIL) {
			free(u->last_servfail);
			u->last_servfail = store;
			u->servfail_from = u->attempt;
		} else
			free(store);
		next_upstream(u);
		return;
	}
	finish(u, 0, store);
}

/* ---- UDP --------------------------------------------------------------------------------- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static _Thread_local uint8_t rbuf[DNS_MAX_MSG];
	buf->base = (char *)rbuf;
	buf->len = sizeof(rbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
	struct uquery *u = h->data;
	if (u->done || h != u->udp)
		return;
	if (nread < 0) {
		/* ICMP port unreachable and friends on the connected socket */
		counter_inc(&u->mu->errors);
		uv_timer_stop(&u->timer);
		next_upstream(u);
		return;
	}
	if (nread == 0 || (flags & UV_UDP_PARTIAL))
		return;
	if (addr && !same_peer(addr, cur_upstream(u)))
		return;
	if (!answer_matches(u, (const uint8_t *)buf->base, (size_t)nread))
		return; /* spoofed or stale: ignore and keep waiting */
	got_answer(u, (const uint8_t *)buf->base, (size_t)nread, false);
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	free(req);
}

static int udp_open(struct uquery *u)
{
	const struct sockaddr *up = cur_upstream(u);
	uv_udp_t *h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	int rc = uv_udp_init(&u->w->loop, h);
	if (rc) {
		free(h);
		return rc;
	}
	h->data = u;
	u->udp = h;
	u->open_handles++;
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	any.ss_family = up->sa_family;
	/* port 0: the kernel picks a random ephemeral port for every attempt */
	if ((rc = uv_udp_bind(h, (const struct sockaddr *)&any, 0)) || (rc = uv_udp_connect(h, up)) ||
	    (rc = uv_udp_recv_start(h, udp_alloc, udp_recv)))
		return rc;
	return 0;
}

static void attempt_udp(struct uquery *u)
{
	u->mu = metrics_upstream(&u->w->m, cur_upstream(u));
	counter_inc(&u->mu->queries);
	u->id = (uint16_t)randombytes_uniform(65536);
	u->qlen = wire_build_query(u->id, u->qname, u->qname_len, u->qtype, u->qclass, u->flags & CACHE_F_RD,
	                           u->flags & CACHE_F_CD, u->flags & CACHE_F_DO, u->qbuf + 2);
	u->sent_ms = now_ms();
	arm_timer(u);
	int rc = udp_open(u);
	if (rc == 0) {
		uv_buf_t b = uv_buf_init((char *)u->qbuf + 2, (unsigned)u->qlen);
		rc = uv_udp_try_send(u->udp, &b, 1, NULL);
		if (rc == UV_EAGAIN) {
			uv_udp_send_t *req = malloc(sizeof(*req) + u->qlen);
			if (!req)
				rc = -ENOMEM;
			else {
				memcpy(req + 1, u->qbuf + 2, u->qlen);
				b.base = (char *)(req + 1);
				rc = uv_udp_send(req, u->udp, &b, 1, NULL, udp_sent);
				if (rc)
					free(req);
			}
		} else if (rc > 0)
			rc = 0;
	}
	if (rc < 0) {
		char a[64];
		log_debug("upstream '%s' send failed: %s", addr_format(cur_upstream(u), a, sizeof(a)), uv_strerror(rc));
		counter_inc(&u->mu->errors);
		uv_timer_stop(&u->timer);
		next_upstream(u);
	}
}

/* ---- TCP --------------------------------------------------------------------------------- */

static void tcp_fail(struct uquery *u)
{
	counter_inc(&u->mu->errors);
	uv_timer_stop(&u->timer);
	next_upstream(u);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct uquery *u = h->data;
	if (!u->tbuf)
		u->tbuf = malloc(2 + DNS_MAX_MSG);
	buf->base = u->tbuf ? (char *)u->tbuf + u->tlen : NULL;
	buf->len = u->tbuf ? 2 + DNS_MAX_MSG - u->tlen : 0;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct uquery *u = s->data;
	if (u->done || (uv_tcp_t *)s != u->tcp)
		return;
	if (nread < 0) {
		tcp_fail(u);
		return;
	}
	u->tlen += (size_t)nread;
	while (u->tlen >= 2) {
		size_t mlen = rd16(u->tbuf);
		if (u->tlen < 2 + mlen)
			return;
		if (answer_matches(u, u->tbuf + 2, mlen)) {
			got_answer(u, u->tbuf + 2, mlen, true);
			return;
		}
		/* not ours: drop it and look at the next message on the stream */
		memmove(u->tbuf, u->tbuf + 2 + mlen, u->tlen - 2 - mlen);
		u->tlen -= 2 + mlen;
	}
}

static void tcp_written(uv_write_t *req, int status)
{
	struct uquery *u = req->data;
	if (status < 0 && !u->done && u->tcp)
		tcp_fail(u);
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct uquery *u = req->data;
	if (status == UV_ECANCELED || u->done || (uv_tcp_t *)req->handle != u->tcp)
		return;
	if (status < 0) {
		tcp_fail(u);
		return;
	}
	wr16(u->qbuf, (uint16_t)u->qlen);
	uv_buf_t b = uv_buf_init((char *)u->qbuf, (unsigned)(u->qlen + 2));
	u->write_req.data = u;
	int rc = uv_write(&u->write_req, (uv_stream_t *)u->tcp, &b, 1, tcp_written);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)u->tcp, tcp_alloc, tcp_read);
	if (rc < 0)
		tcp_fail(u);
}

static void attempt_tcp(struct uquery *u)
{
	uv_tcp_t *h = malloc(sizeof(*h));
	if (!h || uv_tcp_init(&u->w->loop, h)) {
		free(h);
		tcp_fail(u);
		return;
	}
	h->data = u;
	u->tcp = h;
	u->open_handles++;
	u->connect_req.data = u;
	u->sent_ms = now_ms();
	arm_timer(u);
	if (uv_tcp_connect(&u->connect_req, h, cur_upstream(u), tcp_connected) < 0)
		tcp_fail(u);
}

/* ---- start and finish -------------------------------------------------------------------- */

/* Done: store a good answer in the cache and hand it (or the failure) to every waiter.
 * Takes ownership of store (a stored message from wire_store, or NULL). */
static void finish(struct uquery *u, int status, uint8_t *store)
{
	struct worker *w = u->w;
	u->done = true;
	uv_timer_stop(&u->timer);

	const struct msg_meta *m = status == 0 ? (const struct msg_meta *)store : NULL;
	/* into the cache first, so no new request starts a second query in between */
	if (m && m->ttl && w->d->cache)
		cache_insert(w->d->cache, u->key, u->key_len, store, msg_stored_size(m), uv_now(&w->loop), m->ttl);
	pthread_mutex_lock(&u->table->lock);
	table_remove(u->table, u);
	struct fetch_waiter *wt = u->waiters;
	u->waiters = NULL;
	pthread_mutex_unlock(&u->table->lock);
	if (u->owned_prev)
		u->owned_prev->owned_next = u->owned_next;
	else
		w->owned = u->owned_next;
	if (u->owned_next)
		u->owned_next->owned_prev = u->owned_prev;
	if (u->counted)
		atomic_fetch_sub(&w->d->inflight, 1);

	const struct sockaddr *up = m ? cur_upstream(u) : NULL;
	while (wt) {
		struct fetch_waiter *next = wt->next;
		if (wt->w == w) {
			wt->upstream = up;
			wt->cb(wt, status, m);
		} else
			deliver_remote(wt, status, m, up);
		wt = next;
	}
	free(store);
	free(u->last_servfail);
	u->last_servfail = NULL;
	close_sockets(u);
	uv_close((uv_handle_t *)&u->timer, on_handle_closed);
}

int upstream_prefetch(struct worker *w, struct wcfg *c, const uint8_t *key, size_t key_len, const uint8_t *qname,
                      size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags)
{
	return upstream_fetch(w, c, key, key_len, qname, qname_len, qtype, qclass, flags, NULL);
}

/* Join wt to u (under u's shard lock). */
static int join(struct worker *w, struct uquery *u, struct fetch_waiter *wt)
{
	if (!wt)
		return 0; /* a prefetch of something already asked */
	if (u->n_waiters >= MAX_WAITERS) {
		counter_inc(&w->m.overload);
		return -EBUSY;
	}
	wt->w = w;
	wt->next = u->waiters;
	u->waiters = wt;
	u->n_waiters++;
	return 0;
}

int upstream_fetch(struct worker *w, struct wcfg *c, const uint8_t *key, size_t key_len, const uint8_t *qname,
                   size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags, struct fetch_waiter *wt)
{
	struct daemon *d = w->d;
	uint64_t h = key_hash(d, key, key_len);
	struct inflight_table *t = shard_of(d, h);
	pthread_mutex_lock(&t->lock);
	struct uquery *u = table_find(t, h, key, key_len);
	int rc = u ? join(w, u, wt) : 0;
	pthread_mutex_unlock(&t->lock);
	if (u)
		return rc;

	struct config *cfg = c->cfg;
	if (cfg->n_upstream == 0)
		return -ENOENT;
	if (w->cancelling)
		return -ECANCELED;
	if (atomic_fetch_add(&d->inflight, 1) >= cfg->max_inflight) {
		atomic_fetch_sub(&d->inflight, 1);
		if (wt)
			counter_inc(&w->m.overload); /* a client gets SERVFAIL; a prefetch is just skipped */
		return -EBUSY;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		atomic_fetch_sub(&d->inflight, 1);
		return -ENOMEM;
	}
	u->counted = true;
	u->w = w;
	u->hash = h;
	memcpy(u->key, key, key_len);
	u->key_len = key_len;
	memcpy(u->qname, qname, qname_len);
	u->qname_len = qname_len;
	u->qtype = qtype;
	u->qclass = qclass;
	u->flags = flags;
	if (wt) {
		wt->w = w;
		wt->next = NULL;
		u->waiters = wt;
		u->n_waiters = 1;
	}

	pthread_mutex_lock(&t->lock);
	struct uquery *other = table_find(t, h, key, key_len);
	if (other) {
		/* another worker started the same question meanwhile: join that one */
		rc = join(w, other, wt);
		pthread_mutex_unlock(&t->lock);
		atomic_fetch_sub(&d->inflight, 1);
		free(u);
		return rc;
	}
	rc = table_add(t, u);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0) {
		atomic_fetch_sub(&d->inflight, 1);
		free(u);
		return rc;
	}
	u->cfg = config_ref(cfg);
	uv_timer_init(&w->loop, &u->timer);
	u->timer.data = u;
	u->open_handles = 1;
	u->owned_next = w->owned;
	if (w->owned)
		w->owned->owned_prev = u;
	w->owned = u;
	attempt_udp(u);
	return 0;
}
