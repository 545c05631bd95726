/* layout: storage-layout.json normalised (spec/installer.md §4.2, adapted to the A/B
 * appliance: see layout.h) into partitions with LBAs, and whether they fit. Pure. */
#include "installer/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

#define SECTOR ((uint64_t)512)

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Rounds up to whole MiB; saturates instead of wrapping for absurd sizes. */
static uint64_t mib_up(uint64_t b)
{
	if (b > UINT64_MAX - INST_MIB)
		return UINT64_MAX & ~(INST_MIB - 1);
	return (b + INST_MIB - 1) & ~(INST_MIB - 1);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t entry_size(const struct inst_layout_entry *e)
{
	return max_u64(e->min_bytes, e->min_free_bytes);
}

static const char *basename_of(const struct inst_storage_layout *l)
{
	return l->extra_basename[0] ? l->extra_basename : "/data/";
}

static void set_opts(struct inst_part *p, const struct inst_layout_entry *e)
{
	p->bytes_per_inode = e ? e->bytes_per_inode : 0;
	p->reserved_blocks_pct = e ? e->reserved_blocks_pct : -1;
	p->root_uid = e ? e->root_uid : 0;
	p->root_gid = e ? e->root_gid : 0;
}

/* Appends a partition of bytes (MiB multiple) at *lba; bytes 0 = up to end_lba. */
static struct inst_part *add_part(struct inst_drive_plan *dp, enum inst_part_kind k,
				  const char *name, const char *guid, uint64_t *lba, uint64_t bytes)
{
	struct inst_part *p = &dp->parts[dp->n];

	memset(p, 0, sizeof(*p));
	p->kind = k;
	p->num = (unsigned)++dp->n;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type_guid = guid;
	p->start_lba = *lba;
	p->sectors = bytes / SECTOR;
	p->reserved_blocks_pct = -1;
	*lba = add_sat(*lba, p->sectors);
	return p;
}

static int check_mount_point(const char *mp, char *err, size_t errsz)
{
	const char *c;

	for (c = mp; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("/._-", *c)))
			return errbuf_set(err, errsz,
					  "layout: bad mount point \"%s\" (letters, digits, "
					  "/._- only)",
					  mp);
	if (mp[0] != '/' || strstr(mp, "/../") || strstr(mp, "/./") || strstr(mp, "//") ||
	    (strlen(mp) >= 3 && strcmp(mp + strlen(mp) - 3, "/..") == 0))
		return errbuf_set(err, errsz, "layout: bad mount point \"%s\"", mp);
	return 0;
}

/* Label and GPT name of an extra partition mounted at mp. */
static int extra_names(struct inst_part *p, const char *mp, const char *label, char *err,
		       size_t errsz)
{
	const char *l = label && label[0] ? label : mp;
	int w;

	if (strlen(l) > 16)
		return errbuf_set(
		    err, errsz, "layout: label \"%s\" of %s is longer than 16 bytes (ext4)", l, mp);
	snprintf(p->label, sizeof(p->label), "%s", l);
	snprintf(p->mount_point, sizeof(p->mount_point), "%s", mp);
	w = snprintf(p->name, sizeof(p->name), "ss-x%s", mp);
	if (w < 0 || (size_t)w > 36)
		return errbuf_set(err, errsz, "layout: mount point %s is too long for a GPT name",
				  mp);
	return 0;
}

/* The slots' and the ESP's sizes, the data entry; checks every entry. */
static int scan_entries(const struct inst_plan_input *in, struct inst_plan *plan,
			const struct inst_layout_entry **data_e, char *err, size_t errsz)
{
	const struct inst_storage_layout *l = in->layout;
	const char *base = basename_of(l);
	const struct inst_layout_entry *root = NULL;
	char data_mp[300];
	size_t i, j;

	snprintf(data_mp, sizeof(data_mp), "%s0", base);
	*data_e = NULL;
	plan->esp_bytes = max_u64(INST_ESP_BYTES, mib_up(in->esp_image_bytes));
	for (i = 0; i < l->n; i++) {
		const struct inst_layout_entry *e = &l->entries[i];

		if (check_mount_point(e->mount_point, err, errsz) < 0)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(l->entries[j].mount_point, e->mount_point) == 0)
				return errbuf_set(err, errsz, "layout: two entries for %s",
						  e->mount_point);
		if (strcmp(e->mount_point, "/") == 0) {
			root = e;
		} else if (strcmp(e->mount_point, "/boot") == 0 ||
			   strcmp(e->mount_point, "/mnt/efi") == 0) {
			/* folded into the ESP (spec §4.2.1): only its size counts */
			plan->esp_bytes = max_u64(plan->esp_bytes, mib_up(entry_size(e)));
		} else if (strcmp(e->mount_point, data_mp) == 0) {
			*data_e = e;
		} else if (e->fs_type[0] && strcmp(e->fs_type, "ext4") != 0) {
			return errbuf_set(err, errsz,
					  "layout: %s is %s: only /boot may be vfat (it is the EFI "
					  "system partition)",
					  e->mount_point, e->fs_type);
		} else if (entry_size(e) == 0) {
			return errbuf_set(err, errsz,
					  "layout: %s has no MinimumBytes or MinimumFreeBytes "
					  "(only the data partition %s takes the rest)",
					  e->mount_point, data_mp);
		}
	}
	if (!root)
		return errbuf_set(err, errsz, "no root partition specified in layout");
	/* spec §4.2.4: MinimumFreeBytes = max(MinimumFreeBytes, imageUsage) + imageUsage */
	plan->slot_bytes =
	    mib_up(max_u64(root->min_bytes,
			   add_sat(max_u64(root->min_free_bytes, in->slot_usage), in->slot_usage)));
	if (plan->slot_bytes < 16 * INST_MIB)
		plan->slot_bytes = 16 * INST_MIB;
	return 0;
}

static int boot_drive(const struct inst_plan_input *in, struct inst_plan *plan, char *err,
		      size_t errsz)
{
	const struct inst_storage_layout *l = in->layout;
	const struct inst_layout_entry *data_e;
	struct inst_drive_plan *dp = &plan->drives[0];
	const char *base = basename_of(l);
	uint64_t lba = INST_BIOS_START_LBA, data_min, end;
	struct inst_part *p;
	char data_mp[300];
	size_t i;

	if (scan_entries(in, plan, &data_e, err, errsz) < 0)
		return -1;
	snprintf(data_mp, sizeof(data_mp), "%s0", base);
	dp->drive_bytes = in->drive_bytes[0];
	add_part(dp, INST_PK_BIOS, INST_PART_BIOS, INST_GUID_BIOS, &lba,
		 (uint64_t)INST_BIOS_SECTORS * SECTOR);
	add_part(dp, INST_PK_ESP, INST_PART_ESP, INST_GUID_ESP, &lba, plan->esp_bytes);
	p = add_part(dp, INST_PK_SLOT_A, INST_PART_SLOT_A, INST_GUID_LINUX, &lba, plan->slot_bytes);
	snprintf(p->label, sizeof(p->label), "%s", INST_LABEL_SLOT_A);
	p = add_part(dp, INST_PK_SLOT_B, INST_PART_SLOT_B, INST_GUID_LINUX, &lba, plan->slot_bytes);
	snprintf(p->label, sizeof(p->label), "%s", INST_LABEL_SLOT_B);
	for (i = 0; i < l->n; i++) {
		const struct inst_layout_entry *e = &l->entries[i];
		uint64_t b = mib_up(entry_size(e));

		if (strcmp(e->mount_point, "/") == 0 || strcmp(e->mount_point, "/boot") == 0 ||
		    strcmp(e->mount_point, "/mnt/efi") == 0 || e == data_e)
			continue;
		if (dp->n + 2 > INST_LAYOUT_MAX_PARTS)
			return errbuf_set(err, errsz, "layout: more than %d partitions",
					  INST_LAYOUT_MAX_PARTS - 1);
		if (l->encrypt)
			b = add_sat(b, INST_LUKS_HEADER_BYTES);
		p = add_part(dp, INST_PK_EXTRA, "", INST_GUID_LINUX, &lba, b);
		if (extra_names(p, e->mount_point, e->label, err, errsz) < 0)
			return -1;
		p->encrypt = l->encrypt;
		set_opts(p, e);
	}
	data_min =
	    max_u64(data_e ? mib_up(entry_size(data_e)) : 0,
		    max_u64(INST_DATA_MIN_BYTES, mib_up(add_sat(in->data_usage, in->data_usage))));
	if (l->encrypt)
		data_min = add_sat(data_min, INST_LUKS_HEADER_BYTES);
	dp->need_bytes =
	    add_sat(add_sat(lba > UINT64_MAX / SECTOR ? UINT64_MAX : lba * SECTOR, data_min),
		    INST_GPT_TAIL_BYTES);
	if (dp->need_bytes > dp->drive_bytes)
		return errbuf_set(err, errsz,
				  "storage layout needs %" PRIu64 " MiB on %s but the drive has "
				  "%" PRIu64 " MiB",
				  (dp->need_bytes + INST_MIB - 1) / INST_MIB, in->drive_names[0],
				  dp->drive_bytes / INST_MIB);
	end = ((dp->drive_bytes - INST_GPT_TAIL_BYTES) & ~(INST_MIB - 1)) / SECTOR;
	p = add_part(dp, INST_PK_DATA, INST_PART_DATA, INST_GUID_LINUX, &lba, 0);
	p->sectors = end - p->start_lba;
	snprintf(p->label, sizeof(p->label), "%s", INST_LABEL_DATA);
	snprintf(p->mount_point, sizeof(p->mount_point), "/data");
	p->encrypt = l->encrypt;
	set_opts(p, data_e);
	return 0;
}

static int extra_drive(const struct inst_plan_input *in, size_t i, struct inst_plan *plan,
		       char *err, size_t errsz)
{
	struct inst_drive_plan *dp = &plan->drives[i];
	uint64_t lba = INST_BIOS_START_LBA, end;
	struct inst_part *p;
	char mp[300];

	dp->drive_bytes = in->drive_bytes[i];
	dp->need_bytes = INST_MIB + INST_DATA_MIN_BYTES + INST_GPT_TAIL_BYTES +
			 (in->layout->encrypt ? INST_LUKS_HEADER_BYTES : 0);
	if (dp->need_bytes > dp->drive_bytes)
		return errbuf_set(err, errsz,
				  "storage layout needs %" PRIu64 " MiB on %s but the drive has "
				  "%" PRIu64 " MiB",
				  dp->need_bytes / INST_MIB, in->drive_names[i],
				  dp->drive_bytes / INST_MIB);
	snprintf(mp, sizeof(mp), "%s%zu", basename_of(in->layout), i);
	if (check_mount_point(mp, err, errsz) < 0)
		return -1;
	end = ((dp->drive_bytes - INST_GPT_TAIL_BYTES) & ~(INST_MIB - 1)) / SECTOR;
	p = add_part(dp, INST_PK_EXTRA, "", INST_GUID_LINUX, &lba, 0);
	p->sectors = end - p->start_lba;
	if (extra_names(p, mp, NULL, err, errsz) < 0)
		return -1;
	p->encrypt = in->layout->encrypt;
	/* spec §4.5: data drives hold few large files (VM volumes) */
	p->bytes_per_inode = 1u << 20;
	return 0;
}

int inst_plan_make(const struct inst_plan_input *in, struct inst_plan *plan, char *err,
		   size_t errsz)
{
	size_t i;

	memset(plan, 0, sizeof(*plan));
	if (in->n_drives == 0)
		return errbuf_set(err, errsz, "no drives found");
	if (in->n_drives > INST_LAYOUT_MAX_DRIVES)
		return errbuf_set(err, errsz, "more than %d drives", INST_LAYOUT_MAX_DRIVES);
	plan->n_drives = in->n_drives;
	if (boot_drive(in, plan, err, errsz) < 0)
		return -1;
	for (i = 1; i < in->n_drives; i++)
		if (extra_drive(in, i, plan, err, errsz) < 0)
			return -1;
	return 0;
}

int inst_plan_sfdisk_script(const struct inst_drive_plan *dp, char *buf, size_t bufsz)
{
	size_t len = 0, i;
	int w;

	w = snprintf(buf, bufsz, "label: gpt\nunit: sectors\nfirst-lba: 2048\n\n");
	if (w < 0 || (size_t)w >= bufsz)
		return -ENOSPC;
	len = (size_t)w;
	for (i = 0; i < dp->n; i++) {
		const struct inst_part *p = &dp->parts[i];

		w = snprintf(buf + len, bufsz - len,
			     "start=%" PRIu64 ", size=%" PRIu64 ", type=%s, name=\"%s\"\n",
			     p->start_lba, p->sectors, p->type_guid, p->name);
		if (w < 0 || (size_t)w >= bufsz - len)
			return -ENOSPC;
		len += (size_t)w;
	}
	return 0;
}

const struct inst_part *inst_plan_find(const struct inst_drive_plan *dp, enum inst_part_kind k)
{
	size_t i;

	for (i = 0; i < dp->n; i++)
		if (dp->parts[i].kind == k)
			return &dp->parts[i];
	return NULL;
}
