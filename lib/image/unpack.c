/* image/unpack: a FileSystem -> a directory tree built in "<dest>.tmp-<pid>" and renamed
 * to dest when complete. Everything is created relative to directory fds (mkdirat,
 * openat O_CREAT|O_EXCL|O_NOFOLLOW, linkat, symlinkat, mknodat), so neither a hostile
 * name nor a symlink the image holds can send a write outside; contents are verified
 * against their hash while copied; directory modes are applied after their contents. */
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
#include "image/unpack.h"

#define UNPACK_BUF (128u << 10)

struct unpacker {
	const struct image_fs *fs;
	struct objstore *st;
	unsigned flags;
	bool root_user;
	image_unpack_progress_fn progress;
	void *arg;
	uint64_t done, total;
	int rootfd;
	uint8_t *refs; /* per inode index: references, saturating at 2 */
	uint8_t *made; /* per inode index: created already */
	char **first;  /* per inode index: path of the first link (refs > 1) */
	size_t *slots; /* IMAGE_UNPACK_LINK: inodes linked from the store (index + 1) */
	size_t nslots;
	char *buf;
	struct image_hasher *hs;
	char rel[IMAGE_PATH_MAX + 1];
	char *err;
	size_t errsz;
};

static int unpack_err(struct unpacker *u, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int unpack_err(struct unpacker *u, int rc, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	if (u->err && u->errsz) {
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(u->err, u->errsz, "unpack %s: %s", *u->rel ? u->rel : ".", what);
	}
	return rc;
}

/* Reads the object into fd (when fd >= 0) or just hashes it, checking size and hash. */
static int copy_verify(struct unpacker *u, int sfd, int fd, const struct image_inode *ino)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	struct image_hash got;
	uint64_t left = ino->size;
	int rc;

	image_hash_hex(&ino->hash, hex);
	while (left > 0) {
		ssize_t n =
		    fsutil_read_all(sfd, u->buf, left < UNPACK_BUF ? (size_t)left : UNPACK_BUF);

		if (n <= 0)
			return unpack_err(u, n < 0 ? (int)n : -EBADMSG, "object %s: %s", hex,
					  n < 0 ? strerror((int)-n) : "shorter than its size");
		image_hasher_update(u->hs, u->buf, (size_t)n);
		if (fd >= 0 && (rc = fsutil_write_all(fd, u->buf, (size_t)n)) < 0)
			return unpack_err(u, rc, "%s", strerror(-rc));
		left -= (uint64_t)n;
		u->done += (uint64_t)n;
		if (u->progress)
			u->progress(u->done, u->total, u->arg);
	}
	image_hasher_final(u->hs, &got);
	if (fsutil_read_all(sfd, u->buf, 1) != 0 || !image_hash_equal(&got, &ino->hash))
		return unpack_err(u, -EBADMSG, "object %s: hash mismatch", hex);
	return 0;
}

static size_t hash_slot(const struct image_hash *h, size_t mask)
{
	size_t v;

	memcpy(&v, h->b, sizeof(v));
	return v & mask;
}

/* Has another inode of the same content taken the store's object already? (Two
 * inodes must not become one.) A set of inode indexes keyed by hash. */
static bool content_linked(const struct unpacker *u, const struct image_inode *ino)
{
	for (size_t i = hash_slot(&ino->hash, u->nslots - 1); u->slots[i];
	     i = (i + 1) & (u->nslots - 1))
		if (image_hash_equal(&u->fs->inodes[u->slots[i] - 1].hash, &ino->hash))
			return true;
	return false;
}

static void mark_linked(struct unpacker *u, const struct image_inode *ino)
{
	size_t i = hash_slot(&ino->hash, u->nslots - 1);

	while (u->slots[i])
		i = (i + 1) & (u->nslots - 1);
	u->slots[i] = (size_t)(ino - u->fs->inodes) + 1;
}

/* Hard-links the object from the store, then reads the link once to verify it. Returns
 * the new file's fd, -EXDEV (and the like) to fall back to a copy, or an error. */
static int link_object(struct unpacker *u, int dirfd, const char *name,
		       const struct image_inode *ino)
{
	char path[4096 + IMAGE_HASH_HEXLEN];
	int fd, rc;

	if (objstore_path(u->st, &ino->hash, path, sizeof(path)) < 0 ||
	    linkat(AT_FDCWD, path, dirfd, name, 0) < 0)
		return errno == ENOENT ? -ENOENT : -EXDEV;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unpack_err(u, -errno, "%s", strerror(errno));
	rc = copy_verify(u, fd, -1, ino);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	mark_linked(u, ino);
	return fd;
}

/* Creates a regular file with its content; returns its fd (for the metadata). */
static int make_regular(struct unpacker *u, int dirfd, const char *name,
			const struct image_inode *ino)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	uint64_t size;
	int fd, sfd, rc;

	if (ino->size && (u->flags & IMAGE_UNPACK_LINK) && !content_linked(u, ino)) {
		fd = link_object(u, dirfd, name, ino);
		if (fd >= 0 || (fd != -EXDEV && fd != -ENOENT))
			return fd;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return unpack_err(u, -errno, "%s", strerror(errno));
	if (!ino->size)
		return fd;
	image_hash_hex(&ino->hash, hex);
	sfd = objstore_open_object(u->st, &ino->hash, &size);
	if (sfd < 0) {
		close(fd);
		return unpack_err(u, sfd, "object %s: %s", hex,
				  sfd == -ENOENT ? "not in the store" : strerror(-sfd));
	}
	rc = size == ino->size
		 ? copy_verify(u, sfd, fd, ino)
		 : unpack_err(u, -EBADMSG, "object %s: size %llu, want %llu", hex,
			      (unsigned long long)size, (unsigned long long)ino->size);
	close(sfd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Owner (as root), permission bits and, for files, the mtime, through an open fd. */
static int set_meta(struct unpacker *u, int fd, const struct image_inode *ino)
{
	struct timespec ts[2] = {{ino->mtime_sec, ino->mtime_nsec},
				 {ino->mtime_sec, ino->mtime_nsec}};

	if (u->root_user && fchown(fd, ino->uid, ino->gid) < 0)
		return unpack_err(u, -errno, "chown: %s", strerror(errno));
	if (fchmod(fd, ino->mode & 07777) < 0)
		return unpack_err(u, -errno, "chmod: %s", strerror(errno));
	if (ino->kind != IMAGE_INODE_DIRECTORY && futimens(fd, ts) < 0)
		return unpack_err(u, -errno, "utimens: %s", strerror(errno));
	return 0;
}

static int make_special(struct unpacker *u, int dirfd, const char *name,
			const struct image_inode *ino)
{
	struct timespec ts[2] = {{ino->mtime_sec, ino->mtime_nsec},
				 {ino->mtime_sec, ino->mtime_nsec}};

	/* Devices need root; FIFOs do not. 1: skipped. */
	if (!u->root_user && !S_ISFIFO(ino->mode))
		return 1;
	if (mknodat(dirfd, name, ino->mode & (S_IFMT | 07777), (dev_t)ino->rdev) < 0)
		return unpack_err(u, -errno, "mknod: %s", strerror(errno));
	if (u->root_user && fchownat(dirfd, name, ino->uid, ino->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return unpack_err(u, -errno, "chown: %s", strerror(errno));
	/* The name is what mknodat just made in our own directory: not a symlink. */
	if (fchmodat(dirfd, name, ino->mode & 07777, 0) < 0 ||
	    utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return unpack_err(u, -errno, "%s", strerror(errno));
	return 0;
}

static int unpack_dir(struct unpacker *u, int dirfd, const struct image_inode *dir, size_t plen,
		      unsigned depth);

static int make_dir(struct unpacker *u, int dirfd, const char *name, const struct image_inode *ino,
		    size_t plen, unsigned depth)
{
	int fd, rc;

	if (depth + 1 > IMAGE_DEPTH_MAX)
		return unpack_err(u, -ELOOP, "nested deeper than %d", IMAGE_DEPTH_MAX);
	if (mkdirat(dirfd, name, 0700) < 0)
		return unpack_err(u, -errno, "%s", strerror(errno));
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unpack_err(u, -errno, "%s", strerror(errno));
	rc = unpack_dir(u, fd, ino, plen, depth + 1);
	u->rel[plen] = '\0';
	if (!rc)
		rc = set_meta(u, fd, ino);
	close(fd);
	return rc;
}

static int unpack_entry(struct unpacker *u, int dirfd, const struct image_dirent *e, size_t plen,
			unsigned depth)
{
	const struct image_inode *t = image_fs_inode(u->fs, e->inode);
	size_t idx;
	int fd, rc = 0;

	if (!image_fs_name_ok(e->name))
		return unpack_err(u, -EINVAL, "name refused");
	if (!t)
		return unpack_err(u, -EINVAL, "inode %llu not in the image",
				  (unsigned long long)e->inode);
	idx = (size_t)(t - u->fs->inodes);
	if (u->made[idx] && t->kind == IMAGE_INODE_DIRECTORY)
		return unpack_err(u, -ELOOP, "directory linked twice");
	if (u->made[idx]) {
		if (u->first[idx] && linkat(u->rootfd, u->first[idx], dirfd, e->name, 0) < 0)
			return unpack_err(u, -errno, "link: %s", strerror(errno));
		return 0;
	}
	u->made[idx] = 1;
	switch (t->kind) {
	case IMAGE_INODE_DIRECTORY:
		return make_dir(u, dirfd, e->name, t, plen, depth);
	case IMAGE_INODE_REGULAR:
		fd = make_regular(u, dirfd, e->name, t);
		if (fd < 0)
			return fd;
		rc = set_meta(u, fd, t);
		close(fd);
		break;
	case IMAGE_INODE_COMPUTED:
		return 0; /* content generated elsewhere */
	case IMAGE_INODE_SYMLINK:
		if (!t->symlink || symlinkat(t->symlink, dirfd, e->name) < 0)
			return unpack_err(u, t->symlink ? -errno : -EINVAL, "symlink: %s",
					  t->symlink ? strerror(errno) : "no target");
		if (u->root_user &&
		    fchownat(dirfd, e->name, t->uid, t->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return unpack_err(u, -errno, "chown: %s", strerror(errno));
		break;
	case IMAGE_INODE_SPECIAL:
		rc = make_special(u, dirfd, e->name, t);
		if (rc == 1)
			return 0; /* its other links are skipped too (no first path) */
		break;
	}
	if (!rc && u->refs[idx] > 1 && !(u->first[idx] = strdup(u->rel)))
		rc = unpack_err(u, -ENOMEM, "out of memory");
	return rc;
}

static int unpack_dir(struct unpacker *u, int dirfd, const struct image_inode *dir, size_t plen,
		      unsigned depth)
{
	for (size_t i = 0; i < dir->n_entries; i++) {
		const char *name = dir->entries[i].name;
		size_t len = strlen(name), np = plen + (plen > 0) + len;
		int rc;

		if (np > IMAGE_PATH_MAX)
			return unpack_err(u, -ENAMETOOLONG, "path too long");
		if (plen)
			u->rel[plen] = '/';
		memcpy(u->rel + plen + (plen > 0), name, len + 1);
		rc = unpack_entry(u, dirfd, &dir->entries[i], np, depth);
		if (rc < 0)
			return rc;
		u->rel[plen] = '\0';
	}
	return 0;
}

/* Removes a tree we made (directories made writable first: some were 0555). */
static void remove_tree(int pfd, const char *name, unsigned depth)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd;

	if (depth > IMAGE_DEPTH_MAX + 1 || fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlinkat(pfd, name, 0);
		return;
	}
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree(fd, de->d_name, depth + 1);
	closedir(d);
	unlinkat(pfd, name, AT_REMOVEDIR);
}

static void count_refs(struct unpacker *u, const struct image_inode *dir)
{
	for (size_t i = 0; i < dir->n_entries; i++) {
		const struct image_inode *t = image_fs_inode(u->fs, dir->entries[i].inode);
		size_t idx;

		if (!t)
			continue;
		idx = (size_t)(t - u->fs->inodes);
		if (u->refs[idx] < 2)
			u->refs[idx]++;
	}
}

static int unpack_tree(struct unpacker *u, const char *tmp)
{
	int rc;

	u->rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->rootfd < 0)
		return unpack_err(u, -errno, "%s: %s", tmp, strerror(errno));
	rc = unpack_dir(u, u->rootfd, &u->fs->root, 0, 0);
	u->rel[0] = '\0';
	if (!rc)
		rc = set_meta(u, u->rootfd, &u->fs->root);
	if (!rc && syncfs(u->rootfd) < 0)
		rc = unpack_err(u, -errno, "sync: %s", strerror(errno));
	close(u->rootfd);
	return rc;
}

static int unpacker_init(struct unpacker *u, const struct image_fs *fs)
{
	size_t n = fs->n_inodes + 1;

	u->refs = calloc(n, 1);
	u->made = calloc(n, 1);
	for (u->nslots = 64; u->nslots < 2 * n; u->nslots *= 2)
		;
	u->slots = calloc(u->nslots, sizeof(*u->slots));
	u->first = calloc(n, sizeof(*u->first));
	u->buf = malloc(UNPACK_BUF);
	u->hs = image_hasher_new();
	if (!u->refs || !u->made || !u->slots || !u->first || !u->buf || !u->hs)
		return -ENOMEM;
	count_refs(u, &fs->root);
	for (size_t i = 0; i < fs->n_inodes; i++) {
		if (fs->inodes[i].kind == IMAGE_INODE_DIRECTORY)
			count_refs(u, &fs->inodes[i]);
		if (fs->inodes[i].kind == IMAGE_INODE_REGULAR && u->refs[i])
			u->total += fs->inodes[i].size;
	}
	return 0;
}

static void unpacker_fini(struct unpacker *u)
{
	for (size_t i = 0; u->first && i < u->fs->n_inodes; i++)
		free(u->first[i]);
	free(u->first);
	free(u->refs);
	free(u->made);
	free(u->slots);
	free(u->buf);
	image_hasher_free(u->hs);
}

int image_unpack(const struct image_fs *fs, struct objstore *st, const char *dest, unsigned flags,
		 image_unpack_progress_fn progress, void *arg, char *err, size_t errsz)
{
	struct unpacker u = {.fs = fs,
			     .st = st,
			     .flags = flags,
			     .root_user = geteuid() == 0,
			     .progress = progress,
			     .arg = arg,
			     .rootfd = -1,
			     .err = err,
			     .errsz = errsz};
	char tmp[4200];
	struct stat sb;
	int rc;

	if (lstat(dest, &sb) == 0)
		return unpack_err(&u, -EEXIST, "%s: dest exists", dest);
	if (errno != ENOENT)
		return unpack_err(&u, -errno, "%s: %s", dest, strerror(errno));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest, (long)getpid()) >= (int)sizeof(tmp))
		return unpack_err(&u, -ENAMETOOLONG, "%s: name too long", dest);
	rc = unpacker_init(&u, fs);
	if (rc < 0) {
		unpacker_fini(&u);
		return unpack_err(&u, rc, "out of memory");
	}
	if (mkdir(tmp, 0700) < 0) {
		rc = unpack_err(&u, -errno, "%s: %s", tmp, strerror(errno));
		unpacker_fini(&u);
		return rc;
	}
	rc = unpack_tree(&u, tmp);
	if (!rc && renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL || errno == ENOSYS) {
			if (rename(tmp, dest) < 0)
				rc = unpack_err(&u, -errno, "rename to %s: %s", dest,
						strerror(errno));
		} else {
			rc = unpack_err(&u, errno == EEXIST ? -EEXIST : -errno, "%s: %s", dest,
					errno == EEXIST ? "dest exists" : strerror(errno));
		}
	}
	if (rc < 0)
		remove_tree(AT_FDCWD, tmp, 0);
	unpacker_fini(&u);
	return rc;
}
