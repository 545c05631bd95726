/* ss-testserver: the smallest server on lib/server, for tests/integration/server.sh.
 * Pages: / and /healthz, /metrics (with an escaped label), /secret (loopback only),
 * /logs; SRPC over mTLS: Test.Echo (logs its caller) and Test.Sleep {"Ms": N} (a call
 * that a stop must let finish). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flags.h"
#include "html.h"
#include "http.h"
#include "log.h"
#include "log_page.h"
#include "metrics.h"
#include "server.h"

static atomic_uint n_echo;

static const struct html_chrome chrome = {
    .css = "h1{color:#036}\n",
    .nav = "<nav><a href=\"/\">home</a><a href=\"/logs\">logs</a></nav>\n",
};

static int page_home(struct http_req *r, FILE *f)
{
	(void)r;
	html_page_start(f, "ss-testserver", &chrome);
	fputs("<h1>ss-testserver</h1>\n", f);
	fputs(chrome.nav, f);
	fputs("<table>\n", f);
	html_row(f, "Echo calls", n_echo > 0 ? "some" : "none");
	fputs("</table>\n", f);
	html_page_end(f);
	return 200;
}

static int page_healthz(struct http_req *r, FILE *f)
{
	(void)r;
	fputs("OK\n", f);
	return 200;
}

static int page_metrics(struct http_req *r, FILE *f)
{
	(void)r;
	metrics_declare(f, "ss_testserver_echo_calls_total", METRICS_COUNTER,
			"Test.Echo calls served.");
	metrics_uint(f, "ss_testserver_echo_calls_total", atomic_load(&n_echo), "method",
		     "Test.Echo", NULL);
	metrics_declare(f, "ss_testserver_label_test", METRICS_GAUGE,
			"A label value that needs escaping.");
	metrics_int(f, "ss_testserver_label_test", -1, "value", "quote \" backslash \\ newline \n",
		    NULL);
	return 200;
}

static int page_secret(struct http_req *r, FILE *f)
{
	(void)r;
	fputs("the secret page\n", f);
	return 200;
}

static const struct http_route routes[] = {
    {"/", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_HTML, page_home, NULL},
    {"/healthz", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, page_healthz, NULL},
    {"/metrics", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, METRICS_CONTENT_TYPE, page_metrics, NULL},
    {"/secret", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_TEXT, page_secret, NULL},
    {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_HTML, log_page_handler, &chrome},
};

static int echo(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	char *text = json_dumps(req, JSON_COMPACT);

	(void)arg;
	atomic_fetch_add(&n_echo, 1);
	log_info("Test.Echo from %s: %s", srpc_call_auth(call)->username, text ? text : "?");
	free(text);
	*resp = json_deep_copy(req);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int sleep_call(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	json_int_t ms = json_integer_value(json_object_get(req, "Ms"));
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};

	(void)call;
	(void)arg;
	log_info("Test.Sleep: %lld ms", (long long)ms);
	nanosleep(&ts, NULL);
	log_info("Test.Sleep: done");
	*resp = json_pack("{s:I}", "Slept", ms);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int register_methods(struct srpc_server *srv, void *arg)
{
	static const struct srpc_method methods[] = {
	    {"Test.Echo", SRPC_RR, SRPC_ACCESS_PUBLIC, echo, NULL, NULL, NULL},
	    {"Test.Sleep", SRPC_RR, SRPC_ACCESS_PUBLIC, sleep_call, NULL, NULL, NULL},
	};
	int rc = 0;

	(void)arg;
	for (size_t i = 0; rc == 0 && i < sizeof(methods) / sizeof(methods[0]); i++)
		rc = srpc_server_register(srv, &methods[i]);
	return rc;
}

static void on_reopen(void *arg, int rc)
{
	(void)arg;
	log_info("SIGHUP: log files reopened (%s)", rc < 0 ? strerror(-rc) : "ok");
}

static int on_stop(void *arg, int signo)
{
	(void)arg;
	log_info("stopped by %s", signo != 0 ? strsignal(signo) : "request");
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr, *cert, *key, *ca, *log_dir, *port_file;
	int64_t drain_ns;
	struct flags *fs = flags_new("ss-testserver", NULL);
	struct tls_server_config tc;
	struct http_routes rt = {routes, sizeof(routes) / sizeof(routes[0]), NULL};
	struct server_config sc = {
	    .prog = "ss-testserver",
	    .tls = &tc,
	    .routes = &rt,
	    .srpc_register = register_methods,
	    .on_reopen = on_reopen,
	    .on_stop = on_stop,
	};
	struct server *srv;
	char err[1024];
	int rc;

	if (fs == NULL)
		return 1;
	flags_string(fs, "addr", &addr, "127.0.0.1:0", "Address to listen on");
	flags_string(fs, "certFile", &cert, "", "Server certificate");
	flags_string(fs, "keyFile", &key, "", "Server key");
	flags_string(fs, "CAfile", &ca, "", "CA.pem for client certificates");
	flags_string(fs, "logDir", &log_dir, "", "Log directory");
	flags_string(fs, "portFile", &port_file, "", "Write the bound port here");
	flags_duration(fs, "drainTimeout", &drain_ns, 0, "Time calls get at a stop (0 = default)");
	flags_parse_or_exit(fs, argc, argv);

	tc = (struct tls_server_config){cert, key, ca, NULL};
	sc.addr = addr;
	sc.drain_ms = (int)(drain_ns / 1000000);
	sc.log = (struct log_config){.to_stderr = true, .dir = log_dir, .debug_level = -1};
	rc = server_new(&sc, &srv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ss-testserver: %s\n", err);
		flags_free(fs);
		return 1;
	}
	if (server_log_error(srv) < 0)
		log_warn("cannot write logs to %s: %s", log_dir, strerror(-server_log_error(srv)));
	rc = server_listen(srv, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		server_free(srv);
		flags_free(fs);
		return 1;
	}
	log_info("ss-testserver serving on port %d", server_port(srv));
	if (port_file[0] != '\0') {
		FILE *f = fopen(port_file, "w");
		bool ok = f != NULL && fprintf(f, "%d\n", server_port(srv)) > 0;

		if (f != NULL && fclose(f) != 0)
			ok = false;
		if (!ok)
			log_error("write %s: %s", port_file, strerror(errno));
	}
	rc = server_wait(srv);
	server_free(srv);
	flags_free(fs);
	return rc < 0 ? 1 : rc;
}
