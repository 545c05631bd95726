/* Unit tests for lib/fsutil. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss%d_fsutilXXXXXX", (int)getpid() % 100000);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void test_atomic_write_read(void **state)
{
	char path[128], *buf;
	size_t len;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.json", tmpdir);
	assert_int_equal(fsutil_write_atomic(path, "old\n", 4, 0600), 0);
	assert_int_equal(fsutil_write_atomic(path, "new content\n", 12, 0644), 0);
	assert_int_equal(fsutil_read_file(path, 100, &buf, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(buf, "new content\n");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fsutil_read_file(path, 5, &buf, &len), -EFBIG);
	assert_null(buf);
}

static void test_path_join(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(fsutil_path_join("/root", "a//./b/", &out), 0);
	assert_string_equal(out, "/root/a/b");
	free(out);
	assert_int_equal(fsutil_path_join("/root", "a/../b", &out), -EINVAL);
	assert_int_equal(fsutil_path_join("/root", "/etc", &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_read),
		cmocka_unit_test(test_path_join),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
