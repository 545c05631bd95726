/* ConnectToVmSerialPort: after the reply, raw bytes both ways between the client and
 * the VM's serial socket until either side closes. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

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
	int fd = -1,
	    rc = rpc_read_request(call, &hvapi_connect_to_vm_serial_port_request_type, &q, rt);

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

const struct rpc_method rpc_console_methods[] = {
    {.name = HVAPI_M_CONNECT_TO_VM_SERIAL_PORT, .stream = serial_port},
    {NULL},
};
