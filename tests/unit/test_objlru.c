/* The object cache's LRU bookkeeping: access order, byte accounting, eviction choice
 * (oldest unpinned present object first, nothing while within budget), pins, and a
 * table that grows past its first buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/hypervisor/vmm/objlru.h"

static struct image_hash H(unsigned n) {
	struct image_hash h;

	memset(&h, 0, sizeof(h));
	/* Different first bytes and different tails: both bucket and equality matter. */
	h.b[0] = (uint8_t)(n * 37);
	h.b[1] = (uint8_t)(n >> 8);
	h.b[63] = (uint8_t)n;
	h.b[62] = (uint8_t)(n >> 8);
	return h;
}

static struct objlru_entry *
add(struct objlru *l, unsigned n, uint64_t size)
{
	struct image_hash h = H(n);
	struct objlru_entry *e = objlru_get(l, &h, size);

	assert_non_null(e);
	objlru_set_present(l, e, true, size);
	return e;
}

static int collect(const struct objlru_entry *e, void *arg)
{
	unsigned **p = arg;

	*(*p)++ = e->hash.b[63] | (unsigned)e->hash.b[62] << 8;
	return 0;
}

static void expect_order(struct objlru *l, const unsigned *want, size_t n)
{
	unsigned got[64], *p = got;

	assert_true(l->n <= 64);
	objlru_each(l, collect, &p);
	assert_int_equal((size_t)(p - got), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

static void test_order_and_bytes(void **state)
{
	struct objlru l;
	struct image_hash h;

	(void)state;
	assert_int_equal(objlru_init(&l, 1000), 0);
	add(&l, 1, 100);
	add(&l, 2, 200);
	add(&l, 3, 300);
	assert_int_equal(l.bytes, 600);
	assert_int_equal(l.npresent, 3);
	expect_order(&l, (unsigned[]){1, 2, 3}, 3);
	h = H(1);
	objlru_touch(&l, objlru_find(&l, &h));
	expect_order(&l, (unsigned[]){2, 3, 1}, 3);
	/* Getting an existing entry neither duplicates nor reorders it. */
	assert_ptr_equal(objlru_get(&l, &h, 5), objlru_find(&l, &h));
	assert_int_equal(l.n, 3);
	h = H(3);
	objlru_make_oldest(&l, objlru_find(&l, &h));
	expect_order(&l, (unsigned[]){3, 2, 1}, 3);
	h = H(9);
	assert_null(objlru_find(&l, &h));
	objlru_clear(&l);
}

static void test_eviction(void **state)
{
	struct objlru l;
	struct objlru_entry *a, *b, *c, *v;

	(void)state;
	assert_int_equal(objlru_init(&l, 500), 0);
	a = add(&l, 1, 200);
	b = add(&l, 2, 200);
	assert_null(objlru_victim(&l)); /* 400 <= 500 */
	c = add(&l, 3, 200);
	/* 600 > 500: the least recently used goes first... */
	assert_ptr_equal(objlru_victim(&l), a);
	/* ...unless it is pinned (a create is using it): then the next one. */
	objlru_pin(a);
	assert_ptr_equal(objlru_victim(&l), b);
	objlru_remove(&l, b);
	assert_int_equal(l.bytes, 400);
	assert_null(objlru_victim(&l));
	/* Everything pinned: over budget, but nothing may go. */
	v = add(&l, 4, 300);
	objlru_pin(c);
	objlru_pin(v);
	assert_int_equal(l.bytes, 700);
	assert_null(objlru_victim(&l));
	objlru_unpin(&l, v);
	assert_ptr_equal(objlru_victim(&l), v);
	objlru_unpin(&l, a);
	assert_ptr_equal(objlru_victim(&l), a); /* a is older than v */
	objlru_unpin(&l, c);
	objlru_clear(&l);
}

static void test_absent_entries(void **state)
{
	struct objlru l;
	struct image_hash h = H(7);
	struct objlru_entry *e;

	(void)state;
	assert_int_equal(objlru_init(&l, 10), 0);
	/* Being fetched: pinned and absent; its bytes do not count yet. */
	e = objlru_get(&l, &h, 50);
	objlru_pin(e);
	assert_int_equal(l.bytes, 0);
	assert_null(objlru_victim(&l));
	/* The fetch failed: unpinning an absent entry drops it. */
	objlru_unpin(&l, e);
	assert_null(objlru_find(&l, &h));
	assert_int_equal(l.n, 0);
	/* A present object that turned out corrupt: marked absent, bytes given back. */
	e = add(&l, 7, 50);
	objlru_set_present(&l, e, false, 50);
	assert_int_equal(l.bytes, 0);
	assert_int_equal(l.npresent, 0);
	objlru_clear(&l);
}

static void test_many(void **state)
{
	struct objlru l;
	uint64_t total = 0;
	size_t evicted = 0;
	struct objlru_entry *v;

	(void)state;
	assert_int_equal(objlru_init(&l, 5000 * 10), 0);
	for (unsigned i = 0; i < 10000; i++) {
		add(&l, i, 10);
		total += 10;
	}
	assert_true(l.nbuckets >= 10000);
	assert_int_equal(l.bytes, total);
	for (unsigned i = 0; i < 10000; i++) {
		struct image_hash h = H(i);

		assert_non_null(objlru_find(&l, &h));
	}
	while ((v = objlru_victim(&l)) != NULL) {
		/* The oldest 5000 go, in insertion order. */
		assert_int_equal(v->hash.b[63] | (unsigned)v->hash.b[62] << 8, evicted & 0xffff);
		objlru_remove(&l, v);
		evicted++;
	}
	assert_int_equal(evicted, 5000);
	assert_int_equal(l.bytes, 5000 * 10);
	objlru_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_bytes),
	    cmocka_unit_test(test_eviction),
	    cmocka_unit_test(test_absent_entries),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
