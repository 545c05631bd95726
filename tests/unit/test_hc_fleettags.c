/* Unit tests for hyper-control's change-tags merge (tools/hyper-control/fleettags.c,
 * spec/hyper-control.md §3): a machine without tags gets the given ones as they are;
 * otherwise given keys override, new keys are added, empty values drop keys (also keys
 * the machine does not have), and nothing else changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/hyper-control/fleettags.h"

#define TAG(k, v)                                                                                  \
	{                                                                                          \
		.key = (char *)(k), .value = (char *)(v)                                           \
	}

/* "k=v,k2=v2" of t in its order. */
static const char *show(const struct hvapi_tags *t)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%s", i ? "," : "",
					t->v[i].key, t->v[i].value);
	return buf;
}

static const char *merge(struct hvapi_tag *cur, size_t ncur, struct hvapi_tag *given, size_t ngiven)
{
	struct hvapi_tags c = {.n = ncur, .v = cur}, g = {.n = ngiven, .v = given}, out;
	const char *s;

	assert_int_equal(fleet_tags_merge(&c, &g, &out), 0);
	s = show(&out);
	fleet_tags_free(&out);
	assert_int_equal(out.n, 0);
	return s;
}

static void test_no_current_tags(void **state)
{
	struct hvapi_tag given[] = {TAG("Color", "blue"), TAG("Old", "")};

	(void)state;
	/* the original sends the given tags as they are, empty values included */
	assert_string_equal(merge(NULL, 0, given, 2), "Color=blue,Old=");
}

static void test_override_add_drop(void **state)
{
	struct hvapi_tag cur[] = {TAG("Rack", "r1"), TAG("Type", "std"), TAG("Owner", "ops")};
	struct hvapi_tag given[] = {TAG("Type", "big"), TAG("Owner", ""), TAG("Color", "blue"),
				    TAG("Gone", "")};

	(void)state;
	assert_string_equal(merge(cur, 3, given, 4), "Rack=r1,Type=big,Color=blue");
}

static void test_nothing_given_changes_nothing(void **state)
{
	struct hvapi_tag cur[] = {TAG("A", "1"), TAG("B", "2")};

	(void)state;
	assert_string_equal(merge(cur, 2, NULL, 0), "A=1,B=2");
}

static void test_empty_current_value_kept_unless_given(void **state)
{
	struct hvapi_tag cur[] = {TAG("A", "1"), TAG("B", NULL)};
	struct hvapi_tag given[] = {TAG("A", "2")};

	(void)state;
	/* a current key without a value (NULL or "") is not carried over */
	assert_string_equal(merge(cur, 2, given, 1), "A=2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_current_tags),
	    cmocka_unit_test(test_override_add_drop),
	    cmocka_unit_test(test_nothing_given_changes_nothing),
	    cmocka_unit_test(test_empty_current_value_kept_unless_given),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
