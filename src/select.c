/* select.c - which upstream to ask next: smoothed RTT, health and probe back-off; pure, the clock is a parameter */
#include "dns64d/select.h"

#include <string.h>

/* A server whose RTT is unknown: its first attempt waits this long before a retransmission,
 * three times the RTT it is assumed to have (RFC 6298 §2.1 says 1 s; the LAN resolver case
 * wants less, and the maximum bounds it anyway). */
#define UNKNOWN_RTO_MS 1000 /* RFC 6298 §2.1: 1 s before the first sample */

/* An RTT sample above this is taken as this (keeps the arithmetic far from overflow). */
#define RTT_SAMPLE_MAX_US 60000000u

/* Ranking penalty of an up server per consecutive unanswered or failed attempt: its expected
 * RTT doubles, like the RTO would, so a server that just lost a packet loses its lead to one
 * nearly as fast before it is marked down. Bounded shift. */
#define PENALTY_SHIFT_MAX 8

void select_init(struct server_health *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned clamp_ms(uint64_t ms)
{
	if (ms < SELECT_RTO_MIN_MS)
		return SELECT_RTO_MIN_MS;
	if (ms > SELECT_RTO_MAX_MS)
		return SELECT_RTO_MAX_MS;
	return (unsigned)ms;
}

unsigned select_rto_ms(const struct server_health *h, unsigned backoff)
{
	uint64_t ms;
	if (h->srtt_us == 0)
		ms = UNKNOWN_RTO_MS;
	else /* rounded up: an RTO is never shorter than the RTT it comes from */
		ms = ((uint64_t)h->srtt_us + 4 * (uint64_t)h->rttvar_us + 999) / 1000;
	unsigned rto = clamp_ms(ms);
	for (unsigned i = 0; i < backoff && rto < SELECT_RTO_MAX_MS; i++)
		rto = clamp_ms((uint64_t)rto * 2);
	return rto;
}

static void go_down(struct server_health *h, uint64_t now_ms)
{
	h->down = true;
	h->probe_backoff = 0;
	h->next_probe_ms = now_ms + SELECT_PROBE_MIN_MS;
	h->last_change_ms = now_ms;
}

/* One more bad attempt; timeouts and failures both count towards going down, and only an
 * answer resets them (a server that alternates timeouts and SERVFAILs is no better). */
static bool bad_attempt(struct server_health *h, unsigned *counter, uint64_t now_ms)
{
	if (*counter < 0xffffu)
		(*counter)++;
	if (!h->down && h->timeouts + h->failures >= SELECT_DOWN_AFTER) {
		go_down(h, now_ms);
		return true;
	}
	return false;
}

bool select_on_timeout(struct server_health *h, uint64_t now_ms)
{
	return bad_attempt(h, &h->timeouts, now_ms);
}

bool select_on_failure(struct server_health *h, uint64_t now_ms)
{
	return bad_attempt(h, &h->failures, now_ms);
}

bool select_on_answer(struct server_health *h, uint64_t now_ms, uint32_t rtt_us)
{
	/* srtt 0 means "no sample": a sub-microsecond answer counts as 1 us */
	uint32_t r = rtt_us == 0 ? 1 : rtt_us > RTT_SAMPLE_MAX_US ? RTT_SAMPLE_MAX_US : rtt_us;
	if (h->srtt_us == 0) { /* RFC 6298 §2.2 */
		h->srtt_us = r;
		h->rttvar_us = r / 2;
	} else { /* RFC 6298 §2.3: beta 1/4 (with the old srtt), then alpha 1/8 */
		uint32_t diff = h->srtt_us > r ? h->srtt_us - r : r - h->srtt_us;
		h->rttvar_us = (uint32_t)(((uint64_t)h->rttvar_us * 3 + diff) / 4);
		h->srtt_us = (uint32_t)(((uint64_t)h->srtt_us * 7 + r) / 8);
		if (h->srtt_us == 0)
			h->srtt_us = 1;
	}
	h->timeouts = 0;
	h->failures = 0;
	if (!h->down)
		return false;
	h->down = false;
	h->probe_backoff = 0;
	h->next_probe_ms = 0;
	h->last_change_ms = now_ms;
	return true;
}

/* Expected RTT of an up server for ranking (us), with the penalty for recent bad attempts. */
static uint64_t expected_us(const struct server_health *h)
{
	unsigned bad = h->timeouts + h->failures;
	/* a server never measured is asked first, once, so a fast newcomer is found; one that
	 * failed before its first answer ranks as a slow one */
	if (!h->srtt_us && !bad)
		return 0;
	uint64_t e = h->srtt_us ? h->srtt_us : SELECT_UNKNOWN_RTT_US;
	return e << (bad < PENALTY_SHIFT_MAX ? bad : PENALTY_SHIFT_MAX);
}

int select_pick(const struct server_health *hs, size_t n, enum select_mode mode, uint64_t now_ms, const unsigned *asked)
{
	(void)now_ms; /* a due probe is select_probe_due()'s business; the least-bad order needs no clock */
	int best = -1;
	bool best_up = false;
	unsigned best_asked = 0;
	uint64_t best_key = 0;
	/* Order of preference: up before down; then fewer asks by this query; then, for up
	 * servers, the lower expected RTT (SELECT_RTT) or nothing (SELECT_ORDERED), for down
	 * ones the earlier probe; then configured order (the strict < keeps the first). */
	for (size_t i = 0; i < n; i++) {
		const struct server_health *h = &hs[i];
		bool up = !h->down;
		unsigned a = asked ? asked[i] : 0;
		uint64_t key = !up ? h->next_probe_ms : mode == SELECT_RTT ? expected_us(h) : 0;
		bool better;
		if (best < 0)
			better = true;
		else if (up != best_up)
			better = up;
		else if (a != best_asked)
			better = a < best_asked;
		else
			better = key < best_key;
		if (better) {
			best = (int)i;
			best_up = up;
			best_asked = a;
			best_key = key;
		}
	}
	return best;
}

int select_probe_due(struct server_health *hs, size_t n, uint64_t now_ms, const unsigned *asked)
{
	int due = -1;
	for (size_t i = 0; i < n; i++) {
		const struct server_health *h = &hs[i];
		if (!h->down || h->next_probe_ms > now_ms || (asked && asked[i]))
			continue;
		if (due < 0 || h->next_probe_ms < hs[due].next_probe_ms)
			due = (int)i;
	}
	if (due >= 0) {
		/* The interval to the next probe doubles per probe; an answer ends the schedule. */
		struct server_health *h = &hs[due];
		if (h->probe_backoff < 31)
			h->probe_backoff++;
		uint64_t wait = (uint64_t)SELECT_PROBE_MIN_MS << h->probe_backoff;
		h->next_probe_ms = now_ms + (wait > SELECT_PROBE_MAX_MS ? SELECT_PROBE_MAX_MS : wait);
	}
	return due;
}
