/* The image server's housekeeping thread: images disappear at their ExpiresAt, and
 * objects no image names are removed every gc_interval once they are older than the
 * grace period (so that objects uploaded before their AddImage survive). Both log what
 * they remove. */
#ifndef IS_GC_H
#define IS_GC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/imageserver/store.h"

struct gc {
	struct store *s;
	int64_t interval_ns; /* 0: no object GC */
	int64_t grace_ns;
	bool stop; /* under s->mu */
	pthread_t thread;
	bool started;
	uint64_t runs, objects_removed, bytes_removed; /* under s->mu */
};

/* Removes what expired by now; returns the next expiry in *next (zero: none). Takes
 * s->mu. */
void gc_expire(struct store *s, struct timespec *next);

/* One object collection: unreferenced objects older than grace_ns go. Scans the store
 * without s->mu, then decides each removal again under it. */
void gc_collect(struct gc *g);

int gc_start(struct gc *g);
void gc_stop(struct gc *g);

#endif
