/* Image to directory tree through the object cache (see vmimage.h). */
#include "daemon/hypervisor/vmm/vmimage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/unpack.h"

int vmimage_open(const struct hv_config *cfg, const char *name_or_stream, struct vmimage *vi,
		 char *err, size_t errsz)
{
	int rc;

	memset(vi, 0, sizeof(*vi));
	rc = imgconn_open(cfg, &vi->conn, err, errsz);
	if (rc == 0)
		rc = imgconn_get_image(&vi->conn, name_or_stream, &vi->name, &vi->img, err, errsz);
	if (rc < 0) {
		vmimage_close(vi);
		return rc;
	}
	vi->usage = image_fs_estimate_usage(&vi->img.fs, IMAGE_BLOCK_SIZE);
	return 0;
}

int vmimage_unpack(struct vmimage *vi, struct objcache *cache, const char *dest, char *err,
		   size_t errsz)
{
	struct objcache_lease *lease = NULL;
	struct image_object *objs = NULL;
	size_t n = 0;
	int rc;

	rc = image_fs_objects(&vi->img.fs, &objs, &n);
	if (rc < 0) {
		snprintf(err, errsz, "image %s: out of memory", vi->name);
		return rc;
	}
	rc = objcache_acquire(cache, objs, n, imgconn_fetch, &vi->conn, &lease, err, errsz);
	free(objs);
	if (rc < 0)
		return rc;
	/* Objects are copied, not hard-linked: two files of an image with the same
	 * content would otherwise share one inode (and its mode and owner) in the tree,
	 * and mke2fs -d would make them hard links in the VM's file system. */
	rc =
	    image_unpack(&vi->img.fs, objcache_lease_store(lease), dest, 0, NULL, NULL, err, errsz);
	objcache_release(cache, lease);
	return rc;
}

void vmimage_close(struct vmimage *vi)
{
	imgconn_close(&vi->conn);
	free(vi->name);
	vi->name = NULL;
	image_free(&vi->img);
	memset(&vi->img, 0, sizeof(vi->img));
}
