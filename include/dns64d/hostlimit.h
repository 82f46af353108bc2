/* hostlimit.h - connections per client host (an IPv4 address, an IPv6 /64), counted across threads
 *
 * The listener takes a slot for a client's host when it accepts a TCP connection and gives
 * it back when the connection closes, so one host cannot take the whole connection pool
 * (tcp-clients-per-host). IPv4-mapped IPv6 sources count as the IPv4 address; IPv6 sources
 * are aggregated per /64, the smallest block one subscriber usually holds.
 * All functions are thread-safe (one mutex: accept is not a hot path). The table holds an
 * entry only for hosts with at least one slot, so its size is bounded by the connections.
 */
#ifndef DNS64D_HOSTLIMIT_H
#define DNS64D_HOSTLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HOSTLIMIT_KEY_MAX 9 /* family byte + up to 8 address bytes */

struct hostlimit;

int hostlimit_new(struct hostlimit **out);
/* Free the table (every slot must have been given back). */
void hostlimit_free(struct hostlimit *h);

/* The host a client address counts against, written to key. Returns its length (5 for
 * IPv4, 9 for IPv6), or 0 for a family that is neither. */
size_t hostlimit_key(const struct sockaddr *sa, uint8_t key[HOSTLIMIT_KEY_MAX]);

/* Take a slot for the host of sa if it holds fewer than max. Returns 0, -EBUSY when the
 * host is at max, -ENOMEM, or -EAFNOSUPPORT (no slot taken in these cases). */
int hostlimit_take(struct hostlimit *h, const struct sockaddr *sa, unsigned max);

/* Give back a slot taken by hostlimit_take for the same address. */
void hostlimit_put(struct hostlimit *h, const struct sockaddr *sa);

/* Slots the host of sa holds now. */
unsigned hostlimit_count(struct hostlimit *h, const struct sockaddr *sa);

#endif
