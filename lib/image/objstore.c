/* image/objstore: a directory of content-addressed objects, <dir>/<2 hex>/<126 hex>,
 * written through <dir>/.tmp/ (hashed while written, fsync'd, renamed into place, the
 * directory fsync'd) so that an object is visible only complete and verified. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "image/objstore.h"

#define OBJSTORE_TMP ".tmp"
#define OBJSTORE_BUF (128u << 10)

struct objstore {
	char *dir;
	int dirfd;
};

static atomic_uint objstore_seq;

static int errf(char *err, size_t errsz, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errsz, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		char *tail;

		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
		/* strerror's "No space left on device" reads as "...: no space left". */
		tail = strrchr(err, ':');
		if (tail && tail[1] == ' ' && tail[2] >= 'A' && tail[2] <= 'Z' && tail[3] >= 'a' &&
		    tail[3] <= 'z')
			tail[2] = (char)(tail[2] - 'A' + 'a');
	}
	return rc;
}

/* "ab/cdef..." relative to the store directory. */
static void rel_path(const struct image_hash *h, char out[IMAGE_HASH_HEXLEN + 2])
{
	char hex[IMAGE_HASH_HEXLEN + 1];

	image_hash_hex(h, hex);
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '/';
	memcpy(out + 3, hex + 2, IMAGE_HASH_HEXLEN - 2 + 1);
}

/* Removes everything in .tmp/ (left there by a killed writer). */
static int empty_tmp(int dirfd)
{
	int fd = openat(dirfd, OBJSTORE_TMP, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT &&
		    unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && !rc)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

int objstore_open(const char *dir, struct objstore **out, char *err, size_t errsz)
{
	struct objstore *st;
	int rc;

	*out = NULL;
	rc = fsutil_mkdir_p(dir, 0755);
	if (rc < 0)
		return errf(err, errsz, rc, "object store %s: %s", dir, strerror(-rc));
	st = calloc(1, sizeof(*st));
	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		return errf(err, errsz, -ENOMEM, "object store %s: out of memory", dir);
	}
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		rc = -errno;
		goto fail;
	}
	if (mkdirat(st->dirfd, OBJSTORE_TMP, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	rc = empty_tmp(st->dirfd);
	if (rc < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	errf(err, errsz, rc, "object store %s: %s", dir, strerror(-rc));
	objstore_close(st);
	return rc;
}

void objstore_close(struct objstore *st)
{
	if (!st)
		return;
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->dir);
	free(st);
}

const char *objstore_dir(const struct objstore *st)
{
	return st->dir;
}

int objstore_path(const struct objstore *st, const struct image_hash *h, char *buf, size_t sz)
{
	char rel[IMAGE_HASH_HEXLEN + 2];
	int n;

	rel_path(h, rel);
	n = snprintf(buf, sz, "%s/%s", st->dir, rel);
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int objstore_stat(const struct objstore *st, const struct image_hash *h, uint64_t *size)
{
	char rel[IMAGE_HASH_HEXLEN + 2];
	struct stat sb;

	rel_path(h, rel);
	if (fstatat(st->dirfd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -ENOENT;
	*size = (uint64_t)sb.st_size;
	return 0;
}

int objstore_open_object(const struct objstore *st, const struct image_hash *h, uint64_t *size)
{
	char rel[IMAGE_HASH_HEXLEN + 2];
	struct stat sb = {0};
	int fd;

	rel_path(h, rel);
	fd = openat(st->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		int rc = errno;

		rc = sb.st_mode && !S_ISREG(sb.st_mode) ? -ENOENT : -rc;
		close(fd);
		return rc;
	}
	if (size)
		*size = (uint64_t)sb.st_size;
	return fd;
}

/* Reads and discards what remains of an object, so that a stream stays in step. */
static int drain(objstore_read_fn rd, void *arg, uint64_t left, char *buf)
{
	while (left > 0) {
		size_t want = left < OBJSTORE_BUF ? (size_t)left : OBJSTORE_BUF;
		ssize_t n = rd(arg, buf, want);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		left -= (uint64_t)n;
	}
	return 0;
}

static int fsync_dir(int dirfd, const char *rel)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Renames the finished temp file into place without replacing an existing object. */
static int install(struct objstore *st, const char *tmp, const struct image_hash *h, uint64_t len,
		   bool *added)
{
	char rel[IMAGE_HASH_HEXLEN + 2], sub[3];
	bool newdir = false;
	struct stat sb;

	rel_path(h, rel);
	memcpy(sub, rel, 2);
	sub[2] = '\0';
	if (mkdirat(st->dirfd, sub, 0755) == 0)
		newdir = true;
	else if (errno != EEXIST)
		return -errno;
	if (renameat2(st->dirfd, tmp, st->dirfd, rel, RENAME_NOREPLACE) < 0) {
		/* Present already: kept, unless its size shows it damaged (our bytes have
		 * just been hashed, so they are right). */
		if (errno == EEXIST && fstatat(st->dirfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == len) {
			unlinkat(st->dirfd, tmp, 0);
			return 0;
		}
		if (errno != EEXIST && errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* A file system without RENAME_NOREPLACE, or a damaged object replaced. */
		if (renameat(st->dirfd, tmp, st->dirfd, rel) < 0)
			return -errno;
	}
	*added = true;
	if (fsync_dir(st->dirfd, sub) < 0 || (newdir && fsync(st->dirfd) < 0))
		return -EIO;
	return 0;
}

struct add_state {
	int fd;
	int werr; /* first write error; the rest of the stream is still read */
	uint64_t got;
};

/* Reads len bytes from rd into fd, hashing them. Returns 0, the read error, or -EIO
 * for an early end; write errors land in as->werr. */
static int copy_in(struct add_state *as, objstore_read_fn rd, void *arg, uint64_t len,
		   struct image_hasher *hs, char *buf)
{
	while (as->got < len) {
		uint64_t left = len - as->got;
		size_t want = left < OBJSTORE_BUF ? (size_t)left : OBJSTORE_BUF;
		ssize_t n = rd(arg, buf, want);

		if (n < 0)
			return (int)n;
		if (n == 0 || (size_t)n > want)
			return -EIO;
		as->got += (uint64_t)n;
		image_hasher_update(hs, buf, (size_t)n);
		if (!as->werr)
			as->werr = fsutil_write_all(as->fd, buf, (size_t)n);
	}
	return 0;
}

static int add_fail(struct objstore *st, int rc, char *err, size_t errsz)
{
	return errf(err, errsz, rc, "object store %s: %s", st->dir, strerror(-rc));
}

int objstore_add(struct objstore *st, objstore_read_fn rd, void *arg, uint64_t len,
		 const struct image_hash *expected, struct image_hash *out, bool *added, char *err,
		 size_t errsz)
{
	struct add_state as = {.fd = -1};
	struct image_hasher *hs = NULL;
	struct image_hash got;
	char tmp[64], *buf;
	uint64_t size;
	bool dummy;
	int rc;

	if (!added)
		added = &dummy;
	*added = false;
	buf = malloc(OBJSTORE_BUF);
	if (!buf)
		return add_fail(st, -ENOMEM, err, errsz);
	if (expected && objstore_stat(st, expected, &size) == 0 && size == len) {
		rc = drain(rd, arg, len, buf);
		if (rc < 0) {
			errf(err, errsz, rc, "reading object: %s", strerror(-rc));
		} else if (out) {
			*out = *expected;
		}
		free(buf);
		return rc;
	}
	hs = image_hasher_new();
	if (!hs) {
		rc = add_fail(st, -ENOMEM, err, errsz);
		goto out_free;
	}
	snprintf(tmp, sizeof(tmp), OBJSTORE_TMP "/%ld-%u", (long)getpid(),
		 atomic_fetch_add(&objstore_seq, 1));
	as.fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (as.fd < 0) {
		rc = add_fail(st, -errno, err, errsz);
		goto out_free;
	}
	rc = copy_in(&as, rd, arg, len, hs, buf);
	if (rc < 0) {
		errf(err, errsz, rc, "reading object: %s",
		     rc == -EIO ? "stream ended early" : strerror(-rc));
		goto out_unlink;
	}
	if (!as.werr && (fchmod(as.fd, 0444) < 0 || fsync(as.fd) < 0))
		as.werr = -errno;
	if (close(as.fd) < 0 && !as.werr)
		as.werr = -errno;
	as.fd = -1;
	if (as.werr) {
		rc = add_fail(st, as.werr, err, errsz);
		goto out_unlink;
	}
	image_hasher_final(hs, &got);
	if (expected && !image_hash_equal(expected, &got)) {
		char e[IMAGE_HASH_HEXLEN + 1], g[IMAGE_HASH_HEXLEN + 1];

		image_hash_hex(expected, e);
		image_hash_hex(&got, g);
		rc = errf(err, errsz, -EBADMSG, "hash mismatch: expected %s, got %s", e, g);
		goto out_unlink;
	}
	rc = install(st, tmp, &got, len, added);
	if (rc < 0) {
		add_fail(st, rc, err, errsz);
		if (!*added)
			goto out_unlink;
		goto out_free;
	}
	if (out)
		*out = got;
	goto out_free;
out_unlink:
	if (as.fd >= 0)
		close(as.fd);
	unlinkat(st->dirfd, tmp, 0);
out_free:
	image_hasher_free(hs);
	free(buf);
	return rc;
}

static ssize_t fd_read(void *arg, void *buf, size_t len)
{
	return fsutil_read_all(*(int *)arg, buf, len);
}

int objstore_add_file(struct objstore *st, const char *path, struct image_hash *out, bool *added,
		      char *err, size_t errsz)
{
	struct stat sb = {0};
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errsz, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = sb.st_mode && !S_ISREG(sb.st_mode) ? -EINVAL : -errno;
		close(fd);
		return errf(err, errsz, rc, "%s: %s", path,
			    rc == -EINVAL ? "not a regular file" : strerror(-rc));
	}
	rc = objstore_add(st, fd_read, &fd, (uint64_t)sb.st_size, NULL, out, added, err, errsz);
	close(fd);
	return rc;
}

/* SHA-512 of an open file's content into out. */
static int hash_fd(int fd, struct image_hash *out)
{
	struct image_hasher *hs = image_hasher_new();
	char *buf = malloc(OBJSTORE_BUF);
	ssize_t n;
	int rc = 0;

	if (!hs || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	while ((n = fsutil_read_all(fd, buf, OBJSTORE_BUF)) > 0)
		image_hasher_update(hs, buf, (size_t)n);
	if (n < 0)
		rc = (int)n;
	else
		image_hasher_final(hs, out);
out:
	free(buf);
	image_hasher_free(hs);
	return rc;
}

int objstore_verify(const struct objstore *st, const struct image_hash *h)
{
	struct image_hash got;
	int fd = objstore_open_object(st, h, NULL), rc;

	if (fd < 0)
		return fd;
	rc = hash_fd(fd, &got);
	close(fd);
	if (rc < 0)
		return rc;
	return image_hash_equal(h, &got) ? 0 : -EBADMSG;
}

int objstore_delete(struct objstore *st, const struct image_hash *h)
{
	char rel[IMAGE_HASH_HEXLEN + 2];

	rel_path(h, rel);
	if (unlinkat(st->dirfd, rel, 0) < 0)
		return -errno;
	return 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

/* One <2 hex> subdirectory. */
static int each_sub(const struct objstore *st, const char *sub, objstore_each_fn fn, void *arg)
{
	char hex[IMAGE_HASH_HEXLEN + 1];
	struct image_hash h;
	struct dirent *de;
	struct stat sb;
	int fd, rc = 0;
	DIR *d;

	fd = openat(st->dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while (!rc && (de = readdir(d))) {
		if (!is_lower_hex(de->d_name, IMAGE_HASH_HEXLEN - 2))
			continue;
		memcpy(hex, sub, 2);
		memcpy(hex + 2, de->d_name, IMAGE_HASH_HEXLEN - 2 + 1);
		if (image_hash_parse(hex, &h) < 0)
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		rc = fn(&h, (uint64_t)sb.st_size, arg);
	}
	closedir(d);
	return rc;
}

int objstore_each(const struct objstore *st, objstore_each_fn fn, void *arg)
{
	int rc = 0;

	for (int i = 0; i < 256 && !rc; i++) {
		char sub[3];

		snprintf(sub, sizeof(sub), "%02x", i);
		rc = each_sub(st, sub, fn, arg);
	}
	return rc;
}
