/* wire.h - DNS wire-format primitives for the hot path: names, query parsing, stored messages
 *
 * Answers are kept as "stored messages": the upstream (or synthesized) message in wire form
 * with its OPT record removed, preceded by a small header (struct msg_meta) that records the
 * offset of every TTL field, so serving from cache is a memcpy plus TTL patching, with no
 * parsing and no allocation. The question section of a stored message always has the same
 * length as the client's, so compression pointers stay valid when the client's question
 * (with the client's case) is copied over it.
 */
#ifndef DNS64D_WIRE_H
#define DNS64D_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR      12
#define DNS_MAX_NAME 255
#define DNS_MAX_MSG  65535
#define DNS_UDP_MAX  1232 /* our advertised and maximum UDP payload (DNS flag day 2020) */

#define DNS_T_A     1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_SOA   6
#define DNS_T_PTR   12
#define DNS_T_AAAA  28
#define DNS_T_DNAME 39
#define DNS_T_OPT   41
#define DNS_T_RRSIG 46
#define DNS_C_IN    1

#define DNS_R_NOERROR   0
#define DNS_R_FORMERR   1
#define DNS_R_SERVFAIL  2
#define DNS_R_NXDOMAIN  3
#define DNS_R_NOTIMP    4
#define DNS_R_REFUSED   5
#define DNS_R_BADVERS   16
#define DNS_R_BADCOOKIE 23

#define EDNS_OPT_COOKIE 10
#define EDNS_OPT_EDE    15
#define EDNS_OPT_PAD    12 /* RFC 7830 */
#define EDE_NONE        0xffff
#define EDE_SYNTHESIZED 29

/* Flag bits in the second 16-bit word of the header. */
#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define F_AD 0x0020
#define F_CD 0x0010

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* What the daemon keeps of a client query: copies, never pointers into the receive buffer. */
struct query {
	uint16_t id;
	uint16_t flags;              /* as received */
	uint8_t qname[DNS_MAX_NAME]; /* uncompressed wire, client's case */
	uint8_t qname_len;
	uint16_t qtype, qclass;
	bool edns;
	uint16_t udp_size; /* client's EDNS payload size (>= 512), 512 without EDNS */
	bool do_bit;
	uint8_t cookie[40]; /* client cookie (8) + server cookie (0 or 8..32) */
	uint8_t cookie_len; /* 0 = no COOKIE option */
};

enum wire_verdict {
	WIRE_OK = 0,
	WIRE_DROP, /* not worth an answer: too short, QR=1 */
	WIRE_FORMERR,
	WIRE_NOTIMP,
	WIRE_BADVERS,
	WIRE_NOQUESTION, /* QDCOUNT 0: FORMERR, or a cookie-only query (RFC 7873 §5.4) */
};

/* Parse a client query (RFC 1035, RFC 6891, RFC 7873 option shape). Pure. */
enum wire_verdict wire_parse_query(const uint8_t *pkt, size_t len, struct query *q);

/* Length of the question section (name + type + class). */
static inline size_t query_question_len(const struct query *q)
{
	return (size_t)q->qname_len + 4;
}

/* Header of a stored message. Followed in memory by n_ttl uint16_t TTL offsets and then
 * msg_len bytes of message (header with id 0, question, sections without OPT). */
struct msg_meta {
	uint32_t ttl; /* how long it may be cached (s): min TTL, or negative TTL; 0 = don't */
	uint16_t msg_len;
	uint16_t n_ttl;
	uint16_t ede; /* Extended DNS Error info code from upstream, or EDE_NONE */
	uint8_t synthesized;
	uint8_t rcode;
};

static inline const uint16_t *msg_ttl_offsets(const struct msg_meta *m)
{
	return (const uint16_t *)(m + 1);
}
static inline const uint8_t *msg_wire(const struct msg_meta *m)
{
	return (const uint8_t *)(msg_ttl_offsets(m) + m->n_ttl);
}
static inline size_t msg_stored_size(const struct msg_meta *m)
{
	return sizeof(*m) + (size_t)m->n_ttl * 2 + m->msg_len;
}

/* Turn a DNS message (from upstream, or rendered by ldns) into a stored message in out
 * (outlen bytes; DNS_MAX_MSG + 8192 is always enough). Validates the whole structure: names
 * in bounds with backward compression pointers only, record lengths, counts; every record's
 * RDATA used up exactly by its type's fields as ldns reads them (ldns_rr_descript(); types
 * ldns does not know are opaque), names in RDATA compressed only for the RFC 1035 types and
 * DNAME, so ldns (and DNS64, which works on what ldns sees) sees the records checked here
 * and no other. A message that fails is -EBADMSG: malformed, never cached. Removes the OPT
 * record (which must be the last record) and keeps its EDE code; caps TTLs at max_ttl;
 * for negative answers (NXDOMAIN, or NOERROR without answer records) sets the SOA TTL to
 * min(SOA TTL, SOA MINIMUM) (RFC 2308) and uses it as the cache TTL.
 * SERVFAIL and other errors get ttl 0. Returns 0 or -EBADMSG / -ENOBUFS. */
int wire_store(const uint8_t *msg, size_t len, uint32_t max_ttl, uint8_t *out, size_t outlen);

/* Skip a possibly compressed name at off; returns the offset after it or -1. */
long wire_skip_name(const uint8_t *msg, size_t len, size_t off);

/* Expand the (possibly compressed) name at off into out[DNS_MAX_NAME]; returns its length or
 * -1. Loops and forward pointers are rejected. */
int wire_read_name(const uint8_t *msg, size_t len, size_t off, uint8_t *out);

/* Case-insensitive comparison of two uncompressed wire names of the given lengths. */
bool wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Validate an uncompressed name; returns its length or -1. */
int wire_name_len(const uint8_t *name, size_t max);

/* Presentation form of an uncompressed wire name ("www.example.") into out[1024]. */
char *wire_name_to_text(const uint8_t *name, size_t len, char *out);

/* Build an upstream query: random id given, RD/CD as given, EDNS0 with 1232 and DO as given.
 * Returns the length (out must hold DNS_MAX_NAME + 32 bytes). */
size_t wire_build_query(uint16_t id, const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass, bool rd,
                        bool cd, bool do_bit, uint8_t *out);

/* RFC 7830 padding: msg copied into out with a Padding option appended to its OPT record, so
 * that the length is a multiple of block (RFC 8467: 128 for queries). Returns the new length,
 * or 0 when msg has no OPT record, already carries padding, is malformed or would not fit in
 * out_cap or 65535 bytes padded (then it goes as it is). Pure. */
size_t wire_pad_query(const uint8_t *msg, size_t len, size_t block, uint8_t *out, size_t out_cap);

/* The UDP reply size limit for a client. */
static inline size_t query_udp_limit(const struct query *q)
{
	if (!q->edns)
		return 512;
	return q->udp_size < DNS_UDP_MAX ? q->udp_size : DNS_UDP_MAX;
}

#endif
