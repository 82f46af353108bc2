/* test_driver_workers.c - two workers sharing questions: one copy of an answer per worker, and the stop's grace time
 *
 * Like test_driver.c, but the daemon has two workers (fakes.h: fake_daemon_add_worker), each
 * with its own loop and its own fake upstream, run in turns by this one thread. A question
 * asked by clients of both workers runs once, in the worker that asked first; the other
 * worker's clients wait for it. These tests guard what happens then (issue 14, §6):
 * - the answer crosses to the other worker as one shared copy, however many of its clients
 *   wait (it was one copy per waiting client);
 * - a stopping worker that has no requests of its own still finishes, within the grace
 *   time, the questions other workers' clients wait for (it cancelled them at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>
#include <uv.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"
#include "dns64d/errbuf.h"
#include "dns64d/request.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "dns64d/workers.h"

#include "../../src/fetch_int.h" /* the mailbox of a worker, to count what crossed to it */
#include "fakes.h"

#define TURNS_MAX 20000 /* loop turns (1 ms sleeps between) before a wait counts as a hang */

static const char acl_text[] = "127.0.0.0/8    dns64\n"
                               "203.0.113.0/24 forward\n";

static const char conf_text[] = "upstream 127.0.0.53:5300\n"
                                "cache-size 1m\n";

static struct fake_daemon D;
static struct worker *W[2];
static struct fake_net NET[2];

static void start(void)
{
	struct errbuf err = {.len = 0};
	struct config *cfg = NULL;
	memset(NET, 0, sizeof(NET));
	if (config_parse("test.conf", conf_text, &cfg, &err) != 0)
		fail_msg("config: %s", err.text);
	acl_free(&cfg->acl);
	if (acl_parse("test.acl", acl_text, &cfg->acl, &err) != 0)
		fail_msg("acl: %s", err.text);
	cfg->generation = 1;
	assert_int_equal(fake_daemon_start(&D, cfg), 0);
	config_unref(cfg);
	W[0] = D.w;
	assert_int_equal(fake_daemon_add_worker(&D, &W[1]), 0);
	for (int i = 0; i < 2; i++) {
		NET[i].otherwise = FAKE_HOLD;
		assert_int_equal(fake_net_attach(&NET[i], W[i]), 0);
	}
}

static void stop(void)
{
	for (int i = 0; i < 2; i++) {
		assert_int_equal(request_count(W[i]), 0);
		assert_int_equal(NET[i].violations, 0);
	}
	assert_int_equal(fake_daemon_stop(&D), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(NET[i].closed, 2);
		assert_int_equal(NET[i].open, 0);
		fake_net_free(&NET[i]);
	}
}

/* One turn of both loops. */
static void turn(void)
{
	for (int i = 0; i < 2; i++)
		uv_run(&W[i]->loop, UV_RUN_NOWAIT);
}

/* Turns until *released reaches want (or fail). */
static void run_until(const unsigned *released, unsigned want)
{
	for (unsigned t = 0; *released < want; t++) {
		assert_true(t < TURNS_MAX);
		turn();
		if (*released < want)
			uv_sleep(1);
	}
}

static void ask(struct worker *w, struct fake_conn *fc, const char *ip, const char *name, ldns_rr_type type)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	struct client c;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 0x4242);
	ldns_pkt_set_edns_udp_size(p, 1232);
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	fake_client_init(&c, fc, ip, true);
	request_start(w, &c, wire, len);
	free(wire);
	ldns_pkt_free(p);
}

static ldns_pkt *reply_of(const struct fake_conn *fc)
{
	ldns_pkt *p = NULL;
	assert_int_equal(fc->n_replies, 1);
	assert_int_equal(fc->sends_after_release, 0);
	assert_int_equal(ldns_wire2pkt(&p, fc->replies[0].msg, fc->replies[0].len), LDNS_STATUS_OK);
	return p;
}

/* ---------- one shared copy per destination worker ---------- */

#define WAITERS 24
#define RECORDS 40

static void test_one_copy_per_destination_worker(void **state)
{
	(void)state;
	static struct fake_conn first, others[WAITERS];
	static char rrs[RECORDS][96];
	const char *list[RECORDS + 1];
	unsigned released = 0;

	start();
	memset(&first, 0, sizeof(first));
	memset(others, 0, sizeof(others));
	/* worker 0 asks first: the question is its own */
	ask(W[0], &first, "203.0.113.1", "big.example.", LDNS_RR_TYPE_AAAA);
	turn();
	struct fake_xfer *x = fake_net_find_open(&NET[0], "big.example.", LDNS_RR_TYPE_AAAA);
	assert_non_null(x);
	/* clients of worker 1 ask the same: they wait for worker 0's question */
	for (unsigned i = 0; i < WAITERS; i++)
		ask(W[1], &others[i], "203.0.113.2", "big.example.", LDNS_RR_TYPE_AAAA);
	turn();
	assert_int_equal(NET[1].started, 0);

	for (unsigned i = 0; i < RECORDS; i++) {
		snprintf(rrs[i], sizeof(rrs[i]), "big.example. 300 IN AAAA 2001:db8::%x", i + 1);
		list[i] = rrs[i];
	}
	list[RECORDS] = NULL;
	fake_net_answer(&NET[0], x, LDNS_RCODE_NOERROR, list);
	/* only worker 0's loop: the answer is in worker 1's mailbox and not yet read */
	for (unsigned t = 0; first.releases == 0; t++) {
		assert_true(t < TURNS_MAX);
		uv_run(&W[0]->loop, UV_RUN_NOWAIT);
	}
	struct fetch_ctx *fx1 = W[1]->fetch;
	unsigned deliveries = 0, waiting = 0;
	pthread_mutex_lock(&fx1->mbox_lock);
	for (const struct fetch_delivery *dl = fx1->mbox; dl; dl = dl->next) {
		deliveries++;
		for (const struct fetch_waiter *wt = dl->waiters; wt; wt = wt->next)
			waiting++;
	}
	pthread_mutex_unlock(&fx1->mbox_lock);
	assert_int_equal(deliveries, 1); /* one copy of the ~1.2 KB answer, not one per client */
	assert_int_equal(waiting, WAITERS);

	/* every client of worker 1 gets the same answer as worker 0's client */
	for (unsigned t = 0; released < WAITERS; t++) {
		assert_true(t < TURNS_MAX);
		uv_run(&W[1]->loop, UV_RUN_NOWAIT);
		released = 0;
		for (unsigned i = 0; i < WAITERS; i++)
			released += others[i].releases;
	}
	ldns_pkt *p0 = reply_of(&first);
	assert_int_equal(ldns_pkt_get_rcode(p0), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p0), RECORDS);
	ldns_pkt_free(p0);
	for (unsigned i = 0; i < WAITERS; i++) {
		assert_int_equal(others[i].n_replies, 1);
		assert_int_equal(others[i].replies[0].len, first.replies[0].len);
		assert_memory_equal(others[i].replies[0].msg, first.replies[0].msg, first.replies[0].len);
		fake_conn_clear(&others[i]);
	}
	fake_conn_clear(&first);
	assert_int_equal(NET[0].started, 1);
	stop();
}

/* ---------- the stop's grace time for another worker's clients ---------- */

static void test_stop_finishes_what_other_workers_wait_for(void **state)
{
	(void)state;
	struct fake_conn mine = {0}, theirs = {0};
	static const char *const aaaa[] = {"dual.example. 300 IN AAAA 2001:db8::1", NULL};
	static const char *const a[] = {"dual.example. 300 IN A 192.0.2.1", NULL};

	start();
	/* a dns64 client of worker 0: AAAA, with the A asked alongside (prefetch-a) */
	ask(W[0], &mine, "127.0.0.1", "dual.example.", LDNS_RR_TYPE_AAAA);
	turn();
	struct fake_xfer *xa = fake_net_find_open(&NET[0], "dual.example.", LDNS_RR_TYPE_A);
	struct fake_xfer *xaaaa = fake_net_find_open(&NET[0], "dual.example.", LDNS_RR_TYPE_AAAA);
	assert_non_null(xa);
	assert_non_null(xaaaa);
	/* a native AAAA: worker 0's client is answered, the A question runs on for nobody there */
	fake_net_answer(&NET[0], xaaaa, LDNS_RCODE_NOERROR, aaaa);
	run_until(&mine.releases, 1);
	assert_int_equal(request_count(W[0]), 0);
	/* a client of worker 1 asks that A: it waits for worker 0's question */
	ask(W[1], &theirs, "203.0.113.9", "dual.example.", LDNS_RR_TYPE_A);
	turn();
	assert_int_equal(NET[1].started, 0);
	assert_int_equal(theirs.releases, 0);

	/* the daemon stops: worker 0 has no requests, but a question worker 1's client waits for */
	atomic_store(&D.d->stopping, true);
	worker_stop(W[0]);
	worker_stop(W[1]);
	for (unsigned t = 0; t < 10; t++)
		turn();
	assert_true(W[0]->stopping);
	assert_int_equal(theirs.releases, 0); /* not cancelled: the grace time (2 s) is not over */
	assert_non_null(xa->x);               /* the exchange is still open */

	fake_net_answer(&NET[0], xa, LDNS_RCODE_NOERROR, a);
	run_until(&theirs.releases, 1);
	ldns_pkt *p = reply_of(&theirs);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), LDNS_RR_TYPE_A);
	ldns_pkt_free(p);
	fake_conn_clear(&mine);
	fake_conn_clear(&theirs);
	stop();
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_one_copy_per_destination_worker),
	        cmocka_unit_test(test_stop_finishes_what_other_workers_wait_for),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
