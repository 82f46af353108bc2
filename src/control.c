/* control.c - the operator plane on the main thread: the metrics endpoint and the control socket */
#include "dns64d/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/addr.h"
#include "dns64d/config.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/worker.h"

#define HTTP_MAX_REQ 4096

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
	char req[HTTP_MAX_REQ];
	size_t len;
	char *resp;
};

static struct {
	struct daemon *d;
	uv_loop_t *loop;
	struct conn *conns;
	unsigned n_conns[2];
	uv_tcp_t *http; /* the metrics listener, or NULL */
} S;

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles)
		return;
	S.n_conns[c->kind]--;
	free(c->resp);
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
	buf->base = c->req + c->len;
	buf->len = sizeof(c->req) - 1 - c->len;
}

static void http_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Accept on server for kind; limit and timeout as documented in control.h. */
static void conn_accept(uv_stream_t *server, enum kind kind, uv_read_cb on_read, unsigned max)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->kind = kind;
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
	c->req[c->len] = 0;
	if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
		if (c->len >= sizeof(c->req) - 1)
			http_respond(c, 431, "Request Header Fields Too Large", "text/plain", "too large\n", 10);
		return;
	}
	if (strncmp(c->req, "GET ", 4) != 0 && strncmp(c->req, "HEAD ", 5) != 0) {
		http_respond(c, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19);
		return;
	}
	const char *path = strchr(c->req, ' ') + 1;
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

static int metrics_open(const struct config *cfg)
{
	if (!cfg->has_metrics)
		return 0;
	int rc = http_listen((const struct sockaddr *)&cfg->metrics);
	if (rc < 0) {
		char a[64];
		log_error("cannot serve metrics on '%s': %s",
		          addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a)), uv_strerror(rc));
	}
	return rc;
}

/* ---- start, reload, stop ----------------------------------------------------------------- */

int control_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg, const struct control_hooks *h)
{
	S.d = d;
	S.loop = loop;
	return metrics_open(cfg);
}

static bool same_metrics(const struct config *a, const struct config *b)
{
	if (a->has_metrics != b->has_metrics)
		return false;
	return !a->has_metrics ||
	       (a->metrics.ss_family == b->metrics.ss_family &&
	        memcmp(&a->metrics, &b->metrics, addr_len((const struct sockaddr *)&a->metrics)) == 0);
}

void control_reconfigure(const struct config *old, const struct config *cfg)
{
	if (!same_metrics(old, cfg)) {
		/* the old handle is closed first: the new address may be the same port on another IP */
		http_close();
		metrics_open(cfg);
	}
}

void control_stop(void)
{
	http_close();
	for (struct conn *c = S.conns; c; c = S.conns)
		conn_close(c);
}
