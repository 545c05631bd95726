/* The metadata service (169.254.169.254) of the hypervisor: one namespace + HTTP server
 * per bridge, routes back to the subnets that want metadata, and the packet filter that
 * makes the caller's source address trustworthy. The VM manager drives it through this
 * API and answers "who is this IP" through struct metadata_vm_source.
 *
 * Why the source address identifies the VM: every VM tap gets rules that let out only
 * frames with the VM's MAC and IP (ARP too, DHCP from 0.0.0.0 aside); ports that are not
 * known VM taps (uplinks, unknown taps) cannot reach the namespace at all; the namespace's
 * veth is a port of one bridge only and its replies may only go to known taps. So a
 * packet reaching the namespace with source X came from the tap registered with X, and
 * the reply can only reach that tap. A VM whose IP is not known yet gets no metadata. */
#ifndef SS_METADATA_H
#define SS_METADATA_H

#include "daemon/hypervisor/metadata/metadata_handler.h"
#include "daemon/hypervisor/metadata/metadata_http.h"
#include "daemon/hypervisor/metadata/metadata_nft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metadata;

struct metadata_config {
	const struct metadata_vm_source *source; /* borrowed; must outlive the service */
	const char *nft_table;			 /* NULL: METADATA_NFT_TABLE */
	unsigned int idle_timeout;		 /* HTTP idle timeout, seconds; 0: 5 */
	/* VMs reach the hypervisor's status+RPC port at 169.254.169.254:<rpc_port>: each
	 * namespace listens there and hands the listening socket to rpc_listener (added =
	 * true) for the daemon's own accept loop, and takes it back (added = false) before
	 * closing it. The socket is borrowed and non-blocking. Called with the service's
	 * lock held: it must not call metadata_* functions. rpc_port 0: no such socket. */
	uint16_t rpc_port;
	void (*rpc_listener)(void *ctx, const char *bridge, int fd, bool added);
	void *rpc_ctx;
};

/* A subnet as far as metadata cares: base = gateway & mask gets a route unless
 * disable_metadata. */
struct metadata_subnet {
	struct in_addr gateway;
	struct in_addr mask;
	bool disable_metadata;
};

/* Returns a new service (nothing installed yet), or NULL on allocation failure. The
 * config is copied (its pointers are borrowed). */
struct metadata *metadata_new(const struct metadata_config *cfg);

/* Installs the service's nftables tables (isolation rules; replaces what a previous run
 * left). Returns 0 or a negative errno (metadata_last_error says more). */
int metadata_start(struct metadata *md);

/* Serves `bridge`: namespace, veth, HTTP server, routes, rules. Idempotent. Returns 0 or
 * a negative errno with nothing left behind. */
int metadata_add_bridge(struct metadata *md, const char *bridge);

/* Stops serving `bridge` and removes its veth and namespace. -ENOENT if not served. */
int metadata_remove_bridge(struct metadata *md, const char *bridge);

/* Replaces the set of subnets and recomputes the routes of every namespace (additions,
 * changes and deletions alike: weaknesses #15). Returns 0 or the first negative errno;
 * a subnet with a non-contiguous mask is skipped and reported as -EINVAL. */
int metadata_set_subnets(struct metadata *md, const struct metadata_subnet *subnets, size_t n);

/* Registers (or updates) a VM tap's anti-spoofing rules. Call it before the VM's NIC is
 * plugged in; the rules match the interface name, so the tap need not exist yet.
 * Returns 0 or a negative errno (state unchanged). */
int metadata_add_tap(struct metadata *md, const struct metadata_tap *tap);

/* Replaces every tap registration at once, in one nftables transaction (start-up with
 * many VMs). -EINVAL on an invalid or duplicate name (state unchanged). */
int metadata_set_taps(struct metadata *md, const struct metadata_tap *taps, size_t n);

/* Removes a tap's rules (the VM went away). -ENOENT if not registered. */
int metadata_remove_tap(struct metadata *md, const char *tap);

/* True once the tables are installed (for /healthz; a bridge that could not be served
 * makes metadata_add_bridge fail instead). */
bool metadata_ready(struct metadata *md);

/* Sums the HTTP counters of every bridge. */
void metadata_get_stats(struct metadata *md, struct metadata_http_stats *out);

/* Returns a new string describing the last failure (nftables' message, or which step
 * failed), or NULL if none. */
char *metadata_last_error(struct metadata *md);

/* Stops every server, removes veths, namespaces and the nftables tables, frees md.
 * Accepts NULL. */
void metadata_free(struct metadata *md);

#endif
