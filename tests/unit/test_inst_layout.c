/* Unit tests of installer/layout.c: storage-layout.json normalised into partitions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "installer/layout.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static struct inst_layout_entry entry(const char *mp, uint64_t min, uint64_t free_b)
{
	struct inst_layout_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.mount_point, sizeof(e.mount_point), "%s", mp);
	snprintf(e.fs_type, sizeof(e.fs_type), "ext4");
	e.min_bytes = min;
	e.min_free_bytes = free_b;
	e.reserved_blocks_pct = -1;
	return e;
}

struct fixture {
	struct inst_layout_entry e[8];
	struct inst_storage_layout l;
	uint64_t sizes[4];
	const char *names[4];
	struct inst_plan_input in;
	struct inst_plan plan;
	char err[256];
};

static void fx_init(struct fixture *f, uint64_t disk)
{
	memset(f, 0, sizeof(*f));
	f->e[0] = entry("/", 0, 256 * MIB);
	f->l.entries = f->e;
	f->l.n = 1;
	f->sizes[0] = disk;
	f->names[0] = "/dev/sda";
	f->sizes[1] = f->sizes[2] = 4 * GIB;
	f->names[1] = "/dev/sdb";
	f->names[2] = "/dev/sdc";
	f->in.layout = &f->l;
	f->in.slot_usage = 40 * MIB;
	f->in.data_usage = 100 * 1024;
	f->in.esp_image_bytes = 64 * MIB;
	f->in.drive_bytes = f->sizes;
	f->in.drive_names = f->names;
	f->in.n_drives = 1;
}

static int make(struct fixture *f)
{
	return inst_plan_make(&f->in, &f->plan, f->err, sizeof(f->err));
}

static void test_default_boot_drive(void **state)
{
	struct fixture f;
	const struct inst_drive_plan *dp;
	const struct inst_part *p;

	(void)state;
	fx_init(&f, 2 * GIB);
	assert_int_equal(make(&f), 0);
	dp = &f.plan.drives[0];
	assert_int_equal(dp->n, 5);
	p = &dp->parts[0];
	assert_int_equal(p->kind, INST_PK_BIOS);
	assert_string_equal(p->name, "ss-bios");
	assert_int_equal(p->start_lba, 2048);
	assert_int_equal(p->sectors, 2048);
	assert_string_equal(p->type_guid, INST_GUID_BIOS);
	p = &dp->parts[1];
	assert_string_equal(p->name, "ss-esp");
	assert_int_equal(p->start_lba, 4096);
	assert_int_equal(p->sectors * 512, 64 * MIB);
	assert_string_equal(p->type_guid, INST_GUID_ESP);
	/* slot: max(256 MiB, 40 MiB) + 40 MiB */
	p = &dp->parts[2];
	assert_string_equal(p->name, "ss-slot-a");
	assert_string_equal(p->label, "SS_SLOT_A");
	assert_int_equal(p->sectors * 512, 296 * MIB);
	assert_int_equal(p->start_lba, 4096 + 64 * 2048);
	p = &dp->parts[3];
	assert_string_equal(p->label, "SS_SLOT_B");
	assert_int_equal(p->sectors * 512, 296 * MIB);
	assert_int_equal(p->start_lba, dp->parts[2].start_lba + dp->parts[2].sectors);
	p = &dp->parts[4];
	assert_int_equal(p->kind, INST_PK_DATA);
	assert_string_equal(p->name, "ss-data");
	assert_string_equal(p->label, "SS_DATA");
	assert_false(p->encrypt);
	/* the rest of the drive, less the backup GPT's MiB */
	assert_int_equal((p->start_lba + p->sectors) * 512, 2 * GIB - MIB);
	assert_int_equal(p->start_lba % 2048, 0);
	assert_int_equal(f.plan.slot_bytes, 296 * MIB);
}

static void test_normalisation(void **state)
{
	struct fixture f;

	(void)state;
	/* imageUsage above MinimumFreeBytes: 2 × usage */
	fx_init(&f, 4 * GIB);
	f.e[0].min_free_bytes = 10 * MIB;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.slot_bytes, 80 * MIB);
	/* MinimumBytes wins when larger */
	fx_init(&f, 4 * GIB);
	f.e[0].min_bytes = 1 * GIB;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.slot_bytes, 1 * GIB);
	/* odd sizes round up to whole MiB */
	fx_init(&f, 4 * GIB);
	f.e[0].min_free_bytes = 100 * MIB + 1;
	f.in.slot_usage = 3;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.slot_bytes, 101 * MIB);
	/* the default 2 GiB of free space of hyper-control's layout */
	fx_init(&f, 8 * GIB);
	f.e[0].min_free_bytes = 2 * GIB;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.slot_bytes, 2 * GIB + 40 * MIB);
}

static void test_extras_and_options(void **state)
{
	struct fixture f;
	const struct inst_drive_plan *dp;
	const struct inst_part *p;
	char script[4096];

	(void)state;
	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/home", 100 * MIB, 0);
	f.e[2] = entry("/var/log", 0, 50 * MIB);
	snprintf(f.e[2].label, sizeof(f.e[2].label), "logs");
	f.e[2].bytes_per_inode = 16384;
	f.e[2].reserved_blocks_pct = 0;
	f.e[2].root_uid = 1000;
	f.e[2].root_gid = 1001;
	f.e[3] = entry("/data/0", 500 * MIB, 0);
	f.e[3].bytes_per_inode = 1 << 20;
	f.e[3].reserved_blocks_pct = 2;
	f.l.n = 4;
	assert_int_equal(make(&f), 0);
	dp = &f.plan.drives[0];
	assert_int_equal(dp->n, 7);
	p = &dp->parts[4];
	assert_int_equal(p->kind, INST_PK_EXTRA);
	assert_string_equal(p->name, "ss-x/home");
	assert_string_equal(p->label, "/home");
	assert_string_equal(p->mount_point, "/home");
	assert_int_equal(p->sectors * 512, 100 * MIB);
	assert_int_equal(p->reserved_blocks_pct, -1);
	p = &dp->parts[5];
	assert_string_equal(p->name, "ss-x/var/log");
	assert_string_equal(p->label, "logs");
	assert_int_equal(p->sectors * 512, 50 * MIB);
	assert_int_equal(p->bytes_per_inode, 16384);
	assert_int_equal(p->reserved_blocks_pct, 0);
	assert_int_equal(p->root_uid, 1000);
	assert_int_equal(p->root_gid, 1001);
	p = &dp->parts[6];
	assert_int_equal(p->kind, INST_PK_DATA);
	assert_int_equal(p->num, 7);
	assert_int_equal(p->bytes_per_inode, 1 << 20);
	assert_int_equal(p->reserved_blocks_pct, 2);
	assert_int_equal(inst_plan_sfdisk_script(dp, script, sizeof(script)), 0);
	assert_non_null(strstr(script, "label: gpt\n"));
	assert_non_null(
	    strstr(script, "start=2048, size=2048, type=" INST_GUID_BIOS ", name=\"ss-bios\"\n"));
	assert_non_null(strstr(script, "name=\"ss-x/var/log\""));
	assert_int_equal(inst_plan_sfdisk_script(dp, script, 100), -ENOSPC);
	assert_ptr_equal(inst_plan_find(dp, INST_PK_DATA), &dp->parts[6]);
	/* the data entry's minimum counts towards the fit */
	fx_init(&f, 1 * GIB);
	f.e[1] = entry("/data/0", 900 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "storage layout needs"));
}

static void test_efi_boot_fold(void **state)
{
	struct fixture f;

	(void)state;
	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/boot", 200 * MIB, 0);
	snprintf(f.e[1].fs_type, sizeof(f.e[1].fs_type), "vfat");
	f.l.n = 2;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.drives[0].n, 5); /* no partition of its own */
	assert_int_equal(f.plan.esp_bytes, 200 * MIB);
	assert_int_equal(f.plan.drives[0].parts[1].sectors * 512, 200 * MIB);
	/* a small /boot never shrinks the ESP below 64 MiB or the image */
	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/mnt/efi", 0, 8 * MIB);
	f.l.n = 2;
	f.in.esp_image_bytes = 70 * MIB + 5;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.esp_bytes, 71 * MIB);
}

static void test_fit(void **state)
{
	struct fixture f;

	(void)state;
	fx_init(&f, 800 * MIB);
	assert_int_equal(make(&f), 0);
	/* 1 + 1 + 64 + 2 × 296 + 64 (data) + 1 (backup GPT) = 723 MiB */
	fx_init(&f, 722 * MIB);
	assert_int_equal(make(&f), -1);
	assert_string_equal(f.err, "storage layout needs 723 MiB on /dev/sda but the drive has "
				   "722 MiB");
	fx_init(&f, 723 * MIB);
	assert_int_equal(make(&f), 0);
	/* Encrypt: the LUKS header comes on top of the data partition */
	fx_init(&f, 723 * MIB);
	f.l.encrypt = true;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "needs 739 MiB"));
	/* extra drives: one encrypted partition each, labelled <basename>N */
	fx_init(&f, 4 * GIB);
	f.l.encrypt = true;
	snprintf(f.l.extra_basename, sizeof(f.l.extra_basename), "/vols/");
	f.in.n_drives = 3;
	assert_int_equal(make(&f), 0);
	assert_int_equal(f.plan.n_drives, 3);
	assert_true(f.plan.drives[0].parts[4].encrypt);
	assert_int_equal(f.plan.drives[2].n, 1);
	assert_string_equal(f.plan.drives[2].parts[0].label, "/vols/2");
	assert_string_equal(f.plan.drives[2].parts[0].name, "ss-x/vols/2");
	assert_true(f.plan.drives[2].parts[0].encrypt);
	assert_int_equal(f.plan.drives[2].parts[0].start_lba, 2048);
	assert_int_equal((f.plan.drives[2].parts[0].start_lba + f.plan.drives[2].parts[0].sectors) *
			     512,
			 4 * GIB - MIB);
	/* a too small extra drive is named */
	f.sizes[1] = 10 * MIB;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "on /dev/sdb but the drive has 10 MiB"));
	/* absurd sizes saturate instead of wrapping */
	fx_init(&f, 4 * GIB);
	f.e[0].min_free_bytes = UINT64_MAX - 5;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "storage layout needs"));
}

static void test_errors(void **state)
{
	struct fixture f;

	(void)state;
	fx_init(&f, 4 * GIB);
	f.e[0] = entry("/home", 10 * MIB, 0);
	assert_int_equal(make(&f), -1);
	assert_string_equal(f.err, "no root partition specified in layout");

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/", 10 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "two entries for /"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/srv", 0, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "/srv has no MinimumBytes"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/srv", 10 * MIB, 0);
	snprintf(f.e[1].fs_type, sizeof(f.e[1].fs_type), "vfat");
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "only /boot may be vfat"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/a/very/long/mount/point", 10 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "longer than 16 bytes"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/x/../etc", 10 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "bad mount point"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("/x\",name=\"y", 10 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);
	assert_non_null(strstr(f.err, "bad mount point"));

	fx_init(&f, 4 * GIB);
	f.e[1] = entry("relative", 10 * MIB, 0);
	f.l.n = 2;
	assert_int_equal(make(&f), -1);

	fx_init(&f, 4 * GIB);
	f.in.n_drives = 0;
	assert_int_equal(make(&f), -1);
	assert_string_equal(f.err, "no drives found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_boot_drive),
	    cmocka_unit_test(test_normalisation),
	    cmocka_unit_test(test_extras_and_options),
	    cmocka_unit_test(test_efi_boot_fold),
	    cmocka_unit_test(test_fit),
	    cmocka_unit_test(test_errors),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
