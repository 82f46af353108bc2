/* request.c - one client query's life: the small driver that calls acl, cache, upstream, dns64 */
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
#include "dns64d/cookie.h"
#include "dns64d/dns64.h"
#include "dns64d/listener.h"
#include "dns64d/log.h"
#include "dns64d/upstream.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#define MAX_TTL  86400
#define POOL_MAX 1024 /* request structs kept for reuse per worker */
#define WAITING_PER_INFLIGHT                                                                                           \
	4               /* requests a worker lets wait: this many per max-inflight,                                    \
	                 * and at least POOL_MAX */
#define LOCAL_TTL 86400 /* ipv4only.arpa answers */

enum stage { ST_PLAIN, ST_AAAA, ST_A, ST_PTR };

struct request {
	struct worker *w;
	struct request *next_free;
	struct wcfg *wc;
	struct fetch_waiter wt;
	enum transport tr;
	uv_udp_t *udp;
	struct tcp_conn *conn;
	struct sockaddr_storage peer;
	int family;
	uint8_t ip[16];
	struct query q;
	enum acl_action action;
	struct nat64_prefix prefix;
	struct reply_opts ro;
	uint8_t cookie[COOKIE_REPLY_LEN];
	uint8_t flags; /* CACHE_F_RD/DO/CD of the client */
	enum stage stage;
	ldns_pkt *aaaa; /* upstream AAAA answer, kept while A is looked up */
	uint8_t ptr_target[32];
	size_t ptr_len;
	uint64_t start_ms;
	/* for the query log and metrics */
	unsigned rcode;
	bool answered, cache_hit, synthesized;
	enum dns64_reason reason;
	struct sockaddr_storage upstream;
};

static void fetch(struct request *r, const uint8_t *qname, size_t qname_len, uint16_t qtype);

/* ---- pool and finish --------------------------------------------------------------------- */

static struct request *req_get(struct worker *w)
{
	struct request *r = w->free_reqs;
	if (r) {
		w->free_reqs = r->next_free;
		w->n_free--;
	} else if (!(r = malloc(sizeof(*r))))
		return NULL;
	memset(r, 0, offsetof(struct request, q));
	r->aaaa = NULL;
	r->answered = r->cache_hit = r->synthesized = false;
	r->reason = DNS64_REASON_NONE;
	r->upstream.ss_family = 0;
	r->ro.ede = EDE_NONE;
	r->ro.cookie = NULL;
	r->ro.cookie_len = 0;
	r->ro.ext_rcode = 0;
	r->w = w;
	w->n_requests++;
	return r;
}

void request_pool_free(struct worker *w)
{
	while (w->free_reqs) {
		struct request *r = w->free_reqs;
		w->free_reqs = r->next_free;
		free(r);
	}
	w->n_free = 0;
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

static void query_log(struct request *r)
{
	char client[64], up[64], name[1024], type[16], rcbuf[16];
	const ldns_rr_descriptor *d = ldns_rr_descript(r->q.qtype);
	if (!r->q.qname_len)
		snprintf(type, sizeof(type), "-");
	else if (d && d->_name)
		snprintf(type, sizeof(type), "%s", d->_name);
	else
		snprintf(type, sizeof(type), "TYPE%u", r->q.qtype);
	const char *why = "-";
	if (r->synthesized)
		why = "synthesized";
	else if (r->action == ACL_DNS64 || r->action == ACL_FORWARD)
		why = r->q.qtype != DNS_T_AAAA         ? dns64_reason_name(DNS64_REASON_NOT_AAAA)
		      : r->reason != DNS64_REASON_NONE ? dns64_reason_name(r->reason)
		                                       : "-";
	if (r->upstream.ss_family)
		addr_format((const struct sockaddr *)&r->upstream, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "-");
	log_line("query client '%s' name '%s' type '%s' transport '%s' action '%s' rcode '%s' synth '%s' "
	         "reason '%s' upstream '%s' cache '%s' latency_ms %llu",
	         addr_format((const struct sockaddr *)&r->peer, client, sizeof(client)),
	         r->q.qname_len ? wire_name_to_text(r->q.qname, r->q.qname_len, name) : "-", type,
	         r->tr == TRANSPORT_TCP ? "tcp" : "udp", acl_action_name(r->action),
	         r->answered ? rcode_name(r->rcode, rcbuf, sizeof(rcbuf)) : "none", r->synthesized ? "yes" : "no", why,
	         up, r->cache_hit && !r->upstream.ss_family ? "hit" : "miss",
	         (unsigned long long)(uv_now(&r->w->loop) - r->start_ms));
}

static void done(struct request *r)
{
	struct worker *w = r->w;
	unsigned rc = r->answered ? r->rcode : 0;
	counter_inc(&w->m.queries[r->tr][r->action][rc < METRICS_RCODES ? rc : METRICS_RCODES - 1]);
	if (r->reason != DNS64_REASON_NONE && r->q.qtype == DNS_T_AAAA)
		counter_inc(&w->m.synth_skipped[r->reason]);
	if (log_queries_enabled(r->wc->cfg->log_queries))
		query_log(r);
	if (r->tr == TRANSPORT_TCP)
		tcp_conn_release(r->conn);
	wcfg_put(w, r->wc);
	if (r->aaaa)
		ldns_pkt_free(r->aaaa);
	w->n_requests--;
	if (w->n_free >= POOL_MAX) {
		free(r);
		return;
	}
	r->next_free = w->free_reqs;
	w->free_reqs = r;
	w->n_free++;
}

/* ---- replies ----------------------------------------------------------------------------- */

static size_t reply_limit(struct request *r)
{
	return r->tr == TRANSPORT_TCP ? DNS_MAX_MSG : query_udp_limit(&r->q);
}

static void send_reply(struct request *r, const uint8_t *buf, size_t len)
{
	r->answered = true;
	if (r->tr == TRANSPORT_TCP)
		tcp_conn_send(r->conn, buf, len);
	else
		listener_udp_send(r->udp, (const struct sockaddr *)&r->peer, buf, len);
}

static void reply_rcode(struct request *r, unsigned rcode, bool with_question)
{
	uint8_t *out = r->w->sendbuf;
	r->rcode = rcode;
	size_t n = wire_reply_rcode(&r->q, rcode, with_question, &r->ro, out, reply_limit(r));
	send_reply(r, out, n);
	done(r);
}

static void reply_stored(struct request *r, const struct msg_meta *m, uint32_t elapsed)
{
	uint8_t *out = r->w->sendbuf;
	r->ro.ede = m->synthesized ? EDE_SYNTHESIZED : m->ede;
	r->rcode = m->rcode;
	size_t n = wire_reply_stored(&r->q, m, elapsed, &r->ro, out, reply_limit(r));
	send_reply(r, out, n);
	done(r);
}

/* ---- stored messages and ldns packets ---------------------------------------------------- */

static ldns_pkt *to_ldns(const struct msg_meta *m, uint32_t elapsed)
{
	static _Thread_local uint8_t buf[DNS_MAX_MSG];
	memcpy(buf, msg_wire(m), m->msg_len);
	const uint16_t *offs = msg_ttl_offsets(m);
	for (unsigned i = 0; elapsed && i < m->n_ttl; i++) {
		uint32_t t = rd32(buf + offs[i]);
		wr32(buf + offs[i], t > elapsed ? t - elapsed : 0);
	}
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, buf, m->msg_len) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

/* Render a packet built by dns64 into the worker's render buffer as a stored message. */
static const struct msg_meta *render(struct request *r, ldns_pkt *p, bool synthesized)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_pkt_set_edns_udp_size(p, 0);
	ldns_pkt_set_edns_do(p, false);
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		return NULL;
	int rc = wire_store(wire, len, MAX_TTL, r->w->renderbuf, sizeof(r->w->renderbuf));
	free(wire);
	if (rc < 0)
		return NULL;
	struct msg_meta *m = (struct msg_meta *)r->w->renderbuf;
	m->synthesized = synthesized;
	return m;
}

static size_t synth_key(struct request *r, uint8_t *key)
{
	uint8_t variant[21];
	memcpy(variant, r->prefix.addr, 16);
	variant[16] = (uint8_t)r->prefix.len;
	memcpy(variant + 17, &r->wc->cfg->generation, 4);
	return cache_key(key, r->q.qname, r->q.qname_len, DNS_T_AAAA, r->q.qclass, r->flags | CACHE_F_SYNTH, variant,
	                 sizeof(variant));
}

/* Keep the answer a dns64 client got, so the next one is a single cache lookup. */
static void synth_store(struct request *r, const struct msg_meta *m, uint32_t elapsed)
{
	struct cache *c = r->w->d->cache;
	if (!c || !m || m->ttl <= elapsed)
		return;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = synth_key(r, key);
	if (!klen)
		return;
	const void *val = m;
	if (elapsed) {
		/* store it aged, as if it had been received now */
		static _Thread_local _Alignas(8) uint8_t aged[DNS_MAX_MSG + 16384];
		memcpy(aged, m, msg_stored_size(m));
		struct msg_meta *am = (struct msg_meta *)aged;
		uint8_t *w = aged + sizeof(*am) + am->n_ttl * 2u;
		const uint16_t *offs = msg_ttl_offsets(am);
		for (unsigned i = 0; i < am->n_ttl; i++) {
			uint32_t t = rd32(w + offs[i]);
			wr32(w + offs[i], t > elapsed ? t - elapsed : 0);
		}
		am->ttl -= elapsed;
		val = aged;
	}
	cache_insert(c, key, klen, val, msg_stored_size(m), uv_now(&r->w->loop), m->ttl - elapsed);
}

static void reply_pkt(struct request *r, ldns_pkt *p, bool synthesized, bool store)
{
	const struct msg_meta *m = render(r, p, synthesized);
	if (!m) {
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return;
	}
	if (store)
		synth_store(r, m, 0);
	reply_stored(r, m, 0);
}

/* ---- stages ------------------------------------------------------------------------------ */

static bool under_any(const struct dname *list, size_t n, const struct query *q)
{
	for (size_t i = 0; i < n; i++)
		if (dns64_name_under(q->qname, q->qname_len, &list[i]))
			return true;
	return false;
}

/* Drop excluded AAAA records; an answer we changed is no longer validated data (§5.5). */
static void filter_excluded(struct request *r)
{
	size_t before = ldns_rr_list_rr_count(ldns_pkt_answer(r->aaaa));
	dns64_filter_excluded(r->wc->cfg, r->aaaa);
	if (ldns_rr_list_rr_count(ldns_pkt_answer(r->aaaa)) != before)
		ldns_pkt_set_ad(r->aaaa, false);
}

static void on_plain(struct request *r, int status, const struct msg_meta *m, uint32_t elapsed)
{
	if (status < 0)
		reply_rcode(r, DNS_R_SERVFAIL, true);
	else
		reply_stored(r, m, elapsed);
}

static void on_aaaa(struct request *r, int status, const struct msg_meta *m, uint32_t elapsed)
{
	struct config *cfg = r->wc->cfg;
	struct dns64_facts f = {
	        .rcode = -1,
	        .do_bit = r->q.do_bit,
	        .cd_bit = (r->q.flags & F_CD) != 0,
	        .synth_all = under_any(cfg->synth_all, cfg->n_synth_all, &r->q),
	        .no_synth = under_any(cfg->no_synth, cfg->n_no_synth, &r->q),
	        .synth_on = cfg->synth_on,
	};
	if (status == 0) {
		if (!(r->aaaa = to_ldns(m, elapsed))) {
			reply_rcode(r, DNS_R_SERVFAIL, true);
			return;
		}
		f.rcode = m->rcode;
		f.dnssec_ede = m->ede >= 6 && m->ede <= 12;
		dns64_count_aaaa(cfg, r->aaaa, &f.n_aaaa, &f.n_excluded);
	}
	enum dns64_reason why = DNS64_REASON_NONE;
	enum dns64_verdict v = dns64_decide(&f, &why);
	r->reason = why;
	if (v == DNS64_SYNTH) {
		r->stage = ST_A;
		fetch(r, r->q.qname, r->q.qname_len, DNS_T_A);
		return;
	}
	if (status < 0) {
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return;
	}
	if (v == DNS64_FILTER || f.n_excluded) {
		/* excluded AAAA records are never handed to a dns64 client */
		filter_excluded(r);
		reply_pkt(r, r->aaaa, false, true);
		return;
	}
	synth_store(r, m, elapsed);
	reply_stored(r, m, elapsed);
}

static void on_a(struct request *r, int status, const struct msg_meta *m, uint32_t elapsed)
{
	struct config *cfg = r->wc->cfg;
	ldns_pkt *a = status == 0 ? to_ldns(m, elapsed) : NULL;
	ldns_pkt *out = NULL;
	unsigned n = 0;
	enum dns64_reason why = DNS64_REASON_NO_A;
	if (a && dns64_synthesize(cfg, &r->prefix, r->aaaa, a, &out, &n, &why) == 0) {
		ldns_pkt_free(a);
		r->synthesized = true;
		r->reason = DNS64_REASON_NONE;
		metrics_synthesized(&r->w->m, &r->prefix);
		reply_pkt(r, out, true, true);
		ldns_pkt_free(out);
		return;
	}
	if (a)
		ldns_pkt_free(a);
	r->reason = why;
	/* RFC 6147 §5.1.6: nothing to synthesize, so the client gets the AAAA answer */
	if (!r->aaaa) {
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return;
	}
	filter_excluded(r);
	reply_pkt(r, r->aaaa, false, true);
}

/* RFC 6147 §5.3.1: a PTR under the synthesis prefix is a CNAME to the IPv4 in-addr.arpa name. */
static void on_ptr(struct request *r, int status, const struct msg_meta *m, uint32_t elapsed)
{
	ldns_pkt *t = status == 0 ? to_ldns(m, elapsed) : NULL;
	if (!t) {
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return;
	}
	ldns_pkt *out = ldns_pkt_new();
	ldns_rdf *owner = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, r->q.qname_len, r->q.qname);
	ldns_rdf *target = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, r->ptr_len, r->ptr_target);
	ldns_rr *q = ldns_rr_new();
	ldns_rr *cname = ldns_rr_new();
	if (!out || !owner || !target || !q || !cname) {
		ldns_pkt_free(out);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(target);
		ldns_rr_free(q);
		ldns_rr_free(cname);
		ldns_pkt_free(t);
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return;
	}
	ldns_rr_set_owner(q, ldns_rdf_clone(owner));
	ldns_rr_set_type(q, LDNS_RR_TYPE_PTR);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(out, LDNS_SECTION_QUESTION, q);
	uint32_t ttl = m->ttl > elapsed ? m->ttl - elapsed : 0;
	ldns_rr_set_owner(cname, owner);
	ldns_rr_set_type(cname, LDNS_RR_TYPE_CNAME);
	ldns_rr_set_class(cname, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(cname, m->ttl ? ttl : 600);
	ldns_rr_push_rdf(cname, target);
	ldns_pkt_push_rr(out, LDNS_SECTION_ANSWER, cname);
	ldns_rr_list *an = ldns_pkt_answer(t), *ns = ldns_pkt_authority(t);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
		ldns_pkt_push_rr(out, LDNS_SECTION_ANSWER, ldns_rr_clone(ldns_rr_list_rr(an, i)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
		ldns_pkt_push_rr(out, LDNS_SECTION_AUTHORITY, ldns_rr_clone(ldns_rr_list_rr(ns, i)));
	ldns_pkt_set_qr(out, true);
	ldns_pkt_set_ra(out, true);
	ldns_pkt_set_rcode(out, ldns_pkt_get_rcode(t));
	ldns_pkt_free(t);
	reply_pkt(r, out, false, false);
	ldns_pkt_free(out);
}

static void on_result(struct request *r, int status, const struct msg_meta *m, uint32_t elapsed)
{
	switch (r->stage) {
	case ST_PLAIN: on_plain(r, status, m, elapsed); break;
	case ST_AAAA: on_aaaa(r, status, m, elapsed); break;
	case ST_A: on_a(r, status, m, elapsed); break;
	case ST_PTR: on_ptr(r, status, m, elapsed); break;
	}
}

static void fetched(struct fetch_waiter *wt, int status, const struct msg_meta *m)
{
	struct request *r = (struct request *)((char *)wt - offsetof(struct request, wt));
	if (wt->upstream)
		memcpy(&r->upstream, wt->upstream, addr_len(wt->upstream));
	on_result(r, status, m, 0);
}

/* The AAAA query of a dns64 client went upstream: ask A at the same time, since most names
 * an IPv6-only client looks up still have only IPv4. If synthesis is needed, the A lookup
 * then finds the answer in the cache or joins the query in flight, instead of starting
 * after the AAAA answer: one upstream round trip instead of two. */
static void prefetch_a(struct request *r)
{
	struct worker *w = r->w;
	struct config *cfg = r->wc->cfg;
	if (under_any(cfg->no_synth, cfg->n_no_synth, &r->q))
		return;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = cache_key(key, r->q.qname, r->q.qname_len, DNS_T_A, r->q.qclass, r->flags, NULL, 0);
	size_t len;
	uint64_t stored;
	if (w->d->cache && cache_lookup(w->d->cache, key, klen, uv_now(&w->loop), w->storebuf, sizeof(w->storebuf),
	                                &len, &stored) != -ENOENT)
		return;
	upstream_prefetch(w, r->wc, key, klen, r->q.qname, r->q.qname_len, DNS_T_A, r->q.qclass, r->flags);
}

/* Cache first, then upstream; the stage handler runs now (cache hit) or later. */
static void fetch(struct request *r, const uint8_t *qname, size_t qname_len, uint16_t qtype)
{
	struct worker *w = r->w;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = cache_key(key, qname, qname_len, qtype, r->q.qclass, r->flags, NULL, 0);
	if (w->d->cache) {
		size_t len;
		uint64_t stored, now = uv_now(&w->loop);
		if (cache_lookup(w->d->cache, key, klen, now, w->storebuf, sizeof(w->storebuf), &len, &stored) == 0) {
			r->cache_hit = true;
			on_result(r, 0, (const struct msg_meta *)w->storebuf,
			          now > stored ? (uint32_t)((now - stored) / 1000) : 0);
			return;
		}
	}
	/* before the AAAA query: that one may complete (and free r) before it returns */
	if (r->stage == ST_AAAA && r->wc->cfg->prefetch_a)
		prefetch_a(r);
	unsigned cap = WAITING_PER_INFLIGHT * r->wc->cfg->max_inflight;
	if (w->n_requests > (cap > POOL_MAX ? cap : POOL_MAX)) {
		/* bounded memory: clients piling onto the same slow questions get SERVFAIL */
		counter_inc(&w->m.overload);
		on_result(r, -EBUSY, NULL, 0);
		return;
	}
	r->wt.cb = fetched;
	int rc = upstream_fetch(w, r->wc, key, klen, qname, qname_len, qtype, r->q.qclass, r->flags, &r->wt);
	if (rc < 0)
		on_result(r, rc, NULL, 0);
}

/* ---- local answers ----------------------------------------------------------------------- */

static const uint8_t ipv4only_arpa[] = "\x08ipv4only\x04"
                                       "arpa";

/* RFC 8880 §7.2: ipv4only.arpa is answered locally, never sent upstream. */
static bool ipv4only(struct request *r)
{
	const struct query *q = &r->q;
	size_t sl = sizeof(ipv4only_arpa);
	/* the name itself, or a name under it (which does not exist): find the label where the
	 * last sl bytes start */
	size_t off = 0;
	while (off + sl < q->qname_len && q->qname[off])
		off += 1u + q->qname[off];
	if (off + sl != q->qname_len || !wire_name_equal(q->qname + off, sl, ipv4only_arpa, sl))
		return false;
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *qrr = ldns_rr_new();
	if (!p || !qrr) {
		ldns_pkt_free(p);
		ldns_rr_free(qrr);
		reply_rcode(r, DNS_R_SERVFAIL, true);
		return true;
	}
	ldns_rr_set_owner(qrr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, q->qname_len, q->qname));
	ldns_rr_set_type(qrr, q->qtype);
	ldns_rr_set_class(qrr, q->qclass);
	ldns_rr_set_question(qrr, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_ra(p, true);
	bool exact = q->qname_len == sl;
	int count = 0;
	for (uint8_t host = 170; exact && q->qclass == DNS_C_IN && host <= 171; host++) {
		uint8_t v4[4] = {192, 0, 0, host}, v6[16];
		ldns_rdf *rd = NULL;
		if (q->qtype == DNS_T_A)
			rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, v4);
		else if (q->qtype == DNS_T_AAAA && r->action == ACL_DNS64) {
			dns64_embed(&r->prefix, v4, v6);
			rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, v6);
		}
		if (!rd)
			break;
		ldns_rr *rr = ldns_rr_new();
		ldns_rr_set_owner(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, q->qname_len, q->qname));
		ldns_rr_set_type(rr, q->qtype);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		ldns_rr_set_ttl(rr, LOCAL_TTL);
		ldns_rr_push_rdf(rr, rd);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
		count++;
	}
	if (!count) {
		ldns_rr *soa = NULL;
		ldns_rr_new_frm_str(&soa,
		                    "ipv4only.arpa. 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600", 0,
		                    NULL, NULL);
		if (soa)
			ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
		if (!exact)
			ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
	}
	if (q->qtype == DNS_T_AAAA && r->action == ACL_DNS64 && count)
		r->synthesized = true;
	reply_pkt(r, p, false, false);
	ldns_pkt_free(p);
	return true;
}

/* ---- entry ------------------------------------------------------------------------------- */

static void begin(struct request *r, const uint8_t *pkt, size_t len)
{
	struct worker *w = r->w;
	r->wc = wcfg_get(w);
	struct config *cfg = r->wc->cfg;
	r->start_ms = uv_now(&w->loop);
	r->family = addr_raw((const struct sockaddr *)&r->peer, r->ip);

	/* the ACL comes before anything else is done for a query */
	const struct acl_rule *rule = r->family > 0 ? acl_match(&cfg->acl, r->family, r->ip) : NULL;
	r->action = rule ? rule->action : ACL_REFUSE;
	if (r->action == ACL_DROP) {
		r->q.qname_len = 0;
		done(r);
		return;
	}
	enum wire_verdict v = wire_parse_query(pkt, len, &r->q);
	if (v == WIRE_DROP) {
		counter_inc(&w->m.malformed);
		done(r);
		return;
	}
	if (r->action == ACL_REFUSE) {
		reply_rcode(r, v == WIRE_OK ? DNS_R_REFUSED : (v == WIRE_NOTIMP ? DNS_R_NOTIMP : DNS_R_FORMERR), true);
		return;
	}
	if (cfg->cookies && r->q.cookie_len && (v == WIRE_OK || v == WIRE_NOQUESTION)) {
		size_t iplen = r->family == AF_INET ? 4 : 16;
		enum cookie_status st = cookie_check(daemon_secrets(w->d), r->q.cookie, r->q.cookie_len,
		                                     (uint32_t)time(NULL), r->ip, iplen, r->cookie);
		r->ro.cookie = r->cookie;
		r->ro.cookie_len = COOKIE_REPLY_LEN;
		if (st == COOKIE_BAD && r->tr == TRANSPORT_UDP) {
			/* RFC 7873 §5.2.3: wrong server cookie over UDP: BADCOOKIE with a fresh one */
			counter_inc(&w->m.badcookie);
			reply_rcode(r, DNS_R_BADCOOKIE, true);
			return;
		}
	}
	switch (v) {
	case WIRE_OK: break;
	case WIRE_NOTIMP: reply_rcode(r, DNS_R_NOTIMP, true); return;
	case WIRE_BADVERS: reply_rcode(r, DNS_R_BADVERS, true); return;
	case WIRE_NOQUESTION:
		/* RFC 7873 §5.4: a query with only a COOKIE gets NOERROR and a fresh server cookie */
		if (r->ro.cookie_len) {
			reply_rcode(r, DNS_R_NOERROR, false);
			return;
		}
		counter_inc(&w->m.malformed);
		reply_rcode(r, DNS_R_FORMERR, false);
		return;
	default:
		counter_inc(&w->m.malformed);
		reply_rcode(r, DNS_R_FORMERR, true);
		return;
	}
	const struct query *q = &r->q;
	if (q->qtype == DNS_T_OPT || (q->qtype >= 128 && q->qtype <= 255 && q->qtype != 255)) {
		/* meta types and zone transfers are not a forwarder's business */
		reply_rcode(r, q->qtype == DNS_T_OPT ? DNS_R_FORMERR : DNS_R_NOTIMP, true);
		return;
	}
	r->flags = (uint8_t)(((q->flags & F_RD) ? CACHE_F_RD : 0) | (q->do_bit ? CACHE_F_DO : 0) |
	                     ((q->flags & F_CD) ? CACHE_F_CD : 0));
	if (r->action == ACL_DNS64)
		r->prefix = rule->has_prefix ? rule->prefix : cfg->prefix;
	if (ipv4only(r))
		return;

	if (r->action == ACL_DNS64 && q->qtype == DNS_T_AAAA && q->qclass == DNS_C_IN) {
		if (q->do_bit && (q->flags & F_CD)) {
			/* RFC 6147 §5.5: a validating client sees the real answer */
			r->reason = DNS64_REASON_CD_DO;
		} else {
			uint8_t key[CACHE_KEY_MAX];
			size_t klen = synth_key(r, key), slen;
			uint64_t stored, now = r->start_ms;
			if (w->d->cache && klen &&
			    cache_lookup(w->d->cache, key, klen, now, w->storebuf, sizeof(w->storebuf), &slen,
			                 &stored) == 0) {
				const struct msg_meta *m = (const struct msg_meta *)w->storebuf;
				r->cache_hit = true;
				r->synthesized = m->synthesized;
				if (m->synthesized)
					metrics_synthesized(&w->m, &r->prefix);
				else
					r->reason = m->rcode == DNS_R_NXDOMAIN ? DNS64_REASON_NXDOMAIN
					                                       : DNS64_REASON_REAL_AAAA;
				reply_stored(r, m, now > stored ? (uint32_t)((now - stored) / 1000) : 0);
				return;
			}
			r->stage = ST_AAAA;
			fetch(r, q->qname, q->qname_len, DNS_T_AAAA);
			return;
		}
	} else if (r->action == ACL_DNS64 && q->qtype == DNS_T_PTR && q->qclass == DNS_C_IN &&
	           (r->ptr_len = dns64_ptr_target(&r->prefix, q->qname, q->qname_len, r->ptr_target))) {
		r->stage = ST_PTR;
		fetch(r, r->ptr_target, r->ptr_len, DNS_T_PTR);
		return;
	} else if (r->action == ACL_FORWARD && q->qtype == DNS_T_AAAA)
		r->reason = DNS64_REASON_FORWARD_ONLY;
	r->stage = ST_PLAIN;
	fetch(r, q->qname, q->qname_len, q->qtype);
}

void request_udp(struct worker *w, uv_udp_t *h, const struct sockaddr *peer, const uint8_t *pkt, size_t len)
{
	struct request *r = req_get(w);
	if (!r)
		return;
	r->tr = TRANSPORT_UDP;
	r->udp = h;
	r->conn = NULL;
	memcpy(&r->peer, peer, addr_len(peer));
	begin(r, pkt, len);
}

void request_tcp(struct worker *w, struct tcp_conn *c, const uint8_t *pkt, size_t len)
{
	struct request *r = req_get(w);
	if (!r) {
		tcp_conn_release(c);
		return;
	}
	r->tr = TRANSPORT_TCP;
	r->udp = NULL;
	r->conn = c;
	const struct sockaddr *peer = tcp_conn_peer(c);
	memcpy(&r->peer, peer, peer->sa_family ? addr_len(peer) : sizeof(r->peer));
	begin(r, pkt, len);
}
