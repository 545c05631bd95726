/* Unit tests of the metadata service's nftables text: golden ruleset, empty state,
 * name validation, teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/hypervisor/metadata/metadata_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN "tests/unit/golden/metadata_ruleset.nft"

static char *read_golden(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static struct metadata_tap tap(const char *name, const char *bridge, uint8_t last, const char *ip)
{
	struct metadata_tap t = {.mac = {0x52, 0x54, 0x00, 0x00, 0x00, last}};

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.bridge, sizeof(t.bridge), "%s", bridge);
	if (ip)
		inet_pton(AF_INET, ip, &t.ip);
	return t;
}

/* Two bridges (one with a 15-character name), a VM with a known address on each, one
 * whose address is not known yet, one whose bridge is not served. */
static void test_golden_ruleset(void **state)
{
	struct metadata_nft_bridge br[2] = {
	    {"br0", "mdv9ba4fc8d", {0x02, 0xa9, 0xfe, 0x23, 0x63, 0xbc}},
	    {"br-prod-vlan120", "mdv0123abcd", {0x02, 0xa9, 0xfe, 0x01, 0x02, 0x03}},
	};
	struct metadata_tap taps[4];
	char path[4096], *text, *golden;
	const char *top = getenv("SS_TOP");

	(void)state;
	taps[0] = tap("tap-a", "br0", 0x11, "10.0.0.11");
	taps[1] = tap("tap-b", "br-prod-vlan120", 0x12, "10.1.0.12");
	taps[2] = tap("tap-c", "br0", 0x13, NULL);
	taps[3] = tap("tap.d", "", 0x14, "10.0.0.14");
	text = metadata_nft_ruleset("smallstack", br, 2, taps, 4);
	assert_non_null(text);
	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", GOLDEN);
	if (getenv("SS_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	golden = read_golden(path);
	if (!golden)
		fail_msg("cannot read %s (run from the top directory or set SS_TOP)", path);
	assert_string_equal(text, golden);
	free(golden);
	free(text);
}

static void test_empty_state(void **state)
{
	char *text = metadata_nft_ruleset("smallstack", NULL, 0, NULL, 0);

	(void)state;
	assert_non_null(text);
	assert_null(strstr(text, "elements"));
	assert_null(strstr(text, "\" : "));
	/* the isolation rules are there without any bridge or VM */
	assert_non_null(strstr(text, "ip daddr 169.254.0.0/16 oifname != @ll_ports drop"));
	assert_non_null(strstr(text, "ip daddr 169.254.0.0/16 meta oifkind != \"bridge\" drop"));
	/* replacing, never flushing: only our own tables are named */
	assert_non_null(strstr(text, "table bridge smallstack\ndelete table bridge smallstack\n"));
	assert_non_null(strstr(text, "table inet smallstack\ndelete table inet smallstack\n"));
	assert_null(strstr(text, "flush"));
	free(text);
}

static void test_tap_rules(void **state)
{
	struct metadata_nft_bridge br = {"br0", "mdv00000001", {2, 0xa9, 0xfe, 1, 2, 3}};
	struct metadata_tap t[2] = {tap("vnet7", "br0", 0x77, "10.9.8.7"),
				    tap("vnet8", "br9", 0x78, "10.9.8.8")};
	char *text = metadata_nft_ruleset("ss", &br, 1, t, 2);

	(void)state;
	assert_non_null(text);
	assert_non_null(strstr(text, "set vm_taps {\n\t\ttype ifname\n"
				     "\t\telements = { \"vnet7\", \"vnet8\" }\n"));
	assert_non_null(strstr(text, "elements = { \"vnet7\" . 52:54:00:00:00:77, "
				     "\"vnet8\" . 52:54:00:00:00:78 }"));
	assert_non_null(strstr(text, "elements = { \"vnet7\" . 10.9.8.7, \"vnet8\" . 10.9.8.8 }"));
	/* the MAC rewrite only for a tap on a served bridge */
	assert_non_null(strstr(text, "map tap_dnat {\n\t\ttype ifname : ether_addr\n"
				     "\t\telements = { \"vnet7\" : 02:a9:fe:01:02:03 }\n"));
	assert_non_null(strstr(text, "\t\tiifname @vm_taps jump vm_tap\n"));
	assert_non_null(strstr(text, "\t\tiifname . ether saddr != @tap_mac drop\n"));
	assert_non_null(strstr(text, "\t\tiifname . ip saddr @tap_ip return\n"));
	assert_non_null(strstr(text, "\t\tether type ip6 return\n\t\tdrop\n\t}\n"));
	free(text);
}

static void test_invalid_names(void **state)
{
	struct metadata_tap bad[] = {
	    tap("t\"1", "", 1, "10.0.0.1"),
	    tap("t 1", "", 1, "10.0.0.1"),
	    tap("", "", 1, "10.0.0.1"),
	    tap("t1", "br\"0", 1, "10.0.0.1"),
	};
	struct metadata_nft_bridge br = {"br 0", "mdv00000001", {0}};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(metadata_nft_ruleset("smallstack", NULL, 0, &bad[i], 1));
		assert_int_equal(errno, EINVAL);
	}
	assert_null(metadata_nft_ruleset("smallstack", &br, 1, NULL, 0));
	assert_null(metadata_nft_ruleset("small stack", NULL, 0, NULL, 0));
	assert_null(metadata_nft_ruleset("1table", NULL, 0, NULL, 0));
	assert_null(metadata_nft_teardown("x;flush ruleset"));
	assert_false(metadata_ifname_ok("0123456789abcdef"));
	assert_true(metadata_ifname_ok("0123456789abcde"));
	assert_false(metadata_ifname_ok(".."));
	assert_true(metadata_ifname_ok("br@prod"));
	assert_false(metadata_ifname_ok("tap*"));
	assert_false(metadata_ifname_ok("a\\b"));
	assert_false(metadata_ifname_ok("a:b"));
	assert_false(metadata_ifname_ok("a/b"));
}

static void test_teardown(void **state)
{
	char *text = metadata_nft_teardown("smallstack");

	(void)state;
	assert_non_null(text);
	assert_string_equal(text, "table bridge smallstack\ndelete table bridge smallstack\n"
				  "table inet smallstack\ndelete table inet smallstack\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_ruleset), cmocka_unit_test(test_empty_state),
	    cmocka_unit_test(test_tap_rules),	   cmocka_unit_test(test_invalid_names),
	    cmocka_unit_test(test_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
