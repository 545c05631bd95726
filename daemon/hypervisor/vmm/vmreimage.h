/* A VM's root image changed after creation (spec/rpc.md §5, hypervisor.md §4):
 * ReplaceVmImage (a new root from streamed bytes, a URL or an image-server image; the
 * old one kept as root.old with kernel.old/initrd.old), DebugVmImage (a root.debug that
 * the VM boots from until it is stopped), PatchVmImage (the root's file system brought
 * to an image's contents, keeping what the image's filter excludes), RestoreVmImage,
 * DiscardVmOldImage and the last patch log. The caller has checked the caller's rights;
 * these functions check states and mark the VM busy while they work. */
#ifndef HV_VMREIMAGE_H
#define HV_VMREIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/vmcreate.h"

#define VMREIMAGE_PATCH_LOG "lastPatchLog"

/* ReplaceVmImage. The streamed image (ImageDataSize bytes) is read through io; what
 * was not read is the caller's to drain. A running VM is stopped for the swap and
 * started again (its DHCP ACK awaited for DhcpTimeout: *dhcp_timed_out). 0, or -errno
 * with the client's message in err. */
int vmreimage_replace(struct manager *m, struct vm *vm,
		      const struct hvapi_replace_vm_image_request *req,
		      const struct vmcreate_io *io, bool *dhcp_timed_out, char *err, size_t errsz);

/* DebugVmImage: root.debug from the image, then the VM (stopped first if running) boots
 * from it in state debugging. */
int vmreimage_debug(struct manager *m, struct vm *vm,
		    const struct hvapi_debug_vm_image_request *req, const struct vmcreate_io *io,
		    bool *dhcp_timed_out, char *err, size_t errsz);

/* PatchVmImage (only io->progress is used). */
int vmreimage_patch(struct manager *m, struct vm *vm,
		    const struct hvapi_patch_vm_image_request *req, const struct vmcreate_io *io,
		    char *err, size_t errsz);

/* RestoreVmImage (stopped VM; root.old -> root, kernel.old/initrd.old back). */
int vmreimage_restore(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* DiscardVmOldImage: removes root.old, kernel.old and initrd.old (missing ones are
 * fine). */
int vmreimage_discard_old(struct manager *m, struct vm *vm, char *err, size_t errsz);

/* The last patch log, opened for reading: *fd (-1 and *len 0 when there is none),
 * its length and modification time. 0 or -errno with err. */
int vmreimage_patch_log_open(struct vm *vm, int *fd, uint64_t *len, struct timespec *mtime,
			     char *err, size_t errsz);

#endif
