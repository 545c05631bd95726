/* Boot file name normalisation and confinement beneath the served root. */
#include "daemon/hypervisor/tftp_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int tftp_path_normalize(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *s = in;

	if (outlen == 0)
		return -ENAMETOOLONG;
	/* "/tftpboot" only as a whole first component. */
	if ((s[0] == '/' || s[0] == '\\') && !strncmp(s + 1, "tftpboot", 8) &&
	    (s[9] == '/' || s[9] == '\\' || s[9] == 0))
		s += 9;
	while (*s) {
		while (*s == '/' || *s == '\\')
			s++;
		if (!*s)
			break;
		const char *e = s;
		while (*e && *e != '/' && *e != '\\') {
			if ((unsigned char)*e < 0x20 || *e == 0x7f)
				return -EINVAL;
			e++;
		}
		size_t n = (size_t)(e - s);
		if (n == 1 && s[0] == '.') {
			s = e;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -EACCES;
		if (o + (o > 0) + n >= outlen)
			return -ENAMETOOLONG;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		s = e;
	}
	out[o] = 0;
	return o == 0 ? -EISDIR : 0;
}

static int check_regular(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

/* Without openat2: walk component by component, never following a symlink. The name
 * is already normalised, so no ".." and no absolute component can appear. */
int tftp_path_open_walk(int rootfd, const char *rel)
{
	char comp[256];
	int dir = rootfd;
	const char *s = rel;

	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 0 || n >= sizeof(comp)) {
			if (dir != rootfd)
				close(dir);
			return -ENOENT;
		}
		memcpy(comp, s, n);
		comp[n] = 0;
		int flags = slash ? O_PATH | O_NOFOLLOW | O_CLOEXEC
				  : O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
		int fd = openat(dir, comp, flags);
		int e = errno;
		if (dir != rootfd)
			close(dir);
		if (fd < 0 && e == ENOTDIR)
			return -ENOENT;
		if (fd < 0)
			return e == ELOOP ? -EACCES : -e;
		if (!slash)
			return check_regular(fd);
		/* O_PATH|O_NOFOLLOW opens a symlink itself: refuse it as a directory. */
		struct stat st = {0};
		if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			bool link = S_ISLNK(st.st_mode);
			close(fd);
			return link ? -EACCES : -ENOENT;
		}
		dir = fd;
		s = slash + 1;
	}
}

int tftp_path_open(int rootfd, const char *rel)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	if (!rel[0] || rel[0] == '/')
		return -EACCES;
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0) {
		int e = errno;
		if (e == ENOSYS || e == EPERM)
			return tftp_path_open_walk(rootfd, rel);
		if (e == ENOTDIR)
			return -ENOENT;
		return (e == ELOOP || e == EXDEV) ? -EACCES : -e;
	}
	return check_regular((int)fd);
}
