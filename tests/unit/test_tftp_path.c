/* Boot file name normalisation and confinement beneath the served root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

static void norm_ok(const char *in, const char *want)
{
	char out[256];
	assert_int_equal(tftp_path_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_normalize(void **st)
{
	(void)st;
	norm_ok("pxelinux.0", "pxelinux.0");
	norm_ok("/pxelinux.0", "pxelinux.0");
	norm_ok("/tftpboot/pxelinux.0", "pxelinux.0");
	norm_ok("\\tftpboot\\pxelinux.cfg\\default", "pxelinux.cfg/default");
	norm_ok("a//b/./c/", "a/b/c");
	norm_ok("/tftpbootx", "tftpbootx"); /* only a whole component is stripped */
	norm_ok("tftpboot/x", "tftpboot/x");
	norm_ok("..a/b..", "..a/b..");
}

static void test_normalize_rejects(void **st)
{
	(void)st;
	char out[256];
	assert_int_equal(tftp_path_normalize("../etc/passwd", out, sizeof(out)), -EACCES);
	assert_int_equal(tftp_path_normalize("/tftpboot/../x", out, sizeof(out)), -EACCES);
	assert_int_equal(tftp_path_normalize("a/..", out, sizeof(out)), -EACCES);
	assert_int_equal(tftp_path_normalize("a\\..\\..\\b", out, sizeof(out)), -EACCES);
	assert_int_equal(tftp_path_normalize("a\nb", out, sizeof(out)), -EINVAL);
	assert_int_equal(tftp_path_normalize("/", out, sizeof(out)), -EISDIR);
	assert_int_equal(tftp_path_normalize("/tftpboot", out, sizeof(out)), -EISDIR);
	assert_int_equal(tftp_path_normalize("", out, sizeof(out)), -EISDIR);
	assert_int_equal(tftp_path_normalize("abcdef", out, 6), -ENAMETOOLONG);
}

struct tree {
	char dir[64];
	int rootfd;
};

static void mk(const char *dir, const char *rel, const char *content)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup_tree(void **st)
{
	struct tree *t = calloc(1, sizeof(*t));
	char p[256];
	snprintf(t->dir, sizeof(t->dir), "/tmp/ss-test-path-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(p, sizeof(p), "%s/root", t->dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/sub", t->dir);
	mkdir(p, 0755);
	mk(t->dir, "secret", "outside\n");
	mk(t->dir, "root/file", "inside\n");
	mk(t->dir, "root/sub/deep", "deep\n");
	snprintf(p, sizeof(p), "%s/root/out", t->dir);
	assert_int_equal(symlink("../secret", p), 0);
	snprintf(p, sizeof(p), "%s/root/in", t->dir);
	assert_int_equal(symlink("file", p), 0);
	snprintf(p, sizeof(p), "%s/root/outdir", t->dir);
	assert_int_equal(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/root/abs", t->dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/root/fifo", t->dir);
	assert_int_equal(mkfifo(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/root", t->dir);
	t->rootfd = open(p, O_PATH | O_DIRECTORY);
	assert_true(t->rootfd >= 0);
	*st = t;
	return 0;
}

static int teardown_tree(void **st)
{
	struct tree *t = *st;
	char cmd[128];
	close(t->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void expect_content(int fd, const char *want)
{
	char buf[64] = {0};
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	close(fd);
}

static void test_open_confined(void **st)
{
	struct tree *t = *st;
	expect_content(tftp_path_open(t->rootfd, "file"), "inside\n");
	expect_content(tftp_path_open(t->rootfd, "sub/deep"), "deep\n");
	assert_int_equal(tftp_path_open(t->rootfd, "missing"), -ENOENT);
	assert_int_equal(tftp_path_open(t->rootfd, "file/x"), -ENOENT);
	/* symlinks: out of the root, to an absolute path, inside, as a directory */
	assert_int_equal(tftp_path_open(t->rootfd, "out"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "abs"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "in"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "outdir/secret"), -EACCES);
	/* not regular files */
	assert_int_equal(tftp_path_open(t->rootfd, "sub"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "fifo"), -EACCES);
	/* raw (unnormalised) escapes are refused by the kernel check too */
	assert_int_equal(tftp_path_open(t->rootfd, "../secret"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "/etc/passwd"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, ""), -EACCES);
}

extern bool fsutil_test_no_openat2;

/* The component walk used where openat2 is missing. */
static void test_open_walk(void **st)
{
	struct tree *t = *st;
	fsutil_test_no_openat2 = true;
	expect_content(tftp_path_open(t->rootfd, "file"), "inside\n");
	expect_content(tftp_path_open(t->rootfd, "sub/deep"), "deep\n");
	assert_int_equal(tftp_path_open(t->rootfd, "missing"), -ENOENT);
	assert_int_equal(tftp_path_open(t->rootfd, "file/x"), -ENOENT);
	assert_int_equal(tftp_path_open(t->rootfd, "out"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "in"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "outdir/secret"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "sub"), -EACCES);
	assert_int_equal(tftp_path_open(t->rootfd, "fifo"), -EACCES);
	fsutil_test_no_openat2 = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_normalize_rejects),
	    cmocka_unit_test_setup_teardown(test_open_confined, setup_tree, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_open_walk, setup_tree, teardown_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
