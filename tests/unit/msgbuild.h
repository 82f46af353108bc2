/* msgbuild.h - hand-made and ldns-rendered DNS messages for the wire and response unit tests
 *
 * Included by one test file each (static helpers, static inline so unused ones do not warn);
 * needs cmocka.h, ldns and dns64d/wire.h included first.
 */
#ifndef DNS64D_TEST_MSGBUILD_H
#define DNS64D_TEST_MSGBUILD_H

/* ---------- a small wire writer for hand-made (and malformed) messages ---------- */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static inline void put8(struct buf *b, unsigned v)
{
	assert_true(b->n + 1 <= sizeof(b->b));
	b->b[b->n++] = (uint8_t)v;
}

static inline void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static inline void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static inline void put_raw(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Dotted text ("www.example.com." or ".") to uncompressed wire, case kept, no escapes and
 * no check of the total length (tests need names that are too long). */
static inline void put_name(struct buf *b, const char *text)
{
	const char *p = text;
	while (*p && *p != '.') {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		assert_true(l >= 1 && l <= 63);
		put8(b, (unsigned)l);
		put_raw(b, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
	put8(b, 0);
}

static inline void put_header(struct buf *b, uint16_t id, uint16_t flags, unsigned qd, unsigned an, unsigned ns,
                              unsigned ar)
{
	put16(b, id);
	put16(b, flags);
	put16(b, qd);
	put16(b, an);
	put16(b, ns);
	put16(b, ar);
}

/* cookie bytes are 0x01, 0x02, ... so copies can be checked */
static inline void fill_cookie(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i + 1);
}

/* An OPT record; owner "." or, with nonroot, "example." */
static inline void put_opt(struct buf *b, bool nonroot, uint16_t udp, uint8_t ext_rcode, uint8_t version, bool do_bit,
                           int cookie_len, int ede)
{
	uint8_t cookie[64];
	size_t rdlen = 0;
	if (cookie_len >= 0)
		rdlen += 4u + (size_t)cookie_len;
	if (ede >= 0)
		rdlen += 6;
	put_name(b, nonroot ? "example." : ".");
	put16(b, DNS_T_OPT);
	put16(b, udp);
	put8(b, ext_rcode);
	put8(b, version);
	put16(b, do_bit ? 0x8000 : 0);
	put16(b, (unsigned)rdlen);
	if (cookie_len >= 0) {
		assert_true((size_t)cookie_len <= sizeof(cookie));
		fill_cookie(cookie, (size_t)cookie_len);
		put16(b, EDNS_OPT_COOKIE);
		put16(b, (unsigned)cookie_len);
		put_raw(b, cookie, (size_t)cookie_len);
	}
	if (ede >= 0) {
		put16(b, EDNS_OPT_EDE);
		put16(b, 2);
		put16(b, (unsigned)ede);
	}
}

static inline size_t text_to_wire(const char *text, uint8_t *out)
{
	struct buf b = {.n = 0};
	put_name(&b, text);
	memcpy(out, b.b, b.n);
	return b.n;
}

/* Parse a client query built from the arguments; it must be WIRE_OK. */
static inline void client_query(struct query *q, uint16_t id, uint16_t flags, const char *qname, uint16_t qtype,
                                bool edns, uint16_t udp, bool do_bit, int cookie_len)
{
	struct buf b = {.n = 0};
	put_header(&b, id, flags, 1, 0, 0, edns ? 1 : 0);
	put_name(&b, qname);
	put16(&b, qtype);
	put16(&b, DNS_C_IN);
	if (edns)
		put_opt(&b, false, udp, 0, 0, do_bit, cookie_len, -1);
	memset(q, 0xa5, sizeof(*q));
	assert_int_equal(wire_parse_query(b.b, b.n, q), WIRE_OK);
}

/* ---------- messages rendered by ldns ---------- */

struct sections {
	const char *an[64];
	const char *ns[8];
	const char *ar[8];
};

static inline void push_rrs(ldns_pkt *p, ldns_pkt_section s, const char *const *list, size_t max)
{
	for (size_t i = 0; i < max && list[i]; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, list[i], 0, NULL, NULL), LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, s, rr));
	}
}

/* A response to "qname IN qtype" with the given header flags and rcode, rendered (and so
 * compressed) by ldns. */
static inline size_t ldns_msg(const char *qname, const char *qtype, uint16_t flags, uint8_t rcode,
                              const struct sections *s, uint8_t *out, size_t cap)
{
	char qtext[512];
	ldns_rr *qrr = NULL;
	uint8_t *wire = NULL;
	size_t size = 0;
	ldns_pkt *p = ldns_pkt_new();
	assert_non_null(p);
	ldns_pkt_set_id(p, 0x4242);
	ldns_pkt_set_qr(p, flags & F_QR);
	ldns_pkt_set_aa(p, flags & F_AA);
	ldns_pkt_set_tc(p, flags & F_TC);
	ldns_pkt_set_rd(p, flags & F_RD);
	ldns_pkt_set_ra(p, flags & F_RA);
	ldns_pkt_set_ad(p, flags & F_AD);
	ldns_pkt_set_cd(p, flags & F_CD);
	ldns_pkt_set_rcode(p, rcode);
	snprintf(qtext, sizeof(qtext), "%s IN %s", qname, qtype);
	assert_int_equal(ldns_rr_new_question_frm_str(&qrr, qtext, NULL, NULL), LDNS_STATUS_OK);
	assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr));
	if (s) {
		push_rrs(p, LDNS_SECTION_ANSWER, s->an, 64);
		push_rrs(p, LDNS_SECTION_AUTHORITY, s->ns, 8);
		push_rrs(p, LDNS_SECTION_ADDITIONAL, s->ar, 8);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &size), LDNS_STATUS_OK);
	assert_true(size <= cap);
	memcpy(out, wire, size);
	free(wire);
	ldns_pkt_free(p);
	return size;
}

/* Append an OPT record (EDE info code when ede >= 0) and count it in ARCOUNT. */
static inline size_t append_opt(uint8_t *msg, size_t len, int ede)
{
	struct buf b = {.n = 0};
	put_opt(&b, false, 1232, 0, 0, true, -1, ede);
	memcpy(msg + len, b.b, b.n);
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return len + b.n;
}

/* Append "www.example.com. 300 IN A 192.0.2.9" with the owner compressed to the question. */
static inline size_t append_a(uint8_t *msg, size_t len)
{
	struct buf b = {.n = 0};
	put16(&b, 0xc00c);
	put16(&b, DNS_T_A);
	put16(&b, DNS_C_IN);
	put32(&b, 300);
	put16(&b, 4);
	put32(&b, 0xc0000209);
	memcpy(msg + len, b.b, b.n);
	wr16(msg + 10, (uint16_t)(rd16(msg + 10) + 1));
	return len + b.n;
}

static _Alignas(struct msg_meta) uint8_t store_buf[DNS_MAX_MSG + 8192];

static inline const struct msg_meta *store_ok(const uint8_t *msg, size_t len, uint32_t max_ttl)
{
	memset(store_buf, 0xee, sizeof(store_buf));
	assert_int_equal(wire_store(msg, len, max_ttl, store_buf, sizeof(store_buf)), 0);
	return (const struct msg_meta *)store_buf;
}

static inline ldns_pkt *parse(const uint8_t *wire, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	return p;
}

/* The n-th record of a packet over answer, authority and additional, in wire order. */
static inline ldns_rr *nth_rr(ldns_pkt *p, size_t n)
{
	ldns_rr_list *l[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)};
	for (int s = 0; s < 3; s++) {
		if (n < ldns_rr_list_rr_count(l[s]))
			return ldns_rr_list_rr(l[s], n);
		n -= ldns_rr_list_rr_count(l[s]);
	}
	return NULL;
}

static inline size_t rr_total(ldns_pkt *p)
{
	return ldns_pkt_ancount(p) + ldns_pkt_nscount(p) + ldns_pkt_arcount(p);
}

static const struct sections positive = {
        .an = {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 120 IN A 192.0.2.1",
               "web.example.com. 450 IN A 192.0.2.2", NULL},
        .ns = {"example.com. 600 IN NS ns1.example.com.", NULL},
        .ar = {"ns1.example.com. 900 IN A 192.0.2.53", NULL},
};
static const uint32_t positive_ttls[] = {300, 120, 450, 600, 900};

#endif
