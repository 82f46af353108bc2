/* response.h - the reply to the client: question copy, flags, EDNS and options, size limit, TC
 *
 * Every byte the daemon sends to a client is built here, from one of two things: a stored
 * message (struct msg_meta, wire.h: an upstream answer, or an answer rendered from ldns by
 * response_render()), or an rcode with the client's question. The rules, in one place:
 *   - the client's ID and question (with the client's case) are echoed;
 *   - flags: QR and RA set, AA and TC from upstream dropped (AA set for a local answer,
 *     reply_opts.aa), RD and CD from the client, AD
 *     kept only for a client that set DO or AD; for opcodes other than QUERY (NOTIMP) RA, AD
 *     and CD are clear, since they are only defined for QUERY;
 *   - EDNS: an OPT record (payload DNS_UDP_MAX, the client's DO) when the client sent one,
 *     with the COOKIE and EDE options of struct reply_opts;
 *   - size: limit is the client's UDP limit (query_udp_limit()) or, for a stream transport
 *     (TCP, TLS), DNS_MAX_MSG or more. An answer too big for a UDP limit becomes a TC=1
 *     reply with the question only. Over a stream TC means nothing, so it is never set: an
 *     answer that does not fit once the OPT is added loses its optional parts instead
 *     (first the EDE option, then the additional section), and is SERVFAIL if still too big.
 * Pure: no I/O; response_to_ldns() uses a thread-local scratch buffer.
 */
#ifndef DNS64D_RESPONSE_H
#define DNS64D_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "dns64d/wire.h"

/* Options the daemon adds to its reply's OPT record. */
struct reply_opts {
	uint16_t ede;          /* EDE info code or EDE_NONE */
	uint16_t ede2;         /* a second EDE info code (a stale synthesized answer: 3 and 29), 0 = none */
	const uint8_t *cookie; /* full COOKIE option data (client + server cookie) or NULL */
	uint8_t cookie_len;
	uint8_t ext_rcode; /* upper 8 bits of a 12-bit rcode (BADCOOKIE, BADVERS) */
	bool aa;           /* an answer dns64d gives as the authority (local.c): AA set */
};

/* Build a reply to q from a stored message into out (at least limit bytes, limit <= 65535):
 * client's id and question, TTLs reduced by elapsed_s, flags and OPT as above. If it does
 * not fit in a UDP limit, a TC=1 reply with the question only; over a stream (limit >=
 * DNS_MAX_MSG) never TC, see above. A stored message whose question is not q's shape gets
 * SERVFAIL. o may be NULL. Returns the reply length. */
size_t response_stored(const struct query *q, const struct msg_meta *m, uint32_t elapsed_s, const struct reply_opts *o,
                       uint8_t *out, size_t limit);

/* Build an answerless reply (REFUSED, SERVFAIL, FORMERR, NOTIMP, ...) echoing q's question;
 * with_question false omits the question (for FORMERR of unparsable questions).
 * rcode may be extended (> 15): its upper bits go to the OPT. The OPT is left out if it does
 * not fit in limit. o may be NULL. Returns the length. */
size_t response_rcode(const struct query *q, unsigned rcode, bool with_question, const struct reply_opts *o,
                      uint8_t *out, size_t limit);

/* Render an ldns packet (an answer built by dns64 or a local answer) as a stored message into
 * out (outlen >= DNS_MAX_MSG + 16384); synthesized sets msg_meta.synthesized. The packet's
 * EDNS fields are cleared (the reply gets its own OPT). TTLs are capped at max_ttl.
 * Returns 0 or negative errno (-ENOMEM, -EBADMSG, -ENOBUFS). */
int response_render(ldns_pkt *p, bool synthesized, uint32_t max_ttl, uint8_t *out, size_t outlen);

/* A stored message as an ldns packet with its TTLs reduced by elapsed_s; NULL if it does not
 * parse. The caller frees it. */
ldns_pkt *response_to_ldns(const struct msg_meta *m, uint32_t elapsed_s);

/* RFC 6147 §5.3.1: the answer to a PTR query for qname (an ip6.arpa name under a synthesis
 * prefix): a CNAME to target (the in-addr.arpa name) with the target's TTL, then the answer and
 * authority of m (the stored answer for target, aged elapsed_s), with m's rcode. *out is the
 * caller's to free. Returns 0 or -ENOMEM (m does not parse, or no memory). */
int response_ptr_cname(const uint8_t *qname, size_t qname_len, const uint8_t *target, size_t target_len,
                       const struct msg_meta *m, uint32_t elapsed_s, ldns_pkt **out);

#endif
