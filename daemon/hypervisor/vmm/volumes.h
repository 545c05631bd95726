/* Volume directories and volume files (spec/hypervisor.md §5): which directories hold
 * VM volumes (given or auto-detected from /proc/mounts), their capacity, placement of
 * a new volume, creation of volume files, and the offline checks of check-vms and
 * repair-vm-volume-allocations. */
#ifndef HV_VOLUMES_H
#define HV_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api/hypervisor.h"

struct volumes_dir {
	char *path; /* <mount point>/hyper-volumes, or as given */
	char *mount_point;
	bool can_trim; /* mounted with "discard" */
};

struct volumes {
	size_t n;
	struct volumes_dir *v;
	/* Bytes kept free on directory i for something else (the object cache's unused
	 * budget, spec §5); NULL: none. */
	uint64_t (*reserve)(void *arg, size_t i);
	void *reserve_arg;
};

/* Uses the given directories (flag -volumeDirectories) or auto-detects them; creates
 * each (mkdir -p). Returns 0, or -ENOENT with "no volume directories available", or
 * -errno, message in err. */
int volumes_init(struct volumes *vols, char *const *given, size_t ngiven, char *err, size_t errsz);
void volumes_clear(struct volumes *vols);

/* Sum of the file-system sizes of the directories. */
uint64_t volumes_total_bytes(const struct volumes *vols);

/* statfs of directory i; usable = available, less 1 GiB on / and the reserve. */
struct volumes_space {
	uint64_t available, free, size, usable;
};
int volumes_space(const struct volumes *vols, size_t i, struct volumes_space *out);

/* Index of the directory holding file (by path prefix), or -1. */
int volumes_index_of(const struct volumes *vols, const char *file);

/* Chooses a directory for a new volume of size bytes: pinned if pin >= 0, else the
 * first from start (round robin) where size < min(Size - allocated[i], Usable).
 * allocated has vols->n entries (bytes already promised to volumes) and is updated.
 * Returns the index or -ENOSPC. */
int volumes_place(const struct volumes *vols, uint64_t size, int pin, size_t start,
		  uint64_t *allocated);

/* Creates an empty file of size bytes with its blocks allocated (fallocate; falls
 * back to a sparse file where fallocate is unsupported). Mode 0600. */
int volumes_create_empty(const char *path, uint64_t size);

/* Reads a qcow2 header's virtual size; 0 if the file is not qcow2. */
uint64_t volumes_qcow2_virtual_size(int fd);

/* One finding of volumes_check (report may be NULL); missing: the file does not exist. */
typedef void (*volumes_report_fn)(void *arg, bool missing, const char *line);

/* check-vms / repair-vm-volume-allocations for one VM record: every volume file must
 * exist with its recorded size and, for raw files, have all its blocks allocated.
 * With repair, missing blocks are fallocated. Adds the bytes that allocation needs
 * (or needed) to *increase. Returns the number of findings, or -errno on an I/O error
 * (message reported). */
int volumes_check(const struct hvapi_local_vm_info *info, bool repair, uint64_t *increase,
		  volumes_report_fn report, void *arg);

#endif
