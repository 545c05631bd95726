/* Shared-library lookup the way ld.so does it, without calling ldd: DT_RPATH,
 * DT_RUNPATH ($ORIGIN expanded), the directories of /etc/ld.so.conf (with its
 * includes) and the system defaults; a candidate must match the class and machine
 * of the object that needs it. */
#ifndef ROOTFS_LDPATH_H
#define ROOTFS_LDPATH_H

#include <stddef.h>

#include "rootfs/elf.h"

struct rootfs_ldpath {
	char **dirs;
	size_t n_dirs;
};

/* Pure: parses ld.so.conf text, calling cb(ctx, is_include, value) for every
 * directory (is_include 0) and every "include PATTERN" (is_include 1), in order.
 * Directories may be separated by blanks, ':' or ','. Comments start with '#'.
 * Stops at and returns the first negative cb result; 0 otherwise. */
int rootfs_ldconf_parse(const char *text, size_t len,
			int (*cb)(void *ctx, int is_include, const char *value), void *ctx);

/* Loads conf (e.g. "/etc/ld.so.conf"; a missing file is fine) and appends the
 * system default directories. Returns 0 or a negative errno. */
int rootfs_ldpath_load(struct rootfs_ldpath *lp, const char *conf);
void rootfs_ldpath_free(struct rootfs_ldpath *lp);

/* Finds library `name` needed by obj (whose file lives in directory origin).
 * Writes the host path to out[cap]; returns 0 or -ENOENT. */
int rootfs_ldpath_find(const struct rootfs_ldpath *lp, const char *name,
		       const struct rootfs_elf *obj, const char *origin, char *out, size_t cap);

#endif
