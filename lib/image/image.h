/* image/image: an Image of the image server (spec/fleet-and-images.md §4) and the rules
 * for image and directory names. The fields the server and its clients act on are
 * decoded; every other field (BuildLog, Filter, Packages, Triggers...) is kept as the
 * JSON it came in, so a store round-trips what a client sent. Pure: no I/O. */
#ifndef SS_IMAGE_IMAGE_H
#define SS_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "image/fs.h"

#define IMAGE_FULLNAME_MAX 1024 /* bytes of "<stream>/<leaf>" */

struct image {
	json_t *extra;	    /* every field except those below; an object, owned */
	char *build_branch; /* "" when absent */
	char *build_commit_id;
	char *created_by;
	struct timespec created_on; /* zero = unset */
	struct timespec expires_at; /* zero = never */
	json_t *tags;		    /* object of string -> string, owned; NULL = none */
	bool has_fs;		    /* FileSystem was present (not null) */
	struct image_fs fs;
};

/* Decodes an Image JSON object (Go field names, matched exactly then
 * case-insensitively like the rest of lib/api). Borrows j. 0, -ENOMEM, or -EINVAL with
 * the place in err. On failure img holds nothing. */
int image_from_json(const json_t *j, struct image *img, char *err, size_t errsz);

/* The Image as Go writes it (Go's field order; times RFC 3339, zero time
 * "0001-01-01T00:00:00Z"). FileSystem is null when !with_fs or !img->has_fs.
 * New reference, NULL on allocation failure. */
json_t *image_to_json(const struct image *img, bool with_fs);

void image_free(struct image *img); /* accepts NULL and an empty image */

/* A directory (stream) name: 1..IMAGE_FULLNAME_MAX bytes of components separated by
 * single '/', no leading or trailing '/', each component image_fs_name_ok and free of
 * control bytes. 0, or -EINVAL with the reason in err ("\"a/../b\": component \"..\"
 * refused"). */
int image_dirname_check(const char *name, char *err, size_t errsz);

/* An image name: "<directory>/<leaf>" with the same rules, at least two components. */
int image_name_check(const char *name, char *err, size_t errsz);

/* The directory part of an image name into out ("a/b/leaf" -> "a/b"). 0, -EINVAL when
 * there is no '/', -ENAMETOOLONG. */
int image_name_dir(const char *name, char *out, size_t outsz);

/* A sortable leaf for a new image: the UTC time as "2006-01-02:15:04:05" (the format
 * the original tools use), into out (at least 20 bytes). */
void image_leaf_now(char *out, size_t outsz);

/* FindLatestImage's TagsToMatch (Go tags.MatchTags: an object of key -> array of
 * acceptable values): does every key of match have one of its values in img's Tags?
 * NULL or {} matches all. */
bool image_tags_match(const struct image *img, const json_t *match);

#endif
