/* RPC handlers for VMs that move on this host: ExportLocalVm, ImportLocalVm and
 * CommitImportedVm (the root cookie proves a local root caller; the server keeps them
 * to loopback callers), ChangeVmSubnet and ChangeVmVolumeStorageIndex. The work is in
 * vmm/vmlocal.c and vmm/vmmove.c. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/hypervisor/vmm/vmlocal.h"
#include "daemon/hypervisor/vmm/vmmove.h"
#include "log.h"

static int export_local_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_export_local_vm_request *q = req;
	struct hvapi_export_local_vm_response *p = resp;
	struct vm *vm;
	int rc;

	/* As the original: the cookie first, so that nobody learns which VMs exist. */
	if (vmlocal_check_cookie(r->m, &q->verification_cookie, err, errsz) < 0)
		return -EPERM;
	vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	if (vm == NULL)
		return -EACCES;
	rc = vmlocal_export(r->m, vm, &p->vm_info, err, errsz);
	if (rc == 0)
		log_info("%s: exported by %s", vm->ipstr, srpc_call_auth(call)->username);
	vm_unref(vm);
	return rc;
}

static int import_local_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_import_local_vm_request *q = req;
	struct vm_caller c = rpc_caller(call);

	(void)resp;
	if (vmlocal_check_cookie(r->m, &q->verification_cookie, err, errsz) < 0)
		return -EPERM;
	return vmlocal_import(r->m, &c, q, err, errsz);
}

static int commit_imported_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			      char *err, size_t errsz)
{
	(void)resp;
	return rpc_vm_op(r, call, ((const struct hvapi_ip_request *)req)->ip, NULL, vmlocal_commit,
			 err, errsz);
}

static int change_vm_subnet(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	const struct hvapi_change_vm_subnet_request *q = req;
	struct hvapi_change_vm_subnet_response *p = resp;
	struct vm_caller c = rpc_caller(call);
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	int rc;

	if (vm == NULL)
		return -EACCES;
	rc = vmmove_change_subnet(r->m, vm, &c, q->subnet_id, &p->new_ip, &p->old_identity_name,
				  err, errsz);
	vm_unref(vm);
	return rc;
}

static int change_vm_volume_storage_index(struct rpc *r, struct srpc_call *call, const void *req,
					  void *resp, char *err, size_t errsz)
{
	const struct hvapi_change_vm_volume_storage_index_request *q = req;
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	int rc;

	(void)resp;
	if (vm == NULL)
		return -EACCES;
	rc = vmmove_volume_storage(r->m, vm, q->volume_index, q->storage_index, err, errsz);
	vm_unref(vm);
	return rc;
}

const struct rpc_method rpc_local_methods[] = {
    {.name = HVAPI_M_EXPORT_LOCAL_VM, .fn = export_local_vm},
    {.name = HVAPI_M_IMPORT_LOCAL_VM, .fn = import_local_vm},
    {.name = HVAPI_M_COMMIT_IMPORTED_VM, .fn = commit_imported_vm},
    {.name = HVAPI_M_CHANGE_VM_SUBNET, .fn = change_vm_subnet},
    {.name = HVAPI_M_CHANGE_VM_VOLUME_STORAGE_INDEX, .fn = change_vm_volume_storage_index},
    {NULL},
};
