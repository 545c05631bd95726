/* Subnets: containment, selection with access lists (§6.3), and UpdateSubnets
 * validated as a whole before anything changes (weaknesses.md #14); the addresses the
 * host keeps for itself, ids, domain names, overlaps and bounds (issue 17). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/subnets.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct hvapi_subnet mk(const char *id, const char *gw, const char *mask)
{
	struct hvapi_subnet s = {.id = (char *)id, .ip_gateway = ip(gw), .ip_mask = ip(mask)};

	return s;
}

static void test_contains(void **state)
{
	struct hvapi_subnet v[2] = {mk("a", "10.1.0.1", "255.255.255.0"),
				    mk("b", "10.1.0.1", "255.255.0.0")};
	struct hvapi_subnets l = {2, v};

	(void)state;
	assert_true(subnets_contains(&v[0], ip("10.1.0.200")));
	assert_false(subnets_contains(&v[0], ip("10.1.1.1")));
	assert_ptr_equal(subnets_for_ip(&l, ip("10.1.0.5")), &v[0]); /* first match wins */
	assert_ptr_equal(subnets_for_ip(&l, ip("10.1.7.5")), &v[1]);
	assert_null(subnets_for_ip(&l, ip("10.9.0.1")));
	assert_ptr_equal(subnets_find(&l, "b"), &v[1]);
	assert_null(subnets_find(&l, "c"));
}

static void test_select(void **state)
{
	char *groups[] = {"ops"};
	struct subnets_caller alice = {.user = "alice"},
			      ops = {.user = "bob", .groups = groups, .ngroups = 1};
	struct subnets_caller admin = {.user = "root", .admin = true};
	struct hvapi_subnet v[3] = {mk("hypervisor", "10.0.0.1", "255.255.255.0"),
				    mk("prod", "10.1.0.1", "255.255.255.0"),
				    mk("test", "10.2.0.1", "255.255.255.0")};
	struct hvapi_subnets l = {1, v};
	const struct hvapi_subnet *s;
	char err[256];

	(void)state;
	assert_int_equal(subnets_select(&l, "", &alice, &s, err, sizeof(err)), 0);
	assert_string_equal(s->id, "hypervisor");

	api_strlist_add(&v[1].allowed_groups, "ops");
	l.n = 3;
	assert_int_equal(subnets_select(&l, NULL, &alice, &s, err, sizeof(err)), 0);
	assert_string_equal(s->id, "test"); /* prod is not permitted to alice */
	assert_int_equal(subnets_select(&l, NULL, &ops, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "multiple available subnets: pick one");
	assert_int_equal(subnets_select(&l, "prod", &alice, &s, err, sizeof(err)), -EACCES);
	assert_int_equal(subnets_select(&l, "prod", &ops, &s, err, sizeof(err)), 0);
	assert_int_equal(subnets_select(&l, "prod", &admin, &s, err, sizeof(err)), 0);
	assert_int_equal(subnets_select(&l, "nope", &admin, &s, err, sizeof(err)), -ENOENT);
	api_strlist_add(&v[2].allowed_users, "carol");
	assert_int_equal(subnets_select(&l, NULL, &alice, &s, err, sizeof(err)), -EACCES);
	assert_string_equal(err, "no subnets permitted");
	l.n = 0;
	assert_int_equal(subnets_select(&l, NULL, &admin, &s, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no subnets exist");
	api_strlist_clear(&v[1].allowed_groups);
	api_strlist_clear(&v[2].allowed_users);
}

static void test_validate_one(void **state)
{
	struct hvapi_subnet s = mk("a", "10.1.0.1", "255.255.255.0");
	char err[256];

	(void)state;
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	s.ip_mask = ip("255.0.255.0");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	s = mk("a/b", "10.1.0.1", "255.255.255.0");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	s = mk("a", "10.1.0.1", "255.255.255.0");
	s.first_dynamic_ip = ip("10.1.0.100");
	s.last_dynamic_ip = ip("10.1.1.100");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	s.last_dynamic_ip = ip("10.1.0.200");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
}

static void refused(const struct hvapi_subnet *s, const char *want)
{
	char err[512] = "";

	assert_int_equal(subnets_validate_one(s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

/* Ids: short printable names. Domain names: DNS names. At most 8 name servers. */
static void test_validate_names(void **state)
{
	static char big[1 << 20];
	struct hvapi_subnet s = mk("a", "10.1.0.1", "255.255.255.0");
	struct in_addr dns[SUBNETS_DNS_MAX + 1] = {{0}};
	char id63[64], err[512], label[80], domain[400];

	(void)state;
	s.id = "bad\nid";
	refused(&s, "bad subnet id: \"bad?id\" (6 bytes): want 1 to 63 letters, digits, '.', '_' "
		    "or '-', starting with a letter or digit");
	memset(big, 'x', sizeof(big) - 1);
	s.id = big;
	refused(&s, "bad subnet id: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" (1048575 "
		    "bytes): want 1 to 63 letters, digits, '.', '_' or '-', starting with a letter "
		    "or digit");
	memset(id63, 'i', 63);
	id63[63] = '\0';
	s.id = id63;
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	big[64] = '\0';
	s.id = big;
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	big[64] = 'x';
	for (const char **id = (const char *[]){"", "..", ".a", "-a", "a b", "a/b", "a@b", NULL};
	     *id != NULL; id++) {
		s.id = (char *)*id;
		assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	}
	s.id = "prod-1.eu_west";
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);

	for (const char **d = (const char *[]){"example.com", "a.b-c.d9.", "x", NULL}; *d; d++) {
		s.domain_name = (char *)*d;
		assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	}
	s.domain_name = "exa mple.com";
	refused(&s, "subnet prod-1.eu_west: bad DomainName \"exa mple.com\" (12 bytes): want a DNS "
		    "name, labels of 1 to 63 letters, digits or '-', 253 characters at most");
	for (const char **d = (const char *[]){"a..b", ".a", "-a.b", "a-.b", "a_b.c", "a\nb", ".",
					       "a.b..", NULL};
	     *d; d++) {
		s.domain_name = (char *)*d;
		assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	}
	memset(label, 'l', 64);
	label[64] = '\0';
	s.domain_name = label; /* a label of 64 */
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	label[63] = '\0';
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	/* 253 characters: three labels of 63 and one of 61; one more is too long */
	snprintf(domain, sizeof(domain), "%s.%s.%s.%.61s", label, label, label, label);
	assert_int_equal(strlen(domain), 253);
	s.domain_name = domain;
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	strcat(domain, "x");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), -EINVAL);
	s.domain_name = NULL;

	s.domain_name_servers.v = dns;
	s.domain_name_servers.n = SUBNETS_DNS_MAX;
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);
	s.domain_name_servers.n++;
	refused(&s, "subnet prod-1.eu_west: 9 DomainNameServers (at most 8)");
}

/* The gateway is no network or broadcast address, a /32 has no room, the dynamic range
 * holds none of gateway, network and broadcast address. */
static void test_validate_reserved(void **state)
{
	struct hvapi_subnet s = mk("t", "10.99.0.1", "255.255.255.255");
	char err[512];

	(void)state;
	refused(&s, "subnet t: a /32 has no address besides its gateway");
	s = mk("t", "10.99.0.0", "255.255.255.252");
	s.ip_gateway = ip("10.99.0.0");
	refused(&s, "subnet t: IpGateway 10.99.0.0 is the network address");
	s.ip_gateway = ip("10.99.0.3");
	refused(&s, "subnet t: IpGateway 10.99.0.3 is the broadcast address");
	s = mk("t", "10.99.0.0", "255.255.255.254"); /* a /31: both are hosts */
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);

	s = mk("t", "10.99.0.1", "255.255.255.0");
	s.first_dynamic_ip = ip("10.99.0.0");
	s.last_dynamic_ip = ip("10.99.0.50");
	refused(&s, "subnet t: dynamic range 10.99.0.0-10.99.0.50 holds the network address "
		    "10.99.0.0");
	s.first_dynamic_ip = ip("10.99.0.1");
	refused(&s, "subnet t: dynamic range 10.99.0.1-10.99.0.50 holds the gateway 10.99.0.1");
	s.first_dynamic_ip = ip("10.99.0.200");
	s.last_dynamic_ip = ip("10.99.0.255");
	refused(&s, "subnet t: dynamic range 10.99.0.200-10.99.0.255 holds the broadcast address "
		    "10.99.0.255");
	s.last_dynamic_ip = ip("10.99.0.254");
	assert_int_equal(subnets_validate_one(&s, err, sizeof(err)), 0);

	assert_true(subnets_reserved(&s, ip("10.99.0.1"), err, sizeof(err)));
	assert_string_equal(err, "the gateway of subnet t");
	assert_true(subnets_reserved(&s, ip("10.99.0.210"), err, sizeof(err)));
	assert_string_equal(err, "in the DHCP dynamic range of subnet t (10.99.0.200-10.99.0.254)");
	assert_false(subnets_reserved(&s, ip("10.99.0.199"), err, sizeof(err)));
}

struct fixture {
	struct hvapi_subnet cur_v[2];
	struct hvapi_subnets cur;
	struct hvapi_address pool_free[2], pool_reg[3];
	struct hvapi_address_pool pool;
	struct addrpool_use uses[1];
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->cur_v[0] = mk("a", "10.1.0.1", "255.255.255.0");
	f->cur_v[1] = mk("b", "10.2.0.1", "255.255.255.0");
	f->cur = (struct hvapi_subnets){2, f->cur_v};
	f->pool_free[0] =
	    (struct hvapi_address){.ip = ip("10.1.0.10"), .mac = {0x52, 0x54, 0, 0, 0, 1}};
	f->pool_free[1] =
	    (struct hvapi_address){.ip = ip("10.2.0.10"), .mac = {0x52, 0x54, 0, 0, 0, 2}};
	f->pool_reg[0] = f->pool_free[0];
	f->pool_reg[1] = f->pool_free[1];
	f->pool_reg[2] =
	    (struct hvapi_address){.ip = ip("10.2.0.20"), .mac = {0x52, 0x54, 0, 0, 0, 3}};
	f->pool = (struct hvapi_address_pool){{2, f->pool_free}, {3, f->pool_reg}};
	f->uses[0] = (struct addrpool_use){.addr = f->pool_reg[2], .vm = ip("10.2.0.20")};
}

static int update(struct fixture *f, struct hvapi_update_subnets_request *req,
		  struct hvapi_subnets *out, struct hvapi_addresses *drop, char *err)
{
	return subnets_update(&f->cur, req, &f->pool, f->uses, 1, out, drop, err, 256);
}

static void test_update_refusals(void **state)
{
	struct fixture f;
	struct hvapi_subnet add[2] = {mk("c", "10.3.0.1", "255.255.255.0"),
				      mk("a", "10.4.0.1", "255.255.255.0")};
	struct hvapi_subnet hv = mk("hypervisor", "10.5.0.1", "255.255.255.0");
	struct hvapi_update_subnets_request req = {0};
	struct hvapi_subnets out;
	struct hvapi_addresses drop;
	char *del[] = {"b"}, *missing[] = {"zz"}, *hvid[] = {"hypervisor"};
	char err[256];

	(void)state;
	fixture_init(&f);
	req.add = (struct hvapi_subnets){2, add};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EEXIST);
	assert_string_equal(err, "subnet: a already exists");
	assert_int_equal(out.n, 0);
	assert_int_equal(f.cur.n, 2); /* nothing changed */

	req = (struct hvapi_update_subnets_request){.add = {1, &hv}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EPERM);
	req = (struct hvapi_update_subnets_request){.delete_ids = {1, hvid}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EPERM);
	req = (struct hvapi_update_subnets_request){.delete_ids = {1, missing}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -ENOENT);
	req = (struct hvapi_update_subnets_request){.change = {1, &add[0]}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -ENOENT);
	assert_string_equal(err, "subnet: c does not exist");

	/* #14: a subnet a VM still uses cannot go away (nor be changed from under it). */
	req = (struct hvapi_update_subnets_request){.delete_ids = {1, del}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EBUSY);
	assert_string_equal(err, "address 10.2.0.20 of VM 10.2.0.20 would be in no subnet");
	add[1] = mk("b", "10.9.0.1", "255.255.255.0");
	req = (struct hvapi_update_subnets_request){.change = {1, &add[1]}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EBUSY);
}

static void test_update_applies(void **state)
{
	struct fixture f;
	struct hvapi_subnet add = mk("0first", "10.3.0.1", "255.255.255.0");
	struct hvapi_update_subnets_request req = {0};
	struct hvapi_subnets out;
	struct hvapi_addresses drop;
	char *del[] = {"a"};
	char err[256];

	(void)state;
	fixture_init(&f);
	req.add = (struct hvapi_subnets){1, &add};
	req.delete_ids = (struct api_strlist){1, del};
	assert_int_equal(update(&f, &req, &out, &drop, err), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].id, "0first"); /* sorted by Id */
	assert_string_equal(out.v[1].id, "b");
	/* The free address of deleted subnet a leaves the pool in the same commit. */
	assert_int_equal(drop.n, 1);
	assert_int_equal(drop.v[0].ip.s_addr, ip("10.1.0.10").s_addr);
	assert_int_equal(f.cur.n, 2);
	assert_string_equal(f.cur.v[0].id, "a");
	hvapi_subnets_clear(&out);
	free(drop.v);
}

/* Overlaps, addresses that would become reserved, too many subnets. */
static void test_update_overlaps_and_reserved(void **state)
{
	struct fixture f;
	struct hvapi_subnet add = mk("c", "10.1.0.129", "255.255.255.128");
	struct hvapi_subnet change = mk("b", "10.2.0.1", "255.255.255.0");
	struct hvapi_update_subnets_request req = {.add = {1, &add}};
	struct hvapi_subnet *lots = calloc(SUBNETS_MAX + 1, sizeof(*lots));
	char ids[SUBNETS_MAX + 1][8];
	struct hvapi_subnets out;
	struct hvapi_addresses drop;
	char err[256];

	(void)state;
	fixture_init(&f);
	assert_int_equal(update(&f, &req, &out, &drop, err), -EINVAL);
	assert_string_equal(err, "subnets c (10.1.0.129/25) and a (10.1.0.1/24) overlap");
	add = mk("c", "10.0.0.1", "255.0.0.0");
	assert_int_equal(update(&f, &req, &out, &drop, err), -EINVAL);
	assert_string_equal(err, "subnets c (10.0.0.1/8) and a (10.1.0.1/24) overlap");

	/* b's new dynamic range would hold pool address 10.2.0.10, its new gateway the
	 * address of VM 10.2.0.20. */
	change.first_dynamic_ip = ip("10.2.0.5");
	change.last_dynamic_ip = ip("10.2.0.15");
	req = (struct hvapi_update_subnets_request){.change = {1, &change}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -EBUSY);
	assert_string_equal(err, "pool address 10.2.0.10 would be in the DHCP dynamic range of "
				 "subnet b (10.2.0.5-10.2.0.15)");
	change = mk("b", "10.2.0.20", "255.255.255.0");
	assert_int_equal(update(&f, &req, &out, &drop, err), -EBUSY);
	assert_string_equal(err,
			    "address 10.2.0.20 of VM 10.2.0.20 would be the gateway of subnet b");

	for (size_t i = 0; i <= SUBNETS_MAX; i++) {
		snprintf(ids[i], sizeof(ids[i]), "n%zu", i);
		lots[i] = mk(ids[i], "10.0.0.1", "255.255.255.0");
		lots[i].ip_gateway.s_addr = htonl((11u << 24) | ((uint32_t)i << 8) | 1);
	}
	req = (struct hvapi_update_subnets_request){.add = {SUBNETS_MAX + 1, lots}};
	assert_int_equal(update(&f, &req, &out, &drop, err), -E2BIG);
	req.add.n = SUBNETS_MAX - 1;
	assert_int_equal(update(&f, &req, &out, &drop, err), -E2BIG);
	assert_string_equal(err, "too many subnets: 257 (at most 256)");
	req.add.n = SUBNETS_MAX - 2;
	assert_int_equal(update(&f, &req, &out, &drop, err), 0);
	assert_int_equal(out.n, SUBNETS_MAX);
	hvapi_subnets_clear(&out);
	free(drop.v);
	free(lots);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_validate_one),
	    cmocka_unit_test(test_update_refusals),
	    cmocka_unit_test(test_update_applies),
	    cmocka_unit_test(test_validate_names),
	    cmocka_unit_test(test_validate_reserved),
	    cmocka_unit_test(test_update_overlaps_and_reserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
