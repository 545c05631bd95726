/* VMs that change hands on one host (ExportLocalVm, ImportLocalVm, CommitImportedVm:
 * spec/rpc.md §5), and the "uncommitted VM" they share with MigrateVm and CopyVm: a VM
 * whose record and volume files are here, that may even run, but whose addresses are
 * not in this hypervisor's address pool (VmInfo.Uncommitted). Committing registers its
 * addresses; destroying an uncommitted VM gives nothing back to the pool. The state is
 * persisted in info.json, so an uncommitted VM survives a restart as uncommitted and
 * can still be committed or destroyed (docs/hypervisor.md "Uncommitted VMs"). */
#ifndef HV_VMLOCAL_H
#define HV_VMLOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/hypervisor/vmm/manager.h"

/* The VerificationCookie check: cookie must be the bytes of <stateDir>/root-cookie.
 * 0, or -EPERM with "bad verification cookie: you are not root". */
int vmlocal_check_cookie(const struct manager *m, const struct api_bytes *cookie, char *err,
			 size_t errsz);

/* ExportLocalVm after the cookie and rights checks: a stopped VM becomes exporting; out
 * gets its bridges (one per NIC) and a copy of its record. */
int vmlocal_export(struct manager *m, struct vm *vm, struct hvapi_export_local_vm_info *out,
		   char *err, size_t errsz);

/* ImportLocalVm after the cookie check: the caller becomes the only owner; every file
 * of VolumeFilenames must be a regular file exactly two directories below a volume
 * directory (<volume directory>/<any>/<any>/<file>, as vm-control's import area) and
 * is hard-linked to <volume directory>/<ip>/{root,secondary-volume.N}; the VM enters
 * uncommitted (vmlocal_insert_uncommitted) and is started. Nothing is left behind on
 * failure (the caller's files are untouched either way). */
int vmlocal_import(struct manager *m, const struct vm_caller *c,
		   const struct hvapi_import_local_vm_request *req, char *err, size_t errsz);

/* For every way a VM arrives from elsewhere (import, migration, copy). The VM
 * directory (vm_new's VMs/<ip>) and the volume files of info must exist. Checks
 * under the pool's lock that no VM has the primary IP ("<ip> already exists"), that
 * no address (IP or MAC) is in the pool ("<x> is in address pool") or used by
 * another VM ("<x> is used by VM <ip>") and that each address lies in a subnet ("no
 * matching subnet for: <ip>"; SubnetId and SecondarySubnetIDs are set from them);
 * then sets Uncommitted, writes info.json and inserts the VM, busy, with a new
 * reference in *out. Takes *info (zeroed on success). */
int vmlocal_insert_uncommitted(struct manager *m, struct hvapi_local_vm_info *info, struct vm **out,
			       char *err, size_t errsz);

/* CommitImportedVm (and the commit of a migration's target): registers every address
 * of the VM in the pool (in use, so not free), then clears Uncommitted. Idempotent
 * up to the last step: addresses already registered are skipped, so a commit cut
 * short by a crash can be repeated. "<ip> is already committed" when it is. */
int vmlocal_commit(struct manager *m, struct vm *vm, char *err, size_t errsz);

#endif
