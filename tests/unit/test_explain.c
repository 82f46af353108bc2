/* test_explain.c - unit tests for src/explain.c: ACL + config -> the explanation lines */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/config.h"
#include "dns64d/errbuf.h"
#include "dns64d/explain.h"

static struct config *load(void)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	assert_int_equal(config_parse("/etc/t.conf",
	                              "upstream 127.0.0.1\nno-synth corp.example\nsynth-all v4.example\nacl t.acl\n",
	                              &cfg, &err),
	                 0);
	assert_int_equal(acl_parse("t.acl",
	                           "10.0.0.0/8 dns64\n10.1.0.0/16 forward\n10.2.0.0/16 dns64 2001:db8:64::/96\n"
	                           "10.9.0.0/16 drop\n10.4.0.0/16 dns64 2001:db8:46::/64 64:ff9b::/96 filter-a\n",
	                           &cfg->acl, &err),
	                 0);
	assert_int_equal(config_resolve_acl(cfg, &err), 0);
	return cfg;
}

/* Explain name/type for client v4 address ip; returns the text (static). */
static const char *run(struct config *cfg, const char *name, uint16_t type, const char *ip, struct explain_result *res)
{
	static char out[4096];
	ldns_rdf *dn = NULL;
	assert_int_equal(ldns_str2rdf_dname(&dn, name), LDNS_STATUS_OK);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	struct explain_query q = {ldns_rdf_data(dn), ldns_rdf_size(dn), type, (const struct sockaddr *)&sin, "h"};
	assert_int_equal(explain_query(cfg, &q, res, out, sizeof(out)), 0);
	ldns_rdf_deep_free(dn);
	return out;
}

static void has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("missing %s in:\n%s", line, text);
}

static void cases(void **state)
{
	struct config *cfg = load();
	struct explain_result r;
	const char *t = run(cfg, "a.example", 28, "10.3.0.1", &r);
	has(t, "\nrule /etc/t.acl:1 10.0.0.0/8 dns64\n");
	has(t, "\nprefix 64:ff9b::/96 (the default prefix)\n");
	has(t, "\nsynthesis if-needed: ");
	assert_true(r.synth_keys);
	t = run(cfg, "a.example", 28, "10.2.3.4", &r);
	has(t, "\nprefix 2001:db8:64::/96 (the rule's)\n");
	assert_int_equal(r.n_prefixes, 1);
	assert_int_equal(r.prefixes[0].p.len, 96);
	t = run(cfg, "a.example", 28, "10.4.0.1", &r);
	has(t, "\nprefix 2001:db8:46::/64,64:ff9b::/96 (the rule's)\n");
	has(t, "\nfilter-a yes: ");
	assert_int_equal(r.n_prefixes, 2);
	t = run(cfg, "a.example", 28, "10.1.0.1", &r);
	has(t, "\naction forward\n");
	has(t, "\nsynthesis no forward_only:");
	assert_false(r.synth_keys);
	t = run(cfg, "a.example", 28, "192.0.2.1", &r);
	has(t, "\nrule none: ");
	has(t, "\nanswer REFUSED\n");
	assert_null(r.rule);
	t = run(cfg, "a.example", 28, "10.9.0.1", &r);
	has(t, "\nanswer none: the query is dropped\n");
	t = run(cfg, "x.corp.example", 28, "10.3.0.1", &r);
	has(t, "\nsynthesis no no_synth: the name is at or under no-synth 'corp.example.'\n");
	t = run(cfg, "v4.example", 28, "10.3.0.1", &r);
	has(t, "\nsynthesis yes synth_all: ");
	t = run(cfg, "a.example", 1, "10.3.0.1", &r);
	has(t, "\nsynthesis no not_aaaa:");
	t = run(cfg, "localhost", 28, "10.3.0.1", &r);
	has(t, "\nlocal yes NOERROR");
	assert_true(r.local);
	t = run(cfg, "ipv4only.arpa", 28, "10.3.0.1", &r);
	has(t, "\nsynthesis yes synthesized: ipv4only.arpa");
	config_unref(cfg);
}

static void short_buffer(void **state)
{
	struct config *cfg = load();
	char out[8];
	ldns_rdf *dn = NULL;
	assert_int_equal(ldns_str2rdf_dname(&dn, "a.example"), LDNS_STATUS_OK);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
	struct explain_query q = {ldns_rdf_data(dn), ldns_rdf_size(dn), 28, (const struct sockaddr *)&sin, NULL};
	struct explain_result r;
	assert_int_equal(explain_query(cfg, &q, &r, out, sizeof(out)), 0);
	assert_string_equal(out, "name a.");
	ldns_rdf_deep_free(dn);
	config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(cases),
	        cmocka_unit_test(short_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
