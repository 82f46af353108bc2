/* transport_tls.c - exchanges with one server over one reused, pipelined DNS-over-TLS connection (RFC 7858)
 *
 * Like transport_tcp.c, with a GnuTLS client session on the stream: one connection per server
 * address, auth name and pin, opened by the first exchange to them and used by every later one
 * while it stays open; answers are matched by ID and question, in any order. GnuTLS never
 * touches the socket: its push function hands ciphertext to libuv (uv_try_write, the rest
 * copied into a write request), its pull function reads from the bytes the read callback
 * stored, and says EAGAIN when they are used up, so nothing ever blocks the loop.
 *
 * Strict profile (RFC 8310): the certificate chain must verify against the trust store (the
 * system's or ca_file) and carry the auth name (also sent as SNI); with a pin, the SHA-256 of
 * the leaf's SubjectPublicKeyInfo must match it too. A connection that fails this is logged
 * with the reason and gives each of its exchanges -EACCES; nothing is ever sent in the clear,
 * since queries wait on the connection until the handshake is done.
 *
 * Session data (TLS 1.3 tickets) from a connection is kept per server and name and offered by
 * the next connection to them, so a reconnect is usually a resumed handshake; only full ones
 * count in stats.handshakes. Queries with an OPT record are padded to a multiple of 128 bytes
 * (RFC 8467) in a buffer of the transport's, since the caller's query is read-only.
 */
#include "dns64d/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "dns64d/addr.h"
#include "dns64d/log.h"
#include "dns64d/wire.h"

#define FRAME_MAX   (2 + DNS_MAX_MSG)
#define IN_CAP      65536 /* ciphertext read from the socket, not yet taken by GnuTLS */
#define PAD_BLOCK   128   /* RFC 8467 §4.1: queries */
#define TICKETS_MAX 64    /* servers whose session data is kept */
#define PRIORITY    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct tls_conn {
	uv_tcp_t h; /* h.data and idle.data are the connection */
	uv_timer_t idle;
	uv_connect_t creq;
	struct tls_tr *t;
	struct tls_conn *next, *prev; /* every connection not yet freed */
	struct sockaddr_storage server;
	char *name;
	uint8_t pin[32];
	bool has_pin;
	struct xfer_queue q;      /* exchanges in progress, in the order they were started */
	unsigned handles;         /* of h and idle, not yet through their close callback */
	int fail_status;          /* a failure found inside start(), reported from the timer */
	gnutls_session_t s;
	bool connected; /* TCP */
	bool ready;     /* handshake done and verified: queries may go */
	bool ticket_saved;
	bool broken;  /* a write failed: no new exchanges, failed from the timer */
	bool closing; /* no longer used for new exchanges; handles being closed */
	size_t in_off, in_len;
	uint8_t *in; /* IN_CAP bytes */
	size_t rlen;
	uint8_t *rbuf; /* FRAME_MAX bytes: plaintext, one frame at most */
};

struct tls_ticket {
	struct tls_ticket *next;
	struct sockaddr_storage server;
	char *name;
	uint8_t pin[32]; /* all zero: no pin */
	gnutls_datum_t data;
};

struct tls_tr {
	struct transport base;
	unsigned idle_ms;
	gnutls_certificate_credentials_t cred;
	struct tls_conn *conns;
	struct tls_ticket *tickets;
	unsigned n_tickets;
	bool closing;
	uint8_t frame[FRAME_MAX + PAD_BLOCK + 4]; /* one query being written: length, message, padding */
};

struct write_req {
	uv_write_t req;
	struct tls_conn *c;
	uint8_t data[];
};

static bool same_server(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return addr_equal(a, b);
}

static void tr_free(struct tls_tr *t)
{
	for (struct tls_ticket *k = t->tickets, *next; k; k = next) {
		next = k->next;
		gnutls_free(k->data.data);
		free(k->name);
		free(k);
	}
	gnutls_certificate_free_credentials(t->cred);
	free(t);
}

/* Session data is only offered where the connection it came from was verified the same way. */
static struct tls_ticket *ticket_find(struct tls_tr *t, const struct tls_conn *c)
{
	for (struct tls_ticket *k = t->tickets; k; k = k->next)
		if (same_server(&k->server, &c->server) && !strcmp(k->name, c->name) &&
		    !memcmp(k->pin, c->pin, sizeof(k->pin)))
			return k;
	return NULL;
}

/* Keep c's session data for its next connection (a TLS 1.3 ticket once one has come). */
static void ticket_save(struct tls_conn *c)
{
	struct tls_tr *t = c->t;
	gnutls_datum_t d;
	if (c->ticket_saved || !c->ready)
		return;
	/* TLS 1.3 without a ticket yet: get_data2 would wait for one, i.e. read */
	if (gnutls_protocol_get_version(c->s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	if (gnutls_session_get_data2(c->s, &d) < 0)
		return;
	c->ticket_saved = true;
	struct tls_ticket *k = ticket_find(t, c);
	if (!k && t->n_tickets < TICKETS_MAX && (k = calloc(1, sizeof(*k)))) {
		if (!(k->name = strdup(c->name))) {
			free(k);
			k = NULL;
		} else {
			k->server = c->server;
			memcpy(k->pin, c->pin, sizeof(k->pin));
			k->next = t->tickets;
			t->tickets = k;
			t->n_tickets++;
		}
	}
	if (!k) {
		gnutls_free(d.data);
		return;
	}
	gnutls_free(k->data.data);
	k->data = d;
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tls_conn *c = h->data;
	if (--c->handles)
		return;
	struct tls_tr *t = c->t;
	if (c->next)
		c->next->prev = c->prev;
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	gnutls_deinit(c->s);
	free(c->name);
	free(c->in);
	free(c->rbuf);
	free(c);
	if (t->closing && !t->conns)
		tr_free(t);
}

/* Stop using c: new exchanges go to a new connection. Its exchanges are the caller's to end. */
static void conn_close(struct tls_conn *c)
{
	if (c->closing)
		return;
	if (c->ready && !c->broken) {
		ticket_save(c);
		gnutls_bye(c->s, GNUTLS_SHUT_WR); /* close_notify, through push: best effort */
	}
	c->closing = true;
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->h, conn_handle_closed);
}

static void unlink_xfer(struct tls_conn *c, struct xfer *x)
{
	xfer_queue_remove(&c->q, x);
}

static void idle_expired(uv_timer_t *tm)
{
	struct tls_conn *c = tm->data;
	if (!c->q.head)
		conn_close(c);
}

/* No exchange left: the connection may idle for idle_ms (a handshake with nobody waiting too). */
static void maybe_idle(struct tls_conn *c)
{
	if (!c->q.head && !c->broken && !c->closing)
		uv_timer_start(&c->idle, idle_expired, c->t->idle_ms, 0);
}

/* Close c and give each of its exchanges the error, one at a time: a callback may cancel the
 * others (then they get none) or close the whole transport (then the rest get none). */
static void conn_fail(struct tls_conn *c, int status)
{
	struct tls_tr *t = c->t;
	conn_close(c);
	while (c->q.head && !t->closing) {
		struct xfer *x = c->q.head;
		unlink_xfer(c, x);
		x->cb(x, status, NULL, 0);
	}
}

static void fail_later(uv_timer_t *tm)
{
	struct tls_conn *c = tm->data;
	conn_fail(c, c->fail_status);
}

static void written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct tls_conn *c = w->c;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing)
		conn_fail(c, status);
}

/* GnuTLS's output: to the socket now if the kernel takes it, else copied into libuv's queue. */
static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct tls_conn *c = p;
	if (c->closing || c->broken) {
		gnutls_transport_set_errno(c->s, EPIPE);
		return -1;
	}
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int rc = uv_try_write((uv_stream_t *)&c->h, &b, 1);
	size_t done = rc > 0 ? (size_t)rc : 0;
	if (done == len)
		return (ssize_t)len;
	if (rc < 0 && rc != UV_EAGAIN && rc != UV_ENOSYS) {
		gnutls_transport_set_errno(c->s, -rc);
		return -1;
	}
	struct write_req *w = malloc(sizeof(*w) + len - done);
	if (!w) {
		gnutls_transport_set_errno(c->s, ENOMEM);
		return -1;
	}
	w->c = c;
	memcpy(w->data, (const uint8_t *)data + done, len - done);
	uv_buf_t wb = uv_buf_init((char *)w->data, (unsigned)(len - done));
	if ((rc = uv_write(&w->req, (uv_stream_t *)&c->h, &wb, 1, written))) {
		free(w);
		gnutls_transport_set_errno(c->s, -rc);
		return -1;
	}
	return (ssize_t)len;
}

/* GnuTLS's input: what the read callback stored, or EAGAIN. */
static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct tls_conn *c = p;
	size_t have = c->in_len - c->in_off;
	if (!have) {
		gnutls_transport_set_errno(c->s, EAGAIN);
		return -1;
	}
	if (len > have)
		len = have;
	memcpy(data, c->in + c->in_off, len);
	c->in_off += len;
	return (ssize_t)len;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	struct tls_conn *c = p;
	return c->in_len > c->in_off ? 1 : 0;
}

/* Write x's query, padded when it has an OPT record, with its length prefix; 0 or the error
 * (c is then broken). */
static int write_query(struct tls_conn *c, const struct xfer *x)
{
	uint8_t *f = c->t->frame;
	size_t len = wire_pad_query(x->query, x->query_len, PAD_BLOCK, f + 2, sizeof(c->t->frame) - 2);
	if (!len) {
		memcpy(f + 2, x->query, x->query_len);
		len = x->query_len;
	}
	wr16(f, (uint16_t)len);
	for (size_t off = 0, total = 2 + len; off < total;) {
		ssize_t n = gnutls_record_send(c->s, f + off, total - off);
		if (n < 0) {
			log_debug("tls write to '%s' failed: %s", c->name, gnutls_strerror((int)n));
			return -EPIPE;
		}
		off += (size_t)n;
	}
	return 0;
}

static void tls_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tls_conn *c = h->data;
	if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	buf->base = (char *)c->in + c->in_len;
	buf->len = IN_CAP - c->in_len;
}

/* One whole message from the server: the exchange it answers, or counted and dropped. */
static void deliver(struct tls_conn *c, const uint8_t *msg, size_t len)
{
	for (struct xfer *x = c->q.head; x; x = x->next)
		if (xfer_answer_matches(x, msg, len)) {
			unlink_xfer(c, x);
			maybe_idle(c);
			x->cb(x, 0, msg, len);
			return;
		}
	c->t->base.stats.unmatched++;
}

/* Deliver the whole frames of the plaintext buffer; 0 or -EBADMSG. */
static int frames(struct tls_conn *c)
{
	size_t off = 0;
	/* a callback may close the connection or the transport: nothing read after that counts */
	while (!c->closing && c->rlen - off >= 2) {
		size_t mlen = rd16(c->rbuf + off);
		if (mlen < DNS_HDR)
			return -EBADMSG;
		if (c->rlen - off < 2 + mlen)
			break;
		deliver(c, c->rbuf + off + 2, mlen);
		off += 2 + mlen;
	}
	if (!c->closing) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return 0;
}

/* Decrypt what has come; 0, or the error that ends the connection. */
static int read_records(struct tls_conn *c)
{
	while (!c->closing) {
		size_t before = c->in_off;
		ssize_t n = gnutls_record_recv(c->s, c->rbuf + c->rlen, FRAME_MAX - c->rlen);
		/* EAGAIN also follows a post-handshake message (a session ticket): go on while
		 * GnuTLS takes input (GnuTLS pulls one record at a time) */
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			if (c->in_off != before)
				continue;
			break;
		}
		if (n == 0)
			return -ECONNRESET; /* close_notify */
		if (n < 0) {
			if (!gnutls_error_is_fatal((int)n))
				continue;
			log_debug("tls connection to '%s' failed: %s", c->name, gnutls_strerror((int)n));
			return -ECONNRESET;
		}
		c->rlen += (size_t)n;
		int rc = frames(c);
		if (rc)
			return rc;
	}
	if (!c->closing)
		ticket_save(c); /* once a ticket has come */
	return 0;
}

static void log_rejected(struct tls_conn *c, const char *why)
{
	char a[64];
	log_warn("upstream '%s' tls certificate for '%s' rejected: %s",
	         addr_format((const struct sockaddr *)&c->server, a, sizeof(a)), c->name, why);
}

/* The leaf's SPKI against the pin: 0 or -EACCES (logged). */
static int check_pin(struct tls_conn *c)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(c->s, &n);
	gnutls_pubkey_t key = NULL;
	gnutls_datum_t spki = {NULL, 0};
	uint8_t digest[32];
	int rc = -EACCES;
	if (!certs || !n || gnutls_pubkey_init(&key) < 0)
		goto cleanup;
	if (gnutls_pubkey_import_x509_raw(key, &certs[0], GNUTLS_X509_FMT_DER, 0) < 0 ||
	    gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &spki) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, digest) < 0)
		goto cleanup;
	if (!memcmp(digest, c->pin, sizeof(digest)))
		rc = 0;
cleanup:
	if (rc)
		log_rejected(c, "its public key does not match pin-sha256");
	gnutls_free(spki.data);
	if (key)
		gnutls_pubkey_deinit(key);
	return rc;
}

/* The handshake failed: why, in the log, and the status the exchanges get. */
static int handshake_failed(struct tls_conn *c, int err)
{
	if (err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = {NULL, 0};
		unsigned st = gnutls_session_get_verify_cert_status(c->s);
		if (gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &out, 0) == 0) {
			char *why = (char *)out.data;
			for (size_t n = strlen(why); n && why[n - 1] == ' '; n--)
				why[n - 1] = '\0';
			log_rejected(c, why);
			gnutls_free(out.data);
		} else
			log_rejected(c, gnutls_strerror(err));
		return -EACCES;
	}
	char a[64];
	log_warn("upstream '%s' tls handshake for '%s' failed: %s",
	         addr_format((const struct sockaddr *)&c->server, a, sizeof(a)), c->name, gnutls_strerror(err));
	return err == GNUTLS_E_CERTIFICATE_ERROR ? -EACCES : -ECONNRESET;
}

/* Drive the handshake; once done and verified, send what waited for it. 0 or an error. */
static int handshake(struct tls_conn *c)
{
	int rc, tries = 0;
	/* a warning alert is not the end: go on while it has input left */
	do
		rc = gnutls_handshake(c->s);
	while (rc < 0 && rc != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(rc) && ++tries < 8);
	if (rc == GNUTLS_E_AGAIN || (rc < 0 && !gnutls_error_is_fatal(rc)))
		return 0;
	if (rc < 0)
		return handshake_failed(c, rc);
	if (c->has_pin && (rc = check_pin(c)))
		return rc;
	if (!gnutls_session_is_resumed(c->s))
		c->t->base.stats.handshakes++;
	c->ready = true;
	for (struct xfer *x = c->q.head; x; x = x->next)
		if ((rc = write_query(c, x)))
			return rc;
	maybe_idle(c); /* every exchange was cancelled during the handshake */
	return 0;
}

static void tls_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tls_conn *c = s->data;
	if (c->closing)
		return;
	if (nread < 0) {
		if (!c->ready) {
			char a[64];
			log_warn("upstream '%s' tls handshake for '%s' failed: %s",
			         addr_format((const struct sockaddr *)&c->server, a, sizeof(a)), c->name,
			         nread == UV_EOF ? "connection closed by the server" : uv_strerror((int)nread));
		}
		conn_fail(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
		return;
	}
	c->in_len += (size_t)nread;
	int rc = 0;
	if (!c->ready)
		rc = handshake(c);
	if (!rc && c->ready)
		rc = read_records(c);
	if (rc && !c->closing)
		conn_fail(c, rc);
}

static void connected(uv_connect_t *req, int status)
{
	struct tls_conn *c = req->data;
	if (c->closing)
		return; /* UV_ECANCELED from our own close */
	if (status < 0) {
		conn_fail(c, status);
		return;
	}
	c->connected = true;
	int rc = 0;
	if (!(c->rbuf = malloc(FRAME_MAX)) || !(c->in = malloc(IN_CAP)))
		rc = -ENOMEM;
	else if (!(rc = uv_read_start((uv_stream_t *)&c->h, tls_alloc, tls_read)))
		rc = handshake(c); /* the ClientHello */
	if (rc)
		conn_fail(c, rc);
}

/* A client session for c: verification of name (SNI too unless it is an address), ALPN
 * "dot", the saved session data of an earlier connection. 0 or a GnuTLS error. */
static int session_new(struct tls_tr *t, struct tls_conn *c)
{
	int rc = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (rc < 0)
		return rc;
	if ((rc = gnutls_priority_set_direct(c->s, PRIORITY, NULL)) < 0 ||
	    (rc = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0)
		return rc;
	struct in6_addr ip;
	if (!inet_pton(AF_INET, c->name, &ip) && !inet_pton(AF_INET6, c->name, &ip) &&
	    (rc = gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, c->name, strlen(c->name))) < 0)
		return rc;
	gnutls_session_set_verify_cert(c->s, c->name, 0);
	gnutls_datum_t alpn = {(unsigned char *)"dot", 3};
	if ((rc = gnutls_alpn_set_protocols(c->s, &alpn, 1, 0)) < 0)
		return rc;
	struct tls_ticket *k = ticket_find(t, c);
	if (k && k->data.size)
		gnutls_session_set_data(c->s, k->data.data, k->data.size); /* a stale one just means a full handshake */
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_push_function(c->s, push);
	gnutls_transport_set_pull_function(c->s, pull);
	gnutls_transport_set_pull_timeout_function(c->s, pull_timeout);
	return 0;
}

static int conn_open(struct tls_tr *t, const struct xfer *x, struct tls_conn **out)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = t;
	c->server = x->server;
	if (!(c->name = strdup(x->auth_name))) {
		free(c);
		return -ENOMEM;
	}
	if (x->pin_sha256) {
		memcpy(c->pin, x->pin_sha256, sizeof(c->pin));
		c->has_pin = true;
	}
	int rc = session_new(t, c);
	if (rc < 0) {
		log_warn("tls session for '%s' not set up: %s", c->name, gnutls_strerror(rc));
		if (c->s)
			gnutls_deinit(c->s);
		free(c->name);
		free(c);
		return -ENOMEM;
	}
	if ((rc = uv_tcp_init(t->base.loop, &c->h))) {
		gnutls_deinit(c->s);
		free(c->name);
		free(c);
		return rc;
	}
	uv_timer_init(t->base.loop, &c->idle); /* cannot fail */
	c->h.data = c->idle.data = c->creq.data = c;
	c->handles = 2;
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	uv_tcp_nodelay(&c->h, 1);
	if ((rc = uv_tcp_connect(&c->creq, &c->h, (const struct sockaddr *)&x->server, connected))) {
		conn_close(c);
		return rc;
	}
	t->base.stats.sockets++;
	*out = c;
	return 0;
}

static bool conn_fits(const struct tls_conn *c, const struct xfer *x)
{
	if (c->closing || c->broken || !same_server(&c->server, &x->server) || strcmp(c->name, x->auth_name))
		return false;
	if (!x->pin_sha256)
		return !c->has_pin;
	return c->has_pin && !memcmp(c->pin, x->pin_sha256, sizeof(c->pin));
}

static int tls_start(struct transport *base, struct xfer *x)
{
	struct tls_tr *t = (struct tls_tr *)base;
	if (t->closing)
		return -ESHUTDOWN;
	if (x->server.ss_family != AF_INET && x->server.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (!x->auth_name || !*x->auth_name)
		return -EINVAL; /* strict profile: no name, no TLS */
	int rc = xfer_prepare(x);
	if (rc)
		return rc;
	struct tls_conn *c = t->conns;
	while (c && !conn_fits(c, x))
		c = c->next;
	bool reused = c != NULL;
	if (!c && (rc = conn_open(t, x, &c)))
		return rc;
	if (c->ready && (rc = write_query(c, x))) {
		/* the connection is broken: its other exchanges learn it from the loop, not here */
		c->broken = true;
		c->fail_status = rc;
		uv_timer_start(&c->idle, fail_later, 0, 0);
		return rc;
	}
	uv_timer_stop(&c->idle);
	xfer_queue_push(&c->q, x, c);
	base->stats.exchanges++;
	if (reused)
		base->stats.reused++;
	return 0;
}

static void tls_cancel(struct transport *base, struct xfer *x)
{
	struct tls_conn *c = x->conn;
	if (!x->active || !c)
		return;
	/* a query already written stays on the wire: its answer will be counted unmatched */
	unlink_xfer(c, x);
	maybe_idle(c);
}

static void tls_close(struct transport *base)
{
	struct tls_tr *t = (struct tls_tr *)base;
	if (t->closing)
		return;
	t->closing = true;
	for (struct tls_conn *c = t->conns; c; c = c->next) {
		while (c->q.head)
			unlink_xfer(c, c->q.head);
		conn_close(c);
	}
	if (!t->conns)
		tr_free(t);
}

static const struct transport_ops tls_ops = {
        .name = "tls",
        .start = tls_start,
        .cancel = tls_cancel,
        .close = tls_close,
};

int transport_tls_new(uv_loop_t *loop, const struct transport_tls_opts *o, struct transport **out)
{
	struct tls_tr *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int rc = gnutls_certificate_allocate_credentials(&t->cred);
	if (rc < 0) {
		free(t);
		return -ENOMEM;
	}
	rc = o->ca_file ? gnutls_certificate_set_x509_trust_file(t->cred, o->ca_file, GNUTLS_X509_FMT_PEM)
	                : gnutls_certificate_set_x509_system_trust(t->cred);
	if (rc <= 0) {
		log_error("tls trust store '%s' not loaded: %s", o->ca_file ? o->ca_file : "system",
		          rc < 0 ? gnutls_strerror(rc) : "no certificates in it");
		gnutls_certificate_free_credentials(t->cred);
		free(t);
		return -EINVAL;
	}
	t->base.ops = &tls_ops;
	t->base.loop = loop;
	t->idle_ms = o->idle_ms ? o->idle_ms : 1;
	*out = &t->base;
	return 0;
}
