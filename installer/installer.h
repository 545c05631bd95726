/* installer.h: how the parts of the installer program (installer/) meet.
 *
 * The installer turns a bare machine into a hypervisor appliance (spec/installer.md,
 * adapted to our A/B appliance; docs/installer.md). Its parts:
 *   main.c      flags, sub-commands, the daemon-mode sequence, reboot/kexec (core)
 *   progress.c  steps and progress, shown on the console, the serial line and the
 *               status page (core)
 *   status.c    the status page and SRPC on -portNum (6978): Installer.Shell and
 *               the enrolment methods (core)
 *   net.c       static network configuration from config.json (core)
 *   config.c    reads and validates every input in the configuration directory (fetch)
 *   fetch.c     the appliance image from the imageserver, every object verified (fetch)
 *   target.c    what goes on the data partition: certificates, flags, network
 *               configuration, subnets, the installer's own record (fetch)
 *   drives.c    the candidate drives (storage)
 *   layout.c    storage-layout.json normalised into a partition plan (storage, pure)
 *   storage.c   partitions, LUKS, file systems, boot loader: the only code that
 *               writes to a disk (storage)
 *   install.c   the order of it all: inst_install() (storage)
 *
 * Rule: nothing is written to any disk before inst_validate() has succeeded; every
 * input (configuration, image, objects, drives, layout fit) is checked first.
 */
#ifndef SS_INSTALLER_H
#define SS_INSTALLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/fleetmanager.h"

/* ---- fixed facts of the disk layout (docs/installer.md "Disk layout") ---------- */
/* GPT partition names (PARTNAME in /sys/class/block/X/uevent): the appliance finds
 * its partitions by them. */
#define INST_PART_BIOS "ss-bios" /* BIOS boot partition: GRUB's core.img */
#define INST_PART_ESP "ss-esp"	 /* EFI system partition: GRUB, grub.cfg, grubenv */
#define INST_PART_SLOT_A "ss-slot-a"
#define INST_PART_SLOT_B "ss-slot-b"
#define INST_PART_DATA "ss-data" /* /var/lib/hypervisor, libvirt, VM volumes */
/* File system labels (GRUB searches slots by label). */
#define INST_LABEL_ESP "SS_ESP"
#define INST_LABEL_SLOT_A "SS_SLOT_A"
#define INST_LABEL_SLOT_B "SS_SLOT_B"
#define INST_LABEL_DATA "SS_DATA"
/* The first two partitions are at fixed places so that the boot code can be made at
 * build time: the BIOS boot partition at LBA 2048 (1 MiB), the ESP right after it. */
#define INST_BIOS_START_LBA 2048u
#define INST_BIOS_SECTORS 2048u

/* ---- inputs (config.c) -------------------------------------------------------- */
struct inst_layout_entry {
	char mount_point[256];
	char label[64];
	char fs_type[8]; /* "ext4" or "vfat" */
	uint64_t min_bytes, min_free_bytes, bytes_per_inode;
	int reserved_blocks_pct; /* -1: default */
	uint32_t root_uid, root_gid;
};

struct inst_storage_layout {
	struct inst_layout_entry *entries;
	size_t n;
	char extra_basename[256]; /* default "/data/" */
	bool encrypt, use_kexec;
};

/* Where the configuration came from (installer/init passes -configSource). Seed
 * material and private keys are accepted only from a source that did not cross the
 * network in clear: the initramfs (kexec, hand-made) or the boot medium (ISO/USB). */
enum inst_source { INST_SRC_INITRAMFS, INST_SRC_MEDIUM, INST_SRC_NETWORK };

struct inst_config {
	char dir[4096]; /* -tftpDirectory */
	enum inst_source source;
	struct fmapi_get_machine_info_response info; /* config.json */
	bool have_info;
	char image_name[1024];	    /* imagename, trimmed; "" = none */
	char imageserver_host[256]; /* imageserver "host:port" split; "" = none */
	int imageserver_port;
	char fleetmanager_host[256]; /* fleetmanager "host:port" split; "" = none */
	int fleetmanager_port;
	struct inst_storage_layout layout; /* storage-layout.json (defaults if absent) */
	char enrol_token[65];		   /* enrol-token: 64 hex digits, "" = none */
	bool have_machine_cert;		   /* cert.pem + key.pem given (medium/initramfs) */
	bool have_ca;			   /* CA.pem given */
};

/* Reads and checks every file of cfg->dir (spec §3.1, §4.1): a missing required file,
 * bad JSON, an unknown field type, a layout that makes no sense: -1 with one clear
 * sentence in err. Nothing outside memory is changed. */
int inst_config_load(const char *dir, enum inst_source src, struct inst_config *cfg, char *err,
		     size_t errsz);
void inst_config_free(struct inst_config *cfg);

/* ---- progress (progress.c) ---------------------------------------------------- */
/* Steps, in order: "network", "enrol", "validate", "fetch", "partition", "write",
 * "configure", "boot". Each begin/end prints one line on the console and the serial
 * line ("installer: step fetch: begin", "installer: step fetch: done in 3.204 s" or
 * "installer: step fetch: FAILED: <why>") and shows on the status page. */
void inst_step_begin(const char *step);
void inst_step_end(const char *step, int rc, const char *msg);
/* Progress inside a step (bytes, objects, partitions...), rate-limited to one line
 * every 2 s on the console; always current on the status page. */
void inst_progress(const char *step, uint64_t done, uint64_t total, const char *unit);

/* ---- the install (install.c and its parts) ----------------------------------- */
struct inst_ctx {
	const struct inst_config *cfg;
	bool dry_run;
	bool efi;		  /* /sys/firmware/efi exists */
	const char *sysfs, *proc; /* -sysfsDirectory, -procDirectory */
	const char *tmp_root;	  /* -tmpRoot: tools (the image's tools tree) */
	const char *work;	  /* scratch directory in RAM (image, staging trees) */
	const char *drive_selector;
	/* TLS towards the imageserver: the machine's certificate (enrolled or given),
	 * the CA that the imageserver's certificate must chain to. */
	const char *cert_file, *key_file, *ca_file;
	/* Results for the boot step. */
	bool use_kexec;
	char kernel[4096], initrd[4096], cmdline[1024];
};

/* Everything that can fail without touching a disk: drives, the image (fetched into
 * ctx->work, every object's SHA-512 checked), the tools, the partition plan (does it
 * fit?). 0, or -1 with err. */
int inst_validate(struct inst_ctx *ctx, char *err, size_t errsz);
/* Partitions, formats and writes (after inst_validate). 0, or -1 with err. */
int inst_write(struct inst_ctx *ctx, char *err, size_t errsz);

/* ---- the parts of inst_validate / inst_write ---------------------------------- */
/* fetch.c: fetches cfg->image_name (a stream means its latest image) from the
 * imageserver over mTLS (ctx->cert_file/key_file, the server's certificate chained to
 * ctx->ca_file and naming the host) and unpacks it into dest (which must not exist):
 * every object's SHA-512 is checked before a byte of it is written. Progress on step
 * "fetch". 0, or -1 with err ("image x/y not found", "object <hash>: hash mismatch",
 * "imageserver h:p: certificate verify failed: ...", "imageserver h:p: unreachable"). */
int inst_fetch_image(struct inst_ctx *ctx, const char *dest, char *err, size_t errsz);

/* target.c: fills data_dir (empty, in RAM) with the tree that the data partition
 * holds at first boot (docs/installer.md "Data partition"): etc/hostname,
 * etc/network/interfaces, etc/resolv.conf, etc/ssl/{CA.pem,IdentityCA.pem,
 * hypervisor/cert.pem,hypervisor/key.pem}, etc/hypervisor/flags.default,
 * etc/installer/ (the configuration, for a later reinstall; no private key),
 * lib/hypervisor/subnets.json, log/installer/. 0, or -1 with err. */
int inst_target_stage(struct inst_ctx *ctx, const char *data_dir, char *err, size_t errsz);

/* The appliance image (build/images/hypervisor, as published to the imageserver):
 *   vmlinuz, initrd.img, manifest.json   the appliance, copied into a slot
 *   boot/bios-boot.img    GRUB boot.img (440 bytes) for LBA 0, pointing at LBA 2048
 *   boot/bios-core.img    GRUB i386-pc core image for the BIOS boot partition
 *   boot/esp.img.gz       the ESP's FAT image (gzip -n), written to the ESP partition
 *   boot/esp.json         {"Size":B,"GrubenvOffset":O,"GrubenvSize":1024,
 *                          "KeyOffset":K,"KeySize":4096}: byte offsets inside esp.img
 *                          of /grub/grubenv and of /ss/data.key (both preallocated)
 *   tools/                a root tree to chroot into (sfdisk, mke2fs, cryptsetup,
 *                          kexec and their libraries): the installer's -tmpRoot
 */
#define INST_ESP_BYTES (64u << 20) /* the ESP partition; esp.img may be smaller */
#define INST_LUKS_KEY_BYTES 32u

#endif
