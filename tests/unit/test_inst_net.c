/* Unit tests for installer/net.c's choice of the NIC (spec §3.1): the first entry,
 * primary then secondaries, with an address, a MAC of a local NIC and the address in
 * one of the subnets; and the refusal when none fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "api/codec.h"
#include "installer/net.h"

static const char info_json[] =
    "{\"Machine\": {\"Hostname\": \"m1\", \"HostIpAddress\": \"10.9.0.5\","
    "  \"HostMacAddress\": \"52:54:00:00:00:01\", \"IPMI\": {},"
    "  \"SecondaryNetworkEntries\": ["
    "    {\"HostMacAddress\": \"52:54:00:00:00:02\"},"
    "    {\"HostIpAddress\": \"10.8.0.7\", \"HostMacAddress\": \"52:54:00:00:00:03\"}]},"
    " \"Subnets\": ["
    "  {\"Id\": \"a\", \"IpGateway\": \"10.9.0.1\", \"IpMask\": \"255.255.255.0\","
    "   \"DomainNameServers\": [\"10.9.0.53\"]},"
    "  {\"Id\": \"b\", \"IpGateway\": \"10.8.0.1\", \"IpMask\": \"255.255.0.0\","
    "   \"DomainNameServers\": null}]}";

static struct fmapi_get_machine_info_response info;

static int setup(void **state)
{
	json_t *j = json_loads(info_json, 0, NULL);
	char *err = NULL;
	int rc;

	(void)state;
	assert_non_null(j);
	rc = api_decode_msg(&fmapi_get_machine_info_response_type, j, "test", &info, &err);
	json_decref(j);
	assert_int_equal(rc, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_clear(&fmapi_get_machine_info_response_type, &info);
	return 0;
}

static void check(const struct net_choice *c, const char *nic, const char *ip, const char *mask,
		  const char *gw)
{
	char a[INET_ADDRSTRLEN];

	assert_string_equal(c->nic, nic);
	assert_string_equal(inet_ntop(AF_INET, &c->ip, a, sizeof(a)), ip);
	assert_string_equal(inet_ntop(AF_INET, &c->mask, a, sizeof(a)), mask);
	assert_string_equal(inet_ntop(AF_INET, &c->gateway, a, sizeof(a)), gw);
}

static void test_primary(void **state)
{
	const struct net_nic nics[] = {{"eth0", {0x52, 0x54, 0, 0, 0, 3}},
				       {"eth1", {0x52, 0x54, 0, 0, 0, 1}}};
	struct net_choice c;

	(void)state;
	assert_int_equal(inst_net_choose(&info, nics, 2, &c), 0);
	check(&c, "eth1", "10.9.0.5", "255.255.255.0", "10.9.0.1");
	assert_string_equal(c.subnet->id, "a");
}

/* The primary's NIC is absent; the first secondary has no address: the second. */
static void test_secondary(void **state)
{
	const struct net_nic nics[] = {{"eth0", {0x52, 0x54, 0, 0, 0, 2}},
				       {"eth1", {0x52, 0x54, 0, 0, 0, 3}}};
	struct net_choice c;

	(void)state;
	assert_int_equal(inst_net_choose(&info, nics, 2, &c), 0);
	check(&c, "eth1", "10.8.0.7", "255.255.0.0", "10.8.0.1");
}

static void test_none(void **state)
{
	const struct net_nic nics[] = {{"eth0", {0x52, 0x54, 0, 0, 0, 2}},
				       {"eth1", {0x52, 0x54, 0, 0, 0, 9}}};
	struct net_choice c;

	(void)state;
	assert_int_equal(inst_net_choose(&info, nics, 2, &c), -ENOENT);
	assert_int_equal(inst_net_choose(&info, nics, 0, &c), -ENOENT);
}

/* An address outside every subnet does not count, even with its NIC present. */
static void test_outside(void **state)
{
	const struct net_nic nics[] = {{"eth0", {0x52, 0x54, 0, 0, 0, 1}}};
	struct net_choice c;

	(void)state;
	inet_pton(AF_INET, "192.168.1.5", &info.machine.net.host_ip);
	assert_int_equal(inst_net_choose(&info, nics, 1, &c), -ENOENT);
	inet_pton(AF_INET, "10.9.0.5", &info.machine.net.host_ip);
	assert_int_equal(inst_net_choose(&info, nics, 1, &c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_primary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secondary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outside, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
