/* explain.h - what the daemon would do with a query, in words, from the config alone; pure
 *
 * The control socket's `explain NAME [TYPE] [--client ADDR]` prints this, followed by what
 * the cache holds now (main.c looks that up with the keys request.c builds). Nothing here
 * asks upstream, so the answer's own content (real AAAA records, rcode) is not known: the
 * synthesis line says what decides it. One "key value..." line each:
 *   name, type, client      the question and the client address explained
 *   rule                    FILE:LINE NETWORK ACTION (default:0 for the built-in ACL), or none
 *   action                  dns64, forward, refuse or drop (refuse when no rule matched)
 *   prefix                  the client's NAT64 prefixes (comma-separated) and where they come from, or -
 *   local                   yes RCODE when dns64d answers the name itself, else no
 *   upstreams               where it goes: "forward ZONE:" or "default:", then those upstreams
 *   synthesis               yes / no / if-needed, then a reason word and the explanation
 *   cd-do                   that CD+DO queries are passed unchanged (dns64 AAAA only)
 */
#ifndef DNS64D_EXPLAIN_H
#define DNS64D_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/acl.h"
#include "dns64d/config.h"

struct explain_query {
	const uint8_t *qname; /* uncompressed wire */
	size_t qname_len;
	uint16_t qtype;
	const struct sockaddr *client;
	const char *hostname; /* for local CHAOS answers; may be NULL */
	/* The prefix routers advertise now, for rules without one (prefix-from-ra): NULL is the
	 * configured set;
	 * no_default: none at all (such clients are forwarded); default_source says why, or NULL. */
	const struct nat64_prefix *default_prefix;
	bool no_default;
	const char *default_source;
};

/* The explanation's decision, for the caller (and tests). */
struct explain_result {
	const struct acl_rule *rule; /* NULL: no rule matched (refused) */
	enum acl_action action;
	const struct synth_prefix *prefixes; /* the client's prefix set, in cfg; valid when action is dns64 */
	size_t n_prefixes;
	struct synth_prefix adv_prefix; /* the advertised prefix, when prefixes points here */
	bool local;                     /* dns64d answers it itself */
	bool synth_keys;                /* a synthesized answer may be cached for it (dns64 AAAA, not local) */
};

/* Write the explanation lines into out (NUL-terminated, cut short if too small) and fill
 * *res. Returns 0 or -ENOMEM. */
int explain_query(const struct config *cfg, const struct explain_query *q, struct explain_result *res, char *out,
                  size_t len);

#endif
