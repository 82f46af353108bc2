/* fetch_attempt.c - one question's exchanges with the upstreams: server choice, attempts, retransmission, deadline */
#include "fetch_int.h"

#include "dns64d/dnstap.h"

/* ---- upstream health registry ------------------------------------------------------------- */

/* Registry index of up, added if new (under reg_lock). A plain and a TLS upstream on one
 * address are two servers. A full registry shares its last slot. */
unsigned fetch_reg_index(struct fetch_shared *s, const struct upstream *up)
{
	for (size_t i = 0; i < s->n_reg; i++)
		if (upstream_spec_same(&s->reg[i].up, up))
			return (unsigned)i;
	if (s->n_reg == REGISTRY_MAX)
		return REGISTRY_MAX - 1;
	struct registry_entry *e = &s->reg[s->n_reg];
	memset(e, 0, sizeof(*e));
	e->up = *up;
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
		fetch_reg_index(s, &cfg->upstream[i]);
	for (size_t z = 0; z < cfg->n_forward; z++)
		for (size_t i = 0; i < cfg->forward[z].n_upstream; i++)
			fetch_reg_index(s, &cfg->forward[z].upstream[i]);
	pthread_mutex_unlock(&s->reg_lock);
}

size_t fetch_upstreams(struct daemon *d, struct upstream_info *out, size_t max)
{
	struct fetch_shared *s = d->fetch;
	pthread_mutex_lock(&s->reg_lock);
	size_t n = s->n_reg < max ? s->n_reg : max;
	for (size_t i = 0; i < n; i++) {
		const struct registry_entry *e = &s->reg[i];
		out[i] = (struct upstream_info){
		        .down = e->h.down,
		        .srtt_us = e->h.srtt_us,
		        .rttvar_us = e->h.rttvar_us,
		        .timeouts = e->h.timeouts,
		        .failures = e->h.failures,
		        .last_change_ms = e->h.last_change_ms,
		};
		out[i].up = e->up;
	}
	pthread_mutex_unlock(&s->reg_lock);
	return n;
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
		char a[UPSTREAM_FORMAT_MAX];
		if (down)
			log_warn("upstream '%s' is down: %s", server_text(f, srv, a, sizeof(a)),
			         what == OUT_TIMEOUT ? "not answering" : "answering with errors");
		else {
			/* what failed while it was down may well work now: forget those failures */
			atomic_fetch_add(&s->up_epoch, 1);
			log_warn("upstream '%s' is up again", server_text(f, srv, a, sizeof(a)));
		}
	}
}

/* The server for the next attempt, or -1 when every server has failed for this question. */
int fetch_pick(struct fetch *f)
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
int fetch_probe_due(struct fetch *f)
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

/* Attempts in progress that have not passed their retransmission timeout: a timed-out one
 * stays open (its answer is still taken) but does not hold back the next attempt. */
static unsigned live_attempts(const struct fetch *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_att; i++)
		n += f->att[i].open && !f->att[i].timed_out;
	return n;
}

static unsigned open_attempts(const struct fetch *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_att; i++)
		n += f->att[i].open;
	return n;
}

/* The worker's TLS transport, made on first use with the config's tls-ca; NULL (logged by
 * the transport) when the trust store cannot be loaded, retried after TLS_RETRY_MS. */
static struct transport *tls_transport(struct fetch_ctx *fx, const struct config *cfg)
{
	uint64_t now = uv_now(&fx->w->loop);
	if (fx->tls || now < fx->tls_retry_ms)
		return fx->tls;
	struct transport_tls_opts o = {.idle_ms = TLS_IDLE_MS, .ca_file = cfg->tls_ca};
	if (transport_tls_new(&fx->w->loop, &o, &fx->tls) < 0) {
		fx->tls = NULL;
		fx->tls_retry_ms = now + TLS_RETRY_MS;
	}
	return fx->tls;
}

/* The TLS transport's connections and full handshakes, into this worker's metrics. */
static void tls_metrics(struct fetch_ctx *fx)
{
	if (!fx->tls)
		return;
	const struct transport_stats *st = &fx->tls->stats;
	counter_add(&fx->w->m.upstream_tls_connections, st->sockets - fx->tls_conns_seen);
	counter_add(&fx->w->m.upstream_tls_handshakes, st->handshakes - fx->tls_hs_seen);
	fx->tls_conns_seen = st->sockets;
	fx->tls_hs_seen = st->handshakes;
}

/* Whether an attempt to srv is in progress (a TLS server gets one exchange per question: a
 * retransmission on a reliable stream only adds to its queue). */
static bool asking(const struct fetch *f, unsigned srv)
{
	for (unsigned i = 0; i < f->n_att; i++)
		if (f->att[i].open && f->att[i].srv == srv)
			return true;
	return false;
}

/* Send the question to server srv. Returns 0 or a negative errno (nothing in progress). */
int fetch_start_attempt(struct fetch *f, unsigned srv, bool tcp)
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
	const struct upstream *up = server_spec(f, srv);
	a->tls = up->proto == UPSTREAM_TLS;
	if (a->tls && asking(f, srv))
		return -EAGAIN;
	memcpy(&a->x.server, &up->addr, addr_len(server_addr(f, srv)));
	a->x.auth_name = up->proto == UPSTREAM_TLS ? up->auth_name : NULL;
	a->x.pin_sha256 = up->proto == UPSTREAM_TLS && up->has_pin ? up->pin_sha256 : NULL;
	a->x.query = a->q;
	a->x.query_len = qlen;
	a->x.cb = on_xfer;
	a->x.data = a;

	struct metrics_upstream *mu = metrics_upstream(&w->m, server_spec(f, srv));
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
	/* a TLS upstream only ever over TLS: no UDP, no TCP fallback, never plain text */
	struct transport *t = a->tls ? tls_transport(fx, f->cfg) : tcp ? fx->tcp : fx->udp;
	int rc = t ? transport_start(t, &a->x) : -EPROTONOSUPPORT;
	if (a->tls)
		tls_metrics(fx);
	if (rc < 0) {
		char b[UPSTREAM_FORMAT_MAX];
		log_debug("upstream '%s' send failed: %s", server_text(f, srv, b, sizeof(b)), uv_strerror(rc));
		if (mu)
			counter_inc(&mu->errors);
		return rc;
	}
	if (w->d->dnstap)
		dnstap_forwarder_query(w, f->cfg, server_addr(f, srv), a->x.t->ops->name, a->q, qlen);
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
void fetch_attempt_closed(struct fetch *f, struct attempt *a)
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
	while (live_attempts(f) < MAX_OPEN && f->n_att < MAX_ATTEMPTS) {
		int srv = fetch_pick(f);
		if (srv < 0)
			break;
		int rc = fetch_start_attempt(f, (unsigned)srv, false);
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
		fetch_finish(f, sf ? 0 : -ETIMEDOUT, sf, true);
	}
}

/* A server failed for this question (error answer, ICMP, broken connection): move on at once. */
static void server_failed(struct fetch *f, unsigned srv)
{
	f->failed[srv] = true;
	next_attempt(f);
	if (!f->done)
		fetch_schedule(f);
}

static void on_xfer(struct xfer *x, int status, const uint8_t *ans, size_t len)
{
	struct attempt *a = x->data;
	struct fetch *f = a->f;
	struct worker *w = f->fx->w;
	struct metrics_upstream *mu = metrics_upstream(&w->m, server_spec(f, a->srv));
	char b[UPSTREAM_FORMAT_MAX];
	fetch_attempt_closed(f, a);
	if (status == 0 && w->d->dnstap) /* late answers too: what the upstream sent, whoever still waits */
		dnstap_forwarder_response(w, f->cfg, server_addr(f, a->srv), x->t->ops->name, now_us() - a->sent_us,
		                          ans, len);
	if (a->tls)
		tls_metrics(f->fx);
	if (f->done)
		return;
	/* a stream the server closed under the question (e.g. just as it timed out an idle
	 * connection): once more over a new connection before the server counts as failed */
	if (a->tls && (status == -ECONNRESET || status == -EPIPE) && f->asked[a->srv] == 1 &&
	    fetch_start_attempt(f, a->srv, false) == 0) {
		fetch_schedule(f);
		return;
	}
	if (status < 0) {
		log_debug("upstream '%s' exchange failed: %s", server_text(f, a->srv, b, sizeof(b)),
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
		if (!a->tcp && !a->tls && fetch_start_attempt(f, a->srv, true) == 0) {
			f->next_try_ms = 0; /* the server is there: wait for its TCP answer */
			fetch_schedule(f);
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
		log_debug("upstream '%s' sent a malformed answer", server_text(f, a->srv, b, sizeof(b)));
		if (mu)
			counter_inc(&mu->errors);
		health(f, a->srv, OUT_FAILURE, 0);
		server_failed(f, a->srv);
		return;
	}
	unsigned rcode = ((const struct msg_meta *)store)->rcode;
	if (rcode != DNS_R_NOERROR && rcode != DNS_R_NXDOMAIN) {
		/* an upstream that SERVFAILs or REFUSEs everything is as bad as a silent one */
		log_debug("upstream '%s' answered rcode %u", server_text(f, a->srv, b, sizeof(b)), rcode);
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
	fetch_finish(f, 0, store, false);
}

/* ---- timer: retransmission, stale timeout, deadline --------------------------------------- */

void fetch_hand_stale(struct fetch *f);

void fetch_on_timer(uv_timer_t *t)
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
			struct metrics_upstream *mu = metrics_upstream(&w->m, server_spec(f, a->srv));
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
		fetch_finish(f, sf ? 0 : -ETIMEDOUT, sf, true);
		return;
	}
	if (!f->stale_fired && f->stale_ms && now >= f->stale_ms)
		fetch_hand_stale(f);
	if (f->next_try_ms && now >= f->next_try_ms) {
		next_attempt(f);
		if (f->done)
			return;
	}
	fetch_schedule(f);
}

void fetch_schedule(struct fetch *f)
{
	uint64_t now = uv_now(&f->fx->w->loop), at = f->deadline_ms;
	/* armed even with nobody waiting (a prefetch): who joins later gets the stale answer at once */
	if (!f->stale_fired && f->stale_ms && f->stale_ms < at)
		at = f->stale_ms;
	if (f->next_try_ms && f->next_try_ms < at)
		at = f->next_try_ms;
	uv_timer_start(&f->timer, fetch_on_timer, at > now ? at - now : 0, 0);
}
