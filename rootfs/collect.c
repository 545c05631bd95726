/* Host side of the image builder (see collect.h). */
#include "rootfs/collect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootfs/elf.h"

#define COLLECT_MAX_HOPS 40

extern char **environ;

static int errf(struct rootfs_collect *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int errf(struct rootfs_collect *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

int rootfs_strv_add(struct rootfs_strv *s, const char *str)
{
	char **v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	s->v = v;
	if ((s->v[s->n] = strdup(str)) == NULL)
		return -ENOMEM;
	s->n++;
	return 0;
}

void rootfs_strv_free(struct rootfs_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int read_file(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t r = 0;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (*text = malloc((size_t)st.st_size + 1)) == NULL) {
		int rc = errno ? -errno : -ENOMEM;

		close(fd);
		return rc;
	}
	while (got < (size_t)st.st_size &&
	       (r = read(fd, *text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	if (r < 0) {
		free(*text);
		return -EIO;
	}
	(*text)[got] = '\0';
	*len = got;
	return 0;
}

int rootfs_collect_init(struct rootfs_collect *c, struct rootfs_image *img, const char *moddir,
			const char *ldconf, const char *tmpdir)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->img = img;
	if ((c->tmpdir = strdup(tmpdir)) == NULL)
		return errf(c, -ENOMEM, "out of memory");
	if ((rc = rootfs_ldpath_load(&c->ld, ldconf)) < 0)
		return errf(c, rc, "read %s: %s", ldconf, strerror(-rc));
	if (moddir == NULL)
		return 0;
	if (strcmp(moddir, "builtin") == 0) {
		c->modules_builtin = true;
		return 0;
	}
	{
		char path[PATH_MAX], *text;
		const char *base = strrchr(moddir, '/');
		size_t len;
		unsigned bad = 0;

		c->moddir = strdup(moddir);
		c->kver = strdup(base ? base + 1 : moddir);
		c->moddb = rootfs_moddb_new();
		if (c->moddir == NULL || c->kver == NULL || c->moddb == NULL)
			return errf(c, -ENOMEM, "out of memory");
		snprintf(path, sizeof(path), "%s/modules.dep", moddir);
		if ((rc = read_file(path, &text, &len)) < 0)
			return errf(c, rc, "read %s: %s", path, strerror(-rc));
		rc = rootfs_moddb_parse_dep(c->moddb, text, len, &bad);
		free(text);
		if (rc < 0)
			return errf(c, rc, "%s:%u: cannot parse", path, bad);
		rootfs_strv_add(&c->inputs, path);
		snprintf(path, sizeof(path), "%s/modules.builtin", moddir);
		if (read_file(path, &text, &len) == 0) {
			rc = rootfs_moddb_parse_builtin(c->moddb, text, len);
			free(text);
			if (rc < 0)
				return errf(c, rc, "%s: cannot parse", path);
		}
	}
	return 0;
}

static void free_scanned(void *p)
{
	free(p);
}

void rootfs_collect_free(struct rootfs_collect *c)
{
	rootfs_ldpath_free(&c->ld);
	rootfs_moddb_free(c->moddb);
	free(c->moddir);
	free(c->kver);
	free(c->tmpdir);
	tdestroy(c->scanned, free_scanned);
	rootfs_strv_free(&c->inputs);
	rootfs_strv_free(&c->missing);
	rootfs_strv_free(&c->modules);
	memset(c, 0, sizeof(*c));
}

static int host_mode(const struct stat *st)
{
	return (st->st_mode & 0111) ? 0755 : 0644;
}

static int image_err(struct rootfs_collect *c, int rc, const char *what, const char *path)
{
	if (rc == -EEXIST)
		return errf(c, rc, "%s %s: a different entry already has this path in the image",
			    what, path);
	return errf(c, rc, "%s %s: %s", what, path, strerror(-rc));
}

/* Adds host file `path` at the same image path, replicating every symlink met on
 * the way (e.g. /lib -> usr/lib), so the image resolves it as the host does.
 * Writes the canonical host path of the file to canon. */
static int add_host_path(struct rootfs_collect *c, const char *path, int mode, char *canon)
{
	char cur[PATH_MAX], buf[PATH_MAX], target[PATH_MAX];
	size_t done = 0;
	int hops = 0, rc;

	if ((rc = rootfs_path_normalize(path, cur, sizeof(cur))) < 0)
		return errf(c, rc, "bad path %s", path);
	for (;;) {
		char *end = strchrnul(cur + done + 1, '/');
		char saved = *end;
		struct stat st;
		ssize_t tl;

		*end = '\0';
		if (lstat(cur, &st) < 0) {
			rc = -errno;
			*end = saved;
			return errf(c, rc, "%s: %s", path, strerror(-rc));
		}
		if (S_ISLNK(st.st_mode)) {
			if ((tl = readlink(cur, target, sizeof(target) - 1)) < 0)
				return errf(c, -errno, "readlink %s: %s", cur, strerror(errno));
			target[tl] = '\0';
			if ((rc = rootfs_image_add_symlink(c->img, cur, target)) < 0)
				return image_err(c, rc, "symlink", cur);
			*end = saved;
			if (++hops > COLLECT_MAX_HOPS)
				return errf(c, -ELOOP, "%s: too many symlinks", path);
			if (target[0] == '/')
				rc = snprintf(buf, sizeof(buf), "%s%s", target, end);
			else
				rc = snprintf(buf, sizeof(buf), "%.*s/%s%s", (int)done, cur, target,
					      end);
			if (rc < 0 || (size_t)rc >= sizeof(buf) ||
			    rootfs_path_normalize(buf, cur, sizeof(cur)) < 0)
				return errf(c, -ENAMETOOLONG, "%s: path too long", path);
			done = 0;
			continue;
		}
		*end = saved;
		if (saved == '\0') {
			if (!S_ISREG(st.st_mode))
				return errf(c, -EINVAL, "%s: not a regular file", path);
			if ((rc = rootfs_image_add_file(c->img, cur, cur,
							mode >= 0 ? mode : host_mode(&st))) < 0)
				return image_err(c, rc, "file", cur);
			memcpy(canon, cur, strlen(cur) + 1);
			return 0;
		}
		if (!S_ISDIR(st.st_mode))
			return errf(c, -ENOTDIR, "%s: not a directory on the way to %s", cur, path);
		done = (size_t)(end - cur);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int scan_elf(struct rootfs_collect *c, const char *host);

/* Adds a library or interpreter by host path and scans it in turn. */
static int add_dependency(struct rootfs_collect *c, const char *host, const char *needed_by)
{
	char canon[PATH_MAX];
	int rc = add_host_path(c, host, -1, canon);

	if (rc < 0) {
		char why[sizeof(c->err)];

		snprintf(why, sizeof(why), "%s", c->err);
		return errf(c, rc, "%s (needed by %s)", why, needed_by);
	}
	return scan_elf(c, canon);
}

static int scan_loaded(struct rootfs_collect *c, const char *host, const uint8_t *buf, size_t len)
{
	struct rootfs_elf elf;
	char origin[PATH_MAX], found[PATH_MAX];
	const char *slash = strrchr(host, '/');
	int rc = rootfs_elf_parse(buf, len, &elf);

	if (rc == -ENOTSUP)
		return 0;
	if (rc < 0)
		return errf(c, rc, "%s: malformed ELF file", host);
	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - host) : 0, host);
	if (elf.interp != NULL && (rc = add_dependency(c, elf.interp, host)) < 0)
		goto out;
	for (size_t i = 0; i < elf.n_needed; i++) {
		if (rootfs_ldpath_find(&c->ld, elf.needed[i], &elf, origin, found, sizeof(found)) <
		    0) {
			rc = errf(c, -ENOENT, "%s: shared library %s not found", host,
				  elf.needed[i]);
			goto out;
		}
		if ((rc = add_dependency(c, found, host)) < 0)
			goto out;
	}
	rc = 0;
out:
	rootfs_elf_free(&elf);
	return rc;
}

/* Scans a host file once: if it is a dynamically linked ELF object, adds its
 * interpreter and DT_NEEDED closure. */
static int scan_elf(struct rootfs_collect *c, const char *host)
{
	char *key = strdup(host);
	void **slot;
	struct stat st;
	void *map;
	int fd, rc;

	if (key == NULL)
		return errf(c, -ENOMEM, "out of memory");
	slot = tsearch(key, &c->scanned, cmp_str);
	if (slot == NULL) {
		free(key);
		return errf(c, -ENOMEM, "out of memory");
	}
	if (*slot != key) {
		free(key);
		return 0;
	}
	if ((rc = rootfs_strv_add(&c->inputs, host)) < 0)
		return errf(c, rc, "out of memory");
	fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return errf(c, rc, "open %s: %s", host, strerror(-rc));
	}
	if (st.st_size < 64) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return errf(c, -errno, "mmap %s: %s", host, strerror(errno));
	rc = rootfs_elf_is_elf(map, (size_t)st.st_size)
		 ? scan_loaded(c, host, map, (size_t)st.st_size)
		 : 0;
	munmap(map, (size_t)st.st_size);
	return rc;
}

/* Warns about what (the host source) and records the image path: manifest.json must
 * not depend on where the tree was built. */
static int missing_optional(struct rootfs_collect *c, const struct rootfs_entry *e,
			    const char *what)
{
	fprintf(stderr, "mkrootfs: warning: line %u: optional %s missing, skipped\n", e->line,
		what);
	return rootfs_strv_add(&c->missing, e->path) < 0 ? errf(c, -ENOMEM, "out of memory") : 0;
}

static int strip_elf(struct rootfs_collect *c, const char *how, const char *src, const char *dst);

/* True when path starts with the ELF magic. */
static bool host_is_elf(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool elf;

	if (fd < 0)
		return false;
	elf = read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0;
	close(fd);
	return elf;
}

static int add_file_entry(struct rootfs_collect *c, const struct rootfs_entry *e)
{
	char canon[PATH_MAX];
	struct stat st;
	int rc;

	if (e->source == NULL) {
		if (e->optional && lstat(e->path, &st) < 0 && errno == ENOENT)
			return missing_optional(c, e, e->path);
		if ((rc = add_host_path(c, e->path, e->mode, canon)) < 0)
			return rc;
		return scan_elf(c, canon);
	}
	if (realpath(e->source, canon) == NULL) {
		if (errno == ENOENT && e->optional)
			return missing_optional(c, e, e->source);
		return errf(c, -errno, "%s: %s", e->source, strerror(errno));
	}
	if (stat(canon, &st) < 0 || !S_ISREG(st.st_mode))
		return errf(c, -EINVAL, "%s: not a regular file", e->source);
	if (c->strip_binaries && host_is_elf(canon)) {
		char tmp[PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s/binary-%zu", c->tmpdir, c->n_stripped);
		if ((rc = strip_elf(c, "--strip-unneeded", canon, tmp)) < 0)
			return rc;
		c->n_stripped++;
		rc = rootfs_image_add_file(c->img, e->path, tmp,
					   e->mode >= 0 ? e->mode : host_mode(&st));
	} else {
		rc = rootfs_image_add_file(c->img, e->path, canon,
					   e->mode >= 0 ? e->mode : host_mode(&st));
	}
	if (rc < 0)
		return image_err(c, rc, "file", e->path);
	return scan_elf(c, canon);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies host directory `host` to image directory `dst`, entries in byte order. */
static int add_tree(struct rootfs_collect *c, const char *host, const char *dst, int depth)
{
	struct rootfs_strv names = {0};
	struct dirent *d;
	DIR *dir;
	int rc;

	if (depth > 64)
		return errf(c, -ELOOP, "%s: tree too deep", host);
	if ((rc = rootfs_image_add_dir(c->img, dst, -1)) < 0)
		return image_err(c, rc, "dir", dst);
	if ((dir = opendir(host)) == NULL)
		return errf(c, -errno, "opendir %s: %s", host, strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if ((rc = rootfs_strv_add(&names, d->d_name)) < 0) {
			closedir(dir);
			rootfs_strv_free(&names);
			return errf(c, rc, "out of memory");
		}
	}
	closedir(dir);
	qsort(names.v, names.n, sizeof(char *), cmp_name);
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		char hp[PATH_MAX], ip[PATH_MAX], target[PATH_MAX];
		struct stat st;
		ssize_t tl;

		if (snprintf(hp, sizeof(hp), "%s/%s", host, names.v[i]) >= (int)sizeof(hp) ||
		    snprintf(ip, sizeof(ip), "%s/%s", strcmp(dst, "/") ? dst : "", names.v[i]) >=
			(int)sizeof(ip)) {
			rc = errf(c, -ENAMETOOLONG, "%s/%s: path too long", host, names.v[i]);
			break;
		}
		if (lstat(hp, &st) < 0) {
			rc = errf(c, -errno, "%s: %s", hp, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_tree(c, hp, ip, depth + 1);
		} else if (S_ISLNK(st.st_mode)) {
			if ((tl = readlink(hp, target, sizeof(target) - 1)) < 0) {
				rc = errf(c, -errno, "readlink %s: %s", hp, strerror(errno));
			} else {
				target[tl] = '\0';
				if ((rc = rootfs_image_add_symlink(c->img, ip, target)) < 0)
					rc = image_err(c, rc, "symlink", ip);
			}
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = rootfs_image_add_file(c->img, ip, hp, host_mode(&st))) < 0)
				rc = image_err(c, rc, "file", ip);
			else
				rc = scan_elf(c, hp);
		} else {
			fprintf(
			    stderr,
			    "mkrootfs: warning: %s: not a file, directory or symlink, skipped\n",
			    hp);
		}
	}
	rootfs_strv_free(&names);
	return rc;
}

static int add_tree_entry(struct rootfs_collect *c, const struct rootfs_entry *e)
{
	char canon[PATH_MAX];
	struct stat st;

	if (realpath(e->source ? e->source : e->path, canon) == NULL) {
		if (errno == ENOENT && e->optional)
			return missing_optional(c, e, e->source ? e->source : e->path);
		return errf(c, -errno, "%s: %s", e->source ? e->source : e->path, strerror(errno));
	}
	if (stat(canon, &st) < 0 || !S_ISDIR(st.st_mode))
		return errf(c, -ENOTDIR, "%s: not a directory", canon);
	return add_tree(c, canon, e->path, 0);
}

static int add_module_entry(struct rootfs_collect *c, const struct rootfs_entry *e)
{
	int rc;

	if (c->modules_builtin)
		return 0;
	if (c->moddb == NULL)
		return errf(c, -EINVAL, "line %u: module %s but no module directory given", e->line,
			    e->path);
	rc = rootfs_moddb_closure(c->moddb, e->path);
	if (rc == -ENOENT && e->optional)
		return missing_optional(c, e, e->path);
	if (rc == -ENOENT)
		return errf(c, rc, "line %u: module %s not in %s/modules.dep nor built in", e->line,
			    e->path, c->moddir);
	if (rc < 0)
		return errf(c, rc, "module %s: %s", e->path, strerror(-rc));
	return 0;
}

int rootfs_collect_entry(struct rootfs_collect *c, const struct rootfs_entry *e)
{
	int rc;

	switch (e->kind) {
	case ROOTFS_DIR:
		if ((rc = rootfs_image_add_dir(c->img, e->path, e->mode)) < 0)
			return image_err(c, rc, "dir", e->path);
		return 0;
	case ROOTFS_SYMLINK:
		if ((rc = rootfs_image_add_symlink(c->img, e->path, e->source)) < 0)
			return image_err(c, rc, "symlink", e->path);
		return 0;
	case ROOTFS_NOD:
		rc = rootfs_image_add_nod(c->img, e->path,
					  e->nod_type == 'c' ? ROOTFS_NODE_CHR : ROOTFS_NODE_BLK,
					  e->major, e->minor, e->mode);
		return rc < 0 ? image_err(c, rc, "nod", e->path) : 0;
	case ROOTFS_FILE:
		return add_file_entry(c, e);
	case ROOTFS_TREE:
		return add_tree_entry(c, e);
	case ROOTFS_MODULE:
		return add_module_entry(c, e);
	}
	return errf(c, -EINVAL, "unknown entry kind");
}

/* objcopy --strip-debug|--strip-unneeded --remove-section=.BTF src dst. Both keep
 * modules loadable: the loader needs the relocations and the symbols they name,
 * which --strip-unneeded keeps; what goes are debug info, BTF and the local symbols
 * kallsyms would show for the module's static functions. Binaries (strip-binaries)
 * always get --strip-unneeded: what stays is what the dynamic loader needs. */
static int strip_elf(struct rootfs_collect *c, const char *how, const char *src, const char *dst)
{
	char *argv[] = {"objcopy",   (char *)how, "--remove-section=.BTF",
			(char *)src, (char *)dst, NULL};
	pid_t pid;
	int status, rc;

	rc = posix_spawnp(&pid, "objcopy", NULL, NULL, argv, environ);
	if (rc != 0)
		return errf(c, -rc, "run objcopy: %s", strerror(rc));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return errf(c, -EIO, "objcopy %s failed", src);
	return 0;
}

int rootfs_collect_modules(struct rootfs_collect *c)
{
	char *dep, *list;
	size_t n, size = 1, o = 0;
	int rc;

	if (c->moddb == NULL)
		return 0;
	n = rootfs_moddb_order_len(c->moddb);
	for (size_t i = 0; i < n; i++) {
		const char *rel = rootfs_moddb_order_path(c->moddb, i);
		char src[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];

		snprintf(src, sizeof(src), "%s/%s", c->moddir, rel);
		snprintf(dst, sizeof(dst), "/lib/modules/%s/%s", c->kver, rel);
		if ((rc = rootfs_strv_add(&c->inputs, src)) < 0 ||
		    (rc = rootfs_strv_add(&c->modules, rel)) < 0)
			return errf(c, rc, "out of memory");
		if (c->strip_modules != ROOTFS_STRIP_NO) {
			snprintf(tmp, sizeof(tmp), "%s/module-%zu.ko", c->tmpdir, i);
			if ((rc = strip_elf(c,
					    c->strip_modules == ROOTFS_STRIP_UNNEEDED
						? "--strip-unneeded"
						: "--strip-debug",
					    src, tmp)) < 0)
				return rc;
			memcpy(src, tmp, strlen(tmp) + 1);
		}
		if ((rc = rootfs_image_add_file(c->img, dst, src, 0644)) < 0)
			return image_err(c, rc, "module", dst);
		size += strlen(rel) + 1;
	}
	if ((dep = rootfs_moddb_order_dep_text(c->moddb)) == NULL ||
	    (list = malloc(size)) == NULL) {
		free(dep);
		return errf(c, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const char *rel = rootfs_moddb_order_path(c->moddb, i);
		size_t l = strlen(rel);

		memcpy(list + o, rel, l);
		o += l;
		list[o++] = '\n';
	}
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", c->kver);
		rc = rootfs_image_add_data(c->img, path, dep, strlen(dep), 0644);
		if (rc == 0)
			rc = rootfs_image_add_data(c->img, "/etc/modules-load", list, o, 0644);
		if (rc < 0)
			rc = image_err(c, rc, "file", path);
	}
	free(dep);
	free(list);
	return rc;
}
