/* test_cookie.c - unit tests for RFC 9018 server cookies: Appendix A vectors, the secret ring, an injected clock */
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

/* A ring whose current secret is cur, made current at now; prev, if any, was current before. */
static void secrets_set(struct cookie_ring *r, const char *cur, const char *prev, uint32_t now)
{
	uint8_t key[COOKIE_SECRET_LEN];
	if (prev) {
		assert_int_equal(unhex(prev, key, sizeof(key)), COOKIE_SECRET_LEN);
		cookie_ring_init(r, key, now - COOKIE_ROTATE_INTERVAL);
		assert_int_equal(unhex(cur, key, sizeof(key)), COOKIE_SECRET_LEN);
		cookie_ring_rotate(r, key, now);
		assert_int_equal(r->n, 2);
	} else {
		assert_int_equal(unhex(cur, key, sizeof(key)), COOKIE_SECRET_LEN);
		cookie_ring_init(r, key, now);
		assert_int_equal(r->n, 1);
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

static bool reply_valid_for(const struct cookie_ring *s, const uint8_t reply[COOKIE_REPLY_LEN], const uint8_t *ip,
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
		struct cookie_ring s;
		secrets_set(&s, c->cur, c->prev, c->now);
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
	const uint32_t now = 1700000000;
	struct cookie_ring s;
	secrets_set(&s, SECRET_A, NULL, now);
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
		option_at(s.s[0].key, (uint32_t)((int64_t)now - cases[i].age), opt);
		enum cookie_status st = cookie_check(&s, opt, sizeof(opt), now, ip4, sizeof(ip4), reply);
		if (st != cases[i].want)
			fail_msg("age %d: status %d, expected %d", cases[i].age, (int)st, (int)cases[i].want);
		assert_memory_equal(reply, client_c, 8);
		if (cases[i].echoed) {
			assert_memory_equal(reply + 8, opt + 8, 16);
		} else {
			cookie_make(s.s[0].key, client_c, now, ip4, sizeof(ip4), fresh);
			assert_memory_equal(reply + 8, fresh, 16);
		}
	}
}

static void key_of(const char *hex, uint8_t key[COOKIE_SECRET_LEN])
{
	assert_int_equal(unhex(hex, key, COOKIE_SECRET_LEN), COOKIE_SECRET_LEN);
}

/* The ring size follows from the accepted age and the interval: enough, and not one more. */
static void test_ring_size(void **state)
{
	assert_true((COOKIE_RING_LEN - 1) * COOKIE_ROTATE_INTERVAL >= COOKIE_MAX_AGE);
	assert_true((COOKIE_RING_LEN - 2) * COOKIE_ROTATE_INTERVAL < COOKIE_MAX_AGE);
	assert_int_equal(COOKIE_RING_LEN, 3); /* 1 h accepted, 30 min between rotations */
}

/* init and rotate: newest first, the time each became current, the oldest leaves when full or
 * when no cookie of it can still be young enough */
static void test_ring_rotate(void **state)
{
	const uint32_t t = 1700000000, R = COOKIE_ROTATE_INTERVAL;
	uint8_t k[5][COOKIE_SECRET_LEN];
	for (unsigned i = 0; i < 5; i++)
		memset(k[i], 0xa0 + (int)i, COOKIE_SECRET_LEN);
	struct cookie_ring r;

	cookie_ring_init(&r, k[0], t);
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.s[0].key, k[0], COOKIE_SECRET_LEN);
	assert_int_equal(r.s[0].since, t);
	cookie_ring_rotate(&r, k[1], t + R);
	cookie_ring_rotate(&r, k[2], t + 2 * R);
	assert_int_equal(r.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_memory_equal(r.s[i].key, k[2 - i], COOKIE_SECRET_LEN);
		assert_int_equal(r.s[i].since, t + (2 - i) * R);
	}
	/* full: the oldest goes, and its bytes do not linger */
	cookie_ring_rotate(&r, k[3], t + 3 * R);
	assert_int_equal(r.n, 3);
	assert_memory_equal(r.s[0].key, k[3], COOKIE_SECRET_LEN);
	assert_memory_equal(r.s[2].key, k[1], COOKIE_SECRET_LEN);
	for (size_t i = 0; i + COOKIE_SECRET_LEN <= sizeof(r); i++)
		assert_memory_not_equal((uint8_t *)&r + i, k[0], COOKIE_SECRET_LEN);
	/* after a long pause (the timer did not fire: the host slept) the secret retired long ago
	 * cannot vouch for any cookie young enough; the one just replaced always stays */
	cookie_ring_rotate(&r, k[4], t + 3 * R + COOKIE_MAX_AGE + 1);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.s[0].key, k[4], COOKIE_SECRET_LEN);
	assert_memory_equal(r.s[1].key, k[3], COOKIE_SECRET_LEN);
	/* the count bounds the lookup: bytes beyond it are never consulted */
	uint8_t opt[24], reply[COOKIE_REPLY_LEN];
	memcpy(r.s[2].key, k[2], COOKIE_SECRET_LEN);
	option_at(k[2], t + 3 * R + COOKIE_MAX_AGE, opt);
	assert_int_equal(cookie_check(&r, opt, 24, t + 3 * R + COOKIE_MAX_AGE + 2, ip4, 4, reply), COOKIE_BAD);
	r.n = 3;
	assert_int_equal(cookie_check(&r, opt, 24, t + 3 * R + COOKIE_MAX_AGE + 2, ip4, 4, reply), COOKIE_VALID);
}

/* RFC 9018 A.4's rollover in a ring: the cookie made with the old secret survives the
 * rotations that happen while it is young enough, and is refused once it is too old. */
static void test_secret_rotation(void **state)
{
	const uint32_t R = COOKIE_ROTATE_INTERVAL;
	const uint32_t t0 = 1559741817 - R + 1; /* the A.4 cookie is made a second before a rotation */
	uint8_t old[COOKIE_SECRET_LEN], new[COOKIE_SECRET_LEN], third[COOKIE_SECRET_LEN], fourth[COOKIE_SECRET_LEN];
	uint8_t opt[24], ip[16], reply[COOKIE_REPLY_LEN], fresh[16];
	key_of(SECRET_A4_OLD, old);
	key_of(SECRET_A4_NEW, new);
	key_of(SECRET_A, third);
	memset(fourth, 0x44, sizeof(fourth));
	size_t iplen = ip_bytes(IP_A4, ip);
	assert_int_equal(unhex("22681ab97d52c298010000005cf7c57926556bd0934c72f8", opt, sizeof(opt)), 24);
	const uint32_t made = 0x5cf7c579; /* its timestamp */

	struct cookie_ring r;
	cookie_ring_init(&r, old, t0);
	assert_int_equal(cookie_check(&r, opt, 24, made, ip, iplen, reply), COOKIE_VALID);
	cookie_ring_rotate(&r, new, t0 + R); /* the A.4 rollover */
	assert_int_equal(cookie_check(&r, opt, 24, 1559741961, ip, iplen, reply), COOKIE_VALID);
	assert_int_equal(cookie_check(&r, opt, 24, made + COOKIE_RENEW_AGE, ip, iplen, reply), COOKIE_VALID);
	assert_memory_equal(reply, opt, 24); /* not yet due for renewal */
	cookie_ring_rotate(&r, third, t0 + 2 * R);
	/* 59 minutes and 59 seconds old, two rotations later: still ours, renewed */
	assert_int_equal(cookie_check(&r, opt, 24, made + COOKIE_MAX_AGE, ip, iplen, reply), COOKIE_VALID);
	cookie_make(third, opt, made + COOKIE_MAX_AGE, ip, iplen, fresh);
	assert_memory_equal(reply + 8, fresh, 16);
	assert_true(reply_valid_for(&r, reply, ip, iplen, made + COOKIE_MAX_AGE));
	/* a second older: too old, and the reply carries a cookie of the current secret */
	assert_int_equal(cookie_check(&r, opt, 24, made + COOKIE_MAX_AGE + 1, ip, iplen, reply), COOKIE_BAD);
	cookie_make(third, opt, made + COOKIE_MAX_AGE + 1, ip, iplen, fresh);
	assert_memory_equal(reply + 8, fresh, 16);
	/* the next rotation lets the old secret go: nothing it made can be young enough now */
	cookie_ring_rotate(&r, fourth, t0 + 3 * R);
	for (unsigned i = 0; i < r.n; i++)
		assert_memory_not_equal(r.s[i].key, old, COOKIE_SECRET_LEN);
	uint8_t forged[24]; /* what the old secret would make now */
	memcpy(forged, opt, 8);
	cookie_make(old, opt, t0 + 3 * R, ip, iplen, forged + 8);
	assert_int_equal(cookie_check(&r, forged, 24, t0 + 3 * R, ip, iplen, reply), COOKIE_BAD);
}

/* ---- the daemon's life with an injected clock ------------------------------------------ */

/* The ring as the daemon holds it at time now: started at t0 with secret 0, secret k made
 * current at t0 + k * interval (the rotation timer; a late timer means a longer interval). */
static void ring_at(struct cookie_ring *r, uint32_t t0, uint32_t interval, uint32_t now)
{
	uint8_t key[COOKIE_SECRET_LEN];
	memset(key, 0, sizeof(key));
	cookie_ring_init(r, key, t0);
	for (uint32_t k = 1; t0 + k * interval <= now; k++) {
		for (unsigned i = 0; i < COOKIE_SECRET_LEN; i++)
			key[i] = (uint8_t)(k * 37 + i);
		cookie_ring_rotate(r, key, t0 + k * interval);
	}
}

/* A cookie the daemon hands out at t is accepted at every later moment up to t + 1 h, whatever
 * rotations happen meanwhile, and refused after; BADCOOKIE is never the answer to a cookie of
 * ours that is young enough, and always the answer to one we did not make. */
static unsigned lifetime(uint32_t interval)
{
	const uint32_t t0 = 1700000000, R = interval;
	const int32_t later[] = {0,
	                         1,
	                         60,
	                         COOKIE_RENEW_AGE,
	                         COOKIE_RENEW_AGE + 1,
	                         3540 /* 59 min */,
	                         COOKIE_MAX_AGE - 1,
	                         COOKIE_MAX_AGE};
	uint32_t mints[64];
	size_t n_mints = 0;
	for (uint32_t m = t0; m < t0 + 3 * R; m += 599)
		mints[n_mints++] = m;
	for (uint32_t k = 1; k <= 3; k++) { /* around each rotation */
		mints[n_mints++] = t0 + k * R - 1;
		mints[n_mints++] = t0 + k * R;
		mints[n_mints++] = t0 + k * R + 1;
	}
	assert_true(n_mints <= sizeof(mints) / sizeof(mints[0]));
	unsigned oldest_slot_needed = 0; /* checks that only the third secret could pass */

	for (size_t i = 0; i < n_mints; i++) {
		const uint32_t m = mints[i];
		struct cookie_ring r;
		uint8_t got[COOKIE_REPLY_LEN], opt[24], reply[COOKIE_REPLY_LEN];
		/* the client's first query: a client cookie alone, as the daemon answers it */
		ring_at(&r, t0, R, m);
		assert_int_equal(cookie_check(&r, client_c, 8, m, ip4, 4, got), COOKIE_CLIENT_ONLY);
		for (size_t j = 0; j < sizeof(later) / sizeof(later[0]); j++) {
			const uint32_t now = m + (uint32_t)later[j];
			ring_at(&r, t0, R, now);
			enum cookie_status st = cookie_check(&r, got, 24, now, ip4, 4, reply);
			if (st != COOKIE_VALID)
				fail_msg("interval %u: made at t0+%u, checked %d s later: status %d, expected VALID",
				         (unsigned)R, (unsigned)(m - t0), (int)later[j], (int)st);
			if (later[j] <= COOKIE_RENEW_AGE)
				assert_memory_equal(reply, got, 24);
			else
				assert_true(reply_valid_for(&r, reply, ip4, 4, now));
			struct cookie_ring two = r; /* the daemon as it was, with one previous secret */
			two.n = two.n < 2 ? two.n : 2;
			if (cookie_check(&two, got, 24, now, ip4, 4, opt) == COOKIE_BAD)
				oldest_slot_needed++;
			/* any bit of the hash changed: not ours */
			for (unsigned bit = 0; bit < 64; bit += 7) {
				memcpy(opt, got, 24);
				opt[16 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(cookie_check(&r, opt, 24, now, ip4, 4, reply), COOKIE_BAD);
			}
			/* made by another server with its own secret */
			uint8_t other[COOKIE_SECRET_LEN];
			memset(other, 0x5a, sizeof(other));
			memcpy(opt, got, 8);
			cookie_make(other, got, m, ip4, 4, opt + 8);
			assert_int_equal(cookie_check(&r, opt, 24, now, ip4, 4, reply), COOKIE_BAD);
		}
		/* a second past the hour: too old, answered with a fresh cookie that is valid */
		const uint32_t now = m + COOKIE_MAX_AGE + 1;
		ring_at(&r, t0, R, now);
		assert_int_equal(cookie_check(&r, got, 24, now, ip4, 4, reply), COOKIE_BAD);
		assert_memory_equal(reply, client_c, 8);
		assert_true(reply_valid_for(&r, reply, ip4, 4, now));
	}
	return oldest_slot_needed;
}

static void test_lifetime(void **state)
{
	/* the walk did cross two rotations: with one previous secret, as before, those were
	 * BADCOOKIE (the 30-minute failure of issue 14) */
	assert_true(lifetime(COOKIE_ROTATE_INTERVAL) > 0);
}

/* libuv re-arms a repeating timer from when it ran, so a busy loop rotates later, never earlier */
static void test_lifetime_late_timer(void **state)
{
	assert_true(lifetime(COOKIE_ROTATE_INTERVAL + 13) > 0);
	/* rotations an hour apart: one previous secret is enough, and the ring still holds it */
	assert_int_equal(lifetime(2 * COOKIE_ROTATE_INTERVAL), 0);
}

static void test_tampering(void **state)
{
	const uint32_t now = 1700000000;
	struct cookie_ring s;
	secrets_set(&s, SECRET_A, NULL, now);
	uint8_t good[24], opt[24], reply[COOKIE_REPLY_LEN];
	option_at(s.s[0].key, now - 5, good);
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
	struct cookie_ring other;
	secrets_set(&other, SECRET_A4_NEW, NULL, now);
	assert_int_equal(cookie_check(&other, good, 24, now, ip4, 4, reply), COOKIE_BAD);
}

static void test_shapes(void **state)
{
	const uint32_t now = 1700000000;
	struct cookie_ring s;
	secrets_set(&s, SECRET_A, NULL, now);
	uint8_t opt[40], reply[COOKIE_REPLY_LEN], fresh[16];
	for (size_t i = 0; i < sizeof(opt); i++)
		opt[i] = (uint8_t)(0x30 + i);
	cookie_make(s.s[0].key, opt, now, ip4, 4, fresh);

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
	        cmocka_unit_test(test_make_vectors),
	        cmocka_unit_test(test_check_vectors),
	        cmocka_unit_test(test_vector_a3_hash),
	        cmocka_unit_test(test_time_window),
	        cmocka_unit_test(test_ring_size),
	        cmocka_unit_test(test_ring_rotate),
	        cmocka_unit_test(test_secret_rotation),
	        cmocka_unit_test(test_lifetime),
	        cmocka_unit_test(test_lifetime_late_timer),
	        cmocka_unit_test(test_tampering),
	        cmocka_unit_test(test_shapes),
	        cmocka_unit_test(test_deterministic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
