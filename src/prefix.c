/* prefix.c - a NAT64 prefix (RFC 6052) with its suffix and synthesis rules, and their parsers */
#include "dns64d/prefix.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int nat64_prefix_parse(const char *s, struct nat64_prefix *out, const char **why)
{
	const char *dummy;
	struct network net;

	if (why == NULL)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (strchr(s, '/') == NULL) {
		*why = "missing prefix length";
		return -EINVAL;
	}
	if (addr_parse_network(s, &net, why) < 0)
		return -EINVAL;
	if (net.family != AF_INET6) {
		*why = "not an IPv6 prefix";
		return -EINVAL;
	}
	switch (net.plen) {
	case 32:
	case 40:
	case 48:
	case 56:
	case 64:
	case 96: break;
	default: *why = "prefix length must be 32, 40, 48, 56, 64 or 96"; return -EINVAL;
	}
	/* RFC 6052 §2.2: bits 64-71 are reserved and must be zero; for /96 they are inside the
	 * prefix, for shorter lengths they are host bits and were checked above. */
	if (net.addr[8] != 0) {
		*why = "bits 64-71 (the u-octet) must be zero";
		return -EINVAL;
	}
	memcpy(out->addr, net.addr, 16);
	out->len = net.plen;
	return 0;
}

bool nat64_prefix_equal(const struct nat64_prefix *a, const struct nat64_prefix *b)
{
	return a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

char *nat64_prefix_format(const struct nat64_prefix *p, char *buf, size_t len)
{
	struct network n = {.family = AF_INET6, .plen = p->len};

	memcpy(n.addr, p->addr, sizeof(n.addr));
	return network_format(&n, buf, len);
}

char *nat64_suffix_format(const uint8_t a[16], char *buf, size_t len)
{
	unsigned g[8], best = 0, best_len = 0, pos = 0;

	for (unsigned i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	/* RFC 5952 §4.2: the longest run of two or more zero groups (the first of equals) is "::" */
	for (unsigned i = 0; i < 8;) {
		unsigned j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	buf[0] = '\0';
	for (unsigned i = 0; i < 8 && pos < len; i++) {
		int n;

		if (best_len != 0 && i == best) {
			n = snprintf(buf + pos, len - pos, "::");
			i += best_len - 1;
		} else
			n = snprintf(buf + pos, len - pos, "%s%x", pos != 0 && buf[pos - 1] != ':' ? ":" : "", g[i]);
		pos += n > 0 ? (unsigned)n : 0;
	}
	return buf;
}

int nat64_suffix_check(const struct nat64_prefix *p, const uint8_t suffix[16], const char **why)
{
	/* prefix bytes, then 4 IPv4 bytes, one more for the u-octet when it falls among them */
	unsigned used = p->len / 8 + 4 + (p->len <= 64 ? 1 : 0);
	static const char *const msg[] = {
	        [13] = "a /64 prefix leaves only the last 3 bytes for the suffix",
	        [12] = "a /56 prefix leaves only the last 4 bytes for the suffix",
	        [11] = "a /48 prefix leaves only the last 5 bytes for the suffix",
	        [10] = "a /40 prefix leaves only the last 6 bytes for the suffix",
	        [9] = "a /32 prefix leaves only the last 7 bytes for the suffix",
	};

	for (unsigned i = 0; i < used && i < 16; i++) {
		if (suffix[i] == 0)
			continue;
		if (used >= 16)
			*why = "a /96 prefix has no bits after the IPv4 address for a suffix";
		else
			*why = msg[used] != NULL ? msg[used] : "the suffix overlaps the prefix or IPv4 bits";
		return -EINVAL;
	}
	return 0;
}

int mapped_parse(const char *s, struct mapped_net *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (*s == '!') {
		out->negate = true;
		s++;
	}
	if (strcmp(s, "any") == 0) {
		out->net.family = AF_INET;
		return 0;
	}
	if (addr_parse_network(s, &out->net, why) < 0)
		return -EINVAL;
	if (out->net.family != AF_INET) {
		*why = "not an IPv4 network";
		return -EINVAL;
	}
	return 0;
}

bool mapped_allows(const struct mapped_net *m, size_t n, const uint8_t v4[4])
{
	for (size_t i = 0; i < n; i++)
		if (network_contains(&m[i].net, AF_INET, v4))
			return !m[i].negate;
	return false;
}

char *mapped_format(const struct mapped_net *m, char *buf, size_t len)
{
	char net[64];

	snprintf(buf, len, "%s%s", m->negate ? "!" : "", network_format(&m->net, net, sizeof(net)));
	return buf;
}
