/* The hypervisor's object cache (spec/hypervisor.md §5): image objects kept in an
 * object store (lib/image/objstore.h) at -objectCacheDirectory, bounded by
 * -objectCacheSize with least-recently-used eviction, shared by every create. Objects a
 * create uses are pinned until it releases them; a cached object is re-hashed before it
 * is used, and one whose bytes no longer match its name is dropped and fetched again.
 * The access order is kept in <dir>/lru-state.json (written atomically after each use
 * and by objcache_flush; rebuilt from the directory, oldest file first, when missing).
 * A budget below 1 MiB disables the cache: each acquisition then fetches into a scratch
 * store of its own, removed at release. Thread-safe. */
#ifndef HV_OBJCACHE_H
#define HV_OBJCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/fs.h"
#include "image/objstore.h"

#define OBJCACHE_MIN_SIZE (1ULL << 20)
#define OBJCACHE_STATE_FILE "lru-state.json"

struct objcache;
struct objcache_lease;

/* Opens (mkdir -p) the cache at dir with a budget of max bytes, evicting down to it.
 * 0 and *out, or -errno with a message in err. */
int objcache_open(const char *dir, uint64_t max, struct objcache **out, char *err, size_t errsz);
/* Writes the state and frees the cache; no lease may be outstanding. Accepts NULL. */
void objcache_close(struct objcache *oc);
/* Writes the access order now. 0 or -errno. Accepts NULL. */
int objcache_flush(struct objcache *oc);

/* Brings missing objects into st: fetches hashes[0..n) (none present there yet).
 * 0 or -errno with err. */
typedef int (*objcache_fetch_fn)(void *arg, const struct image_hash *hashes, size_t n,
				 struct objstore *st, char *err, size_t errsz);

/* Makes every object of objs present and verified, fetching what is missing or
 * corrupt through fetch, and pins them. 0 and *out (release it in every case), or
 * -errno with err. */
int objcache_acquire(struct objcache *oc, const struct image_object *objs, size_t n,
		     objcache_fetch_fn fetch, void *arg, struct objcache_lease **out, char *err,
		     size_t errsz);
/* The store holding the lease's objects (borrowed; valid until release). */
struct objstore *objcache_lease_store(const struct objcache_lease *l);
/* Unpins the objects (or removes the scratch store), evicts down to the budget and
 * writes the state. Accepts NULL. */
void objcache_release(struct objcache *oc, struct objcache_lease *l);

struct objcache_stats {
	bool enabled;
	uint64_t max_bytes, bytes, objects;
	uint64_t hits, misses;	     /* objects found valid / fetched, per acquisition */
	uint64_t corrupt, evictions; /* dropped for bad bytes / for room */
};
void objcache_stats(struct objcache *oc, struct objcache_stats *out);
/* The budget not used yet, × 1.25 (spec §5: what volume placement leaves free on the
 * cache's file system); 0 for a disabled cache. */
uint64_t objcache_reserve(struct objcache *oc);
const char *objcache_dir(const struct objcache *oc);

#endif
