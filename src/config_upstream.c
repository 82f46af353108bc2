/* config_upstream.c - upstream and forward lines, and the forward zone of a name */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64 /* words of one upstream or forward line */

/* Split s (modified) at white space into at most max words; -1 if there are more. */
static int split_words(char *s, char **w, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *t = strtok_r(s, " \t\r\f\v", &save); t != NULL; t = strtok_r(NULL, " \t\r\f\v", &save)) {
		if (n == max)
			return -1;
		w[n++] = t;
	}
	return n;
}

/* One upstream from w[*i]: "ADDR[:PORT]" or "tls://ADDR[:PORT]#NAME", and "pin-sha256 BASE64"
 * after it; *i moves past what was used. false after reporting the error. */
static bool parse_upstream_words(struct config_parser *ps, const struct config_directive *d, char **w, int n, int *i,
                                 struct upstream *u)
{
	char host[128], addr[INET6_ADDRSTRLEN];
	const char *word = w[*i], *why, *p;

	if (upstream_spec_address_text(word, host, sizeof(host)) != NULL &&
	    ambiguous_v6_port(host, addr, sizeof(addr), &p)) {
		perr(ps, "ambiguous address '%s': use [%s]:%s for port %s, or [%s] for the address", host, addr, p, p,
		     host);
		return false;
	}
	if (upstream_spec_parse(word, d->port, u, &why) < 0) {
		perr(ps, strstr(word, "://") != NULL ? "bad upstream '%s': %s" : "bad address '%s': %s", word, why);
		return false;
	}
	(*i)++;
	if (*i < n && strcmp(w[*i], "pin-sha256") == 0) {
		if (*i + 1 >= n) {
			perr(ps, "missing value after 'pin-sha256' for '%s'", word);
			return false;
		}
		if (upstream_spec_set_pin(u, w[*i + 1], &why) < 0) {
			perr(ps, "bad pin-sha256 '%s' for '%s': %s", w[*i + 1], word, why);
			return false;
		}
		*i += 2;
	}
	return true;
}

/* "upstream ADDR[:PORT]" or "upstream tls://ADDR[:PORT]#NAME [pin-sha256 BASE64]". */
int parse_upstream_line(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	char *copy = strdup(arg), *w[MAX_WORDS];
	struct upstream u;
	int n, i = 0, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	n = split_words(copy, w, MAX_WORDS);
	if (n < 0)
		perr(ps, "too many words for '%s'", d->name);
	else if (parse_upstream_words(ps, d, w, n, &i, &u)) {
		if (i < n)
			perr(ps, "extra argument '%s' for '%s'", w[i], d->name);
		else
			rc = push_elem(ps->cfg, d, &u, sizeof(u));
	}
	free(copy);
	return rc;
}

static bool dname_equal(const struct dname *a, const struct dname *b)
{
	return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/* "forward DOMAIN UPSTREAM [UPSTREAM...]", each upstream as for "upstream". */
int parse_forward_line(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	char *copy = strdup(arg), *w[MAX_WORDS];
	struct forward_zone z = {.line = ps->line};
	int n, i = 1, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	n = split_words(copy, w, MAX_WORDS);
	if (n < 0) {
		perr(ps, "too many words for '%s'", d->name);
		goto cleanup;
	}
	if (parse_dname(w[0], &z.name) < 0) {
		perr(ps, "bad domain name '%s' for %s", w[0], d->name);
		goto cleanup;
	}
	for (size_t k = 0; k < cfg->n_forward; k++) {
		if (dname_equal(&cfg->forward[k].name, &z.name)) {
			char name[1024];

			perr(ps, "duplicate forward '%s' (also on line %u)",
			     config_dname_text(&z.name, name, sizeof(name)), cfg->forward[k].line);
			goto cleanup;
		}
	}
	if (n < 2) {
		perr(ps, "forward '%s' needs at least one upstream", w[0]);
		goto cleanup;
	}
	z.upstream = calloc((size_t)n, sizeof(*z.upstream));
	if (z.upstream == NULL) {
		rc = -ENOMEM;
		goto cleanup;
	}
	while (i < n)
		if (!parse_upstream_words(ps, d, w, n, &i, &z.upstream[z.n_upstream++]))
			goto cleanup;
	rc = push_elem(cfg, d, &z, sizeof(z));
	if (rc == 0)
		z.upstream = NULL; /* the config's now */

cleanup:
	free(z.upstream);
	free(copy);
	return rc;
}

static bool label_tail_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower(a[i]) != tolower(b[i]))
			return false;
	return true;
}

const struct forward_zone *config_forward_match(const struct config *cfg, const uint8_t *qname, size_t qname_len)
{
	/* from the whole name towards the root: the first suffix that is a zone is the longest */
	for (size_t off = 0; cfg->n_forward != 0 && off < qname_len;) {
		size_t rest = qname_len - off;

		for (size_t i = 0; i < cfg->n_forward; i++) {
			const struct dname *z = &cfg->forward[i].name;

			if (z->len == rest && label_tail_equal(qname + off, z->wire, rest))
				return &cfg->forward[i];
		}
		if (qname[off] == 0 || qname[off] > 63)
			break;
		off += 1u + qname[off];
	}
	return NULL;
}
