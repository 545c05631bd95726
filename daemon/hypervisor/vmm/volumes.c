/* Volume directories, placement and volume files (see volumes.h). */
#include "daemon/hypervisor/vmm/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fsutil.h"

#define GIB (1ULL << 30)

/* The mount entry (longest mount point prefix) of path in /proc/mounts. */
static void find_mount(const char *path, char **mount_point, bool *can_trim)
{
	FILE *f = fopen("/proc/mounts", "r");
	char dev[512], mp[4096], type[64], opts[1024];
	size_t best = 0;

	*mount_point = NULL;
	*can_trim = false;
	if (f == NULL)
		return;
	while (fscanf(f, "%511s %4095s %63s %1023s %*d %*d", dev, mp, type, opts) == 4) {
		size_t len = strlen(mp);

		if (strncmp(path, mp, len) != 0 ||
		    (path[len] != '/' && path[len] != '\0' && len != 1))
			continue;
		if (len < best)
			continue;
		best = len;
		free(*mount_point);
		*mount_point = strdup(mp);
		*can_trim = strstr(opts, "discard") != NULL;
	}
	fclose(f);
}

static int add_dir(struct volumes *vols, const char *path)
{
	struct volumes_dir *v = realloc(vols->v, (vols->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	vols->v = v;
	memset(&v[vols->n], 0, sizeof(v[0]));
	v[vols->n].path = strdup(path);
	if (v[vols->n].path == NULL)
		return -ENOMEM;
	find_mount(path, &v[vols->n].mount_point, &v[vols->n].can_trim);
	vols->n++;
	return 0;
}

/* The block device name behind /dev/<x>: resolves symlinks and a single slave of a
 * device-mapper/md device. */
static void device_name(const char *dev, char *out, size_t sz)
{
	char real[PATH_MAX], slaves[PATH_MAX + 64], *base;
	DIR *d;

	out[0] = '\0';
	if (realpath(dev, real) == NULL)
		return;
	base = strrchr(real, '/');
	if (snprintf(out, sz, "%s", base ? base + 1 : real) >= (int)sz) {
		out[0] = '\0';
		return;
	}
	snprintf(slaves, sizeof(slaves), "/sys/class/block/%s/slaves", out);
	d = opendir(slaves);
	if (d != NULL) {
		struct dirent *e;
		char only[256] = "";
		int n = 0;

		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.') {
				n++;
				snprintf(only, sizeof(only), "%s", e->d_name);
			}
		closedir(d);
		if (n == 1)
			snprintf(out, sz, "%s", only);
	}
}

/* The parent disk of a partition ("" for a whole disk). */
static void parent_disk(const char *name, char *out, size_t sz)
{
	char p[PATH_MAX], real[PATH_MAX], *slash;

	out[0] = '\0';
	snprintf(p, sizeof(p), "/sys/class/block/%s/partition", name);
	if (access(p, F_OK) != 0)
		return;
	snprintf(p, sizeof(p), "/sys/class/block/%s", name);
	if (realpath(p, real) == NULL)
		return;
	slash = strrchr(real, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	slash = strrchr(real, '/');
	if (snprintf(out, sz, "%s", slash ? slash + 1 : real) >= (int)sz)
		out[0] = '\0';
}

struct candidate {
	char dev[256], parent[256], mp[PATH_MAX];
	uint64_t size;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* §5 auto-detection: one directory per whole disk, or per parent disk the largest
 * mounted partition; <mount point>/hyper-volumes. */
static int autodetect(struct volumes *vols)
{
	FILE *f = fopen("/proc/mounts", "r");
	struct candidate *c = NULL;
	size_t n = 0;
	char dev[512], mp[PATH_MAX], **paths = NULL;
	size_t npaths = 0;
	int rc = 0;

	if (f == NULL)
		return -errno;
	while (fscanf(f, "%511s %4095s %*s %*s %*d %*d", dev, mp) == 2) {
		struct candidate x = {0};
		struct statvfs st;
		bool dup = false;

		if (strncmp(dev, "/dev/", 5) != 0 || strcmp(dev, "/dev/root") == 0 ||
		    strcmp(mp, "/boot") == 0)
			continue;
		device_name(dev, x.dev, sizeof(x.dev));
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(c[i].dev, x.dev) == 0;
		if (dup || x.dev[0] == '\0' || statvfs(mp, &st) != 0)
			continue;
		parent_disk(x.dev, x.parent, sizeof(x.parent));
		snprintf(x.mp, sizeof(x.mp), "%s", mp);
		x.size = (uint64_t)st.f_blocks * st.f_frsize;
		struct candidate *nc = realloc(c, (n + 1) * sizeof(*c));
		if (nc == NULL) {
			rc = -ENOMEM;
			break;
		}
		c = nc;
		c[n++] = x;
	}
	fclose(f);
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool keep = true;
		char path[PATH_MAX + 16];

		for (size_t k = 0; k < n && c[i].parent[0]; k++)
			if (k != i && strcmp(c[k].parent, c[i].parent) == 0 &&
			    (c[k].size > c[i].size || (k < i && c[k].size == c[i].size)))
				keep = false;
		if (!keep)
			continue;
		snprintf(path, sizeof(path), "%s%shyper-volumes", c[i].mp,
			 strcmp(c[i].mp, "/") == 0 ? "" : "/");
		char **np = realloc(paths, (npaths + 1) * sizeof(*paths));
		if (np == NULL || (np[npaths] = strdup(path)) == NULL) {
			paths = np ? np : paths;
			rc = -ENOMEM;
			break;
		}
		paths = np;
		npaths++;
	}
	free(c);
	qsort(paths, npaths, sizeof(*paths), cmp_str);
	for (size_t i = 0; i < npaths; i++) {
		if (rc == 0)
			rc = add_dir(vols, paths[i]);
		free(paths[i]);
	}
	free(paths);
	return rc;
}

int volumes_init(struct volumes *vols, char *const *given, size_t ngiven, char *err, size_t errsz)
{
	int rc = 0;

	memset(vols, 0, sizeof(*vols));
	for (size_t i = 0; i < ngiven && rc == 0; i++)
		rc = add_dir(vols, given[i]);
	if (rc == 0 && ngiven == 0)
		rc = autodetect(vols);
	if (rc == 0 && vols->n == 0) {
		snprintf(err, errsz, "no volume directories available");
		return -ENOENT;
	}
	for (size_t i = 0; i < vols->n && rc == 0; i++) {
		rc = fsutil_mkdir_p(vols->v[i].path, 0755);
		if (rc < 0)
			snprintf(err, errsz, "mkdir %s: %s", vols->v[i].path, strerror(-rc));
	}
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errsz, "out of memory");
		volumes_clear(vols);
	}
	return rc;
}

void volumes_clear(struct volumes *vols)
{
	for (size_t i = 0; i < vols->n; i++) {
		free(vols->v[i].path);
		free(vols->v[i].mount_point);
	}
	free(vols->v);
	memset(vols, 0, sizeof(*vols));
}

int volumes_space(const struct volumes *vols, size_t i, struct volumes_space *out)
{
	struct statvfs st;

	if (statvfs(vols->v[i].path, &st) < 0)
		return -errno;
	out->available = (uint64_t)st.f_bavail * st.f_frsize;
	out->free = (uint64_t)st.f_bfree * st.f_frsize;
	out->size = (uint64_t)st.f_blocks * st.f_frsize;
	out->usable = out->available;
	/* Leave the root file system some room. */
	if (vols->v[i].mount_point && strcmp(vols->v[i].mount_point, "/") == 0)
		out->usable = out->usable > GIB ? out->usable - GIB : 0;
	if (vols->reserve != NULL) {
		uint64_t r = vols->reserve(vols->reserve_arg, i);

		out->usable = out->usable > r ? out->usable - r : 0;
	}
	return 0;
}

uint64_t volumes_total_bytes(const struct volumes *vols)
{
	uint64_t total = 0;

	for (size_t i = 0; i < vols->n; i++) {
		struct volumes_space s;

		if (volumes_space(vols, i, &s) == 0)
			total += s.size;
	}
	return total;
}

int volumes_index_of(const struct volumes *vols, const char *file)
{
	for (size_t i = 0; i < vols->n; i++) {
		size_t len = strlen(vols->v[i].path);

		if (strncmp(file, vols->v[i].path, len) == 0 && file[len] == '/')
			return (int)i;
	}
	return -1;
}

int volumes_place(const struct volumes *vols, uint64_t size, int pin, size_t start,
		  uint64_t *allocated)
{
	for (size_t k = 0; k < vols->n; k++) {
		size_t i = pin >= 0 ? (size_t)pin : (start + k) % vols->n;
		struct volumes_space s;
		uint64_t room;

		if (i >= vols->n || volumes_space(vols, i, &s) < 0)
			return -ENOSPC;
		room = s.size > allocated[i] ? s.size - allocated[i] : 0;
		if (s.usable < room)
			room = s.usable;
		if (size < room) {
			allocated[i] += size;
			return (int)i;
		}
		if (pin >= 0)
			break;
	}
	return -ENOSPC;
}

int volumes_create_empty(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (size > INT64_MAX)
		rc = -EFBIG;
	else if (posix_fallocate(fd, 0, (off_t)size) != 0 && ftruncate(fd, (off_t)size) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}

uint64_t volumes_qcow2_virtual_size(int fd)
{
	uint8_t h[32];
	uint64_t size = 0;

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4) != 0)
		return 0;
	for (int i = 24; i < 32; i++)
		size = size << 8 | h[i];
	return size;
}

static void reportf(volumes_report_fn report, void *arg, bool missing, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reportf(volumes_report_fn report, void *arg, bool missing, const char *fmt, ...)
{
	char line[4352];
	va_list ap;

	if (report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report(arg, missing, line);
}

int volumes_check(const struct hvapi_local_vm_info *info, bool repair, uint64_t *increase,
		  volumes_report_fn report, void *arg)
{
	int findings = 0;

	for (size_t i = 0; i < info->volume_locations.n; i++) {
		const char *file = api_str(info->volume_locations.v[i].filename);
		const struct hvapi_volume *vol =
		    i < info->vm.volumes.n ? &info->vm.volumes.v[i] : NULL;
		uint64_t want, have;
		struct stat st;

		if (vol == NULL) {
			reportf(report, arg, false, "%s: no volume record", file);
			findings++;
			continue;
		}
		if (stat(file, &st) < 0) {
			reportf(report, arg, errno == ENOENT, "%s: %s", file, strerror(errno));
			findings++;
			continue;
		}
		if ((uint64_t)st.st_size != vol->size) {
			reportf(report, arg, false, "%s size: %" PRIu64 " should be: %" PRIu64,
				file, (uint64_t)st.st_size, vol->size);
			findings++;
			continue;
		}
		if (vol->format == HVAPI_VOLUME_FORMAT_QCOW2)
			continue;
		want = (vol->size + 511) / 512;
		have = (uint64_t)st.st_blocks;
		if (have >= want)
			continue;
		reportf(report, arg, false, "%s alloc: %" PRIu64 " should be: %" PRIu64, file,
			have * 512, want * 512);
		findings++;
		*increase += (want - have) * 512;
		if (repair) {
			int fd = open(file, O_WRONLY | O_CLOEXEC);
			int rc = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)vol->size);

			if (fd >= 0)
				close(fd);
			if (rc != 0) {
				reportf(report, arg, false, "%s: fallocate: %s", file,
					strerror(rc));
				return -rc;
			}
		}
	}
	return findings;
}
