/* imagetool fetch: downloads an image's objects into a store over -getConnections
 * parallel connections. Verifying is SHA-512 of every byte, which on one core runs
 * slower than TLS and the disk: spreading the objects over connections, each on its
 * own thread, spreads the hashing over the cores. */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imagetool.h"

struct fetch_shared {
	pthread_mutex_t lock;
	struct imgtool_progress *p;
	uint64_t total;
	size_t nparts;
	uint64_t *done; /* per part */
};

struct fetch_part {
	struct imgtool *t;
	struct srpc_client *cl; /* part 0 borrows t->client; the others own theirs */
	struct fetch_shared *sh;
	size_t index;
	struct image_hash *hashes;
	size_t n;
	uint64_t bytes;
	struct objstore *st;
	int rc;
	char err[1024];
};

static void part_progress(uint64_t done, uint64_t total, void *arg)
{
	struct fetch_part *fp = arg;
	struct fetch_shared *sh = fp->sh;
	uint64_t sum = 0;

	(void)total;
	pthread_mutex_lock(&sh->lock);
	sh->done[fp->index] = done;
	for (size_t i = 0; i < sh->nparts; i++)
		sum += sh->done[i];
	if (sh->p)
		imgtool_progress_cb(sum, sh->total, sh->p);
	pthread_mutex_unlock(&sh->lock);
}

static void *part_run(void *arg)
{
	struct fetch_part *fp = arg;

	if (!fp->cl) {
		fp->rc = imgtool_dial_new(fp->t, &fp->cl, fp->err, sizeof(fp->err));
		if (fp->rc < 0)
			return NULL;
	}
	fp->rc = imgclient_get_objects(fp->cl, fp->hashes, fp->n, fp->st, part_progress, fp,
				       fp->err, sizeof(fp->err));
	if (fp->rc < 0 && !fp->err[0])
		snprintf(fp->err, sizeof(fp->err), "%s", srpc_client_error(fp->cl));
	return NULL;
}

/* Largest first, each object to the part with the fewest bytes so far. */
static int partition(const struct image_hash *hashes, const uint64_t *sizes, size_t n,
		     struct fetch_part *parts, size_t k)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* insertion sort by size, descending */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;
		for (; j > 0 && sizes[order[j - 1]] < sizes[v]; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
	for (size_t i = 0; i < n; i++) {
		size_t best = 0;
		for (size_t j = 1; j < k; j++)
			if (parts[j].bytes < parts[best].bytes)
				best = j;
		parts[best].hashes[parts[best].n++] = hashes[order[i]];
		parts[best].bytes += sizes[order[i]];
	}
	free(order);
	return 0;
}

int imgtool_fetch_objects(struct imgtool *t, const struct image_hash *hashes, const uint64_t *sizes,
			  size_t n, struct objstore *st, struct imgtool_progress *p, char *err,
			  size_t errsz)
{
	size_t k = t->o.get_connections > 0 ? (size_t)t->o.get_connections : 1;
	struct fetch_shared sh = {.p = p, .total = 0};
	struct fetch_part *parts;
	pthread_t *tids;
	bool *started;
	int rc = 0;

	if (n == 0)
		return 0;
	if (k > n)
		k = n;
	parts = calloc(k, sizeof(*parts));
	tids = calloc(k, sizeof(*tids));
	started = calloc(k, sizeof(*started));
	sh.done = calloc(k, sizeof(*sh.done));
	if (!parts || !tids || !started || !sh.done) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		parts[i] = (struct fetch_part){.t = t, .sh = &sh, .index = i, .st = st};
		if (!(parts[i].hashes = calloc(n, sizeof(*parts[i].hashes)))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		sh.total += sizes[i];
	sh.nparts = k;
	if ((rc = partition(hashes, sizes, n, parts, k)) < 0)
		goto out;
	parts[0].cl = t->client;
	pthread_mutex_init(&sh.lock, NULL);
	for (size_t i = 1; i < k; i++) {
		started[i] = pthread_create(&tids[i], NULL, part_run, &parts[i]) == 0;
		if (!started[i]) /* this part's objects are fetched by part 0 below */
			parts[i].rc = 1;
	}
	part_run(&parts[0]);
	for (size_t i = 1; i < k; i++) {
		if (started[i])
			pthread_join(tids[i], NULL);
		else if (parts[0].rc >= 0)
			parts[i].rc = imgclient_get_objects(t->client, parts[i].hashes, parts[i].n,
							    st, part_progress, &parts[i],
							    parts[i].err, sizeof(parts[i].err));
	}
	pthread_mutex_destroy(&sh.lock);
	for (size_t i = 0; i < k; i++) {
		if (parts[i].rc < 0 && rc == 0) {
			rc = parts[i].rc;
			snprintf(err, errsz, "%s", parts[i].err);
		}
		if (i > 0)
			srpc_client_close(parts[i].cl);
	}
out:
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	for (size_t i = 0; parts && i < k; i++)
		free(parts[i].hashes);
	free(parts);
	free(tids);
	free(started);
	free(sh.done);
	return rc;
}
