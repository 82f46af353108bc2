/* upstream.h - asking upstream resolvers: random ID and port, timeouts, failover, TC -> TCP
 *
 * One struct uquery per distinct question in flight in the whole daemon; identical questions
 * asked while it is in flight join it as waiters (coalescing), from any worker, so they go
 * upstream once. The query runs in the worker that started it; waiters of other workers get
 * the answer (copied) through their worker's mailbox and wakeup handle, in their own thread. Each
 * attempt uses a fresh UDP socket on an OS-chosen ephemeral port, connected to the upstream,
 * and a fresh random ID from libsodium. An answer is accepted only from the upstream's
 * address and port, with the right ID, QR=1 and the same question (RFC 5452); anything else
 * is ignored. TC=1 makes the same upstream be asked over TCP. A timeout, an ICMP error, a
 * broken TCP exchange, a malformed answer or an error rcode (SERVFAIL, REFUSED, ...) moves on
 * to the next upstream; after the last, waiters get the last SERVFAIL answer if there was one
 * (so its Extended DNS Error reaches the client), else -ETIMEDOUT.
 * A good answer is stored in the cache before the waiters are called.
 */
#ifndef DNS64D_UPSTREAM_H
#define DNS64D_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/wire.h"

struct worker;
struct wcfg;
struct daemon;

/* Called once per waiter. status 0: m is the answer (valid only during the call; the TTLs are
 * as received). status < 0: no usable answer (-ETIMEDOUT, -EBUSY when max-inflight is
 * reached). */
struct fetch_waiter {
	struct fetch_waiter *next;
	void (*cb)(struct fetch_waiter *wt, int status, const struct msg_meta *m);
	const struct sockaddr *upstream; /* set before cb: the upstream that answered, or NULL */
	/* upstream.c's: the waiter's worker, and what travels when another worker's query answers */
	struct worker *w;
	int status;
	uint8_t *msg;
	struct sockaddr_storage up_addr;
};

/* Ask the question upstream, or join an identical one in flight. key/key_len is the cache key
 * of the question (cache_key with the CACHE_F_RD/DO/CD flags). Returns 0 when wt->cb will be
 * called later, or -EBUSY when max-inflight is reached or too many clients already wait for this
 * question (wt->cb is not called). */
int upstream_fetch(struct worker *w, struct wcfg *c, const uint8_t *key, size_t key_len, const uint8_t *qname,
                   size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags, struct fetch_waiter *wt);

/* Ask the question upstream with nobody waiting for it, so that its answer is in the cache (or
 * in flight, to be joined) when a request needs it: the A lookup of a dns64 client's AAAA
 * query. No-op if it is already in flight. Returns 0, -EBUSY or -ENOENT. */
int upstream_prefetch(struct worker *w, struct wcfg *c, const uint8_t *key, size_t key_len, const uint8_t *qname,
                      size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags);

/* Shutdown after the grace time: every query in flight fails with -ECANCELED (so its clients
 * get SERVFAIL) and no new one is started. Needs w->cancelling set. */
void upstream_cancel_all(struct worker *w);

/* Answers that other workers' queries delivered to this worker's waiters: call them.
 * Runs in w's thread (from its wakeup handle). */
void upstream_drain(struct worker *w);

/* The daemon-wide in-flight table: set up before the workers start, freed after they end. */
int upstream_init(struct daemon *d);
void upstream_fini(struct daemon *d);

#endif
