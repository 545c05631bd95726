/* Network boot decisions for a DHCP client (pure): who is asking (BIOS PXE ROM,
 * UEFI PXE, UEFI HTTP boot, iPXE) and which boot file or URL it gets. */
#ifndef SS_DHCP_BOOT_H
#define SS_DHCP_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"

/* RFC 4578 / IANA client architecture values we treat specially. */
enum dhcp_arch {
	DHCP_ARCH_BIOS = 0,
	DHCP_ARCH_EFI_IA32 = 6,
	DHCP_ARCH_EFI_X64 = 7,
	DHCP_ARCH_EFI_BC = 9,
	DHCP_ARCH_EFI_ARM64 = 11,
	DHCP_ARCH_HTTP_IA32 = 15,
	DHCP_ARCH_HTTP_X64 = 16,
	DHCP_ARCH_HTTP_ARM32 = 18,
	DHCP_ARCH_HTTP_ARM64 = 19,
};

struct dhcp_boot_info {
	uint16_t arch; /* option 93 (first entry), 0 when absent */
	bool have_arch;
	bool pxeclient;	 /* vendor class starts with "PXEClient" */
	bool httpclient; /* vendor class "HTTPClient..." or an HTTP boot arch */
	bool ipxe;	 /* user class "iPXE" or option 175 present */
};

void dhcp_boot_classify(const struct dhcp_msg *m, struct dhcp_boot_info *bi);

struct dhcp_boot_map {
	uint16_t arch;
	const char *file;
};

struct dhcp_boot_config {
	const char *template;		 /* "pxelinux.%d": %d = arch, %% = % */
	const struct dhcp_boot_map *map; /* explicit per-arch files, checked first */
	size_t nmap;
	const char *http_base;	 /* "http://10.0.0.1:6976/boot/" or NULL (no HTTP boot) */
	const char *ipxe_script; /* name under http_base handed to iPXE ("boot.ipxe") */
};

struct dhcp_boot_choice {
	char bootfile[256];	  /* empty: send no boot file */
	const char *vendor_class; /* option 60 to echo, or NULL */
	bool http;		  /* bootfile is a URL */
};

/* Expands the boot file template for an architecture. 0 or -ENOSPC. */
int dhcp_boot_expand(const char *template, uint16_t arch, char *out, size_t outlen);

/* Picks what a netboot client gets:
 *  - iPXE with HTTP enabled: the iPXE script URL (no second chain-load);
 *  - UEFI HTTP boot: a URL for its architecture's loader, option 60 "HTTPClient";
 *  - PXE ROMs (and iPXE without HTTP): the per-arch file over TFTP, option 60
 *    "PXEClient" when the client announced itself as one.
 * Returns 0, or -ENOSPC when a name does not fit. */
int dhcp_boot_choose(const struct dhcp_boot_config *c, const struct dhcp_boot_info *bi,
		     struct dhcp_boot_choice *out);

#endif
