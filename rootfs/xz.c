/* xz stream writer for initramfs images (liblzma, CRC32 check). */
#include "rootfs/xz.h"

#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define XZ_BUF 65536

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int lzma_err(lzma_ret r)
{
	return r == LZMA_MEM_ERROR ? -ENOMEM : r == LZMA_OPTIONS_ERROR ? -EINVAL : -EIO;
}

int rootfs_xz_compress(int in_fd, uint64_t in_size, int out_fd, int level, char *err, size_t errlen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_options_lzma opt;
	lzma_filter filters[2];
	uint8_t in[XZ_BUF], out[XZ_BUF];
	uint64_t left = in_size;
	lzma_ret r;
	int rc;

	if (level < 1 || level > 9 ||
	    lzma_lzma_preset(&opt, (uint32_t)level | LZMA_PRESET_EXTREME)) {
		snprintf(err, errlen, "xz: bad preset %d", level);
		return -EINVAL;
	}
	if (in_size < opt.dict_size)
		opt.dict_size =
		    in_size > LZMA_DICT_SIZE_MIN ? (uint32_t)in_size : LZMA_DICT_SIZE_MIN;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &opt;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	if ((r = lzma_stream_encoder(&s, filters, LZMA_CHECK_CRC32)) != LZMA_OK) {
		snprintf(err, errlen, "xz: encoder setup failed (%d)", (int)r);
		return lzma_err(r);
	}
	s.next_out = out;
	s.avail_out = sizeof(out);
	for (;;) {
		if (s.avail_in == 0 && left > 0) {
			ssize_t n = read(in_fd, in, left < sizeof(in) ? (size_t)left : sizeof(in));

			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				snprintf(err, errlen, "xz: read: %s",
					 n < 0 ? strerror(errno) : "input shrank");
				goto out_end;
			}
			s.next_in = in;
			s.avail_in = (size_t)n;
			left -= (uint64_t)n;
		}
		/* Once all input is handed over, finish (and keep finishing). */
		r = lzma_code(&s, left > 0 ? LZMA_RUN : LZMA_FINISH);
		if (s.avail_out == 0 || r == LZMA_STREAM_END) {
			if ((rc = write_all(out_fd, out, sizeof(out) - s.avail_out)) < 0) {
				snprintf(err, errlen, "xz: write: %s", strerror(-rc));
				goto out_end;
			}
			s.next_out = out;
			s.avail_out = sizeof(out);
		}
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK) {
			rc = lzma_err(r);
			snprintf(err, errlen, "xz: compression failed (%d)", (int)r);
			goto out_end;
		}
	}
	rc = 0;
out_end:
	lzma_end(&s);
	return rc;
}
