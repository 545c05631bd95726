/* Image manifests: the text that says what goes into an appliance initramfs.
 * Pure parser (no I/O; a fuzz target). Syntax, one directive per line:
 *
 *   # comment                       blank lines and comments are ignored
 *   dir      PATH [mode=0755]
 *   file     PATH [SOURCE] [mode=0644]   host file (SOURCE defaults to PATH); ELF files
 *                                        bring their shared-library closure
 *   tree     PATH [SOURCE]               a host directory, recursively
 *   symlink  PATH TARGET
 *   nod      PATH c|b MAJOR MINOR [mode=0600]
 *   module   NAME...                     kernel modules + their modules.dep closure
 *   option   compress=zstd|gzip|xz level=N strip-modules=no|debug|unneeded
 *            strip-binaries=yes|no
 *   optional DIRECTIVE ...               a missing source is a warning, not an error
 *
 * compress=xz is what the kernel's XZ decoder reads: CRC32 check, LZMA2 only,
 * preset N with the "extreme" flag (xz -Ne). strip-modules=yes means debug:
 * debug sections and .BTF go; unneeded also drops the symbols no relocation uses.
 * strip-binaries=yes: ELF files of `file` lines with a SOURCE (our own programs, built
 * with debug info; host files come stripped by their packages) are copied through
 * objcopy --strip-unneeded: smaller, and no build path or compiler detail inside.
 *
 * ${NAME} in any field is replaced by the value the caller gives for NAME; an
 * unknown name is an error. PATHs are absolute and normal (no "." or ".."
 * components, no "//", no trailing "/"). Fields cannot contain blanks. */
#ifndef ROOTFS_MANIFEST_H
#define ROOTFS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

enum rootfs_kind {
	ROOTFS_DIR,
	ROOTFS_FILE,
	ROOTFS_TREE,
	ROOTFS_SYMLINK,
	ROOTFS_NOD,
	ROOTFS_MODULE,
};

enum rootfs_compress {
	ROOTFS_COMPRESS_ZSTD,
	ROOTFS_COMPRESS_GZIP,
	ROOTFS_COMPRESS_XZ,
};

enum rootfs_strip {
	ROOTFS_STRIP_NO,
	ROOTFS_STRIP_DEBUG,    /* objcopy --strip-debug, .BTF removed */
	ROOTFS_STRIP_UNNEEDED, /* objcopy --strip-unneeded, .BTF removed */
};

struct rootfs_entry {
	enum rootfs_kind kind;
	unsigned line;
	bool optional;
	char *path;    /* image path; for ROOTFS_MODULE the module name ('-' -> '_') */
	char *source;  /* FILE/TREE: host path or NULL (= path); SYMLINK: target */
	int mode;      /* permission bits, or -1 for the kind's default */
	char nod_type; /* 'c' or 'b' */
	unsigned major, minor;
};

struct rootfs_manifest {
	struct rootfs_entry *entries;
	size_t n_entries;
	enum rootfs_compress compress;
	int level; /* compression level, -1 for the compressor's default */
	enum rootfs_strip strip_modules;
	bool strip_binaries;
};

struct rootfs_var {
	const char *name;
	const char *value;
};

struct rootfs_manifest_error {
	unsigned line;
	char msg[160];
};

/* Initialises an empty manifest (zstd, default level, no module stripping). */
void rootfs_manifest_init(struct rootfs_manifest *m);

/* Parses text[0..len) and appends its entries to *m, so several manifests can be
 * read into one. vars[0..n_vars) are the ${NAME} values (borrowed). Returns 0, or
 * -EINVAL with err filled in (m keeps the entries of earlier lines), or -ENOMEM. */
int rootfs_manifest_parse(struct rootfs_manifest *m, const char *text, size_t len,
			  const struct rootfs_var *vars, size_t n_vars,
			  struct rootfs_manifest_error *err);

void rootfs_manifest_free(struct rootfs_manifest *m);

/* "zstd", "gzip" or "xz" (static string). */
const char *rootfs_compress_name(enum rootfs_compress c);

/* Nonzero if path is absolute and normal in the sense above. */
int rootfs_path_is_normal(const char *path);

#endif
