/* Unit tests for lib/api/fleetmanager: the FleetManager wire types as Go's encoding/json
 * writes them (spec/fleet-and-images.md §3): GetMachineInfoResponse built in C and
 * compared byte for byte, ListHypervisorsInLocationResponse with TagsForHypervisors
 * (a list of maps), an Update with every map, round trips, and the MAC of an IP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "api/fleetmanager.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad JSON in test: %s", je.text);
	return j;
}

/* text decodes as t and encodes back to the same bytes (compact, as on the wire). */
static void check_round_trip(const struct api_type *t, const char *text)
{
	void *obj = calloc(1, t->size);
	json_t *j = parse(text);
	char *err = NULL, *s;

	assert_non_null(obj);
	if (api_decode_msg(t, j, t->name, obj, &err) != 0)
		fail_msg("%s: %s", t->name, err ? err : "decode failed");
	s = api_dumps(t, obj, 0);
	assert_non_null(s);
	assert_string_equal(s, text);
	free(s);
	api_clear(t, obj);
	free(obj);
	json_decref(j);
}

static const char machine_info[] =
    "{\"Location\":\"NYC/rack0\",\"Machine\":{\"ArchitectureType\":\"amd64\","
    "\"MemoryInMiB\":65536,\"NumCPUs\":16,\"IPMI\":{},\"Location\":\"NYC/rack0\","
    "\"Hostname\":\"hyper0\",\"HostIpAddress\":\"192.168.1.2\","
    "\"HostMacAddress\":\"de:ad:be:ef:00:01\",\"OwnerGroups\":[\"ops\"],"
    "\"SecondaryNetworkEntries\":[{\"HostMacAddress\":\"de:ad:be:ef:00:0a\","
    "\"SubnetId\":\"Egress\"},{\"HostIpAddress\":\"10.20.0.5\",\"VlanTrunk\":true}],"
    "\"Tags\":{\"RequiredImage\":\"hypervisor/2024-01-18:22:57:43\",\"Type\":\"big\"}},"
    "\"Subnets\":[{\"Id\":\"Production\",\"IpGateway\":\"192.168.1.1\","
    "\"IpMask\":\"255.255.255.0\",\"DomainNameServers\":[\"192.168.1.53\"],\"Manage\":true,"
    "\"VlanId\":10}]}";

static void test_get_machine_info_response(void **state)
{
	struct fmapi_get_machine_info_response r = {0};
	struct fmapi_machine *m = &r.machine;
	struct fmapi_network_entry sec[2] = {{0}};
	struct hvapi_tag tags[2] = {{"RequiredImage", "hypervisor/2024-01-18:22:57:43"},
				    {"Type", "big"}};
	struct hvapi_subnet subnet = {0};
	struct in_addr dns = ip("192.168.1.53");
	char *groups[] = {"ops"}, *s;
	static const uint8_t mac[6] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};

	(void)state;
	r.location = "NYC/rack0";
	m->data.architecture = HVAPI_ARCH_AMD64;
	m->data.memory_mib = 65536;
	m->data.num_cpus = 16;
	m->location = "NYC/rack0";
	m->net.hostname = "hyper0";
	m->net.host_ip = ip("192.168.1.2");
	memcpy(m->net.host_mac, mac, 6);
	m->owner_groups = (struct api_strlist){1, groups};
	memcpy(sec[0].host_mac, mac, 6);
	sec[0].host_mac[5] = 0x0a;
	sec[0].subnet_id = "Egress";
	sec[1].host_ip = ip("10.20.0.5");
	sec[1].vlan_trunk = true;
	m->secondary = (struct fmapi_network_entries){2, sec};
	m->tags = (struct hvapi_tags){2, tags};
	subnet.id = "Production";
	subnet.ip_gateway = ip("192.168.1.1");
	subnet.ip_mask = ip("255.255.255.0");
	subnet.domain_name_servers.n = 1;
	subnet.domain_name_servers.v = &dns;
	subnet.manage = true;
	subnet.vlan_id = 10;
	r.subnets = (struct hvapi_subnets){1, &subnet};
	/* IPMI is {} although empty (a Go struct field), the zero fields are left out. */
	s = api_dumps(&fmapi_get_machine_info_response_type, &r, 0);
	assert_non_null(s);
	assert_string_equal(s, machine_info);
	free(s);
	check_round_trip(&fmapi_get_machine_info_response_type, machine_info);
}

static void test_get_machine_info_error(void **state)
{
	struct fmapi_get_machine_info_response r = {.error = "unknown machine: x"};
	char *s;

	(void)state;
	s = api_dumps(&fmapi_get_machine_info_response_type, &r, 0);
	assert_string_equal(s, "{\"Error\":\"unknown machine: x\",\"Machine\":{\"IPMI\":{}}}");
	free(s);
}

static void test_machine_decode_mac_case(void **state)
{
	struct fmapi_machine m = {0};
	json_t *j = parse("{\"hostname\":\"h\",\"HostMacAddress\":\"DE:AD:BE:EF:00:0A\","
			  "\"IPMI\":{\"HostIpAddress\":\"10.9.0.1\"},\"Tags\":{\"a\":\"b\"}}");
	char *err = NULL, *s;

	(void)state;
	assert_int_equal(api_decode_msg(&fmapi_machine_type, j, "Machine", &m, &err), 0);
	assert_string_equal(m.net.hostname, "h");
	assert_int_equal(m.net.host_mac[5], 0x0a);
	assert_int_equal(m.tags.n, 1);
	s = api_dumps(&fmapi_machine_type, &m, 0);
	assert_string_equal(s, "{\"IPMI\":{\"HostIpAddress\":\"10.9.0.1\"},\"Hostname\":\"h\","
			       "\"HostMacAddress\":\"de:ad:be:ef:00:0a\",\"Tags\":{\"a\":\"b\"}}");
	free(s);
	fmapi_machine_clear(&m);
	json_decref(j);
}

static void test_list_hypervisors_response(void **state)
{
	static const char text[] =
	    "{\"Error\":\"\",\"HypervisorAddresses\":[\"hyper0:6976\",\"hyper1:6976\"],"
	    "\"TagsForHypervisors\":[{\"RequiredImage\":\"img/1\",\"Type\":\"big\"},"
	    "{\"Type\":\"small\"}]}";
	struct fmapi_list_hypervisors_in_location_response r = {0};
	json_t *j = parse(text);
	char *err = NULL, *s;

	(void)state;
	assert_int_equal(api_decode_msg(&fmapi_list_hypervisors_in_location_response_type, j,
					"ListHypervisorsInLocationResponse", &r, &err),
			 0);
	assert_int_equal(r.hypervisor_addresses.n, 2);
	assert_int_equal(r.tags_for_hypervisors.n, 2);
	assert_int_equal(r.tags_for_hypervisors.v[0].n, 2);
	assert_string_equal(r.tags_for_hypervisors.v[0].v[1].key, "Type");
	assert_string_equal(r.tags_for_hypervisors.v[0].v[1].value, "big");
	assert_int_equal(r.tags_for_hypervisors.v[1].n, 1);
	assert_string_equal(r.tags_for_hypervisors.v[1].v[0].value, "small");
	fmapi_list_hypervisors_in_location_response_clear(&r);
	json_decref(j);
	check_round_trip(&fmapi_list_hypervisors_in_location_response_type, text);

	/* Without TagsToInclude the list is left out; an empty address list is null. */
	memset(&r, 0, sizeof(r));
	s = api_dumps(&fmapi_list_hypervisors_in_location_response_type, &r, 0);
	assert_string_equal(s, "{\"Error\":\"\",\"HypervisorAddresses\":null}");
	free(s);
}

static void test_update(void **state)
{
	static const char text[] =
	    "{\"ChangedHypervisors\":{\"hyper0\":{\"AllocatedMilliCPUs\":2000,"
	    "\"AllocatedMemory\":4096,\"AvailableMemory\":60000,"
	    "\"NumFreeAddresses\":{\"Production\":16}}},"
	    "\"ChangedMachines\":[{\"IPMI\":{},\"Location\":\"NYC\",\"Hostname\":\"hyper0\"}],"
	    "\"ChangedVMs\":{\"10.0.0.9\":{}},"
	    "\"DeletedMachines\":[\"old\"],\"DeletedVMs\":[\"10.0.0.8\"],"
	    "\"VmToHypervisor\":{\"10.0.0.9\":\"hyper0\"}}";
	struct fmapi_update u = {0};
	json_t *j = parse(text);
	char *err = NULL;

	(void)state;
	assert_int_equal(api_decode_msg(&fmapi_update_type, j, "Update", &u, &err), 0);
	assert_int_equal(u.changed_hypervisors.n, 1);
	assert_string_equal(u.changed_hypervisors.v[0].hostname, "hyper0");
	assert_int_equal(u.changed_hypervisors.v[0].data.allocated_milli_cpus, 2000);
	assert_int_equal(u.changed_hypervisors.v[0].data.num_free_addresses.n, 1);
	assert_int_equal(u.changed_hypervisors.v[0].data.num_free_addresses.v[0].count, 16);
	assert_int_equal(u.changed_vms.n, 1);
	assert_null(u.changed_vms.v[0].vm); /* {}: deleted */
	assert_int_equal(u.vm_to_hypervisor.n, 1);
	assert_string_equal(u.vm_to_hypervisor.v[0].key, "10.0.0.9");
	assert_string_equal(u.vm_to_hypervisor.v[0].value, "hyper0");
	fmapi_update_clear(&u);
	json_decref(j);
	check_round_trip(&fmapi_update_type, text);
	check_round_trip(&fmapi_update_type, "{}");
}

static void test_topology_subnet(void **state)
{
	(void)state;
	check_round_trip(
	    &fmapi_topology_subnet_type,
	    "{\"Id\":\"P\",\"IpGateway\":\"10.0.0.1\",\"IpMask\":\"255.255.255.0\","
	    "\"DomainNameServers\":null,\"Manage\":true,\"FirstAutoIP\":\"10.0.0.100\","
	    "\"LastAutoIP\":\"10.0.0.199\",\"ReservedIPs\":[\"10.0.0.150\"]}");
	check_round_trip(&fmapi_owners_type, "{\"OwnerGroups\":[\"a\",\"b\"]}");
}

static void test_mac_from_ip(void **state)
{
	uint8_t mac[6];
	static const uint8_t want[6] = {0x52, 0x54, 0x0a, 0x00, 0x00, 0x05};
	static const uint8_t want2[6] = {0x52, 0x54, 0xc0, 0xa8, 0x01, 0xfe};

	(void)state;
	fmapi_mac_from_ip(ip("10.0.0.5"), mac);
	assert_memory_equal(mac, want, 6);
	fmapi_mac_from_ip(ip("192.168.1.254"), mac);
	assert_memory_equal(mac, want2, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_machine_info_response),
	    cmocka_unit_test(test_get_machine_info_error),
	    cmocka_unit_test(test_machine_decode_mac_case),
	    cmocka_unit_test(test_list_hypervisors_response),
	    cmocka_unit_test(test_update),
	    cmocka_unit_test(test_topology_subnet),
	    cmocka_unit_test(test_mac_from_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
