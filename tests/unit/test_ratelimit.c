/* Unit tests for lib/ratelimit: the burst, the refill rate, the suppressed count, long
 * pauses and clocks going backwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

static unsigned allowed(struct ratelimit *r, unsigned n, int64_t now)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		k += ratelimit_allow(r, now);
	return k;
}

/* The TFTP attack of issue 17: 2,000 refusals in one instant log 20 lines, and 1,980
 * are counted for one "suppressed" line. */
static void test_burst_then_count(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 10, 20, 1000);
	assert_int_equal(allowed(&r, 2000, 1000), 20);
	assert_int_equal(ratelimit_take_suppressed(&r), 1980);
	assert_int_equal(ratelimit_take_suppressed(&r), 0);
}

static void test_refill_rate(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 10, 20, 0);
	assert_int_equal(allowed(&r, 20, 0), 20);
	assert_int_equal(allowed(&r, 5, 50), 0);      /* half a token */
	assert_int_equal(allowed(&r, 5, 100), 1);     /* one token per 100 ms */
	assert_int_equal(allowed(&r, 100, 1100), 10); /* 10 per second */
	/* Over 10 s of a steady flood: 10 per second, whatever the flood. */
	unsigned k = 0;
	for (int64_t t = 1101; t <= 11100; t++)
		k += allowed(&r, 3, t);
	assert_int_equal(k, 100);
	/* A long pause fills the bucket to the burst, not beyond. */
	assert_int_equal(allowed(&r, 100, 1000000), 20);
	assert_int_equal(allowed(&r, 100, INT64_MAX / 2), 20); /* no overflow */
}

static void test_clock_backwards_and_edges(void **state)
{
	struct ratelimit r;

	(void)state;
	ratelimit_init(&r, 1000, 2, 5000);
	assert_int_equal(allowed(&r, 3, 5000), 2);
	assert_int_equal(allowed(&r, 3, 4000), 0); /* earlier: nothing refilled */
	assert_int_equal(allowed(&r, 3, 5001), 1);
	ratelimit_init(&r, 0, 0, 0); /* burst 0 is 1, rate 0 never refills */
	assert_int_equal(allowed(&r, 5, 0), 1);
	assert_int_equal(allowed(&r, 5, 1000000), 0);
	assert_int_equal(ratelimit_take_suppressed(&r), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_count),
	    cmocka_unit_test(test_refill_rate),
	    cmocka_unit_test(test_clock_backwards_and_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
