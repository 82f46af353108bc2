/* test_upstream_spec.c - unit tests for upstream syntax: plain and tls:// forms, pins, errors, printing back */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "dns64d/addr.h"
#include "dns64d/upstream_spec.h"

#define PIN_B64 "XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/ejY="
static const uint8_t pin_bin[32] = {0x5c, 0x34, 0x5f, 0x38, 0x26, 0x26, 0xf2, 0xcd, 0x92, 0x70, 0x38,
                                    0x93, 0x32, 0x3d, 0x0a, 0x7e, 0x22, 0x34, 0xd5, 0x21, 0x7e, 0xbc,
                                    0xcc, 0x1c, 0x75, 0x6f, 0x36, 0xb8, 0x70, 0x3f, 0x7a, 0x36};

/* Good words: how each parses and prints back. */
static void test_parse_good(void **state)
{
	static const struct {
		const char *in;
		enum upstream_proto proto;
		const char *addr, *name, *printed;
	} cases[] = {
	        {"192.0.2.1", UPSTREAM_UDP, "192.0.2.1:53", "", "192.0.2.1:53"},
	        {"192.0.2.1:5300", UPSTREAM_UDP, "192.0.2.1:5300", "", "192.0.2.1:5300"},
	        {"2001:db8::1", UPSTREAM_UDP, "[2001:db8::1]:53", "", "[2001:db8::1]:53"},
	        {"[2001:db8::1]:5353", UPSTREAM_UDP, "[2001:db8::1]:5353", "", "[2001:db8::1]:5353"},
	        {"tls://192.0.2.1#dns.example", UPSTREAM_TLS, "192.0.2.1:853", "dns.example",
	         "tls://192.0.2.1:853#dns.example"},
	        {"tls://192.0.2.1:8853#dns.example", UPSTREAM_TLS, "192.0.2.1:8853", "dns.example",
	         "tls://192.0.2.1:8853#dns.example"},
	        {"tls://[2001:db8::1]:853#one.one.one.one", UPSTREAM_TLS, "[2001:db8::1]:853", "one.one.one.one",
	         "tls://[2001:db8::1]:853#one.one.one.one"},
	        {"tls://[2001:db8::1]#dns.example", UPSTREAM_TLS, "[2001:db8::1]:853", "dns.example",
	         "tls://[2001:db8::1]:853#dns.example"},
	        {"tls://2001:db8::1#dns.example", UPSTREAM_TLS, "[2001:db8::1]:853", "dns.example",
	         "tls://[2001:db8::1]:853#dns.example"},
	        /* a final dot is dropped; case is kept (certificate names compare without case) */
	        {"tls://192.0.2.1#Dns.Example.", UPSTREAM_TLS, "192.0.2.1:853", "Dns.Example",
	         "tls://192.0.2.1:853#Dns.Example"},
	        {"tls://127.0.0.1:8853#_dns-test.x_y", UPSTREAM_TLS, "127.0.0.1:8853", "_dns-test.x_y",
	         "tls://127.0.0.1:8853#_dns-test.x_y"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct upstream u, back;
		const char *why = NULL;
		char buf[UPSTREAM_FORMAT_MAX], a[64];

		if (upstream_spec_parse(cases[i].in, 53, &u, &why) != 0)
			fail_msg("'%s': %s", cases[i].in, why);
		assert_int_equal(u.proto, cases[i].proto);
		assert_string_equal(addr_format((const struct sockaddr *)&u.addr, a, sizeof(a)), cases[i].addr);
		assert_string_equal(u.auth_name, cases[i].name);
		assert_false(u.has_pin);
		assert_string_equal(upstream_spec_format(&u, true, buf, sizeof(buf)), cases[i].printed);
		assert_int_equal(upstream_spec_parse(buf, 53, &back, &why), 0);
		assert_true(upstream_spec_equal(&u, &back));
	}
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
	        {"tls://192.0.2.1", "needs #AUTH-NAME"},
	        {"tls://192.0.2.1#", "needs #AUTH-NAME"},
	        {"tls://192.0.2.1#.", "needs #AUTH-NAME"},
	        {"tls://#dns.example", "missing address"},
	        {"tls://dns.example#dns.example", "not an IP address"},
	        {"tls://192.0.2.1#dns..example", "empty label"},
	        {"tls://192.0.2.1#dns example", "bad character"},
	        {"tls://192.0.2.1#dns#example", "bad character"},
	        {"tls://192.0.2.1#dns/example", "bad character"},
	        {"tls://192.0.2.1:0#dns.example", "port"},
	        {"tls://192.0.2.1:70000#dns.example", "port"},
	        {"192.0.2.1#dns.example", "only for tls://"},
	        {"https://192.0.2.1#dns.example", "unknown scheme"},
	        {"udp://192.0.2.1", "unknown scheme"},
	        {"resolver.example", "not an IP address"},
	};
	char long_name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct upstream u;
		const char *why = NULL;

		if (upstream_spec_parse(cases[i].in, 53, &u, &why) != -EINVAL)
			fail_msg("'%s' parsed", cases[i].in);
		assert_non_null(why);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("'%s': '%s', want '%s'", cases[i].in, why, cases[i].why);
	}
	/* a label of 64 bytes, a name of more than 253 */
	memset(long_name, 0, sizeof(long_name));
	strcpy(long_name, "tls://192.0.2.1#");
	memset(long_name + strlen(long_name), 'a', 64);
	{
		struct upstream u;
		const char *why = NULL;
		assert_int_equal(upstream_spec_parse(long_name, 53, &u, &why), -EINVAL);
		assert_non_null(strstr(why, "63"));
	}
	strcpy(long_name, "tls://192.0.2.1#");
	for (int i = 0; i < 26; i++)
		strcat(long_name, "abcdefghi.");
	strcat(long_name, "x");
	{
		struct upstream u;
		const char *why = NULL;
		assert_int_equal(upstream_spec_parse(long_name, 53, &u, &why), -EINVAL);
		assert_non_null(strstr(why, "too long"));
	}
}

static void test_pin(void **state)
{
	struct upstream u, plain, back;
	const char *why = NULL;
	char buf[UPSTREAM_FORMAT_MAX];

	assert_int_equal(upstream_spec_parse("tls://192.0.2.1#dns.example", 53, &u, &why), 0);
	assert_int_equal(upstream_spec_set_pin(&u, PIN_B64, &why), 0);
	assert_true(u.has_pin);
	assert_memory_equal(u.pin_sha256, pin_bin, 32);
	assert_string_equal(upstream_spec_format(&u, true, buf, sizeof(buf)),
	                    "tls://192.0.2.1:853#dns.example pin-sha256 " PIN_B64);
	assert_string_equal(upstream_spec_format(&u, false, buf, sizeof(buf)), "tls://192.0.2.1:853#dns.example");

	/* wrong lengths, not base64, a pin on a plain upstream: errors, u unchanged */
	static const struct {
		const char *b64, *why;
	} bad[] = {
	        {"XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/eg==", "32 bytes"},   /* 31 bytes */
	        {"XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/ejZ4", "32 bytes"},   /* 33 bytes */
	        {"XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/ejY", "not base64"},  /* padding missing */
	        {"XDRfOCYm8s2ScDiTMj0KfiI01SF-vMwcdW82uHA_ejY=", "not base64"}, /* URL-safe alphabet */
	        {"!!!!", "not base64"},
	        {"", "32 bytes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct upstream v = u;
		why = NULL;
		assert_int_equal(upstream_spec_set_pin(&v, bad[i].b64, &why), -EINVAL);
		if (why == NULL || strstr(why, bad[i].why) == NULL)
			fail_msg("pin '%s': '%s', want '%s'", bad[i].b64, why ? why : "(null)", bad[i].why);
		assert_memory_equal(&v, &u, sizeof(u));
	}
	assert_int_equal(upstream_spec_parse("192.0.2.1", 53, &plain, &why), 0);
	assert_int_equal(upstream_spec_set_pin(&plain, PIN_B64, &why), -EINVAL);
	assert_non_null(strstr(why, "only for tls://"));

	/* a pin is part of the config's equality, not of the server's identity */
	assert_int_equal(upstream_spec_parse("tls://192.0.2.1:853#dns.example", 53, &back, &why), 0);
	assert_true(upstream_spec_same(&u, &back));
	assert_false(upstream_spec_equal(&u, &back));
}

/* Health, connections and metrics: a plain and a TLS upstream on one address are two servers,
 * and so are two auth names. */
static void test_same(void **state)
{
	struct upstream a, b, c, d, e;
	const char *why;

	assert_int_equal(upstream_spec_parse("192.0.2.1:853", 53, &a, &why), 0);
	assert_int_equal(upstream_spec_parse("tls://192.0.2.1#dns.example", 53, &b, &why), 0);
	assert_int_equal(upstream_spec_parse("tls://192.0.2.1:853#other.example", 53, &c, &why), 0);
	assert_int_equal(upstream_spec_parse("tls://192.0.2.1:853#dns.example", 53, &d, &why), 0);
	assert_int_equal(upstream_spec_parse("tls://192.0.2.1:854#dns.example", 53, &e, &why), 0);
	assert_false(upstream_spec_same(&a, &b));
	assert_false(upstream_spec_same(&b, &c));
	assert_true(upstream_spec_same(&b, &d));
	assert_true(upstream_spec_equal(&b, &d));
	assert_false(upstream_spec_same(&d, &e));
}

static void test_address_text(void **state)
{
	char buf[64];

	assert_string_equal(upstream_spec_address_text("tls://::1:853#x", buf, sizeof(buf)), "::1:853");
	assert_string_equal(upstream_spec_address_text("tls://[::1]:853", buf, sizeof(buf)), "[::1]:853");
	assert_string_equal(upstream_spec_address_text("::1:5353", buf, sizeof(buf)), "::1:5353");
	assert_null(upstream_spec_address_text("tls://192.0.2.1#x", buf, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_bad),    cmocka_unit_test(test_pin),
	        cmocka_unit_test(test_same),       cmocka_unit_test(test_address_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
