/* RPC handlers acting on one VM: lifecycle, settings, owners, tokens, user data,
 * volumes. Every handler checks the caller's rights on the VM (rpc_vm) first. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "daemon/hypervisor/vmm/vmcheck.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

#define MAX_USER_DATA (16u << 20)

/* A change to the VM's record, applied to a copy (info) while the VM is busy. */
typedef int (*change_fn)(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			 const void *req, char *err, size_t errsz);

static int change(struct rpc *r, struct srpc_call *call, struct in_addr ip,
		  const struct api_bytes *token, bool need_stopped, change_fn fn, const void *req,
		  char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	struct vm *vm = rpc_vm(r, call, ip, token, err, errsz);
	int rc;

	if (vm == NULL)
		return -EACCES;
	rc = vmops_edit_begin(vm, need_stopped ? VMOPS_NEED_OFFLINE : VMOPS_NEED_ANY, 0, &copy, err,
			      errsz);
	if (rc == 0)
		rc = vmops_edit_finish(r->m, vm, &copy, fn(r, call, &copy, req, err, errsz), err,
				       errsz);
	vm_unref(vm);
	return rc;
}

/* ---- lifecycle ---- */

static int start_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		    size_t errsz)
{
	const struct hvapi_start_vm_request *q = req;
	struct hvapi_dhcp_response *p = resp;
	struct vm *vm = rpc_vm(r, call, q->ip, &q->access_token, err, errsz);
	int rc;

	if (vm == NULL)
		return -EACCES;
	rc = vmops_start(r->m, vm, q->dhcp_timeout_ns, &p->dhcp_timed_out, err, errsz);
	vm_unref(vm);
	return rc;
}

static int stop_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		   size_t errsz)
{
	const struct hvapi_vm_token_request *q = req;

	(void)resp;
	return rpc_vm_op(r, call, q->ip, &q->access_token, vmops_stop, err, errsz);
}

static int destroy_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		      size_t errsz)
{
	const struct hvapi_vm_token_request *q = req;
	struct vm *vm = rpc_vm(r, call, q->ip, &q->access_token, err, errsz);
	int rc;

	(void)resp;
	if (vm == NULL)
		return -EACCES;
	log_info("%s: destroy requested by %s", vm->ipstr, srpc_call_auth(call)->username);
	rc = vmops_destroy(r->m, vm, err, errsz);
	vm_unref(vm);
	return rc;
}

static int reboot_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_reboot_vm_request *q = req;
	struct hvapi_dhcp_response *p = resp;
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	int rc;

	if (vm == NULL)
		return -EACCES;
	rc = vmops_reboot(r->m, vm, q->dhcp_timeout_ns, &p->dhcp_timed_out, err, errsz);
	vm_unref(vm);
	return rc;
}

static int acknowledge_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			  char *err, size_t errsz)
{
	(void)resp;
	return rpc_vm_op(r, call, ((const struct hvapi_ip_request *)req)->ip, NULL,
			 vmops_acknowledge, err, errsz);
}

/* ---- settings ---- */

static int set_hostname(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_hostname_request *q = req;
	char *h;

	(void)r;
	(void)call;
	if (vmcheck_hostname(q->hostname, err, errsz) < 0)
		return -EINVAL;
	h = strdup(api_str(q->hostname));
	if (h == NULL)
		return -ENOMEM;
	free(info->vm.hostname);
	info->vm.hostname = h;
	return 0;
}

static int change_hostname(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_change_vm_hostname_request *q = req;
	int rc = change(r, call, q->ip, NULL, false, set_hostname, req, err, errsz);
	struct vm *vm;

	(void)resp;
	if (rc < 0)
		return rc;
	/* #12: the lease gets the new name (the original re-added the old one). */
	vm = manager_find(r->m, q->ip);
	if (vm != NULL)
		vmops_net_register(r->m, vm);
	vm_unref(vm);
	return 0;
}

static int set_tags(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
		    const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_tags_request *q = req;
	struct hvapi_tags tags = {0};

	(void)r;
	(void)call;
	if (vmcheck_tags(&q->tags, err, errsz) < 0)
		return -EINVAL;
	for (size_t i = 0; i < q->tags.n; i++)
		if (hvapi_tags_set(&tags, api_str(q->tags.v[i].key), api_str(q->tags.v[i].value)) <
		    0) {
			snprintf(err, errsz, "out of memory");
			for (size_t k = 0; k < tags.n; k++) {
				free(tags.v[k].key);
				free(tags.v[k].value);
			}
			free(tags.v);
			return -ENOMEM;
		}
	for (size_t k = 0; k < info->vm.tags.n; k++) {
		free(info->vm.tags.v[k].key);
		free(info->vm.tags.v[k].value);
	}
	free(info->vm.tags.v);
	info->vm.tags = tags;
	return 0;
}

static int set_cpu_priority(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			    const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_cpu_priority_request *q = req;

	(void)r;
	if (q->cpu_priority < 0 && !srpc_call_auth(call)->is_admin) {
		snprintf(err, errsz, "negative CPU priority needs admin rights");
		return -EPERM;
	}
	if (q->cpu_priority < -20 || q->cpu_priority > 19) {
		snprintf(err, errsz, "CPU priority must be within -20..19");
		return -EINVAL;
	}
	info->vm.cpu_priority = q->cpu_priority;
	return 0;
}

static int set_queues(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
		      const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_num_network_queues_request *q = req;
	size_t nics = 1 + info->vm.secondary_addresses.n;
	struct hvapi_network_entry *v;

	(void)r;
	(void)call;
	if (q->num_queues_per_interface.n > nics) {
		snprintf(err, errsz, "VM has only %zu network interfaces", nics);
		return -EINVAL;
	}
	v = calloc(q->num_queues_per_interface.n + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < q->num_queues_per_interface.n; i++)
		v[i].num_queues = q->num_queues_per_interface.v[i];
	free(info->vm.network_entries.v);
	info->vm.network_entries.v = v;
	info->vm.network_entries.n = q->num_queues_per_interface.n;
	return 0;
}

static int set_interfaces(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			  const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_volume_interfaces_request *q = req;

	(void)r;
	(void)call;
	if (q->interfaces.n > info->vm.volumes.n) {
		snprintf(err, errsz, "VM has only %zu volumes", info->vm.volumes.n);
		return -EINVAL;
	}
	for (size_t i = 0; i < q->interfaces.n; i++) {
		if (q->interfaces.v[i] == HVAPI_VOLUME_INTERFACE_NVME ||
		    q->interfaces.v[i] == HVAPI_VOLUME_INTERFACE_DFM) {
			snprintf(
			    err, errsz, "volume interface %s is not supported",
			    hvapi_enum_name(hvapi_volume_interface_names, (int)q->interfaces.v[i]));
			return -EINVAL;
		}
		info->vm.volumes.v[i].interface = q->interfaces.v[i];
	}
	return 0;
}

/* ChangeVmSize as the original's changeVmMemory and changeVmCPUs: only a change of
 * the vCPU count or of the memory needs a stopped VM; a MilliCPUs change that keeps
 * the vCPU count, or a request that changes nothing, is taken while it runs. A
 * failure after a part was changed keeps that part and returns the error. */
struct size_change {
	const struct hvapi_change_vm_size_request *q;
	uint64_t mcpu, mem; /* over every VM, this one included */
	bool changed;
	char later_err[160]; /* the error after a part was changed */
};

static int size_memory(struct rpc *r, struct size_change *sc, struct hvapi_vm_info *v, char *err,
		       size_t errsz)
{
	uint64_t want = sc->q->memory_mib, unallocated, avail;

	if (want == 0 || want == v->memory_mib)
		return 0;
	if (v->state != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		return -EBUSY;
	}
	if (want > v->memory_mib) {
		unallocated = sc->mem < r->m->mem_total_mib ? r->m->mem_total_mib - sc->mem : 0;
		avail = manager_mem_available_mib();
		if (want - v->memory_mib > unallocated) {
			snprintf(err, errsz, "insufficient unallocated memory");
			return -ENOSPC;
		}
		if (avail != 0 && want - v->memory_mib > avail) {
			snprintf(err, errsz, "insufficient available memory");
			return -ENOSPC;
		}
	}
	v->memory_mib = want;
	sc->changed = true;
	return 0;
}

static int size_cpus(struct rpc *r, struct size_change *sc, struct hvapi_vm_info *v, char *err,
		     size_t errsz)
{
	struct hvapi_vm_info want = {
	    .milli_cpus = sc->q->milli_cpus ? sc->q->milli_cpus : v->milli_cpus,
	    .virtual_cpus = sc->q->virtual_cpus ? sc->q->virtual_cpus : v->virtual_cpus};
	struct hvapi_vm_info min = {.milli_cpus = want.milli_cpus};
	uint64_t total = (uint64_t)r->m->ncpus * 1000;
	unsigned before, after;

	if (sc->q->milli_cpus == 0 && sc->q->virtual_cpus == 0)
		return 0;
	if (want.virtual_cpus != 0 && want.virtual_cpus < vm_vcpus(&min, 0)) {
		snprintf(err, errsz, "VirtualCPUs must be at least %u", vm_vcpus(&min, 0));
		return -EINVAL;
	}
	if (want.milli_cpus == v->milli_cpus && want.virtual_cpus == v->virtual_cpus)
		return 0;
	before = vm_vcpus(v, 0);
	after = vm_vcpus(&want, 0);
	if (before != after && v->state != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		return -EBUSY;
	}
	if (after > before && want.milli_cpus > v->milli_cpus &&
	    want.milli_cpus - v->milli_cpus > (sc->mcpu < total ? total - sc->mcpu : 0)) {
		snprintf(err, errsz, "insufficient unallocated CPU");
		return -ENOSPC;
	}
	v->milli_cpus = want.milli_cpus;
	v->virtual_cpus = want.virtual_cpus;
	sc->changed = true;
	return 0;
}

static int set_size(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
		    const void *req, char *err, size_t errsz)
{
	struct size_change *sc = (struct size_change *)req;
	int rc;

	(void)call;
	rc = size_memory(r, sc, &info->vm, err, errsz);
	if (rc == 0)
		rc = size_cpus(r, sc, &info->vm, err, errsz);
	if (rc < 0 && sc->changed) {
		snprintf(sc->later_err, sizeof(sc->later_err), "%s", err);
		return 0;
	}
	return rc;
}

static int change_size(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
		       char *err, size_t errsz)
{
	struct size_change sc = {.q = req};
	uint64_t storage;
	int rc;

	(void)resp;
	manager_usage(r->m, &sc.mcpu, &sc.mem, &storage);
	rc = change(r, call, sc.q->ip, NULL, false, set_size, &sc, err, errsz);
	if (rc == 0 && sc.later_err[0] != '\0') {
		snprintf(err, errsz, "%s", sc.later_err);
		return -EINVAL;
	}
	return rc;
}

/* ---- owners ---- */

static int dedup_add(struct api_strlist *l, const char *s)
{
	if (s == NULL || *s == '\0' || api_strlist_contains(l, s))
		return 0;
	return api_strlist_add(l, s);
}

static int set_owner_users(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			   const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_owner_users_request *q = req;
	struct api_strlist users = {0};
	int rc = 0;

	(void)r;
	(void)call;
	if (vmcheck_names("OwnerUsers", &q->owner_users, err, errsz) < 0)
		return -EINVAL;
	/* The primary owner stays first. */
	if (info->vm.owner_users.n > 0)
		rc = dedup_add(&users, info->vm.owner_users.v[0]);
	for (size_t i = 0; rc == 0 && i < q->owner_users.n; i++)
		rc = dedup_add(&users, q->owner_users.v[i]);
	if (rc < 0) {
		api_strlist_clear(&users);
		return rc;
	}
	api_strlist_clear(&info->vm.owner_users);
	info->vm.owner_users = users;
	return 0;
}

static int set_owner_groups(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
			    const void *req, char *err, size_t errsz)
{
	const struct hvapi_change_vm_owner_groups_request *q = req;
	struct api_strlist groups = {0};
	int rc = 0;

	(void)r;
	(void)call;
	if (vmcheck_names("OwnerGroups", &q->owner_groups, err, errsz) < 0)
		return -EINVAL;
	for (size_t i = 0; rc == 0 && i < q->owner_groups.n; i++)
		rc = dedup_add(&groups, q->owner_groups.v[i]);
	if (rc < 0) {
		api_strlist_clear(&groups);
		return rc;
	}
	api_strlist_clear(&info->vm.owner_groups);
	info->vm.owner_groups = groups;
	return 0;
}

static int set_primary(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
		       const void *req, char *err, size_t errsz)
{
	const char *me = srpc_call_auth(call)->username;
	struct api_strlist users = {0};
	int rc;

	(void)r;
	(void)req;
	if (me == NULL || *me == '\0') {
		snprintf(err, errsz, "no authentication data");
		return -EACCES;
	}
	rc = dedup_add(&users, me);
	for (size_t i = 0; rc == 0 && i < info->vm.owner_users.n; i++)
		rc = dedup_add(&users, info->vm.owner_users.v[i]);
	if (rc < 0) {
		api_strlist_clear(&users);
		return rc;
	}
	api_strlist_clear(&info->vm.owner_users);
	info->vm.owner_users = users;
	return 0;
}

static int become_primary(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			  char *err, size_t errsz)
{
	(void)resp;
	return change(r, call, ((const struct hvapi_ip_request *)req)->ip, NULL, false, set_primary,
		      req, err, errsz);
}

/* ---- the ChangeVm* methods that only edit the record ---- */

/* Each request carries the VM's IpAddress at ip_offset. A change either runs set on
 * the record, or (set NULL) copies size bytes from the request at from to the VmInfo
 * at to. */
struct vm_change {
	const char *method;
	change_fn set;
	size_t ip_offset;
	bool need_stopped; /* the state machine's offline-change rule */
	size_t from, to, size;
};

#define CHANGE(m, fn, T, stopped)                                                                  \
	{                                                                                          \
		.method = m, .set = fn, .ip_offset = offsetof(struct T, ip),                       \
		.need_stopped = stopped                                                            \
	}
/* The two fields must have the same type: checked through their sizes at compile time. */
#define COPY(m, T, field, stopped)                                                                 \
	{                                                                                          \
		.method = m, .ip_offset = offsetof(struct T, ip), .need_stopped = stopped,         \
		.from = offsetof(struct T, field), .to = offsetof(struct hvapi_vm_info, field),    \
		.size = sizeof(((struct hvapi_vm_info *)0)->field) +                               \
			0 * sizeof(struct {                                                        \
				_Static_assert(sizeof(((struct T *)0)->field) ==                   \
						   sizeof(((struct hvapi_vm_info *)0)->field),     \
					       "COPY: " #field " differs in size");                \
				int x;                                                             \
			})                                                                         \
	}
static const struct vm_change changes[] = {
    COPY(HVAPI_M_CHANGE_VM_CONSOLE_TYPE, hvapi_change_vm_console_type_request, console_type, true),
    CHANGE(HVAPI_M_CHANGE_VM_CPU_PRIORITY, set_cpu_priority, hvapi_change_vm_cpu_priority_request,
	   false),
    COPY(HVAPI_M_CHANGE_VM_DESTROY_PROTECTION, hvapi_change_vm_destroy_protection_request,
	 destroy_protection, false),
    COPY(HVAPI_M_CHANGE_VM_MACHINE_TYPE, hvapi_change_vm_machine_type_request, machine_type, true),
    CHANGE(HVAPI_M_CHANGE_VM_NUM_NETWORK_QUEUES, set_queues,
	   hvapi_change_vm_num_network_queues_request, true),
    CHANGE(HVAPI_M_CHANGE_VM_OWNER_GROUPS, set_owner_groups, hvapi_change_vm_owner_groups_request,
	   false),
    CHANGE(HVAPI_M_CHANGE_VM_OWNER_USERS, set_owner_users, hvapi_change_vm_owner_users_request,
	   false),
    CHANGE(HVAPI_M_CHANGE_VM_TAGS, set_tags, hvapi_change_vm_tags_request, false),
    CHANGE(HVAPI_M_CHANGE_VM_VOLUME_INTERFACES, set_interfaces,
	   hvapi_change_vm_volume_interfaces_request, true),
};
#undef CHANGE
#undef COPY

/* The change_fn of the COPY entries; arg is a struct copy_arg. */
struct copy_arg {
	const struct vm_change *c;
	const void *req;
};

static int copy_field(struct rpc *r, struct srpc_call *call, struct hvapi_local_vm_info *info,
		      const void *arg, char *err, size_t errsz)
{
	const struct copy_arg *a = arg;

	(void)r;
	(void)call;
	(void)err;
	(void)errsz;
	memcpy((char *)&info->vm + a->c->to, (const char *)a->req + a->c->from, a->c->size);
	return 0;
}

static int change_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const char *method = srpc_call_method(call);

	(void)resp;
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		const struct vm_change *c = &changes[i];
		struct in_addr ip;

		if (strcmp(c->method, method) != 0)
			continue;
		struct copy_arg a = {c, req};

		memcpy(&ip, (const char *)req + c->ip_offset, sizeof(ip));
		if (c->set == NULL)
			return change(r, call, ip, NULL, c->need_stopped, copy_field, &a, err,
				      errsz);
		return change(r, call, ip, NULL, c->need_stopped, c->set, req, err, errsz);
	}
	snprintf(err, errsz, "%s: not a record change", method);
	return -EINVAL;
}

/* ---- access tokens ---- */

static int get_access_token(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	const struct hvapi_get_vm_access_token_request *q = req;
	struct hvapi_get_vm_access_token_response *p = resp;
	struct vm *vm;

	if (q->lifetime_ns < 60LL * 1000000000 || q->lifetime_ns > 86400LL * 1000000000) {
		snprintf(err, errsz, "lifetime must be between 1 minute and 24 hours");
		return -EINVAL;
	}
	vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	if (vm == NULL)
		return -EACCES;
	p->token.data = malloc(VM_TOKEN_LEN);
	pthread_mutex_lock(&vm->mu);
	if (p->token.data != NULL && RAND_bytes(vm->token, VM_TOKEN_LEN) == 1) {
		clock_gettime(CLOCK_MONOTONIC, &vm->token_expires);
		vm->token_expires.tv_sec += q->lifetime_ns / 1000000000;
		memcpy(p->token.data, vm->token, VM_TOKEN_LEN);
		p->token.len = VM_TOKEN_LEN;
	} else {
		snprintf(err, errsz, "cannot make a token");
	}
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return err[0] ? -EIO : 0;
}

static int discard_access_token(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				char *err, size_t errsz)
{
	const struct hvapi_vm_token_request *q = req;
	struct vm *vm = rpc_vm(r, call, q->ip, &q->access_token, err, errsz);

	(void)resp;
	if (vm == NULL)
		return -EACCES;
	pthread_mutex_lock(&vm->mu);
	memset(vm->token, 0, sizeof(vm->token));
	vm->token_expires = (struct timespec){0};
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return 0;
}

/* ---- create request, user data ---- */

static int get_create_request(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			      char *err, size_t errsz)
{
	const struct hvapi_ip_request *q = req;
	struct hvapi_get_vm_create_request_response *p = resp;
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	char path[4096], *msg = NULL;
	int rc;

	if (vm == NULL)
		return -EACCES;
	vm_path(vm, "create-request.json", path, sizeof(path));
	vm_unref(vm);
	rc = api_load_file(&hvapi_create_vm_request_type, path, &p->request, &msg);
	if (rc < 0)
		snprintf(err, errsz, "%s",
			 rc == -ENOENT ? "no create request recorded"
			 : msg	       ? msg
				       : path);
	free(msg);
	return rc;
}

/* ReplaceVmUserData: the request is followed by Size raw bytes, always consumed. */
static int replace_user_data(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			     char *err, size_t errsz)
{
	const struct hvapi_replace_vm_user_data_request *q = req;
	struct srpc_conn *c = srpc_call_conn(call);
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	char path[4096], old[4096];
	uint8_t *data = NULL;
	int rc = 0;

	(void)resp;
	if (q->size > MAX_USER_DATA) {
		/* Too much to hold: the connection cannot be kept in step. */
		vm_unref(vm);
		return srpc_call_errorf(call, "user data larger than %u bytes", MAX_USER_DATA);
	}
	data = malloc(q->size ? q->size : 1);
	if (data == NULL || srpc_conn_read(c, data, q->size) < 0) {
		free(data);
		vm_unref(vm);
		return srpc_call_errorf(call, "reading user data failed");
	}
	if (vm != NULL) {
		vm_path(vm, "user-data.raw", path, sizeof(path));
		vm_path(vm, "user-data.raw.old", old, sizeof(old));
		pthread_mutex_lock(&vm->mu);
		if (rename(path, old) < 0 && errno != ENOENT)
			rc = -errno;
		if (rc == 0)
			rc = fsutil_write_atomic(path, data, q->size, 0644);
		pthread_mutex_unlock(&vm->mu);
		if (rc < 0)
			snprintf(err, errsz, "writing user data: %s", strerror(-rc));
		vm_unref(vm);
	}
	free(data);
	return rc;
}

static int user_data_file_op(struct rpc *r, struct srpc_call *call, struct in_addr ip, bool restore,
			     char *err, size_t errsz)
{
	struct vm *vm = rpc_vm(r, call, ip, NULL, err, errsz);
	char path[4096], old[4096];
	int rc = 0;

	if (vm == NULL)
		return -EACCES;
	vm_path(vm, "user-data.raw", path, sizeof(path));
	vm_path(vm, "user-data.raw.old", old, sizeof(old));
	pthread_mutex_lock(&vm->mu);
	if ((restore ? rename(old, path) : unlink(old)) < 0) {
		rc = -errno;
		snprintf(err, errsz, "%s", errno == ENOENT ? "no old user data" : strerror(errno));
	}
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return rc;
}

static int restore_user_data(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			     char *err, size_t errsz)
{
	(void)resp;
	return user_data_file_op(r, call, ((const struct hvapi_ip_request *)req)->ip, true, err,
				 errsz);
}

static int discard_old_user_data(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				 char *err, size_t errsz)
{
	(void)resp;
	return user_data_file_op(r, call, ((const struct hvapi_ip_request *)req)->ip, false, err,
				 errsz);
}

/* PrepareVmForMigration: rpc_migrate.c. */

/* ---- ProbeVmPort (#5: owners only) ---- */

static bool port_open(struct in_addr ip, uint16_t port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = ip, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		ok = true;
	else if (errno == EINPROGRESS && poll(&p, 1, timeout_ms) == 1 &&
		 getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
		ok = true;
	close(fd);
	return ok;
}

static int probe_port(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		      size_t errsz)
{
	const struct hvapi_probe_vm_port_request *q = req;
	struct hvapi_probe_vm_port_response *p = resp;
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	struct timespec start, now;
	int64_t limit = q->timeout_ns > 60LL * 1000000000 ? 60LL * 1000000000 : q->timeout_ns;

	if (vm == NULL)
		return -EACCES;
	vm_unref(vm);
	if (q->port_number == 0 || q->port_number > 65535) {
		snprintf(err, errsz, "bad port number");
		return -EINVAL;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		p->port_is_open = port_open(q->ip, (uint16_t)q->port_number, 250);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (p->port_is_open ||
		    (now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec) >=
			limit)
			break;
		usleep(250000);
	}
	return 0;
}

/* ---- GetVmUserData ---- */

static int get_user_data(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_vm_token_request q = {0};
	struct hvapi_length_response resp = {0};
	char err[512] = "", path[4096], *data = NULL;
	struct vm *vm;
	struct stat st;
	int rc = rpc_read_request(call, &hvapi_vm_token_request_type, &q,
				  &hvapi_length_response_type),
	    fd = -1;

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, &q.access_token, err, sizeof(err));
	api_clear(&hvapi_vm_token_request_type, &q);
	if (vm == NULL)
		return rpc_write_error(call, &hvapi_length_response_type, err) < 0 ? -EIO : 0;
	vm_path(vm, "user-data.raw", path, sizeof(path));
	vm_unref(vm);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		data = malloc((size_t)st.st_size);
		if (data != NULL && read(fd, data, (size_t)st.st_size) == st.st_size)
			resp.length = (uint64_t)st.st_size;
	}
	if (fd >= 0)
		close(fd);
	rc = rpc_write(call, &hvapi_length_response_type, &resp);
	if (rc == 0 && resp.length > 0)
		rc = srpc_conn_write(srpc_call_conn(call), data, resp.length);
	if (rc == 0)
		rc = srpc_conn_flush(srpc_call_conn(call));
	free(data);
	return rc;
}

const struct rpc_method rpc_vm_methods[] = {
    {.name = HVAPI_M_ACKNOWLEDGE_VM, .fn = acknowledge_vm},
    {.name = HVAPI_M_BECOME_PRIMARY_VM_OWNER, .fn = become_primary},
    {.name = HVAPI_M_CHANGE_VM_HOSTNAME, .fn = change_hostname},
    {.name = HVAPI_M_CHANGE_VM_SIZE, .fn = change_size},
    {.name = HVAPI_M_DESTROY_VM, .fn = destroy_vm},
    {.name = HVAPI_M_DISCARD_VM_ACCESS_TOKEN, .fn = discard_access_token},
    {.name = HVAPI_M_DISCARD_VM_OLD_USER_DATA, .fn = discard_old_user_data},
    {.name = HVAPI_M_GET_VM_ACCESS_TOKEN, .fn = get_access_token},
    {.name = HVAPI_M_GET_VM_CREATE_REQUEST, .fn = get_create_request},
    {.name = HVAPI_M_PROBE_VM_PORT, .fn = probe_port},
    {.name = HVAPI_M_REBOOT_VM, .fn = reboot_vm},
    {.name = HVAPI_M_REPLACE_VM_USER_DATA, .fn = replace_user_data},
    {.name = HVAPI_M_RESTORE_VM_USER_DATA, .fn = restore_user_data},
    {.name = HVAPI_M_START_VM, .fn = start_vm},
    {.name = HVAPI_M_STOP_VM, .fn = stop_vm},
    {.name = HVAPI_M_CHANGE_VM_TAGS, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_DESTROY_PROTECTION, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_CPU_PRIORITY, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_CONSOLE_TYPE, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_MACHINE_TYPE, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_NUM_NETWORK_QUEUES, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_VOLUME_INTERFACES, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_OWNER_USERS, .fn = change_vm},
    {.name = HVAPI_M_CHANGE_VM_OWNER_GROUPS, .fn = change_vm},
    {.name = HVAPI_M_GET_VM_USER_DATA, .stream = get_user_data},
    {NULL},
};
