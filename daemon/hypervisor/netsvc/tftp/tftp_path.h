/* File names asked for by TFTP/HTTP boot clients: normalisation (netboot.md §2) and
 * opening strictly beneath the served root, never through a symlink. */
#ifndef SS_TFTP_PATH_H
#define SS_TFTP_PATH_H

#include <stddef.h>

/* Canonical relative name of a requested path: backslashes become '/', a leading
 * "/tftpboot" component and leading slashes are dropped, "." and empty components
 * vanish. So "pxelinux.0", "/pxelinux.0" and "/tftpboot/pxelinux.0" are the same.
 * Returns 0; -EACCES for a ".." component, -EINVAL for control characters,
 * -EISDIR for an empty result, -ENAMETOOLONG when out is too small. */
int tftp_path_normalize(const char *in, char *out, size_t outlen);

/* Opens a normalised name beneath rootfd read-only, never through a symlink and never
 * outside the root (fsutil_open_beneath). Only regular files. Returns a new fd (caller
 * closes) or -ENOENT / -EACCES / -errno. */
int tftp_path_open(int rootfd, const char *rel);

#endif
