/* An image's filter as the original's lib/filter applies it: lines anchored at the start
 * of the path only, "!" inverts, empty lines ignored, no filter refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/hypervisor/vmm/imgfilter.h"

static struct imgfilter load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	struct imgfilter f;

	assert_non_null(j);
	assert_int_equal(imgfilter_from_json(j, &f, NULL), 0);
	json_decref(j);
	return f;
}

static void test_anchored_at_start(void **state)
{
	struct imgfilter f =
	    load("{\"FilterLines\":[\"/var/lib/keep\",\"/etc/ssh/ssh_host_.*\",\"/home$\",\"\"]}");

	(void)state;
	assert_int_equal(f.n, 3);
	assert_true(imgfilter_match(&f, "/var/lib/keep"));
	assert_true(imgfilter_match(&f, "/var/lib/keep/state"));
	assert_true(imgfilter_match(&f, "/var/lib/keeper")); /* a prefix, as Go's "^" + line */
	assert_false(imgfilter_match(&f, "/x/var/lib/keep"));
	assert_true(imgfilter_match(&f, "/etc/ssh/ssh_host_rsa_key"));
	assert_false(imgfilter_match(&f, "/etc/ssh/sshd_config"));
	assert_true(imgfilter_match(&f, "/home"));
	assert_false(imgfilter_match(&f, "/home/u"));
	imgfilter_free(&f);
}

static void test_invert(void **state)
{
	struct imgfilter f = load("{\"FilterLines\":[\"!\",\"/etc\"]}");

	(void)state;
	assert_false(imgfilter_match(&f, "/etc/hostname"));
	assert_true(imgfilter_match(&f, "/usr/bin/sh"));
	imgfilter_free(&f);
}

static void test_empty_and_bad(void **state)
{
	json_t *j = json_loads("{\"FilterLines\":null}", 0, NULL);
	struct imgfilter f;
	size_t skipped;

	(void)state;
	assert_int_equal(imgfilter_from_json(j, &f, NULL), 0);
	assert_false(imgfilter_match(&f, "/etc/hostname")); /* an empty filter keeps nothing */
	imgfilter_free(&f);
	json_decref(j);
	j = json_loads("{\"FilterLines\":[\"(\",\"/tmp\"]}", 0, NULL);
	assert_int_equal(imgfilter_from_json(j, &f, &skipped), 0);
	assert_int_equal(skipped, 1);
	assert_true(imgfilter_match(&f, "/tmp/x"));
	imgfilter_free(&f);
	json_decref(j);
	assert_int_equal(imgfilter_from_json(NULL, &f, NULL), -EINVAL); /* no filter */
	j = json_null();
	assert_int_equal(imgfilter_from_json(j, &f, NULL), -EINVAL);
	json_decref(j);
	imgfilter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anchored_at_start),
	    cmocka_unit_test(test_invert),
	    cmocka_unit_test(test_empty_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
