/* RPC handlers for a VM's volumes (spec/rpc.md §5, hypervisor.md §3, §7.7):
 * AddVmVolumes, DeleteVmVolume, ChangeVmVolumeSize, SnapshotVm, RestoreVmFromSnapshot,
 * DiscardVmSnapshot, ReorderVmVolumes (GetVmVolume is in rpc_getvolume.c).
 *
 * Every handler checks the caller's rights (rpc_vm), marks the VM busy (other
 * mutations and StartVm are refused meanwhile), works on a copy of the record with
 * vm->mu released (file I/O), and commits the copy as info.json at the end. Files are
 * prepared under temporary names first and put in place only when every step
 * succeeded, so a refused or failed call leaves the VM's files and record as they
 * were. ReorderVmVolumes renames the files as the original does (root,
 * secondary-volume.N); snapshots are `<volume file>.snapshot[:<name>]`. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/vmops.h"
#include "daemon/hypervisor/vmm/volresize.h"
#include "daemon/hypervisor/vmm/volumes.h"
#include "fsutil.h"
#include "log.h"

#define PATH_SZ 4352

/* ---- common frame: rights, then vmops' edit (state, busy flag, record copy) ---- */

enum need { NEED_ANY, NEED_STOPPED, NEED_STOPPED_OR_FORCE };

/* The VM at ip, busy, with a copy of its record in *copy. NULL with err set. */
static struct vm *begin(struct rpc *r, struct srpc_call *call, struct in_addr ip,
			const struct api_bytes *token, enum need need, bool force,
			struct hvapi_local_vm_info *copy, char *err, size_t errsz)
{
	static const enum vmops_need needs[] = {VMOPS_NEED_ANY, VMOPS_NEED_STOPPED,
						VMOPS_NEED_STOPPED_OR_FORCE};
	struct vm *vm = rpc_vm(r, call, ip, token, err, errsz);

	if (vm != NULL &&
	    vmops_edit_begin(vm, needs[need], VMOPS_EDIT_VOLUMES | (force ? VMOPS_EDIT_FORCE : 0),
			     copy, err, errsz) < 0) {
		vm_unref(vm);
		return NULL;
	}
	return vm;
}

/* Commits copy when rc == 0, clears busy, frees copy, drops the reference. Returns
 * rc, or the commit's error (err set). */
static int finish(struct rpc *r, struct vm *vm, struct hvapi_local_vm_info *copy, int rc, char *err,
		  size_t errsz)
{
	rc = vmops_edit_finish(r->m, vm, copy, rc, err, errsz);
	vm_unref(vm);
	return rc;
}

static const char *file_of(const struct hvapi_local_vm_info *info, size_t i)
{
	return api_str(info->volume_locations.v[i].filename);
}

/* err = "<what> <arg>: <strerror(-rc)>"; returns rc. */
static int fail(char *err, size_t errsz, int rc, const char *what, const char *arg)
{
	snprintf(err, errsz, "%s %s: %s", what, arg, strerror(-rc));
	return rc;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Snapshot names may not contain '.', ':' or '/' ("" = the unnamed snapshot). */
static bool snapshot_name_valid(const char *name)
{
	return strpbrk(name, ".:/") == NULL && strlen(name) < 200;
}

static void snapshot_path(const char *file, const char *name, char *buf, size_t sz)
{
	if (*name == '\0')
		snprintf(buf, sz, "%s.snapshot", file);
	else
		snprintf(buf, sz, "%s.snapshot:%s", file, name);
}

static struct hvapi_snapshot *snapshot_find(struct hvapi_volume *v, const char *name)
{
	for (size_t i = 0; i < v->snapshots.n; i++)
		if (strcmp(api_str(v->snapshots.v[i].name), name) == 0)
			return &v->snapshots.v[i];
	return NULL;
}

static void snapshot_remove(struct hvapi_volume *v, const char *name)
{
	struct hvapi_snapshot *s = snapshot_find(v, name);
	size_t i;

	if (s == NULL)
		return;
	i = (size_t)(s - v->snapshots.v);
	free(s->name);
	memmove(s, s + 1, (v->snapshots.n - i - 1) * sizeof(*s));
	v->snapshots.n--;
}

static int snapshot_set(struct hvapi_volume *v, const char *name, uint64_t size)
{
	struct hvapi_snapshot *s = snapshot_find(v, name), *nv;

	if (s != NULL) {
		s->size = size;
		return 0;
	}
	nv = realloc(v->snapshots.v, (v->snapshots.n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	v->snapshots.v = nv;
	nv[v->snapshots.n].name = strdup(name);
	if (nv[v->snapshots.n].name == NULL)
		return -ENOMEM;
	nv[v->snapshots.n++].size = size;
	return 0;
}

/* ---- AddVmVolumes ---- */

/* A free "secondary-volume.N" path in vdir (not recorded, not on disk). */
static int new_volume_path(const struct hvapi_local_vm_info *info, const char *vdir, char *path,
			   size_t sz)
{
	for (unsigned n = 0; n < 100000; n++) {
		bool used = false;

		if (snprintf(path, sz, "%s/secondary-volume.%u", vdir, n) >= (int)sz)
			return -ENAMETOOLONG;
		for (size_t i = 0; i < info->volume_locations.n && !used; i++)
			used = strcmp(file_of(info, i), path) == 0;
		if (!used && access(path, F_OK) < 0 && errno == ENOENT)
			return 0;
	}
	return -EEXIST;
}

/* New volumes use the root volume's interface (virtio unless changed). */
static int append_volume(struct hvapi_local_vm_info *info, uint64_t size, const char *vdir,
			 const char *path)
{
	struct hvapi_volume proto = {0};

	if (info->vm.volumes.n > 0)
		proto.interface = info->vm.volumes.v[0].interface;
	return vm_append_volume(info, &proto, size, vdir, path);
}

static int add_volumes(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
		       char *err, size_t errsz)
{
	const struct hvapi_add_vm_volumes_request *q = req;
	struct hvapi_local_vm_info copy = {0};
	struct manager *m = r->m;
	char(*made)[PATH_SZ] = NULL;
	uint64_t *alloc = NULL;
	size_t nmade = 0, first;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	if (q->volume_sizes.n == 0) {
		snprintf(err, errsz, "no volume sizes given");
		return -EINVAL;
	}
	for (size_t i = 0; i < q->volume_sizes.n; i++)
		if (q->volume_sizes.v[i] == 0) {
			snprintf(err, errsz, "volume %zu: size must be greater than 0", i);
			return -EINVAL;
		}
	vm = begin(r, call, q->ip, NULL, NEED_STOPPED, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	first = copy.vm.volumes.n;
	made = calloc(q->volume_sizes.n, sizeof(*made));
	alloc = manager_volume_allocation(m);
	if (made == NULL || alloc == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; i < q->volume_sizes.n && rc == 0; i++) {
		uint64_t size = q->volume_sizes.v[i];
		int d = volumes_place(&m->vols, size, -1, 0, alloc);
		char vdir[PATH_SZ];

		if (d < 0) {
			snprintf(err, errsz, "no space for a %llu byte volume",
				 (unsigned long long)size);
			rc = -ENOSPC;
			break;
		}
		snprintf(vdir, sizeof(vdir), "%s/%s", m->vols.v[d].path, vm->ipstr);
		rc = fsutil_mkdir_p(vdir, 0755);
		if (rc == 0)
			rc = new_volume_path(&copy, vdir, made[nmade], sizeof(made[nmade]));
		if (rc == 0)
			rc = append_volume(&copy, size, vdir, made[nmade]);
		if (rc == 0) {
			rc = volumes_create_empty(made[nmade], size);
			if (rc == 0)
				nmade++;
		}
		if (rc < 0)
			fail(err, errsz, rc, "creating volume in", vdir);
	}
	rc = finish(r, vm, &copy, rc, err, errsz);
	if (rc < 0)
		for (size_t i = 0; i < nmade; i++)
			unlink(made[i]);
	else
		log_info("%s: %zu volumes added (now %zu)", vm->ipstr, q->volume_sizes.n,
			 first + q->volume_sizes.n);
	free(made);
	free(alloc);
	return rc;
}

/* ---- DeleteVmVolume ---- */

/* Removes file and its snapshots (<file>.snapshot*). */
static void remove_volume_files(const char *file)
{
	char dir[PATH_SZ], prefix[PATH_SZ];
	const char *base = strrchr(file, '/');
	struct dirent *e;
	DIR *d;

	unlink(file);
	if (base == NULL)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - file), file);
	snprintf(prefix, sizeof(prefix), "%s.snapshot", base + 1);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    (e->d_name[strlen(prefix)] == '\0' || e->d_name[strlen(prefix)] == ':'))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int delete_volume(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			 char *err, size_t errsz)
{
	const struct hvapi_delete_vm_volume_request *q = req;
	struct hvapi_local_vm_info copy = {0};
	struct hvapi_local_volume gone = {0};
	size_t k = q->volume_index;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	if (k < 1) {
		snprintf(err, errsz, "cannot delete root volume");
		return -EINVAL;
	}
	vm = begin(r, call, q->ip, &q->access_token, NEED_STOPPED, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	if (k >= copy.vm.volumes.n) {
		snprintf(err, errsz, "volume index %zu too large: VM has %zu volumes", k,
			 copy.vm.volumes.n);
		rc = -EINVAL;
	} else {
		api_clear(&hvapi_volume_type, &copy.vm.volumes.v[k]);
		memmove(&copy.vm.volumes.v[k], &copy.vm.volumes.v[k + 1],
			(copy.vm.volumes.n - k - 1) * sizeof(copy.vm.volumes.v[0]));
		copy.vm.volumes.n--;
		gone = copy.volume_locations.v[k];
		memmove(&copy.volume_locations.v[k], &copy.volume_locations.v[k + 1],
			(copy.volume_locations.n - k - 1) * sizeof(copy.volume_locations.v[0]));
		copy.volume_locations.n--;
	}
	rc = finish(r, vm, &copy, rc, err, errsz);
	/* The record no longer has the volume: now its files go. */
	if (rc == 0) {
		remove_volume_files(api_str(gone.filename));
		if (gone.directory_to_cleanup != NULL)
			rmdir(gone.directory_to_cleanup); /* only when empty */
		log_info("deleted volume %s", api_str(gone.filename));
	}
	api_clear(&hvapi_local_volume_type, &gone);
	return rc;
}

/* ---- ChangeVmVolumeSize ---- */

/* Sets the size of the volume file (truncate, then allocate the blocks). */
static int set_file_size(int fd, uint64_t size, const char *file, char *err, size_t errsz)
{
	if (ftruncate(fd, (off_t)size) < 0)
		return fail(err, errsz, -errno, "resizing", file);
	(void)posix_fallocate(fd, 0, (off_t)size); /* sparse where unsupported */
	if (fsync(fd) < 0)
		return fail(err, errsz, -errno, "resizing", file);
	return 0;
}

/* Grows the file of volume k of copy to size after the free-space check ("not enough
 * free space"). The caller then grows its file-system (grow2fs) while the VM is still
 * busy, and returns that error, as the original does, with the new size recorded. */
static int grow_volume(struct rpc *r, struct hvapi_local_vm_info *copy, size_t k, uint64_t size,
		       int fd, char *err, size_t errsz)
{
	const char *file = file_of(copy, k);
	uint64_t old = copy->vm.volumes.v[k].size, *alloc = manager_volume_allocation(r->m);
	int d = volumes_index_of(&r->m->vols, file), rc = 0;

	if (alloc == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (d >= 0 && volumes_place(&r->m->vols, size - old, d, 0, alloc) < 0) {
		snprintf(err, errsz, "not enough free space");
		rc = -ENOSPC;
	}
	free(alloc);
	if (rc == 0)
		rc = set_file_size(fd, size, file, err, errsz);
	return rc;
}

static int change_volume_size(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			      char *err, size_t errsz)
{
	const struct hvapi_change_vm_volume_size_request *q = req;
	struct hvapi_local_vm_info copy = {0};
	size_t k = q->volume_index;
	uint64_t old = 0, size = q->volume_size;
	char fs_err[512] = "", file[PATH_SZ] = "";
	bool fs_grown = false;
	struct vm *vm;
	int rc = 0, fd = -1, fs_rc = 0;

	(void)resp;
	vm = begin(r, call, q->ip, NULL, NEED_ANY, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	/* The original's checks and texts, in its order (changeVmVolumeSize). */
	if (k >= copy.vm.volumes.n) {
		snprintf(err, errsz, "invalid volume index");
		rc = -EINVAL;
	} else if (copy.vm.volumes.v[k].format != HVAPI_VOLUME_FORMAT_RAW) {
		snprintf(err, errsz, "cannot resize non-RAW volumes");
		rc = -EINVAL;
	} else if ((old = copy.vm.volumes.v[k].size) == size) {
		return finish(r, vm, &copy, 0, err, errsz);
	} else if (copy.vm.state != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		rc = -EBUSY;
	} else if (size > INT64_MAX) {
		snprintf(err, errsz, "volume size too large");
		rc = -EFBIG;
	}
	if (rc == 0 && snprintf(file, sizeof(file), "%s", file_of(&copy, k)) >= (int)sizeof(file)) {
		snprintf(err, errsz, "volume file name too long");
		rc = -ENAMETOOLONG;
	}
	if (rc == 0) {
		fd = open(file, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			rc = fail(err, errsz, -errno, "opening", file);
	}
	if (rc == 0 && size < old) {
		/* shrink2fs first: a file-system it cannot shrink keeps the volume whole. */
		rc = volresize_shrink2fs(file, size, err, errsz);
		if (rc == 0)
			rc = set_file_size(fd, size, file, err, errsz);
	} else if (rc == 0) {
		rc = grow_volume(r, &copy, k, size, fd, err, errsz);
		if (rc == 0) {
			fs_rc = volresize_grow2fs(file, fs_err, sizeof(fs_err));
			fs_grown = true;
		}
	}
	if (rc == 0)
		copy.vm.volumes.v[k].size = size;
	rc = finish(r, vm, &copy, rc, err, errsz);
	/* Not recorded: the file goes back to the recorded size, unless a file-system may
	 * now fill it (then it stays larger than recorded rather than cut). */
	if (rc < 0 && fd >= 0 && !fs_grown && ftruncate(fd, (off_t)old) < 0)
		log_error("%s: restoring size %llu: %s", file, (unsigned long long)old,
			  strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc == 0 && fs_rc < 0) {
		snprintf(err, errsz, "%s", fs_err);
		return fs_rc;
	}
	return rc;
}

/* ---- snapshots ---- */

/* Snapshots are refused when the VM boots a separate kernel/initrd (§7.7). */
static bool has_kernel(const struct hvapi_local_vm_info *info)
{
	char path[PATH_SZ];

	if (info->volume_locations.n == 0)
		return false;
	snprintf(path, sizeof(path), "%s/kernel",
		 api_str(info->volume_locations.v[0].directory_to_cleanup));
	return access(path, F_OK) == 0;
}

static int snapshot_vm(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
		       char *err, size_t errsz)
{
	const struct hvapi_snapshot_vm_request *q = req;
	const char *name = api_str(q->name);
	struct hvapi_local_vm_info copy = {0};
	char(*tmp)[PATH_SZ] = NULL;
	size_t n, ntmp = 0;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	if (!snapshot_name_valid(name)) {
		snprintf(err, errsz, "invalid snapshot name: %s", name);
		return -EINVAL;
	}
	vm = begin(r, call, q->ip, NULL, NEED_STOPPED_OR_FORCE, q->force_if_not_stopped, &copy, err,
		   errsz);
	if (vm == NULL)
		return -EACCES;
	n = q->root_only && copy.vm.volumes.n > 0 ? 1 : copy.vm.volumes.n;
	if (has_kernel(&copy)) {
		snprintf(err, errsz, "cannot snapshot a VM with a separate kernel and initrd");
		return finish(r, vm, &copy, -EINVAL, err, errsz);
	}
	tmp = calloc(n + 1, sizeof(*tmp));
	if (tmp == NULL) {
		snprintf(err, errsz, "out of memory");
		return finish(r, vm, &copy, -ENOMEM, err, errsz);
	}
	/* Free space: every copy must fit in its volume directory's free space. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		int d = volumes_index_of(&r->m->vols, file_of(&copy, i));
		struct volumes_space sp;
		uint64_t need = 0;

		for (size_t k = 0; k < n; k++)
			if (volumes_index_of(&r->m->vols, file_of(&copy, k)) == d)
				need += file_size(file_of(&copy, k));
		if (d >= 0 && volumes_space(&r->m->vols, (size_t)d, &sp) == 0 &&
		    need >= sp.available) {
			snprintf(err, errsz,
				 "not enough free space for the snapshot: %llu bytes needed, %llu "
				 "available",
				 (unsigned long long)need, (unsigned long long)sp.available);
			rc = -ENOSPC;
		}
	}
	/* Copies under temporary names, then renamed in place once all succeeded. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(tmp[i], sizeof(tmp[i]), "%s.snapshot-new", file_of(&copy, i));
		unlink(tmp[i]);
		rc = fsutil_copy_file(file_of(&copy, i), tmp[i]);
		if (rc < 0)
			fail(err, errsz, rc, "copying", file_of(&copy, i));
		else
			ntmp++;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = snapshot_set(&copy.vm.volumes.v[i], name, file_size(tmp[i]));
		if (rc < 0)
			snprintf(err, errsz, "out of memory");
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char dst[PATH_SZ];

		snapshot_path(file_of(&copy, i), name, dst, sizeof(dst));
		if (rename(tmp[i], dst) < 0)
			rc = fail(err, errsz, -errno, "renaming to", dst);
	}
	for (size_t i = 0; i < ntmp; i++)
		unlink(tmp[i]); /* left only after a failure */
	free(tmp);
	rc = finish(r, vm, &copy, rc, err, errsz);
	if (rc == 0)
		log_info("snapshot \"%s\" taken of %zu volumes", name, n);
	return rc;
}

static int restore_snapshot(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	const struct hvapi_restore_vm_from_snapshot_request *q = req;
	const char *name = api_str(q->name);
	struct hvapi_local_vm_info copy = {0};
	char(*tmp)[PATH_SZ] = NULL;
	bool *have = NULL, any = false;
	size_t n;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	if (!snapshot_name_valid(name)) {
		snprintf(err, errsz, "invalid snapshot name: %s", name);
		return -EINVAL;
	}
	vm = begin(r, call, q->ip, NULL, NEED_STOPPED_OR_FORCE, q->force_if_not_stopped, &copy, err,
		   errsz);
	if (vm == NULL)
		return -EACCES;
	n = copy.vm.volumes.n;
	tmp = calloc(n + 1, sizeof(*tmp));
	have = calloc(n + 1, sizeof(*have));
	if (tmp == NULL || have == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char snap[PATH_SZ];

		snapshot_path(file_of(&copy, i), name, snap, sizeof(snap));
		have[i] =
		    snapshot_find(&copy.vm.volumes.v[i], name) != NULL && access(snap, F_OK) == 0;
		any |= have[i];
	}
	if (rc == 0 && !any) {
		snprintf(err, errsz, "no snapshot named \"%s\"", name);
		rc = -ENOENT;
	}
	/* Stage: the snapshot as <file>.snapshot-restore (a copy with Retain, else a link). */
	for (size_t i = 0; i < n && rc == 0; i++) {
		char snap[PATH_SZ];

		if (!have[i])
			continue;
		snapshot_path(file_of(&copy, i), name, snap, sizeof(snap));
		snprintf(tmp[i], sizeof(tmp[i]), "%s.snapshot-restore", file_of(&copy, i));
		unlink(tmp[i]);
		rc = q->retain ? fsutil_copy_file(snap, tmp[i])
			       : (link(snap, tmp[i]) < 0 ? -errno : 0);
		if (rc < 0) {
			fail(err, errsz, rc, "staging", snap);
			tmp[i][0] = '\0';
		}
	}
	if (rc < 0) {
		for (size_t i = 0; i < n && tmp != NULL; i++)
			if (tmp[i][0] != '\0')
				unlink(tmp[i]);
		free(tmp);
		free(have);
		return finish(r, vm, &copy, rc, err, errsz);
	}
	/* Put in place. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct hvapi_volume *v = &copy.vm.volumes.v[i];

		if (!have[i])
			continue;
		if (rename(tmp[i], file_of(&copy, i)) < 0) {
			rc = fail(err, errsz, -errno, "restoring", file_of(&copy, i));
			break;
		}
		tmp[i][0] = '\0';
		v->size = file_size(file_of(&copy, i));
		if (v->format == HVAPI_VOLUME_FORMAT_QCOW2) {
			int fd = open(file_of(&copy, i), O_RDONLY | O_CLOEXEC);

			if (fd >= 0) {
				v->virtual_size = volumes_qcow2_virtual_size(fd);
				close(fd);
			}
		}
		if (!q->retain) {
			char snap[PATH_SZ];

			snapshot_path(file_of(&copy, i), name, snap, sizeof(snap));
			unlink(snap);
			snapshot_remove(v, name);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (tmp[i][0] != '\0')
			unlink(tmp[i]);
	free(tmp);
	free(have);
	rc = finish(r, vm, &copy, rc, err, errsz);
	if (rc == 0)
		log_info("restored snapshot \"%s\"%s", name, q->retain ? " (retained)" : "");
	return rc;
}

static int discard_snapshot(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	const struct hvapi_discard_vm_snapshot_request *q = req;
	const char *name = api_str(q->name);
	struct hvapi_local_vm_info copy = {0};
	char(*files)[PATH_SZ] = NULL;
	size_t n, nfiles = 0;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	if (!snapshot_name_valid(name)) {
		snprintf(err, errsz, "invalid snapshot name: %s", name);
		return -EINVAL;
	}
	vm = begin(r, call, q->ip, NULL, NEED_ANY, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	n = copy.vm.volumes.n;
	files = calloc(n + 1, sizeof(*files));
	if (files == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char snap[PATH_SZ];

		snapshot_path(file_of(&copy, i), name, snap, sizeof(snap));
		if (snapshot_find(&copy.vm.volumes.v[i], name) == NULL && access(snap, F_OK) < 0)
			continue;
		snapshot_remove(&copy.vm.volumes.v[i], name);
		memcpy(files[nfiles++], snap, sizeof(snap));
	}
	if (rc == 0 && nfiles == 0) {
		snprintf(err, errsz, "no snapshot named \"%s\"", name);
		rc = -ENOENT;
	}
	rc = finish(r, vm, &copy, rc, err, errsz);
	for (size_t i = 0; i < nfiles && rc == 0; i++)
		if (unlink(files[i]) < 0 && errno != ENOENT)
			log_error("removing %s: %s", files[i], strerror(errno));
	free(files);
	return rc;
}

/* ---- ReorderVmVolumes ----
 * As the original: a volume that changes place gets its place's file name (root,
 * secondary-volume.N) in its own directory, so later calls that name files by index
 * (DeleteVmVolume) act on the right file. New names are hard links made first
 * ("<name>~"), then renamed over; snapshots move with their volume. */

struct move {
	char from[PATH_SZ], to[PATH_SZ];
};

/* The original's indexToName. */
static void index_name(const struct hvapi_local_volume *l, size_t i, char *buf, size_t sz)
{
	const char *file = api_str(l->filename), *slash = strrchr(file, '/');
	int dlen = slash ? (int)(slash - file) : 0;

	if (l->directory_to_cleanup != NULL && *l->directory_to_cleanup != '\0') {
		file = l->directory_to_cleanup;
		dlen = (int)strlen(file);
	}
	if (i == 0)
		snprintf(buf, sz, "%.*s/root", dlen, file);
	else
		snprintf(buf, sz, "%.*s/secondary-volume.%zu", dlen, file, i - 1);
}

/* The moves of volume v (file and snapshots) from file to target, appended to mv. */
static void add_moves(const struct hvapi_volume *v, const char *file, const char *target,
		      struct move *mv, size_t *nmv)
{
	snprintf(mv[*nmv].from, PATH_SZ, "%s", file);
	snprintf(mv[(*nmv)++].to, PATH_SZ, "%s", target);
	for (size_t i = 0; i < v->snapshots.n; i++) {
		const char *name = api_str(v->snapshots.v[i].name), *sep = *name ? ":" : "";

		if (snprintf(mv[*nmv].from, PATH_SZ, "%s.snapshot%s%s", file, sep, name) <
			PATH_SZ &&
		    snprintf(mv[*nmv].to, PATH_SZ, "%s.snapshot%s%s", target, sep, name) < PATH_SZ)
			(*nmv)++;
	}
}

static void unlink_tilde(const struct move *mv, size_t n)
{
	char tmp[PATH_SZ + 1];

	for (size_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s~", mv[i].to);
		unlink(tmp);
	}
}

/* Links every move's target as "<to>~", then renames them into place. */
static int apply_moves(const struct move *mv, size_t n, char *err, size_t errsz)
{
	char tmp[PATH_SZ + 1];

	for (size_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s~", mv[i].to);
		unlink(tmp);
		if (link(mv[i].from, tmp) < 0) {
			fail(err, errsz, -errno, "linking", mv[i].from);
			unlink_tilde(mv, i);
			return -EIO;
		}
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s~", mv[i].to);
		if (rename(tmp, mv[i].to) < 0)
			log_error("renaming %s: %s", tmp, strerror(errno));
	}
	return 0;
}

/* Old names no move wrote over are links left behind: removed. */
static void drop_old_names(const struct move *mv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool target = false;

		for (size_t k = 0; k < n && !target; k++)
			target = strcmp(mv[i].from, mv[k].to) == 0;
		if (!target)
			unlink(mv[i].from);
	}
}

/* Puts the files back under their old names (the record could not be written). */
static void undo_moves(const struct move *mv, size_t n)
{
	struct move *back = calloc(n + 1, sizeof(*back));
	char err[256];

	if (back == NULL) {
		log_error("reorder: out of memory putting %zu files back", n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(back[i].from, mv[i].to, sizeof(back[i].from));
		memcpy(back[i].to, mv[i].from, sizeof(back[i].to));
	}
	if (apply_moves(back, n, err, sizeof(err)) < 0)
		log_error("reorder: putting the files back: %s", err);
	free(back);
}

/* The original's checks, in its order; fills vols/locs (shallow, in the new order),
 * names (the new file name of each volume that moves) and the moves. */
static int plan_reorder(struct hvapi_local_vm_info *copy, const uint32_t *idx, size_t nidx,
			struct hvapi_volume *vols, struct hvapi_local_volume *locs, char **names,
			struct move *mv, size_t *nmv, char *err, size_t errsz)
{
	size_t n = copy->vm.volumes.n;
	bool *seen;
	char path[PATH_SZ];

	if (idx[0] != 0 && n > 0) {
		const char *dir = api_str(copy->volume_locations.v[0].directory_to_cleanup);

		snprintf(path, sizeof(path), "%s/initrd", dir);
		if (access(path, F_OK) == 0) {
			snprintf(err, errsz, "cannot reorder root volume with separate initrd");
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s/kernel", dir);
		if (access(path, F_OK) == 0) {
			snprintf(err, errsz, "cannot reorder root volume with separate kernel");
			return -EINVAL;
		}
	}
	if (nidx != n) {
		snprintf(err, errsz, "number of volume indices: %zu != number of volumes: %zu",
			 nidx, n);
		return -EINVAL;
	}
	if (copy->vm.state != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not stopped");
		return -EBUSY;
	}
	seen = calloc(n + 1, sizeof(*seen));
	if (seen == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t k = idx[i];

		if (k >= n || seen[k]) {
			snprintf(err, errsz,
				 k >= n ? "volume index: %u too large"
					: "duplicate volume index: %u",
				 k);
			free(seen);
			return -EINVAL;
		}
		seen[k] = true;
		vols[i] = copy->vm.volumes.v[k];
		locs[i] = copy->volume_locations.v[k];
		if (i != k) {
			index_name(&locs[i], i, path, sizeof(path));
			add_moves(&vols[i], api_str(locs[i].filename), path, mv, nmv);
			names[i] = strdup(path);
			if (names[i] == NULL) {
				snprintf(err, errsz, "out of memory");
				free(seen);
				return -ENOMEM;
			}
		}
	}
	free(seen);
	/* A volume that stays must not be written over (a name from an older layout). */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < *nmv && idx[i] == i; k++)
			if (strcmp(api_str(locs[i].filename), mv[k].to) == 0) {
				snprintf(err, errsz, "volume %zu already has the file name %s", i,
					 mv[k].to);
				return -EEXIST;
			}
	return 0;
}

static int reorder_volumes(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_reorder_vm_volumes_request *q = req;
	const uint32_t *given = q->volume_indices.v;
	size_t ngiven = q->volume_indices.n;
	struct hvapi_local_vm_info copy = {0};
	struct hvapi_local_volume *locs = NULL;
	struct hvapi_volume *vols = NULL;
	struct move *mv = NULL;
	uint32_t *idx = NULL;
	char **names = NULL;
	size_t n, nidx = 0, nmv = 0, nfiles = 0;
	bool has_root = false;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	/* The root volume not listed: it keeps its place. */
	for (size_t i = 0; i < ngiven; i++)
		has_root |= given[i] == 0;
	vm = begin(r, call, q->ip, &q->access_token, NEED_ANY, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	n = copy.vm.volumes.n;
	for (size_t i = 0; i < n; i++)
		nfiles += 1 + copy.vm.volumes.v[i].snapshots.n;
	idx = calloc(ngiven + 2, sizeof(*idx));
	vols = calloc(n + 1, sizeof(*vols));
	locs = calloc(n + 1, sizeof(*locs));
	mv = calloc(nfiles + 1, sizeof(*mv));
	names = calloc(n + 1, sizeof(*names));
	if (idx == NULL || vols == NULL || locs == NULL || mv == NULL || names == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	} else {
		if (!has_root)
			idx[nidx++] = 0;
		for (size_t i = 0; i < ngiven; i++)
			idx[nidx++] = given[i];
		rc = plan_reorder(&copy, idx, nidx, vols, locs, names, mv, &nmv, err, errsz);
	}
	if (rc == 0)
		rc = apply_moves(mv, nmv, err, errsz);
	if (rc == 0) {
		memcpy(copy.vm.volumes.v, vols, n * sizeof(*vols));
		memcpy(copy.volume_locations.v, locs, n * sizeof(*locs));
		for (size_t i = 0; i < n; i++)
			if (names[i] != NULL) {
				free(copy.volume_locations.v[i].filename);
				copy.volume_locations.v[i].filename = names[i];
				names[i] = NULL;
			}
		rc = finish(r, vm, &copy, 0, err, errsz);
		if (rc == 0)
			drop_old_names(mv, nmv);
		else
			undo_moves(mv, nmv);
	} else {
		rc = finish(r, vm, &copy, rc, err, errsz);
	}
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	free(idx);
	free(vols);
	free(locs);
	free(mv);
	return rc;
}

const struct rpc_method rpc_volume_methods[] = {
    {.name = HVAPI_M_ADD_VM_VOLUMES, .fn = add_volumes},
    {.name = HVAPI_M_DELETE_VM_VOLUME, .fn = delete_volume},
    {.name = HVAPI_M_CHANGE_VM_VOLUME_SIZE, .fn = change_volume_size},
    {.name = HVAPI_M_SNAPSHOT_VM, .fn = snapshot_vm},
    {.name = HVAPI_M_RESTORE_VM_FROM_SNAPSHOT, .fn = restore_snapshot},
    {.name = HVAPI_M_DISCARD_VM_SNAPSHOT, .fn = discard_snapshot},
    {.name = HVAPI_M_REORDER_VM_VOLUMES, .fn = reorder_volumes},
    {NULL},
};
