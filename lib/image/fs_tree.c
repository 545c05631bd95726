/* image/fs_tree: what works on a decoded FileSystem: the JSON encoder (Go's field
 * order, map keys sorted as strings), lookups, the walk, counts and usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/fs.h"
#include "json.h"

bool image_fs_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > IMAGE_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strchr(name, '/') == NULL;
}

static void inode_free(struct image_inode *ino)
{
	for (size_t i = 0; i < ino->n_entries; i++)
		free(ino->entries[i].name);
	free(ino->entries);
	free(ino->source);
	free(ino->symlink);
}

void image_fs_free(struct image_fs *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n_inodes; i++)
		inode_free(&fs->inodes[i]);
	free(fs->inodes);
	inode_free(&fs->root);
	memset(fs, 0, sizeof(*fs));
}

const struct image_inode *image_fs_inode(const struct image_fs *fs, uint64_t number)
{
	size_t lo = 0, hi = fs->n_inodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->inodes[mid].number == number)
			return &fs->inodes[mid];
		if (fs->inodes[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint64_t image_fs_estimate_usage(const struct image_fs *fs, uint64_t block)
{
	unsigned order = 0;
	uint64_t total = 0;

	if (block < 1)
		block = IMAGE_BLOCK_SIZE;
	/* As the original: the block size is taken as its highest power of two. */
	for (unsigned i = 0; i < 64; i++)
		if (block & (1ull << i))
			order = i;
	for (size_t i = 0; i < fs->n_inodes; i++) {
		const struct image_inode *ino = &fs->inodes[i];
		uint64_t size;

		switch (ino->kind) {
		case IMAGE_INODE_DIRECTORY:
			total += block;
			break;
		case IMAGE_INODE_REGULAR:
			size = (ino->size >> order) << order;
			if (size < ino->size)
				size += 1ull << order;
			total += size;
			break;
		case IMAGE_INODE_SYMLINK:
			total += 64;
			break;
		default:
			break;
		}
	}
	return total;
}

static int object_cmp(const void *a, const void *b)
{
	const struct image_object *x = a, *y = b;

	return image_hash_cmp(&x->hash, &y->hash);
}

int image_fs_objects(const struct image_fs *fs, struct image_object **out, size_t *n)
{
	struct image_object *objs;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	objs = calloc(fs->n_inodes + 1, sizeof(*objs));
	if (!objs)
		return -ENOMEM;
	for (size_t i = 0; i < fs->n_inodes; i++) {
		const struct image_inode *ino = &fs->inodes[i];

		if (ino->kind == IMAGE_INODE_REGULAR && ino->size > 0)
			objs[k++] = (struct image_object){ino->hash, ino->size};
	}
	qsort(objs, k, sizeof(*objs), object_cmp);
	if (k) {
		size_t w = 1;

		for (size_t i = 1; i < k; i++)
			if (!image_hash_equal(&objs[i].hash, &objs[w - 1].hash))
				objs[w++] = objs[i];
		k = w;
	}
	*out = objs;
	*n = k;
	return 0;
}

void image_fs_count(struct image_fs *fs)
{
	fs->num_regular_inodes = 0;
	fs->total_data_bytes = 0;
	fs->directory_count = 1; /* the root */
	for (size_t i = 0; i < fs->n_inodes; i++) {
		const struct image_inode *ino = &fs->inodes[i];

		if (ino->kind == IMAGE_INODE_REGULAR) {
			fs->num_regular_inodes++;
			fs->total_data_bytes += ino->size;
		} else if (ino->kind == IMAGE_INODE_DIRECTORY) {
			fs->directory_count++;
		}
	}
}

struct walk {
	const struct image_fs *fs;
	image_fs_walk_fn fn;
	void *arg;
	uint8_t *seen;
	char path[IMAGE_PATH_MAX + 1];
};

static int walk_dir(struct walk *w, const struct image_inode *dir, size_t plen, unsigned depth)
{
	if (depth > IMAGE_DEPTH_MAX)
		return -ELOOP;
	for (size_t i = 0; i < dir->n_entries; i++) {
		const struct image_dirent *e = &dir->entries[i];
		const struct image_inode *t = image_fs_inode(w->fs, e->inode);
		size_t len = strlen(e->name), n = plen + (plen > 0) + len;
		bool first;
		int rc;

		if (!t)
			return -ENOENT;
		if (n > IMAGE_PATH_MAX)
			return -ENAMETOOLONG;
		if (plen)
			w->path[plen] = '/';
		memcpy(w->path + plen + (plen > 0), e->name, len + 1);
		first = !w->seen[t - w->fs->inodes];
		w->seen[t - w->fs->inodes] = 1;
		rc = w->fn(w->path, t, first, w->arg);
		if (!rc && first && t->kind == IMAGE_INODE_DIRECTORY)
			rc = walk_dir(w, t, n, depth + 1);
		if (rc)
			return rc;
		w->path[plen] = '\0';
	}
	return 0;
}

int image_fs_walk(const struct image_fs *fs, image_fs_walk_fn fn, void *arg)
{
	struct walk *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->seen = calloc(fs->n_inodes + 1, 1);
	if (!w->seen) {
		free(w);
		return -ENOMEM;
	}
	w->fs = fs;
	w->fn = fn;
	w->arg = arg;
	rc = walk_dir(w, &fs->root, 0, 0);
	free(w->seen);
	free(w);
	return rc;
}

/* ---- Encoding ---- */

static json_t *entries_json(const struct image_inode *dir)
{
	json_t *list = json_array();

	if (!list)
		return NULL;
	for (size_t i = 0; i < dir->n_entries; i++) {
		json_t *e = json_object();

		if (!e || sjson_set(e, "Name", json_string(dir->entries[i].name)) < 0 ||
		    sjson_set(e, "InodeNumber", json_integer((json_int_t)dir->entries[i].inode)) <
			0 ||
		    json_array_append_new(list, e) < 0) {
			json_decref(e);
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static int set_owner(json_t *o, const struct image_inode *ino, bool mode)
{
	if (mode && sjson_set(o, "Mode", json_integer(ino->mode)) < 0)
		return -ENOMEM;
	if (sjson_set(o, "Uid", json_integer(ino->uid)) < 0 ||
	    sjson_set(o, "Gid", json_integer(ino->gid)) < 0)
		return -ENOMEM;
	return 0;
}

static int set_mtime(json_t *o, const struct image_inode *ino)
{
	if (sjson_set(o, "MtimeNanoSeconds", json_integer(ino->mtime_nsec)) < 0 ||
	    sjson_set(o, "MtimeSeconds", json_integer(ino->mtime_sec)) < 0)
		return -ENOMEM;
	return 0;
}

static int set_dir(json_t *o, const struct image_inode *ino)
{
	if (sjson_set(o, "EntryList", entries_json(ino)) < 0 ||
	    sjson_set(o, "EntriesByName", json_null()) < 0)
		return -ENOMEM;
	return set_owner(o, ino, true);
}

static json_t *inode_json(const struct image_inode *ino)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	json_t *o = json_object();
	int rc = -ENOMEM;

	if (!o)
		return NULL;
	switch (ino->kind) {
	case IMAGE_INODE_REGULAR:
		image_hash_hex(&ino->hash, hex);
		if (set_owner(o, ino, true) < 0 || set_mtime(o, ino) < 0 ||
		    sjson_set(o, "Size", json_integer((json_int_t)ino->size)) < 0)
			break;
		rc = sjson_set(o, "Hash", json_string(hex));
		break;
	case IMAGE_INODE_COMPUTED:
		if (set_owner(o, ino, true) < 0)
			break;
		rc = sjson_set(o, "Source", json_string(ino->source ? ino->source : ""));
		break;
	case IMAGE_INODE_SYMLINK:
		if (set_owner(o, ino, false) < 0)
			break;
		rc = sjson_set(o, "Symlink", json_string(ino->symlink ? ino->symlink : ""));
		break;
	case IMAGE_INODE_SPECIAL:
		if (set_owner(o, ino, true) < 0 || set_mtime(o, ino) < 0)
			break;
		rc = sjson_set(o, "Rdev", json_integer((json_int_t)ino->rdev));
		break;
	case IMAGE_INODE_DIRECTORY:
		rc = set_dir(o, ino);
		break;
	}
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct keyed {
	char key[24];
	const struct image_inode *ino;
};

static int keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

static json_t *table_json(const struct image_fs *fs)
{
	struct keyed *keys = calloc(fs->n_inodes + 1, sizeof(*keys));
	json_t *t = json_object();

	if (!keys || !t)
		goto fail;
	for (size_t i = 0; i < fs->n_inodes; i++) {
		snprintf(keys[i].key, sizeof(keys[i].key), "%" PRIu64, fs->inodes[i].number);
		keys[i].ino = &fs->inodes[i];
	}
	qsort(keys, fs->n_inodes, sizeof(*keys), keyed_cmp);
	for (size_t i = 0; i < fs->n_inodes; i++)
		if (sjson_set(t, keys[i].key, inode_json(keys[i].ino)) < 0)
			goto fail;
	free(keys);
	return t;
fail:
	free(keys);
	json_decref(t);
	return NULL;
}

json_t *image_fs_to_json(const struct image_fs *fs)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (sjson_set(o, "InodeTable", table_json(fs)) < 0 ||
	    sjson_set(o, "NumRegularInodes", json_integer((json_int_t)fs->num_regular_inodes)) <
		0 ||
	    sjson_set(o, "TotalDataBytes", json_integer((json_int_t)fs->total_data_bytes)) < 0 ||
	    sjson_set(o, "DirectoryCount", json_integer((json_int_t)fs->directory_count)) < 0 ||
	    set_dir(o, &fs->root) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
