/* log.c - log lines to syslog or stderr, filtered by level */
#include "dns64d/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

static bool use_stderr = true;
static bool to_journal; /* stderr is systemd's journal: "<N>" priorities, no timestamps */
static atomic_int cur_level = LOG_LEVEL_WARN;
static atomic_int queries_override = -1;
static atomic_bool starting; /* errors go to stderr as well, even when logging to syslog */

void log_init(bool to_stderr, enum log_level level)
{
	use_stderr = to_stderr;
	/* sd-daemon(3): a service whose stderr is the journal prefixes lines with <priority> */
	to_journal = to_stderr && getenv("JOURNAL_STREAM") != NULL;
	atomic_store(&cur_level, (int)level);
	if (!to_stderr)
		openlog("dns64d", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	atomic_store(&cur_level, (int)level);
}

bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&cur_level, memory_order_relaxed);
}

/* Syslog priority and name of each level; LOG_LEVEL_NOTICE (past the config levels) last. */
static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_NOTICE};
static const char *const name[] = {"error", "warn", "info", "debug", "notice"};
#define LOG_LEVEL_NOTICE 4

static void emit(int level, const char *line)
{
	if (to_journal) {
		fprintf(stderr, "<%d>%s: %s\n", prio[level], name[level], line);
	} else if (use_stderr) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ dns64d %s: %s\n", tm.tm_year + 1900,
		        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, name[level],
		        line);
	} else {
		syslog(prio[level], "%s: %s", name[level], line);
		/* the operator who started it from a terminal sees why it did not start */
		if (level == LOG_LEVEL_ERROR && atomic_load(&starting))
			fprintf(stderr, "dns64d: %s\n", line);
	}
}

void log_starting(bool on)
{
	atomic_store(&starting, on);
}

void log_notice(const char *fmt, ...)
{
	if (!log_enabled(LOG_LEVEL_WARN))
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(LOG_LEVEL_NOTICE, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit((int)level, line);
}

void log_line(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(LOG_LEVEL_INFO, line);
}

void log_queries_override(int mode)
{
	atomic_store(&queries_override, mode);
}

bool log_queries_enabled(bool configured)
{
	int o = atomic_load_explicit(&queries_override, memory_order_relaxed);
	return o < 0 ? configured : o == 1;
}
