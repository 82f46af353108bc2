/* ddr.h - Discovery of Designated Resolvers (RFC 9462): the SVCB records of _dns.resolver.arpa; pure
 *
 * A client that knows only our address asks _dns.resolver.arpa SVCB (type 64) and learns
 * the encrypted endpoints of the same resolver: here the listen-tls addresses, DNS over TLS
 * (alpn "dot", RFC 9461). One ServiceMode record per distinct TLS port, SvcPriority 1,
 * TargetName ddr-target (or "." when not set: clients then connect to the address hints),
 * SvcParams in ascending key order: alpn, port (only when not 853), ipv4hint, ipv6hint.
 *
 * Hints: a listen-tls on a specific address is its own hint; one on a wildcard address (0.0.0.0,
 * ::) stands for the address the query came to, when that is of its family (and is skipped
 * when that is unknown). A loopback address is hinted only to a query that came to a loopback
 * address: a LAN client cannot reach it. A port whose addresses are all skipped gets no
 * record; no record at all is NODATA for the caller.
 */
#ifndef DNS64D_DDR_H
#define DNS64D_DDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/config.h"

#define DDR_RECORDS_MAX 8    /* distinct listen-tls ports answered, at most */
#define DDR_HINTS_MAX   8    /* addresses of one family per record, at most */
#define DDR_RDATA_MAX   1024 /* priority, target (255), the four params with their hints */

/* The rdata of one SVCB record, in wire form (the TargetName uncompressed, RFC 9460 §2.2). */
struct ddr_record {
	uint16_t port;
	size_t len;
	uint8_t rdata[DDR_RDATA_MAX];
};

/* The designation records of cfg's listen-tls endpoints for a query that came to local
 * (NULL or ss_family 0: unknown). Fills out[0..max) and returns how many; 0 when cfg has no
 * listen-tls, or none of them is reachable from where the query came. -EINVAL if
 * cfg->ddr_target does not parse (config.c checked it). */
int ddr_records(const struct config *cfg, const struct sockaddr_storage *local, struct ddr_record *out, size_t max);

#endif
