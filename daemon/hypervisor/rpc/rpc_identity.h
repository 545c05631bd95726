/* ReplaceVmCredentials and ReplaceVmIdentity (rpc_identity.c), listed in
 * rpc_console.c's part of the method table. */
#ifndef HV_RPC_IDENTITY_H
#define HV_RPC_IDENTITY_H

#include "daemon/hypervisor/rpc/rpc.h"

int rpc_replace_vm_credentials(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			       char *err, size_t errsz);
int rpc_replace_vm_identity(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz);

#endif
