/* test_driver.c - whole queries through the real request driver, with a fake client and a fake upstream
 *
 * Each test builds a config from text, a daemon and one worker without listeners or thread
 * (worker_new with no fds), gives the worker's fetch layer the fake transports of fakes.h and
 * runs the worker's loop itself. Nothing sleeps: a test runs the loop until the reply it
 * expects has been released, with a guard timer that only turns a hang into a failure. Each
 * test ends by stopping the worker the way the daemon does, with every handle closed (what
 * uv_loop_close() == 0 needs), and nothing leaked (ASan build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>
#include <uv.h>

#include "dns64d/acl.h"
#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/errbuf.h"
#include "dns64d/fetch.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "dns64d/workers.h"

#include "fakes.h"

#define GUARD_MS 10000 /* only turns a hang into a failure; no test comes near it */

/* dns64 for loopback, forward, refuse and drop for three documentation networks */
static const char acl_text[] = "127.0.0.0/8      dns64\n"
                               "::1/128          dns64\n"
                               "203.0.113.0/24   forward\n"
                               "192.0.2.0/24     refuse\n"
                               "198.51.100.0/24  drop\n";

static const char base_conf[] = "upstream 127.0.0.53:5300\n"
                                "cache-size 1m\n";

/* ---------- the daemon, its worker and the fakes ---------- */

struct env {
	struct fake_daemon fd;
	struct worker *w;
	struct fake_net net;
	uv_timer_t guard;
	bool guard_fired;
};

static struct env E;

static void env_start(const char *extra_conf, const struct fake_script *script, size_t n_script,
                      enum fake_action otherwise)
{
	char text[1024];
	struct errbuf err = {.len = 0};
	struct config *cfg = NULL;

	snprintf(text, sizeof(text), "%s%s", base_conf, extra_conf ? extra_conf : "");
	memset(&E, 0, sizeof(E));
	if (config_parse("test.conf", text, &cfg, &err) != 0)
		fail_msg("config: %s", err.text);
	acl_free(&cfg->acl);
	if (acl_parse("test.acl", acl_text, &cfg->acl, &err) != 0)
		fail_msg("acl: %s", err.text);
	cfg->generation = 1;
	assert_int_equal(fake_daemon_start(&E.fd, cfg), 0);
	config_unref(cfg); /* the daemon holds it */
	E.w = E.fd.w;
	E.net.script = script;
	E.net.n_script = n_script;
	E.net.otherwise = otherwise;
	assert_int_equal(fake_net_attach(&E.net, E.w), 0);
	uv_timer_init(&E.w->loop, &E.guard);
	E.guard.data = &E;
}

/* Stop the worker as the daemon does and free everything. */
static void env_stop(void)
{
	assert_int_equal(request_count(E.w), 0);
	assert_int_equal(E.net.violations, 0);
	uv_close((uv_handle_t *)&E.guard, NULL);
	/* 0 handles left: what uv_loop_close() == 0 needs */
	assert_int_equal(fake_daemon_stop(&E.fd), 0);
	assert_int_equal(E.net.closed, 2); /* both fake transports closed by the fetch layer */
	assert_int_equal(E.net.open, 0);
	fake_net_free(&E.net);
}

static void on_guard(uv_timer_t *t)
{
	((struct env *)t->data)->guard_fired = true;
}

/* Run the loop until fc's query is finished (released), bounded by the guard. */
static void run_until_released(struct fake_conn *fc)
{
	E.guard_fired = false;
	uv_timer_start(&E.guard, on_guard, GUARD_MS, 0);
	while (fc->releases == 0 && !E.guard_fired)
		uv_run(&E.w->loop, UV_RUN_ONCE);
	uv_timer_stop(&E.guard);
	assert_false(E.guard_fired);
	assert_int_equal(fc->releases, 1);
}

/* ---------- queries and replies ---------- */

static bool query_do_cd;          /* the next queries made set DO and CD (a validating client) */
static const uint8_t *query_opts; /* the next queries made carry these EDNS options */
static size_t query_opts_len;

static size_t make_query(uint8_t *out, uint16_t id, const char *name, ldns_rr_type type, bool edns)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	if (edns)
		ldns_pkt_set_edns_udp_size(p, 1232);
	if (query_opts) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, query_opts_len, query_opts));
	}
	if (query_do_cd) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, true);
		ldns_pkt_set_cd(p, true);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

/* A client at ip asks name/type over UDP or a stream; returns with the request started
 * (maybe finished). */
static void ask_on(struct fake_conn *fc, const char *ip, const char *name, ldns_rr_type type, bool edns, uint16_t id,
                   bool stream)
{
	uint8_t q[512];
	struct client c;
	size_t n = make_query(q, id, name, type, edns);
	fake_client_init(&c, fc, ip, stream);
	request_start(E.w, &c, q, n);
}

static void ask(struct fake_conn *fc, const char *ip, const char *name, ldns_rr_type type, bool edns, uint16_t id)
{
	ask_on(fc, ip, name, type, edns, id, false);
}

static void send_raw(struct fake_conn *fc, const char *ip, const uint8_t *pkt, size_t len)
{
	struct client c;
	fake_client_init(&c, fc, ip, false);
	request_start(E.w, &c, pkt, len);
}

/* The one reply fc got, parsed; checks ID and the size limit: 65535 for a stream, else
 * that of a UDP client without EDNS (512) or with 1232. */
static ldns_pkt *the_reply(struct fake_conn *fc, uint16_t id)
{
	ldns_pkt *p = NULL;
	assert_int_equal(fc->n_replies, 1);
	assert_int_equal(fc->releases, 1);
	assert_int_equal(fc->sends_after_release, 0);
	const struct fake_reply *r = fake_conn_last(fc);
	assert_true(r->len >= DNS_HDR && r->len <= (fc->stream ? DNS_MAX_MSG : DNS_UDP_MAX));
	assert_int_equal(ldns_wire2pkt(&p, r->msg, r->len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), id);
	assert_true(ldns_pkt_qr(p));
	if (!ldns_pkt_edns(p) && !fc->stream)
		assert_true(r->len <= 512);
	return p;
}

static void done(struct fake_conn *fc, ldns_pkt *p)
{
	ldns_pkt_free(p);
	fake_conn_clear(fc);
}

/* Number of answer records of type t; the first one's first rdata into rd (if given). */
static unsigned answers(const ldns_pkt *p, ldns_rr_type t, const ldns_rr **first)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	unsigned n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != t)
			continue;
		if (n++ == 0 && first)
			*first = rr;
	}
	return n;
}

static bool rr_has_addr(const ldns_rr *rr, const char *text)
{
	uint8_t want[16];
	int af = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(af, text, want), 1);
	const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
	size_t len = af == AF_INET6 ? 16 : 4;
	return rd && ldns_rdf_size(rd) == len && memcmp(ldns_rdf_data(rd), want, len) == 0;
}

static bool has_answer(const ldns_pkt *p, ldns_rr_type t, const char *addr)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == t && rr_has_addr(rr, addr))
			return true;
	}
	return false;
}

/* The EDNS option code in the reply's OPT record: its length, its data in *data; -1 if absent. */
static int edns_option(const ldns_pkt *p, unsigned want, const uint8_t **data)
{
	const ldns_rdf *opts = ldns_pkt_edns_data(p);
	if (!opts)
		return -1;
	const uint8_t *o = ldns_rdf_data(opts);
	size_t n = ldns_rdf_size(opts);
	for (size_t i = 0; i + 4 <= n;) {
		unsigned code = rd16(o + i), len = rd16(o + i + 2);
		if (i + 4 + len > n)
			return -1;
		if (code == want) {
			*data = o + i + 4;
			return (int)len;
		}
		i += 4 + len;
	}
	return -1;
}

/* The EDE info code in the reply's OPT record (RFC 8914), or -1. */
static int ede_code(const ldns_pkt *p)
{
	const uint8_t *d = NULL;
	return edns_option(p, 15, &d) >= 2 ? rd16(d) : -1;
}

/* ---------- the scripted upstream ---------- */

#define SOA(zone) "@" zone " 300 IN SOA ns." zone " host." zone " 1 3600 600 86400 300"

static const struct fake_script script[] = {
        {"www.example.", LDNS_RR_TYPE_A, FAKE_ANSWER, 0, {"www.example. 300 IN A 8.8.8.8"}},
        {"v4only.example.", LDNS_RR_TYPE_AAAA, FAKE_ANSWER, 0, {SOA("example.")}},
        {"v4only.example.", LDNS_RR_TYPE_A, FAKE_ANSWER, 0, {"v4only.example. 300 IN A 8.8.4.4"}},
        {"dual.example.", LDNS_RR_TYPE_AAAA, FAKE_ANSWER, 0, {"dual.example. 300 IN AAAA 2001:db8::1"}},
        {"dual.example.", LDNS_RR_TYPE_A, FAKE_ANSWER, 0, {"dual.example. 300 IN A 8.8.4.4"}},
        {"4.4.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR, FAKE_ANSWER, 0, {"4.4.8.8.in-addr.arpa. 300 IN PTR dns.example."}},
        {"silent-a.example.", LDNS_RR_TYPE_AAAA, FAKE_ANSWER, 0, {SOA("example.")}},
        {"silent-a.example.", LDNS_RR_TYPE_A, FAKE_HOLD, 0, {NULL}},
        {"broken.example.", LDNS_RR_TYPE_A, FAKE_SERVFAIL, 0, {NULL}},
        {"slowpoke.example.", LDNS_RR_TYPE_A, FAKE_HOLD, 0, {NULL}},
        {"mapped.example.", LDNS_RR_TYPE_AAAA, FAKE_ANSWER, 0, {"mapped.example. 300 IN AAAA ::ffff:8.8.4.4"}},
        {"mapped.example.", LDNS_RR_TYPE_A, FAKE_ANSWER, 0, {"mapped.example. 300 IN A 8.8.4.4"}},
        {"gone.example.", LDNS_RR_TYPE_AAAA, FAKE_ANSWER, LDNS_RCODE_NXDOMAIN, {SOA("example.")}},
        {"gone.example.", LDNS_RR_TYPE_A, FAKE_ANSWER, LDNS_RCODE_NXDOMAIN, {SOA("example.")}},
        {"5.5.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR, FAKE_SERVFAIL, 0, {NULL}},
        {"6.6.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR, FAKE_ANSWER, 0, {"6.6.8.8.in-addr.arpa. 0 IN PTR zero.example."}},
};
#define N_SCRIPT (sizeof(script) / sizeof(script[0]))

/* ---------- tests ---------- */

/* A miss goes upstream once; the answer comes back from the test body between loop turns. */
static void test_cache_miss(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, NULL, 0, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "www.example.", LDNS_RR_TYPE_A, false, 0x1001);
	assert_int_equal(fc.sends, 0); /* nothing to say yet */
	assert_int_equal(fc.releases, 0);
	assert_int_equal(E.net.started, 1);
	assert_int_equal(fake_net_count(&E.net, "www.example.", LDNS_RR_TYPE_A), 1);
	uv_run(&E.w->loop, UV_RUN_NOWAIT);
	assert_int_equal(fc.sends, 0);
	struct fake_xfer *fx = fake_net_find_open(&E.net, "www.example.", LDNS_RR_TYPE_A);
	assert_non_null(fx);
	assert_false(fx->tcp);
	static const char *const rrs[] = {"www.example. 300 IN A 8.8.8.8", NULL};
	fake_net_answer(&E.net, fx, LDNS_RCODE_NOERROR, rrs);
	assert_int_equal(fc.releases, 1); /* the answer went straight through the driver */
	ldns_pkt *p = the_reply(&fc, 0x1001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "8.8.8.8"));
	assert_int_equal(E.net.started, 1);
	done(&fc, p);
	env_stop();
}

/* The second identical query is answered from cache, before request_start returns. */
static void test_cache_hit(void **state)
{
	(void)state;
	struct fake_conn fc1, fc2;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc1, "127.0.0.1", "www.example.", LDNS_RR_TYPE_A, false, 0x2001);
	assert_int_equal(fc1.sends, 0);
	run_until_released(&fc1);
	done(&fc1, the_reply(&fc1, 0x2001));
	assert_int_equal(E.net.started, 1);

	ask(&fc2, "127.0.0.1", "WWW.example.", LDNS_RR_TYPE_A, false, 0x2002);
	assert_int_equal(fc2.sends, 1); /* synchronously */
	assert_int_equal(fc2.releases, 1);
	assert_int_equal(request_count(E.w), 0);
	assert_int_equal(E.net.started, 1); /* no second upstream query */
	ldns_pkt *p = the_reply(&fc2, 0x2002);
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "8.8.8.8"));
	/* the question as the client wrote it */
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	assert_string_equal(qn, "WWW.example.");
	free(qn);
	done(&fc2, p);
	env_stop();
}

/* RFC 6147: AAAA NODATA and an A record give a synthesized AAAA under 64:ff9b::/96, with
 * EDE 29 for an EDNS client; a client without EDNS then gets it from the synth cache. */
static void test_synthesis(void **state)
{
	(void)state;
	struct fake_conn fc;
	const ldns_rr *rr = NULL;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "v4only.example.", LDNS_RR_TYPE_AAAA, true, 0x3001);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x3001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(answers(p, LDNS_RR_TYPE_AAAA, &rr), 1);
	assert_int_equal(answers(p, LDNS_RR_TYPE_A, NULL), 0);
	/* RFC 6052 §2.2, /96: the IPv4 address in the last 32 bits */
	static const uint8_t want[16] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 4, 4};
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 0)), 16);
	assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr, 0)), want, 16);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ede_code(p), EDE_SYNTHESIZED);
	/* the A lookup went out once, with the AAAA lookup (prefetch), and was joined */
	assert_int_equal(fake_net_count(&E.net, "v4only.example.", LDNS_RR_TYPE_AAAA), 1);
	assert_int_equal(fake_net_count(&E.net, "v4only.example.", LDNS_RR_TYPE_A), 1);
	done(&fc, p);

	ask(&fc, "127.0.0.1", "v4only.example.", LDNS_RR_TYPE_AAAA, false, 0x3002);
	assert_int_equal(fc.releases, 1); /* from the synth cache, at once */
	p = the_reply(&fc, 0x3002);
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "64:ff9b::808:404"));
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(E.net.started, 2);
	done(&fc, p);
	env_stop();
}

/* A name with AAAA records gets them, nothing synthesized. */
static void test_dual_stack(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "::1", "dual.example.", LDNS_RR_TYPE_AAAA, true, 0x4001);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x4001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(answers(p, LDNS_RR_TYPE_AAAA, NULL), 1);
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "2001:db8::1"));
	assert_false(has_answer(p, LDNS_RR_TYPE_AAAA, "64:ff9b::808:404"));
	assert_int_not_equal(ede_code(p), EDE_SYNTHESIZED);
	done(&fc, p);
	env_stop();
}

/* A forward client's AAAA is passed on as it is: NODATA stays NODATA. */
static void test_forward_client(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "203.0.113.7", "v4only.example.", LDNS_RR_TYPE_AAAA, false, 0x4101);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x4101);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(fake_net_count(&E.net, "v4only.example.", LDNS_RR_TYPE_A), 0);
	done(&fc, p);
	env_stop();
}

/* RFC 6147 §5.3.1: PTR for an address under the prefix is a CNAME to the in-addr.arpa name,
 * whose PTR is fetched upstream. */
static void test_ptr(void **state)
{
	(void)state;
	struct fake_conn fc;
	char name[128];
	size_t o = 0;
	/* 64:ff9b::808:404 in nibbles, last first */
	static const uint8_t a[16] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 4, 4};
	for (int i = 15; i >= 0; i--)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	snprintf(name + o, sizeof(name) - o, "ip6.arpa.");

	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", name, LDNS_RR_TYPE_PTR, false, 0x5001);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x5001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	const ldns_rr *cname = NULL, *ptr = NULL;
	assert_int_equal(answers(p, LDNS_RR_TYPE_CNAME, &cname), 1);
	assert_int_equal(answers(p, LDNS_RR_TYPE_PTR, &ptr), 1);
	char *owner = ldns_rdf2str(ldns_rr_owner(cname));
	char *target = ldns_rdf2str(ldns_rr_rdf(cname, 0));
	char *ptr_owner = ldns_rdf2str(ldns_rr_owner(ptr));
	char *host = ldns_rdf2str(ldns_rr_rdf(ptr, 0));
	assert_string_equal(owner, name);
	assert_string_equal(target, "4.4.8.8.in-addr.arpa.");
	assert_string_equal(ptr_owner, "4.4.8.8.in-addr.arpa.");
	assert_string_equal(host, "dns.example.");
	free(owner);
	free(target);
	free(ptr_owner);
	free(host);
	assert_int_equal(fake_net_count(&E.net, "4.4.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR), 1);
	assert_int_equal(E.net.started, 1); /* the ip6.arpa name itself is never asked */
	done(&fc, p);
	env_stop();
}

/* The ip6.arpa name of 64:ff9b::808:XXXX (last octets o3, o4) into name. */
static void ptr_name(char *name, size_t len, uint8_t o3, uint8_t o4)
{
	const uint8_t a[16] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 8, 8, o3, o4};
	size_t o = 0;
	for (int i = 15; i >= 0; i--)
		o += (size_t)snprintf(name + o, len - o, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	snprintf(name + o, len - o, "ip6.arpa.");
}

/* Issue 14 §6: every upstream SERVFAILs the in-addr.arpa target: a clean SERVFAIL, without the
 * synthesized CNAME. */
static void test_ptr_target_servfail(void **state)
{
	(void)state;
	struct fake_conn fc;
	char name[128];
	ptr_name(name, sizeof(name), 5, 5);
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", name, LDNS_RR_TYPE_PTR, false, 0x5101);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x5101);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	done(&fc, p);
	env_stop();
}

/* Issue 14 §6: the CNAME lives as long as its target: a TTL-0 PTR gives a TTL-0 CNAME. */
static void test_ptr_cname_ttl_follows_target(void **state)
{
	(void)state;
	struct fake_conn fc;
	char name[128];
	ptr_name(name, sizeof(name), 6, 6);
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", name, LDNS_RR_TYPE_PTR, false, 0x5201);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0x5201);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	const ldns_rr *cname = NULL;
	assert_int_equal(answers(p, LDNS_RR_TYPE_CNAME, &cname), 1);
	assert_int_equal(ldns_rr_ttl(cname), 0);
	done(&fc, p);
	env_stop();
}

/* A refused client gets REFUSED at once; nothing is asked upstream. */
static void test_refused(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "192.0.2.10", "www.example.", LDNS_RR_TYPE_A, false, 0x6001);
	assert_int_equal(fc.releases, 1);
	ldns_pkt *p = the_reply(&fc, 0x6001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(E.net.started, 0);
	done(&fc, p);
	/* a client no rule matches is refused as well */
	ask(&fc, "10.9.9.9", "www.example.", LDNS_RR_TYPE_A, false, 0x6002);
	p = the_reply(&fc, 0x6002);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(E.net.started, 0);
	done(&fc, p);
	env_stop();
}

/* A dropped client gets nothing, and the handle is still released once. */
static void test_drop(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "198.51.100.1", "www.example.", LDNS_RR_TYPE_A, false, 0x7001);
	assert_int_equal(fc.sends, 0);
	assert_int_equal(fc.releases, 1);
	/* even garbage from it costs nothing */
	static const uint8_t junk[3] = {1, 2, 3};
	send_raw(&fc, "198.51.100.1", junk, sizeof(junk));
	assert_int_equal(fc.sends, 0);
	assert_int_equal(fc.releases, 1);
	uv_run(&E.w->loop, UV_RUN_NOWAIT);
	assert_int_equal(fc.sends, 0);
	assert_int_equal(E.net.started, 0);
	env_stop();
}

/* Too short or QR=1: dropped. A broken question: FORMERR. */
static void test_malformed(void **state)
{
	(void)state;
	struct fake_conn fc;
	uint8_t q[512];
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);

	static const uint8_t shorty[5] = {0x12, 0x34, 0x01, 0x00, 0x00};
	send_raw(&fc, "127.0.0.1", shorty, sizeof(shorty));
	assert_int_equal(fc.sends, 0);
	assert_int_equal(fc.releases, 1);

	size_t n = make_query(q, 0x8001, "www.example.", LDNS_RR_TYPE_A, false);
	q[2] |= 0x80; /* QR=1: a response, never answered */
	send_raw(&fc, "127.0.0.1", q, n);
	assert_int_equal(fc.sends, 0);
	assert_int_equal(fc.releases, 1);

	/* QDCOUNT 1, a label running past the end */
	static const uint8_t bad[] = {0x80, 0x02, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 20, 'w', 'w', 'w'};
	send_raw(&fc, "127.0.0.1", bad, sizeof(bad));
	assert_int_equal(fc.releases, 1);
	assert_int_equal(fc.n_replies, 1);
	const struct fake_reply *r = fake_conn_last(&fc);
	assert_true(r->len >= DNS_HDR);
	assert_int_equal(rd16(r->msg), 0x8002);
	assert_true(r->msg[2] & 0x80);
	assert_int_equal(r->msg[3] & 0x0f, DNS_R_FORMERR);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, r->msg, r->len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	fake_conn_clear(&fc);
	assert_int_equal(E.net.started, 0);
	env_stop();
}

/* An opcode other than QUERY: NOTIMP. */
static void test_notimp(void **state)
{
	(void)state;
	struct fake_conn fc;
	uint8_t q[512];
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	size_t n = make_query(q, 0x9001, "www.example.", LDNS_RR_TYPE_A, false);
	q[2] = (uint8_t)((q[2] & 0x87) | (2 << 3)); /* opcode 2, STATUS */
	send_raw(&fc, "127.0.0.1", q, n);
	assert_int_equal(fc.releases, 1);
	assert_int_equal(fc.n_replies, 1);
	const struct fake_reply *r = fake_conn_last(&fc);
	assert_int_equal(rd16(r->msg), 0x9001);
	assert_int_equal(r->msg[3] & 0x0f, DNS_R_NOTIMP);
	fake_conn_clear(&fc);
	assert_int_equal(E.net.started, 0);
	env_stop();
}

/* ipv4only.arpa (RFC 8880) and localhost (RFC 6761) are answered here, at once. */
static void test_local(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "ipv4only.arpa.", LDNS_RR_TYPE_AAAA, false, 0xa001);
	ldns_pkt *p = the_reply(&fc, 0xa001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(answers(p, LDNS_RR_TYPE_AAAA, NULL), 2);
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "64:ff9b::c000:aa"));
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "64:ff9b::c000:ab"));
	done(&fc, p);

	ask(&fc, "127.0.0.1", "ipv4only.arpa.", LDNS_RR_TYPE_A, false, 0xa002);
	p = the_reply(&fc, 0xa002);
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "192.0.0.170"));
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "192.0.0.171"));
	done(&fc, p);

	ask(&fc, "127.0.0.1", "localhost.", LDNS_RR_TYPE_A, false, 0xa003);
	p = the_reply(&fc, 0xa003);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "127.0.0.1"));
	done(&fc, p);

	ask(&fc, "::1", "foo.localhost.", LDNS_RR_TYPE_AAAA, false, 0xa004);
	p = the_reply(&fc, 0xa004);
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "::1"));
	done(&fc, p);
	assert_int_equal(E.net.started, 0);
	env_stop();
}

/* The A lookup fails (never answered within the 300 ms budget): SERVFAIL, never NODATA, and
 * nothing is kept under the synthesized key: the next query is not a synth-cache NODATA. */
static void test_failed_a(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start("timeout 300\n", script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "silent-a.example.", LDNS_RR_TYPE_AAAA, true, 0xb001);
	assert_int_equal(fc.sends, 0);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xb001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_true(fake_net_count(&E.net, "silent-a.example.", LDNS_RR_TYPE_A) >= 1);
	assert_int_equal(E.net.open, 0); /* the fetch layer cancelled what it gave up on */
	done(&fc, p);

	ask(&fc, "127.0.0.1", "silent-a.example.", LDNS_RR_TYPE_AAAA, true, 0xb002);
	run_until_released(&fc);
	p = the_reply(&fc, 0xb002);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	done(&fc, p);
	env_stop();
}

/* Per-domain upstreams: a name at or under a forward zone goes to that zone's upstreams (the
 * longest zone wins, in any case), every other name to the upstream list; a tls:// upstream is
 * never asked in plain text (no TLS transport here): its zone's plain upstream answers, and a
 * zone with only a tls:// upstream gets SERVFAIL without a single exchange. */
static void test_forward_zones(void **state)
{
	(void)state;
	static const char conf[] = "forward fwd.example 127.0.0.54:5300\n"
	                           "forward deep.fwd.example 127.0.0.55\n"
	                           "forward tls.example tls://127.0.0.56#dns.example 127.0.0.57\n"
	                           "forward tlsonly.example tls://127.0.0.58#dns.example\n";
	static const struct {
		const char *name, *server;
	} cases[] = {
	        {"www.example.", "127.0.0.53:5300"},        {"www.fwd.example.", "127.0.0.54:5300"},
	        {"fwd.example.", "127.0.0.54:5300"},        {"WWW.Deep.FWD.example.", "127.0.0.55:53"},
	        {"a.b.deep.fwd.example.", "127.0.0.55:53"}, {"xfwd.example.", "127.0.0.53:5300"},
	        {"www.tls.example.", "127.0.0.57:53"},
	};
	struct fake_conn fc;
	env_start(conf, NULL, 0, FAKE_ANSWER);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char lower[256], a[64];
		size_t k;
		for (k = 0; cases[i].name[k] && k < sizeof(lower) - 1; k++)
			lower[k] = (char)tolower((unsigned char)cases[i].name[k]);
		lower[k] = '\0';
		unsigned before = E.net.started;
		ask(&fc, "127.0.0.1", cases[i].name, LDNS_RR_TYPE_A, false, (uint16_t)(0xd000 + i));
		run_until_released(&fc);
		ldns_pkt *p = the_reply(&fc, (uint16_t)(0xd000 + i));
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		assert_true(E.net.started > before);
		for (struct fake_xfer *fx = E.net.log; fx; fx = fx->next)
			if (strcmp(fx->qname, lower) == 0 &&
			    strcmp(addr_format((const struct sockaddr *)&fx->server, a, sizeof(a)), cases[i].server) !=
			            0)
				fail_msg("%s went to %s, not %s", cases[i].name, a, cases[i].server);
		done(&fc, p);
	}
	unsigned before = E.net.started;
	ask(&fc, "127.0.0.1", "www.tlsonly.example.", LDNS_RR_TYPE_A, false, 0xd100);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xd100);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_int_equal(E.net.started, before); /* nothing sent in plain text */
	done(&fc, p);
	env_stop();
}

/* An upstream SERVFAIL for a plain query is passed on as SERVFAIL. */
static void test_upstream_servfail(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "broken.example.", LDNS_RR_TYPE_A, false, 0xc001);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xc001);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_int_equal(fake_net_count(&E.net, "broken.example.", LDNS_RR_TYPE_A), 1);
	done(&fc, p);
	env_stop();
}

/* A plain query nobody answers within the budget: SERVFAIL, and the exchange is cancelled. */
static void test_upstream_timeout(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start("timeout 200\n", NULL, 0, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "nobody.example.", LDNS_RR_TYPE_A, false, 0xc101);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xc101);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	assert_true(E.net.started >= 1);
	assert_int_equal(E.net.open, 0);
	assert_int_equal(E.net.answered, 0);
	done(&fc, p);
	env_stop();
}

/* Two identical queries in flight: one upstream query, both answered. */
static void test_coalescing(void **state)
{
	(void)state;
	struct fake_conn fc1, fc2;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc1, "127.0.0.1", "slowpoke.example.", LDNS_RR_TYPE_A, false, 0xd001);
	ask(&fc2, "127.0.0.2", "slowpoke.example.", LDNS_RR_TYPE_A, true, 0xd002);
	uv_run(&E.w->loop, UV_RUN_NOWAIT);
	assert_int_equal(fc1.sends + fc2.sends, 0);
	assert_int_equal(request_count(E.w), 2);
	assert_int_equal(fake_net_count(&E.net, "slowpoke.example.", LDNS_RR_TYPE_A), 1);
	static const char *const rrs[] = {"slowpoke.example. 60 IN A 9.9.9.9", NULL};
	fake_net_answer(&E.net, fake_net_find_open(&E.net, "slowpoke.example.", LDNS_RR_TYPE_A), 0, rrs);
	ldns_pkt *p1 = the_reply(&fc1, 0xd001), *p2 = the_reply(&fc2, 0xd002);
	assert_true(has_answer(p1, LDNS_RR_TYPE_A, "9.9.9.9"));
	assert_true(has_answer(p2, LDNS_RR_TYPE_A, "9.9.9.9"));
	assert_false(ldns_pkt_edns(p1));
	assert_true(ldns_pkt_edns(p2));
	assert_int_equal(E.net.started, 1);
	done(&fc1, p1);
	done(&fc2, p2);
	env_stop();
}

/* An answer too big for a UDP client: TC and no records; a stream client gets all of it. */
static void test_truncation(void **state)
{
	(void)state;
	struct fake_conn fc;
	static char text[100][64];
	static const char *rrs[101];
	for (unsigned i = 0; i < 100; i++) {
		snprintf(text[i], sizeof(text[i]), "big.example. 300 IN A 8.8.%u.%u", i / 200, i % 200 + 1);
		rrs[i] = text[i];
	}
	env_start(NULL, NULL, 0, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "big.example.", LDNS_RR_TYPE_A, false, 0xe001);
	uv_run(&E.w->loop, UV_RUN_NOWAIT);
	fake_net_answer(&E.net, fake_net_find_open(&E.net, "big.example.", LDNS_RR_TYPE_A), 0, rrs);
	ldns_pkt *p = the_reply(&fc, 0xe001);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	done(&fc, p);

	ask_on(&fc, "127.0.0.1", "big.example.", LDNS_RR_TYPE_A, false, 0xe002, true);
	p = the_reply(&fc, 0xe002); /* from cache, at once */
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(answers(p, LDNS_RR_TYPE_A, NULL), 100);
	assert_true(fake_conn_last(&fc)->len > DNS_UDP_MAX);
	done(&fc, p);
	assert_int_equal(E.net.started, 1);
	env_stop();
}

/* AAAA records in an excluded range (::ffff:0:0/96 by default) do not count: synthesis. */
static void test_excluded_aaaa(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "mapped.example.", LDNS_RR_TYPE_AAAA, false, 0xe101);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xe101);
	assert_int_equal(answers(p, LDNS_RR_TYPE_AAAA, NULL), 1);
	assert_true(has_answer(p, LDNS_RR_TYPE_AAAA, "64:ff9b::808:404"));
	assert_false(has_answer(p, LDNS_RR_TYPE_AAAA, "::ffff:8.8.4.4"));
	done(&fc, p);
	env_stop();
}

/* NXDOMAIN for AAAA is passed on: there is nothing to synthesize from. */
static void test_nxdomain(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	ask(&fc, "127.0.0.1", "gone.example.", LDNS_RR_TYPE_AAAA, false, 0xe201);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xe201);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	done(&fc, p);
	env_stop();
}

/* RFC 6147 §5.5: a validating client (DO and CD) gets the real answer, NODATA, not a
 * synthesized one. */
static void test_validating_client(void **state)
{
	(void)state;
	struct fake_conn fc;
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	query_do_cd = true;
	ask(&fc, "127.0.0.1", "v4only.example.", LDNS_RR_TYPE_AAAA, true, 0xe301);
	query_do_cd = false;
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xe301);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(answers(p, LDNS_RR_TYPE_AAAA, NULL), 0);
	assert_int_not_equal(ede_code(p), EDE_SYNTHESIZED);
	done(&fc, p);
	env_stop();
}

/* RFC 7873: a client cookie gets a server cookie back; a wrong server cookie over UDP gets
 * BADCOOKIE (with a fresh one), over a stream the query is answered. */
static void test_cookies(void **state)
{
	(void)state;
	struct fake_conn fc;
	const uint8_t *d = NULL;
	static const uint8_t client_only[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t wrong[] = {0, 10, 0,    24,   1,    2, 3, 4, 5, 6, 7, 8, 1, 0,
	                                0, 0,  0x5f, 0x5e, 0x10, 0, 9, 9, 9, 9, 9, 9, 9, 9};
	env_start(NULL, script, N_SCRIPT, FAKE_HOLD);
	query_opts = client_only;
	query_opts_len = sizeof(client_only);
	ask(&fc, "127.0.0.1", "www.example.", LDNS_RR_TYPE_A, true, 0xe401);
	run_until_released(&fc);
	ldns_pkt *p = the_reply(&fc, 0xe401);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(edns_option(p, 10, &d), 24);
	assert_memory_equal(d, client_only + 4, 8);
	done(&fc, p);

	query_opts = wrong;
	query_opts_len = sizeof(wrong);
	ask(&fc, "127.0.0.1", "www.example.", LDNS_RR_TYPE_A, true, 0xe402);
	p = the_reply(&fc, 0xe402);
	/* BADCOOKIE is 23: 7 in the header, 1 in the OPT record's extended rcode */
	assert_int_equal(ldns_pkt_get_rcode(p), DNS_R_BADCOOKIE & 0x0f);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), DNS_R_BADCOOKIE >> 4);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(edns_option(p, 10, &d), 24);
	done(&fc, p);

	ask_on(&fc, "127.0.0.1", "www.example.", LDNS_RR_TYPE_A, true, 0xe403, true);
	query_opts = NULL;
	p = the_reply(&fc, 0xe403); /* from cache, at once */
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(has_answer(p, LDNS_RR_TYPE_A, "8.8.8.8"));
	done(&fc, p);
	assert_int_equal(E.net.started, 1);
	env_stop();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cache_miss),
	        cmocka_unit_test(test_cache_hit),
	        cmocka_unit_test(test_synthesis),
	        cmocka_unit_test(test_dual_stack),
	        cmocka_unit_test(test_forward_client),
	        cmocka_unit_test(test_ptr),
	        cmocka_unit_test(test_ptr_target_servfail),
	        cmocka_unit_test(test_ptr_cname_ttl_follows_target),
	        cmocka_unit_test(test_refused),
	        cmocka_unit_test(test_drop),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_notimp),
	        cmocka_unit_test(test_local),
	        cmocka_unit_test(test_failed_a),
	        cmocka_unit_test(test_upstream_servfail),
	        cmocka_unit_test(test_forward_zones),
	        cmocka_unit_test(test_upstream_timeout),
	        cmocka_unit_test(test_coalescing),
	        cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_excluded_aaaa),
	        cmocka_unit_test(test_nxdomain),
	        cmocka_unit_test(test_validating_client),
	        cmocka_unit_test(test_cookies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
