/* metrics.h - counters kept per worker and their Prometheus text exposition
 *
 * Each worker owns a struct metrics and is its only writer (relaxed atomic load+store, no
 * locked instructions on the hot path); the operator plane on the main thread (control.h:
 * the metrics endpoint, the control socket's stats) sums them.
 */
#ifndef DNS64D_METRICS_H
#define DNS64D_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/cache.h"
#include "dns64d/client.h"
#include "dns64d/upstream_info.h"
#include "dns64d/dns64.h"
#include "dns64d/prefix.h"

#define METRICS_RCODES      24
#define METRICS_PREFIXES    16
#define METRICS_UPSTREAMS   16
#define METRICS_LAT_BUCKETS 14
#define METRICS_ANS_BUCKETS 15 /* client-facing answer latency, from 100 us */
#define METRICS_QTYPES      16 /* metrics_qtype_index(): the common types, then "other" */

/* How a client's answer was made, for the answer latency histogram. */
enum metrics_answer {
	METRICS_ANS_HIT = 0,     /* from the cache (a synthesized answer from the cache too) */
	METRICS_ANS_MISS,        /* asked upstream, passed on */
	METRICS_ANS_SYNTHESIZED, /* asked upstream, synthesized */
	METRICS_ANS_NONE,        /* no lookup: local answers, refused, errors */
	METRICS_ANS_KINDS
};

typedef _Atomic uint64_t counter_t;

static inline void counter_inc(counter_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}
static inline void counter_add(counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline uint64_t counter_get(counter_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* A slot's key (addr, prefix) is written once by its worker, then published with `ready`
 * (release); the renderer reads the key only after seeing `ready` (acquire). */
struct metrics_upstream {
	atomic_bool ready;
	struct sockaddr_storage addr;
	counter_t queries, timeouts, errors;
	counter_t retransmits;                     /* another attempt to the same server within one question */
	counter_t hedged;                          /* another server asked while the first was still unanswered */
	counter_t lat_bucket[METRICS_LAT_BUCKETS]; /* upstream answer latency, cumulative at render */
	counter_t lat_sum_us;
};

struct metrics_prefix {
	atomic_bool ready;
	struct nat64_prefix prefix;
	counter_t synthesized;
};

struct metrics {
	counter_t queries[2][4][METRICS_RCODES]; /* transport, acl action, rcode (drop: rcode 0) */
	counter_t malformed;                     /* dropped or FORMERR before the ACL */
	counter_t synth_skipped[DNS64_REASON_COUNT];
	counter_t synth_other_prefix;
	struct metrics_prefix prefixes[METRICS_PREFIXES];
	struct metrics_upstream upstreams[METRICS_UPSTREAMS];
	counter_t badcookie;
	counter_t overload;     /* refused upstream work because of max-inflight */
	counter_t stale_served; /* answers from expired cache entries (RFC 8767) */
	counter_t failed_a;     /* dns64: the A lookup failed, client got SERVFAIL or stale */
	counter_t ans_bucket[METRICS_ANS_KINDS][METRICS_ANS_BUCKETS]; /* answer latency, not cumulative */
	counter_t ans_sum_us[METRICS_ANS_KINDS];
	counter_t qtypes[METRICS_QTYPES]; /* client queries by question type */
};

/* Upper bounds (seconds) of the latency histogram buckets; the last is +Inf. */
extern const double metrics_lat_bounds[METRICS_LAT_BUCKETS];

/* Upper bounds (seconds) of the answer latency buckets; the last is +Inf. */
extern const double metrics_ans_bounds[METRICS_ANS_BUCKETS];

/* A client answer of kind k that took us microseconds. */
void metrics_answer_latency(struct metrics *m, enum metrics_answer k, uint64_t us);

/* The qtypes[] slot of a question type. */
unsigned metrics_qtype_index(uint16_t qtype);

/* Daemon-wide, from the main thread: a reload's result; the process start (for
 * process_start_time_seconds), once at start. */
void metrics_reloaded(bool ok);
void metrics_started(void);

void metrics_synthesized(struct metrics *m, const struct nat64_prefix *p);
struct metrics_upstream *metrics_upstream(struct metrics *m, const struct sockaddr *sa);
void metrics_upstream_latency(struct metrics_upstream *u, uint64_t us);

/* Zero every counter of m (the slots keep their keys). Called from the main thread while the
 * worker keeps counting: an increment racing with it may survive or be lost, so a reset is
 * best-effort (counters are written without locks, by design). */
void metrics_reset(struct metrics *m);

/* What the exposition shows, gathered by the caller (the operator plane) from the modules that
 * own it, so this module reads no other module's state. */
struct metrics_view {
	struct metrics *const *workers; /* each worker's counters */
	unsigned n_workers;
	bool has_cache;
	struct cache_stats cache;
	unsigned inflight;   /* questions in flight (fetch) */
	unsigned tcp_conns;  /* client TCP connections (listener) */
	unsigned generation; /* of the config in force */
	const struct upstream_info *up;
	size_t n_up;
};

/* Render the exposition text into a malloc'd buffer. */
int metrics_render(const struct metrics_view *v, char **out, size_t *len);

#endif
