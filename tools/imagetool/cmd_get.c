/* imagetool get NAME DIR and check NAME: fetch an image's objects and verify every
 * hash; get unpacks into DIR (built beside it and renamed, so DIR never holds a
 * partial tree), check only reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"
#include "imagetool.h"

/* Resolves arg (image or stream) and fetches the image. 0, or 1 after printing. */
static int fetch_image(struct imgtool *t, const char *arg, bool ignore_fs, char **name,
		       struct image *img, const char *doing)
{
	int timeout_ms = (int)(t->o.timeout_ns / 1000000);
	char err[512] = "";
	int rc;

	*name = NULL;
	if (imgtool_dial(t, doing))
		return 1;
	rc = imgclient_resolve(t->client, arg, name, err, sizeof(err));
	if (rc == -ENOENT && timeout_ms > 0 && image_name_check(arg, err, sizeof(err)) == 0)
		rc = (*name = strdup(arg)) ? 0 : -ENOMEM;
	if (rc == -ENOENT)
		return imgtool_fail(doing, "%s", *err ? err : "image not found");
	if (rc < 0)
		return *err ? imgtool_fail(doing, "%s", err) : imgtool_rpc_fail(t, doing, rc);
	rc = imgclient_get_image(t->client, *name, ignore_fs, timeout_ms, img);
	if (rc == -ENOENT) {
		imgtool_fail(doing, "image %s not found", *name);
		goto fail;
	}
	if (rc < 0) {
		imgtool_rpc_fail(t, doing, rc);
		goto fail;
	}
	if (!ignore_fs && !img->has_fs) {
		image_free(img);
		imgtool_fail(doing, "image %s has no file system", *name);
		goto fail;
	}
	return 0;
fail:
	free(*name);
	*name = NULL;
	return 1;
}

/* The hashes and sizes of the image's objects as parallel arrays. 0 or -ENOMEM. */
static int object_arrays(const struct image_fs *fs, struct image_hash **hashes, uint64_t **sizes,
			 uint64_t *bytes, size_t *n)
{
	struct image_object *objs = NULL;
	int rc = image_fs_objects(fs, &objs, n);

	*hashes = NULL;
	*sizes = NULL;
	*bytes = 0;
	if (rc < 0)
		return rc;
	*hashes = calloc(*n ? *n : 1, sizeof(**hashes));
	*sizes = calloc(*n ? *n : 1, sizeof(**sizes));
	if (!*hashes || !*sizes) {
		free(objs);
		free(*hashes);
		free(*sizes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		(*hashes)[i] = objs[i].hash;
		(*sizes)[i] = objs[i].size;
		*bytes += objs[i].size;
	}
	free(objs);
	return 0;
}

int imgtool_cmd_get(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	const char *dest = argv[1];
	struct image_hash *hashes = NULL;
	uint64_t *sizes = NULL, bytes;
	struct objstore *st = NULL;
	struct imgtool_progress p;
	struct image img = {0};
	char scratch[4096], err[1024] = "", *name = NULL;
	struct stat sb;
	size_t n;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], false)))
		return rc;
	if (lstat(dest, &sb) == 0)
		return imgtool_fail(c->doing, "%s exists", dest);
	rc = snprintf(scratch, sizeof(scratch), "%s.objects-%ld", dest, (long)getpid());
	if (rc < 0 || (size_t)rc >= sizeof(scratch))
		return imgtool_fail(c->doing, "%s: name too long", dest);
	if (fetch_image(t, argv[0], false, &name, &img, c->doing))
		return 1;
	rc = 1;
	if (object_arrays(&img.fs, &hashes, &sizes, &bytes, &n) < 0) {
		imgtool_fail(c->doing, "out of memory");
		goto out;
	}
	/* The scratch store sits beside DIR, on its file system, so that unpacking
	 * hard-links the verified objects instead of copying them. */
	if (objstore_open(scratch, &st, err, sizeof(err)) < 0) {
		imgtool_fail(c->doing, "%s", err);
		goto out;
	}
	imgtool_progress_start(&p, "get: downloading", t->o.quiet);
	p.total = bytes;
	if (imgtool_fetch_objects(t, hashes, sizes, n, st, &p, err, sizeof(err)) < 0) {
		imgtool_fail(c->doing, "%s: %s", name, err);
		goto out;
	}
	imgtool_progress_end(&p);
	imgtool_progress_start(&p, "get: unpacking", t->o.quiet);
	if (image_unpack(&img.fs, st, dest, IMAGE_UNPACK_LINK, imgtool_progress_cb, &p, err,
			 sizeof(err)) < 0) {
		char tmp[4200];
		imgtool_fail(c->doing, "%s: %s", name, err);
		/* image_unpack removes its partial tree; make sure, it is ours. */
		if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest, (long)getpid()) <
		    (int)sizeof(tmp))
			imgtool_remove_tree(tmp);
		goto out;
	}
	imgtool_progress_end(&p);
	rc = 0;
out:
	objstore_close(st);
	if (imgtool_remove_tree(scratch) < 0)
		fprintf(stderr, "imagetool: could not remove %s\n", scratch);
	free(hashes);
	free(sizes);
	image_free(&img);
	free(name);
	return rc;
}

struct bad_walk {
	const struct image_hash *hashes;
	const bool *bad;
	size_t n;
};

static int print_bad_paths(const char *path, const struct image_inode *ino, bool first, void *arg)
{
	const struct bad_walk *w = arg;
	size_t lo = 0, hi = w->n;

	(void)first;
	if (ino->kind != IMAGE_INODE_REGULAR || ino->size == 0)
		return 0;
	while (lo < hi) { /* hashes are sorted (image_fs_objects) */
		size_t mid = lo + (hi - lo) / 2;
		int cmp = image_hash_cmp(&w->hashes[mid], &ino->hash);
		if (cmp == 0) {
			if (w->bad[mid])
				fprintf(stderr, "  /%s\n", path);
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Verifies the objects the server holds; missing[] and bad[] say which it lacks or
 * holds corrupted. Returns how many are missing or bad, or -1 after printing why the
 * check could not be done. */
static int check_objects(struct imgtool *t, const char *doing, const char *name,
			 const struct image_hash *hashes, const uint64_t *sizes, size_t n,
			 bool *missing, bool *bad)
{
	struct image_hash *ph = calloc(n ? n : 1, sizeof(*ph));
	uint64_t *have = calloc(n ? n : 1, sizeof(*have));
	uint64_t *ps = calloc(n ? n : 1, sizeof(*ps));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), k = 0;
	bool *pbad = calloc(n ? n : 1, sizeof(*pbad));
	struct imgtool_progress p;
	uint64_t present = 0;
	char err[1024] = "";
	int rc = -1, nbad = 0;

	if (!ph || !have || !ps || !idx || !pbad) {
		imgtool_fail(doing, "out of memory");
		goto out;
	}
	if (n > 0 && (rc = imgclient_check_objects(t->client, hashes, n, have)) < 0) {
		rc = -imgtool_rpc_fail(t, doing, rc);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (have[i] == 0) {
			missing[i] = true;
			nbad++;
			continue;
		}
		ph[k] = hashes[i];
		ps[k] = sizes[i];
		idx[k++] = i;
		present += sizes[i];
	}
	imgtool_progress_start(&p, "check: verifying", t->o.quiet);
	p.total = present;
	rc = imgtool_verify_objects(t, ph, ps, k, pbad, &p, err, sizeof(err));
	if (rc < 0) {
		rc = -imgtool_fail(doing, "%s: %s", name, err);
		goto out;
	}
	imgtool_progress_end(&p);
	for (size_t j = 0; j < k; j++)
		bad[idx[j]] = pbad[j];
	rc = nbad + rc;
out:
	free(ph);
	free(have);
	free(ps);
	free(idx);
	free(pbad);
	return rc;
}

int imgtool_cmd_check(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[])
{
	struct image_hash *hashes = NULL;
	uint64_t *sizes = NULL, bytes;
	struct image img = {0};
	bool *bad = NULL, *missing = NULL, yes = true;
	char *name = NULL;
	size_t n;
	int rc;

	(void)argc;
	if ((rc = imgtool_check_name(argv[0], false)))
		return rc;
	if (fetch_image(t, argv[0], false, &name, &img, c->doing))
		return 1;
	rc = 1;
	if (object_arrays(&img.fs, &hashes, &sizes, &bytes, &n) < 0 ||
	    !(bad = calloc(n ? n : 1, sizeof(*bad))) ||
	    !(missing = calloc(n ? n : 1, sizeof(*missing)))) {
		imgtool_fail(c->doing, "out of memory");
		goto out;
	}
	rc = check_objects(t, c->doing, name, hashes, sizes, n, missing, bad);
	if (rc < 0) {
		rc = 1;
		goto out;
	}
	if (rc > 0) {
		for (size_t i = 0; i < n; i++) {
			struct bad_walk one = {hashes + i, &yes, 1};
			char hex[IMAGE_HASH_HEXLEN + 1];
			if (!bad[i] && !missing[i])
				continue;
			image_hash_hex(&hashes[i], hex);
			fprintf(stderr, "Error checking image: %s: object %s is %s, in:\n", name,
				hex, missing[i] ? "missing" : "corrupted");
			image_fs_walk(&img.fs, print_bad_paths, &one);
		}
		fprintf(stderr,
			"Error checking image: %s: %d of %zu objects missing or corrupted\n", name,
			rc, n);
		rc = 1;
		goto out;
	}
	printf("%s: ok, %zu objects (%llu bytes) verified\n", name, n, (unsigned long long)bytes);
	rc = 0;
out:
	free(bad);
	free(missing);
	free(hashes);
	free(sizes);
	image_free(&img);
	free(name);
	return rc;
}
