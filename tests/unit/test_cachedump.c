/* test_cachedump.c - unit tests for the cache dump text format: round trip, aging, bad lines */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns64d/cache.h"
#include "dns64d/cachedump.h"
#include "dns64d/wire.h"

static _Alignas(8) uint8_t stored[DNS_MAX_MSG + 16384];

/* A stored answer for name/type with the records given (presentation form, TTLs as given). */
static const struct msg_meta *answer(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, const char **rrs)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	for (; rrs && *rrs; rrs++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, *rrs, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(
		        p, ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ? LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_int_equal(wire_store(wire, len, 86400, stored, sizeof(stored)), 0);
	free(wire);
	ldns_pkt_free(p);
	return (const struct msg_meta *)stored;
}

static size_t key_of(uint8_t *key, const char *name, uint16_t qtype, uint8_t flags)
{
	ldns_rdf *d = NULL;
	assert_int_equal(ldns_str2rdf_dname(&d, name), LDNS_STATUS_OK);
	size_t kl = cache_key(key, ldns_rdf_data(d), ldns_rdf_size(d), qtype, DNS_C_IN, flags, NULL, 0);
	ldns_rdf_deep_free(d);
	return kl;
}

/* The first entry line of a dump (not a comment, not the time line). */
static char *entry_line(char *text)
{
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
		if (l[0] != '#' && strncmp(l, "time ", 5) != 0)
			return l;
	return NULL;
}

static void test_round_trip(void **state)
{
	const char *rrs[] = {"www.example.org. 300 IN A 192.0.2.1", "www.example.org. 200 IN A 192.0.2.2", NULL};
	const struct msg_meta *m = answer("www.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, rrs);
	uint8_t key[CACHE_KEY_MAX], key2[CACHE_KEY_MAX], value[DNS_MAX_MSG + 16384];
	size_t kl = key_of(key, "www.example.org.", DNS_T_A, CACHE_F_RD | CACHE_F_DO), kl2, vl;
	struct dumpbuf b = {0};
	uint32_t ttl;
	const char *why = NULL;

	assert_int_equal(m->ttl, 200);
	cachedump_header(&b, 1000000);
	/* stored 50 s ago, 150 s left */
	assert_int_equal(cachedump_entry(&b, key, kl, m, msg_stored_size(m), 150, 50), 0);
	assert_int_equal(b.err, 0);
	assert_non_null(strstr(b.text, "\ntime 1000000\n"));
	assert_non_null(strstr(b.text, "www.example.org. A IN rd,do 150 - "));
	assert_non_null(strstr(b.text, "# www.example.org.\t250\tIN\tA\t192.0.2.1\n")); /* aged by 50 s */

	/* loaded 10 s after the dump: 140 s left, records aged by 60 s in all */
	struct cachedump_reader r = {.now = 1000010};
	char *copy = strdup(b.text);
	int got = 0;
	for (char *l = strtok(copy, "\n"); l; l = strtok(NULL, "\n")) {
		int rc = cachedump_parse(&r, l, key2, &kl2, value, sizeof(value), &vl, &ttl, &why);
		assert_true(rc >= 0);
		got += rc;
	}
	free(copy);
	assert_int_equal(got, 1);
	assert_int_equal(r.dumped_at, 1000000);
	assert_int_equal(r.entries, 1);
	assert_int_equal(ttl, 140);
	assert_int_equal(kl2, kl);
	assert_memory_equal(key2, key, kl);
	const struct msg_meta *lm = (const struct msg_meta *)value;
	assert_int_equal(vl, msg_stored_size(lm));
	assert_int_equal(lm->ttl, 140);
	assert_int_equal(lm->ede, EDE_NONE);
	assert_int_equal(lm->n_ttl, 2);
	assert_int_equal(rd32(msg_wire(lm) + msg_ttl_offsets(lm)[0]), 240);
	assert_int_equal(rd32(msg_wire(lm) + msg_ttl_offsets(lm)[1]), 140);
	free(b.text);
}

static void test_negative_and_ede(void **state)
{
	const char *rrs[] = {"example.org. 3600 IN SOA ns.example.org. h.example.org. 1 3600 600 86400 300", NULL};
	struct msg_meta *m = (struct msg_meta *)answer("nx.example.org.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NXDOMAIN, rrs);
	uint8_t key[CACHE_KEY_MAX], key2[CACHE_KEY_MAX], value[DNS_MAX_MSG + 16384];
	size_t kl = key_of(key, "nx.example.org.", DNS_T_AAAA, CACHE_F_RD), kl2, vl;
	struct dumpbuf b = {0};
	uint32_t ttl;
	const char *why = NULL;

	m->ede = 22;
	assert_int_equal(cachedump_entry(&b, key, kl, m, msg_stored_size(m), 300, 0), 0);
	assert_non_null(strstr(b.text, "nx.example.org. AAAA IN rd 300 22 "));
	assert_non_null(strstr(b.text, "# NXDOMAIN, no answer records\n"));
	struct cachedump_reader r = {.now = 5}; /* no time line: TTLs as they are */
	char *l = entry_line(b.text);
	assert_int_equal(cachedump_parse(&r, l, key2, &kl2, value, sizeof(value), &vl, &ttl, &why), 1);
	assert_int_equal(ttl, 300);
	assert_int_equal(((struct msg_meta *)value)->ede, 22);
	assert_int_equal(((struct msg_meta *)value)->rcode, DNS_R_NXDOMAIN);
	free(b.text);
}

static void test_not_dumped(void **state)
{
	const char *rrs[] = {"www.example.org. 300 IN AAAA 64:ff9b::1", NULL};
	const struct msg_meta *m = answer("www.example.org.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, rrs);
	uint8_t key[CACHE_KEY_MAX], wire[] = "\3www\7example\3org";
	size_t kl = cache_key(key, wire, sizeof(wire), DNS_T_AAAA, DNS_C_IN, CACHE_F_RD | CACHE_F_SYNTH, "v", 1);
	struct dumpbuf b = {0};

	assert_int_equal(cachedump_entry(&b, key, kl, m, msg_stored_size(m), 300, 0), -ENOTSUP);
	kl = cache_key(key, wire, sizeof(wire), DNS_T_AAAA, DNS_C_IN, CACHE_F_RD, NULL, 0);
	assert_int_equal(cachedump_entry(&b, key, kl, m, msg_stored_size(m) - 1, 300, 0), -EINVAL);
	assert_int_equal(cachedump_entry(&b, key, kl - 1, m, msg_stored_size(m), 300, 0), -EINVAL);
	assert_int_equal(b.len, 0);
	free(b.text);
}

static void test_expired_and_bad_lines(void **state)
{
	const char *rrs[] = {"a.example. 60 IN A 192.0.2.9", NULL};
	const struct msg_meta *m = answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, rrs);
	uint8_t key[CACHE_KEY_MAX], value[DNS_MAX_MSG + 16384];
	size_t kl = key_of(key, "a.example.", DNS_T_A, CACHE_F_RD), vl;
	struct dumpbuf b = {0};
	uint32_t ttl;
	const char *why;
	char line[4096];

	assert_int_equal(cachedump_entry(&b, key, kl, m, msg_stored_size(m), 60, 0), 0);
	char *good = entry_line(b.text);
	char name[64], type[16], class[16], flags[16], ttls[16], ede[16], b64[1024];
	assert_int_equal(sscanf(good, "%63s %15s %15s %15s %15s %15s %1023s", name, type, class, flags, ttls, ede, b64),
	                 7);

	/* loaded 61 s after the dump: expired, skipped and counted */
	struct cachedump_reader r = {.now = 161, .dumped_at = 100};
	snprintf(line, sizeof(line), "%s", good);
	assert_int_equal(cachedump_parse(&r, line, key, &kl, value, sizeof(value), &vl, &ttl, &why), 0);
	assert_int_equal(r.expired, 1);

	struct cachedump_reader r2 = {.now = 100};
	const char *blank[] = {"", "   ", "# a comment", "time 99"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "%s", blank[i]);
		assert_int_equal(cachedump_parse(&r2, line, key, &kl, value, sizeof(value), &vl, &ttl, &why), 0);
	}
	assert_int_equal(r2.dumped_at, 99);
	char bad[][2048] = {"time x",
	                    "a.example. A IN rd 60 -",
	                    "a.example. A IN rd 60 - AAAA extra",
	                    "a.example. BOGUS IN rd 60 - B64",
	                    "a.example. A IN rx 60 - B64",
	                    "a.example. A IN rd 90000 - B64",
	                    "a.example. A IN rd 60 x B64",
	                    "a.example. A IN rd 60 - !!!notbase64",
	                    "a.example. A IN rd 60 - AAAA",
	                    "b.example. A IN rd 60 - B64",
	                    "a.example. AAAA IN rd 60 - B64",
	                    "a..example. A IN rd 60 - B64"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = strstr(bad[i], "B64");
		if (p)
			snprintf(p, sizeof(bad[i]) - (size_t)(p - bad[i]), "%s", b64);
		why = NULL;
		assert_int_equal(cachedump_parse(&r2, bad[i], key, &kl, value, sizeof(value), &vl, &ttl, &why),
		                 -EINVAL);
		assert_non_null(why);
	}
	/* the untouched line is good */
	assert_int_equal(cachedump_parse(&r2, good, key, &kl, value, sizeof(value), &vl, &ttl, &why), 1);
	free(b.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_negative_and_ede),
	        cmocka_unit_test(test_not_dumped),
	        cmocka_unit_test(test_expired_and_bad_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
