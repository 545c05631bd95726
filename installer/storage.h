/* storage: the only code of the installer that writes to a disk. It carries out an
 * inst_plan (layout.h) on the drives: discard, GPT by sfdisk, GRUB's boot code, the
 * ESP image with grubenv and the LUKS key in place, ext4 file systems made by
 * mke2fs -d (no mounts), LUKS2 by cryptsetup. Every tool runs chrooted in the
 * image's tools/ tree with an empty environment, in a private mount namespace that
 * sees /dev, /proc, /sys and the one source directory it needs. */
#ifndef SS_INST_STORAGE_H
#define SS_INST_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "installer/drives.h"
#include "installer/layout.h"

/* boot/esp.json */
struct inst_esp_info {
	uint64_t size, grubenv_offset, grubenv_size, key_offset, key_size;
};

/* Everything the writes need, checked by inst_storage_prepare before any write. */
struct inst_storage {
	const char *tools_root; /* chroot for the tools; "" = the host's own (tests) */
	const char *image_dir;	/* the fetched image (boot/ read from it) */
	const char *slot_dir;	/* slot A's files */
	const char *data_dir;	/* the data partition's tree */
	const struct inst_plan *plan;
	const struct inst_drive *drives; /* plan->n_drives of them */
	const char *sysfs;		 /* for partition names; NULL = /sys */
	bool encrypt;
	/* Called after each partition is done (step "write"); may be NULL. */
	void (*progress)(uint64_t done, uint64_t total, const char *unit);
	/* Filled by inst_storage_prepare: */
	struct inst_esp_info esp;
	unsigned char *esp_img; /* esp.img, unpacked (esp.size bytes) */
	unsigned char mbr[440];
	unsigned char *core; /* bios-core.img */
	size_t core_len;
	unsigned char key[INST_LUKS_KEY_BYTES];
};

/* Reads boot/esp.json, unpacks boot/esp.img.gz into memory and checks it (size, the
 * grubenv block at its offset, the key file inside), reads bios-boot.img and
 * bios-core.img (fits the BIOS boot partition), checks that the tools exist in
 * tools_root, that device-mapper answers when encrypting, and makes the LUKS key
 * (getrandom). No disk is touched. 0, or -1 with err. */
int inst_storage_prepare(struct inst_storage *st, char *err, size_t errsz);

/* Carries out the plan (after inst_storage_prepare), in three parts that install.c
 * shows as steps: partition (discard, zero the first and last MiB, sfdisk, wait for
 * the partitions' devices), boot (GRUB's boot code, the ESP with grubenv and the key,
 * slot A with the image, an empty slot B), data (extra partitions and the data
 * partition, LUKS2 when encrypting). inst_storage_write does all three. 0, or -1 with
 * err naming the drive or partition and the tool that failed. */
int inst_storage_partition(struct inst_storage *st, char *err, size_t errsz);
int inst_storage_boot(struct inst_storage *st, char *err, size_t errsz);
int inst_storage_data(struct inst_storage *st, char *err, size_t errsz);
int inst_storage_write(struct inst_storage *st, char *err, size_t errsz);

/* Scrubs the key and frees the buffers. */
void inst_storage_free(struct inst_storage *st);

/* Bytes the files under dir take in ext4 (4 KiB blocks, one inode each, a margin for
 * the journal and metadata): the "imageUsage" of spec §4.2.4. -errno on failure. */
int64_t inst_storage_usage(const char *dir);

/* Runs argv[0] (a bare name found in /usr/sbin, /sbin, /usr/bin, /bin) chrooted in
 * root ("" = no chroot) with an empty environment; in (if not NULL) on its stdin;
 * src_dir (if not NULL) visible at /mnt/ss-src. 0 if it exited 0, else -1 with err
 * ("mke2fs: exit 1: <its last line>"). */
int inst_tool_run(const char *root, const char *const argv[], const void *in, size_t inlen,
		  const char *src_dir, char *err, size_t errsz);

#endif
