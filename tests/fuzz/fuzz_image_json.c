/* fuzz_image_json: an Image of the image server as JSON (lib/image/image.c, with its
 * FileSystem through lib/image/fs.c), as a client or the server's store would hand it
 * over. Checks beyond the sanitizers: a refusal says why; whatever decodes walks, lists
 * its objects and sizes without trouble, and its encoding (with and without the file
 * system) decodes again and re-encodes to the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s\n", what, detail != NULL ? detail : "");
	abort();
}

struct walk_check {
	size_t entries;
};

static int walk_fn(const char *path, const struct image_inode *ino, bool first, void *arg)
{
	struct walk_check *w = arg;

	(void)first;
	if (!*path || strlen(path) > IMAGE_PATH_MAX || path[0] == '/' || ino == NULL)
		fail("walk gave a bad path", path);
	w->entries++;
	return 0;
}

static void check_fs(const struct image_fs *fs)
{
	struct walk_check w = {0};
	struct image_object *objs;
	size_t n;

	if (image_fs_walk(fs, walk_fn, &w) != 0)
		fail("walk of a valid file system failed", NULL);
	if (image_fs_objects(fs, &objs, &n) < 0)
		abort();
	for (size_t i = 1; i < n; i++)
		if (image_hash_cmp(&objs[i - 1].hash, &objs[i].hash) >= 0)
			fail("objects not sorted and distinct", NULL);
	free(objs);
	(void)image_fs_estimate_usage(fs, IMAGE_BLOCK_SIZE);
}

/* encode -> text -> decode -> encode: the same text. */
static char *encode(const struct image *img, bool with_fs)
{
	json_t *j = image_to_json(img, with_fs);
	char *s;

	if (j == NULL)
		abort();
	s = sjson_dumps(j, 0);
	if (s == NULL)
		abort();
	json_decref(j);
	return s;
}

static void round_trip(const struct image *img, bool with_fs)
{
	char *text = encode(img, with_fs), *again, err[512] = "";
	struct image img2;
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);

	if (j == NULL)
		fail("encoded image does not parse", text);
	if (image_from_json(j, &img2, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", text);
		fail("encoded image does not decode", err);
	}
	again = encode(&img2, with_fs);
	if (strcmp(text, again) != 0) {
		fprintf(stderr, "first:\n%s\nsecond:\n%s\n", text, again);
		fail("image changes on a decode/encode round trip", NULL);
	}
	free(again);
	image_free(&img2);
	json_decref(j);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct image img;
	json_error_t je;
	json_t *j;
	int rc;

	if (size > 1 << 20)
		return 0;
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL)
		return 0;
	rc = image_from_json(j, &img, err, sizeof(err));
	if (rc == -EINVAL && !err[0])
		fail("refusal without a message", NULL);
	if (rc == 0) {
		if (img.has_fs)
			check_fs(&img.fs);
		round_trip(&img, true);
		round_trip(&img, false);
		image_free(&img);
	} else if (rc != -EINVAL && rc != -ENOMEM) {
		fail("unexpected error", err);
	}
	json_decref(j);
	return 0;
}
