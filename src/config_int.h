/* config_int.h - what the config parser's files share: the parse state and the value helpers
 *
 * config.c (the directive table, the line parser, generic values, defaults), config_files.c
 * (directives that name files), config_prefix.c (prefix lines, prefix sets) and
 * config_upstream.c (upstream and forward lines) parse into one struct config through these;
 * nothing outside them does.
 */
#ifndef DNS64D_CONFIG_INT_H
#define DNS64D_CONFIG_INT_H

#include "dns64d/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* State of one parse run: where errors go and what was seen on which line. */
struct config_parser {
	const char *path;
	unsigned line;
	struct errbuf *err;
	unsigned errors;
	struct config *cfg;
	unsigned *listen_lines; /* line of each cfg->listen entry, for duplicate messages */
	unsigned acl_line;
};

#define SPACE " \t\r\f\v"

#define FIELD(cfg, off, type) ((type *)(void *)((char *)(cfg) + (off)))

/* config.c */
void perr(struct config_parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *grow(void *arr, size_t n, size_t size);
bool ambiguous_v6_port(const char *s, char *addr, size_t addr_len, const char **port);
bool parse_endpoint(struct config_parser *ps, const char *arg, uint16_t port, struct sockaddr_storage *ss);
int parse_dname(const char *arg, struct dname *d);
int push_elem(struct config *cfg, const struct config_directive *d, const void *elem, size_t elem_size);

/* config_files.c */
int d_acl(struct config_parser *ps, const struct config_directive *d, const char *arg);
int d_tls_ca(struct config_parser *ps, const struct config_directive *d, const char *arg);
int d_local_data(struct config_parser *ps, const struct config_directive *d, const char *arg);
int d_hosts(struct config_parser *ps, const struct config_directive *d, const char *arg);
int d_listen_tls(struct config_parser *ps, const struct config_directive *d, const char *arg);

/* config_prefix.c */
void prefix_free(struct synth_prefix *sp);
int d_prefix(struct config_parser *ps, const struct config_directive *d, const char *arg);
void inherit_options(struct config_parser *ps);

/* config_upstream.c */
int parse_upstream_line(struct config_parser *ps, const struct config_directive *d, const char *arg);
int parse_forward_line(struct config_parser *ps, const struct config_directive *d, const char *arg);

#endif
