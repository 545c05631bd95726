/* libFuzzer harness for the image builder's pure parsers: the image manifest
 * (rootfs/manifest.c), the ELF reader (rootfs/elf.c) and modules.dep
 * (rootfs/modules.c) with a closure over its first module. The first byte picks
 * the target. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/elf.h"
#include "rootfs/manifest.h"
#include "rootfs/modules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_manifest(const uint8_t *p, size_t n)
{
	static const struct rootfs_var vars[] = {{"TOP", "/src"}, {"BIN", "/src/build/bin"}};
	struct rootfs_manifest m;
	struct rootfs_manifest_error err;

	rootfs_manifest_init(&m);
	if (rootfs_manifest_parse(&m, (const char *)p, n, vars, 2, &err) == 0) {
		for (size_t i = 0; i < m.n_entries; i++)
			if (m.entries[i].kind != ROOTFS_MODULE &&
			    !rootfs_path_is_normal(m.entries[i].path))
				abort();
	}
	rootfs_manifest_free(&m);
}

static void fuzz_elf(const uint8_t *p, size_t n)
{
	struct rootfs_elf e;

	if (rootfs_elf_parse(p, n, &e) == 0) {
		for (size_t i = 0; i < e.n_needed; i++)
			if (strlen(e.needed[i]) >= n)
				abort();
		rootfs_elf_free(&e);
	}
}

static void fuzz_modules(const uint8_t *p, size_t n)
{
	struct rootfs_moddb *db = rootfs_moddb_new();
	unsigned bad;
	char *text;

	if (db == NULL)
		return;
	if (rootfs_moddb_parse_dep(db, (const char *)p, n, &bad) == 0) {
		const char *colon = memchr(p, ':', n);
		char path[256], name[256];
		size_t l = colon ? (size_t)(colon - (const char *)p) : 0;

		if (l > 0 && l < sizeof(path)) {
			memcpy(path, p, l);
			path[l] = '\0';
			if (rootfs_module_name(path, name, sizeof(name)) == 0)
				rootfs_moddb_closure(db, name);
		}
		text = rootfs_moddb_order_dep_text(db);
		free(text);
	}
	rootfs_moddb_free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_manifest(data + 1, size - 1);
		break;
	case 1:
		fuzz_elf(data + 1, size - 1);
		break;
	default:
		fuzz_modules(data + 1, size - 1);
		break;
	}
	return 0;
}
