/* Unit tests for lib/html: escaping, the page frame with and without a program's chrome,
 * table rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

/* Output of one call, as a new string. */
#define CAPTURE(out, call)                                                                         \
	do {                                                                                       \
		size_t len_;                                                                       \
		FILE *f = open_memstream(&(out), &len_);                                           \
		assert_non_null(f);                                                                \
		call;                                                                              \
		assert_int_equal(fclose(f), 0);                                                    \
	} while (0)

static void test_esc(void **state)
{
	char *out;

	(void)state;
	CAPTURE(out, html_esc(f, "<a href=\"x\">Tom & Jerry's</a>"));
	assert_string_equal(out, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	free(out);
	CAPTURE(out, html_esc(f, "plain text, UTF-8 \xc3\xa9, tab\tand\nnewline"));
	assert_string_equal(out, "plain text, UTF-8 \xc3\xa9, tab\tand\nnewline");
	free(out);
	CAPTURE(out, html_esc(f, "&amp;"));
	assert_string_equal(out, "&amp;amp;");
	free(out);
	CAPTURE(out, html_esc(f, ""));
	assert_string_equal(out, "");
	free(out);
	CAPTURE(out, html_esc(f, NULL));
	assert_string_equal(out, "");
	free(out);
}

static void test_page(void **state)
{
	static const struct html_chrome ch = {".x{color:red}\n", "<nav>ignored here</nav>"};
	static const char head[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
				   "<title>a &lt;b&gt;</title>\n<style>\nbody{";
	char *out;

	(void)state;
	CAPTURE(out, html_page_start(f, "a <b>", NULL));
	assert_memory_equal(out, head, sizeof(head) - 1);
	assert_non_null(strstr(out, "overflow:auto;font-size:.85em}\n</style></head><body>\n"));
	assert_int_equal(out[strlen(out) - 1], '\n');
	free(out);
	CAPTURE(out, html_page_start(f, "t", &ch));
	assert_non_null(strstr(out, "font-size:.85em}\n.x{color:red}\n</style></head><body>\n"));
	assert_null(strstr(out, "<nav>"));
	free(out);
	CAPTURE(out, html_page_end(f));
	assert_string_equal(out, "</body></html>\n");
	free(out);
}

static void test_row(void **state)
{
	char *out;

	(void)state;
	CAPTURE(out, html_row(f, "Name", "<x>"));
	assert_string_equal(out, "<tr><th>Name</th><td>&lt;x&gt;</td></tr>\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_esc),
	    cmocka_unit_test(test_page),
	    cmocka_unit_test(test_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
