/* The root volume layout of image-based VMs: computeSize (spec/hypervisor.md §5), the
 * label, the MBR (boot code kept to 440 bytes, one bootable Linux partition from 1 MiB
 * to the end, CHS fields, 0x55AA) and grub.cfg. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <cmocka.h>

#include "daemon/hypervisor/vmm/gpt.h"
#include "daemon/hypervisor/vmm/rootdisk.h"

#define MIB (1ULL << 20)

static void test_size(void **state)
{
	(void)state;
	/* 100 MiB used: + 12.5 MiB + 0 free = 112.5 MiB -> 128 MiB (2^24 granularity). */
	assert_int_equal(rootdisk_size(0, 0, 100 * MIB), 128 * MIB);
	/* roundupPower below 24 is raised to 24. */
	assert_int_equal(rootdisk_size(0, 20, 8 * MIB), 16 * MIB);
	/* vm-control's defaults: 256 MiB free, 2^28. 12 MiB used -> 269.5 MiB -> 512 MiB. */
	assert_int_equal(rootdisk_size(256 * MIB, 28, 12 * MIB), 512 * MIB);
	/* Exactly on a boundary stays there. */
	assert_int_equal(rootdisk_size(16 * MIB, 24, 0), 16 * MIB);
	assert_int_equal(rootdisk_size(0, 24, 0), 16 * MIB);
	/* Overflow and absurd powers give 0. */
	assert_int_equal(rootdisk_size(UINT64_MAX, 24, 1), 0);
	assert_int_equal(rootdisk_size(0, 63, 1), 0);
}

static void test_label(void **state)
{
	struct in_addr ip;
	char buf[32];

	(void)state;
	inet_pton(AF_INET, "10.2.3.4", &ip);
	rootdisk_label(ip, buf, sizeof(buf));
	assert_string_equal(buf, "rootfs@0a020304");
	inet_pton(AF_INET, "192.168.255.1", &ip);
	rootdisk_label(ip, buf, sizeof(buf));
	assert_string_equal(buf, "rootfs@c0a8ff01");
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_mbr(void **state)
{
	uint8_t mbr[512], code[512];
	const uint8_t *e = mbr + 446;

	(void)state;
	memset(code, 0xcc, sizeof(code));
	assert_int_equal(rootdisk_mbr(mbr, code, 512 * MIB, 0x12345678), 0);
	for (int i = 0; i < 440; i++)
		assert_int_equal(mbr[i], 0xcc);
	assert_int_equal(get32(mbr + 440), 0x12345678);
	assert_int_equal(mbr[444], 0);
	assert_int_equal(mbr[445], 0);
	assert_int_equal(e[0], 0x80);
	assert_int_equal(e[4], 0x83);
	assert_int_equal(get32(e + 8), 2048);
	assert_int_equal(get32(e + 12), 512 * 2048 - 2048);
	/* LBA 2048 = C 0, H 32, S 33 with 255 heads and 63 sectors. */
	assert_int_equal(e[1], 32);
	assert_int_equal(e[2], 33);
	assert_int_equal(e[3], 0);
	/* Last LBA 1048575 = C 65, H 69, S 4. */
	assert_int_equal(e[5], 69);
	assert_int_equal(e[6], 4);
	assert_int_equal(e[7], 65);
	for (int i = 462; i < 510; i++)
		assert_int_equal(mbr[i], 0); /* the other three entries are empty */
	assert_int_equal(mbr[510], 0x55);
	assert_int_equal(mbr[511], 0xaa);
	/* Past cylinder 1023 the CHS end is the "use LBA" marker. */
	assert_int_equal(rootdisk_mbr(mbr, NULL, 16ULL << 30, 1), 0);
	assert_int_equal(mbr[0], 0);
	assert_int_equal(e[5], 0xfe);
	assert_int_equal(e[6], 0xff);
	assert_int_equal(e[7], 0xff);
	/* Too small (nothing after 1 MiB) and beyond 2 TiB are refused. */
	assert_int_equal(rootdisk_mbr(mbr, NULL, MIB, 1), -EINVAL);
	assert_int_equal(rootdisk_mbr(mbr, NULL, 4ULL << 40, 1), -EINVAL);
}

static void test_grub_cfg(void **state)
{
	char buf[1024];
	int n;

	(void)state;
	n = rootdisk_grub_cfg(buf, sizeof(buf), "/vmlinuz", "/initrd.img", "rootfs@0a020304", "");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\tlinux /vmlinuz root=LABEL=rootfs@0a020304 "
				    "console=ttyS0,115200n8 console=tty0\n"));
	assert_non_null(strstr(buf, "\tinitrd /initrd.img\n"));
	assert_non_null(strstr(buf, "set timeout=0\n"));
	n = rootdisk_grub_cfg(buf, sizeof(buf), "/boot/vmlinuz-6.1", NULL, "rootfs@01020304",
			      "quiet panic=-1");
	assert_true(n > 0);
	assert_non_null(strstr(buf, "console=tty0 quiet panic=-1\n"));
	assert_null(strstr(buf, "initrd"));
	assert_int_equal(rootdisk_grub_cfg(buf, 64, "/vmlinuz", NULL, "x", ""), -ENAMETOOLONG);
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void test_gpt(void **state)
{
	static uint8_t primary[GPT_PRIMARY_BYTES], backup[GPT_BACKUP_BYTES];
	const uint64_t sectors = 165888; /* 81 MiB */
	uint8_t guid[16] = {1, 2, 3}, hdr[92];
	struct gpt_part parts[2] = {
	    {GPT_TYPE_ESP, 2048, 34815, {9}, "EFI system partition"},
	    {GPT_TYPE_LINUX, 34816, 165847, {8}, "root"},
	};
	const uint8_t *h = primary + 512, *e = primary + 1024, *bh = backup + 32 * 512;

	(void)state;
	/* The CRC-32 check value. */
	assert_int_equal(gpt_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(gpt_build(primary, backup, sectors, guid, parts, 2), 0);
	/* Protective MBR. */
	assert_int_equal(primary[446 + 4], 0xee);
	assert_int_equal(get32(primary + 446 + 8), 1);
	assert_int_equal(get32(primary + 446 + 12), sectors - 1);
	assert_int_equal(primary[510], 0x55);
	assert_int_equal(primary[511], 0xaa);
	/* Primary header: self 1, backup at the last LBA, usable 34..end-34, entries at 2. */
	assert_memory_equal(h, "EFI PART", 8);
	assert_int_equal(get32(h + 12), 92);
	assert_int_equal(get64(h + 24), 1);
	assert_int_equal(get64(h + 32), sectors - 1);
	assert_int_equal(get64(h + 40), 34);
	assert_int_equal(get64(h + 48), sectors - 34);
	assert_int_equal(get64(h + 72), 2);
	assert_int_equal(get32(h + 80), 128);
	assert_int_equal(get32(h + 88), gpt_crc32(e, 128 * 128));
	memcpy(hdr, h, 92);
	memset(hdr + 16, 0, 4);
	assert_int_equal(get32(h + 16), gpt_crc32(hdr, 92));
	/* Entries: the ESP type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B on disk. */
	assert_int_equal(e[0], 0x28);
	assert_int_equal(e[3], 0xc1);
	assert_int_equal(e[15], 0x3b);
	assert_int_equal(get64(e + 32), 2048);
	assert_int_equal(get64(e + 40), 34815);
	assert_int_equal(e[56], 'E');
	assert_int_equal(e[57], 0);
	assert_int_equal(e[128], 0xaf); /* Linux 0FC63DAF-... */
	assert_int_equal(get64(e + 128 + 32), 34816);
	/* Backup: the same entries, its header pointing back at LBA 1. */
	assert_memory_equal(backup, e, 128 * 128);
	assert_int_equal(get64(bh + 24), sectors - 1);
	assert_int_equal(get64(bh + 32), 1);
	assert_int_equal(get64(bh + 72), sectors - 33);
	/* Overlaps and partitions over the tables are refused. */
	parts[1].first = 30000;
	assert_int_equal(gpt_build(primary, backup, sectors, guid, parts, 2), -EINVAL);
	parts[1].first = 34816;
	parts[1].last = sectors - 33;
	assert_int_equal(gpt_build(primary, backup, sectors, guid, parts, 2), -EINVAL);
	assert_int_equal(rootdisk_overhead(false), 0);
	assert_int_equal(rootdisk_overhead(true), 17 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size), cmocka_unit_test(test_label),
	    cmocka_unit_test(test_mbr),	 cmocka_unit_test(test_grub_cfg),
	    cmocka_unit_test(test_gpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
