/* ReplaceVmCredentials and ReplaceVmIdentity: the VM's X.509 identity that the
 * metadata server hands to the guest (identity.cert, identity.key). */
#include "daemon/hypervisor/rpc/rpc_identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/identity.h"
#include "daemon/hypervisor/vmm/vmops.h"

/* Records the identity's name and expiry (or clears both when name is NULL) and
 * writes the record. */
static int set_identity(struct rpc *r, struct vm *vm, const char *name,
			const struct timespec *expires, const struct api_bytes *cert,
			const struct api_bytes *key, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	char *dup = name ? strdup(name) : NULL;
	int rc = vmops_edit_begin(vm, VMOPS_NEED_ANY, 0, &copy, err, errsz);

	if (rc < 0) {
		free(dup);
		return rc;
	}
	if (name != NULL && dup == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	} else if (cert != NULL) {
		rc = identity_write(vm, cert->data, cert->len, key->data, key->len, err, errsz);
	} else {
		identity_remove(vm);
	}
	if (rc == 0) {
		free(copy.vm.identity_name);
		copy.vm.identity_name = dup;
		copy.vm.identity_expires = name ? *expires : (struct timespec){0};
		dup = NULL;
	}
	free(dup);
	return vmops_edit_finish(r->m, vm, &copy, rc, err, errsz);
}

int rpc_replace_vm_credentials(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			       char *err, size_t errsz)
{
	const struct hvapi_replace_vm_credentials_request *q = req;
	struct timespec expires;
	char *name = NULL;
	struct vm *vm;
	int rc;

	(void)resp;
	/* The original checks the pair before it looks the VM up. */
	rc = identity_check(q->identity_certificate.data, q->identity_certificate.len,
			    q->identity_key.data, q->identity_key.len, NULL,
			    srpc_call_auth(call)->username, &name, &expires, err, errsz);
	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	if (vm == NULL) {
		free(name);
		return -EACCES;
	}
	rc = set_identity(r, vm, name, &expires, &q->identity_certificate, &q->identity_key, err,
			  errsz);
	vm_unref(vm);
	free(name);
	return rc;
}

/* An empty certificate erases the VM's identity, as the original. A requestor
 * certificate needs an identity provider (Keymaster) to fetch role certificates from
 * and renew them; the daemon has no client for one (docs/hypervisor.md), so it checks
 * the certificate as the original does and refuses. */
int rpc_replace_vm_identity(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	const struct hvapi_replace_vm_identity_request *q = req;
	struct timespec expires;
	char *name = NULL;
	struct vm *vm;
	int rc;

	(void)resp;
	if (q->identity_requestor_certificate.len == 0) {
		vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
		if (vm == NULL)
			return -EACCES;
		rc = set_identity(r, vm, NULL, NULL, NULL, NULL, err, errsz);
		vm_unref(vm);
		return rc;
	}
	if (r->cfg->identity_provider == NULL || r->cfg->identity_provider[0] == '\0') {
		snprintf(err, errsz, "no Identity Provider");
		return -EINVAL;
	}
	rc = identity_check(q->identity_requestor_certificate.data,
			    q->identity_requestor_certificate.len, NULL, 0, r->m->key,
			    srpc_call_auth(call)->username, &name, &expires, err, errsz);
	free(name);
	if (rc < 0)
		return rc;
	snprintf(err, errsz, "identity requestor certificates are not supported");
	return -EOPNOTSUPP;
}
