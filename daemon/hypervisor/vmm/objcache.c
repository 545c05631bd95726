/* The object cache (see objcache.h): objlru.c's bookkeeping over an objstore, one mutex
 * around the bookkeeping (never held while hashing or fetching; held while deleting an
 * evicted object so that a concurrent acquisition cannot count it present), and a
 * second one serializing the state file's writers. */
#include "daemon/hypervisor/vmm/objcache.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/objlru.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define STATE_MAX (256u << 20)

struct objcache {
	char *dir;
	char *state_path;
	bool enabled;
	uint64_t max;
	struct objstore *st; /* enabled only */
	pthread_mutex_t mu;  /* lru and the counters */
	struct objlru lru;
	uint64_t hits, misses, corrupt, evictions;
	pthread_mutex_t write_mu; /* one writer of the state file at a time */
	atomic_uint scratch_seq;
};

struct objcache_lease {
	struct objstore *st;	       /* the cache's, or a scratch store */
	char *scratch;		       /* scratch store directory, removed at release */
	struct objlru_entry **entries; /* pinned (enabled cache) */
	size_t n;
};

const char *objcache_dir(const struct objcache *oc)
{
	return oc->dir;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -errno : 0;
}

/* rm -rf of a scratch store (no symlink followed). */
static void rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- state file ---- */

static int add_hex(const struct objlru_entry *e, void *arg)
{
	char hex[IMAGE_HASH_HEXLEN + 1];

	if (!e->present)
		return 0;
	image_hash_hex(&e->hash, hex);
	return json_array_append_new(arg, json_string(hex)) < 0 ? -ENOMEM : 0;
}

int objcache_flush(struct objcache *oc)
{
	json_t *doc, *list;
	int rc = 0;

	if (oc == NULL || !oc->enabled)
		return 0;
	pthread_mutex_lock(&oc->write_mu);
	pthread_mutex_lock(&oc->mu);
	list = json_array();
	doc = json_object();
	if (list == NULL || doc == NULL || objlru_each(&oc->lru, add_hex, list) < 0)
		rc = -ENOMEM;
	pthread_mutex_unlock(&oc->mu);
	/* Least recently used first. */
	if (rc == 0 && json_object_set(doc, "LeastRecentlyUsedFirst", list) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = sjson_write_file(oc->state_path, doc, 0644);
	json_decref(list);
	json_decref(doc);
	pthread_mutex_unlock(&oc->write_mu);
	return rc;
}

struct found {
	struct image_hash hash;
	uint64_t size;
	struct timespec mtime;
};

struct scan {
	struct objcache *oc;
	struct found *v;
	size_t n, cap;
};

static int scan_one(const struct image_hash *h, uint64_t size, void *arg)
{
	struct scan *s = arg;
	char path[4096];
	struct stat sb;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct found *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = (struct found){.hash = *h, .size = size};
	if (objstore_path(s->oc->st, h, path, sizeof(path)) == 0 && stat(path, &sb) == 0)
		s->v[s->n].mtime = sb.st_mtim;
	s->n++;
	return 0;
}

static int by_mtime(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return image_hash_cmp(&x->hash, &y->hash);
}

/* The objects on disk, oldest file first, then the order the state file recorded
 * (objects it names become the most recent, in its order). */
static int load(struct objcache *oc, char *err, size_t errsz)
{
	struct scan s = {.oc = oc};
	json_t *doc = NULL, *list, *v;
	char *why = NULL;
	size_t i;
	int rc;

	rc = objstore_each(oc->st, scan_one, &s);
	if (rc < 0) {
		snprintf(err, errsz, "object cache %s: %s", oc->dir, strerror(-rc));
		free(s.v);
		return rc;
	}
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), by_mtime);
	for (i = 0; i < s.n; i++) {
		struct objlru_entry *e = objlru_get(&oc->lru, &s.v[i].hash, s.v[i].size);

		if (e == NULL) {
			free(s.v);
			return -ENOMEM;
		}
		objlru_set_present(&oc->lru, e, true, s.v[i].size);
	}
	free(s.v);
	rc = sjson_load_file(oc->state_path, STATE_MAX, &doc, &why);
	if (rc == -ENOENT) {
		free(why);
		log_info("object cache %s: no %s, order rebuilt from the files (%zu objects)",
			 oc->dir, OBJCACHE_STATE_FILE, oc->lru.n);
		return 0;
	}
	if (rc < 0) {
		log_warn("object cache %s: %s (order rebuilt from the files)", oc->state_path,
			 why ? why : strerror(-rc));
		free(why);
		return 0;
	}
	list = json_object_get(doc, "LeastRecentlyUsedFirst");
	json_array_foreach(list, i, v)
	{
		struct image_hash h;
		struct objlru_entry *e;

		if (!json_is_string(v) || image_hash_parse(json_string_value(v), &h) < 0)
			continue;
		e = objlru_find(&oc->lru, &h);
		if (e != NULL)
			objlru_touch(&oc->lru, e);
	}
	json_decref(doc);
	return 0;
}

/* Scratch stores a disabled cache left behind (a crash during a create). */
static void remove_scratch(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "scratch.", 8) == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			rmtree(path);
	closedir(d);
}

/* Deletes victims until within budget. Call with mu held. */
static void evict_locked(struct objcache *oc)
{
	struct objlru_entry *v;

	while ((v = objlru_victim(&oc->lru)) != NULL) {
		int rc = objstore_delete(oc->st, &v->hash);

		if (rc < 0 && rc != -ENOENT) {
			char hex[IMAGE_HASH_HEXLEN + 1];

			image_hash_hex(&v->hash, hex);
			log_warn("object cache: removing %s: %s", hex, strerror(-rc));
		}
		objlru_remove(&oc->lru, v);
		oc->evictions++;
	}
}

int objcache_open(const char *dir, uint64_t max, struct objcache **out, char *err, size_t errsz)
{
	struct objcache *oc = calloc(1, sizeof(*oc));
	int rc;

	*out = NULL;
	if (oc == NULL)
		return -ENOMEM;
	pthread_mutex_init(&oc->mu, NULL);
	pthread_mutex_init(&oc->write_mu, NULL);
	oc->max = max;
	oc->enabled = max >= OBJCACHE_MIN_SIZE;
	oc->dir = strdup(dir);
	if (oc->dir == NULL || asprintf(&oc->state_path, "%s/%s", dir, OBJCACHE_STATE_FILE) < 0) {
		oc->state_path = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	rc = fsutil_mkdir_p(dir, 0755);
	if (rc < 0) {
		snprintf(err, errsz, "object cache %s: %s", dir, strerror(-rc));
		goto fail;
	}
	remove_scratch(dir);
	rc = objlru_init(&oc->lru, max);
	if (rc < 0 || !oc->enabled)
		goto done;
	rc = objstore_open(dir, &oc->st, err, errsz);
	if (rc == 0)
		rc = load(oc, err, errsz);
	if (rc == 0)
		evict_locked(oc);
done:
	if (rc < 0)
		goto fail;
	*out = oc;
	return 0;
fail:
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errsz, "object cache %s: out of memory", dir);
	objcache_close(oc);
	return rc;
}

void objcache_close(struct objcache *oc)
{
	if (oc == NULL)
		return;
	if (objcache_flush(oc) < 0)
		log_warn("object cache: cannot write %s", oc->state_path);
	objlru_clear(&oc->lru);
	objstore_close(oc->st);
	pthread_mutex_destroy(&oc->mu);
	pthread_mutex_destroy(&oc->write_mu);
	free(oc->state_path);
	free(oc->dir);
	free(oc);
}

/* ---- acquisition ---- */

static void lease_free(struct objcache_lease *l)
{
	if (l == NULL)
		return;
	if (l->scratch != NULL) {
		objstore_close(l->st);
		rmtree(l->scratch);
		free(l->scratch);
	}
	free(l->entries);
	free(l);
}

static int acquire_scratch(struct objcache *oc, const struct image_object *objs, size_t n,
			   objcache_fetch_fn fetch, void *arg, struct objcache_lease *l, char *err,
			   size_t errsz)
{
	struct image_hash *hashes = calloc(n + 1, sizeof(*hashes));
	int rc;

	if (hashes == NULL || asprintf(&l->scratch, "%s/scratch.%u", oc->dir,
				       atomic_fetch_add(&oc->scratch_seq, 1)) < 0) {
		l->scratch = NULL;
		free(hashes);
		return -ENOMEM;
	}
	rmtree(l->scratch);
	rc = objstore_open(l->scratch, &l->st, err, errsz);
	for (size_t i = 0; i < n; i++)
		hashes[i] = objs[i].hash;
	if (rc == 0 && n > 0)
		rc = fetch(arg, hashes, n, l->st, err, errsz);
	if (rc == 0) {
		pthread_mutex_lock(&oc->mu);
		oc->misses += n;
		pthread_mutex_unlock(&oc->mu);
	}
	free(hashes);
	return rc;
}

/* Re-hashes the pinned objects that are present; corrupt or vanished ones are marked
 * absent (and deleted) and join the list to fetch. */
static int verify_present(struct objcache *oc, struct objcache_lease *l, const bool *was_present,
			  struct image_hash *missing, size_t *nmissing, char *err, size_t errsz)
{
	uint64_t hits = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct objlru_entry *e = l->entries[i];
		char hex[IMAGE_HASH_HEXLEN + 1];
		int rc;

		if (!was_present[i]) {
			missing[(*nmissing)++] = e->hash;
			continue;
		}
		rc = objstore_verify(oc->st, &e->hash);
		if (rc == 0) {
			hits++;
			continue;
		}
		image_hash_hex(&e->hash, hex);
		if (rc != -EBADMSG && rc != -ENOENT) {
			snprintf(err, errsz, "object cache: reading %s: %s", hex, strerror(-rc));
			return rc;
		}
		pthread_mutex_lock(&oc->mu);
		if (e->present)
			objlru_set_present(&oc->lru, e, false, e->size);
		if (rc == -EBADMSG) {
			oc->corrupt++;
			objstore_delete(oc->st, &e->hash);
		}
		pthread_mutex_unlock(&oc->mu);
		if (rc == -EBADMSG)
			log_warn("object cache: object %s is corrupt: dropped, fetching it again",
				 hex);
		missing[(*nmissing)++] = e->hash;
	}
	pthread_mutex_lock(&oc->mu);
	oc->hits += hits;
	pthread_mutex_unlock(&oc->mu);
	return 0;
}

static int acquire_cached(struct objcache *oc, const struct image_object *objs, size_t n,
			  objcache_fetch_fn fetch, void *arg, struct objcache_lease *l, char *err,
			  size_t errsz)
{
	struct image_hash *missing = calloc(n + 1, sizeof(*missing));
	bool *was_present = calloc(n + 1, sizeof(*was_present));
	size_t nmissing = 0;
	bool fetched = false;
	int rc = 0;

	l->st = oc->st;
	l->entries = calloc(n + 1, sizeof(*l->entries));
	if (missing == NULL || was_present == NULL || l->entries == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&oc->mu);
	for (size_t i = 0; i < n; i++) {
		struct objlru_entry *e = objlru_get(&oc->lru, &objs[i].hash, objs[i].size);

		if (e == NULL) {
			rc = -ENOMEM;
			break;
		}
		objlru_pin(e);
		l->entries[l->n++] = e;
		was_present[i] = e->present;
	}
	pthread_mutex_unlock(&oc->mu);
	if (rc == 0)
		rc = verify_present(oc, l, was_present, missing, &nmissing, err, errsz);
	if (rc == 0 && nmissing > 0) {
		fetched = true;
		rc = fetch(arg, missing, nmissing, oc->st, err, errsz);
	}
	if (rc < 0 && !fetched)
		goto out;
	/* Even after a failed fetch: what did arrive is counted (and evictable). */
	pthread_mutex_lock(&oc->mu);
	oc->misses += nmissing;
	for (size_t i = 0; i < l->n; i++) {
		struct objlru_entry *e = l->entries[i];
		uint64_t size;

		if (!e->present && objstore_stat(oc->st, &e->hash, &size) == 0)
			objlru_set_present(&oc->lru, e, true, size);
		if (!e->present && rc == 0) {
			char hex[IMAGE_HASH_HEXLEN + 1];

			image_hash_hex(&e->hash, hex);
			snprintf(err, errsz, "object %s missing after the fetch", hex);
			rc = -EIO;
		}
		objlru_touch(&oc->lru, e);
	}
	pthread_mutex_unlock(&oc->mu);
out:
	free(missing);
	free(was_present);
	return rc;
}

int objcache_acquire(struct objcache *oc, const struct image_object *objs, size_t n,
		     objcache_fetch_fn fetch, void *arg, struct objcache_lease **out, char *err,
		     size_t errsz)
{
	struct objcache_lease *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL)
		return -ENOMEM;
	if (oc->enabled)
		rc = acquire_cached(oc, objs, n, fetch, arg, l, err, errsz);
	else
		rc = acquire_scratch(oc, objs, n, fetch, arg, l, err, errsz);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "object cache: %s", strerror(-rc));
		objcache_release(oc, l);
		return rc;
	}
	*out = l;
	return 0;
}

struct objstore *objcache_lease_store(const struct objcache_lease *l)
{
	return l->st;
}

void objcache_release(struct objcache *oc, struct objcache_lease *l)
{
	if (l == NULL)
		return;
	if (l->scratch == NULL && oc->enabled) {
		pthread_mutex_lock(&oc->mu);
		for (size_t i = 0; i < l->n; i++)
			objlru_unpin(&oc->lru, l->entries[i]);
		evict_locked(oc);
		pthread_mutex_unlock(&oc->mu);
		if (objcache_flush(oc) < 0)
			log_warn("object cache: cannot write %s", oc->state_path);
	}
	lease_free(l);
}

void objcache_stats(struct objcache *oc, struct objcache_stats *out)
{
	pthread_mutex_lock(&oc->mu);
	*out = (struct objcache_stats){
	    .enabled = oc->enabled,
	    .max_bytes = oc->max,
	    .bytes = oc->lru.bytes,
	    .objects = oc->lru.npresent,
	    .hits = oc->hits,
	    .misses = oc->misses,
	    .corrupt = oc->corrupt,
	    .evictions = oc->evictions,
	};
	pthread_mutex_unlock(&oc->mu);
}

uint64_t objcache_reserve(struct objcache *oc)
{
	uint64_t unused;

	if (!oc->enabled)
		return 0;
	pthread_mutex_lock(&oc->mu);
	unused = oc->lru.bytes < oc->max ? oc->max - oc->lru.bytes : 0;
	pthread_mutex_unlock(&oc->mu);
	return unused > UINT64_MAX / 5 * 4 ? UINT64_MAX : unused + unused / 4;
}
