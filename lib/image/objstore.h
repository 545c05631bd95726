/* image/objstore: a directory of content-addressed objects, shared by the image server's
 * store, the hypervisor's object cache and imagetool's downloads. An object lives at
 * <dir>/<first 2 hex digits>/<other 126 hex digits>; it appears there only complete and
 * verified: bytes go to <dir>/.tmp/ while being hashed, are fsync'd, and are renamed
 * into place only when the SHA-512 matches (weaknesses: a killed upload leaves nothing
 * visible; a restart removes what .tmp/ holds). Thread-safe: every call stands alone. */
#ifndef SS_IMAGE_OBJSTORE_H
#define SS_IMAGE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/hash.h"

struct objstore; /* opaque */

/* Opens (mkdir -p) the store at dir and empties its .tmp/. 0 and *out, or -errno with a
 * message in err ("object store /x: permission denied"). */
int objstore_open(const char *dir, struct objstore **out, char *err, size_t errsz);
void objstore_close(struct objstore *st); /* accepts NULL */

/* A scratch store, whose objects are dropped after use, need not survive a crash of the
 * machine: with durable false, added objects and their directories are not fsync'd
 * (an object still appears only complete and verified). Default true. */
void objstore_set_durable(struct objstore *st, bool durable);
const char *objstore_dir(const struct objstore *st);

/* The path of an object (whether or not it exists) into buf. 0 or -ENAMETOOLONG. */
int objstore_path(const struct objstore *st, const struct image_hash *h, char *buf, size_t sz);

/* Size of a present object: 0 and *size, -ENOENT, or -errno. */
int objstore_stat(const struct objstore *st, const struct image_hash *h, uint64_t *size);

/* Opens a present object for reading (O_RDONLY|O_CLOEXEC). Returns the fd or -errno
 * (-ENOENT when absent); *size gets its size when size is not NULL. */
int objstore_open_object(const struct objstore *st, const struct image_hash *h, uint64_t *size);

/* Source of an object's bytes for objstore_add: reads up to len bytes into buf, returns
 * the count (> 0), 0 at an early end, or -errno. */
typedef ssize_t (*objstore_read_fn)(void *arg, void *buf, size_t len);

/* Adds an object of exactly len bytes read from rd, hashing while writing. With
 * expected, a mismatch is refused (-EBADMSG, "hash mismatch: expected X, got Y") and
 * nothing is kept; the bytes are consumed all the same, so a stream stays in step
 * unless rd failed. An object already present is not rewritten (*added false). A full
 * disk gives -ENOSPC ("object store /x: no space left on device"), nothing kept.
 * *out (may be NULL) gets the hash. 0 or -errno with err. */
int objstore_add(struct objstore *st, objstore_read_fn rd, void *arg, uint64_t len,
		 const struct image_hash *expected, struct image_hash *out, bool *added, char *err,
		 size_t errsz);

/* Adds the file at path (hashing it); *out gets its hash. The store keeps its own copy
 * (no hard link), so later changes to path do not reach it. 0 or -errno with err. */
int objstore_add_file(struct objstore *st, const char *path, struct image_hash *out, bool *added,
		      char *err, size_t errsz);

/* Re-reads a present object and checks its hash: 0, -EBADMSG when the bytes do not
 * match their name (corrupted on disk), -ENOENT, or -errno. */
int objstore_verify(const struct objstore *st, const struct image_hash *h);

/* Removes an object: 0, -ENOENT, or -errno. */
int objstore_delete(struct objstore *st, const struct image_hash *h);

/* Calls fn for every object (any order) with its hash and size; stops at the first
 * non-zero return and returns it. Files whose names are not hashes are skipped. */
typedef int (*objstore_each_fn)(const struct image_hash *h, uint64_t size, void *arg);
int objstore_each(const struct objstore *st, objstore_each_fn fn, void *arg);

#endif
