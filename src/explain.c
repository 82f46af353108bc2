/* explain.c - what the daemon would do with a query, in words, from the config alone; pure */
#include "dns64d/explain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/addr.h"
#include "dns64d/dns64.h"
#include "dns64d/local.h"
#include "dns64d/revzone.h"
#include "dns64d/wire.h"

struct out {
	char *buf;
	size_t len, n;
};

__attribute__((format(printf, 2, 3))) static void say(struct out *o, const char *fmt, ...)
{
	if (o->n + 1 >= o->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n = o->n + (size_t)k < o->len ? o->n + (size_t)k : o->len - 1;
}

static const struct dname *under(const struct dname *list, size_t n, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (dns64_name_under(name, len, &list[i]))
			return &list[i];
	return NULL;
}

static void say_prefixes(struct out *o, const struct synth_prefix *set, size_t n)
{
	char a[64];
	for (size_t i = 0; i < n; i++)
		say(o, "%s%s", i ? "," : "", nat64_prefix_format(&set[i].p, a, sizeof(a)));
}

static void type_text(uint16_t t, char *buf, size_t len)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	if (d && d->_name)
		snprintf(buf, len, "%s", d->_name);
	else
		snprintf(buf, len, "TYPE%u", t);
}

/* The AAAA decision for a dns64 client, without the answer: what would decide it. */
static void synthesis_dns64(const struct config *cfg, const struct explain_query *q, const struct explain_result *res,
                            struct out *o)
{
	char name[1024], a[64];
	const struct dname *d;
	if ((d = under(cfg->no_synth, cfg->n_no_synth, q->qname, q->qname_len))) {
		say(o, "synthesis no no_synth: the name is at or under no-synth '%s'\n",
		    wire_name_to_text(d->wire, d->len, name));
		return;
	}
	if ((d = under(cfg->synth_all, cfg->n_synth_all, q->qname, q->qname_len))) {
		say(o,
		    "synthesis yes synth_all: the name is at or under synth-all '%s', whatever AAAA it has "
		    "(unless NXDOMAIN)\n",
		    wire_name_to_text(d->wire, d->len, name));
		return;
	}
	say(o, "synthesis if-needed: when the AAAA answer is NOERROR without any AAAA outside the exclusion set (");
	for (size_t k = 0; k < res->n_prefixes; k++) {
		const struct synth_prefix *sp = &res->prefixes[k];
		if (res->n_prefixes > 1)
			say(o, "%s%s: ", k ? "; " : "", nat64_prefix_format(&sp->p, a, sizeof(a)));
		for (size_t i = 0; i < sp->n_exclude; i++)
			say(o, "%s%s", i ? " " : "", network_format(&sp->exclude[i], a, sizeof(a)));
	}
	say(o, ")%s; not for NXDOMAIN\n",
	    cfg->synth_on == SYNTH_ON_NODATA ? "" : ", or an error rcode or no answer (synth-on any-error)");
	if (cfg->recursive_only)
		say(o, "recursive-only yes: a query with RD=0 is not synthesized\n");
	if (!cfg->break_dnssec)
		say(o, "break-dnssec no: a query with DO=1 whose A answer is signed is not synthesized\n");
}

/* Where a query for the name goes: its forward zone's upstreams, or the upstream list. For
 * the PTR of an address under a dns64 client's prefix that is the in-addr.arpa name's. */
static void say_upstreams(const struct config *cfg, const struct explain_query *q, const struct synth_prefix *set,
                          size_t n_set, struct out *o)
{
	uint8_t target[32];
	size_t tlen = q->qtype == DNS_T_PTR ? dns64_ptr_target_set(set, n_set, q->qname, q->qname_len, target) : 0;
	const struct forward_zone *z =
	        tlen ? config_forward_match(cfg, target, tlen) : config_forward_match(cfg, q->qname, q->qname_len);
	const struct upstream *ups = z ? z->upstream : cfg->upstream;
	size_t n = z ? z->n_upstream : cfg->n_upstream;
	char name[1024], ub[UPSTREAM_FORMAT_MAX];

	if (z)
		say(o, "upstreams forward %s:", config_dname_text(&z->name, name, sizeof(name)));
	else
		say(o, "upstreams default:");
	for (size_t i = 0; i < n; i++)
		say(o, " %s", upstream_spec_format(&ups[i], false, ub, sizeof(ub)));
	say(o, n ? "\n" : " none\n");
}

/* The client's rule, its action and the prefixes a dns64 client synthesizes with (res->rule,
 * res->action, res->prefixes). */
static void explain_rule(const struct config *cfg, const struct explain_query *q, struct explain_result *res,
                         struct out *o)
{
	char a[64];
	uint8_t ip[16];
	int family = addr_raw(q->client, ip);
	res->rule = family > 0 ? acl_match(&cfg->acl, family, ip) : NULL;
	res->action = res->rule ? res->rule->action : ACL_REFUSE;
	if (res->rule)
		say(o, "rule %s:%u %s %s\n", cfg->acl_path ? cfg->acl_path : "default", res->rule->line,
		    network_format(&res->rule->net, a, sizeof(a)), acl_action_name(res->rule->action));
	else
		say(o, "rule none: no rule matches, so the client is refused\n");
	size_t n_own = 0;
	bool no_prefix = res->action == ACL_DNS64 && !acl_rule_prefixes(&cfg->acl, res->rule, &n_own) && q->no_default;
	if (no_prefix)
		res->action = ACL_FORWARD; /* as the request does: no prefix, no synthesis */
	say(o, "action %s\n", acl_action_name(res->action));
	if (res->action == ACL_DNS64) {
		size_t n = 0;
		const struct synth_prefix *own = acl_rule_prefixes(&cfg->acl, res->rule, &n);
		const char *how = own ? "the rule's" : n > 1 ? "the default prefixes" : "the default prefix";
		if (own) {
			res->prefixes = own;
			res->n_prefixes = n;
		} else if (q->default_prefix) {
			config_global_prefix(cfg, q->default_prefix, &res->adv_prefix);
			res->prefixes = &res->adv_prefix;
			res->n_prefixes = 1;
			how = "the default prefix";
		} else
			res->prefixes = config_prefix_set(cfg, NULL, &res->n_prefixes);
		say(o, "prefix ");
		say_prefixes(o, res->prefixes, res->n_prefixes);
		say(o, " (%s%s%s)\n",
		    own                   ? "the rule's"
		    : res->n_prefixes > 1 ? "the default prefixes"
		                          : how,
		    !own && q->default_source ? ": " : "", !own && q->default_source ? q->default_source : "");
		if (res->rule->filter_a)
			say(o, "filter-a yes: an A query gets NODATA when the client's AAAA query for the name gets "
			       "AAAA records, real or synthesized\n");
	} else if (no_prefix)
		say(o, "prefix - (%s)\n", q->default_source ? q->default_source : "none");
	else
		say(o, "prefix -\n");
}

/* Whether dns64d answers the name itself: 1 (said so), 0 (not local) or -ENOMEM. */
static int explain_local(const struct config *cfg, const struct explain_query *q, struct explain_result *res,
                         struct out *o)
{
	/* a local name never goes upstream: ask local.c as the request would */
	struct query lq = {.qtype = q->qtype, .qclass = 1, .flags = 0x0100};
	memcpy(lq.qname, q->qname, q->qname_len);
	lq.qname_len = (uint8_t)q->qname_len;
	struct local_client lc = {.dns64 = res->action == ACL_DNS64,
	                          .prefixes = res->prefixes,
	                          .n_prefixes = res->n_prefixes,
	                          .hostname = q->hostname};
	lc.rule = res->rule;
	ldns_pkt *p = NULL;
	bool synth = false;
	int rc = local_answer(cfg, &lq, &lc, &p, &synth);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		ldns_lookup_table *rt = ldns_lookup_by_id(ldns_rcodes, (int)ldns_pkt_get_rcode(p));
		say(o, "local yes %s: dns64d answers this name itself, never upstream\n", rt ? rt->name : "?");
		say(o, "synthesis %s\n",
		    synth ? "yes synthesized: ipv4only.arpa or local data, for a dns64 client" : "no local");
		ldns_pkt_free(p);
		res->local = true;
		return 1;
	}
	return 0;
}

/* Where the query goes upstream, and whether and how the answer is synthesized. */
static void explain_synthesis(const struct config *cfg, const struct explain_query *q, struct explain_result *res,
                              struct out *o)
{
	char name[1024];

	say(o, "local no\n");
	say_upstreams(cfg, q, res->prefixes, res->action == ACL_DNS64 ? res->n_prefixes : 0, o);
	if (res->action == ACL_FORWARD) {
		say(o, "synthesis no forward_only: the client's rule is forward\n");
		return;
	}
	uint8_t target[32];
	if (q->qtype == DNS_T_PTR && revzone_ptr_target(cfg, res->rule, q->qname, q->qname_len, target)) {
		say(o, "synthesis ptr: under a synthesis prefix, answered with a CNAME to '%s' (RFC 6147 5.3.1)\n",
		    wire_name_to_text(target, wire_name_len(target, sizeof(target)), name));
		return;
	}
	if (q->qtype != DNS_T_AAAA) {
		say(o, "synthesis no not_aaaa: only AAAA queries are synthesized\n");
		return;
	}
	res->synth_keys = true;
	synthesis_dns64(cfg, q, res, o);
	say(o, "cd-do a query with both CD and DO set gets the AAAA answer unchanged (RFC 6147 5.5); "
	       "explained here without them\n");
}

int explain_query(const struct config *cfg, const struct explain_query *q, struct explain_result *res, char *buf,
                  size_t len)
{
	struct out o = {buf, len, 0};
	char name[1024], t[16], a[64];
	int rc;

	if (len == 0)
		return -ENOMEM;
	buf[0] = '\0';
	memset(res, 0, sizeof(*res));
	type_text(q->qtype, t, sizeof(t));
	say(&o, "name %s\ntype %s\nclient %s\n", wire_name_to_text(q->qname, q->qname_len, name), t,
	    addr_format(q->client, a, sizeof(a)));
	explain_rule(cfg, q, res, &o);
	if (res->action == ACL_DROP) {
		say(&o, "answer none: the query is dropped\n");
		return 0;
	}
	if (res->action == ACL_REFUSE) {
		say(&o, "answer REFUSED\n");
		return 0;
	}
	rc = explain_local(cfg, q, res, &o);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	explain_synthesis(cfg, q, res, &o);
	return 0;
}
