/* prefix.c - a NAT64 prefix (RFC 6052) and its parser */
#include "dns64d/prefix.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dns64d/addr.h"

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
