/* client.h - the handle a request answers through, whatever the client's transport
 *
 * The listener fills a struct client for every query it hands to a request and the request
 * keeps a copy of it (by value: no allocation). The request answers with client_send() and
 * says it is finished with client_release(); it never looks at the transport, except to name
 * it in logs and metrics (transport). For UDP, conn is the listener's socket and local the
 * address the query was sent to (so the reply leaves from it); for TCP (and TLS) conn is the
 * connection, which holds a reference for every query in progress until release.
 *
 * Ownership: msg passed to send is the caller's and is copied (or sent at once) before send
 * returns. After release the request must not use the handle again.
 */
#ifndef DNS64D_CLIENT_H
#define DNS64D_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum client_transport { TRANSPORT_UDP = 0, TRANSPORT_TCP = 1, TRANSPORT_TLS = 2 };
#define TRANSPORT_COUNT 3

struct client;

struct client_ops {
	/* Send one reply message (no TCP length prefix). No-op if the connection is gone. */
	void (*send)(struct client *c, const uint8_t *msg, size_t len);
	/* The largest reply this client can take, given the payload size it advertised (EDNS
	 * udp_size, or 512 without EDNS): UDP min(advertised, 1232); streams 65535. */
	size_t (*max_size)(const struct client *c, size_t advertised);
	/* The request is finished with this handle (answered or dropped). */
	void (*release)(struct client *c);
};

struct client {
	const struct client_ops *ops;
	void *conn;                      /* the listener's: UDP socket or stream connection */
	struct sockaddr_storage peer;    /* the client's address and port */
	struct sockaddr_storage local;   /* the address the query was sent to (ss_family 0: unknown) */
	unsigned ifindex;                /* interface the query came in on (0: unknown) */
	enum client_transport transport; /* for logs and metrics only */
};

static inline void client_send(struct client *c, const uint8_t *msg, size_t len)
{
	c->ops->send(c, msg, len);
}
static inline size_t client_max_size(const struct client *c, size_t advertised)
{
	return c->ops->max_size(c, advertised);
}
/* A datagram client (its replies are bounded below 64 KB and may need TC): what RFC 7873's
 * BADCOOKIE rule depends on, not which transport it is. */
static inline int client_is_datagram(const struct client *c)
{
	return c->ops->max_size(c, 65535) < 65535;
}
static inline void client_release(struct client *c)
{
	c->ops->release(c);
}

#endif
