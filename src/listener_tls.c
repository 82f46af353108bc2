/* listener_tls.c - DNS over TLS for clients (RFC 7858): sockets, credentials, GnuTLS sessions */
#include "dns64d/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <uv.h>

#include "dns64d/addr.h"
#include "dns64d/config.h"
#include "dns64d/daemon.h"
#include "dns64d/log.h"
#include "dns64d/worker.h"
#include "listener_int.h"

#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_RBUF     (16 * 1024 + 512) /* one TLS record with its header and expansion */
#define TLS_FILE_MAX (1u << 20)        /* a PEM file larger than this is a mistake */
#define TLS_BACKLOG  256

/* A certificate chain and key, shared read-only by the sessions of every worker; each
 * session holds a reference, so a reload can replace them while connections go on. */
struct tls_creds {
	atomic_uint refs;
	gnutls_certificate_credentials_t cred;
};

/* One listen-tls endpoint: where it listens and the credentials new connections get. */
struct tls_endpoint {
	struct sockaddr_storage addr;
	char *cert, *key;
	struct tls_creds *creds; /* under the server's lock */
};

struct tls_server {
	pthread_mutex_t lock;
	size_t n;
	struct tls_endpoint *eps;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key; /* TLS 1.3 session tickets (resumption), for the process's life */
};

/* One worker's accepting socket of a listen-tls. */
struct tls_listener {
	uv_tcp_t h;
	struct worker *w;
	unsigned index;
	struct tls_listener *next;
};

struct tls_sess {
	gnutls_session_t s;
	struct worker *w;
	struct tls_creds *creds;
	struct tcp_conn *conn;
	bool handshaken;
	size_t in_off, in_len; /* ciphertext received, not yet taken by GnuTLS */
	uint8_t in[TLS_RBUF];
};

/* ---- credentials ------------------------------------------------------------------------ */

static void creds_unref(struct tls_creds *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		gnutls_certificate_free_credentials(c->cred);
		free(c);
	}
}

/* A whole PEM file into d (gnutls_free it); -errno with why. */
static int read_pem(const char *path, gnutls_datum_t *d, char *why, size_t len)
{
	FILE *f = fopen(path, "rb");
	long size = -1;
	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		int err = errno;
		snprintf(why, len, "%s", strerror(err));
		if (f)
			fclose(f);
		return -err;
	}
	if (size == 0 || (unsigned long)size > TLS_FILE_MAX) {
		snprintf(why, len, "%s", size == 0 ? "empty file" : "larger than 1 MiB");
		fclose(f);
		return -EINVAL;
	}
	d->data = gnutls_malloc((size_t)size + 1);
	if (!d->data || fread(d->data, 1, (size_t)size, f) != (size_t)size) {
		snprintf(why, len, "cannot read it");
		gnutls_free(d->data);
		d->data = NULL;
		fclose(f);
		return -EIO;
	}
	d->data[size] = 0;
	d->size = (unsigned)size;
	fclose(f);
	return 0;
}

/* Does the file hold a certificate (chain) GnuTLS takes? Warns about an expired one. */
static int check_cert(const char *path, const gnutls_datum_t *d, char *why, size_t len)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int rc = gnutls_x509_crt_list_import2(&crts, &n, d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n == 0) {
		snprintf(why, len, "certificate '%s': %s", path, rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
		return -EINVAL;
	}
	time_t until = gnutls_x509_crt_get_expiration_time(crts[0]);
	if (until != (time_t)-1 && until < time(NULL))
		log_warn("certificate '%s' has expired: TLS clients will refuse it", path);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return 0;
}

static int check_key(const char *path, const gnutls_datum_t *d, char *why, size_t len)
{
	gnutls_x509_privkey_t k;
	int rc = gnutls_x509_privkey_init(&k);
	if (rc >= 0) {
		rc = gnutls_x509_privkey_import2(k, d, GNUTLS_X509_FMT_PEM, NULL, 0);
		gnutls_x509_privkey_deinit(k);
	}
	if (rc < 0) {
		snprintf(why, len, "key '%s': %s", path, gnutls_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/* New credentials from a certificate chain and key file; on failure why names the file. */
static int creds_load(const char *cert, const char *key, struct tls_creds **out, char *why, size_t len)
{
	gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
	struct tls_creds *c = NULL;
	char reason[256];
	int rc;
	if ((rc = read_pem(cert, &cd, reason, sizeof(reason))) < 0) {
		snprintf(why, len, "cannot read certificate '%s': %s", cert, reason);
		goto cleanup;
	}
	if ((rc = read_pem(key, &kd, reason, sizeof(reason))) < 0) {
		snprintf(why, len, "cannot read key '%s': %s", key, reason);
		goto cleanup;
	}
	if ((rc = check_cert(cert, &cd, why, len)) < 0 || (rc = check_key(key, &kd, why, len)) < 0)
		goto cleanup;
	rc = -ENOMEM;
	if (!(c = calloc(1, sizeof(*c))) || gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		snprintf(why, len, "out of memory");
		free(c);
		c = NULL;
		goto cleanup;
	}
	int g = gnutls_certificate_set_x509_key_mem2(c->cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			snprintf(why, len, "certificate '%s' does not match key '%s'", cert, key);
		else
			snprintf(why, len, "certificate '%s' with key '%s': %s", cert, key, gnutls_strerror(g));
		gnutls_certificate_free_credentials(c->cred);
		free(c);
		c = NULL;
		rc = -EINVAL;
		goto cleanup;
	}
	atomic_init(&c->refs, 1);
	*out = c;
	rc = 0;
cleanup:
	if (kd.data)
		gnutls_memset(kd.data, 0, kd.size); /* the private key is not left in freed memory */
	gnutls_free(kd.data);
	gnutls_free(cd.data);
	return rc;
}

void listener_tls_free(struct tls_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		creds_unref(s->eps[i].creds);
		free(s->eps[i].cert);
		free(s->eps[i].key);
	}
	free(s->eps);
	if (s->prio)
		gnutls_priority_deinit(s->prio);
	if (s->ticket_key.data) {
		gnutls_memset(s->ticket_key.data, 0, s->ticket_key.size);
		gnutls_free(s->ticket_key.data);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The daemon-wide part: the priorities and the session ticket key. */
static int server_new(size_t n, struct tls_server **out)
{
	struct tls_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->eps = calloc(n ? n : 1, sizeof(*s->eps));
	const char *pos;
	if (!s->eps || gnutls_priority_init(&s->prio, TLS_PRIORITY, &pos) < 0 ||
	    gnutls_session_ticket_key_generate(&s->ticket_key) < 0) {
		listener_tls_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int listener_tls_load(const struct config *cfg, struct tls_server **out, struct errbuf *err)
{
	struct tls_server *s = NULL;
	unsigned bad = 0;
	if (out && server_new(cfg->n_listen_tls, &s) < 0) {
		errbuf_add(err, "%s: out of memory for the TLS listeners", cfg->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_listen_tls; i++) {
		const struct listen_tls *lt = &cfg->listen_tls[i];
		struct tls_creds *c = NULL;
		char why[1200], a[64];
		if (creds_load(lt->cert, lt->key, &c, why, sizeof(why)) < 0) {
			errbuf_add(err, "%s:%u: listen-tls '%s': %s", cfg->path, lt->line,
			           addr_format((const struct sockaddr *)&lt->addr, a, sizeof(a)), why);
			bad++;
			continue;
		}
		if (!s) {
			creds_unref(c);
			continue;
		}
		struct tls_endpoint *ep = &s->eps[s->n++];
		ep->addr = lt->addr;
		ep->creds = c;
		ep->cert = strdup(lt->cert);
		ep->key = strdup(lt->key);
		if (!ep->cert || !ep->key) {
			errbuf_add(err, "%s: out of memory for the TLS listeners", cfg->path);
			bad++;
		}
	}
	if (bad) {
		listener_tls_free(s);
		return -EINVAL;
	}
	if (out)
		*out = s;
	return 0;
}

void listener_tls_reload(struct tls_server *s, const struct config *cfg)
{
	for (size_t i = 0; s && i < s->n; i++) {
		struct tls_endpoint *ep = &s->eps[i];
		const char *cert = ep->cert, *key = ep->key;
		/* new paths from the new config, for the same address (a new address needs a restart) */
		for (size_t k = 0; k < cfg->n_listen_tls; k++)
			if (addr_equal(&cfg->listen_tls[k].addr, &ep->addr)) {
				cert = cfg->listen_tls[k].cert;
				key = cfg->listen_tls[k].key;
			}
		struct tls_creds *c = NULL;
		char why[1200], a[64];
		addr_format((const struct sockaddr *)&ep->addr, a, sizeof(a));
		if (creds_load(cert, key, &c, why, sizeof(why)) < 0) {
			log_error("listen-tls '%s': %s; keeping the certificate loaded before", a, why);
			continue;
		}
		char *nc = strdup(cert), *nk = strdup(key);
		if (!nc || !nk) {
			free(nc);
			free(nk);
			creds_unref(c);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		struct tls_creds *old = ep->creds;
		ep->creds = c;
		pthread_mutex_unlock(&s->lock);
		creds_unref(old);
		free(ep->cert);
		free(ep->key);
		ep->cert = nc;
		ep->key = nk;
		log_info("listen-tls '%s': loaded certificate '%s'", a, cert);
	}
}

/* ---- sessions --------------------------------------------------------------------------- */

static ssize_t sess_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct tls_sess *t = p;
	/* queued on the stream whatever the socket takes now: GnuTLS never waits */
	if (tcp_conn_write(t->conn, data, len) < 0) {
		gnutls_transport_set_errno(t->s, EPIPE);
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t sess_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct tls_sess *t = p;
	if (t->in_len == 0) {
		gnutls_transport_set_errno(t->s, EAGAIN);
		return -1;
	}
	size_t n = len < t->in_len ? len : t->in_len;
	memcpy(data, t->in + t->in_off, n);
	t->in_off += n;
	t->in_len -= n;
	return (ssize_t)n;
}

struct tls_sess *tls_sess_new(struct worker *w, unsigned index, struct tcp_conn *c)
{
	struct tls_server *srv = w->d->tls;
	if (!srv || index >= srv->n)
		return NULL;
	struct tls_sess *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, offsetof(struct tls_sess, in));
	t->conn = c;
	t->w = w;
	pthread_mutex_lock(&srv->lock);
	t->creds = srv->eps[index].creds;
	atomic_fetch_add(&t->creds->refs, 1);
	pthread_mutex_unlock(&srv->lock);
	static const gnutls_datum_t alpn = {(unsigned char *)"dot", 3};
	if (gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		creds_unref(t->creds);
		free(t);
		return NULL;
	}
	if (gnutls_priority_set(t->s, srv->prio) < 0 ||
	    gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, t->creds->cred) < 0 ||
	    gnutls_session_ticket_enable_server(t->s, &srv->ticket_key) < 0 ||
	    gnutls_alpn_set_protocols(t->s, &alpn, 1, GNUTLS_ALPN_SERVER_PRECEDENCE) < 0) {
		tls_sess_free(t);
		return NULL;
	}
	gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_IGNORE);
	gnutls_handshake_set_timeout(t->s, 0); /* the connection's idle timeout bounds it */
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_push_function(t->s, sess_push);
	gnutls_transport_set_pull_function(t->s, sess_pull);
	return t;
}

void tls_sess_free(struct tls_sess *t)
{
	if (!t)
		return;
	gnutls_deinit(t->s);
	creds_unref(t->creds);
	free(t);
}

void tls_sess_rbuf(struct tls_sess *t, uv_buf_t *buf)
{
	if (t->in_off && t->in_len)
		memmove(t->in, t->in + t->in_off, t->in_len);
	t->in_off = 0;
	buf->base = (char *)t->in + t->in_len;
	buf->len = sizeof(t->in) - t->in_len;
}

void tls_sess_got(struct tls_sess *t, size_t n)
{
	t->in_len += n;
}

/* The handshake, as far as the input goes: 1 done, 0 waiting for the client, < 0 failed. */
static int handshake(struct tls_sess *t)
{
	int rc = gnutls_handshake(t->s);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return 0;
	if (rc < 0) {
		counter_inc(&t->w->m.tls_handshake_failures);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char a[64];
			log_debug("tls client '%s' handshake failed: %s",
			          addr_format((const struct sockaddr *)tcp_conn_peer(t->conn), a, sizeof(a)),
			          gnutls_strerror(rc));
		}
		return -EPROTO;
	}
	t->handshaken = true;
	counter_inc(&t->w->m.tls_handshakes);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char a[64], *desc = gnutls_session_get_desc(t->s);
		log_debug("tls client '%s': %s",
		          addr_format((const struct sockaddr *)tcp_conn_peer(t->conn), a, sizeof(a)),
		          desc ? desc : "?");
		gnutls_free(desc);
	}
	return 1;
}

ssize_t tls_sess_read(struct tls_sess *t, uint8_t *out, size_t cap)
{
	if (!t->handshaken) {
		int rc = handshake(t);
		if (rc <= 0)
			return rc;
	}
	/* a few non-fatal messages in a row at most (each takes a record) before waiting again */
	for (int i = 0; cap > 0 && i < 16; i++) {
		ssize_t n = gnutls_record_recv(t->s, out, cap);
		if (n > 0)
			return n;
		if (n == 0)
			return TLS_SESS_EOF; /* close_notify */
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return 0;
		if (!gnutls_error_is_fatal((int)n))
			continue; /* a warning alert, a post-handshake message: read on */
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char a[64];
			log_debug("tls client '%s': %s",
			          addr_format((const struct sockaddr *)tcp_conn_peer(t->conn), a, sizeof(a)),
			          gnutls_strerror((int)n));
		}
		return -EPROTO;
	}
	return 0;
}

int tls_sess_write(struct tls_sess *t, const uint8_t *prefix, size_t plen, const uint8_t *msg, size_t len)
{
	/* the length and the message in the same records */
	gnutls_record_cork(t->s);
	ssize_t a = gnutls_record_send(t->s, prefix, plen);
	ssize_t b = a >= 0 ? gnutls_record_send(t->s, msg, len) : a;
	int rc = gnutls_record_uncork(t->s, 0);
	return a < 0 || b < 0 || rc < 0 ? -EPIPE : 0;
}

void tls_sess_bye(struct tls_sess *t)
{
	if (t->handshaken)
		gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

/* ---- sockets ---------------------------------------------------------------------------- */

int listener_tls_bind(const struct sockaddr *addr, int *fd)
{
	int one = 1;
	bool v6only = addr->sa_family == AF_INET6 &&
	              !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr);
	*fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (setsockopt(*fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (v6only && setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(*fd, addr, addr_len(addr)) < 0) {
		int err = -errno;
		close(*fd);
		*fd = -1;
		return err;
	}
	return 0;
}

static void tls_on_connection(uv_stream_t *server, int status)
{
	struct tls_listener *l = server->data;
	if (status < 0 || l->w->stopping)
		return;
	tcp_conn_accept(l->w, server, (int)l->index);
}

static void tls_listener_closed(uv_handle_t *h)
{
	free(h->data);
}

int listener_tls_start(struct worker *w, int fd, unsigned index)
{
	struct tls_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->w = w;
	l->index = index;
	int rc = uv_tcp_init(&w->loop, &l->h);
	if (rc) {
		free(l);
		return rc;
	}
	l->h.data = l;
	if ((rc = uv_tcp_open(&l->h, fd)) < 0)
		close(fd); /* not the handle's yet */
	if (rc || (rc = uv_listen((uv_stream_t *)&l->h, TLS_BACKLOG, tls_on_connection))) {
		uv_close((uv_handle_t *)&l->h, tls_listener_closed);
		return rc;
	}
	l->next = w->listen->tls;
	w->listen->tls = l;
	return 0;
}

void listener_tls_stop(struct worker *w)
{
	while (w->listen->tls) {
		struct tls_listener *l = w->listen->tls;
		w->listen->tls = l->next;
		uv_close((uv_handle_t *)&l->h, tls_listener_closed);
	}
}
