/* CreateVm (hypervisor.md §7.2) over the stream: the request, then the image and
 * volume bytes, with progress messages back; vmcreate does the work. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/vmcreate.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

/* ---- CreateVm ---- */

struct create_io {
	struct srpc_call *call;
	uint64_t consumed;
};

static int create_read(void *arg, void *buf, size_t len)
{
	struct create_io *io = arg;
	int rc = srpc_conn_read(srpc_call_conn(io->call), buf, len);

	if (rc == 0)
		io->consumed += len;
	return rc;
}

static void create_progress(void *arg, const char *msg, struct in_addr ip)
{
	struct create_io *io = arg;
	struct hvapi_create_vm_response r = {.ip = ip, .progress_message = (char *)msg};

	rpc_write(io->call, &hvapi_create_vm_response_type, &r);
}

/* Reads and discards n bytes of payload. */
static int drain(struct srpc_call *call, uint64_t n)
{
	char buf[65536];

	while (n > 0) {
		size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		int rc = srpc_conn_read(srpc_call_conn(call), buf, k);

		if (rc < 0)
			return rc;
		n -= k;
	}
	return 0;
}

static int create_vm(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_create_vm_request req = {0};
	struct create_io io = {.call = call};
	struct vmcreate_io vio = {create_read, create_progress, &io};
	struct vm_caller c = rpc_caller(call);
	struct in_addr ip;
	bool timed_out = false;
	char err[1024] = "";
	uint64_t payload;
	int rc = rpc_read_request(call, &hvapi_create_vm_request_type, &req,
				  &hvapi_create_vm_response_type);

	if (rc < 0)
		return rc; /* the payload size is unknown: the stream cannot continue */
	payload = vmcreate_payload_size(&req);
	rc = vmcreate(r->m, &c, &req, &vio, &ip, &timed_out, err, sizeof(err));
	api_clear(&hvapi_create_vm_request_type, &req);
	if (rc < 0) {
		if (io.consumed < payload && drain(call, payload - io.consumed) < 0)
			return -EIO;
		return rpc_write_error(call, &hvapi_create_vm_response_type, err) < 0 ? -EIO : 0;
	}
	struct hvapi_create_vm_response fin = {
	    .final = true, .ip = ip, .dhcp_timed_out = timed_out};

	return rpc_write(call, &hvapi_create_vm_response_type, &fin) < 0 ? -EIO : 0;
}

const struct rpc_method rpc_create_methods[] = {
    {.name = HVAPI_M_CREATE_VM, .stream = create_vm},
    {NULL},
};
