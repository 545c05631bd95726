/* The VM image methods over the wire (rpc.md §5): ReplaceVmImage and DebugVmImage
 * (request, then ImageDataSize raw bytes, progress replies), PatchVmImage (progress
 * replies), RestoreVmImage, DiscardVmOldImage and GetVmLastPatchLog ({Error, Length,
 * PatchTime} then Length raw bytes). vmreimage does the work. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/vmreimage.h"
#include "log.h"

struct image_io {
	struct srpc_call *call;
	const struct api_type *reply; /* the progress message's type */
	uint64_t consumed;
};

static int image_read(void *arg, void *buf, size_t len)
{
	struct image_io *io = arg;
	int rc = srpc_conn_read(srpc_call_conn(io->call), buf, len);

	if (rc == 0)
		io->consumed += len;
	return rc;
}

/* ImageResponse and PatchVmImageResponse both start with what a progress message
 * needs; each is filled by its own type. */
static void image_progress(void *arg, const char *msg, struct in_addr ip)
{
	struct image_io *io = arg;

	(void)ip;
	if (io->reply == &hvapi_patch_vm_image_response_type) {
		struct hvapi_patch_vm_image_response r = {.progress_message = (char *)msg};

		rpc_write(io->call, io->reply, &r);
	} else {
		struct hvapi_image_response r = {.progress_message = (char *)msg};

		rpc_write(io->call, io->reply, &r);
	}
}

/* Reads and discards what is left of the streamed image. */
static int drain(struct image_io *io, uint64_t total)
{
	char buf[65536];

	while (io->consumed < total) {
		uint64_t left = total - io->consumed;
		size_t k = left > sizeof(buf) ? sizeof(buf) : (size_t)left;

		if (image_read(io, buf, k) < 0)
			return -EIO;
	}
	return 0;
}

/* The end of ReplaceVmImage and DebugVmImage: an error, or Final. */
static int image_finish(struct image_io *io, uint64_t payload, int rc, bool timed_out,
			const char *err)
{
	struct hvapi_image_response fin = {.final = true, .dhcp_timed_out = timed_out};

	if (drain(io, payload) < 0)
		return -EIO;
	if (rc < 0)
		return rpc_write_error(io->call, &hvapi_image_response_type, err) < 0 ? -EIO : 0;
	return rpc_write(io->call, &hvapi_image_response_type, &fin) < 0 ? -EIO : 0;
}

/* ReplaceVmImage and DebugVmImage: the same exchange around their vmreimage call. */
static int reimage_method(struct srpc_call *call, struct rpc *r, bool debug)
{
	union {
		struct hvapi_replace_vm_image_request replace;
		struct hvapi_debug_vm_image_request debug;
	} req;
	const struct api_type *req_t =
	    debug ? &hvapi_debug_vm_image_request_type : &hvapi_replace_vm_image_request_type;
	struct image_io io = {.call = call, .reply = &hvapi_image_response_type};
	struct vmcreate_io vio = {image_read, image_progress, &io};
	bool timed_out = false;
	char err[1024] = "";
	struct vm *vm;
	int rc;

	memset(&req, 0, sizeof(req));
	rc = rpc_read_request(call, req_t, &req, &hvapi_image_response_type);
	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, debug ? req.debug.ip : req.replace.ip, NULL, err, sizeof(err));
	if (vm == NULL)
		rc = -EACCES;
	else if (debug)
		rc = vmreimage_debug(r->m, vm, &req.debug, &vio, &timed_out, err, sizeof(err));
	else
		rc = vmreimage_replace(r->m, vm, &req.replace, &vio, &timed_out, err, sizeof(err));
	if (rc < 0)
		log_info("%s(%s): %s", debug ? "DebugVmImage" : "ReplaceVmImage",
			 vm ? vm->ipstr : "?", err);
	vm_unref(vm);
	rc = image_finish(&io, debug ? req.debug.image_data_size : req.replace.image_data_size, rc,
			  timed_out, err);
	api_clear(req_t, &req);
	return rc;
}

static int replace_vm_image(struct srpc_call *call, void *arg)
{
	return reimage_method(call, arg, false);
}

static int debug_vm_image(struct srpc_call *call, void *arg)
{
	return reimage_method(call, arg, true);
}

static int patch_vm_image(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_patch_vm_image_request req = {0};
	struct image_io io = {.call = call, .reply = &hvapi_patch_vm_image_response_type};
	struct vmcreate_io vio = {image_read, image_progress, &io};
	struct hvapi_patch_vm_image_response fin = {.final = true};
	char err[1024] = "";
	struct vm *vm;
	int rc = rpc_read_request(call, &hvapi_patch_vm_image_request_type, &req,
				  &hvapi_patch_vm_image_response_type);

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, req.ip, NULL, err, sizeof(err));
	rc = vm == NULL ? -EACCES : vmreimage_patch(r->m, vm, &req, &vio, err, sizeof(err));
	if (rc < 0)
		log_info("PatchVmImage(%s): %s", vm ? vm->ipstr : "?", err);
	vm_unref(vm);
	api_clear(&hvapi_patch_vm_image_request_type, &req);
	if (rc < 0)
		rc = rpc_write_error(call, &hvapi_patch_vm_image_response_type, err);
	else
		rc = rpc_write(call, &hvapi_patch_vm_image_response_type, &fin);
	return rc < 0 ? -EIO : 0;
}

static int restore_vm_image(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			    char *err, size_t errsz)
{
	(void)resp;
	return rpc_vm_op(r, call, ((const struct hvapi_ip_request *)req)->ip, NULL,
			 vmreimage_restore, err, errsz);
}

static int discard_vm_old_image(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				char *err, size_t errsz)
{
	(void)resp;
	return rpc_vm_op(r, call, ((const struct hvapi_ip_request *)req)->ip, NULL,
			 vmreimage_discard_old, err, errsz);
}

/* Length bytes of fd to the client. */
static int send_file(struct srpc_conn *c, int fd, uint64_t len)
{
	char buf[65536];

	for (uint64_t off = 0; off < len;) {
		size_t k = len - off > sizeof(buf) ? sizeof(buf) : (size_t)(len - off);
		ssize_t n = pread(fd, buf, k, (off_t)off);

		if (n <= 0) { /* shrank underneath: pad, the length is promised */
			memset(buf, 0, k);
			n = (ssize_t)k;
		}
		if (srpc_conn_write(c, buf, (size_t)n) < 0)
			return -EIO;
		off += (uint64_t)n;
	}
	return srpc_conn_flush(c);
}

/* Public (P|U) like GetVmInfo, but only for those who may see the VM (#5). */
static int get_vm_last_patch_log(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_ip_request q = {0};
	struct hvapi_get_vm_last_patch_log_response resp = {0};
	char err[512] = "", text[INET_ADDRSTRLEN];
	struct vm *vm;
	int fd = -1, rc = rpc_read_request(call, &hvapi_ip_request_type, &q,
					   &hvapi_get_vm_last_patch_log_response_type);

	if (rc < 0)
		return rc;
	vm = manager_find(r->m, q.ip);
	if (vm == NULL) {
		inet_ntop(AF_INET, &q.ip, text, sizeof(text));
		snprintf(err, sizeof(err), "no VM with IP address: %s found", text);
	} else if (!rpc_may_see(r, call, vm)) {
		snprintf(err, sizeof(err), "no access to resource");
	} else {
		vmreimage_patch_log_open(vm, &fd, &resp.length, &resp.patch_time, err, sizeof(err));
	}
	vm_unref(vm);
	if (err[0]) {
		if (fd >= 0)
			close(fd);
		return rpc_write_error(call, &hvapi_get_vm_last_patch_log_response_type, err) < 0
			   ? -EIO
			   : 0;
	}
	rc = rpc_write(call, &hvapi_get_vm_last_patch_log_response_type, &resp);
	if (rc == 0 && resp.length > 0)
		rc = send_file(srpc_call_conn(call), fd, resp.length);
	if (fd >= 0)
		close(fd);
	return rc < 0 ? -EIO : 0;
}

const struct rpc_method rpc_image_methods[] = {
    {.name = HVAPI_M_DEBUG_VM_IMAGE, .stream = debug_vm_image},
    {.name = HVAPI_M_DISCARD_VM_OLD_IMAGE, .fn = discard_vm_old_image},
    {.name = HVAPI_M_GET_VM_LAST_PATCH_LOG, .stream = get_vm_last_patch_log},
    {.name = HVAPI_M_PATCH_VM_IMAGE, .stream = patch_vm_image},
    {.name = HVAPI_M_REPLACE_VM_IMAGE, .stream = replace_vm_image},
    {.name = HVAPI_M_RESTORE_VM_IMAGE, .fn = restore_vm_image},
    {NULL},
};
