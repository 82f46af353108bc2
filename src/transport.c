/* transport.c - what every transport shares: the query check and the RFC 5452 answer match */
#include "dns64d/transport.h"

#include <errno.h>

#include "dns64d/wire.h"

int xfer_prepare(struct xfer *x)
{
	const uint8_t *q = x->query;
	if (!q || !x->cb || x->query_len < DNS_HDR + 1 + 4 || x->query_len > DNS_MAX_MSG || rd16(q + 4) != 1)
		return -EINVAL;
	int n = wire_name_len(q + DNS_HDR, x->query_len - DNS_HDR);
	if (n < 0 || DNS_HDR + (size_t)n + 4 > x->query_len)
		return -EINVAL;
	x->id = rd16(q);
	x->qname_len = (uint8_t)n;
	return 0;
}

bool xfer_answer_matches(const struct xfer *x, const uint8_t *msg, size_t len)
{
	if (len < DNS_HDR || rd16(msg) != x->id)
		return false;
	uint16_t flags = rd16(msg + 2);
	if (!(flags & F_QR) || ((flags >> 11) & 0xf) != 0 || rd16(msg + 4) != 1)
		return false;
	/* the first name of a message cannot be compressed: nothing precedes it to point at */
	int n = wire_name_len(msg + DNS_HDR, len - DNS_HDR);
	if (n != x->qname_len || DNS_HDR + (size_t)n + 4 > len)
		return false;
	const uint8_t *q = x->query + DNS_HDR;
	const uint8_t *a = msg + DNS_HDR;
	if (!wire_name_equal(a, (size_t)n, q, x->qname_len))
		return false;
	return rd16(a + n) == rd16(q + n) && rd16(a + n + 2) == rd16(q + n + 2);
}

void xfer_queue_push(struct xfer_queue *q, struct xfer *x, void *conn)
{
	x->conn = conn;
	x->next = NULL;
	x->prev = q->tail;
	if (q->tail)
		q->tail->next = x;
	else
		q->head = x;
	q->tail = x;
	x->active = true;
}

void xfer_queue_remove(struct xfer_queue *q, struct xfer *x)
{
	if (x->next)
		x->next->prev = x->prev;
	else
		q->tail = x->prev;
	if (x->prev)
		x->prev->next = x->next;
	else
		q->head = x->next;
	x->next = x->prev = NULL;
	x->conn = NULL;
	x->active = false;
}
