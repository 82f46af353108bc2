/* test_acl.c - unit tests for ACL parsing, longest match and NAT64 prefix parsing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"

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

/* Check the errors against the "# expect: [FILE:]LINE: fragment" lines of the file text:
 * each must be present and there must be no other errors. Returns the number of problems. */
static unsigned check_expectations(const char *path, const char *text, const struct errbuf *err)
{
	unsigned problems = 0, expected = 0;
	const char *p = text;

	while ((p = strstr(p, "# expect: ")) != NULL) {
		char spec[512], prefix[1200];
		const char *eol = strchr(p, '\n');
		size_t len;
		char *colon, *fragment;

		p += strlen("# expect: ");
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
	if (expected == 0) {
		print_error("%s: no '# expect:' line\n", path);
		problems++;
	} else if (err->count != expected) {
		print_error("%s: %u errors, %u expected:\n%s", path, err->count, expected, err->text);
		problems++;
	}
	return problems;
}

static const struct acl_rule *match_text(const struct acl *acl, const char *addr)
{
	struct sockaddr_storage ss;
	const char *why;
	uint8_t raw[16];
	int family;

	/* through a sockaddr and addr_raw, as the listener does, so that ::ffff:a.b.c.d
	 * takes the IPv4-mapped path */
	assert_int_equal(addr_parse_endpoint(addr, 53, &ss, &why), 0);
	family = addr_raw((const struct sockaddr *)&ss, raw);
	assert_true(family == AF_INET || family == AF_INET6);
	return acl_match(acl, family, raw);
}

/* Do the rule's prefixes equal the comma-separated list want ("" for none)? */
static bool same_prefixes(const struct acl *acl, const struct acl_rule *r, const char *want)
{
	char copy[256], *save = NULL;
	size_t n, i = 0;
	const struct synth_prefix *set = acl_rule_prefixes(acl, r, &n);

	snprintf(copy, sizeof(copy), "%s", want);
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save), i++) {
		struct nat64_prefix p;
		const char *why;

		assert_int_equal(nat64_prefix_parse(t, &p, &why), 0);
		if (i >= n || !nat64_prefix_equal(&set[i].p, &p))
			return false;
	}
	return i == n;
}

/* "# match: ADDR ACTION [PREFIX[,PREFIX...]] [filter-a]" or "# match: ADDR none" lines of a
 * good ACL file. */
static unsigned check_matches(const char *path, const char *text, const struct acl *acl)
{
	unsigned problems = 0;
	const char *p = text;

	while ((p = strstr(p, "# match: ")) != NULL) {
		char addr[64], action[16], prefix[256] = "", opt[16] = "";
		const struct acl_rule *r;
		int n;

		char line[256];
		size_t len;

		p += strlen("# match: ");
		len = strcspn(p, "\n");
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		n = sscanf(line, "%63s %15s %255s %15s", addr, action, prefix, opt);
		assert_true(n >= 2);
		if (strcmp(prefix, "filter-a") == 0) {
			memcpy(opt, prefix, sizeof(opt));
			prefix[0] = '\0';
		}
		r = match_text(acl, addr);
		if (strcmp(action, "none") == 0) {
			if (r != NULL) {
				print_error("%s: %s matched line %u\n", path, addr, r->line);
				problems++;
			}
			continue;
		}
		if (r == NULL || strcmp(acl_action_name(r->action), action) != 0) {
			print_error("%s: %s: want %s, got %s\n", path, addr, action,
			            r != NULL ? acl_action_name(r->action) : "no match");
			problems++;
			continue;
		}
		if (!same_prefixes(acl, r, prefix)) {
			print_error("%s: %s: want prefixes '%s'\n", path, addr, prefix);
			problems++;
		}
		if (r->filter_a != (strcmp(opt, "filter-a") == 0)) {
			print_error("%s: %s: filter-a %s\n", path, addr, r->filter_a ? "unexpected" : "missing");
			problems++;
		}
	}
	return problems;
}

static void test_good_files(void **state)
{
	char **names;
	size_t n = list_files("good-", ".acl", &names);
	unsigned problems = 0;

	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		char *text;
		struct acl acl;
		struct errbuf err = {.len = 0};
		int rc;

		snprintf(path, sizeof(path), "%s/%s", CONF_DIR, names[i]);
		text = slurp(path);
		rc = acl_parse(path, text, &acl, &err);
		if (rc != 0) {
			print_error("%s: rc %d:\n%s", path, rc, err.text);
			problems++;
		} else {
			assert_int_equal(err.count, 0);
			problems += check_matches(path, text, &acl);
			/* sorted most specific first within each family */
			for (size_t j = 1; j < acl.n; j++)
				if (acl.rules[j].net.family == acl.rules[j - 1].net.family)
					assert_true(acl.rules[j].net.plen <= acl.rules[j - 1].net.plen);
			acl_free(&acl);
		}
		free(text);
	}
	free_names(names, n);
	assert_int_equal(problems, 0);
}

static void test_bad_files(void **state)
{
	char **names;
	size_t n = list_files("bad-", ".acl", &names);
	unsigned problems = 0;

	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		char *text;
		struct acl acl = {(struct acl_rule *)&acl, 99, NULL, 0};
		struct errbuf err = {.len = 0};
		int rc;

		snprintf(path, sizeof(path), "%s/%s", CONF_DIR, names[i]);
		text = slurp(path);
		rc = acl_parse(path, text, &acl, &err);
		if (rc != -EINVAL) {
			print_error("%s: rc %d, want -EINVAL\n", path, rc);
			problems++;
			if (rc == 0)
				acl_free(&acl);
		} else {
			/* a failed parse leaves nothing to free */
			assert_null(acl.rules);
			assert_int_equal(acl.n, 0);
			problems += check_expectations(path, text, &err);
		}
		free(text);
	}
	free_names(names, n);
	assert_int_equal(problems, 0);
}

static void test_shipped_acl(void **state)
{
	const char *path = TESTS_DIR "/../etc/dns64d.acl";
	char *text = slurp(path);
	struct acl acl;
	struct errbuf err = {.len = 0};

	assert_int_equal(acl_parse(path, text, &acl, &err), 0);
	assert_non_null(match_text(&acl, "127.0.0.1"));
	assert_non_null(match_text(&acl, "::1"));
	assert_null(match_text(&acl, "192.0.2.1"));
	acl_free(&acl);
	free(text);
}

/* Longest match must not depend on the order of the lines. */
static const char *const nested_rules[] = {
        "0.0.0.0/0 drop",
        "10.0.0.0/8 refuse",
        "10.1.0.0/16 dns64",
        "10.1.2.0/24 dns64 2001:db8:64::/96",
        "10.1.2.3/32 forward",
        "10.1.2.128/25 refuse",
        "::/0 drop",
        "2001:db8::/32 refuse",
        "2001:db8:1::/48 dns64",
        "2001:db8:1:2::/64 forward",
        "2001:db8:1:2::1/128 drop",
};

struct probe {
	const char *addr;
	int line_rule; /* index into nested_rules, -1 = no match */
};

static const struct probe nested_probes[] = {
        {"10.1.2.3", 4},         {"10.1.2.2", 3},          {"10.1.2.200", 5},
        {"10.1.3.1", 2},         {"10.9.9.9", 1},          {"11.0.0.1", 0},
        {"::ffff:10.1.2.3", 4},  {"::ffff:10.1.2.129", 5}, {"::ffff:192.0.2.1", 0},
        {"2001:db8:1:2::1", 10}, {"2001:db8:1:2::2", 9},   {"2001:db8:1:3::2", 8},
        {"2001:db8:2::1", 7},    {"2001:db9::1", 6},       {"::1", 6},
};

static void test_longest_match_any_order(void **state)
{
	enum { N = sizeof(nested_rules) / sizeof(nested_rules[0]) };
	unsigned order[N];

	srand(6052);
	for (unsigned i = 0; i < N; i++)
		order[i] = i;
	for (int round = 0; round < 200; round++) {
		char text[2048] = "";
		struct acl acl;
		struct errbuf err = {.len = 0};

		/* round 0 in file order, round 1 reversed, then random permutations */
		for (unsigned i = 0; i < N; i++)
			order[i] = round == 1 ? N - 1 - i : i;
		if (round > 1) {
			for (unsigned i = N - 1; i > 0; i--) {
				unsigned j = (unsigned)rand() % (i + 1), t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
		}
		for (unsigned i = 0; i < N; i++) {
			strcat(text, nested_rules[order[i]]);
			strcat(text, "\n");
		}
		assert_int_equal(acl_parse("shuffled.acl", text, &acl, &err), 0);
		assert_int_equal(acl.n, N);
		for (size_t k = 0; k < sizeof(nested_probes) / sizeof(nested_probes[0]); k++) {
			const struct probe *pr = &nested_probes[k];
			const struct acl_rule *r = match_text(&acl, pr->addr);
			unsigned want_line = 0;

			for (unsigned i = 0; i < N; i++)
				if (order[i] == (unsigned)pr->line_rule)
					want_line = i + 1;
			assert_non_null(r);
			if (r->line != want_line)
				fail_msg("round %d: %s matched line %u ('%s'), want line %u ('%s')", round, pr->addr,
				         r->line, nested_rules[order[r->line - 1]], want_line,
				         nested_rules[pr->line_rule]);
		}
		acl_free(&acl);
	}
}

/* Compare acl_match with a brute-force longest match over random rule sets. */
static void test_match_against_brute_force(void **state)
{
	srand(7050);
	for (int round = 0; round < 300; round++) {
		struct acl_rule rules[64];
		size_t nrules = 0, want_n = (size_t)(rand() % 64);
		char *text = calloc(64, 128);
		struct acl acl;
		struct errbuf err = {.len = 0};

		assert_non_null(text);
		while (nrules < want_n) {
			struct acl_rule r = {.line = 0};
			unsigned max, bits;
			char buf[64];
			bool dup = false;

			r.net.family = rand() % 2 ? AF_INET : AF_INET6;
			max = r.net.family == AF_INET ? 32 : 128;
			/* few distinct addresses, so networks nest often */
			r.net.addr[0] = (uint8_t)(rand() % 2 ? 10 : 0x20);
			r.net.addr[1] = (uint8_t)(rand() % 3);
			for (unsigned b = 2; b < max / 8; b++)
				r.net.addr[b] = (uint8_t)(rand() % 4 == 0 ? rand() : 0);
			r.net.plen = (unsigned)rand() % (max + 1);
			for (bits = r.net.plen; bits < max; bits++)
				r.net.addr[bits / 8] &= (uint8_t) ~(0x80u >> (bits % 8));
			for (size_t i = 0; i < nrules; i++)
				if (rules[i].net.family == r.net.family && rules[i].net.plen == r.net.plen &&
				    memcmp(rules[i].net.addr, r.net.addr, 16) == 0)
					dup = true;
			if (dup)
				continue;
			r.action = (enum acl_action)(rand() % 4);
			rules[nrules++] = r; /* on line nrules of the text */
			snprintf(text + strlen(text), 128, "%s %s\n", network_format(&r.net, buf, 64),
			         acl_action_name(r.action));
		}
		assert_int_equal(acl_parse("random.acl", text, &acl, &err), 0);
		assert_int_equal(acl.n, nrules);

		for (int k = 0; k < 200; k++) {
			int family = rand() % 2 ? AF_INET : AF_INET6;
			unsigned max = family == AF_INET ? 32 : 128;
			uint8_t a[16] = {0};
			const struct acl_rule *got;
			long best = -1;
			unsigned best_plen = 0;

			/* a rule's address with a few random bits flipped, or random bytes */
			if (nrules > 0 && rand() % 4 != 0) {
				const struct acl_rule *base = &rules[(size_t)rand() % nrules];

				memcpy(a, base->net.addr, 16);
			} else {
				for (unsigned b = 0; b < max / 8; b++)
					a[b] = (uint8_t)rand();
			}
			for (int f = rand() % 3; f > 0; f--) {
				unsigned bit = (unsigned)rand() % max;

				a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
			}
			for (size_t i = 0; i < nrules; i++) {
				if (network_contains(&rules[i].net, family, a) &&
				    (best < 0 || rules[i].net.plen > best_plen)) {
					best = (long)i;
					best_plen = rules[i].net.plen;
				}
			}
			got = acl_match(&acl, family, a);
			if (best < 0) {
				assert_null(got);
			} else {
				assert_non_null(got);
				assert_int_equal(got->line, (unsigned)best + 1);
				assert_int_equal(got->action, rules[best].action);
			}
		}
		acl_free(&acl);
		free(text);
	}
}

static void test_default_acl(void **state)
{
	struct acl acl;

	assert_int_equal(acl_default(&acl), 0);
	assert_int_equal(acl.n, 2);
	assert_non_null(match_text(&acl, "127.0.0.1"));
	assert_int_equal(match_text(&acl, "127.255.255.255")->action, ACL_DNS64);
	assert_int_equal(match_text(&acl, "::1")->action, ACL_DNS64);
	assert_non_null(match_text(&acl, "::ffff:127.0.0.53"));
	assert_int_equal(match_text(&acl, "::1")->n_prefixes, 0);
	assert_null(match_text(&acl, "128.0.0.1"));
	assert_null(match_text(&acl, "126.255.255.255"));
	assert_null(match_text(&acl, "::2"));
	assert_null(match_text(&acl, "::"));
	assert_null(match_text(&acl, "192.0.2.1"));
	acl_free(&acl);
	assert_null(acl.rules);
	assert_int_equal(acl.n, 0);
}

static void test_unmatched_and_empty(void **state)
{
	struct acl acl;
	struct errbuf err = {.len = 0};
	static const uint8_t v4[16] = {192, 0, 2, 1};

	assert_int_equal(acl_parse("x.acl", "", &acl, &err), 0);
	assert_int_equal(acl.n, 0);
	assert_null(acl_match(&acl, AF_INET, v4));
	acl_free(&acl);

	assert_int_equal(acl_parse("x.acl", "10.0.0.0/8 dns64\n2001:db8::/32 forward", &acl, &err), 0);
	assert_int_equal(acl.n, 2);
	assert_null(match_text(&acl, "192.0.2.1"));
	assert_null(match_text(&acl, "2001:db9::1"));
	/* an IPv4 client never matches an IPv6 rule that happens to share bytes */
	assert_null(match_text(&acl, "32.1.13.184"));
	assert_int_equal(match_text(&acl, "2001:db8::1")->action, ACL_FORWARD);
	assert_null(acl_match(&acl, AF_UNIX, v4));
	acl_free(&acl);
	assert_int_equal(err.count, 0);
}

struct prefix_case {
	const char *in;
	unsigned len;    /* 0: must be rejected */
	const char *why; /* fragment of the reason for bad cases */
};

static const struct prefix_case prefix_cases[] = {
        {"64:ff9b::/96", 96, NULL},
        {"2001:db8::/32", 32, NULL},
        {"2001:db8:100::/40", 40, NULL},
        {"2001:db8:122::/48", 48, NULL},
        {"2001:db8:122:300::/56", 56, NULL},
        {"2001:db8:122:344::/64", 64, NULL},
        {"2001:db8:122:344::/96", 96, NULL},
        {"64:ff9b:1::/48", 48, NULL},
        {"2001:db8::/33", 0, "32, 40, 48, 56, 64 or 96"},
        {"64:ff9b::/128", 0, "32, 40, 48, 56, 64 or 96"},
        {"::/0", 0, "32, 40, 48, 56, 64 or 96"},
        {"64:ff9b::", 0, "missing prefix length"},
        {"64:ff9b::1/96", 0, "host bits set"},
        {"2001:db8:1::/32", 0, "host bits set"},
        {"2001:db8::100:0:0:0/64", 0, "host bits set"},
        {"2001:db8::ff00:0:0:0/96", 0, "u-octet"},
        {"2001:db8::100:0:0:0/96", 0, "u-octet"},
        {"2001:db8::1:0:0:0/96", 96, NULL}, /* bits 72-79 may be set */
        {"192.0.2.0/24", 0, "not an IPv6 prefix"},
        {"64:ff9b::/x", 0, "prefix length"},
        {"nat64/96", 0, NULL},
        {"/96", 0, NULL},
};

static void test_prefix_table(void **state)
{
	unsigned failures = 0;

	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct nat64_prefix p;
		const char *why = NULL;
		int rc = nat64_prefix_parse(c->in, &p, &why);

		if (c->len != 0 && (rc != 0 || p.len != c->len)) {
			print_error("'%s': rc %d len %u why %s\n", c->in, rc, p.len, why);
			failures++;
		}
		if (c->len == 0 && (rc != -EINVAL || why == NULL || (c->why != NULL && strstr(why, c->why) == NULL))) {
			print_error("'%s': rc %d why '%s', want '%s'\n", c->in, rc, why ? why : "(null)",
			            c->why ? c->why : "any");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_prefix_value(void **state)
{
	struct nat64_prefix p;
	const char *why;
	static const uint8_t wkp[16] = {0x00, 0x64, 0xff, 0x9b};

	assert_int_equal(nat64_prefix_parse("64:ff9b::/96", &p, &why), 0);
	assert_memory_equal(p.addr, wkp, 16);
	assert_int_equal(p.len, 96);
}

static void test_action_names(void **state)
{
	assert_string_equal(acl_action_name(ACL_DNS64), "dns64");
	assert_string_equal(acl_action_name(ACL_FORWARD), "forward");
	assert_string_equal(acl_action_name(ACL_REFUSE), "refuse");
	assert_string_equal(acl_action_name(ACL_DROP), "drop");
	assert_non_null(acl_action_name((enum acl_action)42));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good_files),
	        cmocka_unit_test(test_bad_files),
	        cmocka_unit_test(test_shipped_acl),
	        cmocka_unit_test(test_longest_match_any_order),
	        cmocka_unit_test(test_match_against_brute_force),
	        cmocka_unit_test(test_default_acl),
	        cmocka_unit_test(test_unmatched_and_empty),
	        cmocka_unit_test(test_prefix_table),
	        cmocka_unit_test(test_prefix_value),
	        cmocka_unit_test(test_action_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
