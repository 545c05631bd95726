/* RPC handlers for a VM's volumes (spec/rpc.md §5, hypervisor.md §3, §7.7):
 * AddVmVolumes, DeleteVmVolume, ChangeVmVolumeSize, SnapshotVm, RestoreVmFromSnapshot,
 * DiscardVmSnapshot, ReorderVmVolumes (GetVmVolume is in rpc_getvolume.c).
 *
 * Every handler checks the caller's rights (rpc_vm), marks the VM busy (other
 * mutations and StartVm are refused meanwhile), works on a copy of the record with
 * vm->mu released (file I/O), and commits the copy as info.json at the end. Files are
 * prepared under temporary names first and put in place only when every step
 * succeeded, so a refused or failed call leaves the VM's files and record as they
 * were. File names stay what VolumeLocations records (ReorderVmVolumes permutes the
 * records, not the files); snapshots are `<volume file>.snapshot[:<name>]`. */
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

/* Copies src to dst (created, 0600, must not exist), fsynced. Removes dst on failure. */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	struct stat st;

	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0) {
		rc = -errno;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	for (off_t left = st.st_size; left > 0 && rc == 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL,
					    (size_t)(left > (1 << 30) ? (1 << 30) : left), 0);

		if (n < 0 && errno != EINTR)
			rc = -errno;
		else if (n == 0)
			rc = -EIO; /* the source shrank */
		else if (n > 0)
			left -= n;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
out:
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc < 0 && out >= 0)
		unlink(dst);
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

static int change_volume_size(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			      char *err, size_t errsz)
{
	const struct hvapi_change_vm_volume_size_request *q = req;
	struct hvapi_local_vm_info copy = {0};
	size_t k = q->volume_index;
	uint64_t old, *alloc = NULL;
	struct hvapi_volume *v;
	const char *file;
	struct vm *vm;
	int rc = 0, fd = -1;

	(void)resp;
	vm = begin(r, call, q->ip, NULL, NEED_STOPPED, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	if (k >= copy.vm.volumes.n) {
		snprintf(err, errsz, "volume index %zu too large: VM has %zu volumes", k,
			 copy.vm.volumes.n);
		return finish(r, vm, &copy, -EINVAL, err, errsz);
	}
	v = &copy.vm.volumes.v[k];
	file = file_of(&copy, k);
	old = v->size;
	if (v->format != HVAPI_VOLUME_FORMAT_RAW || v->type != HVAPI_VOLUME_TYPE_PERSISTENT) {
		snprintf(err, errsz, "volume %zu is not a raw persistent volume", k);
		rc = -EINVAL;
	} else if (q->volume_size < old) {
		snprintf(err, errsz, "shrinking volumes is not supported (%llu < %llu bytes)",
			 (unsigned long long)q->volume_size, (unsigned long long)old);
		rc = -EINVAL;
	} else if (q->volume_size == old) {
		rc = 0; /* nothing to do; still rewritten */
	} else if (q->volume_size > INT64_MAX) {
		snprintf(err, errsz, "volume size too large");
		rc = -EFBIG;
	} else {
		int d = volumes_index_of(&r->m->vols, file);

		alloc = manager_volume_allocation(r->m);
		if (alloc == NULL) {
			rc = -ENOMEM;
			snprintf(err, errsz, "out of memory");
		} else if (d >= 0 &&
			   volumes_place(&r->m->vols, q->volume_size - old, d, 0, alloc) < 0) {
			snprintf(err, errsz, "no space to grow volume %zu by %llu bytes", k,
				 (unsigned long long)(q->volume_size - old));
			rc = -ENOSPC;
		}
		if (rc == 0) {
			fd = open(file, O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				rc = fail(err, errsz, -errno, "opening", file);
		}
		if (rc == 0) {
			int e = posix_fallocate(fd, (off_t)old, (off_t)(q->volume_size - old));

			if (e != 0 && ftruncate(fd, (off_t)q->volume_size) < 0)
				rc = fail(err, errsz, -errno, "growing", file);
			else if (fsync(fd) < 0)
				rc = fail(err, errsz, -errno, "growing", file);
		}
		if (rc == 0)
			v->size = q->volume_size;
	}
	rc = finish(r, vm, &copy, rc, err, errsz);
	if (rc < 0 && fd >= 0 && ftruncate(fd, (off_t)old) < 0)
		log_error("%s: restoring size %llu: %s", file, (unsigned long long)old,
			  strerror(errno));
	if (fd >= 0)
		close(fd);
	free(alloc);
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
		rc = copy_file(file_of(&copy, i), tmp[i]);
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
		rc = q->retain ? copy_file(snap, tmp[i]) : (link(snap, tmp[i]) < 0 ? -errno : 0);
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

/* ---- ReorderVmVolumes ---- */

static int reorder_volumes(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_reorder_vm_volumes_request *q = req;
	struct hvapi_local_vm_info copy = {0};
	struct hvapi_local_volume *locs = NULL;
	struct hvapi_volume *vols = NULL;
	bool *seen = NULL;
	size_t n;
	struct vm *vm;
	int rc = 0;

	(void)resp;
	vm = begin(r, call, q->ip, &q->access_token, NEED_STOPPED, false, &copy, err, errsz);
	if (vm == NULL)
		return -EACCES;
	n = copy.vm.volumes.n;
	if (q->volume_indices.n != n) {
		snprintf(err, errsz, "%zu volume indices given, VM has %zu volumes",
			 q->volume_indices.n, n);
		return finish(r, vm, &copy, -EINVAL, err, errsz);
	}
	seen = calloc(n + 1, sizeof(*seen));
	vols = calloc(n + 1, sizeof(*vols));
	locs = calloc(n + 1, sizeof(*locs));
	if (seen == NULL || vols == NULL || locs == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint32_t k = q->volume_indices.v[i];

		if (k >= n || seen[k]) {
			snprintf(err, errsz, "volume index %u %s", k,
				 k >= n ? "too large" : "given twice");
			rc = -EINVAL;
			break;
		}
		seen[k] = true;
		vols[i] = copy.vm.volumes.v[k];
		locs[i] = copy.volume_locations.v[k];
	}
	if (rc == 0) {
		memcpy(copy.vm.volumes.v, vols, n * sizeof(*vols));
		memcpy(copy.volume_locations.v, locs, n * sizeof(*locs));
	}
	free(seen);
	free(vols);
	free(locs);
	return finish(r, vm, &copy, rc, err, errsz);
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
