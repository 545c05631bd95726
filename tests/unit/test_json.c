/* Unit tests for lib/json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"

static void test_path_error(void **state)
{
	const char *text = "# comment\n{\"volumes\": [{\"Size\": 1}, {\"Size\": \"x\"}]}\n";
	struct sjson_dec d;
	json_t *doc, *vols;
	char *err;
	int64_t size;

	(void)state;
	assert_int_equal(sjson_load_buf(text, strlen(text), "info.json", &doc, &err), 0);
	sjson_dec_init(&d, "VMs/10.0.0.5/info.json");
	assert_int_equal(sjson_get_array(&d, doc, "Volumes", &vols), 0);
	assert_non_null(vols);
	sjson_push_key(&d, "Volumes");
	for (size_t i = 0; i < json_array_size(vols); i++) {
		sjson_push_index(&d, i);
		sjson_get_int64(&d, json_array_get(vols, i), "Size", &size);
		sjson_pop(&d);
	}
	sjson_pop(&d);
	assert_string_equal(sjson_dec_error(&d),
			    "VMs/10.0.0.5/info.json: .Volumes[1].Size: expected integer, got string");
	sjson_dec_fini(&d);
	json_decref(doc);
}

static void test_go_escaping(void **state)
{
	json_t *o = json_object();
	char *s;

	(void)state;
	json_object_set_new(o, "A", json_string("<a&b>\xe2\x80\xa8"));
	s = sjson_dumps(o, 0);
	assert_string_equal(s, "{\"A\":\"\\u003ca\\u0026b\\u003e\\u2028\"}");
	free(s);
	s = sjson_dumps(o, SJSON_PRETTY);
	assert_string_equal(s, "{\n    \"A\": \"\\u003ca\\u0026b\\u003e\\u2028\"\n}\n");
	free(s);
	json_decref(o);
}

/* Caught by the format/parse round-trip check of fuzz_hvapi_json: an offset that moves the instant past year 9999 (or before
 * year 0) in UTC gave a time that sjson_format_time wrote as "10000-..." and that no
 * longer parsed, so a state file would not load after being written. */
static void test_time_range(void **state)
{
	struct timespec t;
	char buf[SJSON_TIME_LEN];

	(void)state;
	assert_int_equal(sjson_parse_time("9999-12-31T23:59:59-01:00", &t), -EINVAL);
	assert_int_equal(sjson_parse_time("0000-01-01T00:00:00+00:01", &t), -EINVAL);
	assert_int_equal(sjson_parse_time("9999-12-31T23:59:59.999999999+01:00", &t), 0);
	assert_string_equal(sjson_format_time(&t, buf, sizeof(buf)),
			    "9999-12-31T22:59:59.999999999Z");
	assert_int_equal(sjson_parse_time("0000-01-01T00:00:00-01:00", &t), 0);
	assert_string_equal(sjson_format_time(&t, buf, sizeof(buf)), "0000-01-01T01:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_error),
		cmocka_unit_test(test_go_escaping),
		cmocka_unit_test(test_time_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
