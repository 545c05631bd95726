/* image/scan: a directory tree on disk -> an image FileSystem plus the list of files
 * whose content the image needs (to upload as objects). Entries sorted by name (as the
 * original's scanner does), hard links kept as shared inode numbers, uid/gid/mode/mtime
 * as found; sockets refused. */
#ifndef SS_IMAGE_SCAN_H
#define SS_IMAGE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "image/fs.h"

/* One object the scanned tree needs: its hash, size and one file holding it. */
struct image_scan_object {
	struct image_hash hash;
	uint64_t size;
	char *path; /* absolute or relative to the cwd at scan time, owned */
};

struct image_scan {
	struct image_fs fs;
	size_t n_objects; /* distinct hashes, in first-seen order */
	struct image_scan_object *objects;
};

/* Progress while hashing: bytes hashed so far of total (total known after the walk). */
typedef void (*image_scan_progress_fn)(uint64_t done, uint64_t total, void *arg);

/* Scans dir. 0, or -errno with a message naming the file in err ("scan /x/sock: socket
 * refused"). progress may be NULL. */
int image_scan_dir(const char *dir, struct image_scan *out, image_scan_progress_fn progress,
		   void *arg, char *err, size_t errsz);
void image_scan_free(struct image_scan *sc); /* accepts NULL */

#endif
