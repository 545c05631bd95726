/* image/fs: decoding and validating a FileSystem JSON object (the inode kind inferred
 * from its keys), refusing whatever a writer could not write safely. The encoder, the
 * walk and the counts are in fs_tree.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/fs.h"
#include "json.h"

#define MTIME_MIN (-62135596800LL) /* 0001-01-01 */
#define MTIME_MAX 253402300799LL   /* 9999-12-31 */

struct slot {
	uint64_t number;
	const char *key;
	json_t *val;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return x->number < y->number ? -1 : x->number > y->number;
}

/* A decimal inode number as Go writes a map key: digits, no leading zero, not 0. */
static int parse_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || *s == '0' || strlen(s) > 20)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int check_mode(struct sjson_dec *d, uint32_t mode, enum image_inode_kind kind)
{
	uint32_t t = mode & S_IFMT;
	bool ok;

	if (mode & ~(uint32_t)(S_IFMT | 07777))
		return sjson_fail(d, "Mode", "%" PRIu32 ": unknown bits", mode);
	switch (kind) {
	case IMAGE_INODE_REGULAR:
	case IMAGE_INODE_COMPUTED:
		ok = t == S_IFREG;
		break;
	case IMAGE_INODE_DIRECTORY:
		ok = t == S_IFDIR;
		break;
	case IMAGE_INODE_SPECIAL:
		ok = t == S_IFCHR || t == S_IFBLK || t == S_IFIFO;
		break;
	default:
		ok = true;
	}
	if (!ok)
		return sjson_fail(d, "Mode",
				  "%#" PRIo32 ": file type does not match the inode kind", mode);
	return 0;
}

static int get_mtime(struct sjson_dec *d, json_t *v, struct image_inode *ino)
{
	int64_t nsec;

	if (sjson_get_int64(d, v, "MtimeSeconds", &ino->mtime_sec) < 0 ||
	    sjson_get_int64(d, v, "MtimeNanoSeconds", &nsec) < 0)
		return -EINVAL;
	if (ino->mtime_sec < MTIME_MIN || ino->mtime_sec > MTIME_MAX)
		return sjson_fail(d, "MtimeSeconds", "%" PRId64 " out of range", ino->mtime_sec);
	if (nsec < 0 || nsec > 999999999)
		return sjson_fail(d, "MtimeNanoSeconds", "%" PRId64 " out of range", nsec);
	ino->mtime_nsec = (int32_t)nsec;
	return 0;
}

struct name_ref {
	const char *name;
	size_t index;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Refuses two entries of one name (sorting a copy, so any order is accepted). */
static int check_duplicates(struct sjson_dec *d, const struct image_inode *ino)
{
	struct name_ref *refs;
	int rc = 0;

	if (ino->n_entries < 2)
		return 0;
	refs = calloc(ino->n_entries, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < ino->n_entries; i++)
		refs[i] = (struct name_ref){ino->entries[i].name, i};
	qsort(refs, ino->n_entries, sizeof(*refs), name_ref_cmp);
	for (size_t i = 1; i < ino->n_entries && !rc; i++) {
		if (strcmp(refs[i - 1].name, refs[i].name))
			continue;
		sjson_push_key(d, "EntryList");
		sjson_push_index(d, refs[i].index);
		rc = sjson_fail(d, "Name", "duplicate name \"%.64s\"", refs[i].name);
		sjson_pop(d);
		sjson_pop(d);
	}
	free(refs);
	return rc;
}

static int decode_entry(struct sjson_dec *d, json_t *e, struct image_dirent *de)
{
	const char *name;

	if (!json_is_object(e))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(e));
	if (sjson_get_str(d, e, "Name", &name) < 0 ||
	    sjson_get_uint64(d, e, "InodeNumber", &de->inode) < 0)
		return -EINVAL;
	if (!image_fs_name_ok(name))
		return sjson_fail(d, "Name", "\"%.64s\" refused", name);
	if (de->inode == 0)
		return sjson_fail(d, "InodeNumber", "0 refused");
	de->name = strdup(name);
	return de->name ? 0 : -ENOMEM;
}

static int decode_entries(struct sjson_dec *d, json_t *v, struct image_inode *ino)
{
	json_t *list;
	size_t n;
	int rc;

	if (sjson_get_array(d, v, "EntryList", &list) < 0)
		return -EINVAL;
	n = list ? json_array_size(list) : 0;
	if (n > IMAGE_MAX_INODES)
		return sjson_fail(d, "EntryList", "%zu entries: too many", n);
	if (!n)
		return 0;
	ino->entries = calloc(n, sizeof(*ino->entries));
	if (!ino->entries)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		sjson_push_key(d, "EntryList");
		sjson_push_index(d, i);
		rc = decode_entry(d, json_array_get(list, i), &ino->entries[i]);
		sjson_pop(d);
		sjson_pop(d);
		ino->n_entries = i + (ino->entries[i].name != NULL);
		if (rc < 0)
			return rc;
	}
	return check_duplicates(d, ino);
}

static int infer_kind(struct sjson_dec *d, json_t *v, enum image_inode_kind *kind)
{
	static const struct {
		const char *key;
		enum image_inode_kind kind;
	} keys[] = {
	    {"Hash", IMAGE_INODE_REGULAR},	  {"Source", IMAGE_INODE_COMPUTED},
	    {"Symlink", IMAGE_INODE_SYMLINK},	  {"Rdev", IMAGE_INODE_SPECIAL},
	    {"EntryList", IMAGE_INODE_DIRECTORY},
	};
	int found = 0;

	if (!json_is_object(v))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(v));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!sjson_lookup(v, keys[i].key))
			continue;
		if (found++)
			return sjson_fail(d, NULL, "keys of more than one inode kind");
		*kind = keys[i].kind;
	}
	if (!found)
		return sjson_fail(
		    d, NULL, "no Hash, Source, Symlink, Rdev or EntryList: unknown inode kind");
	return 0;
}

static int decode_regular(struct sjson_dec *d, json_t *v, struct image_inode *ino)
{
	static const struct image_hash zero;
	const char *hex;

	if (get_mtime(d, v, ino) < 0 || sjson_get_uint64(d, v, "Size", &ino->size) < 0 ||
	    sjson_get_str(d, v, "Hash", &hex) < 0)
		return -EINVAL;
	if (*hex && image_hash_parse(hex, &ino->hash) < 0)
		return sjson_fail(d, "Hash", "not 128 lower-case hex digits");
	if (ino->size > 0 && image_hash_equal(&ino->hash, &zero))
		return sjson_fail(d, "Hash", "missing for Size %" PRIu64, ino->size);
	return 0;
}

static int decode_symlink(struct sjson_dec *d, json_t *v, struct image_inode *ino)
{
	const char *target;

	if (sjson_get_str(d, v, "Symlink", &target) < 0)
		return -EINVAL;
	if (!*target || strlen(target) >= IMAGE_PATH_MAX)
		return sjson_fail(d, "Symlink", "target of %zu bytes refused", strlen(target));
	ino->symlink = strdup(target);
	return ino->symlink ? 0 : -ENOMEM;
}

/* One inode object, its kind inferred from its keys; the error path is at it. */
static int decode_inode(struct sjson_dec *d, json_t *v, struct image_inode *ino)
{
	int rc = infer_kind(d, v, &ino->kind);

	if (rc < 0)
		return rc;
	if (sjson_get_uint32(d, v, "Uid", &ino->uid) < 0 ||
	    sjson_get_uint32(d, v, "Gid", &ino->gid) < 0)
		return -EINVAL;
	if (ino->kind != IMAGE_INODE_SYMLINK) {
		if (sjson_get_uint32(d, v, "Mode", &ino->mode) < 0)
			return -EINVAL;
		rc = check_mode(d, ino->mode, ino->kind);
		if (rc < 0)
			return rc;
	}
	switch (ino->kind) {
	case IMAGE_INODE_REGULAR:
		return decode_regular(d, v, ino);
	case IMAGE_INODE_COMPUTED:
		return sjson_dup_str(d, v, "Source", &ino->source);
	case IMAGE_INODE_SYMLINK:
		return decode_symlink(d, v, ino);
	case IMAGE_INODE_SPECIAL:
		if (get_mtime(d, v, ino) < 0)
			return -EINVAL;
		return sjson_get_uint64(d, v, "Rdev", &ino->rdev);
	case IMAGE_INODE_DIRECTORY:
		return decode_entries(d, v, ino);
	}
	return -EINVAL;
}

static int decode_table(struct sjson_dec *d, const json_t *j, struct image_fs *fs)
{
	struct slot *slots;
	const char *key;
	json_t *table, *v;
	size_t n = 0;
	int rc = 0;

	if (sjson_get_object(d, (json_t *)j, "InodeTable", &table) < 0)
		return -EINVAL;
	if (!table || !json_object_size(table))
		return 0;
	if (json_object_size(table) > IMAGE_MAX_INODES)
		return sjson_fail(d, "InodeTable", "%zu inodes: too many", json_object_size(table));
	slots = calloc(json_object_size(table), sizeof(*slots));
	fs->inodes = calloc(json_object_size(table), sizeof(*fs->inodes));
	if (!slots || !fs->inodes) {
		free(slots);
		return -ENOMEM;
	}
	sjson_push_key(d, "InodeTable");
	json_object_foreach(table, key, v)
	{
		if (parse_number(key, &slots[n].number) < 0) {
			rc = sjson_fail(d, key, "not an inode number");
			goto out;
		}
		slots[n].key = key;
		slots[n++].val = v;
	}
	qsort(slots, n, sizeof(*slots), slot_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		if (i && slots[i].number == slots[i - 1].number) {
			rc = sjson_fail(d, slots[i].key, "inode listed twice");
			break;
		}
		fs->inodes[i].number = slots[i].number;
		fs->n_inodes = i + 1;
		sjson_push_key(d, slots[i].key);
		rc = decode_inode(d, slots[i].val, &fs->inodes[i]);
		sjson_pop(d);
	}
out:
	sjson_pop(d);
	free(slots);
	return rc;
}

/* Pushes the error path of a directory's entry: the root's keys are top level. */
static void push_entry(struct sjson_dec *d, const struct image_fs *fs,
		       const struct image_inode *dir, size_t i)
{
	char key[24];

	if (dir != &fs->root) {
		snprintf(key, sizeof(key), "%" PRIu64, dir->number);
		sjson_push_key(d, "InodeTable");
		sjson_push_key(d, key);
	}
	sjson_push_key(d, "EntryList");
	sjson_push_index(d, i);
}

static void pop_entry(struct sjson_dec *d, const struct image_fs *fs, const struct image_inode *dir)
{
	sjson_pop(d);
	sjson_pop(d);
	if (dir != &fs->root) {
		sjson_pop(d);
		sjson_pop(d);
	}
}

/* Every entry names an inode of the table; no directory is named twice. */
static int check_refs_of(struct sjson_dec *d, const struct image_fs *fs,
			 const struct image_inode *dir, uint8_t *refs)
{
	for (size_t i = 0; i < dir->n_entries; i++) {
		const struct image_inode *t = image_fs_inode(fs, dir->entries[i].inode);
		int rc = 0;

		if (t && (t->kind != IMAGE_INODE_DIRECTORY || !refs[t - fs->inodes]++))
			continue;
		push_entry(d, fs, dir, i);
		if (!t)
			rc = sjson_fail(d, "InodeNumber", "inode %" PRIu64 " not in InodeTable",
					dir->entries[i].inode);
		else
			rc =
			    sjson_fail(d, "InodeNumber", "directory inode %" PRIu64 " linked twice",
				       dir->entries[i].inode);
		pop_entry(d, fs, dir);
		return rc;
	}
	return 0;
}

struct visit {
	const struct image_inode *dir;
	unsigned depth;
	size_t plen;
};

/* From the root: depth and path length within bounds, every directory reachable
 * (so none is part of a cycle). refs[] holds 1 for every directory referenced. */
static int check_tree(struct sjson_dec *d, const struct image_fs *fs, uint8_t *refs)
{
	struct visit *stack;
	size_t top = 0, ndirs = 1;
	int rc = 0;

	for (size_t i = 0; i < fs->n_inodes; i++)
		ndirs += fs->inodes[i].kind == IMAGE_INODE_DIRECTORY;
	stack = calloc(ndirs, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[top++] = (struct visit){&fs->root, 0, 0};
	while (top && !rc) {
		struct visit v = stack[--top];

		for (size_t i = 0; i < v.dir->n_entries && !rc; i++) {
			const struct image_dirent *e = &v.dir->entries[i];
			const struct image_inode *t = image_fs_inode(fs, e->inode);
			size_t plen = v.plen + (v.plen > 0) + strlen(e->name);

			if (plen > IMAGE_PATH_MAX) {
				push_entry(d, fs, v.dir, i);
				rc = sjson_fail(d, "Name", "path longer than %d bytes",
						IMAGE_PATH_MAX);
				pop_entry(d, fs, v.dir);
			} else if (t->kind != IMAGE_INODE_DIRECTORY) {
				continue;
			} else if (v.depth + 1 > IMAGE_DEPTH_MAX) {
				push_entry(d, fs, v.dir, i);
				rc = sjson_fail(d, "Name", "directories nested deeper than %d",
						IMAGE_DEPTH_MAX);
				pop_entry(d, fs, v.dir);
			} else {
				refs[t - fs->inodes] = 2;
				stack[top++] = (struct visit){t, v.depth + 1, plen};
			}
		}
	}
	for (size_t i = 0; i < fs->n_inodes && !rc; i++) {
		char key[24];

		if (fs->inodes[i].kind != IMAGE_INODE_DIRECTORY || refs[i] == 2)
			continue;
		snprintf(key, sizeof(key), "%" PRIu64, fs->inodes[i].number);
		sjson_push_key(d, "InodeTable");
		rc = sjson_fail(d, key, "directory not reachable from the root (a cycle?)");
		sjson_pop(d);
	}
	free(stack);
	return rc;
}

static int check_refs(struct sjson_dec *d, const struct image_fs *fs)
{
	uint8_t *refs = calloc(fs->n_inodes + 1, 1);
	int rc;

	if (!refs)
		return -ENOMEM;
	rc = check_refs_of(d, fs, &fs->root, refs);
	for (size_t i = 0; i < fs->n_inodes && !rc; i++)
		if (fs->inodes[i].kind == IMAGE_INODE_DIRECTORY)
			rc = check_refs_of(d, fs, &fs->inodes[i], refs);
	if (!rc)
		rc = check_tree(d, fs, refs);
	free(refs);
	return rc;
}

static int decode_fs(struct sjson_dec *d, const json_t *j, struct image_fs *fs)
{
	json_t *v = (json_t *)j;
	int rc;

	if (!json_is_object(j))
		return sjson_fail(d, NULL, "expected object, got %s", sjson_type_name(j));
	rc = decode_table(d, j, fs);
	if (rc < 0)
		return rc;
	if (sjson_get_uint64(d, v, "NumRegularInodes", &fs->num_regular_inodes) < 0 ||
	    sjson_get_uint64(d, v, "TotalDataBytes", &fs->total_data_bytes) < 0 ||
	    sjson_get_uint64(d, v, "DirectoryCount", &fs->directory_count) < 0 ||
	    sjson_get_uint32(d, v, "Mode", &fs->root.mode) < 0 ||
	    sjson_get_uint32(d, v, "Uid", &fs->root.uid) < 0 ||
	    sjson_get_uint32(d, v, "Gid", &fs->root.gid) < 0)
		return -EINVAL;
	fs->root.kind = IMAGE_INODE_DIRECTORY;
	rc = check_mode(d, fs->root.mode, IMAGE_INODE_DIRECTORY);
	if (rc < 0)
		return rc;
	rc = decode_entries(d, v, &fs->root);
	if (rc < 0)
		return rc;
	return check_refs(d, fs);
}

int image_fs_from_json(const json_t *j, struct image_fs *fs, char *err, size_t errsz)
{
	struct sjson_dec d;
	int rc;

	memset(fs, 0, sizeof(*fs));
	sjson_dec_init(&d, NULL);
	rc = decode_fs(&d, j, fs);
	if (rc < 0 && !sjson_dec_error(&d) && rc != -ENOMEM)
		sjson_fail(&d, NULL, "%s", strerror(-rc));
	if (rc < 0) {
		const char *e = sjson_dec_error(&d);

		if (err && errsz)
			snprintf(err, errsz, "%s",
				 rc == -ENOMEM ? "out of memory" : e + (e[0] == '.'));
		image_fs_free(fs);
		rc = rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	sjson_dec_fini(&d);
	return rc;
}
