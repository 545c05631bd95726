/* Unit tests for daemon/hypervisor/vmm/vmcheck: the bounds on client-given VM strings
 * (issue 17): hostnames as DNS names, tag counts and sizes, owner lists, the VmInfo of
 * CreateVm; each refusal names the field and the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/vmcheck.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_hostname(void **state)
{
	static const char *const good[] = {
	    "", "web1", "a", "web-1.example.com", "9lives", "xn--bcher-kva.example"};
	static const char *const bad[][2] = {
	    {"bad_name!", "only letters, digits, '-' and '.'"},
	    {"a..b", "each label must have 1 to 63 bytes"},
	    {".a", "each label"},
	    {"a.", "each label"},
	    {"-a", "starts or ends with '-'"},
	    {"a-.b", "starts or ends with '-'"},
	    {"a b", "only letters"},
	    {"a\tb", "only letters"},
	};
	char err[256], *label = repeat('a', 63), *long_label = repeat('b', 64), *name;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(vmcheck_hostname(good[i], err, sizeof(err)), 0);
	assert_int_equal(vmcheck_hostname(NULL, err, sizeof(err)), 0);
	assert_int_equal(vmcheck_hostname(label, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(vmcheck_hostname(bad[i][0], err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "invalid hostname"));
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("%s: %s", bad[i][0], err);
	}
	assert_int_equal(vmcheck_hostname(long_label, err, sizeof(err)), -EINVAL);
	/* 4 x 63 + 3 dots = 255 bytes: every label fits, the name does not. */
	assert_true(asprintf(&name, "%s.%s.%s.%s", label, label, label, label) > 0);
	assert_int_equal(vmcheck_hostname(name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "255 bytes (at most 253)"));
	/* The quoted name is cut to 40 bytes. */
	assert_non_null(strstr(err, "aaaa...\""));
	assert_true(strlen(err) < 120);
	name[251] = '\0'; /* 251 bytes, ending in a full label's "aaa" */
	assert_int_equal(vmcheck_hostname(name, err, sizeof(err)), 0);
	assert_int_equal(vmcheck_hostname("a..b", NULL, 0), -EINVAL); /* err may be NULL */
	free(name);
	free(label);
	free(long_label);
}

static void test_tags(void **state)
{
	struct hvapi_tag v[VMCHECK_TAGS_MAX + 1];
	struct hvapi_tags t = {.n = 2, .v = v};
	char err[256], keys[VMCHECK_TAGS_MAX + 1][8];
	char *long_key = repeat('k', VMCHECK_TAG_KEY_MAX + 1), *key = repeat('k', 128);
	char *long_value = repeat('v', VMCHECK_TAG_VALUE_MAX + 1), *value = repeat('v', 1024);

	(void)state;
	memset(v, 0, sizeof(v));
	v[0] = (struct hvapi_tag){.key = key, .value = value};
	v[1] = (struct hvapi_tag){.key = "Name", .value = NULL};
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), 0);

	v[0].key = long_key;
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long: 129 bytes (at most 128)"));
	v[0].key = "";
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "empty tag key");
	v[0].key = "a\nb";
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tag key \"a?b\" has a control character");
	v[0].key = "k";
	v[0].value = long_value;
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "value of tag \"k\" too long: 1025 bytes (at most 1024)");

	v[0].value = "v";
	for (size_t i = 0; i <= VMCHECK_TAGS_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		v[i] = (struct hvapi_tag){.key = keys[i], .value = "v"};
	}
	t.n = VMCHECK_TAGS_MAX;
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), 0);
	t.n = VMCHECK_TAGS_MAX + 1;
	assert_int_equal(vmcheck_tags(&t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many tags: 65 (at most 64)");
	free(long_key);
	free(key);
	free(long_value);
	free(value);
}

static void test_names(void **state)
{
	char *v[VMCHECK_NAMES_MAX + 1], err[256], *long_name = repeat('u', VMCHECK_NAME_MAX + 1);
	struct api_strlist l = {.n = 2, .v = v};

	(void)state;
	for (size_t i = 0; i <= VMCHECK_NAMES_MAX; i++)
		v[i] = "alice";
	v[1] = ""; /* skipped by the handlers, not an error */
	assert_int_equal(vmcheck_names("OwnerUsers", &l, err, sizeof(err)), 0);
	v[1] = long_name;
	assert_int_equal(vmcheck_names("OwnerUsers", &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "OwnerUsers[1] too long: 257 bytes (at most 256)");
	v[1] = "bob\x1b[31m";
	assert_int_equal(vmcheck_names("OwnerGroups", &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "OwnerGroups[1] \"bob?[31m\" has a control character");
	v[1] = "bob";
	l.n = VMCHECK_NAMES_MAX + 1;
	assert_int_equal(vmcheck_names("OwnerUsers", &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many OwnerUsers: 65 (at most 64)");
	free(long_name);
}

static void test_vm_info(void **state)
{
	char *ids[VMCHECK_SUBNETS_MAX + 1], err[256], *long_opts = repeat('o', 2049);
	struct hvapi_tag tag = {.key = "Name", .value = "web1"};
	struct hvapi_vm_info v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.hostname = "web1";
	v.tags = (struct hvapi_tags){.n = 1, .v = &tag};
	v.extra_kernel_options = "console=ttyS0 quiet";
	v.image_url = "http://images.example/x.qcow2";
	v.subnet_id = "prod";
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), 0);

	v.extra_kernel_options = long_opts;
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "ExtraKernelOptions too long: 2049 bytes (at most 2048)");
	v.extra_kernel_options = NULL;
	v.image_url = "http://x/\r\nX-Injected: 1";
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ImageURL \"http://x/??X-Injected: 1\" has a control"));
	v.image_url = NULL;
	v.hostname = "no_underscores";
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid hostname"));
	v.hostname = NULL;
	for (size_t i = 0; i <= VMCHECK_SUBNETS_MAX; i++)
		ids[i] = "sub";
	v.secondary_subnet_ids = (struct api_strlist){.n = VMCHECK_SUBNETS_MAX + 1, .v = ids};
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many SecondarySubnetIDs: 33 (at most 32)");
	v.secondary_subnet_ids.n = 2;
	ids[1] = long_opts;
	assert_int_equal(vmcheck_vm_info(&v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "SecondarySubnetIDs[1] too long: 2049 bytes (at most 256)");
	free(long_opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostname),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_vm_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
