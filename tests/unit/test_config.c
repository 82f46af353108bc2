/* test_config.c - unit tests for config parsing and loading, good and bad example files */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns64d/config.h"
#include "dns64d/dns64.h"

#define CONF_DIR TESTS_DIR "/conf"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in tests/conf starting with prefix and ending with suffix. */
static size_t list_files(const char *prefix, const char *suffix, char ***out)
{
	DIR *d = opendir(CONF_DIR);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), slen = strlen(suffix);

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || len < slen ||
		    strcmp(e->d_name + len - slen, suffix) != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n] = strdup(e->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Does some line of the error text start with prefix and contain fragment? */
static bool has_error(const char *text, const char *prefix, const char *fragment)
{
	const char *line = text;

	while (*line != '\0') {
		const char *eol = strchr(line, '\n');
		size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
		char buf[1024];

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (strncmp(buf, prefix, strlen(prefix)) == 0 && strstr(buf + strlen(prefix), fragment) != NULL)
				return true;
		}
		line += len;
		if (*line == '\n')
			line++;
	}
	return false;
}

/* Check the messages against the "MARKER [FILE:]LINE: fragment" lines of the file text:
 * each must be present and there must be no other message; with required, at least one
 * such line must be there. Returns the number of problems. */
static unsigned check_lines(const char *path, const char *text, const struct errbuf *err, const char *marker,
                            bool required)
{
	unsigned problems = 0, expected = 0;
	const char *p = text;

	while ((p = strstr(p, marker)) != NULL) {
		char spec[512], prefix[1200];
		const char *eol = strchr(p, '\n');
		size_t len;
		char *colon, *fragment;

		p += strlen(marker);
		len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		assert_true(len < sizeof(spec));
		memcpy(spec, p, len);
		spec[len] = '\0';
		expected++;

		/* "7: fragment" names this file; "other.acl:7: fragment" a file beside it */
		colon = strchr(spec, ':');
		assert_non_null(colon);
		if (strspn(spec, "0123456789") == (size_t)(colon - spec)) {
			*colon = '\0';
			snprintf(prefix, sizeof(prefix), "%s:%s:", path, spec);
		} else {
			char *colon2 = strchr(colon + 1, ':');

			assert_non_null(colon2);
			*colon2 = '\0';
			colon = colon2;
			snprintf(prefix, sizeof(prefix), "%s/%s:", CONF_DIR, spec);
		}
		fragment = colon + 1;
		fragment += strspn(fragment, " ");
		if (!has_error(err->text, prefix, fragment)) {
			print_error("%s: no error '%s %s' in:\n%s", path, prefix, fragment, err->text);
			problems++;
		}
	}
	if (expected == 0 && required) {
		print_error("%s: no '%s' line\n", path, marker);
		problems++;
	} else if (err->count != expected) {
		print_error("%s: %u errors, %u expected:\n%s", path, err->count, expected, err->text);
		problems++;
	}
	return problems;
}

static unsigned check_expectations(const char *path, const char *text, const struct errbuf *err)
{
	return check_lines(path, text, err, "# expect: ", true);
}

/* config_load and then the checks dns64d -t adds (not the loop check: that needs the
 * host's addresses; test_loop has it). */
static int load_and_check(const char *path, struct config **cfg, struct errbuf *err)
{
	int rc = config_load(path, cfg, err);

	if (rc == 0 && config_check_system(*cfg, err) < 0) {
		config_unref(*cfg);
		*cfg = NULL;
		rc = -EINVAL;
	}
	return rc;
}

static void test_good_files(void **state)
{
	char **names;
	size_t n = list_files("good-", ".conf", &names);
	unsigned problems = 0;

	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		struct config *cfg = NULL;
		struct errbuf err = {.len = 0};
		int rc;

		snprintf(path, sizeof(path), "%s/%s", CONF_DIR, names[i]);
		rc = load_and_check(path, &cfg, &err);
		if (rc != 0 || err.count != 0) {
			print_error("%s: rc %d:\n%s", path, rc, err.text);
			problems++;
		} else {
			struct errbuf warn = {.len = 0};
			char *text = slurp(path);
			unsigned n_warn = config_warnings(cfg, &warn);

			/* warnings are what "# warning: LINE: fragment" lines say, no more */
			assert_int_equal(n_warn, warn.count);
			problems += check_lines(path, text, &warn, "# warning: ", false);
			free(text);
			assert_non_null(cfg);
			assert_int_equal(atomic_load(&cfg->refs), 1);
			assert_true(cfg->n_listen > 0);
			assert_true(cfg->n_upstream > 0);
			assert_true(cfg->n_exclude > 0);
			/* without an acl directive the loopback default is installed */
			if (cfg->acl_path == NULL)
				assert_int_equal(cfg->acl.n, 2);
			config_unref(cfg);
		}
	}
	free_names(names, n);
	assert_int_equal(problems, 0);
}

static void test_bad_files(void **state)
{
	char **names;
	size_t n = list_files("bad-", ".conf", &names);
	unsigned problems = 0;

	assert_true(n >= 12);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		char *text;
		struct config *cfg = (struct config *)&cfg;
		struct errbuf err = {.len = 0};
		int rc;

		snprintf(path, sizeof(path), "%s/%s", CONF_DIR, names[i]);
		text = slurp(path);
		rc = load_and_check(path, &cfg, &err);
		if (rc != -EINVAL) {
			print_error("%s: rc %d, want -EINVAL\n", path, rc);
			problems++;
			if (rc == 0)
				config_unref(cfg);
		} else {
			assert_null(cfg);
			problems += check_expectations(path, text, &err);
		}
		free(text);
	}
	free_names(names, n);
	assert_int_equal(problems, 0);
}

static void assert_endpoint(const struct sockaddr_storage *ss, const char *want)
{
	char buf[64];

	assert_string_equal(addr_format((const struct sockaddr *)ss, buf, sizeof(buf)), want);
}

static void assert_network(const struct network *n, const char *want)
{
	char buf[64];

	assert_string_equal(network_format(n, buf, sizeof(buf)), want);
}

static void test_defaults(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};
	static const uint8_t wkp[16] = {0x00, 0x64, 0xff, 0x9b};

	assert_int_equal(config_parse("empty.conf", "", &cfg, &err), 0);
	assert_int_equal(err.count, 0);
	assert_int_equal(atomic_load(&cfg->refs), 1);
	assert_string_equal(cfg->path, "empty.conf");
	assert_int_equal(cfg->n_listen, 2);
	assert_endpoint(&cfg->listen[0], "127.0.0.1:53");
	assert_endpoint(&cfg->listen[1], "[::1]:53");
	/* config_parse reads no file: upstreams and the ACL come with config_load */
	assert_int_equal(cfg->n_upstream, 0);
	assert_null(cfg->acl_path);
	assert_int_equal(cfg->acl.n, 0);
	assert_memory_equal(cfg->prefixes[0].p.addr, wkp, 16);
	assert_int_equal(cfg->prefixes[0].p.len, 96);
	assert_int_equal(cfg->timeout_ms, 2000);
	assert_int_equal(cfg->synth_on, SYNTH_ON_ANY_ERROR);
	assert_int_equal(cfg->n_exclude, 1);
	assert_network(&cfg->exclude[0], "::ffff:0.0.0.0/96");
	assert_int_equal(cfg->n_mapped, 0);
	assert_int_equal(cfg->n_synth_all, 0);
	assert_int_equal(cfg->n_no_synth, 0);
	assert_int_equal(cfg->cache_size, 64u << 20);
	assert_int_equal(cfg->workers, 0);
	assert_int_equal(cfg->max_inflight, 4096);
	assert_int_equal(cfg->tcp_clients, 256);
	assert_int_equal(cfg->tcp_idle_timeout_ms, 10000);
	assert_true(cfg->cookies);
	assert_null(cfg->user);
	assert_null(cfg->chroot);
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	assert_false(cfg->log_queries);
	assert_false(cfg->has_metrics);
	assert_int_equal(cfg->tcp_clients_per_host, 16);
	assert_int_equal(cfg->upstream_selection, 0);
	assert_int_equal(cfg->max_stale_s, 86400);
	assert_int_equal(cfg->stale_client_timeout_ms, 1800);
	assert_int_equal(cfg->stale_answer_ttl_s, 30);
	assert_null(cfg->identity);
	assert_null(cfg->version);
	assert_false(cfg->hide_identity);
	assert_false(cfg->hide_version);
	assert_null(cfg->control);
	assert_int_equal(config_line(cfg, "listen"), 0);
	config_unref(cfg);
}

static void test_full_values(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};
	static const uint8_t example_net[] = "\7example\3net";
	static const uint8_t v4only[] = "\6v4only\7example";
	static const uint8_t intranet[] = "\10intranet\7example";

	assert_int_equal(config_load(CONF_DIR "/good-full.conf", &cfg, &err), 0);
	assert_int_equal(cfg->n_listen, 3);
	assert_endpoint(&cfg->listen[0], "127.0.0.1:5353");
	assert_endpoint(&cfg->listen[1], "[::1]:5353");
	assert_endpoint(&cfg->listen[2], "127.0.0.2:53");
	assert_int_equal(cfg->n_upstream, 3);
	assert_endpoint(&cfg->upstream[0].addr, "192.0.2.1:53");
	assert_endpoint(&cfg->upstream[1].addr, "[2001:db8::53]:5300");
	assert_endpoint(&cfg->upstream[2].addr, "[2001:db8::54]:53");
	assert_string_equal(cfg->acl_path, CONF_DIR "/good-full.acl");
	assert_int_equal(cfg->acl.n, 11);
	assert_int_equal(cfg->prefixes[0].p.len, 48);
	assert_int_equal(cfg->prefixes[0].p.addr[5], 0x64);
	assert_int_equal(cfg->timeout_ms, 1500);
	assert_int_equal(cfg->synth_on, SYNTH_ON_NODATA);
	assert_int_equal(cfg->n_exclude, 2);
	assert_network(&cfg->exclude[0], "::ffff:0.0.0.0/96");
	assert_network(&cfg->exclude[1], "2001:db8:bad::/48");
	assert_int_equal(cfg->n_mapped, 2);
	assert_network(&cfg->mapped[0].net, "192.0.2.0/24");
	assert_network(&cfg->mapped[1].net, "198.51.100.0/24");
	/* names are stored as lowercased, absolute wire format */
	assert_int_equal(cfg->n_synth_all, 2);
	assert_int_equal(cfg->synth_all[0].len, sizeof(example_net));
	assert_memory_equal(cfg->synth_all[0].wire, example_net, sizeof(example_net));
	assert_int_equal(cfg->synth_all[1].len, sizeof(v4only));
	assert_memory_equal(cfg->synth_all[1].wire, v4only, sizeof(v4only));
	assert_int_equal(cfg->n_no_synth, 1);
	assert_int_equal(cfg->no_synth[0].len, sizeof(intranet));
	assert_memory_equal(cfg->no_synth[0].wire, intranet, sizeof(intranet));
	assert_int_equal(cfg->cache_size, 128u << 20);
	assert_int_equal(cfg->workers, 4);
	assert_int_equal(cfg->max_inflight, 1000);
	assert_int_equal(cfg->tcp_clients, 64);
	assert_int_equal(cfg->tcp_idle_timeout_ms, 5000);
	assert_false(cfg->cookies);
	assert_string_equal(cfg->user, "nobody");
	assert_string_equal(cfg->chroot, "/tmp");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_true(cfg->log_queries);
	assert_true(cfg->has_metrics);
	assert_endpoint(&cfg->metrics, "127.0.0.1:9153");
	config_unref(cfg);
}

static void test_new_values(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_load(CONF_DIR "/good-serve-stale.conf", &cfg, &err), 0);
	assert_int_equal(cfg->upstream_selection, 1);
	assert_int_equal(cfg->tcp_clients_per_host, 4);
	assert_int_equal(cfg->max_stale_s, 2 * 86400);
	assert_int_equal(cfg->stale_client_timeout_ms, 500);
	assert_int_equal(cfg->stale_answer_ttl_s, 60);
	assert_int_equal(config_line(cfg, "upstream"), 2);
	assert_int_equal(config_line(cfg, "max-stale"), 6);
	assert_int_equal(config_line(cfg, "no-such-directive"), 0);
	config_unref(cfg);

	assert_int_equal(config_load(CONF_DIR "/good-chaos.conf", &cfg, &err), 0);
	assert_string_equal(cfg->identity, "resolver1.example.net");
	assert_string_equal(cfg->version, "dns64d, built by ops");
	assert_false(cfg->hide_identity);
	assert_true(cfg->hide_version);
	assert_string_equal(cfg->control, "/run/dns64d/control");
	config_unref(cfg);

	assert_int_equal(config_load(CONF_DIR "/good-hash-in-value.conf", &cfg, &err), 0);
	assert_string_equal(cfg->identity, "ns#1.example");
	assert_string_equal(cfg->version, "dns64d # test build");
	config_unref(cfg);
	assert_int_equal(err.count, 0);
}

/* max-stale: plain seconds or s, m, h, d; the range applies to the converted value. */
static void test_time_suffix(void **state)
{
	static const struct {
		const char *arg;
		int rc;
		unsigned want;
	} cases[] = {
	        {"0", 0, 0},
	        {"90", 0, 90},
	        {"90s", 0, 90},
	        {"5m", 0, 300},
	        {"2h", 0, 7200},
	        {"7d", 0, 604800},
	        {"604800", 0, 604800},
	        {"8d", -EINVAL, 0},
	        {"604801", -EINVAL, 0},
	        {"d", -EINVAL, 0},
	        {"1w", -EINVAL, 0},
	        {"-1", -EINVAL, 0},
	        {"1.5h", -EINVAL, 0},
	        {"99999999999d", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		struct config *cfg = NULL;
		struct errbuf err = {.len = 0};

		snprintf(text, sizeof(text), "max-stale %s", cases[i].arg);
		assert_int_equal(config_parse("x.conf", text, &cfg, &err), cases[i].rc);
		if (cfg != NULL) {
			assert_int_equal(cfg->max_stale_s, cases[i].want);
			config_unref(cfg);
		}
	}
}

static void test_table(void **state)
{
	size_t n;
	const struct config_directive *t = config_directives(&n);

	assert_true(n >= 32 && n <= CONFIG_DIRECTIVES_MAX);
	for (size_t i = 0; i < n; i++) {
		bool list = t[i].type == CONFIG_ENDPOINTS || t[i].type == CONFIG_NETWORKS ||
		            t[i].type == CONFIG_DOMAINS || t[i].type == CONFIG_LISTEN_TLS ||
		            t[i].type == CONFIG_WORDSET || t[i].type == CONFIG_IFNAMES ||
		            t[i].type == CONFIG_UPSTREAMS || t[i].type == CONFIG_FORWARDS ||
		            t[i].type == CONFIG_STRINGS || t[i].type == CONFIG_MAPPED || t[i].type == CONFIG_PREFIXES;

		assert_ptr_equal(config_directive(t[i].name), &t[i]); /* names are unique */
		assert_int_equal(list, (t[i].flags & CONFIG_REPEATABLE) != 0);
		if (t[i].type == CONFIG_BOOL || t[i].type == CONFIG_KEYWORD || t[i].type == CONFIG_WORDSET)
			assert_non_null(t[i].words);
		if (t[i].type == CONFIG_UINT)
			assert_true(t[i].min <= t[i].max);
	}
	assert_null(config_directive("bogus"));
	/* what a reload cannot change */
	assert_int_equal(config_directive("listen")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("workers")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("cache-size")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("user")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("prefix-from-ra")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("chroot")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("listen-tls")->flags & CONFIG_RELOADABLE, 0);
	assert_int_not_equal(config_directive("metrics")->flags & CONFIG_RELOADABLE, 0);
	assert_int_not_equal(config_directive("control")->flags & CONFIG_RELOADABLE, 0);
	assert_int_equal(config_directive("dnstap-socket")->flags & CONFIG_RELOADABLE, 0);
	assert_int_not_equal(config_directive("dnstap-messages")->flags & CONFIG_RELOADABLE, 0);
}

static void collect(const struct config_directive *d, void *arg)
{
	char *names = arg;

	strcat(names, d->name);
	strcat(names, " ");
}

static void test_reload_changes(void **state)
{
	static const struct {
		const char *old, *cur, *want;
	} cases[] = {
	        {"", "", ""},
	        {"listen 127.0.0.1:53\nlisten [::1]:53", "", ""}, /* the default written out */
	        {"", "listen 127.0.0.1:5300", "listen "},
	        {"listen 127.0.0.1\nlisten 127.0.0.2", "listen 127.0.0.2\nlisten 127.0.0.1", "listen "},
	        {"workers 2\ncache-size 1m", "workers 3\ncache-size 1024k", "workers "},
	        {"user nobody", "user daemon\nchroot /var/empty", "user chroot "},
	        {"prefix-from-ra eth0", "\n\nprefix-from-ra eth0", ""}, /* only the line moved */
	        {"prefix-from-ra eth0", "prefix-from-ra eth1", "prefix-from-ra "},
	        {"timeout 100\nmetrics 127.0.0.1:9153\ncontrol /run/c\nlog-level debug\nupstream 192.0.2.1",
	         "metrics 127.0.0.1:9154\nupstream-selection ordered\nversion x y", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *a, *b;
		struct errbuf err = {.len = 0};
		char names[256] = "";
		unsigned n;

		assert_int_equal(config_parse("a.conf", cases[i].old, &a, &err), 0);
		assert_int_equal(config_parse("b.conf", cases[i].cur, &b, &err), 0);
		n = config_reload_changes(a, b, collect, names);
		assert_string_equal(names, cases[i].want);
		assert_int_equal(n, config_reload_changes(b, a, NULL, NULL));
		config_unref(a);
		config_unref(b);
	}
}

/* -t -v output parses back to the same value for every directive. */

/* The prefix lines in order, each with its own options or the global ones; ACL prefixes
 * that name a prefix line get its options, others the global ones. */
static void test_prefix_lines(void **state)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	const struct synth_prefix *p, *set;
	size_t n;
	uint8_t want[16];

	assert_int_equal(config_load(CONF_DIR "/good-multi-prefix.conf", &cfg, &err), 0);
	assert_int_equal(cfg->n_prefixes, 4);
	p = cfg->prefixes;
	assert_int_equal(p[0].p.len, 96);
	assert_int_equal(p[0].own, 0);
	assert_ptr_equal(p[0].mapped, cfg->mapped); /* the global ones */
	assert_int_equal(p[0].n_mapped, 2);
	assert_true(p[0].mapped[0].negate);
	assert_false(p[0].mapped[1].negate);
	assert_int_equal(p[0].mapped[1].net.plen, 0);
	/* line 4: own suffix, mapped (negated first), exclude */
	assert_int_equal(p[1].own, PREFIX_OWN_SUFFIX | PREFIX_OWN_MAPPED | PREFIX_OWN_EXCLUDE);
	assert_int_equal(p[1].line, 4);
	assert_int_equal(inet_pton(AF_INET6, "::ff:ffff", want), 1);
	assert_memory_equal(p[1].p.suffix, want, 16);
	assert_int_equal(p[1].n_mapped, 2);
	assert_true(p[1].mapped[0].negate);
	assert_int_equal(p[1].n_exclude, 2);
	assert_int_equal(p[1].exclude[0].plen, 48);
	/* line 5: own mapped, global exclude; a /96 takes no global suffix */
	assert_int_equal(p[2].own, PREFIX_OWN_MAPPED);
	assert_ptr_equal(p[2].exclude, cfg->exclude);
	assert_memory_equal(p[2].p.suffix, (uint8_t[16]){0}, 16);
	/* line 6: the /32 takes the global suffix ::1 */
	assert_int_equal(p[3].p.suffix[15], 1);
	assert_true(cfg->recursive_only);
	assert_false(cfg->break_dnssec);

	/* 192.0.2.1: the rule names line 4's prefix, which keeps its options, then the WKP */
	uint8_t ip[4] = {192, 0, 2, 1};
	set = config_prefix_set(cfg, acl_match(&cfg->acl, AF_INET, ip), &n);
	assert_int_equal(n, 2);
	assert_int_equal(set[0].line, 4);
	assert_int_equal(set[0].own, p[1].own);
	assert_memory_equal(set[0].p.suffix, p[1].p.suffix, 16);
	assert_int_equal(set[1].p.len, 96);
	/* 198.51.100.7: filter-a with the default set */
	ip[0] = 198, ip[1] = 51, ip[2] = 100, ip[3] = 7;
	assert_true(acl_match(&cfg->acl, AF_INET, ip)->filter_a);
	set = config_prefix_set(cfg, acl_match(&cfg->acl, AF_INET, ip), &n);
	assert_ptr_equal(set, cfg->prefixes);
	assert_int_equal(n, 4);
	/* 203.0.113.1: a prefix of no prefix line: the global mapped and suffix */
	ip[0] = 203, ip[1] = 0, ip[2] = 113, ip[3] = 1;
	set = config_prefix_set(cfg, acl_match(&cfg->acl, AF_INET, ip), &n);
	assert_int_equal(n, 1);
	assert_int_equal(set[0].line, 0);
	assert_int_equal(set[0].own, 0);
	assert_ptr_equal(set[0].mapped, cfg->mapped);
	assert_int_equal(set[0].p.suffix[15], 1);
	config_unref(cfg);

	/* defaults: the WKP alone, recursive-only no, break-dnssec yes */
	assert_int_equal(config_parse("x.conf", "upstream 127.0.0.1\n", &cfg, &err), 0);
	assert_int_equal(cfg->n_prefixes, 1);
	assert_true(dns64_prefix_is_wkp(&cfg->prefixes[0].p));
	assert_false(cfg->recursive_only);
	assert_true(cfg->break_dnssec);
	assert_false(cfg->has_suffix);
	config_unref(cfg);
}

static void test_print_round_trip(void **state)
{
	static const char *const files[] = {"good-full.conf",
	                                    "good-chaos.conf",
	                                    "good-serve-stale.conf",
	                                    "good-hash-in-value.conf",
	                                    "good-minimal.conf",
	                                    "parse-listen-tls.conf",
	                                    "good-prefix-from-ra-only.conf",
	                                    "good-tls-upstream.conf",
	                                    "good-forward.conf",
	                                    "good-local-data.conf",
	                                    "good-multi-prefix.conf"};

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[512], *text = NULL;
		struct config *cfg, *back;
		struct errbuf err = {.len = 0};
		size_t n;
		const struct config_directive *t = config_directives(&n);

		snprintf(path, sizeof(path), "%s/%s", CONF_DIR, files[f]);
		assert_int_equal(config_load(path, &cfg, &err), 0);
		assert_int_equal(config_print(cfg, &text), 0);
		for (size_t i = 0; i < n; i++) /* every directive is on a line of its own */
			assert_non_null(strstr(text, t[i].name));
		if (config_parse("printed.conf", text, &back, &err) != 0)
			fail_msg("%s printed:\n%s\nerrors:\n%s", files[f], text, err.text);
		for (size_t i = 0; i < n; i++)
			if (config_value_changed(&t[i], cfg, back))
				fail_msg("%s: '%s' differs after printing:\n%s", files[f], t[i].name, text);
		free(text);
		config_unref(cfg);
		config_unref(back);
	}
}

static void test_check_system(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_parse("x.conf", "upstream 127.0.0.1\nuser root\nchroot /", &cfg, &err), 0);
	assert_int_equal(config_check_system(cfg, &err), 0);
	config_unref(cfg);
	assert_int_equal(config_parse("x.conf", "\nuser no-such-user-dns64d\nchroot " TESTS_DIR "/conf/good-full.conf",
	                              &cfg, &err),
	                 0);
	assert_int_equal(config_check_system(cfg, &err), -EINVAL);
	assert_string_equal(err.text, "x.conf:2: unknown user 'no-such-user-dns64d'\n"
	                              "x.conf:3: chroot '" TESTS_DIR "/conf/good-full.conf' is not a directory\n");
	config_unref(cfg);
}

static void endpoint(const char *text, struct sockaddr_storage *ss)
{
	const char *why;

	assert_int_equal(addr_parse_endpoint(text, 53, ss, &why), 0);
}

/* The loop check with a given list of this host's addresses. */
static void test_loop(void **state)
{
	static const struct {
		const char *listen, *upstream;
		bool loops;
	} cases[] = {
	        /* a specific listen address: only that address and port loop */
	        {"127.0.0.1:5300", "127.0.0.1:5300", true},
	        {"127.0.0.1:5300", "127.0.0.1:53", false},
	        {"127.0.0.1:5300", "127.0.0.2:5300", false},
	        {"127.0.0.1:5300", "192.0.2.7:5300", false},
	        {"[::1]:5300", "[::1]:5300", true},
	        {"[::1]:5300", "::ffff:127.0.0.1", false},
	        {"127.0.0.1:53", "::ffff:127.0.0.1", true}, /* mapped: the same IPv4 socket */
	        /* a wildcard: this host's addresses on that port loop, others do not */
	        {"0.0.0.0:53", "192.0.2.1:53", false}, /* the LAN router */
	        {"0.0.0.0:53", "192.168.1.254", false},
	        {"0.0.0.0:53", "192.0.2.7:53", true}, /* an interface address (local[] below) */
	        {"0.0.0.0:53", "192.0.2.7:5353", false},
	        {"0.0.0.0:53", "127.0.0.1:53", true},
	        {"0.0.0.0:53", "127.1.2.3:53", true}, /* all of 127/8 is this host */
	        {"0.0.0.0:53", "0.0.0.0:53", true},
	        {"0.0.0.0:53", "[2001:db8::7]:53", false}, /* IPv6 listeners are V6ONLY: no cross-family */
	        {"[::]:53", "[2001:db8::7]:53", true},
	        {"[::]:53", "[2001:db8::8]:53", false},
	        {"[::]:53", "[::1]:53", true},
	        {"[::]:53", "[fe80::7%1]:53", true},
	        {"[::]:53", "192.0.2.7:53", false},
	        {"[::]:5300", "[2001:db8::7]:53", false},
	};
	struct sockaddr_storage local[4];

	endpoint("192.0.2.7", &local[0]);
	endpoint("2001:db8::7", &local[1]);
	endpoint("[fe80::7%1]", &local[2]);
	endpoint("127.0.0.1", &local[3]);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		struct config *cfg;
		struct errbuf err = {.len = 0};

		snprintf(text, sizeof(text), "listen %s\nlisten 127.0.0.9:99\nupstream 198.51.100.1\nupstream %s\n",
		         cases[i].listen, cases[i].upstream);
		assert_int_equal(config_parse("loop.conf", text, &cfg, &err), 0);
		if (config_check_loop(cfg, local, 4, &err) != (cases[i].loops ? -EINVAL : 0))
			fail_msg("listen %s, upstream %s: want %s, got '%s'", cases[i].listen, cases[i].upstream,
			         cases[i].loops ? "a loop" : "no loop", err.text);
		if (cases[i].loops)
			assert_non_null(strstr(err.text, "loop.conf: upstream '"));
		assert_non_null(cases[i].loops ? strstr(err.text, "queries would loop\n") : err.text);
		config_unref(cfg);
		/* the same upstream in a forward zone */
		snprintf(text, sizeof(text),
		         "listen %s\nlisten 127.0.0.9:99\nupstream 198.51.100.1\nforward home.arpa 198.51.100.2 %s\n",
		         cases[i].listen, cases[i].upstream);
		err = (struct errbuf){.len = 0};
		assert_int_equal(config_parse("loop.conf", text, &cfg, &err), 0);
		if (config_check_loop(cfg, local, 4, &err) != (cases[i].loops ? -EINVAL : 0))
			fail_msg("listen %s, forward upstream %s: want %s, got '%s'", cases[i].listen,
			         cases[i].upstream, cases[i].loops ? "a loop" : "no loop", err.text);
		if (cases[i].loops)
			assert_non_null(strstr(err.text, "loop.conf:4: forward 'home.arpa.' upstream '"));
		config_unref(cfg);
	}
}

/* Wire form of a presentation name, for the lookups below. */
static size_t wire_name(const char *text, uint8_t *out)
{
	size_t n = 0;

	for (const char *p = text; *p != '\0';) {
		size_t l = strcspn(p, ".");

		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	return n;
}

/* The longest matching forward zone wins, whatever the order of the lines, in any case. */
static void test_forward_match(void **state)
{
	static const char *const orders[] = {
	        "forward a.test 192.0.2.1\nforward b.a.test 192.0.2.2 192.0.2.3\nforward 168.192.in-addr.arpa "
	        "192.0.2.1\nforward c.b.a.test tls://192.0.2.4#dns.example\n",
	        "forward c.b.a.test tls://192.0.2.4#dns.example\nforward 168.192.in-addr.arpa 192.0.2.1\nforward "
	        "B.A.TEST. 192.0.2.2 192.0.2.3\nforward A.Test 192.0.2.1\n",
	};
	static const struct {
		const char *name, *zone; /* zone NULL: the global list */
	} cases[] = {
	        {"a.test", "a.test."},
	        {"www.a.test", "a.test."},
	        {"WWW.A.TEST", "a.test."},
	        {"b.a.test", "b.a.test."},
	        {"x.y.b.a.test", "b.a.test."},
	        {"c.b.a.test", "c.b.a.test."},
	        {"www.c.b.a.test", "c.b.a.test."},
	        {"xb.a.test", "a.test."},
	        {"test", NULL},
	        {"xa.test", NULL},
	        {"a.test.example", NULL},
	        {"", NULL},
	        {"20.1.168.192.in-addr.arpa", "168.192.in-addr.arpa."},
	        {"1.169.192.in-addr.arpa", NULL},
	};

	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		char text[512];
		struct config *cfg;
		struct errbuf err = {.len = 0};

		snprintf(text, sizeof(text), "upstream 192.0.2.53\n%s", orders[o]);
		if (config_parse("fwd.conf", text, &cfg, &err) != 0)
			fail_msg("%s", err.text);
		assert_int_equal(cfg->n_forward, 4);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint8_t w[256];
			size_t n = wire_name(cases[i].name, w);
			const struct forward_zone *z = config_forward_match(cfg, w, n);
			char got[1024] = "(none)";

			if (z != NULL)
				config_dname_text(&z->name, got, sizeof(got));
			if (cases[i].zone == NULL ? z != NULL : z == NULL || strcmp(got, cases[i].zone) != 0)
				fail_msg("order %zu: '%s' matched %s, want %s", o, cases[i].name, got,
				         cases[i].zone ? cases[i].zone : "(none)");
		}
		{
			uint8_t w[256];
			size_t n = wire_name("x.b.a.test", w);
			const struct forward_zone *z = config_forward_match(cfg, w, n);

			assert_int_equal(z->n_upstream, 2);
			assert_endpoint(&z->upstream[1].addr, "192.0.2.3:53");
			n = wire_name("c.b.a.test", w);
			z = config_forward_match(cfg, w, n);
			assert_int_equal(z->upstream[0].proto, UPSTREAM_TLS);
			assert_string_equal(z->upstream[0].auth_name, "dns.example");
		}
		config_unref(cfg);
	}
	/* the root zone takes every name the others do not */
	{
		struct config *cfg;
		struct errbuf err = {.len = 0};
		uint8_t w[256];
		size_t n = wire_name("www.example", w);

		assert_int_equal(
		        config_parse("fwd.conf", "forward . 192.0.2.9\nforward a.test 192.0.2.1\n", &cfg, &err), 0);
		assert_non_null(config_forward_match(cfg, w, n));
		assert_int_equal(config_forward_match(cfg, w, n)->name.len, 1);
		n = wire_name("a.test", w);
		assert_int_equal(config_forward_match(cfg, w, n)->name.len, 8);
		config_unref(cfg);
	}
	/* without forward lines: NULL */
	{
		struct config *cfg;
		struct errbuf err = {.len = 0};
		uint8_t w[256];
		size_t n = wire_name("www.example", w);

		assert_int_equal(config_parse("fwd.conf", "upstream 192.0.2.9\n", &cfg, &err), 0);
		assert_null(config_forward_match(cfg, w, n));
		config_unref(cfg);
	}
}

/* The lists an upstream is on, as the control socket and metrics show them. */
static void test_upstream_zones(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};
	struct upstream u;
	const char *why;
	char buf[256];

	assert_int_equal(config_parse("z.conf",
	                              "upstream 192.0.2.1\nupstream tls://192.0.2.2#dns.example\n"
	                              "forward home.arpa 192.0.2.1 192.0.2.3\nforward 168.192.in-addr.arpa 192.0.2.3\n",
	                              &cfg, &err),
	                 0);
	assert_int_equal(upstream_spec_parse("192.0.2.1", 53, &u, &why), 0);
	assert_string_equal(config_upstream_zones(cfg, &u, buf, sizeof(buf)), "default,home.arpa.");
	assert_int_equal(upstream_spec_parse("192.0.2.3", 53, &u, &why), 0);
	assert_string_equal(config_upstream_zones(cfg, &u, buf, sizeof(buf)), "home.arpa.,168.192.in-addr.arpa.");
	assert_int_equal(upstream_spec_parse("tls://192.0.2.2#dns.example", 53, &u, &why), 0);
	assert_string_equal(config_upstream_zones(cfg, &u, buf, sizeof(buf)), "default");
	assert_int_equal(upstream_spec_parse("192.0.2.2", 53, &u, &why), 0); /* plain on that address: another */
	assert_string_equal(config_upstream_zones(cfg, &u, buf, sizeof(buf)), "");
	config_unref(cfg);
}

static void test_shipped_config(void **state)
{
	const char *path = TESTS_DIR "/../etc/dns64d.conf";
	char *text = slurp(path);
	struct config *cfg;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_parse(path, text, &cfg, &err), 0);
	assert_int_equal(err.count, 0);
	assert_string_equal(cfg->acl_path, TESTS_DIR "/../etc/dns64d.acl");
	assert_int_equal(cfg->n_listen, 2);
	config_unref(cfg);
	free(text);
}

struct acl_path_case {
	const char *conf;
	const char *text;
	const char *want;
};

static const struct acl_path_case acl_path_cases[] = {
        {"/etc/dns64d/dns64d.conf", "acl dns64d.acl", "/etc/dns64d/dns64d.acl"},
        {"/etc/dns64d/dns64d.conf", "acl /srv/x.acl", "/srv/x.acl"},
        {"/etc/dns64d/dns64d.conf", "acl sub/x.acl", "/etc/dns64d/sub/x.acl"},
        {"dns64d.conf", "acl x.acl", "x.acl"},
        {"./a/b.conf", "acl x.acl", "./a/x.acl"},
        {"/dns64d.conf", "acl x.acl", "/x.acl"},
};

/* listen-tls: port 853 by default, files relative to the config's directory, printed back. */
static void test_listen_tls(void **state)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	char *text = NULL;

	assert_int_equal(config_parse("/etc/dns64d/dns64d.conf",
	                              "listen-tls 192.0.2.53 dot.pem private/dot.key\n"
	                              "listen-tls [2001:db8::53]:8853 /srv/c.pem /srv/k.pem # comment\n",
	                              &cfg, &err),
	                 0);
	assert_int_equal(cfg->n_listen_tls, 2);
	assert_endpoint(&cfg->listen_tls[0].addr, "192.0.2.53:853");
	assert_string_equal(cfg->listen_tls[0].cert, "/etc/dns64d/dot.pem");
	assert_string_equal(cfg->listen_tls[0].key, "/etc/dns64d/private/dot.key");
	assert_int_equal(cfg->listen_tls[0].line, 1);
	assert_endpoint(&cfg->listen_tls[1].addr, "[2001:db8::53]:8853");
	assert_string_equal(cfg->listen_tls[1].key, "/srv/k.pem");
	assert_null(cfg->ddr_target);
	assert_int_equal(config_print(cfg, &text), 0);
	assert_non_null(strstr(text, "listen-tls 192.0.2.53:853 /etc/dns64d/dot.pem /etc/dns64d/private/dot.key\n"));
	assert_non_null(strstr(text, "# ddr-target (not set: "));
	free(text);
	config_unref(cfg);
}

static void test_acl_path(void **state)
{
	for (size_t i = 0; i < sizeof(acl_path_cases) / sizeof(acl_path_cases[0]); i++) {
		const struct acl_path_case *c = &acl_path_cases[i];
		struct config *cfg;
		struct errbuf err = {.len = 0};

		assert_int_equal(config_parse(c->conf, c->text, &cfg, &err), 0);
		assert_string_equal(cfg->acl_path, c->want);
		assert_int_equal(cfg->acl.n, 0);
		config_unref(cfg);
	}
}

static void test_parse_errors_inline(void **state)
{
	struct config *cfg = (struct config *)&cfg;
	struct errbuf err = {.len = 0};

	/* all errors of the text, in line order, and no config */
	assert_int_equal(config_parse("x.conf",
	                              "listen 127.0.0.1\n"
	                              "\n"
	                              "timeout 60001\n"
	                              "bogus\n"
	                              "cache-size 1t\n"
	                              "workers 1 2\n"
	                              "listen 127.0.0.1:53\n",
	                              &cfg, &err),
	                 -EINVAL);
	assert_null(cfg);
	assert_int_equal(err.count, 5);
	assert_string_equal(err.text, "x.conf:3: timeout '60001' out of range (1..60000)\n"
	                              "x.conf:4: unknown directive 'bogus'\n"
	                              "x.conf:5: bad size '1t' for cache-size (a number with optional k, m or g)\n"
	                              "x.conf:6: extra argument '2' for 'workers'\n"
	                              "x.conf:7: duplicate listen '127.0.0.1:53' (also on line 1)\n");
	assert_int_equal(err.len, strlen(err.text));
}

static void test_load_unreadable(void **state)
{
	struct config *cfg = (struct config *)&cfg;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_load(CONF_DIR "/no-such-file.conf", &cfg, &err), -ENOENT);
	assert_null(cfg);
	assert_int_equal(err.count, 1);
	assert_string_equal(err.text, CONF_DIR "/no-such-file.conf: cannot read: No such file or directory\n");

	err.len = 0;
	err.count = 0;
	assert_int_equal(config_load(CONF_DIR, &cfg, &err), -EISDIR);
	assert_null(cfg);
	assert_int_equal(err.count, 1);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/test_config_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Without an upstream directive the system's resolv.conf is used; which outcome depends on
 * the machine, but it must be one of the two, with the documented message. */
static void test_load_resolv_fallback(void **state)
{
	char *path = write_temp("timeout 100\n");
	struct config *cfg;
	struct errbuf err = {.len = 0};
	int rc = config_load(path, &cfg, &err);
	FILE *f = fopen("/etc/resolv.conf", "r");
	struct config *probe;
	char *text = NULL;
	size_t system_ns = 0;

	if (f != NULL) {
		fclose(f);
		text = slurp("/etc/resolv.conf");
	}
	assert_int_equal(config_parse("probe.conf", "", &probe, NULL), 0);
	if (text != NULL)
		assert_int_equal(config_upstreams_from_resolv(probe, text), 0);
	system_ns = probe->n_upstream;
	config_unref(probe);
	free(text);

	if (system_ns > 0) {
		assert_int_equal(rc, 0);
		assert_int_equal(cfg->n_upstream, system_ns);
		assert_int_equal(cfg->acl.n, 2); /* the default ACL */
		config_unref(cfg);
	} else {
		char want[512];

		assert_int_equal(rc, -EINVAL);
		snprintf(want, sizeof(want), "%s: no upstream given and none found in '/etc/resolv.conf'\n", path);
		assert_string_equal(err.text, want);
	}
	unlink(path);
	free(path);

	/* "forward ." takes every name: no upstream list needed, resolv.conf is not read */
	path = write_temp("forward . 192.0.2.9\nforward home.arpa 192.168.1.1\n");
	err = (struct errbuf){.len = 0};
	assert_int_equal(config_load(path, &cfg, &err), 0);
	assert_int_equal(cfg->n_upstream, 0);
	assert_int_equal(cfg->n_forward, 2);
	config_unref(cfg);
	unlink(path);
	free(path);
}

static void test_resolv(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_parse("x.conf", "upstream 192.0.2.9:5300", &cfg, &err), 0);
	assert_int_equal(config_upstreams_from_resolv(cfg, "# generated\n"
	                                                   "; another comment style\n"
	                                                   "search example.com\n"
	                                                   "nameserver 192.0.2.53\n"
	                                                   "   nameserver\t2001:db8::53   # trailing\n"
	                                                   "nameserver fe80::1%1\n"
	                                                   "nameserver 192.0.2.54:5353\n"
	                                                   "nameserver [2001:db8::54]:53\n"
	                                                   "nameserver not-an-address\n"
	                                                   "nameserver\n"
	                                                   "#nameserver 192.0.2.99\n"
	                                                   "nameservers 192.0.2.98\n"
	                                                   "options edns0 trust-ad\n"
	                                                   "nameserver 198.51.100.1"),
	                 0);
	assert_int_equal(cfg->n_upstream, 5);
	assert_endpoint(&cfg->upstream[0].addr, "192.0.2.9:5300");
	assert_endpoint(&cfg->upstream[1].addr, "192.0.2.53:53");
	assert_endpoint(&cfg->upstream[2].addr, "[2001:db8::53]:53");
	assert_endpoint(&cfg->upstream[3].addr, "[fe80::1%1]:53");
	assert_endpoint(&cfg->upstream[4].addr, "198.51.100.1:53");
	config_unref(cfg);
}

struct size_case {
	const char *in;
	int rc;
	size_t want;
};

static const struct size_case size_cases[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"4096", 0, 4096},
        {"1k", 0, 1024},
        {"64m", 0, (size_t)64 << 20},
        {"64M", 0, (size_t)64 << 20},
        {"2g", 0, (size_t)2 << 30},
        {"0m", 0, 0},
        {"", -EINVAL, 0},
        {"m", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"+1", -EINVAL, 0},
        {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0},
        {"1t", -EINVAL, 0},
        {"1kb", -EINVAL, 0},
        {"1.5m", -EINVAL, 0},
        {"0x10", -EINVAL, 0},
        {"99999999999999999999999", -EINVAL, 0},
        {"18446744073709551615", 0, SIZE_MAX},
        {"18446744073709551616", -EINVAL, 0},
        {"17179869184g", -EINVAL, 0},
};

static void test_size_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		size_t v = 12345;
		int rc = config_parse_size(c->in, &v);

		if (rc != c->rc || (rc == 0 && v != c->want)) {
			print_error("'%s': rc %d value %zu\n", c->in, rc, v);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_errbuf(void **state)
{
	struct errbuf err = {.len = 0};

	errbuf_add(&err, "a:%d: %s", 1, "first");
	assert_string_equal(err.text, "a:1: first\n");
	assert_int_equal(err.count, 1);
	/* fill far past the buffer: it stays terminated, within bounds, and counts all */
	for (int i = 0; i < 500; i++)
		errbuf_add(&err, "file.conf:%d: a long enough message to fill the buffer", i);
	assert_int_equal(err.count, 501);
	assert_true(err.len < sizeof(err.text));
	assert_int_equal(strlen(err.text), err.len);
	assert_int_equal(err.text[err.len - 1], '\n');
	errbuf_add(NULL, "ignored %d", 1);
}

static void *ref_worker(void *arg)
{
	struct config *cfg = arg;

	for (int i = 0; i < 100000; i++)
		config_unref(config_ref(cfg));
	return NULL;
}

static void test_refcount(void **state)
{
	struct config *cfg;
	struct errbuf err = {.len = 0};
	pthread_t t[4];

	assert_int_equal(config_parse("x.conf", "user nobody\nsynth-all a.example", &cfg, &err), 0);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_int_equal(atomic_load(&cfg->refs), 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ref_worker, cfg), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(atomic_load(&cfg->refs), 2);
	config_unref(cfg);
	assert_int_equal(atomic_load(&cfg->refs), 1);
	config_unref(cfg); /* frees; LeakSanitizer checks that everything went */
	config_unref(NULL);
	assert_null(config_ref(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good_files),      cmocka_unit_test(test_bad_files),
	        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_full_values),
	        cmocka_unit_test(test_new_values),      cmocka_unit_test(test_time_suffix),
	        cmocka_unit_test(test_table),           cmocka_unit_test(test_reload_changes),
	        cmocka_unit_test(test_prefix_lines),    cmocka_unit_test(test_print_round_trip),
	        cmocka_unit_test(test_check_system),    cmocka_unit_test(test_loop),
	        cmocka_unit_test(test_shipped_config),  cmocka_unit_test(test_forward_match),
	        cmocka_unit_test(test_upstream_zones),  cmocka_unit_test(test_acl_path),
	        cmocka_unit_test(test_listen_tls),      cmocka_unit_test(test_parse_errors_inline),
	        cmocka_unit_test(test_load_unreadable), cmocka_unit_test(test_load_resolv_fallback),
	        cmocka_unit_test(test_resolv),          cmocka_unit_test(test_size_table),
	        cmocka_unit_test(test_errbuf),          cmocka_unit_test(test_refcount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
