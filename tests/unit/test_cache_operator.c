/* test_cache_operator.c - unit tests for the cache's operator functions: key split, flush by name and zone, walk */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns64d/cache.h"
#include "dnstext.h"

#define T_A    1
#define T_MX   15
#define T_AAAA 28
#define C_IN   1
#define NOW    1000000u

static void put(struct cache *c, const char *name, uint16_t qtype, uint8_t flags, bool synth)
{
	uint8_t wire[256], key[CACHE_KEY_MAX], variant[21] = {0x00, 0x64, 0xff, 0x9b};
	size_t wl = name_from_text(name, wire);
	size_t kl = cache_key(key, wire, wl, qtype, C_IN, flags | (synth ? CACHE_F_SYNTH : 0), synth ? variant : NULL,
	                      synth ? sizeof(variant) : 0);

	assert_true(kl > 0);
	assert_int_equal(cache_insert(c, key, kl, name, strlen(name) + 1, NOW, 300), 0);
}

static bool has(struct cache *c, const char *name, uint16_t qtype, uint8_t flags, bool synth)
{
	uint8_t wire[256], key[CACHE_KEY_MAX], variant[21] = {0x00, 0x64, 0xff, 0x9b}, buf[512];
	size_t wl = name_from_text(name, wire), len;
	size_t kl = cache_key(key, wire, wl, qtype, C_IN, flags | (synth ? CACHE_F_SYNTH : 0), synth ? variant : NULL,
	                      synth ? sizeof(variant) : 0);

	return cache_lookup(c, key, kl, NOW + 1000, buf, sizeof(buf), &len, NULL) == 0;
}

static struct cache *filled(void)
{
	struct cache *c;

	assert_int_equal(cache_new(1 << 20, 8, &c), 0);
	put(c, "www.example.org", T_A, CACHE_F_RD, false);
	put(c, "www.example.org", T_A, CACHE_F_RD | CACHE_F_DO, false);
	put(c, "www.example.org", T_AAAA, CACHE_F_RD, false);
	put(c, "www.example.org", T_AAAA, CACHE_F_RD, true);
	put(c, "www.example.org", T_MX, CACHE_F_RD, false);
	put(c, "example.org", T_A, CACHE_F_RD, false);
	put(c, "a.b.example.org", T_A, CACHE_F_RD, false);
	put(c, "notexample.org", T_A, CACHE_F_RD, false);
	put(c, "org", T_A, CACHE_F_RD, false);
	put(c, "www.example.net", T_A, CACHE_F_RD, false);
	return c;
}

static void test_key_split(void **state)
{
	uint8_t wire[256], key[CACHE_KEY_MAX];
	size_t wl = name_from_text("WWW.Example.org", wire), qlen;
	size_t kl = cache_key(key, wire, wl, T_AAAA, C_IN, CACHE_F_RD | CACHE_F_CD, "xyz", 3);
	uint16_t qtype, qclass;
	uint8_t flags;

	assert_int_equal(cache_key_split(key, kl, &qlen, &qtype, &qclass, &flags), 0);
	assert_int_equal(qlen, wl);
	assert_memory_equal(key, "\3www\7example\3org", wl);
	assert_int_equal(qtype, T_AAAA);
	assert_int_equal(qclass, C_IN);
	assert_int_equal(flags, CACHE_F_RD | CACHE_F_CD);
	/* truncated keys and bad labels are not keys */
	for (size_t n = 0; n < wl + 5; n++)
		assert_int_equal(cache_key_split(key, n, &qlen, &qtype, &qclass, &flags), -EINVAL);
	key[0] = 64;
	assert_int_equal(cache_key_split(key, kl, &qlen, &qtype, &qclass, &flags), -EINVAL);
}

static void test_flush_name_all_types(void **state)
{
	struct cache *c = filled();
	uint8_t wire[256];
	size_t wl = name_from_text("WWW.EXAMPLE.ORG", wire);

	/* A twice (RD, RD+DO), AAAA, synthesized AAAA, MX */
	assert_int_equal(cache_flush_name(c, wire, wl, 0), 5);
	assert_false(has(c, "www.example.org", T_A, CACHE_F_RD, false));
	assert_false(has(c, "www.example.org", T_AAAA, CACHE_F_RD, true));
	assert_true(has(c, "example.org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "a.b.example.org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "www.example.net", T_A, CACHE_F_RD, false));
	assert_int_equal(cache_flush_name(c, wire, wl, 0), 0);
	cache_free(c);
}

static void test_flush_name_one_type(void **state)
{
	struct cache *c = filled();
	uint8_t wire[256];
	size_t wl = name_from_text("www.example.org", wire);

	assert_int_equal(cache_flush_name(c, wire, wl, T_AAAA), 2); /* plain and synthesized */
	assert_false(has(c, "www.example.org", T_AAAA, CACHE_F_RD, false));
	assert_false(has(c, "www.example.org", T_AAAA, CACHE_F_RD, true));
	assert_true(has(c, "www.example.org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "www.example.org", T_A, CACHE_F_RD | CACHE_F_DO, false));
	assert_true(has(c, "www.example.org", T_MX, CACHE_F_RD, false));
	cache_free(c);
}

static void test_flush_zone(void **state)
{
	struct cache *c = filled();
	uint8_t wire[256];
	size_t wl = name_from_text("Example.Org", wire);

	/* www x5, example.org, a.b.example.org; not notexample.org, org, example.net */
	assert_int_equal(cache_flush_zone(c, wire, wl), 7);
	assert_false(has(c, "www.example.org", T_AAAA, CACHE_F_RD, true));
	assert_false(has(c, "example.org", T_A, CACHE_F_RD, false));
	assert_false(has(c, "a.b.example.org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "notexample.org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "org", T_A, CACHE_F_RD, false));
	assert_true(has(c, "www.example.net", T_A, CACHE_F_RD, false));
	/* the root zone is everything */
	wl = name_from_text("", wire);
	assert_int_equal(cache_flush_zone(c, wire, wl), 3);
	struct cache_stats st;
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	cache_free(c);
}

struct seen {
	unsigned n, stop_after;
	size_t value_bytes;
};

static int count_entries(void *ctx, const uint8_t *key, size_t key_len, const void *value, size_t value_len,
                         uint64_t stored_ms, uint64_t expire_ms)
{
	struct seen *s = ctx;

	assert_int_equal(stored_ms, NOW);
	assert_int_equal(expire_ms, NOW + 300000);
	assert_int_equal(strlen(value) + 1, value_len);
	s->value_bytes += value_len;
	return ++s->n == s->stop_after ? 42 : 0;
}

static void test_walk_and_reset(void **state)
{
	struct cache *c = filled();
	struct seen s = {0, 0, 0};
	struct cache_stats st;

	assert_int_equal(cache_walk(c, count_entries, &s), 0);
	assert_int_equal(s.n, 10);
	s = (struct seen){0, 3, 0};
	assert_int_equal(cache_walk(c, count_entries, &s), 42);
	assert_int_equal(s.n, 3);

	assert_true(has(c, "org", T_A, CACHE_F_RD, false));
	assert_false(has(c, "nothere.org", T_A, CACHE_F_RD, false));
	cache_get_stats(c, &st);
	assert_true(st.hits >= 1 && st.misses >= 1 && st.inserts == 10);
	cache_reset_stats(c);
	cache_get_stats(c, &st);
	assert_int_equal(st.hits + st.misses + st.inserts + st.evictions + st.expired, 0);
	assert_int_equal(st.entries, 10); /* entries and bytes are state, not counters */
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_split),           cmocka_unit_test(test_flush_name_all_types),
	        cmocka_unit_test(test_flush_name_one_type), cmocka_unit_test(test_flush_zone),
	        cmocka_unit_test(test_walk_and_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
