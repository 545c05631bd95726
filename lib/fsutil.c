/* fsutil: atomic writes, lock files, mkdir -p, confined path handling, exact I/O. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void (*fsutil_test_hook)(enum fsutil_step step);
bool fsutil_test_no_openat2;

static void hook(enum fsutil_step step)
{
	if (fsutil_test_hook)
		fsutil_test_hook(step);
}

int fsutil_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t fsutil_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int fsutil_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t cap, used = 0;
	char *data;
	int fd, rc;

	*buf = NULL;
	if (len)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (st.st_size > 0 && (unsigned long long)st.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	/* st_size is only a hint (/proc files say 0); read until EOF. */
	cap = (st.st_size > 0 ? (size_t)st.st_size : 4096) + 1;
	data = malloc(cap);
	if (!data) {
		rc = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		ssize_t n;
		if (used + 1 >= cap) {
			size_t ncap = cap * 2;
			char *nd;
			if (cap > max + 1) {
				rc = -EFBIG;
				goto out_free;
			}
			nd = realloc(data, ncap);
			if (!nd) {
				rc = -ENOMEM;
				goto out_free;
			}
			data = nd;
			cap = ncap;
		}
		n = read(fd, data + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			rc = -EFBIG;
			goto out_free;
		}
	}
	data[used] = '\0';
	*buf = data;
	if (len)
		*len = used;
	close(fd);
	return 0;

out_free:
	free(data);
out_close:
	close(fd);
	return rc;
}

/* Returns a new string holding the directory part of path ("." if none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int fsync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd, rc = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int fsutil_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	size_t plen = strlen(path);
	size_t half = len / 2;
	char *tmp;
	int fd, rc;

	if (plen == 0)
		return -EINVAL;
	tmp = malloc(plen + 2);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	tmp[plen] = '~';
	tmp[plen + 1] = '\0';

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode & 07777);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	/* A leftover temp may carry another mode, and umask applies at creation. */
	if (fchmod(fd, mode & 07777) < 0) {
		rc = -errno;
		goto out_close;
	}
	hook(FSUTIL_STEP_OPENED);
	rc = fsutil_write_all(fd, buf, half);
	if (rc < 0)
		goto out_close;
	hook(FSUTIL_STEP_PARTIAL);
	rc = fsutil_write_all(fd, (const char *)buf + half, len - half);
	if (rc < 0)
		goto out_close;
	hook(FSUTIL_STEP_WRITTEN);
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (close(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	hook(FSUTIL_STEP_SYNCED);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	hook(FSUTIL_STEP_RENAMED);
	/* The new content is in place; a failing directory sync is still reported
	 * because the rename may not survive a crash. */
	rc = fsync_dir(path);
	hook(FSUTIL_STEP_DONE);
	free(tmp);
	return rc;

out_close:
	close(fd);
out_unlink:
	unlink(tmp);
out_free:
	free(tmp);
	return rc;
}

static char *join3(const char *a, const char *sep, const char *b)
{
	char *s;

	if (asprintf(&s, "%s%s%s", a, sep, b) < 0)
		return NULL;
	return s;
}

int fsutil_lock_dir(const char *dir, const char *what, bool nonblock, char **err)
{
	char *path = join3(dir, "/", ".lock");
	char info[128];
	int fd, rc, n;

	if (err)
		*err = NULL;
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
		if (errno == EINTR)
			continue;
		rc = -errno;
		if (rc == -EWOULDBLOCK && err) {
			ssize_t got = pread(fd, info, sizeof(info) - 1, 0);
			int pid = 0, used = 0;
			info[got > 0 ? got : 0] = '\0';
			info[strcspn(info, "\n")] = '\0';
			if (sscanf(info, "%d %n", &pid, &used) >= 1 && pid > 0) {
				if (asprintf(err, "%s is locked by pid %d (%s)", dir, pid,
					     info + used) < 0)
					*err = NULL;
			} else if (asprintf(err, "%s is locked by another process", dir) < 0) {
				*err = NULL;
			}
		}
		goto out_close;
	}
	n = snprintf(info, sizeof(info), "%d %s\n", (int)getpid(), what ? what : "");
	if (n < 0 || (size_t)n >= sizeof(info))
		n = (int)strlen(info);
	/* The record is informational: a failure to write it does not lose the lock. */
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, info, (size_t)n, 0);
	free(path);
	return fd;

out_close:
	close(fd);
out_free:
	free(path);
	return rc;
}

void fsutil_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fsutil_mkdir_p(const char *path, mode_t mode)
{
	char *p, *s;
	int rc = 0;

	if (!*path)
		return -EINVAL;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p, mode);
		*s = '/';
		if (rc < 0)
			goto out;
	}
	rc = mkdir_one(p, mode);
out:
	free(p);
	return rc;
}

int fsutil_path_join(const char *root, const char *rel, char **out)
{
	size_t rlen = strlen(root), relen = strlen(rel);
	const char *c = rel;
	char *buf, *w;

	*out = NULL;
	if (rel[0] == '/')
		return -EINVAL;
	buf = malloc(rlen + relen + 2);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, root, rlen);
	w = buf + rlen;
	while (*c) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			free(buf);
			return -EINVAL;
		}
		if (n > 0 && !(n == 1 && c[0] == '.')) {
			if (w == buf || w[-1] != '/')
				*w++ = '/';
			memcpy(w, c, n);
			w += n;
		}
		c += n;
		while (*c == '/')
			c++;
	}
	*w = '\0';
	*out = buf;
	return 0;
}

/* Walks rel one component at a time, refusing "..", absolute paths and symlinks. */
static int open_walk(int rootfd, const char *rel, int flags, mode_t mode)
{
	char *copy, *comp, *save = NULL, *next;
	int cur = rootfd, rc;

	if (rel[0] == '/')
		return -EXDEV;
	copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	comp = strtok_r(copy, "/", &save);
	if (!comp) {
		rc = openat(rootfd, ".", flags | O_CLOEXEC, mode);
		rc = rc < 0 ? -errno : rc;
		goto out;
	}
	for (;;) {
		int fd;
		next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, "..") == 0) {
			rc = -EXDEV;
			goto out;
		}
		if (next)
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0) {
			struct stat st;
			rc = -errno;
			/* Report a symlink as such, as openat2 would. */
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				rc = -ELOOP;
			goto out;
		}
		if (cur != rootfd)
			close(cur);
		cur = fd;
		if (!next)
			break;
		comp = next;
	}
	free(copy);
	return cur;
out:
	if (cur != rootfd)
		close(cur);
	free(copy);
	return rc;
}

int fsutil_open_beneath(int rootfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (unsigned long long)(flags | O_CLOEXEC),
	    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	long fd;

	if (!fsutil_test_no_openat2) {
		fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
	}
	return open_walk(rootfd, rel, flags, mode);
}

int fsutil_copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	struct stat st;

	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0) {
		rc = -errno;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	for (off_t left = st.st_size; left > 0 && rc == 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL,
					    (size_t)(left > (1 << 30) ? (1 << 30) : left), 0);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n == 0)
			rc = -EIO; /* the source shrank */
		else if (n > 0)
			left -= n;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
out:
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc < 0 && out >= 0)
		unlink(dst);
	return rc;
}

int fsutil_link_or_copy(const char *src, const char *dst)
{
	if (link(src, dst) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	return fsutil_copy_file(src, dst);
}
