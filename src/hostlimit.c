/* hostlimit.c - connections per client host (an IPv4 address, an IPv6 /64), counted across threads */
#include "dns64d/hostlimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dns64d/addr.h"

#define BUCKETS 1024 /* power of two; chains stay short for any sane tcp-clients */

struct host {
	struct host *next;
	unsigned count;
	uint8_t len;
	uint8_t key[HOSTLIMIT_KEY_MAX];
};

struct hostlimit {
	pthread_mutex_t lock;
	/* keyed (SipHash), so clients cannot choose addresses that share one chain */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct host *buckets[BUCKETS];
};

int hostlimit_new(struct hostlimit **out)
{
	struct hostlimit *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (sodium_init() < 0) {
		free(h);
		return -EIO;
	}
	pthread_mutex_init(&h->lock, NULL);
	randombytes_buf(h->hash_key, sizeof(h->hash_key));
	*out = h;
	return 0;
}

void hostlimit_free(struct hostlimit *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (h->buckets[i]) {
			struct host *e = h->buckets[i];
			h->buckets[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

size_t hostlimit_key(const struct sockaddr *sa, uint8_t key[HOSTLIMIT_KEY_MAX])
{
	uint8_t raw[16];
	int family = addr_raw(sa, raw);
	if (family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, raw, 4);
		return 5;
	}
	if (family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, raw, 8);
		return 9;
	}
	return 0;
}

/* The entry for key and the link that points at it; *link is NULL when there is none. */
static struct host **find(struct hostlimit *h, const uint8_t *key, size_t len)
{
	uint8_t hash[crypto_shorthash_BYTES];
	crypto_shorthash(hash, key, len, h->hash_key);
	uint64_t v;
	memcpy(&v, hash, sizeof(v));
	struct host **link = &h->buckets[v & (BUCKETS - 1)];
	while (*link && ((*link)->len != len || memcmp((*link)->key, key, len) != 0))
		link = &(*link)->next;
	return link;
}

int hostlimit_take(struct hostlimit *h, const struct sockaddr *sa, unsigned max)
{
	uint8_t key[HOSTLIMIT_KEY_MAX];
	size_t len = hostlimit_key(sa, key);
	if (!len)
		return -EAFNOSUPPORT;
	int rc = 0;
	pthread_mutex_lock(&h->lock);
	struct host **link = find(h, key, len);
	if (!*link) {
		if (max == 0) {
			rc = -EBUSY;
		} else if (!(*link = calloc(1, sizeof(**link)))) {
			rc = -ENOMEM;
		} else {
			(*link)->len = (uint8_t)len;
			memcpy((*link)->key, key, len);
			(*link)->count = 1;
		}
	} else if ((*link)->count >= max) {
		rc = -EBUSY;
	} else {
		(*link)->count++;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void hostlimit_put(struct hostlimit *h, const struct sockaddr *sa)
{
	uint8_t key[HOSTLIMIT_KEY_MAX];
	size_t len = hostlimit_key(sa, key);
	if (!len)
		return;
	pthread_mutex_lock(&h->lock);
	struct host **link = find(h, key, len), *e = *link;
	if (e && --e->count == 0) {
		*link = e->next;
		free(e);
	}
	pthread_mutex_unlock(&h->lock);
}

unsigned hostlimit_count(struct hostlimit *h, const struct sockaddr *sa)
{
	uint8_t key[HOSTLIMIT_KEY_MAX];
	size_t len = hostlimit_key(sa, key);
	if (!len)
		return 0;
	pthread_mutex_lock(&h->lock);
	struct host *e = *find(h, key, len);
	unsigned n = e ? e->count : 0;
	pthread_mutex_unlock(&h->lock);
	return n;
}
