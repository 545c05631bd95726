/* Unit tests for lib/metrics: the exact bytes of the Prometheus text format 0.0.4
 * (HELP/TYPE lines, samples with and without labels) and the escaping of label values
 * and help texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static FILE *f;
static char *out;
static size_t len;

static int open_out(void **state)
{
	(void)state;
	f = open_memstream(&out, &len);
	return f == NULL;
}

static int free_out(void **state)
{
	(void)state;
	if (f != NULL)
		fclose(f);
	f = NULL;
	free(out);
	out = NULL;
	return 0;
}

/* What was written so far. */
static const char *written(void)
{
	fflush(f);
	return out;
}

static void test_declare(void **state)
{
	(void)state;
	metrics_declare(f, "ss_vms", METRICS_GAUGE, "VMs by state.");
	metrics_declare(f, "ss_starts_total", METRICS_COUNTER, "Starts.");
	metrics_declare(f, "ss_other", METRICS_UNTYPED, "Other.");
	assert_string_equal(written(), "# HELP ss_vms VMs by state.\n# TYPE ss_vms gauge\n"
				       "# HELP ss_starts_total Starts.\n"
				       "# TYPE ss_starts_total counter\n"
				       "# HELP ss_other Other.\n# TYPE ss_other untyped\n");
}

static void test_help_escaping(void **state)
{
	(void)state;
	/* In HELP only backslash and newline are escaped; quotes stay. */
	metrics_declare(f, "m", METRICS_GAUGE, "a \\ b\n\"c\"");
	assert_string_equal(written(), "# HELP m a \\\\ b\\n\"c\"\n# TYPE m gauge\n");
}

static void test_samples(void **state)
{
	(void)state;
	metrics_uint(f, "ss_plain", 0, NULL);
	metrics_uint(f, "ss_big", UINT64_MAX, NULL);
	metrics_int(f, "ss_neg", -42, NULL);
	metrics_int(f, "ss_min", INT64_MIN, NULL);
	metrics_uint(f, "ss_vms", 3, "state", "running", NULL);
	metrics_uint(f, "ss_mem", 7, "kind", "total", "host", "h1", NULL);
	metrics_int(f, "ss_empty", 1, "label", "", NULL);
	assert_string_equal(written(), "ss_plain 0\n"
				       "ss_big 18446744073709551615\n"
				       "ss_neg -42\n"
				       "ss_min -9223372036854775808\n"
				       "ss_vms{state=\"running\"} 3\n"
				       "ss_mem{kind=\"total\",host=\"h1\"} 7\n"
				       "ss_empty{label=\"\"} 1\n");
}

static void test_label_escaping(void **state)
{
	(void)state;
	metrics_uint(f, "ss_subnet_free", 5, "subnet", "a\"b\\c\nd", NULL);
	metrics_uint(f, "ss_utf8", 1, "name", "caf\xc3\xa9 {x=1}, y", NULL);
	assert_string_equal(written(), "ss_subnet_free{subnet=\"a\\\"b\\\\c\\nd\"} 5\n"
				       "ss_utf8{name=\"caf\xc3\xa9 {x=1}, y\"} 1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_declare, open_out, free_out),
	    cmocka_unit_test_setup_teardown(test_help_escaping, open_out, free_out),
	    cmocka_unit_test_setup_teardown(test_samples, open_out, free_out),
	    cmocka_unit_test_setup_teardown(test_label_escaping, open_out, free_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
