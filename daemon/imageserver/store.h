/* The image server's store: every image a JSON file <imageDir>/<directory>/<leaf>
 * written atomically, every directory (stream) a real directory, the objects in an
 * objstore. In memory only an index (name, times, tags, build ids, size, object list),
 * never the FileSystems: GetImage reads the file. One mutex guards the index; the
 * expiry and GC of gc.c take it too, so an image being added and the objects it names
 * are never collected in between. */
#ifndef IS_STORE_H
#define IS_STORE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "image/fs.h"
#include "image/image.h"
#include "image/objstore.h"

struct store_entry {
	char *name;
	struct timespec created_on, expires_at; /* expires_at zero: permanent */
	json_t *tags;				/* object or NULL */
	char *build_commit_id, *build_branch;
	uint64_t total_data_bytes;
	struct image_object *objs; /* distinct objects, sorted by hash */
	size_t nobjs;
};

struct store {
	pthread_mutex_t mu;
	pthread_cond_t changed; /* an image appeared or an expiry changed */
	char *image_dir;
	size_t max_file; /* largest image file read back */
	int lock_fd;
	struct objstore *os;
	char **dirs; /* sorted */
	size_t ndirs, capdirs;
	struct store_entry *imgs; /* sorted by name */
	size_t nimgs, capimgs;
	uint64_t nobjects, object_bytes; /* under mu */
	atomic_uint_fast64_t bytes_served, bytes_received, objects_added;
	atomic_uint gets_in_flight;
	bool closing; /* under mu: store_stop_waiters was called */
};

/* Opens the store: locks imageDir, opens the objstore, loads every image (a file that
 * does not decode is moved to <imageDir>/.bad/, temp files are removed), logs missing
 * objects. 0 or -errno with err. */
int store_open(struct store *s, const char *image_dir, const char *object_dir, size_t max_file,
	       char *err, size_t errsz);

/* At a stop: GetImage calls waiting for an image return now. The store itself is never
 * freed: a handler blocked elsewhere than on its socket may still use it until exit. */
void store_stop_waiters(struct store *s);

/* Extra name rules of this store on top of image_name_check/image_dirname_check: no
 * component starting with '.' (.bad/, .lock) or ending with '~' (temp files). */
int store_name_check(const char *name, bool is_image, char *err, size_t errsz);

bool store_dir_exists(struct store *s, const char *dir);
int store_mkdir(struct store *s, const char *dir, bool make_all, char *err, size_t errsz);

bool store_image_exists(struct store *s, const char *name);

/* Adds img (borrowed; CreatedOn and CreatedBy filled in when unset) under name. Refused
 * (-EEXIST, -ENOENT, -EINVAL, -ENOSPC...) with the reason in err. */
int store_add_image(struct store *s, const char *name, struct image *img, const char *user,
		    char *err, size_t errsz);
int store_delete_image(struct store *s, const char *name, char *err, size_t errsz);

/* FindLatestImage (spec §4). *name is a new string ("" for none); -ENOENT with err
 * "unknown directory: x". */
int store_find_latest(struct store *s, const char *dir, const char *commit, bool ignore_expiring,
		      const json_t *tags_to_match, char **name, char *err, size_t errsz);

/* The image file as JSON (new reference) or -ENOENT. */
int store_read_image(struct store *s, const char *name, json_t **out);

/* Waits until name exists or deadline (CLOCK_REALTIME) passes: true if it exists. */
bool store_wait_image(struct store *s, const char *name, const struct timespec *deadline);

int store_get_expiration(struct store *s, const char *name, struct timespec *at);
int store_change_expiration(struct store *s, const char *name, const struct timespec *at, char *err,
			    size_t errsz);

/* Sorted copies: a new NULL-terminated array of new strings (store_strv_free). */
char **store_list_images(struct store *s, size_t *n);
char **store_list_dirs(struct store *s, size_t *n);
void store_strv_free(char **v);

/* A snapshot of the index for the status page: fn per image under the lock (keep it
 * short). */
void store_each_image(struct store *s, void (*fn)(const struct store_entry *e, void *arg),
		      void *arg);

/* Counts for /metrics. */
void store_counts(struct store *s, size_t *nimages, size_t *ndirs, uint64_t *nobjects,
		  uint64_t *object_bytes);

/* For gc.c, with mu held: removes e's file and index entry. */
int store_remove_locked(struct store *s, struct store_entry *e, char *err, size_t errsz);

/* An object came in (AddObjects) or was found present and is about to be named:
 * counts it and renews its mtime, so that GC's grace period starts again. */
void store_object_added(struct store *s, const struct image_hash *h, uint64_t size, bool added);

#endif
