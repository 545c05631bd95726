/* image/unpack: writes an image FileSystem as a directory tree, taking file contents
 * from an object store in which every object the image needs is present. Every object
 * is verified while it is copied (a corrupted object fails the unpack with -EBADMSG
 * naming it). The tree is built in "<dest>.tmp-<pid>" beside dest and renamed to dest
 * only when complete, so dest never holds a partial tree. Ownership and device nodes
 * are applied when running as root (else skipped, mode kept). */
#ifndef SS_IMAGE_UNPACK_H
#define SS_IMAGE_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "image/fs.h"
#include "image/objstore.h"

enum {
	IMAGE_UNPACK_LINK = 1 << 0, /* hard-link objects into the tree where the store is on
				       the same filesystem (the store is then a scratch store
				       the caller drops; a linked file is verified all the
				       same) */
	/* The store's objects were verified by this process as they were added
	 * (objstore_add with their hash) moments ago: a hard-linked object is not read
	 * again. A copied one is still verified. */
	IMAGE_UNPACK_TRUSTED = 1 << 1,
	/* No syncfs before the rename: the tree still appears whole or not at all, but a
	 * crash of the machine may lose its data. */
	IMAGE_UNPACK_NOSYNC = 1 << 2,
};

typedef void (*image_unpack_progress_fn)(uint64_t done, uint64_t total, void *arg);

/* dest must not exist. 0, or -errno with err ("unpack etc/passwd: object 3fa1...:
 * hash mismatch", "dest exists"). progress counts bytes written of total data bytes. */
int image_unpack(const struct image_fs *fs, struct objstore *st, const char *dest, unsigned flags,
		 image_unpack_progress_fn progress, void *arg, char *err, size_t errsz);

#endif
