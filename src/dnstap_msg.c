/* dnstap_msg.c - one dnstap event to packed protobuf bytes (pure: no I/O) */
#include "dns64d/dnstap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/addr.h"
#include "dnstap.pb-c.h"

static const Dnstap__Message__Type msg_type[] = {
        [0] = DNSTAP__MESSAGE__TYPE__CLIENT_QUERY,
        [1] = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE,
        [2] = DNSTAP__MESSAGE__TYPE__FORWARDER_QUERY,
        [3] = DNSTAP__MESSAGE__TYPE__FORWARDER_RESPONSE,
};

static Dnstap__Message__Type type_of(enum dnstap_kind k)
{
	unsigned i = 0;
	while (i < 3 && !((unsigned)k & (1u << i)))
		i++;
	return msg_type[i];
}

/* An address's raw bytes (IPv4-mapped ones as IPv4) and port into the message's fields; false
 * when the address is of another family than the message's (then it is left out). */
static bool put_addr(Dnstap__Message *m, const struct sockaddr *sa, uint8_t raw[16], ProtobufCBinaryData *addr,
                     protobuf_c_boolean *has_addr, uint32_t *port, protobuf_c_boolean *has_port)
{
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return false;
	int fam = addr_raw(sa, raw);
	Dnstap__SocketFamily f = fam == AF_INET ? DNSTAP__SOCKET_FAMILY__INET : DNSTAP__SOCKET_FAMILY__INET6;
	if (m->has_socket_family && m->socket_family != f)
		return false;
	m->has_socket_family = true;
	m->socket_family = f;
	addr->data = raw;
	addr->len = fam == AF_INET ? 4 : 16;
	*has_addr = true;
	*port = ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)(const void *)sa)->sin_port
	                                       : ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	*has_port = true;
	return true;
}

static void put_text(const char *s, ProtobufCBinaryData *b, protobuf_c_boolean *has)
{
	if (!s)
		return;
	b->data = (uint8_t *)(uintptr_t)s; /* protobuf-c's type is not const; packing only reads it */
	b->len = strlen(s);
	*has = true;
}

int dnstap_pack(const struct dnstap_event *ev, uint8_t **out, size_t *len)
{
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	uint8_t qa[16], ra[16];

	m.type = type_of(ev->kind);
	m.has_socket_protocol = true;
	m.socket_protocol = ev->proto == DNSTAP_TCP   ? DNSTAP__SOCKET_PROTOCOL__TCP
	                    : ev->proto == DNSTAP_DOT ? DNSTAP__SOCKET_PROTOCOL__DOT
	                                              : DNSTAP__SOCKET_PROTOCOL__UDP;
	put_addr(&m, ev->query_addr, qa, &m.query_address, &m.has_query_address, &m.query_port, &m.has_query_port);
	put_addr(&m, ev->response_addr, ra, &m.response_address, &m.has_response_address, &m.response_port,
	         &m.has_response_port);
	if (ev->query_time.tv_sec) {
		m.has_query_time_sec = m.has_query_time_nsec = true;
		m.query_time_sec = (uint64_t)ev->query_time.tv_sec;
		m.query_time_nsec = (uint32_t)ev->query_time.tv_nsec;
	}
	if (ev->response_time.tv_sec) {
		m.has_response_time_sec = m.has_response_time_nsec = true;
		m.response_time_sec = (uint64_t)ev->response_time.tv_sec;
		m.response_time_nsec = (uint32_t)ev->response_time.tv_nsec;
	}
	if (ev->query) {
		m.has_query_message = true;
		m.query_message.data = (uint8_t *)(uintptr_t)ev->query;
		m.query_message.len = ev->query_len;
	}
	if (ev->response) {
		m.has_response_message = true;
		m.response_message.data = (uint8_t *)(uintptr_t)ev->response;
		m.response_message.len = ev->response_len;
	}
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	put_text(ev->identity, &d.identity, &d.has_identity);
	put_text(ev->version, &d.version, &d.has_version);
	put_text(ev->extra, &d.extra, &d.has_extra);

	size_t n = dnstap__dnstap__get_packed_size(&d);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	*len = dnstap__dnstap__pack(&d, buf);
	*out = buf;
	return 0;
}

const char *dnstap_extra(char *buf, size_t len, const char *action, bool synthesized, const uint8_t *prefix,
                         unsigned prefix_len, const char *reason)
{
	char p[64] = "-";
	if (prefix) {
		struct network n = {.family = AF_INET6, .plen = prefix_len};
		memcpy(n.addr, prefix, 16);
		network_format(&n, p, sizeof(p));
	}
	snprintf(buf, len, "action=%s synthesized=%s prefix=%s reason=%s", action ? action : "-",
	         synthesized ? "yes" : "no", p, reason ? reason : "-");
	return buf;
}
