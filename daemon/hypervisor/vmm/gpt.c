/* GPT tables (see gpt.h). */
#include "daemon/hypervisor/vmm/gpt.h"

#include <errno.h>
#include <string.h>

/* Type GUIDs in their on-disk byte order (first three fields little-endian). */
static const uint8_t type_esp[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				     0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
static const uint8_t type_linux[16] = {0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
				       0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4};

uint32_t gpt_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void header(uint8_t *h, uint64_t self, uint64_t alt, uint64_t entries_lba, uint64_t sectors,
		   const uint8_t guid[16], uint32_t entries_crc)
{
	memset(h, 0, GPT_SECTOR);
	memcpy(h, "EFI PART", 8);
	le32(h + 8, 0x00010000);
	le32(h + 12, 92);
	le64(h + 24, self);
	le64(h + 32, alt);
	le64(h + 40, 2 + GPT_TABLE_SECTORS);
	le64(h + 48, sectors - 2 - GPT_TABLE_SECTORS);
	memcpy(h + 56, guid, 16);
	le64(h + 72, entries_lba);
	le32(h + 80, GPT_ENTRIES);
	le32(h + 84, 128);
	le32(h + 88, entries_crc);
	le32(h + 16, gpt_crc32(h, 92));
}

int gpt_build(uint8_t *primary, uint8_t *backup, uint64_t sectors, const uint8_t disk_guid[16],
	      const struct gpt_part *parts, size_t n)
{
	uint8_t *mbr = primary, *entries = primary + 2 * GPT_SECTOR;
	uint64_t first_usable = 2 + GPT_TABLE_SECTORS, last_usable;
	uint32_t crc;

	if (sectors < 2 * (2 + GPT_TABLE_SECTORS) || n > GPT_ENTRIES)
		return -EINVAL;
	last_usable = sectors - 2 - GPT_TABLE_SECTORS;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].first < first_usable || parts[i].last > last_usable ||
		    parts[i].first > parts[i].last)
			return -EINVAL;
		for (size_t k = 0; k < i; k++)
			if (parts[i].first <= parts[k].last && parts[k].first <= parts[i].last)
				return -EINVAL;
	}
	memset(primary, 0, GPT_PRIMARY_BYTES);
	/* Protective MBR: one partition of type 0xEE over the whole disk (or 2 TiB). */
	mbr[446 + 1] = 0x00;
	mbr[446 + 2] = 0x02;
	mbr[446 + 4] = 0xee;
	mbr[446 + 5] = mbr[446 + 6] = mbr[446 + 7] = 0xff;
	le32(mbr + 446 + 8, 1);
	le32(mbr + 446 + 12, sectors - 1 > 0xffffffffu ? 0xffffffffu : (uint32_t)(sectors - 1));
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = entries + 128 * i;
		const char *name = parts[i].name ? parts[i].name : "";

		memcpy(e, parts[i].type == GPT_TYPE_ESP ? type_esp : type_linux, 16);
		memcpy(e + 16, parts[i].guid, 16);
		le64(e + 32, parts[i].first);
		le64(e + 40, parts[i].last);
		for (size_t c = 0; c < 36 && name[c]; c++)
			e[56 + 2 * c] = (uint8_t)name[c]; /* UTF-16LE of ASCII */
	}
	crc = gpt_crc32(entries, GPT_ENTRIES * 128);
	header(primary + GPT_SECTOR, 1, sectors - 1, 2, sectors, disk_guid, crc);
	memcpy(backup, entries, GPT_TABLE_SECTORS * GPT_SECTOR);
	header(backup + GPT_TABLE_SECTORS * GPT_SECTOR, sectors - 1, 1,
	       sectors - 1 - GPT_TABLE_SECTORS, sectors, disk_guid, crc);
	return 0;
}
