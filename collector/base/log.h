/*
 * log: leveled, timestamped log lines on stderr for the collector (error < warn < info < debug).
 *
 * Each call formats one whole line (RFC 3339 UTC timestamp, level, message) into a stack buffer
 * and hands it to the kernel with a single write(2), so lines from concurrent connection threads
 * never interleave. Control characters in the message are replaced by '?' so that text taken
 * from the network (certificate subjects, paths) cannot forge extra lines. Callers must never
 * pass secrets (tokens, keys) or request bodies; this module cannot tell them apart.
 */
#ifndef COL_LOG_H
#define COL_LOG_H

#include <stdbool.h>

#include "rc.h"

enum col_log_level { COL_LOG_ERROR = 0, COL_LOG_WARN, COL_LOG_INFO, COL_LOG_DEBUG };

#define COL_LOG_MAX_LINE 2048u /* longer messages are cut and end in "..." */

/* Sets the threshold; lines above it are dropped. Thread-safe (atomic). Default: info. */
void col_log_set_level(enum col_log_level level);

/* Sets the threshold from config text "error|warn|info|debug" (case-insensitive);
 * PROTO_EINVAL for anything else, leaving the level unchanged. */
enum proto_rc col_log_set_level_name(const char *name);

enum col_log_level col_log_get_level(void);
bool col_log_enabled(enum col_log_level level);

/* Borrowed static "error", "warn", "info" or "debug". */
const char *col_log_level_str(enum col_log_level level);

/* Writes one line to the log fd (stderr unless redirected). Thread-safe; never allocates. */
void col_log(enum col_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Test hook: sends lines to `fd` instead of stderr (fd 2); returns the previous fd. */
int col_log_set_fd(int fd);

#endif
