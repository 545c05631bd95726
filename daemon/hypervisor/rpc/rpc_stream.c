/* Streaming RPC handlers: CreateVm, GetUpdates, ConnectToVmSerialPort, GetVmUserData.
 * A handler returns 0 to keep the connection for the next call, negative to close. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/hypervisor/rpc/updates.h"
#include "daemon/hypervisor/vmm/vmcreate.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

#define HEARTBEAT_MS (15 * 60 * 1000)
#define BATCH_US 10000

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
	int rc = rpc_read_request(call, &hvapi_create_vm_request_type, &req);

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

/* ---- GetUpdates ---- */

static int send_update(struct srpc_call *call, struct hvapi_update *u)
{
	int rc = rpc_write(call, &hvapi_update_type, u);

	api_clear(&hvapi_update_type, u);
	return rc;
}

/* A client message: an empty GetUpdatesRequest or one registering external leases. */
static int client_message(struct srpc_call *call)
{
	struct hvapi_get_updates_request q = {0};
	struct hvapi_update hb;
	int rc = rpc_read_request(call, &hvapi_get_updates_request_type, &q);

	if (rc < 0)
		return rc;
	if (q.register_external_leases != NULL)
		log_info("GetUpdates: external leases from %s are not managed yet (%zu addresses)",
			 srpc_call_auth(call)->username, q.register_external_leases->addresses.n);
	api_clear(&hvapi_get_updates_request_type, &q);
	updates_heartbeat(&hb);
	return send_update(call, &hb);
}

static int get_updates(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct srpc_conn *conn = srpc_call_conn(call);
	struct vm_caller c = rpc_caller(call);
	struct updates_sub *s =
	    updates_subscribe(r->updates, &c, c.admin || r->cfg->allow_unauthenticated_reads);
	struct hvapi_update u;
	int rc;

	if (s == NULL)
		return -ENOMEM;
	srpc_conn_set_timeout(conn, 60000);
	updates_next(r->updates, s, true, &u);
	rc = send_update(call, &u);
	while (rc == 0) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(conn), .events = POLLIN},
				      {.fd = updates_sub_fd(s), .events = POLLIN}};
		int n = srpc_conn_pending(conn) ? 1 : poll(p, 2, HEARTBEAT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			updates_heartbeat(&u);
			rc = send_update(call, &u);
			continue;
		}
		if (srpc_conn_pending(conn) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			rc = client_message(call);
			if (rc == -ECONNRESET) {
				rc = 0; /* the client hung up: a clean end */
				break;
			}
			continue;
		}
		if (p[1].revents & POLLIN) {
			usleep(BATCH_US); /* let a burst of changes gather */
			if (updates_next(r->updates, s, false, &u) > 0)
				rc = send_update(call, &u);
			else
				api_clear(&hvapi_update_type, &u);
		}
	}
	updates_unsubscribe(r->updates, s);
	return -ECONNRESET; /* the stream has no defined end: close the connection */
}

/* ---- ConnectToVmSerialPort ---- */

static int relay(struct srpc_conn *conn, int fd)
{
	char buf[16384];

	for (;;) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(conn), .events = POLLIN},
				      {.fd = fd, .events = POLLIN}};
		ssize_t n;

		if (!srpc_conn_pending(conn) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (srpc_conn_pending(conn) || p[0].revents) {
			n = srpc_conn_read_some(conn, buf, sizeof(buf));
			if (n <= 0)
				return 0; /* client gone */
			if (write(fd, buf, (size_t)n) != n)
				return 1;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return 1; /* VM side closed */
			if (srpc_conn_write(conn, buf, (size_t)n) < 0 || srpc_conn_flush(conn) < 0)
				return 0;
		}
	}
}

static int serial_port(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_connect_to_vm_serial_port_request q = {0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const struct api_type *rt = &hvapi_error_response_type;
	char err[512] = "", path[4096];
	const char *why = NULL;
	struct vm *vm;
	int fd = -1, rc = rpc_read_request(call, &hvapi_connect_to_vm_serial_port_request_type, &q);

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, NULL, err, sizeof(err));
	if (vm != NULL && q.port_number != 0)
		snprintf(err, sizeof(err), "no serial port: %u", q.port_number);
	if (vm != NULL && err[0] == '\0') {
		pthread_mutex_lock(&vm->mu);
		if (vmstate_check(VMSTATE_OP_CONSOLE, vm->info.vm.state, false, &why) ==
		    VMSTATE_REFUSE)
			snprintf(err, sizeof(err), "%s", why);
		pthread_mutex_unlock(&vm->mu);
		vm_path(vm, "serial0.sock", path, sizeof(path));
	}
	if (err[0] == '\0') {
		if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
		    (int)sizeof(sa.sun_path))
			snprintf(err, sizeof(err), "serial port path too long");
		else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
			 connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			snprintf(err, sizeof(err), "cannot connect to serial port: %s",
				 strerror(errno));
	}
	vm_unref(vm);
	if (err[0] != '\0') {
		if (fd >= 0)
			close(fd);
		return rpc_write_error(call, rt, err) < 0 ? -EIO : 0;
	}
	rc = rpc_write_error(call, rt, "");
	if (rc == 0 && relay(srpc_call_conn(call), fd) == 1) {
		static const char bye[] = "VM serial port closed\n";

		srpc_conn_write(srpc_call_conn(call), bye, sizeof(bye) - 1);
		srpc_conn_flush(srpc_call_conn(call));
	}
	close(fd);
	return -ECONNRESET; /* raw bytes flowed both ways: the connection is done */
}

/* ---- GetVmUserData ---- */

static int get_user_data(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_vm_token_request q = {0};
	struct hvapi_length_response resp = {0};
	char err[512] = "", path[4096], *data = NULL;
	struct vm *vm;
	struct stat st;
	int rc = rpc_read_request(call, &hvapi_vm_token_request_type, &q), fd = -1;

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, &q.access_token, err, sizeof(err));
	api_clear(&hvapi_vm_token_request_type, &q);
	if (vm == NULL)
		return rpc_write_error(call, &hvapi_length_response_type, err) < 0 ? -EIO : 0;
	vm_path(vm, "user-data.raw", path, sizeof(path));
	vm_unref(vm);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		data = malloc((size_t)st.st_size);
		if (data != NULL && read(fd, data, (size_t)st.st_size) == st.st_size)
			resp.length = (uint64_t)st.st_size;
	}
	if (fd >= 0)
		close(fd);
	rc = rpc_write(call, &hvapi_length_response_type, &resp);
	if (rc == 0 && resp.length > 0)
		rc = srpc_conn_write(srpc_call_conn(call), data, resp.length);
	if (rc == 0)
		rc = srpc_conn_flush(srpc_call_conn(call));
	free(data);
	return rc;
}

const struct rpc_stream rpc_stream_methods[] = {
    {HVAPI_M_CREATE_VM, create_vm},
    {HVAPI_M_GET_UPDATES, get_updates},
    {HVAPI_M_CONNECT_TO_VM_SERIAL_PORT, serial_port},
    {HVAPI_M_GET_VM_USER_DATA, get_user_data},
    {NULL, NULL},
};
