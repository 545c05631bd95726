/* DHCP lease table (static/dynamic/netboot, expiry, eviction, tokens, waiter
 * counters) and the dynamic-leases.json store. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_lease.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static const uint8_t macA[6] = {2, 0, 0, 0, 0, 0xa};
static const uint8_t macB[6] = {2, 0, 0, 0, 0, 0xb};
static const uint8_t macC[6] = {2, 0, 0, 0, 0, 0xc};

static struct dhcp_subnet subnet(void)
{
	struct dhcp_subnet s = {.id = "s1"};
	s.gateway = ip("10.0.0.1");
	s.mask = ip("255.255.255.0");
	s.first_dynamic = ip("10.0.0.100");
	s.last_dynamic = ip("10.0.0.102");
	return s;
}

static struct dhcp_lease static_lease(const uint8_t mac[6], const char *addr,
				      enum dhcp_lease_kind k)
{
	struct dhcp_lease l = {.kind = k, .ip = ip(addr)};
	memcpy(l.mac, mac, 6);
	snprintf(l.hostname, sizeof(l.hostname), "h-%s", addr);
	return l;
}

static void test_static_add_replace_evict(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_lease l = static_lease(macA, "10.0.0.5", DHCP_LEASE_VM);
	bool ch = false;
	assert_int_equal(dhcp_leases_add(t, &l, &ch), 0);
	assert_non_null(dhcp_leases_by_mac(t, macA, 0));
	assert_string_equal(dhcp_leases_by_ip(t, ip("10.0.0.5"), 0)->hostname, "h-10.0.0.5");
	/* same MAC, new IP: replaced */
	l = static_lease(macA, "10.0.0.6", DHCP_LEASE_VM);
	assert_int_equal(dhcp_leases_add(t, &l, &ch), 0);
	assert_null(dhcp_leases_by_ip(t, ip("10.0.0.5"), 0));
	assert_int_equal(dhcp_leases_count(t), 1);
	/* other MAC, same IP: evicts A */
	l = static_lease(macB, "10.0.0.6", DHCP_LEASE_EXTERNAL);
	assert_int_equal(dhcp_leases_add(t, &l, &ch), 0);
	assert_null(dhcp_leases_by_mac(t, macA, 0));
	assert_int_equal(dhcp_leases_by_mac(t, macB, 0)->kind, DHCP_LEASE_EXTERNAL);
	assert_false(ch);
	/* dynamic kinds and zero addresses are refused */
	l = static_lease(macC, "0.0.0.0", DHCP_LEASE_VM);
	assert_int_equal(dhcp_leases_add(t, &l, &ch), -EINVAL);
	l = static_lease(macC, "10.0.0.9", DHCP_LEASE_DYNAMIC);
	assert_int_equal(dhcp_leases_add(t, &l, &ch), -EINVAL);
	assert_int_equal(dhcp_leases_remove_ip(t, ip("10.0.0.6"), 0, NULL), 0);
	assert_int_equal(dhcp_leases_remove_ip(t, ip("10.0.0.6"), 0, NULL), -ENOENT);
	dhcp_leases_free(t);
}

static void test_dynamic_round_robin(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_subnet s = subnet();
	struct in_addr none = {0};
	struct dhcp_lease *a = dhcp_leases_offer(t, macA, &s, none, 1000, 10000);
	assert_non_null(a);
	assert_int_equal(a->ip.s_addr, ip("10.0.0.100").s_addr);
	assert_false(a->acked);
	/* same MAC again: same offer */
	assert_ptr_equal(dhcp_leases_offer(t, macA, &s, none, 2000, 10000), a);
	struct dhcp_lease *b = dhcp_leases_offer(t, macB, &s, none, 1000, 10000);
	assert_int_equal(b->ip.s_addr, ip("10.0.0.101").s_addr);
	/* a static lease inside the range is skipped */
	struct dhcp_lease l = static_lease(macC, "10.0.0.102", DHCP_LEASE_VM);
	assert_int_equal(dhcp_leases_add(t, &l, NULL), 0);
	uint8_t macD[6] = {2, 0, 0, 0, 0, 0xd};
	assert_null(dhcp_leases_offer(t, macD, &s, none, 1000, 10000)); /* full */
	/* offers expire: A's (renewed to 12000) is free at 12001 */
	assert_null(dhcp_leases_by_mac(t, macA, 12001));
	struct dhcp_lease *d = dhcp_leases_offer(t, macD, &s, none, 12001, 10000);
	assert_non_null(d);
	assert_int_equal(d->ip.s_addr, ip("10.0.0.100").s_addr);
	dhcp_leases_free(t);
}

static void test_dynamic_requested_commit_expire(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_subnet s = subnet();
	struct dhcp_lease *a = dhcp_leases_offer(t, macA, &s, ip("10.0.0.102"), 0, 10000);
	assert_int_equal(a->ip.s_addr, ip("10.0.0.102").s_addr);
	/* requested address outside the range is not honoured */
	struct dhcp_lease *b = dhcp_leases_offer(t, macB, &s, ip("10.0.0.50"), 0, 10000);
	assert_int_equal(b->ip.s_addr, ip("10.0.0.100").s_addr);
	dhcp_leases_commit(a, 5000, 4 * 3600 * 1000LL, "laptop");
	assert_true(a->acked);
	assert_string_equal(a->hostname, "laptop");
	bool ch = false;
	int64_t next = dhcp_leases_expire(t, 10001, &ch);
	assert_false(ch); /* B's offer went, but only acked leases count as persisted */
	assert_null(dhcp_leases_by_mac(t, macB, 10001));
	assert_int_equal(next, 5000 + 4 * 3600 * 1000LL);
	dhcp_leases_expire(t, next, &ch);
	assert_true(ch);
	assert_int_equal(dhcp_leases_count(t), 0);
	dhcp_leases_free(t);
}

static void test_static_drops_dynamic(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_subnet s = subnet();
	struct in_addr none = {0};
	struct dhcp_lease *a = dhcp_leases_offer(t, macA, &s, none, 0, 10000);
	dhcp_leases_commit(a, 0, 100000, NULL);
	struct dhcp_lease l = static_lease(macA, "10.0.0.7", DHCP_LEASE_VM);
	bool ch = false;
	assert_int_equal(dhcp_leases_add(t, &l, &ch), 0);
	assert_true(ch);
	assert_int_equal(dhcp_leases_by_mac(t, macA, 0)->kind, DHCP_LEASE_VM);
	assert_null(dhcp_leases_by_ip(t, ip("10.0.0.100"), 0));
	dhcp_leases_free(t);
}

static void test_netboot_token_and_expiry(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_lease l = static_lease(macA, "10.0.0.8", DHCP_LEASE_NETBOOT);
	l.token = 7;
	l.expires = 5000;
	assert_int_equal(dhcp_leases_add(t, &l, NULL), 0);
	assert_non_null(dhcp_leases_by_mac(t, macA, 4999));
	assert_null(dhcp_leases_by_mac(t, macA, 5000)); /* expires by itself */
	/* A newer registration took the IP: the old owner cannot remove it. */
	l.token = 8;
	l.expires = 9000;
	assert_int_equal(dhcp_leases_add(t, &l, NULL), 0);
	assert_int_equal(dhcp_leases_remove_ip(t, ip("10.0.0.8"), 7, NULL), -EPERM);
	assert_non_null(dhcp_leases_by_ip(t, ip("10.0.0.8"), 6000));
	assert_int_equal(dhcp_leases_remove_mac(t, macA, 8, NULL), 0);
	assert_int_equal(dhcp_leases_count(t), 0);
	dhcp_leases_free(t);
}

static void test_waiter_generations(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_lease l = static_lease(macA, "10.0.0.5", DHCP_LEASE_VM);
	struct dhcp_ack_state w1, w2, now;
	assert_int_equal(dhcp_leases_add(t, &l, NULL), 0);
	dhcp_leases_note_ack(t, ip("10.0.0.5")); /* nobody watches: not counted */
	assert_false(dhcp_leases_ack_state(t, ip("10.0.0.5"), &now));
	assert_int_equal(dhcp_leases_watch(t, ip("10.0.0.5"), &w1), 0);
	assert_int_equal(w1.acks, 0);
	dhcp_leases_note_ack(t, ip("10.0.0.5"));
	/* a second waiter starts later and does not see the first ACK */
	assert_int_equal(dhcp_leases_watch(t, ip("10.0.0.5"), &w2), 0);
	assert_int_equal(w2.acks, 1);
	dhcp_leases_note_ack(t, ip("10.0.0.5"));
	assert_true(dhcp_leases_ack_state(t, ip("10.0.0.5"), &now));
	assert_int_equal(now.acks - w1.acks, 2);
	assert_int_equal(now.acks - w2.acks, 1);
	assert_int_equal(now.cancels, w1.cancels);
	/* removing the lease cancels the waiters; it does not count as an ACK */
	assert_int_equal(dhcp_leases_remove_ip(t, ip("10.0.0.5"), 0, NULL), 0);
	assert_true(dhcp_leases_ack_state(t, ip("10.0.0.5"), &now));
	assert_int_equal(now.cancels, w1.cancels + 1);
	assert_int_equal(now.acks, 2); /* cancelled is not acked */
	dhcp_leases_unwatch(t, ip("10.0.0.5"));
	assert_true(dhcp_leases_ack_state(t, ip("10.0.0.5"), &now));
	dhcp_leases_unwatch(t, ip("10.0.0.5"));
	assert_false(dhcp_leases_ack_state(t, ip("10.0.0.5"), &now));
	dhcp_leases_free(t);
}

static void test_decline(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	struct dhcp_subnet s = subnet();
	struct in_addr none = {0};
	struct dhcp_lease *a = dhcp_leases_offer(t, macA, &s, none, 0, 10000);
	assert_int_equal(a->ip.s_addr, ip("10.0.0.100").s_addr);
	dhcp_leases_decline(t, ip("10.0.0.100"), 0, 600000, NULL);
	assert_null(dhcp_leases_by_mac(t, macA, 1));
	a = dhcp_leases_offer(t, macA, &s, ip("10.0.0.100"), 1, 10000);
	assert_int_equal(a->ip.s_addr, ip("10.0.0.101").s_addr);
	dhcp_leases_free(t);
}

static void test_many_leases(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	for (int i = 0; i < 3000; i++) {
		uint8_t m[6] = {2, 1, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		struct dhcp_lease l = {.kind = DHCP_LEASE_VM};
		memcpy(l.mac, m, 6);
		l.ip.s_addr = htonl(0x0a000000u + (uint32_t)i + 1);
		assert_int_equal(dhcp_leases_add(t, &l, NULL), 0);
	}
	assert_int_equal(dhcp_leases_count(t), 3000);
	for (int i = 0; i < 3000; i += 7) {
		uint8_t m[6] = {2, 1, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		struct dhcp_lease *l = dhcp_leases_by_mac(t, m, 0);
		assert_non_null(l);
		assert_int_equal(ntohl(l->ip.s_addr), 0x0a000000u + (uint32_t)i + 1);
	}
	dhcp_leases_free(t);
}

static void test_store_roundtrip(void **st)
{
	(void)st;
	struct dhcp_store_entry e[3] = {0};
	memcpy(e[0].mac, macA, 6);
	e[0].ip = ip("10.0.0.9");
	e[0].expires = 1714572000000LL;
	snprintf(e[0].hostname, sizeof(e[0].hostname), "laptop");
	memcpy(e[1].mac, macB, 6);
	e[1].ip = ip("10.0.0.10");
	e[1].expires = 1714572001000LL;
	char *text = dhcp_store_encode(e, 2);
	assert_non_null(text);
	/* sorted by IP string: "10.0.0.10" < "10.0.0.9"; hostname omitted when empty */
	char *p10 = strstr(text, "10.0.0.10"), *p9 = strstr(text, "10.0.0.9\"");
	assert_non_null(p10);
	assert_non_null(p9);
	assert_true(p10 < p9);
	assert_non_null(strstr(text, "\"Expires\": \"2024-05-01T14:00:00Z\""));
	assert_non_null(strstr(text, "\"MacAddress\": \"02:00:00:00:00:0a\""));
	char *ch1 = strstr(text, "ClientHostName");
	assert_non_null(ch1);
	assert_null(strstr(ch1 + 1, "ClientHostName")); /* only the entry that has one */
	struct dhcp_store_entry *out;
	size_t n, bad;
	assert_int_equal(dhcp_store_decode(text, &out, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 0);
	assert_int_equal(out[1].ip.s_addr, e[0].ip.s_addr);
	assert_int_equal(out[1].expires, e[0].expires);
	assert_string_equal(out[1].hostname, "laptop");
	assert_string_equal(out[0].hostname, "");
	free(out);
	free(text);
	/* one bad entry among good ones */
	const char *mixed = "[{\"IpAddress\":\"10.0.0.1\",\"MacAddress\":\"zz\",\"Expires\":\"2024-"
			    "05-01T14:00:00Z\"},"
			    "{\"IpAddress\":\"10.0.0.2\",\"MacAddress\":\"02:00:00:00:00:0B\","
			    "\"Expires\":\"2024-05-01T16:00:00.5+02:00\"}]";
	assert_int_equal(dhcp_store_decode(mixed, &out, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bad, 1);
	assert_memory_equal(out[0].mac, macB, 6);
	assert_int_equal(out[0].expires, 1714572000500LL);
	free(out);
	assert_int_equal(dhcp_store_decode("{}", &out, &n, &bad), -EBADMSG);
	assert_int_equal(dhcp_store_decode("[", &out, &n, &bad), -EBADMSG);
}

/* Found with fuzz_hvapi_json's save/load check: a hostname longer than the field was
 * cut inside a UTF-8 character, jansson refused to encode it, and no lease could be
 * saved any more. The cut now falls before the character. */
static void test_store_long_utf8_hostname(void **st)
{
	(void)st;
	char name[80], text[256];
	struct dhcp_store_entry *out;
	size_t n, bad;

	memset(name, 'a', 62);
	strcpy(name + 62, "\xc3\xa9tail"); /* 'é' straddles the 63-byte limit */
	snprintf(text, sizeof(text),
		 "[{\"ClientHostName\":\"%s\",\"Expires\":\"2030-01-01T00:00:00Z\","
		 "\"IpAddress\":\"10.0.0.9\",\"MacAddress\":\"02:00:00:00:00:0a\"}]",
		 name);
	assert_int_equal(dhcp_store_decode(text, &out, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(out[0].hostname), 62);
	char *saved = dhcp_store_encode(out, n);
	assert_non_null(saved);
	free(saved);
	free(out);
}

static void test_store_file(void **st)
{
	(void)st;
	char dir[] = "/tmp/ss-test-store-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dynamic-leases.json", dir);
	struct dhcp_store_entry e = {.ip = ip("10.0.0.9"), .expires = 1714572000000LL};
	memcpy(e.mac, macA, 6);
	struct dhcp_store_entry *out;
	size_t n, bad;
	assert_int_equal(dhcp_store_load(path, &out, &n, &bad), 0); /* missing = empty */
	assert_int_equal(n, 0);
	assert_int_equal(dhcp_store_save(path, &e, 1), 0);
	assert_int_equal(dhcp_store_load(path, &out, &n, &bad), 0);
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(dhcp_store_save(path, NULL, 0), 0); /* empty: file removed */
	assert_int_equal(access(path, F_OK), -1);
	rmdir(dir);
}

static void test_journal(void **st)
{
	(void)st;
	char dir[] = "/tmp/ss-test-journal-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/j", dir);
	struct dhcp_journal *j;
	assert_int_equal(dhcp_journal_open(path, &j), 0);
	struct dhcp_store_entry a = {.ip = ip("10.0.0.9"), .expires = 1714572000000LL};
	struct dhcp_store_entry b = {.ip = ip("10.0.0.10"), .expires = 1714572000000LL};
	struct dhcp_store_entry a2 = {.ip = ip("10.0.0.11"), .expires = 1714575600000LL};
	memcpy(a.mac, macA, 6);
	memcpy(b.mac, macB, 6);
	memcpy(a2.mac, macA, 6);
	snprintf(a2.hostname, sizeof(a2.hostname), "moved");
	assert_int_equal(dhcp_journal_add(j, &a, false), 0);
	assert_int_equal(dhcp_journal_add(j, &b, false), 0);
	assert_int_equal(dhcp_journal_commit(j, true), 0);
	assert_int_equal(dhcp_journal_add(j, &a2, false), 0); /* A moved to .11 */
	assert_int_equal(dhcp_journal_add(j, &b, true), 0);   /* B released */
	assert_int_equal(dhcp_journal_commit(j, false), 0);
	assert_int_equal(dhcp_journal_sync(j), 0);
	assert_int_equal(dhcp_journal_count(j), 4);
	dhcp_journal_close(j);
	/* a torn last line, as a crash in the middle of a write leaves it */
	FILE *f = fopen(path, "a");
	fputs("{\"Op\": \"set\", \"IpAdd", f);
	fclose(f);
	/* replay on top of a snapshot holding an old entry for C and one for A */
	struct dhcp_store_entry *e = calloc(2, sizeof(*e));
	size_t n = 2, bad = 0;
	memcpy(e[0].mac, macC, 6);
	e[0].ip = ip("10.0.0.50");
	memcpy(e[1].mac, macA, 6);
	e[1].ip = ip("10.0.0.8");
	assert_int_equal(dhcp_journal_replay(path, &e, &n, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(n, 2);
	bool seen_a = false, seen_c = false;
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(e[i].mac, macA, 6)) {
			seen_a = true;
			assert_int_equal(e[i].ip.s_addr, ip("10.0.0.11").s_addr);
			assert_string_equal(e[i].hostname, "moved");
			assert_int_equal(e[i].expires, 1714575600000LL);
		}
		seen_c |= !memcmp(e[i].mac, macC, 6);
		assert_memory_not_equal(e[i].mac, macB, 6);
	}
	assert_true(seen_a && seen_c);
	free(e);
	/* truncate empties it */
	assert_int_equal(dhcp_journal_open(path, &j), 0);
	assert_int_equal(dhcp_journal_truncate(j), 0);
	dhcp_journal_close(j);
	e = NULL;
	n = 0;
	bad = 0;
	assert_int_equal(dhcp_journal_replay(path, &e, &n, &bad), 0);
	assert_int_equal(n, 0);
	free(e);
	unlink(path);
	rmdir(dir);
}

static void test_restore(void **st)
{
	(void)st;
	struct dhcp_leases *t = dhcp_leases_new();
	assert_int_equal(dhcp_leases_restore(t, macA, ip("10.0.0.9"), "x", 100, 200), -ESTALE);
	assert_int_equal(dhcp_leases_restore(t, macA, ip("10.0.0.9"), "x", 300, 200), 0);
	assert_int_equal(dhcp_leases_restore(t, macB, ip("10.0.0.9"), "y", 300, 200), -EEXIST);
	struct dhcp_lease *l = dhcp_leases_by_ip(t, ip("10.0.0.9"), 250);
	assert_non_null(l);
	assert_true(l->acked);
	assert_int_equal(l->kind, DHCP_LEASE_DYNAMIC);
	dhcp_leases_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_static_add_replace_evict),
	    cmocka_unit_test(test_dynamic_round_robin),
	    cmocka_unit_test(test_dynamic_requested_commit_expire),
	    cmocka_unit_test(test_static_drops_dynamic),
	    cmocka_unit_test(test_netboot_token_and_expiry),
	    cmocka_unit_test(test_waiter_generations),
	    cmocka_unit_test(test_decline),
	    cmocka_unit_test(test_many_leases),
	    cmocka_unit_test(test_store_roundtrip),
	    cmocka_unit_test(test_store_long_utf8_hostname),
	    cmocka_unit_test(test_store_file),
	    cmocka_unit_test(test_journal),
	    cmocka_unit_test(test_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
