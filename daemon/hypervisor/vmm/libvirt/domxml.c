/* Libvirt domain XML generation (pure: no I/O besides the in-memory stream). It
 * carries the devices the original passed to QEMU on its command line: virtio
 * disks, a tap on the subnet's bridge with the VM's MAC, serial port 0 on a Unix
 * socket with its output logged to bootlog, optional VGA/VNC, UEFI, watchdog. */
#include "daemon/hypervisor/vmm/libvirt/domxml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* Prints fmt where each "%s" is replaced by the next argument, XML-escaped.
 * Only %s is understood: numbers are formatted by the caller. */
static void putx(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putx(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			put_escaped(f, va_arg(ap, const char *));
			p++;
		} else if (p[0] == '%' && p[1] == 'u') {
			fprintf(f, "%u", va_arg(ap, unsigned int));
			p++;
		} else {
			fputc(*p, f);
		}
	}
	va_end(ap);
}

static int empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static int validate(const struct domxml_vm *vm)
{
	if (empty(vm->name) || empty(vm->virt_type) || empty(vm->arch) || empty(vm->machine))
		return -EINVAL;
	if (strcmp(vm->virt_type, "qemu") != 0 && strcmp(vm->virt_type, "kvm") != 0)
		return -EINVAL;
	if (vm->memory_mib == 0 || vm->vcpus == 0)
		return -EINVAL;
	if (empty(vm->serial_socket) || empty(vm->bootlog))
		return -EINVAL;
	if (vm->firmware == DOMXML_FIRMWARE_UEFI && (empty(vm->uefi_code) || empty(vm->uefi_nvram)))
		return -EINVAL;
	if (vm->console == DOMXML_CONSOLE_VNC && empty(vm->vnc_socket))
		return -EINVAL;
	if (empty(vm->kernel) && (!empty(vm->initrd) || !empty(vm->cmdline)))
		return -EINVAL;
	for (size_t i = 0; i < vm->ndisks; i++)
		if (empty(vm->disks[i].path) || empty(vm->disks[i].format) ||
		    (strcmp(vm->disks[i].format, "raw") != 0 &&
		     strcmp(vm->disks[i].format, "qcow2") != 0))
			return -EINVAL;
	for (size_t i = 0; i < vm->nnics; i++)
		if (empty(vm->nics[i].bridge) || empty(vm->nics[i].mac))
			return -EINVAL;
	if (vm->ndisks > 26)
		return -EINVAL;
	return 0;
}

static void put_os(FILE *f, const struct domxml_vm *vm)
{
	putx(f, "  <os>\n    <type arch='%s' machine='%s'>hvm</type>\n", vm->arch, vm->machine);
	if (vm->firmware == DOMXML_FIRMWARE_UEFI) {
		putx(f, "    <loader readonly='yes' type='pflash'>%s</loader>\n", vm->uefi_code);
		if (!empty(vm->uefi_vars))
			putx(f, "    <nvram template='%s'>%s</nvram>\n", vm->uefi_vars,
			     vm->uefi_nvram);
		else
			putx(f, "    <nvram>%s</nvram>\n", vm->uefi_nvram);
	}
	if (!empty(vm->kernel)) {
		putx(f, "    <kernel>%s</kernel>\n", vm->kernel);
		if (!empty(vm->initrd))
			putx(f, "    <initrd>%s</initrd>\n", vm->initrd);
		if (!empty(vm->cmdline))
			putx(f, "    <cmdline>%s</cmdline>\n", vm->cmdline);
	}
	if (vm->boot_network)
		fputs("    <boot dev='network'/>\n", f);
	if (empty(vm->kernel))
		fputs("    <boot dev='hd'/>\n", f);
	fputs("    <smbios mode='sysinfo'/>\n  </os>\n", f);
}

static void put_disks(FILE *f, const struct domxml_vm *vm)
{
	for (size_t i = 0; i < vm->ndisks; i++) {
		const struct domxml_disk *d = &vm->disks[i];
		int ide = d->bus == DOMXML_BUS_IDE;
		char dev[8];

		snprintf(dev, sizeof(dev), "%s%c", ide ? "hd" : "vd", (char)('a' + i));
		putx(f,
		     "    <disk type='file' device='disk'>\n"
		     "      <driver name='qemu' type='%s' discard='ignore'/>\n"
		     "      <source file='%s'/>\n"
		     "      <target dev='%s' bus='%s'/>\n"
		     "    </disk>\n",
		     d->format, d->path, dev, ide ? "ide" : "virtio");
	}
}

static void put_nics(FILE *f, const struct domxml_vm *vm)
{
	for (size_t i = 0; i < vm->nnics; i++) {
		const struct domxml_nic *n = &vm->nics[i];

		putx(f,
		     "    <interface type='bridge'>\n"
		     "      <source bridge='%s'/>\n"
		     "      <mac address='%s'/>\n"
		     "      <model type='%s'/>\n",
		     n->bridge, n->mac, n->e1000 ? "e1000" : "virtio");
		if (!empty(n->tap))
			putx(f, "      <target dev='%s'/>\n", n->tap);
		if (!n->e1000 && n->queues > 1)
			putx(f, "      <driver name='vhost' queues='%u'/>\n", n->queues);
		if (n->mtu != 0 && n->mtu != 1500)
			putx(f, "      <mtu size='%u'/>\n", n->mtu);
		fputs("    </interface>\n", f);
	}
}

static void put_display(FILE *f, const struct domxml_vm *vm)
{
	int vga = vm->show_vga || vm->console != DOMXML_CONSOLE_NONE;

	if (vm->console == DOMXML_CONSOLE_VNC) {
		putx(f, "    <graphics type='vnc' socket='%s'/>\n", vm->vnc_socket);
		fputs("    <input type='tablet' bus='usb'/>\n", f);
	}
	if (vga)
		fputs("    <video>\n      <model type='vga'/>\n    </video>\n", f);
}

int domxml_build(const struct domxml_vm *vm, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	rc = validate(vm);
	if (rc < 0)
		return rc;
	f = open_memstream(&buf, &len);
	if (f == NULL)
		return -ENOMEM;

	putx(f, "<domain type='%s'>\n  <name>%s</name>\n", vm->virt_type, vm->name);
	if (!empty(vm->ip))
		putx(f, "  <title>SmallStack VM %s</title>\n", vm->ip);
	putx(f,
	     "  <metadata>\n    <smallstack:vm xmlns:smallstack='" DOMXML_NS
	     "' instance='%s' ip='%s'/>\n  </metadata>\n",
	     empty(vm->instance) ? "" : vm->instance, empty(vm->ip) ? "" : vm->ip);
	putx(f, "  <memory unit='MiB'>%u</memory>\n  <vcpu>%u</vcpu>\n", vm->memory_mib, vm->vcpus);
	fputs("  <sysinfo type='smbios'>\n    <system>\n"
	      "      <entry name='product'>SmallStack</entry>\n"
	      "    </system>\n  </sysinfo>\n",
	      f);
	put_os(f, vm);
	fputs("  <features>\n    <acpi/>\n", f);
	if (strcmp(vm->arch, "x86_64") == 0)
		fputs("    <apic/>\n", f);
	fputs("  </features>\n", f);
	if (strcmp(vm->virt_type, "kvm") == 0)
		fputs("  <cpu mode='host-passthrough' migratable='off'/>\n", f);
	else
		fputs("  <cpu mode='maximum' migratable='off'/>\n", f);
	fputs("  <clock offset='utc'/>\n"
	      "  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>restart</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n"
	      "  <devices>\n",
	      f);
	put_disks(f, vm);
	put_nics(f, vm);
	putx(f,
	     "    <serial type='unix'>\n"
	     "      <source mode='bind' path='%s'/>\n"
	     "      <log file='%s' append='off'/>\n"
	     "      <target port='0'/>\n"
	     "    </serial>\n"
	     "    <console type='unix'>\n"
	     "      <source mode='bind' path='%s'/>\n"
	     "      <target type='serial' port='0'/>\n"
	     "    </console>\n",
	     vm->serial_socket, vm->bootlog, vm->serial_socket);
	put_display(f, vm);
	if (!empty(vm->watchdog_model) && strcmp(vm->watchdog_model, "none") != 0)
		putx(f, "    <watchdog model='%s' action='%s'/>\n", vm->watchdog_model,
		     empty(vm->watchdog_action) ? "reset" : vm->watchdog_action);
	if (vm->vsock_cid > 2)
		putx(f,
		     "    <vsock model='virtio'>\n      <cid auto='no' address='%u'/>\n    "
		     "</vsock>\n",
		     vm->vsock_cid);
	fputs("    <memballoon model='none'/>\n  </devices>\n</domain>\n", f);

	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
