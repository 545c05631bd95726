/* vm-control subcommands whose calls carry raw bytes after the JSON messages:
 * connect-to-vm-serial-port (both ways, stdin/stdout, "~." at a line start or EOF ends
 * it), get-vm-user-data, replace-vm-user-data and trace-vm-metadata. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "fsutil.h"
#include "vmctl.h"

#define O (&v->o)

static int write_all(int fd, const void *buf, size_t len)
{
	return fsutil_write_all(fd, buf, len);
}

/* Copies len raw bytes of the stream to fd. */
static int copy_out(struct srpc_conn *conn, int fd, uint64_t len, const char *doing)
{
	uint8_t buf[65536];

	while (len > 0) {
		ssize_t n = srpc_conn_read_some(conn, buf, len < sizeof(buf) ? len : sizeof(buf));
		int rc;

		if (n <= 0)
			return cli_fail(doing, "%s",
					n == 0 ? "connection closed early" : strerror((int)-n));
		rc = write_all(fd, buf, (size_t)n);
		if (rc < 0)
			return cli_fail(doing, "writing: %s", strerror(-rc));
		len -= (uint64_t)n;
	}
	return 0;
}

int vmctl_cmd_get_user_data(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[])
{
	struct hvapi_vm_token_request req = {.access_token = O->access_token};
	struct hvapi_length_response resp;
	bool to_file = *O->user_data_file && strcmp(O->user_data_file, "-") != 0;
	int fd = STDOUT_FILENO, rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (to_file) {
		fd = open(O->user_data_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return cli_fail(c->doing, "open %s: %s", O->user_data_file,
					strerror(errno));
	}
	rc = vmctl_stream_start(v, c->doing, c->method, &hvapi_vm_token_request_type, &req,
				&hvapi_length_response_type, &resp);
	if (rc == 0) {
		rc = copy_out(srpc_client_conn(v->client), fd, resp.length, c->doing);
		hvapi_length_response_clear(&resp);
	}
	if (to_file && close(fd) < 0 && rc == 0)
		rc = cli_fail(c->doing, "close %s: %s", O->user_data_file, strerror(errno));
	return rc;
}

int vmctl_cmd_replace_user_data(struct vmctl *v, const struct vmctl_cmd *c, int argc,
				char *const argv[])
{
	struct hvapi_replace_vm_user_data_request req = {0};
	struct hvapi_error_response resp;
	struct srpc_conn *conn;
	uint8_t *data = NULL;
	size_t len = 0;
	char line[4096], *err = NULL;
	json_t *j = NULL;
	ssize_t n;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (!*O->user_data_file)
		return cli_fail(c->doing, "no -userDataFile given (\"-\" reads stdin)");
	rc = vmctl_read_file(O->user_data_file, &data, &len);
	if (rc < 0)
		return cli_fail(c->doing, "read %s: %s", O->user_data_file, strerror(-rc));
	req.size = len;
	rc = 1;
	if (vmctl_dial(v, c->doing))
		goto out;
	/* A request/response call whose handler reads Size raw bytes after the request:
	 * the request and the data go in separate writes (rpc.md §10.2). */
	if (srpc_client_start(v->client, c->method) < 0) {
		cli_fail(c->doing, "%s", srpc_client_error(v->client));
		goto out;
	}
	conn = srpc_client_conn(v->client);
	if (!(j = hvapi_replace_vm_user_data_request_to_json(&req)) ||
	    srpc_conn_write_json(conn, j) < 0 || srpc_conn_flush(conn) < 0 ||
	    srpc_conn_write(conn, data, len) < 0 || srpc_conn_flush(conn) < 0) {
		cli_fail(c->doing, "sending user data failed");
		goto out;
	}
	json_decref(j);
	j = NULL;
	n = srpc_conn_read_line(conn, line, sizeof(line));
	if (n < 0) {
		cli_fail(c->doing, "reading reply: %s", strerror((int)-n));
		goto out;
	}
	if (n > 0) {
		cli_fail(c->doing, "%s", line);
		goto out;
	}
	if (srpc_conn_read_json(conn, &j) < 0 ||
	    api_decode_msg(&hvapi_error_response_type, j, "reply", &resp, &err) < 0) {
		cli_fail(c->doing, "bad reply%s%s", err ? ": " : "", err ? err : "");
		goto out;
	}
	rc = *resp.error ? cli_fail(c->doing, "%s", resp.error) : 0;
	hvapi_error_response_clear(&resp);
out:
	free(err);
	json_decref(j);
	free(data);
	return rc;
}

int vmctl_cmd_trace_metadata(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			     char *const argv[])
{
	struct hvapi_ip_request req = {0};
	struct hvapi_error_response resp;
	uint8_t buf[4096];
	ssize_t n;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (vmctl_stream_start(v, c->doing, c->method, &hvapi_ip_request_type, &req,
			       &hvapi_error_response_type, &resp))
		return 1;
	hvapi_error_response_clear(&resp);
	while ((n = srpc_conn_read_some(srpc_client_conn(v->client), buf, sizeof(buf))) > 0)
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return 1;
	return n == 0 ? 0 : cli_fail(c->doing, "%s", strerror((int)-n));
}

/* ---- serial port ---- */

struct escape {
	bool line_start; /* the next byte begins a line */
	bool tilde;	 /* a '~' at a line start is being held */
};

/* Filters stdin bytes into out (room for 2*n): "~." at a line start ends the session
 * (returns true), "~~" sends one '~'. */
static bool escape_filter(struct escape *e, const uint8_t *in, size_t n, uint8_t *out, size_t *outn)
{
	*outn = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

		if (e->tilde) {
			e->tilde = false;
			if (b == '.')
				return true;
			if (b != '~')
				out[(*outn)++] = '~';
			out[(*outn)++] = b;
			e->line_start = false;
			continue;
		}
		if (e->line_start && b == '~') {
			e->tilde = true;
			continue;
		}
		out[(*outn)++] = b;
		e->line_start = b == '\r' || b == '\n';
	}
	return false;
}

static int relay(struct srpc_conn *conn, const char *doing)
{
	struct escape esc = {true, false};
	uint8_t in[4096], out[8192];

	for (;;) {
		struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				      {.fd = srpc_conn_fd(conn), .events = POLLIN}};
		ssize_t n;
		size_t outn;

		if (!srpc_conn_pending(conn) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return cli_fail(doing, "poll: %s", strerror(errno));
		}
		if (srpc_conn_pending(conn) || (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = srpc_conn_read_some(conn, out, sizeof(out));
			if (n == 0)
				return 0; /* the hypervisor closed the port */
			if (n < 0)
				return cli_fail(doing, "%s", strerror((int)-n));
			if (write_all(STDOUT_FILENO, out, (size_t)n) < 0)
				return 1;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(STDIN_FILENO, in, sizeof(in));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0; /* end of input ends the session */
		if (escape_filter(&esc, in, (size_t)n, out, &outn))
			return 0;
		if (outn && (srpc_conn_write(conn, out, outn) < 0 || srpc_conn_flush(conn) < 0))
			return cli_fail(doing, "sending: connection lost");
	}
}

int vmctl_cmd_serial(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_connect_to_vm_serial_port_request req = {.port_number =
								  (uint32_t)O->serial_port};
	struct hvapi_error_response resp;
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO);
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (vmctl_stream_start(v, c->doing, c->method,
			       &hvapi_connect_to_vm_serial_port_request_type, &req,
			       &hvapi_error_response_type, &resp))
		return 1;
	hvapi_error_response_clear(&resp);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "Connected; type ~. at the start of a line to disconnect\r\n");
	} else {
		tty = false;
	}
	rc = relay(srpc_client_conn(v->client), c->doing);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\r\n");
	}
	return rc;
}
