/* grubenv: GRUB's environment block (1024 bytes: "# GRUB Environment Block\n", then
 * "name=value\n" lines, padded with '#'), read and changed in place inside a file or a
 * device, e.g. the appliance's ESP partition, where it sits at a sector boundary of the
 * FAT file system (docs/images.md, "Boot kit"). Writing in place keeps the file's
 * sectors, which is what GRUB's own save_env requires. The block functions are pure;
 * values holding '\\', '\n' or '=' (which GRUB would escape) are refused. */
#ifndef SS_GRUBENV_H
#define SS_GRUBENV_H

#include <stddef.h>
#include <stdint.h>

#define GRUBENV_SIZE 1024
#define GRUBENV_HEAD "# GRUB Environment Block\n"

/* The value of name in blk into val. 0, -ENOENT (not set), -EBADMSG (not an
 * environment block) or -ENAMETOOLONG (val too small). */
int grubenv_get(const char *blk, size_t len, const char *name, char *val, size_t valsz);

/* Sets name=value in blk (value NULL removes it), keeping the other lines in order
 * and the block's size. 0, -EBADMSG, -EINVAL (bad name or value) or -ENOSPC. */
int grubenv_set(char *blk, size_t len, const char *name, const char *value);

/* The byte offset of the one environment block in the file at path: the header at a
 * 512-byte boundary within the first 256 MiB. 0, or -errno with err ("no GRUB
 * environment block", "two GRUB environment blocks at 1024 and 4096"). */
int grubenv_locate(const char *path, uint64_t *off, char *err, size_t errsz);

/* Reads the block at off of path into blk (GRUBENV_SIZE bytes) and checks its header.
 * 0 or -errno with err. */
int grubenv_read(const char *path, uint64_t off, char *blk, char *err, size_t errsz);

/* Writes blk at off of path in place and fsyncs, after checking that a block is there
 * still. 0 or -errno with err. */
int grubenv_write(const char *path, uint64_t off, const char *blk, char *err, size_t errsz);

#endif
