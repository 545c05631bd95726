/* Reads what the image builder needs from an ELF file held in memory: class,
 * machine, interpreter and the dynamic section's DT_NEEDED/DT_RPATH/DT_RUNPATH.
 * Pure: no I/O, every read bounds-checked (a fuzz target). */
#ifndef ROOTFS_ELF_H
#define ROOTFS_ELF_H

#include <stddef.h>
#include <stdint.h>

struct rootfs_elf {
	int elf_class;	  /* ELFCLASS32 or ELFCLASS64 */
	uint16_t machine; /* EM_X86_64, ... */
	uint16_t type;	  /* ET_EXEC, ET_DYN, ET_REL, ... */
	char *interp;	  /* PT_INTERP, or NULL */
	char **needed;	  /* DT_NEEDED names in file order */
	size_t n_needed;
	char *rpath;   /* DT_RPATH, or NULL */
	char *runpath; /* DT_RUNPATH, or NULL */
};

/* Nonzero if buf starts with the ELF magic. */
int rootfs_elf_is_elf(const uint8_t *buf, size_t len);

/* Parses buf (borrowed) into *out, which the caller frees with rootfs_elf_free.
 * Returns 0, -ENOEXEC (not ELF), -ENOTSUP (big-endian or unknown class),
 * -EINVAL (malformed: offsets or strings outside the file) or -ENOMEM.
 * A file without program headers or dynamic section (static binary, object file)
 * parses fine with no interpreter and no needed libraries. */
int rootfs_elf_parse(const uint8_t *buf, size_t len, struct rootfs_elf *out);

void rootfs_elf_free(struct rootfs_elf *elf);

#endif
