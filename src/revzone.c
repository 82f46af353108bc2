/* revzone.c - the ip6.arpa reverse zones of the synthesis prefixes: what a name in them is; pure, no I/O */
#include "dns64d/revzone.h"

#include <stdbool.h>
#include <string.h>

#include "dns64d/acl.h"
#include "dns64d/dns64.h"

#define NIBBLES    32 /* of a whole IPv6 address */
#define MAX_LABELS 128

static const uint8_t ip6_arpa[] = "\3ip6\4arpa"; /* sizeof includes the root label */

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of a one-character hex label at off, or -1. */
static int nibble_label(const uint8_t *name, size_t off)
{
	return name[off] == 1 ? hex_value(name[off + 1]) : -1;
}

/* Nibble i (0 = the most significant) of the prefix's address. */
static unsigned prefix_nibble(const struct nat64_prefix *p, unsigned i)
{
	uint8_t b = p->addr[i / 2];
	return i % 2 ? b & 0x0fu : b >> 4;
}

/* First nibble after the embedded IPv4 address (RFC 6052 section 2.2): 32 bits of IPv4 and,
 * below /96, the u-octet follow the prefix. */
static unsigned suffix_start(const struct nat64_prefix *p)
{
	return p->len == 96 ? NIBBLES : (p->len + 40) / 4;
}

/* What nibble i (at or past suffix_start) of an address dns64d synthesizes is: the prefix's
 * suffix there, as dns64_embed() writes it (zero without a suffix). */
static unsigned suffix_nibble(const struct nat64_prefix *p, unsigned i)
{
	uint8_t b = p->suffix[i / 2];
	return i % 2 ? b & 0x0f : b >> 4;
}

/* May nibble i of an address under p have value v? The u-octet (bits 64-71) is zero below
 * /96, the bits after the IPv4 address are the suffix's. */
static bool nibble_allowed(const struct nat64_prefix *p, unsigned i, unsigned v)
{
	if (p->len < 96 && (i == 16 || i == 17))
		return v == 0;
	if (i >= suffix_start(p))
		return v == suffix_nibble(p, i);
	return true;
}

/* Offsets of the labels of name (without the root) into offs; how many, or -1 when the name
 * is malformed or longer than MAX_LABELS labels. */
static int label_offsets(const uint8_t *name, size_t len, size_t *offs)
{
	size_t off = 0;
	int n = 0;

	while (off < len && name[off] != 0) {
		if (n == MAX_LABELS || name[off] > 63)
			return -1;
		offs[n++] = off;
		off += 1u + name[off];
	}
	return off + 1 == len ? n : -1;
}

/* Does the name end in ip6.arpa. (any case), given the offset of its second-to-last label? */
static bool ends_ip6_arpa(const uint8_t *name, size_t len, size_t off)
{
	if (len - off != sizeof(ip6_arpa))
		return false;
	for (size_t i = 0; i < sizeof(ip6_arpa); i++) {
		uint8_t c = name[off + i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != ip6_arpa[i])
			return false;
	}
	return true;
}

/* The nibbles of a name under the apex (labels offs[0..k-z-1], the last one the most
 * significant of them), into v6 and checked against the rules; false: impossible. */
static bool below_apex(const struct nat64_prefix *p, const uint8_t *qname, const size_t *offs, unsigned k,
                       uint8_t v6[16])
{
	unsigned z = p->len / 4;

	if (k > NIBBLES)
		return false;
	for (unsigned i = z; i < k; i++) {
		int v = nibble_label(qname, offs[k - 1 - i]);
		if (v < 0 || !nibble_allowed(p, i, (unsigned)v))
			return false;
		v6[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
	}
	return true;
}

enum revzone_kind revzone_classify(const struct nat64_prefix *p, const uint8_t *qname, size_t qname_len,
                                   struct revzone_match *m)
{
	size_t offs[MAX_LABELS];
	uint8_t v6[16];
	int n = label_offsets(qname, qname_len, offs);

	memset(m, 0, sizeof(*m));
	m->prefix = p;
	if (!dns64_prefix_len_valid(p->len) || n < 2 || !ends_ip6_arpa(qname, qname_len, offs[n - 2]))
		return m->kind = REVZONE_OUTSIDE;
	unsigned k = (unsigned)n - 2, z = p->len / 4; /* nibble labels of the name and of the apex */
	if (k < z)
		return m->kind = REVZONE_OUTSIDE;
	/* the apex: the z labels before ip6.arpa spell the prefix, most significant nibble last */
	for (unsigned i = 0; i < z; i++) {
		int v = nibble_label(qname, offs[k - 1 - i]);
		if (v < 0 || (unsigned)v != prefix_nibble(p, i))
			return m->kind = REVZONE_OUTSIDE;
	}
	m->apex_off = offs[k - z];
	if (k == z)
		return m->kind = REVZONE_APEX;
	memset(v6, 0, sizeof(v6));
	memcpy(v6, p->addr, p->len / 8);
	if (!below_apex(p, qname, offs, k, v6))
		return m->kind = REVZONE_IMPOSSIBLE;
	if (k < NIBBLES)
		return m->kind = REVZONE_ENT;
	if (dns64_extract(p, v6, m->v4) < 0)
		return m->kind = REVZONE_IMPOSSIBLE; /* cannot be: the apex matched */
	bool v4only = m->v4[0] == 192 && m->v4[1] == 0 && m->v4[2] == 0 && (m->v4[3] == 170 || m->v4[3] == 171);
	return m->kind = v4only ? REVZONE_IPV4ONLY : REVZONE_ADDRESS;
}

size_t revzone_apex(const struct nat64_prefix *p, uint8_t *wire)
{
	size_t pos = 0;

	if (!dns64_prefix_len_valid(p->len))
		return 0;
	for (unsigned i = p->len / 4; i-- > 0;) {
		wire[pos++] = 1;
		wire[pos++] = (uint8_t) "0123456789abcdef"[prefix_nibble(p, i)];
	}
	memcpy(wire + pos, ip6_arpa, sizeof(ip6_arpa));
	return pos + sizeof(ip6_arpa);
}

int revzone_foreach_prefix(const struct config *cfg, const struct acl_rule *rule,
                           int (*fn)(const struct nat64_prefix *p, void *arg), void *arg)
{
	bool default_used = false;
	size_t n = 0;
	int rc;

	if (rule != NULL) {
		if (rule->action != ACL_DNS64)
			return 0;
		const struct synth_prefix *set = config_prefix_set(cfg, rule, &n);
		for (size_t i = 0; i < n; i++)
			if ((rc = fn(&set[i].p, arg)) != 0)
				return rc;
		return 0;
	}
	for (size_t i = 0; i < cfg->acl.n; i++) {
		const struct acl_rule *r = &cfg->acl.rules[i];
		const struct synth_prefix *own;

		if (r->action != ACL_DNS64)
			continue;
		if ((own = acl_rule_prefixes(&cfg->acl, r, &n)) == NULL) {
			default_used = true;
			continue;
		}
		for (size_t k = 0; k < n; k++)
			if ((rc = fn(&own[k].p, arg)) != 0)
				return rc;
	}
	for (size_t i = 0; default_used && i < cfg->n_prefixes; i++)
		if ((rc = fn(&cfg->prefixes[i].p, arg)) != 0)
			return rc;
	return 0;
}

struct find {
	const uint8_t *qname;
	size_t qname_len;
	struct revzone_match best;
};

static int find_one(const struct nat64_prefix *p, void *arg)
{
	struct find *f = arg;
	struct revzone_match m;

	if (revzone_classify(p, f->qname, f->qname_len, &m) != REVZONE_OUTSIDE &&
	    (f->best.kind == REVZONE_OUTSIDE || p->len > f->best.prefix->len))
		f->best = m;
	return 0;
}

enum revzone_kind revzone_find(const struct config *cfg, const struct acl_rule *rule, const uint8_t *qname,
                               size_t qname_len, struct revzone_match *m)
{
	struct find f = {.qname = qname, .qname_len = qname_len};

	/* most names are not under ip6.arpa: one look at the name's end, not one per prefix */
	memset(m, 0, sizeof(*m));
	if (qname_len < sizeof(ip6_arpa) || !ends_ip6_arpa(qname, qname_len, qname_len - sizeof(ip6_arpa)))
		return m->kind = REVZONE_OUTSIDE;
	revzone_foreach_prefix(cfg, rule, find_one, &f);
	*m = f.best;
	return m->kind;
}

size_t revzone_ptr_target(const struct config *cfg, const struct acl_rule *rule, const uint8_t *qname, size_t qname_len,
                          uint8_t *target)
{
	struct revzone_match m;

	if (revzone_find(cfg, rule, qname, qname_len, &m) != REVZONE_ADDRESS)
		return 0;
	return dns64_ptr_target(m.prefix, qname, qname_len, target);
}
