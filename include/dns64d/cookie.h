/* cookie.h - DNS server cookies (RFC 7873) computed per RFC 9018 with SipHash-2-4; pure */
#ifndef DNS64D_COOKIE_H
#define DNS64D_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_SECRET_LEN 16
#define COOKIE_REPLY_LEN  24 /* client cookie (8) + RFC 9018 server cookie (16) */

/* The current secret and the one before it, so cookies survive one rotation. */
struct cookie_secrets {
	uint8_t cur[COOKIE_SECRET_LEN];
	uint8_t prev[COOKIE_SECRET_LEN];
	bool has_prev;
};

enum cookie_status {
	COOKIE_NONE = 0,    /* no COOKIE option */
	COOKIE_CLIENT_ONLY, /* client cookie only: serve, send a fresh server cookie */
	COOKIE_VALID,       /* our server cookie, still fresh */
	COOKIE_BAD,         /* a server cookie we did not make, or too old: BADCOOKIE over UDP */
};

/* RFC 9018 §4.4: Version 1 | Reserved 0 | Timestamp | SipHash-2-4(client cookie | version |
 * reserved | timestamp | client IP) under secret. ip is 4 or 16 bytes. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t client[8], uint32_t now, const uint8_t *ip,
                 size_t ip_len, uint8_t out[16]);

/* Check a COOKIE option (len 8 or 16..40) from a client at ip, at time now (seconds), and
 * write the option data for the reply (client cookie + a valid server cookie: the same one
 * when it is valid and younger than half an hour, a new one otherwise) into reply. */
enum cookie_status cookie_check(const struct cookie_secrets *s, const uint8_t *opt, size_t len, uint32_t now,
                                const uint8_t *ip, size_t ip_len, uint8_t reply[COOKIE_REPLY_LEN]);

#endif
