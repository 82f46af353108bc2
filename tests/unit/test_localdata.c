/* test_localdata.c - unit tests for local-data, hosts files, the RFC 6303 list and their answers */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/config.h"
#include "dns64d/local.h"
#include "dns64d/localdata.h"
#include "dns64d/wire.h"
#include "dnstext.h"

#define T_A     1
#define T_NS    2
#define T_CNAME 5
#define T_SOA   6
#define T_PTR   12
#define T_MX    15
#define T_TXT   16
#define T_AAAA  28
#define T_ANY   255
#define C_IN    1
#define C_HS    4

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------- helpers ---------- */

/* The records of name as text, or NULL when it is not a local name. */
static const char *find_text(const struct localdata *ld, const char *name)
{
	static char buf[4096];
	uint8_t w[256];
	size_t len = name_from_text(name, w), n;
	ldns_rr *const *rrs;

	if (!localdata_find(ld, w, len, &rrs, &n))
		return NULL;
	rr_text_join(rrs, n, NULL, buf, sizeof(buf));
	return buf;
}

static struct localdata *new_ld(void)
{
	struct localdata *ld = NULL;

	assert_int_equal(localdata_new(&ld), 0);
	return ld;
}

/* ---------- local-data text ---------- */

static void test_add_rr(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *why; /* fragment of the reason */
	} t[] = {
	        {"www.lan A 192.168.1.10", 0, NULL},
	        {"www.lan. 300 IN A 192.168.1.11", 0, NULL},
	        {"WWW.Lan. IN AAAA fd00::10", 0, NULL},
	        {"nas.lan 60 MX 10 mail.lan.", 0, NULL},
	        {"txt.lan TXT \"two words\" \"and more\"", 0, NULL},
	        {"10.1.168.192.in-addr.arpa PTR www.lan.", 0, NULL},
	        {"srv._tcp.lan SRV 0 0 80 www.lan.", 0, NULL},
	        {"www.lan A 192.168.1.10", 0, NULL}, /* a duplicate: kept once */
	        {"www.lan A", -EINVAL, ""},
	        {"www.lan A 300.1.1.1", -EINVAL, ""},
	        {"www.lan CH A 1.2.3.4", -EINVAL, "class IN"},
	        {"www.lan NOSUCHTYPE 1", -EINVAL, ""},
	        {"www.lan ANY 1", -EINVAL, ""},
	        {"*.lan A 1.2.3.4", -EINVAL, "wildcard"},
	        {"", -EINVAL, ""},
	};
	struct localdata *ld = new_ld();

	for (size_t i = 0; i < N(t); i++) {
		char why[256] = "";
		int rc = localdata_add_rr(ld, t[i].text, why, sizeof(why));
		if (rc != t[i].rc)
			fail_msg("'%s': rc %d, want %d (%s)", t[i].text, rc, t[i].rc, why);
		if (rc < 0 && (!why[0] || !strstr(why, t[i].why)))
			fail_msg("'%s': reason '%s', want '%s'", t[i].text, why, t[i].why);
	}
	assert_int_equal(localdata_finish(ld), 0);
	assert_int_equal(localdata_count(ld), 7);
	assert_string_equal(
	        find_text(ld, "www.lan."),
	        "www.lan. 3600 IN A 192.168.1.10|www.lan. 300 IN A 192.168.1.11|www.lan. 3600 IN AAAA fd00::10");
	char *lowercase = strdup(find_text(ld, "www.lan"));
	assert_string_equal(find_text(ld, "WWW.LAN"), lowercase);
	free(lowercase);
	assert_string_equal(find_text(ld, "txt.lan"), "txt.lan. 3600 IN TXT \"two words\" \"and more\"");
	assert_string_equal(find_text(ld, "nas.lan"), "nas.lan. 60 IN MX 10 mail.lan.");
	/* transparent: names under or above a local name are not local */
	assert_null(find_text(ld, "x.www.lan"));
	assert_null(find_text(ld, "lan"));
	assert_null(find_text(ld, "_tcp.lan"));
	localdata_free(ld);
}

/* ---------- hosts files ---------- */

static void test_hosts(void **state)
{
	const char *text = "# a comment line\n"
	                   "127.0.0.1\tlocalhost\n"
	                   "\n"
	                   "192.168.1.10  nas.lan nas   # the NAS\r\n"
	                   "192.168.1.11 printer.lan\n"
	                   "fd00::10 nas.lan\n"
	                   "   \t  \n"
	                   "192.168.1.12 Mixed.Case.LAN\n"
	                   "192.168.1.10 nas2.lan\n"
	                   "0.0.0.0 ads1.example ads2.example\n"
	                   "0.0.0.0 ads3.example\n";
	struct localdata *ld = new_ld();
	struct errbuf err = {.len = 0};

	assert_int_equal(localdata_add_hosts(ld, "/etc/hosts", text, &err), 0);
	assert_int_equal(err.count, 0);
	assert_int_equal(localdata_finish(ld), 0);
	assert_string_equal(find_text(ld, "nas.lan"), "nas.lan. 3600 IN A 192.168.1.10|nas.lan. 3600 IN AAAA fd00::10");
	assert_string_equal(find_text(ld, "nas"), "nas. 3600 IN A 192.168.1.10");
	assert_string_equal(find_text(ld, "localhost"), "localhost. 3600 IN A 127.0.0.1");
	assert_string_equal(find_text(ld, "mixed.case.lan"), "mixed.case.lan. 3600 IN A 192.168.1.12");
	/* the PTR names the first name of the line */
	assert_string_equal(find_text(ld, "10.1.168.192.in-addr.arpa"),
	                    "10.1.168.192.in-addr.arpa. 3600 IN PTR nas.lan.");
	assert_string_equal(find_text(ld, "12.1.168.192.in-addr.arpa"),
	                    "12.1.168.192.in-addr.arpa. 3600 IN PTR mixed.case.lan.");
	assert_string_equal(
	        find_text(ld, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"),
	        "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 3600 IN PTR nas.lan.");
	/* an address on several lines: A records for all, the PTR of the first line only */
	assert_string_equal(find_text(ld, "nas2.lan"), "nas2.lan. 3600 IN A 192.168.1.10");
	assert_string_equal(find_text(ld, "0.0.0.0.in-addr.arpa"), "0.0.0.0.in-addr.arpa. 3600 IN PTR ads1.example.");
	assert_string_equal(find_text(ld, "ads3.example"), "ads3.example. 3600 IN A 0.0.0.0");
	assert_int_equal(localdata_count(ld), 11 + 1 + 4);
	localdata_free(ld);
}

static void test_hosts_errors(void **state)
{
	const char *text = "192.168.1.10 good.lan\n"
	                   "192.168.1.300 bad.lan\n"
	                   "fe80::1%eth0 router.lan\n"
	                   "192.168.1.11\n"
	                   "192.168.1.12 bad..lan\n"
	                   "192.168.1.13 ok.lan bad!name\n"
	                   "nas.lan 192.168.1.14\n"
	                   "192.168.1.15 # names commented out\n"
	                   "192.168.1.16 last.lan";
	struct localdata *ld = new_ld();
	struct errbuf err = {.len = 0};

	assert_int_equal(localdata_add_hosts(ld, "/x/hosts", text, &err), -EINVAL);
	assert_int_equal(err.count, 7);
	static const char *const want[] = {
	        "/x/hosts:2: bad address '192.168.1.300'",
	        "/x/hosts:3: address 'fe80::1%eth0' has a zone id",
	        "/x/hosts:4: no host name after address '192.168.1.11'",
	        "/x/hosts:5: bad host name 'bad..lan'",
	        "/x/hosts:6: bad host name 'bad!name'",
	        "/x/hosts:7: bad address 'nas.lan'",
	        "/x/hosts:8: no host name after address '192.168.1.15'",
	};
	for (size_t i = 0; i < N(want); i++)
		if (!strstr(err.text, want[i]))
			fail_msg("no '%s' in:\n%s", want[i], err.text);
	/* the good lines count all the same; a bad line adds nothing */
	assert_int_equal(localdata_finish(ld), 0);
	assert_non_null(find_text(ld, "good.lan"));
	assert_non_null(find_text(ld, "last.lan"));
	assert_null(find_text(ld, "ok.lan"));
	assert_int_equal(localdata_count(ld), 4);
	localdata_free(ld);
}

/* ---------- covers, maybe ---------- */

static void test_covers_maybe(void **state)
{
	struct localdata *ld = new_ld();
	char why[256];
	uint8_t w[256];
	size_t len;

	assert_false(localdata_maybe(NULL, (const uint8_t *)"\0", 1));
	assert_int_equal(localdata_add_rr(ld, "a.b.example.lan A 10.0.0.1", why, sizeof(why)), 0);
	assert_int_equal(localdata_add_rr(ld, "z.home.arpa A 10.0.0.2", why, sizeof(why)), 0);
	assert_int_equal(localdata_add_rr(ld, "5.1.168.192.in-addr.arpa PTR z.home.arpa.", why, sizeof(why)), 0);
	assert_int_equal(localdata_finish(ld), 0);
	static const struct {
		const char *name;
		bool covers, maybe;
	} t[] = {
	        {"a.b.example.lan", true, true},
	        {"B.example.LAN", true, true},
	        {"example.lan", true, true},
	        {"lan", true, true},
	        {".", true, false},
	        {"x.a.b.example.lan", false, true},
	        {"c.example.lan", false, true},
	        {"b.example.lan.com", false, false},
	        {"ab.example.lan", false, true},
	        {"1.168.192.in-addr.arpa", true, true},
	        {"2.168.192.in-addr.arpa", false, true},
	        {"www.example.com", false, false},
	};
	for (size_t i = 0; i < N(t); i++) {
		len = name_from_text(t[i].name, w);
		if (localdata_covers(ld, w, len) != t[i].covers)
			fail_msg("covers '%s': want %d", t[i].name, t[i].covers);
		if (localdata_maybe(ld, w, len) != t[i].maybe)
			fail_msg("maybe '%s': want %d", t[i].name, t[i].maybe);
	}
	localdata_free(ld);
}

/* ---------- the RFC 6303 list ---------- */

#define Z32 "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"

static void test_reverse_zones(void **state)
{
	static const struct {
		const char *name;
		const char *apex; /* NULL: not in the list */
	} t[] = {
	        {"10.in-addr.arpa", "10.in-addr.arpa."},
	        {"4.3.2.10.in-addr.arpa", "10.in-addr.arpa."},
	        {"16.172.in-addr.arpa", "16.172.in-addr.arpa."},
	        {"1.31.172.in-addr.arpa", "31.172.in-addr.arpa."},
	        {"15.172.in-addr.arpa", NULL},
	        {"32.172.in-addr.arpa", NULL},
	        {"172.in-addr.arpa", NULL},
	        {"1.1.168.192.IN-ADDR.ARPA", "168.192.in-addr.arpa."},
	        {"169.192.in-addr.arpa", NULL},
	        {"9.254.169.in-addr.arpa", "254.169.in-addr.arpa."},
	        {"1.0.0.127.in-addr.arpa", "127.in-addr.arpa."},
	        {"0.in-addr.arpa", "0.in-addr.arpa."},
	        {"64.100.in-addr.arpa", "64.100.in-addr.arpa."},
	        {"1.127.100.in-addr.arpa", "127.100.in-addr.arpa."},
	        {"63.100.in-addr.arpa", NULL},
	        {"128.100.in-addr.arpa", NULL},
	        {"7.2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa."},
	        {"3.0.192.in-addr.arpa", NULL},
	        {"100.51.198.in-addr.arpa", "100.51.198.in-addr.arpa."},
	        {"113.0.203.in-addr.arpa", "113.0.203.in-addr.arpa."},
	        {"255.255.255.255.in-addr.arpa", "255.255.255.255.in-addr.arpa."},
	        {"254.255.255.255.in-addr.arpa", NULL},
	        {"255.255.255.in-addr.arpa", NULL},
	        {"010.in-addr.arpa", NULL}, /* no leading zeros in in-addr.arpa */
	        {"x.10.in-addr.arpa", "10.in-addr.arpa."},
	        {"in-addr.arpa", NULL},
	        {"arpa", NULL},
	        {"10.in-addr.arpa.example", NULL},
	        {"8.8.8.8.in-addr.arpa", NULL},
	        {"d.f.ip6.arpa", "d.f.ip6.arpa."},
	        {"1.0.0.0.D.F.ip6.arpa", "d.f.ip6.arpa."},
	        {"c.f.ip6.arpa", NULL},
	        {"f.ip6.arpa", NULL},
	        {"8.e.f.ip6.arpa", "8.e.f.ip6.arpa."},
	        {"1.b.e.f.ip6.arpa", "b.e.f.ip6.arpa."},
	        {"c.e.f.ip6.arpa", NULL},
	        {"7.e.f.ip6.arpa", NULL},
	        {"8.b.d.0.1.0.0.2.ip6.arpa", "8.b.d.0.1.0.0.2.ip6.arpa."},
	        {"1.8.b.d.0.1.0.0.2.ip6.arpa", "8.b.d.0.1.0.0.2.ip6.arpa."},
	        {"9.b.d.0.1.0.0.2.ip6.arpa", NULL},
	        {"b.d.0.1.0.0.2.ip6.arpa", NULL},
	        {"0." Z32 ".ip6.arpa", "0." Z32 ".ip6.arpa."},
	        {"1." Z32 ".ip6.arpa", "1." Z32 ".ip6.arpa."},
	        {"2." Z32 ".ip6.arpa", NULL},
	        {Z32 ".ip6.arpa", NULL},
	        {"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa", NULL},
	        {"ip6.arpa", NULL},
	};
	for (size_t i = 0; i < N(t); i++) {
		uint8_t w[256];
		size_t len = name_from_text(t[i].name, w), apex = 999;
		bool m = localdata_reverse_zone_match(w, len, &apex);
		if (m != (t[i].apex != NULL))
			fail_msg("'%s': match %d, want %d", t[i].name, m, t[i].apex != NULL);
		if (!m)
			continue;
		assert_true(apex < len);
		ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len - apex, w + apex);
		ldns_dname2canonical(rdf);
		char *s = ldns_rdf2str(rdf);
		if (strcmp(s, t[i].apex) != 0)
			fail_msg("'%s': apex '%s', want '%s'", t[i].name, s, t[i].apex);
		free(s);
		ldns_rdf_deep_free(rdf);
	}
}

/* ---------- answers through local_answer() ---------- */

static struct query query(const char *name, uint16_t type, uint16_t cls)
{
	struct query q;

	memset(&q, 0, sizeof(q));
	q.qname_len = (uint8_t)name_from_text(name, q.qname);
	q.qtype = type;
	q.qclass = cls;
	q.flags = F_RD;
	return q;
}

struct acase {
	const char *name;
	uint16_t type;
	bool dns64;
	int rc;    /* 1 answered here, 0 not local */
	int rcode; /* when answered */
	const char *answer;
	const char *authority;
	bool synthesized;
};

static void run(const struct config *cfg, const struct acase *t, size_t n, const struct nat64_prefix *pfx)
{
	for (size_t i = 0; i < n; i++) {
		struct query q = query(t[i].name, t[i].type, C_IN);
		struct synth_prefix sp;
		if (pfx)
			config_global_prefix(cfg, pfx, &sp); /* the prefix with the config's options */
		struct local_client cl = {.dns64 = t[i].dns64,
		                          .prefixes = t[i].dns64 && pfx ? &sp : NULL,
		                          .n_prefixes = t[i].dns64 && pfx ? 1 : 0,
		                          .hostname = "h"};
		ldns_pkt *p = NULL;
		bool synth = false;
		char got[4096];
		int rc = local_answer(cfg, &q, &cl, &p, &synth);

		if (rc != t[i].rc)
			fail_msg("%s type %u: rc %d, want %d", t[i].name, t[i].type, rc, t[i].rc);
		if (rc == 0) {
			assert_null(p);
			continue;
		}
		if ((int)ldns_pkt_get_rcode(p) != t[i].rcode)
			fail_msg("%s type %u: rcode %d, want %d", t[i].name, t[i].type, ldns_pkt_get_rcode(p),
			         t[i].rcode);
		assert_true(ldns_pkt_qr(p) && ldns_pkt_ra(p));
		section_text(ldns_pkt_answer(p), got, sizeof(got));
		if (strcmp(got, t[i].answer))
			fail_msg("%s type %u: answer\n  '%s'\nwant\n  '%s'", t[i].name, t[i].type, got, t[i].answer);
		section_text(ldns_pkt_authority(p), got, sizeof(got));
		if (strcmp(got, t[i].authority))
			fail_msg("%s type %u: authority\n  '%s'\nwant\n  '%s'", t[i].name, t[i].type, got,
			         t[i].authority);
		if (synth != t[i].synthesized)
			fail_msg("%s type %u: synthesized %d", t[i].name, t[i].type, synth);
		ldns_pkt_free(p);
	}
}

static struct config *parse(const char *text)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};

	if (config_parse("t.conf", text, &cfg, &err) != 0)
		fail_msg("config: %s", err.text);
	return cfg;
}

#define LSOA(n) n " 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600"
#define RSOA(z) z " 10800 IN SOA " z " nobody.invalid. 1 3600 1200 604800 10800"
#define WKP_PFX "64:ff9b::"

static void test_answers(void **state)
{
	struct config *cfg = parse("upstream 127.0.0.1\n"
	                           "local-data \"nas.lan A 192.168.1.10\"\n"
	                           "local-data \"nas.lan AAAA fd00::10\"\n"
	                           "local-data \"pub.lan 300 A 198.51.100.7\"\n"
	                           "local-data \"pub.lan A 8.8.4.4\"\n"
	                           "local-data 'txt.lan TXT \"two words\"'\n"
	                           "local-data \"www.lan CNAME pub.lan\"\n"
	                           "local-data \"ext.lan CNAME www.example.com.\"\n"
	                           "local-data \"10.1.168.192.in-addr.arpa PTR nas.lan.\"\n"
	                           "local-data \"only6.lan AAAA 2001:db8::6\"\n"
	                           "local-data \"soa.lan SOA ns.lan. admin.lan. 7 1 2 3 60\"\n"
	                           "local-data \"soa.lan A 8.8.8.8\"\n");
	struct nat64_prefix wkp = {.len = 96};
	assert_int_equal(inet_pton(AF_INET6, WKP_PFX, wkp.addr), 1);
	const struct acase t[] = {
	        {"nas.lan", T_A, false, 1, 0, "nas.lan. 3600 IN A 192.168.1.10", "", false},
	        {"NAS.lan", T_AAAA, true, 1, 0, "NAS.lan. 3600 IN AAAA fd00::10", "", false},
	        {"nas.lan", T_MX, true, 1, 0, "", LSOA("nas.lan."), false},
	        {"nas.lan", T_ANY, false, 1, 0, "nas.lan. 3600 IN A 192.168.1.10|nas.lan. 3600 IN AAAA fd00::10", "",
	         false},
	        {"txt.lan", T_TXT, false, 1, 0, "txt.lan. 3600 IN TXT \"two words\"", "", false},
	        /* a name under a local name, or above one: upstream (transparent) */
	        {"x.nas.lan", T_A, false, 0, 0, NULL, NULL, false},
	        {"lan", T_A, false, 0, 0, NULL, NULL, false},
	        /* AAAA of an A-only name for a dns64 client: synthesized, global addresses only with
	         * the WKP (RFC 6052 §3.1), TTL min(A, SOA bound) */
	        {"pub.lan", T_AAAA, true, 1, 0, "pub.lan. 3600 IN AAAA 64:ff9b::808:404", "", true},
	        {"pub.lan", T_AAAA, false, 1, 0, "", LSOA("pub.lan."), false},
	        /* a CNAME inside the local data is followed, and synthesis goes through it */
	        {"www.lan", T_A, false, 1, 0,
	         "www.lan. 3600 IN CNAME pub.lan.|pub.lan. 3600 IN A 8.8.4.4|pub.lan. 300 IN A 198.51.100.7", "",
	         false},
	        {"www.lan", T_AAAA, true, 1, 0,
	         "www.lan. 3600 IN CNAME pub.lan.|pub.lan. 3600 IN AAAA 64:ff9b::808:404", "", true},
	        {"www.lan", T_CNAME, false, 1, 0, "www.lan. 3600 IN CNAME pub.lan.", "", false},
	        {"ext.lan", T_A, false, 1, 0, "ext.lan. 3600 IN CNAME www.example.com.", "", false},
	        /* its own SOA for NODATA */
	        {"soa.lan", T_MX, false, 1, 0, "", "soa.lan. 3600 IN SOA ns.lan. admin.lan. 7 1 2 3 60", false},
	        {"only6.lan", T_AAAA, true, 1, 0, "only6.lan. 3600 IN AAAA 2001:db8::6", "", false},
	        {"only6.lan", T_A, true, 1, 0, "", LSOA("only6.lan."), false},
	        /* local data inside an RFC 6303 zone, and the zone around it */
	        {"10.1.168.192.in-addr.arpa", T_PTR, false, 1, 0, "10.1.168.192.in-addr.arpa. 3600 IN PTR nas.lan.", "",
	         false},
	        {"10.1.168.192.in-addr.arpa", T_TXT, false, 1, 0, "", LSOA("10.1.168.192.in-addr.arpa."), false},
	        {"11.1.168.192.in-addr.arpa", T_PTR, false, 1, 3, "", RSOA("168.192.in-addr.arpa."), false},
	        {"1.168.192.in-addr.arpa", T_PTR, false, 1, 0, "", RSOA("168.192.in-addr.arpa."), false},
	        {"168.192.IN-ADDR.arpa", T_SOA, false, 1, 0,
	         "168.192.IN-ADDR.arpa. 10800 IN SOA 168.192.in-addr.arpa. nobody.invalid. 1 3600 1200 604800 10800",
	         "", false},
	        {"168.192.in-addr.arpa", T_NS, false, 1, 0, "168.192.in-addr.arpa. 10800 IN NS 168.192.in-addr.arpa.",
	         "", false},
	        {"168.192.in-addr.arpa", T_PTR, false, 1, 0, "", RSOA("168.192.in-addr.arpa."), false},
	        {"1.0.0.10.in-addr.arpa", T_PTR, true, 1, 3, "", RSOA("10.in-addr.arpa."), false},
	        {"1.0.0.1.d.f.ip6.arpa", T_PTR, true, 1, 3, "", RSOA("d.f.ip6.arpa."), false},
	        /* the built-in zones keep their answers */
	        {"1.0.0.127.in-addr.arpa", T_PTR, false, 1, 0, "1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.", "",
	         false},
	        {"8.8.8.8.in-addr.arpa", T_PTR, false, 0, 0, NULL, NULL, false},
	        {"www.example.com", T_A, true, 0, 0, NULL, NULL, false},
	};
	run(cfg, t, N(t), &wkp);
	config_unref(cfg);
}

/* exclude, mapped, no-synth, synth-all and the client's own prefix apply to local names. */
static void test_answers_dns64(void **state)
{
	struct config *cfg = parse("upstream 127.0.0.1\n"
	                           "mapped 192.168.0.0/16\n"
	                           "exclude fd00::/8\n"
	                           "no-synth nosynth.lan\n"
	                           "synth-all all.lan\n"
	                           "local-data \"priv.lan A 192.168.1.20\"\n"
	                           "local-data \"other.lan A 10.1.1.1\"\n"
	                           "local-data \"ula.lan A 192.168.1.21\"\n"
	                           "local-data \"ula.lan AAAA fd00::21\"\n"
	                           "local-data \"nosynth.lan A 192.168.1.22\"\n"
	                           "local-data \"all.lan A 192.168.1.23\"\n"
	                           "local-data \"all.lan AAAA 2001:db8::23\"\n");
	struct nat64_prefix nsp = {.len = 96};
	assert_int_equal(inet_pton(AF_INET6, "fd64::", nsp.addr), 1);
	const struct acase t[] = {
	        {"priv.lan", T_AAAA, true, 1, 0, "priv.lan. 3600 IN AAAA fd64::c0a8:114", "", true},
	        /* outside mapped: nothing to synthesize, NODATA */
	        {"other.lan", T_AAAA, true, 1, 0, "", LSOA("other.lan."), false},
	        /* the only AAAA is excluded: synthesized instead */
	        {"ula.lan", T_AAAA, true, 1, 0, "ula.lan. 600 IN AAAA fd64::c0a8:115", "", true},
	        {"ula.lan", T_AAAA, false, 1, 0, "ula.lan. 3600 IN AAAA fd00::21", "", false},
	        {"nosynth.lan", T_AAAA, true, 1, 0, "", LSOA("nosynth.lan."), false},
	        {"all.lan", T_AAAA, true, 1, 0, "all.lan. 600 IN AAAA fd64::c0a8:117", "", true},
	        /* the PTR of a synthesized address inside the client's prefix (under d.f.ip6.arpa)
	         * is request.c's: not the RFC 6303 zone's NXDOMAIN */
	        {"4.1.1.0.8.a.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.6.d.f.ip6.arpa", T_PTR, true, 0, 0, NULL,
	         NULL, false},
	        {"4.1.1.0.8.a.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.6.d.f.ip6.arpa", T_PTR, false, 1, 3, "",
	         RSOA("d.f.ip6.arpa."), false},
	};
	run(cfg, t, N(t), &nsp);
	config_unref(cfg);
}

static void test_reverse_zones_off(void **state)
{
	struct config *cfg = parse("upstream 127.0.0.1\nlocal-reverse-zones no\n"
	                           "local-data \"10.1.168.192.in-addr.arpa PTR nas.lan.\"\n");
	const struct acase t[] = {
	        {"11.1.168.192.in-addr.arpa", T_PTR, false, 0, 0, NULL, NULL, false},
	        {"10.in-addr.arpa", T_SOA, false, 0, 0, NULL, NULL, false},
	        {"10.1.168.192.in-addr.arpa", T_PTR, false, 1, 0, "10.1.168.192.in-addr.arpa. 3600 IN PTR nas.lan.", "",
	         false},
	        /* built-in, not RFC 6303 */
	        {"2.0.0.127.in-addr.arpa", T_PTR, false, 1, 3, "",
	         "127.in-addr.arpa. 10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800", false},
	};
	run(cfg, t, N(t), NULL);
	config_unref(cfg);
	/* on by default */
	cfg = parse("upstream 127.0.0.1\n");
	assert_true(cfg->local_reverse_zones);
	assert_null(cfg->local);
	config_unref(cfg);
}

/* Bad local-data is a FILE:LINE error like any other; the text as written is kept. */
static void test_config_lines(void **state)
{
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};

	assert_int_equal(config_parse("x.conf",
	                              "upstream 127.0.0.1\nlocal-data \"a.lan A 1.2.3\"\n"
	                              "local-data b.lan A 10.0.0.1\nlocal-data\nlocal-data \"c.lan CH A 1.1.1.1\"\n",
	                              &cfg, &err),
	                 -EINVAL);
	assert_null(cfg);
	assert_int_equal(err.count, 3);
	assert_non_null(strstr(err.text, "x.conf:2: bad local-data 'a.lan A 1.2.3'"));
	assert_non_null(strstr(err.text, "x.conf:4: missing argument for 'local-data'"));
	assert_non_null(strstr(err.text, "x.conf:5: bad local-data 'c.lan CH A 1.1.1.1': only class IN"));
	cfg = parse("upstream 127.0.0.1\nlocal-data b.lan A 10.0.0.1\nhosts hosts.txt\nhosts /etc/hosts\n");
	assert_int_equal(cfg->n_local_data, 1);
	assert_string_equal(cfg->local_data[0], "b.lan A 10.0.0.1");
	assert_int_equal(cfg->n_hosts, 2);
	/* relative to the config file's directory (here: none) */
	assert_string_equal(cfg->hosts[0], "hosts.txt");
	assert_string_equal(cfg->hosts[1], "/etc/hosts");
	assert_int_equal(cfg->hosts_lines[1], 4);
	assert_int_equal(localdata_count(cfg->local), 1);
	config_unref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_add_rr),        cmocka_unit_test(test_hosts),
	        cmocka_unit_test(test_hosts_errors),  cmocka_unit_test(test_covers_maybe),
	        cmocka_unit_test(test_reverse_zones), cmocka_unit_test(test_answers),
	        cmocka_unit_test(test_answers_dns64), cmocka_unit_test(test_reverse_zones_off),
	        cmocka_unit_test(test_config_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
