/* RPC handlers about the host: address pool, subnets, owners, disabled state,
 * capacity, keys, and the VM listings (filtered per caller, weaknesses.md #5). */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int change_address_pool(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			       char *err, size_t errsz)
{
	(void)call;
	(void)resp;
	return manager_change_address_pool(r->m, req, err, errsz);
}

static int update_subnets(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			  char *err, size_t errsz)
{
	(void)call;
	(void)resp;
	return manager_update_subnets(r->m, req, err, errsz);
}

static int change_owners(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			 char *err, size_t errsz)
{
	const struct hvapi_change_owners_request *q = req;

	(void)call;
	(void)resp;
	return manager_change_owners(r->m, &q->owner_users, &q->owner_groups, err, errsz);
}

static int set_disabled(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			char *err, size_t errsz)
{
	const struct hvapi_set_disabled_state_request *q = req;

	(void)call;
	(void)resp;
	log_info("%s %s the hypervisor", srpc_call_auth(call)->username,
		 q->disable ? "disabled" : "enabled");
	return manager_set_disabled(r->m, q->disable, err, errsz);
}

static int get_capacity(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			char *err, size_t errsz)
{
	struct hvapi_get_capacity_response *p = resp;

	(void)call;
	(void)req;
	(void)err;
	(void)errsz;
	p->available_memory_mib = manager_mem_available_mib();
	p->memory_mib = r->m->mem_total_mib;
	p->num_cpus = r->m->ncpus;
	p->total_volume_bytes = volumes_total_bytes(&r->m->vols);
	return 0;
}

static int get_identity_provider(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				 char *err, size_t errsz)
{
	struct hvapi_get_identity_provider_response *p = resp;

	(void)call;
	(void)req;
	if (*r->cfg->identity_provider == '\0') {
		snprintf(err, errsz, "no identity provider configured");
		return -ENOENT;
	}
	p->base_url = strdup(r->cfg->identity_provider);
	return 0;
}

static int get_public_key(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			  char *err, size_t errsz)
{
	struct hvapi_get_public_key_response *p = resp;
	size_t len = r->m->public_key_pem ? strlen(r->m->public_key_pem) : 0;

	(void)call;
	(void)req;
	p->key_pem.data = len ? malloc(len) : NULL;
	if (p->key_pem.data == NULL) {
		snprintf(err, errsz, "no public key");
		return -ENOENT;
	}
	memcpy(p->key_pem.data, r->m->public_key_pem, len);
	p->key_pem.len = len;
	return 0;
}

static int get_root_cookie_path(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				char *err, size_t errsz)
{
	struct hvapi_get_root_cookie_path_response *p = resp;

	(void)call;
	(void)req;
	(void)err;
	(void)errsz;
	if (asprintf(&p->path, "%s/root-cookie", r->m->state_dir) < 0)
		p->path = NULL;
	return 0;
}

static int list_subnets(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			char *err, size_t errsz)
{
	struct hvapi_list_subnets_response *p = resp;
	int rc = 0;

	(void)call;
	(void)req;
	pthread_rwlock_rdlock(&r->m->lock);
	p->subnets.v = calloc(r->m->subnets.n + 1, sizeof(*p->subnets.v));
	for (size_t i = 0; p->subnets.v != NULL && rc == 0 && i < r->m->subnets.n; i++) {
		rc = api_copy(&hvapi_subnet_type, &p->subnets.v[i], &r->m->subnets.v[i]);
		if (rc == 0)
			p->subnets.n++;
	}
	pthread_rwlock_unlock(&r->m->lock);
	if (p->subnets.v == NULL || rc < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0; /* subnets.json is kept sorted by Id, so Sort is satisfied either way */
}

/* The VMs the caller may see and the request selects (copies of their VmInfo). */
static int selected(struct rpc *r, struct srpc_call *call, uint64_t mask,
		    const struct api_strlist *groups, const struct api_strlist *users,
		    const struct hvapi_match_tags *match, struct hvapi_vm_info **out, size_t *n)
{
	struct vm **vms = NULL;
	size_t nvms = 0, k = 0;
	struct hvapi_vm_info *v;

	*out = NULL;
	*n = 0;
	if (manager_vms(r->m, &vms, &nvms) < 0)
		return -ENOMEM;
	v = calloc(nvms + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < nvms; i++) {
		struct vm *vm = vms[i];
		bool keep;

		if (!rpc_may_see(r, call, vm))
			continue;
		pthread_mutex_lock(&vm->mu);
		keep = hvapi_vm_selected(mask, groups, users, match, &vm->info.vm);
		if (keep && api_copy(&hvapi_vm_info_type, &v[k], &vm->info.vm) == 0)
			k++;
		pthread_mutex_unlock(&vm->mu);
	}
	manager_vms_free(vms, nvms);
	if (v == NULL)
		return -ENOMEM;
	*out = v;
	*n = k;
	return 0;
}

static int list_vms(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		    size_t errsz)
{
	const struct hvapi_list_vms_request *q = req;
	struct hvapi_list_vms_response *p = resp;
	struct hvapi_vm_info *v = NULL;
	size_t n = 0;

	(void)err;
	(void)errsz;
	if (selected(r, call, q->ignore_state_mask, &q->owner_groups, &q->owner_users,
		     &q->vm_tags_to_match, &v, &n) < 0)
		return -ENOMEM;
	/* The map is in IP order, which is Go's version-string order for dotted quads. */
	p->ip_addresses.v = calloc(n + 1, sizeof(*p->ip_addresses.v));
	for (size_t i = 0; i < n; i++) {
		if (p->ip_addresses.v != NULL)
			p->ip_addresses.v[p->ip_addresses.n++] = v[i].address.ip;
		api_clear(&hvapi_vm_info_type, &v[i]);
	}
	free(v);
	return 0;
}

static int get_vm_infos(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			char *err, size_t errsz)
{
	const struct hvapi_get_vm_infos_request *q = req;
	struct hvapi_get_vm_infos_response *p = resp;
	struct hvapi_vm_info *v = NULL;
	size_t n = 0;

	if (selected(r, call, q->ignore_state_mask, &q->owner_groups, &q->owner_users,
		     &q->vm_tags_to_match, &v, &n) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->vm_infos.v = v;
	p->vm_infos.n = n;
	return 0;
}

static int get_vm_info(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
		       char *err, size_t errsz)
{
	const struct hvapi_ip_request *q = req;
	struct hvapi_get_vm_info_response *p = resp;
	struct vm *vm = manager_find(r->m, q->ip);
	char ip[INET_ADDRSTRLEN];

	if (vm == NULL || !rpc_may_see(r, call, vm)) {
		/* #5: a VM the caller may not see does not exist for them. */
		vm_unref(vm);
		inet_ntop(AF_INET, &q->ip, ip, sizeof(ip));
		snprintf(err, errsz, "no VM with IP address: %s found", ip);
		return -ENOENT;
	}
	pthread_mutex_lock(&vm->mu);
	api_copy(&hvapi_vm_info_type, &p->vm_info, &vm->info.vm);
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return 0;
}

static int list_volume_directories(struct rpc *r, struct srpc_call *call, const void *req,
				   void *resp, char *err, size_t errsz)
{
	const struct srpc_auth *a = srpc_call_auth(call);
	struct hvapi_list_volume_directories_response *p = resp;

	(void)req;
	/* #25: admins may ask remotely; others only from the host itself (spec: L). */
	if (!a->is_admin && !a->loopback) {
		snprintf(err, errsz, "access to method denied: loopback only");
		return -EACCES;
	}
	for (size_t i = 0; i < r->m->vols.n; i++)
		api_strlist_add(&p->directories, r->m->vols.v[i].path);
	return 0;
}

static int get_storage_configuration(struct rpc *r, struct srpc_call *call, const void *req,
				     void *resp, char *err, size_t errsz)
{
	const struct hvapi_ip_request *q = req;
	struct hvapi_get_vm_volume_storage_configuration_response *p = resp;
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz); /* #5: owners only */
	size_t nv = r->m->vols.n;

	if (vm == NULL)
		return -EACCES;
	p->storage_infos.v = calloc(nv + 1, sizeof(*p->storage_infos.v));
	for (size_t i = 0; p->storage_infos.v != NULL && i < nv; i++) {
		struct volumes_space s = {0};

		volumes_space(&r->m->vols, i, &s);
		p->storage_infos.v[i] =
		    (struct hvapi_storage_info){s.available, s.free, s.size, s.usable};
		p->storage_infos.n++;
	}
	pthread_mutex_lock(&vm->mu);
	p->volume_storage_indices.v = calloc(vm->info.volume_locations.n + 1, sizeof(uint32_t));
	for (size_t i = 0; p->volume_storage_indices.v != NULL && i < vm->info.volume_locations.n;
	     i++) {
		int k =
		    volumes_index_of(&r->m->vols, api_str(vm->info.volume_locations.v[i].filename));

		p->volume_storage_indices.v[p->volume_storage_indices.n++] =
		    k < 0 ? 0 : (uint32_t)k;
	}
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return 0;
}

/* Debug aids (#37): only registered with -enableLockDebugMethods. */
static int hold_lock(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_hold_lock_request *q = req;
	struct timespec ts = {.tv_sec = q->timeout_ns / 1000000000,
			      .tv_nsec = q->timeout_ns % 1000000000};

	(void)resp;
	if (q->timeout_ns < 0 || q->timeout_ns > 60LL * 1000000000) {
		snprintf(err, errsz, "timeout must be at most 1 minute");
		return -EINVAL;
	}
	if (q->write_lock)
		pthread_rwlock_wrlock(&r->m->lock);
	else
		pthread_rwlock_rdlock(&r->m->lock);
	log_info("HoldLock(%s): manager %s lock held for %lld ms", srpc_call_auth(call)->username,
		 q->write_lock ? "write" : "read", (long long)(q->timeout_ns / 1000000));
	nanosleep(&ts, NULL);
	pthread_rwlock_unlock(&r->m->lock);
	return 0;
}

static int hold_vm_lock(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			char *err, size_t errsz)
{
	const struct hvapi_hold_vm_lock_request *q = req;
	struct timespec ts = {.tv_sec = q->timeout_ns / 1000000000,
			      .tv_nsec = q->timeout_ns % 1000000000};
	struct vm *vm;

	(void)resp;
	if (q->timeout_ns < 0 || q->timeout_ns > 60LL * 1000000000) {
		snprintf(err, errsz, "timeout must be at most 1 minute");
		return -EINVAL;
	}
	vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	if (vm == NULL)
		return -ENOENT;
	pthread_mutex_lock(&vm->mu);
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return 0;
}

const struct rpc_rr rpc_host_methods[] = {
    {HVAPI_M_CHANGE_ADDRESS_POOL, change_address_pool},
    {HVAPI_M_CHANGE_OWNERS, change_owners},
    {HVAPI_M_GET_CAPACITY, get_capacity},
    {HVAPI_M_GET_IDENTITY_PROVIDER, get_identity_provider},
    {HVAPI_M_GET_PUBLIC_KEY, get_public_key},
    {HVAPI_M_GET_ROOT_COOKIE_PATH, get_root_cookie_path},
    {HVAPI_M_GET_VM_INFO, get_vm_info},
    {HVAPI_M_GET_VM_INFOS, get_vm_infos},
    {HVAPI_M_GET_VM_VOLUME_STORAGE_CONFIGURATION, get_storage_configuration},
    {HVAPI_M_HOLD_LOCK, hold_lock},
    {HVAPI_M_HOLD_VM_LOCK, hold_vm_lock},
    {HVAPI_M_LIST_SUBNETS, list_subnets},
    {HVAPI_M_LIST_VMS, list_vms},
    {HVAPI_M_LIST_VOLUME_DIRECTORIES, list_volume_directories},
    {HVAPI_M_SET_DISABLED_STATE, set_disabled},
    {HVAPI_M_UPDATE_SUBNETS, update_subnets},
    {NULL, NULL},
};
