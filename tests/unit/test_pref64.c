/* test_pref64.c - unit tests for RFC 8781 PREF64 parsing and the table of advertised prefixes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns64d/pref64.h"

static struct nat64_prefix P(const char *s) {
	struct nat64_prefix p;
	const char *why = NULL;
	if (nat64_prefix_parse(s, &p, &why) < 0)
		fail_msg("bad test prefix '%s': %s", s, why);
	return p;
}

/* An RA: the 16-byte header, then the given option bytes. */
struct ra {
	uint8_t b[512];
	size_t len;
};

static void ra_init(struct ra *r)
{
	memset(r, 0, sizeof(*r));
	r->b[0] = 134;
	r->b[4] = 64;   /* cur hop limit */
	r->b[6] = 0x07; /* router lifetime 1800 s */
	r->b[7] = 0x08;
	r->len = 16;
}

static void ra_add(struct ra *r, const void *opt, size_t len)
{
	memcpy(r->b + r->len, opt, len);
	r->len += len;
}

/* A PREF64 option with a raw scaled lifetime and PLC, prefix bytes from addr. */
static void ra_add_raw(struct ra *r, unsigned scaled, unsigned plc, const char *addr)
{
	uint8_t o[16] = {38, 2};
	uint8_t a[16];
	assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	unsigned w = scaled << 3 | plc;
	o[2] = (uint8_t)(w >> 8);
	o[3] = (uint8_t)w;
	memcpy(o + 4, a, 12);
	ra_add(r, o, sizeof(o));
}

/* Every length code, with the prefix's bits past its length set in the option: ignored. */
static void test_every_length_code(void **state)
{
	static const struct {
		unsigned plc;
		const char *want;
	} cases[] = {
	        {0, "2001:db8:a1b2:c3d4:7:e5f6::/96"},
	        {1, "2001:db8:a1b2:c3d4::/64"},
	        {2, "2001:db8:a1b2:c300::/56"},
	        {3, "2001:db8:a1b2::/48"},
	        {4, "2001:db8:a100::/40"},
	        {5, "2001:db8::/32"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ra r;
		struct pref64_ra out;
		ra_init(&r);
		ra_add_raw(&r, 225, cases[i].plc, "2001:db8:a1b2:c3d4:7:e5f6::");
		assert_int_equal(pref64_parse_ra(r.b, r.len, &out), 0);
		assert_int_equal(out.n, 1);
		assert_int_equal(out.ignored, 0);
		struct nat64_prefix want = P(cases[i].want);
		assert_int_equal(out.opt[0].prefix.len, want.len);
		assert_memory_equal(out.opt[0].prefix.addr, want.addr, 16);
		assert_int_equal(out.opt[0].lifetime_s, 1800);
	}
}

static void test_56_exact(void **state)
{
	struct ra r;
	struct pref64_ra out;
	ra_init(&r);
	ra_add_raw(&r, 1, 2, "2001:db8:1:2ff::");
	assert_int_equal(pref64_parse_ra(r.b, r.len, &out), 0);
	assert_int_equal(out.n, 1);
	struct nat64_prefix want = P("2001:db8:1:200::/56");
	assert_int_equal(out.opt[0].prefix.len, 56);
	assert_memory_equal(out.opt[0].prefix.addr, want.addr, 16);
	assert_int_equal(out.opt[0].lifetime_s, 8);
}

/* Build then parse: the same prefix; lifetimes round up to 8 s and are capped. */
static void test_build_roundtrip(void **state)
{
	static const char *const prefixes[] = {"64:ff9b::/96",        "2001:db8:64::/96", "2001:db8:1:2::/64",
	                                       "2001:db8:1:200::/56", "2001:db8:1::/48",  "2001:db8:100::/40",
	                                       "2001:db8::/32"};
	static const struct {
		uint32_t in, out;
	} lifetimes[] = {{0, 0}, {1, 8}, {8, 8}, {9, 16}, {600, 600}, {65528, 65528}, {100000, 65528}};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		for (size_t k = 0; k < sizeof(lifetimes) / sizeof(lifetimes[0]); k++) {
			struct nat64_prefix p = P(prefixes[i]);
			uint8_t o[16];
			struct ra r;
			struct pref64_ra out;
			assert_int_equal(pref64_build_option(&p, lifetimes[k].in, o), 0);
			ra_init(&r);
			ra_add(&r, o, sizeof(o));
			assert_int_equal(pref64_parse_ra(r.b, r.len, &out), 0);
			assert_int_equal(out.n, 1);
			assert_false(pref64_differ(&out.opt[0].prefix, &p));
			assert_int_equal(out.opt[0].lifetime_s, lifetimes[k].out);
		}
	struct nat64_prefix bad = {.len = 80};
	uint8_t o[16];
	assert_int_equal(pref64_build_option(&bad, 60, o), -EINVAL);
}

/* PLC 6 and 7, Length 1 and 3, a /96 with a u-octet: ignored, the rest of the RA still read. */
static void test_bad_options_ignored(void **state)
{
	struct ra r;
	struct pref64_ra out;
	ra_init(&r);
	ra_add_raw(&r, 10, 6, "2001:db8:6::");
	ra_add_raw(&r, 10, 7, "2001:db8:7::");
	uint8_t short_opt[8] = {38, 1, 0, 80, 0x20, 0x01, 0x0d, 0xb8};
	ra_add(&r, short_opt, sizeof(short_opt));
	uint8_t long_opt[24] = {38, 3, 0, 80, 0x20, 0x01, 0x0d, 0xb8};
	ra_add(&r, long_opt, sizeof(long_opt));
	ra_add_raw(&r, 10, 0, "2001:db8:1:2:ff00::"); /* u-octet 0xff */
	ra_add_raw(&r, 10, 0, "2001:db8:64::");
	assert_int_equal(pref64_parse_ra(r.b, r.len, &out), 0);
	assert_int_equal(out.ignored, 5);
	assert_int_equal(out.n, 1);
	struct nat64_prefix want = P("2001:db8:64::/96");
	assert_false(pref64_differ(&out.opt[0].prefix, &want));
	assert_int_equal(out.opt[0].lifetime_s, 80);
}

/* Not an RA, a short RA, an option of length 0 or past the end: the whole RA is invalid. */
static void test_malformed_ra(void **state)
{
	struct ra r;
	struct pref64_ra out;
	ra_init(&r);
	assert_int_equal(pref64_parse_ra(r.b, 15, &out), -EINVAL);
	assert_int_equal(pref64_parse_ra(r.b, 16, &out), 0);
	assert_int_equal(out.n, 0);
	r.b[0] = 133;
	assert_int_equal(pref64_parse_ra(r.b, 16, &out), -EINVAL);
	r.b[0] = 134;
	r.b[1] = 1;
	assert_int_equal(pref64_parse_ra(r.b, 16, &out), -EINVAL);
	r.b[1] = 0;
	ra_add_raw(&r, 10, 0, "2001:db8:64::");
	assert_int_equal(pref64_parse_ra(r.b, r.len - 1, &out), -EINVAL); /* a short option */
	assert_int_equal(pref64_parse_ra(r.b, r.len + 1, &out), -EINVAL); /* one byte of a next option */
	uint8_t zero_len[8] = {1, 0};
	ra_add(&r, zero_len, sizeof(zero_len));
	assert_int_equal(pref64_parse_ra(r.b, r.len, &out), -EINVAL);
	assert_int_equal(out.n, 0);
}

/* Other options (source link-layer, MTU, prefix information) are skipped. */
static void test_other_options_and_many(void **state)
{
	struct ra r;
	struct pref64_ra out;
	ra_init(&r);
	uint8_t sll[8] = {1, 1, 0x02, 0, 0, 0, 0, 1};
	uint8_t mtu[8] = {5, 1, 0, 0, 0, 0, 0x05, 0xdc};
	uint8_t pio[32] = {3, 4, 64, 0xc0};
	ra_add(&r, sll, sizeof(sll));
	ra_add(&r, mtu, sizeof(mtu));
	ra_add(&r, pio, sizeof(pio));
	char a[64];
	for (unsigned i = 0; i < PREF64_OPTIONS_MAX + 2; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x::", i + 1);
		ra_add_raw(&r, 100, 0, a);
	}
	assert_int_equal(pref64_parse_ra(r.b, r.len, &out), 0);
	assert_int_equal(out.n, PREF64_OPTIONS_MAX);
	assert_int_equal(out.ignored, 2);
	struct nat64_prefix first = P("2001:db8:1::/96");
	assert_false(pref64_differ(&out.opt[0].prefix, &first));
}

static struct pref64_ra one(const char *prefix, uint32_t lifetime)
{
	struct pref64_ra ra = {.n = 1};
	ra.opt[0].prefix = P(prefix);
	ra.opt[0].lifetime_s = lifetime;
	return ra;
}

/* The newest advertisement is in use; an older one still alive takes over after it. */
static void test_table_newest_wins_and_expiry(void **state)
{
	struct pref64_table t = {.n = 0};
	struct nat64_prefix a = P("2001:db8:a::/96"), b = P("2001:db8:b::/96");
	assert_null(pref64_table_current(&t, 0));
	assert_true(pref64_table_next_expiry(&t) == UINT64_MAX);
	struct pref64_ra ra = one("2001:db8:a::/96", 600);
	pref64_table_update(&t, 0, &ra, 1000);
	assert_false(pref64_differ(&pref64_table_current(&t, 1000)->prefix, &a));
	ra = one("2001:db8:b::/96", 16);
	pref64_table_update(&t, 0, &ra, 2000);
	assert_false(pref64_differ(&pref64_table_current(&t, 2000)->prefix, &b));
	assert_true(pref64_table_next_expiry(&t) == 18000);
	/* at its end b is gone even before expire() runs, and a is back */
	assert_false(pref64_differ(&pref64_table_current(&t, 18000)->prefix, &a));
	assert_int_equal(pref64_table_expire(&t, 17999), 0);
	assert_int_equal(pref64_table_expire(&t, 18000), 1);
	assert_int_equal(t.n, 1);
	assert_true(pref64_table_next_expiry(&t) == 601000);
	/* a refresh moves the expiry */
	ra = one("2001:db8:a::/96", 8);
	pref64_table_update(&t, 0, &ra, 20000);
	assert_int_equal(t.n, 1);
	assert_true(pref64_table_next_expiry(&t) == 28000);
	assert_null(pref64_table_current(&t, 28000));
}

/* Lifetime 0 withdraws that prefix on that interface only. */
static void test_table_withdraw(void **state)
{
	struct pref64_table t = {.n = 0};
	struct nat64_prefix a = P("2001:db8:a::/96");
	struct pref64_ra ra = one("2001:db8:a::/96", 600);
	pref64_table_update(&t, 0, &ra, 0);
	pref64_table_update(&t, 1, &ra, 0);
	ra = one("2001:db8:b::/96", 600);
	pref64_table_update(&t, 0, &ra, 0);
	assert_int_equal(t.n, 3);
	ra = one("2001:db8:b::/96", 0);
	pref64_table_update(&t, 0, &ra, 10);
	assert_int_equal(t.n, 2);
	const struct pref64_entry *e = pref64_table_current(&t, 10);
	assert_false(pref64_differ(&e->prefix, &a));
	assert_int_equal(e->iface, 1); /* interface 1 advertised a after interface 0 did */
	ra = one("2001:db8:a::/96", 0);
	pref64_table_update(&t, 1, &ra, 20);
	e = pref64_table_current(&t, 20);
	assert_int_equal(e->iface, 0);
	pref64_table_update(&t, 0, &ra, 30);
	assert_null(pref64_table_current(&t, 30));
	/* withdrawing what is not there changes nothing */
	pref64_table_update(&t, 0, &ra, 40);
	assert_int_equal(t.n, 0);
}

/* Several options in one RA: all remembered, the first in use; a full table evicts the
 * entry that would expire first. */
static void test_table_several_and_full(void **state)
{
	struct pref64_table t = {.n = 0};
	struct pref64_ra ra = {.n = 3};
	ra.opt[0].prefix = P("2001:db8:1::/96");
	ra.opt[1].prefix = P("2001:db8:2::/64");
	ra.opt[2].prefix = P("2001:db8::/32");
	ra.opt[0].lifetime_s = 100;
	ra.opt[1].lifetime_s = 200;
	ra.opt[2].lifetime_s = 300;
	pref64_table_update(&t, 0, &ra, 0);
	assert_int_equal(t.n, 3);
	assert_false(pref64_differ(&pref64_table_current(&t, 0)->prefix, &ra.opt[0].prefix));
	assert_false(pref64_differ(&pref64_table_current(&t, 100000)->prefix, &ra.opt[1].prefix));
	assert_false(pref64_differ(&pref64_table_current(&t, 200000)->prefix, &ra.opt[2].prefix));
	assert_null(pref64_table_current(&t, 300000));
	for (unsigned i = 0; i < PREF64_TABLE_MAX; i++) {
		struct pref64_ra r1 = {.n = 1};
		char s[64];
		snprintf(s, sizeof(s), "2001:db8:%x::/96", 0x100 + i);
		r1.opt[0].prefix = P(s);
		r1.opt[0].lifetime_s = 1000 + i;
		pref64_table_update(&t, 1, &r1, 0);
	}
	assert_int_equal(t.n, PREF64_TABLE_MAX);
	/* the three short ones made room first */
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(t.e[i].iface, 1);
	struct nat64_prefix last = P("2001:db8:107::/96");
	assert_false(pref64_differ(&pref64_table_current(&t, 0)->prefix, &last));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_length_code),
	        cmocka_unit_test(test_56_exact),
	        cmocka_unit_test(test_build_roundtrip),
	        cmocka_unit_test(test_bad_options_ignored),
	        cmocka_unit_test(test_malformed_ra),
	        cmocka_unit_test(test_other_options_and_many),
	        cmocka_unit_test(test_table_newest_wins_and_expiry),
	        cmocka_unit_test(test_table_withdraw),
	        cmocka_unit_test(test_table_several_and_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
