/* Expiry of images and garbage collection of objects (see gc.h). */
#include "daemon/imageserver/gc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static bool ts_zero(const struct timespec *t)
{
	return t->tv_sec == 0 && t->tv_nsec == 0;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void gc_expire(struct store *s, struct timespec *next)
{
	struct timespec now;
	char err[512];

	*next = (struct timespec){0};
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nimgs;) {
		struct store_entry *e = &s->imgs[i];
		char name[IMAGE_FULLNAME_MAX + 1];

		if (ts_zero(&e->expires_at)) {
			i++;
			continue;
		}
		if (!ts_before(&now, &e->expires_at)) {
			snprintf(name, sizeof(name), "%s", e->name);
			if (store_remove_locked(s, e, err, sizeof(err)) == 0) {
				log_info("expired image %s removed", name);
				continue; /* the next entry moved to i */
			}
			log_error("expiring: %s", err);
		} else if (ts_zero(next) || ts_before(&e->expires_at, next)) {
			*next = e->expires_at;
		}
		i++;
	}
	pthread_mutex_unlock(&s->mu);
}

static int cmp_hash(const void *a, const void *b)
{
	return image_hash_cmp(a, b);
}

/* The objects the images name, sorted (a new array). Caller holds s->mu. */
static struct image_hash *referenced(const struct store *s, size_t *n)
{
	size_t total = 0, k = 0;
	struct image_hash *refs;

	for (size_t i = 0; i < s->nimgs; i++)
		total += s->imgs[i].nobjs;
	refs = malloc((total ? total : 1) * sizeof(*refs));
	if (refs == NULL)
		return NULL;
	for (size_t i = 0; i < s->nimgs; i++)
		for (size_t j = 0; j < s->imgs[i].nobjs; j++)
			refs[k++] = s->imgs[i].objs[j].hash;
	qsort(refs, k, sizeof(*refs), cmp_hash);
	*n = k;
	return refs;
}

static bool is_in(const struct image_hash *h, const struct image_hash *refs, size_t n)
{
	return n > 0 && bsearch(h, refs, n, sizeof(*refs), cmp_hash) != NULL;
}

/* Older than the cutoff (mtime: written, or renewed by AddObjects/CheckObjects)? */
static bool is_old(const struct store *s, const struct image_hash *h, const struct timespec *cut)
{
	char path[4096];
	struct stat st;

	return objstore_path(s->os, h, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
	       ts_before(&st.st_mtim, cut);
}

struct collect {
	const struct store *s;
	const struct image_hash *refs;
	size_t nrefs;
	struct timespec cutoff;
	struct image_object *cand; /* candidates for removal */
	size_t ncand, cap;
};

static int collect_one(const struct image_hash *h, uint64_t size, void *arg)
{
	struct collect *c = arg;

	if (is_in(h, c->refs, c->nrefs) || !is_old(c->s, h, &c->cutoff))
		return 0;
	if (c->ncand == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct image_object *v = realloc(c->cand, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		c->cand = v;
		c->cap = cap;
	}
	c->cand[c->ncand++] = (struct image_object){*h, size};
	return 0;
}

/* The scan of the object store runs without the lock (it may take a while); the
 * removals are decided again under it, against the images and mtimes of that moment,
 * so an AddImage (which checks its objects under the same lock) never loses one. */
void gc_collect(struct gc *g)
{
	struct store *s = g->s;
	struct collect c = {.s = s};
	struct image_hash *refs;
	char hex[IMAGE_HASH_HEXLEN + 1];
	size_t nrefs = 0, removed = 0;
	int rc;

	clock_gettime(CLOCK_REALTIME, &c.cutoff);
	c.cutoff.tv_sec -= g->grace_ns / 1000000000;
	c.cutoff.tv_nsec -= g->grace_ns % 1000000000;
	if (c.cutoff.tv_nsec < 0) {
		c.cutoff.tv_nsec += 1000000000;
		c.cutoff.tv_sec--;
	}
	pthread_mutex_lock(&s->mu);
	refs = referenced(s, &nrefs);
	pthread_mutex_unlock(&s->mu);
	if (refs == NULL)
		goto nomem;
	c.refs = refs;
	c.nrefs = nrefs;
	rc = objstore_each(s->os, collect_one, &c);
	free(refs);
	if (rc == -ENOMEM)
		goto nomem;

	pthread_mutex_lock(&s->mu);
	refs = referenced(s, &nrefs);
	for (size_t i = 0; refs != NULL && i < c.ncand; i++) {
		const struct image_object *o = &c.cand[i];

		if (is_in(&o->hash, refs, nrefs) || !is_old(s, &o->hash, &c.cutoff) ||
		    objstore_delete(s->os, &o->hash) < 0)
			continue;
		image_hash_hex(&o->hash, hex);
		log_info("GC: removed unreferenced object %s (%llu bytes)", hex,
			 (unsigned long long)o->size);
		s->nobjects--;
		s->object_bytes -= o->size;
		g->objects_removed++;
		g->bytes_removed += o->size;
		removed++;
	}
	g->runs++;
	pthread_mutex_unlock(&s->mu);
	free(refs);
	free(c.cand);
	if (removed > 0)
		log_info("GC: %zu unreferenced objects removed", removed);
	return;
nomem:
	free(c.cand);
	log_error("GC: out of memory");
}

static void *gc_main(void *arg)
{
	struct gc *g = arg;
	struct store *s = g->s;
	struct timespec next_gc, next_exp, now, wake;

	clock_gettime(CLOCK_REALTIME, &next_gc);
	next_gc.tv_sec += g->interval_ns / 1000000000;
	for (;;) {
		gc_expire(s, &next_exp);
		clock_gettime(CLOCK_REALTIME, &now);
		if (g->interval_ns > 0 && !ts_before(&now, &next_gc)) {
			gc_collect(g);
			clock_gettime(CLOCK_REALTIME, &next_gc);
			next_gc.tv_sec += g->interval_ns / 1000000000;
			next_gc.tv_nsec += g->interval_ns % 1000000000;
			if (next_gc.tv_nsec >= 1000000000) {
				next_gc.tv_nsec -= 1000000000;
				next_gc.tv_sec++;
			}
		}
		/* Sleep until the next expiry or GC, or a change of the index. */
		wake = now;
		wake.tv_sec += 3600;
		if (g->interval_ns > 0 && ts_before(&next_gc, &wake))
			wake = next_gc;
		if (!ts_zero(&next_exp) && ts_before(&next_exp, &wake))
			wake = next_exp;
		pthread_mutex_lock(&s->mu);
		if (!g->stop)
			pthread_cond_timedwait(&s->changed, &s->mu, &wake);
		if (g->stop) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		pthread_mutex_unlock(&s->mu);
	}
}

int gc_start(struct gc *g)
{
	int rc = pthread_create(&g->thread, NULL, gc_main, g);

	if (rc != 0)
		return -rc;
	g->started = true;
	return 0;
}

void gc_stop(struct gc *g)
{
	if (!g->started)
		return;
	pthread_mutex_lock(&g->s->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->s->changed);
	pthread_mutex_unlock(&g->s->mu);
	pthread_join(g->thread, NULL);
	g->started = false;
}
