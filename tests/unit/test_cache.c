/* test_cache.c - unit tests for the answer cache: keys, expiry, bounds, LRU order, threads */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dns64d/cache.h"
#include "dnstext.h"

#define T_A    1
#define T_AAAA 28
#define C_IN   1

static size_t make_key(uint8_t *key, const char *name, uint16_t qtype, uint8_t flags, const void *variant,
                       size_t variant_len)
{
	uint8_t wire[256];
	size_t wl = name_from_text(name, wire);
	size_t kl = cache_key(key, wire, wl, qtype, C_IN, flags, variant, variant_len);

	assert_true(kl > 0);
	return kl;
}

/* Key number i: "k<i>.example AAAA". */
static size_t num_key(uint8_t *key, unsigned i)
{
	char name[64];

	snprintf(name, sizeof(name), "k%u.example", i);
	return make_key(key, name, T_AAAA, CACHE_F_RD, NULL, 0);
}

static void fill_value(uint8_t *v, size_t len, unsigned seed)
{
	size_t j;

	for (j = 0; j < len; j++)
		v[j] = (uint8_t)(seed * 31 + j * 7 + len);
}

static int insert_num(struct cache *c, unsigned i, size_t len, uint64_t now, uint32_t ttl)
{
	uint8_t key[CACHE_KEY_MAX], v[4096];
	size_t kl = num_key(key, i);

	assert_true(len <= sizeof(v));
	fill_value(v, len, i);
	return cache_insert(c, key, kl, v, len, now, ttl);
}

static int lookup_num(struct cache *c, unsigned i, uint64_t now, size_t *len)
{
	uint8_t key[CACHE_KEY_MAX], buf[4096], want[4096];
	size_t kl = num_key(key, i), got = 0;
	uint64_t stored;
	int rc = cache_lookup(c, key, kl, now, buf, sizeof(buf), &got, &stored);

	if (rc == 0) {
		fill_value(want, got, i);
		assert_memory_equal(buf, want, got);
		if (len != NULL)
			*len = got;
	}
	return rc;
}

static struct cache_stats stats(struct cache *c)
{
	struct cache_stats st;

	cache_get_stats(c, &st);
	return st;
}

static void test_hit(void **state)
{
	struct cache *c;
	uint8_t key[CACHE_KEY_MAX], buf[512];
	const char value[] = "an answer in wire form";
	size_t kl = make_key(key, "www.example.org", T_AAAA, CACHE_F_RD, NULL, 0), len = 0;
	uint64_t stored = 0;

	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	assert_int_equal(cache_insert(c, key, kl, value, sizeof(value), 12345, 60), 0);
	assert_int_equal(cache_lookup(c, key, kl, 20000, buf, sizeof(buf), &len, &stored), 0);
	assert_int_equal(len, sizeof(value));
	assert_memory_equal(buf, value, sizeof(value));
	assert_int_equal(stored, 12345);
	/* A second hit gives the same. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(cache_lookup(c, key, kl, 20001, buf, sizeof(buf), &len, &stored), 0);
	assert_memory_equal(buf, value, sizeof(value));
	assert_int_equal(stats(c).hits, 2);
	assert_int_equal(stats(c).entries, 1);
	cache_free(c);
}

static void test_miss(void **state)
{
	struct cache *c;
	uint8_t key[CACHE_KEY_MAX], other[CACHE_KEY_MAX], buf[64];
	size_t kl = make_key(key, "a.example", T_AAAA, 0, NULL, 0);
	size_t ol = make_key(other, "b.example", T_AAAA, 0, NULL, 0), len = 0;
	uint64_t stored;

	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	assert_int_equal(cache_lookup(c, key, kl, 0, buf, sizeof(buf), &len, &stored), -ENOENT);
	assert_int_equal(cache_insert(c, key, kl, "x", 1, 0, 60), 0);
	assert_int_equal(cache_lookup(c, other, ol, 0, buf, sizeof(buf), &len, &stored), -ENOENT);
	/* Same name, other type. */
	ol = make_key(other, "a.example", T_A, 0, NULL, 0);
	assert_int_equal(cache_lookup(c, other, ol, 0, buf, sizeof(buf), &len, &stored), -ENOENT);
	assert_int_equal(stats(c).misses, 3);
	assert_int_equal(stats(c).hits, 0);
	cache_free(c);
}

static void test_ttl_expiry(void **state)
{
	struct cache *c;

	assert_int_equal(cache_new(1 << 20, 2, &c), 0);
	assert_int_equal(insert_num(c, 1, 100, 1000, 5), 0);
	assert_int_equal(insert_num(c, 2, 100, 1000, 10), 0);
	assert_int_equal(lookup_num(c, 1, 1000, NULL), 0);
	assert_int_equal(lookup_num(c, 1, 5999, NULL), 0);
	/* Valid for exactly 5 s: gone at 1000 + 5000. */
	assert_int_equal(lookup_num(c, 1, 6000, NULL), -ENOENT);
	assert_int_equal(stats(c).expired, 1);
	assert_int_equal(stats(c).entries, 1);
	/* Dropped, not just hidden: an earlier clock does not bring it back. */
	assert_int_equal(lookup_num(c, 1, 2000, NULL), -ENOENT);
	assert_int_equal(stats(c).expired, 1);
	assert_int_equal(lookup_num(c, 2, 10999, NULL), 0);
	assert_int_equal(lookup_num(c, 2, 11000, NULL), -ENOENT);
	assert_int_equal(stats(c).expired, 2);
	assert_int_equal(stats(c).entries, 0);
	assert_int_equal(stats(c).hits, 3);
	assert_int_equal(stats(c).misses, 3);

	/* ttl 0 stores nothing and is not an error. */
	assert_int_equal(insert_num(c, 3, 100, 1000, 0), 0);
	assert_int_equal(lookup_num(c, 3, 1000, NULL), -ENOENT);
	assert_int_equal(stats(c).inserts, 2);

	/* A huge TTL near the end of the clock does not wrap into the past. */
	assert_int_equal(insert_num(c, 4, 10, UINT64_MAX - 10, UINT32_MAX), 0);
	assert_int_equal(lookup_num(c, 4, UINT64_MAX - 5, NULL), 0);
	cache_free(c);
}

static void test_replace(void **state)
{
	struct cache *c;
	size_t len;
	uint64_t two;

	assert_int_equal(cache_new(1 << 20, 1, &c), 0);
	assert_int_equal(insert_num(c, 7, 100, 0, 60), 0);
	assert_int_equal(insert_num(c, 8, 100, 0, 60), 0);
	two = stats(c).bytes;
	assert_int_equal(insert_num(c, 8, 300, 10, 60), 0);
	assert_int_equal(stats(c).entries, 2);
	assert_int_equal(lookup_num(c, 8, 20, &len), 0);
	assert_int_equal(len, 300);
	/* The old value's memory was released: only the size difference remains. */
	assert_int_equal(stats(c).bytes, two + 200);
	assert_int_equal(insert_num(c, 8, 100, 30, 60), 0);
	assert_int_equal(stats(c).bytes, two);
	assert_int_equal(insert_num(c, 7, 100, 30, 60), 0);
	assert_int_equal(stats(c).bytes, two);
	assert_int_equal(stats(c).entries, 2);
	/* A replacement with a shorter TTL takes over the expiry. */
	assert_int_equal(insert_num(c, 7, 100, 100, 1), 0);
	assert_int_equal(lookup_num(c, 7, 1099, NULL), 0);
	assert_int_equal(lookup_num(c, 7, 1100, NULL), -ENOENT);
	assert_int_equal(stats(c).evictions, 0);
	assert_int_equal(stats(c).inserts, 6);
	cache_free(c);
}

/* Fill one shard far beyond its bound while keeping a model of the LRU order; at every step
 * the bound holds, and at the end exactly the least recently used keys are gone. */
static void test_eviction_lru(void **state)
{
	enum { N = 600, MAX = 16384 };
	static unsigned order[N + 1]; /* keys from least to most recently used */
	unsigned norder = 0, i, j, k;
	struct cache *c;
	struct cache_stats st;

	assert_int_equal(cache_new(MAX, 1, &c), 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(insert_num(c, i, 100, 0, 3600), 0);
		order[norder++] = i;
		st = stats(c);
		assert_true(st.bytes <= MAX);
		/* Every so often touch a key that should still be there: it moves to the front. */
		if (i % 7 == 3 && st.evictions < norder - 1) {
			unsigned pick = order[st.evictions + (norder - st.evictions) / 3];

			assert_int_equal(lookup_num(c, pick, 1, NULL), 0);
			for (j = 0; order[j] != pick; j++)
				;
			memmove(&order[j], &order[j + 1], (norder - j - 1) * sizeof(order[0]));
			order[norder - 1] = pick;
		}
	}
	st = stats(c);
	assert_true(st.evictions > N / 2);
	assert_int_equal(st.entries + st.evictions, N);
	assert_true(st.bytes <= MAX);
	/* Absences first: a miss does not change the order. */
	for (k = 0; k < st.evictions; k++)
		assert_int_equal(lookup_num(c, order[k], 2, NULL), -ENOENT);
	for (; k < N; k++)
		assert_int_equal(lookup_num(c, order[k], 2, NULL), 0);
	cache_free(c);
}

static void test_recent_survives(void **state)
{
	enum { MAX = 8192 };
	struct cache *c;
	unsigned i, n;

	assert_int_equal(cache_new(MAX, 1, &c), 0);
	/* Fill until just before the first eviction. */
	for (n = 0; insert_num(c, n, 200, 0, 3600) == 0 && stats(c).evictions == 0; n++)
		;
	assert_true(n > 4);
	assert_int_equal(stats(c).evictions, 1);
	/* Key 0 was the oldest and went; key 1 is now the oldest: touch it. */
	assert_int_equal(lookup_num(c, 0, 1, NULL), -ENOENT);
	assert_int_equal(lookup_num(c, 1, 1, NULL), 0);
	for (i = 0; i < n / 2; i++)
		assert_int_equal(insert_num(c, 1000 + i, 200, 2, 3600), 0);
	assert_int_equal(lookup_num(c, 1, 3, NULL), 0);
	assert_int_equal(lookup_num(c, 2, 3, NULL), -ENOENT);
	assert_int_equal(lookup_num(c, 3, 3, NULL), -ENOENT);
	assert_true(stats(c).bytes <= MAX);
	cache_free(c);
}

static void test_key_case(void **state)
{
	uint8_t k1[CACHE_KEY_MAX], k2[CACHE_KEY_MAX], k3[CACHE_KEY_MAX], wire[64], buf[16];
	size_t l1 = make_key(k1, "FOO.example", T_AAAA, CACHE_F_RD, NULL, 0);
	size_t l2 = make_key(k2, "foo.EXAMPLE", T_AAAA, CACHE_F_RD, NULL, 0);
	size_t l3 = make_key(k3, "fop.example", T_AAAA, CACHE_F_RD, NULL, 0), wl, len;
	const uint8_t tail[] = {0, 28, 0, 1, CACHE_F_RD};
	struct cache *c;
	uint64_t stored;

	assert_int_equal(l1, l2);
	assert_memory_equal(k1, k2, l1);
	assert_int_equal(l1, l3);
	assert_memory_not_equal(k1, k3, l1);
	/* Layout: lowercased wire name, qtype and qclass big-endian, flags. */
	wl = name_from_text("foo.example", wire);
	assert_int_equal(l1, wl + 5);
	assert_memory_equal(k1, wire, wl);
	assert_memory_equal(k1 + wl, tail, sizeof(tail));

	/* Only letters fold: '@' and '[' sit next to 'A' and 'Z', bytes >= 0x80 are not ASCII. */
	{
		const uint8_t odd[] = {4, '@', 'Z', '[', 0xC1, 0};
		const uint8_t want[] = {4, '@', 'z', '[', 0xC1, 0};

		assert_int_equal(cache_key(k3, odd, sizeof(odd), 1, 1, 0, NULL, 0), sizeof(odd) + 5);
		assert_memory_equal(k3, want, sizeof(want));
	}

	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	assert_int_equal(cache_insert(c, k1, l1, "v", 1, 0, 60), 0);
	assert_int_equal(cache_lookup(c, k2, l2, 0, buf, sizeof(buf), &len, &stored), 0);
	assert_int_equal(stats(c).entries, 1);
	cache_free(c);
}

/* Keys that must never share an entry: all DO/CD combinations, and the variants. */
static void test_separation(void **state)
{
	static const uint8_t flags[] = {
	        CACHE_F_RD, CACHE_F_RD | CACHE_F_DO,   CACHE_F_RD | CACHE_F_CD, CACHE_F_RD | CACHE_F_DO | CACHE_F_CD,
	        0,          CACHE_F_RD | CACHE_F_SYNTH};
	static const uint8_t wkp[] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 1};
	static const uint8_t other[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 1};
	static const uint8_t gen2[] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 2};
	const struct {
		const void *v;
		size_t len;
	} variants[] = {{NULL, 0}, {wkp, sizeof(wkp)}, {other, sizeof(other)}, {gen2, sizeof(gen2)}};
	enum { NF = sizeof(flags), NV = sizeof(variants) / sizeof(variants[0]) };
	uint8_t key[CACHE_KEY_MAX], buf[16];
	struct cache *c;
	size_t f, v, kl, len;
	uint64_t stored;

	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	for (f = 0; f < NF; f++) {
		for (v = 0; v < NV; v++) {
			uint8_t val = (uint8_t)(f * NV + v);

			kl = make_key(key, "host.example", T_AAAA, flags[f], variants[v].v, variants[v].len);
			assert_int_equal(cache_insert(c, key, kl, &val, 1, 0, 60), 0);
		}
	}
	assert_int_equal(stats(c).entries, NF * NV);
	for (f = 0; f < NF; f++) {
		for (v = 0; v < NV; v++) {
			kl = make_key(key, "host.example", T_AAAA, flags[f], variants[v].v, variants[v].len);
			assert_int_equal(cache_lookup(c, key, kl, 1, buf, sizeof(buf), &len, &stored), 0);
			assert_int_equal(len, 1);
			assert_int_equal(buf[0], f * NV + v);
		}
	}
	cache_free(c);
}

static void test_key_bounds(void **state)
{
	uint8_t key[CACHE_KEY_MAX + 8], name[255], variant[64];
	size_t i;

	/* A maximal 255-byte name: 3 labels of 63, one of 61, root. */
	for (i = 0; i < 3; i++) {
		name[i * 64] = 63;
		memset(name + i * 64 + 1, 'A', 63);
	}
	name[192] = 61;
	memset(name + 193, 'B', 61);
	name[254] = 0;
	memset(variant, 0xAB, sizeof(variant));
	assert_int_equal(cache_key(key, name, 255, 1, 1, 0, variant, CACHE_KEY_MAX - 260), CACHE_KEY_MAX);
	assert_int_equal(key[1], 'a');
	assert_int_equal(key[64], 63);
	assert_int_equal(key[CACHE_KEY_MAX - 1], 0xAB);
	assert_int_equal(cache_key(key, name, 255, 1, 1, 0, variant, CACHE_KEY_MAX - 259), 0);
	assert_int_equal(cache_key(key, name, 255, 1, 1, 0, variant, SIZE_MAX), 0);
}

static void test_enobufs(void **state)
{
	struct cache *c;
	uint8_t key[CACHE_KEY_MAX], value[200], buf[256];
	size_t kl = num_key(key, 1), len = 0;
	uint64_t stored;

	fill_value(value, sizeof(value), 1);
	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	assert_int_equal(cache_insert(c, key, kl, value, sizeof(value), 5, 60), 0);
	assert_int_equal(cache_lookup(c, key, kl, 6, buf, 199, &len, &stored), -ENOBUFS);
	assert_int_equal(len, 200);
	assert_int_equal(cache_lookup(c, key, kl, 6, buf, 200, &len, &stored), 0);
	assert_memory_equal(buf, value, 200);
	assert_int_equal(stats(c).hits, 1);
	assert_int_equal(stats(c).misses, 0);
	cache_free(c);
}

static void test_e2big(void **state)
{
	struct cache *c;
	struct cache_stats st;

	/* 64 KiB over 4 shards: 16 KiB each, so values up to 2 KiB. */
	assert_int_equal(cache_new(65536, 4, &c), 0);
	assert_int_equal(insert_num(c, 1, 2049, 0, 60), -E2BIG);
	assert_int_equal(insert_num(c, 2, 4000, 0, 60), -E2BIG);
	assert_int_equal(insert_num(c, 3, 2048, 0, 60), 0);
	assert_int_equal(lookup_num(c, 1, 0, NULL), -ENOENT);
	assert_int_equal(lookup_num(c, 3, 0, NULL), 0);
	/* A refused replacement leaves the old value in place. */
	assert_int_equal(insert_num(c, 3, 3000, 0, 60), -E2BIG);
	assert_int_equal(lookup_num(c, 3, 0, NULL), 0);
	st = stats(c);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.inserts, 1);
	/* An oversized key is refused too. */
	{
		uint8_t big[CACHE_KEY_MAX + 1];

		memset(big, 1, sizeof(big));
		assert_int_equal(cache_insert(c, big, sizeof(big), "v", 1, 0, 60), -E2BIG);
	}
	cache_free(c);
}

static void test_zero_size(void **state)
{
	struct cache *c;
	struct cache_stats st;
	unsigned i;

	assert_int_equal(cache_new(0, 8, &c), 0);
	for (i = 0; i < 50; i++) {
		assert_int_equal(insert_num(c, i, 1 + i, 0, 60), -E2BIG);
		assert_int_equal(lookup_num(c, i, 0, NULL), -ENOENT);
	}
	st = stats(c);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.max_bytes, 0);
	assert_int_equal(st.inserts, 0);
	assert_int_equal(st.misses, 50);
	cache_flush(c);
	cache_free(c);
	cache_free(NULL);

	/* Tiny but not zero: the bound still holds. */
	assert_int_equal(cache_new(100, 16, &c), 0);
	for (i = 0; i < 50; i++)
		(void)insert_num(c, i, 4, 0, 60);
	assert_true(stats(c).bytes <= 100);
	cache_free(c);
}

static void test_flush(void **state)
{
	struct cache *c;
	struct cache_stats st;
	uint64_t empty;
	unsigned i;

	assert_int_equal(cache_new(1 << 20, 4, &c), 0);
	empty = stats(c).bytes;
	for (i = 0; i < 500; i++)
		assert_int_equal(insert_num(c, i, 50, 0, 60), 0);
	assert_int_equal(stats(c).entries, 500);
	cache_flush(c);
	st = stats(c);
	assert_int_equal(st.entries, 0);
	/* Only bucket arrays remain, at least as large as at the start. */
	assert_true(st.bytes >= empty);
	assert_true(st.bytes < empty + 500 * 8 * 2);
	for (i = 0; i < 500; i++)
		assert_int_equal(lookup_num(c, i, 1, NULL), -ENOENT);
	/* Usable again after a flush. */
	assert_int_equal(insert_num(c, 3, 50, 2, 60), 0);
	assert_int_equal(lookup_num(c, 3, 2, NULL), 0);
	cache_free(c);
}

static void test_stats(void **state)
{
	struct cache *c;
	struct cache_stats st;
	uint64_t empty;
	unsigned i;

	/* max_bytes as configured even though 3 rounds up to 4 shards and 1000000 does not divide. */
	assert_int_equal(cache_new(1000000, 3, &c), 0);
	st = stats(c);
	empty = st.bytes;
	assert_int_equal(st.max_bytes, 1000000);
	assert_int_equal(st.hits + st.misses + st.inserts + st.evictions + st.expired + st.entries, 0);
	assert_true(empty > 0 && empty < 1000000 / 8);
	for (i = 0; i < 10; i++)
		assert_int_equal(insert_num(c, i, 100, 0, i + 1), 0);
	for (i = 0; i < 10; i++)
		assert_int_equal(lookup_num(c, i, 4500, NULL), i >= 4 ? 0 : -ENOENT);
	(void)lookup_num(c, 99, 0, NULL);
	st = stats(c);
	assert_int_equal(st.inserts, 10);
	assert_int_equal(st.hits, 6);
	assert_int_equal(st.misses, 5);
	assert_int_equal(st.expired, 4);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.evictions, 0);
	/* Each entry costs its key and value plus a fixed header and allocator overhead. */
	assert_true(st.bytes >= empty + 6 * (100 + 16 + 16));
	assert_true(st.bytes <= empty + 6 * (100 + 16 + 16 + 128));
	cache_free(c);
}

/* Many entries in many shards: the bucket arrays grow, are charged, and everything stays
 * reachable. */
static void test_growth(void **state)
{
	enum { N = 20000, BASE = 10000 }; /* ids of five digits: every key has the same length */
	struct cache *c;
	uint64_t empty, charge, full;
	unsigned i;

	/* The charge of one such entry, measured where no array grows. */
	assert_int_equal(cache_new(64u << 20, 8, &c), 0);
	empty = stats(c).bytes;
	assert_int_equal(insert_num(c, 99999, 64, 0, 60), 0);
	charge = stats(c).bytes - empty;
	assert_true(charge >= 16 + 64 + 16);
	cache_free(c);

	assert_int_equal(cache_new(64u << 20, 8, &c), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(insert_num(c, BASE + i, 64, 0, 60), 0);
	assert_int_equal(stats(c).entries, N);
	assert_int_equal(stats(c).evictions, 0);
	for (i = 0; i < N; i++)
		assert_int_equal(lookup_num(c, BASE + i, 1, NULL), 0);
	assert_int_equal(stats(c).hits, N);
	full = stats(c).bytes;
	/* After a flush only the grown arrays remain: at least one bucket per entry, all charged. */
	cache_flush(c);
	assert_true(stats(c).bytes >= N * sizeof(void *));
	assert_true(stats(c).bytes <= 4 * N * sizeof(void *));
	assert_int_equal(full, stats(c).bytes + N * charge);
	cache_free(c);
}

struct worker {
	struct cache *c;
	atomic_bool *stop;
	atomic_uint *busy; /* workers that have done MIN_OPS operations */
	unsigned seed;
	uint64_t start;
	uint64_t lookups, inserts, failures, ops;
};

static uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Operations each thread does at least, however little CPU time a busy machine gives it. */
#define MIN_OPS 1000

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->seed * 0x9e3779b97f4a7c15ull + 1;
	uint8_t key[CACHE_KEY_MAX], v[512], buf[512], want[512];

	while (!atomic_load(w->stop)) {
		unsigned id, len;
		size_t kl, got;
		uint64_t stored, now;
		int rc;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		id = (unsigned)(x % 2048);
		len = 20 + (unsigned)((x >> 16) % 300);
		/* The clock runs 20x fast so TTLs of 1-5 s run out during the test. */
		now = (clock_ms() - w->start) * 20;
		kl = num_key(key, id);
		if ((x >> 40) % 3 == 0) {
			fill_value(v, len, id);
			rc = cache_insert(w->c, key, kl, v, len, now, 1 + (unsigned)((x >> 50) % 5));
			if (rc == 0)
				w->inserts++;
			else
				w->failures++;
		} else {
			rc = cache_lookup(w->c, key, kl, now, buf, sizeof(buf), &got, &stored);
			w->lookups++;
			if (rc == 0) {
				fill_value(want, got, id);
				/* Inserted before this lookup returned, so never stamped later than now. */
				if (got < 20 || got >= 320 || memcmp(buf, want, got) != 0 ||
				    stored > (clock_ms() - w->start) * 20)
					w->failures++;
			} else if (rc != -ENOENT) {
				w->failures++;
			}
		}
		if (++w->ops == MIN_OPS)
			atomic_fetch_add(w->busy, 1);
	}
	return NULL;
}

static void test_threads(void **state)
{
	enum { NT = 4, MAX = 64 * 1024 };
	struct worker w[NT];
	pthread_t th[NT];
	atomic_bool stop = false;
	atomic_uint busy = 0;
	struct timespec pause = {0, 300 * 1000 * 1000};
	uint64_t lookups = 0, inserts = 0;
	struct cache_stats st;
	struct cache *c;
	uint64_t start = clock_ms();
	unsigned i;

	assert_int_equal(cache_new(MAX, 4, &c), 0);
	for (i = 0; i < NT; i++) {
		/* One clock origin for all: a value stored by one thread is never from the future. */
		w[i] = (struct worker){.c = c, .stop = &stop, .busy = &busy, .seed = i + 1, .start = start};
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	/* Stats may be read while the workers run. */
	for (i = 0; i < 30; i++) {
		struct timespec tick = {0, 10 * 1000 * 1000};

		nanosleep(&tick, NULL);
		st = stats(c);
		assert_true(st.bytes <= MAX);
	}
	/* at least 0.6 s (12 s of the fast clock, so TTLs run out), and until every thread has
	 * done its share: on a loaded machine a thread may get little time in 0.6 s */
	nanosleep(&pause, NULL);
	while (atomic_load(&busy) < NT)
		nanosleep(&pause, NULL);
	atomic_store(&stop, true);
	for (i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		assert_true(w[i].ops >= MIN_OPS);
		lookups += w[i].lookups;
		inserts += w[i].inserts;
	}
	st = stats(c);
	assert_int_equal(st.hits + st.misses, lookups);
	assert_int_equal(st.inserts, inserts);
	assert_true(st.hits > 0 && st.misses > 0);
	assert_true(st.evictions > 0);
	assert_true(st.entries > 0);
	assert_true(st.entries + st.evictions + st.expired <= st.inserts);
	assert_true(st.bytes <= MAX);
	assert_true(st.bytes >= st.entries * (20 + 16 + 16));
	cache_flush(c);
	assert_int_equal(stats(c).entries, 0);
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hit),          cmocka_unit_test(test_miss),
	        cmocka_unit_test(test_ttl_expiry),   cmocka_unit_test(test_replace),
	        cmocka_unit_test(test_eviction_lru), cmocka_unit_test(test_recent_survives),
	        cmocka_unit_test(test_key_case),     cmocka_unit_test(test_separation),
	        cmocka_unit_test(test_key_bounds),   cmocka_unit_test(test_enobufs),
	        cmocka_unit_test(test_e2big),        cmocka_unit_test(test_zero_size),
	        cmocka_unit_test(test_flush),        cmocka_unit_test(test_stats),
	        cmocka_unit_test(test_growth),       cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
