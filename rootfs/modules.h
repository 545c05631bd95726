/* Kernel module database for the image builder: modules.dep and modules.builtin
 * parsed from memory, and the dependency closure of a module list in load order.
 * Pure: no I/O. */
#ifndef ROOTFS_MODULES_H
#define ROOTFS_MODULES_H

#include <stddef.h>

struct rootfs_moddb; /* opaque */

/* Returns a new empty database, or NULL when out of memory. */
struct rootfs_moddb *rootfs_moddb_new(void);
void rootfs_moddb_free(struct rootfs_moddb *db);

/* Parses modules.dep text ("path.ko: dep.ko dep2.ko" per line). Returns 0,
 * -EINVAL (bad line; *bad_line set to its 1-based number) or -ENOMEM.
 * Call once, before rootfs_moddb_closure. */
int rootfs_moddb_parse_dep(struct rootfs_moddb *db, const char *text, size_t len,
			   unsigned *bad_line);

/* Parses modules.builtin text (one "kernel/.../name.ko" per line). */
int rootfs_moddb_parse_builtin(struct rootfs_moddb *db, const char *text, size_t len);

/* Module name of a path: basename without ".ko[.xz|.zst|.gz]", '-' -> '_'.
 * Writes at most cap bytes; returns 0 or -EINVAL if it does not fit or is not a
 * module file name. */
int rootfs_module_name(const char *path, char *name, size_t cap);

/* Adds module `name` and everything it depends on to the load order, dependencies
 * first, each module once across calls. Returns 1 if the module is built into the
 * kernel (nothing added), 0 when added (or already there), -ENOENT if unknown,
 * -ELOOP on a dependency cycle, -ENOMEM. */
int rootfs_moddb_closure(struct rootfs_moddb *db, const char *name);

/* The load order built so far: number of modules and the i-th module's path
 * relative to the modules directory (borrowed, valid until rootfs_moddb_free). */
size_t rootfs_moddb_order_len(const struct rootfs_moddb *db);
const char *rootfs_moddb_order_path(const struct rootfs_moddb *db, size_t i);

/* modules.dep text restricted to the modules in the load order (a new string the
 * caller frees; NULL when out of memory), so modprobe in the image works. */
char *rootfs_moddb_order_dep_text(const struct rootfs_moddb *db);

#endif
