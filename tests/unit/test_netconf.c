/* Unit tests for lib/netconf: the interfaces file and resolv.conf of several machines
 * (plain NIC, managed subnet bridge, bridge-only entry, VLAN subnets over one NIC and
 * over a bond of two) compared with their exact text, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netconf.h"

#define HDR                                                                                        \
	"# /etc/network/interfaces -- created by SmallStack installer\n\n"                         \
	"auto lo\niface lo inet loopback\n"

static const char subnets_json[] =
    "[{\"Id\": \"lan\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainName\": \"example.net\", \"DomainNameServers\": [\"10.1.0.53\", \"10.1.0.54\"]},"
    " {\"Id\": \"vms\", \"IpGateway\": \"10.2.0.1\", \"IpMask\": \"255.255.0.0\","
    "  \"DomainNameServers\": [\"10.2.0.53\"], \"Manage\": true},"
    " {\"Id\": \"v20\", \"IpGateway\": \"10.20.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainNameServers\": null, \"VlanId\": 20},"
    " {\"Id\": \"v30\", \"IpGateway\": \"10.30.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainNameServers\": null, \"VlanId\": 30, \"Manage\": true},"
    " {\"Id\": \"v40\", \"IpGateway\": \"10.40.0.1\", \"IpMask\": \"255.255.255.0\","
    "  \"DomainNameServers\": null, \"VlanId\": 40}]";

static const struct netconf_nic nics3[] = {
    {"eth0", {0x52, 0x54, 0, 0, 0, 1}, true},
    {"eth1", {0x52, 0x54, 0, 0, 0, 2}, false},
    {"eth2", {0x52, 0x54, 0, 0, 0, 3}, false},
};

struct result {
	int rc;
	char *ifs, *resolv;
	char err[256];
	int notes;
};

static void count_note(void *arg, const char *msg)
{
	struct result *r = arg;

	(void)msg;
	r->notes++;
}

/* machine: the JSON of the Machine object. */
static struct result run(const char *machine, const struct netconf_nic *nics, size_t n)
{
	struct fmapi_get_machine_info_response info;
	struct result r = {0};
	char *doc, *err = NULL;
	json_error_t je;
	json_t *j;

	assert_true(asprintf(&doc, "{\"Machine\": %s, \"Subnets\": %s}", machine, subnets_json) >
		    0);
	j = json_loads(doc, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s: %s", je.text, doc);
	if (api_decode_msg(&fmapi_get_machine_info_response_type, j, "test", &info, &err) < 0)
		fail_msg("decode: %s", err);
	r.rc =
	    netconf_render(&info, nics, n, count_note, &r, &r.ifs, &r.resolv, r.err, sizeof(r.err));
	api_clear(&fmapi_get_machine_info_response_type, &info);
	json_decref(j);
	free(doc);
	return r;
}

static void done(struct result *r)
{
	free(r->ifs);
	free(r->resolv);
}

static void test_plain_nic(void **state)
{
	struct result r = run("{\"Hostname\": \"h1.example.net\", \"HostIpAddress\": \"10.1.0.5\","
			      " \"HostMacAddress\": \"52:54:00:00:00:01\"}",
			      nics3, 3);

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto eth0\niface eth0 inet static\n"
				       "\taddress      10.1.0.5\n"
				       "\tnetmask      255.255.255.0\n"
				       "\tgateway      10.1.0.1\n");
	assert_string_equal(r.resolv, "; /etc/resolv.conf -- created by SmallStack installer\n\n"
				      "domain example.net\nsearch example.net\n\n"
				      "nameserver 10.1.0.53\nnameserver 10.1.0.54\n");
	done(&r);
}

static void test_managed_bridge(void **state)
{
	struct result r = run("{\"Hostname\": \"h2\", \"HostIpAddress\": \"10.2.3.4\","
			      " \"HostMacAddress\": \"52:54:00:00:00:01\"}",
			      nics3, 3);

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto br0\niface br0 inet static\n"
				       "\taddress      10.2.3.4\n"
				       "\tnetmask      255.255.0.0\n"
				       "\tgateway      10.2.0.1\n"
				       "\thwaddress    52:54:00:00:00:01\n"
				       "\tbridge_ports eth0\n");
	assert_string_equal(r.resolv, "; /etc/resolv.conf -- created by SmallStack installer\n\n"
				      "nameserver 10.2.0.53\n");
	done(&r);
}

static void test_bridge_only(void **state)
{
	struct result r =
	    run("{\"Hostname\": \"h3\", \"HostIpAddress\": \"10.1.0.5\","
		" \"HostMacAddress\": \"52:54:00:00:00:01\", \"SecondaryNetworkEntries\":"
		" [{\"HostMacAddress\": \"52:54:00:00:00:03\", \"SubnetId\": \"vms\"}]}",
		nics3, 3);

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto eth0\niface eth0 inet static\n"
				       "\taddress      10.1.0.5\n"
				       "\tnetmask      255.255.255.0\n"
				       "\tgateway      10.1.0.1\n"
				       "\nauto br@vms\niface br@vms inet manual\n"
				       "\thwaddress    52:54:00:00:00:03\n"
				       "\tbridge_ports eth2\n");
	done(&r);
}

/* eth1 up and not named by any entry: the VLAN raw device for the entry without a MAC
 * (VLAN 20) and for the managed VLAN subnet nobody uses (30); 40 is not managed. */
static void test_vlan_subnets(void **state)
{
	struct netconf_nic nics[3];
	struct result r;

	(void)state;
	memcpy(nics, nics3, sizeof(nics));
	nics[1].up = true;
	r = run("{\"Hostname\": \"h4\", \"HostIpAddress\": \"10.1.0.5\","
		" \"HostMacAddress\": \"52:54:00:00:00:01\", \"SecondaryNetworkEntries\":"
		" [{\"HostIpAddress\": \"10.20.0.9\"}]}",
		nics, 3);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto eth0\niface eth0 inet static\n"
				       "\taddress      10.1.0.5\n"
				       "\tnetmask      255.255.255.0\n"
				       "\tgateway      10.1.0.1\n"
				       "\nauto eth1\niface eth1 inet manual\n"
				       "\nauto eth1.20\niface eth1.20 inet static\n"
				       "\tvlan-raw-device eth1\n"
				       "\taddress 10.20.0.9\n"
				       "\tnetmask 255.255.255.0\n"
				       "\nauto eth1.30\niface eth1.30 inet manual\n"
				       "\tvlan-raw-device eth1\n"
				       "\nauto br30\niface br30 inet manual\n"
				       "\tbridge_ports eth1.30\n");
	done(&r);
}

/* Two remaining up NICs are bonded (bond0, slaves sorted by name); the gateway subnet
 * (GatewaySubnetId) is the VLAN one, so the default route goes there. */
static void test_bond(void **state)
{
	struct netconf_nic nics[3];
	struct result r;

	(void)state;
	memcpy(nics, nics3, sizeof(nics));
	nics[1].up = nics[2].up = true;
	snprintf(nics[1].name, sizeof(nics[1].name), "ens9");
	snprintf(nics[2].name, sizeof(nics[2].name), "ens3");
	r = run(
	    "{\"Hostname\": \"h5\", \"GatewaySubnetId\": \"v20\", \"HostIpAddress\": \"10.1.0.5\","
	    " \"HostMacAddress\": \"52:54:00:00:00:01\", \"SecondaryNetworkEntries\":"
	    " [{\"HostIpAddress\": \"10.20.0.9\"}]}",
	    nics, 3);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto eth0\niface eth0 inet static\n"
				       "\taddress      10.1.0.5\n"
				       "\tnetmask      255.255.255.0\n"
				       "\nauto bond0\niface bond0 inet manual\n"
				       "\tup ip link set bond0 mtu 9000\n"
				       "\tbond-mode 802.3ad\n"
				       "\tbond-xmit_hash_policy 1\n"
				       "\tslaves ens3 ens9\n"
				       "\nauto bond0.20\niface bond0.20 inet static\n"
				       "\tvlan-raw-device bond0\n"
				       "\taddress 10.20.0.9\n"
				       "\tnetmask 255.255.255.0\n"
				       "\tgateway 10.20.0.1\n"
				       "\nauto bond0.30\niface bond0.30 inet manual\n"
				       "\tvlan-raw-device bond0\n"
				       "\nauto br30\niface br30 inet manual\n"
				       "\tbridge_ports bond0.30\n");
	assert_string_equal(r.resolv, "; /etc/resolv.conf -- created by SmallStack installer\n\n");
	done(&r);
}

/* A VlanTrunk entry makes its NIC the raw device of the VLAN subnets; it is already
 * configured (eth0), so it gets no manual stanza of its own. */
static void test_vlan_trunk(void **state)
{
	struct result r = run("{\"Hostname\": \"h8\", \"HostIpAddress\": \"10.1.0.5\","
			      " \"HostMacAddress\": \"52:54:00:00:00:01\", \"VlanTrunk\": true}",
			      nics3, 3);

	(void)state;
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.ifs, HDR "\nauto eth0\niface eth0 inet static\n"
				       "\taddress      10.1.0.5\n"
				       "\tnetmask      255.255.255.0\n"
				       "\tgateway      10.1.0.1\n"
				       "\nauto eth0.30\niface eth0.30 inet manual\n"
				       "\tvlan-raw-device eth0\n"
				       "\nauto br30\niface br30 inet manual\n"
				       "\tbridge_ports eth0.30\n");
	done(&r);
}

static void test_no_default_subnet(void **state)
{
	struct result r;

	(void)state;
	/* MAC on no NIC: skipped with a note, nothing left for the default route. */
	r = run("{\"Hostname\": \"h6\", \"HostIpAddress\": \"10.1.0.5\","
		" \"HostMacAddress\": \"52:54:00:00:00:99\"}",
		nics3, 3);
	assert_int_equal(r.rc, -EINVAL);
	assert_string_equal(r.err, "no default subnet found");
	assert_int_equal(r.notes, 1);
	assert_null(r.ifs);
	assert_null(r.resolv);
	/* IP in no subnet. */
	r = run("{\"Hostname\": \"h6\", \"HostIpAddress\": \"192.168.9.9\","
		" \"HostMacAddress\": \"52:54:00:00:00:01\"}",
		nics3, 3);
	assert_int_equal(r.rc, -EINVAL);
	assert_string_equal(r.err, "no default subnet found");
	assert_int_equal(r.notes, 1);
}

static void test_bridge_only_refusals(void **state)
{
	static const struct {
		const char *entry, *err;
	} cases[] = {
	    {"{\"HostMacAddress\": \"52:54:00:00:00:03\", \"SubnetId\": \"lan\"}",
	     "subnetId: lan is not managed"},
	    {"{\"HostMacAddress\": \"52:54:00:00:00:03\", \"SubnetId\": \"nope\"}",
	     "subnetId: nope not found"},
	    {"{\"HostMacAddress\": \"52:54:00:00:00:77\", \"SubnetId\": \"vms\"}",
	     "MAC address: 52:54:00:00:00:77 not found"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char machine[512];
		struct result r;

		snprintf(
		    machine, sizeof(machine),
		    "{\"Hostname\": \"h7\", \"HostIpAddress\": \"10.1.0.5\", \"HostMacAddress\":"
		    " \"52:54:00:00:00:01\", \"SecondaryNetworkEntries\": [%s]}",
		    cases[i].entry);
		r = run(machine, nics3, 3);
		assert_int_equal(r.rc, -EINVAL);
		assert_string_equal(r.err, cases[i].err);
		assert_null(r.ifs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_nic),
	    cmocka_unit_test(test_managed_bridge),
	    cmocka_unit_test(test_bridge_only),
	    cmocka_unit_test(test_vlan_subnets),
	    cmocka_unit_test(test_bond),
	    cmocka_unit_test(test_vlan_trunk),
	    cmocka_unit_test(test_no_default_subnet),
	    cmocka_unit_test(test_bridge_only_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
