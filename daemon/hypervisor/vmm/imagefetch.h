/* Root images by URL (CreateVm ImageURL): http:// with a Content-Length (the size
 * must be known up front, spec §7.2) and file:// restricted to a clean path strictly
 * beneath -localImagesDirectory. https:// is not supported yet. */
#ifndef HV_IMAGEFETCH_H
#define HV_IMAGEFETCH_H

#include <stddef.h>
#include <stdint.h>

/* Copies the image at url into out_fd. local_dir is -localImagesDirectory ("" =
 * file:// refused with "local image support not configured"). *size gets the bytes
 * copied. timeout_ms bounds connect and each read (0 = 60 s). 0 or -errno with err. */
int imagefetch_copy(const char *url, const char *local_dir, int out_fd, uint64_t *size,
		    int timeout_ms, char *err, size_t errsz);

/* Parses "http://host[:port]/path": host into host (no brackets), port (default 80),
 * path (default "/"). Pure; 0 or -EINVAL. */
int imagefetch_parse_http(const char *url, char *host, size_t hostsz, unsigned *port, char *path,
			  size_t pathsz);

/* The file path for a file:// URL if it is clean and strictly beneath dir, into out.
 * Pure; 0, -EINVAL (not file://, not absolute, unclean) or -EPERM (outside dir). */
int imagefetch_local_path(const char *url, const char *dir, char *out, size_t outsz);

#endif
