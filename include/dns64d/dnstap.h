/* dnstap.h - dnstap messages (protobuf over Frame Streams) about client and upstream exchanges
 *
 * With `dnstap-socket PATH`, dns64d writes one dnstap message per event it is told to log
 * (`dnstap-messages`): a client query accepted (CLIENT_QUERY), the answer sent to it
 * (CLIENT_RESPONSE, its `extra` field the DNS64 decision), a query sent to an upstream
 * (FORWARDER_QUERY) and the upstream's answer (FORWARDER_RESPONSE).
 *
 * Two halves:
 * - dnstap_pack() and dnstap_extra() are pure (src/dnstap_msg.c, in the pure library): an
 *   event's fields in, the packed protobuf bytes out. Unit-tested by unpacking them again.
 * - The writer (src/dnstap.c): libfstrm's I/O thread and a Unix socket writer, one input
 *   queue per worker (single producer, no lock). A worker never waits for the collector: a
 *   message that finds its queue full is dropped and counted (metrics: dnstap_dropped); the
 *   I/O thread connects, reconnects after the collector went away (every second) and discards
 *   what is queued while nobody listens.
 *
 * Threads: dnstap_start() and dnstap_stop() on the main thread, before the workers start and
 * after they have been joined; the dnstap_client_* and dnstap_forwarder_* hooks only in the
 * thread of worker w (they use w's queue). A hook copies what it needs before it returns.
 */
#ifndef DNS64D_DNSTAP_H
#define DNS64D_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* dnstap-messages: which events are written (a bit set, config.h's dnstap_messages). */
enum dnstap_kind {
	DNSTAP_CLIENT_QUERY = 1u << 0,
	DNSTAP_CLIENT_RESPONSE = 1u << 1,
	DNSTAP_FORWARDER_QUERY = 1u << 2,
	DNSTAP_FORWARDER_RESPONSE = 1u << 3,
};
#define DNSTAP_ALL 0x0fu

/* The transport of an exchange, as dnstap names it. */
enum dnstap_proto { DNSTAP_UDP = 1, DNSTAP_TCP = 2, DNSTAP_DOT = 3 };

/* One event. Addresses are optional (NULL); an address of the other family than the first one
 * given is left out, since a message has one socket family. A zero tv_sec means "no time". */
struct dnstap_event {
	enum dnstap_kind kind;
	enum dnstap_proto proto;
	const struct sockaddr *query_addr;    /* who sent the query: the client, or NULL for us */
	const struct sockaddr *response_addr; /* who answers: our address the client used, or the upstream */
	struct timespec query_time, response_time;
	const uint8_t *query;
	size_t query_len;
	const uint8_t *response;
	size_t response_len;
	const char *identity, *version, *extra; /* NULL: left out */
};

/* Pack ev as a Dnstap protobuf into a malloc'd buffer (*out, *len; free() it). 0 or -ENOMEM. */
int dnstap_pack(const struct dnstap_event *ev, uint8_t **out, size_t *len);

/* The `extra` text of a CLIENT_RESPONSE: "action=dns64 synthesized=yes prefix=64:ff9b::/96
 * reason=synthesized" (prefix "-" when none applies, reason a dns64 reason word or "-").
 * Returns buf. */
const char *dnstap_extra(char *buf, size_t len, const char *action, bool synthesized, const uint8_t *prefix,
                         unsigned prefix_len, const char *reason);

/* ---- the writer (dns64core) ------------------------------------------------------------------ */

struct daemon;
struct worker;
struct config;
struct client;

/* Start the I/O thread for cfg's dnstap-socket (nothing without one): d->dnstap, with one queue
 * per worker (d->n_workers). The first connection is tried at once in that thread; a collector
 * that is not there yet is not an error. Returns 0 or a negative errno. */
int dnstap_start(struct daemon *d, const struct config *cfg);

/* Flush what is queued, say goodbye to the collector and end the I/O thread. */
void dnstap_stop(struct daemon *d);

/* A client query accepted (pkt: its bytes, valid during the call; t: when it arrived). */
void dnstap_client_query(struct worker *w, const struct config *cfg, const struct client *c, const struct timespec *t,
                         const uint8_t *pkt, size_t len);

/* The answer sent to a client (qt: when its query arrived; extra: dnstap_extra() or NULL). */
void dnstap_client_response(struct worker *w, const struct config *cfg, const struct client *c,
                            const struct timespec *qt, const uint8_t *msg, size_t len, const char *extra);

/* A query sent to upstream server over transport ("udp", "tcp", "tls"). */
void dnstap_forwarder_query(struct worker *w, const struct config *cfg, const struct sockaddr *server,
                            const char *transport, const uint8_t *q, size_t len);

/* An upstream's answer; sent_ago_us: how long ago its query was sent. */
void dnstap_forwarder_response(struct worker *w, const struct config *cfg, const struct sockaddr *server,
                               const char *transport, uint64_t sent_ago_us, const uint8_t *ans, size_t len);

/* Wall-clock time now, for the events. */
void dnstap_now(struct timespec *t);

#endif
