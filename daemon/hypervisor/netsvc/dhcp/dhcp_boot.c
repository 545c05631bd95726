/* Network boot decisions for a DHCP client: classification and boot file choice. */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool has_prefix(const uint8_t *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return p && len >= n && memcmp(p, prefix, n) == 0;
}

static bool is_http_arch(uint16_t arch)
{
	return arch == DHCP_ARCH_HTTP_IA32 || arch == DHCP_ARCH_HTTP_X64 ||
	       arch == DHCP_ARCH_HTTP_ARM32 || arch == DHCP_ARCH_HTTP_ARM64;
}

void dhcp_boot_classify(const struct dhcp_msg *m, struct dhcp_boot_info *bi)
{
	size_t l;
	const uint8_t *p;

	memset(bi, 0, sizeof(*bi));
	p = dhcp_msg_opt(m, DHCP_OPT_CLIENT_ARCH, &l);
	if (p && l >= 2) {
		bi->arch = (uint16_t)(p[0] << 8 | p[1]);
		bi->have_arch = true;
	}
	p = dhcp_msg_opt(m, DHCP_OPT_VENDOR_CLASS, &l);
	bi->pxeclient = has_prefix(p, l, "PXEClient");
	bi->httpclient =
	    has_prefix(p, l, "HTTPClient") || (bi->have_arch && is_http_arch(bi->arch));
	/* iPXE sends the bare string "iPXE" as user class (not RFC 3004 framing). */
	p = dhcp_msg_opt(m, DHCP_OPT_USER_CLASS, &l);
	bi->ipxe =
	    (p && l == 4 && memcmp(p, "iPXE", 4) == 0) || dhcp_msg_has(m, DHCP_OPT_IPXE_ENCAP);
}

int dhcp_boot_expand(const char *template, uint16_t arch, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0)
		return -ENOSPC;
	for (const char *s = template; *s; s++) {
		char num[8];
		const char *ins = NULL;
		if (s[0] == '%' && s[1] == 'd') {
			snprintf(num, sizeof(num), "%u", (unsigned)arch);
			ins = num;
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			ins = "%";
			s++;
		}
		size_t n = ins ? strlen(ins) : 1;
		if (o + n >= outlen)
			return -ENOSPC;
		memcpy(out + o, ins ? ins : s, n);
		o += n;
	}
	out[o] = 0;
	return 0;
}

static int arch_file(const struct dhcp_boot_config *c, uint16_t arch, char *out, size_t outlen)
{
	for (size_t i = 0; i < c->nmap; i++) {
		if (c->map[i].arch != arch)
			continue;
		int n = snprintf(out, outlen, "%s", c->map[i].file);
		return (n < 0 || (size_t)n >= outlen) ? -ENOSPC : 0;
	}
	return dhcp_boot_expand(c->template ? c->template : "pxelinux.%d", arch, out, outlen);
}

static int http_url(const struct dhcp_boot_config *c, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", c->http_base, name);
	return (n < 0 || (size_t)n >= outlen) ? -ENOSPC : 0;
}

int dhcp_boot_choose(const struct dhcp_boot_config *c, const struct dhcp_boot_info *bi,
		     struct dhcp_boot_choice *out)
{
	char file[200];
	bool http_on = c->http_base && *c->http_base;
	int rc;

	memset(out, 0, sizeof(*out));
	if (bi->ipxe && http_on) {
		out->http = true;
		out->vendor_class = bi->pxeclient ? "PXEClient" : NULL;
		return http_url(c, c->ipxe_script ? c->ipxe_script : "boot.ipxe", out->bootfile,
				sizeof(out->bootfile));
	}
	rc = arch_file(c, bi->arch, file, sizeof(file));
	if (rc < 0)
		return rc;
	if (bi->httpclient && !bi->ipxe) {
		out->vendor_class = "HTTPClient";
		if (!http_on)
			return 0; /* no URL to give: the firmware ignores the offer */
		out->http = true;
		return http_url(c, file, out->bootfile, sizeof(out->bootfile));
	}
	out->vendor_class = bi->pxeclient ? "PXEClient" : NULL;
	rc = snprintf(out->bootfile, sizeof(out->bootfile), "%s", file);
	return (rc < 0 || (size_t)rc >= sizeof(out->bootfile)) ? -ENOSPC : 0;
}
