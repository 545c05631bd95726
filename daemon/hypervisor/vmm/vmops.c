/* VM lifecycle through libvirt (see vmops.h). */
#include "daemon/hypervisor/vmm/vmops.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/bridges.h"
#include "daemon/hypervisor/vmm/libvirt/vmdomain.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/metadata/metadata.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "log.h"

#define NS 1000000000LL

static void deadline_after(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ns / NS;
	ts->tv_nsec += ns % NS;
	if (ts->tv_nsec >= NS) {
		ts->tv_sec++;
		ts->tv_nsec -= NS;
	}
}

/* Waits (vm->mu held) until the VM leaves state s or is removed, up to ns. Returns
 * true if it left. */
static bool wait_leave(struct vm *vm, enum hvapi_state s, int64_t ns)
{
	struct timespec ts;

	deadline_after(&ts, ns);
	while (!vm->removed && vm->info.vm.state == s)
		if (pthread_cond_timedwait(&vm->changed, &vm->mu, &ts) != 0)
			break;
	return vm->removed || vm->info.vm.state != s;
}

/* Waits (vm->mu held) until vmops_delete has finished with the VM, up to ns: the
 * caller of a destroy is answered once the files and addresses are gone. */
static void wait_deleted(struct vm *vm, int64_t ns)
{
	struct timespec ts;

	deadline_after(&ts, ns);
	while (!vm->deleted)
		if (pthread_cond_timedwait(&vm->changed, &vm->mu, &ts) != 0)
			break;
}

/* A VM's DHCP ACK around an operation that boots it (start, reboot): the watch starts
 * before the operation, since the ACK may come before it returns. */
struct ack_wait {
	struct netsvc_ack_watch w;
	bool on;
};

static void ack_watch(struct manager *m, struct vm *vm, int64_t timeout_ns, struct ack_wait *a)
{
	a->on =
	    timeout_ns > 0 && m->netsvc != NULL && netsvc_ack_watch(m->netsvc, vm->ip, &a->w) == 0;
}

/* With wait, waits up to timeout_ns for the ACK and sets *timed_out if none came. */
static void ack_finish(struct manager *m, struct ack_wait *a, bool wait, int64_t timeout_ns,
		       bool *timed_out)
{
	struct timespec now;

	if (!a->on)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (wait &&
	    netsvc_ack_wait(m->netsvc, &a->w, 1,
			    now.tv_sec * 1000LL + now.tv_nsec / 1000000 + timeout_ns / 1000000) < 0)
		*timed_out = true;
	netsvc_ack_unwatch(m->netsvc, &a->w);
}

/* startManaging step 1: every volume file must exist with its recorded size (qcow2:
 * the file size is adopted). */
static int check_volumes(struct vm *vm, char *err, size_t errsz)
{
	for (size_t i = 0; i < vm->info.volume_locations.n && i < vm->info.vm.volumes.n; i++) {
		const char *f = api_str(vm->info.volume_locations.v[i].filename);
		struct hvapi_volume *v = &vm->info.vm.volumes.v[i];
		struct stat st;

		if (stat(f, &st) < 0) {
			snprintf(err, errsz, "volume %s: %s", f, strerror(errno));
			return -errno;
		}
		if (v->format == HVAPI_VOLUME_FORMAT_QCOW2) {
			v->size = (uint64_t)st.st_size;
		} else if ((uint64_t)st.st_size != v->size) {
			snprintf(err, errsz, "volume %s: size %lld, recorded %llu", f,
				 (long long)st.st_size, (unsigned long long)v->size);
			return -EINVAL;
		}
	}
	return 0;
}

/* The VM's taps for the metadata service and, with leases, its DHCP leases. */
static void net_register(struct manager *m, struct vm *vm, bool leases)
{
	struct vmdomain_nic nics[VMDOMAIN_MAX_NICS];
	struct bridges br;
	char hostname[256], err[256];
	int n;

	if (m->netsvc == NULL && m->metadata == NULL)
		return;
	bridges_scan(&br, "/sys/class/net", "/proc/net/vlan");
	pthread_rwlock_rdlock(&m->st->lock);
	pthread_mutex_lock(&vm->mu);
	n = vmdomain_nics(m, vm, &br, nics, VMDOMAIN_MAX_NICS, err, sizeof(err));
	snprintf(hostname, sizeof(hostname), "%s", api_str(vm->info.vm.hostname));
	pthread_mutex_unlock(&vm->mu);
	pthread_rwlock_unlock(&m->st->lock);
	/* Outside the manager's locks: the metadata server calls back into it. */
	for (int i = 0; i < n; i++) {
		struct netsvc_lease l = {.ip = nics[i].addr.ip,
					 .hostname = *hostname ? hostname : NULL,
					 .kind = NETSVC_LEASE_VM};
		struct metadata_tap t = {.ip = nics[i].addr.ip};
		int rc;

		memcpy(l.mac, nics[i].addr.mac, 6);
		if (leases && m->netsvc != NULL && nics[i].addr.ip.s_addr != 0 &&
		    (rc = netsvc_lease_add(m->netsvc, &l)) < 0)
			log_warn("%s: DHCP lease for NIC %d: %s", vm->ipstr, i, strerror(-rc));
		memcpy(t.name, nics[i].tap, sizeof(t.name));
		memcpy(t.bridge, nics[i].bridge, sizeof(t.bridge));
		memcpy(t.mac, nics[i].addr.mac, 6);
		if (m->metadata != NULL && (rc = metadata_add_tap(m->metadata, &t)) < 0)
			log_warn("%s: metadata rules for %s: %s", vm->ipstr, t.name, strerror(-rc));
	}
	if (n < 0)
		log_warn("%s: %s", vm->ipstr, err);
}

void vmops_net_register(struct manager *m, struct vm *vm)
{
	net_register(m, vm, true);
}

static void net_unregister(struct manager *m, const struct hvapi_vm_info *info)
{
	for (size_t i = 0; i <= info->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &info->address : &info->secondary_addresses.v[i - 1];
		char tap[IF_NAMESIZE];

		if (m->netsvc != NULL && a->ip.s_addr != 0)
			netsvc_lease_remove(m->netsvc, a->ip);
		vmdomain_tap_name(info->address.ip, i, tap, sizeof(tap));
		if (m->metadata != NULL)
			metadata_remove_tap(m->metadata, tap);
	}
}

/* root.debug beside the root volume (DebugVmImage). Call with vm->mu held. */
static bool has_debug_root(struct vm *vm)
{
	char path[4200];

	if (vm->info.volume_locations.n == 0)
		return false;
	snprintf(path, sizeof(path), "%s.debug", api_str(vm->info.volume_locations.v[0].filename));
	return access(path, F_OK) == 0;
}

static void drop_debug_root(struct vm *vm)
{
	char path[4200] = "";

	pthread_mutex_lock(&vm->mu);
	if (vm->info.volume_locations.n > 0)
		snprintf(path, sizeof(path), "%s.debug",
			 api_str(vm->info.volume_locations.v[0].filename));
	pthread_mutex_unlock(&vm->mu);
	if (*path && unlink(path) == 0)
		log_info("%s: debug root removed", vm->ipstr);
}

int vmops_boot(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
	       char *err, size_t errsz)
{
	struct ack_wait ack = {.on = false};
	struct bridges br;
	char *xml = NULL;
	int rc;

	if (timed_out != NULL)
		*timed_out = false;

	bridges_scan(&br, "/sys/class/net", "/proc/net/vlan");
	pthread_rwlock_rdlock(&m->st->lock);
	pthread_mutex_lock(&vm->mu);
	rc = check_volumes(vm, err, errsz);
	if (rc == 0) {
		xml = vmdomain_xml(m, vm, &br, err, errsz);
		if (xml == NULL)
			rc = -EINVAL;
	}
	vm->boot_network = false; /* EnableNetboot is for this start only */
	pthread_mutex_unlock(&vm->mu);
	pthread_rwlock_unlock(&m->st->lock);
	if (rc == 0) {
		/* DhcpTimeout < 0: no DHCP lease (as the original), so the VM can be
		 * netbooted with a NetbootMachine lease (hyper-control netboot-vm). */
		net_register(m, vm, dhcp_timeout_ns >= 0);
		ack_watch(m, vm, dhcp_timeout_ns, &ack);
		rc = virt_start(m->virt, xml, err, errsz);
		free(xml);
	}
	atomic_fetch_add(&m->n_starts, 1);
	pthread_mutex_lock(&vm->mu);
	if (rc < 0) {
		atomic_fetch_add(&m->n_start_failures, 1);
		log_error("%s: failed to start: %s", vm->ipstr, err);
		if (vm->info.vm.state == HVAPI_STATE_STARTING)
			vm_set_state(vm, HVAPI_STATE_FAILED_TO_START);
	} else if (vm->info.vm.state == HVAPI_STATE_STARTING) {
		/* The STARTED event may or may not have been handled already. */
		vm_set_state(vm, HVAPI_STATE_RUNNING);
		log_info("%s: started", vm->ipstr);
	}
	if (rc == 0 && vm->info.vm.state == HVAPI_STATE_RUNNING && has_debug_root(vm))
		vm_set_state(vm, HVAPI_STATE_DEBUGGING); /* booted from root.debug */
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	ack_finish(m, &ack, rc == 0 && timed_out != NULL, dhcp_timeout_ns, timed_out);
	return rc;
}

int vmops_start(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
		char *err, size_t errsz)
{
	const char *why = NULL;
	uint64_t avail;

	if (atomic_load(&m->disabled)) {
		snprintf(err, errsz, "Hypervisor is disabled");
		return -EPERM;
	}
	pthread_mutex_lock(&vm->mu);
	if (!vm->busy && vm->info.vm.state == HVAPI_STATE_DEBUGGING) {
		/* StartVm of a debugging VM: power it down, drop root.debug, start the root
		 * (spec §7.4). */
		pthread_mutex_unlock(&vm->mu);
		if (vmops_stop(m, vm, err, errsz) < 0)
			return -EIO;
		pthread_mutex_lock(&vm->mu);
	}
	if (vm->busy) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "mutations blocked");
		return -EBUSY;
	}
	if (vmstate_check(VMSTATE_OP_START, vm->info.vm.state, false, &why) == VMSTATE_REFUSE) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "%s", why);
		return -EBUSY;
	}
	avail = manager_mem_available_mib();
	if (avail != 0 && vm->info.vm.memory_mib >= avail) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "insufficient memory: %llu MiB available",
			 (unsigned long long)avail);
		return -ENOMEM;
	}
	vm->busy = true;
	vm_set_state(vm, HVAPI_STATE_STARTING);
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	int rc = vmops_boot(m, vm, dhcp_timeout_ns, timed_out, err, errsz);
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_mutex_unlock(&vm->mu);
	return rc;
}

/* With owned, the caller holds the VM's busy flag itself (an image replacement). */
static int stop(struct manager *m, struct vm *vm, bool owned, char *err, size_t errsz)
{
	const char *why = NULL;
	enum vmstate_action a;
	int rc;

	pthread_mutex_lock(&vm->mu);
	if (vm->busy && !owned) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "mutations blocked");
		return -EBUSY;
	}
	if (vm->info.vm.address.ip.s_addr == 0) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "cannot stop VM with externally managed lease");
		return -EINVAL;
	}
	a = vmstate_check(VMSTATE_OP_STOP, vm->info.vm.state, false, &why);
	if (a == VMSTATE_REFUSE) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "%s", why);
		return -EBUSY;
	}
	vm_set_state(vm, a == VMSTATE_SETTLE ? HVAPI_STATE_STOPPED : HVAPI_STATE_STOPPING);
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	if (a == VMSTATE_SETTLE)
		return 0;

	rc = virt_shutdown(m->virt, vm->ipstr, err, errsz);
	pthread_mutex_lock(&vm->mu);
	if (rc == -ENOENT) {
		vm_set_state(vm, HVAPI_STATE_STOPPED);
	} else if (!wait_leave(vm, HVAPI_STATE_STOPPING, m->cfg->stop_timeout_ns)) {
		pthread_mutex_unlock(&vm->mu);
		log_info("%s: did not power down in time: killing it", vm->ipstr);
		rc = virt_destroy(m->virt, vm->ipstr, err, errsz);
		pthread_mutex_lock(&vm->mu);
		if (!wait_leave(vm, HVAPI_STATE_STOPPING, 10 * NS) &&
		    virt_is_running(m->virt, vm->ipstr) == 0)
			vm_set_state(vm, HVAPI_STATE_STOPPED);
	}
	rc = vm->info.vm.state == HVAPI_STATE_STOPPED ? 0 : -EIO;
	if (rc < 0)
		snprintf(err, errsz, "VM did not stop: it is %s",
			 hvapi_state_name(vm->info.vm.state));
	pthread_mutex_unlock(&vm->mu);
	if (rc == 0)
		drop_debug_root(vm); /* stopping ends debugging (spec §7.4 StopVm) */
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	return rc;
}

int vmops_stop(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	return stop(m, vm, false, err, errsz);
}

int vmops_stop_owned(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	return stop(m, vm, true, err, errsz);
}

/* Destroy without rights checks (also the acknowledgement timeout). */
static int destroy(struct manager *m, struct vm *vm, bool check_protection, char *err, size_t errsz)
{
	const char *why = NULL;
	enum vmstate_action a;
	int rc;

	pthread_mutex_lock(&vm->mu);
	if (vm->removed) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "VM is already destroyed");
		return -ENOENT;
	}
	a = vmstate_check(VMSTATE_OP_DESTROY, vm->info.vm.state,
			  check_protection && vm->info.vm.destroy_protection, &why);
	if (a == VMSTATE_REFUSE) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "%s", why);
		return -EBUSY;
	}
	if (a == VMSTATE_DELETE_NOW) {
		pthread_mutex_unlock(&vm->mu);
		vmops_delete(m, vm);
		return 0;
	}
	vm_set_state(vm, HVAPI_STATE_DESTROYING);
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	rc = virt_destroy(m->virt, vm->ipstr, err, errsz);
	if (rc == -ENOENT)
		vmops_delete(m, vm);
	pthread_mutex_lock(&vm->mu);
	wait_deleted(vm, 30 * NS);
	rc = vm->deleted ? 0 : -EIO;
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0)
		snprintf(err, errsz, "VM is still being destroyed");
	return rc;
}

int vmops_destroy(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	pthread_mutex_lock(&vm->mu);
	if (vm->busy) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "mutations blocked");
		return -EBUSY;
	}
	pthread_mutex_unlock(&vm->mu);
	return destroy(m, vm, true, err, errsz);
}

int vmops_reboot(struct manager *m, struct vm *vm, int64_t dhcp_timeout_ns, bool *timed_out,
		 char *err, size_t errsz)
{
	struct ack_wait ack = {.on = false};
	const char *why = NULL;
	int rc;

	*timed_out = false;
	pthread_mutex_lock(&vm->mu);
	if (vmstate_check(VMSTATE_OP_REBOOT, vm->info.vm.state, false, &why) == VMSTATE_REFUSE) {
		pthread_mutex_unlock(&vm->mu);
		snprintf(err, errsz, "%s", why);
		return -EBUSY;
	}
	pthread_mutex_unlock(&vm->mu);
	ack_watch(m, vm, dhcp_timeout_ns, &ack);
	rc = virt_reboot(m->virt, vm->ipstr, err, errsz);
	ack_finish(m, &ack, rc == 0, dhcp_timeout_ns, timed_out);
	return rc;
}

int vmops_edit_begin(struct vm *vm, enum vmops_need need, unsigned flags,
		     struct hvapi_local_vm_info *copy, char *err, size_t errsz)
{
	bool force = flags & VMOPS_EDIT_FORCE;
	const char *why = NULL;
	enum hvapi_state s;
	int rc = 0;

	memset(copy, 0, sizeof(*copy));
	pthread_mutex_lock(&vm->mu);
	s = vm->info.vm.state;
	if (vm->busy || vm->removed) {
		snprintf(err, errsz, vm->busy ? "mutations blocked" : "VM is destroyed");
		rc = -EBUSY;
	} else if (need == VMOPS_NEED_STOPPED && s != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		rc = -EBUSY;
	} else if (need == VMOPS_NEED_STOPPED_OR_FORCE && s != HVAPI_STATE_STOPPED &&
		   (!force || s == HVAPI_STATE_DESTROYING || s == HVAPI_STATE_MIGRATING ||
		    s == HVAPI_STATE_EXPORTING)) {
		snprintf(err, errsz, force ? "VM is %s" : "VM is not stopped",
			 hvapi_enum_name(hvapi_state_names, (int)s));
		rc = -EBUSY;
	} else if (need == VMOPS_NEED_OFFLINE &&
		   vmstate_check(VMSTATE_OP_OFFLINE_CHANGE, s, false, &why) == VMSTATE_REFUSE) {
		snprintf(err, errsz, "%s", why);
		rc = -EBUSY;
	} else if ((flags & VMOPS_EDIT_VOLUMES) &&
		   vm->info.volume_locations.n != vm->info.vm.volumes.n) {
		snprintf(err, errsz, "VM record has %zu volumes but %zu locations",
			 vm->info.vm.volumes.n, vm->info.volume_locations.n);
		rc = -EINVAL;
	} else if ((rc = api_copy(&hvapi_local_vm_info_type, copy, &vm->info)) < 0) {
		snprintf(err, errsz, "out of memory");
	} else {
		vm->busy = true;
	}
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0)
		api_clear(&hvapi_local_vm_info_type, copy);
	return rc;
}

int vmops_edit_finish(struct manager *m, struct vm *vm, struct hvapi_local_vm_info *copy, int rc,
		      char *err, size_t errsz)
{
	pthread_mutex_lock(&vm->mu);
	if (rc == 0) {
		/* The edit owns the record but not the state: events keep moving it. */
		copy->vm.state = vm->info.vm.state;
		copy->vm.changed_state_on = vm->info.vm.changed_state_on;
		rc = vm_commit(vm, copy);
		if (rc < 0)
			snprintf(err, errsz, "writing info.json: %s", strerror(-rc));
	}
	vm->busy = false;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	api_clear(&hvapi_local_vm_info_type, copy);
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP ? rmdir(path) : unlink(path))
		return errno == ENOENT ? 0 : -1;
	return 0;
}

int vmops_rmtree(const char *path)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static void remove_vm(struct manager *m, void *arg, bool saved)
{
	(void)saved; /* the VM is gone either way; a pool not written is fixed at start-up */
	manager_remove_locked(m, arg);
}

/* Removes the VM from the map and releases its addresses (or unregisters them for an
 * exported VM), writing the pool. */
static void remove_and_release(struct manager *m, struct vm *vm, const struct hvapi_vm_info *info)
{
	struct manager_pool_txn t;
	int rc;

	if (info->uncommitted || manager_pool_begin(m, &t) < 0) {
		if (!info->uncommitted)
			log_error("%s: out of memory releasing addresses", vm->ipstr);
		pthread_rwlock_wrlock(&m->st->lock);
		manager_remove_locked(m, vm);
		pthread_rwlock_unlock(&m->st->lock);
		return;
	}
	for (size_t i = 0; i <= info->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &info->address : &info->secondary_addresses.v[i - 1];

		if (info->state == HVAPI_STATE_EXPORTING)
			addrpool_unregister(&t.pool, a);
		else
			addrpool_release(&t.pool, a);
	}
	rc = manager_pool_commit(m, &t, remove_vm, vm);
	if (rc < 0)
		log_error("writing address pool: %s", strerror(-rc));
}

void vmops_delete(struct manager *m, struct vm *vm)
{
	struct hvapi_local_vm_info info = {0};
	int rc;

	pthread_mutex_lock(&vm->mu);
	if (vm->removed || api_copy(&hvapi_local_vm_info_type, &info, &vm->info) < 0) {
		pthread_mutex_unlock(&vm->mu);
		return;
	}
	vm->removed = true;
	pthread_mutex_unlock(&vm->mu);

	net_unregister(m, &info.vm);
	/* The VM directory (with info.json) goes first: after a crash at any later point
	 * the VM no longer exists and start-up reports the leftovers. */
	rc = vmops_rmtree(vm->dir);
	if (rc < 0)
		log_error("%s: removing %s: %s", vm->ipstr, vm->dir, strerror(-rc));
	for (size_t i = 0; i < info.volume_locations.n; i++) {
		const struct hvapi_local_volume *l = &info.volume_locations.v[i];

		if (unlink(api_str(l->filename)) < 0 && errno != ENOENT)
			log_error("%s: removing %s: %s", vm->ipstr, l->filename, strerror(errno));
		if (*api_str(l->directory_to_cleanup))
			vmops_rmtree(l->directory_to_cleanup);
	}
	remove_and_release(m, vm, &info.vm);
	api_clear(&hvapi_local_vm_info_type, &info);
	atomic_fetch_add(&m->n_destroys, 1);
	log_info("%s: destroyed", vm->ipstr);

	pthread_mutex_lock(&vm->mu);
	vm->deleted = true;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM_GONE, vm->ipstr);
}

/* The pool side of PrepareVmForMigration, on t's copy. */
static int migration_pool(struct manager *m, struct manager_pool_txn *t,
			  const struct hvapi_vm_info *v, bool enable, char *err, size_t errsz)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i <= v->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
		struct hvapi_addresses one = {1, (struct hvapi_address *)a};

		if (enable) {
			addrpool_unregister(&t->pool, a);
			continue;
		}
		if (!addrpool_contains(&t->pool.registered, a))
			rc = addrpool_add(&t->pool, &m->st->subnets, NULL, 0, &one, err, errsz);
		/* Back from migrating: registered again, but in use, so not free. */
		for (size_t k = 0; rc == 0 && k < t->pool.free.n; k++)
			if (t->pool.free.v[k].ip.s_addr == a->ip.s_addr) {
				memmove(&t->pool.free.v[k], &t->pool.free.v[k + 1],
					(t->pool.free.n - k - 1) * sizeof(*t->pool.free.v));
				t->pool.free.n--;
				break;
			}
	}
	return rc;
}

int vmops_prepare_migration(struct manager *m, struct vm *vm, bool enable, char *err, size_t errsz)
{
	struct hvapi_vm_info v = {0};
	struct manager_pool_txn t;
	const char *why = NULL;
	int rc = manager_pool_begin(m, &t);

	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	pthread_mutex_lock(&vm->mu);
	if (vm->busy || vm->removed) {
		snprintf(err, errsz, "mutations blocked");
		rc = -EBUSY;
	} else if (vmstate_check(enable ? VMSTATE_OP_MIGRATE_ENABLE : VMSTATE_OP_MIGRATE_DISABLE,
				 vm->info.vm.state, false, &why) == VMSTATE_REFUSE) {
		snprintf(err, errsz, "%s", why);
		rc = -EBUSY;
	} else if (enable && vm->info.vm.uncommitted) {
		snprintf(err, errsz, "VM is not committed");
		rc = -EBUSY;
	} else if ((rc = api_copy(&hvapi_vm_info_type, &v, &vm->info.vm)) == 0) {
		vm->busy = true;
	}
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		manager_pool_abort(m, &t);
		return rc;
	}
	rc = migration_pool(m, &t, &v, enable, err, errsz);
	if (rc == 0)
		rc = manager_pool_commit(m, &t, NULL, NULL);
	else
		manager_pool_abort(m, &t);
	pthread_mutex_lock(&vm->mu);
	if (rc == 0) {
		vm->info.vm.uncommitted = enable;
		rc = vm_set_state(vm, enable ? HVAPI_STATE_MIGRATING : HVAPI_STATE_STOPPED);
	}
	vm->busy = false;
	pthread_mutex_unlock(&vm->mu);
	api_clear(&hvapi_vm_info_type, &v);
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "%s", strerror(-rc));
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	return rc;
}

void vmops_arm_ack(struct manager *m, struct vm *vm)
{
	pthread_mutex_lock(&vm->mu);
	vm->acknowledged = false;
	deadline_after(&vm->ack_deadline, m->cfg->acknowledge_timeout_ns);
	pthread_mutex_unlock(&vm->mu);
}

int vmops_acknowledge(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	int rc = 0;

	(void)m;
	pthread_mutex_lock(&vm->mu);
	if (vm->removed || vm->ack_expired) {
		snprintf(err, errsz, "VM was not acknowledged in time and is destroyed");
		rc = -ETIMEDOUT;
	} else {
		vm->acknowledged = true;
	}
	pthread_mutex_unlock(&vm->mu);
	return rc;
}

void vmops_tick(struct manager *m)
{
	struct vm **vms = NULL;
	struct timespec now;
	size_t n = 0;

	if (manager_vms(m, &vms, &n) < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < n; i++) {
		struct vm *vm = vms[i];
		bool expired;
		char err[256];

		pthread_mutex_lock(&vm->mu);
		expired = !vm->acknowledged && !vm->removed &&
			  (now.tv_sec > vm->ack_deadline.tv_sec ||
			   (now.tv_sec == vm->ack_deadline.tv_sec &&
			    now.tv_nsec >= vm->ack_deadline.tv_nsec));
		/* Decided under the lock: a later AcknowledgeVm is refused (#18). */
		if (expired) {
			vm->acknowledged = true;
			vm->ack_expired = true;
		}
		pthread_mutex_unlock(&vm->mu);
		if (!expired)
			continue;
		log_info("%s: VM was not acknowledged, destroying", vm->ipstr);
		if (destroy(m, vm, false, err, sizeof(err)) < 0)
			log_error("%s: destroying unacknowledged VM: %s", vm->ipstr, err);
	}
	manager_vms_free(vms, n);
}

void vmops_shutdown_all(struct manager *m)
{
	struct vm **vms = NULL;
	size_t n = 0, left;
	char err[256];

	atomic_store(&m->shutting_down, true);
	if (manager_vms(m, &vms, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		enum hvapi_state s;

		pthread_mutex_lock(&vms[i]->mu);
		s = vms[i]->info.vm.state;
		pthread_mutex_unlock(&vms[i]->mu);
		if (s == HVAPI_STATE_RUNNING || s == HVAPI_STATE_STARTING ||
		    s == HVAPI_STATE_DEBUGGING)
			virt_shutdown(m->virt, vms[i]->ipstr, err, sizeof(err));
	}
	for (int t = 0; t < 600; t++) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			left += virt_is_running(m->virt, vms[i]->ipstr) == 1;
		if (left == 0)
			break;
		usleep(100000);
	}
	for (size_t i = 0; i < n; i++)
		if (virt_is_running(m->virt, vms[i]->ipstr) == 1) {
			log_warn("%s: shutdown timed out: killing VM", vms[i]->ipstr);
			virt_destroy(m->virt, vms[i]->ipstr, err, sizeof(err));
		}
	log_info("shut down %zu VMs", n);
	/* Let the last events arrive so their states are recorded. */
	sleep(1);
	manager_vms_free(vms, n);
}
