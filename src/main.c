/* main.c - command line, startup order, signals, reload and exit codes */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <ldns/ldns.h>
#include <uv.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/config.h"
#include "dns64d/dnstap.h"
#include "dns64d/fetch.h"
#include "dns64d/control.h"
#include "dns64d/dns64.h"
#include "dns64d/explain.h"
#include "dns64d/listener.h"
#include "dns64d/localdata.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/notify.h"
#include "dns64d/ra.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"
#include "dns64d/workers.h"

#define SECRET_ROTATE_MS (COOKIE_ROTATE_INTERVAL * 1000u) /* RFC 9018 §5; the ring keeps what is needed */

static const char usage[] = "usage: dns64d [-c FILE] [-f] [-t] [-v] [-V] [-h]\n"
                            "  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
                            "  -f, --foreground   log to stderr instead of syslog\n"
                            "  -t, --check        check the configuration and ACL, then exit (0 good, 1 bad)\n"
                            "  -v, --verbose      log at debug level; with -t, print the effective configuration\n"
                            "  -V, --version      print the version and exit\n"
                            "  -h, --help         print this help and exit\n";

static struct daemon D;
static const char *config_path = CONFIG_DEFAULT_PATH;
static uv_signal_t sig_hup, sig_term, sig_int;
static uv_timer_t rotate_timer;
static bool verbose;
static int stop_signal;

static void log_errors(const struct errbuf *e)
{
	const char *p = e->text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		log_error("%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* Names of the directives a reload changed but cannot apply, for one warning line. */
struct restart_names {
	char text[512];
	size_t len;
};

static void add_restart_name(const struct config_directive *d, void *arg)
{
	struct restart_names *r = arg;
	int n = snprintf(r->text + r->len, sizeof(r->text) - r->len, "%s'%s'", r->len ? ", " : "", d->name);

	if (n > 0 && (size_t)n < sizeof(r->text) - r->len)
		r->len += (size_t)n;
}

/* The loop check with this host's interface addresses (for a wildcard listen). Without
 * getifaddrs() only loopback and exact listen addresses count as this host. */
static int check_loop(const struct config *cfg, struct errbuf *err)
{
	struct ifaddrs *ifa = NULL;
	struct sockaddr_storage *local = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL &&
			    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
				cap++;
		local = calloc(cap != 0 ? cap : 1, sizeof(*local));
		for (struct ifaddrs *i = ifa; local != NULL && i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL &&
			    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
				memcpy(&local[n++], i->ifa_addr, addr_len(i->ifa_addr));
		freeifaddrs(ifa);
	}
	rc = config_check_loop(cfg, local, n, err);
	free(local);
	return rc;
}

/* Each warning line once, to stderr (-t) or the log. */
static void show_warnings(const struct config *cfg, bool to_stderr)
{
	struct errbuf warn = {.len = 0};

	if (config_warnings(cfg, &warn) == 0)
		return;
	for (const char *p = warn.text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		if (to_stderr)
			fprintf(stderr, "warning: %.*s\n", n, p);
		else
			log_warn("%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static bool acl_equal(const struct acl *a, const struct acl *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct acl_rule *x = &a->rules[i], *y = &b->rules[i];
		if (x->net.family != y->net.family || x->net.plen != y->net.plen ||
		    memcmp(x->net.addr, y->net.addr, sizeof(x->net.addr)) != 0 || x->action != y->action ||
		    x->filter_a != y->filter_a || x->n_prefixes != y->n_prefixes || x->line != y->line)
			return false;
		size_t nx, ny;
		const struct synth_prefix *px = acl_rule_prefixes(a, x, &nx), *py = acl_rule_prefixes(b, y, &ny);
		for (size_t k = 0; k < nx; k++)
			if (memcmp(&px[k].p, &py[k].p, sizeof(px[k].p)) != 0)
				return false;
	}
	return true;
}

/* What a reload changed, in a few words: "acl rules 5 -> 6, upstreams 1 -> 2, 'timeout'"
 * or "no change". Directives a reload cannot apply are warned about elsewhere. */
static void describe_reload(const struct config *old, const struct config *cur, char *buf, size_t len)
{
	size_t n = 0, rows;
	const struct config_directive *d = config_directives(&rows);
#define ADD(...)                                                                                                       \
	do {                                                                                                           \
		if (n < len) {                                                                                         \
			int k = snprintf(buf + n, len - n, "%s", n ? ", " : "");                                       \
			k += snprintf(buf + n + k, len - n - (size_t)k, __VA_ARGS__);                                  \
			n = n + (size_t)k < len ? n + (size_t)k : len;                                                 \
		}                                                                                                      \
	} while (0)
	buf[0] = '\0';
	if (old->acl.n != cur->acl.n)
		ADD("acl rules %zu -> %zu", old->acl.n, cur->acl.n);
	else if (!acl_equal(&old->acl, &cur->acl))
		ADD("acl rules changed (%zu)", cur->acl.n);
	if (old->n_upstream != cur->n_upstream)
		ADD("upstreams %zu -> %zu", old->n_upstream, cur->n_upstream);
	if (localdata_count(old->local) != localdata_count(cur->local))
		ADD("local records %zu -> %zu", localdata_count(old->local), localdata_count(cur->local));
	for (size_t i = 0; i < rows; i++) {
		if (!(d[i].flags & CONFIG_RELOADABLE) || !config_value_changed(&d[i], old, cur))
			continue;
		if (strcmp(d[i].name, "upstream") == 0 && old->n_upstream != cur->n_upstream)
			continue;
		ADD("'%s'", d[i].name);
	}
#undef ADD
	if (n == 0)
		snprintf(buf, len, "no change");
}

/* SIGHUP and the control socket's reload; on failure the errors are also copied to *out. */
static int reload(struct errbuf *out)
{
	notify_send("RELOADING=1");
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	if (config_load(config_path, &cfg, &err) < 0 || check_loop(cfg, &err) < 0) {
		if (cfg)
			config_unref(cfg);
		log_errors(&err);
		metrics_reloaded(false);
		log_error("reload of '%s' failed, keeping the old config (generation %u)", config_path, D.generation);
		notify_send("READY=1");
		if (out)
			*out = err;
		return -EINVAL;
	}
	pthread_mutex_lock(&D.pending_lock);
	struct config *old = D.pending;
	cfg->generation = ++D.generation;
	struct restart_names changed = {.len = 0};
	if (config_reload_changes(old, cfg, add_restart_name, &changed) > 0)
		log_warn("changed %s take effect after a restart", changed.text);
	char what[512];
	describe_reload(old, cfg, what, sizeof(what));
	metrics_reloaded(true);
	D.pending = cfg;
	pthread_mutex_unlock(&D.pending_lock);
	if (D.cache)
		cache_set_max_stale(D.cache, cfg->max_stale_s);
	fetch_register(&D, cfg);
	listener_tls_reload(D.tls, cfg);
	control_reconfigure(old, cfg);
	ra_reconfigure(&D, old, cfg);
	config_unref(old);
	log_set_level(verbose ? LOG_LEVEL_DEBUG : cfg->log_level);
	show_warnings(cfg, false);
	for (unsigned i = 0; i < D.n_workers; i++)
		worker_notify(D.workers[i]);
	log_notice("reloaded '%s' (generation %u): %s", config_path, cfg->generation, what);
	notify_send("READY=1");
	return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
	if (signum == SIGHUP) {
		reload(NULL);
		return;
	}
	log_info("stopping on signal %d", signum);
	stop_signal = signum;
	notify_send("STOPPING=1");
	atomic_store(&D.stopping, true);
	for (unsigned i = 0; i < D.n_workers; i++)
		worker_stop(D.workers[i]);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&rotate_timer, NULL);
	ra_stop(&D);
	control_stop();
}

static void on_rotate(uv_timer_t *t)
{
	daemon_rotate_secret(&D);
}

/* dns64d-control upstreams: one line per upstream the daemon knows. */
static int cmd_upstreams(void *arg, int argc, char **argv, struct control_out *o)
{
	struct upstream_info ui[64];
	size_t n = fetch_upstreams(&D, ui, 64);
	uint64_t now = uv_now(uv_default_loop());
	pthread_mutex_lock(&D.pending_lock);
	struct config *cfg = config_ref(D.pending);
	pthread_mutex_unlock(&D.pending_lock);
	for (size_t i = 0; i < n && cfg; i++)
		config_upstream_zones(cfg, &ui[i].up, ui[i].zones, sizeof(ui[i].zones));
	config_unref(cfg);
	for (size_t i = 0; i < n; i++) {
		char a[UPSTREAM_FORMAT_MAX];
		control_printf(
		        o,
		        "%s state %s srtt_ms %.3f rttvar_ms %.3f consecutive_timeouts %u consecutive_failures %u "
		        "since_s %llu%s%s\n",
		        upstream_spec_format(&ui[i].up, false, a, sizeof(a)), ui[i].down ? "down" : "up",
		        ui[i].srtt_us / 1000.0, ui[i].rttvar_us / 1000.0, ui[i].timeouts, ui[i].failures,
		        ui[i].last_change_ms && now > ui[i].last_change_ms
		                ? (unsigned long long)((now - ui[i].last_change_ms) / 1000)
		                : 0ULL,
		        ui[i].zones[0] ? " for " : "", ui[i].zones);
	}
	return 0;
}

/* One "cache WHAT hit|miss" line: a lookup with the key request.c or fetch.c builds. It
 * moves an entry it finds to the recent end of the LRU and counts as a cache hit or miss. */
static void explain_cache(struct control_out *o, const char *what, const uint8_t *key, size_t klen, uint64_t now)
{
	static uint8_t buf[DNS_MAX_MSG + 16384];
	size_t len;
	uint64_t stored;
	if (!klen || cache_lookup(D.cache, key, klen, now, buf, sizeof(buf), &len, &stored) != 0) {
		control_printf(o, "cache %s miss\n", what);
		return;
	}
	const struct msg_meta *m = (const struct msg_meta *)buf;
	uint64_t age = now > stored ? (now - stored) / 1000 : 0;
	ldns_lookup_table *rt = ldns_lookup_by_id(ldns_rcodes, m->rcode);
	control_printf(o, "cache %s hit rcode %s%s ttl_left_s %llu\n", what, rt ? rt->name : "?",
	               m->synthesized ? " synthesized" : "", (unsigned long long)(m->ttl > age ? m->ttl - age : 0));
}

/* dns64d-control explain NAME [TYPE] [--client ADDR]: explain.c's lines, then the cache. */
static int cmd_explain(void *arg, int argc, char **argv, struct control_out *o)
{
	const char *type = "AAAA", *client = "127.0.0.1";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
			client = argv[++i];
		else if (i == 2)
			type = argv[i];
		else
			return control_fail(o, "usage: explain NAME [TYPE] [--client ADDR]");
	}
	ldns_rdf *dn = NULL;
	if (ldns_str2rdf_dname(&dn, argv[1]) != LDNS_STATUS_OK || ldns_rdf_size(dn) > DNS_MAX_NAME) {
		ldns_rdf_deep_free(dn);
		return control_fail(o, "bad name '%s'", argv[1]);
	}
	uint8_t qname[DNS_MAX_NAME];
	size_t qlen = ldns_rdf_size(dn);
	memcpy(qname, ldns_rdf_data(dn), qlen);
	ldns_rdf_deep_free(dn);
	uint16_t qtype = ldns_get_rr_type_by_name(type);
	if (qtype == 0)
		return control_fail(o, "bad type '%s'", type);
	struct sockaddr_storage peer;
	const char *why;
	if (addr_parse_endpoint(client, 0, &peer, &why) < 0)
		return control_fail(o, "bad client address '%s': %s", client, why);
	pthread_mutex_lock(&D.pending_lock);
	struct config *cfg = config_ref(D.pending);
	pthread_mutex_unlock(&D.pending_lock);
	static char text[8192];
	struct nat64_prefix dp;
	char src[256];
	bool advertised = ra_advertised_prefix(&D, &dp);
	struct explain_query q = {.qname = qname,
	                          .qname_len = qlen,
	                          .qtype = qtype,
	                          .client = (const struct sockaddr *)&peer,
	                          .hostname = D.hostname};
	if (D.ra) { /* say where the default prefix comes from now */
		q.default_prefix = advertised ? &dp : NULL;
		q.no_default = !advertised && !ra_prefix_configured(cfg);
		q.default_source = ra_describe(&D, cfg, src, sizeof(src));
	}
	struct explain_result res;
	int rc = explain_query(cfg, &q, &res, text, sizeof(text));
	if (rc < 0) {
		config_unref(cfg);
		return control_fail(o, "%s", strerror(-rc));
	}
	control_printf(o, "%s", text);
	if (!D.cache || res.local || res.action == ACL_REFUSE || res.action == ACL_DROP) {
		control_printf(o, "cache -\n");
		config_unref(cfg);
		return 0;
	}
	uv_update_time(uv_default_loop());
	uint64_t now = uv_now(uv_default_loop());
	uint8_t key[CACHE_KEY_MAX];
	/* a plain query: RD set, no DO, no CD (as explained) */
	if (res.synth_keys) {
		uint8_t variant[DNS64_VARIANT_MAX];
		size_t vlen = dns64_synth_variant(res.prefixes, res.n_prefixes, cfg->generation, variant);
		explain_cache(o, "synthesized", key,
		              cache_key(key, qname, qlen, DNS_T_AAAA, 1, CACHE_F_RD | CACHE_F_SYNTH, variant, vlen),
		              now);
		explain_cache(o, "AAAA", key, cache_key(key, qname, qlen, DNS_T_AAAA, 1, CACHE_F_RD, NULL, 0), now);
		explain_cache(o, "A", key, cache_key(key, qname, qlen, DNS_T_A, 1, CACHE_F_RD, NULL, 0), now);
	} else {
		char t[16];
		const ldns_rr_descriptor *d = ldns_rr_descript(qtype);
		snprintf(t, sizeof(t), "%s", d && d->_name ? d->_name : "type");
		explain_cache(o, t, key, cache_key(key, qname, qlen, qtype, 1, CACHE_F_RD, NULL, 0), now);
	}
	config_unref(cfg);
	return 0;
}

static int drop_privileges(const struct config *cfg)
{
	struct passwd *pw = NULL;
	if (cfg->user && !(pw = getpwnam(cfg->user))) {
		log_error("unknown user '%s'", cfg->user);
		return -ENOENT;
	}
	if (cfg->chroot) {
		if (chroot(cfg->chroot) < 0 || chdir("/") < 0) {
			log_error("cannot chroot to '%s': %s", cfg->chroot, strerror(errno));
			return -errno;
		}
	}
	if (pw) {
		if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			log_error("cannot drop privileges to '%s': %s", cfg->user, strerror(errno));
			return -errno;
		}
		if (setuid(0) == 0) {
			log_error("privileges could be regained after dropping them to '%s'", cfg->user);
			return -EPERM;
		}
		log_notice("running as user '%s'", cfg->user);
	}
	return 0;
}

/* Options; returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, bool *foreground, bool *check)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"foreground", no_argument, NULL, 'f'},
	        {"check", no_argument, NULL, 't'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:ftvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'f': *foreground = true; break;
		case 't': *check = true; break;
		case 'v': verbose = true; break;
		case 'V': printf("dns64d %s\n", DNS64D_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dns64d: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	return -1;
}

/* The config with every check done; NULL after printing every problem to stderr. */
static struct config *load_checked(void)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	bool bad = config_load(config_path, &cfg, &err) < 0;
	if (!bad) {
		/* every problem at once, not only the first check's */
		bad = check_loop(cfg, &err) < 0;
		bad = config_check_system(cfg, &err) < 0 || bad;
		bad = listener_tls_load(cfg, NULL, &err) < 0 || bad;
	}
	if (bad) {
		if (cfg)
			config_unref(cfg);
		fputs(err.text, stderr);
		if (err.len == 0)
			fprintf(stderr, "%s: cannot be loaded\n", config_path);
		return NULL;
	}
	return cfg;
}

/* -t: warnings, and with -v the effective configuration on stdout (nothing else there). */
static int check_only(struct config *cfg)
{
	char *text = NULL;
	show_warnings(cfg, true);
	if (verbose && config_print(cfg, &text) == 0)
		fputs(text, stdout);
	free(text);
	fprintf(verbose ? stderr : stdout, "%s: ok\n", config_path);
	config_unref(cfg);
	return 0;
}

/* Daemon-wide state before any socket: cookie secrets, cache. */
static int setup_daemon(struct config *cfg, bool foreground)
{
	D.foreground = foreground;
	D.pending = cfg;
	pthread_mutex_init(&D.pending_lock, NULL);
	uint8_t secret[COOKIE_SECRET_LEN];
	randombytes_buf(secret, sizeof(secret));
	cookie_ring_init(&D.secrets[0], secret, (uint32_t)time(NULL));
	sodium_memzero(secret, sizeof(secret));
	D.n_workers = cfg->workers ? cfg->workers : uv_available_parallelism();
	if (cfg->cache_size && cache_new(cfg->cache_size, 4 * D.n_workers, &D.cache) < 0) {
		log_error("cannot allocate the cache");
		return -ENOMEM;
	}
	if (D.cache)
		cache_set_max_stale(D.cache, cfg->max_stale_s);
	if (gethostname(D.hostname, sizeof(D.hostname) - 1) < 0)
		D.hostname[0] = '\0';
	return 0;
}

/* The TLS credentials (read while still root) and a listen-tls socket per worker. */
static int bind_tls(const struct config *cfg)
{
	size_t nt = cfg->n_listen_tls;
	struct errbuf err = {.len = 0};
	if (nt == 0)
		return 0;
	if (listener_tls_load(cfg, &D.tls, &err) < 0) {
		log_errors(&err);
		return -EINVAL;
	}
	if (!(D.tls_fds = calloc(D.n_workers * nt, sizeof(*D.tls_fds))))
		return -ENOMEM;
	for (unsigned i = 0; i < D.n_workers; i++)
		for (size_t k = 0; k < nt; k++) {
			int rc = listener_tls_bind((const struct sockaddr *)&cfg->listen_tls[k].addr,
			                           &D.tls_fds[i * nt + k]);
			if (rc < 0) {
				char a[64];
				log_error("cannot listen on '%s' (listen-tls): %s",
				          addr_format((const struct sockaddr *)&cfg->listen_tls[k].addr, a, sizeof(a)),
				          strerror(-rc));
				return rc;
			}
		}
	return 0;
}

/* Every listen socket of every worker, bound while still root. */
static int bind_all(const struct config *cfg)
{
	size_t nl = cfg->n_listen;
	if (bind_tls(cfg) < 0)
		return -EINVAL;
	D.fds = calloc(D.n_workers * nl, sizeof(*D.fds));
	if (!D.fds)
		return -ENOMEM;
	for (unsigned i = 0; i < D.n_workers; i++)
		for (size_t k = 0; k < nl; k++) {
			int rc = listener_bind((const struct sockaddr *)&cfg->listen[k], D.fds[i * nl + k]);
			if (rc < 0) {
				char a[64];
				log_error("cannot listen on '%s': %s",
				          addr_format((const struct sockaddr *)&cfg->listen[k], a, sizeof(a)),
				          strerror(-rc));
				return rc;
			}
		}
	return 0;
}

static int start_workers(const struct config *cfg)
{
	size_t nl = cfg->n_listen;
	if (fetch_init(&D) < 0) {
		log_error("cannot set up the in-flight table");
		return -ENOMEM;
	}
	fetch_register(&D, cfg);
	D.workers = calloc(D.n_workers, sizeof(*D.workers));
	if (!D.workers)
		return -ENOMEM;
	for (unsigned i = 0; i < D.n_workers; i++) {
		int rc = worker_new(&D, i, (const int(*)[2])D.fds[i * nl], nl, &D.workers[i]);
		for (size_t k = 0; rc >= 0 && k < cfg->n_listen_tls; k++)
			rc = listener_tls_start(D.workers[i], D.tls_fds[i * cfg->n_listen_tls + k], (unsigned)k);
		if (rc < 0) {
			log_error("cannot start worker %u: %s", i, uv_strerror(rc));
			return rc;
		}
	}
	for (unsigned i = 0; i < D.n_workers; i++)
		worker_start(D.workers[i]);
	return 0;
}

/* What this daemon is about to do, once at start (shown at the default level). */
static void log_start(const struct config *cfg)
{
	char a[64];
	for (size_t i = 0; i < cfg->n_listen; i++)
		log_notice("listening on '%s' udp tcp",
		           addr_format((const struct sockaddr *)&cfg->listen[i], a, sizeof(a)));
	for (size_t i = 0; i < cfg->n_listen_tls; i++)
		log_notice("listening on '%s' tls with certificate '%s'",
		           addr_format((const struct sockaddr *)&cfg->listen_tls[i].addr, a, sizeof(a)),
		           cfg->listen_tls[i].cert);
	for (size_t i = 0; i < cfg->n_upstream; i++) {
		char ub[UPSTREAM_FORMAT_MAX];
		log_notice("upstream '%s' %s", upstream_spec_format(&cfg->upstream[i], false, ub, sizeof(ub)),
		           cfg->upstream[i].proto == UPSTREAM_TLS ? "tls" : "udp tcp");
	}
	for (size_t z = 0; z < cfg->n_forward; z++) {
		char name[1024], ub[UPSTREAM_FORMAT_MAX];
		for (size_t i = 0; i < cfg->forward[z].n_upstream; i++)
			log_notice("forward '%s' to '%s'", config_dname_text(&cfg->forward[z].name, name, sizeof(name)),
			           upstream_spec_format(&cfg->forward[z].upstream[i], false, ub, sizeof(ub)));
	}
	if (cfg->n_upstream == 0 && cfg->n_forward == 0)
		log_notice("no upstream: only local answers");
	log_notice("acl '%s' with %zu rules", cfg->acl_path ? cfg->acl_path : "default", cfg->acl.n);
	if (!D.ra) /* else ra.c says what the default prefix is and where it comes from */
		for (size_t i = 0; i < cfg->n_prefixes; i++)
			log_notice("default prefix '%s'", nat64_prefix_format(&cfg->prefixes[i].p, a, sizeof(a)));
	if (cfg->has_metrics)
		log_notice("metrics on 'http://%s/metrics'",
		           addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a)));
	if (cfg->control)
		log_notice("control socket '%s'", cfg->control);
	log_notice("serving with %u workers, cache %zu bytes", D.n_workers, cfg->cache_size);
}

/* Signals and the secret rotation on the main loop, then run until stopped. */
static void serve(uv_loop_t *loop, const struct config *cfg)
{
	uv_signal_init(loop, &sig_hup);
	uv_signal_init(loop, &sig_term);
	uv_signal_init(loop, &sig_int);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_timer_init(loop, &rotate_timer);
	uv_timer_start(&rotate_timer, on_rotate, SECRET_ROTATE_MS, SECRET_ROTATE_MS);
	/* a signal that came during startup was held (see main): it is handled now */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	log_start(cfg);
	log_starting(false);
	notify_send("READY=1");
	uv_run(loop, UV_RUN_DEFAULT);
}

static void teardown(uv_loop_t *loop)
{
	for (unsigned i = 0; i < D.n_workers; i++)
		worker_join(D.workers[i]);
	dnstap_stop(&D); /* the workers are gone: flush what they queued */
	for (unsigned i = 0; i < D.n_workers; i++)
		worker_free(D.workers[i]);
	free(D.workers);
	free(D.fds);
	free(D.tls_fds);
	listener_tls_free(D.tls);
	fetch_fini(&D);
	ra_free(&D);
	uv_loop_close(loop);
	if (D.cache)
		cache_free(D.cache);
	config_unref(D.pending);
	log_notice("stopped on signal %d", stop_signal);
}

int main(int argc, char **argv)
{
	bool foreground = false, check = false;
	int rc = parse_args(argc, argv, &foreground, &check);
	if (rc >= 0)
		return rc;
	/* a ChaCha20 stream per thread, seeded from the kernel: no getrandom() per upstream ID */
	randombytes_set_implementation(&randombytes_internal_implementation);
	if (sodium_init() < 0) {
		fprintf(stderr, "dns64d: libsodium failed to initialize\n");
		return 1;
	}
	struct config *cfg = load_checked();
	if (!cfg)
		return 1;
	if (check)
		return check_only(cfg);
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM, SIGINT and SIGHUP wait until the handlers are in place (serve), so a stop
	 * during startup still removes the control socket; the workers inherit the mask and never
	 * take these signals */
	sigset_t held;
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &held, NULL);
	log_init(foreground, verbose ? LOG_LEVEL_DEBUG : cfg->log_level);
	log_starting(true);
	metrics_started();
	log_notice("dns64d %s starting with '%s'", DNS64D_VERSION, config_path);
	show_warnings(cfg, false);
	if (setup_daemon(cfg, foreground) < 0 || bind_all(cfg) < 0 || ra_open(&D, cfg) < 0)
		return 1;
	uv_loop_t *loop = uv_default_loop();
	struct control_hooks hooks = {config_path, reload};
	control_set_hook("upstreams", cmd_upstreams, NULL);
	control_set_hook("explain", cmd_explain, NULL);
	/* dnstap after the chroot: its I/O thread connects (and reconnects) inside it */
	if (control_start(&D, loop, cfg, &hooks) < 0 || drop_privileges(cfg) < 0 || dnstap_start(&D, cfg) < 0 ||
	    start_workers(cfg) < 0)
		return 1;
	ra_start(&D, loop);
	serve(loop, cfg);
	teardown(loop);
	return 0;
}
