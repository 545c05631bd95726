/* ChangeVmSubnet and ChangeVmVolumeStorageIndex (see vmmove.h). */
#include "daemon/hypervisor/vmm/vmmove.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/metadata/metadata.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/libvirt/vmdomain.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/rootdisk.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

/* Files that move with a volume: its snapshots and other versions ("<name>.*"), and
 * with the root the kernel and initrd of a direct boot. */
#define VMMOVE_MAX_FILES 256

/* mkdir to (must not exist) and a second name there for every regular file of from
 * except skip. On failure to is removed again. */
static int link_dir(const char *from, const char *to, const char *skip, char *err, size_t errsz)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (mkdir(to, 0755) < 0) {
		snprintf(err, errsz, "mkdir %s: %s", to, strerror(errno));
		return -errno;
	}
	d = opendir(from);
	if (d == NULL) {
		rc = -errno;
		snprintf(err, errsz, "%s: %s", from, strerror(errno));
		goto out;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char src[4352], dst[4352];
		struct stat st;

		if (skip != NULL && strcmp(e->d_name, skip) == 0)
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
		if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		rc = fsutil_link_or_copy(src, dst);
		if (rc < 0)
			snprintf(err, errsz, "%s to %s: %s", src, dst, strerror(-rc));
	}
	closedir(d);
out:
	if (rc < 0)
		vmops_rmtree(to);
	return rc;
}

/* ---- ChangeVmSubnet ---- */

/* dir with its last component replaced by name into buf. */
static int sibling(const char *dir, const char *name, char *buf, size_t sz)
{
	const char *slash = strrchr(dir, '/');

	if (slash == NULL)
		return -EINVAL;
	if (snprintf(buf, sz, "%.*s/%s", (int)(slash - dir), dir, name) >= (int)sz)
		return -ENAMETOOLONG;
	return 0;
}

/* Points the record's volume locations at <volume directory>/<new ip>. */
static int rename_locations(struct hvapi_local_vm_info *info, const char *oldip, const char *newip,
			    char *err, size_t errsz)
{
	for (size_t i = 0; i < info->volume_locations.n; i++) {
		struct hvapi_local_volume *l = &info->volume_locations.v[i];
		const char *dir = api_str(l->directory_to_cleanup), *file = api_str(l->filename);
		const char *last = strrchr(dir, '/');
		size_t dlen = strlen(dir);
		char ndir[4096], nfile[4352];
		char *a, *b;

		if (last == NULL || strcmp(last + 1, oldip) != 0 || strncmp(file, dir, dlen) != 0 ||
		    file[dlen] != '/') {
			snprintf(err, errsz, "volume %s is not in a directory named after the VM",
				 file);
			return -EINVAL;
		}
		if (sibling(dir, newip, ndir, sizeof(ndir)) < 0 ||
		    snprintf(nfile, sizeof(nfile), "%s%s", ndir, file + dlen) >= (int)sizeof(nfile))
			return -ENAMETOOLONG;
		a = strdup(ndir);
		b = strdup(nfile);
		if (a == NULL || b == NULL) {
			free(a);
			free(b);
			return -ENOMEM;
		}
		free(l->directory_to_cleanup);
		free(l->filename);
		l->directory_to_cleanup = a;
		l->filename = b;
	}
	return 0;
}

/* The record under the new address: subnet, label, identity, locations. */
static int next_record(struct hvapi_local_vm_info *info, const struct hvapi_address *fresh,
		       const char *subnet_id, char **old_identity, char *err, size_t errsz)
{
	struct hvapi_vm_info *v = &info->vm;
	char oldip[INET_ADDRSTRLEN], newip[INET_ADDRSTRLEN], label[32];
	char *id = strdup(subnet_id);
	int rc;

	if (id == NULL)
		return -ENOMEM;
	inet_ntop(AF_INET, &v->address.ip, oldip, sizeof(oldip));
	inet_ntop(AF_INET, &fresh->ip, newip, sizeof(newip));
	rc = rename_locations(info, oldip, newip, err, errsz);
	if (rc < 0) {
		free(id);
		return rc;
	}
	/* The root file system was labelled after the old address: keep booting it. */
	if (*api_str(v->root_fs_label) == '\0') {
		rootdisk_label(v->address.ip, label, sizeof(label));
		free(v->root_fs_label);
		v->root_fs_label = strdup(label);
	}
	free(v->subnet_id);
	v->subnet_id = id;
	v->address = *fresh;
	*old_identity = v->identity_name;
	v->identity_name = NULL;
	memset(&v->identity_expires, 0, sizeof(v->identity_expires));
	return v->root_fs_label == NULL ? -ENOMEM : 0;
}

/* The directories of a move: old and new name of the VM directory and of each volume
 * directory (distinct). */
struct move_dirs {
	char vm_old[4096], vm_new[4096];
	char *vol_old[VMMOVE_MAX_FILES], *vol_new[VMMOVE_MAX_FILES];
	size_t nvol;
	bool vm_made;
	size_t vol_made;
};

static void move_dirs_free(struct move_dirs *d)
{
	for (size_t i = 0; i < d->nvol; i++) {
		free(d->vol_old[i]);
		free(d->vol_new[i]);
	}
	d->nvol = 0;
}

static int move_dirs_add(struct move_dirs *d, const char *old, const char *new)
{
	for (size_t i = 0; i < d->nvol; i++)
		if (strcmp(d->vol_old[i], old) == 0)
			return 0;
	if (d->nvol == VMMOVE_MAX_FILES)
		return -E2BIG;
	d->vol_old[d->nvol] = strdup(old);
	d->vol_new[d->nvol] = strdup(new);
	d->nvol++;
	return d->vol_old[d->nvol - 1] && d->vol_new[d->nvol - 1] ? 0 : -ENOMEM;
}

/* Second names under the new address for every file, then the new record: from then
 * on the VM is the new one. On failure the new names are gone again. */
static int move_files(struct manager *m, const struct hvapi_local_vm_info *old,
		      const struct hvapi_local_vm_info *next, struct move_dirs *d, char *err,
		      size_t errsz)
{
	char ip[INET_ADDRSTRLEN], path[4352];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < old->volume_locations.n; i++)
		rc = move_dirs_add(d, api_str(old->volume_locations.v[i].directory_to_cleanup),
				   api_str(next->volume_locations.v[i].directory_to_cleanup));
	if (rc < 0) {
		snprintf(err, errsz, "%s", strerror(-rc));
		return rc;
	}
	inet_ntop(AF_INET, &old->vm.address.ip, ip, sizeof(ip));
	snprintf(d->vm_old, sizeof(d->vm_old), "%s/VMs/%s", m->state_dir, ip);
	inet_ntop(AF_INET, &next->vm.address.ip, ip, sizeof(ip));
	snprintf(d->vm_new, sizeof(d->vm_new), "%s/VMs/%s", m->state_dir, ip);
	/* Volumes first: a crash leaves new volume directories without a VM directory,
	 * which the next start removes (they only hold second names). */
	for (; rc == 0 && d->vol_made < d->nvol; d->vol_made++)
		rc = link_dir(d->vol_old[d->vol_made], d->vol_new[d->vol_made], NULL, err, errsz);
	if (rc == 0) {
		rc = link_dir(d->vm_old, d->vm_new, "info.json", err, errsz);
		d->vm_made = rc == 0;
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/info.json", d->vm_new);
		rc = api_write_file(&hvapi_local_vm_info_type, path, next, 0644);
		if (rc < 0)
			snprintf(err, errsz, "writing %s: %s", path, strerror(-rc));
	}
	if (rc == 0) {
		/* The commit point is behind us: the old record goes at once. */
		snprintf(path, sizeof(path), "%s/info.json", d->vm_old);
		if (unlink(path) < 0)
			log_error("%s: %s", path, strerror(errno));
		return 0;
	}
	if (d->vm_made)
		vmops_rmtree(d->vm_new);
	for (size_t i = 0; i < d->vol_made; i++)
		vmops_rmtree(d->vol_new[i]);
	return rc;
}

struct swap {
	struct vm *old, *next;
};

static void swap_vms(struct manager *m, void *arg, bool saved)
{
	struct swap *s = arg;

	(void)saved; /* the files have moved either way; the next start repairs the pool */
	manager_remove_locked(m, s->old);
	if (manager_insert_locked(m, vm_ref(s->next)) < 0) {
		log_error("%s: cannot enter the VM in the map", s->next->ipstr);
		vm_unref(s->next);
	}
}

/* The old address's DHCP lease and metadata taps. */
static void net_forget(struct manager *m, const struct hvapi_vm_info *v)
{
	for (size_t i = 0; i <= v->secondary_addresses.n; i++) {
		const struct hvapi_address *a =
		    i == 0 ? &v->address : &v->secondary_addresses.v[i - 1];
		char tap[IF_NAMESIZE];

		if (m->netsvc != NULL && a->ip.s_addr != 0)
			netsvc_lease_remove(m->netsvc, a->ip);
		vmdomain_tap_name(v->address.ip, i, tap, sizeof(tap));
		if (m->metadata != NULL)
			metadata_remove_tap(m->metadata, tap);
	}
}

/* Checks the request against the pool and picks the new address (in t). */
static int pick_address(struct manager *m, struct manager_pool_txn *t, const struct vm_caller *c,
			const struct hvapi_vm_info *v, const char *subnet_id,
			struct hvapi_address *fresh, char *err, size_t errsz)
{
	struct subnets_caller sc = {c->user, c->groups, c->ngroups, c->admin};
	const struct hvapi_subnet *s;
	int rc;

	if (v->uncommitted) {
		snprintf(err, errsz, "VM is not committed");
		return -EBUSY;
	}
	if (v->address.ip.s_addr == 0) {
		snprintf(err, errsz, "VM has an externally managed lease");
		return -EINVAL;
	}
	rc = subnets_select(&m->st->subnets, subnet_id, &sc, &s, err, errsz);
	if (rc < 0)
		return rc;
	if (strcmp(api_str(s->id), api_str(v->subnet_id)) == 0) {
		snprintf(err, errsz, "VM is already in subnet: %s", api_str(s->id));
		return -EALREADY;
	}
	rc = addrpool_allocate(&t->pool, s, (struct in_addr){0}, fresh, err, errsz);
	if (rc == 0)
		addrpool_release(&t->pool, &v->address);
	return rc;
}

int vmmove_change_subnet(struct manager *m, struct vm *vm, const struct vm_caller *c,
			 const char *subnet_id, struct in_addr *new_ip, char **old_identity,
			 char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy, next = {0};
	struct move_dirs dirs = {.nvol = 0};
	struct hvapi_address fresh = {0};
	struct manager_pool_txn t;
	struct hvapi_vm_info gone = {0};
	struct swap sw = {vm, NULL};
	int rc;

	*old_identity = NULL;
	if (subnet_id == NULL || *subnet_id == '\0') {
		snprintf(err, errsz, "no subnet ID given");
		return -EINVAL;
	}
	rc = vmops_edit_begin(vm, VMOPS_NEED_STOPPED, VMOPS_EDIT_VOLUMES, &copy, err, errsz);
	if (rc < 0)
		return rc;
	rc = manager_pool_begin(m, &t);
	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
	}
	rc = pick_address(m, &t, c, &copy.vm, subnet_id, &fresh, err, errsz);
	if (rc == 0 && (rc = api_copy(&hvapi_local_vm_info_type, &next, &copy)) < 0)
		snprintf(err, errsz, "out of memory");
	if (rc == 0)
		rc = next_record(&next, &fresh, subnet_id, old_identity, err, errsz);
	if (rc == 0)
		rc = move_files(m, &copy, &next, &dirs, err, errsz);
	if (rc == 0 && (sw.next = vm_new(m->state_dir, &next)) == NULL)
		rc = -ENOMEM; /* the next start loads the VM under its new address */
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "%s", strerror(-rc));
		manager_pool_abort(m, &t);
		api_clear(&hvapi_local_vm_info_type, &next);
		move_dirs_free(&dirs);
		free(*old_identity);
		*old_identity = NULL;
		return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
	}
	/* The old names: only second names of files the new VM holds. */
	vmops_rmtree(dirs.vm_old);
	for (size_t i = 0; i < dirs.nvol; i++)
		vmops_rmtree(dirs.vol_old[i]);
	move_dirs_free(&dirs);
	rc = manager_pool_commit(m, &t, swap_vms, &sw);
	if (rc < 0)
		log_error("%s: writing the address pool: %s (repaired at the next start)",
			  sw.next->ipstr, strerror(-rc));
	gone = copy.vm;
	memset(&copy.vm, 0, sizeof(copy.vm));
	pthread_mutex_lock(&vm->mu);
	vm->removed = true;
	vm->deleted = true;
	vm->busy = false;
	pthread_cond_broadcast(&vm->changed);
	pthread_mutex_unlock(&vm->mu);
	api_clear(&hvapi_local_vm_info_type, &copy);
	net_forget(m, &gone);
	api_clear(&hvapi_vm_info_type, &gone);
	vmops_net_register(m, sw.next);
	*new_ip = sw.next->ip;
	log_info("%s: moved to subnet %s as %s", vm->ipstr, subnet_id, sw.next->ipstr);
	manager_changed(m, MANAGER_CHANGED_VM_GONE, vm->ipstr);
	manager_changed(m, MANAGER_CHANGED_VM, sw.next->ipstr);
	vm_unref(sw.next);
	return 0;
}

/* ---- ChangeVmVolumeStorageIndex ---- */

struct file_set {
	char *names[VMMOVE_MAX_FILES];
	size_t n;
};

static void file_set_free(struct file_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	s->n = 0;
}

static bool belongs(const char *name, const char *base, bool root)
{
	static const char *const boot[] = {"kernel", "initrd", "kernel.old", "initrd.old", NULL};
	size_t len = strlen(base);

	if (strcmp(name, base) == 0 || (strncmp(name, base, len) == 0 && name[len] == '.'))
		return true;
	for (size_t i = 0; root && boot[i] != NULL; i++)
		if (strcmp(name, boot[i]) == 0)
			return true;
	return false;
}

/* The files of the volume named base in dir, and their total size. */
static int volume_files(const char *dir, const char *base, bool root, struct file_set *s,
			uint64_t *bytes)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	*bytes = 0;
	if (d == NULL)
		return -errno;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char path[4352];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!belongs(e->d_name, base, root) || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (s->n == VMMOVE_MAX_FILES)
			rc = -E2BIG;
		else if ((s->names[s->n] = strdup(e->d_name)) == NULL)
			rc = -ENOMEM;
		else
			s->n++;
		*bytes += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return rc;
}

static void unlink_all(const char *dir, const struct file_set *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[4352];

		snprintf(path, sizeof(path), "%s/%s", dir, s->names[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			log_error("%s: %s", path, strerror(errno));
	}
}

/* Second names in to for the files of s in from. On failure none is left. */
static int copy_set(const char *from, const char *to, const struct file_set *s, char *err,
		    size_t errsz)
{
	for (size_t i = 0; i < s->n; i++) {
		char src[4352], dst[4352];
		int rc;

		snprintf(src, sizeof(src), "%s/%s", from, s->names[i]);
		snprintf(dst, sizeof(dst), "%s/%s", to, s->names[i]);
		rc = fsutil_link_or_copy(src, dst);
		if (rc < 0) {
			snprintf(err, errsz, "%s to %s: %s", src, dst,
				 rc == -EEXIST ? "destination exists" : strerror(-rc));
			unlink_all(to, s, i);
			return rc;
		}
	}
	return 0;
}

int vmmove_volume_storage(struct manager *m, struct vm *vm, uint32_t volume_index,
			  uint32_t storage_index, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	struct hvapi_local_volume *l;
	struct file_set files = {.n = 0};
	struct volumes_space sp;
	char olddir[4096], newdir[4096], nfile[4352], *slash;
	const char *base;
	uint64_t bytes;
	bool made = false;
	int rc = vmops_edit_begin(vm, VMOPS_NEED_STOPPED, VMOPS_EDIT_VOLUMES, &copy, err, errsz);

	if (rc < 0)
		return rc;
	if (volume_index >= copy.vm.volumes.n) {
		snprintf(err, errsz, "invalid volume index");
		return vmops_edit_finish(m, vm, &copy, -EINVAL, err, errsz);
	}
	if (storage_index >= m->vols.n) {
		snprintf(err, errsz, "invalid storage index: %u (%zu volume directories)",
			 storage_index, m->vols.n);
		return vmops_edit_finish(m, vm, &copy, -EINVAL, err, errsz);
	}
	l = &copy.volume_locations.v[volume_index];
	if (volumes_index_of(&m->vols, api_str(l->filename)) == (int)storage_index)
		return vmops_edit_finish(m, vm, &copy, -EALREADY, err, errsz) == -EALREADY ? 0
											   : -EIO;
	snprintf(olddir, sizeof(olddir), "%s", api_str(l->filename));
	slash = strrchr(olddir, '/');
	if (slash == NULL) {
		snprintf(err, errsz, "bad volume file name: %s", api_str(l->filename));
		return vmops_edit_finish(m, vm, &copy, -EINVAL, err, errsz);
	}
	*slash = '\0';
	base = slash + 1;
	snprintf(newdir, sizeof(newdir), "%s/%s", m->vols.v[storage_index].path, vm->ipstr);
	snprintf(nfile, sizeof(nfile), "%s/%s", newdir, base);
	rc = volume_files(olddir, base, volume_index == 0, &files, &bytes);
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", olddir, strerror(-rc));
		goto fail;
	}
	rc = volumes_space(&m->vols, storage_index, &sp);
	if (rc == 0 && bytes > sp.usable) {
		snprintf(err, errsz, "not enough free space");
		rc = -ENOSPC;
	}
	if (rc < 0)
		goto fail;
	if (mkdir(newdir, 0755) == 0)
		made = true;
	else if (errno != EEXIST) {
		rc = -errno;
		snprintf(err, errsz, "mkdir %s: %s", newdir, strerror(errno));
		goto fail;
	}
	rc = copy_set(olddir, newdir, &files, err, errsz);
	if (rc < 0)
		goto fail;
	free(l->filename);
	free(l->directory_to_cleanup);
	l->filename = strdup(nfile);
	l->directory_to_cleanup = strdup(newdir);
	if (l->filename == NULL || l->directory_to_cleanup == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	rc = vmops_edit_finish(m, vm, &copy, rc, err, errsz);
	/* Committed: the old names go; otherwise the new ones. */
	unlink_all(rc == 0 ? olddir : newdir, &files, files.n);
	if (rc == 0) {
		rmdir(olddir); /* when no other volume of the VM is there */
		log_info("%s: volume %u moved to %s", vm->ipstr, volume_index, newdir);
	} else if (made) {
		rmdir(newdir);
	}
	file_set_free(&files);
	return rc;
fail:
	if (made)
		rmdir(newdir);
	file_set_free(&files);
	return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
}
