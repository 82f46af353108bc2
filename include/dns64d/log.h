/* log.h - log lines to syslog or stderr, filtered by level */
#ifndef DNS64D_LOG_H
#define DNS64D_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Log to stderr (foreground) or syslog, at or below level. Safe from any thread. */
void log_init(bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What the daemon does, said once (start, reload, stop): shown at the default level and
 * above (warn, info, debug), hidden by error only; syslog priority notice, named "notice".
 * Not a config level: log-level stays error|warn|info|debug. */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* While on, error lines go to stderr too when logging to syslog (the start-up phase: the
 * terminal that started the daemon sees why it exits). With -f they go there anyway. */
void log_starting(bool on);

/* One line regardless of level (the query log, when enabled by config). */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The query log switch of the control socket: -1 follows the config, 0 off, 1 on. */
void log_queries_override(int mode);
/* Whether to write the query log, given the config's log-queries. Safe from any thread. */
bool log_queries_enabled(bool configured);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                                 \
	do {                                                                                                           \
		if (log_enabled(LOG_LEVEL_DEBUG))                                                                      \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                                         \
	} while (0)

#endif
