/* dns64_wire.c - RFC 6147 synthesis on stored wire messages: no ldns packets, no allocation */
#include "dns64d/dns64.h"

#include <errno.h>
#include <string.h>

#include "dns64d/wire.h"

#define NAME_MAP_MAX 128 /* label starts of the source remembered for compression */
#define PTR_MAX      0x3fff

/* One record of a stored message: where its parts are. */
struct rr_at {
	size_t owner; /* offset of the owner name */
	uint16_t type, class;
	uint32_t ttl; /* as stored, before ageing */
	size_t rdata; /* offset of RDATA */
	uint16_t rdlen;
};

/* A stored message being read: its wire and where the records start. */
struct msg_view {
	const uint8_t *w;
	size_t len;
	size_t qend; /* end of the question name */
	size_t rrs;  /* offset of the first record */
	uint16_t an, ns, ar;
};

static int view(const struct msg_meta *m, struct msg_view *v)
{
	v->w = msg_wire(m);
	v->len = m->msg_len;
	if (v->len < DNS_HDR || rd16(v->w + 4) != 1)
		return -EBADMSG;
	int n = wire_name_len(v->w + DNS_HDR, v->len - DNS_HDR);
	if (n < 0 || DNS_HDR + (size_t)n + 4 > v->len)
		return -EBADMSG;
	v->qend = DNS_HDR + (size_t)n;
	v->rrs = v->qend + 4;
	v->an = rd16(v->w + 6);
	v->ns = rd16(v->w + 8);
	v->ar = rd16(v->w + 10);
	return 0;
}

/* The record at *off; *off moves past it. -EBADMSG if it does not fit (wire_store checked
 * every stored message, so this is only the bounds kept honest). */
static int next_rr(const struct msg_view *v, size_t *off, struct rr_at *rr)
{
	long o = wire_skip_name(v->w, v->len, *off);
	if (o < 0 || (size_t)o + 10 > v->len)
		return -EBADMSG;
	rr->owner = *off;
	rr->type = rd16(v->w + o);
	rr->class = rd16(v->w + o + 2);
	rr->ttl = rd32(v->w + o + 4);
	rr->rdlen = rd16(v->w + o + 8);
	rr->rdata = (size_t)o + 10;
	if (rr->rdata + rr->rdlen > v->len)
		return -EBADMSG;
	*off = rr->rdata + rr->rdlen;
	return 0;
}

static uint32_t aged(uint32_t ttl, uint32_t elapsed_s)
{
	return ttl > elapsed_s ? ttl - elapsed_s : 0;
}

static bool covers(const struct msg_view *v, const struct rr_at *rr, uint16_t type)
{
	return rr->type == DNS_T_RRSIG && rr->rdlen >= 2 && rd16(v->w + rr->rdata) == type;
}

void dns64_wire_aaaa_facts(const struct synth_prefix *set, size_t n_set, const struct msg_meta *m,
                           uint32_t elapsed_s, struct dns64_wire_facts *f)
{
	struct msg_view v;
	*f = (struct dns64_wire_facts){0};
	if (!m || view(m, &v) < 0)
		return;
	size_t off = v.rrs;
	struct rr_at rr;
	for (unsigned i = 0; i < (unsigned)v.an + v.ns && next_rr(&v, &off, &rr) == 0; i++) {
		if (i < v.an) {
			if (rr.type != DNS_T_AAAA || rr.class != DNS_C_IN || rr.rdlen != 16)
				continue;
			f->n_aaaa++;
			if (dns64_ipv6_excluded(set, n_set, v.w + rr.rdata))
				f->n_excluded++;
		} else if (rr.type == DNS_T_SOA && rr.rdlen >= 22 && !f->have_soa) {
			/* §5.1.7: the negative answer's SOA bounds the synthesized TTL */
			uint32_t ttl = aged(rr.ttl, elapsed_s), minimum = rd32(v.w + rr.rdata + rr.rdlen - 4);
			f->have_soa = true;
			f->soa_bound = ttl < minimum ? ttl : minimum;
		}
	}
}

bool dns64_wire_keep_signed(bool break_dnssec, bool do_bit, const struct msg_meta *a)
{
	struct msg_view v;
	if (break_dnssec || !do_bit || !a || view(a, &v) < 0)
		return false;
	size_t off = v.rrs;
	struct rr_at rr;
	for (unsigned i = 0; i < v.an && next_rr(&v, &off, &rr) == 0; i++)
		if (covers(&v, &rr, DNS_T_A))
			return true;
	return false;
}

/* ---- writing the synthesized message ------------------------------------------------------ */

/* The message being written, and which source label starts it holds a copy of (pointers to
 * them are rewritten to the copy; pointers to anything else are expanded). */
struct writer {
	const struct msg_view *src;
	uint8_t *out;
	size_t len, cap;
	unsigned n_map;
	struct {
		uint16_t from, to;
	} map[NAME_MAP_MAX];
};

static int put(struct writer *o, const void *p, size_t n)
{
	if (n > o->cap - o->len)
		return -ENOBUFS;
	memcpy(o->out + o->len, p, n);
	o->len += n;
	return 0;
}

static int put16(struct writer *o, uint16_t v)
{
	uint8_t b[2];
	wr16(b, v);
	return put(o, b, 2);
}

static int put32(struct writer *o, uint32_t v)
{
	uint8_t b[4];
	wr32(b, v);
	return put(o, b, 4);
}

static void remember(struct writer *o, size_t from, size_t to)
{
	if (o->n_map < NAME_MAP_MAX && to <= PTR_MAX) {
		o->map[o->n_map].from = (uint16_t)from;
		o->map[o->n_map].to = (uint16_t)to;
		o->n_map++;
	}
}

static long mapped(const struct writer *o, size_t from)
{
	for (unsigned i = 0; i < o->n_map; i++)
		if (o->map[i].from == from)
			return o->map[i].to;
	return -1;
}

/* Copy the name at source offset off: literal labels as they are, a pointer to a label we
 * hold a copy of as a pointer to that copy, any other pointer followed. The name written
 * means what the source's meant; pointers in the output only go backwards. */
static int put_name(struct writer *o, size_t off)
{
	const struct msg_view *s = o->src;
	size_t written = 0;
	for (unsigned jumps = 0; off < s->len;) {
		uint8_t c = s->w[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= s->len || ++jumps > DNS_MAX_NAME)
				return -EBADMSG;
			size_t target = (size_t)(c & 0x3f) << 8 | s->w[off + 1];
			long to = mapped(o, target);
			if (to >= 0)
				return put16(o, (uint16_t)(0xc000 | to));
			if (target >= off)
				return -EBADMSG; /* only backwards: no loops */
			off = target;
			continue;
		}
		if (c & 0xc0 || off + 1u + c > s->len || (written += 1u + c) > DNS_MAX_NAME)
			return -EBADMSG;
		if (c == 0)
			return put(o, s->w + off, 1);
		long to = mapped(o, off);
		if (to >= 0)
			return put16(o, (uint16_t)(0xc000 | to));
		remember(o, off, o->len);
		if (put(o, s->w + off, 1u + c) < 0)
			return -ENOBUFS;
		off += 1u + c;
	}
	return -EBADMSG;
}

/* RDATA layout of the types whose names may be compressed (the RFC 1035 ones and DNAME, as
 * wire_store allows): fixed bytes before the names, how many names, fixed bytes after. */
static bool name_layout(uint16_t type, unsigned *before, unsigned *names)
{
	*before = 0;
	*names = 1;
	switch (type) {
	case DNS_T_NS:
	case 3:
	case 4: /* MD MF */
	case DNS_T_CNAME:
	case 7:
	case 8:
	case 9: /* MB MG MR */
	case DNS_T_PTR:
	case DNS_T_DNAME: return true;
	case DNS_T_SOA:
	case 14: /* MINFO */ *names = 2; return true;
	case 15: /* MX */ *before = 2; return true;
	default: return false;
	}
}

static int put_rdata(struct writer *o, const struct rr_at *rr)
{
	const struct msg_view *s = o->src;
	unsigned before, names;
	if (!name_layout(rr->type, &before, &names))
		return put(o, s->w + rr->rdata, rr->rdlen);
	size_t off = rr->rdata, end = rr->rdata + rr->rdlen;
	if (before > rr->rdlen || put(o, s->w + off, before) < 0)
		return -ENOBUFS;
	off += before;
	for (unsigned i = 0; i < names; i++) {
		long next = wire_skip_name(s->w, end, off);
		if (next < 0)
			return -EBADMSG;
		int rc = put_name(o, off);
		if (rc < 0)
			return rc;
		off = (size_t)next;
	}
	return put(o, s->w + off, end - off); /* SOA's five numbers; nothing for the others */
}

/* A record as it is, its TTL aged and its names rewritten. */
static int put_copy(struct writer *o, const struct rr_at *rr, uint32_t elapsed_s)
{
	int rc;
	if ((rc = put_name(o, rr->owner)) < 0 || (rc = put16(o, rr->type)) < 0 || (rc = put16(o, rr->class)) < 0 ||
	    (rc = put32(o, aged(rr->ttl, elapsed_s))) < 0 || (rc = put16(o, 0)) < 0)
		return rc;
	size_t rdlen_at = o->len - 2;
	if ((rc = put_rdata(o, rr)) < 0)
		return rc;
	wr16(o->out + rdlen_at, (uint16_t)(o->len - rdlen_at - 2));
	return 0;
}

static int put_aaaa(struct writer *o, const struct rr_at *a, uint32_t ttl, const struct nat64_prefix *p)
{
	uint8_t v6[16];
	int rc;
	dns64_embed(p, o->src->w + a->rdata, v6);
	if ((rc = put_name(o, a->owner)) < 0 || (rc = put16(o, DNS_T_AAAA)) < 0 || (rc = put16(o, DNS_C_IN)) < 0 ||
	    (rc = put32(o, ttl)) < 0 || (rc = put16(o, 16)) < 0)
		return rc;
	return put(o, v6, 16);
}

/* §5.1.4-5.1.6: of the A answer's other records, only the CNAME/DNAME chain that leads to
 * the A records belongs in the AAAA answer (with its signatures, still valid). */
static bool in_chain(const struct msg_view *v, const struct rr_at *rr)
{
	return rr->type == DNS_T_CNAME || rr->type == DNS_T_DNAME || covers(v, rr, DNS_T_CNAME) ||
	       covers(v, rr, DNS_T_DNAME);
}

struct synth_state {
	const struct synth_prefix *set;
	size_t n_set;
	const struct dns64_wire_facts *aaaa;
	uint32_t elapsed_s;
	unsigned made, used, n_a;
};

/* One record of the A answer section: A records become one AAAA per prefix of the set that
 * may synthesize them, the chain is copied, the rest (RRSIGs over A included, §5.5) goes.
 * Returns the number of records written, or an error. */
static int synth_rr(struct writer *o, struct synth_state *st, const struct rr_at *rr)
{
	if (rr->type == DNS_T_A) {
		st->n_a++;
		if (rr->class != DNS_C_IN || rr->rdlen != 4)
			return 0;
		uint32_t ttl = dns64_ttl(aged(rr->ttl, st->elapsed_s), st->aaaa->have_soa, st->aaaa->soa_bound);
		int n = 0;
		for (size_t k = 0; k < st->n_set; k++) {
			if (!dns64_ipv4_may_synth(&st->set[k], o->src->w + rr->rdata))
				continue;
			int rc = put_aaaa(o, rr, ttl, &st->set[k].p);
			if (rc < 0)
				return rc;
			st->made++;
			st->used |= 1u << k;
			n++;
		}
		return n;
	}
	if (!in_chain(o->src, rr))
		return 0;
	int rc = put_copy(o, rr, st->elapsed_s);
	return rc < 0 ? rc : 1;
}

/* Question as in a, qtype AAAA; the question name's label starts are where pointers may go. */
static int put_question(struct writer *o)
{
	const struct msg_view *s = o->src;
	for (size_t off = DNS_HDR; off < s->qend && s->w[off]; off += 1u + s->w[off])
		remember(o, off, off);
	if (put(o, s->w + DNS_HDR, s->qend - DNS_HDR) < 0 || put16(o, DNS_T_AAAA) < 0)
		return -ENOBUFS;
	return put(o, s->w + s->qend + 2, 2);
}

int dns64_synthesize_wire(const struct synth_prefix *set, size_t n_set, const struct dns64_wire_facts *aaaa,
                          const struct msg_meta *a, uint32_t elapsed_s, uint8_t *out, size_t cap, size_t *out_len,
                          unsigned *n_synth, unsigned *used, enum dns64_reason *why)
{
	static const struct dns64_wire_facts none = {0};
	struct msg_view v;
	struct writer o = {.src = &v, .out = out, .cap = cap < DNS_MAX_MSG ? cap : DNS_MAX_MSG};
	struct synth_state st = {set, n_set, aaaa ? aaaa : &none, elapsed_s, 0, 0, 0};
	*n_synth = 0;
	if (used)
		*used = 0;
	if (why)
		*why = DNS64_REASON_NO_A;
	if (!a || a->rcode != DNS_R_NOERROR)
		return -ENOENT;
	if (view(a, &v) < 0)
		return -EBADMSG;
	uint8_t hdr[DNS_HDR] = {0};
	/* RD, RA and CD as the A answer had them; QR; not AA, TC or AD (§5.5); NOERROR */
	wr16(hdr + 2, (uint16_t)(F_QR | (rd16(v.w + 2) & (F_RD | F_RA | F_CD))));
	wr16(hdr + 4, 1);
	int rc = put(&o, hdr, sizeof(hdr));
	if (rc == 0)
		rc = put_question(&o);
	size_t off = v.rrs;
	unsigned counts[3] = {0, 0, 0}, in[3] = {v.an, v.ns, v.ar};
	struct rr_at rr;
	for (unsigned sec = 0; rc == 0 && sec < 3; sec++)
		for (unsigned i = 0; rc == 0 && i < in[sec]; i++) {
			if ((rc = next_rr(&v, &off, &rr)) < 0)
				break;
			int n = sec == 0 ? synth_rr(&o, &st, &rr) : put_copy(&o, &rr, elapsed_s);
			if (sec > 0 && n == 0)
				n = 1;
			if (n < 0)
				rc = n;
			else
				counts[sec] += (unsigned)n;
		}
	if (rc < 0)
		return rc;
	if (st.made == 0) {
		if (why && st.n_a)
			*why = DNS64_REASON_NON_GLOBAL;
		return -ENOENT;
	}
	if (counts[0] > 0xffff)
		return -ENOBUFS;
	wr16(out + 6, (uint16_t)counts[0]);
	wr16(out + 8, (uint16_t)counts[1]);
	wr16(out + 10, (uint16_t)counts[2]);
	*out_len = o.len;
	*n_synth = st.made;
	if (used)
		*used = st.used;
	if (why)
		*why = DNS64_REASON_NONE;
	return 0;
}
