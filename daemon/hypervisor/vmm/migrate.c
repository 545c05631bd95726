/* Migration states on disk, the incoming VM, and start-up recovery (see migrate.h). */
#include "daemon/hypervisor/vmm/migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS 15000
#define CALL_TIMEOUT_MS 300000
#define RESOLVE_INTERVAL_S 5

/* ---- the marker ---- */

static int marker_path(const char *dir, char *path, size_t sz)
{
	return snprintf(path, sz, "%s/%s", dir, MIGRATE_MARKER) >= (int)sz ? -ENAMETOOLONG : 0;
}

int migrate_marker_write(const char *dir, enum migrate_role role, const char *peer)
{
	json_t *doc = json_pack("{s:s,s:s}", "Role", role == MIGRATE_SOURCE ? "source" : "target",
				"Peer", peer);
	char path[4200];
	int rc = marker_path(dir, path, sizeof(path));

	if (doc == NULL)
		return -ENOMEM;
	if (rc == 0)
		rc = sjson_write_file(path, doc, 0644);
	json_decref(doc);
	return rc;
}

enum migrate_role migrate_marker_read(const char *dir, char *peer, size_t peersz)
{
	enum migrate_role role = MIGRATE_NONE;
	const char *r, *p;
	char path[4200];
	json_t *doc;

	if (marker_path(dir, path, sizeof(path)) < 0 ||
	    (doc = json_load_file(path, 0, NULL)) == NULL)
		return MIGRATE_NONE;
	r = json_string_value(sjson_lookup(doc, "Role"));
	p = json_string_value(sjson_lookup(doc, "Peer"));
	if (r != NULL && p != NULL) {
		role = strcmp(r, "source") == 0	  ? MIGRATE_SOURCE
		       : strcmp(r, "target") == 0 ? MIGRATE_TARGET
						  : MIGRATE_NONE;
		snprintf(peer, peersz, "%s", p);
	}
	json_decref(doc);
	return role;
}

void migrate_marker_remove(const char *dir)
{
	char path[4200];

	if (marker_path(dir, path, sizeof(path)) == 0 && unlink(path) < 0 && errno != ENOENT)
		log_warn("%s: %s", path, strerror(errno));
}

/* ---- connections to other hypervisors ---- */

int migrate_dial(const struct hv_config *cfg, const char *addr, bool powers, struct migrate_conn *c,
		 char *err, size_t errsz)
{
	struct tls_client_config tc = {
	    .cert_file = cfg->srv.cert_file,
	    .key_file = cfg->srv.key_file,
	    .ca_file = cfg->srv.ca_file,
	};
	struct srpc_client_config sc = {
	    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	    .call_timeout_ms = CALL_TIMEOUT_MS,
	    .no_method_powers = !powers,
	};
	char why[512] = "";
	int rc;

	memset(c, 0, sizeof(*c));
	rc = tls_client_new(&tc, &c->tls, why, sizeof(why));
	if (rc == 0) {
		sc.tls = c->tls;
		rc = srpc_client_dial(addr, &sc, &c->cl, why, sizeof(why));
	}
	if (rc < 0) {
		snprintf(err, errsz, "%s", why[0] ? why : strerror(-rc));
		migrate_close(c);
	}
	return rc;
}

void migrate_close(struct migrate_conn *c)
{
	if (c->cl != NULL)
		srpc_client_close(c->cl);
	if (c->tls != NULL)
		tls_client_free(c->tls);
	c->cl = NULL;
	c->tls = NULL;
}

/* ---- the incoming VM ---- */

int migrate_incoming_insert(struct manager *m, struct hvapi_local_vm_info *info, const char *source,
			    struct vm **out, char *err, size_t errsz)
{
	struct vm *vm, *other;
	int rc;

	*out = NULL;
	info->vm.state = HVAPI_STATE_MIGRATING;
	info->vm.uncommitted = true;
	vm = vm_new(m->state_dir, info);
	if (vm == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	other = manager_find(m, vm->ip);
	if (other != NULL || access(vm->dir, F_OK) == 0) {
		vm_unref(other);
		vm_unref(vm);
		snprintf(err, errsz, "cannot migrate to the same hypervisor");
		return -EEXIST;
	}
	rc = fsutil_mkdir_p(vm->dir, 0755);
	for (size_t i = 0; rc == 0 && i < vm->info.volume_locations.n; i++)
		rc = fsutil_mkdir_p(vm->info.volume_locations.v[i].directory_to_cleanup, 0755);
	/* The marker first: a VM directory without info.json is removed at start-up, one
	 * with both is an uncommitted incoming VM, removed too. */
	if (rc == 0)
		rc = migrate_marker_write(vm->dir, MIGRATE_TARGET, source);
	pthread_mutex_lock(&vm->mu);
	vm->busy = true;
	if (rc == 0)
		rc = vm_save(vm);
	pthread_mutex_unlock(&vm->mu);
	if (rc == 0) {
		pthread_rwlock_wrlock(&m->st->lock);
		other = manager_find_locked(m, vm->ip);
		rc = other != NULL ? -EEXIST : manager_insert_locked(m, vm_ref(vm));
		pthread_rwlock_unlock(&m->st->lock);
		if (rc < 0 && other == NULL)
			vm_unref(vm);
	}
	if (rc < 0) {
		snprintf(err, errsz,
			 rc == -EEXIST ? "cannot migrate to the same hypervisor"
				       : "recording the incoming VM: %s",
			 strerror(-rc));
		vmops_rmtree(vm->dir);
		for (size_t i = 0; i < vm->info.volume_locations.n; i++)
			vmops_rmtree(vm->info.volume_locations.v[i].directory_to_cleanup);
		vm_unref(vm);
		return rc;
	}
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	*out = vm;
	return 0;
}

/* The VM's addresses registered in the pool, in use (a VM holds them: adopted, not
 * made free). */
static int register_addresses(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	struct hvapi_vm_info v = {0};
	struct manager_pool_txn t;
	int rc;

	pthread_mutex_lock(&vm->mu);
	rc = api_copy(&hvapi_vm_info_type, &v, &vm->info.vm);
	pthread_mutex_unlock(&vm->mu);
	if (rc == 0)
		rc = manager_pool_begin(m, &t);
	if (rc < 0) {
		api_clear(&hvapi_vm_info_type, &v);
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	for (size_t i = 0; rc == 0 && i <= v.secondary_addresses.n; i++) {
		struct hvapi_address *a = i == 0 ? &v.address : &v.secondary_addresses.v[i - 1];
		struct hvapi_addresses one = {1, a};

		if (a->ip.s_addr == 0 || addrpool_contains(&t.pool.registered, a))
			continue;
		rc = addrpool_add(&t.pool, &m->st->subnets, t.uses, t.nuses, &one, err, errsz);
	}
	if (rc == 0)
		rc = manager_pool_commit(m, &t, NULL, NULL);
	else
		manager_pool_abort(m, &t);
	api_clear(&hvapi_vm_info_type, &v);
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	else if (err[0] == '\0')
		snprintf(err, errsz, "writing the address pool: %s", strerror(-rc));
	return rc;
}

int migrate_incoming_commit(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&vm->mu);
	vm->info.vm.uncommitted = false;
	rc = vm_save(vm); /* the commit point */
	if (rc < 0)
		vm->info.vm.uncommitted = true;
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		snprintf(err, errsz, "writing info.json: %s", strerror(-rc));
		return rc;
	}
	/* Committed: what follows is repeated at start-up if it does not happen now. */
	if (register_addresses(m, vm, err, errsz) < 0)
		log_error("%s: migrated, but its addresses are not registered: %s", vm->ipstr, err);
	else
		migrate_marker_remove(vm->dir);
	err[0] = '\0';
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	return 0;
}

void migrate_incoming_abort(struct manager *m, struct vm *vm)
{
	char err[256];

	if (virt_is_running(m->virt, vm->ipstr) == 1 &&
	    virt_destroy(m->virt, vm->ipstr, err, sizeof(err)) < 0)
		log_warn("%s: stopping the incoming VM: %s", vm->ipstr, err);
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	vm->info.vm.uncommitted = true; /* its addresses are not ours to release */
	pthread_mutex_unlock(&vm->mu);
	vmops_delete(m, vm);
}

/* ---- start-up ---- */

struct pending {
	struct in_addr ip;
	char peer[300];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct manager *m;
	struct pending *v;
	size_t n;
} resolver = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Asks the target about a source VM. Returns true when settled. */
static bool resolve_one(struct manager *m, const struct pending *p)
{
	struct hvapi_ip_request req = {.ip = p->ip};
	struct hvapi_get_vm_info_response resp;
	struct migrate_conn c;
	char err[1024], ip[INET_ADDRSTRLEN];
	struct vm *vm = manager_find(m, p->ip);
	bool settled = true;
	int rc;

	inet_ntop(AF_INET, &p->ip, ip, sizeof(ip));
	if (vm == NULL)
		return true;
	pthread_mutex_lock(&vm->mu);
	if (vm->removed || vm->info.vm.state != HVAPI_STATE_MIGRATING) {
		pthread_mutex_unlock(&vm->mu);
		migrate_marker_remove(vm->dir);
		vm_unref(vm);
		return true;
	}
	pthread_mutex_unlock(&vm->mu);
	rc = migrate_dial(m->cfg, p->peer, true, &c, err, sizeof(err));
	if (rc == 0) {
		rc = hvclient_call(c.cl, HVAPI_M_GET_VM_INFO, &hvapi_ip_request_type, &req,
				   &hvapi_get_vm_info_response_type, &resp, err, sizeof(err));
		migrate_close(&c);
	}
	if (rc == 0 && !resp.vm_info.uncommitted) {
		log_info("%s: migrated to %s, which has committed it: removing it here", ip,
			 p->peer);
		vmops_delete(m, vm);
	} else if (rc == 0) {
		log_info("%s: %s has not committed the migration yet: asking again later", ip,
			 p->peer);
		settled = false;
	} else if (rc == -EREMOTEIO && strstr(err, "no VM with IP address") != NULL) {
		log_info("%s: %s does not have it: the migration is abandoned, VM stopped here", ip,
			 p->peer);
		rc = vmops_prepare_migration(m, vm, false, err, sizeof(err));
		if (rc < 0)
			log_error("%s: reverting the migration: %s", ip, err);
		else
			migrate_marker_remove(vm->dir);
		settled = rc == 0;
	} else {
		log_warn("%s: asking %s about its migration: %s (again later)", ip, p->peer, err);
		settled = false;
	}
	if (rc == 0)
		hvapi_get_vm_info_response_clear(&resp);
	vm_unref(vm);
	return settled;
}

static void *resolver_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&resolver.mu);
	while (!resolver.stop && resolver.n > 0) {
		for (size_t i = 0; i < resolver.n && !resolver.stop;) {
			struct pending p = resolver.v[i];
			bool done;

			pthread_mutex_unlock(&resolver.mu);
			done = resolve_one(resolver.m, &p);
			pthread_mutex_lock(&resolver.mu);
			if (done)
				resolver.v[i] = resolver.v[--resolver.n];
			else
				i++;
		}
		if (resolver.n > 0 && !resolver.stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += RESOLVE_INTERVAL_S;
			pthread_cond_timedwait(&resolver.cond, &resolver.mu, &ts);
		}
	}
	pthread_mutex_unlock(&resolver.mu);
	return NULL;
}

int migrate_resolver_start(struct manager *m)
{
	int rc = 0;

	pthread_mutex_lock(&resolver.mu);
	resolver.m = m;
	if (resolver.n > 0 && !resolver.running) {
		resolver.stop = false;
		rc = -pthread_create(&resolver.thread, NULL, resolver_main, NULL);
		resolver.running = rc == 0;
	}
	pthread_mutex_unlock(&resolver.mu);
	return rc;
}

void migrate_resolver_stop(void)
{
	pthread_mutex_lock(&resolver.mu);
	resolver.stop = true;
	pthread_cond_broadcast(&resolver.cond);
	pthread_mutex_unlock(&resolver.mu);
	if (resolver.running)
		pthread_join(resolver.thread, NULL);
	resolver.running = false;
	free(resolver.v);
	resolver.v = NULL;
	resolver.n = 0;
}

static void add_pending(struct in_addr ip, const char *peer)
{
	struct pending *nv;

	pthread_mutex_lock(&resolver.mu);
	nv = realloc(resolver.v, (resolver.n + 1) * sizeof(*nv));
	if (nv != NULL) {
		resolver.v = nv;
		nv[resolver.n].ip = ip;
		snprintf(nv[resolver.n].peer, sizeof(nv[resolver.n].peer), "%s", peer);
		resolver.n++;
	}
	pthread_mutex_unlock(&resolver.mu);
}

void migrate_recover(struct manager *m)
{
	struct vm **vms = NULL;
	size_t n = 0;

	if (manager_vms(m, &vms, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct vm *vm = vms[i];
		char peer[300], err[512] = "";
		enum migrate_role role = migrate_marker_read(vm->dir, peer, sizeof(peer));
		enum hvapi_state s;
		bool uncommitted;

		if (role == MIGRATE_NONE)
			continue;
		pthread_mutex_lock(&vm->mu);
		s = vm->info.vm.state;
		uncommitted = vm->info.vm.uncommitted;
		pthread_mutex_unlock(&vm->mu);
		if (role == MIGRATE_TARGET && uncommitted) {
			log_warn("%s: incoming migration from %s was not committed: removing it",
				 vm->ipstr, peer);
			migrate_incoming_abort(m, vm);
		} else if (role == MIGRATE_TARGET) {
			if (register_addresses(m, vm, err, sizeof(err)) < 0)
				manager_problem(m, "VM %s: registering its addresses: %s",
						vm->ipstr, err);
			else
				migrate_marker_remove(vm->dir);
		} else if (s != HVAPI_STATE_MIGRATING) {
			migrate_marker_remove(vm->dir);
		} else {
			log_info("%s: was migrating to %s: asking it what became of it", vm->ipstr,
				 peer);
			add_pending(vm->ip, peer);
		}
	}
	manager_vms_free(vms, n);
}

/* ---- checks and placement on the target ---- */

int migrate_check_target(struct manager *m, const struct hvapi_vm_info *v, bool same_subnet,
			 char *err, size_t errsz)
{
	uint64_t mcpu, mem, storage, avail = manager_mem_available_mib();
	char ip[INET_ADDRSTRLEN];
	int rc = 0;

	if (v->state != HVAPI_STATE_STOPPED && v->state != HVAPI_STATE_RUNNING) {
		snprintf(err, errsz, "VM state: %s is not stopped/running",
			 hvapi_state_name(v->state));
		return -EBUSY;
	}
	pthread_rwlock_rdlock(&m->st->lock);
	for (size_t i = 0; same_subnet && rc == 0 && i <= v->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
		const char *want = i == 0 ? api_str(v->subnet_id)
				   : i - 1 < v->secondary_subnet_ids.n
				       ? v->secondary_subnet_ids.v[i - 1]
				       : "";
		const struct hvapi_subnet *s = subnets_for_ip(&m->st->subnets, a->ip);

		inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
		if (s == NULL) {
			snprintf(err, errsz, "no matching subnet for: %s", ip);
			rc = -ENOENT;
		} else if (strcmp(api_str(s->id), want) != 0) {
			snprintf(err, errsz, "subnet ID changing from: %s to: %s", want,
				 api_str(s->id));
			rc = -EINVAL;
		}
	}
	pthread_rwlock_unlock(&m->st->lock);
	if (rc < 0)
		return rc;
	manager_usage(m, &mcpu, &mem, &storage);
	if (mcpu + v->milli_cpus > (uint64_t)m->ncpus * 1000) {
		snprintf(err, errsz, "insufficient CPUs for %u milli-CPUs", v->milli_cpus);
		return -ENOSPC;
	}
	if (mem + v->memory_mib > m->mem_total_mib || (avail != 0 && v->memory_mib >= avail)) {
		snprintf(err, errsz, "insufficient memory for %llu MiB",
			 (unsigned long long)v->memory_mib);
		return -ENOSPC;
	}
	return 0;
}

static const char *volume_name(size_t i, char *buf, size_t sz)
{
	if (i == 0)
		return "root";
	snprintf(buf, sz, "secondary-volume.%zu", i - 1);
	return buf;
}

int migrate_plan_volumes(struct manager *m, const char *ipstr, const struct hvapi_vm_info *src,
			 struct hvapi_local_vm_info *info, char *err, size_t errsz)
{
	struct hvapi_local_vm_info tmp = {0};
	uint64_t *allocated = manager_volume_allocation(m);
	size_t next = 0;
	int rc = allocated == NULL ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < src->volumes.n; i++) {
		const struct hvapi_volume *v = &src->volumes.v[i];
		uint64_t size = v->size > v->virtual_size ? v->size : v->virtual_size;
		char vdir[4096], path[4200], name[48];
		int dir = volumes_place(&m->vols, size, -1, next, allocated);

		if (dir < 0) {
			snprintf(err, errsz, "no space for a %llu byte volume",
				 (unsigned long long)size);
			rc = -ENOSPC;
			break;
		}
		next = src->spread_volumes ? (size_t)dir + 1 : (size_t)dir;
		snprintf(vdir, sizeof(vdir), "%s/%s", m->vols.v[dir].path, ipstr);
		snprintf(path, sizeof(path), "%s/%s", vdir, volume_name(i, name, sizeof(name)));
		rc = vm_append_volume(&tmp, v, v->size, vdir, path);
		if (rc == 0) { /* snapshots stay behind: only the volumes travel */
			tmp.vm.volumes.v[i].type = v->type;
			tmp.vm.volumes.v[i].virtual_size = v->virtual_size;
		}
	}
	free(allocated);
	if (rc == 0) {
		{
			for (size_t i = 0; i < info->vm.volumes.n; i++)
				api_clear(&hvapi_volume_type, &info->vm.volumes.v[i]);
			free(info->vm.volumes.v);
			info->vm.volumes = tmp.vm.volumes;
			memset(&tmp.vm.volumes, 0, sizeof(tmp.vm.volumes));
		}
		for (size_t i = 0; i < info->volume_locations.n; i++)
			api_clear(&hvapi_local_volume_type, &info->volume_locations.v[i]);
		free(info->volume_locations.v);
		info->volume_locations = tmp.volume_locations;
		memset(&tmp.volume_locations, 0, sizeof(tmp.volume_locations));
	} else if (err[0] == '\0') {
		snprintf(err, errsz, "%s", strerror(-rc));
	}
	api_clear(&hvapi_local_vm_info_type, &tmp);
	return rc;
}
