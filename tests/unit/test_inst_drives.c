/* Unit tests of installer/drives.c against a made-up sysfs: partition device names,
 * the -drives list (explicit names: unknown, partitions, empty), the scan's filters and
 * the -driveSelector program (reorder, unknown or repeated names, failure). /dev/zero
 * and /dev/full stand in for drives whose first sector reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "installer/drives.h"

static char root[64];
static const char *proc_dir; /* NULL: the host's /proc */

static void put(const char *rel, const char *text)
{
	char path[256], cmd[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (text[0] == '#')
		chmod(path, 0755);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_inst_drives.XXXXXX");
	assert_non_null(mkdtemp(root));
	put("class/block/zero/size", "2097152\n"); /* 1 GiB */
	put("class/block/zero/removable", "0\n");
	put("class/block/full/size", "4194304\n");
	put("class/block/full/removable", "0\n");
	put("class/block/full/queue/logical_block_size", "4096\n");
	put("class/block/zerop1/partition", "1\n");
	put("class/block/zerop1/size", "100\n");
	put("class/block/nosize/removable", "0\n");
	put("class/block/md0/md0p1/partition", "1\n");
	put("sel-swap", "#!/bin/sh\necho \"$2\"; echo \"$1\"\n");
	put("sel-unknown", "#!/bin/sh\necho sdq\n");
	put("sel-twice", "#!/bin/sh\necho \"$1\"; echo \"$1\"\n");
	put("sel-fail", "#!/bin/sh\nexit 3\n");
	put("sel-none", "#!/bin/sh\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_part_dev(void **state)
{
	struct inst_ctx ctx = {.sysfs = root};
	struct inst_drive d = {.name = "sda", .dev = "/dev/sda"};
	char out[64];

	(void)state;
	assert_int_equal(inst_drive_part_dev(&ctx, &d, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/sda1");
	snprintf(d.name, sizeof(d.name), "nvme0n1");
	snprintf(d.dev, sizeof(d.dev), "/dev/nvme0n1");
	assert_int_equal(inst_drive_part_dev(&ctx, &d, 12, out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/nvme0n1p12");
	snprintf(d.name, sizeof(d.name), "loop3");
	snprintf(d.dev, sizeof(d.dev), "/dev/loop3");
	assert_int_equal(inst_drive_part_dev(&ctx, &d, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/loop3p2");
	assert_int_equal(inst_drive_part_dev(&ctx, &d, 2, out, 8), -ENAMETOOLONG);
}

static int find(const char *list, const char *selector, struct inst_drive *dv, size_t *n, char *err)
{
	char sel[128];
	struct inst_ctx ctx = {.sysfs = root, .proc = proc_dir};

	if (selector) {
		snprintf(sel, sizeof(sel), "%s/%s", root, selector);
		ctx.drive_selector = sel;
	}
	inst_drives_override = list;
	err[0] = '\0';
	return inst_drives_find(&ctx, dv, INST_MAX_DRIVES, n, err, 512);
}

static void test_named(void **state)
{
	struct inst_drive dv[INST_MAX_DRIVES];
	char err[512];
	size_t n;

	(void)state;
	assert_int_equal(find("zero,/dev/full", NULL, dv, &n, err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(dv[0].name, "zero");
	assert_string_equal(dv[0].dev, "/dev/zero");
	assert_int_equal(dv[0].bytes, 1ull << 30);
	assert_string_equal(dv[1].name, "full");
	assert_int_equal(dv[1].bytes, 2ull << 30);
	assert_int_equal(dv[0].sector, 512);
	assert_int_equal(dv[1].sector, 4096);

	assert_int_equal(find("zero,sdq", NULL, dv, &n, err), -1);
	assert_non_null(strstr(err, "unknown drive sdq"));
	assert_int_equal(find("zerop1", NULL, dv, &n, err), -1);
	assert_non_null(strstr(err, "zerop1 is a partition"));
	assert_int_equal(find("nosize", NULL, dv, &n, err), -1);
	assert_non_null(strstr(err, "no size"));
	assert_int_equal(find("zero,zero", NULL, dv, &n, err), -1);
	assert_non_null(strstr(err, "named twice"));
	assert_int_equal(find("../zero", NULL, dv, &n, err), -1);
	assert_non_null(strstr(err, "bad drive name"));
	assert_int_equal(find(",", NULL, dv, &n, err), -1);
	assert_string_equal(err, "no drives found");
}

static void test_scan(void **state)
{
	struct inst_drive dv[INST_MAX_DRIVES];
	char err[512];
	size_t n;

	(void)state;
	/* no device link: nothing is a candidate in the scan */
	assert_int_equal(find(NULL, NULL, dv, &n, err), -1);
	assert_string_equal(err, "no drives found");
	{
		char link[256];

		snprintf(link, sizeof(link), "%s/class/block/zero/device", root);
		assert_int_equal(symlink("/", link), 0);
		snprintf(link, sizeof(link), "%s/class/block/full/device", root);
		assert_int_equal(symlink("/", link), 0);
	}
	put("class/block/full/removable", "1\n"); /* a USB stick: never a candidate */
	assert_int_equal(find("", NULL, dv, &n, err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dv[0].name, "zero");
	put("class/block/full/removable", "0\n");
	assert_int_equal(find("", NULL, dv, &n, err), 0);
	assert_int_equal(n, 2);
	/* the mounted boot medium (a partition of it, or the whole drive) is skipped;
	 * a drive whose name only starts the same is not */
	put("mounts", "proc /proc proc rw 0 0\n/dev/zerop2 /mnt/boot iso9660 ro 0 0\n"
		      "/dev/fullx1 /mnt/x ext4 rw 0 0\n");
	proc_dir = root;
	assert_int_equal(find("", NULL, dv, &n, err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dv[0].name, "full");
	put("mounts", "/dev/full /mnt/boot iso9660 ro 0 0\n");
	assert_int_equal(find("", NULL, dv, &n, err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dv[0].name, "zero");
	/* named explicitly, it is the user's choice */
	assert_int_equal(find("full", NULL, dv, &n, err), 0);
	assert_int_equal(n, 1);
	proc_dir = NULL;
}

static void test_selector(void **state)
{
	struct inst_drive dv[INST_MAX_DRIVES];
	char err[512];
	size_t n;

	(void)state;
	assert_int_equal(find("zero,full", "sel-swap", dv, &n, err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(dv[0].name, "full");
	assert_string_equal(dv[1].name, "zero");
	assert_int_equal(find("zero,full", "sel-unknown", dv, &n, err), -1);
	assert_string_equal(err, "-driveSelector: unknown drive sdq");
	assert_int_equal(find("zero,full", "sel-twice", dv, &n, err), -1);
	assert_non_null(strstr(err, "chosen twice"));
	assert_int_equal(find("zero,full", "sel-fail", dv, &n, err), -1);
	assert_non_null(strstr(err, "failed"));
	assert_int_equal(find("zero,full", "sel-none", dv, &n, err), -1);
	assert_string_equal(err, "-driveSelector chose no drive");
	inst_drives_override = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_part_dev),
	    cmocka_unit_test(test_named),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_selector),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
