/* Unit tests of the metadata namespace naming: veth names that always fit IFNAMSIZ
 * (weaknesses #38), the namespace MAC, netmask prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/hypervisor/metadata/metadata_netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_veth_name_fits(void **state)
{
	const char *bridges[] = {"b", "br0", "br-long-name", "br@production", "0123456789abcde"};
	char name[IFNAMSIZ];

	(void)state;
	for (size_t i = 0; i < sizeof(bridges) / sizeof(bridges[0]); i++) {
		for (unsigned int salt = 0; salt < 16; salt++) {
			metadata_veth_name(bridges[i], salt, name);
			assert_int_equal(strlen(name), 11);
			assert_true(strncmp(name, "mdv", 3) == 0);
			assert_int_equal(strspn(name + 3, "0123456789abcdef"), 8);
		}
	}
}

static void test_veth_name_stable_and_distinct(void **state)
{
	enum { N = 2000 };
	char(*names)[IFNAMSIZ] = calloc(N, IFNAMSIZ);
	char a[IFNAMSIZ], b[IFNAMSIZ], br[IFNAMSIZ];

	(void)state;
	assert_non_null(names);
	metadata_veth_name("br-prod-vlan120", 0, a);
	metadata_veth_name("br-prod-vlan120", 0, b);
	assert_string_equal(a, b);
	metadata_veth_name("br-prod-vlan120", 1, b);
	assert_string_not_equal(a, b);
	/* bridges differing in their 13th+ character: the original's "<br>-ll" collided */
	metadata_veth_name("br-prod-vlan12", 0, a);
	metadata_veth_name("br-prod-vlan13", 0, b);
	assert_string_not_equal(a, b);
	for (int i = 0; i < N; i++) {
		snprintf(br, sizeof(br), "br-vlan%d", i);
		metadata_veth_name(br, 0, names[i]);
	}
	qsort(names, N, IFNAMSIZ, cmp_name);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(names[i - 1], names[i]);
	free(names);
}

static void test_ns_mac(void **state)
{
	uint8_t a[6], b[6], c[6];

	(void)state;
	metadata_ns_mac("br0", a);
	metadata_ns_mac("br0", b);
	metadata_ns_mac("br1", c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(a[0] & 0x01, 0); /* unicast */
	assert_int_equal(a[0] & 0x02, 2); /* locally administered */
}

static void test_host_mac(void **state)
{
	uint8_t a[6], b[6], c[6], ns[6];

	(void)state;
	metadata_host_mac("br0", a);
	metadata_host_mac("br0", b);
	metadata_host_mac("br1", c);
	metadata_ns_mac("br0", ns);
	assert_memory_equal(a, b, 6);	  /* the same across restarts */
	assert_memory_not_equal(a, c, 6); /* one per bridge */
	assert_memory_not_equal(a, ns, 6);
	assert_int_equal(a[0], 0xfe); /* above the NICs' and taps' addresses */
	assert_int_equal(a[0] & 0x01, 0);
	assert_int_equal(a[0] & 0x02, 2);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void test_mask_prefix(void **state)
{
	(void)state;
	assert_int_equal(metadata_mask_prefix(ip("255.255.255.0")), 24);
	assert_int_equal(metadata_mask_prefix(ip("255.255.0.0")), 16);
	assert_int_equal(metadata_mask_prefix(ip("255.255.255.255")), 32);
	assert_int_equal(metadata_mask_prefix(ip("0.0.0.0")), 0);
	assert_int_equal(metadata_mask_prefix(ip("255.255.254.0")), 23);
	assert_int_equal(metadata_mask_prefix(ip("255.0.255.0")), -EINVAL);
	assert_int_equal(metadata_mask_prefix(ip("0.0.0.255")), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_veth_name_fits),
	    cmocka_unit_test(test_veth_name_stable_and_distinct),
	    cmocka_unit_test(test_ns_mac),
	    cmocka_unit_test(test_host_mac),
	    cmocka_unit_test(test_mask_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
