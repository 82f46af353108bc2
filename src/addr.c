/* addr.c - parsing and formatting of socket addresses and IP networks */
#include "dns64d/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest text we accept for an address: an IPv6 address with an interface scope. */
#define ADDR_TEXT_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 2)

/* Strict decimal: digits only (no sign, no spaces, no hex), value <= max. */
static int parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out, const char **why)
{
	unsigned long v;

	if (parse_decimal(s, 65535, &v) < 0 || v == 0) {
		*why = "port must be a number from 1 to 65535";
		return -EINVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

/* IPv6 address text with an optional "%scope" (interface name or index), as link-local
 * nameservers in resolv.conf carry one. */
static int parse_v6(const char *s, struct sockaddr_in6 *sin6, const char **why)
{
	char buf[ADDR_TEXT_MAX];
	char *pct;
	size_t len = strlen(s);

	if (len >= sizeof(buf)) {
		*why = "address too long";
		return -EINVAL;
	}
	memcpy(buf, s, len + 1);
	pct = strchr(buf, '%');
	if (pct != NULL)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) {
		*why = "not an IPv6 address";
		return -EINVAL;
	}
	if (pct != NULL) {
		unsigned long idx;

		if (*pct == '\0') {
			*why = "empty scope after '%'";
			return -EINVAL;
		}
		if (parse_decimal(pct, UINT32_MAX, &idx) < 0) {
			idx = if_nametoindex(pct);
			if (idx == 0) {
				*why = "unknown interface in scope";
				return -EINVAL;
			}
		}
		sin6->sin6_scope_id = (uint32_t)idx;
	}
	return 0;
}

int addr_parse_endpoint(const char *s, uint16_t default_port, struct sockaddr_storage *out, const char **why)
{
	const char *dummy;
	char host[ADDR_TEXT_MAX];
	const char *port_text = NULL;
	const char *colon;
	uint16_t port = default_port;
	size_t hlen;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL) {
			*why = "missing ']'";
			return -EINVAL;
		}
		hlen = (size_t)(close - s - 1);
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0') {
			*why = "expected ':PORT' after ']'";
			return -EINVAL;
		}
		if (hlen >= sizeof(host)) {
			*why = "address too long";
			return -EINVAL;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (strchr(host, ':') == NULL) {
			*why = "brackets are only for IPv6 addresses";
			return -EINVAL;
		}
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* exactly one colon: IPv4 with a port */
			hlen = (size_t)(colon - s);
			port_text = colon + 1;
		} else {
			/* no colon (IPv4) or several (bare IPv6, default port) */
			hlen = strlen(s);
		}
		if (hlen >= sizeof(host)) {
			*why = "address too long";
			return -EINVAL;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (port_text != NULL && parse_port(port_text, &port, why) < 0)
		return -EINVAL;

	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

		if (parse_v6(host, sin6, why) < 0)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		if (host[0] == '\0' || inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*why = "not an IP address";
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	}
	return 0;
}

int addr_parse_network(const char *s, struct network *out, const char **why)
{
	const char *dummy;
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max_plen;
	unsigned long plen;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "not an IP address";
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	if (strchr(host, ':') != NULL) {
		if (inet_pton(AF_INET6, host, out->addr) != 1) {
			*why = "not an IPv6 address";
			return -EINVAL;
		}
		out->family = AF_INET6;
		max_plen = 128;
	} else {
		if (inet_pton(AF_INET, host, out->addr) != 1) {
			*why = "not an IPv4 address";
			return -EINVAL;
		}
		out->family = AF_INET;
		max_plen = 32;
	}

	plen = max_plen;
	if (slash != NULL && parse_decimal(slash + 1, max_plen, &plen) < 0) {
		*why = out->family == AF_INET ? "prefix length must be 0 to 32" : "prefix length must be 0 to 128";
		return -EINVAL;
	}
	out->plen = (unsigned)plen;

	for (unsigned bit = out->plen; bit < max_plen; bit++) {
		if (out->addr[bit / 8] & (0x80u >> (bit % 8))) {
			*why = "host bits set";
			return -EINVAL;
		}
	}
	return 0;
}

int addr_raw(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(out, &sin->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(out, sin6->sin6_addr.s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(out, &sin6->sin6_addr, 16);
		return AF_INET6;
	}
	return -EAFNOSUPPORT;
}

bool network_contains(const struct network *n, int family, const uint8_t *addr)
{
	unsigned full = n->plen / 8;
	unsigned rest = n->plen % 8;

	if (n->family != family)
		return false;
	if (memcmp(n->addr, addr, full) != 0)
		return false;
	if (rest != 0) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		if ((addr[full] & mask) != n->addr[full])
			return false;
	}
	return true;
}

char *addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (sin6->sin6_scope_id != 0)
			snprintf(buf, len, "[%s%%%u]:%u", host, (unsigned)sin6->sin6_scope_id,
			         (unsigned)ntohs(sin6->sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", (int)sa->sa_family);
	}
	return buf;
}

char *network_format(const struct network *n, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (n->family != AF_INET && n->family != AF_INET6) {
		snprintf(buf, len, "(family %d)", n->family);
		return buf;
	}
	inet_ntop(n->family, n->addr, host, sizeof(host));
	snprintf(buf, len, "%s/%u", host, n->plen);
	return buf;
}

unsigned addr_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET: return sizeof(struct sockaddr_in);
	case AF_INET6: return sizeof(struct sockaddr_in6);
	default: return 0;
	}
}

bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}
