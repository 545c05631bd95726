/* drives: which disks the installer may use (spec/installer.md §4.3): the sysfs scan,
 * an explicit list for tests (-drives), and the -driveSelector program. */
#include "installer/drives.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

const char *inst_drives_override;

static const char *sysfs_dir(const struct inst_ctx *ctx)
{
	return ctx->sysfs && ctx->sysfs[0] ? ctx->sysfs : "/sys";
}

/* Reads a small sysfs attribute into buf (trailing newline dropped). */
static int read_attr(const char *path, char *buf, size_t sz)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = fsutil_read_all(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int first_sector_reads(const char *dev)
{
	char sec[512];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = fsutil_read_all(fd, sec, sizeof(sec));
	close(fd);
	return n == (ssize_t)sizeof(sec);
}

/* True when name, or one of its partitions (nameN, namepN), is mounted: the boot
 * medium (the init mounts the ISO or USB stick it found) is never a candidate. */
static bool drive_mounted(const struct inst_ctx *ctx, const char *name)
{
	char path[PATH_MAX], line[4096];
	size_t len = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/mounts", ctx->proc && ctx->proc[0] ? ctx->proc : "/proc");
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *b = line, *rest;

		if (strncmp(line, "/dev/", 5) != 0)
			continue;
		b = line + 5;
		if (strncmp(b, name, len) != 0)
			continue;
		rest = b + len;
		if (*rest == 'p' && rest[1] >= '0' && rest[1] <= '9')
			rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
		found = *rest == ' ';
	}
	fclose(f);
	return found;
}

/* Fills d for block device name; explicit: named by the user (no removable/device
 * checks). 1 if it is a candidate, 0 if not, -1 with err for an explicit bad one. */
static int drive_probe(const struct inst_ctx *ctx, const char *name, int explicit,
		       struct inst_drive *d, char *err, size_t errsz)
{
	char path[PATH_MAX], val[64];
	struct stat st;
	ssize_t len;
	unsigned long long sectors;

	memset(d, 0, sizeof(*d));
	if (strlen(name) >= sizeof(d->name) || strchr(name, '/') || name[0] == '.' || !name[0]) {
		if (explicit)
			snprintf(err, errsz, "bad drive name \"%s\"", name);
		return explicit ? -1 : 0;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->dev, sizeof(d->dev), "/dev/%s", name);
	snprintf(path, sizeof(path), "%s/class/block/%s", sysfs_dir(ctx), name);
	if (lstat(path, &st) < 0) {
		if (explicit)
			snprintf(err, errsz, "unknown drive %s (no %s)", name, path);
		return explicit ? -1 : 0;
	}
	snprintf(path, sizeof(path), "%s/class/block/%s/partition", sysfs_dir(ctx), name);
	if (access(path, F_OK) == 0) {
		if (explicit)
			snprintf(err, errsz, "%s is a partition, not a drive", name);
		return explicit ? -1 : 0;
	}
	if (!explicit) {
		snprintf(path, sizeof(path), "%s/class/block/%s/device", sysfs_dir(ctx), name);
		if (access(path, F_OK) != 0)
			return 0;
		snprintf(path, sizeof(path), "%s/class/block/%s/removable", sysfs_dir(ctx), name);
		if (read_attr(path, val, sizeof(val)) < 0 || strcmp(val, "0") != 0)
			return 0;
		if (drive_mounted(ctx, name)) {
			log_info("drive %s skipped: it is mounted (the boot medium?)", name);
			return 0;
		}
	}
	snprintf(path, sizeof(path), "%s/class/block/%s/size", sysfs_dir(ctx), name);
	if (read_attr(path, val, sizeof(val)) < 0 || sscanf(val, "%llu", &sectors) != 1 ||
	    sectors == 0 || sectors > UINT64_MAX / 512) {
		if (explicit)
			snprintf(err, errsz, "drive %s: no size in sysfs (empty loop device?)",
				 name);
		return explicit ? -1 : 0;
	}
	d->bytes = (uint64_t)sectors * 512;
	d->sector = 512;
	snprintf(path, sizeof(path), "%s/class/block/%s/queue/logical_block_size", sysfs_dir(ctx),
		 name);
	if (read_attr(path, val, sizeof(val)) == 0 && sscanf(val, "%llu", &sectors) == 1)
		d->sector = (unsigned)sectors;
	if (!first_sector_reads(d->dev)) {
		if (explicit)
			snprintf(err, errsz, "drive %s: cannot read its first sector", d->dev);
		return explicit ? -1 : 0;
	}
	snprintf(path, sizeof(path), "%s/class/block/%s", sysfs_dir(ctx), name);
	len = readlink(path, d->where, sizeof(d->where) - 1);
	d->where[len > 0 ? len : 0] = '\0';
	return 1;
}

static int drive_cmp(const void *a, const void *b)
{
	const struct inst_drive *x = a, *y = b;
	int c = strcmp(x->where, y->where);

	return c ? c : strcmp(x->name, y->name);
}

static int drives_scan(const struct inst_ctx *ctx, struct inst_drive *drives, size_t max, size_t *n,
		       char *err, size_t errsz)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/class/block", sysfs_dir(ctx));
	dir = opendir(path);
	if (!dir) {
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL && *n < max) {
		if (de->d_name[0] == '.')
			continue;
		if (drive_probe(ctx, de->d_name, 0, &drives[*n], err, errsz) == 1)
			(*n)++;
	}
	closedir(dir);
	qsort(drives, *n, sizeof(*drives), drive_cmp);
	return 0;
}

static int drives_named(const struct inst_ctx *ctx, const char *list, struct inst_drive *drives,
			size_t max, size_t *n, char *err, size_t errsz)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	if (!copy) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ", \n", &save); tok; tok = strtok_r(NULL, ", \n", &save)) {
		size_t i;

		if (strncmp(tok, "/dev/", 5) == 0)
			tok += 5;
		for (i = 0; i < *n; i++)
			if (strcmp(drives[i].name, tok) == 0)
				break;
		if (i < *n) {
			snprintf(err, errsz, "drive %s named twice", tok);
			rc = -1;
			break;
		}
		if (*n == max) {
			snprintf(err, errsz, "more than %zu drives", max);
			rc = -1;
			break;
		}
		if (drive_probe(ctx, tok, 1, &drives[*n], err, errsz) != 1) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	free(copy);
	return rc;
}

/* Runs the selector with the candidates' names; its stdout (up to 4 KiB) into out. */
static int selector_run(const char *prog, const struct inst_drive *drives, size_t n, char *out,
			size_t outsz, char *err, size_t errsz)
{
	char *argv[INST_MAX_DRIVES + 2];
	int p[2], status;
	size_t len = 0, i;
	pid_t pid;

	argv[0] = (char *)prog;
	for (i = 0; i < n; i++)
		argv[i + 1] = (char *)drives[i].name;
	argv[n + 1] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errsz, "-driveSelector: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsz, "-driveSelector: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0 || dup2(fd, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execv(prog, argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], out + len, outsz - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == outsz - 1)
			break;
	}
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errsz, "-driveSelector: wait: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsz, "-driveSelector %s failed (status %d)", prog, status);
		return -1;
	}
	return 0;
}

static int drives_select(const char *prog, struct inst_drive *drives, size_t *n, char *err,
			 size_t errsz)
{
	struct inst_drive chosen[INST_MAX_DRIVES];
	char out[4096], *save = NULL, *tok;
	size_t m = 0, i;

	if (selector_run(prog, drives, *n, out, sizeof(out), err, errsz) < 0)
		return -1;
	for (tok = strtok_r(out, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		size_t j;

		for (i = 0; i < *n && strcmp(drives[i].name, tok) != 0; i++)
			;
		if (i == *n) {
			snprintf(err, errsz, "-driveSelector: unknown drive %.64s", tok);
			return -1;
		}
		for (j = 0; j < m; j++)
			if (strcmp(chosen[j].name, tok) == 0)
				break;
		if (j < m) {
			snprintf(err, errsz, "-driveSelector: drive %.64s chosen twice", tok);
			return -1;
		}
		chosen[m++] = drives[i];
	}
	if (m == 0) {
		snprintf(err, errsz, "-driveSelector chose no drive");
		return -1;
	}
	memcpy(drives, chosen, m * sizeof(*drives));
	*n = m;
	return 0;
}

int inst_drives_find(const struct inst_ctx *ctx, struct inst_drive *drives, size_t max, size_t *n,
		     char *err, size_t errsz)
{
	int rc;

	*n = 0;
	if (max > INST_MAX_DRIVES)
		max = INST_MAX_DRIVES;
	if (inst_drives_override && inst_drives_override[0])
		rc = drives_named(ctx, inst_drives_override, drives, max, n, err, errsz);
	else
		rc = drives_scan(ctx, drives, max, n, err, errsz);
	if (rc < 0)
		return -1;
	if (*n == 0) {
		snprintf(err, errsz, "no drives found");
		return -1;
	}
	if (ctx->drive_selector && ctx->drive_selector[0])
		return drives_select(ctx->drive_selector, drives, n, err, errsz);
	return 0;
}

int inst_drive_part_dev(const struct inst_ctx *ctx, const struct inst_drive *d, unsigned num,
			char *out, size_t outsz)
{
	char path[PATH_MAX];
	size_t l = strlen(d->name);
	int p = l > 0 && d->name[l - 1] >= '0' && d->name[l - 1] <= '9';
	int w;

	snprintf(path, sizeof(path), "%s/class/block/%s/%sp%u", sysfs_dir(ctx), d->name, d->name,
		 num);
	if (access(path, F_OK) == 0)
		p = 1;
	w = snprintf(out, outsz, "%s%s%u", d->dev, p ? "p" : "", num);
	return w < 0 || (size_t)w >= outsz ? -ENAMETOOLONG : 0;
}
