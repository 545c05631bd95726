/* Unit tests for lib/http: route matching (exact, prefix, order), access by caller
 * address, the standard 400/403/404/405 answers, handler statuses and content types,
 * query arguments, and the libmicrohttpd glue over a real loopback socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"

static int h_echo(struct http_req *r, FILE *f)
{
	fprintf(f, "url=%s tail=%s arg=%s data=%s", r->url, r->tail, (const char *)r->arg,
		r->data != NULL ? (const char *)r->data : "-");
	return 200;
}

static int h_json(struct http_req *r, FILE *f)
{
	http_req_set_type(r, HTTP_TYPE_JSON);
	fputs("{}", f);
	return 200;
}

/* Returns the status given as ?c=N, after writing a body. */
static int h_code(struct http_req *r, FILE *f)
{
	const char *c = http_req_arg(r, "c");

	fputs("handler body\n", f);
	return c != NULL ? atoi(c) : 200;
}

static const struct http_route routes[] = {
    {"/exact", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_echo, NULL},
    {"/secret", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, NULL, h_echo, "route data"},
    {"/files/", HTTP_ROUTE_PREFIX, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_echo, NULL},
    {"/files/special", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_code, NULL},
    {"/json", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_json, NULL},
    {"/code", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_code, NULL},
};
static const struct http_routes table = {routes, sizeof(routes) / sizeof(routes[0]),
					 (void *)"table arg"};

/* The same plus a final catch-all that hides unknown URLs from remote callers. */
static const struct http_route guarded_routes[] = {
    {"/exact", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_echo, NULL},
    {"/", HTTP_ROUTE_PREFIX, HTTP_ROUTE_LOOPBACK, NULL, http_not_found, NULL},
};
static const struct http_routes guarded = {guarded_routes, 2, (void *)"guarded"};

static struct http_answer ask(const struct http_routes *t, const char *method, const char *url,
			      bool loopback, const struct http_arg *args, size_t nargs)
{
	struct http_req req = {
	    .method = method, .url = url, .loopback = loopback, .args = args, .nargs = nargs};
	struct http_answer a;

	assert_int_equal(http_dispatch(t, &req, &a), 0);
	return a;
}

static void assert_answer(struct http_answer a, unsigned status, const char *type, const char *body)
{
	assert_int_equal(a.status, status);
	assert_string_equal(a.type, type);
	assert_int_equal(a.len, strlen(body));
	assert_memory_equal(a.body, body, a.len);
	free(a.body);
}

static void test_exact_and_prefix(void **state)
{
	(void)state;
	assert_answer(ask(&table, "GET", "/exact", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/exact tail= arg=table arg data=-");
	/* Exact means exact: no trailing slash, no longer path. */
	assert_answer(ask(&table, "GET", "/exact/", true, NULL, 0), 404, HTTP_TYPE_TEXT,
		      "404 page not found\n");
	assert_answer(ask(&table, "GET", "/exac", true, NULL, 0), 404, HTTP_TYPE_TEXT,
		      "404 page not found\n");
	assert_answer(ask(&table, "GET", "/files/a/b.txt", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/files/a/b.txt tail=a/b.txt arg=table arg data=-");
	assert_answer(ask(&table, "GET", "/files/", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/files/ tail= arg=table arg data=-");
	assert_answer(ask(&table, "GET", "/files", false, NULL, 0), 404, HTTP_TYPE_TEXT,
		      "404 page not found\n");
	/* The first match wins: the prefix route comes before the exact one. */
	assert_answer(ask(&table, "GET", "/files/special", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/files/special tail=special arg=table arg data=-");
}

static void test_access(void **state)
{
	(void)state;
	assert_answer(ask(&table, "GET", "/secret", true, NULL, 0), 200, HTTP_TYPE_HTML,
		      "url=/secret tail= arg=table arg data=route data");
	assert_answer(ask(&table, "GET", "/secret", false, NULL, 0), 403, HTTP_TYPE_TEXT,
		      "forbidden: this page is only served to local callers\n");
	/* Public pages are for everyone. */
	assert_answer(ask(&table, "HEAD", "/exact", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/exact tail= arg=table arg data=-");
	/* A loopback catch-all: unknown URLs are 404 locally, 403 remotely. */
	assert_answer(ask(&guarded, "GET", "/nope", true, NULL, 0), 404, HTTP_TYPE_TEXT,
		      "404 page not found\n");
	assert_answer(ask(&guarded, "GET", "/nope", false, NULL, 0), 403, HTTP_TYPE_TEXT,
		      "forbidden: this page is only served to local callers\n");
	assert_answer(ask(&guarded, "GET", "/exact", false, NULL, 0), 200, HTTP_TYPE_TEXT,
		      "url=/exact tail= arg=guarded data=-");
}

static void test_methods(void **state)
{
	static const char *const refused[] = {"POST", "PUT", "DELETE", "OPTIONS", "get"};

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_answer(ask(&table, refused[i], "/exact", true, NULL, 0), 405, HTTP_TYPE_TEXT,
			      "method not allowed\n");
		/* Before routing: an unknown URL is 405 too. */
		assert_answer(ask(&table, refused[i], "/nope", true, NULL, 0), 405, HTTP_TYPE_TEXT,
			      "method not allowed\n");
	}
}

static void test_statuses_and_types(void **state)
{
	static const struct {
		const char *c;
		unsigned status;
		const char *type, *body;
	} cases[] = {
	    {"200", 200, HTTP_TYPE_TEXT, "handler body\n"},
	    {"503", 503, HTTP_TYPE_TEXT, "handler body\n"},
	    {"500", 500, HTTP_TYPE_TEXT, "handler body\n"},
	    {"201", 201, HTTP_TYPE_TEXT, "handler body\n"},
	    {"400", 400, HTTP_TYPE_TEXT, "bad request\n"},
	    {"403", 403, HTTP_TYPE_TEXT, "forbidden: this page is only served to local callers\n"},
	    {"404", 404, HTTP_TYPE_TEXT, "404 page not found\n"},
	    {"0", 500, HTTP_TYPE_TEXT, "handler body\n"},
	    {"-12", 500, HTTP_TYPE_TEXT, "handler body\n"},
	    {"600", 500, HTTP_TYPE_TEXT, "handler body\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_arg arg = {"c", cases[i].c};

		assert_answer(ask(&table, "GET", "/code", false, &arg, 1), cases[i].status,
			      cases[i].type, cases[i].body);
	}
	assert_answer(ask(&table, "GET", "/json", false, NULL, 0), 200, HTTP_TYPE_JSON, "{}");
}

static void test_args(void **state)
{
	const struct http_arg args[] = {
	    {"10.0.0.5", NULL}, {"output", "json"}, {"state", "running"}, {"state", "stopped"}};
	struct http_req req = {.args = args, .nargs = 4};

	(void)state;
	assert_string_equal(http_req_arg(&req, "output"), "json");
	assert_string_equal(http_req_arg(&req, "state"), "running");
	assert_null(http_req_arg(&req, "10.0.0.5"));
	assert_null(http_req_arg(&req, "Output"));
	assert_null(http_req_arg(&req, "missing"));
	/* Three keys besides output: not a lone key. */
	assert_null(http_req_lone_key(&req, "output"));
	req.nargs = 2;
	assert_string_equal(http_req_lone_key(&req, "output"), "10.0.0.5");
	assert_null(http_req_lone_key(&req, NULL));
	req.nargs = 1;
	assert_string_equal(http_req_lone_key(&req, NULL), "10.0.0.5");
	req.args = args + 1;
	assert_null(http_req_lone_key(&req, "output"));
	req.nargs = 0;
	assert_null(http_req_lone_key(&req, NULL));
	assert_null(http_req_arg(&req, "output"));
}

static bool loopback4(const char *ip)
{
	struct sockaddr_in in = {.sin_family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
	return http_is_loopback((const struct sockaddr *)&in);
}

static bool loopback6(const char *ip)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	assert_int_equal(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
	return http_is_loopback((const struct sockaddr *)&in6);
}

static void test_is_loopback(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	(void)state;
	assert_true(loopback4("127.0.0.1"));
	assert_true(loopback4("127.255.3.4"));
	assert_false(loopback4("128.0.0.1"));
	assert_false(loopback4("10.0.0.1"));
	assert_false(loopback4("0.0.0.0"));
	assert_true(loopback6("::1"));
	assert_true(loopback6("::ffff:127.0.0.1"));
	assert_false(loopback6("::ffff:10.0.0.1"));
	assert_false(loopback6("::"));
	assert_false(loopback6("2001:db8::1"));
	assert_false(loopback6("fe80::1"));
	assert_false(http_is_loopback((const struct sockaddr *)&un));
	assert_false(http_is_loopback(NULL));
}

/* One request over a real socket; returns the whole answer (headers and body). */
static char *fetch(int port, const char *request)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *out = calloc(1, 65536);
	size_t used = 0;
	ssize_t n;

	assert_non_null(out);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (used < 65535 && (n = read(fd, out + used, 65535 - used)) > 0)
		used += (size_t)n;
	close(fd);
	return out;
}

static int h_show(struct http_req *r, FILE *f)
{
	const char *ip = http_req_lone_key(r, "output");

	if (ip == NULL)
		return 400;
	fprintf(f, "vm %s output %s loopback %d\n", ip, http_req_arg(r, "output"), r->loopback);
	return 200;
}

static void test_mhd_glue(void **state)
{
	static const struct http_route show_routes[] = {
	    {"/showVM", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_TEXT, h_show, NULL},
	};
	static const struct http_routes t = {show_routes, 1, NULL};
	struct sockaddr_in in = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	char *out;

	(void)state;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, http_handler,
			     (void *)&t, MHD_OPTION_SOCK_ADDR, &in, MHD_OPTION_END);
	assert_non_null(d);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);

	out = fetch(info->port, "GET /showVM?10.0.0.5&output=json HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(out, " 200 OK\r\n"));
	assert_non_null(strstr(out, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(out, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nvm 10.0.0.5 output json loopback 1\n"));
	free(out);

	out = fetch(info->port, "GET /showVM?a&b HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(out, " 400 Bad Request\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nbad request\n"));
	free(out);

	out = fetch(info->port, "POST /showVM HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	assert_non_null(strstr(out, " 405 "));
	assert_non_null(strstr(out, "\r\n\r\nmethod not allowed\n"));
	free(out);

	out = fetch(info->port, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(out, " 404 Not Found\r\n"));
	assert_non_null(strstr(out, "\r\nCache-Control: no-store\r\n"));
	free(out);
	MHD_stop_daemon(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_and_prefix),
	    cmocka_unit_test(test_access),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_statuses_and_types),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_is_loopback),
	    cmocka_unit_test(test_mhd_glue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
