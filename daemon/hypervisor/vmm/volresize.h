/* The ext2/3/4 file-system of a raw volume follows a change of the volume's size, as
 * the original's grow2fs and shrink2fs do: on the whole volume, or in the only
 * partition of a DOS partition table (through a loop device over its bytes). Needs
 * e2label, e2fsck, resize2fs and losetup. */
#ifndef HV_VOLRESIZE_H
#define HV_VOLRESIZE_H

#include <stddef.h>
#include <stdint.h>

/* After the volume file has grown: the partition (if any) is extended to the end of
 * the volume and the file-system grown to fill it. 0 (also for a volume with neither
 * a file-system nor a partition table, where the original reports "no DOS partition
 * table found" although the volume grew), or -errno with err ("unsupported partition
 * sizes: [...]", "error running resize2fs for: ..."). */
int volresize_grow2fs(const char *volume, char *err, size_t errsz);

/* Before the volume file is cut to size bytes: the file-system (and the partition)
 * shrunk to fit. 0, or -errno with err (the errors of grow, and "size greater than
 * existing partition", "no ext2 file-system found in partition"); the volume is then
 * as it was unless resize2fs itself failed midway. */
int volresize_shrink2fs(const char *volume, uint64_t size, char *err, size_t errsz);

#endif
