/* fuzz_config.c - fuzz target: the config and ACL parsers on arbitrary text
 *
 * The input is split at its first NUL byte: the part before is config text, the part after
 * is ACL text (also tried as a hosts file); without a NUL the whole input is tried as all. Accepted configs and ACLs
 * must meet their documented guarantees; rejected ones must say why, one "PATH:LINE:" line
 * per problem. The first line's first word also goes through the address, network, prefix
 * and size parsers, and what they accept must survive formatting and parsing again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns64d/acl.h"
#include "dns64d/addr.h"
#include "dns64d/config.h"
#include "dns64d/dns64.h"
#include "dns64d/localdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                                       \
	do {                                                                                                           \
		if (!(c)) {                                                                                            \
			fprintf(stderr, "fuzz_config: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);        \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define CONF_PATH  "/etc/dns64d/fuzz.conf"
#define ACL_PATH   "/etc/dns64d/fuzz.acl"
#define HOSTS_PATH "/etc/dns64d/fuzz.hosts"

/* Every line of an error buffer names the file. */
static void check_errors(const struct errbuf *err, const char *path, bool failed)
{
	size_t plen = strlen(path);

	CHECK(err->len < sizeof(err->text) && strlen(err->text) == err->len);
	if (failed)
		CHECK(err->count > 0);
	for (const char *l = err->text; *l != '\0';) {
		const char *nl = strchr(l, '\n');

		CHECK(nl != NULL);
		/* a truncated buffer may end in a cut line */
		if ((size_t)(nl + 1 - err->text) < sizeof(err->text) - 1)
			CHECK(strncmp(l, path, plen) == 0 && l[plen] == ':');
		l = nl + 1;
	}
}

static void check_config(const struct config *cfg, const char *text)
{
	CHECK(atomic_load(&cfg->refs) == 1);
	CHECK(cfg->n_listen >= 1 && cfg->n_exclude >= 1);
	for (size_t i = 0; i < cfg->n_listen_tls; i++)
		CHECK(cfg->listen_tls[i].cert[0] != '\0' && cfg->listen_tls[i].key[0] != '\0' &&
		      cfg->listen_tls[i].line > 0);
	CHECK(cfg->n_prefixes >= 1 && cfg->n_prefixes <= PREFIX_SET_MAX);
	for (size_t i = 0; i < cfg->n_prefixes; i++) {
		const struct synth_prefix *sp = &cfg->prefixes[i];
		const char *why;

		CHECK(dns64_prefix_len_valid(sp->p.len) && sp->p.addr[8] == 0);
		CHECK(sp->p.len == 96 || nat64_suffix_check(&sp->p, sp->p.suffix, &why) == 0);
		CHECK(sp->n_exclude >= 1);
		for (size_t k = 0; k < sp->n_mapped; k++)
			CHECK(sp->mapped[k].net.family == AF_INET && sp->mapped[k].net.plen <= 32);
	}
	CHECK(cfg->timeout_ms >= 1 && cfg->timeout_ms <= 60000);
	CHECK(cfg->max_inflight >= 1 && cfg->tcp_clients >= 1 && cfg->workers <= 256);
	for (size_t i = 0; i < cfg->n_exclude; i++)
		CHECK(cfg->exclude[i].family == AF_INET6 && cfg->exclude[i].plen <= 128);
	for (size_t i = 0; i < cfg->n_mapped; i++)
		CHECK(cfg->mapped[i].net.family == AF_INET && cfg->mapped[i].net.plen <= 32);
	for (size_t i = 0; i < cfg->n_synth_all; i++) {
		const struct dname *d = &cfg->synth_all[i];

		CHECK(d->len >= 1 && d->wire[d->len - 1] == 0);
		CHECK(dns64_name_under(d->wire, d->len, d));
	}
	for (size_t i = 0; i < cfg->n_no_synth; i++) {
		const struct dname *d = &cfg->no_synth[i];

		CHECK(d->len >= 1 && d->wire[d->len - 1] == 0);
		CHECK(dns64_name_under(d->wire, d->len, d));
	}
	for (size_t i = 0; i < cfg->n_upstream; i++)
		CHECK(cfg->upstream[i].proto == UPSTREAM_UDP
		              ? cfg->upstream[i].auth_name[0] == '\0' && !cfg->upstream[i].has_pin
		              : cfg->upstream[i].auth_name[0] != '\0');
	/* each forward zone matches its own name, and the longest zone wins for it */
	for (size_t i = 0; i < cfg->n_forward; i++) {
		const struct forward_zone *z = &cfg->forward[i];

		CHECK(z->n_upstream >= 1 && z->name.len >= 1 && z->name.wire[z->name.len - 1] == 0);
		CHECK(config_forward_match(cfg, z->name.wire, z->name.len) == z);
		for (size_t k = 0; k < i; k++)
			CHECK(z->name.len != cfg->forward[k].name.len ||
			      memcmp(z->name.wire, cfg->forward[k].name.wire, z->name.len) != 0);
	}
	if (cfg->acl_path != NULL)
		CHECK(cfg->acl_path[0] != '\0');
	(void)text;
}

/* Most specific first, no duplicates, and matching a rule's own network finds a rule at
 * least as specific that contains it. */
static void check_acl(const struct acl *acl)
{
	for (size_t i = 0; i < acl->n; i++) {
		const struct acl_rule *r = &acl->rules[i];
		const struct acl_rule *m;
		unsigned max = r->net.family == AF_INET ? 32 : 128;

		CHECK(r->net.family == AF_INET || r->net.family == AF_INET6);
		CHECK(r->net.plen <= max);
		for (unsigned bit = r->net.plen; bit < 128; bit++)
			CHECK(!(r->net.addr[bit / 8] & (0x80u >> (bit % 8))));
		CHECK(r->n_prefixes == 0 || r->action == ACL_DNS64);
		CHECK(!r->filter_a || r->action == ACL_DNS64);
		CHECK(r->n_prefixes <= PREFIX_SET_MAX && r->prefix_at + r->n_prefixes <= acl->n_prefixes);
		for (size_t k = 0; k < r->n_prefixes; k++)
			CHECK(dns64_prefix_len_valid(acl->prefixes[r->prefix_at + k].p.len));
		if (i > 0) {
			const struct acl_rule *p = &acl->rules[i - 1];

			CHECK(p->net.family < r->net.family ||
			      (p->net.family == r->net.family &&
			       (p->net.plen > r->net.plen ||
			        (p->net.plen == r->net.plen && memcmp(p->net.addr, r->net.addr, 16) < 0))));
		}
		m = acl_match(acl, r->net.family, r->net.addr);
		CHECK(m != NULL && m->net.plen >= r->net.plen);
		CHECK(network_contains(&m->net, r->net.family, r->net.addr));
		if (m->net.plen == r->net.plen)
			CHECK(m == r);
		(void)acl_action_name(r->action);
	}
}

static bool sockaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* The small parsers on one word; what they accept formats and parses back the same. */
static void check_word(const char *w)
{
	struct network net, net2;
	struct sockaddr_storage ss, ss2;
	struct nat64_prefix pfx;
	const char *why = NULL;
	char buf[128];
	size_t sz;

	if (addr_parse_network(w, &net, &why) == 0) {
		network_format(&net, buf, sizeof(buf));
		CHECK(addr_parse_network(buf, &net2, &why) == 0);
		CHECK(net.family == net2.family && net.plen == net2.plen && memcmp(net.addr, net2.addr, 16) == 0);
		uint8_t probe[16];
		memcpy(probe, net.addr, 16);
		CHECK(network_contains(&net, net.family, probe));
	} else
		CHECK(why != NULL);
	why = NULL;
	if (addr_parse_endpoint(w, 53, &ss, &why) == 0) {
		addr_format((const struct sockaddr *)&ss, buf, sizeof(buf));
		CHECK(addr_parse_endpoint(buf, 1, &ss2, &why) == 0);
		CHECK(sockaddr_same(&ss, &ss2));
		CHECK(addr_len((const struct sockaddr *)&ss) > 0);
	} else
		CHECK(why != NULL);
	why = NULL;
	if (nat64_prefix_parse(w, &pfx, &why) == 0)
		CHECK(dns64_prefix_len_valid(pfx.len) && pfx.addr[8] == 0);
	else
		CHECK(why != NULL);
	(void)config_parse_size(w, &sz);
	struct upstream up, up2;
	char ub[UPSTREAM_FORMAT_MAX];
	why = NULL;
	if (upstream_spec_parse(w, 53, &up, &why) == 0) {
		upstream_spec_format(&up, false, ub, sizeof(ub));
		CHECK(upstream_spec_parse(ub, 1, &up2, &why) == 0);
		CHECK(upstream_spec_equal(&up, &up2));
	} else
		CHECK(why != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	char *conf, *acltext, *word;
	struct config *cfg = NULL;
	struct acl acl;
	struct errbuf err;
	int rc;

	if (size > (1u << 16))
		return 0;
	conf = strndup((const char *)data, clen);
	acltext = nul ? strndup((const char *)nul + 1, size - clen - 1) : strdup(conf);
	CHECK(conf != NULL && acltext != NULL);

	memset(&err, 0, sizeof(err));
	rc = config_parse(CONF_PATH, conf, &cfg, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	check_errors(&err, CONF_PATH, rc == -EINVAL);
	if (rc == 0) {
		CHECK(err.count == 0);
		check_config(cfg, conf);
		CHECK(config_upstreams_from_resolv(cfg, conf) == 0);
		CHECK(config_ref(cfg) == cfg);
		config_unref(cfg);
		config_unref(cfg);
	} else
		CHECK(cfg == NULL);

	memset(&err, 0, sizeof(err));
	rc = acl_parse(ACL_PATH, acltext, &acl, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	check_errors(&err, ACL_PATH, rc == -EINVAL);
	if (rc == 0) {
		CHECK(err.count == 0);
		check_acl(&acl);
		acl_free(&acl);
	} else
		CHECK(acl.rules == NULL && acl.n == 0);

	/* the same text as a hosts file: every error names it, every record is found again */
	struct localdata *ld = NULL;
	CHECK(localdata_new(&ld) == 0);
	memset(&err, 0, sizeof(err));
	rc = localdata_add_hosts(ld, HOSTS_PATH, acltext, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	check_errors(&err, HOSTS_PATH, rc == -EINVAL);
	if (rc != -ENOMEM && localdata_finish(ld) == 0 && localdata_count(ld) > 0) {
		uint8_t root = 0;
		CHECK(localdata_covers(ld, &root, 1));
	}
	localdata_free(ld);

	/* the first word of the text */
	word = strndup(conf, strcspn(conf, " \t\r\n#"));
	CHECK(word != NULL);
	check_word(word);
	free(word);
	free(conf);
	free(acltext);
	return 0;
}
