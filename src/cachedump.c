/* cachedump.c - the text form of cache dumps: one cached answer to a line and back; pure */
#include "dns64d/cachedump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "dns64d/cache.h"
#include "dns64d/wire.h"

#define MAX_TTL 86400 /* as upstream.c stores answers */

void dumpbuf_vprintf(struct dumpbuf *b, const char *fmt, va_list ap)
{
	while (b->err == 0) {
		va_list aq;
		va_copy(aq, ap);
		int n = vsnprintf(b->text ? b->text + b->len : NULL, b->text ? b->cap - b->len : 0, fmt, aq);
		va_end(aq);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->text && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n + 4096;
		char *t = realloc(b->text, cap);
		if (!t) {
			b->err = -ENOMEM;
			return;
		}
		b->text = t;
		b->cap = cap;
	}
}

void dumpbuf_printf(struct dumpbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dumpbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void cachedump_header(struct dumpbuf *b, time_t now)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	dumpbuf_printf(b, "# dns64d cache dump %d written %04d-%02d-%02dT%02d:%02d:%02dZ\n", CACHEDUMP_VERSION,
	               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	dumpbuf_printf(b, "# NAME TYPE CLASS FLAGS TTL EDE MESSAGE(base64); '#' lines are comments\n");
	dumpbuf_printf(b, "time %lld\n", (long long)now);
}

static const struct {
	const char *name;
	uint8_t bit;
} flag_names[] = {{"rd", CACHE_F_RD}, {"do", CACHE_F_DO}, {"cd", CACHE_F_CD}};

#define PLAIN_FLAGS (CACHE_F_RD | CACHE_F_DO | CACHE_F_CD)

/* The records of a stored message as comment lines, for a person reading the dump. */
static void comment_records(struct dumpbuf *b, const uint8_t *wire, size_t len)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
		dumpbuf_printf(b, "# (message not readable by ldns)\n");
		return;
	}
	if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(p) == 0) {
		char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(p));
		dumpbuf_printf(b, "# %s%s\n", rc ? rc : "?", ldns_pkt_ancount(p) == 0 ? ", no answer records" : "");
		free(rc);
	}
	ldns_rr_list *lists[] = {ldns_pkt_answer(p), ldns_pkt_authority(p), ldns_pkt_additional(p)};
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < ldns_rr_list_rr_count(lists[l]); i++) {
			char *s = ldns_rr2str(ldns_rr_list_rr(lists[l], i));
			if (!s)
				continue;
			size_t n = strlen(s);
			while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
				n--;
			for (size_t k = 0; k < n; k++)
				if (s[k] == '\n')
					s[k] = ' ';
			dumpbuf_printf(b, "# %.*s\n", (int)n, s);
			free(s);
		}
	ldns_pkt_free(p);
}

static void age_ttls(const struct msg_meta *m, uint8_t *wire, uint32_t by)
{
	const uint16_t *offs = msg_ttl_offsets(m);
	for (unsigned i = 0; by && i < m->n_ttl; i++) {
		uint32_t t = rd32(wire + offs[i]);
		wr32(wire + offs[i], t > by ? t - by : 0);
	}
}

int cachedump_entry(struct dumpbuf *b, const uint8_t *key, size_t key_len, const void *value, size_t value_len,
                    uint32_t remaining_s, uint32_t age_s)
{
	size_t qlen;
	uint16_t qtype, qclass;
	uint8_t flags;
	if (cache_key_split(key, key_len, &qlen, &qtype, &qclass, &flags) < 0)
		return -EINVAL;
	if ((flags & ~PLAIN_FLAGS) || key_len != qlen + 5)
		return -ENOTSUP;
	const struct msg_meta *m = value;
	if (value_len < sizeof(*m) || msg_stored_size(m) != value_len || m->msg_len < DNS_HDR)
		return -EINVAL;

	static _Thread_local uint8_t wire[DNS_MAX_MSG];
	memcpy(wire, msg_wire(m), m->msg_len);
	/* age by at least what the entry lost, so no record outlives the remaining TTL written
	 * beside it (both are whole seconds, rounded differently) */
	if (m->ttl > remaining_s && m->ttl - remaining_s > age_s)
		age_s = m->ttl - remaining_s;
	age_ttls(m, wire, age_s);

	char name[1024], fl[16] = "", ede[8] = "-";
	char *type = ldns_rr_type2str((ldns_rr_type)qtype), *class = ldns_rr_class2str((ldns_rr_class)qclass);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flags & flag_names[i].bit) {
			if (fl[0])
				strcat(fl, ",");
			strcat(fl, flag_names[i].name);
		}
	if (m->ede != EDE_NONE)
		snprintf(ede, sizeof(ede), "%u", m->ede);
	size_t b64len = sodium_base64_ENCODED_LEN(m->msg_len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64len);
	if (!b64 || !type || !class) {
		free(b64);
		free(type);
		free(class);
		b->err = -ENOMEM;
		return -ENOMEM;
	}
	sodium_bin2base64(b64, b64len, wire, m->msg_len, sodium_base64_VARIANT_ORIGINAL);
	dumpbuf_printf(b, "%s %s %s %s %u %s %s\n", wire_name_to_text(key, qlen, name), type, class, fl[0] ? fl : "-",
	               remaining_s, ede, b64);
	free(b64);
	free(type);
	free(class);
	comment_records(b, wire, m->msg_len);
	return b->err;
}

static int fail(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* FLAGS field: "-" or a comma list of flag_names into *flags; -EINVAL on an unknown one. */
static int parse_flags(char *text, uint8_t *flags)
{
	char *save = NULL;
	if (strcmp(text, "-") == 0)
		return 0;
	for (char *f = strtok_r(text, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof(flag_names) / sizeof(flag_names[0]) && strcmp(f, flag_names[i].name) != 0)
			i++;
		if (i == sizeof(flag_names) / sizeof(flag_names[0]))
			return -EINVAL;
		*flags |= flag_names[i].bit;
	}
	return 0;
}

/* NAME field to wire format in qname (DNS_MAX_NAME + 1 bytes); NULL, or what is wrong. */
static const char *parse_name(const char *text, uint8_t *qname, size_t *qlen)
{
	ldns_rdf *dname = NULL;
	if (ldns_str2rdf_dname(&dname, text) != LDNS_STATUS_OK || !dname)
		return "bad name";
	*qlen = ldns_rdf_size(dname);
	if (*qlen > DNS_MAX_NAME) {
		ldns_rdf_deep_free(dname);
		return "name too long";
	}
	memcpy(qname, ldns_rdf_data(dname), *qlen);
	ldns_rdf_deep_free(dname);
	return NULL;
}

/* Seconds since the dump was written (its time line), at most MAX_TTL; 0 if unknown. */
static uint32_t dump_age(const struct cachedump_reader *r)
{
	if (!r->dumped_at || r->now <= r->dumped_at)
		return 0;
	return r->now - r->dumped_at > MAX_TTL ? MAX_TTL : (uint32_t)(r->now - r->dumped_at);
}

int cachedump_parse(struct cachedump_reader *r, char *line, uint8_t *key, size_t *key_len, uint8_t *value,
                    size_t value_cap, size_t *value_len, uint32_t *ttl_s, const char **why)
{
	char *tok[8] = {NULL}, *save = NULL;
	int n = 0;
	size_t len = strlen(line);
	if (len && line[len - 1] == '\r')
		line[--len] = 0;
	line += strspn(line, " \t");
	if (line[0] == 0 || line[0] == '#')
		return 0;
	for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n == 8)
			return fail(why, "too many fields (want NAME TYPE CLASS FLAGS TTL EDE MESSAGE)");
		tok[n++] = t;
	}
	unsigned long long v;
	if (strcmp(tok[0], "time") == 0) {
		if (n != 2 || parse_uint(tok[1], (unsigned long long)INT64_MAX, &v) < 0)
			return fail(why, "bad time line (want: time SECONDS)");
		r->dumped_at = (time_t)v;
		return 0;
	}
	if (n != 7)
		return fail(why, "wrong number of fields (want NAME TYPE CLASS FLAGS TTL EDE MESSAGE)");

	uint8_t qname[DNS_MAX_NAME + 1];
	size_t qlen;
	const char *bad = parse_name(tok[0], qname, &qlen);
	if (bad)
		return fail(why, bad);
	uint16_t qtype = (uint16_t)ldns_get_rr_type_by_name(tok[1]);
	uint16_t qclass = (uint16_t)ldns_get_rr_class_by_name(tok[2]);
	if (qtype == 0)
		return fail(why, "bad type");
	if (qclass == 0)
		return fail(why, "bad class");
	uint8_t flags = 0;
	if (parse_flags(tok[3], &flags) < 0)
		return fail(why, "bad flags (want - or a list of rd, do, cd)");
	if (parse_uint(tok[4], MAX_TTL, &v) < 0)
		return fail(why, "bad TTL (0..86400)");
	uint32_t ttl = (uint32_t)v;
	uint16_t ede = EDE_NONE;
	if (strcmp(tok[5], "-") != 0) {
		if (parse_uint(tok[5], 0xfffe, &v) < 0)
			return fail(why, "bad EDE code");
		ede = (uint16_t)v;
	}
	static _Thread_local uint8_t wire[DNS_MAX_MSG];
	size_t wlen;
	if (sodium_base642bin(wire, sizeof(wire), tok[6], strlen(tok[6]), NULL, &wlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return fail(why, "bad base64 message");
	if (wire_store(wire, wlen, MAX_TTL, value, value_cap) < 0)
		return fail(why, "not a valid DNS message");
	struct msg_meta *m = (struct msg_meta *)(void *)value;
	const uint8_t *mw = msg_wire(m);
	uint8_t name[DNS_MAX_NAME];
	int nlen;
	if (rd16(mw + 4) != 1 || (nlen = wire_read_name(mw, m->msg_len, DNS_HDR, name)) < 0 ||
	    DNS_HDR + (size_t)nlen + 4 > m->msg_len || !wire_name_equal(name, (size_t)nlen, qname, qlen) ||
	    rd16(mw + DNS_HDR + nlen) != qtype || rd16(mw + DNS_HDR + nlen + 2) != qclass)
		return fail(why, "the message does not answer NAME TYPE CLASS");

	uint32_t age = dump_age(r);
	if (ttl <= age) {
		r->expired++;
		return 0;
	}
	ttl -= age;
	age_ttls(m, (uint8_t *)mw, age);
	m->ttl = ttl;
	m->ede = ede;
	*value_len = msg_stored_size(m);
	*key_len = cache_key(key, qname, qlen, qtype, qclass, flags, NULL, 0);
	if (*key_len == 0)
		return fail(why, "name too long for a cache key");
	*ttl_s = ttl;
	r->entries++;
	return 1;
}
