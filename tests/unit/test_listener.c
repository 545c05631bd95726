/* Unit tests for lib/listener's test of a request from the reserve
 * (listener_reserved_request): only GET or HEAD of a reserved path, query ignored,
 * nothing else (other methods, longer or shorter paths, a path without a version). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "listener.h"

static const char *const paths[] = {"/healthz", "/metrics", NULL};

static void test_reserved(void **state)
{
	(void)state;
	assert_true(listener_reserved_request("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", paths));
	assert_true(listener_reserved_request("HEAD /metrics HTTP/1.0\r\n\r\n", paths));
	assert_true(listener_reserved_request("GET /healthz?verbose=1 HTTP/1.1\r\n\r\n", paths));
}

static void test_not_reserved(void **state)
{
	(void)state;
	assert_false(listener_reserved_request("POST /healthz HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("GET / HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("GET /healthzz HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("GET /health HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("GET /healthz/x HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("GET /healthz\r\n\r\n", paths));
	assert_false(listener_reserved_request("get /healthz HTTP/1.1\r\n\r\n", paths));
	assert_false(listener_reserved_request("CONNECT /healthz HTTP/1.0\r\n\r\n", paths));
	assert_false(listener_reserved_request("", paths));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reserved),
	    cmocka_unit_test(test_not_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
