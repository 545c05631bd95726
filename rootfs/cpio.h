/* Writes an image tree as a compressed newc cpio archive (an initramfs) with
 * libarchive: entries in sorted order, owner 0:0, one fixed mtime, inode numbers
 * from the entry order, no compressor timestamps, so equal inputs give equal bytes. */
#ifndef ROOTFS_CPIO_H
#define ROOTFS_CPIO_H

#include <stddef.h>

#include "rootfs/image.h"
#include "rootfs/manifest.h"

struct rootfs_cpio_opts {
	enum rootfs_compress compress;
	int level;	 /* -1: the compressor's default */
	long long mtime; /* seconds since the epoch for every entry (SOURCE_DATE_EPOCH) */
};

/* Writes nodes[0..n) (sorted, parents first; "/" itself is skipped) to path.
 * Sets size and sha256 of every file node. Returns 0, or a negative errno with a
 * message in err[errlen]. */
int rootfs_cpio_write(const char *path, struct rootfs_node **nodes, size_t n,
		      const struct rootfs_cpio_opts *o, char *err, size_t errlen);

#endif
