/* dnstext.h - names from text and records as text for the cmocka tests (include after cmocka.h) */
#ifndef DNS64D_TEST_DNSTEXT_H
#define DNS64D_TEST_DNSTEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

/* Presentation form ("www.example.", the trailing dot optional; "" is the root) to uncompressed
 * wire form in out; returns the length. */
static inline size_t name_from_text(const char *text, uint8_t *out)
{
	ldns_rdf *rdf = NULL;
	assert_int_equal(ldns_str2rdf_dname(&rdf, *text ? text : "."), LDNS_STATUS_OK);
	size_t n = ldns_rdf_size(rdf);
	memcpy(out, ldns_rdf_data(rdf), n);
	ldns_rdf_deep_free(rdf);
	return n;
}

/* Records as "owner ttl class type rdata" lines joined by '|': rrs[0..n), or those of l when l is not NULL, into out (cap bytes). */
static inline void rr_text_join(ldns_rr *const *rrs, size_t n, const ldns_rr_list *l, char *out, size_t cap)
{
	out[0] = 0;
	size_t count = l ? ldns_rr_list_rr_count(l) : n;
	for (size_t i = 0; i < count; i++) {
		char *s = ldns_rr2str(l ? ldns_rr_list_rr(l, i) : rrs[i]);
		assert_non_null(s);
		for (char *c = s; *c; c++)
			if (*c == '\t')
				*c = ' ';
		size_t len = strlen(s);
		if (len && s[len - 1] == '\n')
			s[len - 1] = 0;
		if (i)
			strncat(out, "|", cap - strlen(out) - 1);
		strncat(out, s, cap - strlen(out) - 1);
		free(s);
	}
}

/* The records of a packet section. */
static inline void section_text(const ldns_rr_list *l, char *out, size_t cap)
{
	rr_text_join(NULL, 0, l, out, cap);
}

#endif
