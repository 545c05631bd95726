/* Unit tests for the kernel module database (rootfs/modules.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rootfs/modules.h"

/* Shaped like Debian's modules.dep: each line lists its full transitive closure,
 * in an order that is not a load order (virtio_pci lists virtio_ring last). */
static const char dep[] =
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko:\n"
    "\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
    "kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/net/core/failover.ko:\n"
    "kernel/drivers/usb/storage/usb-storage.ko.xz:\n";

static const char builtin[] = "kernel/drivers/block/loop.ko\nkernel/fs/ext4/ext4.ko\n";

static struct rootfs_moddb *load(void)
{
	struct rootfs_moddb *db = rootfs_moddb_new();
	unsigned bad = 99;

	assert_non_null(db);
	assert_int_equal(rootfs_moddb_parse_dep(db, dep, strlen(dep), &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(rootfs_moddb_parse_builtin(db, builtin, strlen(builtin)), 0);
	return db;
}

/* Index of path in the load order, or -1. */
static long pos(const struct rootfs_moddb *db, const char *path)
{
	for (size_t i = 0; i < rootfs_moddb_order_len(db); i++)
		if (strcmp(rootfs_moddb_order_path(db, i), path) == 0)
			return (long)i;
	return -1;
}

static void test_closure_order(void **state)
{
	struct rootfs_moddb *db = load();

	(void)state;
	assert_int_equal(rootfs_moddb_closure(db, "virtio_pci"), 0);
	assert_int_equal(rootfs_moddb_order_len(db), 4);
	/* Every module comes after everything it depends on. */
	assert_true(pos(db, "kernel/drivers/virtio/virtio_ring.ko") <
		    pos(db, "kernel/drivers/virtio/virtio.ko"));
	assert_true(pos(db, "kernel/drivers/virtio/virtio.ko") <
		    pos(db, "kernel/drivers/virtio/virtio_pci.ko"));
	assert_true(pos(db, "kernel/drivers/virtio/virtio_pci_modern_dev.ko") <
		    pos(db, "kernel/drivers/virtio/virtio_pci.ko"));
	assert_int_equal(pos(db, "kernel/drivers/virtio/virtio_pci.ko"), 3);

	/* A second module shares dependencies: each module appears once. */
	assert_int_equal(rootfs_moddb_closure(db, "virtio-net"), 0);
	assert_int_equal(rootfs_moddb_order_len(db), 7);
	assert_true(pos(db, "kernel/net/core/failover.ko") <
		    pos(db, "kernel/drivers/net/net_failover.ko"));
	assert_int_equal(pos(db, "kernel/drivers/net/virtio_net.ko"), 6);
	assert_int_equal(rootfs_moddb_closure(db, "virtio_ring"), 0);
	assert_int_equal(rootfs_moddb_order_len(db), 7);
	rootfs_moddb_free(db);
}

static void test_names(void **state)
{
	struct rootfs_moddb *db = load();
	char name[32];

	(void)state;
	assert_int_equal(rootfs_moddb_closure(db, "usb_storage"), 0);
	assert_string_equal(rootfs_moddb_order_path(db, 0),
			    "kernel/drivers/usb/storage/usb-storage.ko.xz");
	assert_null(rootfs_moddb_order_path(db, 1));
	assert_int_equal(rootfs_module_name("a/b/crc-t10dif.ko.zst", name, sizeof(name)), 0);
	assert_string_equal(name, "crc_t10dif");
	assert_int_equal(rootfs_module_name("x.ko", name, sizeof(name)), 0);
	assert_string_equal(name, "x");
	assert_int_equal(rootfs_module_name("a/b/readme.txt", name, sizeof(name)), -EINVAL);
	assert_int_equal(rootfs_module_name("a/.ko", name, sizeof(name)), -EINVAL);
	assert_int_equal(rootfs_module_name("a/very_long_module_name_here.ko", name, 8), -EINVAL);
	rootfs_moddb_free(db);
}

static void test_builtin_and_unknown(void **state)
{
	struct rootfs_moddb *db = load();

	(void)state;
	assert_int_equal(rootfs_moddb_closure(db, "ext4"), 1);
	assert_int_equal(rootfs_moddb_closure(db, "loop"), 1);
	assert_int_equal(rootfs_moddb_closure(db, "nosuchmodule"), -ENOENT);
	assert_int_equal(rootfs_moddb_order_len(db), 0);
	rootfs_moddb_free(db);
}

static void test_restricted_dep_text(void **state)
{
	struct rootfs_moddb *db = load();
	char *text;

	(void)state;
	assert_int_equal(rootfs_moddb_closure(db, "net_failover"), 0);
	text = rootfs_moddb_order_dep_text(db);
	assert_non_null(text);
	assert_string_equal(text,
			    "kernel/net/core/failover.ko:\n"
			    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n");
	free(text);
	rootfs_moddb_free(db);
}

static void test_bad_input(void **state)
{
	static const char no_colon[] = "kernel/a.ko:\nkernel/b.ko kernel/a.ko\n";
	static const char unknown_dep[] = "kernel/a.ko:\nkernel/b.ko: kernel/zzz.ko\n";
	static const char not_module[] = "kernel/a.txt:\n";
	static const char cycle[] = "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n";
	struct rootfs_moddb *db;
	unsigned bad = 0;

	(void)state;
	db = rootfs_moddb_new();
	assert_int_equal(rootfs_moddb_parse_dep(db, no_colon, strlen(no_colon), &bad), -EINVAL);
	assert_int_equal(bad, 2);
	rootfs_moddb_free(db);

	db = rootfs_moddb_new();
	assert_int_equal(rootfs_moddb_parse_dep(db, unknown_dep, strlen(unknown_dep), &bad),
			 -EINVAL);
	assert_int_equal(bad, 2);
	rootfs_moddb_free(db);

	db = rootfs_moddb_new();
	assert_int_equal(rootfs_moddb_parse_dep(db, not_module, strlen(not_module), &bad), -EINVAL);
	assert_int_equal(bad, 1);
	rootfs_moddb_free(db);

	db = rootfs_moddb_new();
	assert_int_equal(rootfs_moddb_parse_dep(db, cycle, strlen(cycle), &bad), 0);
	assert_int_equal(rootfs_moddb_closure(db, "a"), -ELOOP);
	rootfs_moddb_free(db);

	db = rootfs_moddb_new();
	assert_int_equal(rootfs_moddb_parse_dep(db, "a.ko:\0", 6, &bad), -EINVAL);
	rootfs_moddb_free(db);
}

static void test_empty_db(void **state)
{
	struct rootfs_moddb *db = rootfs_moddb_new();
	char *text;

	(void)state;
	assert_int_equal(rootfs_moddb_closure(db, "virtio"), -ENOENT);
	text = rootfs_moddb_order_dep_text(db);
	assert_string_equal(text, "");
	free(text);
	rootfs_moddb_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_closure_order),	cmocka_unit_test(test_names),
	    cmocka_unit_test(test_builtin_and_unknown), cmocka_unit_test(test_restricted_dep_text),
	    cmocka_unit_test(test_bad_input),		cmocka_unit_test(test_empty_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
