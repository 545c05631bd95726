/* Unit tests for lib/api (codec + hypervisor wire types): golden info.json, round trips,
 * strict decoding with paths, Go compatibility details, filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/hypervisor.h"

static const char golden_info[] =
    "{\n"
    "    \"Address\": {\n"
    "        \"IpAddress\": \"10.2.3.4\",\n"
    "        \"MacAddress\": \"52:54:00:aa:bb:cc\"\n"
    "    },\n"
    "    \"ArchitectureType\": \"amd64\",\n"
    "    \"ChangedStateOn\": \"2024-05-01T10:00:00.123456789Z\",\n"
    "    \"ConsoleType\": \"vnc\",\n"
    "    \"CreatedOn\": \"2024-05-01T09:59:50Z\",\n"
    "    \"CpuPriority\": -5,\n"
    "    \"DestroyOnPowerdown\": true,\n"
    "    \"DestroyProtection\": true,\n"
    "    \"DisableVirtIO\": true,\n"
    "    \"ExtraKernelOptions\": \"quiet\",\n"
    "    \"FirmwareType\": \"uefi\",\n"
    "    \"Hostname\": \"myvm\",\n"
    "    \"IdentityExpires\": \"0001-01-01T00:00:00Z\",\n"
    "    \"ImageName\": \"stream/2024-05-01:09:00:00\",\n"
    "    \"MachineType\": \"q35\",\n"
    "    \"MemoryInMiB\": 1024,\n"
    "    \"MilliCPUs\": 1000,\n"
    "    \"NetworkEntries\": [\n"
    "        {\n"
    "            \"NumQueues\": 4\n"
    "        }\n"
    "    ],\n"
    "    \"OwnerGroups\": [\n"
    "        \"team\"\n"
    "    ],\n"
    "    \"OwnerUsers\": [\n"
    "        \"alice\",\n"
    "        \"bob\"\n"
    "    ],\n"
    "    \"State\": \"failed to start\",\n"
    "    \"SecondaryAddresses\": [\n"
    "        {\n"
    "            \"IpAddress\": \"10.2.3.5\",\n"
    "            \"MacAddress\": \"52:54:00:aa:bb:cd\"\n"
    "        }\n"
    "    ],\n"
    "    \"SecondarySubnetIDs\": [\n"
    "        \"sub2\"\n"
    "    ],\n"
    "    \"SubnetId\": \"prod\",\n"
    "    \"Tags\": {\n"
    "        \"A\": \"\\u003c\\u0026\\u003e\",\n"
    "        \"Name\": \"web1\"\n"
    "    },\n"
    "    \"VirtualCPUs\": 2,\n"
    "    \"Volumes\": [\n"
    "        {\n"
    "            \"DFM\": {},\n"
    "            \"Format\": \"qcow2\",\n"
    "            \"Interface\": \"nvme\",\n"
    "            \"Size\": 123,\n"
    "            \"Snapshots\": {\n"
    "                \"\": 123,\n"
    "                \"daily\": 456\n"
    "            },\n"
    "            \"Type\": \"memory\",\n"
    "            \"VirtualSize\": 789\n"
    "        },\n"
    "        {\n"
    "            \"DFM\": {\n"
    "                \"NvramSize\": 4096,\n"
    "                \"Profile\": \"p\"\n"
    "            },\n"
    "            \"Interface\": \"dfm\",\n"
    "            \"Size\": 5\n"
    "        }\n"
    "    ],\n"
    "    \"WatchdogAction\": \"reset\",\n"
    "    \"WatchdogModel\": \"i6300esb\",\n"
    "    \"VolumeLocations\": [\n"
    "        {\n"
    "            \"DirectoryToCleanup\": \"/data/hyper-volumes/10.2.3.4\",\n"
    "            \"Filename\": \"/data/hyper-volumes/10.2.3.4/root\"\n"
    "        }\n"
    "    ]\n"
    "}\n";

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);
	assert_non_null(p);
	return p;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct timespec utc(int y, int mo, int d, int h, int mi, int s, long ns)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	struct timespec t = {timegm(&tm), ns};
	return t;
}

static void set_mac(uint8_t mac[6], uint8_t last)
{
	const uint8_t m[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, last};
	memcpy(mac, m, 6);
}

static void fill_strlist(struct api_strlist *l, const char *a, const char *b)
{
	assert_int_equal(api_strlist_add(l, a), 0);
	if (b)
		assert_int_equal(api_strlist_add(l, b), 0);
}

static void make_info(struct hvapi_local_vm_info *li)
{
	struct hvapi_vm_info *v = &li->vm;
	struct hvapi_volume *vol;

	memset(li, 0, sizeof(*li));
	v->address.ip = ip("10.2.3.4");
	set_mac(v->address.mac, 0xcc);
	v->architecture = HVAPI_ARCH_AMD64;
	v->changed_state_on = utc(2024, 5, 1, 10, 0, 0, 123456789);
	v->console_type = HVAPI_CONSOLE_VNC;
	v->created_on = utc(2024, 5, 1, 9, 59, 50, 0);
	v->cpu_priority = -5;
	v->destroy_on_powerdown = v->destroy_protection = v->disable_virtio = true;
	v->extra_kernel_options = xstrdup("quiet");
	v->firmware = HVAPI_FIRMWARE_UEFI;
	v->hostname = xstrdup("myvm");
	v->image_name = xstrdup("stream/2024-05-01:09:00:00");
	v->machine_type = HVAPI_MACHINE_Q35;
	v->memory_mib = 1024;
	v->milli_cpus = 1000;
	v->network_entries.n = 1;
	v->network_entries.v = xcalloc(1, sizeof(*v->network_entries.v));
	v->network_entries.v[0].num_queues = 4;
	fill_strlist(&v->owner_groups, "team", NULL);
	fill_strlist(&v->owner_users, "alice", "bob");
	v->state = HVAPI_STATE_FAILED_TO_START;
	v->secondary_addresses.n = 1;
	v->secondary_addresses.v = xcalloc(1, sizeof(struct hvapi_address));
	v->secondary_addresses.v[0].ip = ip("10.2.3.5");
	set_mac(v->secondary_addresses.v[0].mac, 0xcd);
	fill_strlist(&v->secondary_subnet_ids, "sub2", NULL);
	v->subnet_id = xstrdup("prod");
	assert_int_equal(hvapi_tags_set(&v->tags, "Name", "web1"), 0);
	assert_int_equal(hvapi_tags_set(&v->tags, "A", "<&>"), 0);
	v->virtual_cpus = 2;
	v->volumes.n = 2;
	v->volumes.v = vol = xcalloc(2, sizeof(*vol));
	vol[0].format = HVAPI_VOLUME_FORMAT_QCOW2;
	vol[0].interface = HVAPI_VOLUME_INTERFACE_NVME;
	vol[0].size = 123;
	vol[0].snapshots.n = 2;
	vol[0].snapshots.v = xcalloc(2, sizeof(struct hvapi_snapshot));
	/* Out of order on purpose: Go writes map keys sorted. */
	vol[0].snapshots.v[0].name = xstrdup("daily");
	vol[0].snapshots.v[0].size = 456;
	vol[0].snapshots.v[1].name = xstrdup("");
	vol[0].snapshots.v[1].size = 123;
	vol[0].type = HVAPI_VOLUME_TYPE_MEMORY;
	vol[0].virtual_size = 789;
	vol[1].dfm.nvram_size = 4096;
	vol[1].dfm.profile = xstrdup("p");
	vol[1].interface = HVAPI_VOLUME_INTERFACE_DFM;
	vol[1].size = 5;
	v->watchdog_action = HVAPI_WATCHDOG_ACTION_RESET;
	v->watchdog_model = HVAPI_WATCHDOG_MODEL_I6300ESB;
	li->volume_locations.n = 1;
	li->volume_locations.v = xcalloc(1, sizeof(struct hvapi_local_volume));
	li->volume_locations.v[0].directory_to_cleanup = xstrdup("/data/hyper-volumes/10.2.3.4");
	li->volume_locations.v[0].filename = xstrdup("/data/hyper-volumes/10.2.3.4/root");
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	assert_non_null(j);
	return j;
}

static void test_golden_info_json(void **state)
{
	struct hvapi_local_vm_info li;
	char *s;

	(void)state;
	make_info(&li);
	s = api_dumps(&hvapi_local_vm_info_type, &li, SJSON_PRETTY);
	assert_non_null(s);
	assert_string_equal(s, golden_info);
	free(s);
	hvapi_local_vm_info_clear(&li);
	assert_null(li.vm.hostname);
}

static void test_golden_decodes_back(void **state)
{
	struct hvapi_local_vm_info li;
	json_t *j = parse(golden_info);
	char *err = NULL, *s;

	(void)state;
	assert_int_equal(api_decode_msg(&hvapi_local_vm_info_type, j, "info.json", &li, &err), 0);
	assert_null(err);
	assert_int_equal(li.vm.address.ip.s_addr, ip("10.2.3.4").s_addr);
	assert_int_equal(li.vm.address.mac[5], 0xcc);
	assert_int_equal(li.vm.state, HVAPI_STATE_FAILED_TO_START);
	assert_int_equal(li.vm.changed_state_on.tv_nsec, 123456789);
	assert_int_equal(li.vm.identity_expires.tv_sec, 0);
	assert_int_equal(li.vm.cpu_priority, -5);
	assert_string_equal(li.vm.identity_name, ""); /* decoded strings are never NULL */
	assert_string_equal(hvapi_tags_get(&li.vm.tags, "A"), "<&>");
	assert_int_equal(li.vm.volumes.n, 2);
	assert_int_equal(hvapi_volume_effective_size(&li.vm.volumes.v[0]), 789);
	assert_int_equal(li.vm.volumes.v[1].dfm.nvram_size, 4096);
	assert_string_equal(li.vm.volumes.v[0].dfm.profile, "");
	assert_int_equal(li.volume_locations.n, 1);
	s = api_dumps(&hvapi_local_vm_info_type, &li, SJSON_PRETTY);
	assert_string_equal(s, golden_info);
	free(s);
	hvapi_local_vm_info_clear(&li);
	json_decref(j);
}

static void test_zero_vm_info(void **state)
{
	struct hvapi_vm_info v;
	char *s;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.state = HVAPI_STATE_STOPPED;
	s = api_dumps(&hvapi_vm_info_type, &v, 0);
	assert_string_equal(s, "{\"Address\":{\"MacAddress\":\"\"},"
			       "\"ChangedStateOn\":\"0001-01-01T00:00:00Z\","
			       "\"CreatedOn\":\"0001-01-01T00:00:00Z\","
			       "\"IdentityExpires\":\"0001-01-01T00:00:00Z\","
			       "\"MemoryInMiB\":0,\"MilliCPUs\":0,\"State\":\"stopped\"}");
	free(s);
}

static void test_strict_errors(void **state)
{
	static const struct {
		const char *json, *err;
	} cases[] = {
	    {"{\"Volumes\":[{\"Size\":1},{\"Size\":\"x\"}]}",
	     "info.json: .Volumes[1].Size: expected integer, got string"},
	    {"{\"State\":\"bogus\"}", "info.json: .State: unknown value \"bogus\""},
	    {"{\"State\":10}", "info.json: .State: value 10 out of range"},
	    {"{\"MemoryInMiB\":-1}", "info.json: .MemoryInMiB"},
	    {"{\"MilliCPUs\":1.5}", "info.json: .MilliCPUs: expected integer, got number"},
	    {"{\"Address\":{\"IpAddress\":\"10.1.2\"}}",
	     "info.json: .Address.IpAddress: bad IPv4 address \"10.1.2\""},
	    {"{\"Address\":{\"MacAddress\":\"52:54\"}}",
	     "info.json: .Address.MacAddress: bad MAC address"},
	    {"{\"CreatedOn\":\"yesterday\"}", "info.json: .CreatedOn: bad RFC 3339 time"},
	    {"{\"Tags\":[\"a\"]}", "info.json: .Tags: expected object, got array"},
	    {"{\"Tags\":{\"k\":1}}", "info.json: .Tags.k: expected string, got integer"},
	    {"{\"OwnerUsers\":\"alice\"}", "info.json: .OwnerUsers: expected array, got string"},
	    {"{\"Volumes\":[{\"Snapshots\":{\"a b\":true}}]}",
	     "info.json: .Volumes[0].Snapshots[\"a b\"]: expected integer, got boolean"},
	    {"{\"VolumeLocations\":[{\"Filename\":7}]}",
	     "info.json: .VolumeLocations[0].Filename: expected string, got integer"},
	    {"[1]", "info.json: expected object, got array"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hvapi_local_vm_info li;
		json_t *j = parse(cases[i].json);
		char *err = NULL;
		int rc = api_decode_msg(&hvapi_local_vm_info_type, j, "info.json", &li, &err);

		if (rc != -EINVAL || !err || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu %s: rc %d err %s", i, cases[i].json, rc,
				 err ? err : "-");
		assert_null(li.vm.volumes.v); /* cleared on failure */
		free(err);
		json_decref(j);
	}
}

static void test_case_insensitive_and_unknown_keys(void **state)
{
	struct hvapi_start_vm_request r;
	json_t *j = parse("{\"ipaddress\":\"10.0.0.7\",\"DHCPTIMEOUT\":5,\"Bogus\":[1,2],"
			  "\"AccessToken\":\"AAEC\"}");
	char *err = NULL;

	(void)state;
	assert_int_equal(api_decode_msg(&hvapi_start_vm_request_type, j, NULL, &r, &err), 0);
	assert_int_equal(r.ip.s_addr, ip("10.0.0.7").s_addr);
	assert_int_equal(r.dhcp_timeout_ns, 5);
	assert_int_equal(r.access_token.len, 3);
	assert_int_equal(r.access_token.data[2], 2);
	hvapi_start_vm_request_clear(&r);
	json_decref(j);
}

/* Real vm-control sends nil lists and maps as null (rpc.md §10.9). */
static void test_go_list_vms_request(void **state)
{
	const char *go = "{\"IgnoreStateMask\":0,\"OwnerGroups\":null,\"OwnerUsers\":null,"
			 "\"Sort\":true,\"VmTagsToMatch\":null}";
	struct hvapi_list_vms_request r;
	json_t *j = parse(go);
	char *s;

	(void)state;
	assert_int_equal(api_decode_msg(&hvapi_list_vms_request_type, j, NULL, &r, NULL), 0);
	assert_true(r.sort);
	assert_int_equal(r.owner_users.n, 0);
	assert_int_equal(r.vm_tags_to_match.n, 0);
	s = api_dumps(&hvapi_list_vms_request_type, &r, 0);
	assert_string_equal(s, go); /* byte for byte what Go writes */
	free(s);
	hvapi_list_vms_request_clear(&r);
	json_decref(j);
}

static void test_get_capacity_example(void **state)
{
	struct hvapi_get_capacity_response r = {
	    .available_memory_mib = 12000,
	    .memory_mib = 64000,
	    .num_cpus = 16,
	    .total_volume_bytes = 1000000000000ull,
	};
	char *s = api_dumps(&hvapi_get_capacity_response_type, &r, 0);

	(void)state;
	assert_string_equal(s, "{\"AvailableMemoryInMiB\":12000,\"MemoryInMiB\":64000,"
			       "\"NumCPUs\":16,\"TotalVolumeBytes\":1000000000000}");
	free(s);
}

static void test_create_vm_request_round_trip(void **state)
{
	struct hvapi_create_vm_request r, back;
	json_t *j;
	char *a, *b;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.dhcp_timeout_ns = -1;
	r.do_not_start = true;
	r.identity_key.data = (uint8_t *)xstrdup("-----BEGIN-----");
	r.identity_key.len = 15;
	r.image_data_size = 1 << 20;
	r.image_timeout_ns = 5000000000;
	fill_strlist(&r.overlay_directories, "/etc", NULL);
	r.overlay_files.n = 1;
	r.overlay_files.v = xcalloc(1, sizeof(struct hvapi_file));
	r.overlay_files.v[0].name = xstrdup("/etc/motd");
	r.overlay_files.v[0].data.data = (uint8_t *)xstrdup("hi\n");
	r.overlay_files.v[0].data.len = 3;
	r.secondary_volumes.n = 1;
	r.secondary_volumes.v = xcalloc(1, sizeof(struct hvapi_volume));
	r.secondary_volumes.v[0].size = 1 << 30;
	r.secondary_volumes_init.n = 1;
	r.secondary_volumes_init.v = xcalloc(1, sizeof(struct hvapi_volume_init));
	r.secondary_volumes_init.v[0].label = xstrdup("data");
	r.secondary_volumes_init.v[0].reserved_blocks_percentage = 2;
	r.storage_indices.n = 2;
	r.storage_indices.v = xcalloc(2, sizeof(uint32_t));
	r.storage_indices.v[1] = 1;
	r.user_data_size = 12;
	r.vm.memory_mib = 512;
	r.vm.milli_cpus = 250;
	r.vm.hostname = xstrdup("h");
	fill_strlist(&r.vm.owner_users, "alice", NULL);

	j = hvapi_create_vm_request_to_json(&r);
	assert_non_null(j);
	/* Request-only fields are omitted when zero; VmInfo fields follow their own rules. */
	assert_null(json_object_get(j, "EnableNetboot"));
	assert_null(json_object_get(j, "IdentityCertificate"));
	assert_string_equal(json_string_value(json_object_get(j, "IdentityKey")),
			    "LS0tLS1CRUdJTi0tLS0t");
	assert_string_equal(json_string_value(json_object_get(j, "State")), "starting");
	assert_int_equal(json_integer_value(json_object_get(j, "DhcpTimeout")), -1);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "OverlayFiles"), "/etc/motd")),
	    "aGkK");
	assert_int_equal(api_decode_msg(&hvapi_create_vm_request_type, j, NULL, &back, NULL), 0);
	a = api_dumps(&hvapi_create_vm_request_type, &r, 0);
	b = api_dumps(&hvapi_create_vm_request_type, &back, 0);
	assert_string_equal(a, b);
	assert_int_equal(back.storage_indices.v[1], 1);
	assert_int_equal(back.secondary_volumes_init.v[0].reserved_blocks_percentage, 2);
	assert_memory_equal(back.overlay_files.v[0].data.data, "hi\n", 3);
	free(a);
	free(b);
	json_decref(j);
	hvapi_create_vm_request_clear(&r);
	hvapi_create_vm_request_clear(&back);
}

static void test_update_vm_deletion(void **state)
{
	struct hvapi_update u, back;
	char *s;
	json_t *j;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.have_vms = true;
	u.has_available_memory = true; /* a pointer field: 0 is still written */
	u.vms.n = 2;
	u.vms.v = xcalloc(2, sizeof(struct hvapi_vm_entry));
	u.vms.v[0].ip = xstrdup("10.0.0.9");
	u.vms.v[1].ip = xstrdup("10.0.0.10");
	u.vms.v[1].vm = xcalloc(1, sizeof(struct hvapi_vm_info));
	u.vms.v[1].vm->state = HVAPI_STATE_RUNNING;
	u.vms.v[1].vm->memory_mib = 64;
	s = api_dumps(&hvapi_update_type, &u, 0);
	assert_string_equal(
	    s, "{\"AvailableMemoryInMiB\":0,\"HaveVMs\":true,\"VMs\":{\"10.0.0.10\":{"
	       "\"Address\":{\"MacAddress\":\"\"},\"ChangedStateOn\":\"0001-01-01T00:00:00Z\","
	       "\"CreatedOn\":\"0001-01-01T00:00:00Z\",\"IdentityExpires\":"
	       "\"0001-01-01T00:00:00Z\",\"MemoryInMiB\":64,\"MilliCPUs\":0,\"State\":"
	       "\"running\"},\"10.0.0.9\":{}}}");
	j = parse(s);
	assert_int_equal(api_decode_msg(&hvapi_update_type, j, NULL, &back, NULL), 0);
	assert_true(back.has_available_memory);
	assert_false(back.has_memory);
	assert_int_equal(back.vms.n, 2);
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(back.vms.v[i].ip, "10.0.0.9") == 0)
			assert_null(back.vms.v[i].vm);
		else
			assert_int_equal(back.vms.v[i].vm->memory_mib, 64);
	}
	free(s);
	json_decref(j);
	hvapi_update_clear(&u);
	hvapi_update_clear(&back);
}

static void test_address_pool_and_subnets(void **state)
{
	struct hvapi_address_pool pool;
	struct hvapi_subnets subnets;
	struct sjson_dec d;
	json_t *j = parse("{\"Free\":null,\"Registered\":[{\"MacAddress\":\"52:54:00:AA:BB:CC\"},"
			  "{\"IpAddress\":\"10.2.3.4\",\"MacAddress\":\"52:54:0a:02:03:04\"}]}");
	char *s;

	(void)state;
	assert_int_equal(api_decode_msg(&hvapi_address_pool_type, j, NULL, &pool, NULL), 0);
	assert_int_equal(pool.free.n, 0);
	assert_int_equal(pool.registered.n, 2);
	assert_int_equal(pool.registered.v[0].ip.s_addr, 0);
	s = api_dumps(&hvapi_address_pool_type, &pool, 0);
	assert_string_equal(s, "{\"Free\":null,\"Registered\":[{\"MacAddress\":"
			       "\"52:54:00:aa:bb:cc\"},{\"IpAddress\":\"10.2.3.4\","
			       "\"MacAddress\":\"52:54:0a:02:03:04\"}]}");
	free(s);
	hvapi_address_pool_clear(&pool);
	json_decref(j);

	j = parse("[{\"Id\":\"prod\",\"IpGateway\":\"10.2.0.1\",\"IpMask\":\"255.255.0.0\","
		  "\"DomainNameServers\":[\"10.0.0.53\"],\"VlanId\":120,"
		  "\"Tags\":{\"k\":\"v\"}},{\"Id\":\"x\",\"IpGateway\":7}]");
	sjson_dec_init(&d, "subnets.json");
	assert_int_equal(hvapi_subnets_from_json(&d, j, &subnets), -EINVAL);
	assert_string_equal(sjson_dec_error(&d),
			    "subnets.json: [1].IpGateway: expected string, got integer");
	assert_int_equal(subnets.n, 0);
	sjson_dec_fini(&d);
	json_array_remove(j, 1);
	sjson_dec_init(&d, "subnets.json");
	assert_int_equal(hvapi_subnets_from_json(&d, j, &subnets), 0);
	sjson_dec_fini(&d);
	assert_int_equal(subnets.n, 1);
	assert_int_equal(subnets.v[0].vlan_id, 120);
	json_decref(j);
	j = hvapi_subnets_to_json(&subnets);
	s = sjson_dumps(j, 0);
	assert_string_equal(s, "[{\"Id\":\"prod\",\"IpGateway\":\"10.2.0.1\",\"IpMask\":"
			       "\"255.255.0.0\",\"DomainNameServers\":[\"10.0.0.53\"],"
			       "\"VlanId\":120,\"Tags\":{\"k\":\"v\"}}]");
	free(s);
	json_decref(j);
	hvapi_subnets_clear(&subnets);
	j = hvapi_subnets_to_json(&subnets);
	assert_true(json_is_null(j));
	json_decref(j);
}

static void test_enum_numbers_and_names(void **state)
{
	struct hvapi_ip_request unused;
	struct hvapi_change_vm_volume_interfaces_request r;
	json_t *j = parse("{\"Interfaces\":[\"nvme\",1,\"virtio\"],\"IpAddress\":\"\"}");

	(void)state;
	(void)unused;
	assert_int_equal(
	    api_decode_msg(&hvapi_change_vm_volume_interfaces_request_type, j, NULL, &r, NULL), 0);
	assert_int_equal(r.interfaces.n, 3);
	assert_int_equal(r.interfaces.v[0], HVAPI_VOLUME_INTERFACE_NVME);
	assert_int_equal(r.interfaces.v[1], HVAPI_VOLUME_INTERFACE_IDE);
	assert_int_equal(r.ip.s_addr, 0);
	hvapi_change_vm_volume_interfaces_request_clear(&r);
	json_decref(j);
	assert_string_equal(hvapi_state_name(HVAPI_STATE_FAILED_TO_START), "failed to start");
	assert_string_equal(hvapi_state_name((enum hvapi_state)42), "?");
	assert_int_equal(hvapi_enum_parse(hvapi_state_names, "debugging"), HVAPI_STATE_DEBUGGING);
	assert_int_equal(hvapi_enum_parse(hvapi_state_names, "Running"), -1);
}

static void test_ignore_state_mask(void **state)
{
	/* "all but running", as hyper-control's email command asks for. */
	uint64_t mask = ~(1ull << HVAPI_STATE_RUNNING);

	(void)state;
	for (int s = 0; s < HVAPI_STATE_COUNT; s++)
		assert_int_equal(hvapi_state_ignored(mask, (enum hvapi_state)s),
				 s != HVAPI_STATE_RUNNING);
	assert_false(hvapi_state_ignored(0, HVAPI_STATE_STOPPED));
	assert_true(hvapi_state_ignored(1u << 4, HVAPI_STATE_STOPPED));
	assert_false(hvapi_state_ignored(1u << 4, HVAPI_STATE_DESTROYING));
}

static void test_match_tags_and_owners(void **state)
{
	struct hvapi_vm_info vm;
	struct hvapi_match_tags m = {0, NULL};
	struct hvapi_match_tag mt[2];
	struct api_strlist g = {0, NULL}, u = {0, NULL}, none = {0, NULL};
	char *web[] = {"web1", "web2"}, *prod[] = {"prod"};

	(void)state;
	memset(&vm, 0, sizeof(vm));
	assert_int_equal(hvapi_tags_set(&vm.tags, "Name", "web2"), 0);
	assert_int_equal(hvapi_tags_set(&vm.tags, "Env", "prod"), 0);
	assert_string_equal(vm.tags.v[0].key, "Env"); /* kept sorted */
	fill_strlist(&vm.owner_groups, "ops", NULL);
	fill_strlist(&vm.owner_users, "alice", NULL);

	assert_true(hvapi_match_tags(&m, &vm.tags)); /* empty matches all */
	mt[0].key = "Name";
	mt[0].values.n = 2;
	mt[0].values.v = web;
	mt[1].key = "Env";
	mt[1].values.n = 1;
	mt[1].values.v = prod;
	m.v = mt;
	m.n = 2;
	assert_true(hvapi_match_tags(&m, &vm.tags));
	mt[0].values.n = 1; /* only web1 */
	assert_false(hvapi_match_tags(&m, &vm.tags));
	mt[0].values.n = 2;
	mt[1].key = "Missing";
	assert_false(hvapi_match_tags(&m, &vm.tags));
	mt[1].key = "Env";
	mt[1].values.n = 0; /* a key with no acceptable value matches nothing */
	assert_false(hvapi_match_tags(&m, &vm.tags));
	mt[1].values.n = 1;

	assert_true(hvapi_owner_filter(&none, &none, &vm));
	assert_true(hvapi_owner_filter(NULL, NULL, &vm));
	fill_strlist(&g, "dev", NULL);
	assert_false(hvapi_owner_filter(&g, &none, &vm));
	fill_strlist(&u, "alice", NULL);
	assert_true(hvapi_owner_filter(&g, &u, &vm)); /* users override groups */
	api_strlist_clear(&u);
	fill_strlist(&u, "bob", NULL);
	api_strlist_clear(&g);
	fill_strlist(&g, "ops", NULL);
	assert_false(hvapi_owner_filter(&g, &u, &vm));
	assert_true(hvapi_owner_filter(&g, &none, &vm));

	vm.state = HVAPI_STATE_STOPPED;
	assert_true(hvapi_vm_selected(0, &g, NULL, &m, &vm));
	assert_false(hvapi_vm_selected(1u << HVAPI_STATE_STOPPED, &g, NULL, &m, &vm));
	assert_false(hvapi_vm_selected(0, &g, &u, NULL, &vm));
	api_strlist_clear(&g);
	api_strlist_clear(&u);
	hvapi_vm_info_clear(&vm);
}

static void test_verstr(void **state)
{
	(void)state;
	assert_true(hvapi_verstr_cmp("10.0.0.9", "10.0.0.10") < 0);
	assert_true(hvapi_verstr_cmp("10.0.0.10", "10.0.0.9") > 0);
	assert_true(hvapi_verstr_cmp("10.0.1.2", "10.0.0.200") > 0);
	assert_int_equal(hvapi_verstr_cmp("10.0.0.1", "10.0.0.1"), 0);
	assert_true(hvapi_verstr_cmp("10.0.0", "10.0.0.1") < 0);
	assert_true(hvapi_verstr_cmp("a2", "a10") < 0);
	assert_true(hvapi_verstr_cmp("b", "a10") > 0);
}

static void test_method_table(void **state)
{
	const struct hvapi_method *m;

	(void)state;
	m = hvapi_method_find("Hypervisor.CreateVm");
	assert_non_null(m);
	assert_true(m->stream);
	assert_ptr_equal(m->request, &hvapi_create_vm_request_type);
	m = hvapi_method_find("ListVMs");
	assert_non_null(m);
	assert_false(m->stream);
	assert_int_equal(m->access, HVAPI_ACCESS_PUBLIC | HVAPI_ACCESS_UNAUTH);
	assert_int_equal(hvapi_method_find(HVAPI_M_POWER_OFF)->access, 0);
	assert_null(hvapi_method_find("Hypervisor.Nope"));
	for (size_t i = 1; i < hvapi_n_methods; i++)
		assert_true(strcmp(hvapi_methods[i - 1].name, hvapi_methods[i].name) < 0);
	assert_int_equal(hvapi_n_methods, 78);
}

static void test_copy_and_file_io(void **state)
{
	struct hvapi_local_vm_info li, cp, back;
	char dir[] = "/tmp/test_api_XXXXXX", path[64], *err = NULL, *a, *b;

	(void)state;
	make_info(&li);
	assert_int_equal(api_copy(&hvapi_local_vm_info_type, &cp, &li), 0);
	hvapi_local_vm_info_clear(&li);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/info.json", dir);
	assert_int_equal(api_write_file(&hvapi_local_vm_info_type, path, &cp, 0644), 0);
	assert_int_equal(api_load_file(&hvapi_local_vm_info_type, path, &back, &err), 0);
	a = api_dumps(&hvapi_local_vm_info_type, &cp, SJSON_PRETTY);
	b = api_dumps(&hvapi_local_vm_info_type, &back, SJSON_PRETTY);
	assert_string_equal(a, golden_info);
	assert_string_equal(b, golden_info);
	free(a);
	free(b);
	hvapi_local_vm_info_clear(&cp);
	hvapi_local_vm_info_clear(&back);
	unlink(path);
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	assert_int_equal(api_load_file(&hvapi_local_vm_info_type, path, &back, &err), -ENOENT);
	free(err);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_info_json),
	    cmocka_unit_test(test_golden_decodes_back),
	    cmocka_unit_test(test_zero_vm_info),
	    cmocka_unit_test(test_strict_errors),
	    cmocka_unit_test(test_case_insensitive_and_unknown_keys),
	    cmocka_unit_test(test_go_list_vms_request),
	    cmocka_unit_test(test_get_capacity_example),
	    cmocka_unit_test(test_create_vm_request_round_trip),
	    cmocka_unit_test(test_update_vm_deletion),
	    cmocka_unit_test(test_address_pool_and_subnets),
	    cmocka_unit_test(test_enum_numbers_and_names),
	    cmocka_unit_test(test_ignore_state_mask),
	    cmocka_unit_test(test_match_tags_and_owners),
	    cmocka_unit_test(test_verstr),
	    cmocka_unit_test(test_method_table),
	    cmocka_unit_test(test_copy_and_file_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
