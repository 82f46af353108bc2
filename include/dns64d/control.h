/* control.h - the operator plane on the main thread: the metrics endpoint and the control socket
 *
 * Both listeners run on the main thread's loop, next to the signal handlers; a slow operator
 * never holds up a worker. They are opened from the startup config (before privileges are
 * dropped) and opened again after a reload that changed `metrics` or `control`.
 *
 * Metrics: HTTP/1.0 on a TCP address, GET /metrics (and HEAD) answered with metrics_render(),
 * anything else 404 or 405; at most CONTROL_HTTP_CONNS connections, each cut off after 5 s.
 *
 * Control socket: a Unix stream socket, mode 0660, group of the daemon's `user` (so members
 * of that group may control it; no network control channel). One request per connection: a
 * line "COMMAND ARG...\n" (words separated by blanks); the daemon writes the reply and
 * closes. The first reply line is "ok" or "error: REASON"; more lines may follow. Commands
 * that take data (load-cache) read it after the request line until the client shuts down
 * its sending side. Every command is one row of a table in control.c (name, argument count,
 * handler, help); `help` prints the table.
 */
#ifndef DNS64D_CONTROL_H
#define DNS64D_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define CONTROL_DEFAULT_SOCKET "/run/dns64d/control"
#define CONTROL_HTTP_CONNS     16 /* metrics connections open at once */
#define CONTROL_CONNS          16 /* control connections open at once */
#define CONTROL_TIMEOUT_MS     5000
#define CONTROL_MAX_LINE       4096 /* request line, and each line of load-cache data */

struct config;
struct daemon;
struct errbuf;

/* What main.c provides to the control commands. */
struct control_hooks {
	const char *config_path;
	/* Reload the config as SIGHUP does. 0, or a negative errno with the "FILE:LINE: ..."
	 * lines in *err (the old config keeps serving). */
	int (*reload)(struct errbuf *err);
};

/* The reply a command builds. */
struct control_out;

/* Append text to the reply (after the "ok" or "error: REASON" line). */
void control_printf(struct control_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set the reason of an error reply ("error: REASON"); returns -1 for `return control_fail(...)`. */
int control_fail(struct control_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command handler: argv[0] is the command, argv[1..argc-1] its words (argc within the
 * row's limits). Runs on the main thread. Returns 0 (reply "ok"), negative (reply "error:
 * REASON", set with control_fail), or CONTROL_PENDING when the answer comes later: the
 * handler then keeps o and calls control_finish(o, rc) once, on the main thread. arg is the
 * pointer given with the hook. */
#define CONTROL_PENDING 1
typedef int (*control_fn)(void *arg, int argc, char **argv, struct control_out *o);

/* Send the reply of a command that returned CONTROL_PENDING; o is gone afterwards. */
void control_finish(struct control_out *o, int rc);

/* Plug a handler into a row that is reserved for it ("upstreams", "explain"): until then the
 * row answers "error: not available yet". Call before control_start or on the main thread.
 * Returns 0, or -ENOENT when there is no such hookable row. */
int control_set_hook(const char *command, control_fn fn, void *arg);

/* Open the listeners cfg asks for (`metrics`, `control`) on loop, the main thread's. Called
 * once, before privileges are dropped: the control socket's directory is made if missing
 * (0755, given to `user` when it is set) and the socket is given to the group of `user`.
 * Errors are logged; returns 0 or a negative errno (the daemon should not start). */
int control_start(struct daemon *d, uv_loop_t *loop, const struct config *cfg, const struct control_hooks *h);

/* After a successful reload, before the old config is released: listen again where
 * `metrics` or `control` changed, and drop the runtime overrides of log-level and query-log
 * (the new config's values apply). A listener that cannot be opened is logged as an error
 * and stays closed until the next reload; DNS service is not affected. */
void control_reconfigure(const struct config *old, const struct config *cfg);

/* Close the listeners and open connections and remove the control socket (at stop). */
void control_stop(void);

#endif
