/* Unit tests for lib/log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void test_ring(void **state)
{
	struct log_config cfg = {.ring_lines = 4, .debug_level = 1};
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	for (int i = 0; i < 6; i++)
		log_info("line %d", i);
	log_debug(2, "hidden");
	log_debug(1, "shown");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 4);
	assert_non_null(strstr(lines[0], " line 3"));
	assert_non_null(strstr(lines[3], " shown"));
	assert_int_equal(lines[0][4], '/');
	assert_int_equal(lines[0][19], ' ');
	log_lines_free(lines, n);
	log_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
