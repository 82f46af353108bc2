/* test_local.c - unit tests for the local answers of src/local.c (RFC 6761, RFC 8880, CHAOS) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/local.h"
#include "dns64d/wire.h"
#include "dnstext.h"

#define C_IN   1
#define C_CH   3
#define C_HS   4
#define T_A    1
#define T_NS   2
#define T_SOA  6
#define T_PTR  12
#define T_MX   15
#define T_TXT  16
#define T_AAAA 28
#define T_ANY  255

#define V6LOOP         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."
#define SOA(zone, ttl) zone " " #ttl " IN SOA localhost. nobody.invalid. 1 3600 1200 604800 " #ttl
#define VERSION_TXT    "\"dns64d " DNS64D_VERSION "\""

/* ---------- helpers ---------- */

static struct query query(const char *name, uint16_t type, uint16_t cls)
{
	struct query q;
	ldns_rdf *rdf = NULL;

	memset(&q, 0, sizeof(q));
	assert_int_equal(ldns_str2rdf_dname(&rdf, name), LDNS_STATUS_OK);
	assert_true(ldns_rdf_size(rdf) <= sizeof(q.qname));
	memcpy(q.qname, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	q.qname_len = (uint8_t)ldns_rdf_size(rdf);
	ldns_rdf_deep_free(rdf);
	q.qtype = type;
	q.qclass = cls;
	q.flags = F_RD;
	return q;
}

static struct nat64_prefix prefix(const char *addr, unsigned len)
{
	struct nat64_prefix p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(inet_pton(AF_INET6, addr, p.addr), 1);
	p.len = len;
	return p;
}

/* The answer must also be a message the request driver can store and send (wire.h). */
static void check_renders(ldns_pkt *p, const struct query *q)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	static _Alignas(8) uint8_t store[DNS_MAX_MSG + 8192];

	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_int_equal(wire_store(wire, len, 86400, store, sizeof(store)), 0);
	/* the question is the client's, byte for byte */
	assert_true(len >= DNS_HDR + query_question_len(q));
	assert_memory_equal(wire + DNS_HDR, q->qname, q->qname_len);
	assert_int_equal(rd16(wire + DNS_HDR + q->qname_len), q->qtype);
	assert_int_equal(rd16(wire + DNS_HDR + q->qname_len + 2), q->qclass);
	free(wire);
}

static struct config cfg0;

struct tcase {
	const char *name;
	uint16_t type, cls;
	bool dns64;
	int rc;                /* 1 answered locally, 0 not local */
	int rcode;             /* when rc == 1 */
	bool aa;               /* when rc == 1 */
	const char *answer;    /* '|'-joined records, "" for none */
	const char *authority; /* likewise */
	bool synthesized;
};

static void run_case(const struct config *cfg, const struct tcase *t, const struct nat64_prefix *pfx,
                     const char *hostname)
{
	struct query q = query(t->name, t->type, t->cls);
	struct synth_prefix sp = {.line = 0};
	if (pfx)
		sp.p = *pfx;
	struct local_client cl = {.dns64 = t->dns64,
	                          .prefixes = t->dns64 ? &sp : NULL,
	                          .n_prefixes = t->dns64 ? 1 : 0,
	                          .hostname = hostname};
	ldns_pkt *p = (ldns_pkt *)&cl; /* must be overwritten */
	bool synth = true;
	char got[4096];

	int rc = local_answer(cfg, &q, &cl, &p, &synth);
	if (rc != t->rc)
		fail_msg("%s type %u class %u: rc %d, want %d", t->name, t->type, t->cls, rc, t->rc);
	if (rc == 0) {
		assert_null(p);
		assert_false(synth);
		return;
	}
	assert_non_null(p);
	if ((int)ldns_pkt_get_rcode(p) != t->rcode)
		fail_msg("%s type %u: rcode %d, want %d", t->name, t->type, ldns_pkt_get_rcode(p), t->rcode);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_ra(p));
	if (ldns_pkt_aa(p) != t->aa)
		fail_msg("%s type %u: aa %d, want %d", t->name, t->type, ldns_pkt_aa(p), t->aa);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	section_text(ldns_pkt_answer(p), got, sizeof(got));
	if (strcmp(got, t->answer))
		fail_msg("%s type %u: answer\n  '%s'\nwant\n  '%s'", t->name, t->type, got, t->answer);
	section_text(ldns_pkt_authority(p), got, sizeof(got));
	if (strcmp(got, t->authority))
		fail_msg("%s type %u: authority\n  '%s'\nwant\n  '%s'", t->name, t->type, got, t->authority);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_additional(p)), 0);
	if (synth != t->synthesized)
		fail_msg("%s type %u: synthesized %d, want %d", t->name, t->type, synth, t->synthesized);
	check_renders(p, &q);
	ldns_pkt_free(p);
}

static void run_table(const struct config *cfg, const struct tcase *t, size_t n, const struct nat64_prefix *pfx,
                      const char *hostname)
{
	for (size_t i = 0; i < n; i++)
		run_case(cfg, &t[i], pfx, hostname);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------- ipv4only.arpa (RFC 8880 §7.2), as request.c answered it ---------- */

static void test_ipv4only(void **state)
{
	struct nat64_prefix wkp = prefix("64:ff9b::", 96);
	static const struct tcase t[] = {
	        {"ipv4only.arpa.", T_A, C_IN, true, 1, 0, true,
	         "ipv4only.arpa. 86400 IN A 192.0.0.170|ipv4only.arpa. 86400 IN A 192.0.0.171", "", false},
	        {"ipv4only.arpa.", T_A, C_IN, false, 1, 0, true,
	         "ipv4only.arpa. 86400 IN A 192.0.0.170|ipv4only.arpa. 86400 IN A 192.0.0.171", "", false},
	        {"ipv4only.arpa.", T_AAAA, C_IN, true, 1, 0, true,
	         "ipv4only.arpa. 86400 IN AAAA 64:ff9b::c000:aa|ipv4only.arpa. 86400 IN AAAA 64:ff9b::c000:ab", "",
	         true},
	        /* a forward client gets no synthesis: NODATA */
	        {"ipv4only.arpa.", T_AAAA, C_IN, false, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        /* the client's case is kept in the owner names */
	        {"IPv4Only.ARPA.", T_A, C_IN, true, 1, 0, true,
	         "IPv4Only.ARPA. 86400 IN A 192.0.0.170|IPv4Only.ARPA. 86400 IN A 192.0.0.171", "", false},
	        /* every other type, SOA and NS included, is NODATA */
	        {"ipv4only.arpa.", T_SOA, C_IN, true, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        {"ipv4only.arpa.", T_NS, C_IN, true, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        {"ipv4only.arpa.", T_MX, C_IN, true, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        {"ipv4only.arpa.", T_ANY, C_IN, true, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        {"ipv4only.arpa.", T_A, C_HS, true, 1, 0, true, "", SOA("ipv4only.arpa.", 3600), false},
	        /* names under it do not exist */
	        {"foo.ipv4only.arpa.", T_A, C_IN, true, 1, 3, true, "", SOA("ipv4only.arpa.", 3600), false},
	        {"a.b.ipv4only.arpa.", T_AAAA, C_IN, true, 1, 3, true, "", SOA("ipv4only.arpa.", 3600), false},
	        /* not ours */
	        {"ipv4only.arpa.example.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"xipv4only.arpa.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"arpa.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), &wkp, "testhost");
}

/* The client's own prefix is used, whatever its length (RFC 6052 §2.2). */
static void test_ipv4only_prefixes(void **state)
{
	struct nat64_prefix nsp96 = prefix("2001:db8:64::", 96), nsp32 = prefix("2001:db8::", 32),
	                    nsp64 = prefix("2001:db8:1:2::", 64);
	static const struct tcase t96 = {"ipv4only.arpa.",
	                                 T_AAAA,
	                                 C_IN,
	                                 true,
	                                 1,
	                                 0,
	                                 true,
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:64::c000:aa|"
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:64::c000:ab",
	                                 "",
	                                 true};
	static const struct tcase t32 = {"ipv4only.arpa.",
	                                 T_AAAA,
	                                 C_IN,
	                                 true,
	                                 1,
	                                 0,
	                                 true,
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:c000:aa::|"
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:c000:ab::",
	                                 "",
	                                 true};
	static const struct tcase t64 = {"ipv4only.arpa.",
	                                 T_AAAA,
	                                 C_IN,
	                                 true,
	                                 1,
	                                 0,
	                                 true,
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:1:2:c0:0:aa00:0|"
	                                 "ipv4only.arpa. 86400 IN AAAA 2001:db8:1:2:c0:0:ab00:0",
	                                 "",
	                                 true};
	run_case(&cfg0, &t96, &nsp96, NULL);
	run_case(&cfg0, &t32, &nsp32, NULL);
	run_case(&cfg0, &t64, &nsp64, NULL);
}

/* ---------- localhost. (RFC 6761 §6.3) ---------- */

static void test_localhost(void **state)
{
	static const struct tcase t[] = {
	        {"localhost.", T_A, C_IN, true, 1, 0, true, "localhost. 10800 IN A 127.0.0.1", "", false},
	        {"localhost.", T_A, C_IN, false, 1, 0, true, "localhost. 10800 IN A 127.0.0.1", "", false},
	        {"localhost.", T_AAAA, C_IN, true, 1, 0, true, "localhost. 10800 IN AAAA ::1", "", false},
	        {"localhost.", T_AAAA, C_IN, false, 1, 0, true, "localhost. 10800 IN AAAA ::1", "", false},
	        {"LocalHost.", T_A, C_IN, true, 1, 0, true, "LocalHost. 10800 IN A 127.0.0.1", "", false},
	        {"localhost.", T_MX, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"localhost.", T_TXT, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"localhost.", T_PTR, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"localhost.", T_ANY, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"localhost.", T_A, C_HS, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"localhost.", T_SOA, C_IN, true, 1, 0, true, SOA("localhost.", 10800), "", false},
	        {"localhost.", T_NS, C_IN, true, 1, 0, true, "localhost. 10800 IN NS localhost.", "", false},
	        /* names under localhost. are loopback too */
	        {"foo.localhost.", T_A, C_IN, true, 1, 0, true, "foo.localhost. 10800 IN A 127.0.0.1", "", false},
	        {"a.b.localhost.", T_AAAA, C_IN, true, 1, 0, true, "a.b.localhost. 10800 IN AAAA ::1", "", false},
	        {"foo.localhost.", T_MX, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        {"foo.localhost.", T_SOA, C_IN, true, 1, 0, true, "", SOA("localhost.", 10800), false},
	        /* not ours */
	        {"localhost.example.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"localhostx.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"xlocalhost.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"example.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {".", T_NS, C_IN, true, 0, 0, false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), NULL, "testhost");
}

/* ---------- loopback reverse names ---------- */

static void test_loopback_reverse(void **state)
{
	static const struct tcase t[] = {
	        {"1.0.0.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 0, true,
	         "1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.", "", false},
	        {"1.0.0.127.IN-ADDR.ARPA.", T_PTR, C_IN, false, 1, 0, true,
	         "1.0.0.127.IN-ADDR.ARPA. 10800 IN PTR localhost.", "", false},
	        {"1.0.0.127.in-addr.arpa.", T_A, C_IN, true, 1, 0, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        /* the rest of 127/8 does not exist (Unbound's default 127.in-addr.arpa zone) */
	        {"2.0.0.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 3, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"1.0.1.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 3, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"3.2.1.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 3, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"x.1.0.0.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 3, true, "", SOA("127.in-addr.arpa.", 10800),
	         false},
	        /* empty non-terminals above 1.0.0.127 exist: NODATA */
	        {"0.0.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 0, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"0.127.in-addr.arpa.", T_PTR, C_IN, true, 1, 0, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"127.in-addr.arpa.", T_PTR, C_IN, true, 1, 0, true, "", SOA("127.in-addr.arpa.", 10800), false},
	        {"127.in-addr.arpa.", T_SOA, C_IN, true, 1, 0, true, SOA("127.in-addr.arpa.", 10800), "", false},
	        {"127.in-addr.arpa.", T_NS, C_IN, true, 1, 0, true, "127.in-addr.arpa. 10800 IN NS localhost.", "",
	         false},
	        /* ::1 */
	        {V6LOOP, T_PTR, C_IN, true, 1, 0, true, V6LOOP " 10800 IN PTR localhost.", "", false},
	        {V6LOOP, T_PTR, C_IN, false, 1, 0, true, V6LOOP " 10800 IN PTR localhost.", "", false},
	        {V6LOOP, T_AAAA, C_IN, true, 1, 0, true, "", SOA(V6LOOP, 10800), false},
	        {V6LOOP, T_SOA, C_IN, true, 1, 0, true, SOA(V6LOOP, 10800), "", false},
	        {"foo." V6LOOP, T_PTR, C_IN, true, 1, 3, true, "", SOA(V6LOOP, 10800), false},
	        /* not ours (RFC 6303 zones are for later) */
	        {"1.0.0.128.in-addr.arpa.", T_PTR, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"1.0.0.10.in-addr.arpa.", T_PTR, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"in-addr.arpa.", T_NS, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"1.0.0.127.in-addr.arpa.example.", T_PTR, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"127.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", T_PTR, C_IN, true, 0, 0,
	         false, NULL, NULL, false},
	        {"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", T_PTR, C_IN, true, 0, 0,
	         false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), NULL, "testhost");
}

/* ---------- invalid. (RFC 6761 §6.4) ---------- */

static void test_invalid(void **state)
{
	static const struct tcase t[] = {
	        {"foo.invalid.", T_A, C_IN, true, 1, 3, true, "", SOA("invalid.", 10800), false},
	        {"a.b.INVALID.", T_AAAA, C_IN, false, 1, 3, true, "", SOA("invalid.", 10800), false},
	        {"foo.invalid.", T_SOA, C_IN, true, 1, 3, true, "", SOA("invalid.", 10800), false},
	        {"localhost.invalid.", T_A, C_IN, true, 1, 3, true, "", SOA("invalid.", 10800), false},
	        /* the apex exists, as in Unbound's static zone: SOA, NS, NODATA */
	        {"invalid.", T_A, C_IN, true, 1, 0, true, "", SOA("invalid.", 10800), false},
	        {"invalid.", T_SOA, C_IN, true, 1, 0, true, SOA("invalid.", 10800), "", false},
	        {"invalid.", T_NS, C_IN, true, 1, 0, true, "invalid. 10800 IN NS localhost.", "", false},
	        /* not ours */
	        {"example.invalid.com.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"invalid.com.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"invalidx.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), NULL, "testhost");
}

/* ---------- CHAOS ---------- */

static void test_chaos_default(void **state)
{
	static const struct tcase t[] = {
	        {"version.bind.", T_TXT, C_CH, true, 1, 0, true, "version.bind. 0 CH TXT " VERSION_TXT, "", false},
	        {"version.bind.", T_TXT, C_CH, false, 1, 0, true, "version.bind. 0 CH TXT " VERSION_TXT, "", false},
	        {"VERSION.Bind.", T_TXT, C_CH, true, 1, 0, true, "VERSION.Bind. 0 CH TXT " VERSION_TXT, "", false},
	        {"version.server.", T_TXT, C_CH, true, 1, 0, true, "version.server. 0 CH TXT " VERSION_TXT, "", false},
	        {"version.bind.", T_ANY, C_CH, true, 1, 0, true, "version.bind. 0 CH TXT " VERSION_TXT, "", false},
	        {"hostname.bind.", T_TXT, C_CH, true, 1, 0, true, "hostname.bind. 0 CH TXT \"testhost\"", "", false},
	        {"id.server.", T_TXT, C_CH, true, 1, 0, true, "id.server. 0 CH TXT \"testhost\"", "", false},
	        /* other types of these names, and every other CHAOS name: REFUSED, never forwarded */
	        {"version.bind.", T_A, C_CH, true, 1, 5, false, "", "", false},
	        {"id.server.", T_SOA, C_CH, true, 1, 5, false, "", "", false},
	        {"foo.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"x.version.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"authors.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"localhost.", T_A, C_CH, true, 1, 5, false, "", "", false},
	        {"ipv4only.arpa.", T_A, C_CH, true, 1, 5, false, "", "", false},
	        {"example.com.", T_A, C_CH, true, 1, 5, false, "", "", false},
	        {".", T_NS, C_CH, true, 1, 5, false, "", "", false},
	        /* the same names in class IN are not CHAOS questions */
	        {"version.bind.", T_TXT, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"id.server.", T_TXT, C_IN, true, 0, 0, false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), NULL, "testhost");
}

static void test_chaos_configured(void **state)
{
	struct config cfg = cfg0;
	cfg.version = "resolver 9";
	cfg.identity = "ns1.example";
	static const struct tcase t[] = {
	        {"version.bind.", T_TXT, C_CH, true, 1, 0, true, "version.bind. 0 CH TXT \"resolver 9\"", "", false},
	        {"version.server.", T_TXT, C_CH, true, 1, 0, true, "version.server. 0 CH TXT \"resolver 9\"", "",
	         false},
	        {"hostname.bind.", T_TXT, C_CH, true, 1, 0, true, "hostname.bind. 0 CH TXT \"ns1.example\"", "", false},
	        {"id.server.", T_TXT, C_CH, true, 1, 0, true, "id.server. 0 CH TXT \"ns1.example\"", "", false},
	};
	run_table(&cfg, t, N(t), NULL, "testhost");
}

static void test_chaos_hidden(void **state)
{
	struct config cfg = cfg0;
	cfg.hide_version = true;
	cfg.version = "resolver 9"; /* hidden even when set */
	static const struct tcase tv[] = {
	        {"version.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"version.server.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"version.bind.", T_ANY, C_CH, true, 1, 5, false, "", "", false},
	        {"hostname.bind.", T_TXT, C_CH, true, 1, 0, true, "hostname.bind. 0 CH TXT \"testhost\"", "", false},
	        {"id.server.", T_TXT, C_CH, true, 1, 0, true, "id.server. 0 CH TXT \"testhost\"", "", false},
	};
	run_table(&cfg, tv, N(tv), NULL, "testhost");

	cfg = cfg0;
	cfg.hide_identity = true;
	cfg.identity = "ns1.example";
	static const struct tcase ti[] = {
	        {"hostname.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"id.server.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"version.bind.", T_TXT, C_CH, true, 1, 0, true, "version.bind. 0 CH TXT " VERSION_TXT, "", false},
	};
	run_table(&cfg, ti, N(ti), NULL, "testhost");
}

/* Without an identity and a host name from the caller there is nothing to say: REFUSED. */
static void test_chaos_no_hostname(void **state)
{
	static const struct tcase t[] = {
	        {"id.server.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"hostname.bind.", T_TXT, C_CH, true, 1, 5, false, "", "", false},
	        {"version.bind.", T_TXT, C_CH, true, 1, 0, true, "version.bind. 0 CH TXT " VERSION_TXT, "", false},
	};
	run_table(&cfg0, t, N(t), NULL, NULL);
}

/* A TXT character-string holds 255 bytes: a longer identity is cut there, and characters
 * that need escaping reach the client as they are. */
static void test_chaos_long_text(void **state)
{
	struct config cfg = cfg0;
	char id[301];
	memset(id, 'x', 300);
	id[300] = 0;
	id[0] = '"';
	cfg.identity = id;
	struct query q = query("id.server.", T_TXT, C_CH);
	struct local_client cl = {.dns64 = false, .hostname = "h"};
	ldns_pkt *p = NULL;
	bool synth;

	assert_int_equal(local_answer(&cfg, &q, &cl, &p, &synth), 1);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_rdf *rd = ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0);
	assert_int_equal(ldns_rdf_size(rd), 256);
	assert_int_equal(ldns_rdf_data(rd)[0], 255);
	assert_int_equal(ldns_rdf_data(rd)[1], '"');
	assert_int_equal(ldns_rdf_data(rd)[255], 'x');
	check_renders(p, &q);
	ldns_pkt_free(p);
}

/* Names nobody answers locally go upstream, for every kind of client. */
static void test_not_local(void **state)
{
	struct nat64_prefix wkp = prefix("64:ff9b::", 96);
	static const struct tcase t[] = {
	        {"example.com.", T_A, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"example.com.", T_AAAA, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"localhost.example.", T_AAAA, C_IN, false, 0, 0, false, NULL, NULL, false},
	        {"example.invalid.com.", T_A, C_IN, false, 0, 0, false, NULL, NULL, false},
	        {"home.arpa.", T_SOA, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {"arpa.", T_NS, C_IN, true, 0, 0, false, NULL, NULL, false},
	        {".", T_NS, C_IN, true, 0, 0, false, NULL, NULL, false},
	};
	run_table(&cfg0, t, N(t), &wkp, "testhost");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ipv4only),          cmocka_unit_test(test_ipv4only_prefixes),
	        cmocka_unit_test(test_localhost),         cmocka_unit_test(test_loopback_reverse),
	        cmocka_unit_test(test_invalid),           cmocka_unit_test(test_chaos_default),
	        cmocka_unit_test(test_chaos_configured),  cmocka_unit_test(test_chaos_hidden),
	        cmocka_unit_test(test_chaos_no_hostname), cmocka_unit_test(test_chaos_long_text),
	        cmocka_unit_test(test_not_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
