/* ddr.c - Discovery of Designated Resolvers (RFC 9462): the SVCB records of _dns.resolver.arpa */
#include "dns64d/ddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/addr.h"
#include "dns64d/wire.h"

#define DOT_PORT 853

/* SvcParamKeys (RFC 9460 §14.3.2) */
#define KEY_ALPN     1
#define KEY_PORT     3
#define KEY_IPV4HINT 4
#define KEY_IPV6HINT 6

/* The addresses of one port, collected before the record is written. */
struct ddr_group {
	uint16_t port;
	uint8_t v4[DDR_HINTS_MAX][4], v6[DDR_HINTS_MAX][16];
	size_t n4, n6;
};

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

static bool is_loopback(int family, const uint8_t *a)
{
	static const uint8_t loop6[16] = {[15] = 1};
	return family == AF_INET ? a[0] == 127 : memcmp(a, loop6, 16) == 0;
}

static bool is_zero(int family, const uint8_t *a)
{
	static const uint8_t zero[16];
	return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

/* Add an address to g's hints of its family, once. */
static void add_hint(struct ddr_group *g, int family, const uint8_t *a)
{
	size_t len = family == AF_INET ? 4 : 16, *n = family == AF_INET ? &g->n4 : &g->n6;
	for (size_t i = 0; i < *n; i++)
		if (memcmp(family == AF_INET ? g->v4[i] : g->v6[i], a, len) == 0)
			return;
	if (*n < DDR_HINTS_MAX)
		memcpy(family == AF_INET ? g->v4[(*n)++] : g->v6[(*n)++], a, len);
}

/* The group of port, a new one if there is room; NULL if not. */
static struct ddr_group *group_of(struct ddr_group *groups, size_t *n, uint16_t port)
{
	for (size_t i = 0; i < *n; i++)
		if (groups[i].port == port)
			return &groups[i];
	if (*n == DDR_RECORDS_MAX)
		return NULL;
	struct ddr_group *g = &groups[(*n)++];
	memset(g, 0, sizeof(*g));
	g->port = port;
	return g;
}

static uint8_t *param(uint8_t *p, uint16_t key, uint16_t len)
{
	wr16(p, key);
	wr16(p + 2, len);
	return p + 4;
}

/* One record's rdata from its group; target is the wire TargetName. */
static void write_record(const struct ddr_group *g, const uint8_t *target, size_t tlen, struct ddr_record *r)
{
	uint8_t *p = r->rdata;
	wr16(p, 1); /* SvcPriority 1: ServiceMode */
	memcpy(p + 2, target, tlen);
	p += 2 + tlen;
	p = param(p, KEY_ALPN, 4);
	memcpy(p, "\003dot", 4);
	p += 4;
	if (g->port != DOT_PORT) {
		p = param(p, KEY_PORT, 2);
		wr16(p, g->port);
		p += 2;
	}
	if (g->n4) {
		p = param(p, KEY_IPV4HINT, (uint16_t)(4 * g->n4));
		memcpy(p, g->v4, 4 * g->n4);
		p += 4 * g->n4;
	}
	if (g->n6) {
		p = param(p, KEY_IPV6HINT, (uint16_t)(16 * g->n6));
		memcpy(p, g->v6, 16 * g->n6);
		p += 16 * g->n6;
	}
	r->port = g->port;
	r->len = (size_t)(p - r->rdata);
}

/* ddr-target in wire form into t (256 bytes); "." without one. */
static int target_wire(const struct config *cfg, uint8_t *t, size_t *len)
{
	ldns_rdf *rdf = NULL;
	if (!cfg->ddr_target) {
		t[0] = 0;
		*len = 1;
		return 0;
	}
	if (ldns_str2rdf_dname(&rdf, cfg->ddr_target) != LDNS_STATUS_OK || ldns_rdf_size(rdf) > DNS_MAX_NAME) {
		ldns_rdf_deep_free(rdf);
		return -EINVAL;
	}
	*len = ldns_rdf_size(rdf);
	memcpy(t, ldns_rdf_data(rdf), *len);
	ldns_rdf_deep_free(rdf);
	return 0;
}

int ddr_records(const struct config *cfg, const struct sockaddr_storage *local, struct ddr_record *out, size_t max)
{
	struct ddr_group groups[DDR_RECORDS_MAX];
	size_t ng = 0, n = 0, tlen;
	uint8_t target[DNS_MAX_NAME], la[16];
	int lf = local && local->ss_family ? addr_raw((const struct sockaddr *)local, la) : 0;
	if (target_wire(cfg, target, &tlen) < 0)
		return -EINVAL;
	if (lf > 0 && is_zero(lf, la))
		lf = 0; /* an unspecified local address says nothing */
	for (size_t i = 0; i < cfg->n_listen_tls; i++) {
		const struct sockaddr_storage *ss = &cfg->listen_tls[i].addr;
		uint8_t a[16];
		int f = addr_raw((const struct sockaddr *)ss, a);
		if (f < 0)
			continue;
		if (is_zero(f, a)) {
			if (lf != f)
				continue; /* a wildcard stands for the address asked, of its family only */
			memcpy(a, la, 16);
		}
		if (is_loopback(f, a) && lf > 0 && !is_loopback(lf, la))
			continue;
		struct ddr_group *g = group_of(groups, &ng, port_of(ss));
		if (g)
			add_hint(g, f, a);
	}
	for (size_t i = 0; i < ng && n < max; i++)
		write_record(&groups[i], target, tlen, &out[n++]);
	return (int)n;
}
