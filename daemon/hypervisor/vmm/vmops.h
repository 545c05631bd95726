/* VM lifecycle through libvirt (spec/hypervisor.md §7.3-7.6 with libvirt in place of
 * QEMU + QMP): start, stop, destroy, reboot, deletion, libvirt's lifecycle events,
 * the acknowledgement deadline after CreateVm, and the shutdown of every VM for a host
 * shutdown. Callers have checked the caller's rights; these functions check states. */
#ifndef HV_VMOPS_H
#define HV_VMOPS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"

/* StartVm. With dhcp_timeout_ns > 0, also waits that long for the DHCP server to
 * acknowledge the VM's address; *timed_out says it did not. 0, or -errno with the
 * client's message in err. */
int vmops_start(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
		char *err, size_t errsz);
/* StopVm: returns when the VM is stopped (ACPI power-down, killed after
 * -stopTimeout). */
int vmops_stop(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* DestroyVm: returns when the VM and its volumes are gone. */
int vmops_destroy(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* RebootVm: ctrl-alt-delete. */
int vmops_reboot(struct manager *m, struct vm *vm, char *err, size_t errsz);

/* Boots a VM whose state the caller has just set to starting (create, start-up
 * reconciliation), waiting for its DHCP ACK as vmops_start does. On failure the VM
 * is left "failed to start". */
int vmops_boot(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
	       char *err, size_t errsz);

/* Registers the VM's static DHCP leases and its taps' metadata rules (idempotent). */
void vmops_net_register(struct manager *m, struct vm *vm);

/* Deletes the VM: files, volumes, DHCP leases, addresses back to the pool, out of the
 * map. Idempotent (the first caller does the work). */
void vmops_delete(struct manager *m, struct vm *vm);

/* AcknowledgeVm (#18: idempotent; refused once the deadline has passed). */
int vmops_acknowledge(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* Arms the acknowledgement deadline of a just-created VM. */
void vmops_arm_ack(struct manager *m, struct vm *vm);

/* Handlers for the manager's threads. */
void vmops_on_event(struct manager *m, const struct virt_event *ev);
void vmops_tick(struct manager *m);
void vmops_shutdown_all(struct manager *m);

/* rm -rf path (no symlinks followed). 0 or -errno. */
int vmops_rmtree(const char *path);

#endif
