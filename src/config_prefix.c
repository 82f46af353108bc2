/* config_prefix.c - prefix lines and their options, the global options they inherit, prefix sets */
#include "config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A comma-separated list of one prefix option into a new array (*out, *n). Returns 0 (also
 * after a reported error: *n stays 0 and *bad is set) or -ENOMEM. */
static int prefix_option_list(struct config_parser *ps, const char *opt, char *list, bool v4, void **out, size_t *n,
                              bool *bad)
{
	size_t size = v4 ? sizeof(struct mapped_net) : sizeof(struct network);
	char *save = NULL;
	void *arr = NULL;

	*n = 0;
	for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		struct mapped_net m;
		struct network net;
		const char *why = "";
		void *p;
		int rc = v4 ? mapped_parse(t, &m, &why) : addr_parse_network(t, &net, &why);

		if (rc == 0 && !v4 && net.family != AF_INET6) {
			rc = -EINVAL;
			why = "not an IPv6 network";
		}
		if (rc < 0) {
			perr(ps, "prefix: bad %s entry '%s': %s", opt, t, why);
			free(arr);
			*n = 0;
			*bad = true;
			return 0;
		}
		if ((p = grow(arr, *n, size)) == NULL) {
			free(arr);
			return -ENOMEM;
		}
		arr = p;
		memcpy((char *)arr + *n * size, v4 ? (const void *)&m : (const void *)&net, size);
		(*n)++;
	}
	if (*n == 0) {
		perr(ps, "prefix: empty %s list", opt);
		*bad = true;
	}
	*out = arr;
	return 0;
}

/* The options after the prefix: suffix, mapped and exclude, each at most once. Returns 0
 * (errors reported: *bad) or -ENOMEM. */
static int prefix_options(struct config_parser *ps, char **save, struct synth_prefix *sp, bool *bad)
{
	char *opt, *val;
	int rc = 0;

	while (rc == 0 && !*bad && (opt = strtok_r(NULL, SPACE, save)) != NULL) {
		unsigned bit = strcmp(opt, "suffix") == 0    ? PREFIX_OWN_SUFFIX
		               : strcmp(opt, "mapped") == 0  ? PREFIX_OWN_MAPPED
		               : strcmp(opt, "exclude") == 0 ? PREFIX_OWN_EXCLUDE
		                                             : 0;
		const char *why;
		void *arr = NULL;

		if (bit == 0) {
			perr(ps, "prefix: unknown option '%s' (suffix, mapped or exclude)", opt);
			*bad = true;
		} else if ((sp->own & bit) != 0) {
			perr(ps, "prefix: '%s' given twice", opt);
			*bad = true;
		} else if ((val = strtok_r(NULL, SPACE, save)) == NULL) {
			perr(ps, "prefix: missing value for '%s'", opt);
			*bad = true;
		} else if (bit == PREFIX_OWN_SUFFIX) {
			if (inet_pton(AF_INET6, val, sp->p.suffix) != 1) {
				perr(ps, "prefix: bad suffix '%s': not an IPv6 address", val);
				*bad = true;
			} else if (nat64_suffix_check(&sp->p, sp->p.suffix, &why) < 0) {
				perr(ps, "prefix: suffix '%s' does not fit: %s", val, why);
				*bad = true;
			}
		} else if (bit == PREFIX_OWN_MAPPED) {
			rc = prefix_option_list(ps, opt, val, true, &arr, &sp->n_mapped, bad);
			sp->mapped = arr;
		} else {
			rc = prefix_option_list(ps, opt, val, false, &arr, &sp->n_exclude, bad);
			sp->exclude = arr;
		}
		sp->own |= bit;
	}
	return rc;
}

void prefix_free(struct synth_prefix *sp)
{
	if ((sp->own & PREFIX_OWN_MAPPED) != 0)
		free((void *)sp->mapped);
	if ((sp->own & PREFIX_OWN_EXCLUDE) != 0)
		free((void *)sp->exclude);
}

/* "prefix P/LEN [suffix V6ADDR] [mapped NET4[,NET4...]] [exclude NET6[,NET6...]]" */
int d_prefix(struct config_parser *ps, const struct config_directive *d, const char *arg)
{
	struct config *cfg = ps->cfg;
	struct synth_prefix sp = {.line = ps->line};
	char *copy = strdup(arg), *save = NULL, *word;
	const char *why;
	char buf[64];
	bool bad = false;
	int rc = 0;

	(void)d;
	if (copy == NULL)
		return -ENOMEM;
	word = strtok_r(copy, SPACE, &save);
	if (nat64_prefix_parse(word, &sp.p, &why) < 0) {
		perr(ps, "bad prefix '%s': %s", word, why);
		goto cleanup;
	}
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		if (nat64_prefix_equal(&cfg->prefixes[i].p, &sp.p)) {
			perr(ps, "duplicate prefix '%s' (also on line %u)",
			     nat64_prefix_format(&sp.p, buf, sizeof(buf)), cfg->prefixes[i].line);
			goto cleanup;
		}
	}
	if (cfg->n_prefixes == PREFIX_SET_MAX) {
		perr(ps, "too many prefixes (at most %u)", PREFIX_SET_MAX);
		goto cleanup;
	}
	rc = prefix_options(ps, &save, &sp, &bad);
	if (rc < 0 || bad)
		goto cleanup;
	rc = push_elem(cfg, d, &sp, sizeof(sp));
	if (rc == 0)
		sp.own = 0; /* the arrays belong to the config now */
cleanup:
	prefix_free(&sp);
	free(copy);
	return rc;
}

/* The global template of acl_resolve: the global mapped, exclude and suffix. */
static struct synth_prefix global_options(const struct config *cfg)
{
	struct synth_prefix g = {.mapped = cfg->mapped,
	                         .n_mapped = cfg->n_mapped,
	                         .exclude = cfg->exclude,
	                         .n_exclude = cfg->n_exclude,
	                         .own = cfg->has_suffix ? PREFIX_OWN_SUFFIX : 0};

	memcpy(g.p.suffix, cfg->suffix, sizeof(g.p.suffix));
	return g;
}

/* Each prefix line takes the global mapped, exclude and suffix it does not set itself. */
void inherit_options(struct config_parser *ps)
{
	struct config *cfg = ps->cfg;

	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		struct synth_prefix *sp = &cfg->prefixes[i];
		const char *why;
		char a[64], b[64];

		if ((sp->own & PREFIX_OWN_MAPPED) == 0) {
			sp->mapped = cfg->mapped;
			sp->n_mapped = cfg->n_mapped;
		}
		if ((sp->own & PREFIX_OWN_EXCLUDE) == 0) {
			sp->exclude = cfg->exclude;
			sp->n_exclude = cfg->n_exclude;
		}
		if ((sp->own & PREFIX_OWN_SUFFIX) != 0 || !cfg->has_suffix || sp->p.len >= 96)
			continue;
		if (nat64_suffix_check(&sp->p, cfg->suffix, &why) < 0) {
			ps->line = sp->line != 0 ? sp->line : config_line(cfg, "suffix");
			perr(ps, "prefix '%s' takes the global suffix '%s' (line %u), which does not fit: %s",
			     nat64_prefix_format(&sp->p, a, sizeof(a)), nat64_suffix_format(cfg->suffix, b, sizeof(b)),
			     config_line(cfg, "suffix"), why);
			continue;
		}
		memcpy(sp->p.suffix, cfg->suffix, sizeof(sp->p.suffix));
	}
}

int config_resolve_acl(struct config *cfg, struct errbuf *err)
{
	struct synth_prefix g = global_options(cfg);

	return acl_resolve(&cfg->acl, cfg->acl_path != NULL ? cfg->acl_path : cfg->path, cfg->prefixes, cfg->n_prefixes,
	                   &g, err);
}

void config_global_prefix(const struct config *cfg, const struct nat64_prefix *p, struct synth_prefix *out)
{
	const char *why;
	memset(out, 0, sizeof(*out));
	out->p = *p;
	memset(out->p.suffix, 0, sizeof(out->p.suffix));
	if (cfg->has_suffix && p->len < 96 && nat64_suffix_check(p, cfg->suffix, &why) == 0)
		memcpy(out->p.suffix, cfg->suffix, sizeof(out->p.suffix));
	out->mapped = cfg->mapped;
	out->n_mapped = cfg->n_mapped;
	out->exclude = cfg->exclude;
	out->n_exclude = cfg->n_exclude;
}

const struct synth_prefix *config_prefix_set(const struct config *cfg, const struct acl_rule *rule, size_t *n)
{
	const struct synth_prefix *set = rule != NULL ? acl_rule_prefixes(&cfg->acl, rule, n) : NULL;

	if (set != NULL)
		return set;
	*n = cfg->n_prefixes;
	return cfg->prefixes;
}
