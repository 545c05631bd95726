/* The Fleet Manager's address-pool decisions (daemon/fleet-manager/pool.c): the marks
 * (disabled, marginal, at risk), refill and trim, the auto range with the gateway,
 * reserved and used addresses skipped, no address twice across hypervisors, the record's
 * round trip and the reconciliation after a restart, the subnets diff, the IP map. */
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

#include "daemon/fleet-manager/pool.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in_addr ipn(uint32_t host_order)
{
	return (struct in_addr){htonl(host_order)};
}

/* 10.1.0.0/24, gateway .1, auto range .10-.200 unless told, reserved .10 and .11. */
static struct in_addr reserved[2];

static struct fmapi_topology_subnet subnet(bool range)
{
	struct fmapi_topology_subnet s;

	memset(&s, 0, sizeof(s));
	s.subnet.id = (char *)"net1";
	s.subnet.ip_gateway = ip("10.1.0.1");
	s.subnet.ip_mask = ip("255.255.255.0");
	s.subnet.manage = true;
	if (range) {
		s.first_auto_ip = ip("10.1.0.10");
		s.last_auto_ip = ip("10.1.0.200");
	}
	reserved[0] = ip("10.1.0.10");
	reserved[1] = ip("10.1.0.11");
	s.reserved_ips.v = reserved;
	s.reserved_ips.n = 2;
	return s;
}

static bool used_20(void *arg, struct in_addr a)
{
	(void)arg;
	return a.s_addr == ip("10.1.0.20").s_addr;
}

static void test_marks(void **state)
{
	struct pool_marks def = {0, 0, 0}, m;
	struct pool_marks custom = {4, 2, 6};

	(void)state;
	m = pool_marks_for(&def, false, "healthy");
	assert_true(m.desired == 16 && m.min == 8 && m.max == 24);
	m = pool_marks_for(NULL, false, "");
	assert_true(m.desired == 16 && m.min == 8 && m.max == 24);
	m = pool_marks_for(&def, true, "healthy");
	assert_true(m.desired == 0 && m.min == 0 && m.max == 0);
	m = pool_marks_for(&def, false, "marginal");
	assert_true(m.desired == 1 && m.min == 1 && m.max == 1);
	m = pool_marks_for(&custom, false, "at risk");
	assert_true(m.desired == 1 && m.min == 1 && m.max == 1);
	m = pool_marks_for(&custom, true, "at risk"); /* disabled wins */
	assert_true(m.desired == 0 && m.max == 0);
	m = pool_marks_for(&custom, false, NULL);
	assert_true(m.desired == 4 && m.min == 2 && m.max == 6);
}

static void test_decide(void **state)
{
	struct pool_marks m = {16, 8, 24};
	unsigned c;

	(void)state;
	assert_int_equal(pool_decide(&m, 3, &c), POOL_REFILL);
	assert_int_equal(c, 13);
	assert_int_equal(pool_decide(&m, 0, &c), POOL_REFILL);
	assert_int_equal(c, 16);
	assert_int_equal(pool_decide(&m, 8, &c), POOL_KEEP);
	assert_int_equal(pool_decide(&m, 24, &c), POOL_KEEP);
	assert_int_equal(pool_decide(&m, 25, &c), POOL_TRIM);
	assert_int_equal(c, 16);
	/* disabled: everything free goes */
	m = (struct pool_marks){0, 0, 0};
	assert_int_equal(pool_decide(&m, 0, &c), POOL_KEEP);
	assert_int_equal(pool_decide(&m, 1, &c), POOL_TRIM);
	assert_int_equal(c, 0);
	/* marginal: one */
	m = (struct pool_marks){1, 1, 1};
	assert_int_equal(pool_decide(&m, 0, &c), POOL_REFILL);
	assert_int_equal(c, 1);
	assert_int_equal(pool_decide(&m, 2, &c), POOL_TRIM);
	assert_int_equal(c, 1);
}

static void test_alloc_range(void **state)
{
	struct pool *p = pool_new();
	struct fmapi_topology_subnet s = subnet(true);
	struct in_addr out[16];

	(void)state;
	/* reserved .10 .11 skipped, .20 used by a VM */
	assert_int_equal(pool_alloc(p, "hv1", &s, 12, used_20, NULL, out), 12);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[i].s_addr, ipn(0x0a01000c + (uint32_t)i).s_addr); /* .12-.19 */
	assert_int_equal(out[8].s_addr, ip("10.1.0.21").s_addr);
	assert_int_equal(out[11].s_addr, ip("10.1.0.24").s_addr);
	assert_true(pool_taken(p, &s, ip("10.1.0.1"), NULL, NULL));  /* gateway */
	assert_true(pool_taken(p, &s, ip("10.1.0.10"), NULL, NULL)); /* reserved */
	assert_true(pool_taken(p, &s, ip("10.1.0.12"), NULL, NULL)); /* assigned */
	assert_false(pool_taken(p, &s, ip("10.1.0.25"), NULL, NULL));
	assert_string_equal(pool_owner(p, ip("10.1.0.12")), "hv1");
	assert_int_equal(pool_count(p, "hv1"), 12);
	pool_free(p);

	/* Without FirstAutoIP/LastAutoIP: the hosts of the subnet, not the network,
	 * the gateway or the broadcast. */
	p = pool_new();
	s = subnet(false);
	s.reserved_ips.n = 0;
	{
		struct in_addr big[256];

		assert_int_equal(pool_alloc(p, "hv1", &s, 256, NULL, NULL, big), 253);
		assert_int_equal(big[0].s_addr, ip("10.1.0.2").s_addr);
		assert_int_equal(big[252].s_addr, ip("10.1.0.254").s_addr);
		/* exhausted */
		assert_int_equal(pool_alloc(p, "hv2", &s, 4, NULL, NULL, big), 0);
	}
	pool_free(p);
}

static void test_no_ip_twice(void **state)
{
	struct pool *p = pool_new();
	struct fmapi_topology_subnet s = subnet(true);
	struct in_addr a[16], b[16], c[16], rep[3];
	size_t conflicts;

	(void)state;
	/* hv3 reports .12 .13 .14 (it had them before us) */
	rep[0] = ip("10.1.0.12");
	rep[1] = ip("10.1.0.13");
	rep[2] = ip("10.1.0.14");
	assert_int_equal(pool_hv_connected(p, "hv3"), 0);
	assert_int_equal(pool_hv_report(p, "hv3", rep, 3, &conflicts), 0);
	assert_int_equal(conflicts, 0);
	assert_int_equal(pool_alloc(p, "hv1", &s, 16, NULL, NULL, a), 16);
	assert_int_equal(pool_alloc(p, "hv2", &s, 16, NULL, NULL, b), 16);
	assert_int_equal(pool_alloc(p, "hv1", &s, 16, NULL, NULL, c), 16);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(a[i].s_addr, ipn(0x0a01000f + (uint32_t)i).s_addr); /* from .15 */
		for (int j = 0; j < 16; j++) {
			assert_int_not_equal(a[i].s_addr, b[j].s_addr);
			assert_int_not_equal(a[i].s_addr, c[j].s_addr);
			assert_int_not_equal(b[i].s_addr, c[j].s_addr);
		}
		for (int j = 0; j < 3; j++) {
			assert_int_not_equal(a[i].s_addr, rep[j].s_addr);
			assert_int_not_equal(b[i].s_addr, rep[j].s_addr);
		}
	}
	/* Another host cannot be given what hv1 has. */
	assert_int_equal(pool_assign(p, "hv2", a[0]), -EBUSY);
	/* hv2 reporting an address of hv1: a conflict, hv1 keeps it, still taken. */
	assert_int_equal(pool_hv_connected(p, "hv2"), 0);
	assert_int_equal(pool_hv_report(p, "hv2", a, 1, &conflicts), 0);
	assert_int_equal(conflicts, 1);
	assert_string_equal(pool_owner(p, a[0]), "hv1");
	pool_free(p);
}

static void test_release_rules(void **state)
{
	struct pool *p = pool_new();
	struct fmapi_topology_subnet s = subnet(true);
	struct in_addr a[4], none[1];
	size_t conflicts;

	(void)state;
	assert_int_equal(pool_hv_connected(p, "hv1"), 0);
	assert_int_equal(pool_alloc(p, "hv1", &s, 4, NULL, NULL, a), 4);
	assert_int_equal(pool_unconfirmed(p, "hv1", &s.subnet), 4);
	/* In flight: a report without them (sent before the change) releases nothing. */
	assert_int_equal(pool_hv_report(p, "hv1", none, 0, &conflicts), 0);
	assert_int_equal(pool_count(p, "hv1"), 4);
	/* Done, but the report is from the connection opened before: still kept. */
	pool_sent(p, "hv1", a, 4, false);
	assert_int_equal(pool_hv_report(p, "hv1", none, 0, &conflicts), 0);
	assert_int_equal(pool_count(p, "hv1"), 4);
	/* The report that shows two of them confirms those two. */
	assert_int_equal(pool_hv_report(p, "hv1", a, 2, &conflicts), 0);
	assert_int_equal(pool_unconfirmed(p, "hv1", &s.subnet), 2);
	/* Trimmed: a later report without a[1] releases it (confirmed before). */
	assert_int_equal(pool_hv_report(p, "hv1", a, 1, &conflicts), 0);
	assert_int_equal(pool_count(p, "hv1"), 3);
	assert_false(pool_taken(p, &s, a[1], NULL, NULL));
	assert_true(pool_taken(p, &s, a[2], NULL, NULL));
	/* A new connection's report is newer than every ended addition: a[2], a[3]
	 * (never shown) go. */
	assert_int_equal(pool_hv_connected(p, "hv1"), 0);
	assert_int_equal(pool_hv_report(p, "hv1", a, 1, &conflicts), 0);
	assert_int_equal(pool_count(p, "hv1"), 1);
	assert_false(pool_taken(p, &s, a[3], NULL, NULL));
	/* A refused ChangeAddressPool gives them back at once. */
	{
		struct in_addr b[2];

		assert_int_equal(pool_alloc(p, "hv2", &s, 2, NULL, NULL, b), 2);
		assert_true(pool_taken(p, &s, b[0], NULL, NULL));
		pool_sent(p, "hv2", b, 2, true);
		assert_false(pool_taken(p, &s, b[0], NULL, NULL));
		assert_int_equal(pool_count(p, "hv2"), 0);
	}
	/* An addition in flight survives even a new connection's report. */
	{
		struct in_addr b[1];

		assert_int_equal(pool_alloc(p, "hv2", &s, 1, NULL, NULL, b), 1);
		assert_int_equal(pool_hv_connected(p, "hv2"), 0);
		assert_int_equal(pool_hv_report(p, "hv2", none, 0, &conflicts), 0);
		assert_true(pool_taken(p, &s, b[0], NULL, NULL));
	}
	pool_free(p);
}

static void test_persist_round_trip(void **state)
{
	struct pool *p = pool_new(), *q = pool_new();
	struct fmapi_topology_subnet s = subnet(true);
	struct in_addr a[3], b[2];
	char err[256], *j, *k;
	const char *lit;
	uint64_t v0 = pool_version(p);

	(void)state;
	assert_int_equal(pool_alloc(p, "hv1", &s, 3, NULL, NULL, a), 3);
	assert_int_equal(pool_alloc(p, "hv2", &s, 2, NULL, NULL, b), 2);
	assert_true(pool_version(p) > v0);
	j = pool_dump(p);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"hv1\""));
	assert_non_null(strstr(j, "\"10.1.0.12\""));
	assert_int_equal(pool_load(q, j, strlen(j), err, sizeof(err)), 0);
	k = pool_dump(q);
	assert_string_equal(j, k);
	assert_string_equal(pool_owner(q, a[2]), "hv1");
	assert_string_equal(pool_owner(q, b[1]), "hv2");
	assert_int_equal(pool_count(q, "hv1"), 3);
	free(j);
	free(k);
	pool_free(q);
	/* Bad records are refused with the place named. */
	q = pool_new();
	lit = "{\"Assignments\":{\"h\":[\"x\"]}}";
	assert_int_equal(pool_load(q, lit, strlen(lit), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "Assignments.h[0]"));
	pool_free(q);
	q = pool_new();
	lit = "{\"Assignments\":{\"a\":[\"10.0.0.1\"],\"b\":[\"10.0.0.1\"]}}";
	assert_int_equal(pool_load(q, lit, strlen(lit), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "also assigned"));
	pool_free(q);
	q = pool_new();
	assert_int_equal(pool_load(q, "{", 1, err, sizeof(err)), -EINVAL);
	pool_free(q);
	pool_free(p);
}

/* A kill -9 in the middle of a refill: the record holds what was decided (some of it
 * never reached the hypervisor); after the restart nothing is handed out twice. */
static void test_restart_reconciliation(void **state)
{
	struct pool *p = pool_new(), *q = pool_new();
	struct fmapi_topology_subnet s = subnet(true);
	struct in_addr a[8], b[4], c[16], z = ip("10.1.0.150");
	char err[256], *j;
	size_t conflicts;

	(void)state;
	assert_int_equal(pool_alloc(p, "hv1", &s, 8, NULL, NULL, a), 8);
	pool_sent(p, "hv1", a, 8, false);
	assert_int_equal(pool_alloc(p, "hv2", &s, 4, NULL, NULL, b), 4); /* killed here */
	j = pool_dump(p);
	pool_free(p);
	/* restart */
	assert_int_equal(pool_load(q, j, strlen(j), err, sizeof(err)), 0);
	free(j);
	/* Before anyone reports, all 12 are taken. */
	for (int i = 0; i < 8; i++)
		assert_true(pool_taken(q, &s, a[i], NULL, NULL));
	for (int i = 0; i < 4; i++)
		assert_true(pool_taken(q, &s, b[i], NULL, NULL));
	/* hv1 reconnects and reports six of its eight plus z, which the record lacked. */
	assert_int_equal(pool_hv_connected(q, "hv1"), 0);
	{
		struct in_addr rep[7];

		memcpy(rep, a, 6 * sizeof(*rep));
		rep[6] = z;
		assert_int_equal(pool_hv_report(q, "hv1", rep, 7, &conflicts), 0);
	}
	assert_int_equal(pool_count(q, "hv1"), 7);
	assert_false(pool_taken(q, &s, a[6], NULL, NULL));
	assert_false(pool_taken(q, &s, a[7], NULL, NULL));
	assert_string_equal(pool_owner(q, z), "hv1");
	/* hv2 never reports: its four stay taken. New allocations avoid all of it. */
	assert_int_equal(pool_alloc(q, "hv3", &s, 16, NULL, NULL, c), 16);
	for (int i = 0; i < 16; i++) {
		for (int k = 0; k < 6; k++)
			assert_int_not_equal(c[i].s_addr, a[k].s_addr);
		for (int k = 0; k < 4; k++)
			assert_int_not_equal(c[i].s_addr, b[k].s_addr);
		assert_int_not_equal(c[i].s_addr, z.s_addr);
	}
	/* The freed a[6], a[7] are given again (lowest first). */
	assert_int_equal(c[0].s_addr, a[6].s_addr);
	assert_int_equal(c[1].s_addr, a[7].s_addr);
	pool_free(q);
}

static void test_subnets_diff(void **state)
{
	struct fmapi_topology_subnet n1 = subnet(true), n2 = subnet(true), n3 = subnet(true);
	const struct fmapi_topology_subnet *need[3] = {&n1, &n2, &n3};
	struct hvapi_subnet have[3];
	struct hvapi_update_subnets_request r;

	(void)state;
	n2.subnet.id = (char *)"net2";
	n2.subnet.ip_gateway = ip("10.2.0.1");
	n3.subnet.id = (char *)"net1"; /* a farther definition of net1: ignored */
	n3.subnet.vlan_id = 7;
	memset(have, 0, sizeof(have));
	have[0] = n1.subnet; /* equal */
	have[1] = n2.subnet;
	have[1].domain_name = (char *)"changed.example";
	have[2].id = (char *)"old";
	assert_int_equal(pool_subnets_diff(have, 3, need, 3, &r), 1);
	assert_int_equal(r.add.n, 0);
	assert_int_equal(r.change.n, 1);
	assert_string_equal(r.change.v[0].id, "net2");
	assert_string_equal(api_str(r.change.v[0].domain_name), "");
	assert_int_equal(r.delete_ids.n, 1);
	assert_string_equal(r.delete_ids.v[0], "old");
	hvapi_update_subnets_request_clear(&r);
	/* nothing reported: all added */
	assert_int_equal(pool_subnets_diff(NULL, 0, need, 2, &r), 1);
	assert_int_equal(r.add.n, 2);
	hvapi_update_subnets_request_clear(&r);
	/* in sync */
	assert_int_equal(pool_subnets_diff(have, 1, need, 1, &r), 0);
	hvapi_update_subnets_request_clear(&r);
	assert_true(pool_subnet_contains(&n1.subnet, ip("10.1.0.77")));
	assert_false(pool_subnet_contains(&n1.subnet, ip("10.2.0.77")));
}

static void test_ipmap(void **state)
{
	struct ipmap m = {0};
	int vals[5000];

	(void)state;
	assert_int_equal(ipmap_put(&m, (struct in_addr){0}, vals), -EINVAL);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(ipmap_put(&m, ipn(0x0a000001 + i * 7), &vals[i]), 0);
	assert_int_equal(m.n, 5000);
	for (uint32_t i = 0; i < 5000; i += 2)
		ipmap_del(&m, ipn(0x0a000001 + i * 7));
	assert_int_equal(m.n, 2500);
	for (uint32_t i = 0; i < 5000; i++) {
		void *v = ipmap_get(&m, ipn(0x0a000001 + i * 7));

		if (i % 2)
			assert_ptr_equal(v, &vals[i]);
		else
			assert_null(v);
	}
	ipmap_del(&m, ip("192.168.0.1")); /* absent: nothing */
	assert_int_equal(m.n, 2500);
	ipmap_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_marks),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_alloc_range),
	    cmocka_unit_test(test_no_ip_twice),
	    cmocka_unit_test(test_release_rules),
	    cmocka_unit_test(test_persist_round_trip),
	    cmocka_unit_test(test_restart_reconciliation),
	    cmocka_unit_test(test_subnets_diff),
	    cmocka_unit_test(test_ipmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
