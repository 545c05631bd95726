/* The VM manager's top: opening the state directory and libvirt, start-up
 * reconciliation, the libvirt event dispatch, the acknowledgement timer, the network
 * services' hooks, and the clean close. It calls down into the store (manager.c), the
 * lifecycle (vmops.c) and reconciliation (reconcile.c); nothing below calls it. */
#include "daemon/hypervisor/vmm/manager.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon/hypervisor/metadata/metadata_handler.h"
#include "daemon/hypervisor/vmm/bridges.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/libvirt/vmdomain.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/migrate.h"
#include "daemon/hypervisor/vmm/objcache.h"
#include "daemon/hypervisor/vmm/reconcile.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

static void read_serial(char *buf, size_t sz)
{
	FILE *f = fopen("/sys/class/dmi/id/product_serial", "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)sz, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void manager_set_net(struct manager *m, struct netsvc *ns, struct metadata *md)
{
	struct vm **vms = NULL;
	size_t n = 0;

	m->netsvc = ns;
	m->metadata = md;
	if (manager_vms(m, &vms, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		vmops_net_register(m, vms[i]);
	manager_vms_free(vms, n);
}

int manager_metadata_lookup(void *ctx, struct in_addr ip, struct metadata_vm *out)
{
	struct manager *m = ctx;
	struct vm *vm = manager_find(m, ip);
	struct vmdomain_nic nics[VMDOMAIN_MAX_NICS];
	struct bridges br;
	char err[128];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (vm == NULL)
		return -ENOENT;
	bridges_scan(&br, "/sys/class/net", "/proc/net/vlan");
	pthread_rwlock_rdlock(&m->st->lock);
	pthread_mutex_lock(&vm->mu);
	if (vm->removed) {
		rc = -ENOENT;
	} else {
		out->ip = ip;
		if (vmdomain_nics(m, vm, &br, nics, VMDOMAIN_MAX_NICS, err, sizeof(err)) > 0)
			memcpy(out->bridge, nics[0].bridge, sizeof(out->bridge));
		out->info_json = api_dumps(&hvapi_vm_info_type, &vm->info.vm, 0);
		out->dir = strdup(vm->dir);
		if (out->info_json == NULL || out->dir == NULL)
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&vm->mu);
	pthread_rwlock_unlock(&m->st->lock);
	vm_unref(vm);
	if (rc < 0)
		metadata_vm_clear(out);
	return rc;
}

/* ---- libvirt events ---- */

static enum vmstate_event event_of(enum virt_event_kind k)
{
	switch (k) {
	case VIRT_EV_STARTED:
		return VMSTATE_EV_STARTED;
	case VIRT_EV_SHUTDOWN:
		return VMSTATE_EV_SHUTDOWN;
	case VIRT_EV_DESTROYED:
		return VMSTATE_EV_DESTROYED;
	case VIRT_EV_WATCHDOG:
		return VMSTATE_EV_WATCHDOG;
	default:
		return VMSTATE_EV_CRASHED;
	}
}

static void on_event(struct manager *m, const struct virt_event *ev)
{
	struct vmstate_result r;
	enum hvapi_state before;
	struct vm *vm;

	if (ev->kind == VIRT_EV_DISCONNECTED) {
		log_warn("lost the connection to libvirt: reconnecting");
		return;
	}
	if (ev->kind == VIRT_EV_RECONNECTED) {
		log_info("reconnected to libvirt");
		reconcile_domains(m);
		return;
	}
	vm = manager_find_str(m, ev->vm);
	if (vm == NULL) {
		log_debug(0, "libvirt event for unknown VM %s", ev->vm);
		return;
	}
	pthread_mutex_lock(&vm->mu);
	before = vm->info.vm.state;
	r = vmstate_on_event(before, event_of(ev->kind), vm->info.vm.destroy_on_powerdown,
			     vm->info.vm.destroy_protection, atomic_load(&m->shutting_down));
	if (r.next != before) {
		vm_set_state(vm, r.next);
		if (r.next == HVAPI_STATE_CRASHED) {
			atomic_fetch_add(&m->n_crashes, 1);
			log_warn("%s: VM went down unexpectedly (%s): crashed", vm->ipstr,
				 ev->kind == VIRT_EV_WATCHDOG ? "watchdog" : "domain stopped");
		} else {
			log_info("%s: %s -> %s", vm->ipstr, hvapi_state_name(before),
				 hvapi_state_name(r.next));
		}
	}
	pthread_mutex_unlock(&vm->mu);
	if (r.next != before)
		manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	if (r.delete_vm)
		vmops_delete(m, vm);
	vm_unref(vm);
}

/* ---- loading ---- */

static int load_subnets(struct manager *m, char *err, size_t errsz)
{
	char path[4096], *msg = NULL;
	struct sjson_dec d;
	json_t *j = NULL;
	int rc;

	statedir_path(path, sizeof(path), m->state_dir, "subnets.json");
	rc = sjson_load_file(path, 0, &j, &msg);
	if (rc == -ENOENT) {
		free(msg);
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errsz, "%s", msg ? msg : path);
		free(msg);
		return rc;
	}
	sjson_dec_init(&d, path);
	rc = hvapi_subnets_from_json(&d, j, &m->st->subnets);
	if (rc < 0)
		snprintf(err, errsz, "%s", sjson_dec_error(&d) ? sjson_dec_error(&d) : path);
	sjson_dec_fini(&d);
	json_decref(j);
	return rc;
}

static int load_doc(const struct api_type *t, const char *dir, const char *name, void *obj,
		    char *err, size_t errsz)
{
	char path[4096], *msg = NULL;
	int rc;

	statedir_path(path, sizeof(path), dir, name);
	rc = api_load_file(t, path, obj, &msg);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc < 0)
		snprintf(err, errsz, "%s", msg ? msg : path);
	free(msg);
	return rc;
}

static void load_report(void *arg, const struct reconcile_finding *f)
{
	manager_problem(arg, "%s", f->text);
}

/* Loads VMs/<ip>/info.json of every VM directory. A directory without info.json is
 * a create or destroy that never finished: it is reported here and removed with its
 * volumes by reconcile_at_start. */
static int load_vms(struct manager *m)
{
	struct hvapi_local_vm_info *infos = NULL;
	size_t n = 0;
	int rc = reconcile_load_infos(m->state_dir, &infos, &n, load_report, m);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct vm *vm;

		if (infos[i].vm.architecture == HVAPI_ARCH_AUTO)
			infos[i].vm.architecture = strcmp(m->host_arch, "aarch64") == 0
						       ? HVAPI_ARCH_ARM64
						       : HVAPI_ARCH_AMD64;
		vm = vm_new(m->state_dir, &infos[i]);
		if (vm == NULL)
			rc = -ENOMEM;
		else if (manager_insert_locked(m, vm) < 0)
			vm_unref(vm);
	}
	reconcile_infos_free(infos, n);
	return rc;
}

static void on_virt_event(const struct virt_event *ev, void *arg)
{
	on_event(arg, ev);
}

static const char *pick_virt_type(const char *flag)
{
	if (strcmp(flag, "kvm") == 0 || strcmp(flag, "qemu") == 0)
		return flag;
	return access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "qemu";
}

static void *timer_main(void *arg)
{
	struct manager *m = arg;

	pthread_mutex_lock(&m->timer_mu);
	while (!m->timer_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&m->timer_cond, &m->timer_mu, &ts);
		if (m->timer_stop)
			break;
		pthread_mutex_unlock(&m->timer_mu);
		vmops_tick(m);
		pthread_mutex_lock(&m->timer_mu);
	}
	pthread_mutex_unlock(&m->timer_mu);
	return NULL;
}

static int open_state(struct manager *m, char *err, size_t errsz)
{
	int rc;

	rc = statedir_create(m->state_dir);
	if (rc < 0) {
		snprintf(err, errsz, "mkdir %s: %s", m->state_dir, strerror(-rc));
		return rc;
	}
	rc = statedir_uuid(m->state_dir, m->uuid);
	if (rc == 0)
		rc = statedir_new_root_cookie(m->state_dir, m->root_cookie);
	if (rc == 0)
		rc = statedir_key(m->state_dir, &m->key);
	if (rc < 0) {
		snprintf(err, errsz, "%s: uuid/root-cookie/key.pem: %s", m->state_dir,
			 strerror(-rc));
		return rc;
	}
	m->public_key_pem = statedir_public_key_pem(m->key);
	atomic_store(&m->disabled, statedir_disabled(m->state_dir));
	snprintf(m->domain_prefix, sizeof(m->domain_prefix), "hv-%.8s-", m->uuid);
	rc = load_subnets(m, err, errsz);
	if (rc == 0)
		rc = load_doc(&hvapi_address_pool_type, m->state_dir, "address-pool.json",
			      &m->st->pool, err, errsz);
	if (rc == 0) {
		struct hvapi_change_owners_request owners = {0};

		rc = load_doc(&hvapi_change_owners_request_type, m->state_dir, "owners.json",
			      &owners, err, errsz);
		m->st->owner_users = owners.owner_users;
		m->st->owner_groups = owners.owner_groups;
	}
	if (rc < 0)
		return rc;
	rc = load_vms(m);
	if (rc < 0)
		snprintf(err, errsz, "%s/VMs: %s", m->state_dir, strerror(-rc));
	return rc;
}

/* The object cache (spec §5): -objectCacheDirectory, or objectcache beside the first
 * volume directory. */
static int open_cache(struct manager *m, char *err, size_t errsz)
{
	const char *given = m->cfg->object_cache_directory;
	char dir[4096], *slash;

	if (given != NULL && *given) {
		snprintf(dir, sizeof(dir), "%s", given);
	} else {
		snprintf(dir, sizeof(dir), "%s", m->vols.v[0].path);
		while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
		slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), "objectcache");
		else
			snprintf(slash + 1, sizeof(dir) - (size_t)(slash + 1 - dir), "objectcache");
	}
	return objcache_open(dir, m->cfg->object_cache_size, &m->objcache, err, errsz);
}

/* volumes_space's reserve: the cache's unused budget on the file system that holds it. */
static uint64_t cache_reserve(void *arg, size_t i)
{
	struct manager *m = arg;

	return (ssize_t)i == m->cache_vol ? objcache_reserve(m->objcache) : 0;
}

/* Which volume directory shares the cache's file system (-1: none). */
static void find_cache_volume(struct manager *m)
{
	struct stat cs, vs;

	m->cache_vol = -1;
	if (stat(objcache_dir(m->objcache), &cs) < 0)
		return;
	for (size_t i = 0; i < m->vols.n; i++)
		if (stat(m->vols.v[i].path, &vs) == 0 && vs.st_dev == cs.st_dev) {
			m->cache_vol = (ssize_t)i;
			break;
		}
	m->vols.reserve = cache_reserve;
	m->vols.reserve_arg = m;
}

void manager_flush_cache(struct manager *m)
{
	if (m != NULL && objcache_flush(m->objcache) < 0)
		log_warn("object cache: cannot write its state");
}

int manager_open(const struct hv_config *cfg, struct manager **out, char *err, size_t errsz)
{
	struct manager *m = calloc(1, sizeof(*m));
	struct utsname un;
	int rc;

	*out = NULL;
	if (m != NULL)
		m->st = calloc(1, sizeof(*m->st));
	if (m == NULL || m->st == NULL) {
		free(m);
		return -ENOMEM;
	}
	m->cfg = cfg;
	m->state_dir = cfg->state_dir;
	pthread_mutex_init(&m->st->settings_mu, NULL);
	pthread_rwlock_init(&m->st->lock, NULL);
	pthread_mutex_init(&m->problems_mu, NULL);
	pthread_mutex_init(&m->timer_mu, NULL);
	pthread_cond_init(&m->timer_cond, NULL);
	clock_gettime(CLOCK_REALTIME, &m->started);
	m->mem_total_mib = manager_meminfo_mib("MemTotal");
	m->ncpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(m->host_arch, sizeof(m->host_arch), "%s", uname(&un) == 0 ? un.machine : "x86_64");
	read_serial(m->serial_number, sizeof(m->serial_number));
	m->virt_type = pick_virt_type(cfg->virt_type);

	rc = open_state(m, err, errsz);
	if (rc < 0)
		goto fail;
	rc = volumes_init(&m->vols, cfg->volume_directories.v, cfg->volume_directories.n, err,
			  errsz);
	if (rc < 0)
		goto fail;
	rc = open_cache(m, err, errsz);
	if (rc < 0)
		goto fail;
	find_cache_volume(m);
	rc = virt_open(cfg->libvirt_uri, m->domain_prefix, on_virt_event, m, &m->virt, err, errsz);
	if (rc < 0)
		goto fail;
	migrate_recover(m); /* before reconciliation: incoming VMs not committed go */
	reconcile_at_start(m);
	/* The state files were parsed into JSON trees and freed (a 65,536-address pool is
	 * some 70 MB of them); give those pages back instead of idling on them. */
	malloc_trim(0);
	if (pthread_create(&m->timer_thread, NULL, timer_main, m) != 0) {
		rc = -EAGAIN;
		snprintf(err, errsz, "cannot start timer thread");
		goto fail;
	}
	if (migrate_resolver_start(m) < 0)
		manager_problem(m, "cannot start the thread that settles interrupted migrations");
	*out = m;
	return 0;

fail:
	m->timer_stop = true;
	virt_close(m->virt);
	m->virt = NULL;
	manager_close(m, false);
	return rc;
}

void manager_close(struct manager *m, bool stop_vms)
{
	if (m == NULL)
		return;
	migrate_resolver_stop();
	if (stop_vms && m->virt != NULL)
		vmops_shutdown_all(m);
	if (!m->timer_stop) {
		pthread_mutex_lock(&m->timer_mu);
		m->timer_stop = true;
		pthread_cond_broadcast(&m->timer_cond);
		pthread_mutex_unlock(&m->timer_mu);
		pthread_join(m->timer_thread, NULL);
	}
	virt_close(m->virt);
	for (size_t i = 0; i < m->st->nvms; i++)
		vm_unref(m->st->vms[i]);
	free(m->st->vms);
	api_clear(&hvapi_address_pool_type, &m->st->pool);
	hvapi_subnets_clear(&m->st->subnets);
	api_strlist_clear(&m->st->owner_users);
	api_strlist_clear(&m->st->owner_groups);
	for (size_t i = 0; i < m->nproblems; i++)
		free(m->problems[i]);
	free(m->problems);
	objcache_close(m->objcache);
	volumes_clear(&m->vols);
	EVP_PKEY_free(m->key);
	free(m->public_key_pem);
	pthread_rwlock_destroy(&m->st->lock);
	pthread_mutex_destroy(&m->st->settings_mu);
	free(m->st);
	pthread_mutex_destroy(&m->problems_mu);
	pthread_mutex_destroy(&m->timer_mu);
	pthread_cond_destroy(&m->timer_cond);
	free(m);
}
