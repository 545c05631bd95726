/* Unit tests for lib/image/scan and lib/image/unpack: a real tree (files, an empty
 * file, hard links, symlinks, nested and read-only directories, odd modes, a FIFO, and
 * as root owners and a device) scanned, its objects put into a store, unpacked and
 * compared path by path; corrupted objects, an existing dest, sockets and hostile
 * names or symlinks refused without writing outside dest; IMAGE_UNPACK_LINK. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsutil.h"
#include "image/scan.h"
#include "image/unpack.h"
#include "json.h"

/* Named like tests/lib/tap.sh's SS_ID ("ss<digits>") so leftovers.sh notices it. */
static char tmpdir[64];
static bool as_root;

static int setup(void **state)
{
	(void)state;
	as_root = geteuid() == 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss%d_scanXXXXXX", (int)getpid() % 100000);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwX '%s' 2>/dev/null; rm -rf '%s'", tmpdir, tmpdir);
	return system(cmd);
}

static char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *tpath(const char *fmt, ...)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8], rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, rel);
	return p;
}

static void put(const char *path, const void *buf, size_t len, mode_t mode, long sec, long nsec)
{
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

	assert_int_equal(fsutil_write_atomic(path, buf, len, mode), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The tree under tmpdir/src. */
static void make_tree(void)
{
	static char big[300000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + (i >> 10));
	assert_int_equal(mkdir(tpath("src"), 0755), 0);
	put(tpath("src/big"), big, sizeof(big), 0644, 1700000000, 123456789);
	put(tpath("src/dup1"), "same\n", 5, 0644, 1600000000, 1);
	put(tpath("src/dup2"), "same\n", 5, 0600, 1600000001, 2);
	put(tpath("src/empty"), "", 0, 0640, 1500000000, 0);
	put(tpath("src/exec"), "#!/bin/sh\n", 10, 0755, 1500000001, 0);
	put(tpath("src/suid"), "suid\n", 5, 04755, 1500000002, 0);
	put(tpath("src/B"), "B\n", 2, 0644, 1, 0);
	put(tpath("src/Z"), "Z\n", 2, 0644, 2, 0);
	put(tpath("src/a"), "a\n", 2, 0444, 3, 0);
	assert_int_equal(mkdir(tpath("src/sub"), 0750), 0);
	assert_int_equal(mkdir(tpath("src/sub/deeper"), 0700), 0);
	assert_int_equal(mkdir(tpath("src/sub/deeper/deepest"), 0711), 0);
	put(tpath("src/hl1"), "linked content\n", 15, 0664, 1400000000, 5);
	assert_int_equal(link(tpath("src/hl1"), tpath("src/sub/hl2")), 0);
	assert_int_equal(link(tpath("src/hl1"), tpath("src/sub/deeper/hl3")), 0);
	put(tpath("src/sub/deeper/deepest/leaf"), "leaf\n", 5, 0644, 1300000000, 0);
	assert_int_equal(symlink("big", tpath("src/link-rel")), 0);
	assert_int_equal(symlink("/etc/passwd", tpath("src/link-abs")), 0);
	assert_int_equal(symlink("../../../../outside", tpath("src/sub/link-out")), 0);
	assert_int_equal(symlink("nonexistent", tpath("src/dangling")), 0);
	assert_int_equal(mkfifo(tpath("src/fifo"), 0640), 0);
	assert_int_equal(mkdir(tpath("src/ro"), 0755), 0);
	put(tpath("src/ro/inside"), "inside\n", 7, 0644, 1200000000, 0);
	assert_int_equal(chmod(tpath("src/ro"), 0555), 0);
	assert_int_equal(mkdir(tpath("src/emptydir"), 01777), 0);
	assert_int_equal(chmod(tpath("src/emptydir"), 01777), 0);
	assert_int_equal(chmod(tpath("src/suid"), 04755), 0);
	if (as_root) {
		assert_int_equal(chown(tpath("src/dup2"), 1234, 5678), 0);
		assert_int_equal(lchown(tpath("src/link-rel"), 4321, 8765), 0);
		assert_int_equal(chown(tpath("src/sub"), 100, 200), 0);
		assert_int_equal(mknod(tpath("src/devnull"), S_IFCHR | 0666, makedev(1, 3)), 0);
	}
}

static void assert_same_content(const char *a, const char *b)
{
	char *x, *y;
	size_t nx, ny;

	assert_int_equal(fsutil_read_file(a, 1 << 20, &x, &nx), 0);
	assert_int_equal(fsutil_read_file(b, 1 << 20, &y, &ny), 0);
	assert_int_equal(nx, ny);
	assert_memory_equal(x, y, nx);
	free(x);
	free(y);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* Every path of a also in b with the same type, mode, owner, size, link count,
 * content, target and (except directories and symlinks) mtime; same entry count. */
static void compare_trees(const char *a, const char *b, bool devices)
{
	DIR *d = opendir(a);
	struct dirent *de;

	assert_non_null(d);
	assert_int_equal(count_entries(a), count_entries(b) + (!devices && as_root));
	while ((de = readdir(d))) {
		char pa[1024], pb[1024];
		struct stat sa, sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		assert_int_equal(lstat(pa, &sa), 0);
		if (S_ISCHR(sa.st_mode) && !devices)
			continue;
		if (lstat(pb, &sb) < 0)
			fail_msg("%s missing", pb);
		if (sa.st_mode != sb.st_mode)
			fail_msg("%s: mode %o, want %o", pb, sb.st_mode, sa.st_mode);
		assert_int_equal(sa.st_uid, sb.st_uid);
		assert_int_equal(sa.st_gid, sb.st_gid);
		assert_int_equal(sa.st_nlink, sb.st_nlink);
		if (S_ISLNK(sa.st_mode)) {
			char ta[256], tb[256];
			ssize_t na = readlink(pa, ta, sizeof(ta)),
				nb = readlink(pb, tb, sizeof(tb));

			assert_int_equal(na, nb);
			assert_memory_equal(ta, tb, (size_t)na);
			continue;
		}
		if (S_ISDIR(sa.st_mode)) {
			compare_trees(pa, pb, devices);
			continue;
		}
		assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
		assert_int_equal(sa.st_mtim.tv_nsec, sb.st_mtim.tv_nsec);
		assert_int_equal(sa.st_rdev, sb.st_rdev);
		if (S_ISREG(sa.st_mode)) {
			assert_int_equal(sa.st_size, sb.st_size);
			assert_same_content(pa, pb);
		}
	}
	closedir(d);
}

struct prog {
	uint64_t last, total;
	int calls;
};

static void on_progress(uint64_t done, uint64_t total, void *arg)
{
	struct prog *p = arg;

	assert_true(done >= p->last);
	assert_true(done <= total);
	p->last = done;
	p->total = total;
	p->calls++;
}

static uint64_t expect_number;

static int check_order(const char *path, const struct image_inode *ino, bool first, void *arg)
{
	(void)path;
	(void)arg;
	if (first)
		assert_int_equal(ino->number, ++expect_number);
	return 0;
}

static const struct image_inode *entry(const struct image_fs *fs, const struct image_inode *dir,
				       const char *name)
{
	for (size_t i = 0; i < dir->n_entries; i++)
		if (!strcmp(dir->entries[i].name, name))
			return image_fs_inode(fs, dir->entries[i].inode);
	fail_msg("no entry %s", name);
	return NULL;
}

static struct image_scan scanned;

static void fill_store(const char *name, struct objstore **st)
{
	char err[512];

	assert_int_equal(objstore_open(tpath("%s", name), st, err, sizeof(err)), 0);
	for (size_t i = 0; i < scanned.n_objects; i++) {
		struct image_hash h;
		bool added;

		assert_int_equal(
		    objstore_add_file(*st, scanned.objects[i].path, &h, &added, err, sizeof(err)),
		    0);
		assert_true(image_hash_equal(&h, &scanned.objects[i].hash));
	}
}

static void test_scan(void **state)
{
	const struct image_fs *fs = &scanned.fs;
	struct prog p = {0};
	const struct image_inode *root = &fs->root;
	struct image_fs back;
	char err[512];
	json_t *j;

	(void)state;
	make_tree();
	assert_int_equal(image_scan_dir(tpath("src"), &scanned, on_progress, &p, err, sizeof(err)),
			 0);
	/* Sorted bytewise: upper case first. */
	assert_string_equal(root->entries[0].name, "B");
	assert_string_equal(root->entries[1].name, "Z");
	assert_string_equal(root->entries[2].name, "a");
	for (size_t i = 1; i < root->n_entries; i++)
		assert_true(strcmp(root->entries[i - 1].name, root->entries[i].name) < 0);
	/* Numbers in walk order from 1. */
	expect_number = 0;
	assert_int_equal(image_fs_walk(fs, check_order, NULL), 0);
	assert_int_equal(expect_number, fs->n_inodes);
	/* Hard links share one inode, copies do not; empty files have no object. */
	{
		const struct image_inode *sub = entry(fs, root, "sub");
		const struct image_inode *deeper = entry(fs, sub, "deeper");

		assert_ptr_equal(entry(fs, root, "hl1"), entry(fs, sub, "hl2"));
		assert_ptr_equal(entry(fs, root, "hl1"), entry(fs, deeper, "hl3"));
		assert_ptr_not_equal(entry(fs, root, "dup1"), entry(fs, root, "dup2"));
		assert_true(image_hash_equal(&entry(fs, root, "dup1")->hash,
					     &entry(fs, root, "dup2")->hash));
		assert_string_equal(entry(fs, sub, "link-out")->symlink, "../../../../outside");
		assert_int_equal(entry(fs, root, "fifo")->kind, IMAGE_INODE_SPECIAL);
		assert_int_equal(entry(fs, root, "ro")->mode, S_IFDIR | 0555);
		assert_int_equal(entry(fs, root, "suid")->mode, S_IFREG | 04755);
		assert_int_equal(entry(fs, root, "big")->mtime_nsec, 123456789);
		assert_int_equal(entry(fs, root, "empty")->size, 0);
	}
	/* big dup exec suid B Z a hl leaf inside: 10 distinct contents. */
	assert_int_equal(scanned.n_objects, 10);
	assert_int_equal(fs->total_data_bytes, 300000 + 5 + 5 + 10 + 5 + 2 + 2 + 2 + 15 + 5 + 7);
	assert_int_equal(p.last, fs->total_data_bytes);
	assert_int_equal(p.total, fs->total_data_bytes);
	assert_true(p.calls >= 2);
	assert_int_equal(fs->directory_count, 6);
	/* What the scanner makes, the decoder accepts. */
	j = image_fs_to_json(fs);
	assert_int_equal(image_fs_from_json(j, &back, err, sizeof(err)), 0);
	json_decref(j);
	assert_int_equal(back.n_inodes, fs->n_inodes);
	image_fs_free(&back);
}

static void test_unpack_copy(void **state)
{
	struct objstore *st;
	struct prog p = {0};
	char err[512];

	(void)state;
	fill_store("store", &st);
	assert_int_equal(
	    image_unpack(&scanned.fs, st, tpath("dest"), 0, on_progress, &p, err, sizeof(err)), 0);
	compare_trees(tpath("src"), tpath("dest"), as_root);
	assert_int_equal(p.last, scanned.fs.total_data_bytes);
	assert_int_equal(
	    image_unpack(&scanned.fs, st, tpath("dest"), 0, NULL, NULL, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "dest exists"));
	objstore_close(st);
}

static void test_unpack_link(void **state)
{
	struct objstore *st;
	struct stat sa, sb, sc;
	char err[512], obj[600];

	(void)state;
	fill_store("store2", &st);
	assert_int_equal(image_unpack(&scanned.fs, st, tpath("dest-link"), IMAGE_UNPACK_LINK, NULL,
				      NULL, err, sizeof(err)),
			 0);
	assert_int_equal(
	    objstore_path(st, &entry(&scanned.fs, &scanned.fs.root, "big")->hash, obj, sizeof(obj)),
	    0);
	assert_int_equal(stat(obj, &sa), 0);
	assert_int_equal(stat(tpath("dest-link/big"), &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino); /* linked from the store */
	assert_int_equal(stat(tpath("dest-link/dup1"), &sb), 0);
	assert_int_equal(stat(tpath("dest-link/dup2"), &sc), 0);
	assert_int_not_equal(sb.st_ino, sc.st_ino); /* two inodes stay two */
	objstore_close(st);
	/* The scratch store dropped, the tree is the original. */
	assert_int_equal(system(strcat(strcpy(obj, "rm -rf "), tpath("store2"))), 0);
	compare_trees(tpath("src"), tpath("dest-link"), as_root);
}

static void corrupt(struct objstore *st, const char *name)
{
	char obj[600], c;
	int fd;

	assert_int_equal(
	    objstore_path(st, &entry(&scanned.fs, &scanned.fs.root, name)->hash, obj, sizeof(obj)),
	    0);
	assert_int_equal(chmod(obj, 0644), 0);
	fd = open(obj, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 1000), 1);
	c ^= 0x20; /* one flipped bit */
	assert_int_equal(pwrite(fd, &c, 1, 1000), 1);
	close(fd);
}

static void assert_absent(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), -1);
}

static void test_unpack_corrupted(void **state)
{
	struct objstore *st;
	char err[512], tmp[600];

	(void)state;
	fill_store("store3", &st);
	corrupt(st, "big");
	for (unsigned flags = 0; flags <= IMAGE_UNPACK_LINK; flags += IMAGE_UNPACK_LINK) {
		err[0] = '\0';
		assert_int_equal(image_unpack(&scanned.fs, st, tpath("dest-bad"), flags, NULL, NULL,
					      err, sizeof(err)),
				 -EBADMSG);
		assert_non_null(strstr(err, "unpack big: object "));
		assert_non_null(strstr(err, "hash mismatch"));
		assert_absent(tpath("dest-bad"));
		snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", tpath("dest-bad"), (long)getpid());
		assert_absent(tmp);
	}
	assert_int_equal(objstore_verify(st, &entry(&scanned.fs, &scanned.fs.root, "big")->hash),
			 -EBADMSG);
	objstore_close(st);
}

static void test_scan_refuses_socket(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct image_scan sc;
	char err[512];
	int s;

	(void)state;
	assert_int_equal(mkdir(tpath("socktree"), 0755), 0);
	assert_int_equal(mkdir(tpath("socktree/d"), 0755), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tpath("socktree/d/sock"));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(image_scan_dir(tpath("socktree"), &sc, NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	close(s);
	assert_non_null(strstr(err, "socktree/d/sock: socket refused"));
	assert_int_equal(sc.fs.n_inodes, 0);
	assert_int_equal(image_scan_dir(tpath("missing"), &sc, NULL, NULL, err, sizeof(err)),
			 -ENOENT);
	image_scan_free(&sc);
	image_scan_free(NULL);
}

/* A hand-made image (no decoder in front) with hostile names and symlinks. */
static void test_unpack_hostile(void **state)
{
	struct image_inode inodes[3] = {0};
	struct image_dirent sub_entries[1] = {{(char *)"f", 3}};
	struct image_dirent root_entries[2];
	struct image_fs fs = {0};
	struct objstore *st;
	char err[512], target[300];

	(void)state;
	assert_int_equal(objstore_open(tpath("store4"), &st, err, sizeof(err)), 0);
	assert_int_equal(mkdir(tpath("outside"), 0755), 0);
	snprintf(target, sizeof(target), "%s", tpath("outside"));
	inodes[0] =
	    (struct image_inode){.number = 1, .kind = IMAGE_INODE_SYMLINK, .symlink = target};
	inodes[1] = (struct image_inode){.number = 2,
					 .kind = IMAGE_INODE_DIRECTORY,
					 .mode = S_IFDIR | 0755,
					 .n_entries = 1,
					 .entries = sub_entries};
	inodes[2] =
	    (struct image_inode){.number = 3, .kind = IMAGE_INODE_REGULAR, .mode = S_IFREG | 0644};
	fs.inodes = inodes;
	fs.n_inodes = 3;
	fs.root = (struct image_inode){
	    .kind = IMAGE_INODE_DIRECTORY, .mode = S_IFDIR | 0755, .entries = root_entries};

	/* "x" a symlink to outside, then a directory "x" holding "f". */
	root_entries[0] = (struct image_dirent){(char *)"x", 1};
	root_entries[1] = (struct image_dirent){(char *)"x", 2};
	fs.root.n_entries = 2;
	assert_true(image_unpack(&fs, st, tpath("h1"), 0, NULL, NULL, err, sizeof(err)) < 0);
	/* "x" a symlink to outside, then a file "x". */
	root_entries[1] = (struct image_dirent){(char *)"x", 3};
	assert_true(image_unpack(&fs, st, tpath("h2"), 0, NULL, NULL, err, sizeof(err)) < 0);
	/* ".." and "a/b" as names. */
	fs.root.n_entries = 1;
	root_entries[0] = (struct image_dirent){(char *)"..", 3};
	assert_int_equal(image_unpack(&fs, st, tpath("h3"), 0, NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "name refused"));
	root_entries[0] = (struct image_dirent){(char *)"../outside/f", 3};
	assert_int_equal(image_unpack(&fs, st, tpath("h4"), 0, NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	/* Nothing reached outside, no dest and no temp tree stayed. */
	assert_int_equal(count_entries(tpath("outside")), 0);
	assert_absent(tpath("f"));
	for (int i = 1; i <= 4; i++)
		assert_absent(tpath("h%d", i));
	/* The symlink alone is fine and stays a symlink. */
	root_entries[0] = (struct image_dirent){(char *)"x", 1};
	assert_int_equal(image_unpack(&fs, st, tpath("h5"), 0, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(readlink(tpath("h5/x"), err, sizeof(err)), strlen(target));
	objstore_close(st);
}

/* A device with two links: as root both names, one inode; otherwise both skipped. */
static void test_unpack_device_links(void **state)
{
	struct image_inode dev = {.number = 1,
				  .kind = IMAGE_INODE_SPECIAL,
				  .mode = S_IFCHR | 0600,
				  .rdev = makedev(1, 3),
				  .mtime_sec = 1000};
	struct image_dirent ents[2] = {{(char *)"d1", 1}, {(char *)"d2", 1}};
	struct image_fs fs = {.n_inodes = 1, .inodes = &dev};
	struct objstore *st;
	struct stat sb;
	char err[512];

	(void)state;
	fs.root = (struct image_inode){
	    .kind = IMAGE_INODE_DIRECTORY, .mode = S_IFDIR | 0700, .n_entries = 2, .entries = ents};
	assert_int_equal(objstore_open(tpath("store5"), &st, err, sizeof(err)), 0);
	assert_int_equal(image_unpack(&fs, st, tpath("devs"), 0, NULL, NULL, err, sizeof(err)), 0);
	if (as_root) {
		assert_int_equal(lstat(tpath("devs/d2"), &sb), 0);
		assert_true(S_ISCHR(sb.st_mode));
		assert_int_equal(sb.st_nlink, 2);
		assert_int_equal(sb.st_mtim.tv_sec, 1000);
	} else {
		assert_int_equal(count_entries(tpath("devs")), 0);
	}
	objstore_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_unpack_copy),
	    cmocka_unit_test(test_unpack_link),
	    cmocka_unit_test(test_unpack_corrupted),
	    cmocka_unit_test(test_scan_refuses_socket),
	    cmocka_unit_test(test_unpack_hostile),
	    cmocka_unit_test(test_unpack_device_links),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	image_scan_free(&scanned);
	return rc;
}
