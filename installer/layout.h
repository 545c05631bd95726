/* layout: storage-layout.json (struct inst_storage_layout) normalised into a
 * partition plan for every drive, and the check that it fits. Pure: no I/O.
 *
 * Boot drive (GPT, 1 MiB aligned):
 *   1 ss-bios    BIOS boot, LBA 2048, 1 MiB (GRUB core.img)
 *   2 ss-esp     EFI system, 64 MiB or the /boot (/mnt/efi) entry's size if larger
 *   3 ss-slot-a  ext4 SS_SLOT_A } each sized by the "/" entry (spec §4.2.4:
 *   4 ss-slot-b  ext4 SS_SLOT_B } MinimumFreeBytes = max(free, usage) + usage)
 *   5.. ss-x<mount point>  the other entries, ext4 labelled as the spec says
 *   last ss-data ext4 SS_DATA (LUKS2 when Encrypt), the rest of the drive; the
 *                entry "<basename>0", if any, sets its minimum and mke2fs options
 * Extra drives: one partition "ss-x<basename>N" (N >= 1), ext4 labelled
 * "<basename>N", LUKS2 when Encrypt, the whole drive.
 * The appliance mounts a partition named "ss-x/home" at /home. */
#ifndef SS_INST_LAYOUT_H
#define SS_INST_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "installer/installer.h"

#define INST_LAYOUT_MAX_PARTS 16
#define INST_LAYOUT_MAX_DRIVES 16
#define INST_MIB ((uint64_t)1 << 20)
/* Room a LUKS2 header takes in front of the file system (cryptsetup's default). */
#define INST_LUKS_HEADER_BYTES ((uint64_t)16 << 20)
/* The backup GPT at the end of the drive, rounded up to the 1 MiB alignment. */
#define INST_GPT_TAIL_BYTES INST_MIB
/* The smallest data partition that still holds its staging tree comfortably. */
#define INST_DATA_MIN_BYTES ((uint64_t)64 << 20)

#define INST_GUID_BIOS "21686148-6E69-6E6F-7444-656564454649"
#define INST_GUID_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define INST_GUID_LINUX "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

enum inst_part_kind {
	INST_PK_BIOS,
	INST_PK_ESP,
	INST_PK_SLOT_A,
	INST_PK_SLOT_B,
	INST_PK_EXTRA, /* another layout entry, or an extra drive's partition */
	INST_PK_DATA,
};

struct inst_part {
	enum inst_part_kind kind;
	unsigned num;	       /* GPT partition number, 1-based */
	char name[40];	       /* GPT partition name (at most 36 UTF-16 units) */
	char label[17];	       /* ext4 label (at most 16 bytes); "" for bios/esp */
	char mount_point[256]; /* where the appliance mounts it ("" for boot parts) */
	const char *type_guid;
	uint64_t start_lba, sectors; /* 512-byte sectors */
	bool encrypt;		     /* LUKS2 with the data key */
	/* mke2fs options from the layout entry (weakness 24): 0 / -1 = mke2fs's own. */
	uint64_t bytes_per_inode;
	int reserved_blocks_pct;
	uint32_t root_uid, root_gid;
};

struct inst_drive_plan {
	uint64_t drive_bytes;
	uint64_t need_bytes; /* the least this plan needs */
	struct inst_part parts[INST_LAYOUT_MAX_PARTS];
	size_t n;
};

struct inst_plan {
	struct inst_drive_plan drives[INST_LAYOUT_MAX_DRIVES];
	size_t n_drives;
	uint64_t slot_bytes, esp_bytes;
};

/* What the plan is made from. */
struct inst_plan_input {
	const struct inst_storage_layout *layout; /* borrowed */
	uint64_t slot_usage;		/* bytes the slot's files take in ext4 (imageUsage) */
	uint64_t data_usage;		/* bytes of the data partition's staging tree */
	uint64_t esp_image_bytes;	/* boot/esp.json Size: the ESP image written in place */
	const uint64_t *drive_bytes;	/* size of each drive; [0] = boot drive */
	const char *const *drive_names; /* for messages ("/dev/sda") */
	size_t n_drives;
};

/* Makes the plan. 0, or -1 with one sentence in err: "no root partition specified in
 * layout", "storage layout needs 4200 MiB on /dev/sda but the drive has 2048 MiB", a
 * label too long for ext4, an entry without a size, a second entry for one mount
 * point... */
int inst_plan_make(const struct inst_plan_input *in, struct inst_plan *plan, char *err,
		   size_t errsz);

/* The sfdisk script (GPT, names, types, LBAs) for one drive's plan into buf.
 * 0, or -ENOSPC. */
int inst_plan_sfdisk_script(const struct inst_drive_plan *dp, char *buf, size_t bufsz);

/* The partition of kind k on dp (the first one), or NULL. */
const struct inst_part *inst_plan_find(const struct inst_drive_plan *dp, enum inst_part_kind k);

#endif
