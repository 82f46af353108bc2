/* upstream_spec.c - one configured upstream server: parsed from and printed to config syntax, compared */
#include "dns64d/upstream_spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dns64d/addr.h"

#define TLS_SCHEME "tls://"

/* A name a certificate can carry: labels of letters, digits, '-' and '_' (1..63 bytes),
 * separated by dots, at most 253 bytes; one final dot is allowed and dropped. */
static int check_auth_name(const char *name, char *out, size_t out_len, const char **why)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "a tls:// upstream needs #AUTH-NAME, the name its certificate must carry";
		return -EINVAL;
	}
	if (len > 253 || len >= out_len) {
		*why = "auth name too long";
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63) {
				*why = label == 0 ? "empty label in auth name"
				                  : "label longer than 63 bytes in auth name";
				return -EINVAL;
			}
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			label++;
		} else {
			*why = "bad character in auth name";
			return -EINVAL;
		}
	}
	memcpy(out, name, len);
	out[len] = '\0';
	return 0;
}

char *upstream_spec_address_text(const char *s, char *buf, size_t len)
{
	size_t n;

	if (strncmp(s, TLS_SCHEME, strlen(TLS_SCHEME)) == 0) {
		const char *hash;

		s += strlen(TLS_SCHEME);
		hash = strchr(s, '#');
		n = hash != NULL ? (size_t)(hash - s) : strlen(s);
	} else {
		n = strlen(s);
	}
	if (n >= len)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

int upstream_spec_parse(const char *s, uint16_t default_port, struct upstream *out, const char **why)
{
	char host[128];
	const char *name = NULL;
	bool tls = strncmp(s, TLS_SCHEME, strlen(TLS_SCHEME)) == 0;

	memset(out, 0, sizeof(*out));
	if (!tls && strstr(s, "://") != NULL) {
		*why = "unknown scheme (only tls:// is known)";
		return -EINVAL;
	}
	if (tls) {
		name = strchr(s, '#');
		if (name == NULL) {
			*why = "a tls:// upstream needs #AUTH-NAME, the name its certificate must carry";
			return -EINVAL;
		}
		name++;
	} else if (strchr(s, '#') != NULL) {
		*why = "#AUTH-NAME is only for tls:// upstreams";
		return -EINVAL;
	}
	if (upstream_spec_address_text(s, host, sizeof(host)) == NULL) {
		*why = "address too long";
		return -EINVAL;
	}
	if (tls && host[0] == '\0') {
		*why = "missing address after tls://";
		return -EINVAL;
	}
	if (addr_parse_endpoint(host, tls ? UPSTREAM_TLS_PORT : default_port, &out->addr, why) < 0)
		return -EINVAL;
	if (tls) {
		out->proto = UPSTREAM_TLS;
		if (check_auth_name(name, out->auth_name, sizeof(out->auth_name), why) < 0)
			return -EINVAL;
	}
	return 0;
}

int upstream_spec_set_pin(struct upstream *u, const char *b64, const char **why)
{
	uint8_t bin[3 * UPSTREAM_PIN_LEN];
	size_t n = 0;
	const char *end = NULL;

	if (u->proto != UPSTREAM_TLS) {
		*why = "pin-sha256 is only for tls:// upstreams";
		return -EINVAL;
	}
	if (sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) !=
	            0 ||
	    end == NULL || *end != '\0') {
		*why = "pin-sha256 is not base64";
		return -EINVAL;
	}
	if (n != UPSTREAM_PIN_LEN) {
		*why = "pin-sha256 must be the base64 of 32 bytes (a SHA-256 digest)";
		return -EINVAL;
	}
	memcpy(u->pin_sha256, bin, UPSTREAM_PIN_LEN);
	u->has_pin = true;
	return 0;
}

char *upstream_spec_format(const struct upstream *u, bool with_pin, char *buf, size_t len)
{
	char a[64], pin[sodium_base64_ENCODED_LEN(UPSTREAM_PIN_LEN, sodium_base64_VARIANT_ORIGINAL)];

	addr_format((const struct sockaddr *)&u->addr, a, sizeof(a));
	if (u->proto != UPSTREAM_TLS) {
		snprintf(buf, len, "%s", a);
		return buf;
	}
	if (with_pin && u->has_pin) {
		sodium_bin2base64(pin, sizeof(pin), u->pin_sha256, UPSTREAM_PIN_LEN, sodium_base64_VARIANT_ORIGINAL);
		snprintf(buf, len, TLS_SCHEME "%s#%s pin-sha256 %s", a, u->auth_name, pin);
	} else {
		snprintf(buf, len, TLS_SCHEME "%s#%s", a, u->auth_name);
	}
	return buf;
}

bool upstream_spec_same(const struct upstream *a, const struct upstream *b)
{
	return a->proto == b->proto && addr_equal(&a->addr, &b->addr) && strcmp(a->auth_name, b->auth_name) == 0;
}

bool upstream_spec_equal(const struct upstream *a, const struct upstream *b)
{
	return upstream_spec_same(a, b) && a->has_pin == b->has_pin &&
	       (!a->has_pin || memcmp(a->pin_sha256, b->pin_sha256, UPSTREAM_PIN_LEN) == 0);
}
