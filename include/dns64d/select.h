/* select.h - which upstream to ask next: smoothed RTT, health, back-off; pure, the clock is a parameter
 *
 * One struct server_health per configured upstream; the fetch layer keeps them (daemon-wide,
 * under its own lock) and calls these functions with the time in milliseconds of a monotonic
 * clock. Nothing here does I/O or reads a clock.
 *
 * - RTT: RFC 6298 smoothing (srtt, rttvar); the retransmission timeout of an attempt is
 *   srtt + 4 * rttvar (1 s without a sample, RFC 6298 §2.1) bounded to
 *   SELECT_RTO_MIN_MS..SELECT_RTO_MAX_MS, doubled per earlier unanswered attempt of the same
 *   query (backoff), still bounded by the maximum.
 * - Health: SELECT_DOWN_AFTER consecutive timeouts or failures (SERVFAIL, REFUSED, malformed),
 *   counted together and reset only by an answer, mark a server down. A down server is
 *   skipped, except that a probe is due at next_probe_ms (first SELECT_PROBE_MIN_MS after it
 *   went down, doubling per failed probe up to SELECT_PROBE_MAX_MS): the fetch layer then also
 *   sends it the query at hand, in the background. Any answer brings it back up at once.
 * - Choice: SELECT_RTT prefers the healthy server with the lowest expected RTT (a server
 *   never measured and never failed is asked first, so it gets explored (one that failed
 *   before its first answer counts as SELECT_UNKNOWN_RTT_US); each consecutive
 *   timeout or failure short of down doubles it); SELECT_ORDERED the first healthy one in
 *   configured order. Servers already asked by this query count as slower the more they were
 *   asked (up before down, then fewer asks, then RTT or order), so a retransmission goes to
 *   the next best one when there is one and to the same one otherwise. When every server is
 *   down the least bad one (the one whose probe is due first) is still chosen: a client is
 *   never failed without asking anyone.
 */
#ifndef DNS64D_SELECT_H
#define DNS64D_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The floor is high for a forwarder: its upstream is a recursive resolver whose cache misses
 * take tens to hundreds of ms while its hits take one, so an RTO learnt from hits would
 * retransmit every miss. */
#define SELECT_RTO_MIN_MS     200
#define SELECT_RTO_MAX_MS     1000
#define SELECT_UNKNOWN_RTT_US 100000
#define SELECT_DOWN_AFTER     3
#define SELECT_PROBE_MIN_MS   1000
#define SELECT_PROBE_MAX_MS   60000

enum select_mode { SELECT_RTT = 0, SELECT_ORDERED = 1 };

struct server_health {
	uint32_t srtt_us; /* 0: no sample yet */
	uint32_t rttvar_us;
	unsigned timeouts; /* consecutive attempts without an answer */
	unsigned failures; /* consecutive SERVFAIL / REFUSED / malformed answers */
	bool down;
	uint64_t next_probe_ms;  /* when down: when to probe next */
	unsigned probe_backoff;  /* failed probes since it went down */
	uint64_t last_change_ms; /* when it last went down or up */
};

void select_init(struct server_health *h);

/* Retransmission timeout (ms) for an attempt to h, the query's backoff-th unanswered attempt. */
unsigned select_rto_ms(const struct server_health *h, unsigned backoff);

/* The server for the next attempt of a query: index into hs[0..n), given how often this query
 * already asked each (asked[i], may be NULL for none). -1 only when n == 0. */
int select_pick(const struct server_health *hs, size_t n, enum select_mode mode, uint64_t now_ms,
                const unsigned *asked);

/* A down server (not yet asked by this query) whose probe is due: returns its index and
 * schedules its next probe, or -1. */
int select_probe_due(struct server_health *hs, size_t n, uint64_t now_ms, const unsigned *asked);

/* What happened to an attempt. Each returns true when the server changed state (down <-> up),
 * so the caller can log it. */
bool select_on_answer(struct server_health *h, uint64_t now_ms, uint32_t rtt_us);
bool select_on_timeout(struct server_health *h, uint64_t now_ms);
bool select_on_failure(struct server_health *h, uint64_t now_ms);

#endif
