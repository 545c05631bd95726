/* The image server's store (see store.h): the index, the image files and directories,
 * and the start-up scan that loads them. */
#include "daemon/imageserver/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "log.h"

#define BAD_DIR ".bad"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ts_zero(const struct timespec *t)
{
	return t->tv_sec == 0 && t->tv_nsec == 0;
}

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return a->tv_nsec < b->tv_nsec ? -1 : a->tv_nsec > b->tv_nsec;
}

int store_name_check(const char *name, bool is_image, char *err, size_t errsz)
{
	const char *p = name;
	int rc =
	    is_image ? image_name_check(name, err, errsz) : image_dirname_check(name, err, errsz);

	if (rc < 0)
		return rc;
	while (*p != '\0') {
		size_t len = strcspn(p, "/");

		if (p[0] == '.' || p[len - 1] == '~') {
			snprintf(err, errsz, "\"%s\": component \"%.*s\" refused (reserved)", name,
				 (int)len, p);
			return -EINVAL;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int image_path(const struct store *s, const char *name, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%s/%s", s->image_dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/* ---- the index (callers hold mu) ---- */

static ssize_t find_dir(const struct store *s, const char *dir)
{
	const char *key = dir;
	char **hit;

	if (s->ndirs == 0)
		return -1; /* dirs may be NULL, which bsearch may not get */
	hit = bsearch(&key, s->dirs, s->ndirs, sizeof(*s->dirs), cmp_str);

	return hit != NULL ? hit - s->dirs : -1;
}

static int cmp_entry_name(const void *k, const void *e)
{
	return strcmp(k, ((const struct store_entry *)e)->name);
}

static struct store_entry *find_image(const struct store *s, const char *name)
{
	if (s->nimgs == 0)
		return NULL;
	return bsearch(name, s->imgs, s->nimgs, sizeof(*s->imgs), cmp_entry_name);
}

static int insert_dir(struct store *s, const char *dir)
{
	size_t at = 0;
	char *copy;

	if (find_dir(s, dir) >= 0)
		return 0;
	if (s->ndirs == s->capdirs) {
		size_t cap = s->capdirs ? s->capdirs * 2 : 16;
		char **v = realloc(s->dirs, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->dirs = v;
		s->capdirs = cap;
	}
	if ((copy = strdup(dir)) == NULL)
		return -ENOMEM;
	while (at < s->ndirs && strcmp(s->dirs[at], dir) < 0)
		at++;
	memmove(s->dirs + at + 1, s->dirs + at, (s->ndirs - at) * sizeof(*s->dirs));
	s->dirs[at] = copy;
	s->ndirs++;
	return 0;
}

static void entry_free(struct store_entry *e)
{
	free(e->name);
	json_decref(e->tags);
	free(e->build_commit_id);
	free(e->build_branch);
	free(e->objs);
	memset(e, 0, sizeof(*e));
}

/* Makes the index entry of img (whose FileSystem is decoded). */
static int entry_from_image(struct store_entry *e, const char *name, const struct image *img)
{
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	e->build_commit_id = strdup(img->build_commit_id ? img->build_commit_id : "");
	e->build_branch = strdup(img->build_branch ? img->build_branch : "");
	e->created_on = img->created_on;
	e->expires_at = img->expires_at;
	e->tags = img->tags != NULL ? json_deep_copy(img->tags) : NULL;
	if (img->has_fs) {
		e->total_data_bytes = img->fs.total_data_bytes;
		if (image_fs_objects(&img->fs, &e->objs, &e->nobjs) < 0)
			goto nomem;
	}
	if (e->name == NULL || e->build_commit_id == NULL || e->build_branch == NULL ||
	    (img->tags != NULL && e->tags == NULL))
		goto nomem;
	return 0;
nomem:
	entry_free(e);
	return -ENOMEM;
}

/* Takes e's contents into the sorted index. */
static int insert_entry(struct store *s, struct store_entry *e)
{
	size_t lo = 0, hi = s->nimgs;

	if (s->nimgs == s->capimgs) {
		size_t cap = s->capimgs ? s->capimgs * 2 : 16;
		struct store_entry *v = realloc(s->imgs, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->imgs = v;
		s->capimgs = cap;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(s->imgs[mid].name, e->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(s->imgs + lo + 1, s->imgs + lo, (s->nimgs - lo) * sizeof(*s->imgs));
	s->imgs[lo] = *e;
	s->nimgs++;
	return 0;
}

static void remove_entry(struct store *s, struct store_entry *e)
{
	size_t i = (size_t)(e - s->imgs);

	entry_free(e);
	memmove(s->imgs + i, s->imgs + i + 1, (s->nimgs - i - 1) * sizeof(*s->imgs));
	s->nimgs--;
}

/* ---- start-up ---- */

/* Moves a file that does not decode out of the way, to <imageDir>/.bad/. */
static void move_aside(struct store *s, const char *rel, const char *why)
{
	char from[4096], to[4096], flat[1024];
	size_t i;

	snprintf(flat, sizeof(flat), "%s", rel);
	for (i = 0; flat[i] != '\0'; i++)
		if (flat[i] == '/')
			flat[i] = '_';
	snprintf(from, sizeof(from), "%s/%s", s->image_dir, rel);
	snprintf(to, sizeof(to), "%s/" BAD_DIR, s->image_dir);
	mkdir(to, 0755);
	snprintf(to, sizeof(to), "%s/" BAD_DIR "/%s.%lld", s->image_dir, flat,
		 (long long)time(NULL));
	if (rename(from, to) < 0)
		log_error("image %s: %s; moving it to %s failed: %s", rel, why, to,
			  strerror(errno));
	else
		log_error("image %s: %s; moved to %s", rel, why, to);
}

static void load_image(struct store *s, const char *rel)
{
	char path[4096], err[512];
	char *jerr = NULL;
	struct image img;
	struct store_entry e;
	json_t *j = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", s->image_dir, rel);
	if (store_name_check(rel, true, err, sizeof(err)) < 0) {
		move_aside(s, rel, err);
		return;
	}
	rc = sjson_load_file(path, s->max_file, &j, &jerr);
	if (rc < 0) {
		snprintf(err, sizeof(err), "%s", jerr ? jerr : strerror(-rc));
		free(jerr);
		if (rc == -ENOMEM) {
			log_error("image %s: out of memory loading it", rel);
			return;
		}
		move_aside(s, rel, err);
		return;
	}
	rc = image_from_json(j, &img, err, sizeof(err));
	json_decref(j);
	if (rc < 0) {
		move_aside(s, rel, err);
		return;
	}
	if (entry_from_image(&e, rel, &img) < 0 || insert_entry(s, &e) < 0) {
		entry_free(&e);
		log_error("image %s: out of memory indexing it", rel);
	}
	image_free(&img);
}

/* Walks <imageDir>/<rel> (rel "" for the top). */
static int scan_dir(struct store *s, const char *rel, int depth)
{
	char path[4096], sub[IMAGE_FULLNAME_MAX + 512];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", s->image_dir, rel[0] ? "/" : "", rel);
	if ((d = opendir(path)) == NULL)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue; /* ., .., .bad, .lock */
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (de->d_name[len - 1] == '~') {
			log_info("removing leftover temporary file %s/%s", s->image_dir, sub);
			unlinkat(dirfd(d), de->d_name, 0);
		} else if (S_ISDIR(st.st_mode)) {
			char err[256];

			if (depth > IMAGE_DEPTH_MAX ||
			    store_name_check(sub, false, err, sizeof(err)) < 0) {
				log_error("ignoring directory %s/%s: not a valid stream name",
					  s->image_dir, sub);
				continue;
			}
			rc = insert_dir(s, sub);
			if (rc == 0)
				rc = scan_dir(s, sub, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			if (rel[0] == '\0')
				move_aside(s, sub, "an image outside any directory");
			else
				load_image(s, sub);
		}
	}
	closedir(d);
	return rc;
}

static int count_object(const struct image_hash *h, uint64_t size, void *arg)
{
	struct store *s = arg;

	(void)h;
	s->nobjects++;
	s->object_bytes += size;
	return 0;
}

/* Logs the objects that images name but the object store lacks. */
static void check_objects(struct store *s)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	size_t missing = 0;

	for (size_t i = 0; i < s->nimgs; i++) {
		const struct store_entry *e = &s->imgs[i];

		for (size_t k = 0; k < e->nobjs; k++) {
			uint64_t sz;

			if (objstore_stat(s->os, &e->objs[k].hash, &sz) == 0)
				continue;
			image_hash_hex(&e->objs[k].hash, hex);
			if (missing++ < 100)
				log_error("image %s: missing object %s", e->name, hex);
		}
	}
	if (missing > 0)
		log_error("%zu objects named by images are missing", missing);
}

int store_open(struct store *s, const char *image_dir, const char *object_dir, size_t max_file,
	       char *err, size_t errsz)
{
	char *lerr = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->changed, NULL);
	s->max_file = max_file;
	s->image_dir = strdup(image_dir);
	if (s->image_dir == NULL)
		return -ENOMEM;
	rc = fsutil_mkdir_p(image_dir, 0755);
	if (rc < 0) {
		snprintf(err, errsz, "image directory %s: %s", image_dir, strerror(-rc));
		return rc;
	}
	s->lock_fd = fsutil_lock_dir(image_dir, "imageserver", true, &lerr);
	if (s->lock_fd < 0) {
		snprintf(err, errsz, "%s", lerr ? lerr : strerror(-s->lock_fd));
		free(lerr);
		return s->lock_fd;
	}
	rc = objstore_open(object_dir, &s->os, err, errsz);
	if (rc < 0)
		return rc;
	rc = scan_dir(s, "", 0);
	if (rc < 0) {
		snprintf(err, errsz, "reading %s: %s", image_dir, strerror(-rc));
		return rc;
	}
	objstore_each(s->os, count_object, s);
	check_objects(s);
	malloc_trim(0); /* decoding every FileSystem left free heap pages behind */
	log_info("loaded %zu images in %zu directories; %llu objects, %llu bytes", s->nimgs,
		 s->ndirs, (unsigned long long)s->nobjects, (unsigned long long)s->object_bytes);
	return 0;
}

void store_stop_waiters(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
}

/* ---- methods ---- */

bool store_dir_exists(struct store *s, const char *dir)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = find_dir(s, dir) >= 0;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

bool store_image_exists(struct store *s, const char *name)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = find_image(s, name) != NULL;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

/* Creates one directory (its parent exists). Caller holds mu. */
static int mkdir_one(struct store *s, const char *dir, char *err, size_t errsz)
{
	char path[4096];
	int rc;

	if (find_image(s, dir) != NULL) {
		snprintf(err, errsz, "%s: an image of that name exists", dir);
		return -EEXIST;
	}
	if ((rc = image_path(s, dir, path, sizeof(path))) < 0)
		return rc;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errsz, "mkdir %s: %s", dir, strerror(-rc));
		return rc;
	}
	rc = insert_dir(s, dir);
	if (rc == 0)
		log_info("made directory %s", dir);
	return rc;
}

int store_mkdir(struct store *s, const char *dir, bool make_all, char *err, size_t errsz)
{
	char parent[IMAGE_FULLNAME_MAX + 1];
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (find_dir(s, dir) >= 0) {
		if (!make_all) {
			snprintf(err, errsz, "directory %s already exists", dir);
			rc = -EEXIST;
		}
		goto out;
	}
	if (image_name_dir(dir, parent, sizeof(parent)) == 0 && find_dir(s, parent) < 0) {
		if (!make_all) {
			snprintf(err, errsz, "no parent directory for: %s", dir);
			rc = -ENOENT;
			goto out;
		}
		/* Every ancestor, top down. */
		for (char *p = strchr(parent, '/'); rc == 0; p = strchr(p + 1, '/')) {
			if (p != NULL)
				*p = '\0';
			if (find_dir(s, parent) < 0)
				rc = mkdir_one(s, parent, err, errsz);
			if (p == NULL)
				break;
			*p = '/';
		}
	}
	if (rc == 0)
		rc = mkdir_one(s, dir, err, errsz);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Every object img names is present with the size the image says. Caller holds mu. */
static int check_image_objects(struct store *s, const struct store_entry *e, char *err,
			       size_t errsz)
{
	char hex[IMAGE_HASH_HEXLEN + 1];

	for (size_t i = 0; i < e->nobjs; i++) {
		uint64_t sz;
		int rc = objstore_stat(s->os, &e->objs[i].hash, &sz);

		image_hash_hex(&e->objs[i].hash, hex);
		if (rc == -ENOENT) {
			snprintf(err, errsz, "unknown object: %s", hex);
			return -ENOENT;
		}
		if (rc < 0) {
			snprintf(err, errsz, "object %s: %s", hex, strerror(-rc));
			return rc;
		}
		if (sz != e->objs[i].size) {
			snprintf(err, errsz, "object %s: %llu bytes, the image says %llu", hex,
				 (unsigned long long)sz, (unsigned long long)e->objs[i].size);
			return -EINVAL;
		}
	}
	return 0;
}

int store_add_image(struct store *s, const char *name, struct image *img, const char *user,
		    char *err, size_t errsz)
{
	char dir[IMAGE_FULLNAME_MAX + 1], path[4096];
	struct store_entry e = {0};
	struct timespec now;
	json_t *j = NULL;
	int rc;

	if (!img->has_fs) {
		snprintf(err, errsz, "image %s has no FileSystem", name);
		return -EINVAL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (!ts_zero(&img->expires_at) && ts_cmp(&img->expires_at, &now) <= 0) {
		snprintf(err, errsz, "image %s already expired", name);
		return -EINVAL;
	}
	if (ts_zero(&img->created_on))
		img->created_on = now;
	if ((img->created_by == NULL || img->created_by[0] == '\0') && user[0] != '\0') {
		free(img->created_by);
		img->created_by = strdup(user);
	}
	if ((rc = image_name_dir(name, dir, sizeof(dir))) < 0 ||
	    (rc = image_path(s, name, path, sizeof(path))) < 0) {
		snprintf(err, errsz, "%s: bad image name", name);
		return rc;
	}
	if ((rc = entry_from_image(&e, name, img)) < 0 || (j = image_to_json(img, true)) == NULL) {
		snprintf(err, errsz, "out of memory");
		entry_free(&e);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	if (find_dir(s, dir) < 0) {
		snprintf(err, errsz, "unknown directory: %s", dir);
		rc = -ENOENT;
	} else if (find_image(s, name) != NULL) {
		snprintf(err, errsz, "image: %s already exists", name);
		rc = -EEXIST;
	} else if (find_dir(s, name) >= 0) {
		snprintf(err, errsz, "%s: a directory of that name exists", name);
		rc = -EEXIST;
	} else {
		rc = check_image_objects(s, &e, err, errsz);
	}
	if (rc == 0) {
		rc = sjson_write_file(path, j, 0644);
		if (rc < 0)
			snprintf(err, errsz, "writing image %s: %s", name, strerror(-rc));
	}
	if (rc == 0)
		rc = insert_entry(s, &e);
	if (rc == 0) {
		pthread_cond_broadcast(&s->changed);
		log_info("added image %s (%zu objects, %llu bytes)%s", name, e.nobjs,
			 (unsigned long long)e.total_data_bytes,
			 ts_zero(&e.expires_at) ? "" : ", expiring");
	}
	pthread_mutex_unlock(&s->mu);
	json_decref(j);
	if (rc < 0)
		entry_free(&e);
	return rc;
}

/* Removes the image's file and entry. Caller holds mu. */
int store_remove_locked(struct store *s, struct store_entry *e, char *err, size_t errsz)
{
	char path[4096];
	int rc = image_path(s, e->name, path, sizeof(path));

	if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errsz, "removing image %s: %s", e->name, strerror(-rc));
		return rc;
	}
	remove_entry(s, e);
	return 0;
}

int store_delete_image(struct store *s, const char *name, char *err, size_t errsz)
{
	struct store_entry *e;
	int rc;

	pthread_mutex_lock(&s->mu);
	e = find_image(s, name);
	if (e == NULL) {
		snprintf(err, errsz, "image: %s does not exist", name);
		rc = -ENOENT;
	} else {
		rc = store_remove_locked(s, e, err, errsz);
	}
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		log_info("deleted image %s", name);
	return rc;
}

/* The entry's BuildCommitId or BuildBranch is commit. */
static bool commit_match(const struct store_entry *e, const char *commit)
{
	return commit == NULL || commit[0] == '\0' || strcmp(e->build_commit_id, commit) == 0 ||
	       strcmp(e->build_branch, commit) == 0;
}

int store_find_latest(struct store *s, const char *dir, const char *commit, bool ignore_expiring,
		      const json_t *tags_to_match, char **name, char *err, size_t errsz)
{
	const struct store_entry *best = NULL;
	size_t dlen = strlen(dir);
	int rc = 0;

	*name = NULL;
	pthread_mutex_lock(&s->mu);
	if (find_dir(s, dir) < 0) {
		snprintf(err, errsz, "unknown directory: %s", dir);
		rc = -ENOENT;
		goto out;
	}
	for (size_t i = 0; i < s->nimgs; i++) {
		const struct store_entry *e = &s->imgs[i];
		struct image probe = {.tags = e->tags};

		/* Directly in dir: "<dir>/<leaf>" with no further '/'. */
		if (strncmp(e->name, dir, dlen) != 0 || e->name[dlen] != '/' ||
		    strchr(e->name + dlen + 1, '/') != NULL)
			continue;
		if (ignore_expiring && !ts_zero(&e->expires_at))
			continue;
		if (!commit_match(e, commit) || !image_tags_match(&probe, tags_to_match))
			continue;
		if (best == NULL || ts_cmp(&e->created_on, &best->created_on) > 0)
			best = e;
	}
	*name = strdup(best != NULL ? best->name : "");
	if (*name == NULL)
		rc = -ENOMEM;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_read_image(struct store *s, const char *name, json_t **out)
{
	char path[4096];
	int rc;

	*out = NULL;
	if (!store_image_exists(s, name))
		return -ENOENT;
	if ((rc = image_path(s, name, path, sizeof(path))) < 0)
		return rc;
	return sjson_load_file(path, s->max_file, out, NULL);
}

bool store_wait_image(struct store *s, const char *name, const struct timespec *deadline)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	while (!(ok = find_image(s, name) != NULL) && !s->closing &&
	       pthread_cond_timedwait(&s->changed, &s->mu, deadline) == 0)
		;
	if (!ok)
		ok = find_image(s, name) != NULL;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

int store_get_expiration(struct store *s, const char *name, struct timespec *at)
{
	struct store_entry *e;

	pthread_mutex_lock(&s->mu);
	e = find_image(s, name);
	if (e != NULL)
		*at = e->expires_at;
	pthread_mutex_unlock(&s->mu);
	return e != NULL ? 0 : -ENOENT;
}

int store_change_expiration(struct store *s, const char *name, const struct timespec *at, char *err,
			    size_t errsz)
{
	struct store_entry *e;
	char path[4096];
	json_t *j = NULL, *t = sjson_time(at);
	int rc;

	if (t == NULL || (rc = image_path(s, name, path, sizeof(path))) < 0) {
		json_decref(t);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	e = find_image(s, name);
	if (e == NULL) {
		snprintf(err, errsz, "image: %s does not exist", name);
		rc = -ENOENT;
		goto out;
	}
	rc = sjson_load_file(path, s->max_file, &j, NULL);
	if (rc == 0 && !json_is_object(j))
		rc = -EINVAL;
	if (rc == 0)
		rc = json_object_set(j, "ExpiresAt", t) < 0 ? -ENOMEM : 0;
	if (rc == 0)
		rc = sjson_write_file(path, j, 0644);
	if (rc < 0) {
		snprintf(err, errsz, "rewriting image %s: %s", name, strerror(-rc));
		goto out;
	}
	e->expires_at = *at;
	pthread_cond_broadcast(&s->changed);
	log_info("image %s: expiration %s", name, ts_zero(at) ? "removed" : "changed");
out:
	pthread_mutex_unlock(&s->mu);
	json_decref(j);
	json_decref(t);
	return rc;
}

static char **strv_copy(char *const *src, size_t n)
{
	char **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v != NULL && i < n; i++) {
		if ((v[i] = strdup(src[i])) == NULL) {
			store_strv_free(v);
			return NULL;
		}
	}
	return v;
}

char **store_list_images(struct store *s, size_t *n)
{
	char **names, **v = NULL;

	pthread_mutex_lock(&s->mu);
	names = calloc(s->nimgs + 1, sizeof(*names));
	if (names != NULL) {
		for (size_t i = 0; i < s->nimgs; i++)
			names[i] = s->imgs[i].name;
		v = strv_copy(names, s->nimgs);
		*n = s->nimgs;
	}
	pthread_mutex_unlock(&s->mu);
	free(names);
	return v;
}

char **store_list_dirs(struct store *s, size_t *n)
{
	char **v;

	pthread_mutex_lock(&s->mu);
	v = strv_copy(s->dirs, s->ndirs);
	*n = s->ndirs;
	pthread_mutex_unlock(&s->mu);
	return v;
}

void store_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void store_each_image(struct store *s, void (*fn)(const struct store_entry *e, void *arg),
		      void *arg)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nimgs; i++)
		fn(&s->imgs[i], arg);
	pthread_mutex_unlock(&s->mu);
}

void store_counts(struct store *s, size_t *nimages, size_t *ndirs, uint64_t *nobjects,
		  uint64_t *object_bytes)
{
	pthread_mutex_lock(&s->mu);
	*nimages = s->nimgs;
	*ndirs = s->ndirs;
	*nobjects = s->nobjects;
	*object_bytes = s->object_bytes;
	pthread_mutex_unlock(&s->mu);
}

void store_object_added(struct store *s, const struct image_hash *h, uint64_t size, bool added)
{
	char path[4096];

	if (added) {
		pthread_mutex_lock(&s->mu);
		s->nobjects++;
		s->object_bytes += size;
		pthread_mutex_unlock(&s->mu);
		atomic_fetch_add(&s->objects_added, 1);
		return;
	}
	/* Under the lock, so that GC's second look (also under it) sees the new mtime. */
	pthread_mutex_lock(&s->mu);
	if (objstore_path(s->os, h, path, sizeof(path)) == 0)
		utimensat(AT_FDCWD, path, NULL, 0);
	pthread_mutex_unlock(&s->mu);
}
