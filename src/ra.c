/* ra.c - Router Advertisements on the main loop: the NAT64 prefix the network advertises (RFC 8781) */
#include "dns64d/ra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns64d/addr.h"
#include "dns64d/config.h"
#include "dns64d/daemon.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/pref64.h"

/* after ldns (by way of config.h): its macros (rr_type, ...) would rename ldns' parameters */
#include <netinet/icmp6.h>

#define RA_READS_PER_WAKEUP 16
#define RA_BUF              4096

struct ra_shared;

struct ra_iface {
	struct ra_shared *s;
	unsigned idx; /* position in the config's list: the pref64_table's iface */
	char name[16];
	unsigned ifindex;
	int fd;
	uv_poll_t poll;
	unsigned solicited; /* Router Solicitations sent */
	bool heard;         /* a valid RA came: no more solicitations */
};

struct ra_shared {
	struct daemon *d;
	uv_loop_t *loop;
	struct ra_iface *ifs;
	size_t n_ifs;
	uv_timer_t timer;
	uv_timer_t rs_timer; /* the next Router Solicitation */
	bool started;
	struct pref64_table table;
	/* what the workers read, under the sequence lock (odd: being written) */
	atomic_uint seq;
	_Atomic uint64_t word[2];
	atomic_uint len; /* 0: nothing advertised */
	/* main thread only */
	bool has;
	struct nat64_prefix cur;
	unsigned cur_iface;
	uint64_t cur_expires_ms;
	bool warned; /* the mismatch of warned_adv and warned_conf was logged */
	struct nat64_prefix warned_adv, warned_conf;
	uint64_t ras, invalid, ignored, changes;
};

static const char *fmt_prefix(const struct nat64_prefix *p, char *buf, size_t len)
{
	struct network n = {.family = AF_INET6, .plen = p->len};
	memcpy(n.addr, p->addr, sizeof(n.addr));
	return network_format(&n, buf, len);
}

/* ---- the prefix the workers read ------------------------------------------------------------ */

static void publish(struct ra_shared *s, const struct nat64_prefix *p)
{
	uint64_t w[2] = {0, 0};
	if (p)
		memcpy(w, p->addr, 16);
	unsigned q = atomic_load_explicit(&s->seq, memory_order_relaxed);
	atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->word[0], w[0], memory_order_relaxed);
	atomic_store_explicit(&s->word[1], w[1], memory_order_relaxed);
	atomic_store_explicit(&s->len, p ? p->len : 0, memory_order_relaxed);
	atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

static bool snapshot(struct ra_shared *s, struct nat64_prefix *out)
{
	for (;;) {
		unsigned q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		uint64_t w[2] = {atomic_load_explicit(&s->word[0], memory_order_relaxed),
		                 atomic_load_explicit(&s->word[1], memory_order_relaxed)};
		unsigned len = atomic_load_explicit(&s->len, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if ((q1 & 1) || atomic_load_explicit(&s->seq, memory_order_relaxed) != q1)
			continue; /* the main thread was writing: a few nanoseconds */
		if (len == 0)
			return false;
		memcpy(out->addr, w, 16);
		out->len = len;
		return true;
	}
}

static bool configured(const struct config *cfg)
{
	return config_line(cfg, "prefix") != 0;
}

bool ra_advertised_prefix(struct daemon *d, struct nat64_prefix *out)
{
	struct ra_shared *s = d ? d->ra : NULL;
	return s && snapshot(s, out);
}

bool ra_prefix_configured(const struct config *cfg)
{
	return configured(cfg);
}

bool ra_default_prefix(struct daemon *d, const struct config *cfg, struct nat64_prefix *out)
{
	struct ra_shared *s = d ? d->ra : NULL;
	if (s && snapshot(s, out))
		return true;
	if (s && !configured(cfg))
		return false;
	*out = cfg->prefixes[0].p;
	return true;
}

/* ---- what changed, in the log --------------------------------------------------------------- */

static void iface_list(const struct ra_shared *s, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n_ifs && n < len; i++) {
		int k = snprintf(buf + n, len - n, "%s'%s'", i ? ", " : "", s->ifs[i].name);
		n = k > 0 && n + (size_t)k < len ? n + (size_t)k : len;
	}
}

static void log_state(const struct ra_shared *s, const struct config *cfg)
{
	char a[64], b[64], names[160];
	uint64_t now = uv_now(s->loop);
	if (s->has) {
		log_notice("prefix-from-ra: '%s' advertises NAT64 prefix '%s' (%llu s left): it is the default prefix",
		           s->ifs[s->cur_iface].name, fmt_prefix(&s->cur, a, sizeof(a)),
		           (unsigned long long)((s->cur_expires_ms - now + 999) / 1000));
		return;
	}
	iface_list(s, names, sizeof(names));
	if (configured(cfg))
		log_notice(
		        "prefix-from-ra: no NAT64 prefix advertised on %s: the default prefix is the configured '%s'",
		        names, fmt_prefix(&cfg->prefixes[0].p, b, sizeof(b)));
	else
		log_warn("prefix-from-ra: no NAT64 prefix advertised on %s and no prefix configured: clients without a "
		         "prefix in their acl rule are forwarded without synthesis",
		         names);
}

/* Once per change of the pair: an advertised prefix that is not the configured one. */
static void check_mismatch(struct ra_shared *s, const struct config *cfg)
{
	char a[64], b[64];
	if (!s->has || !configured(cfg) || !pref64_differ(&s->cur, &cfg->prefixes[0].p)) {
		s->warned = false;
		return;
	}
	if (s->warned && !pref64_differ(&s->warned_adv, &s->cur) &&
	    !pref64_differ(&s->warned_conf, &cfg->prefixes[0].p))
		return;
	log_warn("prefix-from-ra: the prefix advertised on '%s', '%s', differs from the configured prefix '%s': "
	         "synthesizing with the advertised one",
	         s->ifs[s->cur_iface].name, fmt_prefix(&s->cur, a, sizeof(a)),
	         fmt_prefix(&cfg->prefixes[0].p, b, sizeof(b)));
	s->warned = true;
	s->warned_adv = s->cur;
	s->warned_conf = cfg->prefixes[0].p;
}

/* ---- the table, its expiry timer -------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* After an RA or an expiry: the prefix in use, published and logged when it changed; the
 * timer set for the next expiry. */
static void refresh(struct ra_shared *s)
{
	const struct config *cfg = atomic_load(&s->d->pending); /* written only by this thread */
	uint64_t now = uv_now(s->loop);
	pref64_table_expire(&s->table, now);
	const struct pref64_entry *e = pref64_table_current(&s->table, now);
	bool changed = (e != NULL) != s->has || (e && (pref64_differ(&e->prefix, &s->cur) || e->iface != s->cur_iface));
	if (e) {
		s->cur = e->prefix;
		s->cur_iface = e->iface;
		s->cur_expires_ms = e->expires_ms;
	}
	s->has = e != NULL;
	if (changed) {
		publish(s, e ? &e->prefix : NULL);
		s->changes++;
		log_state(s, cfg);
	}
	check_mismatch(s, cfg);
	uint64_t next = pref64_table_next_expiry(&s->table);
	if (next == UINT64_MAX)
		uv_timer_stop(&s->timer);
	else
		uv_timer_start(&s->timer, on_timer, next > now ? next - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	refresh(t->data);
}

/* RFC 4861 §6.1.2: from a link-local address, hop limit 255, on the interface bound to. */
static bool ra_acceptable(const struct ra_iface *f, const struct sockaddr_in6 *from, struct msghdr *mh)
{
	int hops = -1;
	unsigned ifindex = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&hops, CMSG_DATA(c), sizeof(hops));
		else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ifindex = pi.ipi6_ifindex;
		}
	}
	return hops == 255 && ifindex == f->ifindex && IN6_IS_ADDR_LINKLOCAL(&from->sin6_addr);
}

static void handle_ra(struct ra_iface *f, const uint8_t *msg, size_t len, const struct sockaddr_in6 *from)
{
	struct ra_shared *s = f->s;
	struct pref64_ra ra;
	char a[64];
	if (pref64_parse_ra(msg, len, &ra) < 0) {
		s->invalid++;
		log_debug("prefix-from-ra: malformed router advertisement from '%s' on '%s'",
		          addr_format((const struct sockaddr *)from, a, sizeof(a)), f->name);
		return;
	}
	s->ras++;
	f->heard = true;
	s->ignored += ra.ignored;
	log_debug("prefix-from-ra: router advertisement from '%s' on '%s': %zu PREF64 options, %u ignored",
	          addr_format((const struct sockaddr *)from, a, sizeof(a)), f->name, ra.n, ra.ignored);
	if (ra.n == 0)
		return; /* RFC 8781: no option is no news; what was advertised lasts its lifetime */
	pref64_table_update(&s->table, f->idx, &ra, uv_now(s->loop));
	refresh(s);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct ra_iface *f = h->data;
	for (int i = 0; status == 0 && i < RA_READS_PER_WAKEUP; i++) {
		uint8_t buf[RA_BUF];
		union {
			struct cmsghdr align;
			char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		} ctl;
		struct sockaddr_in6 from;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_name = &from,
		                    .msg_namelen = sizeof(from),
		                    .msg_iov = &iov,
		                    .msg_iovlen = 1,
		                    .msg_control = ctl.b,
		                    .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(f->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("prefix-from-ra: reading on '%s': %s", f->name, strerror(errno));
			return;
		}
		if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !ra_acceptable(f, &from, &mh)) {
			f->s->invalid++;
			continue;
		}
		handle_ra(f, buf, (size_t)n, &from);
	}
}

/* ---- sockets ------------------------------------------------------------------------------- */

static int open_one(struct ra_iface *f)
{
	struct icmp6_filter flt;
	int on = 1, hops = 255, rc;
	f->ifindex = if_nametoindex(f->name);
	if (f->ifindex == 0) {
		log_error("prefix-from-ra '%s': no such network interface", f->name);
		return -ENODEV;
	}
	f->fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (f->fd < 0) {
		rc = -errno;
		log_error("prefix-from-ra '%s': cannot open a raw ICMPv6 socket: %s", f->name, strerror(errno));
		return rc;
	}
	int mif = (int)f->ifindex;
	ICMP6_FILTER_SETBLOCKALL(&flt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &flt);
	if (setsockopt(f->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &flt, sizeof(flt)) < 0 ||
	    setsockopt(f->fd, SOL_SOCKET, SO_BINDTODEVICE, f->name, (socklen_t)strlen(f->name)) < 0 ||
	    setsockopt(f->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0 ||
	    setsockopt(f->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) < 0 ||
	    setsockopt(f->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(f->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &mif, sizeof(mif)) < 0) {
		rc = -errno;
		log_error("prefix-from-ra '%s': cannot set up the ICMPv6 socket: %s", f->name, strerror(errno));
		return rc;
	}
	return 0;
}

int ra_open(struct daemon *d, const struct config *cfg)
{
	if (cfg->n_prefix_from_ra == 0)
		return 0;
	struct ra_shared *s = calloc(1, sizeof(*s));
	if (!s || !(s->ifs = calloc(cfg->n_prefix_from_ra, sizeof(*s->ifs)))) {
		free(s);
		log_error("prefix-from-ra: out of memory");
		return -ENOMEM;
	}
	s->d = d;
	d->ra = s;
	for (size_t i = 0; i < cfg->n_prefix_from_ra; i++) {
		struct ra_iface *f = &s->ifs[i];
		f->s = s;
		f->idx = (unsigned)i;
		f->fd = -1;
		memcpy(f->name, cfg->prefix_from_ra[i].name, sizeof(f->name));
		s->n_ifs++;
		int rc = open_one(f);
		if (rc < 0)
			return rc;
	}
	return 0;
}

#define RS_MAX         3    /* MAX_RTR_SOLICITATIONS (RFC 4861 §10) */
#define RS_INTERVAL_MS 4000 /* RTR_SOLICITATION_INTERVAL */

/* One Router Solicitation to all routers (RFC 4861 §6.3.7), so that the first RA comes now. */
static void solicit(struct ra_iface *f)
{
	static const uint8_t rs[8] = {ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0};
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_scope_id = f->ifindex};
	inet_pton(AF_INET6, "ff02::2", &to.sin6_addr);
	f->solicited++;
	if (sendto(f->fd, rs, sizeof(rs), 0, (const struct sockaddr *)&to, sizeof(to)) < 0)
		log_debug("prefix-from-ra: cannot solicit a router advertisement on '%s': %s", f->name,
		          strerror(errno));
}

/* Up to RS_MAX solicitations RS_INTERVAL_MS apart on each interface no RA has been heard on
 * (one can be lost, or sent before the link was ready). */
static void on_rs_timer(uv_timer_t *t)
{
	struct ra_shared *s = t->data;
	bool more = false;
	for (size_t i = 0; i < s->n_ifs; i++) {
		struct ra_iface *f = &s->ifs[i];
		if (!f->heard && f->solicited < RS_MAX)
			solicit(f);
		more |= !f->heard && f->solicited < RS_MAX;
	}
	if (!more)
		uv_timer_stop(t);
}

void ra_start(struct daemon *d, uv_loop_t *loop)
{
	struct ra_shared *s = d->ra;
	if (!s)
		return;
	s->loop = loop;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	uv_timer_init(loop, &s->rs_timer);
	s->rs_timer.data = s;
	for (size_t i = 0; i < s->n_ifs; i++) {
		struct ra_iface *f = &s->ifs[i];
		uv_poll_init_socket(loop, &f->poll, f->fd);
		f->poll.data = f;
		uv_poll_start(&f->poll, UV_READABLE, on_readable);
		solicit(f);
	}
	uv_timer_start(&s->rs_timer, on_rs_timer, RS_INTERVAL_MS, RS_INTERVAL_MS);
	s->started = true;
	log_state(s, atomic_load(&d->pending));
}

void ra_stop(struct daemon *d)
{
	struct ra_shared *s = d->ra;
	if (!s || !s->started)
		return;
	for (size_t i = 0; i < s->n_ifs; i++)
		uv_close((uv_handle_t *)&s->ifs[i].poll, NULL);
	uv_close((uv_handle_t *)&s->timer, NULL);
	uv_close((uv_handle_t *)&s->rs_timer, NULL);
	s->started = false;
}

void ra_free(struct daemon *d)
{
	struct ra_shared *s = d->ra;
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ifs; i++)
		if (s->ifs[i].fd >= 0)
			close(s->ifs[i].fd);
	free(s->ifs);
	free(s);
	d->ra = NULL;
}

void ra_reconfigure(struct daemon *d, const struct config *old, const struct config *cfg)
{
	struct ra_shared *s = d->ra;
	if (!s || !s->started)
		return;
	if (!s->has && (configured(cfg) != configured(old) || pref64_differ(&cfg->prefixes[0].p, &old->prefixes[0].p)))
		log_state(s, cfg);
	check_mismatch(s, cfg);
}

/* ---- the operator plane --------------------------------------------------------------------- */

const char *ra_describe(struct daemon *d, const struct config *cfg, char *buf, size_t len)
{
	struct ra_shared *s = d->ra;
	char names[160];
	if (!s) {
		snprintf(buf, len, "configured");
		return buf;
	}
	if (s->has) {
		uint64_t now = uv_now(s->loop), left = s->cur_expires_ms > now ? s->cur_expires_ms - now : 0;
		snprintf(buf, len, "advertised on '%s', %llu s left", s->ifs[s->cur_iface].name,
		         (unsigned long long)((left + 999) / 1000));
		return buf;
	}
	iface_list(s, names, sizeof(names));
	if (configured(cfg))
		snprintf(buf, len, "configured, nothing advertised on %s", names);
	else
		snprintf(buf, len,
		         "none: nothing advertised on %s and no prefix configured, forwarding without synthesis",
		         names);
	return buf;
}

void ra_metrics(struct daemon *d, const struct config *cfg, struct metrics_pref64 *out)
{
	struct ra_shared *s = d->ra;
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->enabled = true;
	out->advertised = s->has;
	if (s->has) {
		uint64_t now = uv_now(s->loop);
		out->adv = s->cur;
		memcpy(out->iface, s->ifs[s->cur_iface].name, sizeof(out->iface));
		out->adv_left_s = s->cur_expires_ms > now ? (s->cur_expires_ms - now + 999) / 1000 : 0;
	}
	out->configured = configured(cfg);
	out->conf = cfg->prefixes[0].p;
	out->mismatch = out->advertised && out->configured && pref64_differ(&s->cur, &cfg->prefixes[0].p);
	out->ras = s->ras;
	out->invalid = s->invalid;
	out->ignored = s->ignored;
	out->changes = s->changes;
}
