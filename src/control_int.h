/* control_int.h - what the operator plane's files share: connections, replies, the command table
 *
 * control.c runs the listeners and connections (metrics HTTP, control socket) and dispatches
 * a request line to a row of the command table; control_cmd.c holds the table and the
 * commands. All of it runs on the main thread; ctl is its only state.
 */
#ifndef DNS64D_CONTROL_INT_H
#define DNS64D_CONTROL_INT_H
#include "dns64d/control.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns64d/addr.h"
#include "dns64d/cache.h"
#include "dns64d/cachedump.h"
#include "dns64d/config.h"
#include "dns64d/fetch.h"
#include "dns64d/listener.h"
#include "dns64d/log.h"
#include "dns64d/metrics.h"
#include "dns64d/ra.h"
#include "dns64d/wire.h"
#include "dns64d/worker.h"

#define HTTP_MAX_REQ     4096
#define BODY_MAX_LINE    (256u * 1024) /* a load-cache line: a 64 KiB message in base64 and more */
#define REPLY_TIMEOUT_MS 60000         /* a command's work and the write of its reply */
#define MAX_WORDS        8

enum kind { KIND_HTTP, KIND_CONTROL };

struct conn {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_timer_t timer;
	uv_write_t wr;
	struct conn *next, *prev;
	enum kind kind;
	unsigned open_handles;
	bool closing;
	bool responded;
	bool pending; /* a handler holds out (CONTROL_PENDING) */
	char *buf;    /* the request as read so far */
	size_t len, cap;
	char *resp;
	const struct cmd *body; /* the command whose data is being read (load-cache) */
	struct control_out *out;
	struct cachedump_reader load;
	unsigned load_line, load_stored;
};

struct control_out {
	struct conn *conn; /* NULL once the client is gone */
	struct dumpbuf text;
	char reason[1024];
};

struct control_state {
	struct daemon *d;
	uv_loop_t *loop;
	struct conn *conns;
	unsigned n_conns[2];
	uv_tcp_t *http;  /* the metrics listener, or NULL */
	uv_pipe_t *sock; /* the control socket, or NULL */
	char *sock_path; /* as configured */
	char *root;      /* the chroot in effect after start, or NULL */
	bool has_user;   /* `user` at start: the socket's group */
	uid_t uid;
	gid_t gid;
	uint64_t start_ns;
	struct control_hooks hooks;
	char listen_error[512]; /* the last listener error of a reconfigure, for the reload reply */
};

extern struct control_state ctl;

struct cmd {
	const char *name;
	int min_args, max_args; /* words after the command */
	control_fn fn;
	void *arg;
	/* commands with data: called for each line of it; fn is called at its end */
	int (*line)(struct conn *c, char *line, struct control_out *o);
	const char *usage, *help;
	bool hookable;
	bool needs_cache; /* refused with cache-size 0 */
};

/* control.c: the metrics exposition of the whole daemon (malloc'd text) */
int control_metrics(char **text, size_t *len);

/* control_cmd.c: the command table */
extern struct cmd control_cmds[];
extern const size_t control_n_cmds;

#endif
