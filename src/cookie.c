/* cookie.c - RFC 9018 interoperable server cookies: make and check; pure */
#include "dns64d/cookie.h"

#include <string.h>

#include <sodium.h>

#include "dns64d/wire.h"

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t client[8], uint32_t now, const uint8_t *ip,
                 size_t ip_len, uint8_t out[16])
{
	uint8_t in[8 + 8 + 16];
	memcpy(in, client, 8);
	out[0] = 1; /* version */
	out[1] = out[2] = out[3] = 0;
	wr32(out + 4, now);
	memcpy(in + 8, out, 8);
	memcpy(in + 16, ip, ip_len);
	crypto_shorthash(out + 8, in, 16 + ip_len, secret);
}

void cookie_ring_init(struct cookie_ring *r, const uint8_t secret[COOKIE_SECRET_LEN], uint32_t now)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->s[0].key, secret, COOKIE_SECRET_LEN);
	r->s[0].since = now;
	r->n = 1;
}

void cookie_ring_rotate(struct cookie_ring *r, const uint8_t fresh[COOKIE_SECRET_LEN], uint32_t now)
{
	/* s[i] was retired when s[i - 1] became current; its cookies are all older than that */
	unsigned keep = 1;
	while (keep < r->n && keep + 1 < COOKIE_RING_LEN && (int32_t)(now - r->s[keep - 1].since) <= COOKIE_MAX_AGE)
		keep++;
	memmove(&r->s[1], &r->s[0], keep * sizeof(r->s[0]));
	memcpy(r->s[0].key, fresh, COOKIE_SECRET_LEN);
	r->s[0].since = now;
	r->n = keep + 1;
	sodium_memzero(&r->s[r->n], (COOKIE_RING_LEN - r->n) * sizeof(r->s[0]));
}

/* RFC 9018 §4.4: the hash covers the received Version, Reserved and Timestamp bytes as they
 * are (a cookie with Reserved bytes set is still valid, Appendix A.3). */
static bool hash_ok(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t *opt, const uint8_t *ip, size_t ip_len)
{
	uint8_t in[16 + 16], hash[8];
	memcpy(in, opt, 16);
	memcpy(in + 16, ip, ip_len);
	crypto_shorthash(hash, in, 16 + ip_len, secret);
	return sodium_memcmp(hash, opt + 16, 8) == 0;
}

enum cookie_status cookie_check(const struct cookie_ring *r, const uint8_t *opt, size_t len, uint32_t now,
                                const uint8_t *ip, size_t ip_len, uint8_t reply[COOKIE_REPLY_LEN])
{
	if (len < 8)
		return COOKIE_NONE;
	memcpy(reply, opt, 8);
	enum cookie_status st = COOKIE_CLIENT_ONLY;
	if (len == 24 && opt[8] == 1) {
		int32_t age = (int32_t)(now - rd32(opt + 12));
		st = COOKIE_BAD;
		/* Every secret, not only the one current at the cookie's timestamp: the clock may
		 * have been stepped since, and the ring holds no secret too old to matter. */
		if (age >= -COOKIE_MAX_FUTURE && age <= COOKIE_MAX_AGE)
			for (unsigned i = 0; i < r->n && st == COOKIE_BAD; i++)
				if (hash_ok(r->s[i].key, opt, ip, ip_len))
					st = COOKIE_VALID;
		if (st == COOKIE_VALID && age <= COOKIE_RENEW_AGE) {
			memcpy(reply + 8, opt + 8, 16);
			return COOKIE_VALID;
		}
	} else if (len > 8)
		st = COOKIE_BAD;
	cookie_make(r->s[0].key, opt, now, ip, ip_len, reply + 8);
	return st;
}
