/* control.c - the operator plane on the main thread: the metrics endpoint and the control socket */
#include "control_int.h"

struct control_state ctl;

/* ---- connections: read one request, write one reply, close -------------------------------- */

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles)
		return;
	ctl.n_conns[c->kind]--;
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
		ctl.conns = c->next;
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
	c->next = ctl.conns;
	if (ctl.conns)
		ctl.conns->prev = c;
	ctl.conns = c;
	ctl.n_conns[kind]++;
	if (uv_accept(server, &c->h.stream) < 0 || ctl.n_conns[kind] > max) {
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, conn_timeout, CONTROL_TIMEOUT_MS, 0);
	uv_read_start(&c->h.stream, conn_alloc, on_read);
}

/* ---- the metrics text, from what each module owns ------------------------------------------ */

int control_metrics(char **text, size_t *len)
{
	struct daemon *d = ctl.d;
	struct metrics *per_worker[256];
	struct upstream_info up[64];
	struct metrics_view v = {.workers = per_worker, .up = up};
	v.n_workers = d->n_workers < 256 ? d->n_workers : 256;
	for (unsigned i = 0; i < v.n_workers; i++)
		per_worker[i] = &d->workers[i]->m;
	if (d->cache) {
		v.has_cache = true;
		cache_get_stats(d->cache, &v.cache);
	}
	v.inflight = fetch_inflight(d);
	v.generation = d->generation;
	v.tcp_conns = listener_tcp_connections(d->listen);
	v.n_up = fetch_upstreams(d, up, 64);
	ra_metrics(d, atomic_load(&d->pending), &v.pref64);
	const struct config *cfg = atomic_load(&d->pending); /* written only by this thread */
	for (size_t i = 0; i < v.n_up && cfg; i++)
		config_upstream_zones(cfg, &up[i].up, up[i].zones, sizeof(up[i].zones));
	return metrics_render(&v, text, len);
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
	if (control_metrics(&text, &len) < 0) {
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
	int rc = uv_tcp_init(ctl.loop, t);
	if (rc) {
		free(t);
		return rc;
	}
	if ((rc = uv_tcp_bind(t, addr, 0)) || (rc = uv_listen((uv_stream_t *)t, 16, http_connection))) {
		uv_close((uv_handle_t *)t, free_handle);
		return rc;
	}
	ctl.http = t;
	return 0;
}

static void http_close(void)
{
	if (ctl.http) {
		uv_close((uv_handle_t *)ctl.http, free_handle);
		ctl.http = NULL;
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
	for (size_t i = 0; i < control_n_cmds && !cmd; i++)
		if (strcmp(control_cmds[i].name, argv[0]) == 0)
			cmd = &control_cmds[i];
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
	if (cmd->needs_cache && !ctl.d->cache) {
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
	if (!ctl.root)
		return path;
	size_t n = strlen(ctl.root);
	while (n > 1 && ctl.root[n - 1] == '/')
		n--;
	if (strncmp(path, ctl.root, n) == 0 && path[n] == '/')
		return path + n;
	return NULL;
}

static void listen_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctl.listen_error, sizeof(ctl.listen_error), fmt, ap);
	va_end(ap);
	log_error("%s", ctl.listen_error);
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
	if (ctl.has_user && chown(dir, ctl.uid, ctl.gid) < 0)
		log_warn("cannot give '%s' to the daemon's user: %s", dir, strerror(errno));
	return 0;
}

static int sock_open(const char *configured)
{
	const char *path = reachable(configured);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path) {
		listen_error("control socket '%s' is outside the chroot '%s': takes effect after a restart", configured,
		             ctl.root);
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
	if (rc < 0 || chmod(path, 0660) < 0 || (ctl.has_user && chown(path, (uid_t)-1, ctl.gid) < 0)) {
		int e = errno;
		listen_error("cannot create the control socket '%s': %s", configured, strerror(e));
		if (rc == 0)
			unlink(path);
		close(fd);
		return -e;
	}
	uv_pipe_t *p = malloc(sizeof(*p));
	char *copy = strdup(configured);
	if (!p || !copy || uv_pipe_init(ctl.loop, p, 0) < 0) {
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
	ctl.sock = p;
	ctl.sock_path = copy;
	log_info("control socket '%s'", configured);
	return 0;
}

static void sock_close(void)
{
	if (!ctl.sock)
		return;
	/* unlink first: once closed, the name could be another process's new socket */
	const char *path = reachable(ctl.sock_path);
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove the control socket '%s': %s", ctl.sock_path, strerror(errno));
	uv_close((uv_handle_t *)ctl.sock, free_handle);
	ctl.sock = NULL;
	free(ctl.sock_path);
	ctl.sock_path = NULL;
}

/* ---- start, reload, stop ----------------------------------------------------------------- */

int control_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg, const struct control_hooks *h)
{
	ctl.d = d;
	ctl.loop = loop;
	ctl.start_ns = uv_hrtime();
	if (h)
		ctl.hooks = *h;
	struct passwd *pw = cfg->user ? getpwnam(cfg->user) : NULL;
	if (pw) { /* an unknown user is reported when privileges are dropped */
		ctl.has_user = true;
		ctl.uid = pw->pw_uid;
		ctl.gid = pw->pw_gid;
	}
	int rc = metrics_open(cfg);
	if (rc == 0 && cfg->control)
		rc = sock_open(cfg->control);
	if (rc < 0) {
		control_stop();
		return rc;
	}
	/* from here on paths are seen from inside the chroot, if there is one */
	if (cfg->chroot && !(ctl.root = strdup(cfg->chroot)))
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
	if (!same_string(old->control, cfg->control) || (cfg->control && !ctl.sock)) {
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
	for (struct conn *c = ctl.conns; c; c = ctl.conns)
		conn_close(c);
}
