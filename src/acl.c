/* acl.c - client address to policy (dns64, forward, refuse, drop; NAT64 prefix) by longest match */
#include "dns64d/acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns64d/errbuf.h"

#define ACL_MAX_TOKENS 4

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

/* One line: the rule, or an error reported to err. Returns 1 for a rule, 0 for a blank
 * line, -EINVAL for an error (already reported). */
static int parse_line(const char *path, unsigned line, char *text, struct acl_rule *r, struct errbuf *err)
{
	char *tok[ACL_MAX_TOKENS];
	unsigned ntok = 0;
	char *save = NULL;
	const char *why = NULL;
	char *hash = strchr(text, '#');

	if (hash != NULL)
		*hash = '\0';
	for (char *t = strtok_r(text, " \t\r\f\v", &save); t != NULL; t = strtok_r(NULL, " \t\r\f\v", &save)) {
		if (ntok == ACL_MAX_TOKENS - 1) {
			errbuf_add(err, "%s:%u: unexpected '%s' after the prefix", path, line, t);
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
	if (ntok == 3) {
		if (r->action != ACL_DNS64) {
			errbuf_add(err, "%s:%u: a prefix is only allowed with dns64, not with %s", path, line, tok[1]);
			return -EINVAL;
		}
		if (nat64_prefix_parse(tok[2], &r->prefix, &why) < 0) {
			errbuf_add(err, "%s:%u: bad prefix '%s': %s", path, line, tok[2], why);
			return -EINVAL;
		}
		r->has_prefix = true;
	}
	return 1;
}

int acl_parse(const char *path, const char *text, struct acl *out, struct errbuf *err)
{
	char *copy = strdup(text);
	char *p, *nl;
	unsigned line = 0, errors = 0;
	size_t cap = 0;
	struct acl acl = {NULL, 0};
	int rc = 0;

	out->rules = NULL;
	out->n = 0;
	if (copy == NULL)
		return -ENOMEM;

	for (p = copy; p != NULL; p = nl) {
		struct acl_rule r;
		int n;

		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		else if (*p == '\0')
			break; /* text ended with a newline */
		line++;
		n = parse_line(path, line, p, &r, err);
		if (n < 0) {
			errors++;
			continue;
		}
		if (n > 0) {
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
		return rc;
	}
	*out = acl;
	return 0;
}

int acl_default(struct acl *out)
{
	static const struct acl_rule defaults[] = {
	        {.net = {.family = AF_INET, .addr = {127}, .plen = 8}, .action = ACL_DNS64},
	        {.net = {.family = AF_INET6, .addr = {[15] = 1}, .plen = 128}, .action = ACL_DNS64},
	};

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
	acl->rules = NULL;
	acl->n = 0;
}
