/* errbuf.h - accumulated error messages, one "FILE:LINE: message" per line */
#ifndef DNS64D_ERRBUF_H
#define DNS64D_ERRBUF_H

#include <stddef.h>

/* Accumulated error messages, one per line ("FILE:LINE: message\n"). */
struct errbuf {
	char text[4096];
	size_t len;
	unsigned count;
};

/* printf-style append of one error line (a newline is added). Silently truncates; count
 * counts every call, also those that no longer fit. e may be NULL (nothing happens). */
void errbuf_add(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
