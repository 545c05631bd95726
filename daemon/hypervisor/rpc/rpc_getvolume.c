/* GetVmVolume (spec/rpc.md §5): the original's exchange. After the reply
 * {Error, ExtraFiles} comes Dominator's GetBlocks exchange (lib/rsync.h): the client's
 * GetBlocksRequest and hashes, the server's Block messages and data, a Block of Size 0
 * at the end; then the connection takes the next call.
 *
 * As in the original, any state is served (a running VM too: migration's first pass
 * copies it while it runs, the second pass after it stopped), and the VM is marked
 * busy for the transfer so that its volumes cannot be changed, moved or deleted
 * meanwhile. The volume file is opened under the VM's lock and read from that
 * descriptor. A root volume with a separate kernel (and initrd) needs GetExtraFiles
 * (they travel in ExtraFiles) or IgnoreExtraFiles. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "rsync.h"

#define PATH_SZ 4352
#define EXTRA_MAX ((size_t)1 << 30)

/* The volume to serve, found and marked busy under the VM's lock. */
struct serving {
	struct vm *vm;
	int fd;
	uint64_t size;
	char dir[4096]; /* the root volume's directory (kernel, initrd) */
};

static int open_volume(struct rpc *r, struct srpc_call *call,
		       const struct hvapi_get_vm_volume_request *q, struct serving *s, char *err,
		       size_t errsz)
{
	struct vm *vm = rpc_vm(r, call, q->ip, &q->access_token, err, errsz);
	int rc = 0;

	if (vm == NULL)
		return -EACCES;
	pthread_mutex_lock(&vm->mu);
	if (vm->removed || vm->info.vm.state == HVAPI_STATE_DESTROYING) {
		snprintf(err, errsz, "VM is destroying");
		rc = -ENOENT;
	} else if (vm->busy) {
		snprintf(err, errsz, "mutations blocked");
		rc = -EBUSY;
	} else if (q->volume_index >= vm->info.volume_locations.n ||
		   q->volume_index >= vm->info.vm.volumes.n) {
		snprintf(err, errsz, "index too large");
		rc = -ERANGE;
	} else {
		const char *f = api_str(vm->info.volume_locations.v[q->volume_index].filename);

		s->fd = open(f, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0) {
			rc = -errno;
			snprintf(err, errsz, "open %.900s: %s", f, strerror(errno));
		} else {
			s->size = vm->info.vm.volumes.v[q->volume_index].size;
			snprintf(s->dir, sizeof(s->dir), "%s",
				 api_str(vm->info.volume_locations.v[0].directory_to_cleanup));
			vm->busy = true;
		}
	}
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		vm_unref(vm);
		return rc;
	}
	s->vm = vm;
	return 0;
}

static void close_volume(struct serving *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->vm == NULL)
		return;
	pthread_mutex_lock(&s->vm->mu);
	s->vm->busy = false;
	pthread_cond_broadcast(&s->vm->changed);
	pthread_mutex_unlock(&s->vm->mu);
	vm_unref(s->vm);
}

/* The original's checks and texts: initrd first, then kernel. With get, both files
 * are sent (as the original, both keys whenever either exists). */
static int extra_files(const struct hvapi_get_vm_volume_request *q, const char *dir,
		       struct hvapi_file extra[2], size_t *n, char *err, size_t errsz)
{
	static const char *const names[2] = {"initrd", "kernel"};
	bool have[2];

	*n = 0;
	if (q->volume_index != 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		char path[PATH_SZ];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		have[i] = access(path, F_OK) == 0;
		if (have[i] && !q->get_extra_files && !q->ignore_extra_files) {
			snprintf(err, errsz, "cannot get root volume with separate %s", names[i]);
			return -EINVAL;
		}
	}
	if (!q->get_extra_files || (!have[0] && !have[1]))
		return 0;
	for (int i = 0; i < 2; i++) {
		char path[PATH_SZ], *buf = NULL;
		size_t len = 0;
		int rc = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (have[i])
			rc = fsutil_read_file(path, EXTRA_MAX, &buf, &len);
		if (rc < 0) {
			snprintf(err, errsz, "open %.900s: %s", path, strerror(-rc));
			return rc;
		}
		extra[i].name = strdup(names[i]);
		extra[i].data.data = (uint8_t *)buf;
		extra[i].data.len = len;
		(*n)++;
		if (extra[i].name == NULL) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

static int get_volume(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_get_vm_volume_request q = {0};
	struct hvapi_get_vm_volume_response resp = {0};
	struct serving s = {.fd = -1};
	struct hvapi_file extra[2];
	char err[1024] = "";
	int rc = rpc_read_request(call, &hvapi_get_vm_volume_request_type, &q,
				  &hvapi_get_vm_volume_response_type);

	if (rc < 0)
		return rc;
	memset(extra, 0, sizeof(extra));
	rc = open_volume(r, call, &q, &s, err, sizeof(err));
	if (rc == 0)
		rc = extra_files(&q, s.dir, extra, &resp.extra_files.n, err, sizeof(err));
	resp.extra_files.v = extra;
	if (rc < 0) {
		rc = rpc_write_error(call, &hvapi_get_vm_volume_response_type, err) < 0 ? -EIO : 0;
		goto out;
	}
	rc = rpc_write(call, &hvapi_get_vm_volume_response_type, &resp);
	if (rc == 0)
		rc = rsync_serve_blocks(srpc_call_conn(call), s.fd, s.size, err, sizeof(err));
	if (rc < 0)
		log_warn("GetVmVolume %s volume %u: %s", s.vm->ipstr, q.volume_index,
			 err[0] ? err : strerror(-rc));
	else if (err[0] != '\0')
		log_debug(0, "GetVmVolume %s volume %u: %s", s.vm->ipstr, q.volume_index, err);
out:
	for (size_t i = 0; i < 2; i++)
		api_clear(&hvapi_file_type, &extra[i]);
	api_clear(&hvapi_get_vm_volume_request_type, &q);
	close_volume(&s);
	return rc;
}

const struct rpc_method rpc_getvolume_methods[] = {
    {.name = HVAPI_M_GET_VM_VOLUME, .stream = get_volume},
    {NULL},
};
