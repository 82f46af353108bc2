/* control.c - the operator plane on the main thread: the metrics endpoint and the control socket */
#include "dns64d/control.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/cachedump.h"
#include "dns64d/config.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#define HTTP_MAX_REQ     4096
#define BODY_MAX_LINE    (256u * 1024) /* a load-cache line: a 64 KiB message in base64 and more */
#define REPLY_TIMEOUT_MS 60000         /* a command's work and the write of its reply */
#define MAX_WORDS        8

/* ---- connections: read one request, write one reply, close -------------------------------- */

enum kind { KIND_HTTP, KIND_CONTROL };

struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_timer_t timer;
	uv_write_t wr;
	struct conn *next, *prev;
	enum kind kind;
	unsigned open_handles;
	bool closing;
	bool responded;
	bool pending; /* a handler holds out (CONTROL_PENDING) */
	char *buf;    /* the request as read so far */
	size_t len, cap;
	char *resp;
	const struct cmd *body; /* the command whose data is being read (load-cache) */
	struct control_out *out;
	struct cachedump_reader load;
	unsigned load_line, load_stored;
};

struct control_out {
	struct conn *conn; /* NULL once the client is gone */
	struct dumpbuf text;
	char reason[1024];
};

static struct {
	struct daemon *d;
	uv_loop_t *loop;
	struct conn *conns;
	unsigned n_conns[2];
	uv_tcp_t *http;  /* the metrics listener, or NULL */
	uv_pipe_t *sock; /* the control socket, or NULL */
	char *sock_path; /* as configured */
	char *root;      /* the chroot in effect after start, or NULL */
	bool has_user;   /* `user` at start: the socket's group */
	uid_t uid;
	gid_t gid;
	uint64_t start_ns;
	struct control_hooks hooks;
	char listen_error[512]; /* the last listener error of a reconfigure, for the reload reply */
} S;

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles)
		return;
	S.n_conns[c->kind]--;
	free(c->resp);
	free(c->buf);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		S.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->out) {
		/* a pending handler still finishes and frees it; otherwise nobody will */
		c->out->conn = NULL;
		if (!c->pending) {
			free(c->out->text.text);
			free(c->out);
		}
		c->out = NULL;
	}
	uv_close((uv_handle_t *)&c->timer, conn_closed);
	uv_close(&c->h.handle, conn_closed);
}

static void conn_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void conn_written(uv_write_t *wr, int status)
{
	conn_close(wr->data);
}

/* Send len bytes of resp (malloc'd; the connection owns it now), then close. */
static void conn_send(struct conn *c, char *resp, size_t len)
{
	c->responded = true;
	uv_read_stop(&c->h.stream);
	free(c->resp);
	c->resp = resp;
	uv_buf_t b = uv_buf_init(resp, (unsigned)len);
	c->wr.data = c;
	if (uv_write(&c->wr, &c->h.stream, &b, 1, conn_written) < 0)
		conn_close(c);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	buf->base = c->buf + c->len;
	buf->len = c->cap - 1 - c->len;
}

static void http_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Accept on server for kind; limit and timeout as documented in control.h. */
static void conn_accept(uv_stream_t *server, enum kind kind, uv_read_cb on_read, unsigned max)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->kind = kind;
	c->cap = HTTP_MAX_REQ;
	c->buf = malloc(c->cap);
	if (!c->buf) {
		free(c);
		return;
	}
	if (kind == KIND_HTTP)
		uv_tcp_init(server->loop, &c->h.tcp);
	else
		uv_pipe_init(server->loop, &c->h.pipe, 0);
	uv_timer_init(server->loop, &c->timer);
	c->h.handle.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = S.conns;
	if (S.conns)
		S.conns->prev = c;
	S.conns = c;
	S.n_conns[kind]++;
	if (uv_accept(server, &c->h.stream) < 0 || S.n_conns[kind] > max) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, conn_timeout, CONTROL_TIMEOUT_MS, 0);
	uv_read_start(&c->h.stream, conn_alloc, on_read);
}

/* ---- a very small HTTP/1.0 server: GET /metrics, then close ------------------------------ */

static void http_respond(struct conn *c, int code, const char *reason, const char *ctype, const char *body, size_t blen)
{
	size_t cap = blen + 256;
	char *resp = malloc(cap);
	if (!resp) {
		conn_close(c);
		return;
	}
	int n = snprintf(resp, cap,
	                 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
	                 reason, ctype, blen);
	memcpy(resp + n, body, blen);
	conn_send(c, resp, (size_t)n + blen);
}

static void http_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->responded)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	c->buf[c->len] = 0;
	if (!strstr(c->buf, "\r\n\r\n") && !strstr(c->buf, "\n\n")) {
		if (c->len >= c->cap - 1)
			http_respond(c, 431, "Request Header Fields Too Large", "text/plain", "too large\n", 10);
		return;
	}
	if (strncmp(c->buf, "GET ", 4) != 0 && strncmp(c->buf, "HEAD ", 5) != 0) {
		http_respond(c, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19);
		return;
	}
	const char *path = strchr(c->buf, ' ') + 1;
	if (strncmp(path, "/metrics", 8) != 0 || (path[8] != ' ' && path[8] != '?')) {
		http_respond(c, 404, "Not Found", "text/plain", "try /metrics\n", 13);
		return;
	}
	char *text;
	size_t len;
	if (metrics_render(S.d, &text, &len) < 0) {
		http_respond(c, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
		return;
	}
	http_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void http_connection(uv_stream_t *server, int status)
{
	if (status == 0)
		conn_accept(server, KIND_HTTP, http_read, CONTROL_HTTP_CONNS);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static int http_listen(const struct sockaddr *addr)
{
	uv_tcp_t *t = malloc(sizeof(*t));
	if (!t)
		return UV_ENOMEM;
	int rc = uv_tcp_init(S.loop, t);
	if (rc) {
		free(t);
		return rc;
	}
	if ((rc = uv_tcp_bind(t, addr, 0)) || (rc = uv_listen((uv_stream_t *)t, 16, http_connection))) {
		uv_close((uv_handle_t *)t, free_handle);
		return rc;
	}
	S.http = t;
	return 0;
}

static void http_close(void)
{
	if (S.http) {
		uv_close((uv_handle_t *)S.http, free_handle);
		S.http = NULL;
	}
}

static void listen_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int metrics_open(const struct config *cfg)
{
	if (!cfg->has_metrics)
		return 0;
	int rc = http_listen((const struct sockaddr *)&cfg->metrics);
	if (rc < 0) {
		char a[64];
		listen_error("cannot serve metrics on '%s': %s",
		             addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a)), uv_strerror(rc));
	}
	return rc;
}

/* ---- replies ------------------------------------------------------------------------------ */

void control_printf(struct control_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dumpbuf_vprintf(&o->text, fmt, ap);
	va_end(ap);
}

int control_fail(struct control_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	/* the reason is one line */
	for (char *p = o->reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -1;
}

void control_finish(struct control_out *o, int rc)
{
	struct conn *c = o->conn;
	if (c) {
		c->out = NULL;
		c->pending = false;
		struct dumpbuf r = {0};
		if (o->text.err)
			dumpbuf_printf(&r, "error: out of memory\n");
		else if (rc < 0)
			dumpbuf_printf(&r, "error: %s\n%.*s", o->reason[0] ? o->reason : "failed", (int)o->text.len,
			               o->text.text ? o->text.text : "");
		else
			dumpbuf_printf(&r, "ok\n");
		if (!o->text.err && rc >= 0 && o->text.len) {
			/* a dump can be large: no copy through printf */
			if (r.err == 0 && (r.cap - r.len) <= o->text.len) {
				char *t = realloc(r.text, r.len + o->text.len + 1);
				if (t) {
					r.text = t;
					r.cap = r.len + o->text.len + 1;
				} else
					r.err = -ENOMEM;
			}
			if (r.err == 0) {
				memcpy(r.text + r.len, o->text.text, o->text.len);
				r.len += o->text.len;
			}
		}
		if (r.err)
			conn_close(c);
		else
			conn_send(c, r.text, r.len);
		if (r.err)
			free(r.text);
	}
	free(o->text.text);
	free(o);
}

/* ---- commands ----------------------------------------------------------------------------- */

struct cmd {
	const char *name;
	int min_args, max_args; /* words after the command */
	control_fn fn;
	void *arg;
	/* commands with data: called for each line of it; fn is called at its end */
	int (*line)(struct conn *c, char *line, struct control_out *o);
	const char *usage, *help;
	bool hookable;
};

static struct config *current(void)
{
	return atomic_load(&S.d->pending); /* written only by this thread */
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int current_level(void)
{
	int l = LOG_LEVEL_ERROR;
	while (l < LOG_LEVEL_DEBUG && log_enabled((enum log_level)(l + 1)))
		l++;
	return l;
}

static int cmd_status(void *arg, int argc, char **argv, struct control_out *o)
{
	const struct config *cfg = current();
	char a[64];
	control_printf(o, "version: %s\n", DNS64D_VERSION);
	control_printf(o, "pid: %ld\n", (long)getpid());
	control_printf(o, "uptime-seconds: %llu\n", (unsigned long long)((uv_hrtime() - S.start_ns) / 1000000000u));
	control_printf(o, "config: %s\n", S.hooks.config_path ? S.hooks.config_path : cfg->path);
	control_printf(o, "generation: %u\n", cfg->generation);
	control_printf(o, "workers: %u\n", S.d->n_workers);
	for (size_t i = 0; i < cfg->n_listen; i++)
		control_printf(o, "listen: %s udp tcp\n",
		               addr_format((const struct sockaddr *)&cfg->listen[i], a, sizeof(a)));
	for (size_t i = 0; i < cfg->n_upstream; i++)
		control_printf(o, "upstream: %s\n",
		               addr_format((const struct sockaddr *)&cfg->upstream[i], a, sizeof(a)));
	control_printf(o, "metrics: %s\n",
	               !cfg->has_metrics ? "off"
	               : S.http          ? addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a))
	                                 : "not listening (see the log)");
	control_printf(o, "control: %s\n", S.sock_path ? S.sock_path : "-");
	if (S.d->cache) {
		struct cache_stats cs;
		cache_get_stats(S.d->cache, &cs);
		control_printf(o, "cache-entries: %llu\ncache-bytes: %llu\ncache-max-bytes: %llu\n",
		               (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
		               (unsigned long long)cs.max_bytes);
	} else
		control_printf(o, "cache-entries: 0\ncache-bytes: 0\ncache-max-bytes: 0\n");
	control_printf(o, "log-level: %s\n", level_names[current_level()]);
	control_printf(o, "query-log: %s\n", log_queries_enabled(cfg->log_queries) ? "on" : "off");
	return 0;
}

/* The samples of the Prometheus text, one "name{labels} value" a line: the same numbers. */
static int cmd_stats(void *arg, int argc, char **argv, struct control_out *o)
{
	bool reset = false;
	if (argc == 2) {
		if (strcmp(argv[1], "--reset") != 0)
			return control_fail(o, "usage: stats [--reset]");
		reset = true;
	}
	char *text;
	size_t len;
	if (metrics_render(S.d, &text, &len) < 0)
		return control_fail(o, "out of memory");
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[0] != '#')
			control_printf(o, "%.*s\n", (int)n, p);
		p += n + 1;
	}
	free(text);
	if (reset) {
		for (unsigned i = 0; i < S.d->n_workers; i++)
			metrics_reset(&S.d->workers[i]->m);
		if (S.d->cache)
			cache_reset_stats(S.d->cache);
	}
	return 0;
}

static int cmd_reload(void *arg, int argc, char **argv, struct control_out *o)
{
	struct errbuf err = {.len = 0};
	const char *path = S.hooks.config_path ? S.hooks.config_path : "?";
	if (!S.hooks.reload)
		return control_fail(o, "reload is not available");
	S.listen_error[0] = 0;
	if (S.hooks.reload(&err) < 0) {
		control_printf(o, "%s", err.text);
		if (err.len && err.text[err.len - 1] != '\n')
			control_printf(o, "\n");
		return control_fail(o, "reload of '%s' failed, keeping the old config", path);
	}
	control_printf(o, "reloaded '%s', generation %u\n", path, current()->generation);
	if (S.listen_error[0])
		control_printf(o, "warning: %s\n", S.listen_error);
	return 0;
}

/* A name in presentation form to lowercased wire form. */
static int parse_name(const char *text, uint8_t *wire, size_t *len, struct control_out *o)
{
	ldns_rdf *rdf = NULL;
	if (ldns_str2rdf_dname(&rdf, text) != LDNS_STATUS_OK || !rdf || ldns_rdf_size(rdf) > DNS_MAX_NAME) {
		ldns_rdf_deep_free(rdf);
		return control_fail(o, "bad domain name '%s'", text);
	}
	ldns_dname2canonical(rdf);
	*len = ldns_rdf_size(rdf);
	memcpy(wire, ldns_rdf_data(rdf), *len);
	ldns_rdf_deep_free(rdf);
	return 0;
}

static int cmd_flush(void *arg, int argc, char **argv, struct control_out *o)
{
	uint8_t name[DNS_MAX_NAME + 1];
	size_t len;
	uint16_t type = 0;
	if (parse_name(argv[1], name, &len, o) < 0)
		return -1;
	if (argc == 3 && (type = (uint16_t)ldns_get_rr_type_by_name(argv[2])) == 0)
		return control_fail(o, "bad type '%s'", argv[2]);
	size_t n = S.d->cache ? cache_flush_name(S.d->cache, name, len, type) : 0;
	control_printf(o, "flushed %zu entries\n", n);
	return 0;
}

static int cmd_flush_zone(void *arg, int argc, char **argv, struct control_out *o)
{
	uint8_t name[DNS_MAX_NAME + 1];
	size_t len;
	if (parse_name(argv[1], name, &len, o) < 0)
		return -1;
	size_t n = S.d->cache ? cache_flush_zone(S.d->cache, name, len) : 0;
	control_printf(o, "flushed %zu entries\n", n);
	return 0;
}

static int cmd_flush_all(void *arg, int argc, char **argv, struct control_out *o)
{
	struct cache_stats cs = {0};
	if (S.d->cache) {
		cache_get_stats(S.d->cache, &cs);
		cache_flush(S.d->cache);
	}
	control_printf(o, "flushed %llu entries\n", (unsigned long long)cs.entries);
	return 0;
}

static int cmd_log_level(void *arg, int argc, char **argv, struct control_out *o)
{
	for (int l = 0; l <= LOG_LEVEL_DEBUG; l++)
		if (strcmp(argv[1], level_names[l]) == 0) {
			int was = current_level();
			log_set_level((enum log_level)l);
			log_warn("log level set to '%s' by the control socket (was '%s'); a reload restores the "
			         "config's",
			         level_names[l], level_names[was]);
			control_printf(o, "log-level: %s (was %s; a reload restores the config's)\n", level_names[l],
			               level_names[was]);
			return 0;
		}
	return control_fail(o, "bad log level '%s' (expected error, warn, info or debug)", argv[1]);
}

static int cmd_query_log(void *arg, int argc, char **argv, struct control_out *o)
{
	int on = strcmp(argv[1], "on") == 0 ? 1 : strcmp(argv[1], "off") == 0 ? 0 : -1;
	if (on < 0)
		return control_fail(o, "usage: query-log on|off");
	log_queries_override(on);
	control_printf(o, "query-log: %s (a reload restores the config's)\n", on ? "on" : "off");
	return 0;
}

/* dump-cache: entries are copied under the shard locks, formatted after. */
struct copy {
	struct copy *next;
	uint64_t stored_ms, expire_ms;
	size_t key_len, value_len;
	_Alignas(8) uint8_t data[]; /* value, then key */
};

struct walk {
	struct copy *list;
	uint64_t now;
	int err;
};

static int copy_entry(void *ctx, const uint8_t *key, size_t key_len, const void *value, size_t value_len,
                      uint64_t stored_ms, uint64_t expire_ms)
{
	struct walk *w = ctx;
	size_t qlen;
	uint16_t qtype, qclass;
	uint8_t flags;
	if (expire_ms <= w->now + 1000 || cache_key_split(key, key_len, &qlen, &qtype, &qclass, &flags) < 0 ||
	    (flags & ~(CACHE_F_RD | CACHE_F_DO | CACHE_F_CD)) || key_len != qlen + 5)
		return 0; /* expired (or nearly), synthesized or not a plain answer: not dumped */
	struct copy *c = malloc(sizeof(*c) + value_len + key_len);
	if (!c) {
		w->err = -ENOMEM;
		return -ENOMEM;
	}
	c->stored_ms = stored_ms;
	c->expire_ms = expire_ms;
	c->key_len = key_len;
	c->value_len = value_len;
	memcpy(c->data, value, value_len);
	memcpy(c->data + value_len, key, key_len);
	c->next = w->list;
	w->list = c;
	return 0;
}

static int cmd_dump_cache(void *arg, int argc, char **argv, struct control_out *o)
{
	struct walk w = {NULL, now_ms(), 0};
	if (S.d->cache)
		cache_walk(S.d->cache, copy_entry, &w);
	cachedump_header(&o->text, time(NULL));
	unsigned n = 0;
	while (w.list) {
		struct copy *c = w.list;
		w.list = c->next;
		if (w.err == 0 && o->text.err == 0 &&
		    cachedump_entry(&o->text, c->data + c->value_len, c->key_len, c->data, c->value_len,
		                    (uint32_t)((c->expire_ms - w.now) / 1000),
		                    w.now > c->stored_ms ? (uint32_t)((w.now - c->stored_ms) / 1000) : 0) == 0)
			n++;
		free(c);
	}
	if (w.err || o->text.err)
		return control_fail(o, "out of memory");
	control_printf(o, "# %u entries\n", n);
	return 0;
}

static int load_line(struct conn *c, char *line, struct control_out *o)
{
	static _Alignas(8) uint8_t value[DNS_MAX_MSG + 16384];
	uint8_t key[CACHE_KEY_MAX];
	size_t klen, vlen;
	uint32_t ttl;
	const char *why = "?";
	c->load_line++;
	int rc = cachedump_parse(&c->load, line, key, &klen, value, sizeof(value), &vlen, &ttl, &why);
	if (rc < 0)
		return control_fail(o, "line %u: %s (%u entries loaded before it)", c->load_line, why, c->load_stored);
	if (rc == 1 && cache_insert(S.d->cache, key, klen, value, vlen, now_ms(), ttl) == 0)
		c->load_stored++;
	return 0;
}

static int cmd_load_cache(void *arg, int argc, char **argv, struct control_out *o)
{
	struct conn *c = o->conn;
	control_printf(o, "loaded %u entries, %u expired since the dump, %u not stored (too large for cache-size)\n",
	               c->load_stored, c->load.expired, c->load.entries - c->load_stored);
	return 0;
}

static int not_available(void *arg, int argc, char **argv, struct control_out *o)
{
	return control_fail(o, "not available yet");
}

static int cmd_help(void *arg, int argc, char **argv, struct control_out *o);

static struct cmd cmds[] = {
        {"status", 0, 0, cmd_status, NULL, NULL, "", "version, uptime, config and generation, workers, listeners",
         false},
        {"stats", 0, 1, cmd_stats, NULL, NULL, "[--reset]",
         "the metrics counters as 'name{labels} value' lines; --reset zeroes them after printing", false},
        {"reload", 0, 0, cmd_reload, NULL, NULL, "", "reload the config and ACL as SIGHUP does", false},
        {"flush", 1, 2, cmd_flush, NULL, NULL, "NAME [TYPE]", "drop cached answers for NAME (of TYPE only)", false},
        {"flush-zone", 1, 1, cmd_flush_zone, NULL, NULL, "NAME", "drop cached answers for NAME and every name under it",
         false},
        {"flush-all", 0, 0, cmd_flush_all, NULL, NULL, "", "drop every cached answer", false},
        {"upstreams", 0, 0, not_available, NULL, NULL, "", "each upstream's state, RTT, timeouts and last error", true},
        {"explain", 1, 4, not_available, NULL, NULL, "NAME [TYPE] [--client ADDR]",
         "what the daemon would do with a query, without changing the cache", true},
        {"log-level", 1, 1, cmd_log_level, NULL, NULL, "error|warn|info|debug",
         "set the log level until the next reload", false},
        {"query-log", 1, 1, cmd_query_log, NULL, NULL, "on|off", "switch the query log until the next reload", false},
        {"dump-cache", 0, 0, cmd_dump_cache, NULL, NULL, "", "print the cache in text form (dns64d-control: to FILE)",
         false},
        {"load-cache", 0, 0, cmd_load_cache, NULL, load_line, "",
         "read a dump after the request line, until end of input (dns64d-control: from FILE)", false},
        {"help", 0, 0, cmd_help, NULL, NULL, "", "this list", false},
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static int cmd_help(void *arg, int argc, char **argv, struct control_out *o)
{
	for (size_t i = 0; i < N_CMDS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", cmds[i].name, cmds[i].usage);
		control_printf(o, "%-36s %s\n", left, cmds[i].help);
	}
	return 0;
}

int control_set_hook(const char *command, control_fn fn, void *arg)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (cmds[i].hookable && strcmp(cmds[i].name, command) == 0) {
			cmds[i].fn = fn ? fn : not_available;
			cmds[i].arg = arg;
			return 0;
		}
	return -ENOENT;
}

/* ---- the control socket's connections ----------------------------------------------------- */

static void reply_now(struct conn *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_now(struct conn *c, int rc, const char *fmt, ...)
{
	struct control_out *o = c->out ? c->out : calloc(1, sizeof(*o));
	if (!o) {
		conn_close(c);
		return;
	}
	o->conn = c;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	control_finish(o, rc);
}

static void run(struct conn *c, const struct cmd *cmd, int argc, char **argv)
{
	struct control_out *o = c->out;
	int rc = cmd->fn(cmd->arg, argc, argv, o);
	if (rc == CONTROL_PENDING)
		c->pending = true;
	else
		control_finish(o, rc);
}

static void dispatch(struct conn *c, char *line)
{
	char *argv[MAX_WORDS + 1], *save = NULL;
	int argc = 0;
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[n - 1] = 0;
	for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_WORDS) {
			reply_now(c, -1, "too many words in the request");
			return;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		reply_now(c, -1, "empty request (try help)");
		return;
	}
	const struct cmd *cmd = NULL;
	for (size_t i = 0; i < N_CMDS && !cmd; i++)
		if (strcmp(cmds[i].name, argv[0]) == 0)
			cmd = &cmds[i];
	if (!cmd) {
		reply_now(c, -1, "unknown command '%.64s' (try help)", argv[0]);
		return;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		reply_now(c, -1, "usage: %s %s", cmd->name, cmd->usage);
		return;
	}
	if (!(c->out = calloc(1, sizeof(*c->out)))) {
		conn_close(c);
		return;
	}
	c->out->conn = c;
	log_debug("control: %s", cmd->name);
	uv_timer_start(&c->timer, conn_timeout, cmd->line ? CONTROL_TIMEOUT_MS : REPLY_TIMEOUT_MS, 0);
	if (!cmd->line) {
		run(c, cmd, argc, argv);
		return;
	}
	if (cmd->line == load_line && !S.d->cache) {
		reply_now(c, -1, "the cache is off (cache-size 0)");
		return;
	}
	char *bigger = realloc(c->buf, BODY_MAX_LINE);
	if (!bigger) {
		reply_now(c, -1, "out of memory");
		return;
	}
	c->buf = bigger;
	c->cap = BODY_MAX_LINE;
	c->body = cmd;
	c->load = (struct cachedump_reader){.now = time(NULL)};
}

/* Feed the complete lines of the data read so far to the command; keep the partial last one. */
static void feed(struct conn *c, bool eof)
{
	size_t off = 0;
	for (;;) {
		char *nl = memchr(c->buf + off, '\n', c->len - off);
		if (!nl && !(eof && off < c->len))
			break;
		char *line = c->buf + off;
		size_t n = nl ? (size_t)(nl - line) : c->len - off;
		line[n] = 0;
		off += n + (nl ? 1 : 0);
		if (c->body->line(c, line, c->out) < 0) {
			control_finish(c->out, -1);
			return;
		}
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (c->len >= c->cap - 1) {
		reply_now(c, -1, "line %u is too long", c->load_line + 1);
		return;
	}
	if (eof) {
		const struct cmd *cmd = c->body;
		char *argv[] = {(char *)cmd->name, NULL};
		c->body = NULL;
		run(c, cmd, 1, argv);
	}
}

static void control_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (c->responded || c->closing)
		return;
	if (nread == UV_EOF) {
		if (c->body)
			feed(c, true);
		else if (c->len) {
			/* a request without its newline */
			char line[CONTROL_MAX_LINE];
			memcpy(line, c->buf, c->len);
			line[c->len] = 0;
			c->len = 0;
			dispatch(c, line);
			if (c->body && !c->closing && !c->responded)
				feed(c, true);
		} else
			conn_close(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	if (c->body) {
		uv_timer_start(&c->timer, conn_timeout, CONTROL_TIMEOUT_MS, 0);
		feed(c, false);
		return;
	}
	char *nl = memchr(c->buf, '\n', c->len);
	if (!nl) {
		if (c->len >= CONTROL_MAX_LINE - 1)
			reply_now(c, -1, "request line too long");
		return;
	}
	*nl = 0;
	size_t rest = c->len - (size_t)(nl + 1 - c->buf);
	char line[CONTROL_MAX_LINE];
	memcpy(line, c->buf, (size_t)(nl - c->buf) + 1);
	memmove(c->buf, nl + 1, rest);
	c->len = rest;
	dispatch(c, line);
	if (c->body && !c->closing && c->len)
		feed(c, false);
}

static void control_connection(uv_stream_t *server, int status)
{
	if (status == 0)
		conn_accept(server, KIND_CONTROL, control_read, CONTROL_CONNS);
}

/* ---- the control socket -------------------------------------------------------------------- */

/* Where path is now: inside the chroot after start (NULL if it is outside of it). */
static const char *reachable(const char *path)
{
	if (!S.root)
		return path;
	size_t n = strlen(S.root);
	while (n > 1 && S.root[n - 1] == '/')
		n--;
	if (strncmp(path, S.root, n) == 0 && path[n] == '/')
		return path + n;
	return NULL;
}

static void listen_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(S.listen_error, sizeof(S.listen_error), fmt, ap);
	va_end(ap);
	log_error("%s", S.listen_error);
}

static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		listen_error("cannot create the control socket '%s': '%s' is not a directory", path, dir);
		return -ENOTDIR;
	}
	if (errno != ENOENT || mkdir(dir, 0755) < 0 || chmod(dir, 0755) < 0) {
		int e = errno;
		listen_error("cannot create the directory '%s' of the control socket: %s", dir, strerror(e));
		return -e;
	}
	/* so the daemon can remove and make its socket after dropping privileges */
	if (S.has_user && chown(dir, S.uid, S.gid) < 0)
		log_warn("cannot give '%s' to the daemon's user: %s", dir, strerror(errno));
	return 0;
}

static int sock_open(const char *configured)
{
	const char *path = reachable(configured);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path) {
		listen_error("control socket '%s' is outside the chroot '%s': takes effect after a restart", configured,
		             S.root);
		return -ENOENT;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		listen_error("control socket path '%s' is too long (at most %zu bytes)", configured,
		             sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = make_parent(path);
	if (rc < 0)
		return rc;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			listen_error("cannot create the control socket '%s': a file that is not a socket is in the way",
			             configured);
			return -EEXIST;
		}
		/* a socket nobody listens on is left over from a daemon that did not stop cleanly */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			listen_error("control socket '%s' is in use by another process", configured);
			return -EADDRINUSE;
		}
		int e = errno;
		if (probe >= 0)
			close(probe);
		if (e == EAGAIN) {
			listen_error("control socket '%s' is in use by another process", configured);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		listen_error("cannot create the control socket '%s': %s", configured, strerror(errno));
		return -errno;
	}
	mode_t mask = umask(0117); /* never a moment with a wider mode */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (rc < 0 || chmod(path, 0660) < 0 || (S.has_user && chown(path, (uid_t)-1, S.gid) < 0)) {
		int e = errno;
		listen_error("cannot create the control socket '%s': %s", configured, strerror(e));
		if (rc == 0)
			unlink(path);
		close(fd);
		return -e;
	}
	uv_pipe_t *p = malloc(sizeof(*p));
	char *copy = strdup(configured);
	if (!p || !copy || uv_pipe_init(S.loop, p, 0) < 0) {
		free(p);
		free(copy);
		unlink(path);
		close(fd);
		listen_error("cannot create the control socket '%s': out of memory", configured);
		return -ENOMEM;
	}
	if ((rc = uv_pipe_open(p, fd)) < 0 || (rc = uv_listen((uv_stream_t *)p, 16, control_connection)) < 0) {
		unlink(path);
		uv_close((uv_handle_t *)p, free_handle); /* closes fd */
		free(copy);
		listen_error("cannot listen on the control socket '%s': %s", configured, uv_strerror(rc));
		return rc;
	}
	S.sock = p;
	S.sock_path = copy;
	log_info("control socket '%s'", configured);
	return 0;
}

static void sock_close(void)
{
	if (!S.sock)
		return;
	/* unlink first: once closed, the name could be another process's new socket */
	const char *path = reachable(S.sock_path);
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove the control socket '%s': %s", S.sock_path, strerror(errno));
	uv_close((uv_handle_t *)S.sock, free_handle);
	S.sock = NULL;
	free(S.sock_path);
	S.sock_path = NULL;
}

/* ---- start, reload, stop ----------------------------------------------------------------- */

int control_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg, const struct control_hooks *h)
{
	S.d = d;
	S.loop = loop;
	S.start_ns = uv_hrtime();
	if (h)
		S.hooks = *h;
	struct passwd *pw = cfg->user ? getpwnam(cfg->user) : NULL;
	if (pw) { /* an unknown user is reported when privileges are dropped */
		S.has_user = true;
		S.uid = pw->pw_uid;
		S.gid = pw->pw_gid;
	}
	int rc = metrics_open(cfg);
	if (rc == 0 && cfg->control)
		rc = sock_open(cfg->control);
	if (rc < 0) {
		control_stop();
		return rc;
	}
	/* from here on paths are seen from inside the chroot, if there is one */
	if (cfg->chroot && !(S.root = strdup(cfg->chroot)))
		return -ENOMEM;
	return 0;
}

static bool same_metrics(const struct config *a, const struct config *b)
{
	if (a->has_metrics != b->has_metrics)
		return false;
	return !a->has_metrics ||
	       (a->metrics.ss_family == b->metrics.ss_family &&
	        memcmp(&a->metrics, &b->metrics, addr_len((const struct sockaddr *)&a->metrics)) == 0);
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

void control_reconfigure(const struct config *old, const struct config *cfg)
{
	if (!same_metrics(old, cfg)) {
		/* the old handle is closed first: the new address may be the same port on another IP */
		http_close();
		metrics_open(cfg);
	}
	if (!same_string(old->control, cfg->control) || (cfg->control && !S.sock)) {
		sock_close();
		if (cfg->control)
			sock_open(cfg->control);
	}
	log_queries_override(-1);
}

void control_stop(void)
{
	http_close();
	sock_close();
	for (struct conn *c = S.conns; c; c = S.conns)
		conn_close(c);
}
