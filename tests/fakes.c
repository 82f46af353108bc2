/* fakes.c - a fake client handle and a fake upstream transport, to run the real request driver in-process */
#include "fakes.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/request.h"

#include "dns64d/fetch.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "dns64d/workers.h"

/* ---- the client handle ------------------------------------------------------------------- */

static void fc_send(struct client *c, const uint8_t *msg, size_t len)
{
	struct fake_conn *fc = c->conn;
	if (fc->releases)
		fc->sends_after_release++;
	fc->sends++;
	struct fake_reply *r = realloc(fc->replies, (fc->n_replies + 1) * sizeof(*r));
	if (!r)
		abort();
	fc->replies = r;
	r[fc->n_replies].msg = malloc(len ? len : 1);
	if (!r[fc->n_replies].msg)
		abort();
	memcpy(r[fc->n_replies].msg, msg, len);
	r[fc->n_replies].len = len;
	fc->n_replies++;
}

static size_t fc_max_size(const struct client *c, size_t advertised)
{
	const struct fake_conn *fc = c->conn;
	if (fc->stream)
		return DNS_MAX_MSG;
	return advertised < DNS_UDP_MAX ? advertised : DNS_UDP_MAX;
}

static void fc_release(struct client *c)
{
	struct fake_conn *fc = c->conn;
	fc->releases++;
}

static const struct client_ops fake_client_ops = {fc_send, fc_max_size, fc_release};

void fake_client_init(struct client *c, struct fake_conn *fc, const char *ip, bool stream)
{
	memset(c, 0, sizeof(*c));
	memset(fc, 0, sizeof(*fc));
	fc->stream = stream;
	c->ops = &fake_client_ops;
	c->conn = fc;
	c->transport = stream ? TRANSPORT_TCP : TRANSPORT_UDP;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&c->peer;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->peer;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(5353);
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(5353);
	} else
		abort();
}

const struct fake_reply *fake_conn_last(const struct fake_conn *fc)
{
	return fc->n_replies ? &fc->replies[fc->n_replies - 1] : NULL;
}

void fake_conn_clear(struct fake_conn *fc)
{
	for (size_t i = 0; i < fc->n_replies; i++)
		free(fc->replies[i].msg);
	free(fc->replies);
	fc->replies = NULL;
	fc->n_replies = 0;
}

/* ---- answers ----------------------------------------------------------------------------- */

uint8_t *fake_build_answer(const uint8_t *q, size_t qlen, uint8_t rcode, const char *const *rrs, size_t *len)
{
	ldns_pkt *qp = NULL, *a = NULL;
	uint8_t *wire = NULL;
	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
		return NULL;
	if (!(a = ldns_pkt_new()))
		goto cleanup;
	ldns_pkt_set_id(a, ldns_pkt_id(qp));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_rd(a, ldns_pkt_rd(qp));
	ldns_pkt_set_cd(a, ldns_pkt_cd(qp));
	ldns_pkt_set_ra(a, true);
	ldns_pkt_set_rcode(a, rcode);
	ldns_rr_list *qs = ldns_pkt_question(qp);
	for (size_t i = 0; i < ldns_rr_list_rr_count(qs); i++)
		ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(qs, i)));
	for (size_t i = 0; rrs && rrs[i]; i++) {
		const char *text = rrs[i];
		ldns_pkt_section sec = LDNS_SECTION_ANSWER;
		ldns_rr *rr = NULL;
		if (text[0] == '@') {
			sec = LDNS_SECTION_AUTHORITY;
			text++;
		}
		if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
			goto cleanup;
		ldns_pkt_push_rr(a, sec, rr);
	}
	if (ldns_pkt_edns(qp)) {
		ldns_pkt_set_edns_udp_size(a, DNS_UDP_MAX);
		ldns_pkt_set_edns_do(a, ldns_pkt_edns_do(qp));
	}
	if (ldns_pkt2wire(&wire, a, len) != LDNS_STATUS_OK) {
		free(wire);
		wire = NULL;
	}
cleanup:
	ldns_pkt_free(qp);
	ldns_pkt_free(a);
	return wire;
}

/* ---- the upstream ------------------------------------------------------------------------ */

struct fake_transport {
	struct transport t;
	struct fake_net *net;
	bool tcp;
	uv_timer_t timer; /* answers due on the next loop turn */
};

static const struct fake_script *script_for(const struct fake_net *net, const struct fake_xfer *fx)
{
	for (size_t i = 0; i < net->n_script; i++)
		if (net->script[i].qtype == fx->qtype && strcasecmp(net->script[i].qname, fx->qname) == 0)
			return &net->script[i];
	return NULL;
}

static void give(struct fake_net *net, struct fake_xfer *fx, int status, const uint8_t *msg, size_t len)
{
	struct xfer *x = fx->x;
	if (net->in_start)
		net->violations++; /* transport.h: never a callback inside start() */
	fx->x = NULL;
	x->active = false;
	net->open--;
	net->answered++;
	x->cb(x, status, msg, len);
}

void fake_net_answer(struct fake_net *net, struct fake_xfer *fx, uint8_t rcode, const char *const *rrs)
{
	size_t len = 0;
	if (!fx || !fx->x) {
		net->violations++; /* nothing open to answer: the test expected otherwise */
		return;
	}
	uint8_t *msg = fake_build_answer(fx->x->query, fx->x->query_len, rcode, rrs, &len);
	if (!msg) {
		net->violations++; /* a broken script: make the test fail */
		give(net, fx, -EBADMSG, NULL, 0);
		return;
	}
	give(net, fx, 0, msg, len);
	free(msg);
}

void fake_net_answer_raw(struct fake_net *net, struct fake_xfer *fx, const uint8_t *msg, size_t len)
{
	if (!fx || !fx->x) {
		net->violations++;
		return;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, msg, len);
	if (len >= 2)
		wr16(copy, fx->x->id);
	if (xfer_answer_matches(fx->x, copy, len))
		give(net, fx, 0, copy, len);
	else
		give(net, fx, -EBADMSG, NULL, 0);
	free(copy);
}

static void answer_scripted(struct fake_net *net, struct fake_xfer *fx)
{
	const struct fake_script *s = script_for(net, fx);
	enum fake_action act = s ? s->action : net->otherwise;
	if (act == FAKE_SERVFAIL)
		fake_net_answer(net, fx, LDNS_RCODE_SERVFAIL, NULL);
	else if (act == FAKE_ANSWER)
		fake_net_answer(net, fx, s ? s->rcode : LDNS_RCODE_NXDOMAIN, s ? s->rrs : NULL);
}

/* Answer what was due when this turn began; what the callbacks start waits for the next. */
static void on_due(uv_timer_t *t)
{
	struct fake_transport *ft = t->data;
	struct fake_net *net = ft->net;
	size_t n = 0, k = 0;
	for (struct fake_xfer *fx = net->log; fx; fx = fx->next)
		n += fx->x && fx->ready && fx->tcp == ft->tcp;
	struct fake_xfer **due = calloc(n ? n : 1, sizeof(*due));
	if (!due)
		abort();
	for (struct fake_xfer *fx = net->log; fx; fx = fx->next)
		if (fx->x && fx->ready && fx->tcp == ft->tcp)
			due[k++] = fx;
	/* oldest first, as a server would answer them */
	for (size_t i = n; i-- > 0;)
		if (due[i]->x)
			answer_scripted(net, due[i]);
	free(due);
}

static int ft_start(struct transport *t, struct xfer *x)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	struct fake_net *net = ft->net;
	if (xfer_prepare(x) < 0)
		return -EINVAL;
	struct fake_xfer *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -ENOMEM;
	net->in_start++;
	fx->x = x;
	fx->server = x->server;
	fx->tcp = ft->tcp;
	wire_name_to_text(x->query + DNS_HDR, x->qname_len, fx->qname);
	for (char *p = fx->qname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	fx->qtype = rd16(x->query + DNS_HDR + x->qname_len);
	const struct fake_script *s = script_for(net, fx);
	fx->ready = (s ? s->action : net->otherwise) != FAKE_HOLD;
	fx->next = net->log;
	net->log = fx;
	x->conn = fx;
	x->active = true;
	net->started++;
	net->open++;
	t->stats.exchanges++;
	if (fx->ready)
		uv_timer_start(&ft->timer, on_due, 0, 0);
	net->in_start--;
	return 0;
}

static void ft_cancel(struct transport *t, struct xfer *x)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	struct fake_xfer *fx = x->conn;
	x->active = false;
	if (!fx || !fx->x)
		return;
	fx->x = NULL;
	fx->cancelled = true;
	ft->net->open--;
	ft->net->cancelled++;
}

static void ft_closed(uv_handle_t *h)
{
	struct fake_transport *ft = h->data;
	ft->net->closed++;
	free(ft);
}

static void ft_close(struct transport *t)
{
	struct fake_transport *ft = (struct fake_transport *)t;
	struct fake_net *net = ft->net;
	/* exchanges still in progress get no callback */
	for (struct fake_xfer *fx = net->log; fx; fx = fx->next)
		if (fx->x && fx->tcp == ft->tcp) {
			fx->x->active = false;
			fx->x = NULL;
			net->open--;
		}
	if (ft->tcp)
		net->tcp = NULL;
	else
		net->udp = NULL;
	uv_close((uv_handle_t *)&ft->timer, ft_closed);
}

static const struct transport_ops fake_udp_ops = {"udp", ft_start, ft_cancel, ft_close};
static const struct transport_ops fake_tcp_ops = {"tcp", ft_start, ft_cancel, ft_close};

static struct transport *ft_new(struct fake_net *net, uv_loop_t *loop, bool tcp)
{
	struct fake_transport *ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->t.ops = tcp ? &fake_tcp_ops : &fake_udp_ops;
	ft->t.loop = loop;
	ft->net = net;
	ft->tcp = tcp;
	uv_timer_init(loop, &ft->timer);
	ft->timer.data = ft;
	return &ft->t;
}

int fake_net_attach(struct fake_net *net, struct worker *w)
{
	net->udp = ft_new(net, &w->loop, false);
	net->tcp = ft_new(net, &w->loop, true);
	if (!net->udp || !net->tcp)
		return -ENOMEM;
	fetch_ctx_set_transports(w->fetch, net->udp, net->tcp);
	return 0;
}

void fake_net_detach(struct fake_net *net, struct worker *w)
{
	fetch_ctx_set_transports(w->fetch, NULL, NULL);
	for (unsigned i = 0; i < 4 && net->closed < 2; i++)
		uv_run(&w->loop, UV_RUN_NOWAIT);
}

unsigned fake_net_count(const struct fake_net *net, const char *qname, uint16_t qtype)
{
	unsigned n = 0;
	for (const struct fake_xfer *fx = net->log; fx; fx = fx->next)
		n += (!qtype || fx->qtype == qtype) && strcasecmp(fx->qname, qname) == 0;
	return n;
}

struct fake_xfer *fake_net_find_open(struct fake_net *net, const char *qname, uint16_t qtype)
{
	struct fake_xfer *found = NULL;
	for (struct fake_xfer *fx = net->log; fx; fx = fx->next)
		if (fx->x && (!qtype || fx->qtype == qtype) && strcasecmp(fx->qname, qname) == 0)
			found = fx; /* the list is newest first: keep the last match */
	return found;
}

void fake_net_free(struct fake_net *net)
{
	while (net->log) {
		struct fake_xfer *fx = net->log;
		net->log = fx->next;
		free(fx);
	}
}

/* ---- a daemon with one worker ------------------------------------------------------------- */

int fake_daemon_start(struct fake_daemon *fd, struct config *cfg)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int rc;
	fd->d = d;
	fd->w = NULL;
	if (!d)
		return -ENOMEM;
	d->pending = config_ref(cfg);
	pthread_mutex_init(&d->pending_lock, NULL);
	uint8_t secret[COOKIE_SECRET_LEN];
	for (unsigned i = 0; i < COOKIE_SECRET_LEN; i++)
		secret[i] = (uint8_t)(0x11 * i + 1);
	cookie_ring_init(&d->secrets[0], secret, (uint32_t)time(NULL));
	d->n_workers = 1;
	d->workers = fd->ws;
	if (cfg->cache_size && (rc = cache_new(cfg->cache_size, 4, &d->cache)) < 0)
		return rc;
	if (d->cache)
		cache_set_max_stale(d->cache, cfg->max_stale_s);
	snprintf(d->hostname, sizeof(d->hostname), "fake-host");
	if ((rc = fetch_init(d)) < 0)
		return rc;
	fetch_register(d, cfg);
	memset(fd->ws, 0, sizeof(fd->ws));
	rc = worker_new(d, 0, NULL, 0, &fd->w);
	fd->ws[0] = fd->w;
	return rc;
}

int fake_daemon_add_worker(struct fake_daemon *fd, struct worker **out)
{
	struct daemon *d = fd->d;
	if (d->n_workers >= FAKE_WORKERS_MAX)
		return -ENOSPC;
	int rc = worker_new(d, d->n_workers, NULL, 0, &fd->ws[d->n_workers]);
	if (rc < 0)
		return rc;
	*out = fd->ws[d->n_workers++];
	return 0;
}

int fake_daemon_reset(struct fake_daemon *fd)
{
	struct daemon *d = fd->d;
	struct worker *w = fd->w;
	if (request_count(w) != 0)
		return -EBUSY;
	fetch_shutdown(w, true);
	/* the cancelled fetches' timers close on the next turns */
	for (unsigned i = 0; i < 2; i++)
		uv_run(&w->loop, UV_RUN_NOWAIT);
	if (d->cache)
		cache_flush(d->cache);
	fetch_fini(d);
	int rc = fetch_init(d);
	if (rc < 0)
		return rc;
	fetch_register(d, d->pending);
	return 0;
}

static void count_handle(uv_handle_t *h, void *arg)
{
	(void)h;
	(*(int *)arg)++;
}

int fake_daemon_stop(struct fake_daemon *fd)
{
	struct daemon *d = fd->d;
	int left = 0;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (request_count(fd->ws[i]) != 0)
			return -EBUSY;
	atomic_store(&d->stopping, true);
	for (unsigned i = 0; i < d->n_workers; i++)
		worker_stop(fd->ws[i]);
	if (d->n_workers == 1)
		uv_run(&fd->w->loop, UV_RUN_DEFAULT);
	else {
		/* one thread for every loop: turns, until all have ended (or 10 s) */
		for (unsigned turn = 0, alive = 1; alive && turn < 10000; turn++) {
			alive = 0;
			for (unsigned i = 0; i < d->n_workers; i++)
				alive += uv_run(&fd->ws[i]->loop, UV_RUN_NOWAIT) != 0;
			if (alive)
				uv_sleep(1);
		}
	}
	for (unsigned i = 0; i < d->n_workers; i++) {
		struct worker *w = fd->ws[i];
		/* worker_free closes the loop itself and only logs a failure: count what is left here */
		uv_walk(&w->loop, count_handle, &left);
		if (uv_loop_alive(&w->loop))
			left++;
		worker_free(w);
	}
	fetch_fini(d);
	if (d->cache)
		cache_free(d->cache);
	config_unref(d->pending);
	pthread_mutex_destroy(&d->pending_lock);
	free(d);
	fd->d = NULL;
	fd->w = NULL;
	return left;
}
