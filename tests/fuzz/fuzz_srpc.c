/* fuzz_srpc: the SRPC wire (lib/srpc_wire.c) and a whole plain SRPC server
 * connection (lib/srpc_server.c, lib/srpc_conn.c) fed through a socketpair.
 *
 * The first byte picks the target; the rest is its input:
 *   'S'  bytes a client sends to the server: CONNECT request, method lines, JSON
 *        messages, raw stream data (seeds are captures of srpc-testc sessions)
 *   'R'  a CONNECT request header (srpc_wire_parse_request, srpc_wire_header_end)
 *   'A'  a CONNECT answer (srpc_wire_parse_status)
 *   'M'  a method line (srpc_wire_method_line)
 *   'F'  a JSON message stream cut into pieces (srpc_frame_feed against jansson)
 *   'H'  "METHOD PATH" for the HTTP side (srpc_server_http)
 * Checks beyond the sanitizers: every server answer starts with a status line that
 * srpc_wire_parse_status accepts, and the framer gives the same result however its
 * input is split. Grant globbing (tls_glob_match) is fuzz_tls_ident's 'G' target. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srpc.h"
#include "srpc_wire.h"

#define MAX_SERVER_INPUT 65536 /* fits a socketpair's buffer, so one write never blocks */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the server side: handlers shaped like srpc-testd's Test.* methods ---- */

static int echo(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	(void)call;
	(void)arg;
	*resp = json_deep_copy(req);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int fail(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	const char *why = json_string_value(json_object_get(req, "Why"));

	(void)resp;
	(void)arg;
	/* Handler messages may carry newlines: the server must keep error lines single. */
	return srpc_call_errorf(call, "failed: %s", why != NULL ? why : "on purpose");
}

/* → {Count, RawSize}; ← Count messages; ← RawSize raw bytes; → RawSize raw bytes;
 * → one line; ← {Ok}. Sizes are capped so one input cannot make the server write
 * more than the socket holds while the harness is still writing. */
static int stream(struct srpc_call *call, void *arg)
{
	struct srpc_conn *c = srpc_call_conn(call);
	unsigned char buf[4096];
	char line[256];
	json_t *req, *msg;
	json_int_t count, raw, i;
	ssize_t n;
	int rc;

	(void)arg;
	if ((rc = srpc_conn_read_json(c, &req)) < 0)
		return rc;
	count = json_integer_value(json_object_get(req, "Count"));
	raw = json_integer_value(json_object_get(req, "RawSize"));
	json_decref(req);
	if (count < 0 || count > 8 || raw < 0 || raw > (json_int_t)sizeof(buf))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		msg = json_pack("{s:I}", "Seq", i);
		rc = srpc_conn_write_json(c, msg);
		json_decref(msg);
		if (rc < 0)
			return rc;
	}
	memset(buf, 'r', (size_t)raw);
	if ((rc = srpc_conn_write(c, buf, (size_t)raw)) < 0 || (rc = srpc_conn_flush(c)) < 0)
		return rc;
	if ((rc = srpc_conn_read(c, buf, (size_t)raw)) < 0)
		return rc;
	n = srpc_conn_read_some(c, buf, 1);
	if (n < 0)
		return (int)n;
	n = srpc_conn_read_line(c, line, sizeof(line));
	if (n < 0 && n != -EMSGSIZE)
		return (int)n;
	msg = json_pack("{s:b}", "Ok", n >= 0);
	rc = srpc_conn_write_json(c, msg);
	json_decref(msg);
	return rc;
}

static bool hook(const struct srpc_auth *auth, const char *service, const char *method, void *arg)
{
	(void)service;
	(void)arg;
	return auth->username[0] != '\0' && strcmp(method, "Echo") == 0;
}

static const struct srpc_method methods[] = {
    {"Test.Echo", SRPC_RR, 0, echo, NULL, NULL, NULL},
    {"Test.Public", SRPC_RR, SRPC_ACCESS_PUBLIC, echo, NULL, NULL, NULL},
    {"Test.Fail", SRPC_RR, SRPC_ACCESS_UNAUTH, fail, NULL, NULL, NULL},
    {"Test.Unauth", SRPC_RR, SRPC_ACCESS_UNAUTH, echo, NULL, NULL, NULL},
    {"Test.Loopback", SRPC_RR, SRPC_ACCESS_UNAUTH | SRPC_ACCESS_LOOPBACK, echo, NULL, NULL, NULL},
    {"Test.Stream", SRPC_STREAM, SRPC_ACCESS_UNAUTH, NULL, stream, NULL, NULL},
};

static struct srpc_server *server(void)
{
	static struct srpc_server *srv;
	struct srpc_server_config cfg = {
	    .allow_unauthenticated = true,
	    .max_message = 8192, /* small, so inputs reach the size limit */
	    .handshake_timeout_ms = 2000,
	    .io_timeout_ms = 2000,
	    .idle_timeout_ms = 2000,
	    .hostname = "fuzz.example",
	};
	size_t i;

	if (srv != NULL)
		return srv;
	signal(SIGPIPE, SIG_IGN);
	srv = srpc_server_new(&cfg);
	if (srv == NULL)
		abort();
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (srpc_server_register(srv, &methods[i]) < 0)
			abort();
	}
	if (srpc_server_set_grant_hook(srv, "Test", hook, NULL) < 0)
		abort();
	return srv;
}

/* Everything the server writes is collected by one long-lived thread, so the server
 * never blocks on a full socket (a thread per input would dominate the run time). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd; /* to read until EOF; -1 when idle */
	bool done;
	char *buf;
	size_t len, cap;
} drain = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, false, NULL, 0, 0};

static void drain_read(int fd)
{
	char tmp[4096];
	ssize_t n;

	drain.len = 0;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (drain.len + (size_t)n > drain.cap) {
			size_t ncap = (drain.len + (size_t)n) * 2;
			char *nb = realloc(drain.buf, ncap);

			if (nb == NULL)
				abort();
			drain.buf = nb;
			drain.cap = ncap;
		}
		memcpy(drain.buf + drain.len, tmp, (size_t)n);
		drain.len += (size_t)n;
	}
}

static void *drain_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&drain.lock);
	for (;;) {
		int fd;

		while (drain.fd < 0)
			pthread_cond_wait(&drain.cond, &drain.lock);
		fd = drain.fd;
		pthread_mutex_unlock(&drain.lock);
		drain_read(fd);
		pthread_mutex_lock(&drain.lock);
		drain.fd = -1;
		drain.done = true;
		pthread_cond_broadcast(&drain.cond);
	}
	return NULL;
}

static void drain_start(int fd)
{
	static bool started;
	pthread_t t;

	if (!started) {
		if (pthread_create(&t, NULL, drain_thread, NULL) != 0)
			abort();
		pthread_detach(t);
		started = true;
	}
	pthread_mutex_lock(&drain.lock);
	drain.fd = fd;
	drain.done = false;
	pthread_cond_broadcast(&drain.cond);
	pthread_mutex_unlock(&drain.lock);
}

static void drain_wait(void)
{
	pthread_mutex_lock(&drain.lock);
	while (!drain.done)
		pthread_cond_wait(&drain.cond, &drain.lock);
	pthread_mutex_unlock(&drain.lock);
}

/* Reads what the server wrote (after it finished) without blocking. */
static void drain_now(int fd)
{
	char tmp[4096];
	ssize_t n;

	drain.len = 0;
	while ((n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0) {
		if (drain.len + (size_t)n > drain.cap) {
			size_t ncap = (drain.len + (size_t)n) * 2;
			char *nb = realloc(drain.buf, ncap);

			if (nb == NULL)
				abort();
			drain.buf = nb;
			drain.cap = ncap;
		}
		memcpy(drain.buf + drain.len, tmp, (size_t)n);
		drain.len += (size_t)n;
	}
}

static void fuzz_server(const uint8_t *data, size_t size)
{
	struct srpc_server *srv = server();
	int sv[2], code, big = 64 << 20;
	bool connected, threaded;

	if (size > MAX_SERVER_INPUT)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	if (size > 0 && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	/* A socket buffer that holds every answer avoids a thread handoff per write; it
	 * needs CAP_NET_ADMIN, else a thread reads concurrently. */
	threaded = setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0;
	if (threaded)
		drain_start(sv[0]);
	srpc_server_serve(srv, sv[1]); /* closes sv[1] */
	if (threaded)
		drain_wait();
	else
		drain_now(sv[0]);
	close(sv[0]);
	if (drain.len > 0) {
		code = srpc_wire_parse_status(drain.buf, drain.len, &connected, NULL, 0);
		if (code < 100 || (connected && code != 200)) {
			fprintf(stderr, "server answered a bad status line (%d): %.*s\n", code,
				(int)(drain.len < 80 ? drain.len : 80), drain.buf);
			abort();
		}
	}
}

/* ---- the pure parsers ---- */

static void fuzz_request(const char *p, size_t n)
{
	struct srpc_wire_request req;
	size_t end = srpc_wire_header_end(p, n);

	if (end > n)
		abort();
	/* The server parses only complete headers; the parser must not care. */
	(void)srpc_wire_parse_request(p, n, &req);
	if (end > 0)
		(void)srpc_wire_parse_request(p, end, &req);
}

static void fuzz_answer(const char *p, size_t n)
{
	char text[32];
	bool connected;
	int code = srpc_wire_parse_status(p, n, &connected, text, sizeof(text));

	if (code >= 0 && (code < 100 || code > 999 || strlen(text) >= sizeof(text)))
		abort();
	if (code < 0 && connected)
		abort();
	(void)srpc_wire_parse_status(p, n, &connected, NULL, 0);
}

static void fuzz_method_line(const char *p, size_t n)
{
	char *line = malloc(n + 1), *service, *method;
	int kind;

	if (line == NULL)
		abort();
	memcpy(line, p, n);
	line[n] = '\0';
	kind = srpc_wire_method_line(line, &service, &method);
	if (kind == 1 && (strchr(service, '.') != NULL || strchr(method, '.') != NULL ||
			  service < line || method > line + n))
		abort();
	if (kind == 0 && *service != '\0')
		abort();
	free(line);
}

/* Feeds p[0..n) in pieces whose sizes come from seed; returns the framer's result and
 * the offset where the value ends. */
static int frame_pieces(const unsigned char *p, size_t n, unsigned seed, size_t *end)
{
	struct srpc_frame f;
	size_t off = 0;

	srpc_frame_init(&f);
	while (off < n) {
		size_t k = seed == 0 ? n - off : 1 + (seed + off * 7) % 13, used;
		int rc;

		if (k > n - off)
			k = n - off;
		rc = srpc_frame_feed(&f, p + off, k, &used);
		if (rc < 0)
			return rc;
		if (used > k)
			abort();
		off += used;
		if (rc == SRPC_FRAME_DONE) {
			*end = off;
			return rc;
		}
	}
	*end = n;
	return srpc_frame_eof(&f) == SRPC_FRAME_DONE ? 2 : SRPC_FRAME_MORE;
}

static void fuzz_frame(const unsigned char *p, size_t n)
{
	size_t end1 = 0, end2 = 0;
	int rc1 = frame_pieces(p, n, 0, &end1);
	int rc2 = frame_pieces(p, n, n > 0 ? p[0] + 1u : 1, &end2);

	if (rc1 != rc2 || (rc1 >= 0 && end1 != end2)) {
		fprintf(stderr, "framer depends on the split: %d/%zu vs %d/%zu\n", rc1, end1, rc2,
			end2);
		abort();
	}
	if (rc1 == SRPC_FRAME_DONE || rc1 == 2) {
		json_error_t je;
		json_t *j =
		    json_loadb((const char *)p, end1, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

		json_decref(j);
	}
}

static void fuzz_http(const char *p, size_t n)
{
	char *s = strndup(p, n), *path, *body;
	int status;

	if (s == NULL)
		abort();
	path = strchr(s, ' ');
	if (path != NULL) {
		*path++ = '\0';
		if (srpc_server_http(server(), s, path, &status, &body) == 0) {
			if (status < 100 || body == NULL)
				abort();
			free(body);
		}
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 'S':
		fuzz_server(data + 1, n);
		break;
	case 'R':
		fuzz_request(p, n);
		break;
	case 'A':
		fuzz_answer(p, n);
		break;
	case 'M':
		fuzz_method_line(p, n);
		break;
	case 'F':
		fuzz_frame(data + 1, n);
		break;
	case 'H':
		fuzz_http(p, n);
		break;
	default:
		break;
	}
	return 0;
}
