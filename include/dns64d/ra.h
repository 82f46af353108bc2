/* ra.h - Router Advertisements on the main loop: the NAT64 prefix the network advertises (RFC 8781)
 *
 * For each `prefix-from-ra IFACE` a raw ICMPv6 socket that passes only RAs, bound to IFACE,
 * is opened by ra_open() while the daemon still has the privileges for it (before `user` and
 * `chroot` take effect) and read on the main thread's loop after ra_start(), which also sends
 * a Router Solicitation per interface (up to 3, 4 s apart, until an RA is heard: RFC 4861
 * §6.3.7) so that the prefix need not wait for the router's next periodic RA. An RA counts only from a link-local source with hop limit 255 on that interface
 * (RFC 4861 §6.1.2); its PREF64 options go into a pref64_table, and a timer drops each prefix
 * when its lifetime ends.
 *
 * The prefix in use (pref64_table_current) is published to the workers through a sequence
 * lock: the main thread is the only writer, a worker reads it per query with a few atomic
 * loads and no lock (ra_default_prefix). A change of it is logged; when a `prefix` is
 * configured and differs from the advertised one, a warning says so once per change, and
 * the metrics show both and a mismatch gauge.
 */
#ifndef DNS64D_RA_H
#define DNS64D_RA_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "dns64d/prefix.h"

struct config;
struct daemon;
struct metrics_pref64;

/* Open the sockets of cfg's prefix-from-ra interfaces into d->ra (nothing when there are
 * none). Errors are logged; returns 0 or a negative errno (the daemon should not start). */
int ra_open(struct daemon *d, const struct config *cfg);

/* Read the sockets on loop (the main thread's) and solicit an RA on each interface. */
void ra_start(struct daemon *d, uv_loop_t *loop);

/* Close the handles (on the main thread, when the daemon stops); ra_free after the loop ends. */
void ra_stop(struct daemon *d);
void ra_free(struct daemon *d);

/* After a reload (main thread, cfg in force now): the fallback and the mismatch warning
 * looked at again. */
void ra_reconfigure(struct daemon *d, const struct config *old, const struct config *cfg);

/* The default prefix for a dns64 client whose ACL rule names none, under the request's cfg:
 * the advertised one while its lifetime lasts, else cfg's `prefix`. Returns false when there
 * is none, which means forwarding without synthesis: prefix-from-ra is in use, nothing is
 * advertised now and no `prefix` line is configured. Any thread; d may have no RA state. */
bool ra_default_prefix(struct daemon *d, const struct config *cfg, struct nat64_prefix *out);

/* The prefix routers advertise now, in *out: true; false when none is (or no prefix-from-ra). */
bool ra_advertised_prefix(struct daemon *d, struct nat64_prefix *out);

/* Whether a prefix line was given (the fallback of prefix-from-ra). */
bool ra_prefix_configured(const struct config *cfg);

/* Where the default prefix comes from now, in words ("advertised on 'eth0', 1795 s left",
 * "configured", "none: nothing advertised on 'eth0' and no prefix configured"), into buf.
 * Main thread. Returns buf. */
const char *ra_describe(struct daemon *d, const struct config *cfg, char *buf, size_t len);

/* The advertised, configured and mismatch metrics (main thread). */
void ra_metrics(struct daemon *d, const struct config *cfg, struct metrics_pref64 *out);

#endif
