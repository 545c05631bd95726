/* xz compression for initramfs images, in the form the kernel's XZ decoder reads
 * (lib/xz: CRC32 or no check, LZMA2 only). libarchive's xz filter always writes
 * CRC64, which the kernel rejects, so images use liblzma directly. */
#ifndef ROOTFS_XZ_H
#define ROOTFS_XZ_H

#include <stddef.h>
#include <stdint.h>

/* Compresses in_size bytes read from in_fd (at its current offset) into one .xz
 * stream written to out_fd: LZMA2 preset level (1-9) with the extreme flag, CRC32
 * check, single-threaded, so equal input gives equal bytes. The dictionary is no
 * larger than the input (the kernel allocates what the header declares). Borrows
 * both descriptors. Returns 0, or a negative errno with a message in err[errlen]. */
int rootfs_xz_compress(int in_fd, uint64_t in_size, int out_fd, int level, char *err,
		       size_t errlen);

#endif
