/* acl.c - client address to policy (dns64, forward, refuse, drop; NAT64 prefixes) by longest match */
#include "dns64d/acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns64d/errbuf.h"

#define ACL_MAX_TOKENS (3 + PREFIX_SET_MAX) /* network, action, prefixes, filter-a */

static const char *const action_names[] = {
        [ACL_DNS64] = "dns64",
        [ACL_FORWARD] = "forward",
        [ACL_REFUSE] = "refuse",
        [ACL_DROP] = "drop",
};

const char *acl_action_name(enum acl_action a)
{
	if ((unsigned)a < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[a];
	return "unknown";
}

static int parse_action(const char *s, enum acl_action *out)
{
	for (unsigned i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum acl_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Most specific first: per family, longer prefix first, then by address so that equal
 * networks are adjacent (duplicate check) and each (family, plen) run is binary-searchable;
 * ties broken by line so the first occurrence stays first. */
static int rule_cmp(const void *pa, const void *pb)
{
	const struct acl_rule *a = pa, *b = pb;
	int c;

	if (a->net.family != b->net.family)
		return a->net.family < b->net.family ? -1 : 1;
	if (a->net.plen != b->net.plen)
		return a->net.plen > b->net.plen ? -1 : 1;
	c = memcmp(a->net.addr, b->net.addr, sizeof(a->net.addr));
	if (c != 0)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return 0;
}

static bool same_net(const struct network *a, const struct network *b)
{
	return a->family == b->family && a->plen == b->plen && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static int push_rule(struct acl *acl, size_t *cap, const struct acl_rule *r)
{
	if (acl->n == *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		struct acl_rule *p = realloc(acl->rules, ncap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		acl->rules = p;
		*cap = ncap;
	}
	acl->rules[acl->n++] = *r;
	return 0;
}

/* Inside ::ffff:0:0/96? Clients with IPv4-mapped source addresses reach acl_match as IPv4
 * (addr_raw), so such a rule could never match. */
static bool is_mapped(const struct network *n)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	return n->family == AF_INET6 && n->plen >= 96 && memcmp(n->addr, mapped, sizeof(mapped)) == 0;
}

/* The words after "dns64": prefixes, then optionally filter-a. Returns 0 or -EINVAL (reported). */
static int parse_options(const char *path, unsigned line, char **tok, unsigned ntok, struct acl_rule *r,
                         struct nat64_prefix *pfx, struct errbuf *err)
{
	const char *why = NULL;

	for (unsigned i = 0; i < ntok; i++) {
		if (r->filter_a) {
			errbuf_add(err, "%s:%u: unexpected '%s' after filter-a", path, line, tok[i]);
			return -EINVAL;
		}
		if (strcmp(tok[i], "filter-a") == 0) {
			r->filter_a = true;
			continue;
		}
		if (strchr(tok[i], ':') == NULL && strchr(tok[i], '/') == NULL) {
			errbuf_add(err, "%s:%u: unexpected '%s' (expected a prefix or filter-a)", path, line, tok[i]);
			return -EINVAL;
		}
		if (nat64_prefix_parse(tok[i], &pfx[r->n_prefixes], &why) < 0) {
			errbuf_add(err, "%s:%u: bad prefix '%s': %s", path, line, tok[i], why);
			return -EINVAL;
		}
		for (unsigned k = 0; k < r->n_prefixes; k++) {
			if (nat64_prefix_equal(&pfx[k], &pfx[r->n_prefixes])) {
				errbuf_add(err, "%s:%u: prefix '%s' given twice", path, line, tok[i]);
				return -EINVAL;
			}
		}
		r->n_prefixes++;
	}
	return 0;
}

/* One line: the rule (its prefixes into pfx, r->n_prefixes of them), or an error reported
 * to err. Returns 1 for a rule, 0 for a blank line, -EINVAL for an error (already reported). */
static int parse_line(const char *path, unsigned line, char *text, struct acl_rule *r, struct nat64_prefix *pfx,
                      struct errbuf *err)
{
	char *tok[ACL_MAX_TOKENS];
	unsigned ntok = 0;
	char *save = NULL;
	const char *why = NULL;
	char *hash = strchr(text, '#');

	if (hash != NULL)
		*hash = '\0';
	for (char *t = strtok_r(text, " \t\r\f\v", &save); t != NULL; t = strtok_r(NULL, " \t\r\f\v", &save)) {
		if (ntok == ACL_MAX_TOKENS) {
			errbuf_add(err, "%s:%u: unexpected '%s': at most %u prefixes on a line", path, line, t,
			           PREFIX_SET_MAX);
			return -EINVAL;
		}
		tok[ntok++] = t;
	}
	if (ntok == 0)
		return 0;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (addr_parse_network(tok[0], &r->net, &why) < 0) {
		errbuf_add(err, "%s:%u: bad network '%s': %s", path, line, tok[0], why);
		return -EINVAL;
	}
	if (is_mapped(&r->net)) {
		struct network v4 = {.family = AF_INET, .plen = r->net.plen - 96};
		char buf[64];

		memcpy(v4.addr, r->net.addr + 12, 4);
		errbuf_add(err,
		           "%s:%u: network '%s' is inside ::ffff:0:0/96, which never matches: IPv4-mapped clients are "
		           "matched as IPv4: write the IPv4 network '%s'",
		           path, line, tok[0], network_format(&v4, buf, sizeof(buf)));
		return -EINVAL;
	}
	if (ntok < 2) {
		errbuf_add(err, "%s:%u: missing action after '%s' (dns64, forward, refuse or drop)", path, line,
		           tok[0]);
		return -EINVAL;
	}
	if (parse_action(tok[1], &r->action) < 0) {
		errbuf_add(err, "%s:%u: unknown action '%s' (dns64, forward, refuse or drop)", path, line, tok[1]);
		return -EINVAL;
	}
	if (ntok > 2 && r->action != ACL_DNS64) {
		errbuf_add(err, "%s:%u: %s is only allowed with dns64, not with %s", path, line,
		           strcmp(tok[2], "filter-a") == 0 ? "filter-a" : "a prefix", tok[1]);
		return -EINVAL;
	}
	if (parse_options(path, line, tok + 2, ntok - 2, r, pfx, err) < 0)
		return -EINVAL;
	return 1;
}

/* Add rule r's prefixes to the pool (or share the previous rule's list when equal). */
static int push_prefixes(struct acl *acl, size_t *cap, struct acl_rule *r, const struct nat64_prefix *pfx,
                         size_t *last_at, unsigned *last_n)
{
	bool same = *last_n == r->n_prefixes;

	if (r->n_prefixes == 0)
		return 0;
	for (unsigned i = 0; same && i < r->n_prefixes; i++)
		same = nat64_prefix_equal(&acl->prefixes[*last_at + i].p, &pfx[i]);
	if (same) {
		r->prefix_at = *last_at;
		return 0;
	}
	if (acl->n_prefixes + r->n_prefixes > *cap) {
		size_t ncap = *cap != 0 ? *cap * 2 : 16;
		struct synth_prefix *p = realloc(acl->prefixes, ncap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		acl->prefixes = p;
		*cap = ncap;
	}
	r->prefix_at = acl->n_prefixes;
	for (unsigned i = 0; i < r->n_prefixes; i++) {
		struct synth_prefix *sp = &acl->prefixes[acl->n_prefixes++];

		memset(sp, 0, sizeof(*sp));
		sp->p = pfx[i];
		sp->line = r->line;
	}
	*last_at = r->prefix_at;
	*last_n = r->n_prefixes;
	return 0;
}

int acl_parse(const char *path, const char *text, struct acl *out, struct errbuf *err)
{
	char *copy = strdup(text);
	char *p, *nl;
	unsigned line = 0, errors = 0, last_n = 0;
	size_t cap = 0, pcap = 0, last_at = 0;
	struct acl acl = {NULL, 0, NULL, 0};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (copy == NULL)
		return -ENOMEM;

	for (p = copy; p != NULL; p = nl) {
		struct acl_rule r;
		struct nat64_prefix pfx[PREFIX_SET_MAX];
		int n;

		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		else if (*p == '\0')
			break; /* text ended with a newline */
		line++;
		n = parse_line(path, line, p, &r, pfx, err);
		if (n < 0) {
			errors++;
			continue;
		}
		if (n > 0) {
			rc = push_prefixes(&acl, &pcap, &r, pfx, &last_at, &last_n);
			if (rc < 0)
				goto cleanup;
			rc = push_rule(&acl, &cap, &r);
			if (rc < 0)
				goto cleanup;
		}
	}

	if (acl.n > 1)
		qsort(acl.rules, acl.n, sizeof(acl.rules[0]), rule_cmp);
	/* Equal networks are adjacent and in line order after the sort. Report each repeat
	 * against the first occurrence. */
	for (size_t i = 1, first = 0; i < acl.n; i++) {
		char buf[64];

		if (!same_net(&acl.rules[i].net, &acl.rules[first].net)) {
			first = i;
			continue;
		}
		errbuf_add(err, "%s:%u: duplicate network '%s' (also on line %u)", path, acl.rules[i].line,
		           network_format(&acl.rules[i].net, buf, sizeof(buf)), acl.rules[first].line);
		errors++;
	}
	if (errors > 0)
		rc = -EINVAL;

cleanup:
	free(copy);
	if (rc < 0) {
		free(acl.rules);
		free(acl.prefixes);
		return rc;
	}
	*out = acl;
	return 0;
}

/* One ACL prefix that no prefix line names: the global options, the global suffix if it fits. */
static int resolve_global(struct synth_prefix *sp, const char *path, const struct synth_prefix *global,
                          struct errbuf *err)
{
	struct nat64_prefix p = sp->p;
	unsigned line = sp->line;
	const char *why;
	char a[64], b[64];

	*sp = *global;
	sp->p = p;
	sp->own = 0;
	sp->line = 0;
	memset(sp->p.suffix, 0, sizeof(sp->p.suffix));
	if ((global->own & PREFIX_OWN_SUFFIX) == 0 || p.len >= 96)
		return 0;
	if (nat64_suffix_check(&p, global->p.suffix, &why) < 0) {
		nat64_suffix_format(global->p.suffix, b, sizeof(b));
		errbuf_add(err, "%s:%u: prefix '%s' takes the global suffix '%s', which does not fit: %s", path, line,
		           nat64_prefix_format(&p, a, sizeof(a)), b, why);
		return -EINVAL;
	}
	memcpy(sp->p.suffix, global->p.suffix, sizeof(sp->p.suffix));
	return 0;
}

int acl_resolve(struct acl *acl, const char *path, const struct synth_prefix *lines, size_t n_lines,
                const struct synth_prefix *global, struct errbuf *err)
{
	int rc = 0;

	for (size_t i = 0; i < acl->n_prefixes; i++) {
		struct synth_prefix *sp = &acl->prefixes[i];
		const struct synth_prefix *line = NULL;

		for (size_t k = 0; k < n_lines && line == NULL; k++)
			if (nat64_prefix_equal(&lines[k].p, &sp->p))
				line = &lines[k];
		if (line != NULL)
			*sp = *line;
		else if (resolve_global(sp, path, global, err) < 0)
			rc = -EINVAL;
	}
	return rc;
}

const struct synth_prefix *acl_rule_prefixes(const struct acl *acl, const struct acl_rule *r, size_t *n)
{
	*n = r->n_prefixes;
	return r->n_prefixes != 0 ? &acl->prefixes[r->prefix_at] : NULL;
}

int acl_default(struct acl *out)
{
	static const struct acl_rule defaults[] = {
	        {.net = {.family = AF_INET, .addr = {127}, .plen = 8}, .action = ACL_DNS64},
	        {.net = {.family = AF_INET6, .addr = {[15] = 1}, .plen = 128}, .action = ACL_DNS64},
	};

	out->prefixes = NULL;
	out->n_prefixes = 0;
	out->rules = malloc(sizeof(defaults));
	if (out->rules == NULL) {
		out->n = 0;
		return -ENOMEM;
	}
	memcpy(out->rules, defaults, sizeof(defaults));
	out->n = sizeof(defaults) / sizeof(defaults[0]);
	qsort(out->rules, out->n, sizeof(out->rules[0]), rule_cmp);
	return 0;
}

/* Three-way compare of rule r against the key (family, plen, addr) in sort order. */
static int key_cmp(const struct acl_rule *r, int family, unsigned plen, const uint8_t *addr)
{
	if (r->net.family != family)
		return r->net.family < family ? -1 : 1;
	if (r->net.plen != plen)
		return r->net.plen > plen ? -1 : 1;
	if (addr == NULL)
		return 0;
	return memcmp(r->net.addr, addr, 16);
}

/* First index in [lo, hi) whose rule is not before the key. */
static size_t lower_bound(const struct acl *acl, size_t lo, size_t hi, int family, unsigned plen, const uint8_t *addr)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(&acl->rules[mid], family, plen, addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The rules of one family form runs of equal plen, longest first, each sorted by address:
 * try each run in turn with a binary search for the address masked to that run's plen.
 * The cost is O(runs * log n), at most 33 or 129 runs whatever the number of rules. */
const struct acl_rule *acl_match(const struct acl *acl, int family, const uint8_t *addr)
{
	size_t i, end;
	unsigned max_plen = family == AF_INET ? 32 : 128;

	if (acl == NULL || acl->n == 0 || (family != AF_INET && family != AF_INET6))
		return NULL;
	i = lower_bound(acl, 0, acl->n, family, max_plen, NULL);
	while (i < acl->n && acl->rules[i].net.family == family) {
		unsigned plen = acl->rules[i].net.plen;
		uint8_t key[16] = {0};
		size_t at;

		memcpy(key, addr, plen / 8);
		if (plen % 8 != 0)
			key[plen / 8] = (uint8_t)(addr[plen / 8] & (0xffu << (8 - plen % 8)));
		/* end of this run: the first rule with a shorter plen or of the next family */
		if (plen > 0)
			end = lower_bound(acl, i, acl->n, family, plen - 1, NULL);
		else
			end = lower_bound(acl, i, acl->n, family + 1, 0, NULL);
		at = lower_bound(acl, i, end, family, plen, key);
		if (at < end && memcmp(acl->rules[at].net.addr, key, 16) == 0)
			return &acl->rules[at];
		i = end;
	}
	return NULL;
}

void acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->rules);
	free(acl->prefixes);
	memset(acl, 0, sizeof(*acl));
}
