/* request.h - one client query's life: a loop over small steps, the only place a request finishes
 *
 * How one query flows (each line a step of request.c; the driver runs them in order):
 *   acl      the client's rule: drop ends here, before the query is even parsed
 *   parse    FORMERR / NOTIMP / BADVERS, REFUSED for refused clients, cookies, meta types
 *   local    answers dns64d gives itself (local.h: ipv4only.arpa, localhost, CHAOS, ...)
 *   route    AAAA from a dns64 client -> synth-cache (plain with RD=0 under recursive-only);
 *            A from a filter-a client -> filter-a; PTR under one of its prefixes -> ptr; else plain
 *   synth-cache  the answer a dns64 client got before for this name and prefix set
 *   fetch-aaaa -> decide (dns64_decide) -> fetch-a -> synthesize (dns64_synthesize; not for a
 *            signed A answer to a DO query under break-dnssec no)
 *   filter-a fetch AAAA (A prefetched) -> fetch A -> NODATA if the client would get AAAA
 *            records, real or synthesized (dns64_filter_a), else the A answer
 *   ptr      fetch the in-addr.arpa PTR, answer with a CNAME to it (RFC 6147 §5.3.1)
 *   plain    fetch and hand the answer on
 * A step returns NEXT (go on), WAIT (a fetch is out), REPLIED or DROP (finished).
 *
 * Lifetime: a request has at most one thing outstanding, one fetch (fetch.h). A step that
 * starts a fetch sets the step to continue with; the answer comes back either at once (a cache
 * hit: the driver goes on in the same call) or later through the fetch callback, which
 * re-enters the driver at that step, never the middle of one. The driver is the only place
 * that finishes a request: it logs, counts, releases the client handle (client.h) and puts
 * the struct back in the worker's pool. Nothing outside request.c holds a pointer to a request
 * except the fetch layer, through its waiter, until the callback has run. A request answered
 * from cache is finished before request_start returns and allocates nothing.
 * (This is ../shared/STYLE.md's "at most one thing outstanding" rule as written: a request
 * needs no reference count; the TCP connection behind a client handle has one.)
 */
#ifndef DNS64D_REQUEST_H
#define DNS64D_REQUEST_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct client;

/* One query received from client c. The request copies *c and parses pkt before returning;
 * both are the caller's again when this returns. client_release(c's copy) is called exactly
 * once, when the request is finished (answered or dropped), possibly before this returns. */
void request_start(struct worker *w, const struct client *c, const uint8_t *pkt, size_t len);

/* The request module's per-worker state (pool, reply buffers): w->req. */
int request_ctx_new(struct worker *w);
void request_ctx_free(struct worker *w);

/* Requests of this worker alive now. */
unsigned request_count(struct worker *w);

#endif
