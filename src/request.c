/* request.c - one client query's life: a loop over small steps, the only place a request finishes */
#include "dns64d/request.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dns64d/acl.h"
#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/client.h"
#include "dns64d/cookie.h"
#include "dns64d/dns64.h"
#include "dns64d/dnstap.h"
#include "dns64d/fetch.h"
#include "dns64d/local.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/qlog.h"
#include "dns64d/ra.h"
#include "dns64d/response.h"
#include "dns64d/revzone.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#define MAX_TTL               86400
#define POOL_MAX              1024 /* request structs kept for reuse per worker */
/* requests a worker lets wait: this many per max-inflight, and at least POOL_MAX */
#define WAITING_PER_INFLIGHT  4
/* a synthesized answer made because the AAAA lookup failed is kept only this long, so the
 * real AAAA is asked again soon */
#define FAILED_AAAA_SYNTH_TTL 5
#define EDE_STALE             3
#define BUF_SIZE              (DNS_MAX_MSG + 16384)
#define AAAA_KEEP             512 /* bytes of a stored AAAA answer a request keeps */

/* What a step tells the driver. */
enum step {
	STEP_NEXT,    /* go on with r->next now */
	STEP_WAIT,    /* a fetch is out; its completion re-enters the driver at r->next */
	STEP_REPLIED, /* the reply went out: finish */
	STEP_DROP,    /* no reply: finish */
};

struct request;
typedef enum step (*step_fn)(struct request *r);

/* The request module's per-worker state. The buffers are scratch space of one step: what a
 * step writes there is used and dead before the step returns (no step keeps a pointer into
 * them across a wait). */
struct req_ctx {
	struct request *free_reqs;
	unsigned n_requests;                      /* requests alive */
	unsigned n_free;                          /* requests kept in free_reqs */
	_Alignas(8) uint8_t sendbuf[DNS_MAX_MSG]; /* a reply being built, until client_send returns */
	_Alignas(8) uint8_t storebuf[BUF_SIZE];   /* a synthesized-answer cache lookup */
	_Alignas(8) uint8_t renderbuf[BUF_SIZE];  /* an answer rendered from ldns (dns64, local) */
	_Alignas(8) uint8_t agedbuf[BUF_SIZE];    /* an answer aged before it is cached again */
};

struct request {
	struct worker *w;
	struct request *next_free;
	struct wcfg *wc;
	step_fn next;
	const uint8_t *pkt; /* the received bytes: the listener's, valid only inside request_start */
	size_t pkt_len;
	struct client client;
	struct fetch_waiter wt;
	struct fetch_result res; /* the last fetch's result; res.m only while its step runs */
	int family;
	uint8_t ip[16];
	const struct acl_rule *rule; /* in wc's config, which the request holds */
	struct query q;
	enum acl_action action;
	const struct synth_prefix *prefixes; /* the client's prefix set (dns64), in wc's config */
	size_t n_prefixes;
	struct synth_prefix adv_prefix; /* the prefix routers advertise, when prefixes points here */
	struct reply_opts ro;
	uint8_t cookie[COOKIE_REPLY_LEN];
	uint8_t flags;    /* CACHE_F_RD/DO/CD of the client */
	ldns_pkt *aaaa;   /* the AAAA answer as ldns sees it: made from aaaa_keep when needed */
	struct dns64_wire_facts aaaa_wf; /* what synthesis needs of the AAAA answer */
	bool aaaa_kept;   /* aaaa_keep holds the AAAA answer (stored form) */
	uint32_t aaaa_elapsed;
	bool aaaa_failed; /* the AAAA lookup failed (synthesis then is short-lived) */
	bool aaaa_stale;  /* the AAAA answer came from an expired entry */
	uint8_t ptr_target[32];
	size_t ptr_len;
	uint64_t start_ms;
	uint64_t start_ns; /* uv_hrtime(): the answer latency metric, in microseconds */
	/* for the query log and metrics */
	unsigned rcode;
	bool answered, cache_hit, synthesized, stale;
	bool looked_up;           /* the cache (or an upstream) was asked: the log's cache field applies */
	bool filtered_a;          /* filter-a answered this A query NODATA */
	struct dns64_facts facts; /* filter-a: the AAAA answer's, while A is looked up */
	enum dns64_reason reason;
	const char *failure; /* why the answer is SERVFAIL, for the log: NULL or a word */
	struct sockaddr_storage upstream;
	struct timespec tap_time; /* dnstap: when the query was accepted (set in step_parse when on) */
	/* the upstream AAAA answer, kept while A is looked up (a larger one is parsed at once) */
	_Alignas(8) uint8_t aaaa_keep[AAAA_KEEP];
};

static struct req_ctx *ctx(struct worker *w)
{
	return w->req;
}

/* ---- pool and finish --------------------------------------------------------------------- */

int request_ctx_new(struct worker *w)
{
	w->req = calloc(1, sizeof(struct req_ctx));
	return w->req ? 0 : -ENOMEM;
}

void request_ctx_free(struct worker *w)
{
	struct req_ctx *x = w->req;
	if (!x)
		return;
	while (x->free_reqs) {
		struct request *r = x->free_reqs;
		x->free_reqs = r->next_free;
		free(r);
	}
	free(x);
	w->req = NULL;
}

unsigned request_count(struct worker *w)
{
	return w->req ? w->req->n_requests : 0;
}

static struct request *req_get(struct worker *w)
{
	struct req_ctx *x = ctx(w);
	struct request *r = x->free_reqs;
	if (r) {
		x->free_reqs = r->next_free;
		x->n_free--;
	} else if (!(r = malloc(sizeof(*r))))
		return NULL;
	memset(r, 0, offsetof(struct request, q));
	r->q.qname_len = 0;
	r->aaaa = NULL;
	r->aaaa_kept = false;
	r->prefixes = NULL;
	r->n_prefixes = 0;
	r->aaaa_failed = r->aaaa_stale = false;
	r->answered = r->cache_hit = r->synthesized = r->stale = r->looked_up = r->filtered_a = false;
	r->reason = DNS64_REASON_NONE;
	r->failure = NULL;
	r->upstream.ss_family = 0;
	r->ro = (struct reply_opts){.ede = EDE_NONE};
	r->w = w;
	x->n_requests++;
	return r;
}

static const char *rcode_name(unsigned rc, char *buf, size_t len)
{
	ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rc);
	if (t)
		return t->name;
	if (rc == DNS_R_BADCOOKIE)
		return "BADCOOKIE";
	if (rc == DNS_R_BADVERS)
		return "BADVERS";
	snprintf(buf, len, "RCODE%u", rc);
	return buf;
}

static const char *transport_name(enum client_transport t)
{
	return t == TRANSPORT_TCP ? "tcp" : t == TRANSPORT_TLS ? "tls" : "udp";
}

/* The prefix set of a dns64 client: its rule's; else, while routers advertise one (ra.h),
 * that prefix with the global options; else the configured set. false: none (prefix-from-ra
 * with nothing advertised and no prefix line). */
static bool client_prefixes(struct request *r, const struct config *cfg)
{
	size_t n = 0;
	const struct synth_prefix *own = acl_rule_prefixes(&cfg->acl, r->rule, &n);
	struct nat64_prefix adv;
	if (own) {
		r->prefixes = own;
		r->n_prefixes = n;
	} else if (ra_advertised_prefix(r->w->d, &adv)) {
		config_global_prefix(cfg, &adv, &r->adv_prefix);
		r->prefixes = &r->adv_prefix;
		r->n_prefixes = 1;
	} else if (r->w->d->ra && !ra_prefix_configured(cfg))
		return false;
	else
		r->prefixes = config_prefix_set(cfg, NULL, &r->n_prefixes);
	return true;
}

/* The query log line: every field for every outcome, a dash where one does not apply. */
static void query_log(struct request *r)
{
	const struct config *cfg = r->wc->cfg;
	char client[64], up[64], name[1024], type[16], rcbuf[16], rule[1100], prefix[PREFIX_SET_MAX * 48], latency[24];
	const ldns_rr_descriptor *d = ldns_rr_descript(r->q.qtype);
	if (!r->q.qname_len)
		snprintf(type, sizeof(type), "-");
	else if (d && d->_name)
		snprintf(type, sizeof(type), "%s", d->_name);
	else
		snprintf(type, sizeof(type), "TYPE%u", r->q.qtype);
	const char *why = "-";
	if (r->synthesized)
		why = r->aaaa_failed ? "synthesized_aaaa_failed" : "synthesized";
	else if (r->filtered_a)
		why = "filter_a";
	else if (r->failure)
		why = r->failure;
	else if (r->q.qname_len && (r->action == ACL_DNS64 || r->action == ACL_FORWARD))
		why = r->q.qtype != DNS_T_AAAA         ? dns64_reason_name(DNS64_REASON_NOT_AAAA)
		      : r->reason != DNS64_REASON_NONE ? dns64_reason_name(r->reason)
		                                       : "-";
	if (r->upstream.ss_family)
		addr_format((const struct sockaddr *)&r->upstream, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "-");
	if (!r->rule)
		snprintf(rule, sizeof(rule), "-");
	else if (!cfg->acl_path)
		snprintf(rule, sizeof(rule), "default");
	else
		snprintf(rule, sizeof(rule), "%s:%u", cfg->acl_path, r->rule->line);
	if (r->action == ACL_DNS64 && r->rule) {
		size_t n = r->n_prefixes, at = 0;
		const struct synth_prefix *set = r->prefixes;
		snprintf(prefix, sizeof(prefix), "-"); /* not parsed far enough to have its prefixes */
		for (size_t i = 0; i < n && at + 48 <= sizeof(prefix); i++) {
			if (i)
				prefix[at++] = ',';
			nat64_prefix_format(&set[i].p, prefix + at, sizeof(prefix) - at);
			at += strlen(prefix + at);
		}
	} else
		snprintf(prefix, sizeof(prefix), "-");
	snprintf(latency, sizeof(latency), "%llu", (unsigned long long)(uv_now(&r->w->loop) - r->start_ms));
	const struct qlog_field f[] = {
	        {"client", addr_format((const struct sockaddr *)&r->client.peer, client, sizeof(client)), false},
	        {"name", r->q.qname_len ? wire_name_to_text(r->q.qname, r->q.qname_len, name) : "-", false},
	        {"type", type, false},
	        {"transport", transport_name(r->client.transport), false},
	        {"action", acl_action_name(r->action), false},
	        {"rcode", r->answered ? rcode_name(r->rcode, rcbuf, sizeof(rcbuf)) : "none", false},
	        {"synth", r->synthesized ? "yes" : "no", false},
	        {"reason", why, false},
	        {"upstream", up, false},
	        {"cache",
	         r->stale                                 ? "stale"
	         : r->cache_hit && !r->upstream.ss_family ? "hit"
	         : r->looked_up                           ? "miss"
	                                                  : "-",
	         false},
	        {"latency_ms", latency, true},
	        {"rule", rule, false},
	        {"prefix", prefix, false},
	};
	char line[2048];
	qlog_format((enum qlog_format)cfg->log_queries_format, f, sizeof(f) / sizeof(f[0]), line, sizeof(line));
	log_line("%s", line);
}

/* The only way out: count, log, hand the client handle back, recycle. */
static void finish(struct request *r)
{
	struct worker *w = r->w;
	struct req_ctx *x = ctx(w);
	unsigned rc = r->answered ? r->rcode : 0;
	unsigned tr = r->client.transport == TRANSPORT_UDP ? 0 : 1;
	counter_inc(&w->m.queries[tr][r->action][rc < METRICS_RCODES ? rc : METRICS_RCODES - 1]);
	if (r->reason != DNS64_REASON_NONE && r->q.qtype == DNS_T_AAAA)
		counter_inc(&w->m.synth_skipped[r->reason]);
	if (r->q.qname_len)
		counter_inc(&w->m.qtypes[metrics_qtype_index(r->q.qtype)]);
	if (r->looked_up)
		counter_inc(&w->m.client_cache[r->cache_hit && !r->upstream.ss_family ? 0 : 1]);
	if (r->answered) {
		enum metrics_answer k = r->cache_hit && !r->upstream.ss_family ? METRICS_ANS_HIT
		                        : !r->looked_up                        ? METRICS_ANS_NONE
		                        : r->synthesized                       ? METRICS_ANS_SYNTHESIZED
		                                                               : METRICS_ANS_MISS;
		metrics_answer_latency(&w->m, k, (uv_hrtime() - r->start_ns) / 1000);
	}
	if (log_queries_enabled(r->wc->cfg->log_queries))
		query_log(r);
	client_release(&r->client);
	wcfg_put(w, r->wc);
	if (r->aaaa)
		ldns_pkt_free(r->aaaa);
	x->n_requests--;
	if (x->n_free >= POOL_MAX) {
		free(r);
		return;
	}
	r->next_free = x->free_reqs;
	x->free_reqs = r;
	x->n_free++;
}

/* Run steps until one waits or the request is finished. Asynchronous completions come back
 * here, never into the middle of a step. */
static void drive(struct request *r)
{
	for (;;) {
		switch (r->next(r)) {
		case STEP_NEXT: continue;
		case STEP_WAIT: return;
		case STEP_REPLIED:
		case STEP_DROP: finish(r); return;
		}
	}
}

/* ---- replies ----------------------------------------------------------------------------- */

static size_t reply_limit(struct request *r)
{
	return client_max_size(&r->client, r->q.edns ? r->q.udp_size : 512);
}

/* dnstap CLIENT_RESPONSE: the reply and, in `extra`, the DNS64 decision as the query log
 * names it. */
static void tap_response(struct request *r, const uint8_t *buf, size_t len)
{
	const struct config *cfg = r->wc->cfg;
	char extra[160];
	const char *why = "-";
	const struct nat64_prefix *p = NULL;
	if (!(cfg->dnstap_messages & DNSTAP_CLIENT_RESPONSE))
		return;
	if (r->synthesized)
		why = r->aaaa_failed ? "synthesized_aaaa_failed" : "synthesized";
	else if (r->failure)
		why = r->failure;
	else if (r->q.qname_len && (r->action == ACL_DNS64 || r->action == ACL_FORWARD))
		why = r->q.qtype != DNS_T_AAAA         ? dns64_reason_name(DNS64_REASON_NOT_AAAA)
		      : r->reason != DNS64_REASON_NONE ? dns64_reason_name(r->reason)
		                                       : "-";
	if (r->action == ACL_DNS64 && r->n_prefixes)
		p = &r->prefixes[0].p; /* the first of the client's set */
	dnstap_extra(extra, sizeof(extra), acl_action_name(r->action), r->synthesized, p ? p->addr : NULL,
	             p ? p->len : 0, why);
	dnstap_client_response(r->w, cfg, &r->client, &r->tap_time, buf, len, extra);
}

static enum step send_reply(struct request *r, const uint8_t *buf, size_t len)
{
	if (r->w->d->dnstap)
		tap_response(r, buf, len);
	r->answered = true;
	client_send(&r->client, buf, len);
	return STEP_REPLIED;
}

static enum step reply_rcode(struct request *r, unsigned rcode, bool with_question)
{
	uint8_t *out = ctx(r->w)->sendbuf;
	r->rcode = rcode;
	size_t n = response_rcode(&r->q, rcode, with_question, &r->ro, out, reply_limit(r));
	return send_reply(r, out, n);
}

static enum step servfail(struct request *r, const char *why)
{
	r->failure = why;
	return reply_rcode(r, DNS_R_SERVFAIL, true);
}

static enum step reply_stored(struct request *r, const struct msg_meta *m, uint32_t elapsed)
{
	uint8_t *out = ctx(r->w)->sendbuf;
	/* a stale answer says so (RFC 8767 §6), a synthesized one says that (both, for a stale
	 * synthesized one), others pass on the upstream's EDE */
	r->ro.ede = r->stale ? EDE_STALE : m->synthesized ? EDE_SYNTHESIZED : m->ede;
	r->ro.ede2 = r->stale && m->synthesized ? EDE_SYNTHESIZED : 0;
	r->rcode = m->rcode;
	size_t n = response_stored(&r->q, m, elapsed, &r->ro, out, reply_limit(r));
	if (n >= DNS_HDR)
		r->rcode = out[3] & 0x0f; /* what was sent: the reply may have become SERVFAIL */
	return send_reply(r, out, n);
}

static size_t synth_key(struct request *r, uint8_t *key)
{
	uint8_t variant[DNS64_VARIANT_MAX];
	size_t vlen = dns64_synth_variant(r->prefixes, r->n_prefixes, r->wc->cfg->generation, variant);
	return cache_key(key, r->q.qname, r->q.qname_len, DNS_T_AAAA, r->q.qclass, r->flags | CACHE_F_SYNTH, variant,
	                 vlen);
}

/* The synthesis counter of each prefix in used (bit i: the set's prefix i made records). */
static void count_synthesized(struct request *r, unsigned used)
{
	for (size_t i = 0; i < r->n_prefixes; i++)
		if (used & (1u << i))
			metrics_synthesized(&r->w->m, &r->prefixes[i].p);
}

/* Keep the answer a dns64 client got, so the next one is a single cache lookup; the entry
 * lives at most max_ttl seconds (the TTLs the client sees stay as they are). */
static void synth_store(struct request *r, const struct msg_meta *m, uint32_t elapsed, uint32_t max_ttl)
{
	struct cache *c = r->w->d->cache;
	if (!c || !m || m->ttl <= elapsed || r->stale)
		return;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = synth_key(r, key);
	if (!klen)
		return;
	uint8_t *aged = ctx(r->w)->agedbuf;
	/* store it aged, as if it had been received now */
	memcpy(aged, m, msg_stored_size(m));
	struct msg_meta *am = (struct msg_meta *)aged;
	uint8_t *wire = aged + sizeof(*am) + am->n_ttl * 2u;
	const uint16_t *offs = msg_ttl_offsets(am);
	for (unsigned i = 0; elapsed && i < am->n_ttl; i++) {
		uint32_t t = rd32(wire + offs[i]);
		wr32(wire + offs[i], t > elapsed ? t - elapsed : 0);
	}
	am->ttl -= elapsed;
	cache_insert(c, key, klen, aged, msg_stored_size(am), uv_now(&r->w->loop),
	             am->ttl < max_ttl ? am->ttl : max_ttl);
}

/* Reply with a packet built here (dns64, local data); store it for dns64 clients when store_ttl.
 * synthesized: 0, or the mask of the prefixes that made it (kept in the stored meta, so that a
 * cache hit counts the same prefixes). */
static enum step reply_rendered(struct request *r, struct msg_meta *m, unsigned synthesized, uint32_t store_ttl)
{
	m->synthesized = (uint8_t)synthesized;
	if (store_ttl)
		synth_store(r, m, 0, store_ttl);
	return reply_stored(r, m, 0);
}

static enum step reply_pkt(struct request *r, ldns_pkt *p, unsigned synthesized, uint32_t store_ttl)
{
	uint8_t *buf = ctx(r->w)->renderbuf;
	if (response_render(p, synthesized != 0, MAX_TTL, buf, BUF_SIZE) < 0)
		return servfail(r, "render");
	return reply_rendered(r, (struct msg_meta *)buf, synthesized, store_ttl);
}

/* The same for a message built on the wire (wire, len: DNS wire without OPT). */
static enum step reply_wire(struct request *r, const uint8_t *wire, size_t len, unsigned synthesized,
                            uint32_t store_ttl)
{
	uint8_t *buf = ctx(r->w)->renderbuf;
	if (wire_store(wire, len, MAX_TTL, buf, BUF_SIZE) < 0)
		return servfail(r, "render");
	return reply_rendered(r, (struct msg_meta *)buf, synthesized, store_ttl);
}

/* ---- fetching ---------------------------------------------------------------------------- */

static void fetched(struct fetch_waiter *wt, const struct fetch_result *res)
{
	struct request *r = (struct request *)((char *)wt - offsetof(struct request, wt));
	r->res = *res;
	drive(r);
}

/* Ask for qname/qtype and go on at then: now (the answer is there) or when it arrives. */
static enum step fetch(struct request *r, const uint8_t *qname, size_t qname_len, uint16_t qtype, step_fn then)
{
	struct worker *w = r->w;
	struct fetch_query fq = {qname, qname_len, qtype, r->q.qclass, r->flags, r->stale};
	r->next = then;
	unsigned cap = WAITING_PER_INFLIGHT * r->wc->cfg->max_inflight;
	if (request_count(w) > (cap > POOL_MAX ? cap : POOL_MAX)) {
		/* bounded memory: clients piling onto the same slow questions get SERVFAIL */
		counter_inc(&w->m.overload);
		r->res = (struct fetch_result){.status = -EBUSY};
		return STEP_NEXT;
	}
	r->wt.cb = fetched;
	r->looked_up = true;
	return fetch_get(w, r->wc->cfg, &fq, &r->wt, &r->res) == FETCH_PENDING ? STEP_WAIT : STEP_NEXT;
}

/* What a fetch result means for the log: who answered, from cache or not, stale or not. */
static void note_result(struct request *r)
{
	const struct fetch_result *res = &r->res;
	if (res->upstream.ss_family)
		memcpy(&r->upstream, &res->upstream, sizeof(res->upstream));
	if (res->remembered)
		r->failure = "remembered_failure"; /* RFC 9520: not an answer from the cache */
	else if (res->source == FETCH_SRC_CACHE)
		r->cache_hit = true;
	if (res->source == FETCH_SRC_STALE)
		r->stale = true;
}

static bool answer_failed(const struct fetch_result *res)
{
	return res->status < 0 || (res->m->rcode != DNS_R_NOERROR && res->m->rcode != DNS_R_NXDOMAIN);
}

/* ---- steps: plain forwarding ------------------------------------------------------------- */

static enum step step_plain_answer(struct request *r)
{
	note_result(r);
	if (r->res.status < 0)
		return servfail(r, r->res.status == -EBUSY ? "overload" : "upstream_failed");
	return reply_stored(r, r->res.m, r->res.elapsed_s);
}

static enum step step_plain(struct request *r)
{
	return fetch(r, r->q.qname, r->q.qname_len, r->q.qtype, step_plain_answer);
}

/* ---- steps: AAAA for a dns64 client -------------------------------------------------------- */

static bool under_any(const struct dname *list, size_t n, const struct query *q)
{
	for (size_t i = 0; i < n; i++)
		if (dns64_name_under(q->qname, q->qname_len, &list[i]))
			return true;
	return false;
}

/* The AAAA answer as an ldns packet (parsed from what aaaa_facts kept on first use), or
 * NULL when the AAAA lookup failed. */
static ldns_pkt *aaaa_pkt(struct request *r)
{
	if (!r->aaaa && r->aaaa_kept) {
		r->aaaa = response_to_ldns((const struct msg_meta *)r->aaaa_keep, r->aaaa_elapsed);
		r->aaaa_kept = false;
	}
	return r->aaaa;
}

/* Drop excluded AAAA records; an answer we changed is no longer validated data (§5.5). */
static void filter_excluded(struct request *r, ldns_pkt *aaaa)
{
	size_t before = ldns_rr_list_rr_count(ldns_pkt_answer(aaaa));
	dns64_filter_excluded(r->prefixes, r->n_prefixes, aaaa);
	if (ldns_rr_list_rr_count(ldns_pkt_answer(aaaa)) != before)
		ldns_pkt_set_ad(aaaa, false);
}

static enum step step_synthesize(struct request *r)
{
	struct config *cfg = r->wc->cfg;
	note_result(r);
	if (answer_failed(&r->res)) {
		/* no A answer is not "no A records": never answer (or cache) NODATA from a failure */
		counter_inc(&r->w->m.failed_a);
		return servfail(r, r->res.status == -EBUSY ? "a_overload" : "a_failed");
	}
	uint8_t *wire = ctx(r->w)->storebuf; /* free here: fetch results live in fetch's buffers */
	size_t len = 0;
	unsigned n = 0, used = 0;
	enum dns64_reason why = DNS64_REASON_SIGNED_A;
	int rc = -ENOENT;
	/* break-dnssec no: a signed A answer for a DO client is not turned into AAAA */
	if (!dns64_wire_keep_signed(cfg->break_dnssec, r->q.do_bit, r->res.m))
		rc = dns64_synthesize_wire(r->prefixes, r->n_prefixes, &r->aaaa_wf, r->res.m, r->res.elapsed_s, wire,
		                           DNS_MAX_MSG, &len, &n, &used, &why);
	if (rc == 0) {
		r->synthesized = true;
		r->reason = DNS64_REASON_NONE;
		count_synthesized(r, used);
		return reply_wire(r, wire, len, used, r->aaaa_failed ? FAILED_AAAA_SYNTH_TTL : MAX_TTL);
	}
	if (rc != -ENOENT)
		return servfail(r, rc == -ENOBUFS ? "synth_too_large" : "a_malformed");
	r->reason = why;
	/* RFC 6147 §5.1.6: nothing to synthesize, so the client gets the AAAA answer */
	ldns_pkt *aaaa = aaaa_pkt(r);
	if (!aaaa)
		return servfail(r, r->aaaa_failed ? "aaaa_failed" : "aaaa_malformed");
	filter_excluded(r, aaaa);
	return reply_pkt(r, aaaa, 0, r->aaaa_failed || r->aaaa_stale ? 0 : MAX_TTL);
}

/* What dns64_decide looks at, from the AAAA fetch result (read on the wire); the request
 * keeps the answer (aaaa_keep, or parsed at once when it is larger).
 * Returns 0, or -EBADMSG when the answer does not parse. */
static int aaaa_facts(struct request *r, struct dns64_facts *f)
{
	struct config *cfg = r->wc->cfg;
	const struct fetch_result *res = &r->res;
	*f = (struct dns64_facts){
	        .rcode = -1,
	        .do_bit = r->q.do_bit,
	        .cd_bit = (r->q.flags & F_CD) != 0,
	        .synth_all = under_any(cfg->synth_all, cfg->n_synth_all, &r->q),
	        .no_synth = under_any(cfg->no_synth, cfg->n_no_synth, &r->q),
	        .synth_on = cfg->synth_on,
	};
	r->aaaa_wf = (struct dns64_wire_facts){0};
	if (res->status == 0) {
		if (msg_stored_size(res->m) <= sizeof(r->aaaa_keep)) {
			memcpy(r->aaaa_keep, res->m, msg_stored_size(res->m));
			r->aaaa_elapsed = res->elapsed_s;
			r->aaaa_kept = true;
		} else if (!(r->aaaa = response_to_ldns(res->m, res->elapsed_s)))
			return -EBADMSG;
		f->rcode = res->m->rcode;
		f->dnssec_ede = res->m->ede >= 6 && res->m->ede <= 12;
		dns64_wire_aaaa_facts(r->prefixes, r->n_prefixes, res->m, res->elapsed_s, &r->aaaa_wf);
		f->n_aaaa = r->aaaa_wf.n_aaaa;
		f->n_excluded = r->aaaa_wf.n_excluded;
	}
	return 0;
}

static enum step step_decide(struct request *r)
{
	const struct fetch_result *res = &r->res;
	note_result(r);
	struct dns64_facts f;
	if (aaaa_facts(r, &f) < 0)
		return servfail(r, "aaaa_malformed");
	r->aaaa_failed = answer_failed(res);
	r->aaaa_stale = res->source == FETCH_SRC_STALE;
	enum dns64_reason why = DNS64_REASON_NONE;
	enum dns64_verdict v = dns64_decide(&f, &why);
	r->reason = why;
	if (v == DNS64_SYNTH) {
		if (res->status == -EBUSY)
			return servfail(r, "overload"); /* local overload is not an answer to build on */
		return fetch(r, r->q.qname, r->q.qname_len, DNS_T_A, step_synthesize);
	}
	if (res->status < 0)
		return servfail(r, res->status == -EBUSY ? "overload" : "aaaa_failed");
	if (v == DNS64_FILTER || f.n_excluded) {
		/* excluded AAAA records are never handed to a dns64 client */
		ldns_pkt *aaaa = aaaa_pkt(r);
		if (!aaaa)
			return servfail(r, "aaaa_malformed");
		filter_excluded(r, aaaa);
		return reply_pkt(r, aaaa, 0, r->aaaa_stale || r->aaaa_failed ? 0 : MAX_TTL);
	}
	if (!r->aaaa_failed)
		synth_store(r, res->m, res->elapsed_s, MAX_TTL);
	return reply_stored(r, res->m, res->elapsed_s);
}

/* The AAAA query of a dns64 client goes upstream: ask A at the same time, since most names
 * an IPv6-only client looks up still have only IPv4. If synthesis is needed, the A lookup
 * then finds the answer in the cache or joins the query in flight, instead of starting
 * after the AAAA answer: one upstream round trip instead of two. */
static void prefetch_a(struct request *r)
{
	struct config *cfg = r->wc->cfg;
	if (!cfg->prefetch_a || under_any(cfg->no_synth, cfg->n_no_synth, &r->q))
		return;
	struct fetch_query fq = {r->q.qname, r->q.qname_len, DNS_T_A, r->q.qclass, r->flags, false};
	fetch_prefetch(r->w, cfg, &fq);
}

static enum step step_fetch_aaaa(struct request *r)
{
	prefetch_a(r); /* first: the AAAA lookup below may answer from cache into the same buffer */
	return fetch(r, r->q.qname, r->q.qname_len, DNS_T_AAAA, step_decide);
}

static enum step step_synth_cache(struct request *r)
{
	struct worker *w = r->w;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = synth_key(r, key), slen;
	uint64_t stored, now = r->start_ms;
	uint8_t *buf = ctx(w)->storebuf;
	r->next = step_fetch_aaaa;
	r->looked_up = w->d->cache != NULL;
	if (!w->d->cache || !klen || cache_lookup(w->d->cache, key, klen, now, buf, BUF_SIZE, &slen, &stored) != 0)
		return STEP_NEXT;
	const struct msg_meta *m = (const struct msg_meta *)buf;
	r->cache_hit = true;
	r->synthesized = m->synthesized;
	if (m->synthesized)
		count_synthesized(r, m->synthesized);
	else
		r->reason = m->rcode == DNS_R_NXDOMAIN ? DNS64_REASON_NXDOMAIN : DNS64_REASON_REAL_AAAA;
	return reply_stored(r, m, now > stored ? (uint32_t)((now - stored) / 1000) : 0);
}

/* ---- steps: PTR under a synthesis prefix (RFC 6147 §5.3.1) ---------------------------------- */

static enum step step_ptr_answer(struct request *r)
{
	note_result(r);
	/* a failed target is a clean SERVFAIL, without the CNAME */
	if (answer_failed(&r->res))
		return servfail(r, "ptr_failed");
	ldns_pkt *out = NULL;
	if (response_ptr_cname(r->q.qname, r->q.qname_len, r->ptr_target, r->ptr_len, r->res.m, r->res.elapsed_s,
	                       &out) < 0)
		return servfail(r, "ptr_malformed");
	enum step s = reply_pkt(r, out, 0, 0);
	ldns_pkt_free(out);
	return s;
}

/* A target that is a local name (a hosts or local-data PTR, an RFC 6303 zone) is answered
 * here: the chain from a synthesized address back to a local name stays in the daemon.
 * False when the target is not local. */
static bool ptr_local(struct request *r, enum step *s)
{
	struct query tq = r->q;
	struct local_client lc = {.dns64 = false, .hostname = r->w->d->hostname};
	ldns_pkt *p = NULL, *out = NULL;
	bool synth;
	memcpy(tq.qname, r->ptr_target, r->ptr_len);
	tq.qname_len = (uint8_t)r->ptr_len;
	int rc = local_answer(r->wc->cfg, &tq, &lc, &p, &synth);
	if (rc == 0)
		return false;
	uint8_t *buf = ctx(r->w)->storebuf; /* reply_pkt renders into renderbuf */
	if (rc < 0 || response_render(p, false, MAX_TTL, buf, BUF_SIZE) < 0 ||
	    response_ptr_cname(r->q.qname, r->q.qname_len, r->ptr_target, r->ptr_len, (const struct msg_meta *)buf, 0,
	                       &out) < 0)
		*s = servfail(r, "local");
	else
		*s = reply_pkt(r, out, false, 0);
	ldns_pkt_free(p);
	ldns_pkt_free(out);
	return true;
}

static enum step step_ptr(struct request *r)
{
	enum step s;
	if (ptr_local(r, &s))
		return s;
	return fetch(r, r->ptr_target, r->ptr_len, DNS_T_PTR, step_ptr_answer);
}

/* ---- steps: A for a filter-a client ------------------------------------------------------- */

/* The A answer, or NODATA when the client's AAAA query would get AAAA records (real or
 * synthesized): an IPv6-mostly client then never tries an IPv4 path it does not have. */
static enum step step_filter_a_answer(struct request *r)
{
	const struct config *cfg = r->wc->cfg;
	note_result(r);
	if (r->res.status < 0)
		return servfail(r, r->res.status == -EBUSY ? "overload" : "upstream_failed");
	ldns_pkt *a = NULL, *out = NULL;
	bool synthesizable = false;
	if (r->res.m->rcode == DNS_R_NOERROR) {
		if (!(a = response_to_ldns(r->res.m, r->res.elapsed_s)))
			return servfail(r, "a_malformed");
		synthesizable = !(cfg->recursive_only && !(r->q.flags & F_RD)) &&
		                !dns64_wire_keep_signed(cfg->break_dnssec, r->q.do_bit, r->res.m) &&
		                dns64_synthesizable(r->prefixes, r->n_prefixes, a);
	}
	if (!a || !dns64_filter_a(&r->facts, synthesizable)) {
		ldns_pkt_free(a);
		return reply_stored(r, r->res.m, r->res.elapsed_s);
	}
	int rc = dns64_filter_a_answer(a, aaaa_pkt(r), &out);
	ldns_pkt_free(a);
	if (rc < 0)
		return servfail(r, "filter_a");
	r->filtered_a = true;
	enum step s = reply_pkt(r, out, 0, 0);
	ldns_pkt_free(out);
	return s;
}

static enum step step_filter_a_aaaa(struct request *r)
{
	note_result(r);
	if (aaaa_facts(r, &r->facts) < 0)
		return servfail(r, "aaaa_malformed");
	if (r->wc->cfg->recursive_only && !(r->q.flags & F_RD))
		r->facts.no_synth = true; /* no synthesis for this query: only real AAAA count */
	return fetch(r, r->q.qname, r->q.qname_len, DNS_T_A, step_filter_a_answer);
}

static enum step step_filter_a(struct request *r)
{
	/* ask A at once, so that it is in flight (or cached) when the AAAA answer is in */
	struct fetch_query fq = {r->q.qname, r->q.qname_len, DNS_T_A, r->q.qclass, r->flags, false};
	fetch_prefetch(r->w, r->wc->cfg, &fq);
	return fetch(r, r->q.qname, r->q.qname_len, DNS_T_AAAA, step_filter_a_aaaa);
}

/* ---- steps: admission, parsing, local answers, routing ----------------------------------- */

/* Which path the query takes once it is known to be a good query for us. */
static enum step step_route(struct request *r)
{
	const struct query *q = &r->q;
	if (r->action == ACL_DNS64 && q->qtype == DNS_T_AAAA && q->qclass == DNS_C_IN) {
		if (q->do_bit && (q->flags & F_CD))
			r->reason = DNS64_REASON_CD_DO; /* RFC 6147 §5.5: a validating client sees the real answer */
		else if (r->wc->cfg->recursive_only && !(q->flags & F_RD))
			r->reason = DNS64_REASON_NOT_RECURSIVE; /* BIND's recursive-only */
		else {
			r->next = step_synth_cache;
			return STEP_NEXT;
		}
	} else if (r->action == ACL_DNS64 && q->qtype == DNS_T_A && q->qclass == DNS_C_IN && r->rule->filter_a) {
		r->next = step_filter_a;
		return STEP_NEXT;
	} else if (r->action == ACL_DNS64 && q->qtype == DNS_T_PTR && q->qclass == DNS_C_IN &&
	           (r->ptr_len =
	                    dns64_ptr_target_set(r->prefixes, r->n_prefixes, q->qname, q->qname_len, r->ptr_target))) {
		r->next = step_ptr;
		return STEP_NEXT;
	} else if (r->action == ACL_FORWARD && q->qtype == DNS_T_AAAA)
		r->reason = DNS64_REASON_FORWARD_ONLY;
	r->next = step_plain;
	return STEP_NEXT;
}

static enum step step_local(struct request *r)
{
	struct local_client lc = {.dns64 = r->action == ACL_DNS64,
	                          .prefixes = r->prefixes,
	                          .n_prefixes = r->n_prefixes,
	                          .hostname = r->w->d->hostname,
	                          .local = &r->client.local};
	lc.rule = r->rule;
	ldns_pkt *p = NULL;
	bool synth = false;
	int rc = local_answer(r->wc->cfg, &r->q, &lc, &p, &synth);
	if (rc < 0)
		return servfail(r, "local");
	if (rc == 0) {
		r->next = step_route;
		return STEP_NEXT;
	}
	r->synthesized = synth;
	r->ro.aa = ldns_pkt_aa(p);               /* local zones answer as their authority (RFC 6761, RFC 8880) */
	enum step s = reply_pkt(r, p, synth, 0); /* a synthesized local answer says so: EDE 29 */
	ldns_pkt_free(p);
	return s;
}

static enum step step_parse(struct request *r)
{
	struct worker *w = r->w;
	struct config *cfg = r->wc->cfg;
	enum wire_verdict v = wire_parse_query(r->pkt, r->pkt_len, &r->q);
	if (w->d->dnstap && v != WIRE_DROP) {
		dnstap_now(&r->tap_time);
		dnstap_client_query(w, cfg, &r->client, &r->tap_time, r->pkt, r->pkt_len);
	}
	r->pkt = NULL; /* the listener's buffer: not to be touched after this */
	if (v == WIRE_DROP) {
		counter_inc(&w->m.malformed);
		return STEP_DROP;
	}
	if (r->action == ACL_REFUSE)
		return reply_rcode(r, v == WIRE_OK ? DNS_R_REFUSED : (v == WIRE_NOTIMP ? DNS_R_NOTIMP : DNS_R_FORMERR),
		                   true);
	if (cfg->cookies && r->q.cookie_len && (v == WIRE_OK || v == WIRE_NOQUESTION)) {
		size_t iplen = r->family == AF_INET ? 4 : 16;
		enum cookie_status st = cookie_check(daemon_secrets(w->d), r->q.cookie, r->q.cookie_len,
		                                     (uint32_t)time(NULL), r->ip, iplen, r->cookie);
		r->ro.cookie = r->cookie;
		r->ro.cookie_len = COOKIE_REPLY_LEN;
		if (st == COOKIE_BAD && client_is_datagram(&r->client)) {
			/* RFC 7873 §5.2.3: wrong server cookie over UDP: BADCOOKIE with a fresh one */
			counter_inc(&w->m.badcookie);
			return reply_rcode(r, DNS_R_BADCOOKIE, true);
		}
	}
	switch (v) {
	case WIRE_OK: break;
	case WIRE_NOTIMP: return reply_rcode(r, DNS_R_NOTIMP, true);
	case WIRE_BADVERS: return reply_rcode(r, DNS_R_BADVERS, true);
	case WIRE_NOQUESTION:
		/* RFC 7873 §5.4: a query with only a COOKIE gets NOERROR and a fresh server cookie */
		if (r->ro.cookie_len)
			return reply_rcode(r, DNS_R_NOERROR, false);
		counter_inc(&w->m.malformed);
		return reply_rcode(r, DNS_R_FORMERR, false);
	default: counter_inc(&w->m.malformed); return reply_rcode(r, DNS_R_FORMERR, true);
	}
	const struct query *q = &r->q;
	if (q->qtype == DNS_T_OPT || (q->qtype >= 128 && q->qtype <= 255 && q->qtype != 255))
		/* meta types and zone transfers are not a forwarder's business */
		return reply_rcode(r, q->qtype == DNS_T_OPT ? DNS_R_FORMERR : DNS_R_NOTIMP, true);
	r->flags = (uint8_t)(((q->flags & F_RD) ? CACHE_F_RD : 0) | (q->do_bit ? CACHE_F_DO : 0) |
	                     ((q->flags & F_CD) ? CACHE_F_CD : 0));
	if (r->action == ACL_DNS64 && !client_prefixes(r, cfg))
		r->action = ACL_FORWARD; /* prefix-from-ra, nothing advertised, no prefix configured */
	r->next = step_local;
	return STEP_NEXT;
}

/* The ACL comes before anything else is done for a query: a dropped one costs nothing. */
static enum step step_acl(struct request *r)
{
	struct config *cfg = r->wc->cfg;
	r->family = addr_raw((const struct sockaddr *)&r->client.peer, r->ip);
	r->rule = r->family > 0 ? acl_match(&cfg->acl, r->family, r->ip) : NULL;
	r->action = r->rule ? r->rule->action : ACL_REFUSE;
	if (r->action == ACL_DROP) {
		/* only the log needs the question: a dropped query costs no parse otherwise */
		if (log_queries_enabled(cfg->log_queries))
			(void)wire_parse_query(r->pkt, r->pkt_len, &r->q);
		return STEP_DROP;
	}
	r->next = step_parse;
	return STEP_NEXT;
}

void request_start(struct worker *w, const struct client *c, const uint8_t *pkt, size_t len)
{
	struct request *r = req_get(w);
	if (!r) {
		struct client copy = *c;
		client_release(&copy);
		return;
	}
	r->client = *c;
	r->pkt = pkt;
	r->pkt_len = len;
	r->wc = wcfg_get(w);
	r->start_ms = uv_now(&w->loop);
	r->start_ns = uv_hrtime();
	r->next = step_acl;
	drive(r);
}
