/* The DHCP server's decisions (netboot.md §1.2-1.4, weaknesses #28, #42): given one
 * request, the ingress link, the subnets and the lease table, decide whether and what
 * to answer and where to send it. No sockets: the caller does the I/O and holds the
 * lock that serialises access to the lease table and file registry. */
#ifndef SS_DHCP_HANDLE_H
#define SS_DHCP_HANDLE_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_boot.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_lease.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_subnet.h"
#include "daemon/hypervisor/netsvc/netboot_files.h"

#define DHCP_IFACE_MAX_ADDRS 16

/* What the server knows about one interface of the host. */
struct dhcp_iface {
	int ifindex;
	char name[IF_NAMESIZE];
	bool serving; /* DHCP answers packets arriving here */
	struct in_addr addr[DHCP_IFACE_MAX_ADDRS], addr_mask[DHCP_IFACE_MAX_ADDRS];
	size_t naddrs;
	/* Directly connected routes (no gateway) that are up. */
	struct in_addr route[DHCP_IFACE_MAX_ADDRS], route_mask[DHCP_IFACE_MAX_ADDRS];
	size_t nroutes;
};

struct dhcp_times {
	uint32_t static_secs;	     /* 48 h */
	uint32_t dynamic_offer_secs; /* 1 min, sent in OFFERs */
	uint32_t dynamic_ack_secs;   /* 2 h, sent in ACKs */
	int64_t offer_hold_ms;	     /* 10 s: how long an unanswered offer is reserved */
	int64_t lease_hold_ms;	     /* 4 h: server-side expiry of an acked lease */
	int64_t decline_hold_ms;     /* 10 min */
};

void dhcp_times_default(struct dhcp_times *t);

struct dhcp_ctx {
	const struct dhcp_iface *ifaces; /* every interface (host IPs) */
	size_t nifaces;
	const struct dhcp_iface *ingress; /* the one the packet came in on */
	const struct dhcp_subnet *subnets;
	size_t nsubnets;
	struct dhcp_leases *leases;
	struct nbf_registry *files; /* may be NULL */
	const char *boot_template;  /* "pxelinux.%d" */
	const struct dhcp_boot_map *boot_map;
	size_t nboot_map;
	uint16_t http_port;    /* 0: no HTTP boot */
	const char *http_path; /* "/boot/" */
	const char *ipxe_script;
	struct dhcp_times times;
	int64_t now; /* wall-clock ms */
};

enum dhcp_action {
	DHCP_DROP,
	DHCP_SEND,
};

struct dhcp_result {
	enum dhcp_action action;
	const char *why; /* short reason for logs and counters */
	bool malformed;
	uint8_t type; /* request type */
	char mac[18];
	uint8_t hwaddr[6];
	bool relayed; /* reply goes to giaddr:67 */
	uint8_t reply_type;
	size_t len;
	struct sockaddr_in dest;
	struct in_addr server_ip; /* source address for the reply */
	/* Events for the caller. */
	bool requested; /* a REQUEST named an address: request hook(mac, requested_ip) */
	struct in_addr requested_ip;
	bool acked; /* an ACK for ack_ip went out (after the caller sends it) */
	struct in_addr ack_ip;
	uint8_t ack_mac[6];
	/* A dynamic lease was acknowledged: journal it before the ACK leaves. */
	bool journal;
	struct in_addr j_ip;
	int64_t j_expires;
	char j_host[DHCP_HOSTNAME_MAX];
	bool dyn_changed; /* other changes to persisted leases: rewrite the snapshot soon */
	bool netboot;	  /* the lease is a netboot lease */
	/* Last, so that dhcp_handle clears everything above it cheaply. */
	uint8_t reply[DHCP_MAX_LEN];
};

/* Handles one packet from `from`. Mutates the lease table (offers, commits,
 * releases) and records ACKs for waiters and netboot files. Returns 0 (see
 * res->action) or a negative errno for internal failures. */
int dhcp_handle(const struct dhcp_ctx *ctx, const uint8_t *pkt, size_t len,
		const struct sockaddr_in *from, struct dhcp_result *res);

/* The address the server uses on subnet s: the first host IP inside it, else the
 * host's first IP. false when the host has no IPv4 address. */
bool dhcp_server_ip_for(const struct dhcp_ctx *ctx, const struct dhcp_subnet *s,
			struct in_addr *out);

#endif
