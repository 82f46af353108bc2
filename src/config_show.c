/* config_show.c - a loaded config through its directive table: compared, printed */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns64d/config.h"

#define CFIELD(cfg, off, type) ((const type *)(const void *)((const char *)(cfg) + (off)))
#define SPACE                  " \t\r\f\v"

static size_t elem_size(enum config_type t)
{
	switch (t) {
	case CONFIG_ENDPOINTS: return sizeof(struct sockaddr_storage);
	case CONFIG_NETWORKS: return sizeof(struct network);
	case CONFIG_MAPPED: return sizeof(struct mapped_net);
	case CONFIG_DOMAINS: return sizeof(struct dname);
	case CONFIG_IFNAMES: return sizeof(struct ifname);
	case CONFIG_UPSTREAMS: return sizeof(struct upstream);
	case CONFIG_FORWARDS: return sizeof(struct forward_zone);
	default: return 0;
	}
}

/* The char * array of a CONFIG_STRINGS field. */
static char *const *strings_at(const struct config *cfg, size_t off)
{
	return *(char **const *)(const void *)((const char *)cfg + off);
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool upstreams_equal(const struct upstream *a, size_t na, const struct upstream *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!upstream_spec_equal(&a[i], &b[i]))
			return false;
	return true;
}

static bool forwards_equal(const struct forward_zone *a, size_t na, const struct forward_zone *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].name.len != b[i].name.len || memcmp(a[i].name.wire, b[i].name.wire, a[i].name.len) != 0 ||
		    !upstreams_equal(a[i].upstream, a[i].n_upstream, b[i].upstream, b[i].n_upstream))
			return false;
	return true;
}

/* The same prefix line: the prefix, the suffix and the options it gives itself. */
static bool same_prefix_line(const struct synth_prefix *x, const struct synth_prefix *y)
{
	if (memcmp(&x->p, &y->p, sizeof(x->p)) != 0 || x->own != y->own)
		return false;
	if ((x->own & PREFIX_OWN_MAPPED) != 0 &&
	    (x->n_mapped != y->n_mapped || memcmp(x->mapped, y->mapped, x->n_mapped * sizeof(*x->mapped)) != 0))
		return false;
	return (x->own & PREFIX_OWN_EXCLUDE) == 0 ||
	       (x->n_exclude == y->n_exclude &&
	        memcmp(x->exclude, y->exclude, x->n_exclude * sizeof(*x->exclude)) == 0);
}

static bool prefixes_changed(const struct config_directive *d, const struct config *a, const struct config *b)
{
	size_t n = *CFIELD(a, d->aux, size_t);
	const struct synth_prefix *x = *CFIELD(a, d->offset, struct synth_prefix *);
	const struct synth_prefix *y = *CFIELD(b, d->offset, struct synth_prefix *);

	if (n != *CFIELD(b, d->aux, size_t))
		return true;
	for (size_t i = 0; i < n; i++)
		if (!same_prefix_line(&x[i], &y[i]))
			return true;
	return false;
}

bool config_value_changed(const struct config_directive *d, const struct config *a, const struct config *b)
{
	size_t off = d->offset;

	switch (d->type) {
	case CONFIG_BOOL: return *CFIELD(a, off, bool) != *CFIELD(b, off, bool);
	case CONFIG_UINT:
	case CONFIG_KEYWORD:
	case CONFIG_WORDSET: return *CFIELD(a, off, unsigned) != *CFIELD(b, off, unsigned);
	case CONFIG_SIZE: return *CFIELD(a, off, size_t) != *CFIELD(b, off, size_t);
	case CONFIG_STRING:
	case CONFIG_PATH: return !str_equal(*CFIELD(a, off, char *), *CFIELD(b, off, char *));
	case CONFIG_PREFIX:
		return memcmp(CFIELD(a, off, struct nat64_prefix), CFIELD(b, off, struct nat64_prefix),
		              sizeof(struct nat64_prefix)) != 0;
	case CONFIG_ENDPOINT:
		if (*CFIELD(a, d->aux, bool) != *CFIELD(b, d->aux, bool))
			return true;
		return *CFIELD(a, d->aux, bool) &&
		       !addr_equal(CFIELD(a, off, struct sockaddr_storage), CFIELD(b, off, struct sockaddr_storage));
	case CONFIG_PREFIXES: return prefixes_changed(d, a, b);
	case CONFIG_IPV6:
		return *CFIELD(a, d->aux, bool) != *CFIELD(b, d->aux, bool) ||
		       memcmp(CFIELD(a, off, uint8_t), CFIELD(b, off, uint8_t), 16) != 0;
	case CONFIG_FORWARDS:
		return !forwards_equal(*CFIELD(a, off, struct forward_zone *), *CFIELD(a, d->aux, size_t),
		                       *CFIELD(b, off, struct forward_zone *), *CFIELD(b, d->aux, size_t));
	case CONFIG_STRINGS: {
		size_t n = *CFIELD(a, d->aux, size_t);
		char *const *x = strings_at(a, off), *const *y = strings_at(b, off);

		if (n != *CFIELD(b, d->aux, size_t))
			return true;
		for (size_t i = 0; i < n; i++)
			if (strcmp(x[i], y[i]) != 0)
				return true;
		return false;
	}
	case CONFIG_ENDPOINTS:
	case CONFIG_NETWORKS:
	case CONFIG_MAPPED:
	case CONFIG_DOMAINS:
	case CONFIG_IFNAMES:
	case CONFIG_UPSTREAMS: {
		size_t n = *CFIELD(a, d->aux, size_t);
		const void *x = *CFIELD(a, off, void *), *y = *CFIELD(b, off, void *);

		if (n != *CFIELD(b, d->aux, size_t))
			return true;
		if (d->type == CONFIG_ENDPOINTS) {
			for (size_t i = 0; i < n; i++)
				if (!addr_equal((const struct sockaddr_storage *)x + i,
				                (const struct sockaddr_storage *)y + i))
					return true;
			return false;
		}
		if (d->type == CONFIG_IFNAMES) {
			for (size_t i = 0; i < n; i++)
				if (strcmp(((const struct ifname *)x)[i].name, ((const struct ifname *)y)[i].name) != 0)
					return true;
			return false;
		}
		if (d->type == CONFIG_UPSTREAMS)
			return !upstreams_equal(x, n, y, n);
		return n != 0 && memcmp(x, y, n * elem_size(d->type)) != 0;
	}
	case CONFIG_LISTEN_TLS: {
		/* the addresses: a reload re-reads the certificates, also from new paths */
		size_t n = *CFIELD(a, d->aux, size_t);
		const struct listen_tls *x = *CFIELD(a, off, struct listen_tls *),
		                        *y = *CFIELD(b, off, struct listen_tls *);

		if (n != *CFIELD(b, d->aux, size_t))
			return true;
		for (size_t i = 0; i < n; i++)
			if (!addr_equal(&x[i].addr, &y[i].addr))
				return true;
		return false;
	}
	}
	return true;
}

unsigned config_reload_changes(const struct config *old, const struct config *cur,
                               void (*cb)(const struct config_directive *d, void *arg), void *arg)
{
	size_t n_rows;
	const struct config_directive *table = config_directives(&n_rows);
	unsigned n = 0;

	for (size_t i = 0; i < n_rows; i++) {
		const struct config_directive *d = &table[i];

		if ((d->flags & CONFIG_RELOADABLE) != 0 || !config_value_changed(d, old, cur))
			continue;
		n++;
		if (cb != NULL)
			cb(d, arg);
	}
	return n;
}

static void print_size(FILE *f, size_t v)
{
	static const char suffix[] = "gmk";

	for (unsigned i = 0; i < 3; i++) {
		size_t unit = (size_t)1 << (10 * (3 - i));

		if (v != 0 && v % unit == 0) {
			fprintf(f, "%zu%c", v / unit, suffix[i]);
			return;
		}
	}
	fprintf(f, "%zu", v);
}

static void print_dname(FILE *f, const struct dname *dn)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dn->len, dn->wire);
	char *s = rdf != NULL ? ldns_rdf2str(rdf) : NULL;

	fputs(s != NULL ? s : "?", f);
	free(s);
	ldns_rdf_deep_free(rdf);
}

/* "forward NAME UPSTREAM..." lines, or a "# forward (none: ...)" comment. */
static void print_forwards(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	const struct forward_zone *z = *CFIELD(cfg, d->offset, struct forward_zone *);
	size_t n = *CFIELD(cfg, d->aux, size_t);
	char ub[UPSTREAM_FORMAT_MAX];

	if (n == 0)
		fprintf(f, "# %s (none: %s)\n", d->name, d->unset);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s ", d->name);
		print_dname(f, &z[i].name);
		for (size_t k = 0; k < z[i].n_upstream; k++)
			fprintf(f, " %s", upstream_spec_format(&z[i].upstream[k], true, ub, sizeof(ub)));
		fputc('\n', f);
	}
}

/* "prefix P/LEN" and the options the line gave, so that it parses back to the same. */
static void print_prefix(FILE *f, const char *name, const struct synth_prefix *sp)
{
	char buf[64];

	fprintf(f, "%s %s", name, nat64_prefix_format(&sp->p, buf, sizeof(buf)));
	if ((sp->own & PREFIX_OWN_SUFFIX) != 0)
		fprintf(f, " suffix %s", nat64_suffix_format(sp->p.suffix, buf, sizeof(buf)));
	for (size_t i = 0; (sp->own & PREFIX_OWN_MAPPED) != 0 && i < sp->n_mapped; i++)
		fprintf(f, "%s%s", i == 0 ? " mapped " : ",", mapped_format(&sp->mapped[i], buf, sizeof(buf)));
	for (size_t i = 0; (sp->own & PREFIX_OWN_EXCLUDE) != 0 && i < sp->n_exclude; i++)
		fprintf(f, "%s%s", i == 0 ? " exclude " : ",", network_format(&sp->exclude[i], buf, sizeof(buf)));
	fputc('\n', f);
}

/* A yes/no, number, keyword, set of keywords or size: one line. */
static void print_number(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	size_t off = d->offset;
	unsigned u;

	switch (d->type) {
	case CONFIG_BOOL: fprintf(f, "%s %s\n", d->name, *CFIELD(cfg, off, bool) ? "yes" : "no"); return;
	case CONFIG_UINT:
		fprintf(f, "%s %u", d->name, *CFIELD(cfg, off, unsigned));
		fprintf(f, d->unit != NULL ? " # %s\n" : "\n", d->unit);
		return;
	case CONFIG_KEYWORD:
		u = *CFIELD(cfg, off, unsigned);
		fprintf(f, "%s %s\n", d->name, d->words[u]);
		return;
	case CONFIG_WORDSET:
		u = *CFIELD(cfg, off, unsigned);
		fprintf(f, "%s ", d->name);
		for (unsigned i = 0, n = 0; d->words[i] != NULL; i++)
			if ((u & (1u << i)) != 0)
				fprintf(f, "%s%s", n++ ? "," : "", d->words[i]);
		fputc('\n', f);
		return;
	case CONFIG_SIZE:
		fprintf(f, "%s ", d->name);
		print_size(f, *CFIELD(cfg, off, size_t));
		fputc('\n', f);
		return;
	default: return;
	}
}

/* A string, path, prefix, IPv6 address or endpoint: one line, or a "# NAME (not set)" comment. */
static void print_single(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	size_t off = d->offset;
	char buf[64];

	switch (d->type) {
	case CONFIG_STRING:
	case CONFIG_PATH: {
		const char *s = *CFIELD(cfg, off, char *);

		if (s == NULL)
			fprintf(f, d->unset != NULL ? "# %s (not set: %s)\n" : "# %s (not set)\n", d->name, d->unset);
		else if ((d->flags & CONFIG_REST) != 0 && (s[0] == '"' || strpbrk(s, "#" SPACE) != NULL))
			fprintf(f, "%s \"%s\"\n", d->name, s);
		else
			fprintf(f, "%s %s\n", d->name, s);
		return;
	}
	case CONFIG_PREFIX: {
		const struct nat64_prefix *p = CFIELD(cfg, off, struct nat64_prefix);

		inet_ntop(AF_INET6, p->addr, buf, sizeof(buf));
		fprintf(f, "%s %s/%u\n", d->name, buf, p->len);
		return;
	}
	case CONFIG_IPV6:
		if (!*CFIELD(cfg, d->aux, bool))
			fprintf(f, d->unset != NULL ? "# %s (not set: %s)\n" : "# %s (not set)\n", d->name, d->unset);
		else
			fprintf(f, "%s %s\n", d->name,
			        nat64_suffix_format(CFIELD(cfg, off, uint8_t), buf, sizeof(buf)));
		return;
	case CONFIG_ENDPOINT:
		if (!*CFIELD(cfg, d->aux, bool))
			fprintf(f, d->unset != NULL ? "# %s (not set: %s)\n" : "# %s (not set)\n", d->name, d->unset);
		else
			fprintf(f, "%s %s\n", d->name,
			        addr_format((const struct sockaddr *)CFIELD(cfg, off, struct sockaddr_storage), buf,
			                    sizeof(buf)));
		return;
	default: return;
	}
}

/* The lines of a CONFIG_STRINGS list, each quoted as the parser takes the quotes off. */
static void print_strings(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	size_t off = d->offset;
	size_t n = *CFIELD(cfg, d->aux, size_t);
	char *const *v = strings_at(cfg, off);

	if (n == 0)
		fprintf(f, d->unset != NULL ? "# %s (none: %s)\n" : "# %s (none)\n", d->name, d->unset);
	/* quoted as the parser takes them off: single quotes around text with double ones */
	for (size_t i = 0; i < n; i++)
		if (strchr(v[i], '"') != NULL)
			fprintf(f, "%s '%s'\n", d->name, v[i]);
		else if (strpbrk(v[i], "#" SPACE) != NULL)
			fprintf(f, "%s \"%s\"\n", d->name, v[i]);
		else
			fprintf(f, "%s %s\n", d->name, v[i]);
}

/* The lines of a list of endpoints, networks, mapped networks, domains, interfaces or upstreams. */
static void print_list(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	size_t off = d->offset;
	char buf[64];
	size_t n = *CFIELD(cfg, d->aux, size_t);
	char ub[UPSTREAM_FORMAT_MAX];
	const char *base = *CFIELD(cfg, off, char *);

	if (n == 0)
		fprintf(f, d->unset != NULL ? "# %s (none: %s)\n" : "# %s (none)\n", d->name, d->unset);
	for (size_t i = 0; i < n; i++) {
		const void *e = base + i * elem_size(d->type);

		fprintf(f, "%s ", d->name);
		if (d->type == CONFIG_ENDPOINTS)
			fputs(addr_format(e, buf, sizeof(buf)), f);
		else if (d->type == CONFIG_NETWORKS)
			fputs(network_format(e, buf, sizeof(buf)), f);
		else if (d->type == CONFIG_IFNAMES)
			fputs(((const struct ifname *)e)->name, f);
		else if (d->type == CONFIG_UPSTREAMS)
			fputs(upstream_spec_format(e, true, ub, sizeof(ub)), f);
		else if (d->type == CONFIG_MAPPED)
			fputs(mapped_format(e, buf, sizeof(buf)), f);
		else
			print_dname(f, e);
		fputc('\n', f);
	}
}

/* "listen-tls ADDR CERT KEY" lines. */
static void print_listen_tls(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	size_t off = d->offset;
	char buf[64];
	size_t n = *CFIELD(cfg, d->aux, size_t);
	const struct listen_tls *lt = *CFIELD(cfg, off, struct listen_tls *);

	if (n == 0)
		fprintf(f, "# %s (none)\n", d->name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s %s %s\n", d->name,
		        addr_format((const struct sockaddr *)&lt[i].addr, buf, sizeof(buf)), lt[i].cert, lt[i].key);
}

/* One directive's lines; the value of a string that could not be read back as one token
 * is quoted (CONFIG_REST directives only hold such values). */
static void print_directive(FILE *f, const struct config *cfg, const struct config_directive *d)
{
	switch (d->type) {
	case CONFIG_BOOL:
	case CONFIG_UINT:
	case CONFIG_KEYWORD:
	case CONFIG_WORDSET:
	case CONFIG_SIZE: print_number(f, cfg, d); return;
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_PREFIX:
	case CONFIG_IPV6:
	case CONFIG_ENDPOINT: print_single(f, cfg, d); return;
	case CONFIG_PREFIXES: {
		const struct synth_prefix *sp = *CFIELD(cfg, d->offset, struct synth_prefix *);

		for (size_t i = 0; i < *CFIELD(cfg, d->aux, size_t); i++)
			print_prefix(f, d->name, &sp[i]);
		return;
	}
	case CONFIG_FORWARDS: print_forwards(f, cfg, d); return;
	case CONFIG_STRINGS: print_strings(f, cfg, d); return;
	case CONFIG_ENDPOINTS:
	case CONFIG_NETWORKS:
	case CONFIG_MAPPED:
	case CONFIG_DOMAINS:
	case CONFIG_IFNAMES:
	case CONFIG_UPSTREAMS: print_list(f, cfg, d); return;
	case CONFIG_LISTEN_TLS: print_listen_tls(f, cfg, d); return;
	}
}

int config_print(const struct config *cfg, char **out)
{
	size_t len, n_rows;
	const struct config_directive *table = config_directives(&n_rows);
	FILE *f = open_memstream(out, &len);

	if (f == NULL)
		return -ENOMEM;
	fprintf(f, "# effective configuration of %s\n", cfg->path);
	for (size_t i = 0; i < n_rows; i++)
		print_directive(f, cfg, &table[i]);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

char *config_dname_text(const struct dname *dn, char *buf, size_t len)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dn->len, dn->wire);
	char *s = rdf != NULL ? ldns_rdf2str(rdf) : NULL;

	snprintf(buf, len, "%s", s != NULL ? s : "?");
	free(s);
	ldns_rdf_deep_free(rdf);
	return buf;
}

static bool on_list(const struct upstream *list, size_t n, const struct upstream *up)
{
	for (size_t i = 0; i < n; i++)
		if (upstream_spec_same(&list[i], up))
			return true;
	return false;
}

char *config_upstream_zones(const struct config *cfg, const struct upstream *up, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (on_list(cfg->upstream, cfg->n_upstream, up))
		used = (size_t)snprintf(buf, len, "default");
	for (size_t i = 0; i < cfg->n_forward && used < len; i++) {
		char name[1024];

		if (!on_list(cfg->forward[i].upstream, cfg->forward[i].n_upstream, up))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
		                         config_dname_text(&cfg->forward[i].name, name, sizeof(name)));
	}
	return buf;
}
