/* Translates a pxelinux configuration into an iPXE script, so a client that is
 * already iPXE loads the same kernel and initrd over HTTP instead of chain-loading
 * pxelinux and fetching them over TFTP. Pure text processing. */
#ifndef SS_IPXE_SCRIPT_H
#define SS_IPXE_SCRIPT_H

#include <stddef.h>

/* Picks the label pxelinux would boot without a keypress (DEFAULT, else ONTIMEOUT,
 * else the first LABEL; a DEFAULT that names no label is a kernel command line) and
 * writes "#!ipxe" + kernel/initrd/boot lines with paths relative to the script's own
 * URL. LOCALBOOT becomes "exit". Returns a new string (free()), or NULL with errno
 * ENOENT (nothing bootable) / ENOMEM / E2BIG (config larger than 64 KiB). */
char *ipxe_script_from_pxelinux(const char *cfg, size_t len);

#endif
