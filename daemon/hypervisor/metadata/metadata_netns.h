/* Per-bridge plumbing of the metadata service: a private network namespace holding
 * 169.254.169.254 on a veth whose other end is a port of the bridge, its listening
 * sockets, and its routes back to the VMs' subnets. All through rtnetlink. */
#ifndef SS_METADATA_NETNS_H
#define SS_METADATA_NETNS_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/* The interface alias that marks a host veth as ours: "<prefix><bridge>". It is the
 * stored bridge -> veth name mapping (`ip -d link` shows it). */
#define METADATA_VETH_ALIAS "smallstack-metadata "

struct metadata_ns {
	char bridge[IFNAMSIZ];
	char veth[IFNAMSIZ];   /* host end, a port of the bridge */
	uint8_t mac[6];	       /* MAC of eth0 inside the namespace */
	int nsfd;	       /* keeps the namespace alive; setns(2)-able */
	struct mnl_socket *nl; /* rtnetlink socket inside the namespace */
	int eth0;	       /* ifindex of eth0 inside */
	int http_fd;	       /* listening on 169.254.169.254:80 inside, or -1 */
	int rpc_fd;	       /* listening on 169.254.169.254:<rpc_port> inside, or -1 */
	int live;	       /* set by metadata_ns_create, cleared by destroy */
};

/* A device route inside the namespace: replies go on-link to the VMs. */
struct metadata_route {
	struct in_addr base;
	uint8_t prefix;
};

/* The host veth name for a bridge: "mdv" + 8 hex digits of a hash of (bridge, salt),
 * so it fits IFNAMSIZ whatever the bridge name (weaknesses #38). */
void metadata_veth_name(const char *bridge, unsigned int salt, char out[IFNAMSIZ]);

/* The locally administered MAC given to eth0 in the bridge's namespace. */
void metadata_ns_mac(const char *bridge, uint8_t mac[6]);

/* The MAC of the host end of the veth, a port of the bridge: fixed per bridge and high
 * (fe:...), as libvirt gives taps, so that a Linux bridge, which takes the lowest MAC
 * of its ports, keeps its own address when the daemon restarts (a random one would
 * move it, and neighbours would lose the host's IP until their ARP entries expire). */
void metadata_host_mac(const char *bridge, uint8_t mac[6]);

/* Prefix length of a contiguous netmask, or -EINVAL. */
int metadata_mask_prefix(struct in_addr mask);

/* Builds the namespace for `bridge` (which must exist and be a bridge) from the calling
 * thread's namespace: a veth pair named by metadata_veth_name (a stale one of ours is
 * replaced; a foreign interface of that name makes us try the next salt), eth0 inside
 * with 169.254.169.254/32, listening sockets on port 80 and `rpc_port` (0 = none).
 * Returns 0 and fills *out, or a negative errno with nothing left behind. */
int metadata_ns_create(const char *bridge, uint16_t rpc_port, struct metadata_ns *out);

/* Makes the namespace's device routes exactly `routes` (duplicates allowed): adds the
 * missing ones, deletes the others. Returns 0 or the first negative errno (the other
 * routes are still applied). */
int metadata_ns_set_routes(struct metadata_ns *ns, const struct metadata_route *routes, size_t n);

/* Deletes the veth pair, closes the sockets still owned (fds >= 0) and releases the
 * namespace. Accepts NULL, a zeroed struct and a destroyed one. */
void metadata_ns_destroy(struct metadata_ns *ns);

#endif
