/* wire.c - DNS wire-format primitives: names, query parsing, stored messages, upstream queries */
#include "dns64d/wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#define MAX_RRS 6000 /* 65535 bytes hold at most ~5957 records of 11 bytes */

long wire_skip_name(const uint8_t *msg, size_t len, size_t off)
{
	for (;;) {
		if (off >= len)
			return -1;
		uint8_t c = msg[off];
		if (c == 0)
			return (long)off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 1 < len ? (long)off + 2 : -1;
		if (c & 0xc0)
			return -1;
		off += 1u + c;
	}
}

int wire_read_name(const uint8_t *msg, size_t len, size_t off, uint8_t *out)
{
	size_t n = 0;
	size_t limit = off; /* a pointer must go strictly backwards from where it is */
	for (;;) {
		if (off >= len)
			return -1;
		uint8_t c = msg[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len)
				return -1;
			size_t target = (size_t)(c & 0x3f) << 8 | msg[off + 1];
			if (target >= limit || target < DNS_HDR)
				return -1;
			limit = target;
			off = target;
			continue;
		}
		if (c & 0xc0)
			return -1;
		if (off + 1 + c > len || n + 1 + c > DNS_MAX_NAME)
			return -1;
		memcpy(out + n, msg + off, 1u + c);
		n += 1u + c;
		if (c == 0)
			return (int)n;
		off += 1u + c;
	}
}

int wire_name_len(const uint8_t *name, size_t max)
{
	size_t n = 0;
	for (;;) {
		if (n >= max)
			return -1;
		uint8_t c = name[n];
		if (c & 0xc0)
			return -1;
		n += 1u + c;
		if (n > DNS_MAX_NAME)
			return -1;
		if (c == 0)
			return (int)n;
	}
}

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

bool wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* Walk the OPT RDATA of a query: the COOKIE option is copied, malformed shapes are FORMERR. */
static enum wire_verdict parse_query_opt(const uint8_t *p, size_t rdlen, struct query *q)
{
	size_t off = 0;
	while (off < rdlen) {
		if (off + 4 > rdlen)
			return WIRE_FORMERR;
		uint16_t code = rd16(p + off), olen = rd16(p + off + 2);
		off += 4;
		if (off + olen > rdlen)
			return WIRE_FORMERR;
		if (code == EDNS_OPT_COOKIE) {
			/* RFC 7873 §5.2.2: 8 bytes client cookie, or 16..40 with a server cookie */
			if (q->cookie_len || !(olen == 8 || (olen >= 16 && olen <= 40)))
				return WIRE_FORMERR;
			memcpy(q->cookie, p + off, olen);
			q->cookie_len = (uint8_t)olen;
		}
		off += olen;
	}
	return WIRE_OK;
}

enum wire_verdict wire_parse_query(const uint8_t *pkt, size_t len, struct query *q)
{
	q->qname_len = 0;
	q->edns = false;
	q->do_bit = false;
	q->cookie_len = 0;
	q->udp_size = 512;
	if (len < DNS_HDR)
		return WIRE_DROP;
	q->id = rd16(pkt);
	q->flags = rd16(pkt + 2);
	if (q->flags & F_QR)
		return WIRE_DROP;
	unsigned opcode = (q->flags >> 11) & 0xf;
	uint16_t qd = rd16(pkt + 4), an = rd16(pkt + 6), ns = rd16(pkt + 8), ar = rd16(pkt + 10);

	size_t off = DNS_HDR;
	if (qd >= 1) {
		int n = wire_name_len(pkt + off, len - off);
		if (n < 0 || off + (size_t)n + 4 > len)
			return opcode ? WIRE_NOTIMP : WIRE_FORMERR;
		memcpy(q->qname, pkt + off, (size_t)n);
		q->qname_len = (uint8_t)n;
		off += (size_t)n;
		q->qtype = rd16(pkt + off);
		q->qclass = rd16(pkt + off + 2);
		off += 4;
	}
	if (opcode != 0)
		return WIRE_NOTIMP;
	if (qd > 1)
		return WIRE_FORMERR;

	unsigned version = 0;
	for (unsigned i = 0; i < (unsigned)an + ns + ar; i++) {
		size_t name_off = off;
		long o = wire_skip_name(pkt, len, off);
		if (o < 0 || (size_t)o + 10 > len)
			return WIRE_FORMERR;
		off = (size_t)o;
		uint16_t type = rd16(pkt + off), rdlen = rd16(pkt + off + 8);
		if (off + 10 + rdlen > len)
			return WIRE_FORMERR;
		if (type == DNS_T_OPT) {
			/* RFC 6891 §6.1.1: one OPT, root owner, additional section only */
			if (q->edns || i < (unsigned)an + ns || pkt[name_off] != 0)
				return WIRE_FORMERR;
			q->edns = true;
			uint16_t size = rd16(pkt + off + 2);
			q->udp_size = size < 512 ? 512 : size;
			version = pkt[off + 5];
			q->do_bit = (pkt[off + 6] & 0x80) != 0;
			enum wire_verdict v = parse_query_opt(pkt + off + 10, rdlen, q);
			if (v != WIRE_OK)
				return v;
		}
		off += 10u + rdlen;
	}
	if (q->edns && version != 0)
		return WIRE_BADVERS;
	return qd == 0 ? WIRE_NOQUESTION : WIRE_OK;
}

/* Bytes of the TTL fields of the records wire_store has walked so far. TTLs are rewritten
 * after validation (capped, aged on every reply), so a name must never be read through them:
 * otherwise a message valid when stored could turn into another, or an invalid, one. */
static _Thread_local uint8_t ttl_map[DNS_MAX_MSG / 8 + 1];

static inline bool in_ttl(size_t off)
{
	return (ttl_map[off >> 3] >> (off & 7)) & 1;
}

static void mark_ttl(size_t off, bool set)
{
	for (size_t i = off; i < off + 4; i++) {
		if (set)
			ttl_map[i >> 3] |= (uint8_t)(1u << (i & 7));
		else
			ttl_map[i >> 3] &= (uint8_t) ~(1u << (i & 7));
	}
}

/* wire_read_name for stored messages: also, what is read after a pointer lies before that
 * pointer (a prior occurrence, RFC 1035 §4.1.4), and no byte read is part of a TTL. */
static int read_stored_name(const uint8_t *msg, size_t len, size_t off)
{
	size_t n = 0;
	size_t limit = off; /* a pointer must go strictly backwards from where it is */
	size_t bound = len; /* bytes read after a jump stay before the pointer */
	for (;;) {
		if (off >= bound || in_ttl(off))
			return -1;
		uint8_t c = msg[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= bound || in_ttl(off + 1))
				return -1;
			size_t target = (size_t)(c & 0x3f) << 8 | msg[off + 1];
			if (target >= limit || target < DNS_HDR)
				return -1;
			bound = off;
			limit = target;
			off = target;
			continue;
		}
		if (c & 0xc0)
			return -1;
		if (off + 1 + c > bound || n + 1 + c > DNS_MAX_NAME)
			return -1;
		for (size_t i = off + 1; i <= off + c; i++)
			if (in_ttl(i))
				return -1;
		n += 1u + c;
		if (c == 0)
			return (int)n;
		off += 1u + c;
	}
}

/* Types whose RDATA names may be compressed: those of RFC 1035 (RFC 3597 §4), and DNAME,
 * which RFC 2672 let servers compress (RFC 6672 §2.5 forbids it only for new senders). */
static bool compressible(uint16_t type)
{
	switch (type) {
	case DNS_T_NS:
	case 3:
	case 4: /* MD MF */
	case DNS_T_CNAME:
	case DNS_T_SOA:
	case 7:
	case 8:
	case 9: /* MB MG MR */
	case DNS_T_PTR:
	case 14:
	case 15: /* MINFO MX */
	case DNS_T_DNAME: return true;
	default: return false;
	}
}

/* Fields that run to the end of RDATA, so may be absent (zero bytes). */
static bool rest_of_rdata(ldns_rdf_type t)
{
	switch (t) {
	case LDNS_RDF_TYPE_APL:
	case LDNS_RDF_TYPE_B64:
	case LDNS_RDF_TYPE_HEX:
	case LDNS_RDF_TYPE_NSEC:
	case LDNS_RDF_TYPE_UNKNOWN:
	case LDNS_RDF_TYPE_SERVICE:
	case LDNS_RDF_TYPE_LOC:
	case LDNS_RDF_TYPE_WKS:
	case LDNS_RDF_TYPE_NSAP:
	case LDNS_RDF_TYPE_ATMA:
	case LDNS_RDF_TYPE_IPSECKEY:
	case LDNS_RDF_TYPE_LONG_STR:
	case LDNS_RDF_TYPE_AMTRELAY:
	case LDNS_RDF_TYPE_SVCPARAMS:
	case LDNS_RDF_TYPE_NONE: return true;
	default: return false;
	}
}

/* Length of the RDATA field of type t at off (RDATA ends at end), as ldns_wire2rdf() reads
 * it; 0 if it does not fit or is not valid. */
static size_t field_len(const uint8_t *msg, ldns_rdf_type t, bool compress, size_t off, size_t end)
{
	size_t n;
	switch (t) {
	case LDNS_RDF_TYPE_DNAME: {
		/* a name ends inside its RDATA, pointers only where RFC 3597 §4 allows them */
		long o;
		if (compress) {
			o = read_stored_name(msg, end, off) > 0 ? wire_skip_name(msg, end, off) : -1;
		} else {
			int l = wire_name_len(msg + off, end - off);
			o = l > 0 ? (long)(off + (size_t)l) : -1;
		}
		return o > 0 ? (size_t)o - off : 0;
	}
	case LDNS_RDF_TYPE_CLASS:
	case LDNS_RDF_TYPE_ALG:
	case LDNS_RDF_TYPE_CERTIFICATE_USAGE:
	case LDNS_RDF_TYPE_SELECTOR:
	case LDNS_RDF_TYPE_MATCHING_TYPE:
	case LDNS_RDF_TYPE_INT8: n = 1; break;
	case LDNS_RDF_TYPE_TYPE:
	case LDNS_RDF_TYPE_INT16:
	case LDNS_RDF_TYPE_CERT_ALG: n = 2; break;
	case LDNS_RDF_TYPE_TIME:
	case LDNS_RDF_TYPE_INT32:
	case LDNS_RDF_TYPE_A:
	case LDNS_RDF_TYPE_PERIOD: n = 4; break;
	case LDNS_RDF_TYPE_TSIGTIME:
	case LDNS_RDF_TYPE_EUI48: n = 6; break;
	case LDNS_RDF_TYPE_ILNP64:
	case LDNS_RDF_TYPE_EUI64: n = 8; break;
	case LDNS_RDF_TYPE_AAAA: n = 16; break;
	case LDNS_RDF_TYPE_STR:
	case LDNS_RDF_TYPE_NSEC3_SALT:
	case LDNS_RDF_TYPE_TAG:
	case LDNS_RDF_TYPE_B32_EXT:
	case LDNS_RDF_TYPE_NSEC3_NEXT_OWNER: n = 1u + msg[off]; break; /* length byte first */
	case LDNS_RDF_TYPE_INT16_DATA:
		if (off + 2 > end)
			return 0;
		n = 2u + rd16(msg + off);
		break;
	case LDNS_RDF_TYPE_HIP:
		if (off + 4 > end)
			return 0;
		n = 4u + msg[off] + rd16(msg + off + 2);
		break;
	default:
		if (!rest_of_rdata(t))
			return 0; /* a field this code does not know: where it ends is unknown */
		n = end - off;
		break;
	}
	return n <= end - off ? n : 0;
}

/* ldns reads a record's RDATA field by field as its type's descriptor says and goes on with
 * the next record where the last field ended, whatever RDLENGTH said (ldns_wire2rdf). So
 * the fields must use up RDATA [off, end) exactly, or a record could hide in another's
 * excess RDATA, seen by ldns (and DNS64, which works on what ldns sees) but not here.
 * Fields missing at the end are allowed only where they may be empty. Types ldns does not
 * know have one field to the end of RDATA: opaque. */
static bool check_rdata(const uint8_t *msg, uint16_t type, size_t off, size_t end)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	size_t max = ldns_rr_descriptor_maximum(d), i = 0;
	bool compress = compressible(type);
	for (; off < end && i < max; i++) {
		size_t n = field_len(msg, ldns_rr_descriptor_field_type(d, i), compress, off, end);
		if (n == 0)
			return false;
		off += n;
	}
	if (off != end)
		return false;
	for (; i < ldns_rr_descriptor_minimum(d) && i < max; i++)
		if (!rest_of_rdata(ldns_rr_descriptor_field_type(d, i)))
			return false;
	return true;
}

/* The first EDE code among the options of an OPT record's RDATA msg[rdata..end) into *ede
 * (left alone when there is none); -EBADMSG when an option overruns the RDATA. */
static int opt_ede(const uint8_t *msg, size_t rdata, size_t end, uint16_t *ede)
{
	for (size_t p = rdata; p + 4 <= end;) {
		uint16_t code = rd16(msg + p), olen = rd16(msg + p + 2);
		if (p + 4 + olen > end)
			return -EBADMSG;
		if (code == EDNS_OPT_EDE && olen >= 2 && *ede == EDE_NONE)
			*ede = rd16(msg + p + 4);
		p += 4u + olen;
	}
	return 0;
}

/* How long a stored message w (its TTLs already capped) may be served: 0 for a truncated
 * one; for a negative answer with an SOA at soa_ttl_off, min(SOA TTL, SOA MINIMUM) (written
 * back as the SOA's TTL) and no longer than its other records; for a positive one its
 * smallest TTL; at most max_ttl. */
static uint32_t stored_ttl(uint8_t *w, uint16_t flags, uint16_t an, uint32_t min_ttl, size_t soa_ttl_off,
                           uint32_t soa_min, uint32_t max_ttl)
{
	unsigned rcode = flags & 0xf;
	uint32_t ttl = 0;
	if (flags & F_TC)
		return 0;
	if (soa_ttl_off && (rcode == DNS_R_NXDOMAIN || rcode == DNS_R_NOERROR)) {
		/* RFC 2308 §5: a negative answer (also NODATA or NXDOMAIN at the end of a CNAME
		 * chain) lives for min(SOA TTL, SOA MINIMUM), and no longer than its other records */
		uint32_t t = rd32(w + soa_ttl_off);
		if (soa_min < t)
			t = soa_min;
		wr32(w + soa_ttl_off, t);
		ttl = min_ttl < t ? min_ttl : t;
	} else if (rcode == DNS_R_NOERROR && an > 0)
		ttl = min_ttl == UINT32_MAX ? 0 : min_ttl;
	return ttl > max_ttl ? max_ttl : ttl;
}

static int store(const uint8_t *msg, size_t len, uint32_t max_ttl, uint8_t *out, size_t outlen, uint16_t *offs,
                 unsigned *n_marked)
{
	if (len < DNS_HDR || len > DNS_MAX_MSG)
		return -EBADMSG;
	uint16_t flags = rd16(msg + 2);
	uint16_t qd = rd16(msg + 4), an = rd16(msg + 6), ns = rd16(msg + 8), ar = rd16(msg + 10);
	if (qd != 1)
		return -EBADMSG;
	int n = wire_name_len(msg + DNS_HDR, len - DNS_HDR);
	if (n < 0 || DNS_HDR + (size_t)n + 4 > len)
		return -EBADMSG;
	size_t off = DNS_HDR + (size_t)n + 4;
	unsigned total = (unsigned)an + ns + ar;
	if (total > MAX_RRS)
		return -EBADMSG;

	unsigned n_ttl = 0;
	size_t cut = 0; /* where the OPT record starts, 0 = none */
	uint16_t ede = EDE_NONE;
	uint32_t min_ttl = UINT32_MAX;
	size_t soa_ttl_off = 0;
	uint32_t soa_min = 0;
	for (unsigned i = 0; i < total; i++) {
		size_t rr_off = off;
		int name_len = read_stored_name(msg, len, off);
		if (name_len < 0)
			return -EBADMSG;
		long o = wire_skip_name(msg, len, off);
		if (o < 0 || (size_t)o + 10 > len)
			return -EBADMSG;
		off = (size_t)o;
		uint16_t type = rd16(msg + off), rdlen = rd16(msg + off + 8);
		size_t rdata = off + 10, end = rdata + rdlen;
		if (end > len)
			return -EBADMSG;
		if (type == DNS_T_OPT) {
			if (i != total - 1 || i < (unsigned)an + ns || name_len != 1)
				return -EBADMSG;
			if (opt_ede(msg, rdata, end, &ede) < 0)
				return -EBADMSG;
			cut = rr_off;
			off = end;
			break;
		}
		offs[n_ttl++] = (uint16_t)(off + 4);
		mark_ttl(off + 4, true);
		*n_marked = n_ttl;
		if (!check_rdata(msg, type, rdata, end))
			return -EBADMSG;
		uint32_t ttl = rd32(msg + off + 4);
		if (ttl & 0x80000000u) /* RFC 2181 §8 */
			ttl = 0;
		if (ttl < min_ttl)
			min_ttl = ttl;
		if (type == DNS_T_SOA && i >= an && i < (unsigned)an + ns && !soa_ttl_off) {
			soa_ttl_off = off + 4;
			soa_min = rd32(msg + end - 4);
		}
		off = end;
	}
	size_t keep = cut ? cut : off;
	struct msg_meta m = {
	        .msg_len = (uint16_t)keep, .n_ttl = (uint16_t)n_ttl, .ede = ede, .rcode = (uint8_t)(flags & 0xf)};
	size_t need = sizeof(m) + n_ttl * 2u + keep;
	if (need > outlen)
		return -ENOBUFS;
	uint8_t *w = out + sizeof(m) + n_ttl * 2u;
	memcpy(w, msg, keep);
	wr16(w, 0);
	if (cut)
		wr16(w + 10, (uint16_t)(ar - 1));
	for (unsigned i = 0; i < n_ttl; i++) {
		uint32_t t = rd32(w + offs[i]);
		if (t & 0x80000000u)
			t = 0;
		wr32(w + offs[i], t > max_ttl ? max_ttl : t);
	}

	m.ttl = stored_ttl(w, flags, an, min_ttl, soa_ttl_off, soa_min, max_ttl);
	memcpy(out, &m, sizeof(m));
	memcpy(out + sizeof(m), offs, n_ttl * 2u);
	return 0;
}

int wire_store(const uint8_t *msg, size_t len, uint32_t max_ttl, uint8_t *out, size_t outlen)
{
	static _Thread_local uint16_t offs[MAX_RRS];
	unsigned n_marked = 0;
	int rc = store(msg, len, max_ttl, out, outlen, offs, &n_marked);
	for (unsigned i = 0; i < n_marked; i++)
		mark_ttl(offs[i], false);
	return rc;
}

size_t wire_build_query(uint16_t id, const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass, bool rd,
                        bool cd, bool do_bit, uint8_t *out)
{
	wr16(out, id);
	wr16(out + 2, (uint16_t)((rd ? F_RD : 0) | (cd ? F_CD : 0)));
	wr16(out + 4, 1);
	wr16(out + 6, 0);
	wr16(out + 8, 0);
	wr16(out + 10, 1);
	memcpy(out + DNS_HDR, qname, qname_len);
	size_t n = DNS_HDR + qname_len;
	wr16(out + n, qtype);
	wr16(out + n + 2, qclass);
	n += 4;
	out[n] = 0;
	wr16(out + n + 1, DNS_T_OPT);
	wr16(out + n + 3, DNS_UDP_MAX);
	out[n + 5] = 0;
	out[n + 6] = 0;
	wr16(out + n + 7, do_bit ? 0x8000 : 0);
	wr16(out + n + 9, 0);
	return n + 11;
}

char *wire_name_to_text(const uint8_t *name, size_t len, char *out)
{
	size_t o = 0, i = 0;
	while (i < len && name[i]) {
		uint8_t l = name[i++];
		for (uint8_t k = 0; k < l && i < len; k++, i++) {
			uint8_t c = name[i];
			if (c == '.' || c == '\\' || c == '\'' || c == '"') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c > 32 && c < 127)
				out[o++] = (char)c;
			else
				o += (size_t)sprintf(out + o, "\\%03u", c);
		}
		out[o++] = '.';
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = 0;
	return out;
}

/* Where msg's OPT RDATA ends and where its RDLEN is: 0, or -1 (no OPT, padding already there,
 * malformed). */
static int find_opt(const uint8_t *msg, size_t len, size_t *rdlen_off, size_t *rdata_end)
{
	unsigned qd = rd16(msg + 4), rrs = rd16(msg + 6) + rd16(msg + 8), ar = rd16(msg + 10);
	size_t off = DNS_HDR;
	bool found = false;
	for (unsigned i = 0; i < qd; i++) {
		long o = wire_skip_name(msg, len, off);
		if (o < 0 || (size_t)o + 4 > len)
			return -1;
		off = (size_t)o + 4;
	}
	for (unsigned i = 0; i < rrs + ar; i++) {
		long o = wire_skip_name(msg, len, off);
		if (o < 0 || (size_t)o + 10 > len)
			return -1;
		off = (size_t)o;
		size_t rdlen = rd16(msg + off + 8), rdata = off + 10;
		if (rdata + rdlen > len)
			return -1;
		if (rd16(msg + off) == DNS_T_OPT && i >= rrs) {
			if (found)
				return -1;
			for (size_t p = rdata; p + 4 <= rdata + rdlen; p += 4 + rd16(msg + p + 2))
				if (rd16(msg + p) == EDNS_OPT_PAD)
					return -1;
			found = true;
			*rdlen_off = off + 8;
			*rdata_end = rdata + rdlen;
		}
		off = rdata + rdlen;
	}
	return found && off == len ? 0 : -1;
}

size_t wire_pad_query(const uint8_t *msg, size_t len, size_t block, uint8_t *out, size_t out_cap)
{
	size_t rdlen_off = 0, end = 0;
	if (len < DNS_HDR || !block || find_opt(msg, len, &rdlen_off, &end) < 0)
		return 0;
	size_t pad = (block - (len + 4) % block) % block;
	size_t total = len + 4 + pad, rdlen = rd16(msg + rdlen_off) + 4 + pad;
	if (total > out_cap || total > DNS_MAX_MSG || rdlen > 0xffff)
		return 0;
	memcpy(out, msg, end);
	wr16(out + end, EDNS_OPT_PAD);
	wr16(out + end + 2, (uint16_t)pad);
	memset(out + end + 4, 0, pad);
	memcpy(out + end + 4 + pad, msg + end, len - end);
	wr16(out + rdlen_off, (uint16_t)rdlen);
	return total;
}
