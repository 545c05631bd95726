/* Address pool: add/remove/trim validation (all or nothing), allocation and release
 * (never one address twice), start-up reconciliation, and the file round trip; the
 * addresses the host keeps for itself and the bounds (issue 17), the address index. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/addrindex.h"
#include "daemon/hypervisor/vmm/addrpool.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct hvapi_address addr(const char *i, unsigned last)
{
	struct hvapi_address a = {.ip = ip(i),
				  .mac = {0x52, 0x54, 0x00, 0x00, 0x01, (uint8_t)last}};

	return a;
}

static struct hvapi_subnet subnet_a = {.id = "a", .ip_gateway = {0}, .ip_mask = {0}};
static struct hvapi_subnet subnet_b = {.id = "b"};
static struct hvapi_subnet two[2];
static struct hvapi_subnets subnets = {2, two};

static int setup(void **state)
{
	(void)state;
	subnet_a.ip_gateway = ip("10.1.0.1");
	subnet_a.ip_mask = ip("255.255.255.0");
	subnet_b.ip_gateway = ip("10.2.0.1");
	subnet_b.ip_mask = ip("255.255.0.0");
	two[0] = subnet_a;
	two[1] = subnet_b;
	return 0;
}

static void add_ok(struct hvapi_address_pool *p, struct hvapi_address *a, size_t n)
{
	struct hvapi_addresses l = {n, a};
	char err[256] = "";

	assert_int_equal(addrpool_add(p, &subnets, NULL, 0, &l, err, sizeof(err)), 0);
}

static void pool_clear(struct hvapi_address_pool *p)
{
	free(p->free.v);
	free(p->registered.v);
	memset(p, 0, sizeof(*p));
}

static void test_add_and_errors(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[3] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				     addr("10.2.3.4", 12)};
	struct hvapi_address bad[2] = {addr("10.1.0.20", 20), addr("192.168.0.1", 21)};
	struct hvapi_address dup_ip = addr("10.1.0.10", 99), dup_mac = addr("10.1.0.99", 10);
	struct hvapi_addresses l;
	char err[256];

	(void)state;
	add_ok(&p, a, 3);
	assert_int_equal(p.free.n, 3);
	assert_int_equal(p.registered.n, 3);

	/* One bad entry: nothing of the request is added. */
	l = (struct hvapi_addresses){2, bad};
	assert_int_equal(addrpool_add(&p, &subnets, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "no subnet matching: 192.168.0.1");
	assert_int_equal(p.registered.n, 3);
	assert_false(addrpool_contains(&p.registered, &bad[0]));

	l = (struct hvapi_addresses){1, &dup_ip};
	assert_int_equal(addrpool_add(&p, &subnets, NULL, 0, &l, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "duplicate IP address: 10.1.0.10");
	l = (struct hvapi_addresses){1, &dup_mac};
	assert_int_equal(addrpool_add(&p, &subnets, NULL, 0, &l, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "duplicate MAC address: 52:54:00:00:01:0a");

	/* Duplicates inside one request. */
	bad[1] = addr("10.1.0.20", 22);
	l = (struct hvapi_addresses){2, bad};
	assert_int_equal(addrpool_add(&p, &subnets, NULL, 0, &l, err, sizeof(err)), -EEXIST);
	assert_int_equal(p.registered.n, 3);
	pool_clear(&p);
}

static void test_add_adopts_vm_address(void **state)
{
	struct hvapi_address_pool p = {0};
	struct addrpool_use uses[1] = {{.addr = addr("10.1.0.50", 50), .vm = ip("10.1.0.50")}};
	struct hvapi_address same = addr("10.1.0.50", 50), other_mac = addr("10.1.0.50", 51);
	struct hvapi_address mac_elsewhere = addr("10.1.0.60", 50);
	struct hvapi_addresses l = {1, &same};
	char err[256];

	(void)state;
	assert_int_equal(addrpool_add(&p, &subnets, uses, 1, &l, err, sizeof(err)), 0);
	assert_int_equal(p.registered.n, 1);
	assert_int_equal(p.free.n, 0); /* adopted, not free */
	pool_clear(&p);

	l = (struct hvapi_addresses){1, &other_mac};
	assert_int_equal(addrpool_add(&p, &subnets, uses, 1, &l, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "duplicate IP address: 10.1.0.50"); /* the original's text */
	l = (struct hvapi_addresses){1, &mac_elsewhere};
	assert_int_equal(addrpool_add(&p, &subnets, uses, 1, &l, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "duplicate MAC address: 52:54:00:00:01:32");
	assert_int_equal(p.registered.n, 0);
}

static void test_allocate_release_never_twice(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[3] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				     addr("10.2.3.4", 12)};
	struct hvapi_address got[2], x;
	struct in_addr any = {0};
	char err[256];

	(void)state;
	add_ok(&p, a, 3);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, any, &got[0], err, sizeof(err)), 0);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, any, &got[1], err, sizeof(err)), 0);
	assert_int_not_equal(got[0].ip.s_addr, got[1].ip.s_addr);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, any, &x, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "no free address in subnet: a");
	assert_int_equal(addrpool_num_free(&p, &subnet_a), 0);
	assert_int_equal(addrpool_num_free(&p, &subnet_b), 1);

	/* A specific address: only if free and in the subnet. */
	assert_int_equal(addrpool_allocate(&p, &subnet_a, ip("10.1.0.10"), &x, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "address: 10.1.0.10 not found in free pool");
	assert_int_equal(addrpool_allocate(&p, &subnet_a, ip("10.2.3.4"), &x, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(addrpool_allocate(&p, &subnet_b, ip("10.2.3.4"), &x, err, sizeof(err)), 0);
	assert_int_equal(addrpool_allocate(&p, &subnet_b, any, &x, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "no free addresses in pool");

	/* Release twice: free once. Unregistered: refused. */
	assert_int_equal(addrpool_release(&p, &got[0]), 0);
	assert_int_equal(addrpool_release(&p, &got[0]), 0);
	assert_int_equal(p.free.n, 1);
	x = addr("10.1.0.77", 77);
	assert_int_equal(addrpool_release(&p, &x), -ENOENT);
	assert_int_equal(p.free.n, 1);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, any, &x, err, sizeof(err)), 0);
	assert_int_equal(x.ip.s_addr, got[0].ip.s_addr);
	assert_int_equal(p.registered.n, 3);
	pool_clear(&p);
}

static void test_remove(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[3] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				     addr("10.2.3.4", 12)};
	struct addrpool_use uses[1] = {{.addr = addr("10.1.0.11", 11), .vm = ip("10.1.0.11")}};
	struct hvapi_address got, rm[3];
	struct hvapi_addresses l;
	char err[256];

	(void)state;
	add_ok(&p, a, 3);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, ip("10.1.0.11"), &got, err, sizeof(err)),
			 0);

	rm[0] = a[1];
	l = (struct hvapi_addresses){1, rm};
	/* The original's texts: Go's %v of the set of IPs (or MACs) not found. */
	assert_int_equal(addrpool_remove(&p, uses, 1, &l, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "IPs: map[10.1.0.11:{}] not in free pool");
	assert_int_equal(addrpool_remove(&p, NULL, 0, &l, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "IPs: map[10.1.0.11:{}] not in free pool");
	rm[0] = addr("10.1.0.99", 99);
	rm[1] = addr("10.1.0.100", 100);
	rm[2] = addr("10.1.0.99", 99);
	l = (struct hvapi_addresses){3, rm};
	assert_int_equal(addrpool_remove(&p, NULL, 0, &l, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "IPs: map[10.1.0.100:{} 10.1.0.99:{}] not in free pool");
	rm[0].ip.s_addr = 0;
	l = (struct hvapi_addresses){1, rm};
	assert_int_equal(addrpool_remove(&p, NULL, 0, &l, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "MACs: map[52:54:00:00:01:63:{}] not in free pool");

	/* By IP and by MAC (an entry without IP); all or nothing. */
	rm[0] = a[0];
	rm[1] = a[2];
	rm[1].ip.s_addr = 0;
	l = (struct hvapi_addresses){2, rm};
	assert_int_equal(addrpool_remove(&p, NULL, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(p.free.n, 0);
	assert_int_equal(p.registered.n, 1);
	pool_clear(&p);
}

static void test_trim(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[5] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				     addr("10.1.0.12", 12), addr("10.2.0.10", 13),
				     addr("10.2.0.11", 14)};
	struct hvapi_count per_a = {.key = "a", .count = 1}, all = {.key = "", .count = 2};

	(void)state;
	add_ok(&p, a, 5);
	assert_int_equal(addrpool_trim(&p, &subnets, &per_a, 1), 2);
	assert_int_equal(addrpool_num_free(&p, &subnet_a), 1);
	assert_int_equal(addrpool_num_free(&p, &subnet_b), 2);
	assert_int_equal(p.registered.n, 3);
	assert_int_equal(addrpool_trim(&p, &subnets, &all, 1), 1);
	assert_int_equal(p.free.n, 2);
	assert_true(addrpool_contains(&p.free, &a[0]));
	pool_clear(&p);
}

static int nreports;
static void count_report(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
	nreports++;
}

static void test_reconcile(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address reg[4] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				       addr("10.1.0.12", 12), addr("10.1.0.10", 10)};
	struct hvapi_address fr[2] = {addr("10.1.0.11", 11), addr("10.1.0.13", 13)};
	struct addrpool_use uses[2] = {{.addr = addr("10.1.0.11", 11), .vm = ip("10.1.0.11")},
				       {.addr = addr("10.1.0.14", 14), .vm = ip("10.1.0.14")}};

	(void)state;
	p.registered.v = malloc(sizeof(reg));
	memcpy(p.registered.v, reg, sizeof(reg));
	p.registered.n = 4;
	p.free.v = malloc(sizeof(fr));
	memcpy(p.free.v, fr, sizeof(fr));
	p.free.n = 2;
	nreports = 0;
	/* duplicate .10; free .11 used by a VM; free .13 not registered; .10 and .12
	 * registered but unused -> free; .14 used but not registered (report only). */
	assert_int_equal(addrpool_reconcile(&p, &subnets, uses, 2, count_report, NULL), 5);
	assert_int_equal(nreports, 6);
	assert_int_equal(p.registered.n, 3);
	assert_int_equal(p.free.n, 2);
	assert_true(addrpool_contains(&p.free, &reg[0]));
	assert_true(addrpool_contains(&p.free, &reg[2]));
	assert_false(addrpool_contains(&p.free, &fr[0]));
	nreports = 0;
	assert_int_equal(addrpool_reconcile(&p, &subnets, uses, 2, count_report, NULL), 0);
	assert_int_equal(nreports, 1);
	pool_clear(&p);
}

/* The gateway, the network and broadcast addresses and the DHCP dynamic range are the
 * host's: refused, and the pool is unchanged. */
static void test_add_reserved(void **state)
{
	struct hvapi_subnet dyn = subnet_a;
	struct hvapi_subnets one = {1, &dyn};
	struct hvapi_address_pool p = {0};
	struct hvapi_address ok = addr("10.1.0.10", 10), x;
	struct hvapi_addresses l = {1, &x};
	char err[256];

	(void)state;
	dyn.first_dynamic_ip = ip("10.1.0.100");
	dyn.last_dynamic_ip = ip("10.1.0.200");
	add_ok(&p, &ok, 1);
	x = addr("10.1.0.1", 20);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "IP 10.1.0.1 is the gateway of subnet a");
	x = addr("10.1.0.0", 21);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "IP 10.1.0.0 is the network address of subnet a");
	x = addr("10.1.0.255", 22);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "IP 10.1.0.255 is the broadcast address of subnet a");
	x = addr("10.1.0.150", 23);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "IP 10.1.0.150 is in the DHCP dynamic range of subnet a "
				 "(10.1.0.100-10.1.0.200)");
	x = addr("10.1.0.200", 24);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(p.registered.n, 1);
	assert_int_equal(p.free.n, 1);
	x = addr("10.1.0.201", 25);
	assert_int_equal(addrpool_add(&p, &one, NULL, 0, &l, err, sizeof(err)), 0);
	pool_clear(&p);
}

/* A pool written before those were refused: allocation never hands them out. */
static void test_allocate_skips_reserved(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[2] = {addr("10.1.0.1", 1), addr("10.1.0.255", 2)}, got;
	struct in_addr any = {0};
	char err[256];

	(void)state;
	p.free.v = malloc(sizeof(a));
	memcpy(p.free.v, a, sizeof(a));
	p.free.n = 2;
	assert_int_equal(addrpool_allocate(&p, &subnet_a, any, &got, err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "no free address in subnet: a");
	assert_int_equal(addrpool_allocate(&p, &subnet_a, ip("10.1.0.1"), &got, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "IP 10.1.0.1 is the gateway of subnet a");
	assert_int_equal(p.free.n, 2);
	pool_clear(&p);
}

/* ... and start-up drops them (unless a VM uses one: then it is only reported). */
static void test_reconcile_drops_reserved(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address reg[3] = {addr("10.1.0.1", 1), addr("10.1.0.10", 10),
				       addr("10.1.0.255", 2)};
	struct addrpool_use uses[1] = {{.addr = addr("10.1.0.255", 2), .vm = ip("10.1.0.255")}};

	(void)state;
	p.registered.v = malloc(sizeof(reg));
	memcpy(p.registered.v, reg, sizeof(reg));
	p.registered.n = 3;
	p.free.v = malloc(sizeof(reg));
	memcpy(p.free.v, reg, 2 * sizeof(*reg));
	p.free.n = 2;
	nreports = 0;
	assert_int_equal(addrpool_reconcile(&p, &subnets, uses, 1, count_report, NULL), 1);
	assert_int_equal(nreports, 2); /* .1 dropped; .255 reserved but used by a VM */
	assert_int_equal(p.registered.n, 2);
	assert_int_equal(p.free.n, 1);
	assert_false(addrpool_contains(&p.registered, &reg[0]));
	assert_true(addrpool_contains(&p.free, &reg[1]));
	pool_clear(&p);
}

/* n addresses from 10.2.1.0 + from on (in wide, a /15), MACs 52:tag:0:<from> on. */
static struct hvapi_address *many(size_t n, size_t from, uint8_t tag)
{
	struct hvapi_address *v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		size_t k = from + i;

		v[i].ip.s_addr = htonl((10u << 24) | (2u << 16) | (uint32_t)(256 + k));
		v[i].mac[0] = 0x52;
		v[i].mac[1] = tag;
		v[i].mac[3] = (uint8_t)(k >> 16);
		v[i].mac[4] = (uint8_t)(k >> 8);
		v[i].mac[5] = (uint8_t)k;
	}
	return v;
}

/* ADDRPOOL_MAX_ADD per call, ADDRPOOL_MAX in all; a full pool still trims, removes and
 * repairs itself (in time linear in the pool: this test would take minutes if not). */
static void test_bounds_and_big_pool(void **state)
{
	struct hvapi_subnet b = subnet_b;
	struct hvapi_subnets wide = {1, &b};
	struct hvapi_address_pool p = {0}, q;
	struct hvapi_address *v = many(ADDRPOOL_MAX_ADD + 1, 0, 0x54);
	struct hvapi_addresses l = {ADDRPOOL_MAX_ADD + 1, v};
	struct hvapi_count keep = {.key = "b", .count = 100};
	char err[256];

	(void)state;
	b.ip_mask = ip("255.254.0.0");
	assert_int_equal(addrpool_add(&p, &wide, NULL, 0, &l, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "too many addresses to add: 4097 (at most 4096 in one call)");
	assert_int_equal(p.registered.n, 0);
	free(v);
	for (size_t k = 0; k < ADDRPOOL_MAX / ADDRPOOL_MAX_ADD; k++) {
		v = many(ADDRPOOL_MAX_ADD, k * ADDRPOOL_MAX_ADD, 0x54);
		l = (struct hvapi_addresses){ADDRPOOL_MAX_ADD, v};
		assert_int_equal(addrpool_add(&p, &wide, NULL, 0, &l, err, sizeof(err)), 0);
		free(v);
	}
	assert_int_equal(p.registered.n, ADDRPOOL_MAX);
	assert_int_equal(p.free.n, ADDRPOOL_MAX);
	assert_int_equal(addrpool_copy(&q, &p), 0);
	assert_int_equal(q.registered.n, ADDRPOOL_MAX);
	assert_memory_equal(q.free.v, p.free.v, ADDRPOOL_MAX * sizeof(*v));
	pool_clear(&q);
	v = many(1, ADDRPOOL_MAX, 0x54);
	l = (struct hvapi_addresses){1, v};
	assert_int_equal(addrpool_add(&p, &wide, NULL, 0, &l, err, sizeof(err)), -ENOSPC);
	assert_string_equal(
	    err, "address pool full: 65536 registered, 1 more would pass the limit of 65536");
	free(v);
	/* Removal by IP (with another MAC) deep inside a full pool. */
	v = many(1, 65000, 0x99);
	l = (struct hvapi_addresses){1, v};
	assert_int_equal(addrpool_trim(&p, &wide, &keep, 0), 0);
	assert_int_equal(addrpool_reconcile(&p, &wide, NULL, 0, count_report, NULL), 0);
	assert_int_equal(addrpool_remove(&p, NULL, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(p.registered.n, ADDRPOOL_MAX - 1);
	free(v);
	/* Every address twice in Free: start-up drops the copies. */
	v = realloc(p.free.v, 2 * p.free.n * sizeof(*v));
	assert_non_null(v);
	memcpy(&v[p.free.n], v, p.free.n * sizeof(*v));
	p.free.v = v;
	p.free.n *= 2;
	assert_int_equal(addrpool_reconcile(&p, &wide, NULL, 0, count_report, NULL),
			 ADDRPOOL_MAX - 1);
	assert_int_equal(p.free.n, ADDRPOOL_MAX - 1);
	assert_int_equal(addrpool_trim(&p, &wide, &keep, 1), ADDRPOOL_MAX - 1 - 100);
	assert_int_equal(p.free.n, 100);
	assert_int_equal(p.registered.n, 100);
	pool_clear(&p);
}

/* The index: IPs and MACs apart, growth past its first size, first value wins. */
static void test_addrindex(void **state)
{
	struct addrindex ix = {0};
	struct hvapi_address a = addr("10.1.0.10", 10), b = a;
	size_t val;

	(void)state;
	b.ip.s_addr = 0;
	assert_false(addrindex_find(&ix, &a, NULL));
	for (size_t i = 0; i < 10000; i++)
		assert_int_equal(addrindex_put(&ix, i + 1, i), 0);
	assert_int_equal(addrindex_put(&ix, 5, 99), 1);
	assert_true(addrindex_get(&ix, 5, &val));
	assert_int_equal(val, 4);
	assert_false(addrindex_get(&ix, 10001, NULL));
	assert_int_equal(addrindex_put_address(&ix, &a, 7), 0);
	assert_true(addrindex_find(&ix, &a, &val));
	assert_int_equal(val, 7);
	assert_true(addrindex_find(&ix, &b, NULL)); /* by MAC when there is no IP */
	a.ip = ip("10.1.0.11");
	assert_false(addrindex_find(&ix, &a, NULL)); /* by IP when there is one */
	assert_true(ix.n == 10002 && ix.cap >= 2 * ix.n);
	addrindex_fini(&ix);
}

/* The pool's text, built address by address, is what api_write_file writes. */
static void test_to_text(void **state)
{
	struct hvapi_address_pool p = {0};
	struct hvapi_address a[3] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11),
				     addr("10.2.3.4", 12)};
	char dir[] = "/tmp/ss0-addrtext.XXXXXX", path[256], *text, *file;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/address-pool.json", dir);
	for (int round = 0; round < 3; round++) {
		if (round == 1)
			add_ok(&p, a, 3);
		if (round == 2) {
			p.free.n = 0;			 /* null list */
			p.registered.v[1].ip.s_addr = 0; /* MAC only: no IpAddress */
		}
		assert_int_equal(api_write_file(&hvapi_address_pool_type, path, &p, 0644), 0);
		f = fopen(path, "r");
		assert_non_null(f);
		file = calloc(1, 4096);
		assert_true(fread(file, 1, 4095, f) > 0);
		fclose(f);
		text = addrpool_to_text(&p, &len);
		assert_non_null(text);
		assert_string_equal(text, file);
		assert_int_equal(len, strlen(file));
		free(text);
		free(file);
	}
	unlink(path);
	rmdir(dir);
	pool_clear(&p);
}

/* address-pool.json: pretty JSON, mode 0644, both lists; null lists read back empty. */
static void test_persist(void **state)
{
	struct hvapi_address_pool p = {0}, q = {0};
	struct hvapi_address a[2] = {addr("10.1.0.10", 10), addr("10.1.0.11", 11)};
	struct hvapi_address got;
	char dir[] = "/tmp/ss0-addrpool.XXXXXX", path[256], err[256], *text = NULL;
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/address-pool.json", dir);
	add_ok(&p, a, 2);
	assert_int_equal(addrpool_allocate(&p, &subnet_a, ip("10.1.0.10"), &got, err, sizeof(err)),
			 0);
	assert_int_equal(api_write_file(&hvapi_address_pool_type, path, &p, 0644), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(api_load_file(&hvapi_address_pool_type, path, &q, &text), 0);
	assert_int_equal(q.free.n, 1);
	assert_int_equal(q.registered.n, 2);
	assert_int_equal(q.free.v[0].ip.s_addr, ip("10.1.0.11").s_addr);
	assert_memory_equal(q.free.v[0].mac, a[1].mac, 6);
	api_clear(&hvapi_address_pool_type, &q);

	f = fopen(path, "w");
	fputs("# written by hand\n{\"Free\": null, \"Registered\": null}\n", f);
	fclose(f);
	assert_int_equal(api_load_file(&hvapi_address_pool_type, path, &q, &text), 0);
	assert_int_equal(q.free.n + q.registered.n, 0);
	unlink(path);
	rmdir(dir);
	pool_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_errors),
	    cmocka_unit_test(test_add_adopts_vm_address),
	    cmocka_unit_test(test_allocate_release_never_twice),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_trim),
	    cmocka_unit_test(test_reconcile),
	    cmocka_unit_test(test_persist),
	    cmocka_unit_test(test_add_reserved),
	    cmocka_unit_test(test_allocate_skips_reserved),
	    cmocka_unit_test(test_reconcile_drops_reserved),
	    cmocka_unit_test(test_bounds_and_big_pool),
	    cmocka_unit_test(test_addrindex),
	    cmocka_unit_test(test_to_text),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
