/* cookie.h - DNS server cookies (RFC 7873) computed per RFC 9018 with SipHash-2-4; pure */
#ifndef DNS64D_COOKIE_H
#define DNS64D_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COOKIE_SECRET_LEN 16
#define COOKIE_REPLY_LEN  24 /* client cookie (8) + RFC 9018 server cookie (16) */

/* RFC 9018 §4.3: a server cookie is valid from one hour in the past to five minutes in the
 * future, and renewed once it is older than half an hour. Seconds. */
#define COOKIE_MAX_AGE    3600
#define COOKIE_MAX_FUTURE 300
#define COOKIE_RENEW_AGE  1800

/* How often the daemon makes a new secret (RFC 9018 §5), seconds. */
#define COOKIE_ROTATE_INTERVAL 1800

/* Secrets kept: the current one and as many previous ones as the accepted age needs. A cookie
 * made just before a rotation is accepted for COOKIE_MAX_AGE after it, and ceil(MAX_AGE /
 * INTERVAL) rotations can happen in that time, so its secret must survive that many. */
#define COOKIE_RING_LEN ((COOKIE_MAX_AGE + COOKIE_ROTATE_INTERVAL - 1) / COOKIE_ROTATE_INTERVAL + 1)

struct cookie_secret {
	uint8_t key[COOKIE_SECRET_LEN];
	uint32_t since; /* when it became current, seconds of the clock cookies are stamped with */
};

/* The secrets a server cookie may have been made with: key[0] is current and makes every new
 * cookie, the others are older, newest first. A plain value with no pointers: the daemon
 * publishes a new copy on rotation while workers read the old one (see struct daemon). */
struct cookie_ring {
	struct cookie_secret s[COOKIE_RING_LEN];
	unsigned n; /* secrets held, 1..COOKIE_RING_LEN */
};

enum cookie_status {
	COOKIE_NONE = 0,    /* no COOKIE option */
	COOKIE_CLIENT_ONLY, /* client cookie only: serve, send a fresh server cookie */
	COOKIE_VALID,       /* our server cookie, still fresh */
	COOKIE_BAD,         /* a server cookie we did not make, or too old: BADCOOKIE over UDP */
};

/* A ring holding only secret, current from now on. */
void cookie_ring_init(struct cookie_ring *r, const uint8_t secret[COOKIE_SECRET_LEN], uint32_t now);

/* Make fresh the current secret at now; the one it replaces and older ones stay to verify
 * cookies they made, until no cookie of theirs can still be young enough (retired more than
 * COOKIE_MAX_AGE before now) or the ring is full. Call it no more often than every
 * COOKIE_ROTATE_INTERVAL seconds, or secrets leave the ring while their cookies are valid. */
void cookie_ring_rotate(struct cookie_ring *r, const uint8_t fresh[COOKIE_SECRET_LEN], uint32_t now);

/* RFC 9018 §4.4: Version 1 | Reserved 0 | Timestamp | SipHash-2-4(client cookie | version |
 * reserved | timestamp | client IP) under secret. ip is 4 or 16 bytes. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t client[8], uint32_t now, const uint8_t *ip,
                 size_t ip_len, uint8_t out[16]);

/* Check a COOKIE option (len 8 or 16..40) from a client at ip, at time now (seconds), against
 * every secret of the ring, and write the option data for the reply (client cookie + a valid
 * server cookie: the same one when it is valid and at most COOKIE_RENEW_AGE old, a new one
 * under the current secret otherwise) into reply. */
enum cookie_status cookie_check(const struct cookie_ring *r, const uint8_t *opt, size_t len, uint32_t now,
                                const uint8_t *ip, size_t ip_len, uint8_t reply[COOKIE_REPLY_LEN]);

#endif
