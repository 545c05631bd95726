/* GUID partition tables for UEFI root volumes (UEFI spec §5.3): the protective MBR, the
 * primary header and entry array at LBA 1..33, their backup in the last 33 sectors.
 * Pure: builds bytes, no I/O; unit-tested. */
#ifndef HV_GPT_H
#define HV_GPT_H

#include <stddef.h>
#include <stdint.h>

#define GPT_SECTOR 512u
#define GPT_ENTRIES 128u
#define GPT_TABLE_SECTORS 32u		     /* 128 entries of 128 bytes */
#define GPT_PRIMARY_BYTES (34u * GPT_SECTOR) /* MBR + header + entries */
#define GPT_BACKUP_BYTES (33u * GPT_SECTOR)  /* entries + header, at the end */

enum gpt_type {
	GPT_TYPE_ESP,	/* EFI system partition */
	GPT_TYPE_LINUX, /* Linux file system */
};

struct gpt_part {
	enum gpt_type type;
	uint64_t first, last; /* LBAs, inclusive */
	uint8_t guid[16];
	const char *name; /* ASCII, up to 36 characters */
};

/* IEEE 802.3 CRC-32, as GPT uses it. */
uint32_t gpt_crc32(const void *buf, size_t len);

/* Fills primary (GPT_PRIMARY_BYTES, written at offset 0) and backup (GPT_BACKUP_BYTES,
 * written at (sectors - 33) * 512) for a disk of sectors with the n partitions. The
 * partitions must lie within the usable LBAs (34 .. sectors - 34) and not overlap.
 * 0 or -EINVAL. */
int gpt_build(uint8_t *primary, uint8_t *backup, uint64_t sectors, const uint8_t disk_guid[16],
	      const struct gpt_part *parts, size_t n);

#endif
