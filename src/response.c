/* response.c - the reply to the client: question copy, flags, EDNS and options, size limit, TC */
#include "dns64d/response.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t opt_size(const struct reply_opts *o)
{
	size_t n = 11;
	if (o && o->cookie_len)
		n += 4u + o->cookie_len;
	if (o && o->ede != EDE_NONE)
		n += 6;
	if (o && o->ede2)
		n += 6;
	return n;
}

static size_t put_opt(uint8_t *p, const struct query *q, const struct reply_opts *o, unsigned ext_rcode)
{
	p[0] = 0;
	wr16(p + 1, DNS_T_OPT);
	wr16(p + 3, DNS_UDP_MAX);
	p[5] = (uint8_t)ext_rcode;
	p[6] = 0;
	wr16(p + 7, q->do_bit ? 0x8000 : 0);
	size_t n = 11;
	if (o && o->cookie_len) {
		wr16(p + n, EDNS_OPT_COOKIE);
		wr16(p + n + 2, o->cookie_len);
		memcpy(p + n + 4, o->cookie, o->cookie_len);
		n += 4u + o->cookie_len;
	}
	if (o && o->ede != EDE_NONE) {
		wr16(p + n, EDNS_OPT_EDE);
		wr16(p + n + 2, 2);
		wr16(p + n + 4, o->ede);
		n += 6;
	}
	if (o && o->ede2) {
		wr16(p + n, EDNS_OPT_EDE);
		wr16(p + n + 2, 2);
		wr16(p + n + 4, o->ede2);
		n += 6;
	}
	wr16(p + 9, (uint16_t)(n - 11));
	return n;
}

static unsigned opcode(const struct query *q)
{
	return (q->flags >> 11) & 0xf;
}

/* The flags a reply takes from its query: RD (RFC 1035 §4.1.1), the opcode, and for QUERY
 * also RA (we offer recursion) and CD. RA, AD and CD are only defined for QUERY (RFC 1035,
 * RFC 4035 §3.1.6, §3.2.2), so other opcodes (NOTIMP replies) get them clear. */
static uint16_t echoed_flags(const struct query *q)
{
	if (opcode(q) != 0)
		return (uint16_t)(q->flags & (F_RD | 0x7800));
	return (uint16_t)(F_RA | (q->flags & (F_RD | F_CD)));
}

/* Over a stream the length prefix is the only limit (RFC 7766 §8). */
static bool is_stream(size_t limit)
{
	return limit >= DNS_MAX_MSG;
}

size_t response_rcode(const struct query *q, unsigned rcode, bool with_question, const struct reply_opts *o,
                      uint8_t *out, size_t limit)
{
	if (limit > DNS_MAX_MSG)
		limit = DNS_MAX_MSG;
	size_t qlen = with_question && q->qname_len ? query_question_len(q) : 0;
	wr16(out, q->id);
	wr16(out + 2, (uint16_t)(F_QR | echoed_flags(q) | (rcode & 0xf)));
	wr16(out + 4, qlen ? 1 : 0);
	wr16(out + 6, 0);
	wr16(out + 8, 0);
	wr16(out + 10, q->edns ? 1 : 0);
	size_t n = DNS_HDR;
	if (qlen) {
		memcpy(out + n, q->qname, q->qname_len);
		n += q->qname_len;
		wr16(out + n, q->qtype);
		wr16(out + n + 2, q->qclass);
		n += 4;
	}
	if (q->edns && n + opt_size(o) <= limit)
		n += put_opt(out + n, q, o, rcode >> 4);
	else if (q->edns)
		wr16(out + 10, 0);
	return n;
}

/* Where the additional section of a stored message starts; msg_len if it cannot be found. */
static size_t additional_start(const struct msg_meta *m)
{
	const uint8_t *w = msg_wire(m);
	unsigned n = (unsigned)rd16(w + 6) + rd16(w + 8);
	long off = wire_skip_name(w, m->msg_len, DNS_HDR);
	if (off < 0)
		return m->msg_len;
	off += 4;
	for (unsigned i = 0; i < n; i++) {
		off = wire_skip_name(w, m->msg_len, (size_t)off);
		if (off < 0 || (size_t)off + 10 > m->msg_len)
			return m->msg_len;
		off += 10 + rd16(w + off + 8);
	}
	return (size_t)off <= m->msg_len ? (size_t)off : m->msg_len;
}

size_t response_stored(const struct query *q, const struct msg_meta *m, uint32_t elapsed_s, const struct reply_opts *o,
                       uint8_t *out, size_t limit)
{
	if (limit > DNS_MAX_MSG)
		limit = DNS_MAX_MSG;
	const uint8_t *w = msg_wire(m);
	size_t body = DNS_HDR + query_question_len(q);
	size_t optlen = q->edns ? opt_size(o) : 0;
	if (m->msg_len < body || w[DNS_HDR + q->qname_len - 1] != 0 ||
	    wire_name_len(w + DNS_HDR, q->qname_len) != q->qname_len)
		return response_rcode(q, DNS_R_SERVFAIL, true, o, out, limit);
	size_t keep = m->msg_len;
	uint16_t arcount = rd16(w + 10);
	struct reply_opts fewer;
	if (keep + optlen > limit && !is_stream(limit)) {
		size_t n = response_rcode(q, m->rcode | (o ? (unsigned)o->ext_rcode << 4 : 0), true, o, out, limit);
		out[2] |= F_TC >> 8;
		return n;
	}
	if (keep + optlen > limit && o && (o->ede != EDE_NONE || o->ede2)) {
		/* TC means nothing over a stream: what is optional goes, the EDE option first */
		fewer = *o;
		fewer.ede = EDE_NONE;
		fewer.ede2 = 0;
		o = &fewer;
		optlen = opt_size(o);
	}
	if (keep + optlen > limit) {
		/* then the additional section; pointers only go backwards, so the rest stays valid */
		keep = additional_start(m);
		arcount = 0;
	}
	if (keep + optlen > limit)
		return response_rcode(q, DNS_R_SERVFAIL, true, o, out, limit);
	memcpy(out, w, keep);
	wr16(out, q->id);
	uint16_t flags = rd16(w + 2);
	/* a forwarder's answers are not authoritative, and we offer recursion whatever the
	 * upstream said about itself */
	flags &= (uint16_t) ~(F_AA | F_RD | F_RA | F_CD | F_TC);
	flags |= (uint16_t)(F_QR | echoed_flags(q));
	if (o && o->aa)
		flags |= F_AA;
	if ((!q->do_bit && !(q->flags & F_AD)) || opcode(q) != 0)
		flags &= (uint16_t)~F_AD;
	wr16(out + 2, flags);
	wr16(out + 10, arcount);
	memcpy(out + DNS_HDR, q->qname, q->qname_len);
	if (elapsed_s) {
		const uint16_t *offs = msg_ttl_offsets(m);
		for (unsigned i = 0; i < m->n_ttl && offs[i] < keep; i++) {
			uint32_t t = rd32(out + offs[i]);
			wr32(out + offs[i], t > elapsed_s ? t - elapsed_s : 0);
		}
	}
	size_t n = keep;
	if (q->edns) {
		n += put_opt(out + n, q, o, o ? o->ext_rcode : 0);
		wr16(out + 10, (uint16_t)(arcount + 1));
	}
	return n;
}

int response_render(ldns_pkt *p, bool synthesized, uint32_t max_ttl, uint8_t *out, size_t outlen)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	/* the reply gets its own OPT: none goes into the stored message */
	ldns_pkt_set_edns_udp_size(p, 0);
	ldns_pkt_set_edns_do(p, false);
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		return -ENOMEM;
	int rc = wire_store(wire, len, max_ttl, out, outlen);
	free(wire);
	if (rc < 0)
		return rc;
	((struct msg_meta *)out)->synthesized = synthesized;
	return 0;
}

ldns_pkt *response_to_ldns(const struct msg_meta *m, uint32_t elapsed_s)
{
	/* ldns_wire2pkt copies what it needs: the buffer is free again on return */
	static _Thread_local uint8_t buf[DNS_MAX_MSG];
	memcpy(buf, msg_wire(m), m->msg_len);
	const uint16_t *offs = msg_ttl_offsets(m);
	for (unsigned i = 0; elapsed_s && i < m->n_ttl; i++) {
		uint32_t t = rd32(buf + offs[i]);
		wr32(buf + offs[i], t > elapsed_s ? t - elapsed_s : 0);
	}
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, buf, m->msg_len) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

static ldns_rr *new_rr(const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl, ldns_rdf *rd)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *o = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, owner_len, owner);
	if (!rr || !o) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(o);
		ldns_rdf_deep_free(rd);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, ttl);
	if (rd)
		ldns_rr_push_rdf(rr, rd);
	return rr;
}

int response_ptr_cname(const uint8_t *qname, size_t qname_len, const uint8_t *target, size_t target_len,
                       const struct msg_meta *m, uint32_t elapsed_s, ldns_pkt **out)
{
	ldns_pkt *t = response_to_ldns(m, elapsed_s);
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = new_rr(qname, qname_len, LDNS_RR_TYPE_PTR, 0, NULL);
	/* the CNAME lives as long as what it points to */
	ldns_rr *cname = new_rr(qname, qname_len, LDNS_RR_TYPE_CNAME, m->ttl > elapsed_s ? m->ttl - elapsed_s : 0,
	                        ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, target_len, target));
	if (!t || !p || !q || !cname) {
		ldns_pkt_free(t);
		ldns_pkt_free(p);
		ldns_rr_free(q);
		ldns_rr_free(cname);
		return -ENOMEM;
	}
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, cname);
	ldns_rr_list *an = ldns_pkt_answer(t), *ns = ldns_pkt_authority(t);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, ldns_rr_clone(ldns_rr_list_rr(an, i)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, ldns_rr_clone(ldns_rr_list_rr(ns, i)));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, ldns_pkt_get_rcode(t));
	ldns_pkt_free(t);
	*out = p;
	return 0;
}
