/* config_files.c - the directives that name files: acl, tls-ca, local-data, hosts, listen-tls */
#include "config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/localdata.h"

int d_acl(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	const char *slash = strrchr(ps->path, '/');
	char *p;

	ps->acl_line = ps->line;
	if (arg[0] == '/' || slash == NULL) {
		p = strdup(arg);
	} else {
		int dirlen = (int)(slash - ps->path);

		if (asprintf(&p, "%.*s/%s", dirlen, ps->path, arg) < 0)
			p = NULL;
	}
	if (p == NULL)
		return -ENOMEM;
	ps->cfg->acl_path = p;
	return 0;
}

/* tls-ca FILE: a relative path is relative to the config file's directory, like acl. */
int d_tls_ca(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	const char *slash = strrchr(ps->path, '/');
	char *p;
	if (arg[0] == '/' || slash == NULL)
		p = strdup(arg);
	else if (asprintf(&p, "%.*s/%s", (int)(slash - ps->path), ps->path, arg) < 0)
		p = NULL;
	if (p == NULL)
		return -ENOMEM;
	free(ps->cfg->tls_ca);
	ps->cfg->tls_ca = p;
	return 0;
}

/* The path of a file named in the config: relative paths are read beside the config file. */
static char *beside_config(const char *conf, const char *arg)
{
	const char *slash = strrchr(conf, '/');
	char *p;

	if (arg[0] == '/' || slash == NULL)
		return strdup(arg);
	if (asprintf(&p, "%.*s/%s", (int)(slash - conf), conf, arg) < 0)
		return NULL;
	return p;
}

/* Append s (taken over, or freed) to the string list of d. */
static int push_string(struct config *cfg, const struct config_directive *d, char *s)
{
	char ***arr = FIELD(cfg, d->offset, char **);
	size_t *n = FIELD(cfg, d->aux, size_t);
	char **p = grow(*arr, *n, sizeof(char *));

	if (p == NULL) {
		free(s);
		return -ENOMEM;
	}
	*arr = p;
	p[(*n)++] = s;
	return 0;
}

/* local-data "NAME [TTL] [IN] TYPE RDATA": the record is made now, so that its error names
 * this line; the text as written is kept for -t -v and reload comparisons. A value in single
 * quotes loses them too, for data that holds double quotes (TXT "two words"). */
int d_local_data(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	size_t n = strlen(arg);
	char why[256], *text = n >= 2 && arg[0] == '\'' && arg[n - 1] == '\'' ? strndup(arg + 1, n - 2) : strdup(arg);
	int rc;

	if (text == NULL || (cfg->local == NULL && localdata_new(&cfg->local) < 0)) {
		free(text);
		return -ENOMEM;
	}
	rc = localdata_add_rr(cfg->local, text, why, sizeof(why));
	if (rc == -EINVAL)
		perr(ps, "bad local-data '%s': %s", text, why);
	if (rc < 0) {
		free(text);
		return rc == -EINVAL ? 0 : rc;
	}
	return push_string(cfg, d, text);
}

/* hosts FILE: read by config_load (this parser reads no file); the line is kept for its
 * "cannot read" message. */
int d_hosts(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	unsigned *lines = grow(cfg->hosts_lines, cfg->n_hosts, sizeof(*lines));

	if (lines == NULL)
		return -ENOMEM;
	cfg->hosts_lines = lines;
	lines[cfg->n_hosts] = ps->line;
	return push_string(cfg, d, beside_config(ps->path, arg));
}

/* A file named in the config: absolute, or relative to the config file's directory. */
static char *config_relative(const char *config_path, const char *arg)
{
	const char *slash = strrchr(config_path, '/');
	char *p;

	if (arg[0] == '/' || slash == NULL)
		return strdup(arg);
	if (asprintf(&p, "%.*s/%s", (int)(slash - config_path), config_path, arg) < 0)
		return NULL;
	return p;
}

/* listen-tls ADDR[:PORT] CERT-FILE KEY-FILE (the rest of the line, split here). */
int d_listen_tls(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	char *copy = strdup(arg), *save = NULL, *w[4];
	struct listen_tls lt = {.line = ps->line};
	int n = 0, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t\r\f\v", &save); t != NULL && n < 4; t = strtok_r(NULL, " \t\r\f\v", &save))
		w[n++] = t;
	if (n != 3) {
		if (n == 4)
			perr(ps, "extra argument '%s' for 'listen-tls'", w[3]);
		else
			perr(ps, "listen-tls needs ADDR[:PORT] CERT-FILE KEY-FILE");
		goto cleanup;
	}
	if (!parse_endpoint(ps, w[0], d->port, &lt.addr))
		goto cleanup;
	for (size_t i = 0; i < cfg->n_listen_tls; i++) {
		if (addr_equal(&cfg->listen_tls[i].addr, &lt.addr)) {
			perr(ps, "duplicate listen-tls '%s' (also on line %u)", w[0], cfg->listen_tls[i].line);
			goto cleanup;
		}
	}
	lt.cert = config_relative(ps->path, w[1]);
	lt.key = config_relative(ps->path, w[2]);
	if (lt.cert == NULL || lt.key == NULL || (rc = push_elem(cfg, d, &lt, sizeof(lt))) < 0) {
		free(lt.cert);
		free(lt.key);
		rc = -ENOMEM;
	}
cleanup:
	free(copy);
	return rc;
}
