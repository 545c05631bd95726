/* netconf: a machine's Debian network configuration (/etc/network/interfaces and
 * /etc/resolv.conf) computed from its Fleet Manager record and its NICs
 * (spec/hyper-control.md §6). Pure: the installer (installer/target.c) and later
 * hyper-control's show/update-network-configuration call it with what they read. */
#ifndef SS_NETCONF_H
#define SS_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/fleetmanager.h"

struct netconf_nic {
	char name[32];
	uint8_t mac[6];
	bool up; /* carrier: a remaining up NIC becomes a bond slave / VLAN raw device */
};

/* Called for an entry that is skipped (its MAC on no NIC, its IP in no subnet). */
typedef void (*netconf_note_fn)(void *arg, const char *msg);

/* Computes the interfaces file and the resolv.conf text. *interfaces and *resolv are
 * new strings (caller frees). 0, or -EINVAL with one sentence in err ("no default
 * subnet found", "subnetId: x not found", ...), -ENOMEM. Borrows everything. */
int netconf_render(const struct fmapi_get_machine_info_response *info,
		   const struct netconf_nic *nics, size_t n, netconf_note_fn note, void *arg,
		   char **interfaces, char **resolv, char *err, size_t errsz);

/* The subnet of subnets whose network holds ip (NULL if none). */
const struct hvapi_subnet *netconf_subnet_for_ip(const struct hvapi_subnets *subnets,
						 struct in_addr ip);

#endif
