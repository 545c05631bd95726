/* VM record -> domain XML parameters (see vmdomain.h). */
#include "daemon/hypervisor/vmm/libvirt/vmdomain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/libvirt/domxml.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/subnets.h"

#define MAX_DISKS 26

void vmdomain_tap_name(struct in_addr ip, size_t i, char *buf, size_t sz)
{
	int n;

	/* At most VMDOMAIN_MAX_NICS NICs: "tap" + 8 + "n15" fits IFNAMSIZ. */
	if (i == 0)
		n = snprintf(buf, sz, "tap%08x", ntohl(ip.s_addr));
	else
		n = snprintf(buf, sz, "tap%08xn%u", ntohl(ip.s_addr),
			     (unsigned)(i % VMDOMAIN_MAX_NICS));
	if (n < 0 || (size_t)n >= sz)
		buf[0] = '\0';
}

static const struct hvapi_subnet *subnet_of(struct manager *m, const char *id, struct in_addr ip)
{
	const struct hvapi_subnet *s = NULL;

	if (id != NULL && *id)
		s = subnets_find(&m->st->subnets, id);
	if (s == NULL)
		s = subnets_for_ip(&m->st->subnets, ip);
	return s;
}

int vmdomain_nics(struct manager *m, struct vm *vm, const struct bridges *bridges,
		  struct vmdomain_nic *out, size_t max, char *err, size_t errsz)
{
	const struct hvapi_vm_info *info = &vm->info.vm;
	size_t n = 1 + info->secondary_addresses.n;

	if (n > max) {
		snprintf(err, errsz, "too many network interfaces");
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &info->address : &info->secondary_addresses.v[i - 1];
		const char *sid = i == 0 ? info->subnet_id
					 : (i - 1 < info->secondary_subnet_ids.n
						? info->secondary_subnet_ids.v[i - 1]
						: NULL);
		const struct hvapi_subnet *s = subnet_of(m, sid, a->ip);
		const struct bridges_entry *b;

		b = bridges_for_subnet(bridges, s ? api_str(s->id) : api_str(sid),
				       s ? s->vlan_id : 0);
		if (b == NULL) {
			snprintf(err, errsz, "no usable bridge for subnet %s",
				 s ? api_str(s->id) : (sid && *sid ? sid : "(none)"));
			return -ENODEV;
		}
		memset(&out[i], 0, sizeof(out[i]));
		vmdomain_tap_name(info->address.ip, i, out[i].tap, sizeof(out[i].tap));
		memcpy(out[i].bridge, b->name, sizeof(out[i].bridge));
		out[i].addr = *a;
		out[i].queues =
		    i < info->network_entries.n ? info->network_entries.v[i].num_queues : 0;
		out[i].mtu = b->mtu;
	}
	return (int)n;
}

static const char *machine_name(const struct hvapi_vm_info *info, bool arm)
{
	switch (info->machine_type) {
	case HVAPI_MACHINE_Q35:
		return "q35";
	case HVAPI_MACHINE_PC:
		return "pc";
	case HVAPI_MACHINE_VIRT:
		return "virt";
	default:
		if (arm)
			return "virt";
		return info->firmware == HVAPI_FIRMWARE_UEFI ? "q35" : "pc";
	}
}

char *vmdomain_xml(struct manager *m, struct vm *vm, const struct bridges *bridges, char *err,
		   size_t errsz)
{
	const struct hvapi_vm_info *info = &vm->info.vm;
	struct domxml_disk disks[MAX_DISKS];
	struct domxml_nic nics[VMDOMAIN_MAX_NICS];
	struct vmdomain_nic vn[VMDOMAIN_MAX_NICS];
	char macs[VMDOMAIN_MAX_NICS][18], name[128];
	char serial[4096], bootlog[4096], vnc[4096], nvram[4096], kernel[4096], initrd[4096];
	char cmdline[2048], debug_root[4200];
	bool arm = info->architecture == HVAPI_ARCH_ARM64;
	struct domxml_vm d = {0};
	int nnics;
	char *xml = NULL;
	int rc;

	if (info->volumes.n > MAX_DISKS || info->volumes.n != vm->info.volume_locations.n) {
		snprintf(err, errsz, "too many or inconsistent volumes/interfaces");
		return NULL;
	}
	for (size_t i = 0; i < info->volumes.n; i++) {
		const struct hvapi_volume *v = &info->volumes.v[i];

		if (v->interface == HVAPI_VOLUME_INTERFACE_NVME ||
		    v->interface == HVAPI_VOLUME_INTERFACE_DFM) {
			snprintf(err, errsz, "volume interface %s is not supported",
				 hvapi_enum_name(hvapi_volume_interface_names, (int)v->interface));
			return NULL;
		}
		disks[i].path = api_str(vm->info.volume_locations.v[i].filename);
		disks[i].format = v->format == HVAPI_VOLUME_FORMAT_QCOW2 ? "qcow2" : "raw";
		if (i == 0) {
			/* DebugVmImage: a raw root.debug beside the root replaces it. */
			snprintf(debug_root, sizeof(debug_root), "%s.debug", disks[0].path);
			if (access(debug_root, R_OK) == 0) {
				disks[0].path = debug_root;
				disks[0].format = "raw";
			}
		}
		disks[i].bus = info->disable_virtio || v->interface == HVAPI_VOLUME_INTERFACE_IDE
				   ? DOMXML_BUS_IDE
				   : DOMXML_BUS_VIRTIO;
	}
	nnics = vmdomain_nics(m, vm, bridges, vn, VMDOMAIN_MAX_NICS, err, errsz);
	if (nnics < 0)
		return NULL;
	for (int i = 0; i < nnics; i++) {
		sjson_format_mac(vn[i].addr.mac, macs[i], sizeof(macs[i]));
		nics[i] = (struct domxml_nic){.bridge = vn[i].bridge,
					      .mac = macs[i],
					      .tap = vn[i].tap,
					      .e1000 = info->disable_virtio,
					      .queues = vn[i].queues,
					      .mtu = vn[i].mtu};
	}
	vm_path(vm, "serial0.sock", serial, sizeof(serial));
	vm_path(vm, "bootlog", bootlog, sizeof(bootlog));
	vm_path(vm, "vnc", vnc, sizeof(vnc));
	vm_path(vm, "nvram.fd", nvram, sizeof(nvram));

	d.name = name;
	snprintf(name, sizeof(name), "%s%s", m->domain_prefix, vm->ipstr);
	d.ip = vm->ipstr;
	d.instance = m->uuid;
	d.virt_type = m->virt_type;
	d.arch = arm ? "aarch64" : "x86_64";
	d.machine = machine_name(info, arm);
	d.memory_mib = (unsigned)info->memory_mib;
	d.vcpus = vm_vcpus(info, m->ncpus);
	if (info->firmware == HVAPI_FIRMWARE_UEFI) {
		d.firmware = DOMXML_FIRMWARE_UEFI;
		d.uefi_code = m->cfg->uefi_code;
		d.uefi_vars = m->cfg->uefi_vars;
		d.uefi_nvram = nvram;
	}
	/* Direct kernel boot when the image came with a separate kernel (SkipBootloader). */
	if (vm->info.volume_locations.n > 0) {
		const char *dir = api_str(vm->info.volume_locations.v[0].directory_to_cleanup);

		snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
		snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
		if (access(kernel, R_OK) == 0 && disks[0].path != debug_root) {
			const char *extra = api_str(info->extra_kernel_options);
			char root[128];

			d.kernel = kernel;
			d.initrd = access(initrd, R_OK) == 0 ? initrd : NULL;
			if (d.initrd == NULL)
				snprintf(root, sizeof(root), "root=/dev/vda1");
			else if (*api_str(info->root_fs_label))
				snprintf(root, sizeof(root), "root=LABEL=%s", info->root_fs_label);
			else
				snprintf(root, sizeof(root), "root=LABEL=rootfs@%08x",
					 ntohl(vm->ip.s_addr));
			snprintf(cmdline, sizeof(cmdline), "console=ttyS0 net.ifnames=0 %s%s%s",
				 extra, *extra ? " " : "", root);
			d.cmdline = cmdline;
		}
	}
	d.boot_network = vm->boot_network;
	d.disks = disks;
	d.ndisks = info->volumes.n;
	d.nics = nics;
	d.nnics = (size_t)nnics;
	d.serial_socket = serial;
	d.bootlog = bootlog;
	d.console = info->console_type == HVAPI_CONSOLE_VNC	? DOMXML_CONSOLE_VNC
		    : info->console_type == HVAPI_CONSOLE_DUMMY ? DOMXML_CONSOLE_DUMMY
								: DOMXML_CONSOLE_NONE;
	d.vnc_socket = vnc;
	d.show_vga = m->cfg->show_vga;
	if (info->watchdog_model != HVAPI_WATCHDOG_MODEL_NONE) {
		d.watchdog_model =
		    hvapi_enum_name(hvapi_watchdog_model_names, (int)info->watchdog_model);
		d.watchdog_action =
		    hvapi_enum_name(hvapi_watchdog_action_names, (int)info->watchdog_action);
	}
	rc = domxml_build(&d, &xml);
	if (rc < 0) {
		snprintf(err, errsz, "cannot build domain XML: %s", strerror(-rc));
		return NULL;
	}
	return xml;
}
