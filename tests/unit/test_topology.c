/* Unit tests for the Fleet Manager's topology loader (daemon/fleet-manager/topology.c):
 * the fixture tree tests/fixtures/topology/ loaded from disk (effective records,
 * lookups, locations, subnet visibility, storage layout, variables, digest), then one
 * in-memory tree per validation rule with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"
#include "json.h"

#define F(p, text)                                                                                 \
	{                                                                                          \
		(p), (text), sizeof(text) - 1                                                      \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct topology *load_fixture(void)
{
	const char *top = getenv("SS_TOP");
	char path[1024], err[512];
	struct topology *t = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/fixtures/topology", top ? top : ".");
	rc = topology_load_dir(path, &t, err, sizeof(err));
	if (rc != 0)
		fail_msg("load %s: %s", path, err);
	assert_non_null(t);
	return t;
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static char *machine_json(const struct topo_machine *m)
{
	json_t *j = fmapi_machine_to_json(&m->m);
	char *s;

	assert_non_null(j);
	s = sjson_dumps(j, 0);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void test_fixture_machines(void **state)
{
	struct topology *t = load_fixture();
	const struct topo_machine *m;
	char *s;

	(void)state;
	assert_int_equal(topology_nmachines(t), 4);
	assert_string_equal(topology_machine(t, 0)->m.net.hostname, "10.1.0.7");
	assert_string_equal(topology_machine(t, 1)->m.net.hostname, "row00-rack0-hyper0");
	assert_string_equal(topology_machine(t, 2)->m.net.hostname, "row00-rack0-hyper1");
	assert_string_equal(topology_machine(t, 3)->m.net.hostname, "sjc-hyper0");
	assert_null(topology_machine(t, 4));

	/* Tags: root, then NYC (deeper wins), then the machine's own; owners: the union. */
	m = topology_machine(t, 1);
	s = machine_json(m);
	assert_string_equal(
	    s,
	    "{\"ArchitectureType\":\"amd64\",\"MemoryInMiB\":65536,\"NumCPUs\":16,"
	    "\"GatewaySubnetId\":\"Production\",\"IPMI\":{\"Hostname\":\"row00-rack0-hyper0-ipmi\","
	    "\"HostIpAddress\":\"10.99.0.5\",\"HostMacAddress\":\"de:ad:be:ef:99:01\"},"
	    "\"Location\":\"NYC/rack0\",\"Hostname\":\"row00-rack0-hyper0\","
	    "\"HostIpAddress\":\"10.0.0.5\",\"HostMacAddress\":\"de:ad:be:ef:00:01\","
	    "\"OwnerGroups\":[\"fleet-ops\"],\"OwnerUsers\":[\"alice\",\"bob\"],"
	    "\"SecondaryNetworkEntries\":[{\"HostIpAddress\":\"10.20.0.5\",\"VlanTrunk\":true},"
	    "{\"HostMacAddress\":\"de:ad:be:ef:00:02\",\"SubnetId\":\"Egress\"}],"
	    "\"Tags\":{\"RequiredImage\":\"hypervisor/nyc-2024-02-01:00:00:00\",\"Site\":\"NYC\","
	    "\"Type\":\"big\"}}");
	free(s);

	/* Weakness 22: no IP is fine (connected by hostname), no DNS. */
	m = topology_machine(t, 2);
	assert_int_equal(m->m.net.host_ip.s_addr, 0);
	assert_string_equal(m->m.location, "NYC/rack0");

	/* No hostname: the IP is the hostname; upper-case MAC text accepted. */
	m = topology_machine(t, 0);
	s = machine_json(m);
	assert_string_equal(
	    s, "{\"GatewaySubnetId\":\"Production1\",\"IPMI\":{},\"Location\":\"NYC/rack1\","
	       "\"Hostname\":\"10.1.0.7\",\"HostIpAddress\":\"10.1.0.7\","
	       "\"HostMacAddress\":\"de:ad:be:ef:01:07\",\"OwnerGroups\":[\"fleet-ops\"],"
	       "\"OwnerUsers\":[\"alice\"],\"Tags\":{\"RequiredImage\":"
	       "\"hypervisor/nyc-2024-02-01:00:00:00\",\"Site\":\"NYC\",\"Type\":\"hypervisor\"}}");
	free(s);

	/* SJC: its own tag wins over the root's; owner groups merged without duplicates. */
	m = topology_machine(t, 3);
	s = machine_json(m);
	assert_string_equal(
	    s, "{\"IPMI\":{},\"Location\":\"SJC\",\"Hostname\":\"sjc-hyper0\","
	       "\"HostIpAddress\":\"10.40.0.2\",\"OwnerGroups\":[\"fleet-ops\",\"sjc-team\"],"
	       "\"Tags\":{\"RequiredImage\":\"hypervisor/sjc-pinned\",\"Site\":\"SJC\","
	       "\"Type\":\"hypervisor\"}}");
	free(s);
	topology_unref(t);
}

static void test_fixture_subnets_and_layout(void **state)
{
	struct topology *t = load_fixture();
	const struct topo_machine *m = topology_find_hostname(t, "row00-rack0-hyper0");
	const struct fmapi_topology_subnet *s;
	char *txt;

	(void)state;
	assert_non_null(m);
	/* Nearest first: the rack's two, then NYC's. */
	assert_int_equal(m->nsubnets, 3);
	assert_string_equal(m->subnets[0]->subnet.id, "Production");
	assert_string_equal(m->subnets[1]->subnet.id, "Infrastructure");
	assert_string_equal(m->subnets[2]->subnet.id, "Egress");
	s = topology_machine_subnet(m, "Production");
	assert_ptr_equal(s, m->subnets[0]);
	assert_int_equal(s->first_auto_ip.s_addr, ip("10.0.0.100").s_addr);
	assert_int_equal(s->last_auto_ip.s_addr, ip("10.0.0.199").s_addr);
	assert_int_equal(s->reserved_ips.n, 1);
	assert_true(s->subnet.manage);
	assert_int_equal(s->subnet.vlan_id, 10);
	assert_null(topology_machine_subnet(m, "Production1"));
	assert_null(topology_machine_subnet(m, "nope"));
	assert_non_null(m->storage_layout);
	txt = sjson_dumps(m->storage_layout, SJSON_SORT_KEYS);
	assert_non_null(strstr(txt, "\"UseKexec\":true"));
	free(txt);

	/* The same Id in SJC is another subnet: siblings do not see each other's. */
	m = topology_find_hostname(t, "sjc-hyper0");
	assert_int_equal(m->nsubnets, 1);
	s = topology_machine_subnet(m, "Production");
	assert_int_equal(s->subnet.ip_gateway.s_addr, ip("10.40.0.1").s_addr);
	assert_null(m->storage_layout);

	m = topology_find_hostname(t, "10.1.0.7");
	assert_int_equal(m->nsubnets, 2);
	assert_string_equal(m->subnets[0]->subnet.id, "Production1");
	assert_string_equal(m->subnets[1]->subnet.id, "Egress");
	assert_ptr_equal(m->storage_layout,
			 topology_find_hostname(t, "row00-rack0-hyper1")->storage_layout);
	topology_unref(t);
}

static void test_fixture_lookups(void **state)
{
	struct topology *t = load_fixture();
	const struct topo_machine *h0 = topology_find_hostname(t, "row00-rack0-hyper0");
	uint8_t mac[6] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x02};

	(void)state;
	assert_non_null(h0);
	assert_ptr_equal(topology_find_ip(t, ip("10.0.0.5")), h0);
	assert_ptr_equal(topology_find_ip(t, ip("10.20.0.5")), h0); /* secondary */
	assert_null(topology_find_ip(t, ip("10.99.0.5")));	    /* IPMI */
	assert_null(topology_find_ip(t, ip("10.0.0.6")));
	assert_null(topology_find_ip(t, ip("0.0.0.0")));
	assert_ptr_equal(topology_find_mac(t, mac), h0);
	mac[5] = 0x01;
	assert_ptr_equal(topology_find_mac(t, mac), h0);
	mac[5] = 0x03;
	assert_ptr_equal(topology_find_mac(t, mac),
			 topology_find_hostname(t, "row00-rack0-hyper1"));
	mac[4] = 0x99;
	mac[5] = 0x01;
	assert_ptr_equal(topology_find_mac(t, mac), h0); /* IPMI's too */
	memset(mac, 0, sizeof(mac));
	assert_null(topology_find_mac(t, mac));
	assert_ptr_equal(topology_find_ip(t, ip("10.1.0.7")),
			 topology_find_hostname(t, "10.1.0.7"));
	assert_null(topology_find_hostname(t, "row00-rack0-hyper0-ipmi"));
	assert_null(topology_find_hostname(t, "row00-rack0-hyper"));
	topology_unref(t);
}

static void test_fixture_locations(void **state)
{
	struct topology *t = load_fixture();
	static const char *const want[] = {"", "NYC", "NYC/rack0", "NYC/rack1", "SJC"};

	(void)state;
	assert_int_equal(topology_nlocations(t), N(want));
	for (size_t i = 0; i < N(want); i++)
		assert_string_equal(topology_location(t, i), want[i]);
	assert_null(topology_location(t, N(want)));
	assert_true(topology_location_in("NYC/rack0", ""));
	assert_true(topology_location_in("NYC/rack0", "NYC"));
	assert_true(topology_location_in("NYC", "NYC"));
	assert_true(topology_location_in("NYC/rack0", "NYC/rack0"));
	assert_false(topology_location_in("NYCX", "NYC"));
	assert_false(topology_location_in("NYC", "NYC/rack0"));
	assert_false(topology_location_in("SJC", "NYC"));
	assert_false(topology_location_in("", "NYC"));
	topology_unref(t);
}

static void test_fixture_variables(void **state)
{
	struct topology *t = load_fixture();

	(void)state;
	assert_string_equal(topology_variable(t, "domain"), "lab.example.com");
	assert_string_equal(topology_variable(t, "ntp"), "ntp.lab.example.com");
	assert_null(topology_variable(t, "site")); /* local variables are not variables */
	topology_unref(t);
}

static void test_variables_nested(void **state)
{
	const struct topo_file files[] = {
	    F("NYC/variables.json", "{\"a\": \"x${v}y$v-${missing}$\", \"b\": \"${v\"}"),
	    F("NYC/local_variables.json", "{\"v\": \"V\"}"),
	};
	struct topology *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(topology_load_files(files, N(files), &t, err, sizeof(err)), 0);
	assert_string_equal(topology_variable(t, "NYC/a"), "xVyV-$");
	assert_string_equal(topology_variable(t, "NYC/b"), "${v");
	assert_null(topology_variable(t, "a"));
	topology_unref(t);
}

static void test_digest(void **state)
{
	struct topology *a = load_fixture(), *b = load_fixture(), *c = NULL, *d = NULL;
	struct topo_file files[] = {
	    F("tags.json", "{\"a\": \"1\"}"),
	    F("NYC/machines.json", "[{\"Hostname\": \"h\"}]"),
	};
	struct topo_file rev[] = {files[1], files[0]};
	char err[256];

	(void)state;
	assert_int_equal(strlen(topology_digest(a)), 64);
	assert_string_equal(topology_digest(a), topology_digest(b));
	assert_int_equal(topology_load_files(files, N(files), &c, err, sizeof(err)), 0);
	assert_int_equal(topology_load_files(rev, N(rev), &d, err, sizeof(err)), 0);
	assert_string_equal(topology_digest(c), topology_digest(d));
	assert_string_not_equal(topology_digest(a), topology_digest(c));
	topology_unref(d);
	files[0] = (struct topo_file)F("tags.json", "{\"a\": \"2\"}");
	assert_int_equal(topology_load_files(files, N(files), &d, err, sizeof(err)), 0);
	assert_string_not_equal(topology_digest(c), topology_digest(d));
	/* References: the snapshot outlives its first owner. */
	assert_ptr_equal(topology_ref(a), a);
	topology_unref(a);
	assert_int_equal(topology_nmachines(a), 4);
	topology_unref(a);
	topology_unref(b);
	topology_unref(c);
	topology_unref(d);
}

static void test_empty_and_ignored(void **state)
{
	const struct topo_file files[] = {
	    F(".git/machines.json", "not json"),
	    F("NYC/.old/machines.json", "[{\"Hostname\": \"h\"}, {\"Hostname\": \"h\"}]"),
	    F("NYC/README.md", "# not json"),
	    F("NYC/notes.json", "{"),
	};
	struct topology *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(topology_load_files(NULL, 0, &t, err, sizeof(err)), 0);
	assert_int_equal(topology_nmachines(t), 0);
	assert_int_equal(topology_nlocations(t), 1);
	topology_unref(t);
	assert_int_equal(topology_load_files(files, N(files), &t, err, sizeof(err)), 0);
	assert_int_equal(topology_nmachines(t), 0);
	assert_int_equal(topology_nlocations(t), 1);
	topology_unref(t);
}

/* "A-x" sorts between "A" and "A/B" ('-' < '/'): A/B still inherits from A. */
static void test_parent_order(void **state)
{
	const struct topo_file files[] = {
	    F("A/B/machines.json", "[{\"Hostname\": \"h\", \"GatewaySubnetId\": \"S\"}]"),
	    F("A-x/tags.json", "{\"T\": \"ax\"}"),
	    F("A/subnets.json", "["
				"{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": "
				"\"255.255.255.0\"}]"),
	    F("A/tags.json", "{\"T\": \"a\"}"),
	    F("A-x/B/tags.json", "{}"),
	};
	static const char *const want[] = {"", "A", "A-x", "A-x/B", "A/B"};
	struct topology *t = NULL;
	const struct topo_machine *m;
	char err[256];

	(void)state;
	if (topology_load_files(files, N(files), &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(topology_nlocations(t), N(want));
	for (size_t i = 0; i < N(want); i++)
		assert_string_equal(topology_location(t, i), want[i]);
	m = topology_find_hostname(t, "h");
	assert_non_null(m);
	assert_int_equal(m->nsubnets, 1);
	assert_string_equal(m->m.tags.v[0].value, "a");
	topology_unref(t);
}

static void test_comment_lines(void **state)
{
	const struct topo_file files[] = {
	    F("machines.json", "// first\n[\n  # a host\n\t// another\n  {\"Hostname\": \"a\"},\n"
			       "  {\"Hostname\": \"b\", \"Tags\": {\"url\": \"http://x#y\"}}\n]\n"),
	};
	struct topology *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(topology_load_files(files, N(files), &t, err, sizeof(err)), 0);
	assert_int_equal(topology_nmachines(t), 2);
	assert_string_equal(topology_find_hostname(t, "b")->m.tags.v[0].value, "http://x#y");
	topology_unref(t);
}

/* Loads files and expects exactly msg. */
static void expect_error(const struct topo_file *files, size_t n, const char *msg)
{
	struct topology *t = (struct topology *)1;
	char err[512];

	assert_int_equal(topology_load_files(files, n, &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_string_equal(err, msg);
}

static void expect_ok(const struct topo_file *files, size_t n)
{
	struct topology *t = NULL;
	char err[512];

	if (topology_load_files(files, n, &t, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	topology_unref(t);
}

static void test_rule_duplicate_hostname(void **state)
{
	const struct topo_file files[] = {
	    F("A/machines.json", "[{\"Hostname\": \"h1\"}]"),
	    F("B/machines.json", "[\n{\"Hostname\": \"h2\"},\n{\"Hostname\": \"h1\"}]"),
	};
	const struct topo_file ipmi[] = {
	    F("A/machines.json", "[{\"Hostname\": \"h1\"},\n"
				 "{\"Hostname\": \"h2\", \"IPMI\": {\"Hostname\": \"h1\"}}]"),
	};
	/* An IP-only machine's hostname is its IP: it collides with a named one. */
	const struct topo_file byip[] = {
	    F("A/machines.json",
	      "[{\"Hostname\": \"10.0.0.9\"},\n{\"HostIpAddress\": \"10.0.0.9\"}]"),
	};

	(void)state;
	expect_error(files, N(files),
		     "B/machines.json:3: duplicate hostname h1 (also A/machines.json:1)");
	expect_error(ipmi, N(ipmi),
		     "A/machines.json:2: duplicate hostname h1 (also A/machines.json:1)");
	expect_error(byip, N(byip),
		     "A/machines.json:2: duplicate hostname 10.0.0.9 (also A/machines.json:1)");
}

static void test_rule_duplicate_ip(void **state)
{
	const struct topo_file primary[] = {
	    F("NYC/rack0/machines.json",
	      "[\n\n{\"Hostname\": \"a\", \"HostIpAddress\": \"10.0.0.5\"}]"),
	    F("NYC/rack1/machines.json",
	      "[{\"Hostname\": \"b\", \"HostIpAddress\": \"10.0.0.5\"}]"),
	};
	const struct topo_file secondary[] = {
	    F("machines.json", "[{\"Hostname\": \"a\", \"HostIpAddress\": \"10.0.0.5\"},\n"
			       "{\"Hostname\": \"b\", \"SecondaryNetworkEntries\": "
			       "[{\"HostIpAddress\": \"10.0.0.5\"}]}]"),
	};
	const struct topo_file ipmi[] = {
	    F("machines.json",
	      "[{\"Hostname\": \"a\", \"IPMI\": {\"HostIpAddress\": \"10.9.0.1\"}},\n"
	      "{\"Hostname\": \"b\", \"HostIpAddress\": \"10.9.0.1\"}]"),
	};

	(void)state;
	expect_error(
	    primary, N(primary),
	    "NYC/rack1/machines.json:1: duplicate IP 10.0.0.5 (also NYC/rack0/machines.json:3)");
	expect_error(secondary, N(secondary),
		     "machines.json:2: duplicate IP 10.0.0.5 (also machines.json:1)");
	expect_error(ipmi, N(ipmi),
		     "machines.json:2: duplicate IP 10.9.0.1 (also machines.json:1)");
}

static void test_rule_duplicate_mac(void **state)
{
	const struct topo_file dup[] = {
	    F("A/machines.json",
	      "[{\"Hostname\": \"a\", \"HostMacAddress\": \"52:54:00:00:00:AA\"}]"),
	    F("B/machines.json", "[{\"Hostname\": \"b\", \"IPMI\": "
				 "{\"HostMacAddress\": \"52:54:00:00:00:aa\"}}]"),
	};
	const struct topo_file zero[] = {
	    F("machines.json",
	      "[{\"Hostname\": \"a\", \"HostMacAddress\": \"00:00:00:00:00:00\"},\n"
	      "{\"Hostname\": \"b\", \"HostMacAddress\": \"00:00:00:00:00:00\"}]"),
	};

	(void)state;
	expect_error(dup, N(dup),
		     "B/machines.json:1: duplicate MAC 52:54:00:00:00:aa (also A/machines.json:1)");
	expect_ok(zero, N(zero));
}

#define SUBNET(id, gw)                                                                             \
	"{\"Id\": \"" id "\", \"IpGateway\": \"" gw "\", \"IpMask\": \"255.255.255.0\"}"

static void test_rule_duplicate_subnet_id(void **state)
{
	const struct topo_file path[] = {
	    F("NYC/subnets.json", "[" SUBNET("X", "10.1.0.1") "]"),
	    F("NYC/rack0/subnets.json",
	      "[" SUBNET("Y", "10.2.0.1") ",\n" SUBNET("X", "10.3.0.1") "]"),
	};
	const struct topo_file same[] = {
	    F("subnets.json", "[" SUBNET("X", "10.1.0.1") ",\n" SUBNET("X", "10.3.0.1") "]"),
	};
	const struct topo_file siblings[] = {
	    F("NYC/subnets.json", "[" SUBNET("X", "10.1.0.1") "]"),
	    F("SJC/subnets.json", "[" SUBNET("X", "10.1.0.1") "]"),
	};

	(void)state;
	expect_error(path, N(path),
		     "NYC/rack0/subnets.json:2: duplicate subnet Id X (also NYC/subnets.json:1)");
	expect_error(same, N(same), "subnets.json:2: duplicate subnet Id X (also subnets.json:1)");
	expect_ok(siblings, N(siblings));
}

static void test_rule_duplicate_gateway(void **state)
{
	const struct topo_file same[] = {
	    F("NYC/subnets.json",
	      "[\n  " SUBNET("A", "10.1.0.1") ",\n  " SUBNET("B", "10.1.0.1") "\n]"),
	};
	const struct topo_file across[] = {
	    F("NYC/subnets.json", "[" SUBNET("A", "10.1.0.1") "]"),
	    F("NYC/rack0/subnets.json", "[" SUBNET("B", "10.1.0.1") "]"),
	};

	(void)state;
	expect_error(same, N(same),
		     "NYC/subnets.json:3: duplicate gateway IP 10.1.0.1 (also NYC/subnets.json:2)");
	expect_ok(across, N(across));
}

static void test_rule_subnet_id_with_address(void **state)
{
	const struct topo_file host[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("machines.json", "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": "
			       "[{\"SubnetId\": \"S\", \"Hostname\": \"a2\"}]}]"),
	};
	const struct topo_file addr[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("machines.json", "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": [{},\n"
			       "{\"SubnetId\": \"S\", \"HostIpAddress\": \"10.1.0.9\"}]}]"),
	};
	const struct topo_file primary[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("machines.json", "[{\"Hostname\": \"a\", \"SubnetId\": \"S\"}]"),
	};
	const struct topo_file ok[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("machines.json",
	      "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": "
	      "[{\"SubnetId\": \"S\", \"HostMacAddress\": \"52:54:00:00:00:01\"}]}]"),
	};

	(void)state;
	expect_error(host, N(host),
		     "machines.json:1: SecondaryNetworkEntries[0] SubnetId S cannot be given with "
		     "Hostname a2");
	expect_error(addr, N(addr),
		     "machines.json:1: SecondaryNetworkEntries[1] SubnetId S cannot be given with "
		     "HostIpAddress 10.1.0.9");
	expect_error(primary, N(primary),
		     "machines.json:1: SubnetId S cannot be given with Hostname a");
	expect_ok(ok, N(ok));
}

static void test_rule_subnet_id_visible(void **state)
{
	const struct topo_file sibling[] = {
	    F("SJC/subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("NYC/machines.json", "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": "
				   "[{\"SubnetId\": \"S\"}]}]"),
	};
	const struct topo_file below[] = {
	    F("NYC/rack0/subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("NYC/machines.json", "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": "
				   "[{\"SubnetId\": \"S\"}]}]"),
	};
	const struct topo_file ipmi[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("machines.json", "[{\"Hostname\": \"a\", \"IPMI\": {\"SubnetId\": \"S\"}}]"),
	};

	(void)state;
	expect_error(sibling, N(sibling),
		     "NYC/machines.json:1: SecondaryNetworkEntries[0] unknown SubnetId S (no "
		     "subnets.json here or above defines it)");
	expect_error(below, N(below),
		     "NYC/machines.json:1: SecondaryNetworkEntries[0] unknown SubnetId S (no "
		     "subnets.json here or above defines it)");
	expect_error(ipmi, N(ipmi), "machines.json:1: IPMI entry cannot have a SubnetId (S)");
}

static void test_rule_gateway_subnet_visible(void **state)
{
	const struct topo_file files[] = {
	    F("SJC/subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("NYC/machines.json", "[{\"Hostname\": \"a\"},\n{\"Hostname\": \"b\", "
				   "\"GatewaySubnetId\": \"S\"}]"),
	};
	const struct topo_file ok[] = {
	    F("subnets.json", "[" SUBNET("S", "10.1.0.1") "]"),
	    F("NYC/machines.json", "[{\"Hostname\": \"b\", \"GatewaySubnetId\": \"S\"}]"),
	};

	(void)state;
	expect_error(files, N(files),
		     "NYC/machines.json:2: unknown GatewaySubnetId S (no subnets.json here or "
		     "above defines it)");
	expect_ok(ok, N(ok));
}

#define AUTO(first, last)                                                                          \
	"[{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": \"255.255.255.0\", "            \
	"\"FirstAutoIP\": \"" first "\", \"LastAutoIP\": \"" last "\"}]"

static void test_rule_auto_range(void **state)
{
	const struct topo_file outside[] = {F("subnets.json", AUTO("10.1.1.10", "10.1.0.20"))};
	const struct topo_file outside_last[] = {F("subnets.json", AUTO("10.1.0.10", "10.2.0.20"))};
	const struct topo_file order[] = {F("subnets.json", AUTO("10.1.0.30", "10.1.0.20"))};
	const struct topo_file half[] = {
	    F("subnets.json", "[{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": "
			      "\"255.255.255.0\", \"FirstAutoIP\": \"10.1.0.30\"}]"),
	};
	const struct topo_file ok[] = {F("subnets.json", AUTO("10.1.0.20", "10.1.0.20"))};

	(void)state;
	expect_error(outside, N(outside),
		     "subnets.json:1: subnet S: FirstAutoIP 10.1.1.10 is outside the subnet "
		     "10.1.0.1/255.255.255.0");
	expect_error(outside_last, N(outside_last),
		     "subnets.json:1: subnet S: LastAutoIP 10.2.0.20 is outside the subnet "
		     "10.1.0.1/255.255.255.0");
	expect_error(
	    order, N(order),
	    "subnets.json:1: subnet S: FirstAutoIP 10.1.0.30 is after LastAutoIP 10.1.0.20");
	expect_error(half, N(half),
		     "subnets.json:1: subnet S: FirstAutoIP and LastAutoIP go together");
	expect_ok(ok, N(ok));
}

static void test_rule_reserved_ips(void **state)
{
	const struct topo_file files[] = {
	    F("subnets.json", "[\n{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": "
			      "\"255.255.0.0\", \"ReservedIPs\": [\"10.1.200.1\", \"10.2.0.1\"]}]"),
	};

	(void)state;
	expect_error(files, N(files),
		     "subnets.json:2: subnet S: ReservedIPs entry 10.2.0.1 is outside the subnet "
		     "10.1.0.1/255.255.0.0");
}

static void test_rule_subnet_fields(void **state)
{
	const struct topo_file noid[] = {
	    F("subnets.json", "[{\"IpGateway\": \"10.1.0.1\", \"IpMask\": \"255.255.0.0\"}]"),
	};
	const struct topo_file nogw[] = {F("subnets.json", "[{\"Id\": \"S\"}]")};
	const struct topo_file mask[] = {
	    F("subnets.json", "[{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": "
			      "\"255.0.255.0\"}]"),
	};

	(void)state;
	expect_error(noid, N(noid), "subnets.json:1: subnet without Id");
	expect_error(nogw, N(nogw), "subnets.json:1: subnet S: IpGateway and IpMask are required");
	expect_error(mask, N(mask),
		     "subnets.json:1: subnet S: IpMask 255.0.255.0 is not a netmask");
}

static void test_rule_unknown_keys(void **state)
{
	const struct topo_file machine[] = {
	    F("NYC/machines.json", "[{\"Hostname\": \"a\"},\n{\"Hostnme\": \"b\"}]"),
	};
	const struct topo_file nested[] = {
	    F("machines.json",
	      "[{\"Hostname\": \"a\", \"IPMI\": {\"HostIpAdress\": \"10.0.0.1\"}}]"),
	};
	const struct topo_file secondary[] = {
	    F("machines.json", "[{\"Hostname\": \"a\", \"SecondaryNetworkEntries\": [{}, "
			       "{\"Subnet\": \"x\"}]}]"),
	};
	const struct topo_file subnet[] = {
	    F("subnets.json", "[{\"Id\": \"S\", \"IpGateway\": \"10.1.0.1\", \"IpMask\": "
			      "\"255.255.0.0\",\n\"Vlan\": 3}]"),
	};
	/* Keys match case-insensitively, as Go decodes. */
	const struct topo_file caseless[] = {
	    F("subnets.json", "[{\"id\": \"S\", \"ipgateway\": \"10.1.0.1\", \"IPMASK\": "
			      "\"255.255.0.0\", \"VlanID\": 3}]"),
	    F("machines.json",
	      "[{\"hostname\": \"a\", \"ipmi\": {\"hostipaddress\": \"10.0.0.1\"}}]"),
	};

	(void)state;
	expect_error(machine, N(machine),
		     "NYC/machines.json:2: unknown key \"Hostnme\" in machine");
	expect_error(nested, N(nested),
		     "machines.json:1: unknown key \"IPMI.HostIpAdress\" in machine");
	expect_error(
	    secondary, N(secondary),
	    "machines.json:1: unknown key \"SecondaryNetworkEntries[1].Subnet\" in machine");
	expect_error(subnet, N(subnet), "subnets.json:1: unknown key \"Vlan\" in subnet");
	expect_ok(caseless, N(caseless));
}

static void test_rule_json_types(void **state)
{
	const struct topo_file machines[] = {F("NYC/machines.json", "{\"Hostname\": \"a\"}")};
	const struct topo_file subnets[] = {F("subnets.json", "null")};
	const struct topo_file tags[] = {F("tags.json", "[]")};
	const struct topo_file tagval[] = {F("A/tags.json", "{\"a\": \"1\",\n \"b\": 2}")};
	const struct topo_file owners[] = {F("owners.json", "{\"OwnerGroups\": \"ops\"}")};
	const struct topo_file install[] = {F("install-config.json", "{\"StorageLayout\": 1}")};
	const struct topo_file vars[] = {F("variables.json", "{\"a\": [\"x\"]}")};
	const struct topo_file field[] = {
	    F("machines.json", "[{\"Hostname\": \"a\", \"NumCPUs\": \"4\"}]")};
	const struct topo_file elem[] = {F("machines.json", "[\"a\"]")};

	(void)state;
	expect_error(machines, N(machines),
		     "NYC/machines.json: expected an array of machines, got object");
	expect_error(subnets, N(subnets), "subnets.json: expected an array of subnets, got null");
	expect_error(tags, N(tags),
		     "tags.json: expected an object of tags {\"key\": \"value\"}, got array");
	expect_error(tagval, N(tagval), "A/tags.json:2: b: expected string, got integer");
	expect_error(owners, N(owners),
		     "owners.json: owners: .OwnerGroups: expected array, got string");
	expect_error(install, N(install),
		     "install-config.json: StorageLayout: expected object, got integer");
	expect_error(vars, N(vars), "variables.json:1: a: expected string, got array");
	expect_error(field, N(field),
		     "machines.json:1: machine: .NumCPUs: expected integer, got string");
	expect_error(elem, N(elem), "machines.json:1: machine: expected object, got string");
}

static void test_rule_syntax(void **state)
{
	const struct topo_file files[] = {
	    F("NYC/machines.json", "# comment\n[\n  {\"Hostname\": \"a\"},\n  {\"Hostname\": }\n]"),
	};
	const struct topo_file dupkey[] = {
	    F("tags.json", "{\n\"a\": \"1\",\n\"a\": \"2\"}"),
	};
	struct topology *t = NULL;
	char err[512];

	(void)state;
	assert_int_equal(topology_load_files(files, N(files), &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_true(strncmp(err, "NYC/machines.json:4: ", 21) == 0);
	assert_int_equal(topology_load_files(dupkey, N(dupkey), &t, err, sizeof(err)), -EINVAL);
	assert_true(strncmp(err, "tags.json:3: duplicate object key", 33) == 0);
}

static void test_rule_no_name(void **state)
{
	const struct topo_file files[] = {
	    F("machines.json",
	      "[{\"Hostname\": \"a\"},\n {\"HostMacAddress\": \"52:54:00:00:00:01\"}]"),
	};

	(void)state;
	expect_error(files, N(files),
		     "machines.json:2: machine has neither Hostname nor HostIpAddress");
}

static void test_rule_ipv4_only(void **state)
{
	const struct topo_file files[] = {
	    F("machines.json", "[{\"Hostname\": \"a\", \"HostIpAddress\": \"fe80::1\"}]"),
	};
	const struct topo_file subnet[] = {
	    F("subnets.json", "[{\"Id\": \"S\", \"IpGateway\": \"2001:db8::1\"}]"),
	};

	(void)state;
	expect_error(files, N(files),
		     "machines.json:1: machine: .HostIpAddress: bad IPv4 address \"fe80::1\" (only "
		     "IPv4 addresses are supported)");
	expect_error(subnet, N(subnet),
		     "subnets.json:1: subnet: .IpGateway: bad IPv4 address \"2001:db8::1\" (only "
		     "IPv4 addresses are supported)");
}

static void test_rule_paths(void **state)
{
	static char big[1];
	const struct topo_file abs[] = {F("/etc/machines.json", "[]")};
	const struct topo_file empty[] = {F("NYC//machines.json", "[]")};
	const struct topo_file twice[] = {F("NYC/tags.json", "{}"), F("NYC/tags.json", "{}")};
	const struct topo_file deep[] = {
	    F("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/A/B/C/D/E/F/G/tags.json", "{}"),
	};
	const struct topo_file toolarge[] = {{"tags.json", big, (16u << 20) + 1}};

	(void)state;
	expect_error(abs, N(abs), "/etc/machines.json: bad file path");
	expect_error(empty, N(empty), "NYC//machines.json: bad file path (empty component)");
	expect_error(twice, N(twice), "NYC/tags.json: file given twice");
	expect_error(deep, N(deep),
		     "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/A/B/C/D/E/F/G/tags.json: "
		     "directories nested deeper than 32 levels");
	expect_error(toolarge, N(toolarge), "tags.json: file too large (over 16 MiB)");
}

/* Operator input is bounded: what a tree copies down to its machines, and what a
 * variable expands to. */
static void test_limits(void **state)
{
	struct topo_file files[61];
	size_t ntags = 70000, len = 0, cap = ntags * 24 + 16;
	char *tags = malloc(cap), *vals = malloc(5000), *local = malloc(1100);
	char paths[60][16];

	(void)state;
	assert_non_null(tags);
	len += (size_t)snprintf(tags, cap, "{");
	for (size_t i = 0; i < ntags; i++)
		len +=
		    (size_t)snprintf(tags + len, cap - len, "%s\"k%zu\": \"v\"", i ? "," : "", i);
	len += (size_t)snprintf(tags + len, cap - len, "}");
	files[0] = (struct topo_file){"tags.json", tags, len};
	for (int i = 0; i < 60; i++) {
		snprintf(paths[i], sizeof(paths[i]), "d%02d/tags.json", i);
		files[i + 1] = (struct topo_file){paths[i], "{}", 2};
	}
	expect_error(files, 61, "topology too large (more than 4194304 inherited entries)");
	expect_ok(files, 50);

	memset(local, 'x', 1099);
	local[1099] = '\0';
	len = (size_t)snprintf(vals, 64, "{\"a\": \"");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(vals + len, 8, "${v}");
	len += (size_t)snprintf(vals + len, 8, "\"}");
	{
		char *lv = NULL;
		int n = asprintf(&lv, "{\"v\": \"%s\"}", local);
		struct topo_file vf[] = {
		    {"variables.json", vals, len},
		    {"local_variables.json", lv, (size_t)n},
		};

		assert_true(n > 0);
		expect_error(vf, 2, "variables.json:1: a: expands to more than 1048576 bytes");
		free(lv);
	}
	free(tags);
	free(vals);
	free(local);
}

static void test_load_dir_errors(void **state)
{
	struct topology *t = NULL;
	char err[512];

	(void)state;
	assert_int_equal(topology_load_dir("/nonexistent/topology", &t, err, sizeof(err)), -ENOENT);
	assert_null(t);
	assert_string_equal(err, "/nonexistent/topology: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_machines),
	    cmocka_unit_test(test_fixture_subnets_and_layout),
	    cmocka_unit_test(test_fixture_lookups),
	    cmocka_unit_test(test_fixture_locations),
	    cmocka_unit_test(test_fixture_variables),
	    cmocka_unit_test(test_variables_nested),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_empty_and_ignored),
	    cmocka_unit_test(test_parent_order),
	    cmocka_unit_test(test_comment_lines),
	    cmocka_unit_test(test_rule_duplicate_hostname),
	    cmocka_unit_test(test_rule_duplicate_ip),
	    cmocka_unit_test(test_rule_duplicate_mac),
	    cmocka_unit_test(test_rule_duplicate_subnet_id),
	    cmocka_unit_test(test_rule_duplicate_gateway),
	    cmocka_unit_test(test_rule_subnet_id_with_address),
	    cmocka_unit_test(test_rule_subnet_id_visible),
	    cmocka_unit_test(test_rule_gateway_subnet_visible),
	    cmocka_unit_test(test_rule_auto_range),
	    cmocka_unit_test(test_rule_reserved_ips),
	    cmocka_unit_test(test_rule_subnet_fields),
	    cmocka_unit_test(test_rule_unknown_keys),
	    cmocka_unit_test(test_rule_json_types),
	    cmocka_unit_test(test_rule_syntax),
	    cmocka_unit_test(test_rule_no_name),
	    cmocka_unit_test(test_rule_ipv4_only),
	    cmocka_unit_test(test_rule_paths),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_load_dir_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
