/* vm-control subcommands for a VM's root image: replace-vm-image and debug-vm-image
 * (-imageName, -imageURL or -imageFile streamed after the request), patch-vm-image
 * (-imageName), each printing the progress messages on stderr; get-vm-last-patch-log
 * (the log on stdout). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "vmctl.h"

#define O (&v->o)

/* Sends req (and size bytes of fd after it, in writes of their own: rpc.md §10.2). */
static int send_request(struct vmctl *v, const struct vmctl_cmd *c, const struct api_type *t,
			const void *req, int fd, uint64_t size)
{
	static uint8_t buf[1 << 16];
	struct srpc_conn *conn = NULL;
	int rc = vmctl_stream_send(v, c->doing, c->method, t, req);

	if (rc > 0)
		return 1;
	if (rc == 0)
		conn = srpc_client_conn(v->client);
	for (uint64_t done = 0; rc == 0 && fd >= 0 && done < size;) {
		size_t want = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cli_fail(c->doing, "uploading image: %s",
					n < 0 ? strerror(errno) : "file shrank");
		rc = srpc_conn_write(conn, buf, (size_t)n);
		done += (uint64_t)n;
	}
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	if (rc < 0)
		return cli_fail(c->doing, "sending request: %s", strerror(-rc));
	return 0;
}

/* Reads progress replies up to Final. */
static int read_progress(struct vmctl *v, const struct vmctl_cmd *c)
{
	struct srpc_conn *conn = srpc_client_conn(v->client);

	for (;;) {
		const char *s;
		json_t *j;
		int rc = srpc_conn_read_json(conn, &j);

		if (rc < 0)
			return cli_fail(c->doing, "reading reply: %s",
					rc == -ECONNRESET ? "connection closed" : strerror(-rc));
		s = json_string_value(sjson_lookup(j, "Error"));
		if (s && *s) {
			cli_fail(c->doing, "%s", s);
			json_decref(j);
			return 1;
		}
		s = json_string_value(sjson_lookup(j, "ProgressMessage"));
		if (s && *s)
			fprintf(stderr, "%s\n", s);
		if (json_is_true(sjson_lookup(j, "Final"))) {
			rc = json_is_true(sjson_lookup(j, "DhcpTimedOut"));
			json_decref(j);
			return rc ? cli_fail(c->doing, "DHCP ACK timed out") : 0;
		}
		json_decref(j);
	}
}

/* -imageFile: its descriptor and size (regular files only). */
static int open_image(const struct vmctl_cmd *c, const char *path, int *fd, uint64_t *size)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cli_fail(c->doing, "open %s: %s", path, strerror(errno));
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return cli_fail(c->doing, "%s: not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The image source of replace-vm-image and debug-vm-image. */
struct image_args {
	const char *name, *url;
	uint64_t data_size;
	int fd;
};

static int image_args(struct vmctl *v, const struct vmctl_cmd *c, struct image_args *a)
{
	a->name = a->url = "";
	a->data_size = 0;
	a->fd = -1;
	if (*O->image_name)
		a->name = O->image_name;
	else if (*O->image_url)
		a->url = O->image_url;
	else if (*O->image_file)
		return open_image(c, O->image_file, &a->fd, &a->data_size);
	else
		return cli_fail(c->doing, "no image specified");
	return 0;
}

int vmctl_cmd_replace_image(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[])
{
	struct hvapi_replace_vm_image_request req = {0};
	struct image_args a;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip) || image_args(v, c, &a))
		return 1;
	req.dhcp_timeout_ns = O->dhcp_timeout_ns;
	req.minimum_free_bytes = O->min_free_bytes;
	req.roundup_power = O->roundup_power;
	req.image_name = (char *)a.name;
	req.image_url = (char *)a.url;
	req.image_data_size = a.data_size;
	req.image_timeout_ns = *a.name ? O->image_timeout_ns : 0;
	req.skip_bootloader = *a.name ? O->skip_bootloader : false;
	req.skip_backup = O->skip_backup;
	req.pre_delete = O->pre_delete;
	req.volume_format = O->volume_format.value;
	rc = send_request(v, c, &hvapi_replace_vm_image_request_type, &req, a.fd, a.data_size);
	if (a.fd >= 0)
		close(a.fd);
	return rc ? rc : read_progress(v, c);
}

int vmctl_cmd_debug_image(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_debug_vm_image_request req = {0};
	struct image_args a;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip) || image_args(v, c, &a))
		return 1;
	req.dhcp_timeout_ns = O->dhcp_timeout_ns;
	req.minimum_free_bytes = O->min_free_bytes;
	req.roundup_power = O->roundup_power;
	req.image_name = (char *)a.name;
	req.image_url = (char *)a.url;
	req.image_data_size = a.data_size;
	req.image_timeout_ns = *a.name ? O->image_timeout_ns : 0;
	rc = send_request(v, c, &hvapi_debug_vm_image_request_type, &req, a.fd, a.data_size);
	if (a.fd >= 0)
		close(a.fd);
	return rc ? rc : read_progress(v, c);
}

int vmctl_cmd_patch_image(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_patch_vm_image_request req = {0};

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (!*O->image_name)
		return cli_fail(c->doing, "no -imageName given");
	req.image_name = (char *)O->image_name;
	req.image_timeout_ns = O->image_timeout_ns;
	req.skip_backup = O->skip_backup;
	if (send_request(v, c, &hvapi_patch_vm_image_request_type, &req, -1, 0))
		return 1;
	return read_progress(v, c);
}

int vmctl_cmd_last_patch_log(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			     char *const argv[])
{
	struct hvapi_ip_request req = {0};
	struct srpc_conn *conn;
	uint8_t buf[65536];
	uint64_t len;
	const char *s;
	json_t *j;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip) ||
	    send_request(v, c, &hvapi_ip_request_type, &req, -1, 0))
		return 1;
	conn = srpc_client_conn(v->client);
	rc = srpc_conn_read_json(conn, &j);
	if (rc < 0)
		return cli_fail(c->doing, "reading reply: %s",
				rc == -ECONNRESET ? "connection closed" : strerror(-rc));
	s = json_string_value(sjson_lookup(j, "Error"));
	if (s && *s) {
		cli_fail(c->doing, "%s", s);
		json_decref(j);
		return 1;
	}
	len = (uint64_t)json_integer_value(sjson_lookup(j, "Length"));
	json_decref(j);
	while (len > 0) {
		ssize_t n = srpc_conn_read_some(conn, buf, len < sizeof(buf) ? len : sizeof(buf));

		if (n <= 0)
			return cli_fail(c->doing, "%s",
					n == 0 ? "connection closed early" : strerror((int)-n));
		if (fsutil_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return cli_fail(c->doing, "writing: %s", strerror(errno));
		len -= (uint64_t)n;
	}
	return 0;
}
