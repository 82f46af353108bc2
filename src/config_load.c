/* config_load.c - the config file, the ACL file it names and resolv.conf read from disk */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns64d/config.h"
#include "dns64d/localdata.h"

#define RESOLV_CONF     "/etc/resolv.conf"
#define CONFIG_FILE_MAX (64u << 20) /* ACL files can be long; this only stops mistakes */

/* The address of a "nameserver ADDR" line, or false for any other line. resolv.conf has no
 * port syntax, so "1.2.3.4:5" and "[::1]:5" are not addresses there. */
static bool resolv_nameserver(const char *line, size_t len, struct sockaddr_storage *ss)
{
	char buf[256], word[16], addr[128];
	const char *colon, *why;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, " %15s %127s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
		return false;
	colon = strchr(addr, ':');
	if (addr[0] == '[' || (colon != NULL && strchr(colon + 1, ':') == NULL))
		return false;
	return addr_parse_endpoint(addr, 53, ss, &why) == 0;
}

int config_upstreams_from_resolv(struct config *cfg, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		struct upstream u = {.proto = UPSTREAM_UDP};

		if (resolv_nameserver(p, len, &u.addr)) {
			struct upstream *up = realloc(cfg->upstream, (cfg->n_upstream + 1) * sizeof(*up));

			if (up == NULL)
				return -ENOMEM;
			cfg->upstream = up;
			up[cfg->n_upstream++] = u;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

/* Whole file into a NUL-terminated buffer. Returns 0 or a negative errno. */
static int read_file(const char *path, char **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 4096;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= cap)
		cap = (size_t)st.st_size + 1;
	if (cap > CONFIG_FILE_MAX) {
		rc = -EFBIG;
		goto cleanup;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb;

			if (cap * 2 > CONFIG_FILE_MAX) {
				rc = -EFBIG;
				goto cleanup;
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		rc = -EILSEQ; /* a NUL byte: not a text file */
		goto cleanup;
	}
	*out = buf;
	buf = NULL;

cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* The hosts files: their records join cfg->local; each file's problems are counted in
 * *errors. Returns 0 or -ENOMEM. */
static int load_hosts(struct config *cfg, const char *path, struct errbuf *err, unsigned *errors)
{
	if (cfg->n_hosts == 0)
		return 0;
	if (cfg->local == NULL && localdata_new(&cfg->local) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_hosts; i++) {
		char *text = NULL;
		int rc = read_file(cfg->hosts[i], &text);

		if (rc < 0) {
			errbuf_add(err, "%s:%u: cannot read hosts '%s': %s", path, cfg->hosts_lines[i], cfg->hosts[i],
			           strerror(-rc));
			(*errors)++;
			continue;
		}
		rc = localdata_add_hosts(cfg->local, cfg->hosts[i], text, err);
		free(text);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			(*errors)++;
	}
	return localdata_finish(cfg->local);
}

/* The ACL file, or the default ACL, into cfg->acl; the file's problems are counted in *errors.
 * Returns 0, or -ENOMEM (or acl_default's error) to give up. */
static int load_acl(struct config *cfg, const char *path, struct errbuf *err, unsigned *errors)
{
	char *text = NULL;
	int rc;

	if (cfg->acl_path != NULL) {
		rc = read_file(cfg->acl_path, &text);
		if (rc < 0) {
			errbuf_add(err, "%s:%u: cannot read acl '%s': %s", path, config_line(cfg, "acl"), cfg->acl_path,
			           strerror(-rc));
			(*errors)++;
		} else {
			rc = acl_parse(cfg->acl_path, text, &cfg->acl, err);
			free(text);
			if (rc == -ENOMEM)
				return rc;
			if (rc == 0)
				rc = config_resolve_acl(cfg, err);
			if (rc < 0)
				(*errors)++;
		}
		return 0;
	}
	rc = acl_default(&cfg->acl);
	return rc < 0 ? rc : 0;
}

/* The tls-ca file must be readable and hold a PEM certificate; a problem is counted in *errors. */
static void check_tls_ca(const struct config *cfg, const char *path, struct errbuf *err, unsigned *errors)
{
	char *text = NULL;
	int rc;

	if (cfg->tls_ca != NULL) {
		rc = read_file(cfg->tls_ca, &text);
		if (rc < 0) {
			errbuf_add(err, "%s:%u: cannot read tls-ca '%s': %s", path, config_line(cfg, "tls-ca"),
			           cfg->tls_ca, strerror(-rc));
			(*errors)++;
		} else if (!strstr(text, "-----BEGIN CERTIFICATE-----")) {
			errbuf_add(err, "%s:%u: tls-ca '%s' holds no PEM certificate", path, config_line(cfg, "tls-ca"),
			           cfg->tls_ca);
			(*errors)++;
		}
		free(text);
	}
}

/* Without upstream lines (and without "forward ."), the upstreams of /etc/resolv.conf; none
 * at all is counted in *errors. Returns 0 or -ENOMEM. */
static int resolv_upstreams(struct config *cfg, const char *path, struct errbuf *err, unsigned *errors)
{
	char *text = NULL;
	int rc;

	/* "forward ." leaves no name for the upstream list: then it may stay empty */
	if (config_line(cfg, "upstream") == 0 && config_forward_match(cfg, (const uint8_t *)"", 1) == NULL) {
		if (read_file(RESOLV_CONF, &text) == 0) {
			rc = config_upstreams_from_resolv(cfg, text);
			free(text);
			if (rc < 0)
				return rc;
		}
		if (cfg->n_upstream == 0) {
			errbuf_add(err, "%s: no upstream given and none found in '%s'", path, RESOLV_CONF);
			(*errors)++;
		}
	}
	return 0;
}

int config_load(const char *path, struct config **out, struct errbuf *err)
{
	struct config *cfg;
	char *text = NULL;
	unsigned errors;
	int rc;

	*out = NULL;
	rc = read_file(path, &text);
	if (rc < 0) {
		errbuf_add(err, "%s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	rc = config_parse_keep(path, text, &cfg, &errors, err);
	free(text);
	text = NULL;
	if (rc < 0)
		return rc;

	/* Go on after config errors: the ACL file's problems are worth reporting too. */
	rc = load_acl(cfg, path, err, &errors);
	if (rc < 0)
		goto cleanup;
	check_tls_ca(cfg, path, err, &errors);
	rc = load_hosts(cfg, path, err, &errors);
	if (rc < 0)
		goto cleanup;

	rc = resolv_upstreams(cfg, path, err, &errors);
	if (rc < 0)
		goto cleanup;
	rc = errors > 0 ? -EINVAL : 0;

cleanup:
	if (rc < 0) {
		config_unref(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}
