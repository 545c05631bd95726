/* Unit tests for lib/flags: Go flag syntax, flags files, precedence, errors, usage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"

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
	flags_duration(fs, "interval", &v->dur, 2000000000LL, "Interval");
	flags_size(fs, "cacheSize", &v->size, 10ULL << 30, "Cache size");
	flags_strlist(fs, "dirs", &v->list, "", "Directories");
	return fs;
}

static int parse(struct flags *fs, char **err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "prog";
	va_start(ap, err);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return flags_parse(fs, argc, argv, err);
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
	assert_int_equal(v.dur, 2000000000LL);
	assert_int_equal(v.size, 10ULL << 30);
	assert_int_equal(v.list.n, 0);
	assert_false(flags_is_set(fs, "portNum"));
	flags_free(fs);
}

static void test_forms(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(fs, &err, "-stateDir=/a", "--portNum", "7000", "-b", "--level=3",
			       "-interval", "1h30m", "-cacheSize=512K", "-dirs=/x,/y", "run", "-b=false",
			       NULL),
			 0);
	assert_null(err);
	assert_string_equal(v.str, "/a");
	assert_int_equal(v.i, 7000);
	assert_true(v.b);
	assert_int_equal(v.i64, 3);
	assert_int_equal(v.dur, 5400LL * 1000000000LL);
	assert_int_equal(v.size, 512 * 1024);
	assert_int_equal(v.list.n, 2);
	assert_string_equal(v.list.v[1], "/y");
	assert_int_equal(flags_nargs(fs), 2);
	assert_string_equal(flags_arg(fs, 0), "run");
	assert_string_equal(flags_arg(fs, 1), "-b=false");
	assert_true(flags_is_set(fs, "portNum"));
	flags_free(fs);
}

static void test_errors(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char *err = NULL;

	(void)state;
	assert_int_equal(parse(fs, &err, "-x", NULL), -EINVAL);
	assert_string_equal(err, "flag provided but not defined: -x");
	free(err);
	assert_int_equal(parse(fs, &err, "-portNum=abc", NULL), -EINVAL);
	assert_string_equal(err, "invalid value \"abc\" for flag -portNum: parse error");
	free(err);
	assert_int_equal(parse(fs, &err, "-b=maybe", NULL), -EINVAL);
	assert_string_equal(err, "invalid boolean value \"maybe\" for -b: parse error");
	free(err);
	assert_int_equal(parse(fs, &err, "-portNum", NULL), -EINVAL);
	assert_string_equal(err, "flag needs an argument: -portNum");
	free(err);
	assert_int_equal(parse(fs, &err, "-h", NULL), FLAGS_EHELP);
	assert_null(err);
	flags_free(fs);
}

static void test_file_and_precedence(void **state)
{
	struct vals v;
	struct flags *fs = mkflags(&v);
	char dir[] = "/tmp/ss_flagsXXXXXX", path[256], *err = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flags.default", dir);
	f = fopen(path, "w");
	fprintf(f, "# comment\n; other\n\n  portNum = 1234 \nstateDir=/from/default\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/flags.extra", dir);
	f = fopen(path, "w");
	fprintf(f, "portNum=5678\n");
	fclose(f);
	assert_int_equal(flags_load_dir(fs, dir, &err), 0);
	assert_int_equal(v.i, 5678);
	assert_string_equal(v.str, "/from/default");
	assert_int_equal(parse(fs, &err, "-portNum=9", NULL), 0);
	assert_int_equal(v.i, 9);
	unlink(path);
	snprintf(path, sizeof(path), "%s/flags.default", dir);
	unlink(path);
	rmdir(dir);
	flags_free(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_file_and_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
