/* test_dns64.c - unit tests for RFC 6052 embedding and RFC 6147 synthesis in src/dns64.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/dns64.h"
#include "dns64d/wire.h"

/* ---------- helpers ---------- */

static void v6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static void v4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static struct nat64_prefix prefix(const char *addr, unsigned len)
{
	struct nat64_prefix p;

	memset(&p, 0, sizeof(p));
	v6(addr, p.addr);
	p.len = len;
	return p;
}

static struct network net4(const char *addr, unsigned plen)
{
	struct network n;

	memset(&n, 0, sizeof(n));
	n.family = AF_INET;
	v4(addr, n.addr);
	n.plen = plen;
	return n;
}

static struct network net6(const char *addr, unsigned plen)
{
	struct network n;

	memset(&n, 0, sizeof(n));
	n.family = AF_INET6;
	v6(addr, n.addr);
	n.plen = plen;
	return n;
}

static struct dname dname_from(const char *text)
{
	struct dname d;
	ldns_rdf *rdf = NULL;

	memset(&d, 0, sizeof(d));
	assert_int_equal(ldns_str2rdf_dname(&rdf, text), LDNS_STATUS_OK);
	ldns_dname2canonical(rdf);
	assert_true(ldns_rdf_size(rdf) <= sizeof(d.wire));
	memcpy(d.wire, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	d.len = (uint8_t)ldns_rdf_size(rdf);
	ldns_rdf_deep_free(rdf);
	return d;
}

/* Wire form of a name, case kept as written. */
static size_t wire_name(const char *text, uint8_t *out, size_t cap)
{
	ldns_rdf *rdf = NULL;
	size_t len;

	assert_int_equal(ldns_str2rdf_dname(&rdf, text), LDNS_STATUS_OK);
	len = ldns_rdf_size(rdf);
	assert_true(len <= cap);
	memcpy(out, ldns_rdf_data(rdf), len);
	ldns_rdf_deep_free(rdf);
	return len;
}

/* A config with the defaults dns64 looks at: exclude ::ffff:0:0/96, no mapped. */
struct test_cfg {
	struct config cfg;
	struct network exclude[4];
	struct mapped_net mapped[4];
	struct synth_prefix sp;
};

/* Prefix p with t's mapped and exclude lists, as a prefix line without options gets them. */
static const struct synth_prefix *SP(struct test_cfg *t, const struct nat64_prefix *p)
{
	t->sp = (struct synth_prefix){.p = *p,
	                              .mapped = t->mapped,
	                              .n_mapped = t->cfg.n_mapped,
	                              .exclude = t->exclude,
	                              .n_exclude = t->cfg.n_exclude};
	return &t->sp;
}

static void cfg_init(struct test_cfg *t)
{
	memset(t, 0, sizeof(*t));
	t->exclude[0] = net6("::ffff:0:0", 96);
	t->cfg.exclude = t->exclude;
	t->cfg.n_exclude = 1;
	t->cfg.mapped = t->mapped;
	t->cfg.n_mapped = 0;
}

static void push(ldns_pkt *pkt, ldns_pkt_section s, const char *text)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL), LDNS_STATUS_OK);
	assert_true(ldns_pkt_push_rr(pkt, s, rr));
}

/* Build a response: question "NAME TYPE", NULL-terminated section lists. */
static ldns_pkt *response(ldns_pkt_rcode rcode, const char *qname, ldns_rr_type qtype, const char *const *answer,
                          const char *const *authority, const char *const *additional)
{
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();
	ldns_rdf *owner = NULL;

	assert_non_null(pkt);
	assert_non_null(q);
	assert_int_equal(ldns_str2rdf_dname(&owner, qname), LDNS_STATUS_OK);
	ldns_rr_set_owner(q, owner);
	ldns_rr_set_type(q, qtype);
	ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(q, true);
	assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q));
	for (size_t i = 0; answer && answer[i]; i++)
		push(pkt, LDNS_SECTION_ANSWER, answer[i]);
	for (size_t i = 0; authority && authority[i]; i++)
		push(pkt, LDNS_SECTION_AUTHORITY, authority[i]);
	for (size_t i = 0; additional && additional[i]; i++)
		push(pkt, LDNS_SECTION_ADDITIONAL, additional[i]);
	ldns_pkt_set_id(pkt, 4242);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rd(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_aa(pkt, true);
	ldns_pkt_set_ad(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	return pkt;
}

static char *rr_text(const ldns_rr *rr)
{
	char *s = ldns_rr2str(rr);
	size_t n;

	assert_non_null(s);
	/* ldns_rr2str ends with a newline; tabs separate fields. */
	n = strlen(s);
	if (n && s[n - 1] == '\n')
		s[n - 1] = '\0';
	for (char *c = s; *c; c++)
		if (*c == '\t')
			*c = ' ';
	return s;
}

static void assert_section(const ldns_rr_list *list, const char *const *expect)
{
	size_t n = 0;

	while (expect[n])
		n++;
	assert_int_equal(ldns_rr_list_rr_count(list), n);
	for (size_t i = 0; i < n; i++) {
		char *s = rr_text(ldns_rr_list_rr(list, i));

		assert_string_equal(s, expect[i]);
		free(s);
	}
}

/* ---------- RFC 6052 §2.4 ---------- */

static const struct {
	const char *prefix;
	unsigned len;
	const char *v4;
	const char *v6;
} rfc6052_table[] = {
        {"2001:db8::", 32, "192.0.2.33", "2001:db8:c000:221::"},
        {"2001:db8:100::", 40, "192.0.2.33", "2001:db8:1c0:2:21::"},
        {"2001:db8:122::", 48, "192.0.2.33", "2001:db8:122:c000:2:2100::"},
        {"2001:db8:122:300::", 56, "192.0.2.33", "2001:db8:122:3c0:0:221::"},
        {"2001:db8:122:344::", 64, "192.0.2.33", "2001:db8:122:344:c0:2:2100:0"},
        {"2001:db8:122:344::", 96, "192.0.2.33", "2001:db8:122:344::192.0.2.33"},
        {"64:ff9b::", 96, "192.0.2.33", "64:ff9b::192.0.2.33"},
};

static void test_rfc6052_embed(void **state)
{
	for (size_t i = 0; i < sizeof(rfc6052_table) / sizeof(rfc6052_table[0]); i++) {
		struct nat64_prefix p = prefix(rfc6052_table[i].prefix, rfc6052_table[i].len);
		uint8_t a[4], want[16], got[16];

		v4(rfc6052_table[i].v4, a);
		v6(rfc6052_table[i].v6, want);
		memset(got, 0xaa, sizeof(got));
		dns64_embed(&p, a, got);
		assert_memory_equal(got, want, 16);
	}
}

static void test_rfc6052_extract(void **state)
{
	for (size_t i = 0; i < sizeof(rfc6052_table) / sizeof(rfc6052_table[0]); i++) {
		struct nat64_prefix p = prefix(rfc6052_table[i].prefix, rfc6052_table[i].len);
		uint8_t want[4], got[4], addr[16];

		v4(rfc6052_table[i].v4, want);
		v6(rfc6052_table[i].v6, addr);
		assert_int_equal(dns64_extract(&p, addr, got), 0);
		assert_memory_equal(got, want, 4);
	}
}

static void test_rfc6052_round_trip(void **state)
{
	static const char *const addrs[] = {"0.0.0.0",         "1.2.3.4", "192.0.2.33",
	                                    "255.255.255.255", "8.8.8.8", "203.0.113.254"};
	static const struct {
		const char *addr;
		unsigned len;
	} prefixes[] = {
	        {"2001:db8::", 32},         {"2001:db8:100::", 40},        {"2001:db8:122::", 48},
	        {"2001:db8:122:300::", 56}, {"2001:db8:122:344::", 64},    {"2001:db8:122:344::", 96},
	        {"64:ff9b::", 96},          {"ffff:ffff::", 32},           {"ffff:ffff:ff00::", 40},
	        {"ffff:ffff:ffff::", 48},   {"ffff:ffff:ffff:ff00::", 56}, {"ffff:ffff:ffff:ffff::", 64},
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		struct nat64_prefix p = prefix(prefixes[i].addr, prefixes[i].len);

		for (size_t j = 0; j < sizeof(addrs) / sizeof(addrs[0]); j++) {
			uint8_t a[4], back[4], out[16];

			v4(addrs[j], a);
			dns64_embed(&p, a, out);
			/* The prefix is kept, and for lengths below 96 the u-octet and suffix are zero. */
			assert_memory_equal(out, p.addr, p.len / 8);
			if (p.len < 96) {
				assert_int_equal(out[8], 0);
				for (unsigned k = p.len / 8 + 5; k < 16; k++)
					assert_int_equal(out[k], 0);
			}
			assert_int_equal(dns64_extract(&p, out, back), 0);
			assert_memory_equal(back, a, 4);
		}
	}
}

static void test_extract_outside(void **state)
{
	for (size_t i = 0; i < sizeof(rfc6052_table) / sizeof(rfc6052_table[0]); i++) {
		struct nat64_prefix p = prefix(rfc6052_table[i].prefix, rfc6052_table[i].len);
		uint8_t addr[16], got[4];

		v6(rfc6052_table[i].v6, addr);
		/* Flip the last bit of the prefix. */
		addr[p.len / 8 - 1] ^= 1;
		assert_int_equal(dns64_extract(&p, addr, got), -ENOENT);
		addr[p.len / 8 - 1] ^= 1;
		addr[0] ^= 0x80;
		assert_int_equal(dns64_extract(&p, addr, got), -ENOENT);
	}
}

static void test_prefix_len_and_wkp(void **state)
{
	static const unsigned good[] = {32, 40, 48, 56, 64, 96};
	static const unsigned bad[] = {0, 8, 24, 31, 33, 72, 80, 88, 95, 97, 128};
	struct nat64_prefix nsp = prefix("2001:db8:122:344::", 96);
	struct nat64_prefix wkp = prefix("64:ff9b::", 96);
	struct nat64_prefix wkp_short = prefix("64:ff9b::", 64);

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(dns64_prefix_len_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dns64_prefix_len_valid(bad[i]));
	assert_true(dns64_prefix_is_wkp(&dns64_wkp));
	assert_true(dns64_prefix_is_wkp(&wkp));
	assert_false(dns64_prefix_is_wkp(&nsp));
	assert_false(dns64_prefix_is_wkp(&wkp_short));
	assert_int_equal(dns64_wkp.len, 96);
}

/* ---------- non-global rule ---------- */

static void test_ipv4_is_global(void **state)
{
	static const struct {
		const char *addr;
		bool global;
	} table[] = {
	        {"0.0.0.0", false},         {"0.255.255.255", false},   {"1.0.0.0", true},
	        {"9.255.255.255", true},    {"10.0.0.0", false},        {"10.255.255.255", false},
	        {"11.0.0.0", true},         {"100.63.255.255", true},   {"100.64.0.0", false},
	        {"100.127.255.255", false}, {"100.128.0.0", true},      {"126.255.255.255", true},
	        {"127.0.0.1", false},       {"128.0.0.0", true},        {"169.253.255.255", true},
	        {"169.254.1.1", false},     {"169.255.0.0", true},      {"172.15.255.255", true},
	        {"172.16.0.0", false},      {"172.31.255.255", false},  {"172.32.0.0", true},
	        {"192.0.0.1", false},       {"192.0.1.0", true},        {"192.0.2.33", false},
	        {"192.0.3.0", true},        {"192.88.99.1", false},     {"192.88.98.255", true},
	        {"192.167.255.255", true},  {"192.168.0.1", false},     {"192.169.0.0", true},
	        {"198.17.255.255", true},   {"198.18.0.0", false},      {"198.19.255.255", false},
	        {"198.20.0.0", true},       {"198.51.100.7", false},    {"198.51.101.0", true},
	        {"203.0.113.9", false},     {"203.0.112.255", true},    {"8.8.8.8", true},
	        {"223.255.255.255", true},  {"224.0.0.1", false},       {"239.255.255.255", false},
	        {"240.0.0.0", false},       {"255.255.255.255", false},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		uint8_t a[4];

		v4(table[i].addr, a);
		if (dns64_ipv4_is_global(a) != table[i].global)
			fail_msg("'%s' global expected %d", table[i].addr, table[i].global);
	}
}

static void test_may_synth(void **state)
{
	struct test_cfg t;
	struct nat64_prefix nsp = prefix("2001:db8:64::", 96);
	uint8_t a[4];

	cfg_init(&t);
	/* WKP, no mapped: non-global dropped. */
	v4("10.1.2.3", a);
	assert_false(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	v4("192.168.1.1", a);
	assert_false(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	v4("93.184.216.34", a);
	assert_true(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	/* Network-specific prefix: no default restriction. */
	v4("10.1.2.3", a);
	assert_true(dns64_ipv4_may_synth(SP(&t, &nsp), a));
	v4("192.0.2.33", a);
	assert_true(dns64_ipv4_may_synth(SP(&t, &nsp), a));

	/* mapped overrides the default, with either kind of prefix. */
	t.mapped[0].net = net4("10.0.0.0", 8);
	t.mapped[1].net = net4("198.51.100.0", 24);
	t.cfg.n_mapped = 2;
	v4("10.1.2.3", a);
	assert_true(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	assert_true(dns64_ipv4_may_synth(SP(&t, &nsp), a));
	v4("198.51.100.20", a);
	assert_true(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	v4("93.184.216.34", a);
	assert_false(dns64_ipv4_may_synth(SP(&t, &dns64_wkp), a));
	assert_false(dns64_ipv4_may_synth(SP(&t, &nsp), a));
	v4("192.168.1.1", a);
	assert_false(dns64_ipv4_may_synth(SP(&t, &nsp), a));
}

static void test_ipv6_excluded(void **state)
{
	struct test_cfg t;
	uint8_t a[16];

	cfg_init(&t);
	v6("::ffff:192.0.2.1", a);
	assert_true(dns64_ipv6_excluded(SP(&t, &dns64_wkp), 1, a));
	v6("2001:db8::1", a);
	assert_false(dns64_ipv6_excluded(SP(&t, &dns64_wkp), 1, a));
	t.exclude[1] = net6("2001:db8::", 32);
	t.cfg.n_exclude = 2;
	assert_true(dns64_ipv6_excluded(SP(&t, &dns64_wkp), 1, a));
	v6("2001:db9::1", a);
	assert_false(dns64_ipv6_excluded(SP(&t, &dns64_wkp), 1, a));
	t.cfg.n_exclude = 0;
	v6("::ffff:192.0.2.1", a);
	assert_false(dns64_ipv6_excluded(SP(&t, &dns64_wkp), 1, a));
}

/* ---------- trigger decision ---------- */

static void test_decide_table(void **state)
{
	enum {
		NOERR = LDNS_RCODE_NOERROR,
		NXD = LDNS_RCODE_NXDOMAIN,
		SERVF = LDNS_RCODE_SERVFAIL,
		REFU = LDNS_RCODE_REFUSED,
		TIMEOUT = -1
	};
#define ANY    SYNTH_ON_ANY_ERROR
#define NODATA SYNTH_ON_NODATA
	static const struct {
		const char *name;
		struct dns64_facts f;
		enum dns64_verdict v;
		enum dns64_reason why;
	} table[] = {
	        {"nodata", {.rcode = NOERR, .synth_on = ANY}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"nodata, synth-on nodata", {.rcode = NOERR, .synth_on = NODATA}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"nxdomain", {.rcode = NXD, .synth_on = ANY}, DNS64_PASS, DNS64_REASON_NXDOMAIN},
	        {"nxdomain, nodata", {.rcode = NXD, .synth_on = NODATA}, DNS64_PASS, DNS64_REASON_NXDOMAIN},
	        {"servfail, any-error", {.rcode = SERVF, .synth_on = ANY}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"servfail, nodata", {.rcode = SERVF, .synth_on = NODATA}, DNS64_PASS, DNS64_REASON_RCODE},
	        {"refused, any-error", {.rcode = REFU, .synth_on = ANY}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"refused, nodata", {.rcode = REFU, .synth_on = NODATA}, DNS64_PASS, DNS64_REASON_RCODE},
	        {"timeout, any-error", {.rcode = TIMEOUT, .synth_on = ANY}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"timeout, nodata", {.rcode = TIMEOUT, .synth_on = NODATA}, DNS64_PASS, DNS64_REASON_RCODE},
	        {"servfail with dnssec ede",
	         {.rcode = SERVF, .dnssec_ede = true, .synth_on = ANY},
	         DNS64_PASS,
	         DNS64_REASON_RCODE},
	        {"real aaaa", {.rcode = NOERR, .n_aaaa = 2}, DNS64_PASS, DNS64_REASON_REAL_AAAA},
	        {"all aaaa excluded", {.rcode = NOERR, .n_aaaa = 2, .n_excluded = 2}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"all aaaa excluded, nodata",
	         {.rcode = NOERR, .n_aaaa = 1, .n_excluded = 1, .synth_on = NODATA},
	         DNS64_SYNTH,
	         DNS64_REASON_NONE},
	        {"partly excluded",
	         {.rcode = NOERR, .n_aaaa = 3, .n_excluded = 1},
	         DNS64_FILTER,
	         DNS64_REASON_EXCLUDED},
	        {"cd+do", {.rcode = NOERR, .cd_bit = true, .do_bit = true}, DNS64_PASS, DNS64_REASON_CD_DO},
	        {"cd+do beats synth-all",
	         {.rcode = NOERR, .cd_bit = true, .do_bit = true, .synth_all = true},
	         DNS64_PASS,
	         DNS64_REASON_CD_DO},
	        {"do only", {.rcode = NOERR, .do_bit = true}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"cd only", {.rcode = NOERR, .cd_bit = true}, DNS64_SYNTH, DNS64_REASON_NONE},
	        {"do only with real aaaa",
	         {.rcode = NOERR, .do_bit = true, .n_aaaa = 1},
	         DNS64_PASS,
	         DNS64_REASON_REAL_AAAA},
	        {"synth-all with real aaaa",
	         {.rcode = NOERR, .n_aaaa = 1, .synth_all = true},
	         DNS64_SYNTH,
	         DNS64_REASON_NONE},
	        {"synth-all with servfail, nodata",
	         {.rcode = SERVF, .synth_all = true, .synth_on = NODATA},
	         DNS64_SYNTH,
	         DNS64_REASON_NONE},
	        {"synth-all does not synthesize nxdomain",
	         {.rcode = NXD, .synth_all = true},
	         DNS64_PASS,
	         DNS64_REASON_NXDOMAIN},
	        {"no-synth with nodata", {.rcode = NOERR, .no_synth = true}, DNS64_PASS, DNS64_REASON_NO_SYNTH},
	        {"no-synth beats synth-all",
	         {.rcode = NOERR, .no_synth = true, .synth_all = true},
	         DNS64_PASS,
	         DNS64_REASON_NO_SYNTH},
	        {"no-synth with servfail", {.rcode = SERVF, .no_synth = true}, DNS64_PASS, DNS64_REASON_NO_SYNTH},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		enum dns64_reason why = DNS64_REASON_COUNT;
		enum dns64_verdict v = dns64_decide(&table[i].f, &why);

		if (v != table[i].v || why != table[i].why)
			fail_msg("case '%s': verdict %d reason %s, expected %d %s", table[i].name, v,
			         dns64_reason_name(why), table[i].v, dns64_reason_name(table[i].why));
	}
	/* why may be NULL */
	assert_int_equal(dns64_decide(&table[0].f, NULL), DNS64_SYNTH);
#undef ANY
#undef NODATA
}

static void test_reason_names(void **state)
{
	static const char *const want[DNS64_REASON_COUNT] = {
	        "synthesized", "real_aaaa",    "nxdomain", "no_a",     "excluded",      "non_global", "cd_do",
	        "no_synth",    "forward_only", "rcode",    "not_aaaa", "not_recursive", "signed_a",
	};

	for (int r = 0; r < DNS64_REASON_COUNT; r++)
		assert_string_equal(dns64_reason_name((enum dns64_reason)r), want[r]);
	assert_string_equal(dns64_reason_name(DNS64_REASON_COUNT), "unknown");
}

/* ---------- TTL ---------- */

static void test_ttl(void **state)
{
	static const struct {
		uint32_t a_ttl;
		bool have_soa;
		uint32_t bound;
		uint32_t want;
	} table[] = {
	        {3600, false, 0, 600}, {300, false, 0, 300},      {600, false, 0, 600},
	        {0, false, 0, 0},      {3600, true, 900, 900},    {60, true, 900, 60},
	        {3600, true, 0, 0},    {3600, true, 86400, 3600}, {4000000000u, true, 3000000000u, 3000000000u},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(dns64_ttl(table[i].a_ttl, table[i].have_soa, table[i].bound), table[i].want);
}

/* ---------- packets ---------- */

static void test_count_and_filter(void **state)
{
	static const char *const ans[] = {
	        "www.example. 300 IN CNAME host.example.",
	        "host.example. 300 IN AAAA 2001:db8::1",
	        "host.example. 300 IN AAAA ::ffff:192.0.2.1",
	        "host.example. 300 IN AAAA 2001:db8::2",
	        "host.example. 300 IN RRSIG AAAA 8 2 300 20300101000000 20200101000000 12345 example. AAAA",
	        "www.example. 300 IN RRSIG CNAME 8 2 300 20300101000000 20200101000000 12345 example. AAAA",
	        NULL,
	};
	static const char *const want[] = {
	        "www.example. 300 IN CNAME host.example.",
	        "host.example. 300 IN AAAA 2001:db8::1",
	        "host.example. 300 IN AAAA 2001:db8::2",
	        "www.example. 300 IN RRSIG CNAME 8 2 300 20300101000000 20200101000000 12345 example. AAAA",
	        NULL,
	};
	struct test_cfg t;
	ldns_pkt *pkt;
	unsigned n, nx;

	cfg_init(&t);
	pkt = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_AAAA, ans, NULL, NULL);
	dns64_count_aaaa(SP(&t, &dns64_wkp), 1, pkt, &n, &nx);
	assert_int_equal(n, 3);
	assert_int_equal(nx, 1);
	dns64_filter_excluded(SP(&t, &dns64_wkp), 1, pkt);
	assert_section(ldns_pkt_answer(pkt), want);
	assert_int_equal(ldns_pkt_ancount(pkt), 4);
	dns64_count_aaaa(SP(&t, &dns64_wkp), 1, pkt, &n, &nx);
	assert_int_equal(n, 2);
	assert_int_equal(nx, 0);
	ldns_pkt_free(pkt);

	dns64_count_aaaa(SP(&t, &dns64_wkp), 1, NULL, &n, &nx);
	assert_int_equal(n, 0);
	assert_int_equal(nx, 0);
}

/* Serialize pkt with raw OPT option bytes and parse it back, as upstream.c would. */
static ldns_pkt *with_edns_options(const uint8_t *opts, size_t len)
{
	ldns_pkt *pkt = response(LDNS_RCODE_SERVFAIL, "bogus.example.", LDNS_RR_TYPE_AAAA, NULL, NULL, NULL);
	ldns_pkt *parsed = NULL;
	uint8_t *wire = NULL;
	size_t wire_len = 0;

	ldns_pkt_set_edns_udp_size(pkt, 1232);
	ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, len, opts));
	assert_int_equal(ldns_pkt2wire(&wire, pkt, &wire_len), LDNS_STATUS_OK);
	assert_int_equal(ldns_wire2pkt(&parsed, wire, wire_len), LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(pkt);
	return parsed;
}

static void test_dnssec_ede(void **state)
{
	static const struct {
		const char *name;
		uint8_t opts[24];
		size_t len;
		bool want;
	} table[] = {
	        {"ede 6 dnssec bogus", {0, 15, 0, 2, 0, 6}, 6, true},
	        {"ede 9 dnskey missing with text", {0, 15, 0, 4, 0, 9, 'h', 'i'}, 8, true},
	        {"ede 12 nsec missing", {0, 15, 0, 2, 0, 12}, 6, true},
	        {"ede 5 dnssec indeterminate", {0, 15, 0, 2, 0, 5}, 6, false},
	        {"ede 13 cached error", {0, 15, 0, 2, 0, 13}, 6, false},
	        {"ede 29 synthesized", {0, 15, 0, 2, 0, 29}, 6, false},
	        {"nsid then ede 7", {0, 3, 0, 2, 'a', 'b', 0, 15, 0, 2, 0, 7}, 12, true},
	        {"code 6 in another option", {0, 3, 0, 2, 0, 6}, 6, false},
	        {"ede too short", {0, 15, 0, 1, 0}, 5, false},
	        {"ede 262 (high byte set)", {0, 15, 0, 2, 1, 6}, 6, false},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ldns_pkt *pkt = with_edns_options(table[i].opts, table[i].len);

		if (dns64_has_dnssec_ede(pkt) != table[i].want)
			fail_msg("case '%s'", table[i].name);
		ldns_pkt_free(pkt);
	}
	assert_false(dns64_has_dnssec_ede(NULL));
}

static void test_dnssec_ede_option_list(void **state)
{
	ldns_pkt *pkt = response(LDNS_RCODE_SERVFAIL, "bogus.example.", LDNS_RR_TYPE_AAAA, NULL, NULL, NULL);
	ldns_edns_option_list *list = ldns_edns_option_list_new();
	static const uint8_t bogus[] = {0, 6};

	assert_false(dns64_has_dnssec_ede(pkt));
	assert_true(ldns_edns_option_list_push(list, ldns_edns_new_from_data(LDNS_EDNS_EDE, 2, bogus)));
	ldns_pkt_set_edns_option_list(pkt, list);
	assert_true(dns64_has_dnssec_ede(pkt));
	ldns_pkt_free(pkt);
}

static const char *const soa_auth[] = {
        "example. 7200 IN SOA ns.example. admin.example. 1 3600 600 86400 300",
        NULL,
};

static void test_synth_basic(void **state)
{
	static const char *const a_ans[] = {
	        "host.example. 3600 IN A 192.0.2.1",
	        "host.example. 100 IN A 198.51.100.7",
	        "host.example. 3600 IN A 10.0.0.1",
	        NULL,
	};
	static const char *const a_auth[] = {"example. 86400 IN NS ns.example.", NULL};
	static const char *const a_add[] = {"ns.example. 86400 IN A 192.0.2.53", NULL};
	static const char *const want_ans[] = {
	        "host.example. 300 IN AAAA 2001:db8:64::c000:201",
	        "host.example. 100 IN AAAA 2001:db8:64::c633:6407",
	        "host.example. 300 IN AAAA 2001:db8:64::a00:1",
	        NULL,
	};
	struct test_cfg t;
	struct nat64_prefix p = prefix("2001:db8:64::", 96);
	ldns_pkt *aaaa, *a, *out = NULL;
	unsigned n = 99;
	enum dns64_reason why = DNS64_REASON_COUNT;
	char *q;

	cfg_init(&t);
	aaaa = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_AAAA, NULL, soa_auth, NULL);
	a = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A, a_ans, a_auth, a_add);
	ldns_pkt_set_edns_udp_size(a, 1232);
	ldns_pkt_set_edns_do(a, true);

	assert_int_equal(dns64_synthesize(SP(&t, &p), 1, aaaa, a, &out, &n, NULL, &why), 0);
	assert_non_null(out);
	assert_int_equal(n, 3);
	assert_int_equal(why, DNS64_REASON_NONE);
	/* SOA bound: min(SOA TTL 7200, MINIMUM 300) = 300. */
	assert_section(ldns_pkt_answer(out), want_ans);
	assert_section(ldns_pkt_authority(out), (const char *const[]){"example. 86400 IN NS ns.example.", NULL});
	assert_section(ldns_pkt_additional(out), (const char *const[]){"ns.example. 86400 IN A 192.0.2.53", NULL});
	assert_int_equal(ldns_pkt_qdcount(out), 1);
	q = rr_text(ldns_rr_list_rr(ldns_pkt_question(out), 0));
	assert_string_equal(q, "host.example. IN AAAA");
	free(q);
	assert_int_equal(ldns_pkt_ancount(out), 3);
	assert_int_equal(ldns_pkt_nscount(out), 1);
	assert_int_equal(ldns_pkt_arcount(out), 1);
	assert_int_equal(ldns_pkt_id(out), 0);
	assert_true(ldns_pkt_qr(out));
	assert_true(ldns_pkt_ra(out));
	assert_false(ldns_pkt_aa(out));
	assert_false(ldns_pkt_ad(out));
	assert_int_equal(ldns_pkt_get_rcode(out), LDNS_RCODE_NOERROR);
	assert_null(ldns_pkt_edns_data(out));
	assert_false(ldns_pkt_edns(out));
	ldns_pkt_free(out);

	/* RA is copied, not forced. */
	ldns_pkt_set_ra(a, false);
	assert_int_equal(dns64_synthesize(SP(&t, &p), 1, aaaa, a, &out, &n, NULL, &why), 0);
	assert_false(ldns_pkt_ra(out));
	ldns_pkt_free(out);

	ldns_pkt_free(aaaa);
	ldns_pkt_free(a);
}

static void test_synth_ttl(void **state)
{
	static const char *const a_ans[] = {
	        "host.example. 3600 IN A 192.0.2.1",
	        "host.example. 20 IN A 192.0.2.2",
	        NULL,
	};
	static const char *const soa_small_ttl[] = {
	        "example. 120 IN SOA ns.example. admin.example. 1 3600 600 86400 900",
	        NULL,
	};
	static const struct {
		const char *name;
		const char *const *aaaa_auth; /* NULL entry in table = aaaa packet NULL */
		bool aaaa_null;
		uint32_t want0, want1;
	} table[] = {
	        {"soa minimum below soa ttl", soa_auth, false, 300, 20},
	        {"soa ttl below minimum", soa_small_ttl, false, 120, 20},
	        {"no soa", NULL, false, 600, 20},
	        {"no aaaa answer", NULL, true, 600, 20},
	};
	struct test_cfg t;
	struct nat64_prefix p = prefix("2001:db8:64::", 96);

	cfg_init(&t);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ldns_pkt *aaaa = table[i].aaaa_null ? NULL
		                                    : response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_AAAA,
		                                               NULL, table[i].aaaa_auth, NULL);
		ldns_pkt *a = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL);
		ldns_pkt *out = NULL;
		unsigned n = 0;
		enum dns64_reason why;

		assert_int_equal(dns64_synthesize(SP(&t, &p), 1, aaaa, a, &out, &n, NULL, &why), 0);
		assert_int_equal(n, 2);
		if (ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(out), 0)) != table[i].want0 ||
		    ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(out), 1)) != table[i].want1)
			fail_msg("case '%s'", table[i].name);
		ldns_pkt_free(out);
		ldns_pkt_free(a);
		ldns_pkt_free(aaaa);
	}
}

static void test_synth_cname_chain(void **state)
{
	static const char *const a_ans[] = {
	        "WWW.Example. 3600 IN CNAME alias.example.net.",
	        "WWW.Example. 3600 IN RRSIG CNAME 8 2 3600 20300101000000 20200101000000 1 example. AAAA",
	        "alias.example.net. 1800 IN DNAME target.example.org.",
	        "x.alias.example.net. 1800 IN CNAME x.target.example.org.",
	        "x.target.example.org. 500 IN A 192.0.2.33",
	        "x.target.example.org. 500 IN RRSIG A 8 4 500 20300101000000 20200101000000 2 example.org. AAAA",
	        "x.target.example.org. 500 IN A 192.0.2.34",
	        NULL,
	};
	static const char *const want[] = {
	        "WWW.Example. 3600 IN CNAME alias.example.net.",
	        "WWW.Example. 3600 IN RRSIG CNAME 8 2 3600 20300101000000 20200101000000 1 example. AAAA",
	        "alias.example.net. 1800 IN DNAME target.example.org.",
	        "x.alias.example.net. 1800 IN CNAME x.target.example.org.",
	        "x.target.example.org. 500 IN AAAA 64:ff9b::c000:221",
	        "x.target.example.org. 500 IN AAAA 64:ff9b::c000:222",
	        NULL,
	};
	struct test_cfg t;
	ldns_pkt *a, *out = NULL;
	unsigned n = 0;
	enum dns64_reason why;
	char *q;

	cfg_init(&t);
	/* 192.0.2/24 is not global: with the WKP it needs mapped. */
	t.mapped[0].net = net4("192.0.2.0", 24);
	t.cfg.n_mapped = 1;
	a = response(LDNS_RCODE_NOERROR, "WWW.Example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), 0);
	assert_int_equal(n, 2);
	assert_section(ldns_pkt_answer(out), want);
	q = rr_text(ldns_rr_list_rr(ldns_pkt_question(out), 0));
	assert_string_equal(q, "WWW.Example. IN AAAA");
	free(q);
	ldns_pkt_free(out);
	ldns_pkt_free(a);
}

/* Only the CNAME/DNAME chain goes with the synthesized AAAA records (RFC 6147 §5.1.4-5.1.6):
 * other records of the A answer (an SRV, a TXT, an AAAA, their signatures) stay out. */
static void test_synth_only_chain(void **state)
{
	static const char *const a_ans[] = {
	        "www.example. 300 IN SRV 0 0 0 .",
	        "www.example. 300 IN CNAME host.example.",
	        "www.example. 300 IN RRSIG CNAME 8 2 300 20300101000000 20200101000000 1 example. AAAA",
	        "www.example. 300 IN RRSIG SRV 8 2 300 20300101000000 20200101000000 1 example. AAAA",
	        "host.example. 300 IN TXT \"not an address\"",
	        "host.example. 300 IN AAAA 2001:db8::1",
	        "host.example. 300 IN A 5.5.5.5",
	        "host.example. 300 IN DNAME elsewhere.example.",
	        NULL,
	};
	static const char *const want[] = {
	        "www.example. 300 IN CNAME host.example.",
	        "www.example. 300 IN RRSIG CNAME 8 2 300 20300101000000 20200101000000 1 example. AAAA",
	        "host.example. 300 IN AAAA 64:ff9b::505:505",
	        "host.example. 300 IN DNAME elsewhere.example.",
	        NULL,
	};
	struct test_cfg t;
	ldns_pkt *a, *out = NULL;
	unsigned n = 0;
	enum dns64_reason why;

	cfg_init(&t);
	a = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), 0);
	assert_int_equal(n, 1);
	assert_section(ldns_pkt_answer(out), want);
	assert_int_equal(ldns_pkt_ancount(out), 4);
	ldns_pkt_free(out);
	ldns_pkt_free(a);
}

static void test_synth_non_global(void **state)
{
	static const char *const a_private[] = {
	        "lan.example. 300 IN A 10.0.0.1",
	        "lan.example. 300 IN A 192.168.1.1",
	        NULL,
	};
	static const char *const a_mixed[] = {
	        "mix.example. 300 IN A 10.0.0.1",
	        "mix.example. 300 IN A 93.184.216.34",
	        "mix.example. 300 IN A 127.0.0.1",
	        NULL,
	};
	struct test_cfg t;
	struct nat64_prefix nsp = prefix("2001:db8:64::", 96);
	ldns_pkt *a, *out = (ldns_pkt *)&t; /* any non-NULL value: must be reset to NULL */
	unsigned n = 99;
	enum dns64_reason why = DNS64_REASON_COUNT;

	cfg_init(&t);
	a = response(LDNS_RCODE_NOERROR, "lan.example.", LDNS_RR_TYPE_A, a_private, NULL, NULL);
	/* WKP: every A is private -> nothing made. */
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), -ENOENT);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_int_equal(why, DNS64_REASON_NON_GLOBAL);
	/* Network-specific prefix: synthesized. */
	assert_int_equal(dns64_synthesize(SP(&t, &nsp), 1, NULL, a, &out, &n, NULL, &why), 0);
	assert_int_equal(n, 2);
	ldns_pkt_free(out);
	/* mapped that does not cover them: nothing, even with the NSP. */
	t.mapped[0].net = net4("192.0.2.0", 24);
	t.cfg.n_mapped = 1;
	assert_int_equal(dns64_synthesize(SP(&t, &nsp), 1, NULL, a, &out, &n, NULL, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NON_GLOBAL);
	/* mapped covering 10/8 with the WKP: only 10.0.0.1. */
	t.mapped[0].net = net4("10.0.0.0", 8);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), 0);
	assert_int_equal(n, 1);
	assert_section(ldns_pkt_answer(out), (const char *const[]){"lan.example. 300 IN AAAA 64:ff9b::a00:1", NULL});
	ldns_pkt_free(out);
	ldns_pkt_free(a);

	/* Mixed answer with the WKP: only the global one survives. */
	t.cfg.n_mapped = 0;
	a = response(LDNS_RCODE_NOERROR, "mix.example.", LDNS_RR_TYPE_A, a_mixed, NULL, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), 0);
	assert_int_equal(n, 1);
	assert_section(ldns_pkt_answer(out),
	               (const char *const[]){"mix.example. 300 IN AAAA 64:ff9b::5db8:d822", NULL});
	ldns_pkt_free(out);
	ldns_pkt_free(a);
}

static void test_synth_no_a(void **state)
{
	static const char *const cname_only[] = {"www.example. 300 IN CNAME gone.example.", NULL};
	static const char *const a_ans[] = {"www.example. 300 IN A 93.184.216.34", NULL};
	struct test_cfg t;
	ldns_pkt *a, *out = NULL;
	unsigned n = 0;
	enum dns64_reason why = DNS64_REASON_COUNT;

	cfg_init(&t);
	/* NODATA for A. */
	a = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_A, NULL, soa_auth, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NO_A);
	assert_null(out);
	ldns_pkt_free(a);
	/* A CNAME to nowhere. */
	why = DNS64_REASON_COUNT;
	a = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_A, cname_only, NULL, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NO_A);
	ldns_pkt_free(a);
	/* A records but the A answer's rcode is not NOERROR. */
	why = DNS64_REASON_COUNT;
	a = response(LDNS_RCODE_SERVFAIL, "www.example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL);
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, a, &out, &n, NULL, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NO_A);
	ldns_pkt_free(a);
	why = DNS64_REASON_COUNT;
	assert_int_equal(dns64_synthesize(SP(&t, &dns64_wkp), 1, NULL, NULL, &out, &n, NULL, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NO_A);
}

static void test_synth_prefix_lengths(void **state)
{
	static const char *const a_ans[] = {"v4only.example. 300 IN A 192.0.2.33", NULL};
	struct test_cfg t;

	cfg_init(&t);
	for (size_t i = 0; i < sizeof(rfc6052_table) / sizeof(rfc6052_table[0]); i++) {
		struct nat64_prefix p = prefix(rfc6052_table[i].prefix, rfc6052_table[i].len);
		ldns_pkt *a = response(LDNS_RCODE_NOERROR, "v4only.example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL);
		ldns_pkt *out = NULL;
		unsigned n = 0;
		enum dns64_reason why;
		uint8_t want[16];
		int rc;

		t.cfg.n_mapped = 0;
		if (dns64_prefix_is_wkp(&p)) {
			/* 192.0.2.33 is TEST-NET-1: not global, so the WKP needs mapped. */
			t.mapped[0].net = net4("192.0.2.0", 24);
			t.cfg.n_mapped = 1;
		}
		rc = dns64_synthesize(SP(&t, &p), 1, NULL, a, &out, &n, NULL, &why);
		assert_int_equal(rc, 0);
		assert_int_equal(n, 1);
		v6(rfc6052_table[i].v6, want);
		assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(out), 0), 0)), want, 16);
		ldns_pkt_free(out);
		ldns_pkt_free(a);
	}
}

/* ---------- PTR ---------- */

/* Build the 32-nibble ip6.arpa name of an address, optionally upper-case. */
static size_t ip6_arpa(const char *addr, bool upper, uint8_t *out)
{
	static const char hex_l[] = "0123456789abcdef", hex_u[] = "0123456789ABCDEF";
	const char *hex = upper ? hex_u : hex_l;
	uint8_t a[16];
	size_t pos = 0;

	v6(addr, a);
	for (int i = 15; i >= 0; i--) {
		out[pos++] = 1;
		out[pos++] = (uint8_t)hex[a[i] & 0xf];
		out[pos++] = 1;
		out[pos++] = (uint8_t)hex[a[i] >> 4];
	}
	memcpy(out + pos, upper ? "\3IP6\4ARPA" : "\3ip6\4arpa", 10);
	return pos + 10;
}

static void test_ptr_target(void **state)
{
	static const struct {
		const char *prefix;
		unsigned len;
		const char *addr;
		bool upper;
		const char *want; /* NULL: rejected */
	} table[] = {
	        {"64:ff9b::", 96, "64:ff9b::c000:221", false, "33.2.0.192.in-addr.arpa."},
	        {"64:ff9b::", 96, "64:ff9b::5db8:d822", true, "34.216.184.93.in-addr.arpa."},
	        {"64:ff9b::", 96, "64:ff9b::ffff:ffff", false, "255.255.255.255.in-addr.arpa."},
	        {"64:ff9b::", 96, "64:ff9b::1:0:0", false, NULL}, /* outside the prefix */
	        {"64:ff9b::", 96, "2001:db8::c000:221", false, NULL},
	        {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0", false, "33.2.0.192.in-addr.arpa."},
	        {"2001:db8:122:344::", 64, "2001:db8:122:344:a:0:100:0", true, "1.0.0.10.in-addr.arpa."},
	        {"2001:db8:122:344::", 64, "2001:db8:122:345:c0:2:2100:0", false, NULL},  /* other /64 */
	        {"2001:db8:122:344::", 64, "2001:db8:122:344:1c0:2:2100:0", false, NULL}, /* u-octet set */
	        {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:1", false, NULL},  /* suffix set */
	        {"2001:db8::", 32, "2001:db8:c000:221::", false, "33.2.0.192.in-addr.arpa."},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct nat64_prefix p = prefix(table[i].prefix, table[i].len);
		uint8_t qname[128], target[64];
		size_t qlen = ip6_arpa(table[i].addr, table[i].upper, qname);
		size_t got;

		memset(target, 0xee, sizeof(target));
		got = dns64_ptr_target(&p, qname, qlen, target);
		if (table[i].want == NULL) {
			if (got != 0)
				fail_msg("case %zu ('%s') accepted", i, table[i].addr);
		} else {
			uint8_t want[64];
			size_t wlen = wire_name(table[i].want, want, sizeof(want));

			if (got != wlen || memcmp(target, want, wlen) != 0)
				fail_msg("case %zu ('%s'): length %zu", i, table[i].addr, got);
			assert_true(got <= 30);
			assert_int_equal(target[got], 0xee); /* nothing written past the name */
		}
	}
}

static void test_ptr_target_rejects(void **state)
{
	uint8_t qname[128], target[64], bad[128];
	size_t qlen = ip6_arpa("64:ff9b::c000:221", false, qname);
	size_t plen;

	/* The good one, for reference. */
	assert_int_not_equal(dns64_ptr_target(&dns64_wkp, qname, qlen, target), 0);

	/* Partial name: only the upper 16 nibbles (a delegation point). */
	plen = wire_name("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.", bad, sizeof(bad));
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, plen, target), 0);
	/* Bad nibble. */
	memcpy(bad, qname, qlen);
	bad[1] = 'g';
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, qlen, target), 0);
	/* Two-character label. */
	plen = wire_name("10.2.2.0.0.0.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.", bad,
	                 sizeof(bad));
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, plen, target), 0);
	/* Wrong suffix. */
	memcpy(bad, qname, qlen);
	memcpy(bad + 64, "\3ip7\4arpa", 10);
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, qlen, target), 0);
	/* in-addr.arpa is not ip6.arpa. */
	plen = wire_name("33.2.0.192.in-addr.arpa.", bad, sizeof(bad));
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, plen, target), 0);
	/* Truncated and over-long. */
	assert_int_equal(dns64_ptr_target(&dns64_wkp, qname, qlen - 1, target), 0);
	/* 33 nibble labels. */
	bad[0] = 1;
	bad[1] = '0';
	memcpy(bad + 2, qname, qlen);
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, qlen + 2, target), 0);
	/* Trailing bytes after a complete name are not part of it. */
	memcpy(bad, qname, qlen);
	bad[qlen] = 0;
	assert_int_equal(dns64_ptr_target(&dns64_wkp, bad, qlen + 1, target), 0);
	assert_int_equal(dns64_ptr_target(&dns64_wkp, qname, 0, target), 0);
}

/* ---------- names ---------- */

static void test_name_under(void **state)
{
	static const struct {
		const char *name;
		const char *domain;
		bool want;
	} table[] = {
	        {"www.example.com.", "example.com.", true},
	        {"example.com.", "example.com.", true},
	        {"WWW.EXAMPLE.COM.", "example.com.", true},
	        {"a.b.c.Example.Com.", "example.com.", true},
	        {"badexample.com.", "example.com.", false},
	        {"example.com.", "www.example.com.", false},
	        {"example.org.", "example.com.", false},
	        {"com.", "example.com.", false},
	        {"www.example.com.", ".", true},
	        {".", ".", true},
	        {".", "com.", false},
	        {"x.example.comx.", "example.com.", false},
	        {"www.ex\\.ample.com.", "ample.com.", false},
	        {"www.ex\\.ample.com.", "ex\\.ample.com.", true},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		uint8_t name[256];
		size_t len = wire_name(table[i].name, name, sizeof(name));
		struct dname d = dname_from(table[i].domain);

		if (dns64_name_under(name, len, &d) != table[i].want)
			fail_msg("'%s' under '%s' expected %d", table[i].name, table[i].domain, table[i].want);
	}
}

static void test_name_under_malformed(void **state)
{
	struct dname d = dname_from("com.");
	struct dname empty;
	static const uint8_t overrun[] = {5, 'a', 'b', 3, 'c', 'o', 'm', 0};
	static const uint8_t no_root[] = {3, 'c', 'o', 'm'};
	static const uint8_t pointer[] = {3, 'w', 'w', 'w', 0xc0, 12};
	uint8_t name[16];
	size_t len = wire_name("www.com.", name, sizeof(name));

	memset(&empty, 0, sizeof(empty));
	assert_true(dns64_name_under(name, len, &d));
	assert_false(dns64_name_under(name, len - 1, &d));
	assert_false(dns64_name_under(overrun, 4, &d));
	assert_false(dns64_name_under(no_root, sizeof(no_root), &d));
	assert_false(dns64_name_under(pointer, sizeof(pointer), &d));
	assert_false(dns64_name_under(name, len, &empty));
	assert_false(dns64_name_under(NULL, 0, &d));
}

/* ---------- several prefixes, per-prefix rules, suffix, break-dnssec, filter-a ---------- */

static struct mapped_net mapped(const char *text)
{
	struct mapped_net m;
	const char *why;

	assert_int_equal(mapped_parse(text, &m, &why), 0);
	return m;
}

/* One AAAA per prefix for each A record: records in A order, prefixes in set order; each
 * prefix's own mapped list (negation, first match wins) decides for it alone. */
static void test_synth_multi_prefix(void **state)
{
	static const char *const a_ans[] = {
	        "host.example. 300 IN A 192.0.2.1",
	        "host.example. 300 IN A 10.1.2.3",
	        "host.example. 300 IN A 198.51.100.7",
	        NULL,
	};
	static const char *const want_ans[] = {
	        "host.example. 300 IN AAAA 2001:db8:1::c000:201",
	        "host.example. 300 IN AAAA 2001:db8:2::c000:201",
	        "host.example. 300 IN AAAA 2001:db8:2::a01:203",
	        "host.example. 300 IN AAAA 2001:db8:1::c633:6407",
	        NULL,
	};
	/* prefix 1: everything but 10/8; prefix 2: 192.0.2.0/24 and 10/8 only */
	struct mapped_net m1[] = {mapped("!10.0.0.0/8"), mapped("any")};
	struct mapped_net m2[] = {mapped("192.0.2.0/24"), mapped("10.0.0.0/8")};
	struct network ex[] = {net6("::ffff:0:0", 96)};
	struct synth_prefix set[2] = {
	        {.p = prefix("2001:db8:1::", 96), .mapped = m1, .n_mapped = 2, .exclude = ex, .n_exclude = 1},
	        {.p = prefix("2001:db8:2::", 96), .mapped = m2, .n_mapped = 2, .exclude = ex, .n_exclude = 1},
	};
	ldns_pkt *a = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A, a_ans, NULL, NULL), *out = NULL;
	unsigned n = 0, used = 0;
	enum dns64_reason why;

	assert_int_equal(dns64_synthesize(set, 2, NULL, a, &out, &n, &used, &why), 0);
	assert_int_equal(n, 4);
	assert_int_equal(used, 3);
	assert_section(ldns_pkt_answer(out), want_ans);
	ldns_pkt_free(out);
	assert_true(dns64_synthesizable(set, 2, a));

	/* only prefix 2 allows 10.1.2.3 */
	assert_false(dns64_ipv4_may_synth(&set[0], (const uint8_t[]){10, 1, 2, 3}));
	assert_true(dns64_ipv4_may_synth(&set[1], (const uint8_t[]){10, 1, 2, 3}));
	/* no match at all refuses: 203.0.113.1 is in neither of prefix 2's networks */
	assert_false(dns64_ipv4_may_synth(&set[1], (const uint8_t[]){203, 0, 113, 1}));
	/* a set of prefix 2 alone makes only what it maps */
	assert_int_equal(dns64_synthesize(&set[1], 1, NULL, a, &out, &n, &used, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(used, 1);
	ldns_pkt_free(out);
	ldns_pkt_free(a);

	/* the same A answer with nothing either prefix maps: -ENOENT, non_global */
	a = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A,
	             (const char *const[]){"host.example. 300 IN A 203.0.113.9", NULL}, NULL, NULL);
	set[0].n_mapped = 1; /* "!10/8" alone: refuses everything */
	assert_int_equal(dns64_synthesize(set, 2, NULL, a, &out, &n, &used, &why), -ENOENT);
	assert_int_equal(why, DNS64_REASON_NON_GLOBAL);
	assert_false(dns64_synthesizable(set, 2, a));
	ldns_pkt_free(a);
}

static void test_mapped_first_match(void **state)
{
	struct mapped_net m[] = {mapped("10.1.0.0/16"), mapped("!10.0.0.0/8"), mapped("!any")};
	struct mapped_net bad;
	const char *why;
	char buf[64];

	assert_true(mapped_allows(m, 3, (const uint8_t[]){10, 1, 9, 9}));
	assert_false(mapped_allows(m, 3, (const uint8_t[]){10, 2, 0, 1}));
	assert_false(mapped_allows(m, 3, (const uint8_t[]){192, 0, 2, 1}));
	assert_false(mapped_allows(m, 0, (const uint8_t[]){192, 0, 2, 1}));
	assert_string_equal(mapped_format(&m[1], buf, sizeof(buf)), "!10.0.0.0/8");
	assert_string_equal(mapped_format(&m[2], buf, sizeof(buf)), "!0.0.0.0/0");
	assert_int_equal(mapped_parse("2001:db8::/32", &bad, &why), -EINVAL);
	assert_int_equal(mapped_parse("!10.0.0.1/8", &bad, &why), -EINVAL);
	assert_int_equal(mapped_parse("!", &bad, &why), -EINVAL);
}

/* BIND's suffix rule for each prefix length, and what embedding makes of it. */
static void test_suffix(void **state)
{
	static const struct {
		const char *prefix;
		unsigned len;
		const char *suffix;
		int rc;
		const char *embedded; /* of 192.0.2.33 */
	} table[] = {
	        {"2001:db8::", 32, "::ff:ffff:ffff:ffff", 0, "2001:db8:c000:221:ff:ffff:ffff:ffff"},
	        {"2001:db8::", 32, "::1:0:0:0:0:0", -EINVAL, NULL}, /* byte 5: IPv4 */
	        {"2001:db8::", 32, "::100:0:0:0", -EINVAL, NULL},   /* byte 8: u-octet */
	        {"2001:db8:100::", 40, "::ff:ff:ff", 0, "2001:db8:1c0:2:21:ff:ff:ff"},
	        {"2001:db8:122::", 48, "::ff:ffff", 0, "2001:db8:122:c000:2:2100:ff:ffff"},
	        {"2001:db8:122::", 48, "::100:0:0", -EINVAL, NULL},
	        {"2001:db8:122:300::", 56, "::ffff:ffff", 0, "2001:db8:122:3c0:0:221:ffff:ffff"},
	        {"2001:db8:122:344::", 64, "::ff:ffff", 0, "2001:db8:122:344:c0:2:21ff:ffff"},
	        {"2001:db8:122:344::", 64, "::1:0:0", -EINVAL, NULL}, /* byte 11: IPv4 */
	        {"64:ff9b::", 96, "::1", -EINVAL, NULL},
	        {"64:ff9b::", 96, "::", 0, "64:ff9b::c000:221"},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct nat64_prefix p = prefix(table[i].prefix, table[i].len);
		uint8_t sfx[16], got[16], want[16], v4a[4] = {192, 0, 2, 33}, back[4];
		const char *why = NULL;
		char buf[64];

		v6(table[i].suffix, sfx);
		if (nat64_suffix_check(&p, sfx, &why) != table[i].rc)
			fail_msg("%s/%u suffix %s: want %d", table[i].prefix, table[i].len, table[i].suffix,
			         table[i].rc);
		if (table[i].rc != 0) {
			assert_non_null(why);
			continue;
		}
		memcpy(p.suffix, sfx, 16);
		dns64_embed(&p, v4a, got);
		v6(table[i].embedded, want);
		if (memcmp(got, want, 16) != 0)
			fail_msg("%s/%u: embedded %s", table[i].prefix, table[i].len,
			         inet_ntop(AF_INET6, got, buf, sizeof(buf)));
		assert_int_equal(dns64_extract(&p, got, back), 0);
		assert_memory_equal(back, v4a, 4);
	}
}

static void test_suffix_format(void **state)
{
	static const char *const cases[] = {"::",         "::1",         "::ff:ffff",
	                                    "1::",        "1::1",        "0:1:0:1:0:1:0:1",
	                                    "1:0:0:1::1", "::1:0:0:0:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
	static const char *const want[] = {"::",         "::1",         "::ff:ffff",
	                                   "1::",        "1::1",        "0:1:0:1:0:1:0:1",
	                                   "1:0:0:1::1", "::1:0:0:0:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t a[16], back[16];
		char buf[64];

		v6(cases[i], a);
		assert_string_equal(nat64_suffix_format(a, buf, sizeof(buf)), want[i]);
		v6(buf, back);
		assert_memory_equal(a, back, 16);
	}
}

/* The PTR side takes an address of any of the set's prefixes, with its suffix only. */
static void test_ptr_set_suffix(void **state)
{
	struct synth_prefix set[2] = {{.p = prefix("2001:db8:1::", 96)}, {.p = prefix("2001:db8:122:344::", 64)}};
	/* 192.0.2.33 under prefix 2 with suffix ::ff:ffff: 2001:db8:122:344:c0:2:21ff:ffff */
	static const char name2[] = "f.f.f.f.f.f.1.2.2.0.0.0.0.c.0.0.4.4.3.0.2.2.1.0.8.b.d.0.1.0.0.2.ip6.arpa.";
	static const char name1[] = "1.2.2.0.0.0.0.c.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
	uint8_t q[256], target[32];
	size_t qlen;

	v6("::ff:ffff", set[1].p.suffix);
	qlen = wire_name(name2, q, sizeof(q));
	assert_int_not_equal(dns64_ptr_target_set(set, 2, q, qlen, target), 0);
	assert_memory_equal(target, "\00233\0012\0010\003192\007in-addr\004arpa", 25);
	qlen = wire_name(name1, q, sizeof(q));
	assert_int_not_equal(dns64_ptr_target_set(set, 2, q, qlen, target), 0);
	assert_int_equal(dns64_ptr_target_set(set, 1, q, qlen, target), dns64_ptr_target(&set[0].p, q, qlen, target));
	/* prefix 2 without the suffix bits set: not an address dns64d makes */
	memset(set[1].p.suffix, 0, 16);
	qlen = wire_name(name2, q, sizeof(q));
	assert_int_equal(dns64_ptr_target_set(set, 2, q, qlen, target), 0);
}

/* A real AAAA is excluded only when every prefix of the set excludes it. */
static void test_exclude_set(void **state)
{
	struct network ex1[] = {net6("2001:db8::", 32)}, ex2[] = {net6("::ffff:0:0", 96)};
	struct synth_prefix set[2] = {{.p = prefix("2001:db8:1::", 96), .exclude = ex1, .n_exclude = 1},
	                              {.p = prefix("2001:db8:2::", 96), .exclude = ex2, .n_exclude = 1}};
	uint8_t a[16];

	v6("2001:db8::5", a);
	assert_true(dns64_ipv6_excluded(set, 1, a));
	assert_false(dns64_ipv6_excluded(set, 2, a));
	set[1].exclude = ex1;
	assert_true(dns64_ipv6_excluded(set, 2, a));
	assert_false(dns64_ipv6_excluded(set, 0, a));
}

/* ---------- the wire forms (dns64_wire.c) ---------- */

/* A packet as the cache stores it: rendered, then wire_store(). */
static const struct msg_meta *stored(const ldns_pkt *p, uint8_t *buf, size_t cap)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_int_equal(wire_store(wire, len, 86400, buf, cap), 0);
	free(wire);
	return (const struct msg_meta *)buf;
}

static void test_keep_signed(void **state)
{
	static const char *const signed_a[] = {
	        "host.example. 300 IN A 192.0.2.1",
	        "host.example. 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 12345 example. AAAA",
	        NULL,
	};
	static const char *const plain_a[] = {"host.example. 300 IN A 192.0.2.1", NULL};
	static _Alignas(8) uint8_t sbuf[4096], pbuf[4096];
	ldns_pkt *s = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A, signed_a, NULL, NULL);
	ldns_pkt *p = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_A, plain_a, NULL, NULL);
	const struct msg_meta *sm = stored(s, sbuf, sizeof(sbuf)), *pm = stored(p, pbuf, sizeof(pbuf));

	assert_true(dns64_wire_keep_signed(false, true, sm));
	assert_false(dns64_wire_keep_signed(true, true, sm));   /* break-dnssec yes */
	assert_false(dns64_wire_keep_signed(false, false, sm)); /* no DO */
	assert_false(dns64_wire_keep_signed(false, true, pm));  /* not signed */
	assert_false(dns64_wire_keep_signed(false, true, NULL));
	ldns_pkt_free(s);
	ldns_pkt_free(p);
}

static void test_wire_aaaa_facts(void **state)
{
	static const char *const soa[] = {"example. 3600 IN SOA ns.example. host.example. 1 2 3 4 300", NULL};
	static const char *const two[] = {
	        "host.example. 300 IN AAAA 2001:db8::1",
	        "host.example. 300 IN AAAA ::ffff:192.0.2.1", /* excluded by the default ::ffff:0:0/96 */
	        NULL,
	};
	static _Alignas(8) uint8_t buf[4096];
	struct test_cfg t;
	struct dns64_wire_facts f;
	ldns_pkt *nodata = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_AAAA, NULL, soa, NULL);
	ldns_pkt *real = response(LDNS_RCODE_NOERROR, "host.example.", LDNS_RR_TYPE_AAAA, two, NULL, NULL);

	cfg_init(&t);
	/* stored as min(SOA TTL, MINIMUM) = 300; aged by what has elapsed since */
	dns64_wire_aaaa_facts(SP(&t, &dns64_wkp), 1, stored(nodata, buf, sizeof(buf)), 0, &f);
	assert_true(f.have_soa);
	assert_int_equal(f.soa_bound, 300);
	assert_int_equal(f.n_aaaa, 0);
	dns64_wire_aaaa_facts(SP(&t, &dns64_wkp), 1, (const struct msg_meta *)buf, 100, &f);
	assert_int_equal(f.soa_bound, 200);
	dns64_wire_aaaa_facts(SP(&t, &dns64_wkp), 1, stored(real, buf, sizeof(buf)), 0, &f);
	assert_false(f.have_soa);
	assert_int_equal(f.n_aaaa, 2);
	assert_int_equal(f.n_excluded, 1);
	dns64_wire_aaaa_facts(SP(&t, &dns64_wkp), 1, NULL, 0, &f);
	assert_int_equal(f.n_aaaa, 0);
	ldns_pkt_free(nodata);
	ldns_pkt_free(real);
}

/* An upstream's compressed answer: pointers into records that stay are rewritten to where
 * those records went, a pointer into a dropped record is expanded. */
static void test_wire_synth_names(void **state)
{
	static const uint8_t msg[] = {
	        0, 0, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0,
	        3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1, /* 12: question */
	        3, 'f', 'o', 'o', 0xc0, 16, 0, 16, 0, 1, 0, 0, 1, 44, 0, 3, 2, 'h', 'i', /* 29: TXT */
	        0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 8, 5, 'a', 'l', 'i', 'a', 's', 0xc0, 16, /* 48: CNAME */
	        0xc0, 60, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 93, 184, 216, 34, /* 68: A alias.example. */
	        0xc0, 29, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 93, 184, 216, 35, /* 84: A foo.example. */
	};
	static const char *const want[] = {
	        "www.example. 200 IN CNAME alias.example.",
	        "alias.example. 200 IN AAAA 64:ff9b::5db8:d822",
	        "foo.example. 200 IN AAAA 64:ff9b::5db8:d823",
	        NULL,
	};
	static _Alignas(8) uint8_t buf[4096];
	uint8_t out[512];
	size_t len = 0;
	unsigned n = 0, used = 0;
	enum dns64_reason why;
	struct test_cfg t;
	ldns_pkt *p = NULL;

	cfg_init(&t);
	assert_int_equal(wire_store(msg, sizeof(msg), 86400, buf, sizeof(buf)), 0);
	const struct msg_meta *m = (const struct msg_meta *)buf;
	assert_int_equal(dns64_synthesize_wire(SP(&t, &dns64_wkp), 1, NULL, m, 100, out, sizeof(out), &len, &n, &used,
	                                       &why),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(used, 1);
	assert_int_equal(why, DNS64_REASON_NONE);
	/* 12 + 17 question, CNAME 20, AAAA with a pointer 28, AAAA with "foo" and a pointer 32 */
	assert_int_equal(len, 109);
	assert_int_equal(out[77], 3); /* foo.example.: the label, then a pointer to the question's */
	assert_int_equal(out[81], 0xc0);
	assert_int_equal(out[82], 16);
	assert_int_equal(ldns_wire2pkt(&p, out, len), LDNS_STATUS_OK);
	assert_section(ldns_pkt_answer(p), want);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_aa(p));
	assert_false(ldns_pkt_ad(p));
	ldns_pkt_free(p);
	/* what does not fit is an error, not a cut answer */
	assert_int_equal(dns64_synthesize_wire(SP(&t, &dns64_wkp), 1, NULL, m, 0, out, 80, &len, &n, &used, &why),
	                 -ENOBUFS);
	assert_int_equal(n, 0);
}

static void test_filter_a_decision(void **state)
{
	enum { NOERR = LDNS_RCODE_NOERROR, NXD = LDNS_RCODE_NXDOMAIN, SF = LDNS_RCODE_SERVFAIL };
	static const struct {
		const char *what;
		struct dns64_facts f;
		bool synthesizable, want;
	} table[] = {
	        {"real AAAA", {.rcode = NOERR, .n_aaaa = 1}, false, true},
	        {"real AAAA, A synthesizable too", {.rcode = NOERR, .n_aaaa = 2}, true, true},
	        {"NODATA, A synthesizable", {.rcode = NOERR}, true, true},
	        {"NODATA, nothing synthesizable", {.rcode = NOERR}, false, false},
	        {"only excluded AAAA, A synthesizable", {.rcode = NOERR, .n_aaaa = 1, .n_excluded = 1}, true, true},
	        {"only excluded AAAA, nothing to synthesize",
	         {.rcode = NOERR, .n_aaaa = 1, .n_excluded = 1},
	         false,
	         false},
	        {"some excluded, others real", {.rcode = NOERR, .n_aaaa = 2, .n_excluded = 1}, false, true},
	        {"NXDOMAIN", {.rcode = NXD}, true, false},
	        {"AAAA failed, synth-on any-error", {.rcode = -1}, true, true},
	        {"AAAA failed, synth-on nodata", {.rcode = SF, .synth_on = SYNTH_ON_NODATA}, true, false},
	        {"no-synth name with real AAAA", {.rcode = NOERR, .n_aaaa = 1, .no_synth = true}, true, true},
	        {"no-synth name without AAAA", {.rcode = NOERR, .no_synth = true}, true, false},
	        {"CD+DO with an excluded AAAA only",
	         {.rcode = NOERR, .n_aaaa = 1, .n_excluded = 1, .do_bit = true, .cd_bit = true},
	         false,
	         true},
	        {"synth-all, nothing synthesizable, real AAAA",
	         {.rcode = NOERR, .n_aaaa = 1, .synth_all = true},
	         false,
	         true},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (dns64_filter_a(&table[i].f, table[i].synthesizable) != table[i].want)
			fail_msg("%s: want %s", table[i].what, table[i].want ? "filter" : "pass");
}

static void test_filter_a_answer(void **state)
{
	static const char *const a_ans[] = {
	        "www.example. 300 IN CNAME host.example.",
	        "host.example. 300 IN A 192.0.2.1",
	        "host.example. 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 12345 example. AAAA",
	        NULL,
	};
	static const char *const a_auth[] = {"example. 86400 IN NS ns.example.", NULL};
	static const char *const aaaa_auth[] = {"example. 7200 IN SOA ns.example. h.example. 1 2 3 4 300", NULL};
	ldns_pkt *a = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_A, a_ans, a_auth, NULL), *out = NULL;
	ldns_pkt *aaaa = response(LDNS_RCODE_NOERROR, "www.example.", LDNS_RR_TYPE_AAAA, NULL, aaaa_auth, NULL);

	ldns_pkt_set_ad(a, true);
	assert_int_equal(dns64_filter_a_answer(a, aaaa, &out), 0);
	assert_section(ldns_pkt_answer(out), (const char *const[]){"www.example. 300 IN CNAME host.example.", NULL});
	assert_section(ldns_pkt_authority(out), aaaa_auth);
	assert_int_equal(ldns_pkt_get_rcode(out), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_ad(out));
	assert_int_equal(ldns_pkt_qdcount(out), 1);
	ldns_pkt_free(out);
	/* no SOA anywhere: no authority */
	assert_int_equal(dns64_filter_a_answer(a, NULL, &out), 0);
	assert_int_equal(ldns_pkt_nscount(out), 0);
	ldns_pkt_free(out);
	ldns_pkt_free(a);
	ldns_pkt_free(aaaa);
}

/* Cache variants tell prefix sets apart (and their order), and generations. */
static void test_synth_variant(void **state)
{
	struct synth_prefix a[2] = {{.p = prefix("2001:db8:1::", 96)}, {.p = prefix("2001:db8::", 32)}};
	struct synth_prefix b[2] = {a[1], a[0]};
	uint8_t va[DNS64_VARIANT_MAX], vb[DNS64_VARIANT_MAX];
	size_t la = dns64_synth_variant(a, 2, 7, va), lb = dns64_synth_variant(b, 2, 7, vb);

	assert_int_equal(la, 4 + 13 + 5);
	assert_int_equal(la, lb);
	assert_memory_not_equal(va, vb, la);
	assert_int_not_equal(dns64_synth_variant(a, 1, 7, vb), la);
	lb = dns64_synth_variant(a, 2, 8, vb);
	assert_memory_not_equal(va, vb, la);
	a[0].p.len = 64;
	assert_int_not_equal(dns64_synth_variant(a, 2, 7, vb), la);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rfc6052_embed),
	        cmocka_unit_test(test_rfc6052_extract),
	        cmocka_unit_test(test_rfc6052_round_trip),
	        cmocka_unit_test(test_extract_outside),
	        cmocka_unit_test(test_prefix_len_and_wkp),
	        cmocka_unit_test(test_ipv4_is_global),
	        cmocka_unit_test(test_may_synth),
	        cmocka_unit_test(test_ipv6_excluded),
	        cmocka_unit_test(test_decide_table),
	        cmocka_unit_test(test_reason_names),
	        cmocka_unit_test(test_synth_multi_prefix),
	        cmocka_unit_test(test_mapped_first_match),
	        cmocka_unit_test(test_suffix),
	        cmocka_unit_test(test_suffix_format),
	        cmocka_unit_test(test_ptr_set_suffix),
	        cmocka_unit_test(test_exclude_set),
	        cmocka_unit_test(test_keep_signed),
	        cmocka_unit_test(test_wire_aaaa_facts),
	        cmocka_unit_test(test_wire_synth_names),
	        cmocka_unit_test(test_filter_a_decision),
	        cmocka_unit_test(test_filter_a_answer),
	        cmocka_unit_test(test_synth_variant),
	        cmocka_unit_test(test_ttl),
	        cmocka_unit_test(test_count_and_filter),
	        cmocka_unit_test(test_dnssec_ede),
	        cmocka_unit_test(test_dnssec_ede_option_list),
	        cmocka_unit_test(test_synth_basic),
	        cmocka_unit_test(test_synth_ttl),
	        cmocka_unit_test(test_synth_cname_chain),
	        cmocka_unit_test(test_synth_only_chain),
	        cmocka_unit_test(test_synth_non_global),
	        cmocka_unit_test(test_synth_no_a),
	        cmocka_unit_test(test_synth_prefix_lengths),
	        cmocka_unit_test(test_ptr_target),
	        cmocka_unit_test(test_ptr_target_rejects),
	        cmocka_unit_test(test_name_under),
	        cmocka_unit_test(test_name_under_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
