/* config.h - the daemon's configuration: text in, immutable struct config out
 *
 * Config file: one directive per line, blank lines ignored. A '#' at the start of a line or
 * after white space starts a comment (so "tls://192.0.2.1#dns.example" keeps its '#'), except
 * inside a double-quoted value. Every error names the file and line: "FILE:LINE: what is wrong".
 * All directives are rows of one table (config.c; config_directives() walks it) saying each
 * value's type, where it is stored, whether it repeats and whether SIGHUP may change it.
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
#include "dns64d/errbuf.h"
#include "dns64d/log.h"
#include "dns64d/prefix.h"
#include "dns64d/upstream_spec.h"

#define CONFIG_DEFAULT_PATH   "/etc/dns64d/dns64d.conf"
#define CONFIG_DIRECTIVES_MAX 96 /* rows of the directive table, at most */

struct localdata;

enum synth_on { SYNTH_ON_ANY_ERROR = 0, SYNTH_ON_NODATA = 1 };

/* One listen-tls: a DNS over TLS listener (RFC 7858) and the PEM files of its certificate
 * chain and private key (relative paths resolved against the config file's directory). */
struct listen_tls {
	struct sockaddr_storage addr; /* port 853 unless given */
	char *cert, *key;
	unsigned line; /* of its directive, for messages of later checks */
};

/* A network interface name (IFNAMSIZ with the NUL) and the line that gave it. */
struct ifname {
	char name[16];
	unsigned line; /* not part of the value: a moved line is no change */
};

/* A domain name in uncompressed wire format, lowercased ("\3foo\3com\0"). */
struct dname {
	uint8_t wire[256];
	uint8_t len;
};

/* "forward DOMAIN UPSTREAM...": queries at or under name go to these upstreams instead of the
 * global list (the longest matching name wins). */
struct forward_zone {
	struct dname name;
	struct upstream *upstream; /* at least one */
	size_t n_upstream;
	unsigned line; /* of its forward directive, for messages */
};

struct config {
	atomic_uint refs;
	unsigned generation; /* set by the daemon on each load; part of synth cache keys */
	char *path;          /* config file path as given */

	struct sockaddr_storage *listen; /* default 127.0.0.1:53 and [::1]:53 */
	size_t n_listen;
	/* DNS over TLS listeners (none by default), and the SVCB TargetName of their DDR answers
	 * (RFC 9462; NULL = ".") */
	struct listen_tls *listen_tls;
	size_t n_listen_tls;
	char *ddr_target;
	struct upstream *upstream; /* plain or tls://; tried by selection; default from /etc/resolv.conf */
	size_t n_upstream;
	struct forward_zone *forward; /* per-domain upstreams; names unique */
	size_t n_forward;
	char *acl_path; /* resolved against the config file's directory; NULL = none */
	struct acl acl; /* with no acl directive: 127.0.0.0/8 and ::1/128 dns64 */

	/* The `prefix` lines in order (the default set), each with its options and the global
	 * mapped / exclude / suffix filled in where it has none; without any, 64:ff9b::/96. */
	struct synth_prefix *prefixes;
	size_t n_prefixes;
	unsigned timeout_ms;     /* default 2000; per upstream attempt */
	enum synth_on synth_on;  /* default any-error */
	struct network *exclude; /* IPv6; default ::ffff:0:0/96 (replaced by explicit ones) */
	size_t n_exclude;
	struct mapped_net *mapped; /* IPv4, maybe negated; empty = default rule (non-global filtered with WKP) */
	size_t n_mapped;
	uint8_t suffix[16]; /* global suffix for prefixes shorter than /96; has_suffix says given */
	bool has_suffix;
	bool recursive_only;     /* synthesize only for RD=1 queries; default no */
	bool break_dnssec;       /* synthesize for DO=1 even when the A answer is signed; default yes */
	struct dname *synth_all; /* always synthesize at or under these names */
	size_t n_synth_all;
	struct dname *no_synth; /* never synthesize at or under these names */
	size_t n_no_synth;
	char *reverse_server;  /* MNAME and NS of the prefixes' reverse zones ("ns.example."); NULL = "." */
	char *reverse_contact; /* RNAME of their SOA ("hostmaster.example."); NULL = "." (as BIND) */

	struct ifname *prefix_from_ra; /* RFC 8781: the default prefix is the one advertised here */
	size_t n_prefix_from_ra;

	size_t cache_size;                /* bytes; "cache-size 64m"; default 64 MiB; 0 disables */
	unsigned workers;                 /* 0 = number of CPUs (resolved at start) */
	unsigned max_inflight;            /* upstream queries in flight per daemon; default 4096 */
	unsigned tcp_clients;             /* concurrent TCP client connections; default 256 */
	unsigned tcp_idle_timeout_ms;     /* default 10000 */
	bool cookies;                     /* DNS cookies (RFC 7873/9018); default yes */
	bool prefetch_a;                  /* ask A alongside AAAA for dns64 clients; default yes */
	unsigned tcp_clients_per_host;    /* TCP connections per client host (/64 for IPv6); default 16 */
	unsigned upstream_selection;      /* enum select_mode: 0 rtt (default), 1 ordered */
	char *tls_ca;                     /* CA bundle (PEM) for TLS upstreams; NULL = the system trust store */
	unsigned max_stale_s;             /* keep expired answers this long for serve-stale; default 86400, 0 off */
	unsigned stale_client_timeout_ms; /* answer stale after this long without upstream answer; default 1800 */
	unsigned stale_answer_ttl_s;      /* TTL of stale answers; default 30 */

	char *user;                  /* drop privileges to this user after binding; NULL = stay */
	char *chroot;                /* NULL = none */
	enum log_level log_level;    /* default warn */
	bool log_queries;            /* default no */
	unsigned log_queries_format; /* enum qlog_format: 0 text (default), 1 logfmt, 2 json */
	bool has_metrics;
	char *identity;                  /* CHAOS id.server / hostname.bind; NULL = the host name */
	char *version;                   /* CHAOS version.bind / version.server; NULL = "dns64d VERSION" */
	bool hide_identity;              /* REFUSED for id.server / hostname.bind */
	bool hide_version;               /* REFUSED for version.bind / version.server */
	struct sockaddr_storage metrics; /* "metrics 127.0.0.1:9153" */
	char *control;                   /* control socket path (Unix socket); NULL = none */
	char *dnstap_socket;             /* dnstap Frame Streams Unix socket; NULL = no dnstap */
	unsigned dnstap_messages;        /* dnstap.h's enum dnstap_kind bits; default all four */
	char *dnstap_identity;           /* NULL = identity, else the host name */
	char *dnstap_version;            /* NULL = version, else "dns64d VERSION" */

	/* Local data (issue 15, localdata.h). */
	char **local_data; /* local-data texts as written ("NAME [TTL] [IN] TYPE RDATA") */
	size_t n_local_data;
	char **hosts; /* hosts files, resolved against the config file's directory */
	size_t n_hosts;
	unsigned *hosts_lines;    /* the line of each hosts directive */
	struct localdata *local;  /* the records of local-data and hosts; NULL when none */
	bool local_reverse_zones; /* RFC 6303 reverse zones answered locally; default yes */

	/* Line of each directive's first occurrence (0: not given), by table row; for
	 * messages of later checks. Use config_line(). */
	unsigned lines[CONFIG_DIRECTIVES_MAX];
};

/* What a directive's value is, which says how it is parsed, compared and printed. */
enum config_type {
	CONFIG_BOOL,      /* yes | no -> bool */
	CONFIG_UINT,      /* decimal in min..max -> unsigned */
	CONFIG_SIZE,      /* number with optional k, m or g -> size_t */
	CONFIG_STRING,    /* -> char * (NULL: not given); max: longest length (0: no limit) */
	CONFIG_PATH,      /* -> char *; CONFIG_ABSOLUTE: must start with '/' */
	CONFIG_KEYWORD,   /* one of words -> its index, stored as unsigned (or an enum) */
	CONFIG_ENDPOINT,  /* address[:port] -> struct sockaddr_storage; bool at aux says given */
	CONFIG_ENDPOINTS, /* repeatable address[:port] -> array; size_t count at aux */
	CONFIG_NETWORKS,  /* repeatable network of one family -> struct network array; count at aux */
	CONFIG_DOMAINS,   /* repeatable domain name -> struct dname array; count at aux */
	CONFIG_PREFIX,    /* NAT64 prefix -> struct nat64_prefix */
	/* repeatable ADDR[:PORT] CERT KEY -> struct listen_tls array; count at aux */
	CONFIG_LISTEN_TLS,
	CONFIG_WORDSET,   /* words of words[], split at commas or spaces, repeatable -> unsigned bit set
	                   * (bit i: words[i]); the first occurrence replaces the default */
	CONFIG_IFNAMES,   /* repeatable network interface name -> struct ifname array; count at aux */
	CONFIG_UPSTREAMS, /* repeatable upstream (upstream_spec.h syntax, pin-sha256 B64) -> struct upstream array */
	CONFIG_FORWARDS,  /* repeatable "DOMAIN UPSTREAM..." -> struct forward_zone array */
	CONFIG_STRINGS,   /* repeatable string -> char * array; count at aux (parse fills it) */
	CONFIG_PREFIXES,  /* repeatable "P/LEN [suffix A] [mapped L] [exclude L]" -> struct synth_prefix array */
	CONFIG_MAPPED,    /* repeatable IPv4 network, "!" negates, "any" -> struct mapped_net array */
	CONFIG_IPV6,      /* an IPv6 address -> uint8_t[16]; bool at aux says given */
};

#define CONFIG_REPEATABLE  0x01u /* may be given more than once (lists) */
#define CONFIG_RELOADABLE  0x02u /* a SIGHUP may change it; else a change needs a restart */
#define CONFIG_REST        0x04u /* the argument is the rest of the line (may hold spaces) */
#define CONFIG_ABSOLUTE    0x08u /* PATH: must be absolute */
#define CONFIG_TIME_SUFFIX 0x10u /* UINT seconds: optional s, m, h or d suffix */

struct config_parser;

/* One row of the directive table. */
struct config_directive {
	const char *name;
	enum config_type type;
	unsigned flags;
	size_t offset;            /* of the value in struct config */
	size_t aux;               /* ENDPOINT: offset of its bool; lists: offset of the size_t count */
	unsigned min, max;        /* UINT range; STRING/PATH: max is the longest length (0: none) */
	const char *unit;         /* UINT: "ms" or "s" (documentation and -t -v) */
	const char *const *words; /* KEYWORD and BOOL: NULL-terminated, index = value */
	const char *expect;       /* KEYWORD and BOOL: the words in prose, for errors */
	int family;               /* NETWORKS: AF_INET or AF_INET6 */
	uint16_t port;            /* ENDPOINT(S): default port */
	const char *unset;        /* what no value means (-t -v prints it), for values that may be unset */
	/* The odd ones (listen, upstream, acl): parse arg into the config; errors go through
	 * config_parser_error(). Returns 0 (also after a config error) or -ENOMEM. */
	int (*parse)(struct config_parser *ps, const struct config_directive *d, const char *arg);
};

/* The directive table: *n rows. */
const struct config_directive *config_directives(size_t *n);

/* The row named name, or NULL. */
const struct config_directive *config_directive(const char *name);

/* Line of the first occurrence of directive name in cfg's file; 0 if not given. */
unsigned config_line(const struct config *cfg, const char *name);

/* Do the values of directive d differ between a and b? */
bool config_value_changed(const struct config_directive *d, const struct config *a, const struct config *b);

/* Call cb for each directive without CONFIG_RELOADABLE whose value differs between old and
 * new (a reload keeps the old value of those until a restart). Returns how many differ. */
unsigned config_reload_changes(const struct config *old, const struct config *cur,
                               void (*cb)(const struct config_directive *d, void *arg), void *arg);

/* Append the effective configuration, every directive with its value (defaults included),
 * one per line in config syntax; a directive without a value is a "# name ..." comment
 * line. Returns 0 or -ENOMEM. The result parses back to the same values. */
int config_print(const struct config *cfg, char **out);

/* Parse config text. path is used for messages and to resolve a relative acl path;
 * it does not read any file. On success *out is a new config with refs == 1 and the ACL
 * not yet loaded (acl_path set, acl empty), nor the hosts files (cfg->local has the
 * local-data records only). Returns 0, or -EINVAL with errors in *err. */
int config_parse(const char *path, const char *text, struct config **out, struct errbuf *err);

/* For config_load: like config_parse, but *out is the config even when there were errors
 * (their number in *errors), so that the ACL file can be checked too; the caller drops it
 * with config_unref. Returns 0 or -ENOMEM. */
int config_parse_keep(const char *path, const char *text, struct config **out, unsigned *errors, struct errbuf *err);

/* The forward zone qname (uncompressed wire, any case, qname_len bytes with the root label)
 * is at or under, the longest if several match; NULL: the global upstream list. Pure. */
const struct forward_zone *config_forward_match(const struct config *cfg, const uint8_t *qname, size_t qname_len);

/* A domain name in presentation format ("home.arpa."), into buf. Returns buf. */
char *config_dname_text(const struct dname *dn, char *buf, size_t len);

/* The lists an upstream is on, for the operator: "default" for the global upstream list,
 * then each forward zone's name ("default,home.arpa."), comma-separated, into buf ("" when on
 * none, as for one a reload removed). Returns buf. */
char *config_upstream_zones(const struct config *cfg, const struct upstream *up, char *buf, size_t len);

/* Parse resolv.conf text and append its nameservers (port 53) as upstreams. */
int config_upstreams_from_resolv(struct config *cfg, const char *text);

/* Read and parse the config file, the ACL file it names (or install the loopback default),
 * the hosts files it names (their records join cfg->local), and /etc/resolv.conf when no
 * upstream is given. Returns 0 or a negative errno with all
 * problems in *err ("FILE:LINE: ..." or "FILE: cannot read: ..."). */
int config_load(const char *path, struct config **out, struct errbuf *err);

/* Give the ACL's prefixes (cfg->acl, just parsed) the options of the `prefix` lines they
 * name, or the global ones (acl_resolve). Returns 0 or -EINVAL with "ACLFILE:LINE: ..." in *err. */
int config_resolve_acl(struct config *cfg, struct errbuf *err);

/* A prefix from elsewhere (one routers advertise, RFC 8781) with the global options: mapped,
 * exclude, and the global suffix when the prefix is shorter than /96 and it fits. */
void config_global_prefix(const struct config *cfg, const struct nat64_prefix *p, struct synth_prefix *out);

/* The prefix set of a dns64 client that matched rule (NULL: the default set): *n of them. */
const struct synth_prefix *config_prefix_set(const struct config *cfg, const struct acl_rule *rule, size_t *n);

/* Parse a size with optional k/m/g suffix ("64m"). Returns 0 or -EINVAL. */
int config_parse_size(const char *s, size_t *out);

/* Checks that ask the host (config_check.c): a user that does not exist, a chroot that is
 * not a directory, a prefix-from-ra interface that does not exist. "FILE:LINE: ..." lines
 * into *err; returns 0 or -EINVAL. Run by -t and at start (not on reload: a chrooted daemon
 * sees another file system). */
int config_check_system(const struct config *cfg, struct errbuf *err);

/* Things that are allowed but probably wrong (an ACL that serves nobody, which may be meant
 * during maintenance): "FILE:LINE: ..." lines into *warn. Returns how many. */
unsigned config_warnings(const struct config *cfg, struct errbuf *warn);

/* Would an upstream (global or of a forward zone) send queries back to us? An upstream equal to a listen address and
 * port, or, for a wildcard listen (0.0.0.0 or ::), on its port and at an address of this
 * host: one of local[] (the host's interface addresses, from getifaddrs), a loopback address
 * or the unspecified address. IPv4 and IPv6 are separate (IPv6 listeners are V6ONLY; an
 * IPv4-mapped upstream counts as IPv4). Returns 0, or -EINVAL with the message in *err. */
int config_check_loop(const struct config *cfg, const struct sockaddr_storage *local, size_t n_local,
                      struct errbuf *err);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

#endif
