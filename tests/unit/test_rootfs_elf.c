/* Unit tests for the ELF DT_NEEDED reader (rootfs/elf.c) and the library search
 * (rootfs/ldpath.c). Synthetic ELF images cover the layouts and the malformed
 * cases; the test binary itself is a real dynamically linked ELF file. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootfs/elf.h"
#include "rootfs/ldpath.h"

#define IMG_SIZE 1024
#define PH_OFF 64
#define INTERP_OFF 256
#define DYN_OFF 320
#define STR_OFF 512
#define VBASE 0x400000

static const char interp[] = "/lib64/ld-linux-x86-64.so.2";
/* String table: "\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib\0" */
static const char strtab[] = "\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib";
enum { STR_FOO = 1, STR_LIBC = 13, STR_RUNPATH = 23 };

static void put(uint8_t *b, size_t off, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

struct dyn {
	int64_t tag;
	uint64_t val;
};

/* Builds an ELF image: header, 3 program headers (LOAD of the whole file at
 * VBASE, INTERP, DYNAMIC), interpreter string, dynamic section, string table. */
static void build(uint8_t *b, int cls, const struct dyn *dyn, size_t n_dyn)
{
	int is64 = cls == ELFCLASS64;
	size_t w = is64 ? 8 : 4, phsz = is64 ? 56 : 32, dsz = 2 * w;

	memset(b, 0, IMG_SIZE);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = (uint8_t)cls;
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	put(b, 16, ET_DYN, 2);
	put(b, 18, is64 ? EM_X86_64 : EM_386, 2);
	put(b, is64 ? 32 : 28, PH_OFF, w); /* e_phoff */
	put(b, is64 ? 54 : 42, phsz, 2);   /* e_phentsize */
	put(b, is64 ? 56 : 44, 3, 2);	   /* e_phnum */

	/* Program headers: {type, offset, vaddr, filesz}. */
	const uint64_t ph[3][4] = {
	    {PT_LOAD, 0, VBASE, IMG_SIZE},
	    {PT_INTERP, INTERP_OFF, VBASE + INTERP_OFF, sizeof(interp)},
	    {PT_DYNAMIC, DYN_OFF, VBASE + DYN_OFF, n_dyn * dsz},
	};
	for (size_t i = 0; i < 3; i++) {
		size_t o = PH_OFF + i * phsz;

		put(b, o, ph[i][0], 4);
		put(b, o + (is64 ? 8 : 4), ph[i][1], w);
		put(b, o + (is64 ? 16 : 8), ph[i][2], w);
		put(b, o + (is64 ? 32 : 16), ph[i][3], w);
	}
	memcpy(b + INTERP_OFF, interp, sizeof(interp));
	for (size_t i = 0; i < n_dyn; i++) {
		put(b, DYN_OFF + i * dsz, (uint64_t)dyn[i].tag, w);
		put(b, DYN_OFF + i * dsz + w, dyn[i].val, w);
	}
	memcpy(b + STR_OFF, strtab, sizeof(strtab));
}

static const struct dyn good_dyn[] = {
    {DT_NEEDED, STR_FOO},	{DT_STRTAB, VBASE + STR_OFF}, {DT_NEEDED, STR_LIBC},
    {DT_STRSZ, sizeof(strtab)}, {DT_RUNPATH, STR_RUNPATH},    {DT_NULL, 0},
};
#define N_GOOD (sizeof(good_dyn) / sizeof(good_dyn[0]))

static void check_good(int cls, uint16_t machine)
{
	uint8_t b[IMG_SIZE];
	struct rootfs_elf e;

	build(b, cls, good_dyn, N_GOOD);
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), 0);
	assert_int_equal(e.elf_class, cls);
	assert_int_equal(e.machine, machine);
	assert_int_equal(e.type, ET_DYN);
	assert_string_equal(e.interp, interp);
	assert_int_equal(e.n_needed, 2);
	assert_string_equal(e.needed[0], "libfoo.so.1");
	assert_string_equal(e.needed[1], "libc.so.6");
	assert_string_equal(e.runpath, "$ORIGIN/../lib");
	assert_null(e.rpath);
	rootfs_elf_free(&e);
}

static void test_elf64(void **state)
{
	(void)state;
	check_good(ELFCLASS64, EM_X86_64);
}

static void test_elf32(void **state)
{
	(void)state;
	check_good(ELFCLASS32, EM_386);
}

static void test_not_elf(void **state)
{
	uint8_t b[IMG_SIZE];
	struct rootfs_elf e;

	(void)state;
	memset(b, 0, sizeof(b));
	memcpy(b, "#!/bin/sh\n", 10);
	assert_false(rootfs_elf_is_elf(b, sizeof(b)));
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -ENOEXEC);
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	assert_int_equal(rootfs_elf_parse(b, 3, &e), -ENOEXEC);
	b[EI_DATA] = ELFDATA2MSB;
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -ENOTSUP);
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_CLASS] = 7;
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -ENOTSUP);
}

static void test_static_binary(void **state)
{
	uint8_t b[IMG_SIZE];
	struct rootfs_elf e;

	(void)state;
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	put(b, 56, 0, 2); /* no program headers */
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), 0);
	assert_null(e.interp);
	assert_int_equal(e.n_needed, 0);
	rootfs_elf_free(&e);
}

static void expect_malformed(const struct dyn *dyn, size_t n, size_t len)
{
	uint8_t b[IMG_SIZE];
	struct rootfs_elf e;

	build(b, ELFCLASS64, dyn, n);
	assert_int_equal(rootfs_elf_parse(b, len, &e), -EINVAL);
	assert_null(e.needed);
	assert_null(e.interp);
}

static void test_malformed(void **state)
{
	const struct dyn needed_past_strsz[] = {
	    {DT_STRTAB, VBASE + STR_OFF}, {DT_STRSZ, 4}, {DT_NEEDED, STR_LIBC}, {DT_NULL, 0}};
	const struct dyn strtab_unmapped[] = {{DT_STRTAB, 0x10}, {DT_NEEDED, 1}, {DT_NULL, 0}};
	const struct dyn needed_at_end[] = {
	    {DT_STRTAB, VBASE + IMG_SIZE - 1}, {DT_NEEDED, 0}, {DT_NULL, 0}};
	uint8_t b[IMG_SIZE];
	struct rootfs_elf e;

	(void)state;
	/* Truncated: program headers and segments point past the end. */
	expect_malformed(good_dyn, N_GOOD, 100);
	expect_malformed(good_dyn, N_GOOD, 300);
	expect_malformed(needed_past_strsz, 4, IMG_SIZE);
	expect_malformed(strtab_unmapped, 3, IMG_SIZE);

	/* A name running into the end of the file without its NUL. */
	build(b, ELFCLASS64, needed_at_end, 3);
	b[IMG_SIZE - 1] = 'x';
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -EINVAL);

	/* Interpreter without terminating NUL inside its segment. */
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	put(b, PH_OFF + 56 + 32, sizeof(interp) - 1, 8);
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -EINVAL);

	/* Program header table larger than the file. */
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	put(b, 56, 1000, 2);
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -EINVAL);

	/* Entry size smaller than a program header. */
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	put(b, 54, 8, 2);
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -EINVAL);

	/* Segment offset + size overflowing. */
	build(b, ELFCLASS64, good_dyn, N_GOOD);
	put(b, PH_OFF + 2 * 56 + 8, UINT64_MAX - 4, 8);
	assert_int_equal(rootfs_elf_parse(b, sizeof(b), &e), -EINVAL);
}

/* The test binary links cmocka dynamically: a real-world DT_NEEDED list. */
static void test_real_binary(void **state)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	uint8_t *buf = malloc(64 << 20);
	size_t len;
	struct rootfs_elf e;
	struct rootfs_ldpath lp;
	char path[PATH_MAX];
	int found_cmocka = 0, found_libc = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(buf);
	len = fread(buf, 1, 64 << 20, f);
	fclose(f);
	assert_int_equal(rootfs_elf_parse(buf, len, &e), 0);
	assert_int_equal(e.machine, EM_X86_64);
	assert_non_null(e.interp);
	for (size_t i = 0; i < e.n_needed; i++) {
		found_cmocka |= strncmp(e.needed[i], "libcmocka.so", 12) == 0;
		found_libc |= strcmp(e.needed[i], "libc.so.6") == 0;
	}
	assert_true(found_cmocka);
	assert_true(found_libc);

	assert_int_equal(rootfs_ldpath_load(&lp, "/etc/ld.so.conf"), 0);
	assert_int_equal(
	    rootfs_ldpath_find(&lp, "libc.so.6", &e, "/nonexistent", path, sizeof(path)), 0);
	assert_int_equal(access(path, R_OK), 0);
	assert_string_equal(strrchr(path, '/'), "/libc.so.6");
	assert_int_equal(
	    rootfs_ldpath_find(&lp, "libdoesnotexist.so.9", &e, "/", path, sizeof(path)), -ENOENT);
	/* A 64-bit object never gets a 32-bit library (or a non-ELF file). */
	e.elf_class = ELFCLASS32;
	assert_int_equal(rootfs_ldpath_find(&lp, "libc.so.6", &e, "/", path, sizeof(path)),
			 -ENOENT);
	rootfs_ldpath_free(&lp);
	rootfs_elf_free(&e);
	free(buf);
}

struct conf_items {
	char items[16][64];
	int include[16];
	int n;
};

static int collect(void *ctx, int is_include, const char *value)
{
	struct conf_items *c = ctx;

	if (c->n == 16)
		return -ENOSPC;
	snprintf(c->items[c->n], sizeof(c->items[c->n]), "%s", value);
	c->include[c->n++] = is_include;
	return 0;
}

static void test_ldconf(void **state)
{
	const char *text = "# comment\n"
			   "include /etc/ld.so.conf.d/*.conf\n"
			   "/usr/local/lib\n"
			   "/opt/a:/opt/b, /opt/c  # trailing\n"
			   "include rel/*.conf other.conf\n";
	struct conf_items c = {0};

	(void)state;
	assert_int_equal(rootfs_ldconf_parse(text, strlen(text), collect, &c), 0);
	assert_int_equal(c.n, 7);
	assert_string_equal(c.items[0], "/etc/ld.so.conf.d/*.conf");
	assert_true(c.include[0]);
	assert_string_equal(c.items[1], "/usr/local/lib");
	assert_false(c.include[1]);
	assert_string_equal(c.items[2], "/opt/a");
	assert_string_equal(c.items[3], "/opt/b");
	assert_string_equal(c.items[4], "/opt/c");
	assert_string_equal(c.items[5], "rel/*.conf");
	assert_true(c.include[5]);
	assert_string_equal(c.items[6], "other.conf");
	assert_true(c.include[6]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elf64),     cmocka_unit_test(test_elf32),
	    cmocka_unit_test(test_not_elf),   cmocka_unit_test(test_static_binary),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_real_binary),
	    cmocka_unit_test(test_ldconf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
