/* localdata.c - local-data records, hosts files and the RFC 6303 zone list; pure, no I/O */
#include "dns64d/localdata.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 128 /* a 255-byte name has at most 127 labels */
#define MAX_TLDS   16  /* distinct top-level labels the pre-check compares; more: always maybe */
#define SPACE      " \t\r\f\v"

struct rec {
	ldns_rr *rr;    /* owner lowercased */
	size_t seq;     /* order of adding: the first of two duplicates stays */
	bool hosts_ptr; /* the PTR of a hosts line: only the first line of an address gives one */
};

/* One local name: its records are rrs[first .. first + n). */
struct name_ix {
	const uint8_t *owner; /* lowercase wire, the first record's owner */
	size_t len;
	size_t first, n;
};

struct localdata {
	struct rec *recs;
	size_t n_recs, cap_recs, seq;
	ldns_rr **rrs; /* recs[i].rr after localdata_finish(), for localdata_find() */
	struct name_ix *names;
	size_t n_names;
	uint8_t tlds[MAX_TLDS][64]; /* length-prefixed lowercase labels */
	size_t n_tlds;
	bool many_tlds;
};

/* ---- names ------------------------------------------------------------------------------ */

/* Offsets of the labels of a wire name (the root label not counted); -1 when malformed. */
static int label_offsets(const uint8_t *name, size_t len, uint8_t off[MAX_LABELS])
{
	size_t pos = 0;
	int n = 0;
	while (pos < len && name[pos]) {
		if (n == MAX_LABELS || pos + 1u + name[pos] >= len)
			return -1;
		off[n++] = (uint8_t)pos;
		pos += 1u + name[pos];
	}
	return pos < len ? n : -1;
}

static void lower(const uint8_t *name, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)tolower(name[i]);
}

/* RFC 4034 §6.1 canonical order of two lowercase wire names: label by label from the right,
 * so that the names under a name sort right after it. */
static int canon_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t oa[MAX_LABELS], ob[MAX_LABELS];
	int na = label_offsets(a, alen, oa), nb = label_offsets(b, blen, ob);
	for (int i = na - 1, j = nb - 1; i >= 0 && j >= 0; i--, j--) {
		const uint8_t *la = a + oa[i], *lb = b + ob[j];
		int c = memcmp(la + 1, lb + 1, la[0] < lb[0] ? la[0] : lb[0]);
		if (c)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return na < nb ? -1 : na > nb;
}

/* Is name (lowercase) anc (lowercase) or a name under it? */
static bool name_under(const uint8_t *name, size_t nlen, const uint8_t *anc, size_t alen)
{
	size_t pos = 0;
	while (nlen - pos > alen && name[pos])
		pos += 1u + name[pos];
	return nlen - pos == alen && memcmp(name + pos, anc, alen) == 0;
}

/* ---- adding ----------------------------------------------------------------------------- */

int localdata_new(struct localdata **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void localdata_free(struct localdata *ld)
{
	if (!ld)
		return;
	for (size_t i = 0; i < ld->n_recs; i++)
		ldns_rr_free(ld->recs[i].rr);
	free(ld->recs);
	free(ld->rrs);
	free(ld->names);
	free(ld);
}

size_t localdata_count(const struct localdata *ld)
{
	return ld ? ld->n_recs : 0;
}

/* Keep rr (ld owns it from here, or it is freed). */
static int add_rec(struct localdata *ld, ldns_rr *rr, bool hosts_ptr)
{
	if (!rr)
		return -ENOMEM;
	if (ld->n_recs == ld->cap_recs) {
		size_t cap = ld->cap_recs ? ld->cap_recs * 2 : 64;
		struct rec *r = realloc(ld->recs, cap * sizeof(*r));
		if (!r) {
			ldns_rr_free(rr);
			return -ENOMEM;
		}
		ld->recs = r;
		ld->cap_recs = cap;
	}
	ldns_dname2canonical(ldns_rr_owner(rr));
	ld->recs[ld->n_recs++] = (struct rec){rr, ld->seq++, hosts_ptr};
	return 0;
}

static int add(struct localdata *ld, ldns_rr *rr)
{
	return add_rec(ld, rr, false);
}

static bool meta_type(ldns_rr_type t)
{
	return t == 0 || t == LDNS_RR_TYPE_OPT || (t >= 128 && t <= 255);
}

int localdata_add_rr(struct localdata *ld, const char *text, char *why, size_t len)
{
	ldns_rr *rr = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	if (!origin)
		return -ENOMEM;
	ldns_status st = ldns_rr_new_frm_str(&rr, text, LOCALDATA_TTL, origin, NULL);
	ldns_rdf_deep_free(origin);
	if (st == LDNS_STATUS_MEM_ERR)
		return -ENOMEM;
	if (st != LDNS_STATUS_OK || !rr) {
		snprintf(why, len, "%s", ldns_get_errorstr_by_id(st));
		return -EINVAL;
	}
	ldns_rr_type t = ldns_rr_get_type(rr);
	const ldns_rr_descriptor *d = ldns_rr_descript(t);
	const ldns_rdf *owner = ldns_rr_owner(rr);
	const uint8_t *o = ldns_rdf_data(owner);
	const char *bad = NULL;
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		bad = "only class IN can be local data";
	else if (meta_type(t))
		bad = "a meta type cannot be local data";
	else if (d && ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d))
		bad = "the record data is incomplete";
	else if (ldns_rdf_size(owner) > 1 && o[0] == 1 && o[1] == '*')
		bad = "wildcards are not supported: give each name";
	if (bad) {
		snprintf(why, len, "%s", bad);
		ldns_rr_free(rr);
		return -EINVAL;
	}
	return add(ld, rr);
}

/* ---- hosts files ------------------------------------------------------------------------ */

/* A record of owner (consumed) with one rdata field (consumed). */
static ldns_rr *rr_new(ldns_rdf *owner, ldns_rr_type type, ldns_rdf *rd)
{
	ldns_rr *rr = owner && rd ? ldns_rr_new() : NULL;
	if (!rr || !ldns_rr_push_rdf(rr, rd)) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(rd);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, type);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, LOCALDATA_TTL);
	return rr;
}

/* The reverse name of an address, "d.c.b.a.in-addr.arpa." or the 32 nibbles of ip6.arpa. */
static ldns_rdf *reverse_name(const uint8_t *addr, size_t alen)
{
	char text[80];
	size_t n = 0;
	if (alen == 4)
		snprintf(text, sizeof(text), "%u.%u.%u.%u.in-addr.arpa.", addr[3], addr[2], addr[1], addr[0]);
	else {
		static const char hex[] = "0123456789abcdef";
		for (int i = 15; i >= 0; i--) {
			text[n++] = hex[addr[i] & 15];
			text[n++] = '.';
			text[n++] = hex[addr[i] >> 4];
			text[n++] = '.';
		}
		snprintf(text + n, sizeof(text) - n, "ip6.arpa.");
	}
	return ldns_dname_new_frm_str(text);
}

/* A host name of a hosts file: letters, digits, '-' and '_' in dot-separated labels. */
static bool host_name_ok(const char *s)
{
	size_t label = 0, total = strlen(s);
	if (total == 0 || total > (s[total - 1] == '.' ? 254u : 253u))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return true;
}

/* The records of one hosts line whose address and names were checked. */
static int hosts_names(char **names, size_t n, const uint8_t *addr, size_t alen, struct localdata *ld)
{
	for (size_t i = 0; i < n; i++) {
		ldns_rdf *rd = ldns_rdf_new_frm_data(alen == 4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, alen, addr);
		int rc = add(ld, rr_new(ldns_dname_new_frm_str(names[i]),
		                        alen == 4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA, rd));
		if (rc < 0)
			return rc;
	}
	ldns_rdf *target = ldns_dname_new_frm_str(names[0]);
	if (target)
		ldns_dname2canonical(target);
	/* as gethostbyaddr() reads /etc/hosts: the first line with the address names it (and a
	 * blocklist of many names on 0.0.0.0 gives one PTR, not thousands) */
	return add_rec(ld, rr_new(reverse_name(addr, alen), LDNS_RR_TYPE_PTR, target), true);
}

#define HOSTS_NAMES_MAX 64 /* names on one line */

/* One line of a hosts file (comment already cut). 0 also for a blank line. */
static int hosts_line(struct localdata *ld, char *line, char *why, size_t len)
{
	char *save = NULL, *addr = strtok_r(line, SPACE, &save), *names[HOSTS_NAMES_MAX];
	uint8_t raw[16];
	size_t alen = 4, n = 0;
	if (!addr)
		return 0;
	if (strchr(addr, '%')) {
		snprintf(why, len, "address '%s' has a zone id, which a DNS answer cannot carry", addr);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, addr, raw) != 1) {
		alen = 16;
		if (inet_pton(AF_INET6, addr, raw) != 1) {
			snprintf(why, len, "bad address '%s'", addr);
			return -EINVAL;
		}
	}
	for (char *name; (name = strtok_r(NULL, SPACE, &save));) {
		if (!host_name_ok(name)) {
			snprintf(why, len, "bad host name '%.255s'", name);
			return -EINVAL;
		}
		if (n == HOSTS_NAMES_MAX) {
			snprintf(why, len, "more than %d names on one line", HOSTS_NAMES_MAX);
			return -EINVAL;
		}
		names[n++] = name;
	}
	if (n == 0) {
		snprintf(why, len, "no host name after address '%s'", addr);
		return -EINVAL;
	}
	return hosts_names(names, n, raw, alen, ld);
}

int localdata_add_hosts(struct localdata *ld, const char *path, const char *text, struct errbuf *err)
{
	unsigned line = 0, errors = 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char *copy = strndup(p, n), why[320];
		if (!copy)
			return -ENOMEM;
		line++;
		char *hash = strchr(copy, '#');
		if (hash)
			*hash = '\0';
		int rc = hosts_line(ld, copy, why, sizeof(why));
		free(copy);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			errbuf_add(err, "%s:%u: %s", path, line, why);
			errors++;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return errors ? -EINVAL : 0;
}

/* ---- the index -------------------------------------------------------------------------- */

static int rdata_cmp(const ldns_rr *a, const ldns_rr *b)
{
	size_t na = ldns_rr_rd_count(a), nb = ldns_rr_rd_count(b);
	for (size_t i = 0; i < na && i < nb; i++) {
		int c = ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i));
		if (c)
			return c;
	}
	return na < nb ? -1 : na > nb;
}

/* Owner, type, then local-data before hosts PTRs, then data: equal keys are duplicates, and
 * so are all the hosts PTRs of one name (rec_cmp puts the first line's first). */
static int key_cmp(const struct rec *x, const struct rec *y)
{
	const ldns_rdf *a = ldns_rr_owner(x->rr), *b = ldns_rr_owner(y->rr);
	int c = canon_cmp(ldns_rdf_data(a), ldns_rdf_size(a), ldns_rdf_data(b), ldns_rdf_size(b));
	if (c)
		return c;
	if (ldns_rr_get_type(x->rr) != ldns_rr_get_type(y->rr))
		return ldns_rr_get_type(x->rr) < ldns_rr_get_type(y->rr) ? -1 : 1;
	if (x->hosts_ptr != y->hosts_ptr)
		return x->hosts_ptr ? 1 : -1;
	return x->hosts_ptr ? 0 : rdata_cmp(x->rr, y->rr);
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *x = pa, *y = pb;
	int c = key_cmp(x, y);
	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void note_tld(struct localdata *ld, const uint8_t *owner, size_t len)
{
	uint8_t off[MAX_LABELS];
	int n = label_offsets(owner, len, off);
	const uint8_t *l = n > 0 ? owner + off[n - 1] : owner; /* the root: its empty label */
	for (size_t i = 0; i < ld->n_tlds; i++)
		if (memcmp(ld->tlds[i], l, 1u + l[0]) == 0)
			return;
	if (ld->n_tlds == MAX_TLDS)
		ld->many_tlds = true;
	else
		memcpy(ld->tlds[ld->n_tlds++], l, 1u + l[0]);
}

int localdata_finish(struct localdata *ld)
{
	if (!ld)
		return 0;
	if (ld->n_recs > 1)
		qsort(ld->recs, ld->n_recs, sizeof(*ld->recs), rec_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < ld->n_recs; i++) {
		if (kept && key_cmp(&ld->recs[kept - 1], &ld->recs[i]) == 0)
			ldns_rr_free(ld->recs[i].rr);
		else
			ld->recs[kept++] = ld->recs[i];
	}
	ld->n_recs = kept;
	free(ld->rrs);
	free(ld->names);
	ld->names = NULL;
	ld->n_names = ld->n_tlds = 0;
	ld->many_tlds = false;
	ld->rrs = malloc((kept ? kept : 1) * sizeof(*ld->rrs));
	ld->names = malloc((kept ? kept : 1) * sizeof(*ld->names));
	if (!ld->rrs || !ld->names)
		return -ENOMEM;
	for (size_t i = 0; i < kept; i++) {
		const ldns_rdf *o = ldns_rr_owner(ld->recs[i].rr);
		struct name_ix *last = ld->n_names ? &ld->names[ld->n_names - 1] : NULL;
		ld->rrs[i] = ld->recs[i].rr;
		if (last && last->len == ldns_rdf_size(o) && memcmp(last->owner, ldns_rdf_data(o), last->len) == 0) {
			last->n++;
			continue;
		}
		ld->names[ld->n_names++] = (struct name_ix){ldns_rdf_data(o), ldns_rdf_size(o), i, 1};
		note_tld(ld, ldns_rdf_data(o), ldns_rdf_size(o));
	}
	return 0;
}

/* ---- lookups ---------------------------------------------------------------------------- */

/* The first name not before name (lowercase), in canonical order. */
static size_t lower_bound(const struct localdata *ld, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = ld->n_names;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (canon_cmp(ld->names[mid].owner, ld->names[mid].len, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool localdata_maybe(const struct localdata *ld, const uint8_t *name, size_t len)
{
	if (!ld || !ld->n_names)
		return false;
	if (ld->many_tlds)
		return true;
	/* on the hot path: no label array, just the last label */
	size_t pos = 0, last = 0;
	while (pos < len && name[pos]) {
		last = pos;
		pos += 1u + name[pos];
	}
	if (pos >= len)
		return false;
	const uint8_t *l = name + last;
	for (size_t i = 0; i < ld->n_tlds; i++)
		if (ld->tlds[i][0] == l[0] &&
		    strncasecmp((const char *)ld->tlds[i] + 1, (const char *)l + 1, l[0]) == 0)
			return true;
	return false;
}

bool localdata_find(const struct localdata *ld, const uint8_t *name, size_t len, ldns_rr *const **rrs, size_t *n)
{
	uint8_t low[256];
	if (!ld || !ld->n_names || len > sizeof(low))
		return false;
	lower(name, len, low);
	size_t i = lower_bound(ld, low, len);
	if (i == ld->n_names || ld->names[i].len != len || memcmp(ld->names[i].owner, low, len) != 0)
		return false;
	*rrs = ld->rrs + ld->names[i].first;
	*n = ld->names[i].n;
	return true;
}

bool localdata_covers(const struct localdata *ld, const uint8_t *name, size_t len)
{
	uint8_t low[256];
	if (!ld || !ld->n_names || len > sizeof(low))
		return false;
	lower(name, len, low);
	size_t i = lower_bound(ld, low, len);
	return i < ld->n_names && name_under(ld->names[i].owner, ld->names[i].len, low, len);
}

/* ---- RFC 6303 --------------------------------------------------------------------------- */

/* A decimal octet label, as in-addr.arpa writes them (no leading zeros); -1 otherwise. */
static int octet(const uint8_t *l)
{
	if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
		return -1;
	int v = 0;
	for (unsigned i = 1; i <= l[0]; i++) {
		if (l[i] < '0' || l[i] > '9')
			return -1;
		v = v * 10 + (l[i] - '0');
	}
	return v <= 255 ? v : -1;
}

/* A one-nibble label of ip6.arpa; -1 otherwise. */
static int nibble(const uint8_t *l)
{
	if (l[0] != 1 || !isxdigit(l[1]))
		return -1;
	return isdigit(l[1]) ? l[1] - '0' : tolower(l[1]) - 'a' + 10;
}

static bool label_is(const uint8_t *l, const char *s)
{
	return l[0] == strlen(s) && strncasecmp((const char *)l + 1, s, l[0]) == 0;
}

/* How many labels (after in-addr.arpa) the zone holding octets o[0..m) has; 0: none. */
static int v4_zone(const int *o, int m)
{
	if (m >= 1 && (o[0] == 10 || o[0] == 127 || o[0] == 0))
		return 1;
	if (m >= 2 && ((o[0] == 172 && o[1] >= 16 && o[1] <= 31) || (o[0] == 192 && o[1] == 168) ||
	               (o[0] == 169 && o[1] == 254) || (o[0] == 100 && o[1] >= 64 && o[1] <= 127)))
		return 2;
	if (m >= 3 && ((o[0] == 192 && o[1] == 0 && o[2] == 2) || (o[0] == 198 && o[1] == 51 && o[2] == 100) ||
	               (o[0] == 203 && o[1] == 0 && o[2] == 113)))
		return 3;
	if (m == 4 && o[0] == 255 && o[1] == 255 && o[2] == 255 && o[3] == 255)
		return 4;
	return 0;
}

/* Likewise for nibbles x[0..m) after ip6.arpa. */
static int v6_zone(const int *x, int m)
{
	static const int doc[8] = {2, 0, 0, 1, 0, 0xd, 0xb, 8}; /* 2001:db8::/32 */
	if (m >= 2 && x[0] == 0xf && x[1] == 0xd)
		return 2; /* fd00::/8 */
	if (m >= 3 && x[0] == 0xf && x[1] == 0xe && x[2] >= 8 && x[2] <= 0xb)
		return 3; /* fe80::/10 */
	if (m >= 8 && memcmp(x, doc, sizeof(doc)) == 0)
		return 8;
	if (m == 32) {
		for (int i = 0; i < 31; i++)
			if (x[i])
				return 0;
		return x[31] <= 1 ? 32 : 0; /* :: and ::1 */
	}
	return 0;
}

bool localdata_reverse_zone_match(const uint8_t *name, size_t len, size_t *apex_off)
{
	uint8_t off[MAX_LABELS];
	int n = label_offsets(name, len, off), v[32], m = 0, k;
	if (n < 3 || !label_is(name + off[n - 1], "arpa"))
		return false;
	const uint8_t *l2 = name + off[n - 2];
	if (label_is(l2, "in-addr")) {
		while (m < 4 && m < n - 2 && (v[m] = octet(name + off[n - 3 - m])) >= 0)
			m++;
		k = v4_zone(v, m);
	} else if (label_is(l2, "ip6")) {
		while (m < 32 && m < n - 2 && (v[m] = nibble(name + off[n - 3 - m])) >= 0)
			m++;
		k = v6_zone(v, m);
	} else
		return false;
	if (!k)
		return false;
	*apex_off = off[n - 2 - k];
	return true;
}
