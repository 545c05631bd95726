/* From a VM's record to its libvirt domain: fills domxml's parameters from
 * LocalVmInfo, the subnets (bridge per NIC) and the daemon's settings. */
#ifndef HV_VMDOMAIN_H
#define HV_VMDOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include "daemon/hypervisor/vmm/bridges.h"
#include "daemon/hypervisor/vmm/manager.h"

/* The domain XML for vm (new string), or NULL with err ("no usable bridge for subnet
 * X", unsupported volume interface...). Call with the manager's lock (read) and vm->mu held;
 * bridges is a fresh bridges_scan. */
char *vmdomain_xml(struct manager *m, struct vm *vm, const struct bridges *bridges, char *err,
		   size_t errsz);

/* One network interface of a VM: its tap, the bridge it plugs into, its address. */
struct vmdomain_nic {
	char tap[IF_NAMESIZE];
	char bridge[IF_NAMESIZE];
	struct hvapi_address addr;
	uint32_t queues;
	unsigned mtu;
};

#define VMDOMAIN_MAX_NICS 16

/* The VM's NICs (primary first), bridges resolved per subnet (§6.5). Returns the count,
 * or -ENODEV with "no usable bridge for subnet X" in err. Call with the manager's lock (read) and
 * vm->mu held. */
int vmdomain_nics(struct manager *m, struct vm *vm, const struct bridges *bridges,
		  struct vmdomain_nic *out, size_t max, char *err, size_t errsz);

/* Tap device name of NIC i of the VM with primary IP ip ("tap0a020304", then
 * "tap0a020304n1"...). */
void vmdomain_tap_name(struct in_addr ip, size_t i, char *buf, size_t sz);

#endif
