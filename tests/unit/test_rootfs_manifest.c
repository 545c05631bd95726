/* Unit tests for the image manifest parser (rootfs/manifest.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rootfs/manifest.h"

static const struct rootfs_var vars[] = {
    {"TOP", "/src"},
    {"BIN", "/src/build/bin"},
};

static int parse(struct rootfs_manifest *m, const char *text, struct rootfs_manifest_error *err)
{
	return rootfs_manifest_parse(m, text, strlen(text), vars, 2, err);
}

static void test_all_directives(void **state)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};
	const char *text = "# comment\n"
			   "\n"
			   "dir /proc mode=0555\n"
			   "dir /tmp mode=1777   # sticky\n"
			   "file /bin/busybox\n"
			   "file /init ${TOP}/installer/init mode=0755\n"
			   "tree /usr/share/qemu\n"
			   "tree /data /srv/data\n"
			   "symlink /bin usr/bin\n"
			   "nod /dev/console c 5 1 mode=0600\n"
			   "nod /dev/sda b 8 0\n"
			   "module virtio-pci ext4\n"
			   "optional file /usr/sbin/hypervisor ${BIN}/hypervisor\n"
			   "optional module mlx5_core\n";

	(void)state;
	rootfs_manifest_init(&m);
	assert_int_equal(parse(&m, text, &err), 0);
	assert_int_equal(m.n_entries, 13);

	assert_int_equal(m.entries[0].kind, ROOTFS_DIR);
	assert_string_equal(m.entries[0].path, "/proc");
	assert_int_equal(m.entries[0].mode, 0555);
	assert_int_equal(m.entries[0].line, 3);
	assert_int_equal(m.entries[1].mode, 01777);

	assert_int_equal(m.entries[2].kind, ROOTFS_FILE);
	assert_string_equal(m.entries[2].path, "/bin/busybox");
	assert_null(m.entries[2].source);
	assert_int_equal(m.entries[2].mode, -1);

	assert_string_equal(m.entries[3].path, "/init");
	assert_string_equal(m.entries[3].source, "/src/installer/init");
	assert_int_equal(m.entries[3].mode, 0755);

	assert_int_equal(m.entries[4].kind, ROOTFS_TREE);
	assert_null(m.entries[4].source);
	assert_string_equal(m.entries[5].source, "/srv/data");

	assert_int_equal(m.entries[6].kind, ROOTFS_SYMLINK);
	assert_string_equal(m.entries[6].path, "/bin");
	assert_string_equal(m.entries[6].source, "usr/bin");

	assert_int_equal(m.entries[7].kind, ROOTFS_NOD);
	assert_int_equal(m.entries[7].nod_type, 'c');
	assert_int_equal(m.entries[7].major, 5);
	assert_int_equal(m.entries[7].minor, 1);
	assert_int_equal(m.entries[7].mode, 0600);
	assert_int_equal(m.entries[8].nod_type, 'b');
	assert_int_equal(m.entries[8].mode, -1);

	assert_int_equal(m.entries[9].kind, ROOTFS_MODULE);
	assert_string_equal(m.entries[9].path, "virtio_pci");
	assert_string_equal(m.entries[10].path, "ext4");
	assert_false(m.entries[10].optional);

	assert_true(m.entries[11].optional);
	assert_string_equal(m.entries[11].source, "/src/build/bin/hypervisor");
	assert_int_equal(m.entries[12].kind, ROOTFS_MODULE);
	assert_true(m.entries[12].optional);
	rootfs_manifest_free(&m);
}

static void test_module_optional_entry(void **state)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};

	(void)state;
	rootfs_manifest_init(&m);
	assert_int_equal(parse(&m, "optional module mlx5_core mlx4-en\n", &err), 0);
	assert_int_equal(m.n_entries, 2);
	assert_true(m.entries[0].optional);
	assert_true(m.entries[1].optional);
	assert_string_equal(m.entries[1].path, "mlx4_en");
	rootfs_manifest_free(&m);
}

static void test_options(void **state)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};

	(void)state;
	rootfs_manifest_init(&m);
	assert_int_equal(m.compress, ROOTFS_COMPRESS_ZSTD);
	assert_int_equal(m.level, -1);
	assert_int_equal(m.strip_modules, ROOTFS_STRIP_NO);
	assert_int_equal(parse(&m, "option compress=gzip level=9 strip-modules=yes\n", &err), 0);
	assert_int_equal(m.compress, ROOTFS_COMPRESS_GZIP);
	assert_int_equal(m.level, 9);
	assert_int_equal(m.strip_modules, ROOTFS_STRIP_DEBUG);
	assert_int_equal(m.n_entries, 0);
	assert_int_equal(parse(&m, "option level=12\n", &err), -EINVAL);
	assert_string_equal(err.msg, "gzip level 12 out of range 1-9");
	rootfs_manifest_free(&m);

	rootfs_manifest_init(&m);
	assert_int_equal(parse(&m, "option compress=zstd level=19\n", &err), 0);
	assert_int_equal(m.level, 19);
	rootfs_manifest_free(&m);

	rootfs_manifest_init(&m);
	assert_int_equal(parse(&m, "option compress=xz level=9 strip-modules=unneeded\n", &err), 0);
	assert_int_equal(m.compress, ROOTFS_COMPRESS_XZ);
	assert_string_equal(rootfs_compress_name(m.compress), "xz");
	assert_int_equal(m.level, 9);
	assert_int_equal(m.strip_modules, ROOTFS_STRIP_UNNEEDED);
	assert_int_equal(parse(&m, "option strip-modules=debug\n", &err), 0);
	assert_int_equal(m.strip_modules, ROOTFS_STRIP_DEBUG);
	assert_int_equal(parse(&m, "option strip-modules=no\n", &err), 0);
	assert_int_equal(m.strip_modules, ROOTFS_STRIP_NO);
	assert_int_equal(parse(&m, "option strip-modules=all\n", &err), -EINVAL);
	assert_false(m.strip_binaries);
	assert_int_equal(parse(&m, "option strip-binaries=yes\n", &err), 0);
	assert_true(m.strip_binaries);
	assert_int_equal(parse(&m, "option strip-binaries=no\n", &err), 0);
	assert_false(m.strip_binaries);
	assert_int_equal(parse(&m, "option strip-binaries=maybe\n", &err), -EINVAL);
	assert_string_equal(err.msg, "strip-binaries is yes or no");
	assert_int_equal(parse(&m, "option level=10\n", &err), -EINVAL);
	assert_string_equal(err.msg, "xz level 10 out of range 1-9");
	assert_int_equal(parse(&m, "option compress=lz4\n", &err), -EINVAL);
	assert_string_equal(err.msg, "unknown compressor 'lz4' (zstd, gzip, xz)");
	rootfs_manifest_free(&m);
}

static void test_appends_across_calls(void **state)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};

	(void)state;
	rootfs_manifest_init(&m);
	assert_int_equal(parse(&m, "dir /a\n", &err), 0);
	assert_int_equal(parse(&m, "dir /b\ndir /c", &err), 0);
	assert_int_equal(m.n_entries, 3);
	assert_string_equal(m.entries[2].path, "/c");
	assert_int_equal(m.entries[2].line, 2);
	rootfs_manifest_free(&m);
}

/* Each bad line must fail with -EINVAL on its own line number and a message. */
static void expect_error(const char *text, unsigned line, const char *msg_part)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};

	rootfs_manifest_init(&m);
	assert_int_equal(rootfs_manifest_parse(&m, text, strlen(text), vars, 2, &err), -EINVAL);
	assert_int_equal(err.line, line);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, msg_part);
	rootfs_manifest_free(&m);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("dir relative\n", 1, "not an absolute normal path");
	expect_error("dir /ok\ndir /a/../b\n", 2, "not an absolute normal path");
	expect_error("dir /a/\n", 1, "not an absolute normal path");
	expect_error("dir /a//b\n", 1, "not an absolute normal path");
	expect_error("dir /a mode=0888\n", 1, "bad mode");
	expect_error("dir /a mode=17777\n", 1, "bad mode");
	expect_error("file /a mode=0644 /src\n", 1, "mode= must be the last field");
	expect_error("file /a relative/src\n", 1, "not absolute");
	expect_error("file /a /b /c\n", 1, "usage: file");
	expect_error("frobnicate /a\n", 1, "unknown directive");
	expect_error("nod /dev/x q 1 2\n", 1, "usage: nod");
	expect_error("nod /dev/x c 1\n", 1, "usage: nod");
	expect_error("nod /dev/x c 99999 1\n", 1, "bad device number");
	expect_error("symlink /a\n", 1, "usage: symlink");
	expect_error("module\n", 1, "module needs");
	expect_error("module ext4 bad/name\n", 1, "bad module name");
	expect_error("optional dir /a\n", 1, "only file, tree and module");
	expect_error("optional\n", 1, "optional needs");
	expect_error("file ${NOPE}/x\n", 1, "unknown variable ${NOPE}");
	expect_error("file ${TOP\n", 1, "unterminated");
	expect_error("option compress=lz4\n", 1, "unknown compressor");
	expect_error("option level=0\n", 1, "bad compression level");
	expect_error("option level=23\n", 1, "bad compression level");
	expect_error("option frob=1\n", 1, "unknown option");
	expect_error("option\n", 1, "option needs");
	expect_error("tree /a mode=0755\n", 1, "tree takes no mode");
	expect_error("file /\n", 1, "/ can only be a dir");
}

static void test_line_limits(void **state)
{
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};
	char text[5000];
	static const char with_nul[] = "dir /a\0b\n";

	(void)state;
	memset(text, 'a', sizeof(text));
	memcpy(text, "dir /", 5);
	rootfs_manifest_init(&m);
	assert_int_equal(rootfs_manifest_parse(&m, text, sizeof(text), vars, 2, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "line longer"));
	assert_int_equal(rootfs_manifest_parse(&m, with_nul, sizeof(with_nul) - 1, vars, 2, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));
	rootfs_manifest_free(&m);
}

static void test_expansion_limit(void **state)
{
	static const struct rootfs_var big[] = {{"X", "0123456789012345678901234567890123456789"}};
	struct rootfs_manifest m;
	struct rootfs_manifest_error err = {0};
	char text[4000];
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(text, sizeof(text), "dir /");
	while (o + 5 < sizeof(text) - 2)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "${X}");
	text[o++] = '\n';
	rootfs_manifest_init(&m);
	assert_int_equal(rootfs_manifest_parse(&m, text, o, big, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too long after expansion"));
	rootfs_manifest_free(&m);
}

static void test_path_is_normal(void **state)
{
	(void)state;
	assert_true(rootfs_path_is_normal("/"));
	assert_true(rootfs_path_is_normal("/a"));
	assert_true(rootfs_path_is_normal("/a/b.c/..d"));
	assert_false(rootfs_path_is_normal(""));
	assert_false(rootfs_path_is_normal("a"));
	assert_false(rootfs_path_is_normal("/a/"));
	assert_false(rootfs_path_is_normal("//a"));
	assert_false(rootfs_path_is_normal("/./a"));
	assert_false(rootfs_path_is_normal("/a/.."));
	assert_false(rootfs_path_is_normal("/a\tb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_directives),  cmocka_unit_test(test_module_optional_entry),
	    cmocka_unit_test(test_options),	    cmocka_unit_test(test_appends_across_calls),
	    cmocka_unit_test(test_errors),	    cmocka_unit_test(test_line_limits),
	    cmocka_unit_test(test_expansion_limit), cmocka_unit_test(test_path_is_normal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
