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
/* The same for a caller that has marked the VM busy itself (vmops_edit_begin). */
int vmops_stop_owned(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* DestroyVm: returns when the VM and its volumes are gone. */
int vmops_destroy(struct manager *m, struct vm *vm, char *err, size_t errsz);
/* RebootVm: ctrl-alt-delete; with dhcp_timeout_ns > 0, then waits for the guest's
 * DHCP ACK and sets *timed_out if none came. */
int vmops_reboot(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
		 char *err, size_t errsz);

/* PrepareVmForMigration (#13: errors are returned): with enable, a stopped, committed
 * VM becomes migrating and its addresses leave the pool; without, it comes back
 * stopped with its addresses registered again (in use, so not free). */
int vmops_prepare_migration(struct manager *m, struct vm *vm, bool enable, char *err, size_t errsz);

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
void vmops_tick(struct manager *m);
void vmops_shutdown_all(struct manager *m);

/* Editing a VM's record (the RPCs' "change" shape): begin checks the state and the
 * busy flag, marks the VM busy and copies its record into *copy; the caller edits the
 * copy without the VM's lock (long work, e.g. volume copies, is fine); finish, when
 * rc == 0, writes it (info.json) as the VM's record, keeping the state that libvirt
 * events may have changed meanwhile, clears busy and notifies. Both return 0 or
 * -errno with err set; finish returns rc when it is an error. */
enum vmops_need {
	VMOPS_NEED_ANY,
	VMOPS_NEED_STOPPED,	     /* "VM is not stopped" */
	VMOPS_NEED_STOPPED_OR_FORCE, /* stopped, or running with force */
	VMOPS_NEED_OFFLINE,	     /* the state machine's offline-change rule */
};
enum {
	VMOPS_EDIT_FORCE = 1 << 0,   /* with VMOPS_NEED_STOPPED_OR_FORCE */
	VMOPS_EDIT_VOLUMES = 1 << 1, /* the record's volumes and locations must agree */
};
int vmops_edit_begin(struct vm *vm, enum vmops_need need, unsigned flags,
		     struct hvapi_local_vm_info *copy, char *err, size_t errsz);
int vmops_edit_finish(struct manager *m, struct vm *vm, struct hvapi_local_vm_info *copy, int rc,
		      char *err, size_t errsz);

/* rm -rf path (no symlinks followed). 0 or -errno. */
int vmops_rmtree(const char *path);

#endif
