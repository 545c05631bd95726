/* net: the installer's own network from an injected config.json (spec §3.1): the NIC
 * whose MAC and address match the machine's entries and subnets, configured statically
 * (address, netmask, default route, resolv.conf) through ioctl, with no external tool. */
#ifndef SS_INSTALLER_NET_H
#define SS_INSTALLER_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/fleetmanager.h"

struct net_nic {
	char name[16];
	uint8_t mac[6];
};

struct net_choice {
	char nic[16];
	struct in_addr ip, mask, gateway;
	const struct hvapi_subnet *subnet; /* borrowed from the machine info */
};

/* Pure: the first entry (primary, then secondaries) with an address, whose MAC is one
 * of nics and whose address lies in one of info's subnets. 0, or -ENOENT. */
int inst_net_choose(const struct fmapi_get_machine_info_response *info, const struct net_nic *nics,
		    size_t n, struct net_choice *out);

/* The Ethernet interfaces under sysfs/class/net (those with a device link), at most
 * max. Returns the count or -errno. */
int inst_net_list_nics(const char *sysfs, struct net_nic *nics, size_t max);

/* Configures the network (lo up, every NIC up, the chosen one addressed, the default
 * route, resolv_conf written). dry_run: only logs what it would do. 0 or -errno with
 * err. */
int inst_net_configure(const struct fmapi_get_machine_info_response *info, const char *sysfs,
		       const char *resolv_conf, bool dry_run, char *err, size_t errsz);

#endif
