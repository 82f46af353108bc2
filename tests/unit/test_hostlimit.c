/* test_hostlimit.c - unit tests for per-host connection counts: host keys, limits, threads */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dns64d/addr.h"
#include "dns64d/hostlimit.h"

static struct sockaddr_storage sa(const char *s)
{
	struct sockaddr_storage ss;
	const char *why = NULL;
	if (addr_parse_endpoint(s, 53, &ss, &why) != 0)
		fail_msg("bad test address '%s': %s", s, why);
	return ss;
}

/* The parsed address in one of a few static slots, so two can be used in one expression. */
static const struct sockaddr *SA(const char *s)
{
	static struct sockaddr_storage slots[4];
	static unsigned next;
	struct sockaddr_storage *p = &slots[next++ % 4];
	*p = sa(s);
	return (const struct sockaddr *)p;
}

/* Pairs of client addresses and whether they count as one host. */
static const struct {
	const char *a, *b;
	int same;
} host_cases[] = {
        {"192.0.2.1", "192.0.2.1:1234", 1}, /* the port does not matter */
        {"192.0.2.1", "192.0.2.2", 0},      /* IPv4: every address is a host */
        {"10.0.0.1", "10.0.1.1", 0},
        {"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", 1}, /* IPv6: per /64 */
        {"[2001:db8:1:2::1]:5353", "2001:db8:1:2:8000::", 1},
        {"2001:db8:1:2::1", "2001:db8:1:3::1", 0},
        {"2001:db8:1:2::1", "2001:db9:1:2::1", 0},
        {"::ffff:192.0.2.1", "192.0.2.1", 1},        /* IPv4-mapped is the IPv4 address */
        {"::ffff:192.0.2.1", "::ffff:192.0.2.2", 0}, /* and not aggregated like IPv6 */
        {"::c000:201", "192.0.2.1", 0},              /* IPv4-compatible is IPv6 */
        {"::1", "::2", 1},
        {"0.0.0.1", "::1", 0}, /* same bytes, other family */
};

static void test_host_keys(void **state)
{
	unsigned failures = 0;
	for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
		uint8_t ka[HOSTLIMIT_KEY_MAX], kb[HOSTLIMIT_KEY_MAX];
		size_t la = hostlimit_key(SA(host_cases[i].a), ka), lb = hostlimit_key(SA(host_cases[i].b), kb);
		int same = la == lb && memcmp(ka, kb, la) == 0;
		if (!la || !lb || same != host_cases[i].same) {
			print_error("'%s' and '%s': same host %d, want %d\n", host_cases[i].a, host_cases[i].b, same,
			            host_cases[i].same);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	struct sockaddr_storage un = {.ss_family = AF_UNIX};
	uint8_t k[HOSTLIMIT_KEY_MAX];
	assert_int_equal(hostlimit_key((const struct sockaddr *)&un, k), 0);
}

static void test_limit_per_host(void **state)
{
	struct hostlimit *h;
	assert_int_equal(hostlimit_new(&h), 0);
	/* a /64 is one host: three addresses in it share a limit of 3 */
	assert_int_equal(hostlimit_take(h, SA("2001:db8::1"), 3), 0);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::2"), 3), 0);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::ffff"), 3), 0);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::3"), 3), -EBUSY);
	assert_int_equal(hostlimit_count(h, SA("2001:db8::9")), 3);
	/* others are not affected */
	assert_int_equal(hostlimit_take(h, SA("2001:db8:0:1::1"), 3), 0);
	assert_int_equal(hostlimit_take(h, SA("192.0.2.1"), 1), 0);
	assert_int_equal(hostlimit_take(h, SA("::ffff:192.0.2.1"), 1), -EBUSY);
	assert_int_equal(hostlimit_take(h, SA("192.0.2.2"), 1), 0);
	/* a lower limit (after a reload) applies at once; a limit of 0 admits nobody */
	assert_int_equal(hostlimit_take(h, SA("2001:db8::4"), 2), -EBUSY);
	assert_int_equal(hostlimit_take(h, SA("198.51.100.1"), 0), -EBUSY);
	assert_int_equal(hostlimit_count(h, SA("198.51.100.1")), 0);
	/* giving one back makes room for one */
	hostlimit_put(h, SA("2001:db8::2"));
	assert_int_equal(hostlimit_count(h, SA("2001:db8::1")), 2);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::5"), 3), 0);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::6"), 3), -EBUSY);
	/* back to zero: the entry is gone, the host starts afresh */
	for (int i = 0; i < 3; i++)
		hostlimit_put(h, SA("2001:db8::1"));
	assert_int_equal(hostlimit_count(h, SA("2001:db8::1")), 0);
	hostlimit_put(h, SA("2001:db8::1")); /* one too many is ignored */
	assert_int_equal(hostlimit_count(h, SA("2001:db8::1")), 0);
	assert_int_equal(hostlimit_take(h, SA("2001:db8::1"), 1), 0);
	struct sockaddr_storage un = {.ss_family = AF_UNIX};
	assert_int_equal(hostlimit_take(h, (const struct sockaddr *)&un, 5), -EAFNOSUPPORT);
	hostlimit_free(h); /* frees what is still counted */
}

static void test_many_hosts(void **state)
{
	struct hostlimit *h;
	char buf[64];
	assert_int_equal(hostlimit_new(&h), 0);
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(hostlimit_take(h, SA(buf), 2), 0);
		assert_int_equal(hostlimit_take(h, SA(buf), 2), 0);
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(hostlimit_count(h, SA(buf)), 2);
		assert_int_equal(hostlimit_take(h, SA(buf), 2), -EBUSY);
		hostlimit_put(h, SA(buf));
		hostlimit_put(h, SA(buf));
		assert_int_equal(hostlimit_count(h, SA(buf)), 0);
	}
	hostlimit_free(h);
}

struct thread_arg {
	struct hostlimit *h;
	unsigned taken;
};

/* Take and give back slots of one host; never more than the limit at once in all threads. */
static void *churn(void *p)
{
	struct thread_arg *a = p;
	struct sockaddr_storage s = sa("2001:db8:77::1");
	for (int i = 0; i < 20000; i++) {
		if (hostlimit_take(a->h, (const struct sockaddr *)&s, 8) == 0) {
			a->taken++;
			if (hostlimit_count(a->h, (const struct sockaddr *)&s) > 8)
				return "over the limit";
			hostlimit_put(a->h, (const struct sockaddr *)&s);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct hostlimit *h;
	assert_int_equal(hostlimit_new(&h), 0);
	pthread_t t[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.h = h};
		assert_int_equal(pthread_create(&t[i], NULL, churn, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *res;
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
		assert_true(args[i].taken > 0);
	}
	assert_int_equal(hostlimit_count(h, SA("2001:db8:77::2")), 0);
	hostlimit_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_host_keys),
	        cmocka_unit_test(test_limit_per_host),
	        cmocka_unit_test(test_many_hosts),
	        cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
