/* Moves of a stopped VM's files on one host: ChangeVmSubnet (a new address from another
 * subnet, the VM and volume directories renamed after it) and ChangeVmVolumeStorageIndex
 * (one volume to another volume directory). Both copy or link first, make the new
 * record the VM's (info.json) and only then remove the old names, so a crash leaves the
 * VM whole under its old or its new name (docs/hypervisor.md "Moving a VM's files"). */
#ifndef HV_VMMOVE_H
#define HV_VMMOVE_H

#include <netinet/in.h>
#include <stddef.h>

#include "daemon/hypervisor/vmm/manager.h"

/* ChangeVmSubnet: the stopped, committed VM gets a free address of subnet_id (which
 * the caller may use), its old address goes back to the pool, VMs/<old> and every
 * <volume directory>/<old> become .../<new>, the DHCP lease follows, the root file
 * system keeps its label (RootFileSystemLabel) and the VM loses its identity (its name
 * in *old_identity, a new string or NULL). The VM is a new struct vm afterwards: vm
 * is removed from the map. */
int vmmove_change_subnet(struct manager *m, struct vm *vm, const struct vm_caller *c,
			 const char *subnet_id, struct in_addr *new_ip, char **old_identity,
			 char *err, size_t errsz);

/* ChangeVmVolumeStorageIndex: volume volume_index of the stopped VM (with its
 * snapshots, .old and .debug versions, and for the root the kernel and initrd) moves to
 * volume directory storage_index (the order of ListVolumeDirectories). A volume already
 * there is left alone. */
int vmmove_volume_storage(struct manager *m, struct vm *vm, uint32_t volume_index,
			  uint32_t storage_index, char *err, size_t errsz);

#endif
