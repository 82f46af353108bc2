/* daemon.c - what is daemon-wide: the monotonic clock and the cookie secret rotation */
#include "dns64d/daemon.h"

#include <string.h>
#include <time.h>

#include <sodium.h>
#include <uv.h>

uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

void daemon_rotate_secret(struct daemon *d)
{
	unsigned cur = atomic_load(&d->secret_idx) & 1, next = cur ^ 1;
	uint8_t fresh[COOKIE_SECRET_LEN];
	randombytes_buf(fresh, sizeof(fresh));
	d->secrets[next] = d->secrets[cur];
	cookie_ring_rotate(&d->secrets[next], fresh, (uint32_t)time(NULL));
	sodium_memzero(fresh, sizeof(fresh));
	atomic_store_explicit(&d->secret_idx, next, memory_order_release);
}
