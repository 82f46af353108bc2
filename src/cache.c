/* cache.c - bounded, sharded, thread-safe LRU store of opaque values keyed by question */
#include "dns64d/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Allocator overhead charged per entry, as documented in cache.h. */
#define ALLOC_OVERHEAD  16
/* Bucket count a shard starts with; the array doubles as entries outnumber buckets. */
#define INITIAL_BUCKETS 64
/* Tiny caches get fewer shards so each one can still hold a useful number of entries. */
#define MIN_SHARD_BYTES 4096
#define MAX_SHARDS      4096
#define CACHE_LINE      64
/* Entries looked at from the old end of the LRU list for an expired one to evict first. */
#define STALE_SCAN      16

/* One allocation: this header, then the key, then the value. */
struct entry {
	struct entry *chain;         /* next in the hash bucket */
	struct entry *newer, *older; /* LRU list; the shard's newest is the head */
	uint64_t hash;
	uint64_t stored_ms, expire_ms;
	size_t value_len;
	uint16_t key_len;
	uint8_t data[];
};

struct shard {
	/* Aligned so two shards' locks never share a cache line. */
	_Alignas(CACHE_LINE) pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* power of two, or 0 if the shard stores nothing */
	struct entry *newest, *oldest;
	size_t bytes;  /* entries plus the bucket array */
	size_t budget; /* immutable after cache_new */
	size_t entries;
	uint64_t hits, misses, inserts, evictions, expired;
};

struct cache {
	struct shard *shards;
	unsigned nshards;
	size_t max_bytes;
	_Atomic uint64_t max_stale_ms; /* expired entries are kept this long for serve-stale */
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

static size_t entry_charge(size_t key_len, size_t value_len)
{
	return sizeof(struct entry) + key_len + value_len + ALLOC_OVERHEAD;
}

static uint64_t key_hash(const struct cache *c, const uint8_t *key, size_t key_len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, key_len, c->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Buckets use the low bits of the hash, shards bits 32 and up, so the two stay independent. */
static struct shard *shard_of(const struct cache *c, uint64_t hash)
{
	return &c->shards[(uint32_t)(hash >> 32) & (c->nshards - 1)];
}

static struct entry **bucket_of(const struct shard *s, uint64_t hash)
{
	return &s->buckets[hash & (s->nbuckets - 1)];
}

static void lru_unlink(struct shard *s, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
}

static void lru_push_newest(struct shard *s, struct entry *e)
{
	e->newer = NULL;
	e->older = s->newest;
	if (s->newest != NULL)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
}

/* Finds key in its bucket; returns the link pointing at it (for unlinking), or NULL. */
static struct entry **chain_find(struct shard *s, uint64_t hash, const uint8_t *key, size_t key_len)
{
	struct entry **link;

	for (link = bucket_of(s, hash); *link != NULL; link = &(*link)->chain) {
		struct entry *e = *link;

		if (e->hash == hash && e->key_len == key_len && (key_len == 0 || memcmp(e->data, key, key_len) == 0))
			return link;
	}
	return NULL;
}

/* Takes e out of its shard; the caller frees it after dropping the lock. */
static void shard_remove(struct shard *s, struct entry **link)
{
	struct entry *e = *link;

	*link = e->chain;
	lru_unlink(s, e);
	s->bytes -= entry_charge(e->key_len, e->value_len);
	s->entries--;
}

static void shard_remove_entry(struct shard *s, struct entry *e)
{
	struct entry **link;

	for (link = bucket_of(s, e->hash); *link != e; link = &(*link)->chain)
		;
	shard_remove(s, link);
}

/* Doubles the bucket array if the larger one fits next to need more bytes; otherwise keeps the
 * longer chains rather than evicting answers for it. */
static void shard_maybe_grow(struct shard *s, size_t need)
{
	size_t old_bytes = s->nbuckets * sizeof(*s->buckets);
	size_t n = s->nbuckets * 2, i;
	struct entry **nb;

	if (s->entries < s->nbuckets || s->bytes + old_bytes + need > s->budget)
		return;
	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->chain;
			e->chain = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
	s->bytes += old_bytes; /* the new array is twice the old one */
}

static void free_list(struct entry *e)
{
	struct entry *next;

	for (; e != NULL; e = next) {
		next = e->chain;
		free(e);
	}
}

size_t cache_key(uint8_t *key, const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t qclass, uint8_t flags,
                 const void *variant, size_t variant_len)
{
	size_t total = qname_len + 5 + variant_len, i = 0, n;
	uint8_t *p = key;

	if (qname_len > CACHE_KEY_MAX || variant_len > CACHE_KEY_MAX || total > CACHE_KEY_MAX)
		return 0;
	/* Walk the labels so only label bytes are folded, never a length byte. */
	while (i < qname_len) {
		size_t label = qname[i];

		*p++ = qname[i++];
		for (n = 0; n < label && i < qname_len; n++, i++) {
			uint8_t ch = qname[i];

			*p++ = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + ('a' - 'A')) : ch;
		}
	}
	*p++ = (uint8_t)(qtype >> 8);
	*p++ = (uint8_t)qtype;
	*p++ = (uint8_t)(qclass >> 8);
	*p++ = (uint8_t)qclass;
	*p++ = flags;
	if (variant_len > 0)
		memcpy(p, variant, variant_len);
	return total;
}

int cache_new(size_t max_bytes, unsigned nshards, struct cache **out)
{
	struct cache *c;
	unsigned n = 1, i;

	if (sodium_init() < 0)
		return -EIO;
	if (nshards > MAX_SHARDS)
		nshards = MAX_SHARDS;
	while (n < nshards)
		n <<= 1;
	while (n > 1 && max_bytes / n < MIN_SHARD_BYTES)
		n >>= 1;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->shards = aligned_alloc(CACHE_LINE, n * sizeof(*c->shards));
	if (c->shards == NULL) {
		free(c);
		return -ENOMEM;
	}
	memset(c->shards, 0, n * sizeof(*c->shards));
	c->nshards = n;
	c->max_bytes = max_bytes;
	randombytes_buf(c->hash_key, sizeof(c->hash_key));

	for (i = 0; i < n; i++) {
		struct shard *s = &c->shards[i];
		size_t nb = INITIAL_BUCKETS;

		s->budget = max_bytes / n;
		/* The array is charged too: a shard too small for one stores nothing. */
		while (nb > 0 && nb * sizeof(*s->buckets) > s->budget / 4)
			nb >>= 1;
		if (nb > 0) {
			s->buckets = calloc(nb, sizeof(*s->buckets));
			if (s->buckets == NULL)
				goto fail;
			s->nbuckets = nb;
			s->bytes = nb * sizeof(*s->buckets);
		}
		if (pthread_mutex_init(&s->lock, NULL) != 0) {
			free(s->buckets);
			goto fail;
		}
	}
	*out = c;
	return 0;

fail:
	while (i-- > 0) {
		pthread_mutex_destroy(&c->shards[i].lock);
		free(c->shards[i].buckets);
	}
	free(c->shards);
	free(c);
	return -ENOMEM;
}

void cache_free(struct cache *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e, *older;

		for (e = s->newest; e != NULL; e = older) {
			older = e->older;
			free(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	sodium_memzero(c->hash_key, sizeof(c->hash_key));
	free(c);
}

/* Expired entries stay (for serve-stale) until expire_ms + max_stale_ms; after that they are
 * dropped on sight like before. */
static bool past_stale(const struct cache *c, const struct entry *e, uint64_t now_ms)
{
	uint64_t keep = atomic_load_explicit(&((struct cache *)c)->max_stale_ms, memory_order_relaxed);
	return now_ms >= e->expire_ms && (now_ms - e->expire_ms >= keep);
}

static int lookup(struct cache *c, const uint8_t *key, size_t key_len, uint64_t now_ms, bool want_stale, void *buf,
                  size_t buflen, size_t *len, uint64_t *stored_ms, bool *stale)
{
	uint64_t hash = key_hash(c, key, key_len);
	struct shard *s = shard_of(c, hash);
	struct entry **link, *e;

	pthread_mutex_lock(&s->lock);
	link = s->nbuckets > 0 ? chain_find(s, hash, key, key_len) : NULL;
	if (link == NULL) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	e = *link;
	if (now_ms >= e->expire_ms) {
		if (past_stale(c, e, now_ms)) {
			shard_remove(s, link);
			s->expired++;
			s->misses++;
			pthread_mutex_unlock(&s->lock);
			free(e);
			return -ENOENT;
		}
		if (!want_stale) {
			/* kept for serve-stale, but first in line for eviction */
			if (s->oldest != e) {
				lru_unlink(s, e);
				e->older = NULL;
				e->newer = s->oldest;
				if (s->oldest != NULL)
					s->oldest->older = e;
				else
					s->newest = e;
				s->oldest = e;
			}
			s->misses++;
			pthread_mutex_unlock(&s->lock);
			return -ENOENT;
		}
	}
	if (len != NULL)
		*len = e->value_len;
	if (e->value_len > buflen) {
		/* Neither a hit nor a miss: the caller may ask again with a larger buffer. */
		pthread_mutex_unlock(&s->lock);
		return -ENOBUFS;
	}
	if (e->value_len > 0)
		memcpy(buf, e->data + e->key_len, e->value_len);
	if (stored_ms != NULL)
		*stored_ms = e->stored_ms;
	if (stale != NULL)
		*stale = now_ms >= e->expire_ms;
	if (s->newest != e && now_ms < e->expire_ms) {
		lru_unlink(s, e);
		lru_push_newest(s, e);
	}
	s->hits++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int cache_lookup(struct cache *c, const uint8_t *key, size_t key_len, uint64_t now_ms, void *buf, size_t buflen,
                 size_t *len, uint64_t *stored_ms)
{
	return lookup(c, key, key_len, now_ms, false, buf, buflen, len, stored_ms, NULL);
}

int cache_lookup_stale(struct cache *c, const uint8_t *key, size_t key_len, uint64_t now_ms, void *buf, size_t buflen,
                       size_t *len, uint64_t *stored_ms, bool *stale)
{
	return lookup(c, key, key_len, now_ms, true, buf, buflen, len, stored_ms, stale);
}

void cache_set_max_stale(struct cache *c, uint32_t seconds)
{
	atomic_store_explicit(&c->max_stale_ms, (uint64_t)seconds * 1000, memory_order_relaxed);
}

int cache_insert(struct cache *c, const uint8_t *key, size_t key_len, const void *value, size_t len, uint64_t now_ms,
                 uint32_t ttl_s)
{
	uint64_t hash, ttl_ms = (uint64_t)ttl_s * 1000;
	struct entry *e, *dead = NULL, **link;
	struct shard *s;
	size_t charge;

	if (ttl_s == 0)
		return 0;
	if (key_len > CACHE_KEY_MAX)
		return -E2BIG;
	hash = key_hash(c, key, key_len);
	s = shard_of(c, hash);
	charge = entry_charge(key_len, len);
	/* budget never changes after cache_new, so it is read without the lock. */
	if (s->budget == 0 || len > s->budget / 8 || charge > s->budget)
		return -E2BIG;

	e = malloc(sizeof(*e) + key_len + len);
	if (e == NULL)
		return -ENOMEM;
	e->hash = hash;
	e->key_len = (uint16_t)key_len;
	e->value_len = len;
	e->stored_ms = now_ms;
	e->expire_ms = now_ms > UINT64_MAX - ttl_ms ? UINT64_MAX : now_ms + ttl_ms;
	if (key_len > 0)
		memcpy(e->data, key, key_len);
	if (len > 0)
		memcpy(e->data + key_len, value, len);

	pthread_mutex_lock(&s->lock);
	if (s->nbuckets == 0 || s->nbuckets * sizeof(*s->buckets) + charge > s->budget) {
		/* Even an empty shard could not hold it next to its bucket array. */
		pthread_mutex_unlock(&s->lock);
		free(e);
		return -E2BIG;
	}
	link = chain_find(s, hash, key, key_len);
	if (link != NULL) {
		dead = *link;
		shard_remove(s, link);
		dead->chain = NULL;
	}
	shard_maybe_grow(s, charge);
	while (s->bytes + charge > s->budget) {
		struct entry *victim = s->oldest;

		/* stale (expired) entries go first: look a few entries up the LRU list for one */
		unsigned looked = 0;
		for (struct entry *x = s->oldest; x != NULL && looked < STALE_SCAN; x = x->newer, looked++)
			if (now_ms >= x->expire_ms) {
				victim = x;
				break;
			}

		shard_remove_entry(s, victim);
		if (now_ms >= victim->expire_ms)
			s->expired++;
		else
			s->evictions++;
		victim->chain = dead;
		dead = victim;
	}
	link = bucket_of(s, hash);
	e->chain = *link;
	*link = e;
	lru_push_newest(s, e);
	s->bytes += charge;
	s->entries++;
	s->inserts++;
	pthread_mutex_unlock(&s->lock);

	free_list(dead);
	return 0;
}

void cache_flush(struct cache *c)
{
	unsigned i;

	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *list;

		pthread_mutex_lock(&s->lock);
		list = s->newest;
		s->newest = s->oldest = NULL;
		if (s->nbuckets > 0)
			memset(s->buckets, 0, s->nbuckets * sizeof(*s->buckets));
		s->bytes = s->nbuckets * sizeof(*s->buckets);
		s->entries = 0;
		pthread_mutex_unlock(&s->lock);

		while (list != NULL) {
			struct entry *older = list->older;

			free(list);
			list = older;
		}
	}
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->max_bytes = c->max_bytes;
	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->inserts += s->inserts;
		out->evictions += s->evictions;
		out->expired += s->expired;
		out->entries += s->entries;
		out->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- operator functions: flush by name, walk, key parsing (control socket) ----------------- */

int cache_key_split(const uint8_t *key, size_t key_len, size_t *qname_len, uint16_t *qtype, uint16_t *qclass,
                    uint8_t *flags)
{
	size_t i = 0;

	while (i < key_len && key[i] != 0) {
		if (key[i] > 63)
			return -EINVAL;
		i += (size_t)key[i] + 1;
	}
	if (i >= key_len || key_len - i - 1 < 5)
		return -EINVAL;
	i++; /* the root label */
	*qname_len = i;
	*qtype = (uint16_t)(key[i] << 8 | key[i + 1]);
	*qclass = (uint16_t)(key[i + 2] << 8 | key[i + 3]);
	*flags = key[i + 4];
	return 0;
}

static uint8_t lower(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + ('a' - 'A')) : ch;
}

/* Key names are lowercase already (cache_key); the name given may be in any case. */
static bool same_name(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != lower(b[i]))
			return false;
	return true;
}

struct name_match {
	const uint8_t *name;
	size_t len;
	uint16_t qtype; /* 0 = any */
	bool zone;      /* at or under name, not only name */
};

static bool key_matches(const uint8_t *key, size_t key_len, const struct name_match *m)
{
	size_t qlen, i;
	uint16_t qtype, qclass;
	uint8_t flags;

	if (cache_key_split(key, key_len, &qlen, &qtype, &qclass, &flags) < 0)
		return false;
	if (!m->zone)
		return qlen == m->len && (m->qtype == 0 || m->qtype == qtype) && same_name(key, m->name, qlen);
	/* every label boundary of the key's name, from the full name down to the root */
	for (i = 0; i < qlen; i += (size_t)key[i] + 1)
		if (qlen - i == m->len && same_name(key + i, m->name, m->len))
			return true;
	return false;
}

static size_t flush_matching(struct cache *c, const struct name_match *m)
{
	size_t n = 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e, *older, *dead = NULL;

		pthread_mutex_lock(&s->lock);
		for (e = s->newest; e != NULL; e = older) {
			older = e->older;
			if (!key_matches(e->data, e->key_len, m))
				continue;
			shard_remove_entry(s, e);
			e->chain = dead;
			dead = e;
			n++;
		}
		pthread_mutex_unlock(&s->lock);
		free_list(dead);
	}
	return n;
}

size_t cache_flush_name(struct cache *c, const uint8_t *qname, size_t qname_len, uint16_t qtype)
{
	struct name_match m = {qname, qname_len, qtype, false};

	return flush_matching(c, &m);
}

size_t cache_flush_zone(struct cache *c, const uint8_t *zone, size_t zone_len)
{
	struct name_match m = {zone, zone_len, 0, true};

	return flush_matching(c, &m);
}

int cache_walk(struct cache *c, cache_walk_fn fn, void *ctx)
{
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		int rc = 0;

		pthread_mutex_lock(&s->lock);
		for (struct entry *e = s->newest; e != NULL && rc == 0; e = e->older)
			rc = fn(ctx, e->data, e->key_len, e->data + e->key_len, e->value_len, e->stored_ms,
			        e->expire_ms);
		pthread_mutex_unlock(&s->lock);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void cache_reset_stats(struct cache *c)
{
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		s->hits = s->misses = s->inserts = s->evictions = s->expired = 0;
		pthread_mutex_unlock(&s->lock);
	}
}
