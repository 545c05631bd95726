/* log: process-wide logger with stderr, syslog, rotating files and a line ring. */
#include "log.h"

#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Log files are named by their creation time, so names sort chronologically. */
#define LOG_NAME_FMT_LEN 26 /* "2024-05-01:10:00:00.123456" */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_debug_lvl = -1;
static atomic_bool log_subseconds;
static atomic_bool log_uptime;
static struct timespec log_uptime_base; /* set once, under log_mu, before log_uptime */

/* Watchers of new lines (log_tap_*), guarded by log_mu; log_tap_lvl is the highest
 * level any of them wants (INT_MIN when there is none), so that log_debug formats a
 * line the logger itself drops only when a watcher takes it. */
struct log_tap {
	struct log_tap *next;
	int level;
	char *q[LOG_TAP_QUEUE];
	size_t head, n;
	bool lost;
};
static struct log_tap *log_taps;
static atomic_int log_tap_lvl = INT_MIN;

static struct {
	bool inited;
	bool to_stderr;
	bool to_syslog;
	char *dir;
	uint64_t max_size;
	uint64_t quota;
	int fd;
	uint64_t cur_size;
	char cur_name[96];
	char **ring;
	size_t ring_cap;
	uint64_t first_seq;
	uint64_t next_seq;
	char *ident;
	int err_fd; /* where the stderr mirror writes; -1 = fd 2 */
} L = {.fd = -1, .err_fd = -1};

/* Capture of fd 2 (log_capture_stderr); cap_mu serialises start and stop. */
static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool on;
	pthread_t thread;
	int rd;	     /* read end of the pipe now at fd 2 */
	int stop[2]; /* written once to stop the thread */
	int saved;   /* the original stderr */
} C;

char *log_timestamp(char *buf, size_t size, bool subseconds)
{
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	if (subseconds)
		n = snprintf(buf, size, "%04d/%02d/%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     (long)tv.tv_usec);
	else
		n = snprintf(buf, size, "%04d/%02d/%02d %02d:%02d:%02d", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 && size > 0)
		buf[0] = '\0';
	return buf;
}

static bool is_log_name(const char *name)
{
	static const char pat[] = "dddd-dd-dd:dd:dd:dd.dddddd";

	if (strlen(name) != LOG_NAME_FMT_LEN)
		return false;
	for (size_t i = 0; i < LOG_NAME_FMT_LEN; i++) {
		if (pat[i] == 'd' ? (name[i] < '0' || name[i] > '9') : name[i] != pat[i])
			return false;
	}
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Deletes the oldest log files until the directory's log files fit the quota.
 * The current file is never deleted. Called with log_mu held. */
static void enforce_quota(void)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	int dfd;
	DIR *d;

	dfd = open(L.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!is_log_name(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
		total += (uint64_t)st.st_size;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && total > L.quota; i++) {
		struct stat st;
		if (strcmp(names[i], L.cur_name) == 0)
			continue;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    unlinkat(dfd, names[i], 0) == 0)
			total -= (uint64_t)st.st_size < total ? (uint64_t)st.st_size : total;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
}

/* Starts a new log file and points the "latest" symlink at it. Called with log_mu. */
static int open_new_file(void)
{
	char path[4096], link[4096];
	struct timeval tv;
	struct tm tm;
	int fd;

	if (L.fd >= 0) {
		close(L.fd);
		L.fd = -1;
	}
	gettimeofday(&tv, NULL);
	for (int attempt = 0; attempt < 1000; attempt++) {
		localtime_r(&tv.tv_sec, &tm);
		snprintf(L.cur_name, sizeof(L.cur_name), "%04d-%02d-%02d:%02d:%02d:%02d.%06ld",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (long)tv.tv_usec);
		if (snprintf(path, sizeof(path), "%s/%s", L.dir, L.cur_name) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
		/* Same microsecond as an existing file (fast rotation): next name. */
		if (++tv.tv_usec >= 1000000) {
			tv.tv_usec = 0;
			tv.tv_sec++;
		}
	}
	if (fd < 0)
		return -EEXIST;
	L.fd = fd;
	L.cur_size = 0;
	if (snprintf(link, sizeof(link), "%s/latest", L.dir) < (int)sizeof(link)) {
		char tmp[4200];
		snprintf(tmp, sizeof(tmp), "%s~", link);
		unlink(tmp);
		if (symlink(L.cur_name, tmp) == 0 && rename(tmp, link) < 0)
			unlink(tmp);
	}
	enforce_quota();
	return 0;
}

/* Lines held are numbered [first_seq, next_seq); line s lives in ring[s % ring_cap]. */
static int ring_resize(size_t cap)
{
	uint64_t keep_from;
	char **nr;

	if (cap == L.ring_cap)
		return 0;
	nr = calloc(cap, sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	keep_from = L.next_seq - L.first_seq > cap ? L.next_seq - cap : L.first_seq;
	for (uint64_t s = L.first_seq; s < L.next_seq; s++) {
		char *line = L.ring[s % L.ring_cap];
		if (s >= keep_from)
			nr[s % cap] = line;
		else
			free(line);
	}
	free(L.ring);
	L.ring = nr;
	L.ring_cap = cap;
	L.first_seq = keep_from;
	return 0;
}

static void close_outputs(void)
{
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
	if (L.to_syslog)
		closelog();
	L.to_syslog = false;
	free(L.dir);
	L.dir = NULL;
	free(L.ident);
	L.ident = NULL;
}

int log_init(const struct log_config *cfg)
{
	int rc = 0;

	pthread_mutex_lock(&log_mu);
	close_outputs();
	L.to_stderr = cfg->to_stderr;
	atomic_store(&log_subseconds, cfg->subseconds);
	if (cfg->uptime && log_uptime_base.tv_sec == 0 && log_uptime_base.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &log_uptime_base);
	atomic_store(&log_uptime, cfg->uptime);
	L.max_size = cfg->file_max_size ? cfg->file_max_size : LOG_FILE_DEFAULT_MAX_SIZE;
	L.quota = cfg->quota ? cfg->quota : LOG_DEFAULT_QUOTA;
	atomic_store(&log_debug_lvl, cfg->debug_level);
	rc = ring_resize(cfg->ring_lines ? cfg->ring_lines : LOG_RING_DEFAULT_LINES);
	if (cfg->to_syslog) {
		L.ident = strdup(cfg->ident ? cfg->ident : "smallstack");
		openlog(L.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		L.to_syslog = true;
	}
	if (cfg->dir && *cfg->dir) {
		L.dir = strdup(cfg->dir);
		if (!L.dir) {
			rc = -ENOMEM;
		} else {
			int r = fsutil_mkdir_p(L.dir, 0755);
			if (r == 0)
				r = open_new_file();
			if (r < 0) {
				rc = r;
				free(L.dir);
				L.dir = NULL;
			}
		}
	}
	L.inited = true;
	pthread_mutex_unlock(&log_mu);
	return rc;
}

void log_shutdown(void)
{
	pthread_mutex_lock(&log_mu);
	close_outputs();
	for (uint64_t s = L.first_seq; s < L.next_seq; s++)
		free(L.ring[s % L.ring_cap]);
	free(L.ring);
	L.ring = NULL;
	L.ring_cap = 0;
	L.first_seq = L.next_seq;
	L.inited = false;
	atomic_store(&log_subseconds, false);
	atomic_store(&log_uptime, false);
	pthread_mutex_unlock(&log_mu);
}

void log_set_debug_level(int level)
{
	atomic_store(&log_debug_lvl, level);
}

int log_get_debug_level(void)
{
	return atomic_load(&log_debug_lvl);
}

bool log_debug_enabled(int level)
{
	return level >= 0 && level <= atomic_load(&log_debug_lvl);
}

/* True when the logger keeps the line or a watcher wants it. */
static bool debug_wanted(int level)
{
	return log_debug_enabled(level) || (level >= 0 && level <= atomic_load(&log_tap_lvl));
}

/* Hands a line of debug level dlevel (-1 for the other lines) to the watchers that want
 * it. Call with log_mu held. */
static void tap_push(int dlevel, const char *line, size_t len)
{
	for (struct log_tap *t = log_taps; t != NULL; t = t->next) {
		char *copy;

		if (t->lost || dlevel > t->level)
			continue;
		copy = t->n < LOG_TAP_QUEUE ? strndup(line, len) : NULL;
		if (copy == NULL) {
			t->lost = true; /* cut off, as the original drops a slow streamer */
			continue;
		}
		t->q[(t->head + t->n++) % LOG_TAP_QUEUE] = copy;
	}
}

static void tap_update_level(void)
{
	int max = INT_MIN;

	for (struct log_tap *t = log_taps; t != NULL; t = t->next)
		if (t->level > max)
			max = t->level;
	atomic_store(&log_tap_lvl, max);
}

int log_tap_open(int level, struct log_tap **out)
{
	struct log_tap *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return -ENOMEM;
	t->level = level < -1 ? -1 : level;
	pthread_mutex_lock(&log_mu);
	t->next = log_taps;
	log_taps = t;
	tap_update_level();
	pthread_mutex_unlock(&log_mu);
	*out = t;
	return 0;
}

int log_tap_take(struct log_tap *t, char ***lines, size_t *n)
{
	char **out;
	int rc = 0;

	*lines = NULL;
	*n = 0;
	pthread_mutex_lock(&log_mu);
	out = calloc(t->n ? t->n : 1, sizeof(*out));
	if (out == NULL) {
		rc = -ENOMEM;
	} else {
		for (size_t i = 0; i < t->n; i++)
			out[i] = t->q[(t->head + i) % LOG_TAP_QUEUE];
		*lines = out;
		*n = t->n;
		t->head = (t->head + t->n) % LOG_TAP_QUEUE;
		t->n = 0;
		if (t->lost)
			rc = -EPIPE;
	}
	pthread_mutex_unlock(&log_mu);
	return rc;
}

void log_tap_close(struct log_tap *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&log_mu);
	for (struct log_tap **p = &log_taps; *p != NULL; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	tap_update_level();
	pthread_mutex_unlock(&log_mu);
	for (size_t i = 0; i < t->n; i++)
		free(t->q[(t->head + i) % LOG_TAP_QUEUE]);
	free(t);
}

static int syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
		return LOG_DEBUG;
	case LOG_LVL_INFO:
		return LOG_INFO;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	default:
		return LOG_ERR;
	}
}

/* Emits one formatted line (line = "timestamp message", no newline). */
/* Writes a line to the outputs (when keep) and to the watchers that want its debug
 * level dlevel (-1 for lines that are not debug lines). */
static void emit(enum log_level lvl, int dlevel, bool keep, const char *line, size_t len,
		 const char *msg)
{
	char *copy;

	pthread_mutex_lock(&log_mu);
	tap_push(dlevel, line, len);
	if (!keep) {
		pthread_mutex_unlock(&log_mu);
		return;
	}
	if (!L.inited || L.to_stderr) {
		struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
		(void)!writev(L.err_fd >= 0 ? L.err_fd : STDERR_FILENO, iov, 2);
	}
	if (L.to_syslog)
		syslog(syslog_prio(lvl), "%s", msg);
	if (L.dir) {
		if (L.fd >= 0 && L.cur_size > 0 && L.cur_size + len + 1 > L.max_size)
			open_new_file();
		if (L.fd >= 0) {
			struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
			ssize_t n = writev(L.fd, iov, 2);
			if (n > 0)
				L.cur_size += (uint64_t)n;
		}
	}
	if (L.ring_cap > 0) {
		copy = strndup(line, len);
		if (copy) {
			if (L.next_seq - L.first_seq == L.ring_cap)
				free(L.ring[L.first_seq++ % L.ring_cap]);
			L.ring[L.next_seq++ % L.ring_cap] = copy;
		}
	}
	pthread_mutex_unlock(&log_mu);
}

/* "[  12.345]": seconds since log_uptime_base. */
static void uptime_stamp(char *buf, size_t size)
{
	struct timespec now;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (double)(now.tv_sec - log_uptime_base.tv_sec) +
	    (double)(now.tv_nsec - log_uptime_base.tv_nsec) / 1e9;
	snprintf(buf, size, "[%7.3f]", s);
}

__attribute__((format(printf, 4, 0))) static void vformat(enum log_level lvl, int dlevel, bool keep,
							  const char *fmt, va_list ap)
{
	char stackbuf[2048], *buf = stackbuf, *heap = NULL;
	size_t tslen, len;
	va_list ap2;
	int n;

	if (atomic_load(&log_uptime))
		uptime_stamp(stackbuf, sizeof(stackbuf));
	else
		log_timestamp(stackbuf, sizeof(stackbuf), atomic_load(&log_subseconds));
	tslen = strlen(stackbuf);
	stackbuf[tslen++] = ' ';
	va_copy(ap2, ap);
	n = vsnprintf(stackbuf + tslen, sizeof(stackbuf) - tslen, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	if ((size_t)n >= sizeof(stackbuf) - tslen) {
		heap = malloc(tslen + (size_t)n + 1);
		if (heap) {
			memcpy(heap, stackbuf, tslen);
			vsnprintf(heap + tslen, (size_t)n + 1, fmt, ap2);
			buf = heap;
		} else {
			n = (int)(sizeof(stackbuf) - tslen - 1);
		}
	}
	va_end(ap2);
	len = tslen + (size_t)n;
	while (len > tslen && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	emit(lvl, dlevel, keep, buf, len, buf + tslen);
	free(heap);
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	vformat(lvl, -1, true, fmt, ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void log_debug(int level, const char *fmt, ...)
{
	va_list ap;

	if (!debug_wanted(level))
		return;
	va_start(ap, fmt);
	vformat(LOG_LVL_DEBUG, level, log_debug_enabled(level), fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, lvl)                                                                          \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vmsg(lvl, fmt, ap);                                                            \
		va_end(ap);                                                                        \
	}
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERROR)

int log_ring_copy(uint64_t *seq, char ***lines, size_t *n)
{
	uint64_t first, start;
	char **out;
	size_t count, i = 0;

	*lines = NULL;
	*n = 0;
	pthread_mutex_lock(&log_mu);
	first = L.first_seq;
	start = seq && *seq > first ? *seq : first;
	if (start > L.next_seq)
		start = L.next_seq;
	count = (size_t)(L.next_seq - start);
	out = calloc(count ? count : 1, sizeof(*out));
	if (!out)
		goto fail;
	for (uint64_t s = start; s < L.next_seq; s++) {
		out[i] = strdup(L.ring[s % L.ring_cap]);
		if (!out[i])
			goto fail;
		i++;
	}
	if (seq)
		*seq = L.next_seq;
	pthread_mutex_unlock(&log_mu);
	*lines = out;
	*n = count;
	return 0;
fail:
	pthread_mutex_unlock(&log_mu);
	log_lines_free(out, i);
	return -ENOMEM;
}

void log_lines_free(char **lines, size_t n)
{
	if (!lines)
		return;
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* Logs complete lines of buf[0..*used) (all of it if flush) and keeps the rest. */
static void capture_lines(char *buf, size_t *used, bool flush)
{
	size_t start = 0;

	for (size_t i = 0; i < *used; i++) {
		if (buf[i] != '\n')
			continue;
		log_msg(LOG_LVL_INFO, "%.*s", (int)(i - start), buf + start);
		start = i + 1;
	}
	if (flush && start < *used) {
		log_msg(LOG_LVL_INFO, "%.*s", (int)(*used - start), buf + start);
		start = *used;
	}
	memmove(buf, buf + start, *used - start);
	*used -= start;
}

static void *capture_main(void *arg)
{
	char buf[4096];
	size_t used = 0;
	bool stopping = false;

	(void)arg;
	for (;;) {
		struct pollfd pf[2] = {{.fd = C.rd, .events = POLLIN},
				       {.fd = C.stop[0], .events = POLLIN}};
		ssize_t n;
		if (!stopping && poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!stopping && pf[1].revents) {
			/* Drain what is already there, then stop. */
			stopping = true;
			fcntl(C.rd, F_SETFL, fcntl(C.rd, F_GETFL) | O_NONBLOCK);
		}
		n = read(C.rd, buf + used, sizeof(buf) - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		capture_lines(buf, &used, used == sizeof(buf));
	}
	capture_lines(buf, &used, true);
	return NULL;
}

int log_capture_stderr(void)
{
	int p[2], rc = 0;

	pthread_mutex_lock(&cap_mu);
	if (C.on)
		goto out;
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	if (pipe2(C.stop, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_close_p;
	}
	C.saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (C.saved < 0) {
		rc = -errno;
		goto out_close_stop;
	}
	C.rd = p[0];
	rc = -pthread_create(&C.thread, NULL, capture_main, NULL);
	if (rc < 0)
		goto out_close_saved;
	pthread_mutex_lock(&log_mu);
	L.err_fd = C.saved;
	/* fd 2 (not close-on-exec) now feeds the pipe, for children too. */
	dup2(p[1], STDERR_FILENO);
	pthread_mutex_unlock(&log_mu);
	close(p[1]);
	C.on = true;
	goto out;

out_close_saved:
	close(C.saved);
out_close_stop:
	close(C.stop[0]);
	close(C.stop[1]);
out_close_p:
	close(p[0]);
	close(p[1]);
out:
	pthread_mutex_unlock(&cap_mu);
	return rc;
}

void log_release_stderr(void)
{
	pthread_mutex_lock(&cap_mu);
	if (!C.on)
		goto out;
	pthread_mutex_lock(&log_mu);
	dup2(C.saved, STDERR_FILENO);
	L.err_fd = -1;
	pthread_mutex_unlock(&log_mu);
	(void)!write(C.stop[1], "x", 1);
	pthread_join(C.thread, NULL);
	close(C.rd);
	close(C.stop[0]);
	close(C.stop[1]);
	close(C.saved);
	C.on = false;
out:
	pthread_mutex_unlock(&cap_mu);
}
