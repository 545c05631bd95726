/* Unit tests for lib/log: line format, debug gating, ring (wrap, polling, resize,
 * threads), stderr output, file rotation and quota. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

static int teardown_log(void **state)
{
	(void)state;
	log_shutdown();
	return 0;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void test_ring_wrap_and_format(void **state)
{
	struct log_config cfg = {.ring_lines = 4, .debug_level = -1};
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	for (int i = 0; i < 6; i++)
		log_info("line %d", i);
	log_warn("warned\n");
	log_error("dhcpd: failed %s", "x");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 4);
	assert_true(
	    matches("^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} line 4$", lines[0]));
	assert_true(matches(" line 5$", lines[1]));
	/* A trailing newline in the message is not doubled. */
	assert_true(matches("[0-9] warned$", lines[2]));
	assert_true(matches(" dhcpd: failed x$", lines[3]));
	log_lines_free(lines, n);
}

static void test_debug_levels(void **state)
{
	struct log_config cfg = {.ring_lines = 16, .debug_level = -1};
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	assert_false(log_debug_enabled(0));
	log_debug(0, "not at -1");
	log_set_debug_level(1);
	assert_int_equal(log_get_debug_level(), 1);
	assert_true(log_debug_enabled(0));
	assert_true(log_debug_enabled(1));
	assert_false(log_debug_enabled(2));
	log_debug(0, "d0");
	log_debug(1, "d1");
	log_debug(2, "d2");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 2);
	assert_true(matches(" d0$", lines[0]));
	assert_true(matches(" d1$", lines[1]));
	log_lines_free(lines, n);
}

/* Watchers (Logger.Watch): their own debug level, the lines before them not seen,
 * the queue bound and the loss report, the logger's level untouched. */
static void test_taps(void **state)
{
	struct log_config cfg = {.ring_lines = 16, .debug_level = -1};
	struct log_tap *t2, *tq;
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	log_info("before");
	assert_int_equal(log_tap_open(2, &t2), 0);
	assert_int_equal(log_tap_open(-5, &tq), 0);
	log_info("info");
	log_debug(2, "d2 for the watcher");
	log_debug(3, "d3 for nobody");
	assert_int_equal(log_tap_take(t2, &lines, &n), 0);
	assert_int_equal(n, 2);
	assert_true(matches(" info$", lines[0]));
	assert_true(matches(" d2 for the watcher$", lines[1]));
	log_lines_free(lines, n);
	assert_int_equal(log_tap_take(t2, &lines, &n), 0);
	assert_int_equal(n, 0);
	log_lines_free(lines, n);
	/* The logger kept neither debug line. */
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 2);
	assert_true(matches(" info$", lines[1]));
	log_lines_free(lines, n);
	assert_false(log_debug_enabled(2));
	/* tq (level -1) got only the info line, and overflows. */
	for (int i = 0; i < LOG_TAP_QUEUE + 5; i++)
		log_info("flood %d", i);
	assert_int_equal(log_tap_take(tq, &lines, &n), -EPIPE);
	assert_int_equal(n, LOG_TAP_QUEUE);
	assert_true(matches(" info$", lines[0]));
	assert_true(matches(" flood 0$", lines[1]));
	log_lines_free(lines, n);
	log_tap_close(tq);
	log_tap_close(t2);
	log_debug(2, "after the watchers");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_false(matches("after the watchers", lines[n - 1]));
	log_lines_free(lines, n);
}

static void test_ring_polling_with_seq(void **state)
{
	struct log_config cfg = {.ring_lines = 8, .debug_level = -1};
	uint64_t seq = 0;
	char **lines;
	size_t n;

	(void)state;
	log_shutdown(); /* fresh numbering is not promised; use the returned seq */
	assert_int_equal(log_init(&cfg), 0);
	assert_int_equal(log_ring_copy(&seq, &lines, &n), 0);
	log_lines_free(lines, n);
	log_info("a");
	log_info("b");
	assert_int_equal(log_ring_copy(&seq, &lines, &n), 0);
	assert_int_equal(n, 2);
	assert_true(matches(" a$", lines[0]));
	log_lines_free(lines, n);
	assert_int_equal(log_ring_copy(&seq, &lines, &n), 0);
	assert_int_equal(n, 0);
	log_lines_free(lines, n);
	/* More lines than the ring holds: the watcher gets the newest 8. */
	for (int i = 0; i < 20; i++)
		log_info("n%d", i);
	assert_int_equal(log_ring_copy(&seq, &lines, &n), 0);
	assert_int_equal(n, 8);
	assert_true(matches(" n12$", lines[0]));
	assert_true(matches(" n19$", lines[7]));
	log_lines_free(lines, n);
}

static void test_ring_resize_keeps_newest(void **state)
{
	struct log_config cfg = {.ring_lines = 8, .debug_level = -1};
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	for (int i = 0; i < 10; i++)
		log_info("r%d", i);
	cfg.ring_lines = 3;
	assert_int_equal(log_init(&cfg), 0);
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 3);
	assert_true(matches(" r7$", lines[0]));
	assert_true(matches(" r9$", lines[2]));
	log_lines_free(lines, n);
	cfg.ring_lines = 6;
	assert_int_equal(log_init(&cfg), 0);
	log_info("r10");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 4);
	assert_true(matches(" r7$", lines[0]));
	assert_true(matches(" r10$", lines[3]));
	log_lines_free(lines, n);
}

static void test_long_line(void **state)
{
	struct log_config cfg = {.ring_lines = 2, .debug_level = -1};
	char *big = malloc(10001), **lines;
	size_t n;

	(void)state;
	memset(big, 'z', 10000);
	big[10000] = '\0';
	assert_int_equal(log_init(&cfg), 0);
	log_info("%s|end", big);
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(lines[0]), 20 + 10000 + 4);
	assert_true(matches("zzzz\\|end$", lines[0]));
	log_lines_free(lines, n);
	free(big);
}

static void *log_thread(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < 500; i++)
		log_info("t%d n%d", t, i);
	return NULL;
}

static void test_threads(void **state)
{
	struct log_config cfg = {.ring_lines = 4096, .debug_level = -1};
	pthread_t th[4];
	int last[4] = {-1, -1, -1, -1};
	char **lines;
	size_t n;

	(void)state;
	log_shutdown();
	assert_int_equal(log_init(&cfg), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 2000);
	/* Every line intact, and each thread's lines in order. */
	for (size_t i = 0; i < n; i++) {
		int t, k;
		const char *msg = lines[i] + 20;
		assert_int_equal(sscanf(msg, "t%d n%d", &t, &k), 2);
		assert_true(t >= 0 && t < 4);
		assert_int_equal(k, last[t] + 1);
		last[t] = k;
	}
	log_lines_free(lines, n);
}

/* Runs fn with fd 2 redirected to a file; returns that file's content (new). */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/ss_logerrXXXXXX", *buf;
	int fd = mkstemp(path), saved = dup(2);

	assert_true(fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, NULL), 0);
	unlink(path);
	return buf;
}

static void log_some(void)
{
	struct log_config cfg = {.to_stderr = true, .subseconds = true, .debug_level = -1};

	log_init(&cfg);
	log_info("to stderr");
	cfg.to_stderr = false;
	log_init(&cfg);
	log_info("not to stderr");
	log_shutdown();
	log_info("before init goes to stderr");
}

static void test_stderr(void **state)
{
	char *out = capture_stderr(log_some);

	(void)state;
	assert_true(matches("^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} "
			    "to stderr\n"
			    "[0-9/]{10} [0-9:]{8} before init goes to stderr\n$",
			    out));
	free(out);
}

static void capture_some(void)
{
	struct log_config cfg = {.to_stderr = true, .ring_lines = 16, .debug_level = -1};
	pid_t pid;

	log_init(&cfg);
	assert_int_equal(log_capture_stderr(), 0);
	assert_int_equal(log_capture_stderr(), 0); /* idempotent */
	log_info("logged once");
	assert_int_equal(write(2, "raw one\nraw two\n", 16), 16);
	fprintf(stderr, "via stdio\n");
	pid = fork();
	if (pid == 0) {
		execlp("sh", "sh", "-c", "echo from child >&2", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	assert_int_equal(write(2, "partial", 7), 7);
	log_release_stderr();
	log_release_stderr();
	log_info("after release");
}

static void test_capture_stderr(void **state)
{
	static const char *const want[] = {" logged once$",  " raw one$",    " raw two$",
					   " via stdio$",    " from child$", " partial$",
					   " after release$"};
	char *out = capture_stderr(capture_some), **lines;
	size_t n;

	(void)state;
	/* Captured lines are mirrored to the original stderr once each: no loop. */
	assert_true(matches("^[0-9/]{10} [0-9:]{8} logged once\n"
			    "[0-9/]{10} [0-9:]{8} raw one\n"
			    "[0-9/]{10} [0-9:]{8} raw two\n"
			    "[0-9/]{10} [0-9:]{8} via stdio\n"
			    "[0-9/]{10} [0-9:]{8} from child\n"
			    "[0-9/]{10} [0-9:]{8} partial\n"
			    "[0-9/]{10} [0-9:]{8} after release\n$",
			    out));
	free(out);
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		assert_true(matches(want[i], lines[i]));
	log_lines_free(lines, n);
}

struct dirstat {
	int files;
	uint64_t total;
	uint64_t biggest;
	char oldest[300];
};

static struct dirstat scan(const char *dir)
{
	struct dirstat ds = {0};
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		char p[600];
		struct stat st;
		if (de->d_name[0] == '.' || strcmp(de->d_name, "latest") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(p, &st), 0);
		ds.files++;
		ds.total += (uint64_t)st.st_size;
		if ((uint64_t)st.st_size > ds.biggest)
			ds.biggest = (uint64_t)st.st_size;
		if (!ds.oldest[0] || strcmp(de->d_name, ds.oldest) < 0)
			snprintf(ds.oldest, sizeof(ds.oldest), "%s", de->d_name);
	}
	closedir(d);
	return ds;
}

static void test_rotation_and_quota(void **state)
{
	char dir[64], p[256], *buf, cmd[700];
	struct log_config cfg = {
	    .file_max_size = 1000,
	    .quota = 3000,
	    .debug_level = -1,
	};
	struct dirstat ds;
	char other[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ss%d_logXXXXXX", (int)getpid() % 100000);
	assert_non_null(mkdtemp(dir));
	/* A file that is not a log file is never counted nor deleted. */
	snprintf(other, sizeof(other), "%s/keep.txt", dir);
	assert_int_equal(fsutil_write_atomic(other, "keep", 4, 0644), 0);
	snprintf(p, sizeof(p), "%s/logs", dir);
	cfg.dir = p;
	assert_int_equal(log_init(&cfg), 0);
	for (int i = 0; i < 400; i++)
		log_info("message number %04d with some padding to make it long", i);
	ds = scan(p);
	assert_true(ds.files >= 3);
	assert_true(ds.biggest <= 1000);
	assert_true(ds.total <= 3000 + 1000);
	/* The first lines were rotated away; the newest is in "latest". */
	snprintf(cmd, sizeof(cmd), "%s/latest", p);
	assert_int_equal(fsutil_read_file(cmd, 1 << 20, &buf, NULL), 0);
	assert_non_null(strstr(buf, "message number 0399 with"));
	free(buf);
	snprintf(cmd, sizeof(cmd), "%s/%s", p, ds.oldest);
	assert_int_equal(fsutil_read_file(cmd, 1 << 20, &buf, NULL), 0);
	assert_null(strstr(buf, "message number 0000 "));
	assert_true(matches("^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} message number [0-9]{4} ", buf));
	free(buf);
	/* Re-initialising starts a new file and enforces the quota over old ones. */
	cfg.quota = 1500;
	assert_int_equal(log_init(&cfg), 0);
	log_info("after reinit");
	ds = scan(p);
	assert_true(ds.total <= 1500 + 1000);
	log_shutdown();
	assert_int_equal(access(other, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_bad_dir(void **state)
{
	struct log_config cfg = {.dir = "/proc/self/nope/logs", .debug_level = -1};
	char **lines;
	size_t n;

	(void)state;
	assert_true(log_init(&cfg) < 0);
	/* The ring still works. */
	log_info("still logged");
	assert_int_equal(log_ring_copy(NULL, &lines, &n), 0);
	assert_true(n >= 1);
	assert_true(matches("still logged$", lines[n - 1]));
	log_lines_free(lines, n);
}

static void test_syslog_does_not_crash(void **state)
{
	struct log_config cfg = {.to_syslog = true, .ident = "ss-test", .debug_level = -1};

	(void)state;
	assert_int_equal(log_init(&cfg), 0);
	log_info("hello syslog");
	log_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_ring_wrap_and_format, teardown_log),
	    cmocka_unit_test_teardown(test_debug_levels, teardown_log),
	    cmocka_unit_test_teardown(test_taps, teardown_log),
	    cmocka_unit_test_teardown(test_ring_polling_with_seq, teardown_log),
	    cmocka_unit_test_teardown(test_ring_resize_keeps_newest, teardown_log),
	    cmocka_unit_test_teardown(test_long_line, teardown_log),
	    cmocka_unit_test_teardown(test_threads, teardown_log),
	    cmocka_unit_test_teardown(test_stderr, teardown_log),
	    cmocka_unit_test_teardown(test_capture_stderr, teardown_log),
	    cmocka_unit_test_teardown(test_rotation_and_quota, teardown_log),
	    cmocka_unit_test_teardown(test_bad_dir, teardown_log),
	    cmocka_unit_test_teardown(test_syslog_does_not_crash, teardown_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
