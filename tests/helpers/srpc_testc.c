/* srpc-testc: SRPC test client for tests/integration/srpc.sh and bench/srpc.
 *   srpc-testc [flags] call METHOD [JSON]   one RR call, prints the response
 *   srpc-testc [flags] ping
 *   srpc-testc [flags] fetch METHOD JSON OUT  starts a streaming method, prints messages
 *                                            until an Error or one with Length, then
 *                                            writes Length raw bytes to file OUT
 *   srpc-testc [flags] first METHOD [JSON]  starts a streaming method, sends JSON (or
 *                                           {}), prints the first message it answers
 *   srpc-testc [flags] stream COUNT RAWSIZE  Test.Stream, checks order and raw bytes
 *   srpc-testc [flags] big BYTES             Test.Big with a string of BYTES
 *   srpc-testc [flags] bench-rr N            N Test.Echo calls on one connection
 *   srpc-testc [flags] bench-conn N          N x (dial + CONNECT + TLS + Test.Echo)
 *   srpc-testc [flags] script                stdin lines "METHOD [JSON]", all on one
 *                                            connection (redialled after a transport
 *                                            failure); prints "ERR METHOD: why" for each
 *                                            failed call (error line, transport, or a
 *                                            response with a non-empty "Error"), then
 *                                            "CALLS METHOD OK ERR" per method at EOF
 * A JSON argument of call and first may hold \u0000 (the hostile-input tests send it),
 * and "@FILE" reads it from FILE (requests larger than one argument may be). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flags.h"
#include "srpc.h"

static const char *addr;
static struct srpc_client_config ccfg;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Freed at exit on every path (dial() exits on failure), so valgrind sees no leak. */
static struct flags *g_fs;
static struct tls_client *g_tls;

static void free_globals(void)
{
	tls_client_free(g_tls);
	flags_free(g_fs);
}

static struct srpc_client *dial(void)
{
	struct srpc_client *cl;
	char err[512];

	if (srpc_client_dial(addr, &ccfg, &cl, err, sizeof(err)) < 0) {
		fprintf(stderr, "srpc-testc: %s\n", err);
		exit(1);
	}
	return cl;
}

static json_t *json_arg(const char *text, json_error_t *jerr)
{
	if (text[0] == '@')
		return json_load_file(text + 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, jerr);
	return json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, jerr);
}

static int fail_call(struct srpc_client *cl, const char *method)
{
	fprintf(stderr, "srpc-testc: %s: %s\n", method, srpc_client_error(cl));
	srpc_client_close(cl);
	return 1;
}

static int cmd_call(const char *method, const char *text)
{
	struct srpc_client *cl;
	json_error_t jerr;
	json_t *req = NULL, *resp;
	char *out;

	if (text != NULL && (req = json_arg(text, &jerr)) == NULL) {
		fprintf(stderr, "srpc-testc: bad JSON argument: %s\n", jerr.text);
		return 2;
	}
	cl = dial();
	if (srpc_client_call(cl, method, req, &resp) < 0) {
		json_decref(req);
		return fail_call(cl, method);
	}
	out = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s\n", out);
	free(out);
	json_decref(resp);
	json_decref(req);
	srpc_client_close(cl);
	return 0;
}

static int cmd_first(const char *method, const char *text)
{
	struct srpc_client *cl;
	json_error_t jerr;
	json_t *req, *resp = NULL;
	char *out;
	int rc;

	if ((req = json_arg(text != NULL ? text : "{}", &jerr)) == NULL) {
		fprintf(stderr, "srpc-testc: bad JSON argument: %s\n", jerr.text);
		return 2;
	}
	cl = dial();
	rc = srpc_client_start(cl, method);
	if (rc == 0)
		rc = srpc_conn_write_json(srpc_client_conn(cl), req);
	if (rc == 0)
		rc = srpc_conn_flush(srpc_client_conn(cl));
	if (rc == 0)
		rc = srpc_conn_read_json(srpc_client_conn(cl), &resp);
	json_decref(req);
	if (rc < 0) {
		fprintf(stderr, "srpc-testc: %s: %s\n", method,
			srpc_client_error(cl)[0] != '\0' ? srpc_client_error(cl) : strerror(-rc));
		srpc_client_close(cl);
		return 1;
	}
	out = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s\n", out);
	free(out);
	json_decref(resp);
	srpc_client_close(cl);
	return 0;
}

/* fetch: messages until an Error or a Length, then Length raw bytes into out. */
static int cmd_fetch(const char *method, const char *text, const char *out)
{
	struct srpc_client *cl = dial();
	json_t *req = json_loads(text, JSON_DECODE_ANY, NULL), *msg = NULL;
	unsigned char buf[65536];
	FILE *f = NULL;
	int rc = req == NULL ? -EINVAL : srpc_client_start(cl, method), status = 1;
	uint64_t left = 0;

	if (rc == 0)
		rc = srpc_conn_write_json(srpc_client_conn(cl), req);
	if (rc == 0)
		rc = srpc_conn_flush(srpc_client_conn(cl));
	while (rc == 0 && (rc = srpc_conn_read_json(srpc_client_conn(cl), &msg)) == 0) {
		const char *e = json_string_value(json_object_get(msg, "Error"));
		json_t *len = json_object_get(msg, "Length");
		char *dump = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s\n", dump);
		free(dump);
		bool failed = e != NULL && *e != '\0', last = len != NULL;

		left = json_is_integer(len) ? (uint64_t)json_integer_value(len) : 0;
		json_decref(msg);
		if (failed)
			goto done;
		if (last)
			break;
	}
	f = rc == 0 ? fopen(out, "w") : NULL;
	if (rc == 0 && f == NULL)
		rc = -errno;
	while (rc == 0 && left > 0) {
		size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		rc = srpc_conn_read(srpc_client_conn(cl), buf, k);
		if (rc == 0 && fwrite(buf, 1, k, f) != k)
			rc = -EIO;
		left -= k;
	}
	if (f != NULL && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0)
		status = 0;
	else
		fprintf(stderr, "srpc-testc: %s: %s\n", method, strerror(-rc));
done:
	json_decref(req);
	srpc_client_close(cl);
	return status;
}

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 7 + seed) % 251);
}

static int cmd_stream(long count, long raw)
{
	struct srpc_client *cl = dial();
	struct srpc_conn *c;
	unsigned char buf[8192];
	json_t *msg;
	size_t done, k, j;
	long i;
	int rc;

	if (srpc_client_start(cl, "Test.Stream") < 0)
		return fail_call(cl, "Test.Stream");
	c = srpc_client_conn(cl);
	msg = json_pack("{s:i, s:i}", "Count", (int)count, "RawSize", (int)raw);
	rc = srpc_conn_write_json(c, msg);
	json_decref(msg);
	if (rc < 0 || srpc_conn_flush(c) < 0)
		goto out_io;
	for (i = 0; i < count; i++) {
		if ((rc = srpc_conn_read_json(c, &msg)) < 0)
			goto out_io;
		if (json_integer_value(json_object_get(msg, "Seq")) != i) {
			fprintf(stderr, "srpc-testc: message %ld has Seq %lld\n", i,
				(long long)json_integer_value(json_object_get(msg, "Seq")));
			return 1;
		}
		json_decref(msg);
	}
	for (done = 0; done < (size_t)raw; done += k) {
		k = (size_t)raw - done < sizeof(buf) ? (size_t)raw - done : sizeof(buf);
		if ((rc = srpc_conn_read(c, buf, k)) < 0)
			goto out_io;
		for (j = 0; j < k; j++) {
			if (buf[j] != pattern(done + j, 1)) {
				fprintf(stderr, "srpc-testc: raw byte %zu differs\n", done + j);
				return 1;
			}
		}
	}
	for (done = 0; done < (size_t)raw; done += k) {
		k = (size_t)raw - done < sizeof(buf) ? (size_t)raw - done : sizeof(buf);
		for (j = 0; j < k; j++)
			buf[j] = pattern(done + j, 2);
		if ((rc = srpc_conn_write(c, buf, k)) < 0)
			goto out_io;
	}
	if ((rc = srpc_conn_flush(c)) < 0 || (rc = srpc_conn_read_json(c, &msg)) < 0)
		goto out_io;
	if (!json_is_true(json_object_get(msg, "Ok"))) {
		fprintf(stderr, "srpc-testc: server saw wrong raw bytes\n");
		return 1;
	}
	json_decref(msg);
	/* The connection must still be usable for the next call. */
	if (srpc_client_ping(cl) < 0)
		return fail_call(cl, "ping");
	printf("stream ok: %ld messages, %ld raw bytes each way\n", count, raw);
	srpc_client_close(cl);
	return 0;
out_io:
	fprintf(stderr, "srpc-testc: Test.Stream: %s\n", strerror(-rc));
	return 1;
}

static int cmd_big(size_t bytes)
{
	struct srpc_client *cl = dial();
	char *data = malloc(bytes + 1);
	json_t *req, *resp;
	int rc;

	if (data == NULL)
		return 1;
	memset(data, 'x', bytes);
	data[bytes] = '\0';
	req = json_pack("{s:s}", "Data", data);
	free(data);
	rc = srpc_client_call(cl, "Test.Big", req, &resp);
	json_decref(req);
	if (rc < 0)
		return fail_call(cl, "Test.Big");
	printf("Length %lld\n", (long long)json_integer_value(json_object_get(resp, "Length")));
	json_decref(resp);
	srpc_client_close(cl);
	return 0;
}

static int cmd_bench_rr(long n)
{
	struct srpc_client *cl = dial();
	json_t *req = json_pack("{s:s, s:i}", "Text", "hello", "N", 1), *resp;
	double t0 = now_s(), dt;
	long i;

	for (i = 0; i < n; i++) {
		if (srpc_client_call(cl, "Test.Echo", req, &resp) < 0)
			return fail_call(cl, "Test.Echo");
		json_decref(resp);
	}
	dt = now_s() - t0;
	printf("rr: %ld calls in %.3f s = %.0f calls/s (%.1f us/call)\n", n, dt, (double)n / dt,
	       dt * 1e6 / (double)n);
	json_decref(req);
	srpc_client_close(cl);
	return 0;
}

static int cmd_bench_conn(long n)
{
	json_t *req = json_pack("{s:s}", "Text", "hello"), *resp;
	double t0 = now_s(), dt;
	long i;

	for (i = 0; i < n; i++) {
		struct srpc_client *cl = dial();

		if (srpc_client_call(cl, "Test.Echo", req, &resp) < 0)
			return fail_call(cl, "Test.Echo");
		json_decref(resp);
		srpc_client_close(cl);
	}
	dt = now_s() - t0;
	printf("conn: %ld connections in %.3f s = %.0f conns/s (%.2f ms each)\n", n, dt,
	       (double)n / dt, dt * 1e3 / (double)n);
	json_decref(req);
	return 0;
}

struct script_count {
	char method[128];
	long ok, err;
};

static struct script_count *script_slot(struct script_count *c, size_t *n, size_t max,
					const char *method)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(c[i].method, method) == 0)
			return &c[i];
	if (*n == max)
		return NULL;
	c[*n] = (struct script_count){.ok = 0};
	snprintf(c[*n].method, sizeof(c[*n].method), "%s", method);
	return &c[(*n)++];
}

/* One line of a script: 0 when the call succeeded, 1 when it failed (reported). */
static int script_call(struct srpc_client **cl, const char *method, const json_t *req)
{
	json_t *resp = NULL, *e;
	int rc;

	if (*cl == NULL) {
		char err[512];

		if (srpc_client_dial(addr, &ccfg, cl, err, sizeof(err)) < 0) {
			*cl = NULL;
			printf("ERR %s: dial: %s\n", method, err);
			return 1;
		}
	}
	rc = srpc_client_call(*cl, method, req, &resp);
	if (rc < 0) {
		printf("ERR %s: %s\n", method, srpc_client_error(*cl));
		if (rc != -EREMOTEIO) {
			srpc_client_close(*cl);
			*cl = NULL;
		}
		return 1;
	}
	e = json_object_get(resp, "Error");
	rc = json_is_string(e) && json_string_length(e) > 0;
	if (rc)
		printf("ERR %s: Error: %s\n", method, json_string_value(e));
	json_decref(resp);
	return rc;
}

static int cmd_script(void)
{
	struct script_count counts[64];
	struct srpc_client *cl = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	long errors = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char *method = line, *text;
		struct script_count *c;
		json_error_t jerr;
		json_t *req = NULL;

		line[strcspn(line, "\n")] = '\0';
		text = strchr(line, ' ');
		if (text != NULL)
			*text++ = '\0';
		if (*method == '\0')
			continue;
		if (text != NULL && *text != '\0' &&
		    (req = json_loads(text, JSON_DECODE_ANY, &jerr)) == NULL) {
			fprintf(stderr, "srpc-testc: %s: bad JSON: %s\n", method, jerr.text);
			free(line);
			srpc_client_close(cl);
			return 2;
		}
		c = script_slot(counts, &n, sizeof(counts) / sizeof(counts[0]), method);
		if (script_call(&cl, method, req) != 0) {
			errors++;
			if (c != NULL)
				c->err++;
		} else if (c != NULL) {
			c->ok++;
		}
		json_decref(req);
		fflush(stdout);
	}
	free(line);
	srpc_client_close(cl);
	for (size_t i = 0; i < n; i++)
		printf("CALLS %s %ld %ld\n", counts[i].method, counts[i].ok, counts[i].err);
	return errors > 0;
}

int main(int argc, char **argv)
{
	const char *cert_dir, *cert, *key, *ca, *server_name, *cmd;
	struct tls_client_config tcfg = {0};
	struct tls_client *tls = NULL;
	bool insecure, plain;
	int64_t timeout_ns;
	uint64_t max_message;
	struct flags *fs = flags_new(
	    "srpc-testc",
	    "srpc-testc [flags] call|first|fetch|ping|stream|big|bench-rr|bench-conn|script ...\n");
	char err[512];
	int rc;

	flags_string(fs, "addr", &addr, "127.0.0.1:6976", "Server host:port");
	flags_string(fs, "certDirectory", &cert_dir, "", "Directory of X.cert + X.key pairs");
	flags_string(fs, "certFile", &cert, "", "Client certificate");
	flags_string(fs, "keyFile", &key, "", "Client key");
	flags_string(fs, "CAfile", &ca, "", "CA bundle to verify the server with");
	flags_string(fs, "serverName", &server_name, "", "Name to verify (default: host)");
	flags_bool(fs, "insecure", &insecure, false, "Do not verify the server");
	flags_bool(fs, "plain", &plain, false, "Use the unsecured JSON endpoint");
	flags_bool(fs, "noMethodPowers", &ccfg.no_method_powers, false,
		   "Send ?doNotUseMethodPowers=true");
	flags_duration(fs, "timeout", &timeout_ns, 0, "Per-call I/O timeout");
	flags_size(fs, "maxMessage", &max_message, 0, "Largest JSON message accepted");
	g_fs = fs;
	atexit(free_globals);
	flags_parse_or_exit(fs, argc, argv);
	signal(SIGPIPE, SIG_IGN);

	if (!plain) {
		tcfg.cert_dir = cert_dir[0] != '\0' ? cert_dir : NULL;
		tcfg.cert_file = cert[0] != '\0' ? cert : NULL;
		tcfg.key_file = key[0] != '\0' ? key : NULL;
		tcfg.ca_file = ca[0] != '\0' ? ca : NULL;
		tcfg.insecure = insecure;
		if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0) {
			fprintf(stderr, "srpc-testc: %s\n", err);
			return 1;
		}
	}
	g_tls = tls;
	ccfg.tls = tls;
	ccfg.server_name = server_name[0] != '\0' ? server_name : NULL;
	ccfg.call_timeout_ms = (int)(timeout_ns / 1000000);
	ccfg.max_message = (size_t)max_message;
	cmd = flags_arg(fs, 0);
	if (cmd == NULL) {
		flags_print_usage(fs, stderr);
		return 2;
	}
	if (strcmp(cmd, "call") == 0 && flags_nargs(fs) >= 2)
		rc = cmd_call(flags_arg(fs, 1), flags_arg(fs, 2));
	else if (strcmp(cmd, "first") == 0 && flags_nargs(fs) >= 2)
		rc = cmd_first(flags_arg(fs, 1), flags_arg(fs, 2));
	else if (strcmp(cmd, "fetch") == 0 && flags_nargs(fs) == 4)
		rc = cmd_fetch(flags_arg(fs, 1), flags_arg(fs, 2), flags_arg(fs, 3));
	else if (strcmp(cmd, "ping") == 0) {
		struct srpc_client *cl = dial();

		rc = srpc_client_ping(cl) < 0 ? fail_call(cl, "ping") : (srpc_client_close(cl), 0);
		if (rc == 0)
			printf("pong\n");
	} else if (strcmp(cmd, "stream") == 0 && flags_nargs(fs) == 3)
		rc = cmd_stream(atol(flags_arg(fs, 1)), atol(flags_arg(fs, 2)));
	else if (strcmp(cmd, "big") == 0 && flags_nargs(fs) == 2)
		rc = cmd_big((size_t)atol(flags_arg(fs, 1)));
	else if (strcmp(cmd, "bench-rr") == 0 && flags_nargs(fs) == 2)
		rc = cmd_bench_rr(atol(flags_arg(fs, 1)));
	else if (strcmp(cmd, "bench-conn") == 0 && flags_nargs(fs) == 2)
		rc = cmd_bench_conn(atol(flags_arg(fs, 1)));
	else if (strcmp(cmd, "script") == 0 && flags_nargs(fs) == 1)
		rc = cmd_script();
	else {
		flags_print_usage(fs, stderr);
		rc = 2;
	}
	return rc;
}
