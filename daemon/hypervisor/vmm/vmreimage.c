/* Root image replacement, debugging and patching (see vmreimage.h).
 *
 * PatchVmImage without mounting: the original mounts the root partition through a loop
 * device and lets its sub-daemon code update the files in place. Here the root's file
 * system is read out with `debugfs -R "rdump / DIR"`, the image is unpacked beside it,
 * every path that the image's filter excludes (and that the image does not itself
 * provide) is moved from the old tree into the new one, and the file system is made
 * again from that tree by rootdisk_write (mke2fs -d), with the volume's size, label and
 * boot layout. What the original keeps is exactly what this keeps: the files under the
 * filter; everything else becomes the image's. Device nodes, sockets and FIFOs of the
 * old root are not carried over (rdump skips them): only under filtered paths could
 * that matter, and an image's filter names state files, not devices. */
#include "daemon/hypervisor/vmm/vmreimage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/cmdrun.h"
#include "daemon/hypervisor/vmm/imagefetch.h"
#include "daemon/hypervisor/vmm/imgfilter.h"
#include "daemon/hypervisor/vmm/objcache.h"
#include "daemon/hypervisor/vmm/rootdisk.h"
#include "daemon/hypervisor/vmm/vmimage.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

#define COPY_BUF (1u << 20)
#define PATCH_LOG_MAX (16u << 20)

/* The files beside the root volume that an image change touches. */
struct paths {
	char root[4096], dir[4096];
	char tmp[4200], old[4200], debug[4200];
	char kernel[4200], kernel_new[4200], kernel_old[4200];
	char initrd[4200], initrd_new[4200], initrd_old[4200];
};

static void paths_init(struct paths *p, const struct hvapi_local_vm_info *info)
{
	snprintf(p->root, sizeof(p->root), "%s", api_str(info->volume_locations.v[0].filename));
	snprintf(p->dir, sizeof(p->dir), "%s",
		 api_str(info->volume_locations.v[0].directory_to_cleanup));
	snprintf(p->tmp, sizeof(p->tmp), "%s.new", p->root);
	snprintf(p->old, sizeof(p->old), "%s.old", p->root);
	snprintf(p->debug, sizeof(p->debug), "%s.debug", p->root);
	snprintf(p->kernel, sizeof(p->kernel), "%s/kernel", p->dir);
	snprintf(p->kernel_new, sizeof(p->kernel_new), "%s/kernel.new", p->dir);
	snprintf(p->kernel_old, sizeof(p->kernel_old), "%s/kernel.old", p->dir);
	snprintf(p->initrd, sizeof(p->initrd), "%s/initrd", p->dir);
	snprintf(p->initrd_new, sizeof(p->initrd_new), "%s/initrd.new", p->dir);
	snprintf(p->initrd_old, sizeof(p->initrd_old), "%s/initrd.old", p->dir);
}

static void remove_new(const struct paths *p)
{
	unlink(p->tmp);
	unlink(p->kernel_new);
	unlink(p->initrd_new);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Marks the VM busy with a copy of its record; it must be stopped, or running with an
 * address of its own (*restart). On failure the VM is left as it was. */
static int begin(struct manager *m, struct vm *vm, struct hvapi_local_vm_info *copy, bool *restart,
		 char *err, size_t errsz)
{
	int rc = vmops_edit_begin(vm, VMOPS_NEED_ANY, VMOPS_EDIT_VOLUMES, copy, err, errsz);
	enum hvapi_state s;

	if (rc < 0)
		return rc;
	s = copy->vm.state;
	*restart = s == HVAPI_STATE_RUNNING;
	if (copy->volume_locations.n == 0) {
		snprintf(err, errsz, "VM has no root volume");
		rc = -ENOENT;
	} else if (s == HVAPI_STATE_RUNNING && copy->vm.address.ip.s_addr == 0) {
		snprintf(err, errsz, "cannot stop VM with externally managed lease");
		rc = -EINVAL;
	} else if (s != HVAPI_STATE_RUNNING && s != HVAPI_STATE_STOPPED) {
		snprintf(err, errsz, "VM is not running or stopped");
		rc = -EBUSY;
	}
	if (rc < 0)
		vmops_edit_finish(m, vm, copy, rc, err, errsz);
	return rc;
}

static int stop_for_swap(struct manager *m, struct vm *vm, const struct vmcreate_io *io, char *err,
			 size_t errsz)
{
	char why[512] = "";

	io->progress(io->arg, "stopping VM", (struct in_addr){0});
	if (vmops_stop_owned(m, vm, why, sizeof(why)) < 0) {
		log_error("%s: stop for an image change: %s", vm->ipstr, why);
		snprintf(err, errsz, "VM is not stopped after stop attempt");
		return -EIO;
	}
	return 0;
}

/* Starts the VM again after the swap (the original's startManaging). */
static int restart_vm(struct manager *m, struct vm *vm, const struct vmcreate_io *io,
		      int64_t dhcp_timeout_ns, bool *timed_out, char *err, size_t errsz)
{
	pthread_mutex_lock(&vm->mu);
	if (vm->info.vm.state != HVAPI_STATE_STOPPED) {
		pthread_mutex_unlock(&vm->mu);
		return 0;
	}
	vm_set_state(vm, HVAPI_STATE_STARTING);
	pthread_mutex_unlock(&vm->mu);
	io->progress(io->arg, "starting VM", (struct in_addr){0});
	return vmops_boot(m, vm, dhcp_timeout_ns, timed_out, err, errsz);
}

/* The new volume must fit where the root lives (checkFreeSpaceForVolume). */
static int check_space(struct manager *m, const char *path, uint64_t need, char *err, size_t errsz)
{
	int i = volumes_index_of(&m->vols, path);
	struct volumes_space sp;

	if (i < 0 || volumes_space(&m->vols, (size_t)i, &sp) < 0 || need <= sp.usable)
		return 0;
	snprintf(err, errsz, "not enough free space: need %llu bytes, %llu available",
		 (unsigned long long)need, (unsigned long long)sp.usable);
	return -ENOSPC;
}

static void label_of(struct vm *vm, const struct hvapi_local_vm_info *info, char *buf, size_t sz)
{
	if (*api_str(info->vm.root_fs_label))
		snprintf(buf, sz, "%s", info->vm.root_fs_label);
	else
		rootdisk_label(vm->ip, buf, sz);
}

/* OverlayFiles: absolute paths without "." or ".." components, written into tree. */
static int write_overlays(const char *tree, const struct hvapi_file *ov, size_t n, char *err,
			  size_t errsz)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = api_str(ov[i].name);
		char path[8192], *slash;
		int rc;

		if (name[0] != '/' || strstr(name, "/../") || strstr(name, "/./") ||
		    (strlen(name) >= 3 && strcmp(name + strlen(name) - 3, "/..") == 0) ||
		    snprintf(path, sizeof(path), "%s%s", tree, name) >= (int)sizeof(path)) {
			snprintf(err, errsz, "bad overlay file name: %s", name);
			return -EINVAL;
		}
		slash = strrchr(path, '/');
		*slash = '\0';
		rc = fsutil_mkdir_p(path, 0755);
		*slash = '/';
		if (rc == 0)
			rc = fsutil_write_atomic(path, ov[i].data.data, ov[i].data.len, 0644);
		if (rc < 0) {
			snprintf(err, errsz, "overlay file %s: %s", name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

struct image_src {
	const char *name;
	const struct hvapi_file *overlays;
	size_t noverlays;
	uint64_t min_free, roundup_power;
	bool skip_bootloader;
};

/* A bootable raw root at dest from an image-server image (CreateVm's steps): *size gets
 * its size and *resolved the image's full name (a new string). */
static int root_from_image(struct manager *m, struct vm *vm, const struct hvapi_local_vm_info *info,
			   const struct image_src *src, const char *dest, const char *kernel_out,
			   const char *initrd_out, const struct vmcreate_io *io, uint64_t *size,
			   char **resolved, char *err, size_t errsz)
{
	bool uefi = info->vm.firmware == HVAPI_FIRMWARE_UEFI;
	char tree[4300], label[64], msg[1200];
	struct vmimage vi;
	int rc;

	io->progress(io->arg, "getting image", (struct in_addr){0});
	rc = vmimage_open(m->cfg, src->name, &vi, err, errsz);
	if (rc < 0)
		return rc;
	*size = rootdisk_size(src->min_free, src->roundup_power, vi.usage);
	if (*size == 0) {
		snprintf(err, errsz, "root volume size out of range");
		rc = -EINVAL;
		goto out;
	}
	*size += rootdisk_overhead(uefi);
	rc = check_space(m, dest, *size, err, errsz);
	if (rc < 0)
		goto out;
	snprintf(msg, sizeof(msg), "unpacking image: %s", vi.name);
	io->progress(io->arg, msg, (struct in_addr){0});
	snprintf(tree, sizeof(tree), "%s.tree", dest);
	vmops_rmtree(tree);
	rc = vmimage_unpack(&vi, m->objcache, tree, err, errsz);
	if (rc == 0)
		rc = write_overlays(tree, src->overlays, src->noverlays, err, errsz);
	if (rc == 0) {
		struct rootdisk_config c = {
		    .tree = tree,
		    .path = dest,
		    .size = *size,
		    .label = label,
		    .extra = api_str(info->vm.extra_kernel_options),
		    .skip_bootloader = src->skip_bootloader,
		    .uefi = uefi,
		    .kernel_out = kernel_out,
		    .initrd_out = initrd_out,
		};

		label_of(vm, info, label, sizeof(label));
		unlink(dest);
		rc = rootdisk_write(&c, err, errsz);
	}
	vmops_rmtree(tree);
	if (rc == 0) {
		*resolved = strdup(vi.name);
		if (*resolved == NULL)
			rc = -ENOMEM;
	}
out:
	vmimage_close(&vi);
	return rc;
}

/* len streamed bytes into dest; *virtual_size from a qcow2 header (0 when raw). */
static int root_from_stream(const struct vmcreate_io *io, const char *dest, uint64_t len,
			    uint64_t *virtual_size, char *err, size_t errsz)
{
	int fd = open(dest, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *buf = malloc(COPY_BUF);
	int rc = fd < 0 ? -errno : buf == NULL ? -ENOMEM : 0;

	io->progress(io->arg, "copying image", (struct in_addr){0});
	while (rc == 0 && len > 0) {
		size_t n = len > COPY_BUF ? COPY_BUF : (size_t)len;

		rc = io->read(io->arg, buf, n);
		if (rc == 0)
			rc = fsutil_write_all(fd, buf, n);
		len -= n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0)
		*virtual_size = volumes_qcow2_virtual_size(fd);
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	free(buf);
	if (rc < 0)
		snprintf(err, errsz, "receiving image: %s", strerror(-rc));
	return rc;
}

static int root_from_url(struct manager *m, const struct vmcreate_io *io, const char *url,
			 int64_t timeout_ns, const char *dest, uint64_t *size,
			 uint64_t *virtual_size, char *err, size_t errsz)
{
	int fd = open(dest, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char msg[4200];
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errsz, "creating %s: %s", dest, strerror(errno));
		return rc;
	}
	snprintf(msg, sizeof(msg), "fetching image: %s", url);
	io->progress(io->arg, msg, (struct in_addr){0});
	rc = imagefetch_copy(url, m->cfg->local_images_directory, fd, size,
			     (int)(timeout_ns / 1000000), err, errsz);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0)
		*virtual_size = volumes_qcow2_virtual_size(fd);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errsz, "writing %s: %s", dest, strerror(-rc));
	return rc;
}

/* rename that ignores a missing source. */
static int move(const char *from, const char *to)
{
	return rename(from, to) < 0 && errno != ENOENT ? -errno : 0;
}

/* root.new (and kernel.new, initrd.new) become the root; the old ones become *.old
 * unless skip_backup. */
static int swap_in(const struct paths *p, bool skip_backup, char *err, size_t errsz)
{
	bool new_kernel = exists(p->kernel_new);

	if (!skip_backup && rename(p->root, p->old) < 0 && errno != ENOENT) {
		snprintf(err, errsz, "rename %s: %s", p->root, strerror(errno));
		return -errno;
	}
	if (rename(p->tmp, p->root) < 0) {
		int rc = -errno;

		snprintf(err, errsz, "rename %s: %s", p->tmp, strerror(errno));
		if (!skip_backup)
			rename(p->old, p->root);
		return rc;
	}
	if (!skip_backup) {
		move(p->kernel, p->kernel_old);
		move(p->initrd, p->initrd_old);
	} else if (!new_kernel) {
		/* The new root boots with its own bootloader. */
		unlink(p->kernel);
		unlink(p->initrd);
	}
	move(p->kernel_new, p->kernel);
	if (new_kernel && !exists(p->initrd_new))
		unlink(p->initrd);
	move(p->initrd_new, p->initrd);
	return 0;
}

int vmreimage_replace(struct manager *m, struct vm *vm,
		      const struct hvapi_replace_vm_image_request *req,
		      const struct vmcreate_io *io, bool *dhcp_timed_out, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	enum hvapi_volume_format fmt = req->volume_format;
	uint64_t size = 0, vsize = 0;
	char *resolved = NULL;
	struct paths p = {0};
	bool restart;
	int rc;

	*dhcp_timed_out = false;
	rc = begin(m, vm, &copy, &restart, err, errsz);
	if (rc < 0)
		return rc;
	paths_init(&p, &copy);
	if (fmt != copy.vm.volumes.v[0].format && !req->skip_backup) {
		snprintf(err, errsz, "cannot change volume format unless you skip backup");
		rc = -EINVAL;
		goto out;
	}
	if (req->pre_delete) {
		/* The caller has turned the safeties off: the old root goes first. */
		if (restart) {
			snprintf(err, errsz, "VM must be stopped to pre-delete");
			rc = -EBUSY;
			goto out;
		}
		unlink(p.root);
		unlink(p.kernel);
		unlink(p.initrd);
	}
	remove_new(&p);
	if (*api_str(req->image_name)) {
		struct image_src src = {
		    .name = req->image_name,
		    .overlays = req->overlay_files.v,
		    .noverlays = req->overlay_files.n,
		    .min_free = req->minimum_free_bytes,
		    .roundup_power = req->roundup_power,
		    .skip_bootloader = req->skip_bootloader,
		};

		fmt = HVAPI_VOLUME_FORMAT_RAW;
		rc = root_from_image(m, vm, &copy, &src, p.tmp, p.kernel_new, p.initrd_new, io,
				     &size, &resolved, err, errsz);
	} else if (req->image_data_size > 0) {
		size = req->image_data_size;
		rc = check_space(m, p.tmp, size, err, errsz);
		if (rc == 0)
			rc = root_from_stream(io, p.tmp, size, &vsize, err, errsz);
	} else if (*api_str(req->image_url)) {
		rc = root_from_url(m, io, req->image_url, req->image_timeout_ns, p.tmp, &size,
				   &vsize, err, errsz);
	} else {
		snprintf(err, errsz, "no image specified");
		rc = -EINVAL;
	}
	if (rc == 0 && fmt == HVAPI_VOLUME_FORMAT_QCOW2 && vsize == 0) {
		snprintf(err, errsz, "image is not qcow2");
		rc = -EINVAL;
	}
	if (rc == 0 && restart)
		rc = stop_for_swap(m, vm, io, err, errsz);
	if (rc == 0)
		rc = swap_in(&p, req->skip_backup, err, errsz);
	if (rc < 0) {
		remove_new(&p);
		goto out;
	}
	copy.vm.volumes.v[0].size = size;
	copy.vm.volumes.v[0].format = fmt;
	copy.vm.volumes.v[0].virtual_size = fmt == HVAPI_VOLUME_FORMAT_QCOW2 ? vsize : 0;
	if (resolved != NULL) {
		free(copy.vm.image_name);
		copy.vm.image_name = resolved;
		resolved = NULL;
	}
	log_info("%s: root image replaced (%llu bytes)", vm->ipstr, (unsigned long long)size);
	rc = vmops_edit_finish(m, vm, &copy, 0, err, errsz);
	if (rc == 0 && restart)
		rc = restart_vm(m, vm, io, req->dhcp_timeout_ns, dhcp_timed_out, err, errsz);
	return rc;
out:
	free(resolved);
	return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
}

int vmreimage_debug(struct manager *m, struct vm *vm,
		    const struct hvapi_debug_vm_image_request *req, const struct vmcreate_io *io,
		    bool *dhcp_timed_out, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	uint64_t size = 0, vsize = 0;
	char *resolved = NULL;
	struct paths p = {0};
	bool restart;
	int rc;

	*dhcp_timed_out = false;
	rc = begin(m, vm, &copy, &restart, err, errsz);
	if (rc < 0)
		return rc;
	paths_init(&p, &copy);
	unlink(p.debug);
	if (*api_str(req->image_name)) {
		struct image_src src = {
		    .name = req->image_name,
		    .overlays = req->overlay_files.v,
		    .noverlays = req->overlay_files.n,
		    .min_free = req->minimum_free_bytes,
		    .roundup_power = req->roundup_power,
		};

		rc = root_from_image(m, vm, &copy, &src, p.debug, NULL, NULL, io, &size, &resolved,
				     err, errsz);
		free(resolved);
	} else if (req->image_data_size > 0) {
		rc = check_space(m, p.debug, req->image_data_size, err, errsz);
		if (rc == 0)
			rc =
			    root_from_stream(io, p.debug, req->image_data_size, &vsize, err, errsz);
	} else if (*api_str(req->image_url)) {
		rc = root_from_url(m, io, req->image_url, req->image_timeout_ns, p.debug, &size,
				   &vsize, err, errsz);
	} else {
		snprintf(err, errsz, "no image specified");
		rc = -EINVAL;
	}
	if (rc == 0 && vsize != 0) {
		snprintf(err, errsz, "a debug image must be raw");
		rc = -EINVAL;
	}
	if (rc == 0 && restart)
		rc = stop_for_swap(m, vm, io, err, errsz);
	if (rc < 0) {
		unlink(p.debug);
		return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
	}
	rc = vmops_edit_finish(m, vm, &copy, 0, err, errsz);
	if (rc == 0) {
		/* vmops_boot boots root.debug and records the state debugging. */
		rc = restart_vm(m, vm, io, req->dhcp_timeout_ns, dhcp_timed_out, err, errsz);
		if (rc < 0)
			unlink(p.debug);
	}
	log_info("%s: debug image %s", vm->ipstr, rc == 0 ? "booted" : "failed");
	return rc;
}

int vmreimage_restore(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	struct paths p = {0};
	struct stat st;
	int rc = vmops_edit_begin(vm, VMOPS_NEED_STOPPED, VMOPS_EDIT_VOLUMES, &copy, err, errsz);

	if (rc < 0)
		return rc;
	if (copy.volume_locations.n == 0) {
		snprintf(err, errsz, "VM has no root volume");
		return vmops_edit_finish(m, vm, &copy, -ENOENT, err, errsz);
	}
	paths_init(&p, &copy);
	if (stat(p.old, &st) < 0) {
		rc = -errno;
		snprintf(err, errsz, "stat %s: %s", p.old, strerror(errno));
	} else if (rename(p.old, p.root) < 0) {
		rc = -errno;
		snprintf(err, errsz, "rename %s: %s", p.old, strerror(errno));
	}
	if (rc < 0)
		return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
	/* The old root's separate kernel comes back; a newer one without it goes. */
	if (rename(p.kernel_old, p.kernel) < 0)
		unlink(p.kernel);
	if (rename(p.initrd_old, p.initrd) < 0)
		unlink(p.initrd);
	copy.vm.volumes.v[0].size = (uint64_t)st.st_size;
	copy.vm.volumes.v[0].virtual_size = 0;
	if (copy.vm.volumes.v[0].format == HVAPI_VOLUME_FORMAT_QCOW2) {
		int fd = open(p.root, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			copy.vm.volumes.v[0].virtual_size = volumes_qcow2_virtual_size(fd);
			close(fd);
		}
	}
	log_info("%s: old root image restored", vm->ipstr);
	return vmops_edit_finish(m, vm, &copy, 0, err, errsz);
}

int vmreimage_discard_old(struct manager *m, struct vm *vm, char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	const char *files[3];
	struct paths p = {0};
	int rc = vmops_edit_begin(vm, VMOPS_NEED_ANY, VMOPS_EDIT_VOLUMES, &copy, err, errsz);

	if (rc < 0)
		return rc;
	if (copy.volume_locations.n == 0)
		return vmops_edit_finish(m, vm, &copy, 0, err, errsz);
	paths_init(&p, &copy);
	files[0] = p.initrd_old;
	files[1] = p.kernel_old;
	files[2] = p.old;
	for (size_t i = 0; i < 3 && rc == 0; i++)
		if (unlink(files[i]) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errsz, "remove %s: %s", files[i], strerror(errno));
		}
	return vmops_edit_finish(m, vm, &copy, rc, err, errsz);
}

int vmreimage_patch_log_open(struct vm *vm, int *fd, uint64_t *len, struct timespec *mtime,
			     char *err, size_t errsz)
{
	char path[4200] = "";
	struct stat st;

	*fd = -1;
	*len = 0;
	memset(mtime, 0, sizeof(*mtime));
	pthread_mutex_lock(&vm->mu);
	if (vm->info.volume_locations.n > 0)
		snprintf(path, sizeof(path), "%s/%s",
			 api_str(vm->info.volume_locations.v[0].directory_to_cleanup),
			 VMREIMAGE_PATCH_LOG);
	pthread_mutex_unlock(&vm->mu);
	if (*path == '\0')
		return 0;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT)
			return 0; /* never patched: an empty log */
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(*fd, &st) < 0) {
		int rc = -errno;

		snprintf(err, errsz, "stat %s: %s", path, strerror(errno));
		close(*fd);
		*fd = -1;
		return rc;
	}
	*len = (uint64_t)st.st_size;
	*mtime = st.st_mtim;
	return 0;
}

/* ---- PatchVmImage ---- */

/* The image's Filter; the original refuses an image without one. */
static int image_filter(const struct vmimage *vi, struct imgfilter *f, char *err, size_t errsz)
{
	const json_t *j = vi->img.extra ? json_object_get(vi->img.extra, "Filter") : NULL;
	size_t skipped = 0;
	int rc = imgfilter_from_json(j, f, &skipped);

	if (rc == -EINVAL)
		snprintf(err, errsz, "%s contains no filter", vi->name);
	else if (rc < 0)
		snprintf(err, errsz, "out of memory");
	else if (skipped > 0)
		log_warn("%s: %zu filter lines do not compile: ignored", vi->name, skipped);
	return rc;
}

/* Byte offset of the root's ext file system: the last partition of the MBR (or GPT)
 * whose superblock has the ext magic, or 0 for a bare file system. */
static int64_t fs_offset(const char *path, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t sec[512], magic[2], hdr[92], ent[128];
	uint64_t cand[129] = {0};
	size_t ncand = 1;
	int64_t found = -1;

	if (fd < 0) {
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (pread(fd, sec, sizeof(sec), 0) == (ssize_t)sizeof(sec) && sec[510] == 0x55 &&
	    sec[511] == 0xAA) {
		for (int i = 0; i < 4; i++) {
			const uint8_t *e = sec + 446 + 16 * i;
			uint64_t lba = (uint64_t)e[8] | (uint64_t)e[9] << 8 |
				       (uint64_t)e[10] << 16 | (uint64_t)e[11] << 24;

			if (e[4] == 0xEE &&
			    pread(fd, hdr, sizeof(hdr), 512) == (ssize_t)sizeof(hdr) &&
			    memcmp(hdr, "EFI PART", 8) == 0) {
				uint64_t elba = 0;
				uint32_t num = 0, esz = 0;

				for (int k = 7; k >= 0; k--)
					elba = elba << 8 | hdr[72 + k];
				for (int k = 3; k >= 0; k--) {
					num = num << 8 | hdr[80 + k];
					esz = esz << 8 | hdr[84 + k];
				}
				for (uint32_t k = 0; k < num && k < 128 && esz >= 48 && esz <= 4096;
				     k++) {
					uint64_t first = 0;

					if (pread(fd, ent, 48,
						  (off_t)(elba * 512 + (uint64_t)k * esz)) != 48)
						break;
					for (int b = 7; b >= 0; b--)
						first = first << 8 | ent[32 + b];
					if (first != 0 && ncand < 129)
						cand[ncand++] = first * 512;
				}
			} else if (e[4] != 0 && lba != 0 && ncand < 129) {
				cand[ncand++] = lba * 512;
			}
		}
	}
	/* The last partition first (the root follows an ESP); a bare file system last. */
	for (size_t i = ncand; i-- > 0 && found < 0;)
		if (pread(fd, magic, 2, (off_t)(cand[i] + 1024 + 56)) == 2 && magic[0] == 0x53 &&
		    magic[1] == 0xEF)
			found = (int64_t)cand[i];
	close(fd);
	if (found < 0) {
		snprintf(err, errsz, "no ext file system in the root volume");
		return -ENOENT;
	}
	return found;
}

/* The merge of the old root into the image's tree (nftw has no argument pointer). */
struct merge {
	const char *old_tree, *new_tree;
	size_t old_len;
	const struct imgfilter *f;
	FILE *log;
	int rc;
	size_t kept, deleted;
};
static __thread struct merge *merge_ctx;

/* Creates the missing parents of new_tree + rel with the modes of the old ones. */
static int make_parents(const struct merge *mg, const char *rel)
{
	char path[8192], old[8192];
	struct stat st;

	for (const char *s = strchr(rel + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		int n = (int)(s - rel);

		snprintf(path, sizeof(path), "%s%.*s", mg->new_tree, n, rel);
		snprintf(old, sizeof(old), "%s%.*s", mg->old_tree, n, rel);
		if (lstat(path, &st) == 0)
			continue;
		if (lstat(old, &st) < 0 || mkdir(path, st.st_mode & 07777) < 0)
			return -errno;
		if (lchown(path, st.st_uid, st.st_gid) < 0)
			return -errno;
	}
	return 0;
}

static int merge_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct merge *mg = merge_ctx;
	const char *rel = path + mg->old_len;
	char dest[8192];
	struct stat dst;

	(void)st;
	(void)flag;
	if (ftw->level == 0)
		return FTW_CONTINUE;
	if (strcmp(rel, "/lost+found") == 0)
		return FTW_SKIP_SUBTREE;
	snprintf(dest, sizeof(dest), "%s%s", mg->new_tree, rel);
	if (lstat(dest, &dst) == 0)
		return FTW_CONTINUE; /* the image provides it */
	if (!imgfilter_match(mg->f, rel)) {
		fprintf(mg->log, "delete: %s\n", rel);
		mg->deleted++;
		return FTW_CONTINUE;
	}
	mg->rc = make_parents(mg, rel);
	if (mg->rc == 0 && rename(path, dest) < 0)
		mg->rc = -errno;
	if (mg->rc < 0) {
		fprintf(mg->log, "keep %s failed: %s\n", rel, strerror(-mg->rc));
		return FTW_STOP;
	}
	fprintf(mg->log, "keep: %s\n", rel);
	mg->kept++;
	return FTW_SKIP_SUBTREE; /* a kept directory goes whole */
}

/* Moves what the filter excludes from old_tree into new_tree, logging each path kept and
 * each path of the old root that the image drops. */
static int merge_trees(const char *old_tree, const char *new_tree, const struct imgfilter *f,
		       FILE *log, char *err, size_t errsz)
{
	struct merge mg = {.old_tree = old_tree,
			   .new_tree = new_tree,
			   .old_len = strlen(old_tree),
			   .f = f,
			   .log = log};

	merge_ctx = &mg;
	if (nftw(old_tree, merge_one, 32, FTW_PHYS | FTW_ACTIONRETVAL) < 0 && mg.rc == 0)
		mg.rc = -errno;
	merge_ctx = NULL;
	if (mg.rc < 0)
		snprintf(err, errsz, "merging the old root: %s", strerror(-mg.rc));
	else
		fprintf(log, "kept %zu paths under the filter, dropped %zu\n", mg.kept, mg.deleted);
	return mg.rc;
}

/* Reads the root's file system out into tree (debugfs rdump, no mount). */
static int dump_root(const char *root, const char *tree, char *err, size_t errsz)
{
	char dev[4300], cmd[4400];
	int64_t off = fs_offset(root, err, errsz);
	char *argv[] = {"debugfs", "-R", cmd, dev, NULL};
	int rc;

	if (off < 0)
		return (int)off;
	snprintf(dev, sizeof(dev), "%.4095s?offset=%lld", root, (long long)off);
	if (snprintf(cmd, sizeof(cmd), "rdump / \"%s\"", tree) >= (int)sizeof(cmd) ||
	    strchr(tree, '"') != NULL) {
		snprintf(err, errsz, "bad path %s", tree);
		return -EINVAL;
	}
	vmops_rmtree(tree);
	rc = fsutil_mkdir_p(tree, 0755);
	if (rc == 0)
		rc = cmdrun(argv, err, errsz);
	else
		snprintf(err, errsz, "mkdir %s: %s", tree, strerror(-rc));
	return rc;
}

struct patch {
	struct manager *m;
	struct vm *vm;
	const struct hvapi_patch_vm_image_request *req;
	const struct vmcreate_io *io;
	struct vmimage *vi;
	const struct imgfilter *f;
	struct hvapi_local_vm_info *copy;
	const struct paths *p;
	FILE *log;
};

/* The new root file system at p->tmp: the image's tree, the old root's filtered paths,
 * the overlay files, and the boot layout the root had. */
static int patch_build(struct patch *pt, char *err, size_t errsz)
{
	const struct paths *p = pt->p;
	char old_tree[4300], new_tree[4300], label[64], msg[1200];
	bool direct = exists(p->kernel);
	struct timespec t0, t1;
	int rc;

	snprintf(old_tree, sizeof(old_tree), "%.4095s.patch-old", p->root);
	snprintf(new_tree, sizeof(new_tree), "%.4095s.patch-new", p->root);
	pt->io->progress(pt->io->arg, "scanning root", (struct in_addr){0});
	rc = dump_root(p->root, old_tree, err, errsz);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(msg, sizeof(msg), "fetching(%s) objects", pt->vi->name);
	if (rc == 0) {
		pt->io->progress(pt->io->arg, msg, (struct in_addr){0});
		vmops_rmtree(new_tree);
		rc = vmimage_unpack(pt->vi, pt->m->objcache, new_tree, err, errsz);
	}
	if (rc == 0) {
		pt->io->progress(pt->io->arg, "starting update", (struct in_addr){0});
		fprintf(pt->log, "update(%s) starting\n", pt->vi->name);
		rc = merge_trees(old_tree, new_tree, pt->f, pt->log, err, errsz);
	}
	if (rc == 0 && pt->req->overlay_files.n > 0) {
		fprintf(pt->log, "writing %zu overlay files\n", pt->req->overlay_files.n);
		rc = write_overlays(new_tree, pt->req->overlay_files.v, pt->req->overlay_files.n,
				    err, errsz);
	}
	if (rc == 0) {
		struct rootdisk_config c = {
		    .tree = new_tree,
		    .path = p->tmp,
		    .size = pt->copy->vm.volumes.v[0].size,
		    .label = label,
		    .extra = api_str(pt->copy->vm.extra_kernel_options),
		    .skip_bootloader = direct,
		    .uefi = pt->copy->vm.firmware == HVAPI_FIRMWARE_UEFI,
		    .kernel_out = p->kernel_new,
		    .initrd_out = p->initrd_new,
		};

		label_of(pt->vm, pt->copy, label, sizeof(label));
		rc = rootdisk_write(&c, err, errsz);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "updated(%s) in %.3fs", pt->vi->name,
			 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		fprintf(pt->log, "%s\n", msg);
		pt->io->progress(pt->io->arg, msg, (struct in_addr){0});
	} else {
		fprintf(pt->log, "update(%s) failed: %s\n", pt->vi->name, err);
	}
	vmops_rmtree(old_tree);
	vmops_rmtree(new_tree);
	return rc;
}

/* Closes the log (which sets *buf and *len) and writes it as lastPatchLog. */
static void write_patch_log(const struct paths *p, FILE *log, char **buf, size_t *len)
{
	char path[4300];
	int rc;

	fclose(log);
	snprintf(path, sizeof(path), "%.4095s/%s", p->dir, VMREIMAGE_PATCH_LOG);
	rc = fsutil_write_atomic(path, *buf, *len > PATCH_LOG_MAX ? PATCH_LOG_MAX : *len, 0644);
	if (rc < 0)
		log_warn("writing %s: %s", path, strerror(-rc));
	free(*buf);
	*buf = NULL;
}

int vmreimage_patch(struct manager *m, struct vm *vm,
		    const struct hvapi_patch_vm_image_request *req, const struct vmcreate_io *io,
		    char *err, size_t errsz)
{
	struct hvapi_local_vm_info copy;
	struct imgfilter f = {0};
	struct vmimage vi;
	struct paths p = {0};
	char *logbuf = NULL;
	size_t loglen = 0;
	bool restart;
	FILE *log;
	int rc = vmimage_open(m->cfg, api_str(req->image_name), &vi, err, errsz);

	if (rc < 0)
		return rc;
	rc = image_filter(&vi, &f, err, errsz);
	if (rc == 0)
		rc = begin(m, vm, &copy, &restart, err, errsz);
	if (rc < 0)
		goto out_image;
	paths_init(&p, &copy);
	if (copy.vm.volumes.v[0].format != HVAPI_VOLUME_FORMAT_RAW) {
		snprintf(err, errsz, "cannot patch non-RAW volumes");
		rc = -EINVAL;
		goto out_finish;
	}
	if (restart)
		rc = stop_for_swap(m, vm, io, err, errsz);
	if (rc == 0 && !req->skip_backup)
		rc = check_space(m, p.tmp, copy.vm.volumes.v[0].size, err, errsz);
	if (rc < 0)
		goto out_finish;
	log = open_memstream(&logbuf, &loglen);
	if (log == NULL) {
		rc = -ENOMEM;
		snprintf(err, errsz, "out of memory");
		goto out_finish;
	}
	remove_new(&p);
	struct patch pt = {m, vm, req, io, &vi, &f, &copy, &p, log};

	rc = patch_build(&pt, err, errsz);
	if (rc == 0)
		rc = swap_in(&p, req->skip_backup, err, errsz);
	if (rc < 0)
		remove_new(&p);
	write_patch_log(&p, log, &logbuf, &loglen);
	if (rc < 0)
		goto out_finish;
	free(copy.vm.image_name);
	copy.vm.image_name = strdup(vi.name);
	log_info("%s: patched with image %s", vm->ipstr, vi.name);
	rc = vmops_edit_finish(m, vm, &copy, copy.vm.image_name ? 0 : -ENOMEM, err, errsz);
	if (rc == 0 && restart)
		rc = restart_vm(m, vm, io, 0, NULL, err, errsz);
	goto out_image;
out_finish:
	vmops_edit_finish(m, vm, &copy, rc, err, errsz);
out_image:
	imgfilter_free(&f);
	vmimage_close(&vi);
	return rc;
}
