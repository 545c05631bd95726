/* The object cache's LRU bookkeeping (see objlru.h). A chained hash table keyed by the
 * object hash (already uniformly random: its first bytes are the bucket) plus a doubly
 * linked list in access order. */
#include "daemon/hypervisor/vmm/objlru.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 256

static size_t bucket_of(const struct image_hash *h, size_t nbuckets)
{
	uint64_t k;

	memcpy(&k, h->b, sizeof(k));
	return (size_t)(k & (nbuckets - 1));
}

int objlru_init(struct objlru *l, uint64_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
	l->nbuckets = MIN_BUCKETS;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	return l->buckets == NULL ? -ENOMEM : 0;
}

void objlru_clear(struct objlru *l)
{
	struct objlru_entry *e = l->oldest, *next;

	for (; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	free(l->buckets);
	memset(l, 0, sizeof(*l));
}

struct objlru_entry *objlru_find(const struct objlru *l, const struct image_hash *h)
{
	struct objlru_entry *e;

	if (l->nbuckets == 0)
		return NULL;
	for (e = l->buckets[bucket_of(h, l->nbuckets)]; e != NULL; e = e->hnext)
		if (image_hash_equal(&e->hash, h))
			return e;
	return NULL;
}

/* Doubles the table when it is full (one entry per bucket on average). */
static void grow(struct objlru *l)
{
	size_t n = l->nbuckets * 2;
	struct objlru_entry **b;

	if (l->n < l->nbuckets || n < l->nbuckets)
		return;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return; /* longer chains, still correct */
	for (struct objlru_entry *e = l->oldest; e != NULL; e = e->newer) {
		size_t k = bucket_of(&e->hash, n);

		e->hnext = b[k];
		b[k] = e;
	}
	free(l->buckets);
	l->buckets = b;
	l->nbuckets = n;
}

static void list_unlink(struct objlru *l, struct objlru_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		l->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		l->newest = e->older;
	e->older = e->newer = NULL;
}

static void list_append(struct objlru *l, struct objlru_entry *e)
{
	e->older = l->newest;
	e->newer = NULL;
	if (l->newest != NULL)
		l->newest->newer = e;
	else
		l->oldest = e;
	l->newest = e;
}

struct objlru_entry *objlru_get(struct objlru *l, const struct image_hash *h, uint64_t size)
{
	struct objlru_entry *e = objlru_find(l, h);
	size_t k;

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->hash = *h;
	e->size = size;
	k = bucket_of(h, l->nbuckets);
	e->hnext = l->buckets[k];
	l->buckets[k] = e;
	list_append(l, e);
	l->n++;
	grow(l);
	return e;
}

void objlru_set_present(struct objlru *l, struct objlru_entry *e, bool present, uint64_t size)
{
	if (e->present) {
		l->bytes -= e->size;
		l->npresent--;
	}
	e->present = present;
	e->size = size;
	if (present) {
		l->bytes += size;
		l->npresent++;
	}
}

void objlru_touch(struct objlru *l, struct objlru_entry *e)
{
	if (l->newest == e)
		return;
	list_unlink(l, e);
	list_append(l, e);
}

void objlru_make_oldest(struct objlru *l, struct objlru_entry *e)
{
	if (l->oldest == e)
		return;
	list_unlink(l, e);
	e->newer = l->oldest;
	e->older = NULL;
	l->oldest->older = e; /* not empty: e was elsewhere in it */
	l->oldest = e;
}

void objlru_pin(struct objlru_entry *e)
{
	e->pins++;
}

void objlru_unpin(struct objlru *l, struct objlru_entry *e)
{
	if (e->pins > 0)
		e->pins--;
	if (e->pins == 0 && !e->present)
		objlru_remove(l, e);
}

void objlru_remove(struct objlru *l, struct objlru_entry *e)
{
	struct objlru_entry **pp = &l->buckets[bucket_of(&e->hash, l->nbuckets)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	list_unlink(l, e);
	objlru_set_present(l, e, false, 0);
	l->n--;
	free(e);
}

struct objlru_entry *objlru_victim(const struct objlru *l)
{
	if (l->bytes <= l->max)
		return NULL;
	for (struct objlru_entry *e = l->oldest; e != NULL; e = e->newer)
		if (e->present && e->pins == 0)
			return e;
	return NULL;
}

int objlru_each(const struct objlru *l, objlru_each_fn fn, void *arg)
{
	for (struct objlru_entry *e = l->oldest; e != NULL; e = e->newer) {
		int rc = fn(e, arg);

		if (rc != 0)
			return rc;
	}
	return 0;
}
