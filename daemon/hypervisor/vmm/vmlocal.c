/* Export, import and commit of VMs on one host; the uncommitted VM (see vmlocal.h). */
#include "daemon/hypervisor/vmm/vmlocal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/bridges.h"
#include "daemon/hypervisor/vmm/libvirt/vmdomain.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/vmcheck.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "json.h"
#include "log.h"

/* Volumes one import may bring (a VM has at most this many disks anyway). */
#define VMLOCAL_MAX_VOLUMES 64

int vmlocal_check_cookie(const struct manager *m, const struct api_bytes *cookie, char *err,
			 size_t errsz)
{
	if (cookie->len != sizeof(m->root_cookie) ||
	    CRYPTO_memcmp(cookie->data, m->root_cookie, sizeof(m->root_cookie)) != 0) {
		snprintf(err, errsz, "bad verification cookie: you are not root");
		return -EPERM;
	}
	return 0;
}

/* ---- export ---- */

int vmlocal_export(struct manager *m, struct vm *vm, struct hvapi_export_local_vm_info *out,
		   char *err, size_t errsz)
{
	struct vmdomain_nic nics[VMDOMAIN_MAX_NICS];
	struct bridges br;
	int n, rc = 0;

	bridges_scan(&br, "/sys/class/net", "/proc/net/vlan");
	pthread_rwlock_rdlock(&m->st->lock);
	pthread_mutex_lock(&vm->mu);
	if (vm->busy || vm->removed) {
		snprintf(err, errsz, "mutations blocked");
		rc = -EBUSY;
	} else if (vm->info.vm.state != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		rc = -EBUSY;
	} else if ((n = vmdomain_nics(m, vm, &br, nics, VMDOMAIN_MAX_NICS, err, errsz)) < 0) {
		rc = n;
	} else {
		for (int i = 0; rc == 0 && i < n; i++)
			rc = api_strlist_add(&out->bridges, nics[i].bridge);
		if (rc == 0)
			rc = api_copy(&hvapi_local_vm_info_type, &out->local, &vm->info);
		if (rc == 0)
			rc = vm_set_state(vm, HVAPI_STATE_EXPORTING);
		if (rc == 0)
			out->local.vm.state = HVAPI_STATE_EXPORTING;
		else
			snprintf(err, errsz, "exporting: %s", strerror(-rc));
	}
	pthread_mutex_unlock(&vm->mu);
	pthread_rwlock_unlock(&m->st->lock);
	if (rc == 0) {
		log_info("%s: exporting", vm->ipstr);
		manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	}
	return rc;
}

/* ---- the uncommitted VM ---- */

/* The address a of the VM being inserted must be free of the pool and of other VMs. */
static int check_address(const struct manager_pool_txn *t, const struct hvapi_address *a, char *err,
			 size_t errsz)
{
	char ip[INET_ADDRSTRLEN], mac[18], vm[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	sjson_format_mac(a->mac, mac, sizeof(mac));
	for (size_t i = 0; i < t->pool.registered.n; i++) {
		const struct hvapi_address *p = &t->pool.registered.v[i];

		if (a->ip.s_addr != 0 && p->ip.s_addr == a->ip.s_addr) {
			snprintf(err, errsz, "%s is in address pool", ip);
			return -EEXIST;
		}
		if (memcmp(p->mac, a->mac, sizeof(a->mac)) == 0) {
			snprintf(err, errsz, "%s is in address pool", mac);
			return -EEXIST;
		}
	}
	for (size_t i = 0; i < t->nuses; i++) {
		const struct hvapi_address *u = &t->uses[i].addr;
		bool same_ip = a->ip.s_addr != 0 && u->ip.s_addr == a->ip.s_addr;

		if (same_ip || memcmp(u->mac, a->mac, sizeof(a->mac)) == 0) {
			inet_ntop(AF_INET, &t->uses[i].vm, vm, sizeof(vm));
			snprintf(err, errsz, "%s is used by VM %s", same_ip ? ip : mac, vm);
			return -EEXIST;
		}
	}
	return 0;
}

/* Subnet ids from the addresses, checked against the pool and the other VMs. */
static int check_addresses(struct manager *m, const struct manager_pool_txn *t,
			   struct hvapi_vm_info *v, char *err, size_t errsz)
{
	char *primary = NULL;
	struct api_strlist ids = {0};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i <= v->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
		const struct hvapi_subnet *s = subnets_for_ip(&m->st->subnets, a->ip);
		char ip[INET_ADDRSTRLEN];

		rc = check_address(t, a, err, errsz);
		if (rc < 0)
			break;
		if (s == NULL) {
			inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
			snprintf(err, errsz, "no matching subnet for: %s", ip);
			rc = -EINVAL;
		} else if (i == 0) {
			primary = strdup(api_str(s->id));
			rc = primary == NULL ? -ENOMEM : 0;
		} else {
			rc = api_strlist_add(&ids, api_str(s->id));
		}
	}
	if (rc == 0) {
		free(v->subnet_id);
		v->subnet_id = primary;
		api_strlist_clear(&v->secondary_subnet_ids);
		v->secondary_subnet_ids = ids;
		return 0;
	}
	free(primary);
	api_strlist_clear(&ids);
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	return rc;
}

int vmlocal_insert_uncommitted(struct manager *m, struct hvapi_local_vm_info *info, struct vm **out,
			       char *err, size_t errsz)
{
	struct manager_pool_txn t;
	struct vm *vm = NULL, *other;
	char ip[INET_ADDRSTRLEN];
	int rc = manager_pool_begin(m, &t);

	*out = NULL;
	inet_ntop(AF_INET, &info->vm.address.ip, ip, sizeof(ip));
	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	/* settings_mu (the transaction) keeps the pool, the subnets and the VM map's
	 * inserters still while we check and insert. */
	other = manager_find(m, info->vm.address.ip);
	if (other != NULL) {
		vm_unref(other);
		snprintf(err, errsz, "%s already exists", ip);
		rc = -EEXIST;
		goto out;
	}
	rc = check_addresses(m, &t, &info->vm, err, errsz);
	if (rc < 0)
		goto out;
	info->vm.uncommitted = true;
	vm = vm_new(m->state_dir, info);
	if (vm == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	vm->busy = true;
	pthread_mutex_lock(&vm->mu);
	rc = vm_save(vm);
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		snprintf(err, errsz, "writing info.json: %s", strerror(-rc));
		goto out;
	}
	pthread_rwlock_wrlock(&m->st->lock);
	rc = manager_insert_locked(m, vm_ref(vm));
	pthread_rwlock_unlock(&m->st->lock);
	if (rc < 0) {
		vm_unref(vm);
		snprintf(err, errsz, "%s already exists", ip);
		goto out;
	}
	*out = vm;
	vm = NULL;
out:
	manager_pool_abort(m, &t);
	if (vm != NULL) {
		/* Give the caller its record back so that it can clean up. */
		pthread_mutex_lock(&vm->mu);
		*info = vm->info;
		memset(&vm->info, 0, sizeof(vm->info));
		pthread_mutex_unlock(&vm->mu);
		vm_unref(vm);
	}
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_VM, (*out)->ipstr);
	return rc;
}

int vmlocal_commit(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	struct hvapi_vm_info v = {0};
	struct manager_pool_txn t;
	int rc = manager_pool_begin(m, &t);

	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	pthread_mutex_lock(&vm->mu);
	if (vm->removed) {
		snprintf(err, errsz, "VM is destroyed");
		rc = -ENOENT;
	} else if (!vm->info.vm.uncommitted) {
		snprintf(err, errsz, "%s is already committed", vm->ipstr);
		rc = -EALREADY;
	} else if (vm->busy) {
		snprintf(err, errsz, "mutations blocked");
		rc = -EBUSY;
	} else if ((rc = api_copy(&hvapi_vm_info_type, &v, &vm->info.vm)) < 0) {
		snprintf(err, errsz, "out of memory");
	} else {
		vm->busy = true;
	}
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		manager_pool_abort(m, &t);
		return rc;
	}
	/* The VM uses its addresses with their MACs, so addrpool_add adopts them:
	 * registered, never free. */
	for (size_t i = 0; rc == 0 && i <= v.secondary_addresses.n; i++) {
		struct hvapi_address *a = i == 0 ? &v.address : &v.secondary_addresses.v[i - 1];
		struct hvapi_addresses one = {1, a};

		if (a->ip.s_addr != 0 && !addrpool_contains(&t.pool.registered, a))
			rc = addrpool_add(&t.pool, &m->st->subnets, t.uses, t.nuses, &one, err,
					  errsz);
	}
	if (rc == 0)
		rc = manager_pool_commit(m, &t, NULL, NULL);
	else
		manager_pool_abort(m, &t);
	pthread_mutex_lock(&vm->mu);
	if (rc == 0) {
		vm->info.vm.uncommitted = false;
		rc = vm_save(vm);
		if (rc < 0) {
			vm->info.vm.uncommitted = true;
			snprintf(err, errsz, "writing info.json: %s", strerror(-rc));
		}
	} else if (err[0] == '\0') {
		snprintf(err, errsz, "writing address pool: %s", strerror(-rc));
	}
	vm->busy = false;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	api_clear(&hvapi_vm_info_type, &v);
	if (rc == 0) {
		log_info("%s: committed", vm->ipstr);
		manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	}
	return rc;
}

/* ---- import ---- */

/* The volume directory holding file as <dir>/<any>/<any>/<name> (after resolving
 * symbolic links: real gets the resolved path), -1 if none, -2 (errno set) if the file
 * cannot be resolved. */
static int import_dir_of(const struct manager *m, const char *file, char *real)
{
	char up[PATH_MAX], vreal[PATH_MAX];

	if (realpath(file, real) == NULL)
		return -2;
	snprintf(up, sizeof(up), "%s", real);
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(up, '/');

		if (slash == NULL || slash == up)
			return -1;
		*slash = '\0';
	}
	for (size_t k = 0; k < m->vols.n; k++)
		if (realpath(m->vols.v[k].path, vreal) != NULL && strcmp(vreal, up) == 0)
			return (int)k;
	return -1;
}

/* What an import made, to undo on failure. */
struct import_undo {
	char vmdir[4096];
	char *dirs[VMLOCAL_MAX_VOLUMES]; /* volume directories it created */
	size_t ndirs;
};

static void import_undo(struct import_undo *u)
{
	for (size_t i = 0; i < u->ndirs; i++) {
		vmops_rmtree(u->dirs[i]);
		free(u->dirs[i]);
	}
	u->ndirs = 0;
	if (u->vmdir[0] != '\0')
		vmops_rmtree(u->vmdir);
}

/* Links file i of the request into <volume directory>/<ip>/ and records it in info. */
static int import_volume(struct manager *m, const struct hvapi_import_local_vm_request *req,
			 size_t i, const char *ip, struct hvapi_local_vm_info *info,
			 struct import_undo *u, char *err, size_t errsz)
{
	const char *file = req->volume_filenames.v[i];
	struct hvapi_volume proto = {0};
	char real[PATH_MAX], vdir[4096], path[4200], name[48];
	struct stat st;
	int k = import_dir_of(m, file, real), rc;

	if (k == -2) {
		rc = -errno;
		snprintf(err, errsz, "%s: %s", file, strerror(errno));
		return rc;
	}
	if (k < 0) {
		snprintf(err, errsz, "%s not in a volume directory", file);
		return -EINVAL;
	}
	if (lstat(real, &st) < 0) {
		snprintf(err, errsz, "%s: %s", file, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s is not a regular file", file);
		return -EINVAL;
	}
	if (i == 0)
		snprintf(name, sizeof(name), "root");
	else
		snprintf(name, sizeof(name), "secondary-volume.%zu", i - 1);
	snprintf(vdir, sizeof(vdir), "%s/%s", m->vols.v[k].path, ip);
	if (snprintf(path, sizeof(path), "%s/%s", vdir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(vdir, 0755) == 0) {
		if ((u->dirs[u->ndirs] = strdup(vdir)) == NULL)
			return -ENOMEM;
		u->ndirs++;
	} else if (errno != EEXIST) {
		snprintf(err, errsz, "mkdir %s: %s", vdir, strerror(errno));
		return -errno;
	}
	if (link(real, path) < 0) {
		snprintf(err, errsz, "link %s to %s: %s", file, path, strerror(errno));
		return -errno;
	}
	if (i < req->vm.volumes.n) {
		proto.format = req->vm.volumes.v[i].format;
		proto.interface = req->vm.volumes.v[i].interface;
	}
	rc = vm_append_volume(info, &proto, (uint64_t)st.st_size, vdir, path);
	if (rc < 0)
		snprintf(err, errsz, "out of memory");
	return rc;
}

/* The new VM's record: the request's VmInfo, owned by the caller alone, no volumes
 * yet, starting. */
static int import_info(struct manager *m, const struct vm_caller *c,
		       const struct hvapi_import_local_vm_request *req,
		       struct hvapi_local_vm_info *info, char *err, size_t errsz)
{
	struct hvapi_vm_info *v = &info->vm;
	int rc = api_copy(&hvapi_vm_info_type, v, &req->vm);

	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	api_strlist_clear(&v->owner_users);
	for (size_t i = 0; i < v->volumes.n; i++)
		api_clear(&hvapi_volume_type, &v->volumes.v[i]);
	free(v->volumes.v);
	memset(&v->volumes, 0, sizeof(v->volumes));
	if (api_strlist_add(&v->owner_users, c->user) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (v->architecture == HVAPI_ARCH_AUTO)
		v->architecture =
		    strcmp(m->host_arch, "aarch64") == 0 ? HVAPI_ARCH_ARM64 : HVAPI_ARCH_AMD64;
	v->state = HVAPI_STATE_STARTING;
	clock_gettime(CLOCK_REALTIME, &v->changed_state_on);
	return 0;
}

/* The request's own consistency: no address twice, bounds, memory. */
static int import_check(const struct hvapi_import_local_vm_request *req, char *err, size_t errsz)
{
	const struct hvapi_vm_info *v = &req->vm;
	uint64_t avail;

	if (vmcheck_vm_info(v, err, errsz) < 0)
		return -EINVAL;
	if (v->address.ip.s_addr == 0) {
		snprintf(err, errsz, "no IP address given");
		return -EINVAL;
	}
	if (req->volume_filenames.n == 0 || req->volume_filenames.n > VMLOCAL_MAX_VOLUMES) {
		snprintf(err, errsz, "%zu volume files: 1 to %d needed", req->volume_filenames.n,
			 VMLOCAL_MAX_VOLUMES);
		return -EINVAL;
	}
	for (size_t i = 0; i <= v->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
		static const uint8_t zero[6];
		char text[18];

		if (memcmp(a->mac, zero, sizeof(zero)) == 0 || (a->mac[0] & 1)) {
			sjson_format_mac(a->mac, text, sizeof(text));
			snprintf(err, errsz, "bad MAC address: %s", text);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i <= v->secondary_addresses.n; i++)
		for (size_t k = 0; k < i; k++) {
			const struct hvapi_address *a =
			    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
			const struct hvapi_address *b =
			    k == 0 ? &v->address : &v->secondary_addresses.v[k - 1];
			char text[INET_ADDRSTRLEN];

			if (a->ip.s_addr == b->ip.s_addr) {
				inet_ntop(AF_INET, &a->ip, text, sizeof(text));
				snprintf(err, errsz, "duplicate address: %s", text);
				return -EINVAL;
			}
			if (memcmp(a->mac, b->mac, sizeof(a->mac)) == 0) {
				sjson_format_mac(a->mac, text, sizeof(text));
				snprintf(err, errsz, "duplicate address: %s", text);
				return -EINVAL;
			}
		}
	avail = manager_mem_available_mib();
	if (!req->skip_memory_check && avail != 0 && v->memory_mib >= avail) {
		snprintf(err, errsz, "insufficient memory: %llu MiB available",
			 (unsigned long long)avail);
		return -ENOMEM;
	}
	return 0;
}

int vmlocal_import(struct manager *m, const struct vm_caller *c,
		   const struct hvapi_import_local_vm_request *req, char *err, size_t errsz)
{
	struct hvapi_local_vm_info info = {0};
	struct import_undo u = {.ndirs = 0};
	char ip[INET_ADDRSTRLEN];
	struct vm *vm;
	int rc;

	if (c->user == NULL || *c->user == '\0') {
		snprintf(err, errsz, "no authentication data");
		return -EACCES;
	}
	rc = import_check(req, err, errsz);
	if (rc < 0)
		return rc;
	inet_ntop(AF_INET, &req->vm.address.ip, ip, sizeof(ip));
	/* Checked again when it is inserted; this one keeps us off an existing VM's files. */
	vm = manager_find(m, req->vm.address.ip);
	if (vm != NULL) {
		vm_unref(vm);
		snprintf(err, errsz, "%s already exists", ip);
		return -EEXIST;
	}
	snprintf(u.vmdir, sizeof(u.vmdir), "%s/VMs/%s", m->state_dir, ip);
	if (mkdir(u.vmdir, 0755) < 0) {
		rc = -errno;
		snprintf(err, errsz, errno == EEXIST ? "%s already exists" : "mkdir %s: %s",
			 errno == EEXIST ? ip : u.vmdir, strerror(errno));
		u.vmdir[0] = '\0';
		return rc;
	}
	rc = import_info(m, c, req, &info, err, errsz);
	for (size_t i = 0; rc == 0 && i < req->volume_filenames.n; i++)
		rc = import_volume(m, req, i, ip, &info, &u, err, errsz);
	if (rc == 0)
		rc = vmlocal_insert_uncommitted(m, &info, &vm, err, errsz);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "%s", strerror(-rc));
		api_clear(&hvapi_local_vm_info_type, &info);
		import_undo(&u);
		return rc;
	}
	for (size_t i = 0; i < u.ndirs; i++)
		free(u.dirs[i]);
	log_info("%s: imported (uncommitted) by %s", vm->ipstr, c->user);
	rc = vmops_boot(m, vm, 0, NULL, err, errsz);
	if (rc < 0) {
		/* As the original: an import whose VM does not start is undone. Uncommitted,
		 * so the pool is not touched; only our links to the files go. */
		vmops_delete(m, vm);
	}
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	return rc;
}
