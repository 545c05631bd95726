/* Unit tests for lib/fsutil: crash-safe atomic writes (a child is SIGKILLed at every
 * step), full-disk failures, lock exclusion between processes, confined paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

/* Named like tests/lib/tap.sh's SS_ID ("ss<digits>") so leftovers.sh notices it. */
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
	/* A failed disk-full case may have left its tmpfs mounted. */
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

static void assert_file_is(const char *path, const char *content, size_t len)
{
	char *buf;
	size_t got;

	assert_int_equal(fsutil_read_file(path, len + 16, &buf, &got), 0);
	assert_int_equal(got, len);
	assert_memory_equal(buf, content, len);
	free(buf);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_atomic_write_basic(void **state)
{
	const char *path = tpath("a.json");
	char tmp[208];
	struct stat st;
	mode_t old = umask(077);

	(void)state;
	assert_int_equal(fsutil_write_atomic(path, "old\n", 4, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* The mode is exact even with a restrictive umask, and replaces the old one. */
	assert_int_equal(fsutil_write_atomic(path, "new content\n", 12, 0644), 0);
	umask(old);
	assert_file_is(path, "new content\n", 12);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(tmp, sizeof(tmp), "%s~", path);
	assert_false(exists(tmp));
	/* Empty content is a valid file. */
	assert_int_equal(fsutil_write_atomic(path, "", 0, 0644), 0);
	assert_file_is(path, "", 0);
	/* A missing directory fails cleanly. */
	assert_int_equal(fsutil_write_atomic(tpath("nodir/x"), "x", 1, 0644), -ENOENT);
	assert_int_equal(fsutil_write_atomic("", "x", 1, 0644), -EINVAL);
}

static enum fsutil_step kill_at;

static void kill_hook(enum fsutil_step step)
{
	if (step == kill_at)
		raise(SIGKILL);
}

static char *pattern(size_t len, char c)
{
	char *b = malloc(len);

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (char)(c + (char)(i % 7));
	return b;
}

/* A writer killed at any step leaves either the complete old or the complete new
 * file, and the next successful write leaves no temp behind. */
static void test_atomic_write_killed_at_each_step(void **state)
{
	const size_t old_len = 100000, new_len = 150001;
	char *old = pattern(old_len, 'a'), *new = pattern(new_len, 'A'), *buf;
	const char *path = tpath("state.json");
	char tmp[208];

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s~", path);
	for (int step = FSUTIL_STEP_OPENED; step <= FSUTIL_STEP_DONE; step++) {
		int status;
		size_t len;
		pid_t pid;

		assert_int_equal(fsutil_write_atomic(path, old, old_len, 0644), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			kill_at = (enum fsutil_step)step;
			fsutil_test_hook = kill_hook;
			fsutil_write_atomic(path, new, new_len, 0644);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, &len), 0);
		if (step < FSUTIL_STEP_RENAMED) {
			assert_int_equal(len, old_len);
			assert_memory_equal(buf, old, old_len);
			/* The temp is still there (killed before rename), never torn target. */
			assert_true(exists(tmp));
		} else {
			assert_int_equal(len, new_len);
			assert_memory_equal(buf, new, new_len);
			assert_false(exists(tmp));
		}
		free(buf);
		/* A later successful write replaces everything and leaves no temp. */
		assert_int_equal(fsutil_write_atomic(path, "later", 5, 0644), 0);
		assert_file_is(path, "later", 5);
		assert_false(exists(tmp));
	}
	free(old);
	free(new);
}

/* RLIMIT_FSIZE makes the temp write fail (EFBIG): old file intact, no temp. */
static void test_atomic_write_file_size_limit(void **state)
{
	const char *path = tpath("limited.json");
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(fsutil_write_atomic(path, "old", 3, 0644), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {4096, 4096};
		char *big = pattern(100000, 'x');
		int rc;
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(10);
		rc = fsutil_write_atomic(path, big, 100000, 0644);
		free(big);
		_exit(rc == -EFBIG ? 0 : 11);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_file_is(path, "old", 3);
	assert_false(exists(tpath("limited.json~")));
}

/* A genuinely full file system (a 64 KiB tmpfs): ENOSPC, old file intact, no temp. */
static void test_atomic_write_disk_full(void **state)
{
	const char *mnt = tpath("tinyfs");
	char path[200], tmp[208], *big;
	int rc;

	(void)state;
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		rmdir(mnt);
		skip(); /* needs CAP_SYS_ADMIN; the RLIMIT_FSIZE case covers the logic */
	}
	snprintf(path, sizeof(path), "%s/state.json", mnt);
	snprintf(tmp, sizeof(tmp), "%s~", path);
	assert_int_equal(fsutil_write_atomic(path, "old", 3, 0644), 0);
	big = pattern(1 << 20, 'q');
	rc = fsutil_write_atomic(path, big, 1 << 20, 0644);
	free(big);
	assert_file_is(path, "old", 3);
	assert_false(exists(tmp));
	/* The space is free again: a normal write works. */
	assert_int_equal(fsutil_write_atomic(path, "new", 3, 0644), 0);
	assert_file_is(path, "new", 3);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
	assert_int_equal(rc, -ENOSPC);
}

static void test_read_file(void **state)
{
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(fsutil_write_atomic(tpath("r"), "0123456789", 10, 0644), 0);
	assert_int_equal(fsutil_read_file(tpath("r"), 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_int_equal(buf[10], '\0');
	free(buf);
	assert_int_equal(fsutil_read_file(tpath("r"), 9, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(fsutil_read_file(tpath("missing"), 9, &buf, NULL), -ENOENT);
	/* /proc files report size 0; the limit still applies to what is read. */
	assert_int_equal(fsutil_read_file("/proc/self/status", 1 << 20, &buf, &len), 0);
	assert_true(len > 100);
	assert_non_null(strstr(buf, "Pid:"));
	free(buf);
	assert_int_equal(fsutil_read_file("/proc/self/status", 50, &buf, &len), -EFBIG);
	assert_null(buf);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Interrupting signals (no SA_RESTART) on both ends force EINTR and short transfers. */
static void test_write_read_all_interrupted(void **state)
{
	const size_t len = 1 << 20;
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {{0, 2000}, {0, 2000}};
	char *data = pattern(len, '0'), *got = malloc(len);
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_non_null(got);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;
		close(fds[0]);
		setitimer(ITIMER_REAL, &it, NULL);
		rc = fsutil_write_all(fds[1], data, len);
		/* Children free what they hold: valgrind checks them for leaks too. _Exit, not
		 * _exit: cppcheck knows that it does not return. */
		free(data);
		free(got);
		_Exit(rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	setitimer(ITIMER_REAL, &it, NULL);
	n = fsutil_read_all(fds[0], got, len);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	/* A signal still in flight must not interrupt later tests' system calls. */
	signal(SIGALRM, SIG_IGN);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, data, len);
	/* At end of file read_all returns what there was. */
	assert_int_equal(fsutil_read_all(fds[0], got, 10), 0);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsutil_write_all(-1, "x", 1), -EBADF);
	free(data);
	free(got);
}

static void test_lock_exclusion(void **state)
{
	int up[2], down[2], status, fd;
	char c, *err = NULL, want[64];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = fsutil_lock_dir(tmpdir, "test-holder", false, NULL);
		close(up[0]);
		close(down[1]);
		if (lfd < 0)
			_exit(1);
		if (write(up[1], "L", 1) != 1)
			_exit(2);
		/* Hold the lock until the parent says so. */
		if (read(down[0], &c, 1) < 0)
			_exit(3);
		fsutil_unlock(lfd);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(fsutil_lock_dir(tmpdir, "me", true, &err), -EWOULDBLOCK);
	snprintf(want, sizeof(want), "is locked by pid %d (test-holder)", (int)pid);
	assert_non_null(err);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, tmpdir));
	free(err);
	close(down[1]); /* child releases and exits */
	fd = fsutil_lock_dir(tmpdir, "me", false, &err);
	assert_true(fd >= 0);
	assert_null(err);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* A second holder in this process (another open file) is excluded too. */
	assert_int_equal(fsutil_lock_dir(tmpdir, "again", true, NULL), -EWOULDBLOCK);
	fsutil_unlock(fd);
	fd = fsutil_lock_dir(tmpdir, "again", true, NULL);
	assert_true(fd >= 0);
	fsutil_unlock(fd);
	fsutil_unlock(-1);
	close(up[0]);
	assert_int_equal(fsutil_lock_dir(tpath("no/such"), "x", true, NULL), -ENOENT);
}

static void test_mkdir_p(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(fsutil_mkdir_p(tpath("m/a/b//c/"), 0750), 0);
	assert_int_equal(stat(tpath("m/a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fsutil_mkdir_p(tpath("m/a/b/c"), 0750), 0);
	assert_int_equal(fsutil_write_atomic(tpath("m/file"), "x", 1, 0644), 0);
	assert_int_equal(fsutil_mkdir_p(tpath("m/file"), 0755), -ENOTDIR);
	assert_int_equal(fsutil_mkdir_p(tpath("m/file/sub"), 0755), -ENOTDIR);
	assert_int_equal(fsutil_mkdir_p("", 0755), -EINVAL);
}

static void test_path_join(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(fsutil_path_join("/root", "a//./b/", &out), 0);
	assert_string_equal(out, "/root/a/b");
	free(out);
	assert_int_equal(fsutil_path_join("/root/", "a", &out), 0);
	assert_string_equal(out, "/root/a");
	free(out);
	assert_int_equal(fsutil_path_join("/root", "", &out), 0);
	assert_string_equal(out, "/root");
	free(out);
	assert_int_equal(fsutil_path_join("/root", "./.", &out), 0);
	assert_string_equal(out, "/root");
	free(out);
	assert_int_equal(fsutil_path_join("/root", "..a/b..", &out), 0);
	assert_string_equal(out, "/root/..a/b..");
	free(out);
	assert_int_equal(fsutil_path_join("/root", "a/../b", &out), -EINVAL);
	assert_null(out);
	assert_int_equal(fsutil_path_join("/root", "..", &out), -EINVAL);
	assert_int_equal(fsutil_path_join("/root", "a/..", &out), -EINVAL);
	assert_int_equal(fsutil_path_join("/root", "/etc", &out), -EINVAL);
}

static void check_beneath(bool walk)
{
	int root, fd;
	char buf[8];

	fsutil_test_no_openat2 = walk;
	assert_int_equal(fsutil_mkdir_p(tpath("jail/dir"), 0755), 0);
	assert_int_equal(fsutil_write_atomic(tpath("jail/dir/file"), "inside", 6, 0644), 0);
	unlink(tpath("jail/out"));
	unlink(tpath("jail/dir/abs"));
	unlink(tpath("jail/dir/rel"));
	assert_int_equal(symlink("/etc", tpath("jail/out")), 0);
	assert_int_equal(symlink("/etc/passwd", tpath("jail/dir/abs")), 0);
	assert_int_equal(symlink("file", tpath("jail/dir/rel")), 0);
	root = open(tpath("jail"), O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);

	fd = fsutil_open_beneath(root, "dir/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 6);
	close(fd);
	fd = fsutil_open_beneath(root, "./dir//file", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = fsutil_open_beneath(root, "dir/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	unlink(tpath("jail/dir/new"));
	fd = fsutil_open_beneath(root, "", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(fsutil_open_beneath(root, "../jail/dir/file", O_RDONLY, 0), -EXDEV);
	assert_int_equal(fsutil_open_beneath(root, "dir/../../x", O_RDONLY, 0), -EXDEV);
	assert_int_equal(fsutil_open_beneath(root, "/etc/passwd", O_RDONLY, 0), -EXDEV);
	assert_int_equal(fsutil_open_beneath(root, "out/passwd", O_RDONLY, 0), -ELOOP);
	assert_int_equal(fsutil_open_beneath(root, "out", O_RDONLY, 0), -ELOOP);
	assert_int_equal(fsutil_open_beneath(root, "dir/abs", O_RDONLY, 0), -ELOOP);
	/* Even a symlink that stays inside is refused: no symlinks at all. */
	assert_int_equal(fsutil_open_beneath(root, "dir/rel", O_RDONLY, 0), -ELOOP);
	assert_int_equal(fsutil_open_beneath(root, "dir/missing", O_RDONLY, 0), -ENOENT);
	close(root);
	fsutil_test_no_openat2 = false;
}

static void test_open_beneath_openat2(void **state)
{
	(void)state;
	check_beneath(false);
}

static void test_open_beneath_walk(void **state)
{
	(void)state;
	check_beneath(true);
}

/* fsutil_copy_file copies the bytes with mode 0600, refuses an existing target and
 * leaves none behind when the source is missing; fsutil_link_or_copy links on the
 * same file system. */
static void test_copy_file(void **state)
{
	char src[128], dst[128], dst2[128], *buf = NULL;
	struct stat a, b;
	size_t len = 0;

	(void)state;
	snprintf(src, sizeof(src), "%s/copy-src", tmpdir);
	snprintf(dst, sizeof(dst), "%s/copy-dst", tmpdir);
	snprintf(dst2, sizeof(dst2), "%s/copy-link", tmpdir);
	assert_int_equal(fsutil_write_atomic(src, "some bytes\n", 11, 0644), 0);
	assert_int_equal(fsutil_copy_file(src, dst), 0);
	assert_int_equal(fsutil_read_file(dst, 64, &buf, &len), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(buf, "some bytes\n", 11);
	free(buf);
	assert_int_equal(stat(dst, &b), 0);
	assert_int_equal(b.st_mode & 07777, 0600);
	assert_int_equal(fsutil_copy_file(src, dst), -EEXIST);
	unlink(dst);
	assert_int_equal(fsutil_copy_file(dst2, dst), -ENOENT);
	assert_int_equal(access(dst, F_OK), -1);
	assert_int_equal(fsutil_link_or_copy(src, dst2), 0);
	assert_int_equal(stat(src, &a), 0);
	assert_int_equal(stat(dst2, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(fsutil_link_or_copy(src, dst2), -EEXIST);
	unlink(src);
	unlink(dst2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_atomic_write_basic),
	    cmocka_unit_test(test_atomic_write_killed_at_each_step),
	    cmocka_unit_test(test_atomic_write_file_size_limit),
	    cmocka_unit_test(test_atomic_write_disk_full),
	    cmocka_unit_test(test_read_file),
	    cmocka_unit_test(test_write_read_all_interrupted),
	    cmocka_unit_test(test_lock_exclusion),
	    cmocka_unit_test(test_mkdir_p),
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test(test_open_beneath_openat2),
	    cmocka_unit_test(test_open_beneath_walk),
	    cmocka_unit_test(test_copy_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
