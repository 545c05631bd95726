/* image/scan: a directory tree -> FileSystem. An lstat walk through directory fds,
 * entries sorted bytewise, inode numbers given in walk order from 1 (the original uses
 * st_ino, which is neither small nor stable), hard links found by (dev, ino); then every
 * regular inode's content hashed once, with progress. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image/scan.h"

#define SCAN_BUF (128u << 10)

struct link_slot {
	dev_t dev;
	ino_t ino;
	uint64_t number; /* 0 = empty */
};

struct scanner {
	struct image_fs *fs;
	size_t cap;
	char **paths; /* per inode index: the file to hash (regular, Size > 0) */
	struct link_slot *links;
	size_t nlinks_cap, nlinks;
	const char *root;
	char rel[IMAGE_PATH_MAX + 1];
	char *err;
	size_t errsz;
};

static int scan_err(struct scanner *sc, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int scan_err(struct scanner *sc, int rc, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (sc->err && sc->errsz) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(sc->err, sc->errsz, "scan %s%s%s: %s", sc->root, *sc->rel ? "/" : "",
			 sc->rel, what);
	}
	return rc;
}

static int file_err(struct scanner *sc, int rc, const char *path, const char *what)
{
	if (sc->err && sc->errsz)
		snprintf(sc->err, sc->errsz, "scan %s: %s", path, what);
	return rc;
}

static size_t link_hash(dev_t dev, ino_t ino, size_t mask)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & mask;
}

static struct link_slot *link_find(struct scanner *sc, dev_t dev, ino_t ino)
{
	size_t mask = sc->nlinks_cap - 1;

	if (!sc->nlinks_cap)
		return NULL;
	for (size_t i = link_hash(dev, ino, mask);; i = (i + 1) & mask) {
		struct link_slot *s = &sc->links[i];

		if (!s->number || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int link_add(struct scanner *sc, dev_t dev, ino_t ino, uint64_t number)
{
	struct link_slot *s;

	if (2 * (sc->nlinks + 1) > sc->nlinks_cap) {
		size_t ncap = sc->nlinks_cap ? 2 * sc->nlinks_cap : 64;
		struct link_slot *old = sc->links;
		size_t ocap = sc->nlinks_cap;

		sc->links = calloc(ncap, sizeof(*sc->links));
		if (!sc->links) {
			sc->links = old;
			return -ENOMEM;
		}
		sc->nlinks_cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].number)
				*link_find(sc, old[i].dev, old[i].ino) = old[i];
		free(old);
	}
	s = link_find(sc, dev, ino);
	*s = (struct link_slot){dev, ino, number};
	sc->nlinks++;
	return 0;
}

/* A new inode at the end of the table (numbers are table index + 1). */
static struct image_inode *new_inode(struct scanner *sc, const struct stat *sb)
{
	struct image_fs *fs = sc->fs;
	struct image_inode *ino;

	if (fs->n_inodes >= IMAGE_MAX_INODES)
		return NULL;
	if (fs->n_inodes == sc->cap) {
		size_t ncap = sc->cap ? 2 * sc->cap : 256;
		struct image_inode *ni = realloc(fs->inodes, ncap * sizeof(*ni));
		char **np;

		if (!ni)
			return NULL;
		fs->inodes = ni;
		np = realloc(sc->paths, ncap * sizeof(*np));
		if (!np)
			return NULL;
		sc->paths = np;
		sc->cap = ncap;
	}
	ino = &fs->inodes[fs->n_inodes];
	memset(ino, 0, sizeof(*ino));
	sc->paths[fs->n_inodes] = NULL;
	ino->number = ++fs->n_inodes;
	ino->mode = (uint32_t)sb->st_mode;
	ino->uid = sb->st_uid;
	ino->gid = sb->st_gid;
	ino->mtime_sec = sb->st_mtim.tv_sec;
	ino->mtime_nsec = (int32_t)sb->st_mtim.tv_nsec;
	return ino;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted bytewise (strcmp compares unsigned bytes). */
static int read_names(int fd, char ***out, size_t *n)
{
	size_t cap = 0;
	char **names = NULL;
	struct dirent *de;
	int dfd = dup(fd), rc = 0;
	DIR *d;

	*n = 0;
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*nn));

			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
		}
		if (!(names[*n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		++*n;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), name_cmp);
	*out = names;
	return rc;
}

static int scan_dir(struct scanner *sc, int fd, struct image_inode *dir, size_t dir_idx,
		    size_t plen, unsigned depth);

/* One entry: its inode number into *number (new or, for a hard link, the first). */
static int scan_entry(struct scanner *sc, int fd, const char *name, size_t plen, unsigned depth,
		      uint64_t *number)
{
	struct image_inode *ino;
	struct link_slot *ls;
	struct stat sb;
	char target[IMAGE_PATH_MAX + 1];
	ssize_t tn;
	int cfd, rc;

	if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return scan_err(sc, -errno, "%s", strerror(errno));
	if (S_ISSOCK(sb.st_mode))
		return scan_err(sc, -EINVAL, "socket refused");
	ls = link_find(sc, sb.st_dev, sb.st_ino);
	if (ls && ls->number) {
		if (S_ISDIR(sb.st_mode))
			return scan_err(sc, -ELOOP, "hard-linked directory refused");
		*number = ls->number;
		return 0;
	}
	ino = new_inode(sc, &sb);
	if (!ino)
		return scan_err(sc, sc->fs->n_inodes >= IMAGE_MAX_INODES ? -E2BIG : -ENOMEM, "%s",
				sc->fs->n_inodes >= IMAGE_MAX_INODES ? "too many inodes"
								     : "out of memory");
	*number = ino->number;
	if ((S_ISDIR(sb.st_mode) || sb.st_nlink > 1) &&
	    link_add(sc, sb.st_dev, sb.st_ino, ino->number) < 0)
		return scan_err(sc, -ENOMEM, "out of memory");
	switch (sb.st_mode & S_IFMT) {
	case S_IFREG:
		ino->kind = IMAGE_INODE_REGULAR;
		ino->size = (uint64_t)sb.st_size;
		if (ino->size &&
		    asprintf(&sc->paths[ino->number - 1], "%s/%s", sc->root, sc->rel) < 0) {
			sc->paths[ino->number - 1] = NULL;
			return scan_err(sc, -ENOMEM, "out of memory");
		}
		return 0;
	case S_IFLNK:
		ino->kind = IMAGE_INODE_SYMLINK;
		ino->mode = 0;
		ino->mtime_sec = ino->mtime_nsec = 0;
		tn = readlinkat(fd, name, target, sizeof(target));
		if (tn < 0)
			return scan_err(sc, -errno, "%s", strerror(errno));
		if ((size_t)tn >= IMAGE_PATH_MAX || tn == 0)
			return scan_err(sc, -ENAMETOOLONG, "symlink target too long");
		target[tn] = '\0';
		ino->symlink = strdup(target);
		return ino->symlink ? 0 : scan_err(sc, -ENOMEM, "out of memory");
	case S_IFDIR:
		ino->kind = IMAGE_INODE_DIRECTORY;
		ino->mtime_sec = ino->mtime_nsec = 0;
		if (depth + 1 > IMAGE_DEPTH_MAX)
			return scan_err(sc, -ELOOP, "nested deeper than %d", IMAGE_DEPTH_MAX);
		cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return scan_err(sc, -errno, "%s", strerror(errno));
		rc = scan_dir(sc, cfd, NULL, ino->number - 1, plen, depth + 1);
		close(cfd);
		return rc;
	default:
		ino->kind = IMAGE_INODE_SPECIAL;
		ino->rdev = sb.st_rdev;
		return 0;
	}
}

/* Scans the directory open at fd whose relative path fills sc->rel[0..plen). dir is the
 * root, or NULL for the table's inode dir_idx (the table moves while scanning). */
static int scan_dir(struct scanner *sc, int fd, struct image_inode *dir, size_t dir_idx,
		    size_t plen, unsigned depth)
{
	struct image_dirent *entries = NULL;
	size_t n = 0, done = 0;
	char **names = NULL;
	int rc = read_names(fd, &names, &n);

	if (rc < 0) {
		sc->rel[plen] = '\0';
		scan_err(sc, rc, "%s", strerror(-rc));
		goto out;
	}
	if (n && !(entries = calloc(n, sizeof(*entries)))) {
		rc = scan_err(sc, -ENOMEM, "out of memory");
		goto out;
	}
	for (; done < n; done++) {
		size_t len = strlen(names[done]), np = plen + (plen > 0) + len;

		if (np > IMAGE_PATH_MAX) {
			rc = scan_err(sc, -ENAMETOOLONG, "path longer than %d bytes",
				      IMAGE_PATH_MAX);
			break;
		}
		if (plen)
			sc->rel[plen] = '/';
		memcpy(sc->rel + plen + (plen > 0), names[done], len + 1);
		entries[done].name = names[done];
		names[done] = NULL;
		rc = scan_entry(sc, fd, entries[done].name, np, depth, &entries[done].inode);
		sc->rel[plen] = '\0';
		if (rc < 0) {
			done++;
			break;
		}
	}
	if (!dir)
		dir = &sc->fs->inodes[dir_idx];
	dir->entries = entries;
	dir->n_entries = done;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Hashes every regular inode's file once, exactly Size bytes. */
static int hash_files(struct scanner *sc, image_scan_progress_fn progress, void *arg)
{
	struct image_hasher *hs = image_hasher_new();
	char *buf = malloc(SCAN_BUF);
	uint64_t total = 0, done = 0;
	int rc = 0;

	if (!hs || !buf) {
		rc = scan_err(sc, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sc->fs->n_inodes; i++)
		if (sc->paths[i])
			total += sc->fs->inodes[i].size;
	for (size_t i = 0; i < sc->fs->n_inodes && !rc; i++) {
		struct image_inode *ino = &sc->fs->inodes[i];
		uint64_t left = ino->size;
		int fd;

		if (!sc->paths[i])
			continue;
		fd = open(sc->paths[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = file_err(sc, -errno, sc->paths[i], strerror(errno));
			break;
		}
		while (left > 0) {
			ssize_t n =
			    fsutil_read_all(fd, buf, left < SCAN_BUF ? (size_t)left : SCAN_BUF);

			if (n <= 0) {
				rc = file_err(sc, n < 0 ? (int)n : -EIO, sc->paths[i],
					      n < 0 ? strerror((int)-n) : "file shrank while read");
				break;
			}
			image_hasher_update(hs, buf, (size_t)n);
			left -= (uint64_t)n;
			done += (uint64_t)n;
			if (progress)
				progress(done, total, arg);
		}
		close(fd);
		image_hasher_final(hs, &ino->hash);
	}
out:
	free(buf);
	image_hasher_free(hs);
	return rc;
}

/* The distinct hashes in first-seen (inode) order, each with one file holding it. */
static int collect_objects(struct scanner *sc, struct image_scan *out)
{
	size_t cap = 64, mask;
	size_t *slots;

	while (cap < 2 * sc->fs->n_inodes + 2)
		cap *= 2;
	mask = cap - 1;
	slots = calloc(cap, sizeof(*slots));
	out->objects = calloc(sc->fs->n_inodes + 1, sizeof(*out->objects));
	if (!slots || !out->objects) {
		free(slots);
		return scan_err(sc, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < sc->fs->n_inodes; i++) {
		const struct image_inode *ino = &sc->fs->inodes[i];
		size_t h;

		if (!sc->paths[i])
			continue;
		memcpy(&h, ino->hash.b, sizeof(h));
		for (h &= mask; slots[h]; h = (h + 1) & mask)
			if (image_hash_equal(&out->objects[slots[h] - 1].hash, &ino->hash))
				break;
		if (slots[h])
			continue;
		out->objects[out->n_objects] =
		    (struct image_scan_object){ino->hash, ino->size, sc->paths[i]};
		sc->paths[i] = NULL;
		slots[h] = ++out->n_objects;
	}
	free(slots);
	return 0;
}

int image_scan_dir(const char *dir, struct image_scan *out, image_scan_progress_fn progress,
		   void *arg, char *err, size_t errsz)
{
	struct scanner sc = {.fs = &out->fs, .root = dir, .err = err, .errsz = errsz};
	struct stat sb;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		rc = scan_err(&sc, -errno, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	out->fs.root.kind = IMAGE_INODE_DIRECTORY;
	out->fs.root.mode = (uint32_t)sb.st_mode;
	out->fs.root.uid = sb.st_uid;
	out->fs.root.gid = sb.st_gid;
	rc = scan_dir(&sc, fd, &out->fs.root, 0, 0, 0);
	close(fd);
	if (!rc)
		rc = hash_files(&sc, progress, arg);
	if (!rc)
		rc = collect_objects(&sc, out);
	for (size_t i = 0; i < out->fs.n_inodes; i++)
		free(sc.paths[i]);
	free(sc.paths);
	free(sc.links);
	if (rc < 0) {
		image_scan_free(out);
		return rc;
	}
	image_fs_count(&out->fs);
	return 0;
}

void image_scan_free(struct image_scan *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->n_objects; i++)
		free(sc->objects[i].path);
	free(sc->objects);
	image_fs_free(&sc->fs);
	memset(sc, 0, sizeof(*sc));
}
