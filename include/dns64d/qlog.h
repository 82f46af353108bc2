/* qlog.h - one query log record as text, logfmt or JSON; pure, no I/O
 *
 * The request driver fills the fields (every one, for every outcome: a dash where a field
 * does not apply) and the chosen format renders them into one line:
 *   text    query client '127.0.0.1:5353' name 'a.example.' ... latency_ms 3
 *   logfmt  msg=query client=127.0.0.1:5353 name=a.example. ... latency_ms=3
 *   json    {"msg":"query","client":"127.0.0.1:5353",...,"latency_ms":3}
 * Keys are fixed lowercase words; values are any bytes and are quoted and escaped as each
 * format needs (logfmt: double quotes when empty or holding a space, '=', '"' or a control
 * character; JSON: RFC 8259 string escapes).
 */
#ifndef DNS64D_QLOG_H
#define DNS64D_QLOG_H

#include <stdbool.h>
#include <stddef.h>

enum qlog_format { QLOG_TEXT = 0, QLOG_LOGFMT, QLOG_JSON };

struct qlog_field {
	const char *key;
	const char *value;
	bool number; /* a decimal number: unquoted in every format */
};

/* Render n fields as one line (no newline) into out (len bytes, NUL-terminated, cut short
 * when too small). Returns the length written. */
size_t qlog_format(enum qlog_format f, const struct qlog_field *fields, size_t n, char *out, size_t len);

#endif
