/* grubenv: GRUB's environment block, parsed, changed and written in place (see
 * grubenv.h). */
#include "grubenv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

#define SCAN_LIMIT (256ull << 20)
#define SCAN_CHUNK (1u << 20)
#define SECTOR 512

static bool valid_block(const char *blk, size_t len)
{
	size_t hl = strlen(GRUBENV_HEAD);

	return len >= hl && memcmp(blk, GRUBENV_HEAD, hl) == 0 && memchr(blk, '\0', len) == NULL;
}

/* The end of the lines: after the last newline; what follows is the '#' padding.
 * Comment lines ("# WARNING: ..." that grub-editenv writes) are lines too. */
static size_t lines_end(const char *blk, size_t len)
{
	size_t p = len;

	while (p > 0 && blk[p - 1] != '\n')
		p--;
	return p;
}

static bool is_var(const char *line, size_t ll, const char *name, size_t nl)
{
	return line[0] != '#' && ll > nl && memcmp(line, name, nl) == 0 && line[nl] == '=';
}

int grubenv_get(const char *blk, size_t len, const char *name, char *val, size_t valsz)
{
	size_t nl = strlen(name), p = strlen(GRUBENV_HEAD), end;

	if (!valid_block(blk, len))
		return -EBADMSG;
	end = lines_end(blk, len);
	while (p < end) {
		const char *eol = memchr(blk + p, '\n', end - p);
		size_t ll = eol ? (size_t)(eol - (blk + p)) : end - p;

		if (is_var(blk + p, ll, name, nl)) {
			size_t vl = ll - nl - 1;

			if (vl >= valsz)
				return -ENAMETOOLONG;
			memcpy(val, blk + p + nl + 1, vl);
			val[vl] = '\0';
			return 0;
		}
		p += ll + 1;
	}
	return -ENOENT;
}

static bool clean(const char *s, bool is_name)
{
	if (is_name && *s == '\0')
		return false;
	for (; *s; s++)
		if (*s == '\\' || *s == '\n' || *s == '=' || *s == '#' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

int grubenv_set(char *blk, size_t len, const char *name, const char *value)
{
	size_t nl = strlen(name), hl = strlen(GRUBENV_HEAD), p = hl, end, w = hl;
	char *out;
	int n;

	if (!valid_block(blk, len))
		return -EBADMSG;
	if (!clean(name, true) || (value != NULL && !clean(value, false)))
		return -EINVAL;
	out = malloc(len + 1);
	if (out == NULL)
		return -ENOMEM;
	memcpy(out, GRUBENV_HEAD, hl);
	end = lines_end(blk, len);
	while (p < end) {
		const char *eol = memchr(blk + p, '\n', end - p);
		size_t ll = eol ? (size_t)(eol - (blk + p)) : end - p;

		if (!is_var(blk + p, ll, name, nl)) {
			memcpy(out + w, blk + p, ll);
			w += ll;
			out[w++] = '\n';
		}
		p += ll + 1;
	}
	if (value != NULL) {
		n = snprintf(out + w, len + 1 - w, "%s=%s\n", name, value);
		if (n < 0 || (size_t)n > len - w) {
			free(out);
			return -ENOSPC;
		}
		w += (size_t)n;
	}
	memset(out + w, '#', len - w);
	memcpy(blk, out, len);
	free(out);
	return 0;
}

int grubenv_locate(const char *path, uint64_t *off, char *err, size_t errsz)
{
	size_t hl = strlen(GRUBENV_HEAD);
	uint64_t pos = 0, found = UINT64_MAX;
	char *buf;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return rc;
	}
	buf = malloc(SCAN_CHUNK);
	if (buf == NULL) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	while (pos < SCAN_LIMIT && rc == 0) {
		ssize_t n = pread(fd, buf, SCAN_CHUNK, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errsz, "read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i + hl <= (size_t)n; i += SECTOR) {
			if (memcmp(buf + i, GRUBENV_HEAD, hl) != 0)
				continue;
			if (found != UINT64_MAX) {
				snprintf(err, errsz,
					 "%s: two GRUB environment blocks at %" PRIu64
					 " and %" PRIu64,
					 path, found, pos + i);
				rc = -EEXIST;
				break;
			}
			found = pos + i;
		}
		pos += (uint64_t)n;
	}
	free(buf);
	close(fd);
	if (rc == 0 && found == UINT64_MAX) {
		snprintf(err, errsz, "%s: no GRUB environment block", path);
		rc = -ENOENT;
	}
	if (rc == 0)
		*off = found;
	return rc;
}

int grubenv_read(const char *path, uint64_t off, char *blk, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return rc;
	}
	do
		n = pread(fd, blk, GRUBENV_SIZE, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = -errno;
		snprintf(err, errsz, "read %s: %s", path, strerror(errno));
	} else if (n != GRUBENV_SIZE || !valid_block(blk, GRUBENV_SIZE)) {
		rc = -EBADMSG;
		snprintf(err, errsz, "%s: no GRUB environment block at %" PRIu64, path, off);
	}
	close(fd);
	return rc;
}

int grubenv_write(const char *path, uint64_t off, const char *blk, char *err, size_t errsz)
{
	char cur[GRUBENV_SIZE];
	int fd, rc;
	ssize_t n;

	if (!valid_block(blk, GRUBENV_SIZE)) {
		snprintf(err, errsz, "%s: refusing to write a broken environment block", path);
		return -EINVAL;
	}
	if ((rc = grubenv_read(path, off, cur, err, errsz)) < 0)
		return rc;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return rc;
	}
	do
		n = pwrite(fd, blk, GRUBENV_SIZE, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n != GRUBENV_SIZE || fsync(fd) < 0) {
		rc = n < 0 || errno ? -errno : -EIO;
		snprintf(err, errsz, "write %s: %s", path, strerror(-rc));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errsz, "write %s: %s", path, strerror(errno));
	}
	return rc;
}
