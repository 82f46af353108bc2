/* config.h - the daemon's configuration: text in, immutable struct config out
 *
 * Config file: one directive per line, '#' starts a comment, blank lines ignored.
 * Every error names the file and line: "FILE:LINE: what is wrong".
 * A struct config is immutable once loaded. It is refcounted: each request holds a
 * reference to the config it started with; reload swaps the worker's pointer and the
 * old config is freed when its last request finishes.
 */
#ifndef DNS64D_CONFIG_H
#define DNS64D_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns64d/addr.h"
#include "dns64d/acl.h"

#define CONFIG_DEFAULT_PATH "/etc/dns64d/dns64d.conf"

enum synth_on { SYNTH_ON_ANY_ERROR = 0, SYNTH_ON_NODATA = 1 };

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* A domain name in uncompressed wire format, lowercased ("\3foo\3com\0"). */
struct dname {
	uint8_t wire[256];
	uint8_t len;
};

/* Accumulated error messages, one per line ("FILE:LINE: message\n"). */
struct errbuf {
	char text[4096];
	size_t len;
	unsigned count;
};

/* printf-style append of one error line (a newline is added). Silently truncates. */
void errbuf_add(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct config {
	atomic_uint refs;
	unsigned generation; /* set by the daemon on each load; part of synth cache keys */
	char *path;          /* config file path as given */

	struct sockaddr_storage *listen; /* default 127.0.0.1:53 and [::1]:53 */
	size_t n_listen;
	struct sockaddr_storage *upstream; /* tried in order; default from /etc/resolv.conf */
	size_t n_upstream;
	char *acl_path; /* resolved against the config file's directory; NULL = none */
	struct acl acl; /* with no acl directive: 127.0.0.0/8 and ::1/128 dns64 */

	struct nat64_prefix prefix; /* default 64:ff9b::/96 */
	unsigned timeout_ms;        /* default 2000; per upstream attempt */
	enum synth_on synth_on;     /* default any-error */
	struct network *exclude;    /* IPv6; default ::ffff:0:0/96 (replaced by explicit ones) */
	size_t n_exclude;
	struct network *mapped; /* IPv4; empty = default rule (non-global filtered with WKP) */
	size_t n_mapped;
	struct dname *synth_all; /* always synthesize at or under these names */
	size_t n_synth_all;
	struct dname *no_synth; /* never synthesize at or under these names */
	size_t n_no_synth;

	size_t cache_size;            /* bytes; "cache-size 64m"; default 64 MiB; 0 disables */
	unsigned workers;             /* 0 = number of CPUs (resolved at start) */
	unsigned max_inflight;        /* upstream queries in flight per daemon; default 4096 */
	unsigned tcp_clients;         /* concurrent TCP client connections; default 256 */
	unsigned tcp_idle_timeout_ms; /* default 10000 */
	bool cookies;                 /* DNS cookies (RFC 7873/9018); default yes */
	bool prefetch_a;              /* ask A alongside AAAA for dns64 clients; default yes */
	unsigned tcp_clients_per_host; /* TCP connections per client host (/64 for IPv6); default 16 */
	unsigned upstream_selection;   /* enum select_mode: 0 rtt (default), 1 ordered */
	unsigned max_stale_s;          /* keep expired answers this long for serve-stale; default 86400, 0 off */
	unsigned stale_client_timeout_ms; /* answer stale after this long without upstream answer; default 1800 */
	unsigned stale_answer_ttl_s;   /* TTL of stale answers; default 30 */

	char *user;               /* drop privileges to this user after binding; NULL = stay */
	char *chroot;             /* NULL = none */
	enum log_level log_level; /* default warn */
	bool log_queries;         /* default no */
	bool has_metrics;
	char *identity;     /* CHAOS id.server / hostname.bind; NULL = the host name */
	char *version;      /* CHAOS version.bind / version.server; NULL = "dns64d VERSION" */
	bool hide_identity; /* REFUSED for id.server / hostname.bind */
	bool hide_version;  /* REFUSED for version.bind / version.server */
	struct sockaddr_storage metrics; /* "metrics 127.0.0.1:9153" */
	char *control;                   /* control socket path ("control /run/dns64d/control"); NULL = none */
};

/* Parse config text. path is used for messages and to resolve a relative acl path;
 * it does not read any file. On success *out is a new config with refs == 1 and the ACL
 * not yet loaded (acl_path set, acl empty). Returns 0, or -EINVAL with errors in *err. */
int config_parse(const char *path, const char *text, struct config **out, struct errbuf *err);

/* Parse resolv.conf text and append its nameservers (port 53) as upstreams. */
int config_upstreams_from_resolv(struct config *cfg, const char *text);

/* Read and parse the config file, the ACL file it names (or install the loopback default),
 * and /etc/resolv.conf when no upstream is given. Returns 0 or a negative errno with all
 * problems in *err ("FILE:LINE: ..." or "FILE: cannot read: ..."). */
int config_load(const char *path, struct config **out, struct errbuf *err);

/* Parse a size with optional k/m/g suffix ("64m"). Returns 0 or -EINVAL. */
int config_parse_size(const char *s, size_t *out);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

#endif
