/* Fetching root images by URL (see imagefetch.h). The HTTP client is a minimal GET:
 * one request, status 200, a Content-Length, exactly that many bytes. */
#include "daemon/hypervisor/vmm/imagefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"

#define HEADER_MAX 16384
#define COPY_BUF (1u << 20)

int imagefetch_parse_http(const char *url, char *host, size_t hostsz, unsigned *port, char *path,
			  size_t pathsz)
{
	const char *p, *slash, *colon, *end;
	size_t hlen;

	if (strncmp(url, "http://", 7) != 0)
		return -EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	*port = 80;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL)
			return -EINVAL;
		hlen = (size_t)(rb - p - 1);
		if (hlen == 0 || hlen >= hostsz)
			return -EINVAL;
		memcpy(host, p + 1, hlen);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon ? colon : end) - p);
		if (hlen == 0 || hlen >= hostsz)
			return -EINVAL;
		memcpy(host, p, hlen);
	}
	host[hlen] = '\0';
	if (colon != NULL) {
		char *e;
		unsigned long v = strtoul(colon + 1, &e, 10);

		if (e != end || v == 0 || v > 65535)
			return -EINVAL;
		*port = (unsigned)v;
	}
	if (snprintf(path, pathsz, "%s", slash ? slash : "/") >= (int)pathsz)
		return -EINVAL;
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return -EINVAL;
	return 0;
}

int imagefetch_local_path(const char *url, const char *dir, char *out, size_t outsz)
{
	const char *path;
	size_t dlen;

	if (strncmp(url, "file://", 7) != 0)
		return -EINVAL;
	path = url + 7;
	if (*path != '/' || strstr(path, "//") != NULL || strstr(path, "/./") != NULL ||
	    strstr(path, "/../") != NULL || path[strlen(path) - 1] == '/')
		return -EINVAL;
	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (strlen(path) >= 3 && (strcmp(path + strlen(path) - 2, "/.") == 0 ||
				  strcmp(path + strlen(path) - 3, "/..") == 0))
		return -EINVAL;
	if (dlen == 0 || strncmp(path, dir, dlen) != 0 || path[dlen] != '/' ||
	    path[dlen + 1] == '\0')
		return -EPERM;
	if (snprintf(out, outsz, "%s", path) >= (int)outsz)
		return -EINVAL;
	return 0;
}

static int copy_fd(int in, int out, uint64_t len, uint64_t *done, int timeout_ms)
{
	char *buf = malloc(COPY_BUF);
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	*done = 0;
	while (len == UINT64_MAX || *done < len) {
		size_t want =
		    len == UINT64_MAX || len - *done > COPY_BUF ? COPY_BUF : (size_t)(len - *done);
		struct pollfd p = {.fd = in, .events = POLLIN};
		ssize_t n;

		if (timeout_ms > 0 && poll(&p, 1, timeout_ms) == 0) {
			rc = -ETIMEDOUT;
			break;
		}
		n = read(in, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			rc = len == UINT64_MAX ? 0 : -EPIPE;
			break;
		}
		rc = fsutil_write_all(out, buf, (size_t)n);
		if (rc < 0)
			break;
		*done += (uint64_t)n;
	}
	free(buf);
	return rc;
}

static int dial(const char *host, unsigned port, int timeout_ms, char *err, size_t errsz)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char ports[8];
	int fd = -1, rc;

	snprintf(ports, sizeof(ports), "%u", port);
	rc = getaddrinfo(host, ports, &hints, &res);
	if (rc != 0) {
		snprintf(err, errsz, "%s: %s", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			close(fd);
			fd = -1;
			continue;
		}
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, timeout_ms) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errsz, "cannot connect to %s:%u", host, port);
		return -ECONNREFUSED;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* Reads the response head up to the blank line; returns status and Content-Length
 * (UINT64_MAX if absent). The bytes after the head are left in the socket because
 * the head is read one byte at a time (it is small). */
static int read_head(int fd, int timeout_ms, int *status, uint64_t *length)
{
	char head[HEADER_MAX];
	size_t n = 0;

	*length = UINT64_MAX;
	while (n + 1 < sizeof(head)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		r = read(fd, head + n, 1);
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		n++;
		if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
			break;
		if (n >= 2 && memcmp(head + n - 2, "\n\n", 2) == 0)
			break;
	}
	head[n] = '\0';
	if (sscanf(head, "HTTP/%*d.%*d %d", status) != 1)
		return -EPROTO;
	for (char *line = strchr(head, '\n'); line != NULL; line = strchr(line + 1, '\n'))
		if (strncasecmp(line + 1, "Content-Length:", 15) == 0)
			*length = strtoull(line + 16, NULL, 10);
	return 0;
}

static int fetch_http(const char *url, int out_fd, uint64_t *size, int timeout_ms, char *err,
		      size_t errsz)
{
	char host[256], path[4096], req[4608];
	unsigned port;
	uint64_t length = UINT64_MAX;
	int fd, status = 0, rc;

	if (imagefetch_parse_http(url, host, sizeof(host), &port, path, sizeof(path)) < 0) {
		snprintf(err, errsz, "bad URL: %s", url);
		return -EINVAL;
	}
	fd = dial(host, port, timeout_ms, err, errsz);
	if (fd < 0)
		return fd;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: smallstack-hypervisor\r\n\r\n", path,
		 host);
	rc = fsutil_write_all(fd, req, strlen(req));
	if (rc == 0)
		rc = read_head(fd, timeout_ms, &status, &length);
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", url, strerror(-rc));
	} else if (status != 200) {
		snprintf(err, errsz, "%s: HTTP status %d", url, status);
		rc = -ENOENT;
	} else if (length == UINT64_MAX) {
		snprintf(err, errsz, "%s: no Content-Length: the image size must be known", url);
		rc = -EPROTO;
	} else {
		rc = copy_fd(fd, out_fd, length, size, timeout_ms);
		if (rc < 0)
			snprintf(err, errsz, "%s: %s after %llu bytes", url, strerror(-rc),
				 (unsigned long long)*size);
	}
	close(fd);
	return rc;
}

int imagefetch_copy(const char *url, const char *local_dir, int out_fd, uint64_t *size,
		    int timeout_ms, char *err, size_t errsz)
{
	char path[4096];
	size_t dlen;
	int fd, dirfd, rc;

	*size = 0;
	if (timeout_ms <= 0)
		timeout_ms = 60000;
	if (strncmp(url, "http://", 7) == 0)
		return fetch_http(url, out_fd, size, timeout_ms, err, errsz);
	if (strncmp(url, "file://", 7) != 0) {
		snprintf(err, errsz, "unsupported image URL: %s", url);
		return -EPROTONOSUPPORT;
	}
	if (local_dir == NULL || *local_dir == '\0') {
		snprintf(err, errsz, "local image support not configured");
		return -EPERM;
	}
	rc = imagefetch_local_path(url, local_dir, path, sizeof(path));
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", url,
			 rc == -EPERM ? "not beneath the local images directory"
				      : "not a clean path");
		return rc;
	}
	/* Symlinks under the directory must not lead out of it either. */
	dlen = strlen(local_dir);
	while (dlen > 1 && local_dir[dlen - 1] == '/')
		dlen--;
	dirfd = open(local_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dirfd < 0 ? -errno : fsutil_open_beneath(dirfd, path + dlen + 1, O_RDONLY, 0);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(-fd));
		return fd;
	}
	rc = copy_fd(fd, out_fd, UINT64_MAX, size, 0);
	if (rc < 0)
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
	close(fd);
	return rc;
}
