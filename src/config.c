/* config.c - the daemon's configuration: text in, immutable struct config out */
#include "dns64d/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#define RESOLV_CONF       "/etc/resolv.conf"
#define CONFIG_MAX_TOKENS 3
#define CONFIG_FILE_MAX   (64u << 20) /* ACL files can be long; this only stops mistakes */

void errbuf_add(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (e == NULL)
		return;
	e->count++;
	if (e->len >= sizeof(e->text) - 1)
		return;
	room = sizeof(e->text) - e->len;
	va_start(ap, fmt);
	n = vsnprintf(e->text + e->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		e->text[e->len] = '\0';
		return;
	}
	if ((size_t)n >= room - 1) {
		/* truncated: keep the line ending so the text stays one message per line */
		e->len = sizeof(e->text) - 1;
		e->text[e->len - 1] = '\n';
		e->text[e->len] = '\0';
		return;
	}
	e->len += (size_t)n;
	e->text[e->len++] = '\n';
	e->text[e->len] = '\0';
}

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

static void *grow(void *arr, size_t n, size_t size)
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

static bool sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
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

/* State of one parse run: where errors go and what was seen on which line. */
struct parser {
	const char *path;
	unsigned line;
	struct errbuf *err;
	unsigned errors;
	struct config *cfg;
	unsigned *listen_lines; /* line of each cfg->listen entry, for duplicate messages */
	bool upstream_given;
	unsigned acl_line;
	unsigned seen[32]; /* line where each singleton directive was first seen */
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct parser *ps, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_add(ps->err, "%s:%u: %s", ps->path, ps->line, msg);
	ps->errors++;
}

typedef int (*directive_fn)(struct parser *ps, const char *name, const char *arg);

static int d_listen(struct parser *ps, const char *name, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct sockaddr_storage ss;
	const char *why;
	unsigned *lines;

	if (addr_parse_endpoint(arg, 53, &ss, &why) < 0) {
		perr(ps, "bad address '%s': %s", arg, why);
		return 0;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (sockaddr_equal(&cfg->listen[i], &ss)) {
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

static int d_upstream(struct parser *ps, const char *name, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct sockaddr_storage ss;
	const char *why;

	ps->upstream_given = true;
	if (addr_parse_endpoint(arg, 53, &ss, &why) < 0) {
		perr(ps, "bad address '%s': %s", arg, why);
		return 0;
	}
	PUSH(cfg->upstream, cfg->n_upstream, ss);
	return 0;
}

static int d_metrics(struct parser *ps, const char *name, const char *arg)
{
	const char *why;

	if (addr_parse_endpoint(arg, 9153, &ps->cfg->metrics, &why) < 0) {
		perr(ps, "bad address '%s': %s", arg, why);
		return 0;
	}
	ps->cfg->has_metrics = true;
	return 0;
}

static int d_acl(struct parser *ps, const char *name, const char *arg)
{
	const char *slash = strrchr(ps->path, '/');
	char *p;

	ps->acl_line = ps->line;
	if (arg[0] == '/' || slash == NULL) {
		p = strdup(arg);
	} else {
		int dirlen = (int)(slash - ps->path);

		if (asprintf(&p, "%.*s/%s", dirlen, ps->path, arg) < 0)
			p = NULL;
	}
	if (p == NULL)
		return -ENOMEM;
	ps->cfg->acl_path = p;
	return 0;
}

static int d_prefix(struct parser *ps, const char *name, const char *arg)
{
	const char *why;

	if (nat64_prefix_parse(arg, &ps->cfg->prefix, &why) < 0)
		perr(ps, "bad prefix '%s': %s", arg, why);
	return 0;
}

static int d_network(struct parser *ps, const char *name, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct network net;
	const char *why;
	bool exclude = strcmp(name, "exclude") == 0;

	if (addr_parse_network(arg, &net, &why) < 0) {
		perr(ps, "bad network '%s': %s", arg, why);
		return 0;
	}
	if (exclude && net.family != AF_INET6) {
		perr(ps, "exclude '%s' is not an IPv6 network", arg);
		return 0;
	}
	if (!exclude && net.family != AF_INET) {
		perr(ps, "mapped '%s' is not an IPv4 network", arg);
		return 0;
	}
	if (exclude)
		PUSH(cfg->exclude, cfg->n_exclude, net);
	else
		PUSH(cfg->mapped, cfg->n_mapped, net);
	return 0;
}

static int d_domain(struct parser *ps, const char *name, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct dname d;
	ldns_rdf *rdf = NULL;

	if (ldns_str2rdf_dname(&rdf, arg) != LDNS_STATUS_OK || rdf == NULL || ldns_rdf_size(rdf) > sizeof(d.wire) - 1) {
		perr(ps, "bad domain name '%s' for %s", arg, name);
		ldns_rdf_deep_free(rdf);
		return 0;
	}
	ldns_dname2canonical(rdf);
	memset(&d, 0, sizeof(d));
	d.len = (uint8_t)ldns_rdf_size(rdf);
	memcpy(d.wire, ldns_rdf_data(rdf), d.len);
	ldns_rdf_deep_free(rdf);
	if (strcmp(name, "synth-all") == 0)
		PUSH(cfg->synth_all, cfg->n_synth_all, d);
	else
		PUSH(cfg->no_synth, cfg->n_no_synth, d);
	return 0;
}

struct number_directive {
	const char *name;
	unsigned min, max;
	size_t offset;
};

static const struct number_directive numbers[] = {
        {"timeout", 1, 60000, offsetof(struct config, timeout_ms)},
        {"workers", 0, 256, offsetof(struct config, workers)},
        {"max-inflight", 1, 1u << 20, offsetof(struct config, max_inflight)},
        {"tcp-clients", 1, 1u << 20, offsetof(struct config, tcp_clients)},
        {"tcp-idle-timeout", 1, 3600000, offsetof(struct config, tcp_idle_timeout_ms)},
};

static int d_number(struct parser *ps, const char *name, const char *arg)
{
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		const struct number_directive *nd = &numbers[i];
		unsigned v;
		int rc;

		if (strcmp(nd->name, name) != 0)
			continue;
		rc = parse_uint(arg, nd->min, nd->max, &v);
		if (rc == -EINVAL)
			perr(ps, "bad number '%s' for %s", arg, name);
		else if (rc < 0)
			perr(ps, "%s '%s' out of range (%u..%u)", name, arg, nd->min, nd->max);
		else
			*(unsigned *)(void *)((char *)ps->cfg + nd->offset) = v;
		return 0;
	}
	return -EINVAL; /* table mismatch: a bug, not a config error */
}

static int d_cache_size(struct parser *ps, const char *name, const char *arg)
{
	if (config_parse_size(arg, &ps->cfg->cache_size) < 0)
		perr(ps, "bad size '%s' for cache-size (a number with optional k, m or g)", arg);
	return 0;
}

/* One of a fixed set of words; returns its index or -1 after reporting the error. */
static int keyword(struct parser *ps, const char *name, const char *arg, const char *const *words, const char *expect)
{
	for (int i = 0; words[i] != NULL; i++)
		if (strcmp(arg, words[i]) == 0)
			return i;
	perr(ps, "bad value '%s' for %s (expected %s)", arg, name, expect);
	return -1;
}

static int d_bool(struct parser *ps, const char *name, const char *arg)
{
	static const char *const words[] = {"no", "yes", NULL};
	int v = keyword(ps, name, arg, words, "yes or no");

	if (v < 0)
		return 0;
	if (strcmp(name, "cookies") == 0)
		ps->cfg->cookies = v == 1;
	else if (strcmp(name, "prefetch-a") == 0)
		ps->cfg->prefetch_a = v == 1;
	else
		ps->cfg->log_queries = v == 1;
	return 0;
}

static int d_synth_on(struct parser *ps, const char *name, const char *arg)
{
	static const char *const words[] = {"any-error", "nodata", NULL};
	int v = keyword(ps, name, arg, words, "any-error or nodata");

	if (v >= 0)
		ps->cfg->synth_on = v == 0 ? SYNTH_ON_ANY_ERROR : SYNTH_ON_NODATA;
	return 0;
}

static int d_log_level(struct parser *ps, const char *name, const char *arg)
{
	static const char *const words[] = {"error", "warn", "info", "debug", NULL};
	int v = keyword(ps, name, arg, words, "error, warn, info or debug");

	if (v >= 0)
		ps->cfg->log_level = (enum log_level)v;
	return 0;
}

static int d_string(struct parser *ps, const char *name, const char *arg)
{
	char *s;

	if ((strcmp(name, "chroot") == 0 || strcmp(name, "control") == 0) && arg[0] != '/') {
		perr(ps, "%s '%s' is not an absolute path", name, arg);
		return 0;
	}
	s = strdup(arg);
	if (s == NULL)
		return -ENOMEM;
	if (strcmp(name, "user") == 0)
		ps->cfg->user = s;
	else if (strcmp(name, "control") == 0)
		ps->cfg->control = s;
	else
		ps->cfg->chroot = s;
	return 0;
}

struct directive {
	const char *name;
	directive_fn fn;
	bool repeatable;
};

static const struct directive directives[] = {
        {"listen", d_listen, true},        {"upstream", d_upstream, true},      {"acl", d_acl, false},
        {"prefix", d_prefix, false},       {"timeout", d_number, false},        {"synth-on", d_synth_on, false},
        {"exclude", d_network, true},      {"mapped", d_network, true},         {"synth-all", d_domain, true},
        {"no-synth", d_domain, true},      {"cache-size", d_cache_size, false}, {"workers", d_number, false},
        {"max-inflight", d_number, false}, {"tcp-clients", d_number, false},    {"tcp-idle-timeout", d_number, false},
        {"cookies", d_bool, false},        {"prefetch-a", d_bool, false},       {"user", d_string, false},
        {"chroot", d_string, false},       {"log-level", d_log_level, false},   {"log-queries", d_bool, false},
        {"metrics", d_metrics, false},     {"control", d_string, false},
};

_Static_assert(sizeof(directives) / sizeof(directives[0]) <= 32, "parser.seen too small");

static int parse_line(struct parser *ps, char *text)
{
	char *tok[CONFIG_MAX_TOKENS];
	unsigned ntok = 0;
	char *save = NULL;
	char *hash = strchr(text, '#');

	if (hash != NULL)
		*hash = '\0';
	for (char *t = strtok_r(text, " \t\r\f\v", &save); t != NULL && ntok < CONFIG_MAX_TOKENS;
	     t = strtok_r(NULL, " \t\r\f\v", &save))
		tok[ntok++] = t;
	if (ntok == 0)
		return 0;

	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		const struct directive *d = &directives[i];

		if (strcmp(tok[0], d->name) != 0)
			continue;
		if (ntok < 2) {
			perr(ps, "missing argument for '%s'", d->name);
			return 0;
		}
		if (ntok > 2) {
			perr(ps, "extra argument '%s' for '%s'", tok[2], d->name);
			return 0;
		}
		if (!d->repeatable) {
			if (ps->seen[i] != 0) {
				perr(ps, "duplicate '%s' (also on line %u)", d->name, ps->seen[i]);
				return 0;
			}
			ps->seen[i] = ps->line;
		}
		return d->fn(ps, d->name, tok[1]);
	}
	perr(ps, "unknown directive '%s'", tok[0]);
	return 0;
}

static void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->listen);
	free(cfg->upstream);
	free(cfg->acl_path);
	acl_free(&cfg->acl);
	free(cfg->exclude);
	free(cfg->mapped);
	free(cfg->synth_all);
	free(cfg->no_synth);
	free(cfg->user);
	free(cfg->chroot);
	free(cfg->control);
	free(cfg->identity);
	free(cfg->version);
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
	return 0;
}

/* Parse into a config that exists even when there were errors, so that config_load can go
 * on to check the ACL file and report its problems too. Returns 0 or -ENOMEM; the count of
 * config errors is in ps->errors. */
static int parse_text(struct parser *ps, const char *path, const char *text, struct errbuf *err)
{
	struct config *cfg;
	char *copy = NULL, *p, *nl;
	const char *why;
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

	if (nat64_prefix_parse("64:ff9b::/96", &cfg->prefix, &why) < 0) {
		rc = -EINVAL;
		goto cleanup;
	}
	cfg->timeout_ms = 2000;
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

int config_parse(const char *path, const char *text, struct config **out, struct errbuf *err)
{
	struct parser ps;
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

/* The address of a "nameserver ADDR" line, or false for any other line. resolv.conf has no
 * port syntax, so "1.2.3.4:5" and "[::1]:5" are not addresses there. */
static bool resolv_nameserver(const char *line, size_t len, struct sockaddr_storage *ss)
{
	char buf[256], word[16], addr[128];
	const char *colon, *why;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, " %15s %127s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
		return false;
	colon = strchr(addr, ':');
	if (addr[0] == '[' || (colon != NULL && strchr(colon + 1, ':') == NULL))
		return false;
	return addr_parse_endpoint(addr, 53, ss, &why) == 0;
}

int config_upstreams_from_resolv(struct config *cfg, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		struct sockaddr_storage ss;

		if (resolv_nameserver(p, len, &ss))
			PUSH(cfg->upstream, cfg->n_upstream, ss);
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

/* Whole file into a NUL-terminated buffer. Returns 0 or a negative errno. */
static int read_file(const char *path, char **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 4096;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;
	if (cap > CONFIG_FILE_MAX) {
		rc = -EFBIG;
		goto cleanup;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap * 2 > CONFIG_FILE_MAX) {
				rc = -EFBIG;
				goto cleanup;
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		rc = -EILSEQ; /* a NUL byte: not a text file */
		goto cleanup;
	}
	*out = buf;
	buf = NULL;

cleanup:
	free(buf);
	close(fd);
	return rc;
}

int config_load(const char *path, struct config **out, struct errbuf *err)
{
	struct parser ps;
	struct config *cfg;
	char *text = NULL;
	unsigned errors;
	int rc;

	*out = NULL;
	rc = read_file(path, &text);
	if (rc < 0) {
		errbuf_add(err, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = parse_text(&ps, path, text, err);
	free(text);
	text = NULL;
	if (rc < 0)
		return rc;
	cfg = ps.cfg;
	errors = ps.errors;

	/* Go on after config errors: the ACL file's problems are worth reporting too. */
	if (cfg->acl_path != NULL) {
		rc = read_file(cfg->acl_path, &text);
		if (rc < 0) {
			errbuf_add(err, "%s:%u: cannot read acl '%s': %s", path, ps.acl_line, cfg->acl_path,
			           strerror(-rc));
			errors++;
		} else {
			rc = acl_parse(cfg->acl_path, text, &cfg->acl, err);
			free(text);
			text = NULL;
			if (rc == -ENOMEM)
				goto cleanup;
			if (rc < 0)
				errors++;
		}
	} else {
		rc = acl_default(&cfg->acl);
		if (rc < 0)
			goto cleanup;
	}

	if (!ps.upstream_given) {
		if (read_file(RESOLV_CONF, &text) == 0) {
			rc = config_upstreams_from_resolv(cfg, text);
			free(text);
			text = NULL;
			if (rc < 0)
				goto cleanup;
		}
		if (cfg->n_upstream == 0) {
			errbuf_add(err, "%s: no upstream given and none found in '%s'", path, RESOLV_CONF);
			errors++;
		}
	}
	rc = errors > 0 ? -EINVAL : 0;

cleanup:
	if (rc < 0) {
		config_free(cfg);
		return rc;
	}
	*out = cfg;
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
