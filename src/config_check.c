/* config_check.c - checks of a loaded config beyond its syntax: the host, loops, warnings */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dns64d/config.h"

/* The directory of the dnstap socket must be there (the collector makes the socket itself);
 * with a chroot, the path is seen inside it (the daemon connects after the chroot). */
static bool dnstap_dir_ok(const struct config *cfg, struct errbuf *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(cfg->dnstap_socket, '/');
	const char *root = cfg->chroot != NULL && strcmp(cfg->chroot, "/") != 0 ? cfg->chroot : "";
	int n = (int)(slash - cfg->dnstap_socket);
	struct stat st;

	snprintf(dir, sizeof(dir), "%s%.*s", root, n > 0 ? n : 1, n > 0 ? cfg->dnstap_socket : "/");
	if (stat(dir, &st) < 0) {
		errbuf_add(err, "%s:%u: dnstap-socket '%s': directory '%s': %s", cfg->path,
		           config_line(cfg, "dnstap-socket"), cfg->dnstap_socket, dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		errbuf_add(err, "%s:%u: dnstap-socket '%s': '%s' is not a directory", cfg->path,
		           config_line(cfg, "dnstap-socket"), cfg->dnstap_socket, dir);
		return false;
	}
	return true;
}

int config_check_system(const struct config *cfg, struct errbuf *err)
{
	struct stat st;
	int errors = 0;

	if (cfg->user != NULL) {
		errno = 0;
		if (getpwnam(cfg->user) == NULL) {
			errbuf_add(err, "%s:%u: unknown user '%s'%s%s", cfg->path, config_line(cfg, "user"), cfg->user,
			           errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
			errors++;
		}
	}
	if (cfg->chroot != NULL) {
		if (stat(cfg->chroot, &st) < 0) {
			errbuf_add(err, "%s:%u: chroot '%s': %s", cfg->path, config_line(cfg, "chroot"), cfg->chroot,
			           strerror(errno));
			errors++;
		} else if (!S_ISDIR(st.st_mode)) {
			errbuf_add(err, "%s:%u: chroot '%s' is not a directory", cfg->path, config_line(cfg, "chroot"),
			           cfg->chroot);
			errors++;
		}
	}
	if (cfg->dnstap_socket != NULL && !dnstap_dir_ok(cfg, err))
		errors++;
	for (size_t i = 0; i < cfg->n_prefix_from_ra; i++)
		if (if_nametoindex(cfg->prefix_from_ra[i].name) == 0) {
			errbuf_add(err, "%s:%u: prefix-from-ra '%s': no such network interface", cfg->path,
			           cfg->prefix_from_ra[i].line, cfg->prefix_from_ra[i].name);
			errors++;
		}
	return errors > 0 ? -EINVAL : 0;
}

unsigned config_warnings(const struct config *cfg, struct errbuf *warn)
{
	unsigned n = 0;

	if (cfg->acl_path != NULL) {
		bool serves = false;

		for (size_t i = 0; i < cfg->acl.n && !serves; i++)
			serves = cfg->acl.rules[i].action == ACL_DNS64 || cfg->acl.rules[i].action == ACL_FORWARD;
		if (!serves) {
			errbuf_add(warn,
			           "%s:%u: acl '%s' has no dns64 or forward rule: every client is refused or dropped",
			           cfg->path, config_line(cfg, "acl"), cfg->acl_path);
			n++;
		}
	}
	const struct forward_zone *root = config_forward_match(cfg, (const uint8_t *)"", 1);
	if (root != NULL && config_line(cfg, "upstream") != 0) {
		errbuf_add(warn,
		           "%s:%u: 'forward .' takes every name not under another forward: the upstream list is never "
		           "asked",
		           cfg->path, root->line);
		n++;
	}
	return n;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)->sin_port;
	return ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port;
}

/* Does an upstream at (family, addr) reach this host? Its own addresses, the loopback
 * networks and the unspecified address (which connect() takes as this host) do. */
static bool is_local(int family, const uint8_t *addr, const struct sockaddr_storage *local, size_t n_local)
{
	static const uint8_t zero[16], loop6[16] = {[15] = 1};
	uint8_t la[16];

	if (family == AF_INET && (addr[0] == 127 || memcmp(addr, zero, 4) == 0))
		return true;
	if (family == AF_INET6 && (memcmp(addr, loop6, 16) == 0 || memcmp(addr, zero, 16) == 0))
		return true;
	for (size_t i = 0; i < n_local; i++)
		if (addr_raw((const struct sockaddr *)&local[i], la) == family &&
		    memcmp(la, addr, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

/* One upstream against the listen addresses; what names it in the message ("upstream" or
 * "FILE:LINE: forward 'home.arpa.' upstream"). */
static int check_one(const struct config *cfg, const struct sockaddr_storage *up, const char *what,
                     const struct sockaddr_storage *local, size_t n_local, struct errbuf *err)
{
	static const uint8_t zero[16];
	uint8_t ua[16], la[16];
	int uf = addr_raw((const struct sockaddr *)up, ua);
	size_t n = uf == AF_INET ? 4 : 16;

	for (size_t l = 0; l < cfg->n_listen; l++) {
		const struct sockaddr_storage *ls = &cfg->listen[l];
		char a[64], b[64];

		/* IPv6 listeners are IPV6_V6ONLY: a family only loops onto its own */
		if (addr_raw((const struct sockaddr *)ls, la) != uf || port_of(up) != port_of(ls))
			continue;
		if (memcmp(ua, la, n) == 0) {
			errbuf_add(err, "%s '%s' is dns64d's own listen address: queries would loop", what,
			           addr_format((const struct sockaddr *)up, a, sizeof(a)));
			return -EINVAL;
		}
		if (memcmp(la, zero, n) == 0 && is_local(uf, ua, local, n_local)) {
			errbuf_add(err,
			           "%s '%s' is an address of this host and dns64d listens on '%s': queries would loop",
			           what, addr_format((const struct sockaddr *)up, a, sizeof(a)),
			           addr_format((const struct sockaddr *)ls, b, sizeof(b)));
			return -EINVAL;
		}
	}
	return 0;
}

int config_check_loop(const struct config *cfg, const struct sockaddr_storage *local, size_t n_local,
                      struct errbuf *err)
{
	char what[1400];

	snprintf(what, sizeof(what), "%s: upstream", cfg->path);
	for (size_t u = 0; u < cfg->n_upstream; u++)
		if (check_one(cfg, &cfg->upstream[u].addr, what, local, n_local, err) < 0)
			return -EINVAL;
	for (size_t z = 0; z < cfg->n_forward; z++) {
		const struct forward_zone *fz = &cfg->forward[z];
		char name[1024];

		snprintf(what, sizeof(what), "%s:%u: forward '%s' upstream", cfg->path, fz->line,
		         config_dname_text(&fz->name, name, sizeof(name)));
		for (size_t u = 0; u < fz->n_upstream; u++)
			if (check_one(cfg, &fz->upstream[u].addr, what, local, n_local, err) < 0)
				return -EINVAL;
	}
	return 0;
}
