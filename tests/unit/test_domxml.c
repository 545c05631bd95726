/* Domain XML generation: golden files pin the exact documents (regenerate with
 * SS_UPDATE_GOLDEN=1 after an intended change and review the diff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/libvirt/domxml.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void check_golden(const struct domxml_vm *vm, const char *name)
{
	const char *top = getenv("SS_TOP");
	char path[1024];
	char *got = NULL, *want;

	snprintf(path, sizeof(path), "%s/tests/unit/golden/domxml/%s.xml", top ? top : ".", name);
	assert_int_equal(domxml_build(vm, &got), 0);
	assert_non_null(got);
	if (getenv("SS_UPDATE_GOLDEN") != NULL) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	want = read_file(path);
	if (want == NULL)
		fail_msg("missing golden file %s", path);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

static const struct domxml_disk one_disk[] = {
    {.path = "/data/hyper-volumes/10.2.3.4/root", .format = "raw", .bus = DOMXML_BUS_VIRTIO},
};
static const struct domxml_nic one_nic[] = {
    {.bridge = "br@prod", .mac = "52:54:00:aa:bb:cc", .tap = "tap0a020304"},
};

static struct domxml_vm minimal_vm(void)
{
	struct domxml_vm vm = {
	    .name = "hv1234abcd-10.2.3.4",
	    .ip = "10.2.3.4",
	    .instance = "0123456789abcdef0123456789abcdef",
	    .virt_type = "qemu",
	    .arch = "x86_64",
	    .machine = "pc",
	    .memory_mib = 1024,
	    .vcpus = 1,
	    .disks = one_disk,
	    .ndisks = 1,
	    .nics = one_nic,
	    .nnics = 1,
	    .serial_socket = "/var/lib/hypervisor/VMs/10.2.3.4/serial0.sock",
	    .bootlog = "/var/lib/hypervisor/VMs/10.2.3.4/bootlog",
	};
	return vm;
}

static void test_minimal_bios(void **state)
{
	struct domxml_vm vm = minimal_vm();

	(void)state;
	check_golden(&vm, "minimal");
}

static void test_full_uefi_vnc(void **state)
{
	static const struct domxml_disk disks[] = {
	    {.path = "/v/10.2.3.4/root", .format = "qcow2", .bus = DOMXML_BUS_VIRTIO},
	    {.path = "/v/10.2.3.4/secondary-volume.0", .format = "raw", .bus = DOMXML_BUS_VIRTIO},
	    {.path = "/w/10.2.3.4/secondary-volume.1", .format = "raw", .bus = DOMXML_BUS_VIRTIO},
	};
	static const struct domxml_nic nics[] = {
	    {.bridge = "br0",
	     .mac = "52:54:00:aa:bb:cc",
	     .tap = "tap0a020304",
	     .queues = 4,
	     .mtu = 9000},
	    {.bridge = "br@sub2", .mac = "52:54:00:aa:bb:cd", .tap = "tap0a020304n1", .mtu = 1500},
	};
	struct domxml_vm vm = minimal_vm();

	(void)state;
	vm.virt_type = "kvm";
	vm.machine = "q35";
	vm.memory_mib = 4096;
	vm.vcpus = 3;
	vm.firmware = DOMXML_FIRMWARE_UEFI;
	vm.uefi_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
	vm.uefi_vars = "/usr/share/OVMF/OVMF_VARS_4M.fd";
	vm.uefi_nvram = "/var/lib/hypervisor/VMs/10.2.3.4/nvram.fd";
	vm.disks = disks;
	vm.ndisks = 3;
	vm.nics = nics;
	vm.nnics = 2;
	vm.console = DOMXML_CONSOLE_VNC;
	vm.vnc_socket = "/var/lib/hypervisor/VMs/10.2.3.4/vnc";
	vm.watchdog_model = "i6300esb";
	vm.watchdog_action = "poweroff";
	vm.vsock_cid = 0x0a020304;
	check_golden(&vm, "uefi-vnc");
}

static void test_kernel_e1000_ide(void **state)
{
	static const struct domxml_disk disks[] = {
	    {.path = "/v/10.2.3.4/root", .format = "raw", .bus = DOMXML_BUS_IDE},
	};
	static const struct domxml_nic nics[] = {
	    {.bridge = "br0", .mac = "52:54:00:aa:bb:cc", .e1000 = 1, .queues = 4},
	};
	struct domxml_vm vm = minimal_vm();

	(void)state;
	vm.disks = disks;
	vm.nics = nics;
	vm.kernel = "/v/10.2.3.4/kernel";
	vm.initrd = "/v/10.2.3.4/initrd";
	vm.cmdline = "console=ttyS0 net.ifnames=0 root=LABEL=rootfs@0a020304";
	vm.console = DOMXML_CONSOLE_DUMMY;
	vm.boot_network = 1;
	check_golden(&vm, "kernel-e1000-ide");
}

/* Paths and names come from the state directory and tags: they must be escaped. */
static void test_escaping(void **state)
{
	static const struct domxml_disk disks[] = {
	    {.path = "/v/a'b&c<d>\"e/root", .format = "raw"},
	};
	struct domxml_vm vm = minimal_vm();
	char *xml = NULL;

	(void)state;
	vm.disks = disks;
	vm.cmdline = NULL;
	assert_int_equal(domxml_build(&vm, &xml), 0);
	assert_non_null(strstr(xml, "<source file='/v/a&apos;b&amp;c&lt;d&gt;&quot;e/root'/>"));
	assert_null(strstr(xml, "a'b"));
	free(xml);
}

static void test_no_nic_no_disk(void **state)
{
	struct domxml_vm vm = minimal_vm();
	char *xml = NULL;

	(void)state;
	vm.ndisks = 0;
	vm.nnics = 0;
	assert_int_equal(domxml_build(&vm, &xml), 0);
	assert_null(strstr(xml, "<disk"));
	assert_null(strstr(xml, "<interface"));
	assert_non_null(strstr(xml, "<serial type='unix'>"));
	free(xml);
}

static void test_invalid(void **state)
{
	static const struct domxml_disk bad_fmt[] = {{.path = "/x", .format = "vmdk"}};
	static const struct domxml_nic no_bridge[] = {{.mac = "52:54:00:00:00:01"}};
	struct domxml_vm vm;
	char *xml = (char *)1;

	(void)state;
	vm = minimal_vm();
	vm.name = NULL;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	assert_null(xml);
	vm = minimal_vm();
	vm.virt_type = "xen";
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.memory_mib = 0;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.disks = bad_fmt;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.nics = no_bridge;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.initrd = "/x/initrd";
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.firmware = DOMXML_FIRMWARE_UEFI;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.console = DOMXML_CONSOLE_VNC;
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
	vm = minimal_vm();
	vm.serial_socket = "";
	assert_int_equal(domxml_build(&vm, &xml), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_bios),     cmocka_unit_test(test_full_uefi_vnc),
	    cmocka_unit_test(test_kernel_e1000_ide), cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_no_nic_no_disk),   cmocka_unit_test(test_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
