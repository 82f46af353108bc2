/* test_cookie.c - unit tests for RFC 9018 server cookies against the RFC's Appendix A vectors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dns64d/cookie.h"

/* RFC 9018 Appendix A: secrets, clients and times of the four worked examples */
#define SECRET_A      "e5e973e5a6b2a43f48e7dc849e37bfcf" /* A.1 - A.3 */
#define SECRET_A4_OLD "dd3bdf9344b678b185a6f5cb60fca715" /* A.4, before the rollover */
#define SECRET_A4_NEW "445536bcd2513298075a5d379663c962" /* A.4, after it */
#define IP_A12        "198.51.100.100"
#define IP_A3         "203.0.113.203"
#define IP_A4         "2001:db8:220:1:59de:d0f4:8769:82b8"

static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (; s[0] && s[1] && n < max; s += 2) {
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	assert_int_equal(s[0], '\0');
	return n;
}

/* raw address bytes of a textual IPv4 or IPv6 address; returns 4 or 16 */
static size_t ip_bytes(const char *text, uint8_t out[16])
{
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
	return 16;
}

static void secrets_set(struct cookie_secrets *s, const char *cur, const char *prev)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(unhex(cur, s->cur, sizeof(s->cur)), COOKIE_SECRET_LEN);
	if (prev) {
		assert_int_equal(unhex(prev, s->prev, sizeof(s->prev)), COOKIE_SECRET_LEN);
		s->has_prev = true;
	}
}

/* ---- cookie_make reproduces every server cookie the appendix shows ----------------------- */

struct make_case {
	const char *what;
	const char *secret;
	const char *client;
	const char *ip;
	uint32_t now;
	const char *server; /* expected 16-byte server cookie */
};

static const struct make_case make_cases[] = {
        {"A.1 learning a new server cookie", SECRET_A, "2464c4abcf10c957", IP_A12, 1559731985,
         "010000005cf79f111f8130c3eee29480"},
        {"A.2 the same client, renewed", SECRET_A, "2464c4abcf10c957", IP_A12, 1559734385,
         "010000005cf7a871d4a564a1442aca77"},
        {"A.3 another client, renewed", SECRET_A, "fc93fc62807ddb86", IP_A3, 1559734700,
         "010000005cf7a9acf73a7810aca2381e"},
        {"A.4 IPv6 client, new secret", SECRET_A4_NEW, "22681ab97d52c298", IP_A4, 1559741961,
         "010000005cf7c609a6bb79d16625507a"},
};

static void test_make_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(make_cases) / sizeof(make_cases[0]); i++) {
		const struct make_case *c = &make_cases[i];
		uint8_t secret[COOKIE_SECRET_LEN], client[8], ip[16], want[16], got[16];
		unhex(c->secret, secret, sizeof(secret));
		assert_int_equal(unhex(c->client, client, sizeof(client)), 8);
		size_t iplen = ip_bytes(c->ip, ip);
		assert_int_equal(unhex(c->server, want, sizeof(want)), 16);
		cookie_make(secret, client, c->now, ip, iplen, got);
		if (memcmp(got, want, 16) != 0) {
			char hex[33];
			sodium_bin2hex(hex, sizeof(hex), got, 16);
			fail_msg("%s: cookie_make gave %s, RFC 9018 says %s", c->what, hex, c->server);
		}
	}
}

/* ---- cookie_check on the appendix's requests ------------------------------------------- */

struct check_case {
	const char *what;
	const char *cur, *prev; /* the server's secrets */
	const char *ip;
	const char *query; /* COOKIE option data of the request */
	uint32_t now;
	enum cookie_status want;
	const char *reply; /* expected reply option data; NULL: only checked to be valid */
};

static const struct check_case check_cases[] = {
        /* A.1: a client cookie alone gets exactly the server cookie of the example */
        {"A.1", SECRET_A, NULL, IP_A12, "2464c4abcf10c957", 1559731985, COOKIE_CLIENT_ONLY,
         "2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
        /* A.2: 40 minutes old, so still valid but older than half an hour: renewed */
        {"A.2", SECRET_A, NULL, IP_A12, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559734385, COOKIE_VALID,
         "2464c4abcf10c957010000005cf7a871d4a564a1442aca77"},
        /* A.1's cookie a second after it was made: echoed unchanged */
        {"A.1 echoed", SECRET_A, NULL, IP_A12, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559731986,
         COOKIE_VALID, "2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
        /* A.3 at the example's time the request cookie is 1 h 52 min old, beyond the hour of
         * RFC 9018 §4.3: not valid; the reply still carries the appendix's fresh cookie */
        {"A.3 expired", SECRET_A, NULL, IP_A3, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", 1559734700,
         COOKIE_BAD, "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e"},
        /* A.3: "the Server Cookie has Reserved bytes set, but is still valid with the configured
         * secret; the Hash part is calculated taking along the Reserved bytes". Checked a minute
         * after its timestamp, inside the window. */
        {"A.3 reserved bytes", SECRET_A, NULL, IP_A3, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
         1559727985 + 60, COOKIE_VALID, NULL},
        /* A.4: made with the previous secret, still accepted after the rollover */
        {"A.4 previous secret", SECRET_A4_NEW, SECRET_A4_OLD, IP_A4, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
         1559741961, COOKIE_VALID, NULL},
        /* A.4 once the old secret is forgotten: bad, and a fresh cookie under the new secret */
        {"A.4 old secret gone", SECRET_A4_NEW, NULL, IP_A4, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
         1559741961, COOKIE_BAD, "22681ab97d52c298010000005cf7c609a6bb79d16625507a"},
        /* A.4 under a secret that never made it */
        {"A.4 wrong secrets", SECRET_A, SECRET_A4_NEW, IP_A4, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
         1559741961, COOKIE_BAD, NULL},
        /* A.1's cookie presented from another address */
        {"A.1 other client ip", SECRET_A, NULL, IP_A3, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559731990,
         COOKIE_BAD, NULL},
};

static bool reply_valid_for(const struct cookie_secrets *s, const uint8_t reply[COOKIE_REPLY_LEN], const uint8_t *ip,
                            size_t iplen, uint32_t now)
{
	uint8_t again[COOKIE_REPLY_LEN];
	return cookie_check(s, reply, COOKIE_REPLY_LEN, now, ip, iplen, again) == COOKIE_VALID;
}

/* Every case runs; each mismatch is printed, then the test fails once at the end. */
static void test_check_vectors(void **state)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		struct cookie_secrets s;
		secrets_set(&s, c->cur, c->prev);
		uint8_t opt[40], ip[16], reply[COOKIE_REPLY_LEN], want[COOKIE_REPLY_LEN];
		size_t len = unhex(c->query, opt, sizeof(opt));
		size_t iplen = ip_bytes(c->ip, ip);
		memset(reply, 0xee, sizeof(reply));
		enum cookie_status st = cookie_check(&s, opt, len, c->now, ip, iplen, reply);
		if (st != c->want) {
			print_error("%s: cookie_check status %d, expected %d\n", c->what, (int)st, (int)c->want);
			failures++;
		}
		if (memcmp(reply, opt, 8) != 0) { /* the client cookie always comes back */
			print_error("%s: the reply does not start with the client cookie\n", c->what);
			failures++;
		}
		if (c->reply) {
			assert_int_equal(unhex(c->reply, want, sizeof(want)), COOKIE_REPLY_LEN);
			if (memcmp(reply, want, sizeof(want)) != 0) {
				char hex[2 * COOKIE_REPLY_LEN + 1];
				sodium_bin2hex(hex, sizeof(hex), reply, sizeof(reply));
				print_error("%s: reply cookie %s, expected %s\n", c->what, hex, c->reply);
				failures++;
			}
		}
		/* whatever the verdict, the reply is a cookie this server accepts right away */
		if (!reply_valid_for(&s, reply, ip, iplen, c->now)) {
			print_error("%s: the reply cookie is not valid for the same server\n", c->what);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The A.3 request is self-consistent: its hash is SipHash-2-4 over client cookie, version,
 * the nonzero reserved bytes, timestamp and client IP, computed here without cookie.c. So a
 * server that rejects it rejects a cookie RFC 9018 calls valid. */
static void test_vector_a3_hash(void **state)
{
	uint8_t secret[COOKIE_SECRET_LEN], opt[24], in[32], hash[crypto_shorthash_BYTES];
	unhex(SECRET_A, secret, sizeof(secret));
	assert_int_equal(unhex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", opt, sizeof(opt)), 24);
	memcpy(in, opt, 16);
	assert_int_equal(ip_bytes(IP_A3, in + 16), 4);
	assert_int_equal(crypto_shorthash(hash, in, 20, secret), 0);
	assert_memory_equal(hash, opt + 16, 8);
}

/* ---- freshness window, secrets, shapes ------------------------------------------------- */

static const uint8_t client_c[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t ip4[4] = {192, 0, 2, 7};

/* a 24-byte COOKIE option with a server cookie made at `made` under secret */
static void option_at(const uint8_t secret[COOKIE_SECRET_LEN], uint32_t made, uint8_t opt[24])
{
	memcpy(opt, client_c, 8);
	cookie_make(secret, client_c, made, ip4, sizeof(ip4), opt + 8);
}

static void test_time_window(void **state)
{
	struct cookie_secrets s;
	secrets_set(&s, SECRET_A, NULL);
	const uint32_t now = 1700000000;
	struct {
		int32_t age; /* now - timestamp */
		enum cookie_status want;
		bool echoed; /* the same server cookie comes back */
	} cases[] = {
	        {0, COOKIE_VALID, true},     {1800, COOKIE_VALID, true}, /* up to half an hour: no need to renew */
	        {1801, COOKIE_VALID, false},                             /* older: renewed (RFC 9018 §4.3) */
	        {3600, COOKIE_VALID, false},                             /* an hour is the limit */
	        {3601, COOKIE_BAD, false},                               /* expired */
	        {86400, COOKIE_BAD, false},  {-300, COOKIE_VALID, true}, /* up to five minutes in the future */
	        {-301, COOKIE_BAD, false},                               /* further is from the future */
	        {-86400, COOKIE_BAD, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t opt[24], reply[COOKIE_REPLY_LEN], fresh[16];
		option_at(s.cur, (uint32_t)((int64_t)now - cases[i].age), opt);
		enum cookie_status st = cookie_check(&s, opt, sizeof(opt), now, ip4, sizeof(ip4), reply);
		if (st != cases[i].want)
			fail_msg("age %d: status %d, expected %d", cases[i].age, (int)st, (int)cases[i].want);
		assert_memory_equal(reply, client_c, 8);
		if (cases[i].echoed) {
			assert_memory_equal(reply + 8, opt + 8, 16);
		} else {
			cookie_make(s.cur, client_c, now, ip4, sizeof(ip4), fresh);
			assert_memory_equal(reply + 8, fresh, 16);
		}
	}
}

static void test_secret_rotation(void **state)
{
	struct cookie_secrets old, rotated, twice;
	uint8_t third[COOKIE_SECRET_LEN];
	secrets_set(&old, SECRET_A4_OLD, NULL);
	secrets_set(&rotated, SECRET_A4_NEW, SECRET_A4_OLD);
	secrets_set(&twice, SECRET_A, SECRET_A4_NEW);
	memcpy(third, twice.cur, sizeof(third));
	const uint32_t now = 1700000000;
	uint8_t opt[24], reply[COOKIE_REPLY_LEN], fresh[16];

	option_at(old.cur, now - 10, opt);
	assert_int_equal(cookie_check(&old, opt, 24, now, ip4, 4, reply), COOKIE_VALID);
	/* one rotation later the previous secret still vouches for it */
	assert_int_equal(cookie_check(&rotated, opt, 24, now, ip4, 4, reply), COOKIE_VALID);
	assert_true(reply_valid_for(&rotated, reply, ip4, 4, now));
	/* two rotations later it is gone, and the reply carries a cookie of the current secret */
	assert_int_equal(cookie_check(&twice, opt, 24, now, ip4, 4, reply), COOKIE_BAD);
	cookie_make(third, client_c, now, ip4, 4, fresh);
	assert_memory_equal(reply + 8, fresh, 16);
	/* has_prev false: prev is never consulted, even if it holds the right bytes */
	rotated.has_prev = false;
	assert_int_equal(cookie_check(&rotated, opt, 24, now, ip4, 4, reply), COOKIE_BAD);
}

static void test_tampering(void **state)
{
	struct cookie_secrets s;
	secrets_set(&s, SECRET_A, NULL);
	const uint32_t now = 1700000000;
	uint8_t good[24], opt[24], reply[COOKIE_REPLY_LEN];
	option_at(s.cur, now - 5, good);
	assert_int_equal(cookie_check(&s, good, 24, now, ip4, 4, reply), COOKIE_VALID);

	/* every single-bit change in the client cookie, timestamp or hash breaks it */
	for (size_t byte = 0; byte < 24; byte++) {
		if (byte >= 8 && byte < 12)
			continue; /* version and reserved: below */
		for (int bit = 0; bit < 8; bit++) {
			memcpy(opt, good, 24);
			opt[byte] ^= (uint8_t)(1u << bit);
			enum cookie_status st = cookie_check(&s, opt, 24, now, ip4, 4, reply);
			if (st != COOKIE_BAD)
				fail_msg("bit %d of byte %zu flipped: status %d, expected BAD", bit, byte, (int)st);
			assert_memory_equal(reply, opt, 8);
			assert_true(reply_valid_for(&s, reply, ip4, 4, now));
		}
	}
	/* an unknown version is not ours */
	memcpy(opt, good, 24);
	opt[8] = 2;
	assert_int_equal(cookie_check(&s, opt, 24, now, ip4, 4, reply), COOKIE_BAD);
	/* the same cookie from another address, or the IPv4 address as IPv4-mapped IPv6 */
	const uint8_t other4[4] = {192, 0, 2, 8};
	uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
	assert_int_equal(cookie_check(&s, good, 24, now, other4, 4, reply), COOKIE_BAD);
	assert_int_equal(cookie_check(&s, good, 24, now, mapped, 16, reply), COOKIE_BAD);
	/* another secret */
	struct cookie_secrets other;
	secrets_set(&other, SECRET_A4_NEW, NULL);
	assert_int_equal(cookie_check(&other, good, 24, now, ip4, 4, reply), COOKIE_BAD);
}

static void test_shapes(void **state)
{
	struct cookie_secrets s;
	secrets_set(&s, SECRET_A, NULL);
	const uint32_t now = 1700000000;
	uint8_t opt[40], reply[COOKIE_REPLY_LEN], fresh[16];
	for (size_t i = 0; i < sizeof(opt); i++)
		opt[i] = (uint8_t)(0x30 + i);
	cookie_make(s.cur, opt, now, ip4, 4, fresh);

	/* shorter than a client cookie: no cookie at all */
	assert_int_equal(cookie_check(&s, opt, 0, now, ip4, 4, reply), COOKIE_NONE);
	assert_int_equal(cookie_check(&s, opt, 7, now, ip4, 4, reply), COOKIE_NONE);
	/* a client cookie alone */
	assert_int_equal(cookie_check(&s, opt, 8, now, ip4, 4, reply), COOKIE_CLIENT_ONLY);
	assert_memory_equal(reply, opt, 8);
	assert_memory_equal(reply + 8, fresh, 16);
	/* a server cookie of another length (RFC 7873 allows 8..32 bytes) is never ours */
	for (size_t len = 16; len <= 40; len++) {
		if (len == 24)
			continue;
		memset(reply, 0, sizeof(reply));
		enum cookie_status st = cookie_check(&s, opt, len, now, ip4, 4, reply);
		if (st != COOKIE_BAD)
			fail_msg("length %zu: status %d, expected BAD", len, (int)st);
		assert_memory_equal(reply, opt, 8);
		assert_memory_equal(reply + 8, fresh, 16);
	}
}

/* the same client within the same second gets the same cookie; another client does not */
static void test_deterministic(void **state)
{
	uint8_t secret[COOKIE_SECRET_LEN], a[16], b[16], c[16], d[16];
	unhex(SECRET_A, secret, sizeof(secret));
	const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	cookie_make(secret, client_c, 1000, ip4, 4, a);
	cookie_make(secret, client_c, 1000, ip4, 4, b);
	assert_memory_equal(a, b, 16);
	const uint8_t other4[4] = {192, 0, 2, 8};
	cookie_make(secret, client_c, 1000, other4, 4, c);
	assert_memory_not_equal(a + 8, c + 8, 8);
	cookie_make(secret, client_c, 1000, ip6, 16, d);
	assert_memory_not_equal(a + 8, d + 8, 8);
	/* the timestamp field is big-endian seconds */
	cookie_make(secret, client_c, 0x01020304, ip4, 4, c);
	const uint8_t head[8] = {1, 0, 0, 0, 1, 2, 3, 4};
	assert_memory_equal(c, head, 8);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_make_vectors),    cmocka_unit_test(test_check_vectors),
	        cmocka_unit_test(test_vector_a3_hash),  cmocka_unit_test(test_time_window),
	        cmocka_unit_test(test_secret_rotation), cmocka_unit_test(test_tampering),
	        cmocka_unit_test(test_shapes),          cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
