/* ELF reader for the image builder: interpreter and DT_NEEDED closure inputs.
 * Little-endian ELF32 and ELF64; every offset is checked against the buffer. */
#include "rootfs/elf.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets that differ between the classes. */
struct elf_layout {
	size_t phoff, phentsize, phnum; /* in the file header */
	size_t ph_size;			/* minimum program header size */
	size_t p_offset, p_vaddr, p_filesz;
	size_t dyn_size; /* one Elf*_Dyn */
	size_t word;	 /* 4 or 8: size of addresses and offsets */
};

static const struct elf_layout layout64 = {
    .phoff = 32,
    .phentsize = 54,
    .phnum = 56,
    .ph_size = 56,
    .p_offset = 8,
    .p_vaddr = 16,
    .p_filesz = 32,
    .dyn_size = 16,
    .word = 8,
};
static const struct elf_layout layout32 = {
    .phoff = 28,
    .phentsize = 42,
    .phnum = 44,
    .ph_size = 32,
    .p_offset = 4,
    .p_vaddr = 8,
    .p_filesz = 16,
    .dyn_size = 8,
    .word = 4,
};

struct elf_reader {
	const uint8_t *buf;
	size_t len;
	const struct elf_layout *l;
};

static int rd_u16(const struct elf_reader *r, size_t off, uint16_t *v)
{
	if (off > r->len || r->len - off < 2)
		return -EINVAL;
	*v = (uint16_t)(r->buf[off] | (uint16_t)r->buf[off + 1] << 8);
	return 0;
}

/* Reads an unsigned little-endian value of n bytes (4 or 8). */
static int rd_uint(const struct elf_reader *r, size_t off, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (off > r->len || r->len - off < n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		x |= (uint64_t)r->buf[off + i] << (8 * i);
	*v = x;
	return 0;
}

static int rd_word(const struct elf_reader *r, size_t off, uint64_t *v)
{
	return rd_uint(r, off, r->l->word, v);
}

/* Dynamic tags are signed in ELF64 and ELF32; only the small positive ones matter. */
static int rd_tag(const struct elf_reader *r, size_t off, int64_t *tag)
{
	uint64_t v;
	int rc = rd_word(r, off, &v);

	if (rc < 0)
		return rc;
	if (r->l->word == 4)
		*tag = (int32_t)(uint32_t)v;
	else
		*tag = (int64_t)v;
	return 0;
}

/* Copies the NUL-terminated string at off, which must end before limit. */
static int dup_string(const struct elf_reader *r, uint64_t off, uint64_t limit, char **out)
{
	const uint8_t *end;

	if (limit > r->len)
		limit = r->len;
	if (off >= limit)
		return -EINVAL;
	end = memchr(r->buf + off, '\0', (size_t)(limit - off));
	if (end == NULL)
		return -EINVAL;
	*out = strdup((const char *)r->buf + off);
	return *out ? 0 : -ENOMEM;
}

struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};

static int rd_phdr(const struct elf_reader *r, size_t off, struct elf_phdr *ph)
{
	uint64_t type;
	int rc;

	if ((rc = rd_uint(r, off, 4, &type)) < 0 ||
	    (rc = rd_word(r, off + r->l->p_offset, &ph->offset)) < 0 ||
	    (rc = rd_word(r, off + r->l->p_vaddr, &ph->vaddr)) < 0 ||
	    (rc = rd_word(r, off + r->l->p_filesz, &ph->filesz)) < 0)
		return rc;
	ph->type = (uint32_t)type;
	if (ph->offset > r->len || r->len - ph->offset < ph->filesz)
		return -EINVAL;
	return 0;
}

struct elf_phdrs {
	size_t off, entsize, num;
};

/* Maps a virtual address to a file offset through the PT_LOAD segments. */
static int vaddr_to_offset(const struct elf_reader *r, const struct elf_phdrs *ph, uint64_t vaddr,
			   uint64_t *off, uint64_t *avail)
{
	for (size_t i = 0; i < ph->num; i++) {
		struct elf_phdr p;
		int rc = rd_phdr(r, ph->off + i * ph->entsize, &p);

		if (rc < 0)
			return rc;
		if (p.type != PT_LOAD || vaddr < p.vaddr || vaddr - p.vaddr >= p.filesz)
			continue;
		*off = p.offset + (vaddr - p.vaddr);
		*avail = p.filesz - (vaddr - p.vaddr);
		return 0;
	}
	return -EINVAL;
}

static int add_needed(struct rootfs_elf *out, char *name)
{
	char **n = realloc(out->needed, (out->n_needed + 1) * sizeof(*n));

	if (n == NULL) {
		free(name);
		return -ENOMEM;
	}
	out->needed = n;
	out->needed[out->n_needed++] = name;
	return 0;
}

static int parse_dynamic(const struct elf_reader *r, const struct elf_phdrs *ph,
			 const struct elf_phdr *dyn, struct rootfs_elf *out)
{
	uint64_t strtab = 0, strsz = 0, str_off, str_avail;
	int have_strtab = 0, rc;
	size_t n = (size_t)(dyn->filesz / r->l->dyn_size);

	/* First pass: the string table's address and size. */
	for (size_t i = 0; i < n; i++) {
		size_t off = (size_t)dyn->offset + i * r->l->dyn_size;
		int64_t tag;
		uint64_t val;

		if ((rc = rd_tag(r, off, &tag)) < 0 ||
		    (rc = rd_word(r, off + r->l->word, &val)) < 0)
			return rc;
		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB) {
			strtab = val;
			have_strtab = 1;
		} else if (tag == DT_STRSZ) {
			strsz = val;
		}
	}
	if (!have_strtab)
		return 0;
	if ((rc = vaddr_to_offset(r, ph, strtab, &str_off, &str_avail)) < 0)
		return rc;
	if (strsz == 0 || strsz > str_avail)
		strsz = str_avail;

	/* Second pass: names, in file order. */
	for (size_t i = 0; i < n; i++) {
		size_t off = (size_t)dyn->offset + i * r->l->dyn_size;
		int64_t tag;
		uint64_t val;
		char *s = NULL;

		if ((rc = rd_tag(r, off, &tag)) < 0 ||
		    (rc = rd_word(r, off + r->l->word, &val)) < 0)
			return rc;
		if (tag == DT_NULL)
			break;
		if (tag != DT_NEEDED && tag != DT_RPATH && tag != DT_RUNPATH)
			continue;
		if (val >= strsz)
			return -EINVAL;
		if ((rc = dup_string(r, str_off + val, str_off + strsz, &s)) < 0)
			return rc;
		if (tag == DT_NEEDED) {
			if ((rc = add_needed(out, s)) < 0)
				return rc;
		} else if (tag == DT_RPATH && out->rpath == NULL) {
			out->rpath = s;
		} else if (tag == DT_RUNPATH && out->runpath == NULL) {
			out->runpath = s;
		} else {
			free(s);
		}
	}
	return 0;
}

int rootfs_elf_is_elf(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static int parse(const struct elf_reader *r, struct rootfs_elf *out)
{
	struct elf_phdrs ph;
	uint64_t phoff;
	uint16_t entsize, num;
	int rc, seen_dynamic = 0;

	if ((rc = rd_u16(r, 16, &out->type)) < 0 || (rc = rd_u16(r, 18, &out->machine)) < 0 ||
	    (rc = rd_word(r, r->l->phoff, &phoff)) < 0 ||
	    (rc = rd_u16(r, r->l->phentsize, &entsize)) < 0 ||
	    (rc = rd_u16(r, r->l->phnum, &num)) < 0)
		return rc;
	if (phoff == 0 || num == 0)
		return 0;
	if (num == PN_XNUM)
		return -ENOTSUP;
	if (entsize < r->l->ph_size || phoff > r->len || (r->len - phoff) / entsize < num)
		return -EINVAL;
	ph.off = (size_t)phoff;
	ph.entsize = entsize;
	ph.num = num;

	for (size_t i = 0; i < ph.num; i++) {
		struct elf_phdr p;

		if ((rc = rd_phdr(r, ph.off + i * ph.entsize, &p)) < 0)
			return rc;
		if (p.type == PT_INTERP && out->interp == NULL) {
			if ((rc = dup_string(r, p.offset, p.offset + p.filesz, &out->interp)) < 0)
				return rc;
		} else if (p.type == PT_DYNAMIC && !seen_dynamic) {
			seen_dynamic = 1;
			if ((rc = parse_dynamic(r, &ph, &p, out)) < 0)
				return rc;
		}
	}
	return 0;
}

int rootfs_elf_parse(const uint8_t *buf, size_t len, struct rootfs_elf *out)
{
	struct elf_reader r = {.buf = buf, .len = len};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!rootfs_elf_is_elf(buf, len) || len < EI_NIDENT)
		return -ENOEXEC;
	if (buf[EI_DATA] != ELFDATA2LSB)
		return -ENOTSUP;
	if (buf[EI_CLASS] == ELFCLASS64)
		r.l = &layout64;
	else if (buf[EI_CLASS] == ELFCLASS32)
		r.l = &layout32;
	else
		return -ENOTSUP;
	out->elf_class = buf[EI_CLASS];
	rc = parse(&r, out);
	if (rc < 0)
		rootfs_elf_free(out);
	return rc;
}

void rootfs_elf_free(struct rootfs_elf *elf)
{
	if (elf == NULL)
		return;
	free(elf->interp);
	for (size_t i = 0; i < elf->n_needed; i++)
		free(elf->needed[i]);
	free(elf->needed);
	free(elf->rpath);
	free(elf->runpath);
	memset(elf, 0, sizeof(*elf));
}
