/* The console methods: after the {Error} reply, raw bytes both ways between the client
 * and the VM: its serial socket (ConnectToVmSerialPort), its QEMU VNC socket
 * (ConnectToVmConsole), or its QEMU monitor (ConnectToVmManager, QMP through libvirt),
 * until either side closes. The table also lists the identity methods of
 * rpc_identity.c. */
#include "daemon/hypervisor/rpc/rpc.h"
#include "daemon/hypervisor/rpc/rpc_identity.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "log.h"

/* ---- ConnectToVmSerialPort ---- */

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
	if (rc == 0 && srpc_conn_relay(srpc_call_conn(call), fd) == 1) {
		static const char bye[] = "VM serial port closed\n";

		srpc_conn_write(srpc_call_conn(call), bye, sizeof(bye) - 1);
		srpc_conn_flush(srpc_call_conn(call));
	}
	close(fd);
	return -ECONNRESET; /* raw bytes flowed both ways: the connection is done */
}

/* ---- ConnectToVmConsole ---- */

/* "" when the VM at ip may be proxied (caller's rights, running, VNC console), else
 * the original's error text in err; *path is its VNC socket. */
static void console_check(struct rpc *r, struct srpc_call *call, struct in_addr ip, char *path,
			  size_t pathsz, char *err, size_t errsz)
{
	const char *why = NULL;
	struct vm *vm = rpc_vm(r, call, ip, NULL, err, errsz);

	if (vm == NULL)
		return;
	pthread_mutex_lock(&vm->mu);
	if (vmstate_check(VMSTATE_OP_CONSOLE, vm->info.vm.state, false, &why) == VMSTATE_REFUSE)
		snprintf(err, errsz, "%s", why);
	else if (vm->info.vm.console_type != HVAPI_CONSOLE_VNC)
		snprintf(err, errsz, "VNC console is not enabled");
	pthread_mutex_unlock(&vm->mu);
	vm_path(vm, "vnc", path, pathsz);
	vm_unref(vm);
}

static int vm_console(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_ip_request q = {0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const struct api_type *rt = &hvapi_error_response_type;
	char err[512] = "", path[4096] = "";
	int fd = -1, rc = rpc_read_request(call, &hvapi_ip_request_type, &q, rt);

	if (rc < 0)
		return rc;
	console_check(r, call, q.ip, path, sizeof(path), err, sizeof(err));
	if (err[0] == '\0') {
		if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
		    (int)sizeof(sa.sun_path))
			snprintf(err, sizeof(err), "dial unix %s: path too long", path);
		else if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
			 connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			snprintf(err, sizeof(err), "dial unix %s: connect: %s", path,
				 strerror(errno));
	}
	if (err[0] != '\0') {
		if (fd >= 0)
			close(fd);
		return rpc_write_error(call, rt, err) < 0 ? -EIO : 0;
	}
	rc = rpc_write_error(call, rt, "");
	if (rc == 0)
		srpc_conn_relay(srpc_call_conn(call), fd);
	close(fd);
	return -ECONNRESET; /* raw bytes flowed both ways: the connection is done */
}

/* ---- ConnectToVmManager ---- */

#define MANAGER_LINE_MAX 65536

struct manager_session {
	struct rpc *r;
	struct vm *vm;
	struct srpc_conn *conn;
	char *line; /* the command being typed */
	size_t len;
	bool overflow;
};

/* True while the VM runs (the monitor exists). */
static bool manager_vm_runs(struct vm *vm)
{
	bool ok;

	pthread_mutex_lock(&vm->mu);
	ok = vm->info.vm.state == HVAPI_STATE_RUNNING || vm->info.vm.state == HVAPI_STATE_DEBUGGING;
	pthread_mutex_unlock(&vm->mu);
	return ok;
}

/* Sends one typed line to QEMU's monitor and streams its reply. 1 when the monitor
 * is gone (the VM stopped), 0, or -errno of the client connection. */
static int manager_command(struct manager_session *s)
{
	char err[512] = "", *reply = NULL;
	size_t i = 0;
	int rc;

	while (i < s->len && (s->line[i] == ' ' || s->line[i] == '\t' || s->line[i] == '\n'))
		i++;
	if (s->overflow) {
		s->overflow = false;
		return srpc_conn_write(s->conn, "line too long\r\n", 15);
	}
	if (i == s->len)
		return 0;
	s->line[s->len] = '\0';
	rc = virt_qmp(s->r->m->virt, s->vm->ipstr, s->line + i, &reply, err, sizeof(err));
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		rc = srpc_conn_write(s->conn, err, strlen(err));
	else
		rc = srpc_conn_write(s->conn, reply, strlen(reply));
	free(reply);
	return rc < 0 ? rc : srpc_conn_write(s->conn, "\r\n", 2);
}

/* Client bytes are echoed (a CR as CR LF, as the original's terminal); each
 * CR-terminated line goes to the monitor. */
static int manager_input(struct manager_session *s, const char *buf, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (buf[i] == '\r' && s->len == 0 && !s->overflow)
			continue; /* an empty line: nothing to send, nothing echoed */
		rc = srpc_conn_write(s->conn, &buf[i], 1);
		if (rc < 0)
			break;
		if (buf[i] == '\r') {
			rc = srpc_conn_write(s->conn, "\n", 1);
			if (rc == 0)
				rc = manager_command(s);
			s->len = 0;
		} else if (s->len < MANAGER_LINE_MAX) {
			s->line[s->len++] = buf[i];
		} else {
			s->overflow = true;
		}
	}
	return rc;
}

/* 1 when the VM stopped, 0 when the client left, -errno. */
static int manager_relay(struct manager_session *s)
{
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = srpc_conn_fd(s->conn), .events = POLLIN};
		ssize_t n;
		int rc;

		if (!srpc_conn_pending(s->conn)) {
			rc = poll(&p, 1, 1000);
			if (rc < 0 && errno != EINTR)
				return -errno;
			if (rc <= 0) {
				if (!manager_vm_runs(s->vm))
					return 1;
				continue;
			}
		}
		n = srpc_conn_read_some(s->conn, buf, sizeof(buf));
		if (n <= 0)
			return 0;
		rc = manager_input(s, buf, (size_t)n);
		if (rc == 0)
			rc = srpc_conn_flush(s->conn);
		if (rc != 0)
			return rc;
	}
}

static int vm_manager(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_ip_request q = {0};
	const struct api_type *rt = &hvapi_error_response_type;
	struct manager_session s = {.r = r, .conn = srpc_call_conn(call)};
	char err[512] = "", text[INET_ADDRSTRLEN];
	int rc = rpc_read_request(call, &hvapi_ip_request_type, &q, rt);

	if (rc < 0)
		return rc;
	s.vm = manager_find(r->m, q.ip);
	if (s.vm == NULL) {
		inet_ntop(AF_INET, &q.ip, text, sizeof(text));
		snprintf(err, sizeof(err), "no VM with IP address: %s found", text);
	} else if (!manager_vm_runs(s.vm)) {
		snprintf(err, sizeof(err), "VM is not running");
	} else if ((s.line = malloc(MANAGER_LINE_MAX + 1)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
	}
	if (err[0] != '\0') {
		vm_unref(s.vm);
		return rpc_write_error(call, rt, err) < 0 ? -EIO : 0;
	}
	log_info("%s: VM manager connected by %s", s.vm->ipstr, srpc_call_auth(call)->username);
	rc = rpc_write_error(call, rt, "");
	if (rc == 0 && manager_relay(&s) == 1) {
		static const char bye[] = "VM manager closed\n";

		srpc_conn_write(s.conn, bye, sizeof(bye) - 1);
		srpc_conn_flush(s.conn);
	}
	free(s.line);
	vm_unref(s.vm);
	return -ECONNRESET; /* raw bytes flowed both ways: the connection is done */
}

const struct rpc_method rpc_console_methods[] = {
    {.name = HVAPI_M_CONNECT_TO_VM_SERIAL_PORT, .stream = serial_port},
    {.name = HVAPI_M_CONNECT_TO_VM_CONSOLE, .stream = vm_console},
    {.name = HVAPI_M_CONNECT_TO_VM_MANAGER, .stream = vm_manager},
    {.name = HVAPI_M_REPLACE_VM_CREDENTIALS, .fn = rpc_replace_vm_credentials},
    {.name = HVAPI_M_REPLACE_VM_IDENTITY, .fn = rpc_replace_vm_identity},
    {NULL},
};
