/* dns64.c - RFC 6052 address embedding and RFC 6147 synthesis decisions; pure, no I/O */
#include "dns64d/dns64.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/wire.h"

#define EDNS_OPT_EDE      15
#define EDE_DNSSEC_FIRST  6   /* DNSSEC Bogus */
#define EDE_DNSSEC_LAST   12  /* NSEC Missing */
#define DEFAULT_SYNTH_TTL 600 /* RFC 6147 §5.1.7, when no SOA is known */
#define SYNTH_STORE_MAX   (DNS_MAX_MSG + 16384) /* a stored message: wire_store() output */

const struct nat64_prefix dns64_wkp = {
        .addr = {0x00, 0x64, 0xff, 0x9b},
        .len = 96,
};

bool dns64_prefix_len_valid(unsigned len)
{
	return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

bool dns64_prefix_is_wkp(const struct nat64_prefix *p)
{
	return p->len == dns64_wkp.len && memcmp(p->addr, dns64_wkp.addr, 12) == 0;
}

/* RFC 6052 §2.2: the IPv4 octets follow the prefix, skipping byte 8 (the u-octet); the
 * suffix fills the rest (it is zero where the prefix, u-octet and IPv4 octets go). */
void dns64_embed(const struct nat64_prefix *p, const uint8_t v4[4], uint8_t out[16])
{
	unsigned pos = p->len / 8;

	memcpy(out, p->suffix, 16);
	memcpy(out, p->addr, pos);
	if (pos < 8)
		out[8] = 0;
	for (unsigned i = 0; i < 4; i++) {
		if (pos == 8)
			pos++;
		out[pos++] = v4[i];
	}
}

int dns64_extract(const struct nat64_prefix *p, const uint8_t v6[16], uint8_t v4[4])
{
	unsigned pos = p->len / 8;

	if (!dns64_prefix_len_valid(p->len) || memcmp(v6, p->addr, pos) != 0)
		return -ENOENT;
	for (unsigned i = 0; i < 4; i++) {
		if (pos == 8)
			pos++;
		v4[i] = v6[pos++];
	}
	return 0;
}

/* RFC 6890 blocks whose "Global" attribute is False, as listed in dns64.h. */
static const struct {
	uint8_t addr[4];
	unsigned plen;
} nonglobal_v4[] = {
        {{0, 0, 0, 0}, 8},      {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
        {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},  {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},
        {{192, 88, 99, 0}, 24}, {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24},
        {{203, 0, 113, 0}, 24}, {{224, 0, 0, 0}, 4}, /* multicast (RFC 5735 §3, cited by RFC 6052 §3.1) */
        {{240, 0, 0, 0}, 4},
};

bool dns64_ipv4_is_global(const uint8_t v4[4])
{
	uint32_t a = (uint32_t)v4[0] << 24 | (uint32_t)v4[1] << 16 | (uint32_t)v4[2] << 8 | v4[3];

	for (size_t i = 0; i < sizeof(nonglobal_v4) / sizeof(nonglobal_v4[0]); i++) {
		const uint8_t *b = nonglobal_v4[i].addr;
		uint32_t net = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		uint32_t mask = 0xffffffffu << (32 - nonglobal_v4[i].plen);

		if ((a & mask) == net)
			return false;
	}
	return true;
}

bool dns64_ipv4_may_synth(const struct synth_prefix *sp, const uint8_t v4[4])
{
	if (sp->n_mapped > 0)
		return mapped_allows(sp->mapped, sp->n_mapped, v4);
	/* RFC 6052 §3.1: the WKP must not represent non-global IPv4 addresses. */
	if (dns64_prefix_is_wkp(&sp->p))
		return dns64_ipv4_is_global(v4);
	return true;
}

static bool excluded_by(const struct synth_prefix *sp, const uint8_t v6[16])
{
	for (size_t i = 0; i < sp->n_exclude; i++)
		if (network_contains(&sp->exclude[i], AF_INET6, v6))
			return true;
	return false;
}

bool dns64_ipv6_excluded(const struct synth_prefix *set, size_t n, const uint8_t v6[16])
{
	for (size_t i = 0; i < n; i++)
		if (!excluded_by(&set[i], v6))
			return false;
	return n > 0;
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Compare two names label by label, ignoring ASCII case. Both must be well formed. */
static bool labels_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		if (*a == 0)
			return true;
		for (unsigned i = 1; i <= *a; i++)
			if (lower(a[i]) != lower(b[i]))
				return false;
		a += *a + 1;
		b += *b + 1;
	}
}

/* Length of the well-formed uncompressed wire name at name (root label included), or 0. */
static size_t flat_name_len(const uint8_t *name, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		uint8_t l = name[pos];

		if (l == 0)
			return pos + 1 <= 255 ? pos + 1 : 0;
		if (l > 63 || pos + 1 + l >= len)
			return 0;
		pos += 1 + l;
	}
	return 0;
}

bool dns64_name_under(const uint8_t *name, size_t name_len, const struct dname *domain)
{
	size_t end, dlen = domain->len;
	size_t pos = 0;

	if (name == NULL || dlen == 0 || flat_name_len(domain->wire, dlen) != dlen)
		return false;
	end = flat_name_len(name, name_len);
	if (end == 0 || dlen > end)
		return false;
	/* Only a label boundary exactly dlen bytes before the end can match. */
	while (end - pos > dlen)
		pos += 1 + name[pos];
	return end - pos == dlen && labels_equal(name + pos, domain->wire);
}

const char *dns64_reason_name(enum dns64_reason r)
{
	static const char *const names[DNS64_REASON_COUNT] = {
	        [DNS64_REASON_NONE] = "synthesized",
	        [DNS64_REASON_REAL_AAAA] = "real_aaaa",
	        [DNS64_REASON_NXDOMAIN] = "nxdomain",
	        [DNS64_REASON_NO_A] = "no_a",
	        [DNS64_REASON_EXCLUDED] = "excluded",
	        [DNS64_REASON_NON_GLOBAL] = "non_global",
	        [DNS64_REASON_CD_DO] = "cd_do",
	        [DNS64_REASON_NO_SYNTH] = "no_synth",
	        [DNS64_REASON_FORWARD_ONLY] = "forward_only",
	        [DNS64_REASON_RCODE] = "rcode",
	        [DNS64_REASON_NOT_AAAA] = "not_aaaa",
	        [DNS64_REASON_NOT_RECURSIVE] = "not_recursive",
	        [DNS64_REASON_SIGNED_A] = "signed_a",
	};

	if ((unsigned)r >= DNS64_REASON_COUNT)
		return "unknown";
	return names[r];
}

static enum dns64_verdict verdict(enum dns64_verdict v, enum dns64_reason r, enum dns64_reason *why)
{
	if (why)
		*why = r;
	return v;
}

enum dns64_verdict dns64_decide(const struct dns64_facts *f, enum dns64_reason *why)
{
	/* §5.5: a validating client (DO and CD) must see the real answer. */
	if (f->cd_bit && f->do_bit)
		return verdict(DNS64_PASS, DNS64_REASON_CD_DO, why);
	if (f->no_synth)
		return verdict(DNS64_PASS, DNS64_REASON_NO_SYNTH, why);
	/* §5.1.2: NXDOMAIN is returned as is. */
	if (f->rcode == LDNS_RCODE_NXDOMAIN)
		return verdict(DNS64_PASS, DNS64_REASON_NXDOMAIN, why);
	if (f->synth_all)
		return verdict(DNS64_SYNTH, DNS64_REASON_NONE, why);
	if (f->rcode == LDNS_RCODE_NOERROR) {
		if (f->n_aaaa > f->n_excluded) {
			if (f->n_excluded > 0)
				return verdict(DNS64_FILTER, DNS64_REASON_EXCLUDED, why);
			return verdict(DNS64_PASS, DNS64_REASON_REAL_AAAA, why);
		}
		return verdict(DNS64_SYNTH, DNS64_REASON_NONE, why);
	}
	/* §5.1.2 treats other rcodes (and no answer at all) like NODATA; §5.5 does not let
	 * synthesis hide a DNSSEC failure. */
	if (f->dnssec_ede || f->synth_on == SYNTH_ON_NODATA)
		return verdict(DNS64_PASS, DNS64_REASON_RCODE, why);
	return verdict(DNS64_SYNTH, DNS64_REASON_NONE, why);
}

static bool rr_is_in_aaaa(const ldns_rr *rr)
{
	const ldns_rdf *rd;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_AAAA || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
	    ldns_rr_rd_count(rr) != 1)
		return false;
	rd = ldns_rr_rdf(rr, 0);
	return rd != NULL && ldns_rdf_size(rd) == 16;
}

static bool rr_is_in_a(const ldns_rr *rr)
{
	const ldns_rdf *rd;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
	    ldns_rr_rd_count(rr) != 1)
		return false;
	rd = ldns_rr_rdf(rr, 0);
	return rd != NULL && ldns_rdf_size(rd) == 4;
}

static bool rrsig_covers(const ldns_rr *rr, ldns_rr_type type)
{
	const ldns_rdf *covered;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) < 1)
		return false;
	covered = ldns_rr_rdf(rr, 0);
	if (covered == NULL || ldns_rdf_size(covered) != 2)
		return false;
	return ldns_rdf2rr_type(covered) == type;
}

static bool aaaa_excluded(const struct synth_prefix *set, size_t n_set, const ldns_rr *rr)
{
	return dns64_ipv6_excluded(set, n_set, ldns_rdf_data(ldns_rr_rdf(rr, 0)));
}

void dns64_count_aaaa(const struct synth_prefix *set, size_t n_set, const ldns_pkt *aaaa, unsigned *n,
                      unsigned *n_excluded)
{
	const ldns_rr_list *answer = aaaa ? ldns_pkt_answer(aaaa) : NULL;

	*n = 0;
	*n_excluded = 0;
	for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);

		if (!rr_is_in_aaaa(rr))
			continue;
		(*n)++;
		if (aaaa_excluded(set, n_set, rr))
			(*n_excluded)++;
	}
}

/* Walk EDNS option TLVs (code, length, data) looking for EDE with a DNSSEC info code. */
static bool options_have_dnssec_ede(const uint8_t *d, size_t len)
{
	size_t pos = 0;

	while (len - pos >= 4) {
		uint16_t code = (uint16_t)(d[pos] << 8 | d[pos + 1]);
		uint16_t olen = (uint16_t)(d[pos + 2] << 8 | d[pos + 3]);

		pos += 4;
		if (olen > len - pos)
			return false;
		if (code == EDNS_OPT_EDE && olen >= 2) {
			uint16_t info = (uint16_t)(d[pos] << 8 | d[pos + 1]);

			if (info >= EDE_DNSSEC_FIRST && info <= EDE_DNSSEC_LAST)
				return true;
		}
		pos += olen;
	}
	return false;
}

bool dns64_has_dnssec_ede(const ldns_pkt *pkt)
{
	const ldns_rdf *data;

	if (pkt == NULL)
		return false;
	data = ldns_pkt_edns_data(pkt);
	if (data != NULL)
		return options_have_dnssec_ede(ldns_rdf_data(data), ldns_rdf_size(data));
	/* A packet built in memory may carry its options only as a parsed list. */
	if (pkt->_edns_list != NULL) {
		const ldns_edns_option_list *list = pkt->_edns_list;

		for (size_t i = 0; i < ldns_edns_option_list_get_count(list); i++) {
			const ldns_edns_option *o = ldns_edns_option_list_get_option(list, i);
			const uint8_t *od = ldns_edns_get_data(o);

			if (ldns_edns_get_code(o) == EDNS_OPT_EDE && ldns_edns_get_size(o) >= 2 && od) {
				uint16_t info = (uint16_t)(od[0] << 8 | od[1]);

				if (info >= EDE_DNSSEC_FIRST && info <= EDE_DNSSEC_LAST)
					return true;
			}
		}
	}
	return false;
}

void dns64_filter_excluded(const struct synth_prefix *set, size_t n_set, ldns_pkt *aaaa)
{
	ldns_rr_list *answer = ldns_pkt_answer(aaaa);
	size_t keep = 0;
	size_t count;

	if (answer == NULL)
		return;
	count = ldns_rr_list_rr_count(answer);
	/* Compact in place so no allocation can fail. The AAAA RRset changed, so its
	 * signatures no longer verify: drop them too. */
	for (size_t i = 0; i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);

		if ((rr_is_in_aaaa(rr) && aaaa_excluded(set, n_set, rr)) || rrsig_covers(rr, LDNS_RR_TYPE_AAAA)) {
			ldns_rr_free(rr);
			continue;
		}
		ldns_rr_list_set_rr(answer, rr, keep++);
	}
	ldns_rr_list_set_rr_count(answer, keep);
	ldns_pkt_set_ancount(aaaa, (uint16_t)keep);
}

uint32_t dns64_ttl(uint32_t a_ttl, bool have_soa, uint32_t soa_bound)
{
	uint32_t bound = have_soa ? soa_bound : DEFAULT_SYNTH_TTL;

	return a_ttl < bound ? a_ttl : bound;
}

/* §5.1.7: the negative AAAA answer's SOA bounds the synthesized TTL. */
static bool soa_bound(const ldns_pkt *aaaa, uint32_t *bound)
{
	const ldns_rr_list *auth = aaaa ? ldns_pkt_authority(aaaa) : NULL;

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *min;
		uint32_t ttl, minimum;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
			continue;
		min = ldns_rr_rdf(rr, 6);
		if (min == NULL || ldns_rdf_size(min) != 4)
			continue;
		ttl = ldns_rr_ttl(rr);
		minimum = ldns_rdf2native_int32(min);
		*bound = ttl < minimum ? ttl : minimum;
		return true;
	}
	return false;
}

static int push_clone(ldns_pkt *pkt, ldns_pkt_section section, const ldns_rr *rr)
{
	ldns_rr *c = ldns_rr_clone(rr);

	if (c == NULL)
		return -ENOMEM;
	if (!ldns_pkt_push_rr(pkt, section, c)) {
		ldns_rr_free(c);
		return -ENOMEM;
	}
	return 0;
}

/* §5.1.4-5.1.6: of the A answer's other records, only the CNAME/DNAME chain that leads to
 * the A records belongs in the AAAA answer (with its signatures, still valid); anything else
 * an upstream put there (an SRV, a stray TXT) is not an answer to AAAA. */
static bool in_chain(const ldns_rr *rr)
{
	ldns_rr_type t = ldns_rr_get_type(rr);

	return t == LDNS_RR_TYPE_CNAME || t == LDNS_RR_TYPE_DNAME || rrsig_covers(rr, LDNS_RR_TYPE_CNAME) ||
	       rrsig_covers(rr, LDNS_RR_TYPE_DNAME);
}

static unsigned count_a(const ldns_pkt *a)
{
	const ldns_rr_list *answer = ldns_pkt_answer(a);
	unsigned n = 0;

	for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(answer, i)) == LDNS_RR_TYPE_A)
			n++;
	return n;
}

int dns64_synthesize(const struct synth_prefix *set, size_t n_set, const ldns_pkt *aaaa, const ldns_pkt *a,
                     ldns_pkt **out, unsigned *n_synth, unsigned *used, enum dns64_reason *why)
{
	*out = NULL;
	*n_synth = 0;
	if (used)
		*used = 0;
	if (a == NULL || ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR || count_a(a) == 0) {
		if (why)
			*why = DNS64_REASON_NO_A;
		return -ENOENT;
	}
	/* one implementation of the rules: a goes to wire, through dns64_synthesize_wire() */
	struct dns64_wire_facts f = {0};
	f.have_soa = soa_bound(aaaa, &f.soa_bound);
	uint8_t *wire = NULL, *buf = malloc(SYNTH_STORE_MAX + DNS_MAX_MSG);
	size_t len = 0, out_len = 0;
	int rc = -ENOMEM;
	if (buf && ldns_pkt2wire(&wire, a, &len) == LDNS_STATUS_OK) {
		rc = wire_store(wire, len, UINT32_MAX, buf, SYNTH_STORE_MAX);
		if (rc == 0)
			rc = dns64_synthesize_wire(set, n_set, &f, (const struct msg_meta *)buf, 0, buf + SYNTH_STORE_MAX,
			                           DNS_MAX_MSG, &out_len, n_synth, used, why);
		if (rc == 0 && ldns_wire2pkt(out, buf + SYNTH_STORE_MAX, out_len) != LDNS_STATUS_OK)
			rc = -ENOMEM;
	}
	free(wire);
	free(buf);
	if (rc < 0)
		*n_synth = 0;
	return rc;
}

static int nibble(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static const uint8_t ip6_arpa[] = "\3ip6\4arpa"; /* sizeof includes the root label */
static const uint8_t in_addr_arpa[] = "\7in-addr\4arpa";

size_t dns64_ptr_target(const struct nat64_prefix *p, const uint8_t *qname, size_t qname_len, uint8_t *target)
{
	uint8_t v6[16], v4[4], check[16];
	size_t pos = 0;

	if (qname == NULL || qname_len != 32 * 2 + sizeof(ip6_arpa))
		return 0;
	/* The first label is the low nibble of the last byte. */
	for (unsigned i = 0; i < 32; i++, pos += 2) {
		int n;

		if (qname[pos] != 1 || (n = nibble(qname[pos + 1])) < 0)
			return 0;
		if (i % 2 == 0)
			v6[15 - i / 2] = (uint8_t)n;
		else
			v6[15 - i / 2] |= (uint8_t)(n << 4);
	}
	for (size_t i = 0; i < sizeof(ip6_arpa); i++)
		if (lower(qname[pos + i]) != ip6_arpa[i])
			return 0;
	if (dns64_extract(p, v6, v4) < 0)
		return 0;
	/* Only names we could have synthesized: u-octet and suffix zero. */
	dns64_embed(p, v4, check);
	if (memcmp(check, v6, 16) != 0)
		return 0;

	pos = 0;
	for (int i = 3; i >= 0; i--) {
		char digits[4];
		int n = snprintf(digits, sizeof(digits), "%u", v4[i]);

		target[pos++] = (uint8_t)n;
		memcpy(target + pos, digits, (size_t)n);
		pos += (size_t)n;
	}
	memcpy(target + pos, in_addr_arpa, sizeof(in_addr_arpa));
	return pos + sizeof(in_addr_arpa);
}

size_t dns64_ptr_target_set(const struct synth_prefix *set, size_t n_set, const uint8_t *qname, size_t qname_len,
                            uint8_t *target)
{
	for (size_t i = 0; i < n_set; i++) {
		size_t n = dns64_ptr_target(&set[i].p, qname, qname_len, target);

		if (n != 0)
			return n;
	}
	return 0;
}

size_t dns64_synth_variant(const struct synth_prefix *set, size_t n_set, unsigned generation, uint8_t *out)
{
	size_t pos = 4;

	memcpy(out, &generation, 4);
	for (size_t i = 0; i < n_set && i < PREFIX_SET_MAX; i++) {
		unsigned nb = set[i].p.len / 8;

		out[pos++] = (uint8_t)set[i].p.len;
		memcpy(out + pos, set[i].p.addr, nb);
		pos += nb;
	}
	return pos;
}

bool dns64_synthesizable(const struct synth_prefix *set, size_t n_set, const ldns_pkt *a)
{
	const ldns_rr_list *answer = a ? ldns_pkt_answer(a) : NULL;

	if (a == NULL || ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR)
		return false;
	for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);

		if (!rr_is_in_a(rr))
			continue;
		for (size_t k = 0; k < n_set; k++)
			if (dns64_ipv4_may_synth(&set[k], ldns_rdf_data(ldns_rr_rdf(rr, 0))))
				return true;
	}
	return false;
}

bool dns64_filter_a(const struct dns64_facts *f, bool a_synthesizable)
{
	if (dns64_decide(f, NULL) == DNS64_SYNTH && a_synthesizable)
		return true;
	if (f->rcode != LDNS_RCODE_NOERROR)
		return false;
	/* the AAAA answer as the client would get it: unfiltered for CD+DO (§5.5), else without
	 * the excluded records */
	return f->cd_bit && f->do_bit ? f->n_aaaa > 0 : f->n_aaaa > f->n_excluded;
}

/* The first SOA of pkt's authority section, or NULL. */
static const ldns_rr *authority_soa(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = pkt ? ldns_pkt_authority(pkt) : NULL;

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(auth, i)) == LDNS_RR_TYPE_SOA)
			return ldns_rr_list_rr(auth, i);
	return NULL;
}

int dns64_filter_a_answer(const ldns_pkt *a, const ldns_pkt *aaaa, ldns_pkt **out)
{
	const ldns_rr_list *question = ldns_pkt_question(a), *answer = ldns_pkt_answer(a);
	const ldns_rr *soa = authority_soa(a);
	ldns_pkt *pkt = ldns_pkt_new();
	int rc = 0;

	*out = NULL;
	if (pkt == NULL)
		return -ENOMEM;
	for (size_t i = 0; rc == 0 && question && i < ldns_rr_list_rr_count(question); i++) {
		ldns_rr *q = ldns_rr_clone(ldns_rr_list_rr(question, i));

		if (q == NULL || !ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q)) {
			ldns_rr_free(q);
			rc = -ENOMEM;
		}
	}
	for (size_t i = 0; rc == 0 && answer && i < ldns_rr_list_rr_count(answer); i++)
		if (in_chain(ldns_rr_list_rr(answer, i)))
			rc = push_clone(pkt, LDNS_SECTION_ANSWER, ldns_rr_list_rr(answer, i));
	if (soa == NULL)
		soa = authority_soa(aaaa);
	if (rc == 0 && soa != NULL)
		rc = push_clone(pkt, LDNS_SECTION_AUTHORITY, soa);
	if (rc < 0) {
		ldns_pkt_free(pkt);
		return rc;
	}
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_opcode(pkt, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(pkt, ldns_pkt_rd(a));
	ldns_pkt_set_ra(pkt, ldns_pkt_ra(a));
	ldns_pkt_set_cd(pkt, ldns_pkt_cd(a));
	ldns_pkt_set_ad(pkt, false);
	ldns_pkt_set_rcode(pkt, LDNS_RCODE_NOERROR);
	*out = pkt;
	return 0;
}
