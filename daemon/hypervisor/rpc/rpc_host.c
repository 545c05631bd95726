/* RPC handlers about the host: address pool, subnets, owners, disabled state,
 * capacity, keys, the VM listings (filtered per caller, weaknesses.md #5), PowerOff
 * (hypervisor.md §9) and RegisterExternalLeases (netboot.md §1.6). */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/vmcheck.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

extern char **environ;

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
	if (vmcheck_names("OwnerUsers", &q->owner_users, err, errsz) < 0 ||
	    vmcheck_names("OwnerGroups", &q->owner_groups, err, errsz) < 0)
		return -EINVAL;
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
	(void)err;
	(void)errsz;
	/* Without -identityProvider the original answers an empty BaseUrl, not an error. */
	p->base_url = strdup(r->cfg->identity_provider);
	return p->base_url == NULL ? -ENOMEM : 0;
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
	struct manager_view v;

	(void)call;
	(void)req;
	if (manager_view(r->m, MANAGER_VIEW_SUBNETS, &v) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->subnets = v.subnets;
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

	(void)resp;
	if (q->timeout_ns < 0 || q->timeout_ns > 60LL * 1000000000) {
		snprintf(err, errsz, "timeout must be at most 1 minute");
		return -EINVAL;
	}
	manager_hold_lock(r->m, srpc_call_auth(call)->username, q->write_lock, q->timeout_ns);
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

/* ---- PowerOff ---- */

static int run_power_off(const char *cmd, char *err, size_t errsz)
{
	char *const argv[] = {(char *)cmd, NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, cmd, NULL, NULL, argv, environ), status;

	if (rc != 0) {
		snprintf(err, errsz, "running %s: %s", cmd, strerror(rc));
		return -rc;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errsz, "waiting for %s: %s", cmd, strerror(errno));
			return -errno;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsz, "%s failed (status %d)", cmd, status);
		return -EIO;
	}
	return 0;
}

/* A VM is shut down when it is stopped, or when it crashed / failed to start and
 * libvirt has no running domain for it (the §9 host shutdown records crashed). */
static bool vm_is_down(struct manager *m, struct vm *vm)
{
	enum hvapi_state s;

	pthread_mutex_lock(&vm->mu);
	s = vm->info.vm.state;
	pthread_mutex_unlock(&vm->mu);
	if (s == HVAPI_STATE_STOPPED)
		return true;
	if (s != HVAPI_STATE_CRASHED && s != HVAPI_STATE_FAILED_TO_START)
		return false;
	return m->virt == NULL || virt_is_running(m->virt, vm->ipstr) != 1;
}

static int power_off(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_power_off_request *q = req;
	struct vm **vms = NULL;
	size_t n = 0;
	int rc;

	(void)resp;
	log_info("%s asked to power off the host%s", srpc_call_auth(call)->username,
		 q->stop_vms ? ", stopping VMs" : "");
	if (q->stop_vms && r->m->virt != NULL)
		vmops_shutdown_all(r->m);
	rc = manager_vms(r->m, &vms, &n);
	if (rc < 0) {
		snprintf(err, errsz, "%s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!vm_is_down(r->m, vms[i])) {
			snprintf(err, errsz, "%s is not shut down", vms[i]->ipstr);
			rc = -EBUSY;
			goto out;
		}
	rc = run_power_off(r->cfg->power_off_command, err, errsz);
	if (rc == 0)
		log_info("host power-off started (%s)", r->cfg->power_off_command);
out:
	if (rc < 0)
		atomic_store(&r->m->shutting_down, false); /* the host stays up */
	manager_vms_free(vms, n);
	return rc;
}

/* ---- RegisterExternalLeases (rpc_extleases.c) ---- */

static int register_leases(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	(void)resp;
	return rpc_external_leases_set(r, req, NULL, srpc_call_auth(call)->username, err, errsz);
}

const struct rpc_method rpc_host_methods[] = {
    {.name = HVAPI_M_CHANGE_ADDRESS_POOL, .fn = change_address_pool},
    {.name = HVAPI_M_CHANGE_OWNERS, .fn = change_owners},
    {.name = HVAPI_M_GET_CAPACITY, .fn = get_capacity},
    {.name = HVAPI_M_GET_IDENTITY_PROVIDER, .fn = get_identity_provider},
    {.name = HVAPI_M_GET_PUBLIC_KEY, .fn = get_public_key},
    {.name = HVAPI_M_GET_ROOT_COOKIE_PATH, .fn = get_root_cookie_path},
    {.name = HVAPI_M_GET_VM_INFO, .fn = get_vm_info},
    {.name = HVAPI_M_GET_VM_INFOS, .fn = get_vm_infos},
    {.name = HVAPI_M_GET_VM_VOLUME_STORAGE_CONFIGURATION, .fn = get_storage_configuration},
    {.name = HVAPI_M_HOLD_LOCK, .fn = hold_lock},
    {.name = HVAPI_M_HOLD_VM_LOCK, .fn = hold_vm_lock},
    {.name = HVAPI_M_LIST_SUBNETS, .fn = list_subnets},
    {.name = HVAPI_M_LIST_VMS, .fn = list_vms},
    {.name = HVAPI_M_LIST_VOLUME_DIRECTORIES, .fn = list_volume_directories},
    {.name = HVAPI_M_SET_DISABLED_STATE, .fn = set_disabled},
    {.name = HVAPI_M_UPDATE_SUBNETS, .fn = update_subnets},
    {.name = HVAPI_M_POWER_OFF, .fn = power_off},
    {.name = HVAPI_M_REGISTER_EXTERNAL_LEASES, .fn = register_leases},
    {NULL},
};
