/* Libvirt domain XML for one VM: a pure function of the VM's settings, so the
 * same VM always gives the same document (golden-file tests pin it). */
#ifndef HV_DOMXML_H
#define HV_DOMXML_H

#include <stddef.h>

enum domxml_bus {
	DOMXML_BUS_VIRTIO,
	DOMXML_BUS_IDE,
};

enum domxml_console {
	DOMXML_CONSOLE_NONE,  /* no display at all */
	DOMXML_CONSOLE_DUMMY, /* a VGA card nobody looks at */
	DOMXML_CONSOLE_VNC,   /* VGA + USB tablet, VNC on a Unix socket */
};

enum domxml_firmware {
	DOMXML_FIRMWARE_BIOS,
	DOMXML_FIRMWARE_UEFI,
};

struct domxml_disk {
	const char *path;
	const char *format; /* "raw" or "qcow2" */
	enum domxml_bus bus;
};

struct domxml_nic {
	const char *bridge;
	const char *mac;
	const char *tap;     /* interface name libvirt gives the tap */
	int e1000;	     /* DisableVirtIO: emulated e1000 instead of virtio */
	unsigned int queues; /* > 1: multi-queue virtio */
	unsigned int mtu;    /* 0 or 1500: leave to libvirt */
};

struct domxml_vm {
	const char *name;      /* libvirt domain name, unique per daemon instance */
	const char *ip;	       /* primary IP, recorded in <metadata> */
	const char *instance;  /* daemon instance UUID, recorded in <metadata> */
	const char *virt_type; /* "qemu" (TCG) or "kvm" */
	const char *arch;      /* "x86_64" or "aarch64" */
	const char *machine;   /* "pc", "q35", "virt" */
	unsigned int memory_mib;
	unsigned int vcpus;
	enum domxml_firmware firmware;
	const char *uefi_code;	/* firmware image for UEFI */
	const char *uefi_vars;	/* template of the variable store */
	const char *uefi_nvram; /* this VM's copy of the variable store */
	const char *kernel;	/* direct kernel boot when non-NULL */
	const char *initrd;
	const char *cmdline;
	int boot_network; /* EnableNetboot: PXE first */
	const struct domxml_disk *disks;
	size_t ndisks;
	const struct domxml_nic *nics;
	size_t nnics;
	const char *serial_socket; /* serial port 0, QEMU listens */
	const char *bootlog;	   /* everything the serial port prints */
	enum domxml_console console;
	const char *vnc_socket;
	int show_vga;
	const char *watchdog_model;  /* NULL or "" = no watchdog */
	const char *watchdog_action; /* reset, shutdown, poweroff, none */
	unsigned int vsock_cid;	     /* 0 = no vsock device */
};

/* XML namespace of the <metadata> element the daemon puts in every domain. */
#define DOMXML_NS "https://smallstack.invalid/hypervisor/1"

/* Builds the domain XML. On success *out is a new NUL-terminated string the caller
 * frees. Returns 0, -EINVAL when a required field is missing or a value cannot be
 * expressed, -ENOMEM. */
int domxml_build(const struct domxml_vm *vm, char **out);

#endif
