/* metrics.c - per-worker counters summed into Prometheus text exposition */
#include "dns64d/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/log.h"

const double metrics_lat_bounds[METRICS_LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                        0.025,  0.05,    0.1,    0.25,  0.5,    1,     INFINITY};
const double metrics_ans_bounds[METRICS_ANS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,    0.025,
                                                        0.05,   0.1,     0.25,   0.5,   1,      2.5,   INFINITY};
static const char *const ans_kind[METRICS_ANS_KINDS] = {"hit", "miss", "synthesized", "none"};

/* The question types with their own series; the rest count as "other" (the last slot). */
static const struct {
	uint16_t type;
	const char *name;
} qtype_names[METRICS_QTYPES - 1] = {
        {1, "A"},    {28, "AAAA"},  {12, "PTR"},  {5, "CNAME"}, {15, "MX"},     {16, "TXT"},  {2, "NS"},     {6, "SOA"},
        {33, "SRV"}, {65, "HTTPS"}, {64, "SVCB"}, {43, "DS"},   {48, "DNSKEY"}, {255, "ANY"}, {35, "NAPTR"},
};

static atomic_uint_fast64_t reloads_ok, reloads_failed;
static double start_time;

void metrics_reloaded(bool ok)
{
	atomic_fetch_add(ok ? &reloads_ok : &reloads_failed, 1);
}

void metrics_started(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

unsigned metrics_qtype_index(uint16_t qtype)
{
	for (unsigned i = 0; i < METRICS_QTYPES - 1; i++)
		if (qtype_names[i].type == qtype)
			return i;
	return METRICS_QTYPES - 1;
}

void metrics_answer_latency(struct metrics *m, enum metrics_answer k, uint64_t us)
{
	double s = (double)us / 1e6;
	size_t i = 0;
	while (i < METRICS_ANS_BUCKETS - 1 && s > metrics_ans_bounds[i])
		i++;
	counter_inc(&m->ans_bucket[k][i]);
	counter_add(&m->ans_sum_us[k], us);
}

static bool same_prefix(const struct nat64_prefix *a, const struct nat64_prefix *b)
{
	return a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

void metrics_synthesized(struct metrics *m, const struct nat64_prefix *p)
{
	for (size_t i = 0; i < METRICS_PREFIXES; i++) {
		struct metrics_prefix *s = &m->prefixes[i];
		if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
			s->prefix = *p;
			atomic_store_explicit(&s->ready, true, memory_order_release);
		}
		if (same_prefix(&s->prefix, p)) {
			counter_inc(&s->synthesized);
			return;
		}
	}
	counter_inc(&m->synth_other_prefix);
}

struct metrics_upstream *metrics_upstream(struct metrics *m, const struct upstream *up)
{
	for (size_t i = 0; i < METRICS_UPSTREAMS; i++) {
		struct metrics_upstream *u = &m->upstreams[i];
		if (!atomic_load_explicit(&u->ready, memory_order_relaxed)) {
			u->up = *up;
			atomic_store_explicit(&u->ready, true, memory_order_release);
		}
		if (upstream_spec_same(up, &u->up))
			return u;
	}
	return &m->upstreams[METRICS_UPSTREAMS - 1]; /* more upstreams than slots share the last */
}

void metrics_upstream_latency(struct metrics_upstream *u, uint64_t us)
{
	double s = (double)us / 1e6;
	size_t i = 0;
	while (i < METRICS_LAT_BUCKETS - 1 && s > metrics_lat_bounds[i])
		i++;
	counter_inc(&u->lat_bucket[i]);
	counter_add(&u->lat_sum_us, us);
}

/* Store 0 in every counter_t of [from, to) of the struct at base. */
static void zero_counters(void *base, size_t from, size_t to)
{
	counter_t *c = (counter_t *)(void *)((char *)base + from);
	for (size_t i = 0; i < (to - from) / sizeof(counter_t); i++)
		atomic_store_explicit(&c[i], 0, memory_order_relaxed);
}

/* Every field of struct metrics is a counter but the two slot arrays, and every field of a
 * slot after its key is a counter: new counters are reset without a change here. */
_Static_assert(offsetof(struct metrics, upstreams) + sizeof(((struct metrics *)0)->upstreams) ==
                       offsetof(struct metrics, badcookie),
               "struct metrics: counters after the upstream slots start with badcookie");
_Static_assert(offsetof(struct metrics, queries) == 0, "struct metrics starts with counters");

void metrics_reset(struct metrics *m)
{
	zero_counters(m, 0, offsetof(struct metrics, prefixes));
	zero_counters(m, offsetof(struct metrics, badcookie), sizeof(*m));
	for (size_t i = 0; i < METRICS_PREFIXES; i++)
		atomic_store_explicit(&m->prefixes[i].synthesized, 0, memory_order_relaxed);
	for (size_t i = 0; i < METRICS_UPSTREAMS; i++)
		zero_counters(&m->upstreams[i], offsetof(struct metrics_upstream, queries),
		              sizeof(struct metrics_upstream));
}

/* ---- rendering --------------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->oom = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *rcode_label(unsigned rc, char *buf)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
	if (rc < 6)
		return names[rc];
	if (rc == 16)
		return "BADVERS";
	if (rc == 23)
		return "BADCOOKIE";
	sprintf(buf, "RCODE%u", rc);
	return buf;
}

/* Answer latency by kind, queries by type, reloads, and the standard process_* metrics. */
static void render_new(const struct metrics_view *v, struct out *o)
{
	head(o, "dns64d_answer_latency_seconds", "histogram",
	     "Time from a client query to its answer, by how it was answered (cache hit, upstream miss, synthesized, "
	     "none: local, refused or error).");
	for (int k = 0; k < METRICS_ANS_KINDS; k++) {
		uint64_t cum = 0, sum = 0;
		for (unsigned i = 0; i < v->n_workers; i++)
			sum += counter_get(&v->workers[i]->ans_sum_us[k]);
		for (int b = 0; b < METRICS_ANS_BUCKETS; b++) {
			for (unsigned i = 0; i < v->n_workers; i++)
				cum += counter_get(&v->workers[i]->ans_bucket[k][b]);
			if (b == METRICS_ANS_BUCKETS - 1)
				put(o, "dns64d_answer_latency_seconds_bucket{cache=\"%s\",le=\"+Inf\"} %llu\n",
				    ans_kind[k], (unsigned long long)cum);
			else
				put(o, "dns64d_answer_latency_seconds_bucket{cache=\"%s\",le=\"%g\"} %llu\n",
				    ans_kind[k], metrics_ans_bounds[b], (unsigned long long)cum);
		}
		put(o, "dns64d_answer_latency_seconds_sum{cache=\"%s\"} %.6f\n", ans_kind[k], (double)sum / 1e6);
		put(o, "dns64d_answer_latency_seconds_count{cache=\"%s\"} %llu\n", ans_kind[k],
		    (unsigned long long)cum);
	}
	head(o, "dns64d_queries_by_type_total", "counter", "Client queries with a question, by question type.");
	for (unsigned t = 0; t < METRICS_QTYPES; t++) {
		uint64_t n = 0;
		for (unsigned i = 0; i < v->n_workers; i++)
			n += counter_get(&v->workers[i]->qtypes[t]);
		put(o, "dns64d_queries_by_type_total{type=\"%s\"} %llu\n",
		    t < METRICS_QTYPES - 1 ? qtype_names[t].name : "other", (unsigned long long)n);
	}
	head(o, "dns64d_reloads_total", "counter", "Configuration reloads (SIGHUP or control socket), by result.");
	put(o, "dns64d_reloads_total{result=\"success\"} %llu\n", (unsigned long long)atomic_load(&reloads_ok));
	put(o, "dns64d_reloads_total{result=\"failure\"} %llu\n", (unsigned long long)atomic_load(&reloads_failed));
	head(o, "dns64d_config_generation", "gauge",
	     "Generation of the configuration in force (0 at start, +1 a reload).");
	put(o, "dns64d_config_generation %u\n", v->generation);

	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		head(o, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
		put(o, "process_cpu_seconds_total %.6f\n",
		    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, resident;
	if (f && fscanf(f, "%lu %lu", &size, &resident) == 2) {
		head(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		put(o, "process_resident_memory_bytes %llu\n",
		    (unsigned long long)resident * (unsigned long long)sysconf(_SC_PAGESIZE));
		head(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		put(o, "process_virtual_memory_bytes %llu\n",
		    (unsigned long long)size * (unsigned long long)sysconf(_SC_PAGESIZE));
	}
	if (f)
		fclose(f);
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		unsigned n = 0;
		for (struct dirent *e; (e = readdir(dir)) != NULL;)
			n += e->d_name[0] != '.';
		closedir(dir);
		head(o, "process_open_fds", "gauge", "Number of open file descriptors.");
		put(o, "process_open_fds %u\n", n > 0 ? n - 1 : 0); /* not the one reading the directory */
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		head(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		put(o, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
	if (start_time > 0) {
		head(o, "process_start_time_seconds", "gauge",
		     "Start time of the process since unix epoch in seconds.");
		put(o, "process_start_time_seconds %.3f\n", start_time);
	}
}

static void render_queries(const struct metrics_view *v, struct out *o)
{
	static const char *const tr[] = {"udp", "tcp"};
	char rb[16];

	put(o, "# HELP dns64d_build_info Version of the running daemon.\n# TYPE dns64d_build_info gauge\n");
	put(o, "dns64d_build_info{version=\"%s\"} 1\n", DNS64D_VERSION);

	head(o, "dns64d_queries_total", "counter", "Client queries by transport, ACL action and response code.");
	for (int t = 0; t < 2; t++)
		for (int a = 0; a < 4; a++)
			for (unsigned rc = 0; rc < METRICS_RCODES; rc++) {
				uint64_t n = 0;
				for (unsigned i = 0; i < v->n_workers; i++)
					n += counter_get(&v->workers[i]->queries[t][a][rc]);
				if (n || (rc == 0 && a == ACL_DNS64))
					put(o,
					    "dns64d_queries_total{transport=\"%s\",action=\"%s\",rcode=\"%s\"} %llu\n",
					    tr[t], acl_action_name((enum acl_action)a),
					    a == ACL_DROP ? "none" : rcode_label(rc, rb), (unsigned long long)n);
			}
}
/* Counters exported as their sum over the workers, in this order. */
static const struct summed {
	const char *name, *help;
	size_t off; /* of the counter_t in struct metrics */
} summed[] = {
        {"dns64d_malformed_total", "Client packets dropped or answered FORMERR as malformed.",
         offsetof(struct metrics, malformed)},
        {"dns64d_badcookie_total", "BADCOOKIE answers sent.", offsetof(struct metrics, badcookie)},
        {"dns64d_overload_total", "Queries answered SERVFAIL because max-inflight was reached.",
         offsetof(struct metrics, overload)},
        {"dns64d_tls_handshakes_total", "Client TLS connections (listen-tls) that completed the handshake.",
         offsetof(struct metrics, tls_handshakes)},
        {"dns64d_tls_handshake_failures_total", "Client TLS handshakes (listen-tls) that failed.",
         offsetof(struct metrics, tls_handshake_failures)},
        {"dns64d_upstream_tls_connections_total", "TLS connections opened to upstreams.",
         offsetof(struct metrics, upstream_tls_connections)},
        {"dns64d_upstream_tls_handshakes_total", "Full TLS handshakes with upstreams (resumed sessions not counted).",
         offsetof(struct metrics, upstream_tls_handshakes)},
        {"dns64d_stale_answers_total", "Answers served from expired cache entries (RFC 8767).",
         offsetof(struct metrics, stale_served)},
        {"dns64d_synth_a_failed_total", "AAAA queries of dns64 clients answered SERVFAIL because the A lookup failed.",
         offsetof(struct metrics, failed_a)},
};

static void render_counters(const struct metrics_view *v, struct out *o)
{
	for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
		uint64_t n = 0;
		for (unsigned i = 0; i < v->n_workers; i++)
			n += counter_get((counter_t *)((char *)v->workers[i] + summed[k].off));
		head(o, summed[k].name, "counter", summed[k].help);
		put(o, "%s %llu\n", summed[k].name, (unsigned long long)n);
	}
	{
		const struct upstream_info *ui = v->up;
		size_t nu = v->n_up;
		char ub[UPSTREAM_FORMAT_MAX];
		head(o, "dns64d_upstream_up", "gauge", "1 while the upstream is considered up, 0 while down.");
		for (size_t i = 0; i < nu; i++)
			put(o, "dns64d_upstream_up{upstream=\"%s\"} %d\n",
			    upstream_spec_format(&ui[i].up, false, ub, sizeof(ub)), ui[i].down ? 0 : 1);
		head(o, "dns64d_upstream_zone", "gauge",
		     "1 for each list the upstream is on: zone=\"default\" for the upstream list, else a forward "
		     "zone.");
		for (size_t i = 0; i < nu; i++) {
			upstream_spec_format(&ui[i].up, false, ub, sizeof(ub));
			for (const char *z = ui[i].zones; *z;) {
				size_t zl = strcspn(z, ",");
				put(o, "dns64d_upstream_zone{upstream=\"%s\",zone=\"%.*s\"} 1\n", ub, (int)zl, z);
				z += zl + (z[zl] == ',');
			}
		}
		head(o, "dns64d_upstream_srtt_seconds", "gauge", "Smoothed round-trip time of the upstream.");
		for (size_t i = 0; i < nu; i++)
			put(o, "dns64d_upstream_srtt_seconds{upstream=\"%s\"} %.6f\n",
			    upstream_spec_format(&ui[i].up, false, ub, sizeof(ub)), ui[i].srtt_us / 1e6);
	}
}
static void render_synthesis(const struct metrics_view *v, struct out *o)
{
	uint64_t other = 0;
	for (unsigned i = 0; i < v->n_workers; i++)
		other += counter_get(&v->workers[i]->synth_other_prefix);
	char ab[64];
	head(o, "dns64d_synthesized_total", "counter", "AAAA answers synthesized, by NAT64 prefix.");
	struct nat64_prefix seen[METRICS_PREFIXES * 4];
	size_t nseen = 0;
	for (unsigned i = 0; i < v->n_workers; i++)
		for (size_t k = 0; k < METRICS_PREFIXES; k++) {
			struct metrics_prefix *slot = &v->workers[i]->prefixes[k];
			if (!atomic_load_explicit(&slot->ready, memory_order_acquire))
				continue;
			struct nat64_prefix p = slot->prefix;
			bool dup = false;
			for (size_t j = 0; j < nseen; j++)
				dup |= same_prefix(&seen[j], &p);
			if (dup || nseen == sizeof(seen) / sizeof(seen[0]))
				continue;
			seen[nseen++] = p;
			uint64_t sum = 0;
			for (unsigned x = 0; x < v->n_workers; x++)
				for (size_t y = 0; y < METRICS_PREFIXES; y++)
					if (atomic_load_explicit(&v->workers[x]->prefixes[y].ready,
					                         memory_order_acquire) &&
					    same_prefix(&v->workers[x]->prefixes[y].prefix, &p))
						sum += counter_get(&v->workers[x]->prefixes[y].synthesized);
			struct network net = {.family = AF_INET6, .plen = p.len};
			memcpy(net.addr, p.addr, 16);
			put(o, "dns64d_synthesized_total{prefix=\"%s\"} %llu\n", network_format(&net, ab, sizeof(ab)),
			    (unsigned long long)sum);
		}
	if (other)
		put(o, "dns64d_synthesized_total{prefix=\"other\"} %llu\n", (unsigned long long)other);

	head(o, "dns64d_synth_skipped_total", "counter", "AAAA queries not synthesized, by reason.");
	for (int r = 1; r < DNS64_REASON_COUNT; r++) {
		uint64_t s = 0;
		for (unsigned i = 0; i < v->n_workers; i++)
			s += counter_get(&v->workers[i]->synth_skipped[r]);
		put(o, "dns64d_synth_skipped_total{reason=\"%s\"} %llu\n", dns64_reason_name((enum dns64_reason)r),
		    (unsigned long long)s);
	}
}
static void render_upstreams(const struct metrics_view *v, struct out *o)
{
	char ab[UPSTREAM_FORMAT_MAX];
	static const char *const ucnt[] = {"queries", "timeouts", "errors", "retransmits", "hedged"};
	static const char *const uhelp[] = {
	        "Queries sent to each upstream.", "Upstream queries not answered within their retransmission timeout.",
	        "Upstream errors (SERVFAIL/REFUSED, broken TCP, malformed or truncated answers).",
	        "Queries asked of the same upstream again within one question (lost packet).",
	        "Queries sent to this upstream while another one was still unanswered (hedging)."};
	for (int c = 0; c < 5; c++) {
		char name[64];
		snprintf(name, sizeof(name), "dns64d_upstream_%s_total", ucnt[c]);
		head(o, name, "counter", uhelp[c]);
		/* upstream slots are per worker: merge them by address */
		struct upstream ups[METRICS_UPSTREAMS * 4];
		size_t nups = 0;
		for (unsigned i = 0; i < v->n_workers; i++)
			for (size_t k = 0; k < METRICS_UPSTREAMS; k++) {
				struct metrics_upstream *u = &v->workers[i]->upstreams[k];
				if (!atomic_load_explicit(&u->ready, memory_order_acquire))
					continue;
				bool dup = false;
				for (size_t j = 0; j < nups; j++)
					dup |= upstream_spec_same(&u->up, &ups[j]);
				if (dup || nups == sizeof(ups) / sizeof(ups[0]))
					continue;
				ups[nups++] = u->up;
			}
		for (size_t j = 0; j < nups; j++) {
			uint64_t s = 0;
			for (unsigned i = 0; i < v->n_workers; i++)
				for (size_t k = 0; k < METRICS_UPSTREAMS; k++) {
					struct metrics_upstream *u = &v->workers[i]->upstreams[k];
					if (!atomic_load_explicit(&u->ready, memory_order_acquire) ||
					    !upstream_spec_same(&ups[j], &u->up))
						continue;
					s += counter_get(c == 0   ? &u->queries
					                 : c == 1 ? &u->timeouts
					                 : c == 2 ? &u->errors
					                 : c == 3 ? &u->retransmits
					                          : &u->hedged);
				}
			put(o, "%s{upstream=\"%s\"} %llu\n", name, upstream_spec_format(&ups[j], false, ab, sizeof(ab)),
			    (unsigned long long)s);
		}
		if (c == 2) {
			head(o, "dns64d_upstream_latency_seconds", "histogram",
			     "Time from query to answer, by upstream.");
			for (size_t j = 0; j < nups; j++) {
				uint64_t cum = 0, sum_us = 0;
				upstream_spec_format(&ups[j], false, ab, sizeof(ab));
				for (int b = 0; b < METRICS_LAT_BUCKETS; b++) {
					for (unsigned i = 0; i < v->n_workers; i++)
						for (size_t k = 0; k < METRICS_UPSTREAMS; k++) {
							struct metrics_upstream *u = &v->workers[i]->upstreams[k];
							if (atomic_load_explicit(&u->ready, memory_order_acquire) &&
							    upstream_spec_same(&ups[j], &u->up)) {
								cum += counter_get(&u->lat_bucket[b]);
								if (b == 0)
									sum_us += counter_get(&u->lat_sum_us);
							}
						}
					if (b == METRICS_LAT_BUCKETS - 1)
						put(o,
						    "dns64d_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"+"
						    "Inf\"} %llu\n",
						    ab, (unsigned long long)cum);
					else
						put(o,
						    "dns64d_upstream_latency_seconds_bucket{upstream=\"%s\",le=\"%g\"} "
						    "%llu\n",
						    ab, metrics_lat_bounds[b], (unsigned long long)cum);
				}
				put(o, "dns64d_upstream_latency_seconds_sum{upstream=\"%s\"} %.6f\n", ab,
				    (double)sum_us / 1e6);
				put(o, "dns64d_upstream_latency_seconds_count{upstream=\"%s\"} %llu\n", ab,
				    (unsigned long long)cum);
			}
		}
	}
}
static void render_cache(const struct metrics_view *v, struct out *o)
{
	struct cache_stats cs = {0};
	if (v->has_cache)
		cs = v->cache;
	head(o, "dns64d_cache_hits_total", "counter", "Cache lookups that found an answer.");
	put(o, "dns64d_cache_hits_total %llu\n", (unsigned long long)cs.hits);
	head(o, "dns64d_cache_misses_total", "counter", "Cache lookups that found nothing.");
	put(o, "dns64d_cache_misses_total %llu\n", (unsigned long long)cs.misses);
	head(o, "dns64d_cache_evictions_total", "counter", "Entries evicted to stay within cache-size.");
	put(o, "dns64d_cache_evictions_total %llu\n", (unsigned long long)cs.evictions);
	head(o, "dns64d_cache_entries", "gauge", "Entries in the cache.");
	put(o, "dns64d_cache_entries %llu\n", (unsigned long long)cs.entries);
	head(o, "dns64d_cache_bytes", "gauge", "Bytes charged to the cache.");
	put(o, "dns64d_cache_bytes %llu\n", (unsigned long long)cs.bytes);
	head(o, "dns64d_cache_max_bytes", "gauge", "Configured cache-size.");
	put(o, "dns64d_cache_max_bytes %llu\n", (unsigned long long)cs.max_bytes);
	head(o, "dns64d_inflight", "gauge", "Upstream queries in flight.");
	put(o, "dns64d_inflight %u\n", v->inflight);
	head(o, "dns64d_tcp_connections", "gauge", "Open client TCP connections.");
	put(o, "dns64d_tcp_connections %u\n", v->tcp_conns);
}

/* Cache hits counted per client query (not per internal lookup), and the dnstap writer. */
static void render_client_cache_dnstap(const struct metrics_view *v, struct out *o)
{
	uint64_t hit = 0, miss = 0, sent = 0, dropped = 0;
	for (unsigned i = 0; i < v->n_workers; i++) {
		hit += counter_get(&v->workers[i]->client_cache[0]);
		miss += counter_get(&v->workers[i]->client_cache[1]);
		sent += counter_get(&v->workers[i]->dnstap_sent);
		dropped += counter_get(&v->workers[i]->dnstap_dropped);
	}
	head(o, "dns64d_cache_client_queries_total", "counter",
	     "Client queries that needed an answer, by whether it came from the cache (hit, synthesized from cached "
	     "answers too) or an upstream was asked (miss).");
	put(o, "dns64d_cache_client_queries_total{result=\"hit\"} %llu\n", (unsigned long long)hit);
	put(o, "dns64d_cache_client_queries_total{result=\"miss\"} %llu\n", (unsigned long long)miss);
	head(o, "dns64d_dnstap_sent_total", "counter", "dnstap messages queued for the collector.");
	put(o, "dns64d_dnstap_sent_total %llu\n", (unsigned long long)sent);
	head(o, "dns64d_dnstap_dropped_total", "counter",
	     "dnstap messages dropped because the collector was too slow (a worker's queue was full).");
	put(o, "dns64d_dnstap_dropped_total %llu\n", (unsigned long long)dropped);
}

static const char *prefix_text(const struct nat64_prefix *p, char *buf, size_t len)
{
	struct network n = {.family = AF_INET6, .plen = p->len};
	memcpy(n.addr, p->addr, sizeof(n.addr));
	return network_format(&n, buf, len);
}

/* prefix-from-ra: what is advertised, what is configured, whether they differ. */
static void render_pref64(const struct metrics_view *v, struct out *o)
{
	const struct metrics_pref64 *p = &v->pref64;
	char a[64];
	if (!p->enabled)
		return;
	head(o, "dns64d_pref64_advertised", "gauge",
	     "The NAT64 prefix advertised in router advertisements (RFC 8781) and in use as the default prefix.");
	if (p->advertised)
		put(o, "dns64d_pref64_advertised{interface=\"%s\",prefix=\"%s\"} 1\n", p->iface,
		    prefix_text(&p->adv, a, sizeof(a)));
	head(o, "dns64d_pref64_lifetime_seconds", "gauge", "Seconds left of the advertised prefix's lifetime.");
	put(o, "dns64d_pref64_lifetime_seconds %llu\n", (unsigned long long)p->adv_left_s);
	head(o, "dns64d_prefix_configured", "gauge", "The configured prefix (the fallback of prefix-from-ra).");
	if (p->configured)
		put(o, "dns64d_prefix_configured{prefix=\"%s\"} 1\n", prefix_text(&p->conf, a, sizeof(a)));
	head(o, "dns64d_pref64_mismatch", "gauge", "1 when the advertised and the configured prefix differ.");
	put(o, "dns64d_pref64_mismatch %d\n", p->mismatch ? 1 : 0);
	head(o, "dns64d_pref64_router_advertisements_total", "counter",
	     "Router advertisements read on prefix-from-ra interfaces, by result.");
	put(o, "dns64d_pref64_router_advertisements_total{result=\"accepted\"} %llu\n", (unsigned long long)p->ras);
	put(o, "dns64d_pref64_router_advertisements_total{result=\"dropped\"} %llu\n", (unsigned long long)p->invalid);
	head(o, "dns64d_pref64_options_ignored_total", "counter",
	     "PREF64 options ignored: bad length, bad prefix length code, non-zero u-octet, too many.");
	put(o, "dns64d_pref64_options_ignored_total %llu\n", (unsigned long long)p->ignored);
	head(o, "dns64d_pref64_changes_total", "counter", "Changes of the default prefix made by advertisements.");
	put(o, "dns64d_pref64_changes_total %llu\n", (unsigned long long)p->changes);
}

int metrics_render(const struct metrics_view *v, char **outp, size_t *lenp)
{
	struct out o = {.buf = malloc(8192), .cap = 8192};
	if (!o.buf)
		return -ENOMEM;
	o.buf[0] = 0;
	render_queries(v, &o);
	render_counters(v, &o);
	render_synthesis(v, &o);
	render_upstreams(v, &o);
	render_cache(v, &o);
	render_new(v, &o);
	render_client_cache_dnstap(v, &o);
	render_pref64(v, &o);
	if (o.oom) {
		free(o.buf);
		return -ENOMEM;
	}
	*outp = o.buf;
	*lenp = o.len;
	return 0;
}
