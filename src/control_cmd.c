/* control_cmd.c - the control commands: status, stats, reload, flush, log level, cache dump and load */
#include "control_int.h"

/* ---- commands ----------------------------------------------------------------------------- */

static struct config *current(void)
{
	return atomic_load(&ctl.d->pending); /* written only by this thread */
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
	control_printf(o, "uptime-seconds: %llu\n", (unsigned long long)((uv_hrtime() - ctl.start_ns) / 1000000000u));
	control_printf(o, "config: %s\n", ctl.hooks.config_path ? ctl.hooks.config_path : cfg->path);
	control_printf(o, "generation: %u\n", cfg->generation);
	control_printf(o, "workers: %u\n", ctl.d->n_workers);
	for (size_t i = 0; i < cfg->n_listen; i++)
		control_printf(o, "listen: %s udp tcp\n",
		               addr_format((const struct sockaddr *)&cfg->listen[i], a, sizeof(a)));
	for (size_t i = 0; i < cfg->n_upstream; i++) {
		char ub[UPSTREAM_FORMAT_MAX];
		control_printf(o, "upstream: %s\n", upstream_spec_format(&cfg->upstream[i], false, ub, sizeof(ub)));
	}
	for (size_t z = 0; z < cfg->n_forward; z++) {
		char name[1024], ub[UPSTREAM_FORMAT_MAX];
		control_printf(o, "forward: %s", config_dname_text(&cfg->forward[z].name, name, sizeof(name)));
		for (size_t i = 0; i < cfg->forward[z].n_upstream; i++)
			control_printf(o, " %s",
			               upstream_spec_format(&cfg->forward[z].upstream[i], false, ub, sizeof(ub)));
		control_printf(o, "\n");
	}
	control_printf(o, "metrics: %s\n",
	               !cfg->has_metrics ? "off"
	               : ctl.http        ? addr_format((const struct sockaddr *)&cfg->metrics, a, sizeof(a))
	                                 : "not listening (see the log)");
	control_printf(o, "control: %s\n", ctl.sock_path ? ctl.sock_path : "-");
	struct nat64_prefix dp;
	char why[256];
	struct network dn = {.family = AF_INET6};
	if (ra_default_prefix(ctl.d, cfg, &dp)) {
		dn.plen = dp.len;
		memcpy(dn.addr, dp.addr, sizeof(dn.addr));
	}
	control_printf(o, "default-prefix: %s (%s)\n", dn.plen ? network_format(&dn, a, sizeof(a)) : "-",
	               ra_describe(ctl.d, cfg, why, sizeof(why)));
	if (ctl.d->cache) {
		struct cache_stats cs;
		cache_get_stats(ctl.d->cache, &cs);
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
	size_t len = 0;
	if (control_metrics(&text, &len) < 0)
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
		for (unsigned i = 0; i < ctl.d->n_workers; i++)
			metrics_reset(&ctl.d->workers[i]->m);
		if (ctl.d->cache)
			cache_reset_stats(ctl.d->cache);
	}
	return 0;
}

static int cmd_reload(void *arg, int argc, char **argv, struct control_out *o)
{
	struct errbuf err = {.len = 0};
	const char *path = ctl.hooks.config_path ? ctl.hooks.config_path : "?";
	if (!ctl.hooks.reload)
		return control_fail(o, "reload is not available");
	ctl.listen_error[0] = 0;
	if (ctl.hooks.reload(&err) < 0) {
		control_printf(o, "%s", err.text);
		if (err.len && err.text[err.len - 1] != '\n')
			control_printf(o, "\n");
		return control_fail(o, "reload of '%s' failed, keeping the old config", path);
	}
	control_printf(o, "reloaded '%s', generation %u\n", path, current()->generation);
	if (ctl.listen_error[0])
		control_printf(o, "warning: %s\n", ctl.listen_error);
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
	size_t len = 0;
	uint16_t type = 0;
	if (parse_name(argv[1], name, &len, o) < 0)
		return -1;
	if (argc == 3 && (type = (uint16_t)ldns_get_rr_type_by_name(argv[2])) == 0)
		return control_fail(o, "bad type '%s'", argv[2]);
	size_t n = ctl.d->cache ? cache_flush_name(ctl.d->cache, name, len, type) : 0;
	control_printf(o, "flushed %zu entries\n", n);
	return 0;
}

static int cmd_flush_zone(void *arg, int argc, char **argv, struct control_out *o)
{
	uint8_t name[DNS_MAX_NAME + 1];
	size_t len = 0;
	if (parse_name(argv[1], name, &len, o) < 0)
		return -1;
	size_t n = ctl.d->cache ? cache_flush_zone(ctl.d->cache, name, len) : 0;
	control_printf(o, "flushed %zu entries\n", n);
	return 0;
}

static int cmd_flush_all(void *arg, int argc, char **argv, struct control_out *o)
{
	struct cache_stats cs = {0};
	if (ctl.d->cache) {
		cache_get_stats(ctl.d->cache, &cs);
		cache_flush(ctl.d->cache);
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
	if (ctl.d->cache)
		cache_walk(ctl.d->cache, copy_entry, &w);
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
	if (rc == 1 && cache_insert(ctl.d->cache, key, klen, value, vlen, now_ms(), ttl) == 0)
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

struct cmd control_cmds[] = {
        {"status", 0, 0, cmd_status, NULL, NULL, "", "version, uptime, config and generation, workers, listeners",
         false, false},
        {"stats", 0, 1, cmd_stats, NULL, NULL, "[--reset]",
         "the metrics counters as 'name{labels} value' lines; --reset zeroes them after printing", false, false},
        {"reload", 0, 0, cmd_reload, NULL, NULL, "", "reload the config and ACL as SIGHUP does", false, false},
        {"flush", 1, 2, cmd_flush, NULL, NULL, "NAME [TYPE]", "drop cached answers for NAME (of TYPE only)", false,
         false},
        {"flush-zone", 1, 1, cmd_flush_zone, NULL, NULL, "NAME", "drop cached answers for NAME and every name under it",
         false, false},
        {"flush-all", 0, 0, cmd_flush_all, NULL, NULL, "", "drop every cached answer", false, false},
        {"upstreams", 0, 0, not_available, NULL, NULL, "", "each upstream's state, RTT, timeouts and last error", true,
         false},
        {"explain", 1, 4, not_available, NULL, NULL, "NAME [TYPE] [--client ADDR]",
         "what the daemon would do with a query, without changing the cache", true, false},
        {"log-level", 1, 1, cmd_log_level, NULL, NULL, "error|warn|info|debug",
         "set the log level until the next reload", false, false},
        {"query-log", 1, 1, cmd_query_log, NULL, NULL, "on|off", "switch the query log until the next reload", false,
         false},
        {"dump-cache", 0, 0, cmd_dump_cache, NULL, NULL, "", "print the cache in text form (dns64d-control: to FILE)",
         false, false},
        {"load-cache", 0, 0, cmd_load_cache, NULL, load_line, "",
         "read a dump after the request line, until end of input (dns64d-control: from FILE)", false, true},
        {"help", 0, 0, cmd_help, NULL, NULL, "", "this list", false, false},
};

const size_t control_n_cmds = sizeof(control_cmds) / sizeof(control_cmds[0]);
#define N_CMDS control_n_cmds
#define cmds   control_cmds

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
