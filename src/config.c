/* config.c - the daemon's configuration: text in, immutable struct config out */
#include "dns64d/config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/localdata.h"

#define RESOLV_CONF     "/etc/resolv.conf"
#define CONFIG_FILE_MAX (64u << 20) /* ACL files can be long; this only stops mistakes */

int config_parse_size(const char *s, size_t *out)
{
	size_t v = 0, mult = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		size_t d = (size_t)(*s - '0');

		if (v > (SIZE_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	switch (*s) {
	case '\0': break;
	case 'k':
	case 'K':
		mult = (size_t)1 << 10;
		s++;
		break;
	case 'm':
	case 'M':
		mult = (size_t)1 << 20;
		s++;
		break;
	case 'g':
	case 'G':
		mult = (size_t)1 << 30;
		s++;
		break;
	default: return -EINVAL;
	}
	if (*s != '\0' || (v != 0 && v > SIZE_MAX / mult))
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* Strict decimal in [min, max]: -EINVAL if not a number, -ERANGE if outside. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v = 0;
	bool big = false;

	if (*s == '\0')
		return -EINVAL;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (!big) {
			v = v * 10 + (unsigned)(*p - '0');
			if (v > UINT_MAX)
				big = true;
		}
	}
	if (big || v < min || v > max)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

void *grow(void *arr, size_t n, size_t size)
{
	/* the capacity is the next power of two above n, so only those sizes need a realloc */
	if (n != 0 && (n & (n - 1)) != 0)
		return arr;
	return realloc(arr, (n != 0 ? n * 2 : 1) * size);
}

#define PUSH(arr, n, val)                                                                                              \
	do {                                                                                                           \
		void *p_ = grow((arr), (n), sizeof(*(arr)));                                                           \
		if (p_ == NULL)                                                                                        \
			return -ENOMEM;                                                                                \
		(arr) = p_;                                                                                            \
		(arr)[(n)++] = (val);                                                                                  \
	} while (0)

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

void perr(struct config_parser *ps, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_add(ps->err, "%s:%u: %s", ps->path, ps->line, msg);
	ps->errors++;
}

/* "::1:5790" is a valid IPv6 address, but who writes it almost always means ::1 port 5790:
 * an unbracketed IPv6 text whose last group is decimal and whose rest is an address. */
bool ambiguous_v6_port(const char *s, char *addr, size_t addr_len, const char **port)
{
	const char *colon = strrchr(s, ':');
	struct in6_addr a;
	size_t n;

	if (s[0] == '[' || colon == NULL || colon == strchr(s, ':') || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5)
		return false;
	n = (size_t)(colon - s);
	if (n >= addr_len)
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	*port = colon + 1;
	return inet_pton(AF_INET6, addr, &a) == 1 && atoi(*port) > 0 && atoi(*port) <= 65535;
}

/* An address[:port] of a directive; false after reporting the error. */
bool parse_endpoint(struct config_parser *ps, const char *arg, uint16_t port, struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN];
	const char *why, *p;

	if (ambiguous_v6_port(arg, addr, sizeof(addr), &p)) {
		perr(ps, "ambiguous address '%s': use [%s]:%s for port %s, or [%s] for the address", arg, addr, p, p,
		     arg);
		return false;
	}
	if (addr_parse_endpoint(arg, port, ss, &why) < 0) {
		perr(ps, "bad address '%s': %s", arg, why);
		return false;
	}
	return true;
}

static int d_listen(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct sockaddr_storage ss;
	unsigned *lines;

	if (!parse_endpoint(ps, arg, d->port, &ss))
		return 0;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (addr_equal(&cfg->listen[i], &ss)) {
			perr(ps, "duplicate listen '%s' (also on line %u)", arg, ps->listen_lines[i]);
			return 0;
		}
	}
	lines = grow(ps->listen_lines, cfg->n_listen, sizeof(*lines));
	if (lines == NULL)
		return -ENOMEM;
	ps->listen_lines = lines;
	lines[cfg->n_listen] = ps->line;
	PUSH(cfg->listen, cfg->n_listen, ss);
	return 0;
}

/* Seconds with an optional s, m, h or d suffix. */
static int parse_seconds(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char buf[32];
	size_t len = strlen(s);
	unsigned long long mult = 1, v;
	unsigned n;
	int rc;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	switch (buf[len - 1]) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return parse_uint(buf, min, max, out);
	}
	buf[len - 1] = '\0';
	rc = parse_uint(buf, 0, UINT_MAX, &n);
	if (rc == -EINVAL)
		return rc;
	v = (unsigned long long)n * mult;
	if (rc < 0 || v < min || v > max)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/* One of d->words; its index, or -1 after reporting the error. */
static int keyword(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	for (int i = 0; d->words[i] != NULL; i++)
		if (strcmp(arg, d->words[i]) == 0)
			return i;
	perr(ps, "bad value '%s' for %s (expected %s)", arg, d->name, d->expect);
	return -1;
}

int parse_dname(const char *arg, struct dname *d)
{
	ldns_rdf *rdf = NULL;

	if (ldns_str2rdf_dname(&rdf, arg) != LDNS_STATUS_OK || rdf == NULL ||
	    ldns_rdf_size(rdf) > sizeof(d->wire) - 1) {
		ldns_rdf_deep_free(rdf);
		return -EINVAL;
	}
	ldns_dname2canonical(rdf);
	memset(d, 0, sizeof(*d));
	d->len = (uint8_t)ldns_rdf_size(rdf);
	memcpy(d->wire, ldns_rdf_data(rdf), d->len);
	ldns_rdf_deep_free(rdf);
	return 0;
}

/* A domain name kept as presentation text with the final dot ("ns.example."), for records
 * built from text (reverse-server, reverse-contact). */
static int d_domain_text(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct dname dn;
	ldns_rdf *rdf;
	char *text;

	if (parse_dname(arg, &dn) < 0) {
		perr(ps, "bad domain name '%s' for %s", arg, d->name);
		return 0;
	}
	rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dn.len, dn.wire);
	text = rdf != NULL ? ldns_rdf2str(rdf) : NULL;
	ldns_rdf_deep_free(rdf);
	if (text == NULL)
		return -ENOMEM;
	*FIELD(ps->cfg, d->offset, char *) = text;
	return 0;
}

/* Append one element of elem_size to the list at d->offset (count at d->aux). */
int push_elem(struct config *cfg, const struct config_directive *d, const void *elem, size_t elem_size)
{
	void **arr = FIELD(cfg, d->offset, void *);
	size_t *n = FIELD(cfg, d->aux, size_t);
	void *p = grow(*arr, *n, elem_size);

	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	memcpy((char *)p + *n * elem_size, elem, elem_size);
	(*n)++;
	return 0;
}

/* ddr-target NAME: a domain name, kept as written. */
static int d_ddr_target(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct dname dn;

	if (parse_dname(arg, &dn) < 0) {
		perr(ps, "bad domain name '%s' for %s", arg, d->name);
		return 0;
	}
	free(ps->cfg->ddr_target);
	ps->cfg->ddr_target = strdup(arg);
	return ps->cfg->ddr_target != NULL ? 0 : -ENOMEM;
}

/* An interface name as Linux allows it (dev_valid_name), once per directive. */
static int parse_ifname(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct ifname in;
	const struct ifname *list = *FIELD(ps->cfg, d->offset, struct ifname *);
	size_t n = *FIELD(ps->cfg, d->aux, size_t);

	if (strlen(arg) >= sizeof(in.name) || strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0 ||
	    strpbrk(arg, "/:") != NULL) {
		perr(ps, "bad interface name '%s' for %s", arg, d->name);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, arg) == 0) {
			perr(ps, "duplicate %s '%s'", d->name, arg);
			return 0;
		}
	memset(&in, 0, sizeof(in));
	memcpy(in.name, arg, strlen(arg));
	in.line = ps->line;
	return push_elem(ps->cfg, d, &in, sizeof(in));
}

/* One more element of a repeatable directive's list. */
static int parse_list_value(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	const char *why;

	switch (d->type) {
	case CONFIG_ENDPOINTS: {
		struct sockaddr_storage ss;

		if (!parse_endpoint(ps, arg, d->port, &ss))
			return 0;
		return push_elem(cfg, d, &ss, sizeof(ss));
	}
	case CONFIG_NETWORKS: {
		struct network net;

		if (addr_parse_network(arg, &net, &why) < 0) {
			perr(ps, "bad network '%s': %s", arg, why);
			return 0;
		}
		if (net.family != d->family) {
			perr(ps, "%s '%s' is not an %s network", d->name, arg, d->family == AF_INET ? "IPv4" : "IPv6");
			return 0;
		}
		return push_elem(cfg, d, &net, sizeof(net));
	}
	case CONFIG_MAPPED: {
		struct mapped_net m;

		if (mapped_parse(arg, &m, &why) < 0) {
			if (strcmp(why, "not an IPv4 network") == 0)
				perr(ps, "%s '%s' is not an IPv4 network", d->name, arg);
			else
				perr(ps, "bad network '%s': %s", arg, why);
			return 0;
		}
		return push_elem(cfg, d, &m, sizeof(m));
	}
	case CONFIG_DOMAINS: {
		struct dname dn;

		if (parse_dname(arg, &dn) < 0) {
			perr(ps, "bad domain name '%s' for %s", arg, d->name);
			return 0;
		}
		return push_elem(cfg, d, &dn, sizeof(dn));
	}
	case CONFIG_IFNAMES: return parse_ifname(ps, d, arg);
	default: return -EINVAL;
	}
}

/* A set of d->words, separated by commas or white space: "client-query,client-response". */
static int parse_wordset(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	unsigned *set = FIELD(ps->cfg, d->offset, unsigned);
	char *copy = strdup(arg), *save = NULL;

	if (copy == NULL)
		return -ENOMEM;
	if (config_line(ps->cfg, d->name) == ps->line)
		*set = 0; /* the first occurrence: the default goes */
	if (strspn(arg, ", \t") == strlen(arg) || arg[0] == ',' || arg[strlen(arg) - 1] == ',' ||
	    strstr(arg, ",,") != NULL)
		perr(ps, "empty value in '%s' for %s", arg, d->name);
	for (char *w = strtok_r(copy, ", \t", &save); w != NULL; w = strtok_r(NULL, ", \t", &save)) {
		int v = keyword(ps, d, w);

		if (v < 0)
			continue;
		if ((*set & (1u << v)) != 0)
			perr(ps, "'%s' given twice for %s", w, d->name);
		*set |= 1u << v;
	}
	free(copy);
	return 0;
}

/* The parser of each type; d->parse overrides it for the odd directives. */
static int parse_value(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	const char *why;
	unsigned u;
	int rc, v;

	switch (d->type) {
	case CONFIG_BOOL:
		v = keyword(ps, d, arg);
		if (v >= 0)
			*FIELD(cfg, d->offset, bool) = v == 1;
		return 0;
	case CONFIG_KEYWORD:
		v = keyword(ps, d, arg);
		u = (unsigned)v;
		if (v >= 0)
			memcpy(FIELD(cfg, d->offset, unsigned), &u, sizeof(u));
		return 0;
	case CONFIG_UINT:
		rc = (d->flags & CONFIG_TIME_SUFFIX) != 0 ? parse_seconds(arg, d->min, d->max, &u)
		                                          : parse_uint(arg, d->min, d->max, &u);
		if (rc == -EINVAL)
			perr(ps, "bad number '%s' for %s", arg, d->name);
		else if (rc < 0)
			perr(ps, "%s '%s' out of range (%u..%u)", d->name, arg, d->min, d->max);
		else
			*FIELD(cfg, d->offset, unsigned) = u;
		return 0;
	case CONFIG_SIZE:
		if (config_parse_size(arg, FIELD(cfg, d->offset, size_t)) < 0)
			perr(ps, "bad size '%s' for %s (a number with optional k, m or g)", arg, d->name);
		return 0;
	case CONFIG_PATH:
	case CONFIG_STRING: {
		char **field = FIELD(cfg, d->offset, char *);

		if ((d->flags & CONFIG_ABSOLUTE) != 0 && arg[0] != '/') {
			perr(ps, "%s '%s' is not an absolute path", d->name, arg);
			return 0;
		}
		if (d->max != 0 && strlen(arg) > d->max) {
			perr(ps, "%s '%s' is too long (at most %u bytes)", d->name, arg, d->max);
			return 0;
		}
		*field = strdup(arg);
		return *field != NULL ? 0 : -ENOMEM;
	}
	case CONFIG_ENDPOINT:
		if (parse_endpoint(ps, arg, d->port, FIELD(cfg, d->offset, struct sockaddr_storage)))
			*FIELD(cfg, d->aux, bool) = true;
		return 0;
	case CONFIG_ENDPOINTS:
	case CONFIG_NETWORKS:
	case CONFIG_MAPPED:
	case CONFIG_DOMAINS:
	case CONFIG_IFNAMES: return parse_list_value(ps, d, arg);
	case CONFIG_UPSTREAMS: return parse_upstream_line(ps, d, arg);
	case CONFIG_FORWARDS: return parse_forward_line(ps, d, arg);
	case CONFIG_STRINGS: return parse_list_value(ps, d, arg);
	case CONFIG_PREFIXES: return d_prefix(ps, d, arg);
	case CONFIG_IPV6:
		if (inet_pton(AF_INET6, arg, FIELD(cfg, d->offset, uint8_t)) != 1)
			perr(ps, "bad %s '%s': not an IPv6 address", d->name, arg);
		else
			*FIELD(cfg, d->aux, bool) = true;
		return 0;
	case CONFIG_PREFIX:
		if (nat64_prefix_parse(arg, FIELD(cfg, d->offset, struct nat64_prefix), &why) < 0)
			perr(ps, "bad prefix '%s': %s", arg, why);
		return 0;
	case CONFIG_LISTEN_TLS: return d_listen_tls(ps, d, arg);
	case CONFIG_WORDSET: return parse_wordset(ps, d, arg);
	}
	return -EINVAL; /* a table row with an unknown type: a bug, not a config error */
}

_Static_assert(sizeof(enum synth_on) == sizeof(unsigned), "keyword fields are stored as unsigned");
_Static_assert(sizeof(enum log_level) == sizeof(unsigned), "keyword fields are stored as unsigned");

static const char *const w_bool[] = {"no", "yes", NULL};
static const char *const w_synth_on[] = {"any-error", "nodata", NULL};
static const char *const w_log_level[] = {"error", "warn", "info", "debug", NULL};
static const char *const w_selection[] = {"rtt", "ordered", NULL};
static const char *const w_qlog_format[] = {"text", "logfmt", "json", NULL};
/* in the order of dnstap.h's enum dnstap_kind bits */
static const char *const w_dnstap_messages[] = {"client-query", "client-response", "forwarder-query",
                                                "forwarder-response", NULL};

#define OFF(f) offsetof(struct config, f)
#define BOOL(n, f, fl)                                                                                                 \
	{                                                                                                              \
		.name = n, .type = CONFIG_BOOL, .flags = fl, .offset = OFF(f), .words = w_bool, .expect = "yes or no"  \
	}
#define UINT(n, f, lo, hi, u, fl)                                                                                      \
	{                                                                                                              \
		.name = n, .type = CONFIG_UINT, .flags = fl, .offset = OFF(f), .min = lo, .max = hi, .unit = u         \
	}
#define LIST(n, t, f, cnt, fl)                                                                                         \
	{                                                                                                              \
		.name = n, .type = t, .flags = CONFIG_REPEATABLE | (fl), .offset = OFF(f), .aux = OFF(cnt)             \
	}

#define R CONFIG_RELOADABLE

/* Every directive, in the order of dns64d.conf(5). No row: no directive. */
/* clang-format off */
static const struct config_directive table[] = {
        {.name = "listen", .type = CONFIG_ENDPOINTS, .flags = CONFIG_REPEATABLE, .offset = OFF(listen),
         .aux = OFF(n_listen), .port = 53, .parse = d_listen},
        {.name = "listen-tls", .type = CONFIG_LISTEN_TLS, .flags = CONFIG_REPEATABLE | CONFIG_REST,
         .offset = OFF(listen_tls), .aux = OFF(n_listen_tls), .port = 853, .parse = d_listen_tls},
        {.name = "ddr-target", .type = CONFIG_STRING, .flags = R, .offset = OFF(ddr_target), .max = 253,
         .parse = d_ddr_target, .unset = "'.': clients use the address hints"},
        {.name = "upstream", .type = CONFIG_UPSTREAMS, .flags = CONFIG_REPEATABLE | R | CONFIG_REST,
         .offset = OFF(upstream), .aux = OFF(n_upstream), .port = 53},
        {.name = "upstream-selection", .type = CONFIG_KEYWORD, .flags = R, .offset = OFF(upstream_selection),
         .words = w_selection, .expect = "rtt or ordered"},
        {.name = "forward", .type = CONFIG_FORWARDS, .flags = CONFIG_REPEATABLE | R | CONFIG_REST,
         .offset = OFF(forward), .aux = OFF(n_forward), .port = 53,
         .unset = "every name goes to the upstream list"},
        {.name = "acl", .type = CONFIG_PATH, .flags = R, .offset = OFF(acl_path), .parse = d_acl,
         .unset = "127.0.0.0/8 and ::1/128 get dns64, everyone else is refused"},
        {.name = "prefix", .type = CONFIG_PREFIXES, .flags = CONFIG_REPEATABLE | CONFIG_REST | R,
         .offset = OFF(prefixes), .aux = OFF(n_prefixes)},
        {.name = "prefix-from-ra", .type = CONFIG_IFNAMES, .flags = CONFIG_REPEATABLE, .offset = OFF(prefix_from_ra),
         .aux = OFF(n_prefix_from_ra), .unset = "the default prefix is the configured one"},
        UINT("timeout", timeout_ms, 1, 60000, "ms", R),
        {.name = "tls-ca", .type = CONFIG_PATH, .offset = OFF(tls_ca), .parse = d_tls_ca,
         .unset = "the system trust store"},
        {.name = "synth-on", .type = CONFIG_KEYWORD, .flags = R, .offset = OFF(synth_on), .words = w_synth_on,
         .expect = "any-error or nodata"},
        {.name = "exclude", .type = CONFIG_NETWORKS, .flags = CONFIG_REPEATABLE | R, .offset = OFF(exclude),
         .aux = OFF(n_exclude), .family = AF_INET6},
        {.name = "mapped", .type = CONFIG_MAPPED, .flags = CONFIG_REPEATABLE | R, .offset = OFF(mapped),
         .aux = OFF(n_mapped), .family = AF_INET,
         .unset = "with the Well-Known Prefix every global IPv4 address, else every address"},
        {.name = "suffix", .type = CONFIG_IPV6, .flags = R, .offset = OFF(suffix), .aux = OFF(has_suffix),
         .unset = "the bits after the IPv4 address are zero"},
        BOOL("recursive-only", recursive_only, R),
        BOOL("break-dnssec", break_dnssec, R),
        LIST("synth-all", CONFIG_DOMAINS, synth_all, n_synth_all, R),
        LIST("no-synth", CONFIG_DOMAINS, no_synth, n_no_synth, R),
        {.name = "reverse-server", .type = CONFIG_STRING, .flags = R, .offset = OFF(reverse_server),
         .parse = d_domain_text, .unset = "the root name, as BIND's dns64-server"},
        {.name = "reverse-contact", .type = CONFIG_STRING, .flags = R, .offset = OFF(reverse_contact),
         .parse = d_domain_text, .unset = "the root name, as BIND's dns64-contact"},
        {.name = "local-data", .type = CONFIG_STRINGS, .flags = CONFIG_REPEATABLE | R | CONFIG_REST,
         .offset = OFF(local_data), .aux = OFF(n_local_data), .parse = d_local_data, .unset = "no local data"},
        {.name = "hosts", .type = CONFIG_STRINGS, .flags = CONFIG_REPEATABLE | R, .offset = OFF(hosts),
         .aux = OFF(n_hosts), .parse = d_hosts, .unset = "no hosts file"},
        BOOL("local-reverse-zones", local_reverse_zones, R),
        {.name = "cache-size", .type = CONFIG_SIZE, .offset = OFF(cache_size)},
        UINT("max-stale", max_stale_s, 0, 604800, "s", R | CONFIG_TIME_SUFFIX),
        UINT("stale-answer-client-timeout", stale_client_timeout_ms, 0, 60000, "ms", R),
        UINT("stale-answer-ttl", stale_answer_ttl_s, 1, 3600, "s", R),
        UINT("workers", workers, 0, 256, NULL, 0),
        UINT("max-inflight", max_inflight, 1, 1u << 20, NULL, R),
        UINT("tcp-clients", tcp_clients, 1, 1u << 20, NULL, R),
        UINT("tcp-clients-per-host", tcp_clients_per_host, 1, 65535, NULL, R),
        UINT("tcp-idle-timeout", tcp_idle_timeout_ms, 1, 3600000, "ms", R),
        BOOL("cookies", cookies, R),
        BOOL("prefetch-a", prefetch_a, R),
        {.name = "identity", .type = CONFIG_STRING, .flags = R, .offset = OFF(identity), .max = 255,
         .unset = "the host name"},
        {.name = "version", .type = CONFIG_STRING, .flags = R | CONFIG_REST, .offset = OFF(version), .max = 255,
         .unset = "dns64d and its version"},
        BOOL("hide-identity", hide_identity, R),
        BOOL("hide-version", hide_version, R),
        {.name = "user", .type = CONFIG_STRING, .offset = OFF(user), .unset = "keep the user started as"},
        {.name = "chroot", .type = CONFIG_PATH, .flags = CONFIG_ABSOLUTE, .offset = OFF(chroot)},
        {.name = "log-level", .type = CONFIG_KEYWORD, .flags = R, .offset = OFF(log_level), .words = w_log_level,
         .expect = "error, warn, info or debug"},
        BOOL("log-queries", log_queries, R),
        {.name = "log-queries-format", .type = CONFIG_KEYWORD, .flags = R, .offset = OFF(log_queries_format),
         .words = w_qlog_format, .expect = "text, logfmt or json"},
        {.name = "metrics", .type = CONFIG_ENDPOINT, .flags = R, .offset = OFF(metrics), .aux = OFF(has_metrics),
         .port = 9153, .unset = "no metrics endpoint"},
        /* sun_path holds 108 bytes with the NUL */
        {.name = "control", .type = CONFIG_PATH, .flags = R | CONFIG_ABSOLUTE, .offset = OFF(control), .max = 107,
         .unset = "no control socket"},
        {.name = "dnstap-socket", .type = CONFIG_PATH, .flags = CONFIG_ABSOLUTE, .offset = OFF(dnstap_socket),
         .max = 107, .unset = "no dnstap"},
        {.name = "dnstap-messages", .type = CONFIG_WORDSET, .flags = CONFIG_REPEATABLE | CONFIG_REST | R,
         .offset = OFF(dnstap_messages), .words = w_dnstap_messages,
         .expect = "client-query, client-response, forwarder-query or forwarder-response"},
        {.name = "dnstap-identity", .type = CONFIG_STRING, .flags = R, .offset = OFF(dnstap_identity), .max = 255,
         .unset = "identity, else the host name"},
        {.name = "dnstap-version", .type = CONFIG_STRING, .flags = R | CONFIG_REST, .offset = OFF(dnstap_version),
         .max = 255, .unset = "version, else dns64d and its version"},
};
/* clang-format on */

#undef R

#define N_DIRECTIVES (sizeof(table) / sizeof(table[0]))
_Static_assert(N_DIRECTIVES <= CONFIG_DIRECTIVES_MAX, "struct config's lines[] too small");

const struct config_directive *config_directives(size_t *n)
{
	*n = N_DIRECTIVES;
	return table;
}

const struct config_directive *config_directive(const char *name)
{
	for (size_t i = 0; i < N_DIRECTIVES; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

unsigned config_line(const struct config *cfg, const char *name)
{
	const struct config_directive *d = config_directive(name);

	return d != NULL ? cfg->lines[d - table] : 0;
}

/* Cut the comment off: a '#' at the start or after white space, outside double quotes. */
static void strip_comment(char *text)
{
	bool quoted = false;

	for (char *p = text; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '#' && !quoted && (p == text || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* The argument of a CONFIG_REST directive: the rest of the line without the white space
 * around it; a value in double quotes loses the quotes (and may keep spaces and '#'). */
static char *rest_argument(struct config_parser *ps, const struct config_directive *d, char *rest)
{
	size_t len;

	rest += strspn(rest, SPACE);
	len = strlen(rest);
	while (len > 0 && strchr(SPACE, rest[len - 1]) != NULL)
		rest[--len] = '\0';
	if (len == 0) {
		perr(ps, "missing argument for '%s'", d->name);
		return NULL;
	}
	if (rest[0] == '"') {
		char *end = strchr(rest + 1, '"');

		if (end == NULL || end[1] != '\0') {
			perr(ps, "%s: a quoted value must end with '\"' at the end of the line", d->name);
			return NULL;
		}
		*end = '\0';
		return rest + 1;
	}
	return rest;
}

static int parse_line(struct config_parser *ps, char *text)
{
	const struct config_directive *d = NULL;
	char *name, *arg, *extra, *save = NULL;
	size_t row;

	strip_comment(text);
	name = strtok_r(text, SPACE, &save);
	if (name == NULL)
		return 0;
	for (row = 0; row < N_DIRECTIVES; row++) {
		if (strcmp(name, table[row].name) == 0) {
			d = &table[row];
			break;
		}
	}
	if (d == NULL) {
		perr(ps, "unknown directive '%s'", name);
		return 0;
	}
	if ((d->flags & CONFIG_REST) != 0) {
		arg = rest_argument(ps, d, save != NULL ? save : name + strlen(name));
		if (arg == NULL)
			return 0;
	} else {
		arg = strtok_r(NULL, SPACE, &save);
		extra = arg != NULL ? strtok_r(NULL, SPACE, &save) : NULL;
		if (arg == NULL) {
			perr(ps, "missing argument for '%s'", d->name);
			return 0;
		}
		if (extra != NULL) {
			perr(ps, "extra argument '%s' for '%s'", extra, d->name);
			return 0;
		}
	}
	if (ps->cfg->lines[row] != 0 && (d->flags & CONFIG_REPEATABLE) == 0) {
		perr(ps, "duplicate '%s' (also on line %u)", d->name, ps->cfg->lines[row]);
		return 0;
	}
	if (ps->cfg->lines[row] == 0)
		ps->cfg->lines[row] = ps->line;
	return d->parse != NULL ? d->parse(ps, d, arg) : parse_value(ps, d, arg);
}

static void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->listen);
	for (size_t i = 0; i < cfg->n_listen_tls; i++) {
		free(cfg->listen_tls[i].cert);
		free(cfg->listen_tls[i].key);
	}
	free(cfg->listen_tls);
	free(cfg->ddr_target);
	free(cfg->upstream);
	for (size_t i = 0; i < cfg->n_forward; i++)
		free(cfg->forward[i].upstream);
	free(cfg->forward);
	free(cfg->acl_path);
	free(cfg->tls_ca);
	acl_free(&cfg->acl);
	for (size_t i = 0; i < cfg->n_prefixes; i++)
		prefix_free(&cfg->prefixes[i]);
	free(cfg->prefixes);
	free(cfg->exclude);
	free(cfg->mapped);
	free(cfg->prefix_from_ra);
	free(cfg->synth_all);
	free(cfg->no_synth);
	free(cfg->reverse_server);
	free(cfg->reverse_contact);
	free(cfg->user);
	free(cfg->chroot);
	free(cfg->identity);
	free(cfg->version);
	free(cfg->control);
	free(cfg->dnstap_socket);
	free(cfg->dnstap_identity);
	free(cfg->dnstap_version);
	for (size_t i = 0; i < cfg->n_local_data; i++)
		free(cfg->local_data[i]);
	free(cfg->local_data);
	for (size_t i = 0; i < cfg->n_hosts; i++)
		free(cfg->hosts[i]);
	free(cfg->hosts);
	free(cfg->hosts_lines);
	localdata_free(cfg->local);
	free(cfg);
}

static int set_defaults_after(struct config *cfg)
{
	if (cfg->n_listen == 0) {
		const char *why;
		struct sockaddr_storage ss;

		if (addr_parse_endpoint("127.0.0.1", 53, &ss, &why) < 0)
			return -EINVAL;
		PUSH(cfg->listen, cfg->n_listen, ss);
		if (addr_parse_endpoint("::1", 53, &ss, &why) < 0)
			return -EINVAL;
		PUSH(cfg->listen, cfg->n_listen, ss);
	}
	if (cfg->n_exclude == 0) {
		const char *why;
		struct network net;

		if (addr_parse_network("::ffff:0:0/96", &net, &why) < 0)
			return -EINVAL;
		PUSH(cfg->exclude, cfg->n_exclude, net);
	}
	if (cfg->n_prefixes == 0) {
		struct synth_prefix wkp = {.line = 0};
		const char *why;

		if (nat64_prefix_parse("64:ff9b::/96", &wkp.p, &why) < 0)
			return -EINVAL;
		PUSH(cfg->prefixes, cfg->n_prefixes, wkp);
	}
	return 0;
}

/* The metrics endpoint and a listen address on the same TCP port of the same address (or
 * one of them a wildcard) cannot both be bound. */
static void check_metrics_clash(struct config_parser *ps)
{
	const struct config *cfg = ps->cfg;
	uint8_t ma[16], la[16], zero[16] = {0};
	int mf = addr_raw((const struct sockaddr *)&cfg->metrics, ma);
	size_t n = mf == AF_INET ? 4 : 16;

	for (size_t i = 0; i < cfg->n_listen; i++) {
		int lf = addr_raw((const struct sockaddr *)&cfg->listen[i], la);
		char a[64], b[64], where[32] = "the default";

		if (lf != mf || addr_port(&cfg->listen[i]) != addr_port(&cfg->metrics))
			continue;
		if (memcmp(ma, la, n) != 0 && memcmp(ma, zero, n) != 0 && memcmp(la, zero, n) != 0)
			continue;
		if (ps->listen_lines != NULL)
			snprintf(where, sizeof(where), "line %u", ps->listen_lines[i]);
		ps->line = config_line(cfg, "metrics");
		perr(ps, "metrics '%s' uses the TCP port of listen '%s' (%s): choose another port",
		     addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a)),
		     addr_format((const struct sockaddr *)&cfg->listen[i], b, sizeof(b)), where);
		return;
	}
}

/* A listen-tls on the TCP port of a listen address (the same address, or one of them a
 * wildcard): SO_REUSEPORT would let both bind and share the connections. */
static void check_tls_clash(struct config_parser *ps)
{
	const struct config *cfg = ps->cfg;
	uint8_t ta[16], la[16], zero[16] = {0};

	for (size_t t = 0; t < cfg->n_listen_tls; t++) {
		const struct listen_tls *lt = &cfg->listen_tls[t];
		int tf = addr_raw((const struct sockaddr *)&lt->addr, ta);
		size_t n = tf == AF_INET ? 4 : 16;

		for (size_t i = 0; i < cfg->n_listen; i++) {
			char a[64], b[64];

			if (addr_raw((const struct sockaddr *)&cfg->listen[i], la) != tf ||
			    addr_port(&cfg->listen[i]) != addr_port(&lt->addr))
				continue;
			if (memcmp(ta, la, n) != 0 && memcmp(ta, zero, n) != 0 && memcmp(la, zero, n) != 0)
				continue;
			ps->line = lt->line;
			perr(ps, "listen-tls '%s' uses the TCP port of listen '%s': choose another port",
			     addr_format((const struct sockaddr *)&lt->addr, a, sizeof(a)),
			     addr_format((const struct sockaddr *)&cfg->listen[i], b, sizeof(b)));
			break;
		}
	}
}

/* Parse into a config that exists even when there were errors, so that config_load can go
 * on to check the ACL file and report its problems too. Returns 0 or -ENOMEM; the count of
 * config errors is in ps->errors. */
static int parse_text(struct config_parser *ps, const char *path, const char *text, struct errbuf *err)
{
	struct config *cfg;
	char *copy = NULL, *p, *nl;
	int rc = -ENOMEM;

	memset(ps, 0, sizeof(*ps));
	ps->path = path;
	ps->err = err;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return -ENOMEM;
	ps->cfg = cfg;
	atomic_init(&cfg->refs, 1);
	cfg->path = strdup(path);
	copy = strdup(text);
	if (cfg->path == NULL || copy == NULL)
		goto cleanup;

	cfg->timeout_ms = 2000;
	cfg->break_dnssec = true;
	cfg->synth_on = SYNTH_ON_ANY_ERROR;
	cfg->cache_size = (size_t)64 << 20;
	cfg->workers = 0;
	cfg->max_inflight = 4096;
	cfg->tcp_clients = 256;
	cfg->tcp_idle_timeout_ms = 10000;
	cfg->cookies = true;
	cfg->prefetch_a = true;
	cfg->tcp_clients_per_host = 16;
	cfg->upstream_selection = 0;
	cfg->max_stale_s = 86400;
	cfg->stale_client_timeout_ms = 1800;
	cfg->stale_answer_ttl_s = 30;
	cfg->log_level = LOG_LEVEL_WARN;
	cfg->log_queries = false;
	cfg->log_queries_format = 0; /* text */
	/* dnstap: all four kinds of message */
	cfg->dnstap_messages = 0x0fu;
	cfg->local_reverse_zones = true;

	for (p = copy; p != NULL; p = nl) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		else if (*p == '\0')
			break;
		ps->line++;
		rc = parse_line(ps, p);
		if (rc < 0)
			goto cleanup;
	}
	rc = set_defaults_after(cfg);
	if (rc == 0)
		rc = localdata_finish(cfg->local);
	if (rc == 0)
		inherit_options(ps);
	if (rc == 0 && cfg->has_metrics)
		check_metrics_clash(ps);
	if (rc == 0)
		check_tls_clash(ps);

cleanup:
	free(copy);
	free(ps->listen_lines);
	ps->listen_lines = NULL;
	if (rc < 0) {
		config_free(cfg);
		ps->cfg = NULL;
	}
	return rc;
}

int config_parse_keep(const char *path, const char *text, struct config **out, unsigned *errors, struct errbuf *err)
{
	struct config_parser ps;
	int rc;

	*out = NULL;
	rc = parse_text(&ps, path, text, err);
	if (rc < 0)
		return rc;
	*errors = ps.errors;
	*out = ps.cfg;
	return 0;
}

int config_parse(const char *path, const char *text, struct config **out, struct errbuf *err)
{
	struct config_parser ps;
	int rc;

	*out = NULL;
	rc = parse_text(&ps, path, text, err);
	if (rc < 0)
		return rc;
	if (ps.errors > 0) {
		config_free(ps.cfg);
		return -EINVAL;
	}
	*out = ps.cfg;
	return 0;
}

struct config *config_ref(struct config *cfg)
{
	if (cfg != NULL)
		atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
	return cfg;
}

void config_unref(struct config *cfg)
{
	if (cfg == NULL)
		return;
	/* acq_rel: the thread that frees must see every other holder's last use */
	if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
		config_free(cfg);
}
