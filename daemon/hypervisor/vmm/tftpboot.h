/* -tftpbootImageStream (spec/hypervisor.md §2.2): the files of the latest image of a
 * stream become the root of the TFTP (and HTTP boot) server. Checked at start and every
 * interval; a newer image is unpacked (through the object cache) into
 * <stateDir>/tftpboot/<leaf>, handed to the server through set_root, and only then is
 * the previous tree removed, so a client always reads one whole image. The current
 * image's name is kept in <stateDir>/tftpboot/current, so a restart serves it at once,
 * before the image server answers. The network servers learn nothing but a directory. */
#ifndef HV_TFTPBOOT_H
#define HV_TFTPBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/hvflags.h"
#include "daemon/hypervisor/vmm/objcache.h"

/* Makes dir the served root. 0 or -errno. */
typedef int (*tftpboot_set_root_fn)(void *arg, const char *dir);

struct tftpboot;

/* Serves the recorded image (if any) and starts the checking thread. 0 and *out, or
 * -errno with err. cfg and cache are borrowed for the follower's life. */
int tftpboot_start(const struct hv_config *cfg, struct objcache *cache, int64_t interval_ns,
		   tftpboot_set_root_fn set_root, void *arg, struct tftpboot **out, char *err,
		   size_t errsz);
/* Stops the thread (waits for a check in progress) and frees. Accepts NULL. */
void tftpboot_stop(struct tftpboot *t);

/* The image being served ("" when none) and the last check's error ("" when none),
 * copied into buffers. */
void tftpboot_status(struct tftpboot *t, char *image, size_t isz, char *error, size_t esz);

#endif
