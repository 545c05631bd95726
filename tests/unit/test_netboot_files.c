/* Per-client netboot files (MAC binding, ACK requirement, expiry, tokens) and the
 * pxelinux -> iPXE script translation. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/ipxe_script.h"
#include "daemon/hypervisor/netsvc/netboot_files.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static const uint8_t macA[6] = {2, 0, 0, 0, 0, 0xa};
static const uint8_t macB[6] = {2, 0, 0, 0, 0, 0xb};

static void test_unbound_set(void **st)
{
	(void)st;
	struct nbf_registry *r = nbf_registry_new();
	struct netboot_file f[] = {{"config.json", "{}", 2}, {"/tftpboot/imagename", "img\n", 4}};
	struct nbf_blob *b;
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), NULL, f, 2, 0, 0), 0);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "imagename", 0, NULL, &b), NBF_FOUND);
	assert_int_equal(b->len, 4);
	assert_memory_equal(b->data, "img\n", 4);
	nbf_blob_unref(b);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "other", 0, NULL, &b), NBF_NO_FILE);
	/* per-IP: another client does not see them */
	assert_int_equal(nbf_lookup(r, ip("10.0.0.6"), "imagename", 0, NULL, &b), NBF_NO_SET);
	assert_null(b);
	/* a bad name is refused */
	struct netboot_file bad[] = {{"../x", "", 0}};
	assert_int_equal(nbf_set(r, ip("10.0.0.7"), NULL, bad, 1, 0, 0), -EINVAL);
	/* empty set deletes */
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), NULL, NULL, 0, 0, 0), 0);
	assert_int_equal(nbf_count(r), 0);
	nbf_registry_free(r);
}

static void test_mac_binding(void **st)
{
	(void)st;
	struct nbf_registry *r = nbf_registry_new();
	struct netboot_file f[] = {{"config.json", "{}", 2}};
	struct nbf_blob *b;
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), macA, f, 1, 1000, 9), 0);
	/* before the DHCP exchange completed: refused */
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "config.json", 0, NULL, &b), NBF_NOT_ACKED);
	nbf_note_ack(r, ip("10.0.0.5"), macB); /* someone else's ACK does not count */
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "config.json", 0, NULL, &b), NBF_NOT_ACKED);
	nbf_note_ack(r, ip("10.0.0.5"), macA);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "config.json", 0, macA, &b), NBF_FOUND);
	nbf_blob_unref(b);
	/* the neighbour table says another MAC holds the IP now */
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "config.json", 0, macB, &b), NBF_WRONG_MAC);
	/* expiry */
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "config.json", 1000, NULL, &b), NBF_NO_SET);
	assert_int_equal(nbf_expire(r, 1000), INT64_MAX);
	assert_int_equal(nbf_count(r), 0);
	nbf_registry_free(r);
}

static void test_tokens_and_blob_lifetime(void **st)
{
	(void)st;
	struct nbf_registry *r = nbf_registry_new();
	struct netboot_file f1[] = {{"a", "one", 3}}, f2[] = {{"a", "two", 3}};
	struct nbf_blob *held;
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), NULL, f1, 1, 0, 1), 0);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "a", 0, NULL, &held), NBF_FOUND);
	/* a newer registration replaces the set; the old owner cannot remove it */
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), NULL, f2, 1, 0, 2), 0);
	assert_int_equal(nbf_remove(r, ip("10.0.0.5"), 1), -EPERM);
	assert_int_equal(nbf_set_expiry(r, ip("10.0.0.5"), 1, 5), -EPERM);
	/* the transfer still holding the old bytes keeps them */
	assert_memory_equal(held->data, "one", 3);
	nbf_blob_unref(held);
	assert_int_equal(nbf_set_expiry(r, ip("10.0.0.5"), 2, 500), 0);
	assert_int_equal(nbf_expire(r, 10), 500);
	assert_int_equal(nbf_remove(r, ip("10.0.0.5"), 2), 0);
	assert_int_equal(nbf_remove(r, ip("10.0.0.5"), 0), -ENOENT);
	nbf_registry_free(r);
}

static void test_reregister_keeps_ack(void **st)
{
	(void)st;
	struct nbf_registry *r = nbf_registry_new();
	struct netboot_file f[] = {{"a", "x", 1}};
	struct nbf_blob *b;
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), macA, f, 1, 0, 1), 0);
	nbf_note_ack(r, ip("10.0.0.5"), macA);
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), macA, f, 1, 0, 2), 0);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "a", 0, NULL, &b), NBF_FOUND);
	nbf_blob_unref(b);
	assert_int_equal(nbf_set(r, ip("10.0.0.5"), macB, f, 1, 0, 3), 0);
	assert_int_equal(nbf_lookup(r, ip("10.0.0.5"), "a", 0, NULL, &b), NBF_NOT_ACKED);
	nbf_registry_free(r);
}

static void script_is(const char *cfg, const char *want)
{
	char *s = ipxe_script_from_pxelinux(cfg, strlen(cfg));
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_ipxe_script(void **st)
{
	(void)st;
	script_is("DEFAULT install\n"
		  "PROMPT 0\n"
		  "LABEL other\n  KERNEL other\n"
		  "LABEL install\n"
		  "  KERNEL /tftpboot/vmlinuz\n"
		  "  APPEND initrd=initrd.img,extra.img console=ttyS0 quiet\n"
		  "  IPAPPEND 2\n",
		  "#!ipxe\nkernel vmlinuz initrd=initrd.img initrd=extra.img console=ttyS0 quiet "
		  "BOOTIF=01-${mac:hexhyp}\n"
		  "initrd initrd.img\ninitrd extra.img\nboot\n");
	/* first label when DEFAULT names none; LINUX + INITRD keywords; APPEND - */
	script_is("UI menu.c32\r\nlabel a\r\nlinux k\r\ninitrd /i\r\nappend -\r\n",
		  "#!ipxe\nkernel k initrd=i\ninitrd i\nboot\n");
	/* DEFAULT as a command line */
	script_is("default vmlinuz initrd=i ro\n",
		  "#!ipxe\nkernel vmlinuz initrd=i ro\ninitrd i\nboot\n");
	/* initrd= takes the image's name, the last component of its path */
	script_is("LABEL a\nKERNEL k\nINITRD /tftpboot/d/i.gz\n",
		  "#!ipxe\nkernel k initrd=i.gz\ninitrd d/i.gz\nboot\n");
	/* ONTIMEOUT, LOCALBOOT */
	script_is("ONTIMEOUT disk\nLABEL net\nKERNEL k\nLABEL disk\nLOCALBOOT 0\n",
		  "#!ipxe\nexit\n");
	errno = 0;
	assert_null(ipxe_script_from_pxelinux("# nothing\n", 10));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unbound_set),
	    cmocka_unit_test(test_mac_binding),
	    cmocka_unit_test(test_tokens_and_blob_lifetime),
	    cmocka_unit_test(test_reregister_keeps_ack),
	    cmocka_unit_test(test_ipxe_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
