/* The boot slots and the GRUB environment of the appliance (see slots.h). */
#include "daemon/hypervisor/upgrade/slots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/cmdrun.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "grubenv.h"

static const char *const slot_files[] = {"vmlinuz", "initrd.img", "manifest.json"};

char slots_parse_cmdline(const char *cmdline)
{
	const char *p = cmdline;

	while ((p = strstr(p, "ss.slot=")) != NULL) {
		bool word = p == cmdline || p[-1] == ' ' || p[-1] == '\t';
		char c = p[8], after = c ? p[9] : '\0';

		if (word && (c == 'A' || c == 'B') &&
		    (after == '\0' || after == ' ' || after == '\n' || after == '\t'))
			return c;
		p += 8;
	}
	return 0;
}

char slots_running(const char *cmdline_path)
{
	char *buf = NULL;
	size_t len;
	char slot;

	if (fsutil_read_file(cmdline_path, 65536, &buf, &len) < 0)
		return 0;
	slot = slots_parse_cmdline(buf);
	free(buf);
	return slot;
}

/* /dev/<name> of the partition whose GPT name is partname. */
static int part_by_name(const struct slots *s, const char *partname, char *dev, size_t devsz)
{
	const char *sys = s->sys_block ? s->sys_block : "/sys/class/block";
	char path[4096], want[128], *buf = NULL;
	struct dirent *e;
	size_t len;
	int rc = -ENOENT;
	DIR *d = opendir(sys);

	if (d == NULL)
		return -errno;
	snprintf(want, sizeof(want), "\nPARTNAME=%s\n", partname);
	while (rc == -ENOENT && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/uevent", sys, e->d_name);
		if (fsutil_read_file(path, 65536, &buf, &len) < 0)
			continue;
		/* uevent's first line is MAJOR=: every line follows a newline. */
		if (strstr(buf, want) != NULL) {
			snprintf(dev, devsz, "/dev/%s", e->d_name);
			rc = 0;
		}
		free(buf);
		buf = NULL;
	}
	closedir(d);
	return rc;
}

static int slot_device(const struct slots *s, char slot, char *dev, size_t devsz, char *err,
		       size_t errsz)
{
	const char *name = slot == 'A' ? "ss-slot-a" : "ss-slot-b";
	int rc = part_by_name(s, name, dev, devsz);

	if (rc < 0)
		snprintf(err, errsz, "slot %c: no partition %s", slot, name);
	return rc;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static int read_name(const char *path, char *out, size_t outsz, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len;
	int rc = fsutil_read_file(path, 4096, &buf, &len);

	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(out, outsz, "%s", buf);
	free(buf);
	trim(out);
	return 0;
}

int slots_image_name(struct slots *s, char slot, char *out, size_t outsz, char *err, size_t errsz)
{
	char path[4200], dev[300], mp[] = "/run/hypervisor-slot.XXXXXX";
	int rc;

	if (s->slot_dir != NULL && *s->slot_dir) {
		snprintf(path, sizeof(path), "%s/%c/image-name", s->slot_dir, slot);
		return read_name(path, out, outsz, err, errsz);
	}
	if ((rc = slot_device(s, slot, dev, sizeof(dev), err, errsz)) < 0)
		return rc;
	if (mkdtemp(mp) == NULL) {
		rc = -errno;
		snprintf(err, errsz, "mkdtemp %s: %s", mp, strerror(errno));
		return rc;
	}
	if (mount(dev, mp, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		rc = -errno;
		snprintf(err, errsz, "mount %s: %s", dev, strerror(errno));
		rmdir(mp);
		return rc;
	}
	snprintf(path, sizeof(path), "%s/image-name", mp);
	rc = read_name(path, out, outsz, err, errsz);
	umount2(mp, MNT_DETACH);
	rmdir(mp);
	return rc;
}

/* tree's three files and image-name into stage (a new directory), each fsynced. */
static int stage_files(const char *tree, const char *name, const char *stage, char *err,
		       size_t errsz)
{
	char src[4200], dst[4200], text[1100];
	int rc, n;

	vmops_rmtree(stage);
	if (mkdir(stage, 0755) < 0) {
		rc = -errno;
		snprintf(err, errsz, "mkdir %s: %s", stage, strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < sizeof(slot_files) / sizeof(slot_files[0]); i++) {
		struct stat sb;

		snprintf(src, sizeof(src), "%s/%s", tree, slot_files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", stage, slot_files[i]);
		if (lstat(src, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			snprintf(err, errsz, "the image has no file %s", slot_files[i]);
			return -ENOENT;
		}
		if ((rc = fsutil_copy_file(src, dst)) < 0) {
			snprintf(err, errsz, "copying %s: %s", dst, strerror(-rc));
			return rc;
		}
		chmod(dst, 0644);
	}
	n = snprintf(text, sizeof(text), "%s\n", name);
	snprintf(dst, sizeof(dst), "%s/image-name", stage);
	if ((rc = fsutil_write_atomic(dst, text, (size_t)n, 0644)) < 0) {
		snprintf(err, errsz, "%s: %s", dst, strerror(-rc));
		return rc;
	}
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* The new directory is complete and synced before it takes the slot's name; the old
 * one is renamed away first, so a crash leaves either no slot (GRUB boots the other) or
 * a whole one. */
static int write_dir(struct slots *s, char slot, const char *tree, const char *name, char *err,
		     size_t errsz)
{
	char stage[4200], dst[4200], old[4200];
	int rc;

	snprintf(stage, sizeof(stage), "%s/.%c.new", s->slot_dir, slot);
	snprintf(dst, sizeof(dst), "%s/%c", s->slot_dir, slot);
	snprintf(old, sizeof(old), "%s/.%c.old", s->slot_dir, slot);
	if ((rc = stage_files(tree, name, stage, err, errsz)) < 0 || (rc = sync_dir(stage)) < 0) {
		if (rc < 0 && !*err)
			snprintf(err, errsz, "fsync %s: %s", stage, strerror(-rc));
		vmops_rmtree(stage);
		return rc;
	}
	vmops_rmtree(old);
	if (rename(dst, old) < 0 && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errsz, "rename %s: %s", dst, strerror(errno));
		vmops_rmtree(stage);
		return rc;
	}
	if (rename(stage, dst) < 0) {
		rc = -errno;
		snprintf(err, errsz, "rename %s: %s", stage, strerror(errno));
		vmops_rmtree(stage);
		return rc;
	}
	vmops_rmtree(old);
	sync_dir(s->slot_dir);
	return 0;
}

static int write_part(struct slots *s, char slot, const char *tree, const char *name,
		      const char *work, char *err, size_t errsz)
{
	char dev[300], stage[4200], label[16];
	char *argv[] = {"mkfs.ext4", "-q", "-F", "-L", label, "-d", stage, dev, NULL};
	int rc, fd;

	if ((rc = slot_device(s, slot, dev, sizeof(dev), err, errsz)) < 0)
		return rc;
	snprintf(label, sizeof(label), "SS_SLOT_%c", slot);
	snprintf(stage, sizeof(stage), "%s/slot-tree", work);
	if ((rc = stage_files(tree, name, stage, err, errsz)) == 0 &&
	    (rc = cmdrun(argv, err, errsz)) == 0) {
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			rc = -errno;
			snprintf(err, errsz, "fsync %s: %s", dev, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
	}
	vmops_rmtree(stage);
	return rc;
}

int slots_write(struct slots *s, char slot, const char *tree, const char *name, const char *work,
		char *err, size_t errsz)
{
	*err = '\0';
	if (s->slot_dir != NULL && *s->slot_dir)
		return write_dir(s, slot, tree, name, err, errsz);
	return write_part(s, slot, tree, name, work, err, errsz);
}

static int env_locate(struct slots *s, char *err, size_t errsz)
{
	int rc;

	if (s->env_found)
		return 0;
	if (s->grubenv != NULL && *s->grubenv)
		snprintf(s->env_path, sizeof(s->env_path), "%s", s->grubenv);
	else if (part_by_name(s, "ss-esp", s->env_path, sizeof(s->env_path)) < 0) {
		snprintf(err, errsz, "GRUB environment: no partition ss-esp");
		return -ENOENT;
	}
	rc = grubenv_locate(s->env_path, &s->env_off, err, errsz);
	if (rc == 0)
		s->env_found = 1;
	return rc;
}

int slots_env_get(struct slots *s, const char *var, char *out, size_t outsz, char *err,
		  size_t errsz)
{
	char blk[GRUBENV_SIZE];
	int rc;

	if ((rc = env_locate(s, err, errsz)) < 0 ||
	    (rc = grubenv_read(s->env_path, s->env_off, blk, err, errsz)) < 0)
		return rc;
	rc = grubenv_get(blk, sizeof(blk), var, out, outsz);
	if (rc == -ENOENT) {
		*out = '\0';
		return 0;
	}
	if (rc < 0)
		snprintf(err, errsz, "%s: %s: %s", s->env_path, var, strerror(-rc));
	return rc;
}

int slots_env_set(struct slots *s, const char *var, const char *value, char *err, size_t errsz)
{
	char blk[GRUBENV_SIZE];
	int rc;

	if ((rc = env_locate(s, err, errsz)) < 0 ||
	    (rc = grubenv_read(s->env_path, s->env_off, blk, err, errsz)) < 0)
		return rc;
	rc = grubenv_set(blk, sizeof(blk), var, value);
	if (rc < 0) {
		snprintf(err, errsz, "%s: setting %s: %s", s->env_path, var, strerror(-rc));
		return rc;
	}
	return grubenv_write(s->env_path, s->env_off, blk, err, errsz);
}
