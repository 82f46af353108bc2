/* pref64.c - the NAT64 prefixes routers advertise (RFC 8781 PREF64 in RAs); pure, no I/O */
#include "dns64d/pref64.h"

#include <errno.h>
#include <string.h>

#define RA_TYPE       134
#define RA_HEADER_LEN 16 /* type, code, checksum, hop limit, flags, router lifetime, reachable, retrans */

/* RFC 8781 §4: Prefix Length Code 0..5 */
static const unsigned plc_len[] = {96, 64, 56, 48, 40, 32};

static int len_to_plc(unsigned len)
{
	for (int i = 0; i < (int)(sizeof(plc_len) / sizeof(plc_len[0])); i++)
		if (plc_len[i] == len)
			return i;
	return -1;
}

/* One PREF64 option of olen bytes at o; false when it must be ignored. */
static bool parse_option(const uint8_t *o, size_t olen, struct pref64_option *out)
{
	if (olen != 16) /* RFC 8781 §4: Length 2, ignore the option otherwise */
		return false;
	unsigned word = (unsigned)o[2] << 8 | o[3];
	unsigned plc = word & 7u;
	if (plc >= sizeof(plc_len) / sizeof(plc_len[0]))
		return false;
	memset(out, 0, sizeof(*out));
	out->prefix.len = plc_len[plc];
	out->lifetime_s = (word >> 3) * 8u;
	memcpy(out->prefix.addr, o + 4, out->prefix.len / 8);
	/* bits past the length are the sender's to zero and ours to ignore: left zero above */
	if (out->prefix.len == 96 && out->prefix.addr[8] != 0)
		return false; /* RFC 6052 §2.2: the u-octet is zero; no valid address has it set */
	return true;
}

int pref64_parse_ra(const uint8_t *msg, size_t len, struct pref64_ra *out)
{
	memset(out, 0, sizeof(*out));
	if (len < RA_HEADER_LEN || msg[0] != RA_TYPE || msg[1] != 0)
		return -EINVAL;
	/* RFC 4861 §6.1.2: one option of length 0 or past the end makes the whole RA invalid,
	 * so the whole list is checked before anything in it is taken */
	for (size_t off = RA_HEADER_LEN; off < len;) {
		if (len - off < 2 || msg[off + 1] == 0 || (size_t)msg[off + 1] * 8 > len - off)
			return -EINVAL;
		off += (size_t)msg[off + 1] * 8;
	}
	for (size_t off = RA_HEADER_LEN; off < len; off += (size_t)msg[off + 1] * 8) {
		if (msg[off] != PREF64_OPTION_TYPE)
			continue;
		struct pref64_option o;
		if (!parse_option(msg + off, (size_t)msg[off + 1] * 8, &o) || out->n == PREF64_OPTIONS_MAX)
			out->ignored++;
		else
			out->opt[out->n++] = o;
	}
	return 0;
}

int pref64_build_option(const struct nat64_prefix *p, uint32_t lifetime_s, uint8_t out[16])
{
	int plc = len_to_plc(p->len);
	if (plc < 0)
		return -EINVAL;
	uint32_t units = lifetime_s / 8 + (lifetime_s % 8 != 0);
	if (units > PREF64_LIFETIME_MAX / 8)
		units = PREF64_LIFETIME_MAX / 8;
	unsigned word = (unsigned)units << 3 | (unsigned)plc;
	memset(out, 0, 16);
	out[0] = PREF64_OPTION_TYPE;
	out[1] = 2;
	out[2] = (uint8_t)(word >> 8);
	out[3] = (uint8_t)word;
	memcpy(out + 4, p->addr, p->len / 8);
	return 0;
}

bool pref64_differ(const struct nat64_prefix *a, const struct nat64_prefix *b)
{
	return a->len != b->len || memcmp(a->addr, b->addr, sizeof(a->addr)) != 0;
}

static struct pref64_entry *find(struct pref64_table *t, unsigned iface, const struct nat64_prefix *p)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].iface == iface && !pref64_differ(&t->e[i].prefix, p))
			return &t->e[i];
	return NULL;
}

static void remove_at(struct pref64_table *t, size_t i)
{
	t->e[i] = t->e[--t->n];
}

void pref64_table_update(struct pref64_table *t, unsigned iface, const struct pref64_ra *ra, uint64_t now_ms)
{
	/* last option first, so that the first one ends up the most recent */
	for (size_t k = ra->n; k-- > 0;) {
		const struct pref64_option *o = &ra->opt[k];
		struct pref64_entry *e = find(t, iface, &o->prefix);
		if (o->lifetime_s == 0) {
			if (e)
				remove_at(t, (size_t)(e - t->e));
			continue;
		}
		if (!e && t->n < PREF64_TABLE_MAX)
			e = &t->e[t->n++];
		else if (!e) {
			e = &t->e[0];
			for (size_t i = 1; i < t->n; i++)
				if (t->e[i].expires_ms < e->expires_ms)
					e = &t->e[i];
		}
		e->prefix = o->prefix;
		e->iface = iface;
		e->expires_ms = now_ms + (uint64_t)o->lifetime_s * 1000u;
		e->order = ++t->next_order;
	}
}

unsigned pref64_table_expire(struct pref64_table *t, uint64_t now_ms)
{
	unsigned n = 0;
	for (size_t i = t->n; i-- > 0;)
		if (t->e[i].expires_ms <= now_ms) {
			remove_at(t, i);
			n++;
		}
	return n;
}

const struct pref64_entry *pref64_table_current(const struct pref64_table *t, uint64_t now_ms)
{
	const struct pref64_entry *best = NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].expires_ms > now_ms && (!best || t->e[i].order > best->order))
			best = &t->e[i];
	return best;
}

uint64_t pref64_table_next_expiry(const struct pref64_table *t)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].expires_ms < next)
			next = t->e[i].expires_ms;
	return next;
}
