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

struct collect {
	struct gc *g;
	struct image_hash *refs;
	size_t nrefs;
	struct timespec cutoff;
};

static int collect_one(const struct image_hash *h, uint64_t size, void *arg)
{
	struct collect *c = arg;
	struct store *s = c->g->s;
	char path[4096], hex[IMAGE_HASH_HEXLEN + 1];
	struct stat st;

	if (bsearch(h, c->refs, c->nrefs, sizeof(*c->refs), cmp_hash) != NULL)
		return 0;
	if (objstore_path(s->os, h, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return 0;
	if (!ts_before(&st.st_mtim, &c->cutoff))
		return 0; /* young: maybe uploaded for an AddImage to come */
	image_hash_hex(h, hex);
	if (objstore_delete(s->os, h) < 0)
		return 0;
	log_info("GC: removed unreferenced object %s (%llu bytes)", hex, (unsigned long long)size);
	s->nobjects--;
	s->object_bytes -= size;
	c->g->objects_removed++;
	c->g->bytes_removed += size;
	return 0;
}

void gc_collect(struct gc *g)
{
	struct store *s = g->s;
	struct collect c = {.g = g};
	size_t total = 0, k = 0, removed;

	clock_gettime(CLOCK_REALTIME, &c.cutoff);
	c.cutoff.tv_sec -= g->grace_ns / 1000000000;
	c.cutoff.tv_nsec -= g->grace_ns % 1000000000;
	if (c.cutoff.tv_nsec < 0) {
		c.cutoff.tv_nsec += 1000000000;
		c.cutoff.tv_sec--;
	}
	pthread_mutex_lock(&s->mu);
	removed = g->objects_removed;
	for (size_t i = 0; i < s->nimgs; i++)
		total += s->imgs[i].nobjs;
	c.refs = malloc((total ? total : 1) * sizeof(*c.refs));
	if (c.refs == NULL) {
		pthread_mutex_unlock(&s->mu);
		log_error("GC: out of memory");
		return;
	}
	for (size_t i = 0; i < s->nimgs; i++)
		for (size_t j = 0; j < s->imgs[i].nobjs; j++)
			c.refs[k++] = s->imgs[i].objs[j].hash;
	qsort(c.refs, k, sizeof(*c.refs), cmp_hash);
	c.nrefs = k;
	objstore_each(s->os, collect_one, &c);
	g->runs++;
	removed = g->objects_removed - removed;
	pthread_mutex_unlock(&s->mu);
	free(c.refs);
	if (removed > 0)
		log_info("GC: %zu unreferenced objects removed", removed);
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
