/* An image from the image server made into a directory tree: the steps CreateVm with
 * ImageName and the tftpboot stream share. Open resolves the name (a stream means its
 * latest image) and fetches the Image with its FileSystem; unpack brings the objects
 * into the object cache (pinned while in use) and writes the tree. */
#ifndef HV_VMIMAGE_H
#define HV_VMIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/vmm/imgconn.h"
#include "daemon/hypervisor/vmm/objcache.h"

struct vmimage {
	struct imgconn conn;
	char *name; /* the resolved image name */
	struct image img;
	uint64_t usage; /* estimated usage (spec fleet-and-images §4), bytes */
};

/* 0, or -errno with err; on failure vi holds nothing. */
int vmimage_open(const struct hv_config *cfg, const char *name_or_stream, struct vmimage *vi,
		 char *err, size_t errsz);
/* Writes the image's tree at dest (must not exist; built beside it and renamed), taking
 * its objects through the cache. 0 or -errno with err. */
int vmimage_unpack(struct vmimage *vi, struct objcache *cache, const char *dest, char *err,
		   size_t errsz);
void vmimage_close(struct vmimage *vi); /* accepts a zeroed one */

#endif
