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
	struct explain_query q = {.qname = ldns_rdf_data(dn),
	                          .qname_len = ldns_rdf_size(dn),
	                          .qtype = type,
	                          .client = (const struct sockaddr *)&sin,
	                          .hostname = "h"};
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

/* Where the query goes: the longest forward zone's upstreams, else the upstream list; for the
 * PTR of a synthesized address, the in-addr.arpa name's. */
static void upstreams(void **state)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	struct explain_result r;
	assert_int_equal(config_parse("/etc/t.conf",
	                              "upstream 127.0.0.1\nupstream tls://192.0.2.53#dns.example\n"
	                              "forward corp.example 10.1.0.53 10.2.0.53:5353\n"
	                              "forward lab.corp.example tls://10.9.0.53#ns.lab.example\n"
	                              "forward 168.192.in-addr.arpa 192.168.1.1\nacl t.acl\n",
	                              &cfg, &err),
	                 0);
	assert_int_equal(acl_parse("t.acl", "10.0.0.0/8 dns64\n10.1.0.0/16 forward\n", &cfg->acl, &err), 0);
	has(run(cfg, "www.example", 28, "10.3.0.1", &r),
	    "\nupstreams default: 127.0.0.1:53 tls://192.0.2.53:853#dns.example\n");
	has(run(cfg, "www.corp.example", 28, "10.3.0.1", &r),
	    "\nupstreams forward corp.example.: 10.1.0.53:53 10.2.0.53:5353\n");
	has(run(cfg, "a.lab.corp.example", 1, "10.1.0.1", &r),
	    "\nupstreams forward lab.corp.example.: tls://10.9.0.53:853#ns.lab.example\n");
	/* 64:ff9b::192.168.1.20: its PTR becomes 20.1.168.192.in-addr.arpa, which the router has */
	const char *ptr = "4.1.1.0.8.a.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa";
	has(run(cfg, ptr, 12, "10.3.0.1", &r), "\nupstreams forward 168.192.in-addr.arpa.: 192.168.1.1:53\n");
	/* a forward client's PTR is not synthesized: the ip6.arpa name goes to the upstream list */
	has(run(cfg, ptr, 12, "10.1.0.1", &r), "\nupstreams default: ");
	config_unref(cfg);
}

static void short_buffer(void **state)
{
	struct config *cfg = load();
	char out[8];
	ldns_rdf *dn = NULL;
	assert_int_equal(ldns_str2rdf_dname(&dn, "a.example"), LDNS_STATUS_OK);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
	struct explain_query q = {.qname = ldns_rdf_data(dn),
	                          .qname_len = ldns_rdf_size(dn),
	                          .qtype = 28,
	                          .client = (const struct sockaddr *)&sin};
	struct explain_result r;
	assert_int_equal(explain_query(cfg, &q, &r, out, sizeof(out)), 0);
	assert_string_equal(out, "name a.");
	ldns_rdf_deep_free(dn);
	config_unref(cfg);
}

/* prefix-from-ra: the default prefix the caller says is in use, or none (then forward). */
static void advertised_default(void **state)
{
	struct config *cfg = load();
	static char out[4096];
	ldns_rdf *dn = NULL;
	assert_int_equal(ldns_str2rdf_dname(&dn, "a.example"), LDNS_STATUS_OK);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a030001)};
	struct nat64_prefix adv;
	assert_int_equal(nat64_prefix_parse("2001:db8:aa::/64", &adv, NULL), 0);
	struct explain_query q = {.qname = ldns_rdf_data(dn),
	                          .qname_len = ldns_rdf_size(dn),
	                          .qtype = 28,
	                          .client = (const struct sockaddr *)&sin,
	                          .default_prefix = &adv,
	                          .default_source = "advertised on 'eth0', 10 s left"};
	struct explain_result r;
	assert_int_equal(explain_query(cfg, &q, &r, out, sizeof(out)), 0);
	has(out, "\naction dns64\n");
	has(out, "\nprefix 2001:db8:aa::/64 (the default prefix: advertised on 'eth0', 10 s left)\n");
	assert_int_equal(r.n_prefixes, 1);
	assert_int_equal(r.prefixes[0].p.len, 64);
	assert_true(r.synth_keys);
	/* a rule with its own prefix keeps it */
	sin.sin_addr.s_addr = htonl(0x0a020001);
	assert_int_equal(explain_query(cfg, &q, &r, out, sizeof(out)), 0);
	has(out, "\nprefix 2001:db8:64::/96 (the rule's)\n");
	/* nothing advertised, nothing configured: forwarded */
	sin.sin_addr.s_addr = htonl(0x0a030001);
	q.default_prefix = NULL;
	q.no_default = true;
	q.default_source = "none: nothing advertised on 'eth0' and no prefix configured, forwarding without synthesis";
	assert_int_equal(explain_query(cfg, &q, &r, out, sizeof(out)), 0);
	has(out, "\naction forward\n");
	has(out, "\nprefix - (none: nothing advertised on 'eth0'");
	has(out, "\nsynthesis no forward_only:");
	assert_int_equal(r.action, ACL_FORWARD);
	assert_false(r.synth_keys);
	ldns_rdf_deep_free(dn);
	config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(cases),
	        cmocka_unit_test(advertised_default),
	        cmocka_unit_test(short_buffer),
	        cmocka_unit_test(upstreams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
