/* log: the process-wide logger. Lines look like "YYYY/MM/DD HH:MM:SS message"
 * (optionally with microseconds) and go to any of: stderr, syslog, a log directory
 * with size rotation and a total quota, and an in-memory ring that status pages
 * read. Per-subsystem prefixes ("dhcpd: ") are simply part of the message.
 * Every function is thread-safe. Before log_init() (or after log_shutdown()) lines
 * go to stderr only. */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named LOG_LVL_* so as not to clash with <syslog.h>'s LOG_INFO etc. */
enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
};

#define LOG_RING_DEFAULT_LINES 1024
#define LOG_FILE_DEFAULT_MAX_SIZE (10ULL << 20)
#define LOG_DEFAULT_QUOTA (100ULL << 20)

struct log_config {
	bool to_stderr;		/* mirror lines to stderr */
	bool to_syslog;		/* send lines to syslog (ident below) */
	const char *ident;	/* syslog ident; NULL = "smallstack" */
	const char *dir;	/* log directory (created 0755); NULL/"" = no files */
	uint64_t file_max_size; /* rotate after this many bytes; 0 = default 10 MiB */
	uint64_t quota;		/* delete oldest files beyond this total; 0 = 100 MiB */
	size_t ring_lines;	/* lines kept in memory; 0 = LOG_RING_DEFAULT_LINES */
	bool subseconds;	/* timestamps with microseconds */
	bool uptime;		/* timestamps "[%7.3f]": seconds since the first log_init
				   that asked for them (the installer's console lines) */
	int debug_level;	/* debug lines up to this level are kept; -1 = none */
};

/* (Re)configures the logger; borrows cfg (strings are copied). The ring keeps its
 * newest lines across calls (as many as fit the new size). With a log directory,
 * each call starts a new file there (named by its creation time, "latest" points
 * at it) and deletes the oldest files beyond the quota. Returns 0 or -errno (e.g.
 * the log directory or its first file could not be created; the other outputs are
 * still set up). */
int log_init(const struct log_config *cfg);

/* Closes files and syslog, frees the ring; later lines go to stderr. */
void log_shutdown(void);

/* Runtime-adjustable debug verbosity (Logger.SetDebugLevel); -1 = no debug. */
void log_set_debug_level(int level);
int log_get_debug_level(void);
/* True if log_debug(level, ...) would emit (lets callers skip costly formatting). */
bool log_debug_enabled(int level);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Emitted only if level <= the current debug level. */
void log_debug(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies lines out of the in-memory ring, oldest first, each a full line with its
 * timestamp and without the trailing newline. If seq is NULL, copies every line
 * held. Otherwise copies only lines numbered >= *seq (line numbers count from 0 since
 * start-up) and sets *seq to the number the next line will get, so a watcher can
 * poll for new lines; lines that fell out of the ring are skipped.
 * On success *lines is a new array of *n new strings (free with log_lines_free).
 * Returns 0 or -ENOMEM. */
int log_ring_copy(uint64_t *seq, char ***lines, size_t *n);
void log_lines_free(char **lines, size_t n);

/* Watchers of new lines (Logger.Watch). A tap receives every line logged after it was
 * opened whose debug level is at most level (lines other than debug lines count as
 * -1; level < -1 is -1), including debug lines above the logger's own level, which
 * then reach the tap only. At most LOG_TAP_QUEUE lines wait in a tap: a watcher that
 * falls further behind loses lines and is told so (as the original cuts off a slow
 * streamer). */
#define LOG_TAP_QUEUE 256
struct log_tap;
/* 0 and *out, or -ENOMEM. */
int log_tap_open(int level, struct log_tap **out);
/* Takes the waiting lines, oldest first (as log_ring_copy: free with log_lines_free).
 * Returns 0, -EPIPE when lines were lost since the tap opened (the lines still
 * waiting are returned as well), or -ENOMEM. */
int log_tap_take(struct log_tap *t, char ***lines, size_t *n);
/* Closes the tap; NULL is fine. */
void log_tap_close(struct log_tap *t);

/* Redirects fd 2 into the logger (hypervisor.md §11: stderr goes to the log unless
 * -alsoLogToStderr): a thread turns every line written to fd 2, by this process,
 * its libraries or children that inherit it, into an info line. The stderr mirror
 * of the logger keeps writing to the original stderr, so both can be on. Calling it
 * again while active does nothing. Returns 0 or -errno. */
int log_capture_stderr(void);
/* Puts the original stderr back at fd 2, logs what was still buffered and stops the
 * thread. Output of children still holding the old fd 2 is no longer read. */
void log_release_stderr(void);

/* Formats the current time as the logger does ("2024/05/01 10:00:00" or with
 * ".123456") into buf; returns buf. */
char *log_timestamp(char *buf, size_t size, bool subseconds);

#endif
