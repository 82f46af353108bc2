/* test_addr.c - unit tests for socket address and network parsing and formatting */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "dns64d/addr.h"

struct endpoint_case {
	const char *in;
	uint16_t default_port;
	const char *formatted; /* NULL: must be rejected */
};

static const struct endpoint_case endpoint_cases[] = {
        {"127.0.0.1", 53, "127.0.0.1:53"},
        {"127.0.0.1:5353", 53, "127.0.0.1:5353"},
        {"0.0.0.0:1", 53, "0.0.0.0:1"},
        {"255.255.255.255:65535", 53, "255.255.255.255:65535"},
        {"192.0.2.1", 9153, "192.0.2.1:9153"},
        {"[::1]:5353", 53, "[::1]:5353"},
        {"[::1]", 53, "[::1]:53"},
        {"::1", 53, "[::1]:53"},
        {"::", 53, "[::]:53"},
        {"2001:db8::53", 53, "[2001:db8::53]:53"},
        {"[2001:db8::1]:65535", 53, "[2001:db8::1]:65535"},
        {"::ffff:192.0.2.1", 53, "[::ffff:192.0.2.1]:53"},
        {"[fe80::1%3]:5300", 53, "[fe80::1%3]:5300"},
        {"fe80::1%7", 53, "[fe80::1%7]:53"},
        /* a bare IPv6 address ending in what looks like a port is still all address */
        {"::1:53", 53, "[::0.1.0.83]:53"},
        {"", 53, NULL},
        {"1.2.3.999", 53, NULL},
        {"1.2.3", 53, NULL},
        {"1.2.3.4.5", 53, NULL},
        {"localhost", 53, NULL},
        {"localhost:53", 53, NULL},
        {"127.0.0.1:0", 53, NULL},
        {"127.0.0.1:65536", 53, NULL},
        {"127.0.0.1:99999999999999999999999", 53, NULL},
        {"127.0.0.1:", 53, NULL},
        {"127.0.0.1:53x", 53, NULL},
        {"127.0.0.1:+53", 53, NULL},
        {"127.0.0.1:-1", 53, NULL},
        {"127.0.0.1: 53", 53, NULL},
        {" 127.0.0.1", 53, NULL},
        {"127.0.0.1 ", 53, NULL},
        {":53", 53, NULL},
        {"[::1]:", 53, NULL},
        {"[::1]:0", 53, NULL},
        {"[::1]:65536", 53, NULL},
        {"[::1", 53, NULL},
        {"[::1]53", 53, NULL},
        {"[::1]:53:53", 53, NULL},
        {"[]:53", 53, NULL},
        {"[127.0.0.1]:53", 53, NULL},
        {"::g", 53, NULL},
        {"1::2::3", 53, NULL},
        {"fe80::1%", 53, NULL},
        {"fe80::1%no-such-interface-x", 53, NULL},
        {"2001:0db8:0000:0000:0000:0000:0000:0001:0002", 53, NULL},
        {"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:53", 53, NULL},
};

static void test_endpoint_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(endpoint_cases) / sizeof(endpoint_cases[0]); i++) {
		const struct endpoint_case *c = &endpoint_cases[i];
		struct sockaddr_storage ss;
		const char *why = NULL;
		char buf[64];
		int rc = addr_parse_endpoint(c->in, c->default_port, &ss, &why);

		if (c->formatted == NULL) {
			if (rc != -EINVAL || why == NULL || why[0] == '\0') {
				print_error("'%s': accepted or no reason (rc %d)\n", c->in, rc);
				failures++;
			}
			continue;
		}
		if (rc != 0) {
			print_error("'%s': rejected: %s\n", c->in, why);
			failures++;
			continue;
		}
		addr_format((struct sockaddr *)&ss, buf, sizeof(buf));
		if (strcmp(buf, c->formatted) != 0) {
			print_error("'%s': got '%s', want '%s'\n", c->in, buf, c->formatted);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_endpoint_fields(void **state)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	const char *why;

	assert_int_equal(addr_parse_endpoint("192.0.2.7:5300", 53, &ss, &why), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5300);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	assert_int_equal(addr_len((const struct sockaddr *)&ss), sizeof(struct sockaddr_in));

	assert_int_equal(addr_parse_endpoint("[2001:db8::7]:853", 53, &ss, &why), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 853);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 7);
	assert_int_equal(sin6->sin6_scope_id, 0);
	assert_int_equal(addr_len((const struct sockaddr *)&ss), sizeof(struct sockaddr_in6));

	/* the scope of a link-local address, by interface name */
	assert_int_equal(addr_parse_endpoint("fe80::53%lo", 53, &ss, &why), 0);
	assert_int_not_equal(sin6->sin6_scope_id, 0);

	ss.ss_family = AF_UNIX;
	assert_int_equal(addr_len((const struct sockaddr *)&ss), 0);
}

struct network_case {
	const char *in;
	int family; /* 0: must be rejected */
	unsigned plen;
	const char *formatted; /* for bad cases: expected reason fragment */
};

static const struct network_case network_cases[] = {
        {"10.0.0.0/8", AF_INET, 8, "10.0.0.0/8"},
        {"10.128.0.0/9", AF_INET, 9, "10.128.0.0/9"},
        {"0.0.0.0/0", AF_INET, 0, "0.0.0.0/0"},
        {"192.0.2.1", AF_INET, 32, "192.0.2.1/32"},
        {"192.0.2.1/32", AF_INET, 32, "192.0.2.1/32"},
        {"192.0.2.254/31", AF_INET, 31, "192.0.2.254/31"},
        {"::1", AF_INET6, 128, "::1/128"},
        {"::/0", AF_INET6, 0, "::/0"},
        {"2001:db8::/32", AF_INET6, 32, "2001:db8::/32"},
        {"2001:db8:8000::/33", AF_INET6, 33, "2001:db8:8000::/33"},
        {"::ffff:0:0/96", AF_INET6, 96, "::ffff:0.0.0.0/96"},
        {"2001:db8::8000:0:0:0/65", AF_INET6, 65, "2001:db8:0:0:8000::/65"},
        {"10.0.0.1/8", 0, 0, "host bits set"},
        {"10.128.0.0/8", 0, 0, "host bits set"},
        {"192.0.2.1/31", 0, 0, "host bits set"},
        {"2001:db9::/31", 0, 0, "host bits set"},
        {"2001:db8::1/127", 0, 0, "host bits set"},
        {"10.0.0.0/33", 0, 0, "prefix length"},
        {"::/129", 0, 0, "prefix length"},
        {"10.0.0.0/", 0, 0, "prefix length"},
        {"10.0.0.0/-1", 0, 0, "prefix length"},
        {"10.0.0.0/8/8", 0, 0, "prefix length"},
        {"10.0.0.0/ 8", 0, 0, "prefix length"},
        {"/8", 0, 0, "address"},
        {"", 0, 0, "address"},
        {"10.0.0.256/32", 0, 0, "IPv4"},
        {"2001:db8:::/48", 0, 0, "IPv6"},
        {"example.com/24", 0, 0, "address"},
};

static void test_network_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(network_cases) / sizeof(network_cases[0]); i++) {
		const struct network_case *c = &network_cases[i];
		struct network n;
		const char *why = NULL;
		char buf[64];
		int rc = addr_parse_network(c->in, &n, &why);

		if (c->family == 0) {
			if (rc != -EINVAL || why == NULL || strstr(why, c->formatted) == NULL) {
				print_error("'%s': rc %d why '%s', want '%s'\n", c->in, rc, why ? why : "(null)",
				            c->formatted);
				failures++;
			}
			continue;
		}
		if (rc != 0) {
			print_error("'%s': rejected: %s\n", c->in, why);
			failures++;
			continue;
		}
		network_format(&n, buf, sizeof(buf));
		if (n.family != c->family || n.plen != c->plen || strcmp(buf, c->formatted) != 0) {
			print_error("'%s': got family %d /%u '%s'\n", c->in, n.family, n.plen, buf);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

struct contains_case {
	const char *net;
	const char *addr;
	bool inside;
};

static const struct contains_case contains_cases[] = {
        {"10.0.0.0/8", "10.0.0.0", true},
        {"10.0.0.0/8", "10.255.255.255", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"10.0.0.0/8", "9.255.255.255", false},
        {"10.128.0.0/9", "10.127.255.255", false},
        {"10.128.0.0/9", "10.128.0.0", true},
        {"10.128.0.0/9", "10.255.0.1", true},
        {"10.0.0.0/9", "10.128.0.0", false},
        {"172.16.0.0/12", "172.31.255.255", true},
        {"172.16.0.0/12", "172.32.0.0", false},
        {"172.16.0.0/12", "172.15.255.255", false},
        {"192.0.2.0/31", "192.0.2.1", true},
        {"192.0.2.0/31", "192.0.2.2", false},
        {"192.0.2.1/32", "192.0.2.1", true},
        {"192.0.2.1/32", "192.0.2.0", false},
        {"192.0.2.1/32", "192.0.2.3", false},
        {"0.0.0.0/0", "255.255.255.255", true},
        {"0.0.0.0/0", "0.0.0.0", true},
        {"128.0.0.0/1", "127.255.255.255", false},
        {"128.0.0.0/1", "128.0.0.0", true},
        {"0.0.0.0/0", "::", false}, /* families never mix */
        {"::/0", "0.0.0.0", false},
        {"::/0", "ffff::1", true},
        {"::/1", "7fff:ffff::", true},
        {"::/1", "8000::", false},
        {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
        {"2001:db8::/32", "2001:db9::", false},
        {"2001:db8::/32", "2001:db7:ffff::", false},
        {"2001:db8::/127", "2001:db8::1", true},
        {"2001:db8::/127", "2001:db8::2", false},
        {"2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff", true},
        {"2001:db8::/65", "2001:db8:0:0:8000::", false},
        {"2001:db8::/65", "2001:db8:0:1::", false},
        {"::1/128", "::1", true},
        {"::1/128", "::", false},
        {"::1/128", "::3", false},
        {"::ffff:0:0/96", "::ffff:10.0.0.1", true},
        {"::ffff:0:0/96", "::fffe:10.0.0.1", false},
};

static void test_contains_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]); i++) {
		const struct contains_case *c = &contains_cases[i];
		struct network n;
		const char *why;
		uint8_t a[16] = {0};
		int family = strchr(c->addr, ':') != NULL ? AF_INET6 : AF_INET;

		assert_int_equal(addr_parse_network(c->net, &n, &why), 0);
		assert_int_equal(inet_pton(family, c->addr, a), 1);
		if (network_contains(&n, family, a) != c->inside) {
			print_error("%s contains %s: want %d\n", c->net, c->addr, c->inside);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_raw(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint8_t out[16];
	static const uint8_t v4[4] = {10, 1, 2, 3};

	assert_int_equal(inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr), 1);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(addr_raw((struct sockaddr *)&sin, out), AF_INET);
	assert_memory_equal(out, v4, 4);

	/* IPv4-mapped: comes back as IPv4 */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr), 1);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(addr_raw((struct sockaddr *)&sin6, out), AF_INET);
	assert_memory_equal(out, v4, 4);

	/* IPv4-compatible (deprecated) and NAT64 addresses stay IPv6 */
	assert_int_equal(inet_pton(AF_INET6, "::10.1.2.3", &sin6.sin6_addr), 1);
	assert_int_equal(addr_raw((struct sockaddr *)&sin6, out), AF_INET6);
	assert_memory_equal(out, sin6.sin6_addr.s6_addr, 16);
	assert_int_equal(inet_pton(AF_INET6, "64:ff9b::10.1.2.3", &sin6.sin6_addr), 1);
	assert_int_equal(addr_raw((struct sockaddr *)&sin6, out), AF_INET6);
	assert_memory_equal(out, sin6.sin6_addr.s6_addr, 16);

	assert_int_equal(addr_raw((struct sockaddr *)&sun, out), -EAFNOSUPPORT);
}

static void test_format_truncates(void **state)
{
	struct sockaddr_storage ss;
	struct network n;
	const char *why;
	char buf[8];

	assert_int_equal(addr_parse_endpoint("[2001:db8::1]:5353", 53, &ss, &why), 0);
	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), buf);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_string_equal(buf, "[2001:d");

	assert_int_equal(addr_parse_network("2001:db8::/32", &n, &why), 0);
	assert_ptr_equal(network_format(&n, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "2001:db");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_endpoint_table),
	        cmocka_unit_test(test_endpoint_fields),
	        cmocka_unit_test(test_network_table),
	        cmocka_unit_test(test_contains_table),
	        cmocka_unit_test(test_raw),
	        cmocka_unit_test(test_format_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
