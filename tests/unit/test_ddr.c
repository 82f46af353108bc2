/* test_ddr.c - unit tests for the DDR records of src/ddr.c and resolver.arpa in src/local.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/addr.h"
#include "dns64d/config.h"
#include "dns64d/ddr.h"
#include "dns64d/local.h"
#include "dns64d/wire.h"

#define T_A    1
#define T_SOA  6
#define T_SVCB 64

static struct config *parse(const char *text)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	if (config_parse("/etc/dns64d/ddr.conf", text, &cfg, &err) != 0)
		fail_msg("config: %s", err.text);
	return cfg;
}

static struct sockaddr_storage endpoint(const char *text)
{
	struct sockaddr_storage ss;
	const char *why;
	assert_int_equal(addr_parse_endpoint(text, 53, &ss, &why), 0);
	return ss;
}

/* A record's rdata as text: "PRIO TARGET key=hex..." with the keys in the order found. */
static void rdata_text(const struct ddr_record *r, char *out, size_t cap)
{
	const uint8_t *p = r->rdata, *end = r->rdata + r->len;
	size_t n = (size_t)snprintf(out, cap, "%u ", rd16(p));
	p += 2;
	if (*p == 0)
		n += (size_t)snprintf(out + n, cap - n, ".");
	for (; *p; p += 1 + p[0])
		n += (size_t)snprintf(out + n, cap - n, "%.*s.", p[0], (const char *)p + 1);
	p++; /* the root label */
	while (p < end) {
		assert_true(p + 4 <= end);
		uint16_t key = rd16(p), len = rd16(p + 2);
		p += 4;
		assert_true(p + len <= end);
		n += (size_t)snprintf(out + n, cap - n, " %u=", key);
		for (uint16_t i = 0; i < len; i++)
			n += (size_t)snprintf(out + n, cap - n, "%02x", p[i]);
		p += len;
	}
}

static void expect_records(const struct config *cfg, const char *local, const char *const *want, size_t n_want)
{
	struct ddr_record recs[DDR_RECORDS_MAX];
	struct sockaddr_storage ss;
	if (local)
		ss = endpoint(local);
	int n = ddr_records(cfg, local ? &ss : NULL, recs, DDR_RECORDS_MAX);
	if (n != (int)n_want)
		fail_msg("local %s: %d records, want %zu", local ? local : "-", n, n_want);
	for (size_t i = 0; i < n_want; i++) {
		char got[1024];
		rdata_text(&recs[i], got, sizeof(got));
		if (strcmp(got, want[i]))
			fail_msg("local %s record %zu:\n  '%s'\nwant\n  '%s'", local ? local : "-", i, got, want[i]);
	}
}

#define ALPN " 1=03646f74" /* "dot" */

/* Specific addresses are their own hints, grouped by port; 853 is not said. */
static void test_specific(void **state)
{
	struct config *cfg = parse("listen 127.0.0.1:5300\n"
	                           "listen-tls 192.0.2.1 c.pem k.pem\n"
	                           "listen-tls [2001:db8::1] c.pem k.pem\n"
	                           "listen-tls 192.0.2.2:8853 c.pem k.pem\n");
	static const char *const want[] = {
	        "1 ." ALPN " 4=c0000201 6=20010db8000000000000000000000001",
	        "1 ." ALPN " 3=2295 4=c0000202",
	};
	expect_records(cfg, "192.0.2.1", want, 2);
	expect_records(cfg, NULL, want, 2);
	config_unref(cfg);
}

/* ddr-target is the TargetName, uncompressed. */
static void test_target(void **state)
{
	struct config *cfg = parse("listen-tls 192.0.2.1 c.pem k.pem\nddr-target dns.Example.net\n");
	static const char *const want[] = {"1 dns.Example.net." ALPN " 4=c0000201"};
	expect_records(cfg, "192.0.2.1", want, 1);
	config_unref(cfg);
}

/* A wildcard stands for the address the query came to, of its own family only. */
static void test_wildcard(void **state)
{
	struct config *cfg = parse("listen-tls 0.0.0.0 c.pem k.pem\nlisten-tls [::]:8853 c.pem k.pem\n");
	static const char *const v4[] = {"1 ." ALPN " 4=c0a80101"};
	static const char *const v6[] = {"1 ." ALPN " 3=2295 6=fd000000000000000000000000000053"};
	expect_records(cfg, "192.168.1.1", v4, 1);
	expect_records(cfg, "[fd00::53]", v6, 1);
	expect_records(cfg, NULL, NULL, 0);
	expect_records(cfg, "0.0.0.0", NULL, 0);
	config_unref(cfg);
}

/* Loopback endpoints only for queries that came to loopback; the same address once. */
static void test_loopback(void **state)
{
	struct config *cfg = parse("listen 127.0.0.1:5300\n"
	                           "listen-tls 127.0.0.1 c.pem k.pem\n"
	                           "listen-tls 0.0.0.0:853 c.pem k.pem\n");
	/* 0.0.0.0:853 and 127.0.0.1:853 cannot both bind, but the records do not care */
	static const char *const lo[] = {"1 ." ALPN " 4=7f000001"};
	static const char *const lan[] = {"1 ." ALPN " 4=c0a80101"};
	expect_records(cfg, "127.0.0.1", lo, 1);
	expect_records(cfg, "192.168.1.1", lan, 1);
	config_unref(cfg);
	cfg = parse("listen-tls 127.0.0.1:8853 c.pem k.pem\n");
	expect_records(cfg, "192.168.1.1", NULL, 0);
	config_unref(cfg);
}

static void test_none(void **state)
{
	struct config *cfg = parse("listen 127.0.0.1\n");
	expect_records(cfg, "127.0.0.1", NULL, 0);
	config_unref(cfg);
}

/* ---- resolver.arpa through local_answer ---- */

static struct query query(const char *name, uint16_t type)
{
	struct query q;
	ldns_rdf *rdf = NULL;
	memset(&q, 0, sizeof(q));
	assert_int_equal(ldns_str2rdf_dname(&rdf, name), LDNS_STATUS_OK);
	memcpy(q.qname, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	q.qname_len = (uint8_t)ldns_rdf_size(rdf);
	ldns_rdf_deep_free(rdf);
	q.qtype = type;
	q.qclass = 1;
	q.flags = F_RD;
	return q;
}

/* rcode and answer count of a local answer to name/type; the answer is rendered to wire. */
static void expect_local(const struct config *cfg, const char *name, uint16_t type, int rcode, size_t ancount,
                         uint8_t *wire_out, size_t *wire_len)
{
	struct query q = query(name, type);
	struct sockaddr_storage local = endpoint("127.0.0.1:53");
	struct local_client cl = {.dns64 = true, .hostname = "h", .local = &local};
	ldns_pkt *p = NULL;
	bool synth = true;
	assert_int_equal(local_answer(cfg, &q, &cl, &p, &synth), 1);
	assert_false(synth);
	if ((int)ldns_pkt_get_rcode(p) != rcode || ldns_pkt_ancount(p) != ancount)
		fail_msg("%s type %u: rcode %d ancount %u, want %d %zu", name, type, ldns_pkt_get_rcode(p),
		         ldns_pkt_ancount(p), rcode, ancount);
	if (ancount == 0)
		assert_int_equal(ldns_pkt_nscount(p), 1); /* the SOA */
	if (wire_out) {
		uint8_t *wire = NULL;
		assert_int_equal(ldns_pkt2wire(&wire, p, wire_len), LDNS_STATUS_OK);
		memcpy(wire_out, wire, *wire_len);
		free(wire);
	}
	ldns_pkt_free(p);
}

static void test_resolver_arpa(void **state)
{
	struct config *cfg = parse("listen-tls 127.0.0.1:8853 c.pem k.pem\nddr-target dns.example.\n");
	uint8_t wire[4096];
	size_t len;
	expect_local(cfg, "_dns.resolver.arpa.", T_SVCB, 0, 1, wire, &len);
	/* the TargetName is in the rdata uncompressed: "dns.example." appears as it is */
	assert_non_null(memmem(wire, len, "\003dns\007example\000", 13));
	assert_non_null(memmem(wire, len, "\000\001\000\004\003dot", 8));
	expect_local(cfg, "_DNS.Resolver.ARPA.", T_SVCB, 0, 1, NULL, NULL);
	expect_local(cfg, "_dns.resolver.arpa.", T_A, 0, 0, NULL, NULL);
	expect_local(cfg, "resolver.arpa.", T_SOA, 0, 1, NULL, NULL);
	expect_local(cfg, "resolver.arpa.", T_SVCB, 0, 0, NULL, NULL);
	expect_local(cfg, "x._dns.resolver.arpa.", T_SVCB, 3, 0, NULL, NULL);
	expect_local(cfg, "other.resolver.arpa.", T_SVCB, 3, 0, NULL, NULL);
	config_unref(cfg);
	/* without listen-tls there is no designation, and it is not asked upstream either */
	cfg = parse("listen 127.0.0.1\n");
	expect_local(cfg, "_dns.resolver.arpa.", T_SVCB, 3, 0, NULL, NULL);
	expect_local(cfg, "resolver.arpa.", T_SOA, 0, 1, NULL, NULL);
	config_unref(cfg);
}

/* A LAN client asking a loopback-only TLS listener gets NODATA, not an unreachable hint. */
static void test_resolver_arpa_unreachable(void **state)
{
	struct config *cfg = parse("listen-tls 127.0.0.1:8853 c.pem k.pem\n");
	struct query q = query("_dns.resolver.arpa.", T_SVCB);
	struct sockaddr_storage local = endpoint("192.168.1.1:53");
	struct local_client cl = {.dns64 = false, .hostname = "h", .local = &local};
	ldns_pkt *p = NULL;
	bool synth;
	assert_int_equal(local_answer(cfg, &q, &cl, &p, &synth), 1);
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_specific),
	        cmocka_unit_test(test_target),
	        cmocka_unit_test(test_wildcard),
	        cmocka_unit_test(test_loopback),
	        cmocka_unit_test(test_none),
	        cmocka_unit_test(test_resolver_arpa),
	        cmocka_unit_test(test_resolver_arpa_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
