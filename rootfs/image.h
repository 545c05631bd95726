/* The in-memory file tree of an image being built: directories, files (copied
 * from a host path or generated), symlinks and device nodes, stored under their
 * canonical image paths (parent components resolved through the image's own
 * symlinks, so /lib/x where /lib -> usr/lib is stored as /usr/lib/x). Pure. */
#ifndef ROOTFS_IMAGE_H
#define ROOTFS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum rootfs_node_type {
	ROOTFS_NODE_DIR,
	ROOTFS_NODE_FILE,
	ROOTFS_NODE_SYMLINK,
	ROOTFS_NODE_CHR,
	ROOTFS_NODE_BLK,
};

struct rootfs_node {
	char *path; /* canonical absolute image path */
	enum rootfs_node_type type;
	unsigned mode;	     /* permission bits */
	int explicit_mode;   /* DIR: mode set by a directive, not implied by a child */
	char *source;	     /* FILE: host file, or NULL when data is set */
	unsigned char *data; /* FILE: generated content */
	size_t data_len;
	char *target; /* SYMLINK */
	unsigned major, minor;
	/* Filled in by the archive writer. */
	uint64_t size;
	unsigned char sha256[32];
};

struct rootfs_image; /* opaque */

/* Returns a new image holding only "/", or NULL when out of memory. */
struct rootfs_image *rootfs_image_new(void);
void rootfs_image_free(struct rootfs_image *img);

/* Normalises path (absolute; "." and ".." resolved lexically, "//" collapsed) into
 * out[cap]. Returns 0 or -ENAMETOOLONG / -EINVAL (relative path). */
int rootfs_path_normalize(const char *path, char *out, size_t cap);

/* Canonical image path of path: parent components resolved through the image's
 * symlinks, the last component left as is. Returns 0, -ELOOP, -ENOTDIR (a parent
 * is a file), -ENAMETOOLONG. */
int rootfs_image_resolve(const struct rootfs_image *img, const char *path, char *out, size_t cap);

/* Adders. Missing parent directories are created (0755). Adding what is already
 * there is fine; a different node at the same path is -EEXIST. mode < 0 picks the
 * default (dirs 0755, files 0644, nodes 0600). Strings are copied. */
int rootfs_image_add_dir(struct rootfs_image *img, const char *path, int mode);
int rootfs_image_add_file(struct rootfs_image *img, const char *path, const char *source, int mode);
int rootfs_image_add_data(struct rootfs_image *img, const char *path, const void *data, size_t len,
			  int mode);
int rootfs_image_add_symlink(struct rootfs_image *img, const char *path, const char *target);
int rootfs_image_add_nod(struct rootfs_image *img, const char *path, enum rootfs_node_type type,
			 unsigned major, unsigned minor, int mode);

/* Node at a canonical path (borrowed), or NULL. */
struct rootfs_node *rootfs_image_get(const struct rootfs_image *img, const char *path);

/* All nodes sorted by path, so parents come before children (borrowed array,
 * valid until the next add or rootfs_image_free). */
struct rootfs_node **rootfs_image_sorted(struct rootfs_image *img, size_t *n);

#endif
