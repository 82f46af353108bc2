/* errbuf.c - accumulated error messages, one "FILE:LINE: message" per line */
#include "dns64d/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

void errbuf_add(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (e == NULL)
		return;
	e->count++;
	if (e->len >= sizeof(e->text) - 1)
		return;
	room = sizeof(e->text) - e->len;
	va_start(ap, fmt);
	n = vsnprintf(e->text + e->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		e->text[e->len] = '\0';
		return;
	}
	if ((size_t)n >= room - 1) {
		/* truncated: keep the line ending so the text stays one message per line */
		e->len = sizeof(e->text) - 1;
		e->text[e->len - 1] = '\n';
		e->text[e->len] = '\0';
		return;
	}
	e->len += (size_t)n;
	e->text[e->len++] = '\n';
	e->text[e->len] = '\0';
}
