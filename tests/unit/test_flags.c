/* Unit tests for lib/flags: every Go flag form, flags files, precedence, errors with
 * Go's messages, usage output, exit codes of flags_parse_or_exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flags.h"
#include "fsutil.h"

#define SEC 1000000000LL

struct vals {
	const char *str;
	bool b;
	int i;
	int64_t i64;
	uint64_t u64;
	int64_t dur;
	uint64_t size;
	struct flags_list list;
};

static struct flags *mkflags(struct vals *v)
{
	struct flags *fs = flags_new("prog", "Usage: prog [flags] cmd");

	assert_non_null(fs);
	flags_string(fs, "stateDir", &v->str, "/var/lib/hypervisor", "State directory");
	flags_bool(fs, "b", &v->b, false, "A bool");
	flags_int(fs, "portNum", &v->i, 6976, "Port");
	flags_int64(fs, "level", &v->i64, -1, "Debug level");
	flags_uint64(fs, "count", &v->u64, 0, "Count");
	flags_duration(fs, "interval", &v->dur, 2 * SEC, "Interval");
	flags_size(fs, "cacheSize", &v->size, 10ULL << 30, "Cache size");
	flags_strlist(fs, "dirs", &v->list, "", "Directories");
	return fs;
}

static int parsev(struct flags *fs, char **err, va_list ap)
{
	static char *argv[32];
	int argc = 0;

	argv[argc++] = "prog";
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	argv[argc] = NULL;
	return flags_parse(fs, argc, argv, err);
}

static int parse(struct flags *fs, char **err, ...)
{
	va_list ap;
	int rc;

	va_start(ap, err);
	rc = parsev(fs, err, ap);
	va_end(ap);
	return rc;
}

/* Parses into a fresh set and expects failure with exactly msg. */
static void expect_error(const char *msg, ...)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, msg);
	rc = parsev(fs, &err, ap);
	va_end(ap);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(err);
	assert_string_equal(err, msg);
	free(err);
	flags_free(fs);
}

static void test_defaults(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);

	(void)state;
	assert_string_equal(v.str, "/var/lib/hypervisor");
	assert_false(v.b);
	assert_int_equal(v.i, 6976);
	assert_int_equal(v.i64, -1);
	assert_int_equal(v.dur, 2 * SEC);
	assert_int_equal(v.size, 10ULL << 30);
	assert_int_equal(v.list.n, 0);
	assert_false(flags_is_set(fs, "portNum"));
	assert_false(flags_is_set(fs, "nonexistent"));
	assert_int_equal(parse(fs, NULL, NULL), 0);
	assert_int_equal(flags_nargs(fs), 0);
	assert_null(flags_arg(fs, 0));
	flags_free(fs);
	flags_free(NULL);
}

static void test_forms(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(fs, &err, "-stateDir=/a", "--portNum", "7000", "-b", "--level=3",
			       "-interval", "1h30m", "-cacheSize=512K", "--dirs=/x,/y", "run",
			       "-b=false", NULL),
			 0);
	assert_null(err);
	assert_string_equal(v.str, "/a");
	assert_int_equal(v.i, 7000);
	assert_true(v.b);
	assert_int_equal(v.i64, 3);
	assert_int_equal(v.dur, 5400 * SEC);
	assert_int_equal(v.size, 512 * 1024);
	assert_int_equal(v.list.n, 2);
	assert_string_equal(v.list.v[0], "/x");
	assert_string_equal(v.list.v[1], "/y");
	/* The first non-flag ends the flags; the rest is positional. */
	assert_int_equal(flags_nargs(fs), 2);
	assert_string_equal(flags_arg(fs, 0), "run");
	assert_string_equal(flags_arg(fs, 1), "-b=false");
	assert_string_equal(flags_args(fs)[1], "-b=false");
	assert_true(flags_is_set(fs, "portNum"));
	assert_false(flags_is_set(fs, "count"));
	flags_free(fs);
}

static void test_bool_forms(void **state)
{
	static const char *const truths[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const lies[] = {"0", "f", "F", "false", "FALSE", "False"};
	struct vals v;
	struct flags *fs = mkflags(&v);
	char arg[32];

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		snprintf(arg, sizeof(arg), "-b=%s", truths[i]);
		assert_int_equal(parse(fs, NULL, arg, NULL), 0);
		assert_true(v.b);
		snprintf(arg, sizeof(arg), "--b=%s", lies[i]);
		assert_int_equal(parse(fs, NULL, arg, NULL), 0);
		assert_false(v.b);
	}
	/* "-b false": a bool never takes the next argument; "false" is positional. */
	assert_int_equal(parse(fs, NULL, "-b", "false", "x", NULL), 0);
	assert_true(v.b);
	assert_int_equal(flags_nargs(fs), 2);
	assert_string_equal(flags_arg(fs, 0), "false");
	flags_free(fs);
}

static void test_terminators(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);

	(void)state;
	assert_int_equal(parse(fs, NULL, "-b", "--", "-portNum=1", NULL), 0);
	assert_int_equal(v.i, 6976);
	assert_int_equal(flags_nargs(fs), 1);
	assert_string_equal(flags_arg(fs, 0), "-portNum=1");
	/* "-" alone is a non-flag argument. */
	assert_int_equal(parse(fs, NULL, "-", "-b", NULL), 0);
	assert_int_equal(flags_nargs(fs), 2);
	assert_string_equal(flags_arg(fs, 0), "-");
	/* "--" with nothing after. */
	assert_int_equal(parse(fs, NULL, "--", NULL), 0);
	assert_int_equal(flags_nargs(fs), 0);
	/* A value that looks like a flag is still the value of a non-bool flag. */
	assert_int_equal(parse(fs, NULL, "-stateDir", "-b", NULL), 0);
	assert_string_equal(v.str, "-b");
	/* Empty values and values with '=' inside. */
	assert_int_equal(parse(fs, NULL, "-stateDir=", NULL), 0);
	assert_string_equal(v.str, "");
	assert_int_equal(parse(fs, NULL, "-stateDir=a=b", NULL), 0);
	assert_string_equal(v.str, "a=b");
	assert_int_equal(parse(fs, NULL, "-stateDir", "", NULL), 0);
	assert_string_equal(v.str, "");
	flags_free(fs);
}

static void test_numbers(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);

	(void)state;
	assert_int_equal(parse(fs, NULL, "-portNum=0x10", "-level=-5", "-count=0o17", NULL), 0);
	assert_int_equal(v.i, 16);
	assert_int_equal(v.i64, -5);
	assert_int_equal(v.u64, 15);
	assert_int_equal(parse(fs, NULL, "-portNum=010", "-count=18446744073709551615", NULL), 0);
	assert_int_equal(v.i, 8);
	assert_true(v.u64 == UINT64_MAX);
	assert_int_equal(parse(fs, NULL, "-level=-9223372036854775808", NULL), 0);
	assert_true(v.i64 == INT64_MIN);
	assert_int_equal(parse(fs, NULL, "-count=0b101", NULL), 0);
	assert_int_equal(v.u64, 5);
	flags_free(fs);
	expect_error("invalid value \"abc\" for flag -portNum: parse error", "-portNum=abc", NULL);
	expect_error("invalid value \"\" for flag -portNum: parse error", "-portNum=", NULL);
	expect_error("invalid value \"1.5\" for flag -portNum: parse error", "-portNum", "1.5",
		     NULL);
	expect_error("invalid value \"3000000000\" for flag -portNum: value out of range",
		     "-portNum=3000000000", NULL);
	expect_error("invalid value \"-1\" for flag -count: parse error", "-count=-1", NULL);
	expect_error("invalid value \"99999999999999999999\" for flag -level: value out of range",
		     "-level=99999999999999999999", NULL);
	expect_error("invalid value \" 1\" for flag -level: parse error", "-level= 1", NULL);
}

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int64_t ns;
		const char *out;
	} ok[] = {
	    {"0", 0, "0s"},
	    {"5m", 300 * SEC, "5m0s"},
	    {"1h30m", 5400 * SEC, "1h30m0s"},
	    {"250ms", 250000000LL, "250ms"},
	    {"2s", 2 * SEC, "2s"},
	    {"1m1s", 61 * SEC, "1m1s"},
	    {"1.5h", 5400 * SEC, "1h30m0s"},
	    {"-1.5s", -1500000000LL, "-1.5s"},
	    {"+3ns", 3, "3ns"},
	    {"1us", 1000, "1\xc2\xb5s"},
	    {"1\xc2\xb5s", 1000, "1\xc2\xb5s"},
	    {"1.000001s", 1000001000LL, "1.000001s"},
	    {".5s", 500000000LL, "500ms"},
	    {"1.h", 3600 * SEC, "1h0m0s"},
	    {"1h2m3s4ms5us6ns", 3723004005006LL, "1h2m3.004005006s"},
	    {"2562047h47m16.854775807s", INT64_MAX, "2562047h47m16.854775807s"},
	};
	static const char *const bad[] = {"",	"5",   "1x",   "h",	   ".h",
					  ".s", "1s2", "--1s", "3000000h", "1e3s"};
	char buf[64];
	int64_t ns;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(flags_parse_duration(ok[i].in, &ns), 0);
		assert_true(ns == ok[i].ns);
		assert_string_equal(flags_format_duration(ns, buf, sizeof(buf)), ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(flags_parse_duration(bad[i], &ns) < 0);
	assert_string_equal(flags_format_duration(INT64_MIN, buf, sizeof(buf)),
			    "-2562047h47m16.854775808s");
	expect_error("invalid value \"5\" for flag -interval: parse error", "-interval=5", NULL);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *in;
		uint64_t bytes;
		const char *out;
	} ok[] = {
	    {"0", 0, "0"},
	    {"1536", 1536, "1536"},
	    {"512K", 512ULL << 10, "512K"},
	    {"1M", 1ULL << 20, "1M"},
	    {"10G", 10ULL << 30, "10G"},
	    {"10g", 10ULL << 30, "10G"},
	    {"10GiB", 10ULL << 30, "10G"},
	    {"10GB", 10ULL << 30, "10G"},
	    {"2T", 2ULL << 40, "2T"},
	    {"1024", 1024, "1K"},
	    {"3E", 3ULL << 60, "3E"},
	    {"100B", 100, "100"},
	};
	static const char *const bad[] = {"", "G", "1.5G", "-1", "10X", "10GiBs", " 1", "16E"};
	char buf[64];
	uint64_t b;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(flags_parse_size(ok[i].in, &b), 0);
		assert_true(b == ok[i].bytes);
		assert_string_equal(flags_format_size(b, buf, sizeof(buf)), ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(flags_parse_size(bad[i], &b) < 0);
	expect_error("invalid value \"1.5G\" for flag -cacheSize: parse error", "-cacheSize=1.5G",
		     NULL);
	expect_error("invalid value \"16E\" for flag -cacheSize: value out of range",
		     "-cacheSize=16E", NULL);
}

static void test_lists(void **state)
{
	struct flags_list l;
	struct flags *fs = flags_new("p", NULL);

	(void)state;
	flags_strlist(fs, "l", &l, "a,b", "List");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a");
	assert_int_equal(parse(fs, NULL, "-l=x,,y,", NULL), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "x");
	assert_string_equal(l.v[1], "");
	assert_string_equal(l.v[2], "y");
	assert_string_equal(l.v[3], "");
	assert_int_equal(parse(fs, NULL, "-l=", NULL), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	assert_int_equal(parse(fs, NULL, "-l", "single", NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "single");
	flags_free(fs);
}

struct kv {
	char key[16];
	int value;
	int calls;
};

static int set_kv(void *arg, const char *value, char **err)
{
	struct kv *kv = arg;

	kv->calls++;
	if (sscanf(value, "%15[^=]=%d", kv->key, &kv->value) != 2) {
		*err = strdup("want key=number");
		return -EINVAL;
	}
	return 0;
}

static void test_custom_flag(void **state)
{
	struct kv kv = {0};
	struct flags *fs = flags_new("p", NULL);
	char *err = NULL;

	(void)state;
	flags_func(fs, "tag", "k=v", set_kv, &kv, "", "A tag");
	assert_int_equal(kv.calls, 0);
	assert_int_equal(parse(fs, &err, "-tag", "a=5", NULL), 0);
	assert_string_equal(kv.key, "a");
	assert_int_equal(kv.value, 5);
	assert_int_equal(parse(fs, &err, "-tag=zzz", NULL), -EINVAL);
	assert_string_equal(err, "invalid value \"zzz\" for flag -tag: want key=number");
	free(err);
	flags_free(fs);
}

static void test_errors(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	expect_error("flag provided but not defined: -x", "-x", NULL);
	expect_error("flag provided but not defined: -nope", "--nope=1", NULL);
	expect_error("invalid boolean value \"maybe\" for -b: parse error", "-b=maybe", NULL);
	expect_error("flag needs an argument: -portNum", "-portNum", NULL);
	expect_error("bad flag syntax: ---x", "---x", NULL);
	expect_error("bad flag syntax: -=x", "-=x", NULL);
	expect_error("invalid value \"a\\\"b\" for flag -portNum: parse error", "-portNum=a\"b",
		     NULL);
	/* Help is not an error message; it stops parsing. */
	assert_int_equal(parse(fs, &err, "-h", NULL), FLAGS_EHELP);
	assert_null(err);
	assert_int_equal(parse(fs, &err, "-help", NULL), FLAGS_EHELP);
	assert_int_equal(parse(fs, &err, "--help", NULL), FLAGS_EHELP);
	/* A NULL err pointer is allowed. */
	assert_int_equal(parse(fs, NULL, "-x", NULL), -EINVAL);
	flags_free(fs);
}

static void test_flags_set(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	assert_int_equal(flags_set(fs, "portNum", "1", &err), 0);
	assert_int_equal(v.i, 1);
	assert_true(flags_is_set(fs, "portNum"));
	assert_int_equal(flags_set(fs, "b", "true", NULL), 0);
	assert_true(v.b);
	assert_int_equal(flags_set(fs, "zz", "1", &err), -ENOENT);
	assert_string_equal(err, "flag provided but not defined: -zz");
	free(err);
	assert_int_equal(flags_set(fs, "b", "yes", &err), -EINVAL);
	assert_string_equal(err, "invalid boolean value \"yes\" for -b: parse error");
	free(err);
	flags_free(fs);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss%d_flagsXXXXXX", (int)getpid() % 100000);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static const char *write_file(const char *name, const char *content)
{
	static char path[200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(fsutil_write_atomic(path, content, strlen(content), 0644), 0);
	return path;
}

static void test_file_and_precedence(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	write_file("flags.default", "# comment\n; other\n\n  portNum = 1234 \n"
				    "stateDir=/from/default\n\tb\t=\ttrue\ninterval=5m\n"
				    "dirs = /a , /b\n");
	write_file("flags.extra", "portNum=5678\nlevel=2");
	assert_int_equal(flags_load_dir(fs, tmpdir, &err), 0);
	assert_null(err);
	assert_int_equal(v.i, 5678);		     /* extra overrides default */
	assert_string_equal(v.str, "/from/default"); /* default overrides built-in */
	assert_true(v.b);
	assert_int_equal(v.i64, 2); /* last line without newline */
	assert_int_equal(v.dur, 300 * SEC);
	assert_int_equal(v.list.n, 2);
	assert_string_equal(v.list.v[0], "/a "); /* only the whole value is trimmed */
	assert_string_equal(v.list.v[1], " /b");
	assert_true(flags_is_set(fs, "stateDir"));
	assert_int_equal(parse(fs, &err, "-portNum=9", NULL), 0); /* command line wins */
	assert_int_equal(v.i, 9);
	assert_string_equal(v.str, "/from/default");
	flags_free(fs);
}

static void test_file_errors(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL, want[300];
	const char *p;

	(void)state;
	/* Missing files are fine. */
	assert_int_equal(flags_load_file(fs, "/nonexistent/flags.default", &err), 0);
	assert_null(err);

	p = write_file("nokey", "portNum=1\n\njust words\n");
	assert_int_equal(flags_load_file(fs, p, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: missing '=' in line", p);
	assert_string_equal(err, want);
	free(err);
	assert_int_equal(v.i, 1); /* lines before the error were applied */

	p = write_file("space", "port Num=1\n");
	assert_int_equal(flags_load_file(fs, p, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: bad flag name \"port Num\"", p);
	assert_string_equal(err, want);
	free(err);

	p = write_file("unknown", "# c\nnope=1\n");
	assert_int_equal(flags_load_file(fs, p, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: flag provided but not defined: -nope", p);
	assert_string_equal(err, want);
	free(err);

	p = write_file("badval", "portNum=x\n");
	assert_int_equal(flags_load_file(fs, p, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: invalid value \"x\" for flag -portNum: parse error", p);
	assert_string_equal(err, want);
	free(err);

	p = write_file("noname", "=5\n");
	assert_int_equal(flags_load_file(fs, p, &err), -EINVAL);
	free(err);

	/* A directory where a file is expected is an error, not "missing". */
	assert_true(flags_load_file(fs, tmpdir, &err) < 0);
	assert_non_null(err);
	free(err);
	flags_free(fs);
}

/* flags_load_config: no directory is fine; a bad file is reported on stderr. */
static void test_load_config(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char path[4200], want[4400], out[4400] = "";
	int fd, saved, rc;
	ssize_t n;

	(void)state;
	assert_int_equal(flags_load_config(fs, NULL), 0);
	write_file("flags.default", "portNum=42\n");
	write_file("flags.extra", "");
	assert_int_equal(flags_load_config(fs, tmpdir), 0);
	assert_int_equal(v.i, 42);
	write_file("flags.extra", "nope=1\n");
	snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	rc = flags_load_config(fs, tmpdir);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	assert_int_equal(rc, -EINVAL);
	snprintf(want, sizeof(want),
		 "prog: %s/flags.extra:1: flag provided but not defined: -nope\n", tmpdir);
	assert_string_equal(out, want);
	flags_free(fs);
}

static void test_user_config_dir(void **state)
{
	char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL, *d;

	(void)state;
	setenv("HOME", "/home/alice", 1);
	d = flags_user_config_dir("hyper-control");
	assert_string_equal(d, "/home/alice/.config/hyper-control");
	free(d);
	unsetenv("HOME");
	assert_null(flags_user_config_dir("x"));
	if (old)
		setenv("HOME", old, 1);
	free(old);
}

static char *usage_of(const struct flags *fs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	flags_print_usage(fs, f);
	fclose(f);
	return buf;
}

static void test_usage(void **state)
{
	struct vals v;
	struct kv kv;
	struct flags *fs = mkflags(&v);
	char *u;

	(void)state;
	flags_bool(fs, "x", &v.b, false, "Short bool");
	flags_func(fs, "tags", "", set_kv, &kv, "a=1", "Tags as `pairs` list");
	flags_string(fs, "emptyDefault", &v.str, "", "No default shown\nsecond line");
	u = usage_of(fs);
	assert_string_equal(
	    u, "Usage: prog [flags] cmd\n"
	       "  -b\tA bool\n"
	       "  -cacheSize value\n    \tCache size (default 10G)\n"
	       "  -count uint\n    \tCount\n"
	       "  -dirs value\n    \tDirectories\n"
	       "  -emptyDefault string\n    \tNo default shown\n    \tsecond line\n"
	       "  -interval duration\n    \tInterval (default 2s)\n"
	       "  -level int\n    \tDebug level (default -1)\n"
	       "  -portNum int\n    \tPort (default 6976)\n"
	       "  -stateDir string\n    \tState directory (default \"/var/lib/hypervisor\")\n"
	       "  -tags pairs\n    \tTags as pairs list (default a=1)\n"
	       "  -x\tShort bool\n");
	free(u);
	flags_free(fs);

	fs = flags_new("tool", NULL);
	flags_bool(fs, "verbose", &v.b, true, "Talk");
	u = usage_of(fs);
	assert_string_equal(u, "Usage of tool:\n  -verbose\n    \tTalk (default true)\n");
	free(u);
	flags_free(fs);
}

/* Runs flags_parse_or_exit in a child; returns its exit status, stdout+stderr in out. */
static int run_or_exit(char *out, size_t outsize, ...)
{
	int fds[2], status;
	ssize_t n, total = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vals v;
		struct flags *fs = mkflags(&v);
		char *argv[16];
		int argc = 0;
		va_list ap;
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		argv[argc++] = "prog";
		va_start(ap, outsize);
		for (char *a; (a = va_arg(ap, char *));)
			argv[argc++] = a;
		va_end(ap);
		flags_version(fs, "prog version 1.2.3");
		flags_parse_or_exit(fs, argc, argv);
		printf("parsed port=%d nargs=%d\n", v.i, flags_nargs(fs));
		fflush(stdout);
		_exit(7);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + total, outsize - 1 - (size_t)total)) > 0)
		total += n;
	out[total] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_parse_or_exit(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(run_or_exit(out, sizeof(out), "-portNum=5", "run", NULL), 7);
	assert_string_equal(out, "parsed port=5 nargs=1\n");
	assert_int_equal(run_or_exit(out, sizeof(out), "-bogus", NULL), 2);
	assert_non_null(
	    strstr(out, "flag provided but not defined: -bogus\nUsage: prog [flags] cmd\n"));
	assert_non_null(strstr(out, "  -portNum int\n"));
	assert_int_equal(run_or_exit(out, sizeof(out), "-portNum=z", NULL), 2);
	assert_non_null(strstr(out, "invalid value \"z\" for flag -portNum: parse error\n"));
	assert_int_equal(run_or_exit(out, sizeof(out), "-help", NULL), 0);
	assert_non_null(strstr(out, "Usage: prog [flags] cmd\n"));
	assert_non_null(strstr(out, "  -version\n    \tPrint version information and exit\n"));
	assert_int_equal(run_or_exit(out, sizeof(out), "-version", NULL), 0);
	assert_string_equal(out, "prog version 1.2.3\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_bool_forms),	    cmocka_unit_test(test_terminators),
	    cmocka_unit_test(test_numbers),	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_sizes),	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_custom_flag),	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_flags_set),	    cmocka_unit_test(test_file_and_precedence),
	    cmocka_unit_test(test_file_errors),	    cmocka_unit_test(test_load_config),
	    cmocka_unit_test(test_user_config_dir), cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_parse_or_exit),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
