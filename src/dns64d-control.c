/* dns64d-control.c - the operator's command: one request to the control socket, its reply printed */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "dns64d/config.h"
#include "dns64d/control.h"

#define REPLY_TIMEOUT_S 90 /* longer than the daemon's own limit on a command */

static const char usage[] =
        "usage: dns64d-control [-s SOCKET | -c CONFIG] COMMAND [ARG...]\n"
        "  -s, --socket SOCKET  control socket (default " CONTROL_DEFAULT_SOCKET ")\n"
        "  -c, --config CONFIG  take the socket from the control directive of CONFIG\n"
        "  -V, --version        print the version and exit\n"
        "  -h, --help           print this help and exit\n"
        "commands: status, stats [--reset], reload, flush NAME [TYPE], flush-zone NAME, flush-all,\n"
        "  upstreams, explain NAME [TYPE] [--client ADDR], log-level LEVEL, query-log on|off,\n"
        "  dump-cache FILE, load-cache FILE ('-' is standard output / input), help\n"
        "exit status: 0 ok, 1 the daemon answered with an error, 2 usage error or no answer\n";

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("dns64d-control: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

/* The control path of a config file, without reading the files it names. */
static int socket_from_config(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return die("cannot read '%s': %s", path, strerror(errno));
	char *text = NULL;
	size_t cap = 0, len = 0, n;
	char chunk[65536];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				fclose(f);
				free(text);
				return die("out of memory");
			}
			text = t;
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(text);
		return die("cannot read '%s'", path);
	}
	struct config *cfg = NULL;
	struct errbuf err = {.len = 0};
	int rc = config_parse(path, text ? (text[len] = 0, text) : "", &cfg, &err);
	free(text);
	if (rc < 0) {
		fputs(err.text, stderr);
		return die("'%s' has errors", path);
	}
	if (!cfg->control) {
		config_unref(cfg);
		return die("'%s' has no control directive: the daemon has no control socket", path);
	}
	*out = strdup(cfg->control);
	config_unref(cfg);
	return *out ? 0 : die("out of memory");
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The request line from the command words; returns its length, or 0 after an error message. */
static size_t build_request(char **words, int nwords, char *request, size_t cap)
{
	size_t rlen = 0;
	for (int i = 0; i < nwords; i++) {
		size_t n = strlen(words[i]);
		if (n == 0 || strpbrk(words[i], " \t\r\n")) {
			fprintf(stderr, "dns64d-control: argument '%s' is empty or has blanks\n", words[i]);
			return 0;
		}
		if (rlen + n + 2 > cap) {
			fputs("dns64d-control: request too long\n", stderr);
			return 0;
		}
		if (i)
			request[rlen++] = ' ';
		memcpy(request + rlen, words[i], n);
		rlen += n;
	}
	request[rlen++] = '\n';
	return rlen;
}

/* A connected socket to the daemon at path, or -1 after an error message. */
static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		die("socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		die("cannot connect to '%s': %s (is dns64d running with 'control %s'?)", path, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send the request and, for load-cache, the file's data. 0, or the exit code after a message.
 * A daemon that refuses the data closes early: its reply is still read. */
static int send_request(int fd, const char *path, const char *request, size_t rlen, int in, const char *file)
{
	int rc = write_all(fd, request, rlen);
	if (rc == 0 && in >= 0) {
		char chunk[65536];
		ssize_t n;
		while (rc == 0 && (n = read(in, chunk, sizeof(chunk))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return die("cannot read '%s': %s", file, strerror(errno));
			rc = write_all(fd, chunk, (size_t)n);
		}
	}
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET)
		return die("cannot send to '%s': %s", path, strerror(-rc));
	shutdown(fd, SHUT_WR);
	return 0;
}

/* The whole reply, NUL-terminated, in *out (malloc'd); 0, or the exit code after a message. */
static int read_reply(int fd, const char *path, char **out, size_t *outlen)
{
	char *reply = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			char *t = realloc(reply, cap);
			if (!t) {
				free(reply);
				return die("out of memory");
			}
			reply = t;
		}
		ssize_t n = read(fd, reply + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (len)
				break; /* the daemon sent its reply and reset the connection */
			free(reply);
			return die("no reply from '%s': %s", path, errno == EAGAIN ? "timed out" : strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == 0) {
		free(reply);
		return die("no reply from '%s'", path);
	}
	reply[len] = 0;
	*out = reply;
	*outlen = len;
	return 0;
}

/* dump-cache: the reply's body goes to file ("-": stdout). 0, or the exit code. */
static int write_dump(const char *file, const char *body, size_t blen)
{
	int out = strcmp(file, "-") == 0 ? 1 : open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return die("cannot write '%s': %s", file, strerror(errno));
	if (write_all(out, body, blen) < 0 || (out != 1 && close(out) < 0))
		return die("cannot write '%s': %s", file, strerror(errno));
	if (out != 1) {
		unsigned entries = 0;
		for (const char *p = body; p < body + blen; p = strchr(p, '\n') + 1) {
			if (*p != '#' && *p != '\n' && strncmp(p, "time ", 5) != 0)
				entries++;
			if (!strchr(p, '\n'))
				break;
		}
		printf("ok\nwrote %u entries to '%s'\n", entries, file);
	}
	return 0;
}

/* Options before the command; -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, const char **sock, const char **config)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"config", required_argument, NULL, 'c'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	/* options only before the command: "flush -x" must reach the daemon as it is */
	while ((c = getopt_long(argc, argv, "+s:c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': *sock = optarg; break;
		case 'c': *config = optarg; break;
		case 'V': printf("dns64d-control %s\n", DNS64D_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (*sock && *config) {
		fputs("dns64d-control: -s and -c exclude each other\n", stderr);
		return 2;
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *config = NULL;
	int rc = parse_options(argc, argv, &sock, &config);
	if (rc >= 0)
		return rc;
	char **words = argv + optind;
	int nwords = argc - optind;
	const char *cmd = words[0];
	bool dump = strcmp(cmd, "dump-cache") == 0, load = strcmp(cmd, "load-cache") == 0;
	const char *file = NULL;
	if (dump || load) {
		if (nwords != 2) {
			fprintf(stderr, "dns64d-control: usage: %s FILE\n", cmd);
			return 2;
		}
		file = words[1];
		nwords = 1; /* the file is ours; the daemon gets the data */
	}
	char request[CONTROL_MAX_LINE];
	size_t rlen = build_request(words, nwords, request, sizeof(request));
	if (!rlen)
		return 2;
	int in = -1;
	if (load && (in = strcmp(file, "-") == 0 ? 0 : open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return die("cannot read '%s': %s", file, strerror(errno));

	char *from_config = NULL;
	if (config && socket_from_config(config, &from_config) != 0)
		return 2;
	const char *path = from_config ? from_config : sock ? sock : CONTROL_DEFAULT_SOCKET;
	signal(SIGPIPE, SIG_IGN);
	int fd = connect_daemon(path);
	if (fd < 0)
		return 2;
	char *reply = NULL;
	size_t len = 0;
	if ((rc = send_request(fd, path, request, rlen, in, file)) != 0 ||
	    (rc = read_reply(fd, path, &reply, &len)) != 0) {
		close(fd);
		return rc;
	}
	close(fd);
	char *nl = strchr(reply, '\n');
	size_t first = nl ? (size_t)(nl - reply) : len;
	bool ok = first == 2 && strncmp(reply, "ok", 2) == 0;
	if (dump && ok) {
		const char *body = nl + 1;
		if ((rc = write_dump(file, body, len - (size_t)(body - reply))) != 0)
			return rc;
	} else
		fwrite(reply, 1, len, stdout);
	if (reply[len - 1] != '\n' && !(dump && ok))
		putchar('\n');
	free(reply);
	free(from_config);
	if (fflush(stdout) != 0)
		return 2;
	return ok ? 0 : 1;
}
