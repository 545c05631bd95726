/* install: the order of the install. inst_validate checks every input (configuration,
 * drives, the image and its boot kit and tools, the layout's fit) without writing to
 * any disk; inst_write then partitions, writes the boot code and slots, and makes the
 * data partition. One install per process: the state between the two lives here. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "installer/drives.h"
#include "installer/installer.h"
#include "installer/layout.h"
#include "installer/storage.h"

static struct {
	bool validated;
	struct inst_drive drives[INST_MAX_DRIVES];
	size_t n_drives;
	struct inst_plan plan;
	struct inst_storage st;
	char image[3072], slot[3072], data[3072], tools[4096];
} inst;

static int step_fail(const char *step, char *err)
{
	inst_step_end(step, -1, err);
	return -1;
}

static int make_plan(const struct inst_ctx *ctx, uint64_t slot_usage, uint64_t esp_bytes, char *err,
		     size_t errsz)
{
	uint64_t sizes[INST_MAX_DRIVES];
	const char *names[INST_MAX_DRIVES];
	struct inst_plan_input in = {
	    .layout = &ctx->cfg->layout,
	    .slot_usage = slot_usage,
	    .esp_image_bytes = esp_bytes,
	    .drive_bytes = sizes,
	    .drive_names = names,
	    .n_drives = inst.n_drives,
	};
	size_t i;

	for (i = 0; i < inst.n_drives; i++) {
		sizes[i] = inst.drives[i].bytes;
		names[i] = inst.drives[i].dev;
	}
	return inst_plan_make(&in, &inst.plan, err, errsz);
}

static int regular_file(const char *dir, const char *name, char *err, size_t errsz)
{
	char path[4400];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return errbuf_set(err, errsz, "image %s has no %s", inst.image, name);
	return 0;
}

/* Slot A's tree: the appliance's kernel, initrd and manifest (hard links into the
 * fetched image) and the image's name. */
static int stage_slot(const struct inst_ctx *ctx, char *err, size_t errsz)
{
	static const char *const files[] = {"vmlinuz", "initrd.img", "manifest.json"};
	char src[4400], dst[4400], name[1100];
	size_t i;
	int rc, w;

	if (mkdir(inst.slot, 0755) < 0)
		return errbuf_set(err, errsz, "mkdir %s: %s", inst.slot, strerror(errno));
	for (i = 0; i < 3; i++) {
		if (regular_file(inst.image, files[i], err, errsz) < 0)
			return -1;
		snprintf(src, sizeof(src), "%s/%s", inst.image, files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", inst.slot, files[i]);
		rc = fsutil_link_or_copy(src, dst);
		if (rc < 0)
			return errbuf_set(err, errsz, "%s: %s", dst, strerror(-rc));
		chmod(dst, 0644);
	}
	w = snprintf(name, sizeof(name), "%s\n", ctx->cfg->image_name);
	snprintf(dst, sizeof(dst), "%s/image-name", inst.slot);
	rc = fsutil_write_atomic(dst, name, (size_t)w, 0644);
	return rc < 0 ? errbuf_set(err, errsz, "%s: %s", dst, strerror(-rc)) : 0;
}

static bool has_tools(const char *root)
{
	char probe[4200];

	snprintf(probe, sizeof(probe), "%s/usr/sbin/sfdisk", root);
	if (access(probe, X_OK) == 0)
		return true;
	snprintf(probe, sizeof(probe), "%s/sbin/sfdisk", root);
	return access(probe, X_OK) == 0;
}

/* The tools: -tmpRoot if it holds them already (spec §4.4.5: a prepared tree is
 * used as it is); else -tmpRoot becomes a link to the image's tools/ tree, so that
 * the boot step (kexec) and hwclock find them there too; "" means the host's own
 * tools (tests only). */
static int pick_tools(const struct inst_ctx *ctx, char *err, size_t errsz)
{
	char img_tools[3100];
	struct stat sb;

	snprintf(img_tools, sizeof(img_tools), "%s/tools", inst.image);
	if (!has_tools(img_tools))
		return errbuf_set(err, errsz, "image %s has no tools/ tree with sfdisk",
				  inst.image);
	if (!ctx->tmp_root) {
		snprintf(inst.tools, sizeof(inst.tools), "%s", img_tools);
		return 0;
	}
	if (!ctx->tmp_root[0]) {
		inst.tools[0] = '\0';
		return 0;
	}
	if (strlen(ctx->tmp_root) >= sizeof(inst.tools))
		return errbuf_set(err, errsz, "-tmpRoot: name too long");
	snprintf(inst.tools, sizeof(inst.tools), "%s", ctx->tmp_root);
	if (lstat(ctx->tmp_root, &sb) == 0 && !S_ISLNK(sb.st_mode) && has_tools(ctx->tmp_root))
		return 0;
	if (lstat(ctx->tmp_root, &sb) == 0) {
		/* an empty directory or an old link is replaced; anything else is kept */
		if ((S_ISLNK(sb.st_mode) ? unlink(ctx->tmp_root) : rmdir(ctx->tmp_root)) < 0)
			return errbuf_set(err, errsz,
					  "-tmpRoot %s exists but holds no tools (sfdisk)",
					  ctx->tmp_root);
	}
	if (symlink(img_tools, ctx->tmp_root) < 0)
		return errbuf_set(err, errsz, "-tmpRoot %s: link to %s: %s", ctx->tmp_root,
				  img_tools, strerror(errno));
	return 0;
}

static int validate_inputs(struct inst_ctx *ctx, char *err, size_t errsz)
{
	if (!ctx->cfg)
		return errbuf_set(err, errsz, "no configuration");
	if (!ctx->cfg->image_name[0])
		return errbuf_set(err, errsz, "no image specified (imagename): nothing to install");
	if (!ctx->cfg->imageserver_host[0])
		return errbuf_set(err, errsz, "no imageserver specified");
	if (!ctx->work || !ctx->work[0] || strlen(ctx->work) > 3000)
		return errbuf_set(err, errsz, "no work directory, or its name is too long");
	if (inst_drives_find(ctx, inst.drives, INST_MAX_DRIVES, &inst.n_drives, err, errsz) < 0)
		return -1;
	/* the plan, the sfdisk script and the boot code's place are in 512-byte LBAs */
	for (size_t i = 0; i < inst.n_drives; i++)
		if (inst.drives[i].sector != 512)
			return errbuf_set(err, errsz,
					  "%s has %u-byte sectors: only 512 is supported",
					  inst.drives[i].dev, inst.drives[i].sector);
	/* the layout's own errors and a gross misfit, before a long download */
	return make_plan(ctx, 0, 0, err, errsz);
}

static int validate_image(struct inst_ctx *ctx, char *err, size_t errsz)
{
	int64_t usage;

	if (pick_tools(ctx, err, errsz) < 0 || stage_slot(ctx, err, errsz) < 0)
		return -1;
	usage = inst_storage_usage(inst.slot);
	if (usage < 0)
		return errbuf_set(err, errsz, "%s: %s", inst.slot, strerror((int)-usage));
	memset(&inst.st, 0, sizeof(inst.st));
	inst.st.tools_root = inst.tools;
	inst.st.image_dir = inst.image;
	inst.st.slot_dir = inst.slot;
	inst.st.data_dir = inst.data;
	inst.st.drives = inst.drives;
	inst.st.sysfs = ctx->sysfs;
	inst.st.encrypt = ctx->cfg->layout.encrypt;
	/* the plan needs the ESP image's size, prepare needs the plan: plan with the
	 * largest ESP image that fits the default partition, then again with the real size */
	if (make_plan(ctx, (uint64_t)usage, 0, err, errsz) < 0)
		return -1;
	inst.st.plan = &inst.plan;
	if (inst_storage_prepare(&inst.st, err, errsz) < 0)
		return -1;
	return make_plan(ctx, (uint64_t)usage, inst.st.esp.size, err, errsz);
}

int inst_validate(struct inst_ctx *ctx, char *err, size_t errsz)
{
	int rc;

	inst_storage_free(&inst.st);
	memset(&inst, 0, sizeof(inst));
	inst_step_begin("validate");
	if (validate_inputs(ctx, err, errsz) < 0)
		return step_fail("validate", err);
	inst_step_end("validate", 0, NULL);

	inst_step_begin("fetch");
	snprintf(inst.image, sizeof(inst.image), "%s/image", ctx->work);
	snprintf(inst.slot, sizeof(inst.slot), "%s/slot-a", ctx->work);
	snprintf(inst.data, sizeof(inst.data), "%s/data", ctx->work);
	rc = inst_fetch_image(ctx, inst.image, err, errsz);
	if (rc < 0 || validate_image(ctx, err, errsz) < 0)
		return step_fail("fetch", err);
	inst_step_end("fetch", 0, NULL);
	inst.validated = true;
	return 0;
}

/* appends to buf (NUL-terminated, bufsz); -ENOSPC when full */
static int append(char *buf, size_t bufsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int append(char *buf, size_t bufsz, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + len, bufsz - len, fmt, ap);
	va_end(ap);
	return w < 0 || (size_t)w >= bufsz - len ? -ENOSPC : 0;
}

/* The extra partitions (layout entries and extra drives) for the appliance's init:
 * etc/crypttab ("NAME PARTLABEL=..." opened with the ESP's key) when encrypting, and
 * etc/fstab ("DEVICE MOUNTPOINT ext4 defaults") on the data partition. */
static int write_mount_tables(char *err, size_t errsz)
{
	char fstab[8192] = "", crypttab[8192] = "", path[3200];
	unsigned k = 0;
	size_t di, i;
	int rc = 0;

	for (di = 0; di < inst.plan.n_drives && rc == 0; di++) {
		const struct inst_drive_plan *dp = &inst.plan.drives[di];

		for (i = 0; i < dp->n && rc == 0; i++) {
			const struct inst_part *p = &dp->parts[i];

			if (p->kind != INST_PK_EXTRA)
				continue;
			k++;
			if (p->encrypt) {
				rc = append(crypttab, sizeof(crypttab),
					    "ss-extra-%u PARTLABEL=%s\n", k, p->name);
				if (rc == 0)
					rc = append(fstab, sizeof(fstab),
						    "/dev/mapper/ss-extra-%u %s ext4 defaults\n", k,
						    p->mount_point);
			} else {
				rc = append(fstab, sizeof(fstab), "PARTLABEL=%s %s ext4 defaults\n",
					    p->name, p->mount_point);
			}
		}
	}
	if (rc < 0)
		return errbuf_set(err, errsz, "too many extra partitions for etc/fstab");
	if (k == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/etc", inst.data);
	rc = fsutil_mkdir_p(path, 0755);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/etc/fstab", inst.data);
		rc = fsutil_write_atomic(path, fstab, strlen(fstab), 0644);
	}
	if (rc == 0 && crypttab[0]) {
		snprintf(path, sizeof(path), "%s/etc/crypttab", inst.data);
		rc = fsutil_write_atomic(path, crypttab, strlen(crypttab), 0644);
	}
	return rc < 0 ? errbuf_set(err, errsz, "%s: %s", path, strerror(-rc)) : 0;
}

static void write_progress(uint64_t done, uint64_t total, const char *unit)
{
	inst_progress("write", done, total, unit);
}

static void partition_progress(uint64_t done, uint64_t total, const char *unit)
{
	inst_progress("partition", done, total, unit);
}

static void configure_progress(uint64_t done, uint64_t total, const char *unit)
{
	inst_progress("configure", done, total, unit);
}

int inst_write(struct inst_ctx *ctx, char *err, size_t errsz)
{
	if (!inst.validated)
		return errbuf_set(err, errsz, "inst_write before a successful inst_validate");
	inst_step_begin("partition");
	/* the data tree is staged before the first write: if it fails, no disk changed */
	if (mkdir(inst.data, 0755) < 0 && errno != EEXIST) {
		errbuf_set(err, errsz, "mkdir %s: %s", inst.data, strerror(errno));
		return step_fail("partition", err);
	}
	if (inst_target_stage(ctx, inst.data, err, errsz) < 0 || write_mount_tables(err, errsz) < 0)
		return step_fail("partition", err);
	if (ctx->dry_run) {
		inst_step_end("partition", 0, "dry run: no disk written");
		return 0;
	}
	inst.st.progress = partition_progress;
	if (inst_storage_partition(&inst.st, err, errsz) < 0)
		return step_fail("partition", err);
	inst_step_end("partition", 0, NULL);

	inst_step_begin("write");
	inst.st.progress = write_progress;
	if (inst_storage_boot(&inst.st, err, errsz) < 0)
		return step_fail("write", err);
	inst_step_end("write", 0, NULL);

	inst_step_begin("configure");
	inst.st.progress = configure_progress;
	if (inst_storage_data(&inst.st, err, errsz) < 0)
		return step_fail("configure", err);
	inst_storage_free(&inst.st);
	ctx->use_kexec = ctx->cfg->layout.use_kexec;
	snprintf(ctx->kernel, sizeof(ctx->kernel), "%s/vmlinuz", inst.slot);
	snprintf(ctx->initrd, sizeof(ctx->initrd), "%s/initrd.img", inst.slot);
	snprintf(ctx->cmdline, sizeof(ctx->cmdline),
		 "console=tty0 console=ttyS0,115200n8 ss.slot=A");
	inst_step_end("configure", 0, NULL);
	return 0;
}
