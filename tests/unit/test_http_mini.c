/* Unit tests for lib/http_mini: request-head parsing (method, percent-decoding, query
 * arguments, malformed heads) and one request served over a socketpair (routes, HEAD,
 * 404/405/400/431, a head that never completes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_mini.h"

static void test_parse_ok(void **state)
{
	char buf[] = "GET /a%20b/c?x=1&y=%41+B&flag&&z= HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_mini_req r;

	(void)state;
	assert_int_equal(http_mini_parse(buf, &r), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/a b/c");
	assert_int_equal(r.nargs, 4);
	assert_string_equal(r.args[0].key, "x");
	assert_string_equal(r.args[0].value, "1");
	assert_string_equal(r.args[1].key, "y");
	assert_string_equal(r.args[1].value, "A B");
	assert_string_equal(r.args[2].key, "flag");
	assert_null(r.args[2].value);
	assert_string_equal(r.args[3].key, "z");
	assert_string_equal(r.args[3].value, "");
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "GET /\r\n\r\n",		   /* no version */
	    "GET / HTTP/2\r\n\r\n",	   /* not HTTP/1.x */
	    "get / HTTP/1.1\r\n\r\n",	   /* method not upper case */
	    "GET x HTTP/1.1\r\n\r\n",	   /* not an absolute path */
	    "GET /%zz HTTP/1.1\r\n\r\n",   /* bad escape */
	    "GET /a%00b HTTP/1.1\r\n\r\n", /* decoded NUL */
	    "GET / HTTP/1.1 x\r\n\r\n",	   /* extra word */
	    " / HTTP/1.1\r\n\r\n",	   /* empty method */
	    "GET /?a=%0 HTTP/1.1\r\n\r\n", /* short escape in the query */
	};
	struct http_mini_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "%s", bad[i]);
		assert_int_equal(http_mini_parse(buf, &r), 400);
	}
}

static void test_parse_too_many_args(void **state)
{
	char buf[1024] = "GET /?";
	struct http_mini_req r;

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(buf, "a=1&");
	strcat(buf, " HTTP/1.1\r\n\r\n");
	assert_int_equal(http_mini_parse(buf, &r), 414);
}

static int h_hello(struct http_req *r, FILE *f)
{
	const char *who = http_req_arg(r, "who");

	fprintf(f, "hello %s loopback=%d", who ? who : "-", r->loopback);
	return 200;
}

static const struct http_route routes[] = {
    {"/hello", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, h_hello, NULL},
    {"/local", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_TEXT, h_hello, NULL},
};
static const struct http_routes table = {routes, 2, NULL};

/* Sends req (may be partial, then the writer closes) to a served socketpair; returns
 * the whole answer (static buffer). */
static const char *exchange(const char *req, size_t len, const struct sockaddr *peer, int timeout_s)
{
	static char out[65536];
	int sv[2];
	size_t have = 0;
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], req, len), (ssize_t)len);
	http_mini_serve(sv[1], peer, NULL, &table, timeout_s, -1);
	close(sv[1]);
	while ((n = read(sv[0], out + have, sizeof(out) - 1 - have)) > 0)
		have += (size_t)n;
	out[have] = '\0';
	close(sv[0]);
	return out;
}

static void test_serve(void **state)
{
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct sockaddr_in far = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
	const struct sockaddr *plo = (const struct sockaddr *)&lo;
	const struct sockaddr *pfar = (const struct sockaddr *)&far;
	const char *a;
	char big[HTTP_MINI_HEAD_MAX + 64];
	time_t t0;

	(void)state;
	a = exchange("GET /hello?who=me HTTP/1.1\r\n\r\n", 30, pfar, 2);
	assert_non_null(strstr(a, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(a, "Content-Length: 19\r\n"));
	assert_non_null(strstr(a, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(a, "\r\n\r\nhello me loopback=0"));

	a = exchange("HEAD /hello HTTP/1.0\n\n", 22, plo, 2);
	assert_non_null(strstr(a, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(a, "Content-Length: 18\r\n"));
	assert_int_equal(strlen(strstr(a, "\r\n\r\n")), 4); /* no body */

	a = exchange("GET /local HTTP/1.1\r\n\r\n", 23, pfar, 2);
	assert_non_null(strstr(a, "HTTP/1.1 403 Forbidden\r\n"));
	a = exchange("GET /local HTTP/1.1\r\n\r\n", 23, plo, 2);
	assert_non_null(strstr(a, "hello - loopback=1"));
	a = exchange("GET /nope HTTP/1.1\r\n\r\n", 22, plo, 2);
	assert_non_null(strstr(a, "HTTP/1.1 404 Not Found\r\n"));
	a = exchange("POST /hello HTTP/1.1\r\n\r\n", 24, plo, 2);
	assert_non_null(strstr(a, "HTTP/1.1 405 Method Not Allowed\r\n"));
	a = exchange("GARBAGE\r\n\r\n", 11, plo, 2);
	assert_non_null(strstr(a, "HTTP/1.1 400 Bad Request\r\n"));

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	a = exchange(big, sizeof(big), plo, 2);
	assert_non_null(strstr(a, "HTTP/1.1 431 "));

	/* A head that never ends: dropped without an answer once the timeout passes. */
	t0 = time(NULL);
	a = exchange("GET /hello HTTP/1.1\r\n", 21, plo, 1);
	assert_string_equal(a, "");
	assert_true(time(NULL) - t0 >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_too_many_args),
	    cmocka_unit_test(test_serve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
