/* cachedump.h - the text form of cache dumps: one cached answer to a line and back; pure
 *
 * A dump is what `dns64d-control dump-cache` writes and `load-cache` reads:
 *
 *     # dns64d cache dump 1 written 2026-12-01T20:30:00Z
 *     time 1796156600
 *     www.example.org. A IN rd 287 - AAABAAAB...
 *     # www.example.org. 287 IN A 192.0.2.1
 *
 * Lines starting with '#' and blank lines are comments (the dump adds the answer's records in
 * presentation form under each entry, for people). "time T" gives the dump's wall-clock time
 * (seconds since the epoch); TTLs of the entries after it are counted from then, so a dump
 * loaded an hour later loses an hour of TTL, and entries that ran out are skipped.
 * An entry: NAME TYPE CLASS FLAGS TTL EDE MESSAGE, where FLAGS is "-" or a comma-separated
 * list of rd, do, cd (the cache key's flags), TTL the seconds left, EDE the Extended DNS
 * Error code of the upstream answer or "-", and MESSAGE the stored DNS message (header,
 * question, answer, authority and additional sections, no OPT) in base64, with its TTLs as
 * at the time of the dump. Synthesized answers are not dumped: they are made again from the
 * A and AAAA answers, under the loading daemon's config.
 */
#ifndef DNS64D_CACHEDUMP_H
#define DNS64D_CACHEDUMP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CACHEDUMP_VERSION 1

/* A growing text buffer. */
struct dumpbuf {
	char *text;
	size_t len, cap;
	int err; /* -ENOMEM once an append failed; later appends do nothing */
};

/* Append printf-style text. */
void dumpbuf_printf(struct dumpbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dumpbuf_vprintf(struct dumpbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Append the header lines for a dump written at wall-clock time now. */
void cachedump_header(struct dumpbuf *b, time_t now);

/* Append one cache entry (key as built by cache_key(), value a stored message, struct
 * msg_meta) that has remaining_s seconds left and was stored age_s seconds ago. Returns 0,
 * -ENOTSUP for entries that are not dumped (synthesized answers, other non-plain keys), or
 * -EINVAL when key or value are not what the cache stores. */
int cachedump_entry(struct dumpbuf *b, const uint8_t *key, size_t key_len, const void *value, size_t value_len,
                    uint32_t remaining_s, uint32_t age_s);

/* State of a load, across lines. */
struct cachedump_reader {
	time_t now;       /* wall-clock time of the load */
	time_t dumped_at; /* from the "time" line; 0 = unknown (TTLs taken as they are) */
	unsigned entries, expired;
};

/* Parse one line (no newline; modified in place). Returns 1 with an entry: its cache key in
 * key[CACHE_KEY_MAX] (*key_len), a stored message in value (value_cap bytes, DNS_MAX_MSG +
 * 16384 is enough; *value_len) and the TTL to insert it with in *ttl_s. Returns 0 for a
 * comment, the time line or an entry whose TTL ran out since the dump (counted in
 * r->expired). Returns -EINVAL with a reason in *why for a line that is not valid. */
int cachedump_parse(struct cachedump_reader *r, char *line, uint8_t *key, size_t *key_len, uint8_t *value,
                    size_t value_cap, size_t *value_len, uint32_t *ttl_s, const char **why);

#endif
