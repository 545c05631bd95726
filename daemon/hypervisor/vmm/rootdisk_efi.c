/* The UEFI layout of image root volumes (see rootdisk.h): a GPT with an EFI system
 * partition (FAT made by mkfs.vfat, GRUB from grub-mkimage -O x86_64-efi copied in with
 * mtools as the removable-media path EFI/BOOT/BOOTX64.EFI, so no NVRAM boot entry is
 * needed) and the root partition holding the ext4 that rootdisk.c made. */
#include "daemon/hypervisor/vmm/rootdisk_efi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/cmdrun.h"
#include "daemon/hypervisor/vmm/gpt.h"
#include "fsutil.h"

static const char *const efi_modules[] = {
    "part_gpt", "fat",	    "ext2", "linux",  "normal",	      "configfile", "echo",
    "serial",	"terminal", "test", "search", "search_label", "efi_gop",
};

static void random_guid(uint8_t g[16])
{
	if (getrandom(g, 16, 0) != 16)
		for (int i = 0; i < 16; i++)
			g[i] = (uint8_t)random();
	g[7] = (uint8_t)((g[7] & 0x0f) | 0x40); /* version 4 (mixed-endian field 3) */
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

/* The ESP as a file: FAT, EFI/BOOT/BOOTX64.EFI. */
static int make_esp(const char *path, const char *grub_dir, const char *esp, char *err,
		    size_t errsz)
{
	static const char embedded[] = "set root=(hd0,gpt2)\n"
				       "set prefix=(hd0,gpt2)/boot/grub\n";
	const char *gdir = grub_dir ? grub_dir : ROOTDISK_EFI_GRUB_DIR;
	char efi[4200], cfg[4200], kib[32], espi[4300];
	int rc;

	snprintf(efi, sizeof(efi), "%s.efi", path);
	snprintf(cfg, sizeof(cfg), "%s.efi.cfg", path);
	snprintf(kib, sizeof(kib), "%llu", (unsigned long long)(ROOTDISK_EFI_ESP_BYTES >> 10));
	rc = cmdrun_grub_mkimage("x86_64-efi", gdir, "(hd0,gpt2)/boot/grub", embedded, cfg, efi,
				 efi_modules, sizeof(efi_modules) / sizeof(efi_modules[0]), err,
				 errsz);
	if (rc == 0) {
		char *mk[] = {"mkfs.vfat", "-n", "EFI", "-C", (char *)esp, kib, NULL};

		unlink(esp);
		rc = cmdrun(mk, err, errsz);
	}
	snprintf(espi, sizeof(espi), "%s", esp);
	if (rc == 0) {
		char *md[] = {"mmd", "-i", espi, "::EFI", "::EFI/BOOT", NULL};

		rc = cmdrun(md, err, errsz);
	}
	if (rc == 0) {
		char *cp[] = {"mcopy", "-i", espi, efi, "::EFI/BOOT/BOOTX64.EFI", NULL};

		rc = cmdrun(cp, err, errsz);
	}
	unlink(efi);
	return rc;
}

int rootdisk_efi_write(int fd, const char *path, uint64_t size, uint64_t root_bytes,
		       bool skip_bootloader, const char *grub_dir, char *err, size_t errsz)
{
	uint8_t *primary = calloc(1, GPT_PRIMARY_BYTES), *backup = calloc(1, GPT_BACKUP_BYTES);
	uint64_t sectors = size / GPT_SECTOR, root_first = ROOTDISK_EFI_ROOT_START / GPT_SECTOR;
	struct gpt_part parts[2] = {
	    {GPT_TYPE_ESP, (1ULL << 20) / GPT_SECTOR, root_first - 1, {0}, "EFI system partition"},
	    {GPT_TYPE_LINUX, root_first, root_first + root_bytes / GPT_SECTOR - 1, {0}, "root"},
	};
	uint8_t disk_guid[16];
	char esp[4200];
	int rc;

	if (primary == NULL || backup == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	random_guid(disk_guid);
	random_guid(parts[0].guid);
	random_guid(parts[1].guid);
	rc = gpt_build(primary, backup, sectors, disk_guid, parts, 2);
	if (rc < 0) {
		snprintf(err, errsz, "GPT for a %llu byte volume: %s", (unsigned long long)size,
			 strerror(-rc));
		goto out;
	}
	if (!skip_bootloader) {
		snprintf(esp, sizeof(esp), "%s.esp", path);
		rc = make_esp(path, grub_dir, esp, err, errsz);
		if (rc == 0)
			rc = cmdrun_place(fd, esp, 1ULL << 20, ROOTDISK_EFI_ESP_BYTES, err, errsz);
		unlink(esp);
		if (rc < 0)
			goto out;
	}
	if (pwrite(fd, primary, GPT_PRIMARY_BYTES, 0) != (ssize_t)GPT_PRIMARY_BYTES ||
	    pwrite(fd, backup, GPT_BACKUP_BYTES, (off_t)((sectors - 33) * GPT_SECTOR)) !=
		(ssize_t)GPT_BACKUP_BYTES) {
		rc = -EIO;
		snprintf(err, errsz, "writing the GPT: %s", strerror(errno ? errno : EIO));
	}
out:
	free(primary);
	free(backup);
	return rc;
}
