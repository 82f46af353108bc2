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

enum cookie_status cookie_check(const struct cookie_secrets *s, const uint8_t *opt, size_t len, uint32_t now,
                                const uint8_t *ip, size_t ip_len, uint8_t reply[COOKIE_REPLY_LEN])
{
	if (len < 8)
		return COOKIE_NONE;
	memcpy(reply, opt, 8);
	enum cookie_status st = COOKIE_CLIENT_ONLY;
	if (len == 24 && opt[8] == 1) {
		/* RFC 9018 §4.3: valid from 1 hour in the past to 5 minutes in the future */
		int32_t age = (int32_t)(now - rd32(opt + 12));
		if (age >= -300 && age <= 3600 &&
		    (hash_ok(s->cur, opt, ip, ip_len) || (s->has_prev && hash_ok(s->prev, opt, ip, ip_len)))) {
			if (age <= 1800) {
				memcpy(reply + 8, opt + 8, 16);
				return COOKIE_VALID;
			}
			st = COOKIE_VALID;
		} else
			st = COOKIE_BAD;
	} else if (len > 8)
		st = COOKIE_BAD;
	cookie_make(s->cur, opt, now, ip, ip_len, reply + 8);
	return st;
}
