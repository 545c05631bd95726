/* Unit tests for lib/image/objstore: layout, hashing while writing, refusals that keep
 * nothing (hash mismatch, failing reader, early end, a full tmpfs), verification of
 * corrupted objects, read-only objects, .tmp/ emptied on open, objstore_each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image/objstore.h"

/* Named like tests/lib/tap.sh's SS_ID ("ss<digits>") so leftovers.sh notices it. */
static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss%d_objstXXXXXX", (int)getpid() % 100000);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/tinyfs", tmpdir);
	umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static char *tpath(const char *name)
{
	static char buf[8][160];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

/* A reader over a buffer that can fail after a given offset. */
struct src {
	const uint8_t *buf;
	size_t len, pos;
	size_t fail_at; /* returns fail_rc once pos reaches it (0 = never) */
	int fail_rc;
};

static ssize_t src_read(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	size_t n;

	if (s->fail_at && s->pos >= s->fail_at)
		return s->fail_rc;
	n = s->len - s->pos < len ? s->len - s->pos : len;
	if (n > 1000)
		n = n / 2 + 1; /* short reads */
	memcpy(buf, s->buf + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
	return p;
}

static int count_fn(const struct image_hash *h, uint64_t size, void *arg)
{
	(void)h;
	(void)size;
	++*(int *)arg;
	return 0;
}

static int count_objects(struct objstore *st)
{
	int n = 0;

	assert_int_equal(objstore_each(st, count_fn, &n), 0);
	return n;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct objstore *open_store(const char *name)
{
	struct objstore *st;
	char err[256];

	assert_int_equal(objstore_open(tpath(name), &st, err, sizeof(err)), 0);
	return st;
}

static void test_add_layout_and_reads(void **state)
{
	struct objstore *st = open_store("s1");
	size_t len = 300000;
	uint8_t *data = pattern(len, 1), back[512];
	struct src s = {.buf = data, .len = len};
	struct image_hash want, got;
	char err[512], path[512], hex[IMAGE_HASH_HEXLEN + 1], expect_path[600];
	struct stat sb;
	uint64_t size;
	bool added;
	int fd;

	(void)state;
	image_hash_buf(data, len, &want);
	assert_int_equal(objstore_add(st, src_read, &s, len, NULL, &got, &added, err, sizeof(err)),
			 0);
	assert_true(added);
	assert_true(image_hash_equal(&want, &got));
	assert_int_equal(s.pos, len);

	image_hash_hex(&want, hex);
	snprintf(expect_path, sizeof(expect_path), "%s/%.2s/%s", tpath("s1"), hex, hex + 2);
	assert_int_equal(objstore_path(st, &want, path, sizeof(path)), 0);
	assert_string_equal(path, expect_path);
	assert_int_equal(objstore_path(st, &want, path, 20), -ENAMETOOLONG);
	assert_int_equal(stat(expect_path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0444);
	assert_int_equal(sb.st_size, len);

	assert_int_equal(objstore_stat(st, &want, &size), 0);
	assert_int_equal(size, len);
	fd = objstore_open_object(st, &want, &size);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 1000), sizeof(back));
	assert_memory_equal(back, data + 1000, sizeof(back));
	close(fd);
	assert_int_equal(objstore_verify(st, &want), 0);

	/* Again, with the expected hash: not rewritten, the stream still consumed. */
	s.pos = 0;
	assert_int_equal(objstore_add(st, src_read, &s, len, &want, &got, &added, err, sizeof(err)),
			 0);
	assert_false(added);
	assert_int_equal(s.pos, len);
	/* And without: hashed, found present. */
	s.pos = 0;
	assert_int_equal(objstore_add(st, src_read, &s, len, NULL, &got, &added, err, sizeof(err)),
			 0);
	assert_false(added);
	assert_int_equal(count_objects(st), 1);
	assert_int_equal(count_dir(tpath("s1/.tmp")), 0);
	assert_string_equal(objstore_dir(st), tpath("s1"));

	assert_int_equal(objstore_delete(st, &want), 0);
	assert_int_equal(objstore_delete(st, &want), -ENOENT);
	assert_int_equal(objstore_stat(st, &want, &size), -ENOENT);
	assert_int_equal(objstore_open_object(st, &want, NULL), -ENOENT);
	assert_int_equal(objstore_verify(st, &want), -ENOENT);
	free(data);
	objstore_close(st);
}

static void test_empty_object(void **state)
{
	struct objstore *st = open_store("s2");
	struct src s = {.buf = (const uint8_t *)"", .len = 0};
	struct image_hash want, got;
	char err[256];
	uint64_t size = 7;
	bool added;

	(void)state;
	image_hash_buf("", 0, &want);
	assert_int_equal(objstore_add(st, src_read, &s, 0, &want, &got, &added, err, sizeof(err)),
			 0);
	assert_true(added);
	assert_int_equal(objstore_stat(st, &want, &size), 0);
	assert_int_equal(size, 0);
	objstore_close(st);
}

static void test_mismatch_keeps_nothing(void **state)
{
	struct objstore *st = open_store("s3");
	size_t len = 5000;
	uint8_t *data = pattern(len, 2);
	struct src s = {.buf = data, .len = len};
	struct image_hash wrong, got;
	char err[512];
	bool added = true;

	(void)state;
	image_hash_buf("other", 5, &wrong);
	assert_int_equal(
	    objstore_add(st, src_read, &s, len, &wrong, &got, &added, err, sizeof(err)), -EBADMSG);
	assert_false(added);
	assert_non_null(strstr(err, "hash mismatch: expected "));
	assert_non_null(strstr(err, ", got "));
	assert_int_equal(s.pos, len); /* consumed all the same */
	assert_int_equal(count_objects(st), 0);
	assert_int_equal(count_dir(tpath("s3/.tmp")), 0);
	free(data);
	objstore_close(st);
}

static void test_reader_failures_keep_nothing(void **state)
{
	struct objstore *st = open_store("s4");
	size_t len = 200000;
	uint8_t *data = pattern(len, 3);
	struct src s = {.buf = data, .len = len, .fail_at = 70000, .fail_rc = -ENOSPC};
	char err[512];
	bool added = true;

	(void)state;
	assert_int_equal(objstore_add(st, src_read, &s, len, NULL, NULL, &added, err, sizeof(err)),
			 -ENOSPC);
	assert_false(added);
	assert_non_null(strstr(err, "no space left on device"));
	/* An early end of the stream. */
	s = (struct src){.buf = data, .len = 1000};
	assert_int_equal(objstore_add(st, src_read, &s, len, NULL, NULL, &added, err, sizeof(err)),
			 -EIO);
	assert_non_null(strstr(err, "ended early"));
	assert_int_equal(count_objects(st), 0);
	assert_int_equal(count_dir(tpath("s4/.tmp")), 0);
	free(data);
	objstore_close(st);
}

/* A genuinely full file system: -ENOSPC naming the store, nothing kept, and the
 * stream consumed so that the next object of a stream can follow. */
static void test_disk_full(void **state)
{
	const char *mnt = tpath("tinyfs");
	struct objstore *st;
	size_t len = 1 << 20;
	uint8_t *data = pattern(len, 4);
	struct src s = {.buf = data, .len = len};
	char err[512], expect[256];
	bool added = true;
	int rc;

	(void)state;
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=128k") < 0) {
		rmdir(mnt);
		free(data);
		skip(); /* needs CAP_SYS_ADMIN; the failing reader covers the clean-up */
	}
	assert_int_equal(objstore_open(mnt, &st, err, sizeof(err)), 0);
	rc = objstore_add(st, src_read, &s, len, NULL, NULL, &added, err, sizeof(err));
	assert_false(added);
	assert_int_equal(s.pos, len);
	snprintf(expect, sizeof(expect), "object store %s: no space left on device", mnt);
	assert_string_equal(err, expect);
	assert_int_equal(count_objects(st), 0);
	assert_int_equal(count_dir(tpath("tinyfs/.tmp")), 0);
	/* Space is free again: a small object goes in. */
	s = (struct src){.buf = data, .len = 1000};
	assert_int_equal(objstore_add(st, src_read, &s, 1000, NULL, NULL, &added, err, sizeof(err)),
			 0);
	assert_true(added);
	objstore_close(st);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
	free(data);
	assert_int_equal(rc, -ENOSPC);
}

static void test_corrupted_object(void **state)
{
	struct objstore *st = open_store("s5");
	struct image_hash h;
	char err[256], path[512];
	bool added;
	int fd;

	(void)state;
	assert_int_equal(fsutil_write_atomic(tpath("in"), "hello world", 11, 0644), 0);
	assert_int_equal(objstore_add_file(st, tpath("in"), &h, &added, err, sizeof(err)), 0);
	assert_true(added);
	/* The store has its own copy. */
	assert_int_equal(fsutil_write_atomic(tpath("in"), "changed", 7, 0644), 0);
	assert_int_equal(objstore_verify(st, &h), 0);
	assert_int_equal(objstore_path(st, &h, path, sizeof(path)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "J", 1, 0), 1);
	close(fd);
	assert_int_equal(objstore_verify(st, &h), -EBADMSG);
	/* Damaged so that its size is wrong: adding the object again repairs it. */
	assert_int_equal(truncate(path, 5), 0);
	assert_int_equal(fsutil_write_atomic(tpath("in"), "hello world", 11, 0644), 0);
	assert_int_equal(objstore_add_file(st, tpath("in"), &h, &added, err, sizeof(err)), 0);
	assert_true(added);
	assert_int_equal(objstore_verify(st, &h), 0);
	assert_int_equal(objstore_add_file(st, tpath("missing"), &h, &added, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(objstore_add_file(st, tmpdir, &h, &added, err, sizeof(err)), -EINVAL);
	objstore_close(st);
}

static void test_open_empties_tmp_and_each_skips(void **state)
{
	struct objstore *st = open_store("s6");
	struct image_hash h;
	char err[256], hex[IMAGE_HASH_HEXLEN + 1], p[600];
	bool added;

	(void)state;
	assert_int_equal(fsutil_write_atomic(tpath("in6"), "x", 1, 0644), 0);
	assert_int_equal(objstore_add_file(st, tpath("in6"), &h, &added, err, sizeof(err)), 0);
	objstore_close(st);
	assert_int_equal(fsutil_write_atomic(tpath("s6/.tmp/123-4"), "partial", 7, 0644), 0);
	/* Names that are not objects. */
	image_hash_hex(&h, hex);
	assert_int_equal(fsutil_write_atomic(tpath("s6/toplevel"), "x", 1, 0644), 0);
	assert_int_equal(mkdir(tpath("s6/zz"), 0755), 0);
	snprintf(p, sizeof(p), "%s/zz/%s", tpath("s6"), hex + 2);
	assert_int_equal(fsutil_write_atomic(p, "x", 1, 0644), 0);
	snprintf(p, sizeof(p), "%s/%.2s/short", tpath("s6"), hex);
	assert_int_equal(fsutil_write_atomic(p, "x", 1, 0644), 0);
	snprintf(p, sizeof(p), "%s/%.2s/%.125sA", tpath("s6"), hex, hex + 2);
	assert_int_equal(fsutil_write_atomic(p, "x", 1, 0644), 0);
	snprintf(p, sizeof(p), "%s/%.2s/%.125sa~", tpath("s6"), hex, hex + 2);
	assert_int_equal(fsutil_write_atomic(p, "x", 1, 0644), 0);

	st = open_store("s6");
	assert_int_equal(count_dir(tpath("s6/.tmp")), 0);
	assert_int_equal(count_objects(st), 1);
	objstore_close(st);
	objstore_close(NULL);
}

static int stop_fn(const struct image_hash *h, uint64_t size, void *arg)
{
	(void)h;
	(void)size;
	++*(int *)arg;
	return 42;
}

static void test_each_stops(void **state)
{
	struct objstore *st = open_store("s7");
	char err[256], b[2];
	bool added;
	int n = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct src s = {.buf = (const uint8_t *)b, .len = 2};

		b[0] = 'a';
		b[1] = (char)('0' + i);
		assert_int_equal(
		    objstore_add(st, src_read, &s, 2, NULL, NULL, &added, err, sizeof(err)), 0);
	}
	assert_int_equal(count_objects(st), 5);
	assert_int_equal(objstore_each(st, stop_fn, &n), 42);
	assert_int_equal(n, 1);
	objstore_close(st);
}

static void test_open_failure(void **state)
{
	struct objstore *st;
	char err[256];

	(void)state;
	assert_int_equal(fsutil_write_atomic(tpath("afile"), "x", 1, 0644), 0);
	assert_true(objstore_open(tpath("afile/sub"), &st, err, sizeof(err)) < 0);
	assert_null(st);
	assert_non_null(strstr(err, "object store "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_layout_and_reads),
	    cmocka_unit_test(test_empty_object),
	    cmocka_unit_test(test_mismatch_keeps_nothing),
	    cmocka_unit_test(test_reader_failures_keep_nothing),
	    cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_corrupted_object),
	    cmocka_unit_test(test_open_empties_tmp_and_each_skips),
	    cmocka_unit_test(test_each_stops),
	    cmocka_unit_test(test_open_failure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
