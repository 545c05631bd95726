/* The bookkeeping of the object cache (objcache.h): which objects it holds, their
 * sizes, their access order (least recently used first) and which ones a create is
 * using right now (pinned: never evicted). Pure: no I/O, no locking (the owner locks);
 * unit-tested on its own. */
#ifndef HV_OBJLRU_H
#define HV_OBJLRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/hash.h"

struct objlru_entry {
	struct image_hash hash;
	uint64_t size;
	unsigned pins;
	bool present;			    /* the object is in the store */
	struct objlru_entry *hnext;	    /* hash chain */
	struct objlru_entry *older, *newer; /* access order */
};

struct objlru {
	struct objlru_entry **buckets;
	size_t nbuckets, n, npresent;
	struct objlru_entry *oldest, *newest;
	uint64_t bytes; /* Σ size of present entries */
	uint64_t max;	/* budget of bytes */
};

/* 0 or -ENOMEM. */
int objlru_init(struct objlru *l, uint64_t max);
void objlru_clear(struct objlru *l); /* frees every entry */

struct objlru_entry *objlru_find(const struct objlru *l, const struct image_hash *h);

/* The entry of h: the existing one, or a new absent entry (size as given) placed as the
 * most recently used. NULL on allocation failure. */
struct objlru_entry *objlru_get(struct objlru *l, const struct image_hash *h, uint64_t size);

/* Marks e present (its bytes count) or absent. */
void objlru_set_present(struct objlru *l, struct objlru_entry *e, bool present, uint64_t size);

/* Makes e the most recently used. */
void objlru_touch(struct objlru *l, struct objlru_entry *e);

/* Moves e to the least recently used end (rebuilding the order from a state file:
 * entries named there are touched in order, the others stay older). */
void objlru_make_oldest(struct objlru *l, struct objlru_entry *e);

void objlru_pin(struct objlru_entry *e);
/* Unpins e; an absent entry nobody pins any more is removed. */
void objlru_unpin(struct objlru *l, struct objlru_entry *e);

/* Unlinks and frees e. */
void objlru_remove(struct objlru *l, struct objlru_entry *e);

/* While the bytes exceed the budget: the least recently used present entry that is not
 * pinned (the caller deletes its object, then objlru_remove). NULL when within budget
 * or when every remaining entry is pinned or absent. */
struct objlru_entry *objlru_victim(const struct objlru *l);

/* Calls fn for every entry from the least to the most recently used; stops at a
 * non-zero return and returns it. */
typedef int (*objlru_each_fn)(const struct objlru_entry *e, void *arg);
int objlru_each(const struct objlru *l, objlru_each_fn fn, void *arg);

#endif
