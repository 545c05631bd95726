/* The host's bridges and the VLAN each carries (spec/hypervisor.md §4 step 5), and
 * the bridge a subnet's VMs plug into (§6.5). Read from /sys and /proc on demand, so
 * bridges added while the daemon runs are found. */
#ifndef HV_BRIDGES_H
#define HV_BRIDGES_H

#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

struct bridges_entry {
	char name[IF_NAMESIZE];
	int vlan; /* 0 untagged, -1 unknown (no usable port) */
	unsigned mtu;
};

struct bridges {
	size_t n;
	struct bridges_entry v[64];
};

/* Fills b from sysfs_net (normally "/sys/class/net") and proc_vlan ("/proc/net/vlan").
 * Returns the number of bridges. */
int bridges_scan(struct bridges *b, const char *sysfs_net, const char *proc_vlan);

/* The bridge for a subnet: "br@<id>", else one whose VLAN is vlan_id, else, for VLAN
 * 0, a bridge of unknown VLAN when it is the only bridge. NULL: "no usable bridge". */
const struct bridges_entry *bridges_for_subnet(const struct bridges *b, const char *subnet_id,
					       uint32_t vlan_id);

#endif
