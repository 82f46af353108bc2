/* test_revzone.c - unit tests of the synthesis prefixes' reverse zones: revzone.c and their answers in local.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/dns64.h"
#include "dns64d/local.h"
#include "dns64d/revzone.h"
#include "dns64d/wire.h"
#include "dnstext.h"

#define C_IN    1
#define C_HS    4
#define T_A     1
#define T_NS    2
#define T_CNAME 5
#define T_SOA   6
#define T_PTR   12
#define T_TXT   16
#define T_AAAA  28
#define T_ANY   255

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const unsigned lengths[] = {32, 40, 48, 56, 64, 96};

/* ---------- helpers ---------- */

static struct nat64_prefix prefix(const char *addr, unsigned len)
{
	struct nat64_prefix p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(inet_pton(AF_INET6, addr, p.addr), 1);
	p.len = len;
	return p;
}

/* A prefix of length len with distinct nibbles: 2001:db8:abcd:ef12:0034:5678:: cut to len. */
static struct nat64_prefix test_prefix(unsigned len)
{
	struct nat64_prefix p = prefix("2001:db8:abcd:ef12:34:5678::", len);

	for (unsigned i = len / 8; i < 16; i++)
		p.addr[i] = 0;
	return p;
}

static unsigned nib(const uint8_t v6[16], unsigned i)
{
	return i % 2 ? v6[i / 2] & 0x0fu : v6[i / 2] >> 4;
}

/* The ip6.arpa wire name of the first k nibbles of v6; upper: hex digits in upper case. */
static size_t rev_name(const uint8_t v6[16], unsigned k, bool upper, uint8_t *wire)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t pos = 0;

	for (unsigned i = k; i-- > 0;) {
		wire[pos++] = 1;
		wire[pos++] = (uint8_t)digits[nib(v6, i)];
	}
	memcpy(wire + pos, "\3ip6\4arpa", 10);
	return pos + 10;
}

static void embed(const struct nat64_prefix *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t v6[16])
{
	uint8_t v4[4] = {a, b, c, d};
	dns64_embed(p, v4, v6);
}

static enum revzone_kind classify(const struct nat64_prefix *p, const uint8_t *v6, unsigned k)
{
	uint8_t wire[256];
	struct revzone_match m;
	size_t n = rev_name(v6, k, false, wire);

	return revzone_classify(p, wire, n, &m);
}

/* ---------- classification, for every prefix length ---------- */

static void test_apex_and_ent(void **state)
{
	for (size_t l = 0; l < N(lengths); l++) {
		struct nat64_prefix p = test_prefix(lengths[l]);
		unsigned z = p.len / 4;
		uint8_t v6[16], wire[256], apex[REVZONE_APEX_MAX];
		struct revzone_match m;

		embed(&p, 198, 51, 100, 7, v6);
		size_t n = rev_name(v6, z, false, wire);
		assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_APEX);
		assert_int_equal(m.apex_off, 0);
		assert_ptr_equal(m.prefix, &p);
		/* the apex revzone_apex() writes is that name */
		assert_int_equal(revzone_apex(&p, apex), n);
		assert_memory_equal(apex, wire, n);
		assert_true(n <= REVZONE_APEX_MAX);
		/* the names above the apex are not in the zone */
		for (unsigned k = 0; k < z; k++)
			assert_int_equal(classify(&p, v6, k), REVZONE_OUTSIDE);
		/* every name between the apex and a whole address is an empty non-terminal */
		for (unsigned k = z + 1; k < 32; k++) {
			n = rev_name(v6, k, false, wire);
			if (revzone_classify(&p, wire, n, &m) != REVZONE_ENT)
				fail_msg("/%u, %u nibbles: kind %d, want ENT", p.len, k, m.kind);
			assert_int_equal(m.apex_off, (k - z) * 2);
		}
	}
}

static void test_addresses(void **state)
{
	for (size_t l = 0; l < N(lengths); l++) {
		struct nat64_prefix p = test_prefix(lengths[l]);
		uint8_t v6[16], wire[256];
		struct revzone_match m;
		size_t n;

		embed(&p, 198, 51, 100, 7, v6);
		for (int upper = 0; upper < 2; upper++) {
			n = rev_name(v6, 32, upper, wire);
			assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_ADDRESS);
			assert_int_equal(m.apex_off, 64 - p.len / 2);
			assert_int_equal(m.v4[0], 198);
			assert_int_equal(m.v4[1], 51);
			assert_int_equal(m.v4[2], 100);
			assert_int_equal(m.v4[3], 7);
		}
		/* RFC 8880 section 7.1: the ipv4only.arpa addresses are their own kind */
		for (uint8_t host = 170; host <= 171; host++) {
			embed(&p, 192, 0, 0, host, v6);
			n = rev_name(v6, 32, false, wire);
			assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_IPV4ONLY);
			assert_int_equal(m.v4[3], host);
		}
		embed(&p, 192, 0, 0, 172, v6);
		assert_int_equal(classify(&p, v6, 32), REVZONE_ADDRESS);
		embed(&p, 193, 0, 0, 170, v6);
		assert_int_equal(classify(&p, v6, 32), REVZONE_ADDRESS);
		/* only the structure counts: 0.0.0.0 and 255.255.255.255 are addresses too */
		embed(&p, 0, 0, 0, 0, v6);
		assert_int_equal(classify(&p, v6, 32), REVZONE_ADDRESS);
		embed(&p, 255, 255, 255, 255, v6);
		assert_int_equal(classify(&p, v6, 32), REVZONE_ADDRESS);
	}
}

static void test_impossible(void **state)
{
	for (size_t l = 0; l < N(lengths); l++) {
		struct nat64_prefix p = test_prefix(lengths[l]);
		unsigned z = p.len / 4, suffix = p.len == 96 ? 32 : (p.len + 40) / 4;
		uint8_t v6[16], bad[16], wire[300];
		struct revzone_match m;
		size_t n;

		embed(&p, 198, 51, 100, 7, v6);
		if (p.len < 96) {
			/* a non-zero u-octet (bits 64-71), in either nibble, as an address or an ENT */
			for (unsigned i = 16; i <= 17; i++) {
				memcpy(bad, v6, 16);
				bad[8] = i == 16 ? 0x10 : 0x01;
				assert_int_equal(classify(&p, bad, 32), REVZONE_IMPOSSIBLE);
				if (i >= z)
					assert_int_equal(classify(&p, bad, i + 1), REVZONE_IMPOSSIBLE);
				if (i + 1 > z && i == 17)
					assert_int_equal(classify(&p, v6, i + 1), REVZONE_ENT);
			}
			/* a non-zero bit after the IPv4 address (the suffix is all zero) */
			for (unsigned i = suffix; i < 32; i++) {
				memcpy(bad, v6, 16);
				bad[i / 2] |= (uint8_t)(i % 2 ? 0x01 : 0x10);
				if (classify(&p, bad, 32) != REVZONE_IMPOSSIBLE)
					fail_msg("/%u: nibble %u set is an address", p.len, i);
				assert_int_equal(classify(&p, bad, i + 1), REVZONE_IMPOSSIBLE);
				if (i + 1 < 32)
					assert_int_equal(classify(&p, v6, i + 1), REVZONE_ENT);
			}
		}
		/* labels that are not one nibble: under the apex, and at a whole address's place */
		static const char *const junk[] = {"x", "10", "g", "-", "\\000"};
		for (size_t j = 0; j < N(junk); j++) {
			char text[300], apex[128];
			uint8_t aw[REVZONE_APEX_MAX];
			ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, revzone_apex(&p, aw), aw);
			char *s = ldns_rdf2str(rdf);
			snprintf(apex, sizeof(apex), "%s", s);
			free(s);
			ldns_rdf_deep_free(rdf);
			snprintf(text, sizeof(text), "%s.%s", junk[j], apex);
			n = name_from_text(text, wire);
			assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_IMPOSSIBLE);
			assert_int_equal(m.apex_off, wire[0] + 1u);
		}
		n = rev_name(v6, 32, false, wire);
		memmove(wire + 2, wire, n);
		wire[0] = 1;
		wire[1] = '0';
		assert_int_equal(revzone_classify(&p, wire, n + 2, &m), REVZONE_IMPOSSIBLE); /* 33 nibbles */
		n = rev_name(v6, 32, false, wire);
		wire[1] = 'x'; /* the least significant nibble */
		assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_IMPOSSIBLE);
	}
}

static void test_outside(void **state)
{
	for (size_t l = 0; l < N(lengths); l++) {
		struct nat64_prefix p = test_prefix(lengths[l]), other = p;
		uint8_t v6[16], wire[300];
		struct revzone_match m;
		size_t n;

		/* a sibling prefix: its last nibble differs */
		unsigned last = p.len / 4 - 1;
		other.addr[last / 2] ^= (uint8_t)(last % 2 ? 0x01 : 0x10);
		embed(&other, 198, 51, 100, 7, v6);
		assert_int_equal(classify(&p, v6, 32), REVZONE_OUTSIDE);
		assert_int_equal(classify(&p, v6, p.len / 4), REVZONE_OUTSIDE);
		/* not under ip6.arpa */
		embed(&p, 198, 51, 100, 7, v6);
		n = rev_name(v6, 32, false, wire);
		memcpy(wire + n - 10, "\3ip7\4arpa", 10);
		assert_int_equal(revzone_classify(&p, wire, n, &m), REVZONE_OUTSIDE);
		n = rev_name(v6, 32, false, wire);
		memcpy(wire + n - 1, "\7example", 9);
		assert_int_equal(revzone_classify(&p, wire, n + 8, &m), REVZONE_OUTSIDE);
		/* a malformed name */
		n = rev_name(v6, 32, false, wire);
		assert_int_equal(revzone_classify(&p, wire, n - 1, &m), REVZONE_OUTSIDE);
		assert_int_equal(revzone_classify(&p, wire, 0, &m), REVZONE_OUTSIDE);
		/* a prefix length RFC 6052 does not have */
		struct nat64_prefix odd = p;
		odd.len = p.len + 4;
		assert_int_equal(revzone_classify(&odd, wire, n, &m), REVZONE_OUTSIDE);
		assert_int_equal(revzone_apex(&odd, wire), 0);
	}
	uint8_t wire[300];
	struct revzone_match m;
	struct nat64_prefix wkp = prefix("64:ff9b::", 96);
	size_t n = name_from_text("ip6.arpa.", wire);
	assert_int_equal(revzone_classify(&wkp, wire, n, &m), REVZONE_OUTSIDE);
	n = name_from_text("4.3.2.1.in-addr.arpa.", wire);
	assert_int_equal(revzone_classify(&wkp, wire, n, &m), REVZONE_OUTSIDE);
	n = name_from_text("B.9.F.F.4.6.0.0.IP6.ARPA.", wire);
	assert_int_equal(revzone_classify(&wkp, wire, n, &m), REVZONE_OUTSIDE); /* above the /96 apex */
	n = name_from_text("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.B.9.F.F.4.6.0.0.IP6.ARPA.", wire);
	assert_int_equal(revzone_classify(&wkp, wire, n, &m), REVZONE_APEX);
}

/* ---------- the prefixes of a config ---------- */

static struct acl_rule rules[4];
static struct synth_prefix aps[2]; /* the ACL's prefixes: rule 0's, rule 3's */
static struct synth_prefix defp;   /* the config's default set: 64:ff9b::/96 */
static struct config cfg0;

static struct config config_with(size_t n_rules)
{
	struct config c = cfg0;

	defp.p = prefix("64:ff9b::", 96);
	c.prefixes = &defp;
	c.n_prefixes = 1;
	c.acl.rules = rules;
	c.acl.n = n_rules;
	c.acl.prefixes = aps;
	c.acl.n_prefixes = 2;
	return c;
}

static void set_rules(void)
{
	memset(rules, 0, sizeof(rules));
	rules[0].action = ACL_DNS64;
	memset(aps, 0, sizeof(aps));
	rules[0].n_prefixes = 1;
	rules[0].prefix_at = 0;
	aps[0].p = prefix("2001:67c:100::", 48);
	rules[1].action = ACL_FORWARD;
	rules[2].action = ACL_DNS64; /* the default prefix */
	rules[3].action = ACL_DNS64;
	rules[3].n_prefixes = 1;
	rules[3].prefix_at = 1;
	aps[1].p = prefix("2001:67c::", 32); /* the /48 above is inside its zone */
}

struct seen {
	const struct nat64_prefix *p[8];
	size_t n, stop_at;
};

static int note(const struct nat64_prefix *p, void *arg)
{
	struct seen *s = arg;
	s->p[s->n++] = p;
	return s->n == s->stop_at ? 7 : 0;
}

static void test_foreach_prefix(void **state)
{
	set_rules();
	struct config c = config_with(4);
	struct seen s = {.n = 0};

	assert_int_equal(revzone_foreach_prefix(&c, NULL, note, &s), 0);
	assert_int_equal(s.n, 3);
	assert_ptr_equal(s.p[0], &aps[0].p);
	assert_ptr_equal(s.p[1], &aps[1].p);
	assert_ptr_equal(s.p[2], &c.prefixes[0].p);
	/* fn's non-zero ends the walk and is returned */
	s = (struct seen){.stop_at = 2};
	assert_int_equal(revzone_foreach_prefix(&c, NULL, note, &s), 7);
	assert_int_equal(s.n, 2);
	/* one client's: its rule's prefix, or the default, or none for a forward rule */
	const struct {
		size_t rule;
		const struct nat64_prefix *want;
	} one[] = {{0, &aps[0].p}, {1, NULL}, {2, &c.prefixes[0].p}, {3, &aps[1].p}};
	for (size_t i = 0; i < N(one); i++) {
		s = (struct seen){.n = 0};
		assert_int_equal(revzone_foreach_prefix(&c, &rules[one[i].rule], note, &s), 0);
		assert_int_equal(s.n, one[i].want ? 1 : 0);
		if (one[i].want)
			assert_ptr_equal(s.p[0], one[i].want);
	}
	s = (struct seen){.stop_at = 1};
	assert_int_equal(revzone_foreach_prefix(&c, &rules[2], note, &s), 7);
	/* no dns64 rule uses the default: its zone is nobody's */
	rules[2].action = ACL_REFUSE;
	s = (struct seen){.n = 0};
	assert_int_equal(revzone_foreach_prefix(&c, NULL, note, &s), 0);
	assert_int_equal(s.n, 2);
	/* no ACL at all: no prefix */
	c = config_with(0);
	s = (struct seen){.n = 0};
	assert_int_equal(revzone_foreach_prefix(&c, NULL, note, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_find_deepest(void **state)
{
	set_rules();
	struct config c = config_with(4);
	uint8_t v6[16], wire[256], target[32];
	struct revzone_match m;
	size_t n;

	/* under the /48, which lies in the /32's zone: the /48 decides */
	embed(&aps[0].p, 192, 0, 2, 1, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_ADDRESS);
	assert_ptr_equal(m.prefix, &aps[0].p);
	assert_int_equal(revzone_ptr_target(&c, NULL, wire, n, target), 24);
	assert_memory_equal(target, "\0011\0012\0010\003192\007in-addr\004arpa", 24);
	/* the /48's apex is an empty non-terminal in the /32's zone, but its own apex here */
	n = rev_name(v6, 12, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_APEX);
	assert_ptr_equal(m.prefix, &aps[0].p);
	/* beside the /48, in the /32's zone */
	embed(&aps[1].p, 10, 1, 2, 3, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_ADDRESS);
	assert_ptr_equal(m.prefix, &aps[1].p);
	assert_int_equal(revzone_ptr_target(&c, NULL, wire, n, target), 23);
	/* the default prefix, used by rule 2 */
	embed(&c.prefixes[0].p, 192, 0, 0, 171, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_IPV4ONLY);
	assert_ptr_equal(m.prefix, &c.prefixes[0].p);
	assert_int_equal(revzone_ptr_target(&c, NULL, wire, n, target), 0); /* answered locally */
	/* nobody's prefix */
	struct nat64_prefix far = prefix("2001:db9::", 32);
	embed(&far, 192, 0, 2, 1, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_OUTSIDE);
	assert_int_equal(revzone_ptr_target(&c, NULL, wire, n, target), 0);
	n = name_from_text("www.example.", wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_OUTSIDE);
	/* a client gets its own prefix's zone only: the /32 client does not see the /48's */
	embed(&aps[0].p, 192, 0, 2, 1, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, &rules[0], wire, n, &m), REVZONE_ADDRESS);
	assert_int_equal(revzone_find(&c, &rules[3], wire, n, &m), REVZONE_IMPOSSIBLE); /* bits after v4 */
	assert_int_equal(revzone_find(&c, &rules[2], wire, n, &m), REVZONE_OUTSIDE);
	assert_int_equal(revzone_find(&c, &rules[1], wire, n, &m), REVZONE_OUTSIDE);
	assert_int_equal(revzone_ptr_target(&c, &rules[0], wire, n, target), 24);
	assert_int_equal(revzone_ptr_target(&c, &rules[3], wire, n, target), 0);
	/* the default prefix unused: the WKP's names are not ours */
	rules[2].action = ACL_FORWARD;
	embed(&c.prefixes[0].p, 192, 0, 2, 1, v6);
	n = rev_name(v6, 32, false, wire);
	assert_int_equal(revzone_find(&c, NULL, wire, n, &m), REVZONE_OUTSIDE);
}

/* ---------- the answers (local.c) ---------- */

struct acase {
	const char *name;
	uint16_t type, cls;
	int rule; /* the client's rule in rules[] */
	int rc, rcode;
	const char *answer, *authority;
};

#define WKP_APEX "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa."
#define P48_APEX "0.0.1.0.c.7.6.0.1.0.0.2.ip6.arpa."
/* 198.51.100.7 and 192.0.0.170 in the WKP and in 2001:67c:100::/48 (outside RFC 6303 zones) */
#define WKP_ADDR "7.0.4.6.3.3.6.c." WKP_APEX
#define WKP_170  "a.a.0.0.0.0.0.c." WKP_APEX
#define P48_ADDR "0.0.0.0.0.0.0.0.0.0.7.0.4.6.0.0.3.3.6.c." P48_APEX
#define P48_171  "0.0.0.0.0.0.0.0.0.0.b.a.0.0.0.0.0.0.0.c." P48_APEX
#define DEF_SOA  " 86400 IN SOA . . 0 28800 7200 604800 86400"

static void run_answers(const struct config *c, const struct acase *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t wire[256];
		struct query q;
		memset(&q, 0, sizeof(q));
		q.qname_len = (uint8_t)name_from_text(t[i].name, wire);
		memcpy(q.qname, wire, q.qname_len);
		q.qtype = t[i].type;
		q.qclass = t[i].cls;
		q.flags = F_RD;
		struct synth_prefix wkp = {.p = prefix("64:ff9b::", 96)};
		const struct acl_rule *rule = &rules[t[i].rule];
		struct local_client cl = {.dns64 = rule->action == ACL_DNS64,
		                          .prefixes = &wkp,
		                          .n_prefixes = 1,
		                          .rule = rule,
		                          .hostname = "h"};
		ldns_pkt *p = NULL;
		bool synth = true;
		char got[2048];

		int rc = local_answer(c, &q, &cl, &p, &synth);
		if (rc != t[i].rc)
			fail_msg("%s type %u: rc %d, want %d", t[i].name, t[i].type, rc, t[i].rc);
		assert_false(synth);
		if (rc == 0) {
			assert_null(p);
			continue;
		}
		if ((int)ldns_pkt_get_rcode(p) != t[i].rcode)
			fail_msg("%s type %u: rcode %d, want %d", t[i].name, t[i].type, ldns_pkt_get_rcode(p),
			         t[i].rcode);
		assert_true(ldns_pkt_aa(p));
		section_text(ldns_pkt_answer(p), got, sizeof(got));
		if (strcmp(got, t[i].answer))
			fail_msg("%s type %u: answer\n  '%s'\nwant\n  '%s'", t[i].name, t[i].type, got, t[i].answer);
		section_text(ldns_pkt_authority(p), got, sizeof(got));
		if (strcmp(got, t[i].authority))
			fail_msg("%s type %u: authority\n  '%s'\nwant\n  '%s'", t[i].name, t[i].type, got,
			         t[i].authority);
		uint8_t *out = NULL;
		size_t len;
		assert_int_equal(ldns_pkt2wire(&out, p, &len), LDNS_STATUS_OK);
		free(out);
		ldns_pkt_free(p);
	}
}

enum { R48, RFWD, RDEF, R32 }; /* rules[]: the /48's client, a forward one, the default's, the /32's */

static void test_answers_default_names(void **state)
{
	set_rules();
	struct config c = config_with(4);
	static const struct acase t[] = {
	        /* apex: SOA and NS, with BIND's default names */
	        {WKP_APEX, T_SOA, C_IN, RDEF, 1, 0, WKP_APEX DEF_SOA, ""},
	        {WKP_APEX, T_NS, C_IN, RDEF, 1, 0, WKP_APEX " 86400 IN NS .", ""},
	        {WKP_APEX, T_A, C_IN, RDEF, 1, 0, "", WKP_APEX DEF_SOA},
	        {P48_APEX, T_SOA, C_IN, R48, 1, 0, P48_APEX DEF_SOA, ""},
	        {P48_APEX, T_PTR, C_IN, R48, 1, 0, "", P48_APEX DEF_SOA},
	        /* empty non-terminals: NODATA, the SOA of the zone (not of the name) */
	        {"c." WKP_APEX, T_PTR, C_IN, RDEF, 1, 0, "", WKP_APEX DEF_SOA},
	        {"6.0.0.c." P48_APEX, T_PTR, C_IN, R48, 1, 0, "", P48_APEX DEF_SOA},
	        {"6.0.0.c." P48_APEX, T_SOA, C_IN, R48, 1, 0, "", P48_APEX DEF_SOA},
	        /* impossible names: NXDOMAIN */
	        {"1.0.0.0.0.0.0.0.0.0.7.0.4.6.0.0.3.3.6.c." P48_APEX, T_PTR, C_IN, R48, 1, 3, "", P48_APEX DEF_SOA},
	        {"1.0.0.0.6.c." P48_APEX, T_PTR, C_IN, R48, 1, 3, "", P48_APEX DEF_SOA}, /* u-octet */
	        {"x." WKP_APEX, T_PTR, C_IN, RDEF, 1, 3, "", WKP_APEX DEF_SOA},
	        {"0." WKP_ADDR, T_PTR, C_IN, RDEF, 1, 3, "", WKP_APEX DEF_SOA},
	        /* the ipv4only.arpa addresses: PTR, no CNAME (RFC 8880 section 7.1) */
	        {WKP_170, T_PTR, C_IN, RDEF, 1, 0, WKP_170 " 86400 IN PTR ipv4only.arpa.", ""},
	        {P48_171, T_PTR, C_IN, R48, 1, 0, P48_171 " 86400 IN PTR ipv4only.arpa.", ""},
	        {WKP_170, T_TXT, C_IN, RDEF, 1, 0, "", WKP_APEX DEF_SOA},
	        /* an address: its PTR goes upstream (request.c), other types get the CNAME alone */
	        {WKP_ADDR, T_PTR, C_IN, RDEF, 0, 0, NULL, NULL},
	        {P48_ADDR, T_PTR, C_IN, R48, 0, 0, NULL, NULL},
	        {WKP_ADDR, T_CNAME, C_IN, RDEF, 1, 0, WKP_ADDR " 600 IN CNAME 7.100.51.198.in-addr.arpa.", ""},
	        {WKP_ADDR, T_TXT, C_IN, RDEF, 1, 0, WKP_ADDR " 600 IN CNAME 7.100.51.198.in-addr.arpa.", ""},
	        /* another class: no records, never upstream */
	        {WKP_ADDR, T_PTR, C_HS, RDEF, 1, 0, "", WKP_APEX DEF_SOA},
	        {WKP_APEX, T_SOA, C_HS, RDEF, 1, 0, "", WKP_APEX DEF_SOA},
	        {"x." WKP_APEX, T_PTR, C_HS, RDEF, 1, 3, "", WKP_APEX DEF_SOA},
	        /* a forward client's reverse queries go upstream as before */
	        {WKP_APEX, T_SOA, C_IN, RFWD, 0, 0, NULL, NULL},
	        {WKP_170, T_PTR, C_IN, RFWD, 0, 0, NULL, NULL},
	        {"x." WKP_APEX, T_PTR, C_IN, RFWD, 0, 0, NULL, NULL},
	        /* and so do names in another client's zone */
	        {P48_APEX, T_SOA, C_IN, RDEF, 0, 0, NULL, NULL},
	        {P48_171, T_PTR, C_IN, RDEF, 0, 0, NULL, NULL},
	        {WKP_APEX, T_SOA, C_IN, R48, 0, 0, NULL, NULL},
	        {"x." WKP_APEX, T_PTR, C_IN, R48, 0, 0, NULL, NULL},
	        /* the /48 lies in the /32's zone: for the /32's client an address of the /48 has
	         * bits after its IPv4 part, its own apex is an ENT */
	        {P48_ADDR, T_PTR, C_IN, R32, 1, 3, "", "c.7.6.0.1.0.0.2.ip6.arpa." DEF_SOA},
	        {P48_APEX, T_PTR, C_IN, R32, 1, 0, "", "c.7.6.0.1.0.0.2.ip6.arpa." DEF_SOA},
	        {"c.7.6.0.1.0.0.2.ip6.arpa.", T_NS, C_IN, R32, 1, 0, "c.7.6.0.1.0.0.2.ip6.arpa. 86400 IN NS .", ""},
	        /* in-addr.arpa names of 192.0.0.170/171, for every client (RFC 8880 section 7.1) */
	        {"170.0.0.192.in-addr.arpa.", T_PTR, C_IN, RDEF, 1, 0,
	         "170.0.0.192.in-addr.arpa. 86400 IN PTR ipv4only.arpa.", ""},
	        {"171.0.0.192.in-addr.arpa.", T_PTR, C_IN, RFWD, 1, 0,
	         "171.0.0.192.in-addr.arpa. 86400 IN PTR ipv4only.arpa.", ""},
	        {"171.0.0.192.in-addr.arpa.", T_A, C_IN, R48, 1, 0, "",
	         "171.0.0.192.in-addr.arpa. 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600"},
	        {"x.170.0.0.192.in-addr.arpa.", T_PTR, C_IN, RDEF, 1, 3, "",
	         "170.0.0.192.in-addr.arpa. 3600 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 3600"},
	        {"172.0.0.192.in-addr.arpa.", T_PTR, C_IN, RDEF, 0, 0, NULL, NULL},
	        {"0.0.192.in-addr.arpa.", T_PTR, C_IN, RDEF, 0, 0, NULL, NULL},
	};
	run_answers(&c, t, N(t));
}

static void test_answers_configured_names(void **state)
{
	set_rules();
	struct config c = config_with(4);
	c.reverse_server = "ns1.example.net.";
	c.reverse_contact = "hostmaster.example.net.";
#define SOA_SET " 86400 IN SOA ns1.example.net. hostmaster.example.net. 0 28800 7200 604800 86400"
	static const struct acase t[] = {
	        {WKP_APEX, T_SOA, C_IN, RDEF, 1, 0, WKP_APEX SOA_SET, ""},
	        {WKP_APEX, T_NS, C_IN, RDEF, 1, 0, WKP_APEX " 86400 IN NS ns1.example.net.", ""},
	        {"c." WKP_APEX, T_PTR, C_IN, RDEF, 1, 0, "", WKP_APEX SOA_SET},
	        {"x." P48_APEX, T_PTR, C_IN, R48, 1, 3, "", P48_APEX SOA_SET},
	        /* the query's case stays in the owner names, the SOA's owner is the zone's as asked */
	        {"0.0.1.0.C.7.6.0.1.0.0.2.IP6.ARPA.", T_NS, C_IN, R48, 1, 0,
	         "0.0.1.0.C.7.6.0.1.0.0.2.IP6.ARPA. 86400 IN NS ns1.example.net.", ""},
	        {"X.0.0.1.0.C.7.6.0.1.0.0.2.IP6.ARPA.", T_NS, C_IN, R48, 1, 3, "",
	         "0.0.1.0.C.7.6.0.1.0.0.2.IP6.ARPA." SOA_SET},
	};
	run_answers(&c, t, N(t));
	/* long names with escapes fit in the SOA */
	char big[300];
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 4; i++)
		memcpy(big + i * 63, "\\046bcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefg.", 63);
	c.reverse_server = big;
	c.reverse_contact = big;
	uint8_t wire[256];
	struct query q;
	memset(&q, 0, sizeof(q));
	q.qname_len = (uint8_t)name_from_text(WKP_APEX, wire);
	memcpy(q.qname, wire, q.qname_len);
	q.qtype = T_SOA;
	q.qclass = C_IN;
	struct local_client cl = {.dns64 = true, .rule = &rules[RDEF], .hostname = "h"};
	ldns_pkt *p = NULL;
	bool synth;
	assert_int_equal(local_answer(&c, &q, &cl, &p, &synth), 1);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);
#undef SOA_SET
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_apex_and_ent),
	        cmocka_unit_test(test_addresses),
	        cmocka_unit_test(test_impossible),
	        cmocka_unit_test(test_outside),
	        cmocka_unit_test(test_foreach_prefix),
	        cmocka_unit_test(test_find_deepest),
	        cmocka_unit_test(test_answers_default_names),
	        cmocka_unit_test(test_answers_configured_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
