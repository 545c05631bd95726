/* A bootable raw root volume from an unpacked image tree, written without mounting
 * anything (spec/hypervisor.md §7.2 step 7): an MBR with one partition from 1 MiB to
 * the end, its ext4 file system made by `mke2fs -d <tree> -E offset=1048576`, labelled
 * rootfs@<hex IP>, with /etc/fstab, and GRUB for BIOS: boot.img's code in the MBR,
 * core.img (grub-mkimage -O i386-pc, modules and a config embedded) in the gap from LBA 1,
 * /boot/grub/grub.cfg in the tree booting the image's kernel and initrd. With
 * SkipBootloader the kernel and initrd are copied out for direct boot instead. */
#ifndef HV_ROOTDISK_H
#define HV_ROOTDISK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROOTDISK_PART_START 2048 /* sectors: the partition starts at 1 MiB */
#define ROOTDISK_GRUB_DIR "/usr/lib/grub/i386-pc"

/* computeSize (spec §5): usage + usage/8 + min_free, rounded up to a multiple of
 * 2^max(roundup_power, 24). 0 on overflow. */
uint64_t rootdisk_size(uint64_t min_free, uint64_t roundup_power, uint64_t usage);

/* "rootfs@0a020304" for 10.2.3.4 into buf (at least 16 bytes). */
void rootdisk_label(struct in_addr ip, char *buf, size_t sz);

/* The MBR of a disk of disk_bytes: the first 440 bytes of boot_code (NULL: zeros),
 * the disk id, one bootable Linux partition from ROOTDISK_PART_START to the end, 0x55AA.
 * -EINVAL when the disk is too small or beyond MBR's 2 TiB. Pure. */
int rootdisk_mbr(uint8_t mbr[512], const uint8_t *boot_code, uint64_t disk_bytes, uint32_t disk_id);

/* grub.cfg booting kernel (and initrd when not NULL), both paths from the root of the
 * file system ("/vmlinuz"), with root=LABEL=<label>, the serial and VGA consoles and
 * extra options. Returns the length or -ENAMETOOLONG. Pure. */
int rootdisk_grub_cfg(char *buf, size_t sz, const char *kernel, const char *initrd,
		      const char *label, const char *extra);

/* The kernel and initrd of a tree: vmlinuz (+ initrd.img) at its root, else the
 * newest boot/vmlinuz-<v> (+ boot/initrd.img-<v>). A symbolic link is followed inside
 * the tree. Paths relative to the tree into kernel/initrd (initrd "" when none).
 * 0, or -ENOENT "no kernel in image (vmlinuz, boot/vmlinuz-*)". */
int rootdisk_find_kernel(const char *tree, char *kernel, size_t ksz, char *initrd, size_t isz,
			 char *err, size_t errsz);

struct rootdisk_config {
	const char *tree;  /* unpacked image; grub.cfg and fstab are added to it */
	const char *path;  /* the volume file to create (must not exist) */
	uint64_t size;	   /* bytes, a multiple of 1 MiB, > 1 MiB */
	const char *label; /* file system label */
	const char *extra; /* ExtraKernelOptions, "" for none */
	bool skip_bootloader;
	bool uefi;		/* GPT + ESP + GRUB EFI instead of MBR + GRUB BIOS */
	const char *kernel_out; /* SkipBootloader: where the kernel and initrd go */
	const char *initrd_out;
	const char *grub_dir; /* NULL: ROOTDISK_GRUB_DIR (or ROOTDISK_EFI_GRUB_DIR) */
};

/* Bytes a layout needs beside the file system of computeSize: 0 for BIOS (the 1 MiB gap
 * comes out of computeSize's slack), the ESP and its gap for UEFI. */
uint64_t rootdisk_overhead(bool uefi);

/* Writes the volume (fallocated to its full size). 0, or -errno with err saying which
 * step failed (with the tool's own words). A failure may leave path behind: the caller
 * removes it. */
int rootdisk_write(const struct rootdisk_config *c, char *err, size_t errsz);

#endif
