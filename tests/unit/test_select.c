/* test_select.c - unit tests for server selection in src/select.c: smoothing, RTO, health, probes, choice */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "dns64d/select.h"

/* The injected clock: every call gets the time from here, tests move it. */
static uint64_t now = 1000000;

static void test_first_sample(void **state)
{
	struct server_health h;
	select_init(&h);
	assert_int_equal(h.srtt_us, 0);
	assert_false(h.down);
	assert_false(select_on_answer(&h, now, 100000));
	assert_int_equal(h.srtt_us, 100000);
	assert_int_equal(h.rttvar_us, 50000);
	/* RTO = 100 ms + 4 * 50 ms = 300 ms */
	assert_int_equal(select_rto_ms(&h, 0), 300);
}

static void test_smoothing(void **state)
{
	struct server_health h;
	select_init(&h);
	select_on_answer(&h, now, 8000); /* srtt 8000, rttvar 4000 */
	select_on_answer(&h, now, 16000);
	/* rttvar = 3/4 * 4000 + 1/4 * |8000 - 16000| = 5000; srtt = 7/8 * 8000 + 1/8 * 16000 = 9000 */
	assert_int_equal(h.rttvar_us, 5000);
	assert_int_equal(h.srtt_us, 9000);
	select_on_answer(&h, now, 1000);
	/* rttvar = 3/4 * 5000 + 1/4 * 8000 = 5750; srtt = 7/8 * 9000 + 1/8 * 1000 = 8000 */
	assert_int_equal(h.rttvar_us, 5750);
	assert_int_equal(h.srtt_us, 8000);
	/* a steady RTT converges: rttvar shrinks towards 0, srtt towards the sample */
	for (int i = 0; i < 200; i++)
		select_on_answer(&h, now, 30000);
	assert_in_range(h.srtt_us, 29900, 30000);
	assert_in_range(h.rttvar_us, 0, 100);
	/* a zero sample still counts as a sample */
	select_init(&h);
	select_on_answer(&h, now, 0);
	assert_true(h.srtt_us > 0);
}

static void test_rto_bounds_and_backoff(void **state)
{
	struct server_health h;
	select_init(&h);
	/* unknown: RFC 6298 §2.1 initial 1 s, within the bounds */
	unsigned unknown = select_rto_ms(&h, 0);
	assert_int_equal(unknown, 1000);
	assert_in_range(unknown, SELECT_RTO_MIN_MS, SELECT_RTO_MAX_MS);
	assert_int_equal(select_rto_ms(&h, 1), unknown * 2 > SELECT_RTO_MAX_MS ? SELECT_RTO_MAX_MS : unknown * 2);
	assert_int_equal(select_rto_ms(&h, 10), SELECT_RTO_MAX_MS);

	/* fast LAN server: the minimum, then doubled per backoff step up to the maximum */
	select_on_answer(&h, now, 300);
	assert_int_equal(select_rto_ms(&h, 0), SELECT_RTO_MIN_MS);
	assert_int_equal(select_rto_ms(&h, 1), 2 * SELECT_RTO_MIN_MS);
	assert_int_equal(select_rto_ms(&h, 2), 4 * SELECT_RTO_MIN_MS);
	assert_int_equal(select_rto_ms(&h, 3), SELECT_RTO_MAX_MS); /* 1600 capped */
	assert_int_equal(select_rto_ms(&h, 64), SELECT_RTO_MAX_MS);
	assert_int_equal(select_rto_ms(&h, ~0u), SELECT_RTO_MAX_MS);

	/* slow server: capped at the maximum */
	select_init(&h);
	select_on_answer(&h, now, 2000000);
	assert_int_equal(select_rto_ms(&h, 0), SELECT_RTO_MAX_MS);
	/* the largest sample does not overflow */
	select_init(&h);
	select_on_answer(&h, now, UINT32_MAX);
	assert_int_equal(select_rto_ms(&h, 0), SELECT_RTO_MAX_MS);
	/* between the bounds: rounded up to whole milliseconds */
	select_init(&h);
	select_on_answer(&h, now, 100500); /* 100.5 + 4 * 50.25 = 301.5 */
	assert_int_equal(select_rto_ms(&h, 0), 302);
	assert_int_equal(select_rto_ms(&h, 1), 604);
	assert_int_equal(select_rto_ms(&h, 2), SELECT_RTO_MAX_MS);
}

static void test_down_after_timeouts(void **state)
{
	struct server_health h;
	select_init(&h);
	select_on_answer(&h, now, 5000);
	for (int i = 1; i < SELECT_DOWN_AFTER; i++) {
		assert_false(select_on_timeout(&h, now + (uint64_t)i));
		assert_false(h.down);
	}
	assert_true(select_on_timeout(&h, now + 100)); /* the state changed */
	assert_true(h.down);
	assert_int_equal(h.last_change_ms, now + 100);
	assert_int_equal(h.next_probe_ms, now + 100 + SELECT_PROBE_MIN_MS);
	/* more timeouts while down: no change reported, schedule kept */
	assert_false(select_on_timeout(&h, now + 200));
	assert_true(h.down);
	assert_int_equal(h.next_probe_ms, now + 100 + SELECT_PROBE_MIN_MS);
	/* any answer brings it up at once and reports the change */
	assert_true(select_on_answer(&h, now + 300, 5000));
	assert_false(h.down);
	assert_int_equal(h.timeouts, 0);
	assert_int_equal(h.last_change_ms, now + 300);
	assert_false(select_on_answer(&h, now + 301, 5000));
}

static void test_down_after_failures_and_mixed(void **state)
{
	struct server_health h;
	select_init(&h);
	for (int i = 1; i < SELECT_DOWN_AFTER; i++)
		assert_false(select_on_failure(&h, now));
	assert_true(select_on_failure(&h, now));
	assert_true(h.down);
	assert_true(select_on_answer(&h, now, 1000));
	assert_int_equal(h.failures, 0);

	/* an answer between bad attempts resets the count: never down */
	for (int i = 0; i < 10 * SELECT_DOWN_AFTER; i++) {
		assert_false(select_on_timeout(&h, now));
		if (i % (SELECT_DOWN_AFTER - 1) == SELECT_DOWN_AFTER - 2)
			select_on_answer(&h, now, 1000);
	}
	assert_false(h.down);

	/* timeouts and failures in a row add up */
	select_init(&h);
	bool changed = false;
	for (int i = 0; i < SELECT_DOWN_AFTER; i++)
		changed = i % 2 ? select_on_failure(&h, now) : select_on_timeout(&h, now);
	assert_true(changed);
	assert_true(h.down);
}

static void test_probe_schedule(void **state)
{
	struct server_health hs[2];
	select_init(&hs[0]);
	select_init(&hs[1]);
	uint64_t t = now;
	for (int i = 0; i < SELECT_DOWN_AFTER; i++)
		select_on_timeout(&hs[1], t);
	assert_true(hs[1].down);
	/* not due before SELECT_PROBE_MIN_MS; up servers are never probed */
	assert_int_equal(select_probe_due(hs, 2, t, NULL), -1);
	assert_int_equal(select_probe_due(hs, 2, t + SELECT_PROBE_MIN_MS - 1, NULL), -1);
	/* due: returned once, then the interval doubles per probe up to the maximum */
	t += SELECT_PROBE_MIN_MS;
	uint64_t interval = SELECT_PROBE_MIN_MS;
	for (int i = 0; i < 12; i++) {
		assert_int_equal(select_probe_due(hs, 2, t, NULL), 1);
		assert_int_equal(select_probe_due(hs, 2, t, NULL), -1); /* scheduled: not due again */
		interval = interval * 2 > SELECT_PROBE_MAX_MS ? SELECT_PROBE_MAX_MS : interval * 2;
		assert_int_equal(hs[1].next_probe_ms, t + interval);
		assert_int_equal(select_probe_due(hs, 2, t + interval - 1, NULL), -1);
		assert_false(select_on_timeout(&hs[1], t + 1)); /* the probe went unanswered */
		t += interval;
	}
	assert_int_equal(interval, SELECT_PROBE_MAX_MS);
	/* a server this query already asked is not probed by it */
	unsigned asked[2] = {0, 1};
	assert_int_equal(select_probe_due(hs, 2, t, asked), -1);
	assert_int_equal(select_probe_due(hs, 2, t, NULL), 1);
	/* the probe answers: up, schedule reset; going down again starts from the minimum */
	assert_true(select_on_answer(&hs[1], t + 5, 2000));
	assert_int_equal(hs[1].probe_backoff, 0);
	assert_int_equal(select_probe_due(hs, 2, t + 100000, NULL), -1);
	for (int i = 0; i < SELECT_DOWN_AFTER; i++)
		select_on_timeout(&hs[1], t + 10);
	assert_int_equal(hs[1].next_probe_ms, t + 10 + SELECT_PROBE_MIN_MS);
	assert_int_equal(select_probe_due(hs, 2, t + 10 + SELECT_PROBE_MIN_MS, NULL), 1);
	assert_int_equal(hs[1].next_probe_ms, t + 10 + 3 * SELECT_PROBE_MIN_MS);
}

static void test_probe_due_earliest_first(void **state)
{
	struct server_health hs[3];
	for (int i = 0; i < 3; i++) {
		select_init(&hs[i]);
		for (int j = 0; j < SELECT_DOWN_AFTER; j++)
			select_on_timeout(&hs[i], now + 10 - (uint64_t)i * 5); /* 2 went down first */
	}
	uint64_t t = now + 10 + SELECT_PROBE_MIN_MS;
	assert_int_equal(select_probe_due(hs, 3, t, NULL), 2);
	assert_int_equal(select_probe_due(hs, 3, t, NULL), 1);
	assert_int_equal(select_probe_due(hs, 3, t, NULL), 0);
	assert_int_equal(select_probe_due(hs, 3, t, NULL), -1);
	assert_int_equal(select_probe_due(hs, 0, t, NULL), -1);
}

/* Servers with the given RTT samples (0: none). */
static void setup_rtts(struct server_health *hs, const uint32_t *rtt, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		select_init(&hs[i]);
		if (rtt[i])
			select_on_answer(&hs[i], now, rtt[i]);
	}
}

static void mark_down(struct server_health *h, uint64_t t)
{
	for (int j = 0; j < SELECT_DOWN_AFTER; j++)
		select_on_timeout(h, t);
	assert_true(h->down);
}

static void test_pick_rtt(void **state)
{
	struct server_health hs[4];
	const uint32_t rtt[4] = {40000, 5000, 20000, 9000};
	setup_rtts(hs, rtt, 4);
	assert_int_equal(select_pick(hs, 4, SELECT_RTT, now, NULL), 1); /* fastest */
	/* retransmissions go to the next best not yet asked as often, in RTT order */
	unsigned asked[4] = {0};
	int order[] = {1, 3, 2, 0, 1, 3, 2, 0};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		int i = select_pick(hs, 4, SELECT_RTT, now, asked);
		assert_int_equal(i, order[k]);
		asked[i]++;
	}
	/* the fastest one down: the next fastest healthy one */
	mark_down(&hs[1], now);
	assert_int_equal(select_pick(hs, 4, SELECT_RTT, now, NULL), 3);
	/* a server that lost packets loses its lead before it is down */
	select_on_timeout(&hs[3], now);
	assert_int_equal(select_pick(hs, 4, SELECT_RTT, now, NULL), 3); /* 18 ms expected < 20 ms */
	select_on_timeout(&hs[3], now);
	assert_false(hs[3].down);
	assert_int_equal(select_pick(hs, 4, SELECT_RTT, now, NULL), 2); /* 36 ms > 20 ms */
}

static void test_pick_rtt_unknown_explored(void **state)
{
	struct server_health hs[3];
	const uint32_t rtt[3] = {250000, 0, 400000};
	setup_rtts(hs, rtt, 3);
	/* without a sample a server counts as SELECT_UNKNOWN_RTT_US: tried before slower ones */
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, NULL), 1);
	/* once measured it ranks by its sample */
	select_on_answer(&hs[1], now, 300000);
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, NULL), 0);
	/* new servers: all unknown, configured order */
	const uint32_t none[3] = {0, 0, 0};
	setup_rtts(hs, none, 3);
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, NULL), 0);
	/* never-measured servers are explored even when a known fast one exists ... */
	select_on_answer(&hs[2], now, 1000);
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, NULL), 0);
	/* ... but one that failed before its first answer ranks behind the fast one */
	select_on_timeout(&hs[0], now);
	select_on_timeout(&hs[1], now);
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, NULL), 2);
	unsigned asked[3] = {0, 0, 1};
	assert_int_equal(select_pick(hs, 3, SELECT_RTT, now, asked), 0);
}

static void test_pick_single_server(void **state)
{
	struct server_health h;
	select_init(&h);
	unsigned asked[1] = {0};
	for (int k = 0; k < 5; k++) {
		assert_int_equal(select_pick(&h, 1, SELECT_RTT, now, asked), 0);
		assert_int_equal(select_pick(&h, 1, SELECT_ORDERED, now, asked), 0);
		asked[0]++;
	}
	mark_down(&h, now);
	assert_int_equal(select_pick(&h, 1, SELECT_RTT, now, asked), 0);
	assert_int_equal(select_pick(&h, 1, SELECT_ORDERED, now, NULL), 0);
	assert_int_equal(select_pick(&h, 0, SELECT_RTT, now, NULL), -1);
	assert_int_equal(select_pick(NULL, 0, SELECT_ORDERED, now, NULL), -1);
}

static void test_pick_ordered(void **state)
{
	struct server_health hs[3];
	const uint32_t rtt[3] = {90000, 1000, 0};
	setup_rtts(hs, rtt, 3);
	/* configured order whatever the RTT */
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, NULL), 0);
	/* timeouts short of down do not reorder */
	select_on_timeout(&hs[0], now);
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, NULL), 0);
	/* retransmissions walk the order */
	unsigned asked[3] = {0};
	int order[] = {0, 1, 2, 0, 1, 2};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		int i = select_pick(hs, 3, SELECT_ORDERED, now, asked);
		assert_int_equal(i, order[k]);
		asked[i]++;
	}
	/* down servers are skipped */
	mark_down(&hs[0], now);
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, NULL), 1);
	mark_down(&hs[1], now);
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, NULL), 2);
	/* and used again once they answer */
	select_on_answer(&hs[0], now, 90000);
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, NULL), 0);
	/* a down server is not asked while an up one is, even one this query already asked */
	unsigned asked2[3] = {1, 0, 0};
	mark_down(&hs[2], now);
	assert_int_equal(select_pick(hs, 3, SELECT_ORDERED, now, asked2), 0);
}

static void test_pick_all_down(void **state)
{
	for (int mode = SELECT_RTT; mode <= SELECT_ORDERED; mode++) {
		struct server_health hs[3];
		const uint32_t rtt[3] = {1000, 2000, 3000};
		setup_rtts(hs, rtt, 3);
		mark_down(&hs[0], now + 30);
		mark_down(&hs[1], now + 10); /* probe due first */
		mark_down(&hs[2], now + 20);
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 50, NULL), 1);
		/* a retransmission goes to the next least bad one */
		unsigned asked[3] = {0, 1, 0};
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 50, asked), 2);
		asked[2] = 1;
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 50, asked), 0);
		asked[0] = 1;
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 50, asked), 1);
		/* the probe of 1 is sent and rescheduled: 2 is now the least bad */
		assert_int_equal(select_probe_due(hs, 3, now + 10 + SELECT_PROBE_MIN_MS, NULL), 1);
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 10 + SELECT_PROBE_MIN_MS, NULL), 2);
		/* one coming back up is preferred at once */
		select_on_answer(&hs[0], now + 2000, 1000);
		assert_int_equal(select_pick(hs, 3, (enum select_mode)mode, now + 2000, NULL), 0);
	}
}

static void test_pick_never_fails(void **state)
{
	/* every combination of up/down and asked counts over 3 servers: a valid index */
	struct server_health hs[3];
	for (unsigned downs = 0; downs < 8; downs++)
		for (unsigned a = 0; a < 27; a++) {
			unsigned asked[3] = {a % 3, a / 3 % 3, a / 9};
			for (int i = 0; i < 3; i++) {
				select_init(&hs[i]);
				if (i == 1)
					select_on_answer(&hs[i], now, 3000);
				if (downs & (1u << i))
					mark_down(&hs[i], now + (uint64_t)i);
			}
			for (int mode = SELECT_RTT; mode <= SELECT_ORDERED; mode++) {
				int p = select_pick(hs, 3, (enum select_mode)mode, now, asked);
				assert_in_range(p, 0, 2);
				/* up servers first, then the fewest asks among them */
				bool any_up = downs != 7;
				if (any_up)
					assert_false(hs[p].down);
				for (int i = 0; i < 3; i++)
					if (hs[i].down == hs[p].down)
						assert_true(asked[p] <= asked[i]);
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_first_sample),
	        cmocka_unit_test(test_smoothing),
	        cmocka_unit_test(test_rto_bounds_and_backoff),
	        cmocka_unit_test(test_down_after_timeouts),
	        cmocka_unit_test(test_down_after_failures_and_mixed),
	        cmocka_unit_test(test_probe_schedule),
	        cmocka_unit_test(test_probe_due_earliest_first),
	        cmocka_unit_test(test_pick_rtt),
	        cmocka_unit_test(test_pick_rtt_unknown_explored),
	        cmocka_unit_test(test_pick_single_server),
	        cmocka_unit_test(test_pick_ordered),
	        cmocka_unit_test(test_pick_all_down),
	        cmocka_unit_test(test_pick_never_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
