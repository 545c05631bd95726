/* The appliance's boot slots A and B as the upgrade agent sees them: the running slot
 * from the kernel command line, each slot's image name, writing a slot, and the GRUB
 * environment (ss_slot, ss_try). On an appliance a slot is the GPT partition ss-slot-a
 * or ss-slot-b (ext4 SS_SLOT_A/B) and grubenv sits inside the ss-esp partition; with
 * -upgradeSlotDirectory a slot is the directory <dir>/A or <dir>/B and -upgradeGrubenv
 * names any file holding the block (tests run the agent against plain files). */
#ifndef HV_SLOTS_H
#define HV_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/hvflags.h"

struct slots {
	const char *slot_dir;  /* borrowed; NULL or "": partitions */
	const char *grubenv;   /* borrowed; NULL or "": partition ss-esp */
	const char *sys_block; /* /sys/class/block */
	char env_path[4096];   /* the file or device of the block, once located */
	uint64_t env_off;
	int env_found;
};

/* The slot named by ss.slot= in the command line text: 'A', 'B' or 0 (none). Pure. */
char slots_parse_cmdline(const char *cmdline);

/* The running slot from the file path (e.g. /proc/cmdline): 'A', 'B' or 0. */
char slots_running(const char *cmdline_path);

/* The image name recorded in slot (its image-name file, trimmed) into out. 0 or
 * -errno with err. */
int slots_image_name(struct slots *s, char slot, char *out, size_t outsz, char *err, size_t errsz);

/* Writes slot from the image tree at tree (vmlinuz, initrd.img, manifest.json) with
 * image-name = name, staged beside a directory slot and renamed into place, or made
 * by mkfs.ext4 -d on a partition. work is a scratch directory on the data partition. 0 or
 * -errno with err. */
int slots_write(struct slots *s, char slot, const char *tree, const char *name, const char *work,
		char *err, size_t errsz);

/* grubenv's value of var into out ("" when unset). 0 or -errno with err. */
int slots_env_get(struct slots *s, const char *var, char *out, size_t outsz, char *err,
		  size_t errsz);
/* Sets var=value (NULL: removes it) in grubenv, in place, fsynced. 0 or -errno. */
int slots_env_set(struct slots *s, const char *var, const char *value, char *err, size_t errsz);

#endif
