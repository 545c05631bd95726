/* Unit tests for the initramfs xz writer (rootfs/xz.c): what the kernel's XZ
 * decoder needs (CRC32 check, LZMA2, a dictionary no larger than the input),
 * round trips and determinism. */
#include <errno.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootfs/xz.h"

/* Input that compresses somewhat, like an archive of text and code. */
static uint8_t *sample(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	uint32_t x = 12345;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i % 64 < 40) ? (uint8_t)("initramfs module busybox "[i % 25])
				     : (uint8_t)(x >> 24);
	}
	return p;
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("xz-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Compresses data[0..len) at level; returns the .xz bytes (malloc'ed) in *out. */
static size_t compress(const void *data, size_t len, int level, uint8_t **out)
{
	int in = memfd_with(data, len), o = memfd_create("xz-out", MFD_CLOEXEC);
	char err[256] = "";
	off_t size;

	assert_true(o >= 0);
	assert_int_equal(rootfs_xz_compress(in, len, o, level, err, sizeof(err)), 0);
	size = lseek(o, 0, SEEK_END);
	assert_true(size > 0);
	*out = malloc((size_t)size);
	assert_non_null(*out);
	assert_int_equal(pread(o, *out, (size_t)size, 0), size);
	close(in);
	close(o);
	return (size_t)size;
}

static void test_round_trip_crc32(void **state)
{
	size_t len = 300000, xlen, in_pos = 0, out_pos = 0;
	uint8_t *data = sample(len), *x, *back = malloc(len);
	uint64_t memlimit = UINT64_MAX;
	lzma_stream_flags flags;

	(void)state;
	assert_non_null(back);
	xlen = compress(data, len, 9, &x);
	assert_true(xlen < len / 2);
	/* The kernel accepts CRC32 or no check; CRC64 (xz's default) is refused. */
	assert_int_equal(lzma_stream_header_decode(&flags, x), LZMA_OK);
	assert_int_equal(flags.check, LZMA_CHECK_CRC32);
	assert_int_equal(
	    lzma_stream_buffer_decode(&memlimit, 0, NULL, x, &in_pos, xlen, back, &out_pos, len),
	    LZMA_OK);
	assert_int_equal(in_pos, xlen);
	assert_int_equal(out_pos, len);
	assert_memory_equal(back, data, len);
	free(data);
	free(back);
	free(x);
}

/* Preset 9 means a 64 MiB dictionary, which the kernel would allocate at boot for
 * any initrd; it is cut to the input size, so a decoder with a 2 MiB memory limit
 * copes with a 300 kB input. */
static void test_dictionary_fits_input(void **state)
{
	size_t len = 300000, xlen, in_pos = 0, out_pos = 0;
	uint8_t *data = sample(len), *x, *back = malloc(len);
	uint64_t memlimit = 2u << 20;

	(void)state;
	assert_non_null(back);
	xlen = compress(data, len, 9, &x);
	assert_int_equal(
	    lzma_stream_buffer_decode(&memlimit, 0, NULL, x, &in_pos, xlen, back, &out_pos, len),
	    LZMA_OK);
	free(data);
	free(back);
	free(x);
}

static void test_deterministic(void **state)
{
	size_t len = 200000, a_len, b_len;
	uint8_t *data = sample(len), *a, *b;

	(void)state;
	a_len = compress(data, len, 6, &a);
	b_len = compress(data, len, 6, &b);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	free(data);
	free(a);
	free(b);
}

static void test_empty_input(void **state)
{
	size_t xlen, in_pos = 0, out_pos = 0;
	uint8_t *x, byte;
	uint64_t memlimit = UINT64_MAX;

	(void)state;
	xlen = compress("", 0, 9, &x);
	assert_int_equal(
	    lzma_stream_buffer_decode(&memlimit, 0, NULL, x, &in_pos, xlen, &byte, &out_pos, 1),
	    LZMA_OK);
	assert_int_equal(out_pos, 0);
	free(x);
}

static void test_errors(void **state)
{
	int in = memfd_with("abc", 3), out = memfd_create("xz-out", MFD_CLOEXEC);
	char err[256] = "";

	(void)state;
	assert_int_equal(rootfs_xz_compress(in, 3, out, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "xz: bad preset 0");
	assert_int_equal(rootfs_xz_compress(in, 3, out, 10, err, sizeof(err)), -EINVAL);
	/* The input is shorter than announced. */
	assert_int_equal(rootfs_xz_compress(in, 10, out, 1, err, sizeof(err)), -EIO);
	assert_string_equal(err, "xz: read: input shrank");
	close(in);
	close(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_crc32), cmocka_unit_test(test_dictionary_fits_input),
	    cmocka_unit_test(test_deterministic),    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
