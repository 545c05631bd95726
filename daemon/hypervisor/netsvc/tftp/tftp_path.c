/* Boot file name normalisation and confinement beneath the served root. */
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

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

int tftp_path_open(int rootfd, const char *rel)
{
	if (!rel[0] || rel[0] == '/')
		return -EACCES;
	/* O_NONBLOCK: opening a FIFO must not block the event loop. */
	int fd = fsutil_open_beneath(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -ENOTDIR)
		return -ENOENT;
	if (fd == -ELOOP || fd == -EXDEV)
		return -EACCES;
	if (fd < 0)
		return fd;
	return check_regular(fd);
}
