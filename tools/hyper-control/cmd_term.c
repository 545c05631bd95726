/* hyper-control commands with a live stream: the interactive terminals of a VM's
 * manager and of an installer's shell (spec §2, §4.6), and the DHCP packets a
 * hypervisor sees (watch-dhcp, spec §2; weakness 20: each packet gets its own file). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "fsutil.h"
#include "hyperctl.h"
#include "json.h"
#include "tls.h"

#define HC_BACKOFF_FIRST_MS 50
#define HC_BACKOFF_MAX_MS 5000
#define HC_BACKOFF_FACTOR 4

/* ---- connect-to-vm-manager ---- */

static int cmd_connect_to_vm_manager(struct hc *h, const struct hc_cmd *c, int argc,
				     char *const argv[])
{
	struct hvapi_ip_request q;
	struct hvapi_error_response r;
	struct srpc_client *hv;
	char err[4096];

	(void)argc;
	memset(&q, 0, sizeof(q));
	if (hc_vm_hypervisor(h, c->doing, argv[0], &q.ip, &hv))
		return 1;
	if (hvclient_start(hv, HVAPI_M_CONNECT_TO_VM_MANAGER, &hvapi_ip_request_type, &q,
			   &hvapi_error_response_type, &r, err, sizeof(err)) < 0)
		return hc_fail(c->doing, "%s", err);
	hvapi_error_response_clear(&r);
	return hc_terminal(hv, c->doing);
}

/* ---- installer-shell ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Failures worth another try: nothing listens yet, or the network is not there yet. */
static bool retryable(int rc, const char *err)
{
	if (strncmp(err, "dial ", 5) != 0)
		return false;
	return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH ||
	       rc == -ENETUNREACH || rc == -ECONNRESET || rc == -EADDRNOTAVAIL;
}

/* Dials the installer until it answers: back-off 50 ms, x4, at most 5 s; "trying to
 * connect" at the first failure, "." at each. A name that does not resolve and a
 * refusal of TLS (e.g. a certificate not from -CAfile) are final. */
static int dial_installer(struct hc *h, const char *doing, const char *host,
			  struct srpc_client **out)
{
	struct srpc_client_config cfg = {.tls = h->tls};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char addr[300], err[512];
	int delay = HC_BACKOFF_FIRST_MS, n, rc;
	bool announced = false;

	n = snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
		     h->o.installer_port);
	if (n < 0 || (size_t)n >= sizeof(addr))
		return hc_fail(doing, "hostname too long: %s", host);
	cfg.connect_timeout_ms = (int)(h->o.connect_timeout_ns / 1000000);
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return hc_fail(doing, "lookup %s: %s", host, gai_strerror(rc));
	freeaddrinfo(res);
	for (;;) {
		rc = srpc_client_dial(addr, &cfg, out, err, sizeof(err));
		if (rc == 0)
			break;
		if (!retryable(rc, err)) {
			if (announced)
				fputc('\n', stderr);
			return hc_fail(doing, "%s", err);
		}
		fputs(announced ? "." : "trying to connect", stderr);
		fflush(stderr);
		announced = true;
		sleep_ms(delay);
		delay = delay * HC_BACKOFF_FACTOR > HC_BACKOFF_MAX_MS ? HC_BACKOFF_MAX_MS
								      : delay * HC_BACKOFF_FACTOR;
	}
	if (announced)
		fputc('\n', stderr);
	return 0;
}

static int cmd_installer_shell(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct srpc_client *cl;
	int rc;

	(void)argc;
	if (hc_tls(h, c->doing) || dial_installer(h, c->doing, argv[0], &cl))
		return 1;
	if (srpc_client_start(cl, "Installer.Shell") < 0) {
		rc = hc_fail(c->doing, "%s", srpc_client_error(cl));
		srpc_client_close(cl);
		return rc;
	}
	rc = hc_terminal(cl, c->doing);
	srpc_client_close(cl);
	return rc;
}

/* ---- watch-dhcp ---- */

#define DHCP_OPTIONS_OFFSET 240 /* BOOTP header (236) + magic cookie (4) */
#define DHCP_CHADDR_OFFSET 28

static const char *const dhcp_types[] = {
    NULL,      "DHCPDISCOVER", "DHCPOFFER",   "DHCPREQUEST", "DHCPDECLINE",
    "DHCPACK", "DHCPNAK",      "DHCPRELEASE", "DHCPINFORM",
};

/* Names of the common options (RFC 2132 and later), for the file names. */
static const char *option_name(uint8_t code)
{
	static const struct {
		uint8_t code;
		const char *name;
	} names[] = {
	    {1, "SubnetMask"},
	    {3, "Router"},
	    {6, "DomainNameServer"},
	    {12, "HostName"},
	    {15, "DomainName"},
	    {28, "BroadcastAddress"},
	    {42, "NetworkTimeProtocolServers"},
	    {43, "VendorSpecificInformation"},
	    {50, "RequestedIPAddress"},
	    {51, "IPAddressLeaseTime"},
	    {53, "DHCPMessageType"},
	    {54, "ServerIdentifier"},
	    {55, "ParameterRequestList"},
	    {56, "Message"},
	    {57, "MaximumDHCPMessageSize"},
	    {58, "RenewalTimeValue"},
	    {59, "RebindingTimeValue"},
	    {60, "VendorClassIdentifier"},
	    {61, "ClientIdentifier"},
	    {66, "TFTPServerName"},
	    {67, "BootFileName"},
	    {77, "UserClass"},
	    {81, "ClientFQDN"},
	    {93, "ClientArchitecture"},
	    {94, "ClientNetworkInterfaceIdentifier"},
	    {97, "ClientMachineIdentifier"},
	    {119, "DomainSearch"},
	    {121, "ClasslessStaticRoute"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	return "Unknown";
}

static int write_file(const char *doing, const char *path, const void *data, size_t len)
{
	int rc = fsutil_write_atomic(path, data, len, 0644);

	if (rc < 0)
		return hc_fail(doing, "writing %s: %s", path, strerror(-rc));
	return 0;
}

/* Logs one packet and writes <dir>/<if>.<NNNNN> and its .options/<code>_<name>. */
static int save_packet(const char *doing, const char *dir, unsigned counter,
		       const struct hvapi_watch_dhcp_response *r)
{
	const uint8_t *p = r->packet.data;
	size_t len = r->packet.len, off = DHCP_OPTIONS_OFFSET;
	const char *ifname = r->interface && *r->interface ? r->interface : "all";
	char base[4096], path[4400], mac[32] = "?";
	const char *type = "unknown";

	if (strchr(ifname, '/') || ifname[0] == '.')
		return hc_fail(doing, "bad interface name from the hypervisor: %s", ifname);
	if (snprintf(base, sizeof(base), "%s/%s.%05u", dir, ifname, counter) >= (int)sizeof(base))
		return hc_fail(doing, "path too long: %s/%s", dir, ifname);
	if (write_file(doing, base, p, len))
		return 1;
	if (len >= DHCP_CHADDR_OFFSET + 6)
		sjson_format_mac(p + DHCP_CHADDR_OFFSET, mac, sizeof(mac));
	if (len < DHCP_OPTIONS_OFFSET || p[236] != 99 || p[237] != 130 || p[238] != 83 ||
	    p[239] != 99) {
		hc_progress("%s: %zu bytes from %s: not DHCP (no magic cookie)", base, len, mac);
		return 0;
	}
	if (snprintf(path, sizeof(path), "%s.options", base) >= (int)sizeof(path))
		return hc_fail(doing, "path too long: %s", base);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return hc_fail(doing, "creating %s: %s", path, strerror(errno));
	for (size_t o = off; o < len && p[o] != 255;) {
		uint8_t code = p[o], olen;
		if (code == 0) {
			o++;
			continue;
		}
		if (o + 2 > len || o + 2 + p[o + 1] > len)
			break;
		olen = p[o + 1];
		if (code == 53 && olen == 1 &&
		    p[o + 2] < sizeof(dhcp_types) / sizeof(dhcp_types[0]) && dhcp_types[p[o + 2]])
			type = dhcp_types[p[o + 2]];
		o += 2u + olen;
	}
	hc_progress("%s: %s from %s on %s", base, type, mac, ifname);
	for (size_t o = off; o < len && p[o] != 255;) {
		uint8_t code = p[o], olen;
		char hex[3 * 255 + 1] = "";
		if (code == 0) {
			o++;
			continue;
		}
		if (o + 2 > len || o + 2 + p[o + 1] > len) {
			hc_progress("  option %u: truncated", code);
			break;
		}
		olen = p[o + 1];
		for (size_t i = 0; i < olen; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%s%02x", i ? " " : "",
				 p[o + 2 + i]);
		hc_progress("  option %u %s: %s", code, option_name(code), hex);
		if (snprintf(path, sizeof(path), "%s.options/%u_%s", base, code,
			     option_name(code)) >= (int)sizeof(path))
			return hc_fail(doing, "path too long: %s", base);
		if (write_file(doing, path, p + o + 2, olen))
			return 1;
		o += 2u + olen;
	}
	return 0;
}

static int cmd_watch_dhcp(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_watch_dhcp_request q = {.interface = argc > 0 ? argv[0] : (char *)""};
	struct hvapi_watch_dhcp_response r;
	struct srpc_client *hv;
	const char *tmp = getenv("TMPDIR");
	char dir[4096], err[4096];
	unsigned counter = 0;
	int n, rc;

	if (hc_hypervisor(h, c->doing, &hv))
		return 1;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/hyper-control.watch-dhcp.%s.XXXXXX", tmp,
		     h->o.hypervisor_hostname);
	if (n < 0 || (size_t)n >= sizeof(dir) || strchr(h->o.hypervisor_hostname, '/'))
		return hc_fail(c->doing, "bad directory name: %s", dir);
	if (hvclient_start(hv, HVAPI_M_WATCH_DHCP, &hvapi_watch_dhcp_request_type, &q,
			   &hvapi_watch_dhcp_response_type, &r, err, sizeof(err)) < 0)
		return hc_fail(c->doing, "%s", err);
	if (!mkdtemp(dir)) {
		hvapi_watch_dhcp_response_clear(&r);
		return hc_fail(c->doing, "creating %s: %s", dir, strerror(errno));
	}
	hc_progress("writing packets to %s", dir);
	for (;;) {
		json_t *j;
		char *derr = NULL;

		if (r.packet.len > 0 && save_packet(c->doing, dir, counter++, &r)) {
			hvapi_watch_dhcp_response_clear(&r);
			return 1;
		}
		hvapi_watch_dhcp_response_clear(&r);
		rc = srpc_conn_read_json(srpc_client_conn(hv), &j);
		if (rc == -ECONNRESET)
			return hc_fail(c->doing, "the hypervisor closed the stream");
		if (rc < 0)
			return hc_fail(c->doing, "reading: %s", strerror(-rc));
		memset(&r, 0, sizeof(r));
		rc = api_decode_msg(&hvapi_watch_dhcp_response_type, j, "reply", &r, &derr);
		json_decref(j);
		if (rc < 0) {
			rc = hc_fail(c->doing, "%s", derr ? derr : strerror(-rc));
			free(derr);
			return rc;
		}
		if (r.error && *r.error) {
			rc = hc_fail(c->doing, "%s", r.error);
			hvapi_watch_dhcp_response_clear(&r);
			return rc;
		}
	}
}

const struct hc_cmd hc_term_cmds[] = {
    {"connect-to-vm-manager", "VMhost", 1, 1, cmd_connect_to_vm_manager, "connecting to VM manager",
     "talk to a VM's QEMU monitor (control-\\ ends)"},
    {"installer-shell", "HOST", 1, 1, cmd_installer_shell, "connecting to installer shell",
     "open a shell on an installer (waits until it answers; control-\\ ends)"},
    {"watch-dhcp", "[interface]", 0, 1, cmd_watch_dhcp, "watching DHCP",
     "write the DHCP packets a hypervisor sees into a temporary directory"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
