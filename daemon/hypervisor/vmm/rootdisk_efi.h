/* The UEFI layout of image root volumes: a GPT with an EFI system partition from 1 MiB
 * (16 MiB of FAT holding GRUB EFI as EFI/BOOT/BOOTX64.EFI) and the root partition from
 * 17 MiB, where rootdisk.c has made the ext4 before this runs. */
#ifndef HV_ROOTDISK_EFI_H
#define HV_ROOTDISK_EFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROOTDISK_EFI_GRUB_DIR "/usr/lib/grub/x86_64-efi"
#define ROOTDISK_EFI_ESP_BYTES (16ULL << 20)
#define ROOTDISK_EFI_ROOT_START ((1ULL << 20) + ROOTDISK_EFI_ESP_BYTES) /* bytes */

/* Writes the GPT (ESP + a root partition of root_bytes) into the volume fd of size bytes
 * and, unless skip_bootloader, the ESP with GRUB (grub_dir NULL: ROOTDISK_EFI_GRUB_DIR);
 * temporary files go beside path. 0 or -errno with err. */
int rootdisk_efi_write(int fd, const char *path, uint64_t size, uint64_t root_bytes,
		       bool skip_bootloader, const char *grub_dir, char *err, size_t errsz);

#endif
