/* The object cache over a real object store in a temporary directory, with a fetcher
 * that serves objects from memory and counts what it is asked for: hits and misses,
 * eviction to the budget (least recently used first, pinned objects kept), a corrupted
 * object dropped and fetched again, the access order kept across a reopen (state file)
 * and rebuilt without it, and the disabled cache's scratch stores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/hypervisor/vmm/objcache.h"

#define NOBJ 6
#define OBJ_SIZE 300000

static char *data[NOBJ];
static struct image_object objs[NOBJ];
static size_t fetched; /* objects the fetcher was asked for */

struct mem_reader {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *arg, void *buf, size_t len)
{
	struct mem_reader *r = arg;

	if (len > r->left)
		len = r->left;
	memcpy(buf, r->p, len);
	r->p += len;
	r->left -= len;
	return (ssize_t)len;
}

static int fake_fetch(void *arg, const struct image_hash *hashes, size_t n, struct objstore *st,
		      char *err, size_t errsz)
{
	(void)arg;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < NOBJ; k++) {
			struct mem_reader r = {data[k], OBJ_SIZE};

			if (!image_hash_equal(&hashes[i], &objs[k].hash))
				continue;
			if (objstore_add(st, mem_read, &r, OBJ_SIZE, &objs[k].hash, NULL, NULL, err,
					 errsz) < 0)
				return -EIO;
			fetched++;
		}
	return 0;
}

static char dir[64];

/* Brings the first object asked for, then fails as a dropped connection would. */
static int failing_fetch(void *arg, const struct image_hash *hashes, size_t n, struct objstore *st,
			 char *err, size_t errsz)
{
	(void)n;
	fake_fetch(arg, hashes, 1, st, err, errsz);
	snprintf(err, errsz, "connection reset");
	return -ECONNRESET;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_objcache.XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (size_t k = 0; k < NOBJ; k++) {
		data[k] = malloc(OBJ_SIZE);
		memset(data[k], (int)('a' + k), OBJ_SIZE);
		image_hash_buf(data[k], OBJ_SIZE, &objs[k].hash);
		objs[k].size = OBJ_SIZE;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	for (size_t k = 0; k < NOBJ; k++)
		free(data[k]);
	return 0;
}

static void acquire(struct objcache *oc, size_t first, size_t n)
{
	struct objcache_lease *l;
	char err[256] = "";

	assert_int_equal(
	    objcache_acquire(oc, objs + first, n, fake_fetch, NULL, &l, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t size;

		assert_int_equal(
		    objstore_stat(objcache_lease_store(l), &objs[first + i].hash, &size), 0);
		assert_int_equal(size, OBJ_SIZE);
	}
	objcache_release(oc, l);
}

static bool cached(struct objcache *oc, size_t k)
{
	struct objstore *st;
	uint64_t size;
	char err[256];
	bool yes;

	(void)oc;
	assert_int_equal(objstore_open(dir, &st, err, sizeof(err)), 0);
	yes = objstore_stat(st, &objs[k].hash, &size) == 0;
	objstore_close(st);
	return yes;
}

static void test_cache(void **state)
{
	struct objcache *oc;
	struct objcache_stats s;
	char err[256] = "", path[4096];
	struct objstore *st;
	int fd;

	(void)state;
	/* Room for four objects. */
	assert_int_equal(
	    objcache_open(dir, 4 * OBJ_SIZE + 1000 + (1u << 20), &oc, err, sizeof(err)), 0);
	fetched = 0;
	acquire(oc, 0, 3); /* 0 1 2 */
	assert_int_equal(fetched, 3);
	objcache_stats(oc, &s);
	assert_true(s.enabled);
	assert_int_equal(s.misses, 3);
	assert_int_equal(s.hits, 0);
	assert_int_equal(s.objects, 3);
	acquire(oc, 0, 2); /* hits; order now 2 0 1 */
	assert_int_equal(fetched, 3);
	objcache_stats(oc, &s);
	assert_int_equal(s.hits, 2);
	objcache_close(oc);

	/* Reopen with room for exactly four: the order survived in the state file, so the
	 * least recently used (2) goes first, then 0. */
	assert_int_equal(objcache_open(dir, 4 * OBJ_SIZE, &oc, err, sizeof(err)), 0);
	acquire(oc, 3, 2); /* 2 0 1 3 4: five, one too many */
	objcache_stats(oc, &s);
	assert_int_equal(s.objects, 4);
	assert_int_equal(s.evictions, 1);
	assert_false(cached(oc, 2));
	assert_true(cached(oc, 0));

	/* A corrupted object is dropped and fetched again. */
	assert_int_equal(objstore_open(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(objstore_path(st, &objs[1].hash, path, sizeof(path)), 0);
	objstore_close(st);
	chmod(path, 0644);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 100), 1);
	close(fd);
	fetched = 0;
	acquire(oc, 1, 1);
	assert_int_equal(fetched, 1);
	objcache_stats(oc, &s);
	assert_int_equal(s.corrupt, 1);
	objcache_close(oc);

	/* Without the state file, the order is rebuilt from the files (oldest first). */
	snprintf(path, sizeof(path), "%s/%s", dir, OBJCACHE_STATE_FILE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(objcache_open(dir, 4 * OBJ_SIZE, &oc, err, sizeof(err)), 0);
	objcache_stats(oc, &s);
	assert_int_equal(s.objects, 4);
	assert_int_equal(s.bytes, 4 * OBJ_SIZE);
	assert_int_equal(objcache_reserve(oc), 0); /* full: nothing more to keep free */
	objcache_close(oc);
	assert_int_equal(objcache_open(dir, 8 * OBJ_SIZE, &oc, err, sizeof(err)), 0);
	/* 4 objects of room left, × 1.25 (spec §5). */
	assert_int_equal(objcache_reserve(oc), 4 * OBJ_SIZE + OBJ_SIZE);
	objcache_close(oc);
	assert_int_equal(access(path, F_OK), 0); /* written again at close */
}

static void test_disabled(void **state)
{
	struct objcache *oc;
	struct objcache_lease *l;
	struct objcache_stats s;
	char err[256] = "", scratch[4096];

	(void)state;
	assert_int_equal(objcache_open(dir, 1000, &oc, err, sizeof(err)), 0);
	fetched = 0;
	assert_int_equal(objcache_acquire(oc, objs, 2, fake_fetch, NULL, &l, err, sizeof(err)), 0);
	assert_int_equal(fetched, 2);
	snprintf(scratch, sizeof(scratch), "%s", objstore_dir(objcache_lease_store(l)));
	assert_non_null(strstr(scratch, "/scratch."));
	assert_int_equal(access(scratch, F_OK), 0);
	objcache_release(oc, l);
	assert_int_equal(access(scratch, F_OK), -1); /* removed after use */
	objcache_stats(oc, &s);
	assert_false(s.enabled);
	assert_int_equal(s.misses, 2);
	assert_int_equal(objcache_reserve(oc), 0);
	objcache_close(oc);
}

static void test_failed_fetch(void **state)
{
	struct objcache *oc;
	struct objcache_lease *l = NULL;
	struct objcache_stats s;
	char sub[128], err[256] = "";

	(void)state;
	snprintf(sub, sizeof(sub), "%s/failing", dir);
	assert_int_equal(objcache_open(sub, 8 * OBJ_SIZE, &oc, err, sizeof(err)), 0);
	assert_int_equal(objcache_acquire(oc, objs, 3, failing_fetch, NULL, &l, err, sizeof(err)),
			 -ECONNRESET);
	assert_null(l);
	assert_string_equal(err, "connection reset");
	/* The object that did arrive is counted, so the budget sees it; the others are
	 * not in the bookkeeping. */
	objcache_stats(oc, &s);
	assert_int_equal(s.objects, 1);
	assert_int_equal(s.bytes, OBJ_SIZE);
	/* The next acquisition fetches only the two that are still missing. */
	fetched = 0;
	acquire(oc, 0, 3);
	assert_int_equal(fetched, 2);
	objcache_close(oc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_disabled),
	    cmocka_unit_test(test_failed_fetch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
