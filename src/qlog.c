/* qlog.c - one query log record as text, logfmt or JSON; pure, no I/O */
#include "dns64d/qlog.h"

#include <stdio.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, n;
};

static void put(struct out *o, const char *s, size_t k)
{
	if (o->n + 1 >= o->len)
		return;
	if (k > o->len - 1 - o->n)
		k = o->len - 1 - o->n;
	memcpy(o->buf + o->n, s, k);
	o->n += k;
	o->buf[o->n] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static bool logfmt_bare(const char *v)
{
	if (*v == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

/* A double-quoted string with \" \\ and control characters escaped (JSON rules, which a
 * logfmt reader also takes). */
static void quoted(struct out *o, const char *v)
{
	put(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(o, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			put(o, esc, 6);
		} else
			put(o, (const char *)p, 1);
	}
	put(o, "\"", 1);
}

size_t qlog_format(enum qlog_format f, const struct qlog_field *fields, size_t n, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	if (len == 0)
		return 0;
	buf[0] = '\0';
	switch (f) {
	case QLOG_TEXT: puts_(&o, "query"); break;
	case QLOG_LOGFMT: puts_(&o, "msg=query"); break;
	case QLOG_JSON: puts_(&o, "{\"msg\":\"query\""); break;
	}
	for (size_t i = 0; i < n; i++) {
		const struct qlog_field *fl = &fields[i];
		switch (f) {
		case QLOG_TEXT:
			/* the original format: key 'value', variable text in single quotes */
			puts_(&o, " ");
			puts_(&o, fl->key);
			puts_(&o, fl->number ? " " : " '");
			puts_(&o, fl->value);
			if (!fl->number)
				puts_(&o, "'");
			break;
		case QLOG_LOGFMT:
			puts_(&o, " ");
			puts_(&o, fl->key);
			puts_(&o, "=");
			if (fl->number || logfmt_bare(fl->value))
				puts_(&o, fl->value);
			else
				quoted(&o, fl->value);
			break;
		case QLOG_JSON:
			puts_(&o, ",");
			quoted(&o, fl->key);
			puts_(&o, ":");
			if (fl->number)
				puts_(&o, fl->value);
			else
				quoted(&o, fl->value);
			break;
		}
	}
	if (f == QLOG_JSON)
		puts_(&o, "}");
	return o.n;
}
