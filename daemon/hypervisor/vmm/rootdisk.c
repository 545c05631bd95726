/* The raw root volume of an image-based VM (see rootdisk.h). The layout decisions are
 * pure functions (size, label, MBR, grub.cfg) unit-tested on their own; the rest runs
 * mke2fs and grub-mkimage and places their output with pwrite. */
#include "daemon/hypervisor/vmm/rootdisk.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/cmdrun.h"
#include "daemon/hypervisor/vmm/rootdisk_efi.h"
#include "fsutil.h"

#define SECTOR 512u
#define MIB (1ULL << 20)
#define MAX_LINKS 8
/* GRUB's modules: BIOS disks, the MBR, ext4 (module ext2), Linux boot, the menu. */
static const char *const grub_modules[] = {
    "biosdisk", "part_msdos", "ext2",	  "linux", "normal", "configfile",
    "echo",	"serial",     "terminal", "test",  "search", "search_label",
};

uint64_t rootdisk_overhead(bool uefi)
{
	return uefi ? ROOTDISK_EFI_ROOT_START : 0;
}

uint64_t rootdisk_size(uint64_t min_free, uint64_t roundup_power, uint64_t usage)
{
	uint64_t need = usage + usage / 8, unit;

	if (need < usage || need + min_free < need)
		return 0;
	need += min_free;
	if (roundup_power < 24)
		roundup_power = 24;
	if (roundup_power > 62)
		return 0;
	unit = 1ULL << roundup_power;
	if (need == 0)
		need = 1;
	if (need > UINT64_MAX - (unit - 1))
		return 0;
	return (need + unit - 1) / unit * unit;
}

void rootdisk_label(struct in_addr ip, char *buf, size_t sz)
{
	snprintf(buf, sz, "rootfs@%08x", ntohl(ip.s_addr));
}

/* CHS of an LBA with the usual 255 heads and 63 sectors per track; past cylinder 1023
 * the "too far" marker fe ff ff that every reader takes to mean "use the LBA". */
static void chs(uint8_t out[3], uint64_t lba)
{
	uint64_t c = lba / (255 * 63), h = (lba / 63) % 255, s = lba % 63 + 1;

	if (c > 1023) {
		out[0] = 0xfe;
		out[1] = 0xff;
		out[2] = 0xff;
		return;
	}
	out[0] = (uint8_t)h;
	out[1] = (uint8_t)(s | ((c >> 8) << 6));
	out[2] = (uint8_t)(c & 0xff);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int rootdisk_mbr(uint8_t mbr[512], const uint8_t *boot_code, uint64_t disk_bytes, uint32_t disk_id)
{
	uint64_t sectors = disk_bytes / SECTOR, n;
	uint8_t *e = mbr + 446;

	if (sectors <= ROOTDISK_PART_START || sectors > UINT32_MAX)
		return -EINVAL;
	n = sectors - ROOTDISK_PART_START;
	memset(mbr, 0, 512);
	if (boot_code != NULL)
		memcpy(mbr, boot_code, 440);
	put32(mbr + 440, disk_id);
	e[0] = 0x80; /* bootable */
	chs(e + 1, ROOTDISK_PART_START);
	e[4] = 0x83; /* Linux */
	chs(e + 5, ROOTDISK_PART_START + n - 1);
	put32(e + 8, ROOTDISK_PART_START);
	put32(e + 12, (uint32_t)n);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	return 0;
}

int rootdisk_grub_cfg(char *buf, size_t sz, const char *kernel, const char *initrd,
		      const char *label, const char *extra)
{
	int n;

	n = snprintf(buf, sz,
		     "# Written by the hypervisor when it created this root volume.\n"
		     "set timeout=0\n"
		     "set default=0\n"
		     "serial --unit=0 --speed=115200\n"
		     "terminal_input serial console\n"
		     "terminal_output serial console\n"
		     "menuentry \"image\" {\n"
		     "\tlinux %s root=LABEL=%s console=ttyS0,115200n8 console=tty0%s%s\n"
		     "%s%s%s"
		     "}\n",
		     kernel, label, *extra ? " " : "", extra, initrd ? "\tinitrd " : "",
		     initrd ? initrd : "", initrd ? "\n" : "");
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : n;
}

/* ---- finding the kernel ---- */

/* Follows symbolic links of rel (relative to tree) inside the tree: an absolute target
 * is taken from the tree's root, a relative one from the link's directory; ".." is
 * refused. The regular file's path relative to the tree into out. */
static int resolve(const char *tree, const char *rel, char *out, size_t sz)
{
	char cur[4096], path[8192], target[4096];
	struct stat sb;

	if (snprintf(cur, sizeof(cur), "%s", rel) >= (int)sizeof(cur))
		return -ENAMETOOLONG;
	for (int hop = 0; hop < MAX_LINKS; hop++) {
		ssize_t n;
		char *slash;

		snprintf(path, sizeof(path), "%s/%s", tree, cur);
		if (lstat(path, &sb) < 0)
			return -errno;
		if (S_ISREG(sb.st_mode))
			return snprintf(out, sz, "%s", cur) >= (int)sz ? -ENAMETOOLONG : 0;
		if (!S_ISLNK(sb.st_mode))
			return -ENOENT;
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (strstr(target, "..") != NULL)
			return -ENOENT;
		if (target[0] == '/') {
			if (snprintf(cur, sizeof(cur), "%s", target + 1) >= (int)sizeof(cur))
				return -ENAMETOOLONG;
			continue;
		}
		slash = strrchr(cur, '/');
		if (slash == NULL) {
			if (snprintf(cur, sizeof(cur), "%s", target) >= (int)sizeof(cur))
				return -ENAMETOOLONG;
		} else {
			char dir[4096];

			*slash = '\0';
			snprintf(dir, sizeof(dir), "%s", cur);
			if (snprintf(cur, sizeof(cur), "%s/%s", dir, target) >= (int)sizeof(cur))
				return -ENAMETOOLONG;
		}
	}
	return -ELOOP;
}

/* The newest (greatest by version sort) boot/vmlinuz-<v>: its <v> into ver. */
static int newest_boot_kernel(const char *tree, char *ver, size_t sz)
{
	char dir[4096];
	struct dirent **names;
	int n, found = -ENOENT;

	snprintf(dir, sizeof(dir), "%s/boot", tree);
	n = scandir(dir, &names, NULL, versionsort);
	if (n < 0)
		return -ENOENT;
	for (int i = n - 1; i >= 0; i--) {
		if (found < 0 && strncmp(names[i]->d_name, "vmlinuz-", 8) == 0 &&
		    snprintf(ver, sz, "%s", names[i]->d_name + 8) < (int)sz)
			found = 0;
		free(names[i]);
	}
	free(names);
	return found;
}

int rootdisk_find_kernel(const char *tree, char *kernel, size_t ksz, char *initrd, size_t isz,
			 char *err, size_t errsz)
{
	char ver[256], name[512];

	initrd[0] = '\0';
	if (resolve(tree, "vmlinuz", kernel, ksz) == 0) {
		if (resolve(tree, "initrd.img", initrd, isz) == 0)
			return 0;
		initrd[0] = '\0';
		/* /vmlinuz -> boot/vmlinuz-<v>: its initrd is boot/initrd.img-<v>. */
		if (strncmp(kernel, "boot/vmlinuz-", 13) == 0) {
			snprintf(name, sizeof(name), "boot/initrd.img-%s", kernel + 13);
			if (resolve(tree, name, initrd, isz) < 0)
				initrd[0] = '\0';
		}
		return 0;
	}
	if (newest_boot_kernel(tree, ver, sizeof(ver)) == 0) {
		snprintf(name, sizeof(name), "boot/vmlinuz-%s", ver);
		if (resolve(tree, name, kernel, ksz) == 0) {
			snprintf(name, sizeof(name), "boot/initrd.img-%s", ver);
			if (resolve(tree, name, initrd, isz) < 0)
				initrd[0] = '\0';
			return 0;
		}
	}
	snprintf(err, errsz, "no kernel in image (vmlinuz, boot/vmlinuz-*)");
	return -ENOENT;
}

/* ---- I/O ---- */

/* Writes a new file in the tree. An existing one is unlinked first: the tree's files
 * may share their inode with something else (hard links), never written through. */
static int put_file(const char *tree, const char *rel, const char *data, size_t len, char *err,
		    size_t errsz)
{
	char path[8192], dir[8192], *slash;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	rc = fsutil_mkdir_p(dir, 0755);
	if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		rc = fd < 0 ? -errno : fsutil_write_all(fd, data, len);
		if (fd >= 0 && close(fd) < 0 && rc == 0)
			rc = -errno;
	}
	if (rc < 0)
		snprintf(err, errsz, "writing %s: %s", rel, strerror(-rc));
	return rc;
}

static int copy_file(const char *from, const char *to, char *err, size_t errsz)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", from, strerror(errno));
		return rc;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		rc = -errno;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : -errno;
		else
			rc = fsutil_write_all(out, buf, (size_t)n);
	}
	if (out >= 0 && rc == 0 && fsync(out) < 0)
		rc = -errno;
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc < 0)
		snprintf(err, errsz, "copying %s to %s: %s", from, to, strerror(-rc));
	return rc;
}

static int read_small(const char *path, uint8_t *buf, size_t want, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errsz, "%s: %s (is grub-pc-bin installed?)", path, strerror(errno));
		return -ENOENT;
	}
	n = fsutil_read_all(fd, buf, want);
	close(fd);
	if (n != (ssize_t)want) {
		snprintf(err, errsz, "%s: short file", path);
		return -EIO;
	}
	return 0;
}

/* GRUB in the MBR and in the gap before the partition. */
static int write_grub(const struct rootdisk_config *c, int fd, const char *gdir, char *err,
		      size_t errsz)
{
	static const char embedded[] = "set root=(hd0,msdos1)\n"
				       "set prefix=(hd0,msdos1)/boot/grub\n";
	char core[4096], cfg[4096], bootimg[4096];
	uint8_t mbr[512], boot[512];
	struct stat sb;
	char *buf = NULL;
	int rc;

	snprintf(bootimg, sizeof(bootimg), "%s/boot.img", gdir);
	rc = read_small(bootimg, boot, sizeof(boot), err, errsz);
	if (rc < 0)
		return rc;
	snprintf(core, sizeof(core), "%s.core", c->path);
	snprintf(cfg, sizeof(cfg), "%s.grub.cfg", c->path);
	rc = cmdrun_grub_mkimage("i386-pc", gdir, "(hd0,msdos1)/boot/grub", embedded, cfg, core,
				 grub_modules, sizeof(grub_modules) / sizeof(grub_modules[0]), err,
				 errsz);
	if (rc == 0 && stat(core, &sb) < 0)
		rc = -errno;
	/* core.img lives in sectors 1..2047: diskboot's blocklist reads it from LBA 2 on. */
	if (rc == 0 && (uint64_t)sb.st_size > (ROOTDISK_PART_START - 1) * (uint64_t)SECTOR) {
		snprintf(err, errsz, "GRUB core image of %lld bytes does not fit below 1 MiB",
			 (long long)sb.st_size);
		rc = -EFBIG;
	}
	if (rc == 0) {
		buf = malloc((size_t)sb.st_size);
		int cfd = open(core, O_RDONLY | O_CLOEXEC);

		if (buf == NULL || cfd < 0 ||
		    fsutil_read_all(cfd, buf, (size_t)sb.st_size) != sb.st_size)
			rc = -EIO;
		if (cfd >= 0)
			close(cfd);
	}
	if (rc == 0 && pwrite(fd, buf, (size_t)sb.st_size, SECTOR) != sb.st_size)
		rc = -EIO;
	free(buf);
	unlink(core);
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "GRUB core image: %s", strerror(-rc));
	if (rc < 0)
		return rc;
	rc = rootdisk_mbr(mbr, boot, c->size, (uint32_t)random());
	if (rc == 0 && pwrite(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr))
		rc = -EIO;
	if (rc < 0)
		snprintf(err, errsz, "writing the MBR: %s", strerror(-rc));
	return rc;
}

static int prepare_tree(const struct rootdisk_config *c, char *err, size_t errsz)
{
	char kernel[4096], initrd[4096], k2[4200], i2[4200], text[8192], path[8192];
	int n, rc;

	rc = rootdisk_find_kernel(c->tree, kernel, sizeof(kernel), initrd, sizeof(initrd), err,
				  errsz);
	if (rc < 0)
		return rc;
	n = snprintf(text, sizeof(text), "LABEL=%s / ext4 defaults 0 1\n", c->label);
	rc = put_file(c->tree, "etc/fstab", text, (size_t)n, err, errsz);
	if (rc < 0)
		return rc;
	if (c->skip_bootloader) {
		snprintf(path, sizeof(path), "%s/%s", c->tree, kernel);
		rc = copy_file(path, c->kernel_out, err, errsz);
		if (rc == 0 && *initrd) {
			snprintf(path, sizeof(path), "%s/%s", c->tree, initrd);
			rc = copy_file(path, c->initrd_out, err, errsz);
		}
		return rc;
	}
	snprintf(k2, sizeof(k2), "/%s", kernel);
	snprintf(i2, sizeof(i2), "/%s", initrd);
	n = rootdisk_grub_cfg(text, sizeof(text), k2, *initrd ? i2 : NULL, c->label, c->extra);
	if (n < 0) {
		snprintf(err, errsz, "grub.cfg: kernel options too long");
		return n;
	}
	return put_file(c->tree, "boot/grub/grub.cfg", text, (size_t)n, err, errsz);
}

int rootdisk_write(const struct rootdisk_config *c, char *err, size_t errsz)
{
	const char *gdir = c->grub_dir ? c->grub_dir : ROOTDISK_GRUB_DIR;
	uint64_t start = c->uefi ? ROOTDISK_EFI_ROOT_START : ROOTDISK_PART_START * SECTOR;
	/* UEFI: the backup GPT takes the last 33 sectors. */
	uint64_t end = c->uefi ? c->size - 33 * SECTOR : c->size, root_bytes;
	char blocks[32], offset[64], *argv[20];
	uint8_t mbr[512];
	size_t k = 0;
	int fd, rc;

	err[0] = '\0';
	if (c->size % MIB != 0 || c->size < start + 8 * MIB) {
		snprintf(err, errsz, "root volume size %llu: not a multiple of 1 MiB or too small",
			 (unsigned long long)c->size);
		return -EINVAL;
	}
	root_bytes = (end - start) / 4096 * 4096;
	for (const char *p = c->extra; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errsz, "ExtraKernelOptions: control character refused");
			return -EINVAL;
		}
	rc = prepare_tree(c, err, errsz);
	if (rc < 0)
		return rc;
	fd = open(c->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "creating %s: %s", c->path, strerror(errno));
		return rc;
	}
	if (ftruncate(fd, (off_t)c->size) < 0) {
		rc = -errno;
		snprintf(err, errsz, "sizing %s: %s", c->path, strerror(errno));
		goto out;
	}
	snprintf(blocks, sizeof(blocks), "%llu", (unsigned long long)(root_bytes / 4096));
	snprintf(offset, sizeof(offset), "offset=%llu", (unsigned long long)start);
	argv[k++] = "mke2fs";
	argv[k++] = "-q";
	argv[k++] = "-F";
	argv[k++] = "-t";
	argv[k++] = "ext4";
	argv[k++] = "-b";
	argv[k++] = "4096";
	argv[k++] = "-L";
	argv[k++] = (char *)c->label;
	argv[k++] = "-d";
	argv[k++] = (char *)c->tree;
	argv[k++] = "-E";
	argv[k++] = offset;
	argv[k++] = (char *)c->path;
	argv[k++] = blocks;
	argv[k] = NULL;
	rc = cmdrun(argv, err, errsz);
	if (rc < 0)
		goto out;
	if (c->uefi) {
		rc = rootdisk_efi_write(fd, c->path, c->size, root_bytes, c->skip_bootloader,
					c->grub_dir, err, errsz);
	} else if (c->skip_bootloader) {
		rc = rootdisk_mbr(mbr, NULL, c->size, (uint32_t)random());
		if (rc == 0 && pwrite(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr))
			rc = -EIO;
		if (rc < 0)
			snprintf(err, errsz, "writing the MBR: %s", strerror(-rc));
	} else {
		rc = write_grub(c, fd, gdir, err, errsz);
	}
	/* Volumes are fully allocated (check-vms checks it); holes become unwritten
	 * extents, data stays. */
	if (rc == 0 && fallocate(fd, 0, 0, (off_t)c->size) < 0 && errno != EOPNOTSUPP) {
		rc = -errno;
		snprintf(err, errsz, "allocating %s: %s", c->path, strerror(errno));
	}
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errsz, "fsync %s: %s", c->path, strerror(errno));
	}
out:
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errsz, "close %s: %s", c->path, strerror(errno));
	}
	return rc;
}
