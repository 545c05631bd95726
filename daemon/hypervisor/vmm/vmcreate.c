/* CreateVm (see vmcreate.h). */
#include "daemon/hypervisor/vmm/vmcreate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/identity.h"
#include "daemon/hypervisor/vmm/imagefetch.h"
#include "daemon/hypervisor/vmm/objcache.h"
#include "daemon/hypervisor/vmm/rootdisk.h"
#include "daemon/hypervisor/vmm/vmimage.h"
#include "daemon/hypervisor/vmm/vmcheck.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

#define COPY_BUF (1u << 20)

uint64_t vmcreate_payload_size(const struct hvapi_create_vm_request *req)
{
	uint64_t n = req->image_data_size + req->user_data_size;

	if (req->secondary_volumes_data)
		for (size_t i = 0; i < req->secondary_volumes.n; i++)
			n += req->secondary_volumes.v[i].size;
	return n;
}

static int validate(struct manager *m, const struct vm_caller *c,
		    const struct hvapi_create_vm_request *req, char *err, size_t errsz)
{
	const struct hvapi_vm_info *v = &req->vm;

	if (atomic_load(&m->disabled)) {
		snprintf(err, errsz, "Hypervisor is disabled");
		return -EPERM;
	}
	if (c->user == NULL || *c->user == '\0') {
		snprintf(err, errsz, "no authentication data");
		return -EACCES;
	}
	if (vmcheck_vm_info(v, err, errsz) < 0)
		return -EINVAL;
	if (v->memory_mib < 1 || v->milli_cpus < 1) {
		snprintf(err, errsz, "MemoryInMiB and MilliCPUs must be at least 1");
		return -EINVAL;
	}
	if (v->virtual_cpus != 0 && v->virtual_cpus < v->milli_cpus / 1000) {
		snprintf(err, errsz, "VirtualCPUs must be at least MilliCPUs/1000");
		return -EINVAL;
	}
	if (v->cpu_priority < 0 && !c->admin) {
		snprintf(err, errsz, "negative CPU priority needs admin rights");
		return -EPERM;
	}
	if (*api_str(v->virtualiser_image_name)) {
		snprintf(err, errsz, "custom virtualiser images are not supported with libvirt");
		return -EOPNOTSUPP;
	}
	if (req->identity_certificate.len && req->identity_key.len) {
		struct timespec expires;
		char *name = NULL;
		int rc =
		    identity_check(req->identity_certificate.data, req->identity_certificate.len,
				   req->identity_key.data, req->identity_key.len, NULL, c->user,
				   &name, &expires, err, errsz);

		free(name);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < v->volumes.n; i++)
		if (v->volumes.v[i].interface == HVAPI_VOLUME_INTERFACE_NVME ||
		    v->volumes.v[i].interface == HVAPI_VOLUME_INTERFACE_DFM ||
		    v->volumes.v[i].type == HVAPI_VOLUME_TYPE_MEMORY) {
			snprintf(err, errsz, "volume %zu: interface/type not supported", i);
			return -EOPNOTSUPP;
		}
	for (size_t i = 0; i < req->secondary_volumes.n; i++) {
		const struct hvapi_volume *sv = &req->secondary_volumes.v[i];

		if (sv->size == 0 || sv->type == HVAPI_VOLUME_TYPE_MEMORY ||
		    sv->interface == HVAPI_VOLUME_INTERFACE_NVME ||
		    sv->interface == HVAPI_VOLUME_INTERFACE_DFM) {
			snprintf(err, errsz,
				 "secondary volume %zu: size 0 or unsupported interface/type", i);
			return -EINVAL;
		}
	}
	if (req->secondary_volumes_init.n > 0) {
		snprintf(err, errsz, "SecondaryVolumesInit is not supported yet");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < v->secondary_subnet_ids.n; i++) {
		if (*v->secondary_subnet_ids.v[i] == '\0') {
			snprintf(err, errsz, "empty secondary subnet id");
			return -EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(v->secondary_subnet_ids.v[k], v->secondary_subnet_ids.v[i]) ==
			    0) {
				snprintf(err, errsz, "duplicate secondary subnet: %s",
					 v->secondary_subnet_ids.v[i]);
				return -EINVAL;
			}
	}
	if (req->image_data_size == 0 && *api_str(v->image_url) == '\0' &&
	    *api_str(v->image_name) == '\0' && req->minimum_free_bytes == 0) {
		snprintf(err, errsz, "no image specified");
		return -EINVAL;
	}
	return 0;
}

static int strlist_copy_dedup(struct api_strlist *dst, const char *first,
			      const struct api_strlist *src)
{
	int rc = 0;

	if (first != NULL && *first)
		rc = api_strlist_add(dst, first);
	for (size_t i = 0; rc == 0 && i < src->n; i++)
		if (*src->v[i] && !api_strlist_contains(dst, src->v[i]))
			rc = api_strlist_add(dst, src->v[i]);
	return rc;
}

/* The new VM's record from the request (volumes are filled in later). */
static int initial_info(struct manager *m, const struct vm_caller *c,
			const struct hvapi_create_vm_request *req, struct hvapi_local_vm_info *info)
{
	struct hvapi_vm_info *v = &info->vm;
	int rc = api_copy(&hvapi_vm_info_type, v, &req->vm);

	if (rc < 0)
		return rc;
	api_strlist_clear(&v->owner_users);
	api_strlist_clear(&v->owner_groups);
	rc = strlist_copy_dedup(&v->owner_users, c->user, &req->vm.owner_users);
	if (rc == 0)
		rc = strlist_copy_dedup(&v->owner_groups, NULL, &req->vm.owner_groups);
	if (rc < 0)
		return rc;
	/* Only the root's Interface/Type/Format are taken from Volumes (§5.1). */
	for (size_t i = 0; i < v->volumes.n; i++)
		api_clear(&hvapi_volume_type, &v->volumes.v[i]);
	free(v->volumes.v);
	memset(&v->volumes, 0, sizeof(v->volumes));
	free(v->secondary_addresses.v); /* re-filled by allocation */
	memset(&v->secondary_addresses, 0, sizeof(v->secondary_addresses));
	if (v->architecture == HVAPI_ARCH_AUTO)
		v->architecture =
		    strcmp(m->host_arch, "aarch64") == 0 ? HVAPI_ARCH_ARM64 : HVAPI_ARCH_AMD64;
	v->state = HVAPI_STATE_STOPPED;
	v->uncommitted = false;
	clock_gettime(CLOCK_REALTIME, &v->created_on);
	v->changed_state_on = v->created_on;
	if (v->network_entries.n > 1 + req->vm.secondary_subnet_ids.n)
		v->network_entries.n = 1 + req->vm.secondary_subnet_ids.n;
	return 0;
}

static void insert_vm(struct manager *m, void *arg, bool saved)
{
	struct vm **vmp = arg;

	if (saved && manager_insert_locked(m, vm_ref(*vmp)) < 0) {
		vm_unref(*vmp);
		vm_unref(*vmp);
		*vmp = NULL;
	}
}

/* Allocates addresses and capacity and inserts the VM (busy, stopped). Pool writers
 * are serialized (manager_pool_begin), so the capacity check and the allocation see
 * every VM created before; the VM enters the map with the pool that gives it its
 * addresses, once address-pool.json is written. */
static int allocate(struct manager *m, const struct vm_caller *c,
		    const struct hvapi_create_vm_request *req, struct hvapi_local_vm_info *info,
		    struct vm **out, char *err, size_t errsz)
{
	struct subnets_caller sc = {c->user, c->groups, c->ngroups, c->admin};
	const struct hvapi_subnets *subnets = &m->st->subnets;
	const struct hvapi_subnet *s;
	uint64_t mcpu, mem, storage, avail;
	struct hvapi_vm_info *v = &info->vm;
	struct manager_pool_txn t;
	struct vm *vm = NULL;
	int rc = manager_pool_begin(m, &t);

	if (rc < 0)
		goto out;
	manager_usage(m, &mcpu, &mem, &storage);
	avail = manager_mem_available_mib();
	if (mcpu + v->milli_cpus > (uint64_t)m->ncpus * 1000) {
		snprintf(
		    err, errsz, "insufficient CPUs: %llu milli-CPUs left",
		    (unsigned long long)((uint64_t)m->ncpus * 1000 -
					 (mcpu < m->ncpus * 1000ULL ? mcpu : m->ncpus * 1000ULL)));
		rc = -ENOSPC;
		goto out_abort;
	}
	if (mem + v->memory_mib > m->mem_total_mib || (avail != 0 && v->memory_mib >= avail)) {
		snprintf(err, errsz, "insufficient memory for %llu MiB",
			 (unsigned long long)v->memory_mib);
		rc = -ENOSPC;
		goto out_abort;
	}
	/* The original looks at the pool before the subnets. */
	if (t.pool.free.n == 0) {
		snprintf(err, errsz, "no free addresses in pool");
		rc = -ENOSPC;
		goto out_abort;
	}
	rc = subnets_select(subnets, req->vm.subnet_id, &sc, &s, err, errsz);
	if (rc == 0)
		rc = addrpool_allocate(&t.pool, s, req->vm.address.ip, &v->address, err, errsz);
	if (rc < 0)
		goto out_abort;
	free(v->subnet_id);
	v->subnet_id = strdup(api_str(s->id));
	v->secondary_addresses.v =
	    calloc(req->vm.secondary_subnet_ids.n + 1, sizeof(struct hvapi_address));
	if (v->subnet_id == NULL || v->secondary_addresses.v == NULL) {
		rc = -ENOMEM;
		goto out_abort;
	}
	for (size_t i = 0; i < req->vm.secondary_subnet_ids.n; i++) {
		const struct hvapi_subnet *ss;
		struct in_addr want = {0};

		rc = subnets_select(subnets, req->vm.secondary_subnet_ids.v[i], &sc, &ss, err,
				    errsz);
		if (rc < 0)
			goto out_abort;
		if (i < req->vm.secondary_addresses.n)
			want = req->vm.secondary_addresses.v[i].ip;
		rc = addrpool_allocate(&t.pool, ss, want, &v->secondary_addresses.v[i], err, errsz);
		if (rc < 0)
			goto out_abort;
		v->secondary_addresses.n++;
	}
	vm = vm_new(m->state_dir, info);
	if (vm == NULL) {
		rc = -ENOMEM;
		goto out_abort;
	}
	vm->busy = true;
	rc = manager_pool_commit(m, &t, insert_vm, &vm);
	if (rc == 0 && vm == NULL)
		rc = -EEXIST; /* the pool is written, but the map refused the VM: the restart's
			       * reconciliation frees its addresses */
	if (rc < 0) {
		snprintf(err, errsz, "recording the allocation: %s", strerror(-rc));
		goto out;
	}
	*out = vm;
	return 0;

out_abort:
	manager_pool_abort(m, &t);
out:
	vm_unref(vm);
	if (rc == -ENOMEM && err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	return rc;
}

/* Copies len streamed bytes into fd. */
static int copy_stream(const struct vmcreate_io *io, int fd, uint64_t len)
{
	char *buf = malloc(COPY_BUF);
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (len > 0 && rc == 0) {
		size_t n = len > COPY_BUF ? COPY_BUF : (size_t)len;

		rc = io->read(io->arg, buf, n);
		if (rc == 0)
			rc = fsutil_write_all(fd, buf, n);
		len -= n;
	}
	free(buf);
	return rc;
}

struct placement {
	uint64_t *allocated; /* per volume directory */
	size_t next;
};

/* Bytes already promised to volumes, per volume directory. */
static int placement_init(struct manager *m, struct placement *pl)
{
	pl->allocated = manager_volume_allocation(m);
	pl->next = 0;
	return pl->allocated == NULL ? -ENOMEM : 0;
}

/* Adds volume i's record and location to info and returns the file path. */
static int add_volume(struct manager *m, struct vm *vm, struct hvapi_local_vm_info *info,
		      const struct hvapi_volume *proto, uint64_t size, int dir, const char *name,
		      char *path, size_t pathsz)
{
	char vdir[4096];
	int rc;

	snprintf(vdir, sizeof(vdir), "%s/%s", m->vols.v[dir].path, vm->ipstr);
	if (snprintf(path, pathsz, "%s/%s", vdir, name) >= (int)pathsz)
		return -ENAMETOOLONG;
	rc = vm_append_volume(info, proto, size, vdir, path);
	return rc < 0 ? rc : fsutil_mkdir_p(vdir, 0755);
}

/* Root volume from ImageName (spec §7.2 step 7): resolve, size from the image's
 * estimated usage, place, unpack through the object cache into a tree beside the
 * volume, write the bootable disk, drop the tree. */
static int make_root_from_image(struct manager *m, struct vm *vm,
				struct hvapi_create_vm_request *req, const struct vmcreate_io *io,
				struct hvapi_local_vm_info *info, struct placement *pl, char *err,
				size_t errsz)
{
	struct hvapi_volume proto = {0};
	struct vmimage vi;
	char path[4096], tree[4200], kernel[4200], initrd[4200], label[32], msg[1200];
	const char *dir_of;
	uint64_t size;
	bool uefi;
	int dir, rc;

	io->progress(io->arg, "getting image", (struct in_addr){0});
	rc = vmimage_open(m->cfg, api_str(req->vm.image_name), &vi, err, errsz);
	if (rc < 0)
		return rc;
	uefi = req->vm.firmware == HVAPI_FIRMWARE_UEFI;
	size = rootdisk_size(req->minimum_free_bytes, req->roundup_power, vi.usage);
	if (size != 0)
		size += rootdisk_overhead(uefi);
	if (size == 0) {
		snprintf(err, errsz, "root volume size out of range");
		rc = -EINVAL;
		goto out;
	}
	dir = volumes_place(&m->vols, size,
			    req->storage_indices.n > 0 ? (int)req->storage_indices.v[0] : -1, 0,
			    pl->allocated);
	if (dir < 0) {
		snprintf(err, errsz, "no space for a %llu byte root volume",
			 (unsigned long long)size);
		rc = -ENOSPC;
		goto out;
	}
	pl->next = req->vm.spread_volumes ? (size_t)dir + 1 : (size_t)dir;
	if (req->vm.volumes.n > 0)
		proto = req->vm.volumes.v[0];
	proto.format = HVAPI_VOLUME_FORMAT_RAW;
	rc = add_volume(m, vm, info, &proto, size, dir, "root", path, sizeof(path));
	if (rc < 0) {
		snprintf(err, errsz, "root volume %s: %s", path, strerror(-rc));
		goto out;
	}
	dir_of = api_str(info->volume_locations.v[0].directory_to_cleanup);
	snprintf(tree, sizeof(tree), "%s/root.tree", dir_of);
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir_of);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir_of);
	snprintf(msg, sizeof(msg), "unpacking image: %s", vi.name);
	io->progress(io->arg, msg, (struct in_addr){0});
	vmops_rmtree(tree);
	rc = vmimage_unpack(&vi, m->objcache, tree, err, errsz);
	if (rc == 0) {
		struct rootdisk_config rc_cfg = {
		    .tree = tree,
		    .path = path,
		    .size = size,
		    .label = label,
		    .extra = api_str(req->vm.extra_kernel_options),
		    .skip_bootloader = req->skip_bootloader,
		    .uefi = uefi,
		    .kernel_out = kernel,
		    .initrd_out = initrd,
		};

		rootdisk_label(vm->ip, label, sizeof(label));
		rc = rootdisk_write(&rc_cfg, err, errsz);
		if (rc < 0)
			log_error("%s: root volume from %s: %s", vm->ipstr, vi.name, err);
	}
	vmops_rmtree(tree);
	if (rc < 0)
		goto out;
	/* The record keeps the image it was made from and the size it got. */
	info->vm.volumes.v[0].size = size;
	info->vm.volumes.v[0].format = HVAPI_VOLUME_FORMAT_RAW;
	free(info->vm.image_name);
	info->vm.image_name = strdup(vi.name);
	if (info->vm.image_name == NULL)
		rc = -ENOMEM;
	log_info("%s: root volume of %llu bytes from image %s", vm->ipstr, (unsigned long long)size,
		 vi.name);
out:
	vmimage_close(&vi);
	return rc;
}

static int make_root(struct manager *m, struct vm *vm, struct hvapi_create_vm_request *req,
		     const struct vmcreate_io *io, struct hvapi_local_vm_info *info,
		     struct placement *pl, char *err, size_t errsz)
{
	const struct hvapi_volume *proto = req->vm.volumes.n > 0 ? &req->vm.volumes.v[0] : NULL;
	uint64_t size = req->image_data_size ? req->image_data_size : req->minimum_free_bytes;
	const char *url = api_str(req->vm.image_url);
	char path[4096];
	int dir, fd, rc;

	if (*api_str(req->vm.image_name))
		return make_root_from_image(m, vm, req, io, info, pl, err, errsz);
	/* A URL's size is only known after the fetch: reserve MinimumFreeBytes (or 0). */
	dir = volumes_place(&m->vols, size,
			    req->storage_indices.n > 0 ? (int)req->storage_indices.v[0] : -1, 0,
			    pl->allocated);
	if (dir < 0) {
		snprintf(err, errsz, "no space for a %llu byte root volume",
			 (unsigned long long)size);
		return -ENOSPC;
	}
	pl->next = req->vm.spread_volumes ? (size_t)dir + 1 : (size_t)dir;
	rc = add_volume(m, vm, info, proto, size, dir, "root", path, sizeof(path));
	if (rc < 0) {
		snprintf(err, errsz, "root volume %s: %s", path, strerror(-rc));
		return rc;
	}
	if (req->image_data_size == 0 && *url == '\0') {
		rc = volumes_create_empty(path, size);
		if (rc < 0)
			snprintf(err, errsz, "creating %s: %s", path, strerror(-rc));
		return rc;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "creating %s: %s", path, strerror(errno));
		return rc;
	}
	if (req->image_data_size > 0) {
		io->progress(io->arg, "copying image", (struct in_addr){0});
		rc = copy_stream(io, fd, req->image_data_size);
		if (rc < 0)
			snprintf(err, errsz, "receiving image: %s", strerror(-rc));
	} else {
		char msg[4200];

		snprintf(msg, sizeof(msg), "fetching image: %s", url);
		io->progress(io->arg, msg, (struct in_addr){0});
		rc = imagefetch_copy(url, m->cfg->local_images_directory, fd, &size,
				     (int)(req->image_timeout_ns / 1000000), err, errsz);
		info->vm.volumes.v[0].size = size;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && info->vm.volumes.v[0].format == HVAPI_VOLUME_FORMAT_QCOW2)
		info->vm.volumes.v[0].virtual_size = volumes_qcow2_virtual_size(fd);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "writing %s: %s", path, strerror(-rc));
	return rc;
}

static int make_secondaries(struct manager *m, struct vm *vm, struct hvapi_create_vm_request *req,
			    const struct vmcreate_io *io, struct hvapi_local_vm_info *info,
			    struct placement *pl, char *err, size_t errsz)
{
	if (req->secondary_volumes.n > 0)
		io->progress(io->arg, "creating secondary volumes", (struct in_addr){0});
	for (size_t i = 0; i < req->secondary_volumes.n; i++) {
		const struct hvapi_volume *sv = &req->secondary_volumes.v[i];
		int pin = i + 1 < req->storage_indices.n ? (int)req->storage_indices.v[i + 1] : -1;
		int dir = volumes_place(&m->vols, sv->size, pin, pl->next, pl->allocated);
		char name[64], path[4096];
		int rc, fd;

		if (dir < 0) {
			snprintf(err, errsz, "no space for secondary volume %zu", i);
			return -ENOSPC;
		}
		if (req->vm.spread_volumes)
			pl->next = (size_t)dir + 1;
		snprintf(name, sizeof(name), "secondary-volume.%zu", i);
		rc = add_volume(m, vm, info, sv, sv->size, dir, name, path, sizeof(path));
		if (rc == 0 && !req->secondary_volumes_data)
			rc = volumes_create_empty(path, sv->size);
		else if (rc == 0) {
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			rc = fd < 0 ? -errno : copy_stream(io, fd, sv->size);
			if (fd >= 0 && fsync(fd) < 0 && rc == 0)
				rc = -errno;
			if (fd >= 0)
				close(fd);
		}
		if (rc < 0) {
			snprintf(err, errsz, "secondary volume %s: %s", path, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int write_user_data(struct vm *vm, const struct hvapi_create_vm_request *req,
			   const struct vmcreate_io *io, char *err, size_t errsz)
{
	char path[4096];
	int fd, rc;

	if (req->user_data_size == 0)
		return 0;
	vm_path(vm, "user-data.raw", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rc = fd < 0 ? -errno : copy_stream(io, fd, req->user_data_size);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		snprintf(err, errsz, "user data: %s", strerror(-rc));
	return rc;
}

/* Removes the volume files and directories a failed create made. */
static void remove_volumes(const struct hvapi_local_vm_info *record)
{
	for (size_t i = 0; i < record->volume_locations.n; i++) {
		const struct hvapi_local_volume *l = &record->volume_locations.v[i];

		if (l->filename != NULL)
			unlink(l->filename);
		if (l->directory_to_cleanup != NULL && *l->directory_to_cleanup)
			vmops_rmtree(l->directory_to_cleanup);
	}
}

/* The identity given with the request (checked in validate) into the VM's directory
 * and its name and expiry into the record. */
static int write_identity(struct vm *vm, const struct vm_caller *c,
			  const struct hvapi_create_vm_request *req,
			  struct hvapi_local_vm_info *record, char *err, size_t errsz)
{
	const struct api_bytes *cert = &req->identity_certificate, *key = &req->identity_key;
	struct timespec expires;
	char *name = NULL;
	int rc;

	if (cert->len == 0 || key->len == 0)
		return 0;
	rc = identity_check(cert->data, cert->len, key->data, key->len, NULL, c->user, &name,
			    &expires, err, errsz);
	if (rc == 0)
		rc = identity_write(vm, cert->data, cert->len, key->data, key->len, err, errsz);
	if (rc == 0) {
		free(record->vm.identity_name);
		record->vm.identity_name = name;
		record->vm.identity_expires = expires;
		name = NULL;
	}
	free(name);
	return rc;
}

static int write_create_request(struct vm *vm, struct hvapi_create_vm_request *req)
{
	struct api_bytes key = req->identity_key;
	char path[4096];
	int rc;

	vm_path(vm, "create-request.json", path, sizeof(path));
	req->identity_key = (struct api_bytes){0};
	rc = api_write_file(&hvapi_create_vm_request_type, path, req, 0644);
	req->identity_key = key;
	return rc;
}

int vmcreate(struct manager *m, const struct vm_caller *c, struct hvapi_create_vm_request *req,
	     const struct vmcreate_io *io, struct in_addr *ip, bool *dhcp_timed_out, char *err,
	     size_t errsz)
{
	struct hvapi_local_vm_info info = {0}, record = {0};
	struct placement pl = {0};
	struct vm *vm = NULL;
	char msg[128];
	int rc;

	ip->s_addr = 0;
	*dhcp_timed_out = false;
	rc = validate(m, c, req, err, errsz);
	if (rc < 0)
		return rc;
	rc = initial_info(m, c, req, &info);
	if (rc == 0)
		rc = allocate(m, c, req, &info, &vm, err, errsz);
	api_clear(&hvapi_local_vm_info_type, &info);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "%s", strerror(-rc));
		return rc;
	}
	*ip = vm->ip;
	log_info("%s: creating VM for %s", vm->ipstr, c->user);

	rc = fsutil_mkdir_p(vm->dir, 0755);
	if (rc < 0)
		snprintf(err, errsz, "mkdir %s: %s", vm->dir, strerror(-rc));
	pthread_mutex_lock(&vm->mu);
	if (rc == 0)
		rc = api_copy(&hvapi_local_vm_info_type, &record, &vm->info);
	pthread_mutex_unlock(&vm->mu);
	if (rc == 0)
		rc = placement_init(m, &pl);
	/* Long I/O without locks: the VM is busy, so nothing else touches it. */
	if (rc == 0)
		rc = make_root(m, vm, req, io, &record, &pl, err, errsz);
	if (rc == 0)
		rc = write_user_data(vm, req, io, err, errsz);
	if (rc == 0)
		rc = make_secondaries(m, vm, req, io, &record, &pl, err, errsz);
	free(pl.allocated);
	if (rc == 0)
		rc = write_identity(vm, c, req, &record, err, errsz);
	if (rc == 0) {
		pthread_mutex_lock(&vm->mu);
		rc = vm_commit(vm, &record);
		pthread_mutex_unlock(&vm->mu);
		if (rc < 0)
			snprintf(err, errsz, "writing info.json: %s", strerror(-rc));
	}
	if (rc == 0 && write_create_request(vm, req) < 0)
		log_warn("%s: could not write create-request.json", vm->ipstr);
	if (rc < 0)
		remove_volumes(&record); /* not in the VM's record yet: vmops_delete misses them */
	api_clear(&hvapi_local_vm_info_type, &record);
	if (rc == 0 && !req->do_not_start) {
		snprintf(msg, sizeof(msg), "starting VM %s", vm->ipstr);
		io->progress(io->arg, msg, vm->ip);
		pthread_mutex_lock(&vm->mu);
		vm_set_state(vm, HVAPI_STATE_STARTING);
		vm->boot_network = req->enable_netboot;
		pthread_mutex_unlock(&vm->mu);
		rc = vmops_boot(m, vm, req->dhcp_timeout_ns, dhcp_timed_out, err, errsz);
	}
	if (rc < 0) {
		log_error("%s: create failed: %s", vm->ipstr, err);
		if (err[0] == '\0')
			snprintf(err, errsz, "%s", strerror(-rc));
		vmops_delete(m, vm);
		vm_unref(vm);
		return rc;
	}
	vmops_arm_ack(m, vm);
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_mutex_unlock(&vm->mu);
	atomic_fetch_add(&m->n_creates, 1);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	vm_unref(vm);
	return 0;
}

int vmcreate_allocate(struct manager *m, const struct vm_caller *c,
		      const struct hvapi_create_vm_request *req, struct vm **out, char *err,
		      size_t errsz)
{
	struct hvapi_local_vm_info info = {0};
	int rc = initial_info(m, c, req, &info);

	if (rc == 0)
		rc = allocate(m, c, req, &info, out, err, errsz);
	api_clear(&hvapi_local_vm_info_type, &info);
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "%s", strerror(-rc));
	return rc;
}
