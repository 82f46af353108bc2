/* cache.h - bounded, sharded, thread-safe LRU store of answers keyed by question
 *
 * The cache stores opaque values (request.c stores DNS messages in wire form with their TTL
 * offsets) with an expiry. It does not look inside them. Keys are built with cache_key():
 * lowercased qname, type, class and a flags byte (RD, DO, CD), plus an optional variant
 * (the NAT64 prefix and config generation, for synthesized answers).
 *
 * Memory: every entry is charged sizeof(entry) + key + value + 16 bytes of allocator
 * overhead; the bucket arrays are charged too. Inserting beyond max_bytes evicts expired
 * entries and then least recently used ones of the same shard. Expired entries are kept for
 * max-stale (cache_set_max_stale) for serve-stale and dropped lazily after that.
 * All functions are safe to call from several threads at once.
 */
#ifndef DNS64D_CACHE_H
#define DNS64D_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_KEY_MAX 300

/* Flag bits for cache_key(). */
#define CACHE_F_RD    0x01
#define CACHE_F_DO    0x02
#define CACHE_F_CD    0x04
#define CACHE_F_SYNTH 0x08 /* value is a synthesized answer for the variant's prefix */
#define CACHE_F_FAIL  0x10 /* value is a remembered resolution failure (RFC 9520) */

struct cache;

struct cache_stats {
	uint64_t hits, misses, inserts, evictions, expired;
	uint64_t entries, bytes, max_bytes;
};

/* Build a key into key[CACHE_KEY_MAX]: qname (uncompressed wire, any case; lowercased here),
 * qtype, qclass, flags, then variant bytes (may be NULL/0). Returns the key length, or 0 if
 * it does not fit. */
size_t cache_key(uint8_t *key, const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags,
                 const void *variant, size_t variant_len);

/* New cache bounded to max_bytes with nshards shards (rounded up to a power of two).
 * Returns 0 or -ENOMEM. */
int cache_new(size_t max_bytes, unsigned nshards, struct cache **out);
void cache_free(struct cache *c);

/* Look up key at time now_ms. On a hit copies the value into buf, sets *len and *stored_ms
 * (the now_ms given at insert) and returns 0. -ENOENT on miss or expiry (the entry is
 * dropped), -ENOBUFS if buflen is too small (*len says how big). Counts hits and misses. */
int cache_lookup(struct cache *c, const uint8_t *key, size_t key_len, uint64_t now_ms, void *buf, size_t buflen,
                 size_t *len, uint64_t *stored_ms);

/* Like cache_lookup, but an entry that expired less than max-stale ago is returned too, with
 * *stale set (serve-stale, RFC 8767). */
int cache_lookup_stale(struct cache *c, const uint8_t *key, size_t key_len, uint64_t now_ms, void *buf, size_t buflen,
                       size_t *len, uint64_t *stored_ms, bool *stale);

/* Keep expired entries this long (0: drop them at expiry). They count against the size bound
 * and are evicted before live entries (among the oldest few of a shard); a plain lookup moves
 * an expired entry it meets to the old end. */
void cache_set_max_stale(struct cache *c, uint32_t seconds);

/* Insert or replace key with a copy of value, valid for ttl_s seconds from now_ms.
 * ttl_s == 0 stores nothing. Values larger than max_bytes/8 of a shard are not stored.
 * Returns 0, or -ENOMEM / -E2BIG when nothing was stored. */
int cache_insert(struct cache *c, const uint8_t *key, size_t key_len, const void *value, size_t len, uint64_t now_ms,
                 uint32_t ttl_s);

/* Drop every entry. */
void cache_flush(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);

/* ---- for the operator (control socket) ------------------------------------------------- */

/* Take a key built by cache_key() apart: the qname starts the key and is qname_len bytes
 * long; then qtype, qclass and the flags byte; the variant is the rest. Returns 0 or -EINVAL. */
int cache_key_split(const uint8_t *key, size_t key_len, size_t *qname_len, uint16_t *qtype, uint16_t *qclass,
                    uint8_t *flags);

/* Drop every entry for qname (uncompressed wire, any case) with type qtype, or of any type
 * when qtype is 0: every class, flags and variant, so synthesized answers too. Returns the
 * number of entries dropped. Walks the whole cache, one shard lock at a time. */
size_t cache_flush_name(struct cache *c, const uint8_t *qname, size_t qname_len, uint16_t qtype);

/* Drop every entry whose name is zone or under it (synthesized answers included). */
size_t cache_flush_zone(struct cache *c, const uint8_t *zone, size_t zone_len);

/* Called by cache_walk for each entry, expired ones too (the caller compares expire_ms with
 * its clock, the one it gives to cache_lookup). Non-zero stops the walk. */
typedef int (*cache_walk_fn)(void *ctx, const uint8_t *key, size_t key_len, const void *value, size_t value_len,
                             uint64_t stored_ms, uint64_t expire_ms);

/* Call fn for every entry, newest first within each shard, holding that shard's lock: fn
 * must be quick (copy what it needs) and must not call into the cache. Returns 0 or what
 * fn returned to stop the walk. */
int cache_walk(struct cache *c, cache_walk_fn fn, void *ctx);

/* Zero the hit, miss, insert, eviction and expiry counters (stats --reset). */
void cache_reset_stats(struct cache *c);

#endif
