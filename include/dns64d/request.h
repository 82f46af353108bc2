/* request.h - one client query's life: the small driver that calls acl, cache, upstream, dns64
 *
 * How one query flows:
 *   listener -> request_udp/request_tcp: ACL first (drop/refuse), then parse the query
 *   (FORMERR/NOTIMP/BADVERS), cookies, local answers (ipv4only.arpa), then:
 *   - AAAA from a dns64 client: synthesized-answer cache, else fetch AAAA (cache, else
 *     upstream), dns64_decide, maybe fetch A and dns64_synthesize;
 *   - PTR under a synthesis prefix: fetch the in-addr.arpa PTR and answer with a CNAME to it;
 *   - anything else: fetch and hand the answer on.
 *   The reply is built from a stored message (wire.h) and goes back through the listener.
 * A request that has to wait lives in a per-worker pool; one answered from cache is done
 * before the listener callback returns and allocates nothing.
 */
#ifndef DNS64D_REQUEST_H
#define DNS64D_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

struct worker;
struct tcp_conn;
struct client;

void request_udp(struct worker *w, uv_udp_t *h, const struct sockaddr *peer, const uint8_t *pkt, size_t len);
void request_tcp(struct worker *w, struct tcp_conn *c, const uint8_t *pkt, size_t len);

/* The new entry (replaces request_udp/request_tcp): one query received from client c. The
 * request copies *c and pkt; both are the caller's again when this returns. The request calls
 * client_release(c) exactly once, when it is finished (answered or dropped), possibly before
 * this returns. */
void request_start(struct worker *w, const struct client *c, const uint8_t *pkt, size_t len);

/* Free the worker's pool of request structs. */
void request_pool_free(struct worker *w);

#endif
