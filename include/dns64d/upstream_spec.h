/* upstream_spec.h - one configured upstream server (address, protocol, TLS name and pin): parsed, printed, compared;
 * pure */
#ifndef DNS64D_UPSTREAM_SPEC_H
#define DNS64D_UPSTREAM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UPSTREAM_TLS_PORT   853
#define UPSTREAM_PIN_LEN    32  /* SHA-256 of the server's SubjectPublicKeyInfo */
#define UPSTREAM_FORMAT_MAX 400 /* upstream_spec_format() output, pin included, with the NUL */

enum upstream_proto {
	UPSTREAM_UDP = 0, /* plain DNS: UDP with TCP fallback on truncation */
	UPSTREAM_TLS = 1, /* DNS over TLS (RFC 7858), strict profile (RFC 8310): never plain text */
};

struct upstream {
	struct sockaddr_storage addr;
	enum upstream_proto proto;
	char auth_name[256]; /* TLS: the name the certificate must carry (and SNI); "" otherwise */
	bool has_pin;
	uint8_t pin_sha256[UPSTREAM_PIN_LEN]; /* TLS: SPKI pin (RFC 7858 §4.2) when has_pin */
};

/* Parse one upstream word: "ADDR", "ADDR:PORT", "[V6ADDR]:PORT" (plain, default_port when no
 * port is given) or "tls://ADDR[:PORT]#AUTH-NAME" (IPv6 as "tls://[V6ADDR]:PORT#NAME", port 853
 * by default). A TLS upstream needs its AUTH-NAME (the strict profile authenticates a name).
 * No pin is set. Returns 0, or -EINVAL with a short reason in *why. */
int upstream_spec_parse(const char *s, uint16_t default_port, struct upstream *out, const char **why);

/* The address part of s, the text upstream_spec_parse() reads as an address ("tls://" and
 * "#NAME" cut off), into buf. Returns buf, or NULL when it does not fit. */
char *upstream_spec_address_text(const char *s, char *buf, size_t len);

/* Set u's pin from standard base64 ("pin-sha256 BASE64" in the config) of exactly 32 bytes.
 * Returns 0, or -EINVAL with *why set (u unchanged). */
int upstream_spec_set_pin(struct upstream *u, const char *b64, const char **why);

/* Format u as upstream_spec_parse() reads it: "192.0.2.1:53", "tls://[2001:db8::1]:853#dns.example";
 * with_pin: " pin-sha256 BASE64" after a pinned one. buf of UPSTREAM_FORMAT_MAX bytes holds
 * any upstream. Returns buf. */
char *upstream_spec_format(const struct upstream *u, bool with_pin, char *buf, size_t len);

/* The same server for health, connections and metrics: address (port, scope), protocol and
 * auth name; a pin does not make another server. */
bool upstream_spec_same(const struct upstream *a, const struct upstream *b);

/* Equal in everything the config says, pin included. */
bool upstream_spec_equal(const struct upstream *a, const struct upstream *b);

#endif
