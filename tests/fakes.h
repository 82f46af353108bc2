/* fakes.h - a fake client handle and a fake upstream transport, to run the real request driver in-process
 *
 * Shared by tests/unit/test_driver.c and the fuzz targets. The fake client (struct fake_conn
 * behind a struct client) records every reply sent and counts release; the fake upstream
 * (struct fake_net, seen by the fetch layer as two transports, "udp" and "tcp") records every
 * exchange started and answers it from a script, from the test body, or never.
 *
 * Timing follows transport.h: no callback runs inside start(). Scripted answers and
 * SERVFAILs are given on a later loop turn (a 0 ms timer of the transport); held exchanges
 * are answered only when the test calls fake_net_answer*() from outside any callback.
 * Ownership: a fake_conn and a fake_net belong to the test; the transports free themselves
 * when the fetch layer closes them (worker stop), so fake_net must outlive the worker's loop.
 */
#ifndef DNS64D_TEST_FAKES_H
#define DNS64D_TEST_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "dns64d/client.h"
#include "dns64d/transport.h"

struct worker;
struct daemon;
struct config;

/* ---- the client handle ---- */

struct fake_reply {
	uint8_t *msg; /* malloc'ed copy */
	size_t len;
};

struct fake_conn {
	bool stream; /* max_size 65535 (TCP); else UDP: min(advertised, 1232) */
	unsigned sends, releases;
	unsigned sends_after_release; /* a use of the handle after release: always a bug */
	struct fake_reply *replies;
	size_t n_replies;
};

/* A client at address ip (text, IPv4 or IPv6) port 5353 whose handle records into fc. */
void fake_client_init(struct client *c, struct fake_conn *fc, const char *ip, bool stream);
/* The last reply sent (NULL if none). */
const struct fake_reply *fake_conn_last(const struct fake_conn *fc);
void fake_conn_clear(struct fake_conn *fc);

/* ---- the upstream ---- */

enum fake_action {
	FAKE_ANSWER = 0, /* answer with rcode and the records given */
	FAKE_SERVFAIL,   /* answer SERVFAIL */
	FAKE_HOLD,       /* keep it until the test answers it (or forever: a silent server) */
};

/* A scripted answer for one question. rrs: presentation text, NULL-terminated; a leading '@'
 * puts the record in the authority section. */
struct fake_script {
	const char *qname; /* "www.example.com." in any case */
	uint16_t qtype;
	enum fake_action action;
	uint8_t rcode;
	const char *rrs[8];
};

/* One exchange started by the fetch layer. */
struct fake_xfer {
	struct fake_xfer *next;
	struct xfer *x;                 /* NULL once answered or cancelled */
	struct sockaddr_storage server; /* where the fetch layer sent it */
	char qname[1024];               /* lowercased presentation name (as wire_name_to_text writes it) */
	uint16_t qtype;
	bool tcp, ready, cancelled;
};

struct fake_net {
	const struct fake_script *script; /* may be NULL */
	size_t n_script;
	enum fake_action otherwise; /* for questions not in the script (FAKE_ANSWER: NXDOMAIN) */
	struct fake_xfer *log;      /* every exchange started, newest first */
	unsigned started, answered, cancelled, open;
	unsigned in_start; /* a callback inside start() is a contract violation */
	unsigned violations;
	struct transport *udp, *tcp; /* handed to the fetch layer, which closes them */
	unsigned closed;             /* transports closed and freed */
};

/* Set up net, create its two transports on w's loop and give them to w's fetch layer. */
int fake_net_attach(struct fake_net *net, struct worker *w);
/* Exchanges started for qname/qtype (qtype 0: any), all transports. */
unsigned fake_net_count(const struct fake_net *net, const char *qname, uint16_t qtype);
/* The oldest open exchange for qname/qtype (qtype 0: any), or NULL. */
struct fake_xfer *fake_net_find_open(struct fake_net *net, const char *qname, uint16_t qtype);
/* Answer an open exchange now, from the test body (outside any loop callback). fx NULL or
 * no longer open counts as a violation (the test expected an exchange that is not there). */
void fake_net_answer(struct fake_net *net, struct fake_xfer *fx, uint8_t rcode, const char *const *rrs);
/* Answer an open exchange with these bytes, the ID replaced by the exchange's. The answer
 * goes to the fetch layer only if the question matches, as a real transport would check;
 * otherwise the exchange fails with -EBADMSG (a real one would wait for its timeout). */
void fake_net_answer_raw(struct fake_net *net, struct fake_xfer *fx, const uint8_t *msg, size_t len);
/* Free the log (after the worker's loop is closed, or after fake_net_detach). */
void fake_net_free(struct fake_net *net);
/* Take net's transports away from w's fetch layer (closed, as at worker stop) and run the loop
 * until they are freed, so that net can be freed while the worker lives on. */
void fake_net_detach(struct fake_net *net, struct worker *w);

/* ---- a daemon with one worker, no listener and no thread ---- */

#define FAKE_WORKERS_MAX 4

struct fake_daemon {
	struct daemon *d;
	struct worker *w;                    /* worker 0 */
	struct worker *ws[FAKE_WORKERS_MAX]; /* every worker, ws[0] == w */
};

/* A daemon as main.c sets it up (pending config, cache, in-flight table, cookie secrets,
 * host name) with worker 0 created without listen sockets; the caller runs w->loop. Takes a
 * reference to cfg. Cookie secrets are fixed (fuzzing must be reproducible). 0 or -errno. */
int fake_daemon_start(struct fake_daemon *fd, struct config *cfg);
/* One more worker (index 1, 2, ...) on the same daemon, also without listeners or thread:
 * the test runs each worker's loop itself, in its own thread. 0 or -errno. */
int fake_daemon_add_worker(struct fake_daemon *fd, struct worker **out);
/* Stop the workers as the daemon does (stopping flag and wakeup, their loops run, taking
 * turns, until each has ended), then free everything. Returns the handles left open on the loop before it is closed (0:
 * uv_loop_close() succeeds), or -EBUSY when requests were still alive. */
int fake_daemon_stop(struct fake_daemon *fd);

/* Make a started daemon as good as new for the next test or fuzz input, much faster than
 * stop and start (no new loop, no new allocations of the worker): fetches still running (an
 * A prefetch) are cancelled, the cache is emptied, the upstream registry (health, RTT,
 * remembered failures) is made anew. Detach the fake_net first. 0, or -EBUSY when requests
 * are still alive. */
int fake_daemon_reset(struct fake_daemon *fd);

/* The answer to query q (wire) with rcode and records, as an upstream would send it.
 * Returns a malloc'ed message and its length, or NULL. */
uint8_t *fake_build_answer(const uint8_t *q, size_t qlen, uint8_t rcode, const char *const *rrs, size_t *len);

#endif
