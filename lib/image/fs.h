/* image/fs: the FileSystem tree of an image (spec/fleet-and-images.md §4): an inode table
 * keyed by inode number, the root directory embedded at the top level, regular files
 * naming their content by SHA-512. Decoding infers each inode's kind from its keys, as
 * the spec's encoding caveat says (Hash -> regular, Source -> computed, Symlink ->
 * symlink, Rdev -> special, EntryList -> directory), and refuses anything a writer
 * could not write safely: bad names, dangling or cyclic references, hard-linked
 * directories. Pure: no I/O. */
#ifndef SS_IMAGE_FS_H
#define SS_IMAGE_FS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/hash.h"

#define IMAGE_NAME_MAX 255	    /* one path component, bytes */
#define IMAGE_PATH_MAX 4096	    /* a whole path inside an image */
#define IMAGE_DEPTH_MAX 256	    /* directory nesting */
#define IMAGE_MAX_INODES (4u << 20) /* inodes in one image */
#define IMAGE_BLOCK_SIZE 4096	    /* for image_fs_estimate_usage */

enum image_inode_kind {
	IMAGE_INODE_REGULAR,
	IMAGE_INODE_COMPUTED,
	IMAGE_INODE_SYMLINK,
	IMAGE_INODE_SPECIAL,
	IMAGE_INODE_DIRECTORY,
};

struct image_dirent {
	char *name;	/* one component: 1..255 bytes, no '/', NUL, "." or ".." */
	uint64_t inode; /* a key of the inode table */
};

struct image_inode {
	uint64_t number;
	enum image_inode_kind kind;
	uint32_t mode; /* st_mode with the file type bits (symlinks: 0) */
	uint32_t uid, gid;
	int64_t mtime_sec; /* regular and special */
	int32_t mtime_nsec;
	uint64_t size;		/* regular */
	struct image_hash hash; /* regular, Size > 0 */
	char *source;		/* computed */
	char *symlink;		/* symlink target */
	uint64_t rdev;		/* special */
	size_t n_entries;	/* directory */
	struct image_dirent *entries;
};

struct image_fs {
	size_t n_inodes;
	struct image_inode *inodes; /* sorted by number, unique */
	struct image_inode root;    /* kind DIRECTORY, number 0 (not in the table) */
	uint64_t num_regular_inodes;
	uint64_t total_data_bytes;
	uint64_t directory_count;
};

/* Decodes and validates a FileSystem JSON object into fs (zeroed first). Borrows j.
 * 0, -ENOMEM, or -EINVAL with a message naming the place in err
 * ("InodeTable.12.EntryList[3].Name: \"..\" refused"). On failure fs holds nothing. */
int image_fs_from_json(const json_t *j, struct image_fs *fs, char *err, size_t errsz);

/* The FileSystem as Go's encoding/json writes it: InodeTable (keys decimal strings,
 * sorted numerically... as Go sorts map keys: as strings), NumRegularInodes,
 * TotalDataBytes, DirectoryCount, EntryList, EntriesByName (null), Mode, Uid, Gid.
 * Returns a new reference, NULL on allocation failure. */
json_t *image_fs_to_json(const struct image_fs *fs);

/* Frees what fs owns and zeroes it. Accepts an empty or NULL fs. */
void image_fs_free(struct image_fs *fs);

/* The inode with that number, NULL if absent (binary search). */
const struct image_inode *image_fs_inode(const struct image_fs *fs, uint64_t number);

/* Estimated usage, block size B (spec §4): directory B, regular Size rounded up to B,
 * symlink 64, others 0. */
uint64_t image_fs_estimate_usage(const struct image_fs *fs, uint64_t block);

/* The distinct objects the image needs (regular inodes with Size > 0), sorted by hash.
 * *out is a new array (free()), *n its length. 0 or -ENOMEM. */
struct image_object {
	struct image_hash hash;
	uint64_t size;
};
int image_fs_objects(const struct image_fs *fs, struct image_object **out, size_t *n);

/* Walks the tree depth first in EntryList order, calling fn for every entry with its
 * path relative to the root ("etc/passwd"), its inode and whether this is the first
 * time the inode is seen (later ones are hard links). Stops at the first non-zero
 * return of fn and returns it. */
typedef int (*image_fs_walk_fn)(const char *path, const struct image_inode *ino, bool first,
				void *arg);
int image_fs_walk(const struct image_fs *fs, image_fs_walk_fn fn, void *arg);

/* Recomputes num_regular_inodes, total_data_bytes and directory_count from the table. */
void image_fs_count(struct image_fs *fs);

/* One path component as images allow it. Pure; true when ok. */
bool image_fs_name_ok(const char *name);

#endif
