/* drives: the candidate drives of the machine (spec/installer.md §4.3), the
 * -driveSelector program, and the device names of partitions. Reads sysfs only. */
#ifndef SS_INST_DRIVES_H
#define SS_INST_DRIVES_H

#include <stddef.h>
#include <stdint.h>

#include "installer/installer.h"

#define INST_MAX_DRIVES 16

struct inst_drive {
	char name[64];	 /* "sda", "nvme0n1", "loop3" */
	char dev[128];	 /* "/dev/sda" */
	uint64_t bytes;	 /* size × 512 */
	unsigned sector; /* logical block size (queue/logical_block_size; 512 if absent) */
	char where[512]; /* the sysfs link's target: bus location, the sort key */
};

/* Names given explicitly ("loop3,loop4", first = boot drive), or NULL/"" for the
 * sysfs scan. Set by main.c (-drives flag). Named drives skip the removable and
 * device-link checks (so loop devices serve tests) but must exist under sysfs, not be
 * partitions and have a readable first sector. Kept out of struct inst_ctx so that
 * installer.h stays as given. */
extern const char *inst_drives_override;

/* Fills drives[0..*n) with the candidates: from inst_drives_override, else every
 * entry of <ctx->sysfs>/class/block that is not a partition, has a device link, is not
 * removable and whose first sector reads, sorted by bus location. Then, with
 * ctx->drive_selector, runs that program with the names as arguments and keeps the
 * names it prints (one a line, first = boot drive; an unknown name is an error).
 * 0, or -1 with err ("no drives found", "-driveSelector: unknown drive sdz"). */
int inst_drives_find(const struct inst_ctx *ctx, struct inst_drive *drives, size_t max, size_t *n,
		     char *err, size_t errsz);

/* The device of partition num (1-based) of d: "<dev>p<N>" if
 * <sysfs>/class/block/<name>/<name>p<N> exists or the name ends in a digit (nvme0n1p1,
 * loop3p1, mmcblk0p1), else "<dev><N>". 0, or -ENAMETOOLONG. */
int inst_drive_part_dev(const struct inst_ctx *ctx, const struct inst_drive *d, unsigned num,
			char *out, size_t outsz);

#endif
