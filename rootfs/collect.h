/* Host side of the image builder: turns manifest entries into image nodes by
 * reading the build host (files with their symlink chains, trees, the shared
 * library closure of ELF files, kernel modules with their modules.dep closure). */
#ifndef ROOTFS_COLLECT_H
#define ROOTFS_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "rootfs/image.h"
#include "rootfs/ldpath.h"
#include "rootfs/manifest.h"
#include "rootfs/modules.h"

struct rootfs_strv {
	char **v;
	size_t n;
};

struct rootfs_collect {
	struct rootfs_image *img;
	struct rootfs_ldpath ld;
	struct rootfs_moddb *moddb;	 /* NULL: no module directory */
	char *moddir;			 /* host directory holding modules.dep */
	char *kver;			 /* basename of moddir */
	bool modules_builtin;		 /* kernel without modules: module entries are built in */
	enum rootfs_strip strip_modules; /* what objcopy drops from copied modules */
	bool strip_binaries;		 /* ELF files of `file` lines with a SOURCE */
	size_t n_stripped;		 /* binaries stripped into tmpdir/binary-N */
	char *tmpdir;			 /* scratch space for stripped modules */
	void *scanned;			 /* tsearch set of host files already ELF-scanned */
	struct rootfs_strv inputs;	 /* every host file read, for make's depfile */
	struct rootfs_strv missing;	 /* optional sources that were absent */
	struct rootfs_strv modules;	 /* module paths (relative to moddir) in load order */
	char err[1024];
};

/* Sets up c for img (borrowed). moddir: a module directory, "builtin" for a kernel
 * without modules, or NULL. ldconf: usually "/etc/ld.so.conf". tmpdir: scratch dir
 * (created by the caller). Returns 0 or a negative errno with c->err set. */
int rootfs_collect_init(struct rootfs_collect *c, struct rootfs_image *img, const char *moddir,
			const char *ldconf, const char *tmpdir);
void rootfs_collect_free(struct rootfs_collect *c);

/* Adds one manifest entry (modules are only recorded; see _modules). */
int rootfs_collect_entry(struct rootfs_collect *c, const struct rootfs_entry *e);

/* Copies the recorded modules into /lib/modules/<kver>/ with a restricted
 * modules.dep, and writes the load order to /etc/modules-load (one path relative
 * to /lib/modules/<kver> per line, dependencies first). */
int rootfs_collect_modules(struct rootfs_collect *c);

int rootfs_strv_add(struct rootfs_strv *s, const char *str);
void rootfs_strv_free(struct rootfs_strv *s);

#endif
