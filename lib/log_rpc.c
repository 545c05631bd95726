/* The Logger.* service (see log_rpc.h). The original's process may hold several named
 * loggers; ours has one, the primary logger, named "". Its texts are the original's:
 * "Logger.Print(): ...", "Logger.Debug(N): ...", "Logger.SetDebugLevel(N)",
 * "unknown logger: X". */
#include "log_rpc.h"

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "log.h"

#define LOG_RPC_MAX_ARGS_TEXT 65536
#define LOG_RPC_STACK_MAX (1u << 20)

/* "unknown logger: X" unless name is the primary logger's. */
static int check_name(struct srpc_call *call, struct sjson_dec *d, const json_t *req)
{
	const char *name = "";

	if (sjson_get_str(d, (json_t *)req, "Name", &name) < 0)
		return srpc_call_errorf(call, "%s", sjson_dec_error(d));
	if (name[0] != '\0')
		return srpc_call_errorf(call, "unknown logger: %s", name);
	return 0;
}

/* The request's Args joined by spaces (new string) or NULL with the error line set. */
static char *join_args(struct srpc_call *call, struct sjson_dec *d, const json_t *req)
{
	char **args = NULL, *s;
	size_t n = 0, len = 1, off = 0;

	if (sjson_get_strlist(d, (json_t *)req, "Args", &args, &n) < 0) {
		srpc_call_errorf(call, "%s", sjson_dec_error(d));
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		len += strlen(args[i]) + 1;
	if (len > LOG_RPC_MAX_ARGS_TEXT) {
		sjson_strlist_free(args);
		srpc_call_errorf(call, "message too long");
		return NULL;
	}
	s = malloc(len);
	if (s != NULL) {
		s[0] = '\0';
		for (size_t i = 0; i < n; i++)
			off += (size_t)snprintf(s + off, len - off, "%s%s", i ? " " : "", args[i]);
	} else {
		srpc_call_errorf(call, "out of memory");
	}
	sjson_strlist_free(args);
	return s;
}

static int do_print(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct sjson_dec d;
	char *text = NULL;
	int rc;

	(void)arg;
	(void)resp;
	sjson_dec_init(&d, "PrintRequest");
	rc = check_name(call, &d, req);
	if (rc == 0 && (text = join_args(call, &d, req)) == NULL)
		rc = -EREMOTEIO;
	if (rc == 0)
		log_info("Logger.Print(): %s", text);
	free(text);
	sjson_dec_fini(&d);
	return rc;
}

static int do_debug(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct sjson_dec d;
	char *text = NULL;
	uint32_t level = 0;
	int rc;

	(void)arg;
	(void)resp;
	sjson_dec_init(&d, "DebugRequest");
	rc = check_name(call, &d, req);
	if (rc == 0 && sjson_get_uint32(&d, (json_t *)req, "Level", &level) < 0)
		rc = srpc_call_errorf(call, "%s", sjson_dec_error(&d));
	if (rc == 0 && level > 255)
		rc = srpc_call_errorf(call, "Level: %u overflows uint8", level);
	if (rc == 0 && (text = join_args(call, &d, req)) == NULL)
		rc = -EREMOTEIO;
	if (rc == 0)
		log_debug((int)level, "Logger.Debug(%u): %s", level, text);
	free(text);
	sjson_dec_fini(&d);
	return rc;
}

static int do_set_level(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct sjson_dec d;
	int level = 0, rc;

	(void)arg;
	(void)resp;
	sjson_dec_init(&d, "SetDebugLevelRequest");
	rc = check_name(call, &d, req);
	if (rc == 0 && sjson_get_int(&d, (json_t *)req, "Level", &level) < 0)
		rc = srpc_call_errorf(call, "%s", sjson_dec_error(&d));
	if (rc == 0 && (level < INT16_MIN || level > INT16_MAX))
		rc = srpc_call_errorf(call, "Level: %d overflows int16", level);
	if (rc == 0) {
		log_info("Logger.SetDebugLevel(%d)", level);
		log_set_debug_level(level < -1 ? -1 : level);
	}
	sjson_dec_fini(&d);
	return rc;
}

/* Appends one thread's line: id, name, state and where it sleeps in the kernel. */
static size_t thread_line(char *buf, size_t off, size_t sz, const char *tid)
{
	char path[320], comm[64] = "?", wchan[128] = "?", state = '?';
	char stat[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(comm, sizeof(comm), f) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%s/wchan", tid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(wchan, sizeof(wchan), f) == NULL)
			snprintf(wchan, sizeof(wchan), "?");
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(stat, sizeof(stat), f) != NULL) {
			const char *p = strrchr(stat, ')');

			if (p != NULL && p[1] == ' ')
				state = p[2];
		}
		fclose(f);
	}
	if (off < sz)
		off += (size_t)snprintf(buf + off, sz - off, "thread %s [%s]: state %c, wchan %s\n",
					tid, comm, state, wchan);
	return off;
}

/* C has no goroutine stacks to dump: the text lists every thread of the process
 * (from /proc) and the symbolised stack of the thread serving the call. */
static int do_stack(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	char *buf = malloc(LOG_RPC_STACK_MAX);
	void *frames[64];
	char **syms;
	size_t off = 0;
	int n;
	DIR *dir;

	(void)req;
	(void)arg;
	if (buf == NULL)
		return srpc_call_errorf(call, "out of memory");
	buf[0] = '\0';
	n = backtrace(frames, 64);
	syms = backtrace_symbols(frames, n);
	off += (size_t)snprintf(buf, LOG_RPC_STACK_MAX, "thread %d (serving %s):\n", gettid(),
				srpc_call_method(call));
	for (int i = 0; syms != NULL && i < n && off < LOG_RPC_STACK_MAX; i++)
		off += (size_t)snprintf(buf + off, LOG_RPC_STACK_MAX - off, "\t%s\n", syms[i]);
	free(syms);
	if (off < LOG_RPC_STACK_MAX)
		off += (size_t)snprintf(buf + off, LOG_RPC_STACK_MAX - off, "\n");
	if ((dir = opendir("/proc/self/task")) != NULL) {
		struct dirent *e;

		while ((e = readdir(dir)) != NULL)
			if (e->d_name[0] != '.')
				off = thread_line(buf, off, LOG_RPC_STACK_MAX, e->d_name);
		closedir(dir);
	}
	if (off > LOG_RPC_STACK_MAX - 1)
		off = LOG_RPC_STACK_MAX - 1;
	*resp = json_object();
	if (*resp == NULL || json_object_set_new(*resp, "Data", sjson_bytes(buf, off)) < 0) {
		free(buf);
		return srpc_call_errorf(call, "out of memory");
	}
	free(buf);
	return 0;
}

/* ---- Watch ---- */

struct watch {
	regex_t include, exclude;
	bool have_include, have_exclude;
	int level; /* DebugLevel */
};

static int watch_reply(struct srpc_call *call, const char *err)
{
	json_t *j = json_pack("{s:s}", "Error", err);
	int rc;

	if (j == NULL)
		return -ENOMEM;
	rc = srpc_conn_write_json(srpc_call_conn(call), j);
	json_decref(j);
	return rc < 0 ? rc : srpc_conn_flush(srpc_call_conn(call));
}

/* 0 with w set up, or an error text in err. */
static int watch_setup(struct srpc_call *call, struct watch *w, char *err, size_t errsz)
{
	const char *name = "", *inc = "", *exc = "";
	struct sjson_dec d;
	json_t *req = NULL;
	int rc = srpc_conn_read_json(srpc_call_conn(call), &req);

	if (rc < 0)
		return rc;
	sjson_dec_init(&d, "WatchRequest");
	if (sjson_get_str(&d, req, "Name", &name) < 0 ||
	    sjson_get_str(&d, req, "IncludeRegex", &inc) < 0 ||
	    sjson_get_str(&d, req, "ExcludeRegex", &exc) < 0 ||
	    sjson_get_int(&d, req, "DebugLevel", &w->level) < 0)
		snprintf(err, errsz, "%s", sjson_dec_error(&d));
	else if (w->level < INT16_MIN || w->level > INT16_MAX)
		snprintf(err, errsz, "DebugLevel: %d overflows int16", w->level);
	else if (name[0] != '\0')
		snprintf(err, errsz, "unknown logger: %s", name);
	if (err[0] == '\0' && exc[0] != '\0') {
		rc = regcomp(&w->exclude, exc, REG_EXTENDED | REG_NOSUB);
		if (rc != 0)
			snprintf(err, errsz, "error parsing regexp: %s", exc);
		w->have_exclude = rc == 0;
	}
	if (err[0] == '\0' && inc[0] != '\0') {
		rc = regcomp(&w->include, inc, REG_EXTENDED | REG_NOSUB);
		if (rc != 0)
			snprintf(err, errsz, "error parsing regexp: %s", inc);
		w->have_include = rc == 0;
	}
	sjson_dec_fini(&d);
	json_decref(req);
	return 0;
}

static bool watch_wants(const struct watch *w, const char *line)
{
	if (w->have_include && regexec(&w->include, line, 0, NULL, 0) != 0)
		return false;
	return !(w->have_exclude && regexec(&w->exclude, line, 0, NULL, 0) == 0);
}

/* Streams new log lines (with debug lines up to the watch's DebugLevel, even when the
 * logger drops them), flushed every 100 ms as the original, until the client closes its
 * side, a write fails or the watcher fell LOG_TAP_QUEUE lines behind. */
static int watch_stream(struct srpc_call *call, const struct watch *w)
{
	struct srpc_conn *conn = srpc_call_conn(call);
	struct log_tap *tap;
	char **lines, drain[256];
	size_t n;
	int rc = log_tap_open(w->level, &tap);

	while (rc == 0) {
		struct pollfd p = {.fd = srpc_conn_fd(conn), .events = POLLIN};
		int taken;

		if (srpc_conn_pending(conn) || poll(&p, 1, 100) > 0) {
			/* The client sends nothing more: input means it closed. */
			if (srpc_conn_read_some(conn, drain, sizeof(drain)) <= 0)
				break;
		}
		taken = log_tap_take(tap, &lines, &n);
		if (taken == -ENOMEM) {
			rc = taken;
			break;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (!watch_wants(w, lines[i]))
				continue;
			rc = srpc_conn_write(conn, lines[i], strlen(lines[i]));
			if (rc == 0)
				rc = srpc_conn_write(conn, "\n", 1);
		}
		log_lines_free(lines, n);
		if (rc == 0 && n > 0)
			rc = srpc_conn_flush(conn);
		if (taken < 0) /* lines were lost: end, as the original drops the streamer */
			break;
	}
	log_tap_close(tap);
	return rc;
}

static int do_watch(struct srpc_call *call, void *arg)
{
	struct watch w = {0};
	char err[512] = "";
	int rc;

	(void)arg;
	rc = watch_setup(call, &w, err, sizeof(err));
	if (rc == 0 && err[0] != '\0') {
		rc = watch_reply(call, err); /* the original answers and serves the next call */
	} else if (rc == 0) {
		rc = watch_reply(call, "");
		if (rc == 0)
			watch_stream(call, &w);
		rc = -ECONNRESET; /* raw lines flowed: the connection is done */
	}
	if (w.have_include)
		regfree(&w.include);
	if (w.have_exclude)
		regfree(&w.exclude);
	return rc;
}

int log_rpc_register(struct srpc_server *srv)
{
	static const struct srpc_method methods[] = {
	    {.name = "Logger.Debug", .kind = SRPC_RR, .rr = do_debug},
	    {.name = "Logger.GetStackTrace", .kind = SRPC_RR, .rr = do_stack},
	    {.name = "Logger.Print", .kind = SRPC_RR, .rr = do_print},
	    {.name = "Logger.SetDebugLevel", .kind = SRPC_RR, .rr = do_set_level},
	    {.name = "Logger.Watch", .kind = SRPC_STREAM, .stream = do_watch},
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]) && rc == 0; i++)
		rc = srpc_server_register(srv, &methods[i]);
	return rc;
}
