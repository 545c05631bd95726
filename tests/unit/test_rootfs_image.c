/* Unit tests for the in-memory image tree (rootfs/image.c). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rootfs/image.h"

static void test_normalize(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(rootfs_path_normalize("/a//b/./c/", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b/c");
	assert_int_equal(rootfs_path_normalize("/a/b/../../..", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(
	    rootfs_path_normalize("/usr/lib/x86_64-linux-gnu/../../lib64/x", out, sizeof(out)), 0);
	assert_string_equal(out, "/usr/lib64/x");
	assert_int_equal(rootfs_path_normalize("relative", out, sizeof(out)), -EINVAL);
	assert_int_equal(rootfs_path_normalize("/0123456789/0123456789", out, 8), -ENAMETOOLONG);
}

/* Files added through a symlinked directory land under its canonical path. */
static void test_canonical_paths(void **state)
{
	struct rootfs_image *img = rootfs_image_new();
	struct rootfs_node *n;
	char out[PATH_MAX];

	(void)state;
	assert_non_null(img);
	assert_int_equal(rootfs_image_add_symlink(img, "/lib", "usr/lib"), 0);
	assert_int_equal(rootfs_image_add_symlink(img, "/lib64", "/usr/lib64"), 0);
	assert_int_equal(
	    rootfs_image_add_file(img, "/lib/x86_64-linux-gnu/libc.so.6", "/host/libc", 0755), 0);
	n = rootfs_image_get(img, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_non_null(n);
	assert_int_equal(n->type, ROOTFS_NODE_FILE);
	assert_string_equal(n->source, "/host/libc");
	assert_int_equal(n->mode, 0755);
	assert_null(rootfs_image_get(img, "/lib/x86_64-linux-gnu/libc.so.6"));
	/* Implicit parents are directories. */
	assert_int_equal(rootfs_image_get(img, "/usr/lib")->type, ROOTFS_NODE_DIR);

	assert_int_equal(rootfs_image_add_symlink(img, "/usr/lib64/ld-linux-x86-64.so.2",
						  "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
			 0);
	assert_int_equal(rootfs_image_resolve(img, "/lib64/ld-linux-x86-64.so.2", out, sizeof(out)),
			 0);
	assert_string_equal(out,
			    "/usr/lib64/ld-linux-x86-64.so.2"); /* last component not followed */
	assert_int_equal(rootfs_image_resolve(img, "/lib/../lib64/a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "/usr/lib64/a/b"); /* ".." is lexical, then /lib64 is followed */
	rootfs_image_free(img);
}

static void test_conflicts_and_duplicates(void **state)
{
	struct rootfs_image *img = rootfs_image_new();
	static const char data[] = "hello";

	(void)state;
	assert_int_equal(rootfs_image_add_file(img, "/bin/x", "/h/x", 0755), 0);
	assert_int_equal(rootfs_image_add_file(img, "/bin/x", "/h/x", 0755), 0);
	assert_int_equal(rootfs_image_add_file(img, "/bin/x", "/h/other", 0755), -EEXIST);
	assert_int_equal(rootfs_image_add_file(img, "/bin/x", "/h/x", 0644), -EEXIST);
	assert_int_equal(rootfs_image_add_symlink(img, "/bin/x", "y"), -EEXIST);
	assert_int_equal(rootfs_image_add_dir(img, "/bin/x", -1), -EEXIST);
	/* A file is no directory. */
	assert_int_equal(rootfs_image_add_file(img, "/bin/x/y", "/h/y", -1), -ENOTDIR);

	assert_int_equal(rootfs_image_add_symlink(img, "/s", "t"), 0);
	assert_int_equal(rootfs_image_add_symlink(img, "/s", "t"), 0);
	assert_int_equal(rootfs_image_add_symlink(img, "/s", "u"), -EEXIST);
	assert_int_equal(rootfs_image_add_symlink(img, "/empty", ""), -EINVAL);

	assert_int_equal(rootfs_image_add_dir(img, "/tmp", 01777), 0);
	assert_int_equal(rootfs_image_add_dir(img, "/tmp", -1), 0);
	assert_int_equal(rootfs_image_get(img, "/tmp")->mode, 01777);
	assert_int_equal(rootfs_image_add_dir(img, "/tmp", 0755), -EEXIST);
	/* An implicit parent takes an explicit mode later. */
	assert_int_equal(rootfs_image_add_file(img, "/var/lib/x", "/h/x", -1), 0);
	assert_int_equal(rootfs_image_add_dir(img, "/var", 0700), 0);
	assert_int_equal(rootfs_image_get(img, "/var")->mode, 0700);

	assert_int_equal(rootfs_image_add_data(img, "/etc/d", data, 5, -1), 0);
	assert_int_equal(rootfs_image_add_data(img, "/etc/d", data, 5, -1), 0);
	assert_int_equal(rootfs_image_add_data(img, "/etc/d", "hellO", 5, -1), -EEXIST);
	assert_int_equal(rootfs_image_get(img, "/etc/d")->mode, 0644);

	assert_int_equal(rootfs_image_add_nod(img, "/dev/console", ROOTFS_NODE_CHR, 5, 1, -1), 0);
	assert_int_equal(rootfs_image_get(img, "/dev/console")->mode, 0600);
	assert_int_equal(rootfs_image_add_nod(img, "/dev/console", ROOTFS_NODE_BLK, 5, 1, -1),
			 -EEXIST);
	assert_int_equal(rootfs_image_add_nod(img, "/dev/bad", ROOTFS_NODE_FILE, 5, 1, -1),
			 -EINVAL);
	rootfs_image_free(img);
}

static void test_symlink_loop(void **state)
{
	struct rootfs_image *img = rootfs_image_new();
	char out[PATH_MAX];

	(void)state;
	assert_int_equal(rootfs_image_add_symlink(img, "/a", "b"), 0);
	assert_int_equal(rootfs_image_add_symlink(img, "/b", "/a"), 0);
	assert_int_equal(rootfs_image_resolve(img, "/a/x", out, sizeof(out)), -ELOOP);
	assert_int_equal(rootfs_image_add_file(img, "/a/x", "/h", -1), -ELOOP);
	rootfs_image_free(img);
}

static void test_sorted_parents_first(void **state)
{
	struct rootfs_image *img = rootfs_image_new();
	struct rootfs_node **nodes;
	size_t n;
	char prev[PATH_MAX] = "";

	(void)state;
	assert_int_equal(rootfs_image_add_file(img, "/usr/lib/z", "/h/z", -1), 0);
	assert_int_equal(rootfs_image_add_file(img, "/usr/lib-extra/a", "/h/a", -1), 0);
	assert_int_equal(rootfs_image_add_file(img, "/a", "/h/a", -1), 0);
	assert_int_equal(rootfs_image_add_symlink(img, "/usr/lib/a", "z"), 0);
	for (int i = 0; i < 300; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/many/f%03d", 299 - i);
		assert_int_equal(rootfs_image_add_file(img, p, "/h/f", -1), 0);
	}
	nodes = rootfs_image_sorted(img, &n);
	assert_non_null(nodes);
	/* /, /a, /usr, /usr/lib{,/a,/z}, /usr/lib-extra{,/a}, /many + 300 files */
	assert_int_equal(n, 9 + 300);
	assert_string_equal(nodes[0]->path, "/");
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(nodes[i]->path, '/');

		assert_true(strcmp(prev, nodes[i]->path) < 0);
		/* The parent directory was emitted earlier. */
		if (slash != nodes[i]->path) {
			char parent[PATH_MAX];
			int seen = 0;

			snprintf(parent, sizeof(parent), "%.*s", (int)(slash - nodes[i]->path),
				 nodes[i]->path);
			for (size_t j = 0; j < i; j++)
				seen |= strcmp(nodes[j]->path, parent) == 0;
			assert_true(seen);
		}
		snprintf(prev, sizeof(prev), "%s", nodes[i]->path);
	}
	rootfs_image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),
	    cmocka_unit_test(test_canonical_paths),
	    cmocka_unit_test(test_conflicts_and_duplicates),
	    cmocka_unit_test(test_symlink_loop),
	    cmocka_unit_test(test_sorted_parents_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
