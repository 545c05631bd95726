/* vm-control client helpers: credentials and dialling (rpc.md §9, server verified
 * against -CAfile), request/response calls through the lib/api codec, VM argument
 * resolution and output. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "fsutil.h"
#include "vmctl.h"

#define VMCTL_MAX_FILE (1u << 30)

static int load_tls(struct vmctl *v, const char *doing)
{
	struct tls_client_config cfg = {0};
	char err[512];

	cfg.cert_dir = v->o.cert_directory;
	cfg.ca_file = v->o.ca_file;
	cfg.insecure = v->o.insecure;
	if (tls_client_new(&cfg, &v->tls, err, sizeof(err)) < 0)
		return cli_fail(doing, "loading credentials: %s", err);
	return 0;
}

int vmctl_dial(struct vmctl *v, const char *doing)
{
	struct srpc_client_config cfg = {0};
	char err[512];
	int n;

	if (v->client)
		return 0;
	if (!v->tls && load_tls(v, doing))
		return 1;
	n = snprintf(v->addr, sizeof(v->addr),
		     strchr(v->o.hypervisor_hostname, ':') ? "[%s]:%d" : "%s:%d",
		     v->o.hypervisor_hostname, v->o.hypervisor_port);
	if (n < 0 || (size_t)n >= sizeof(v->addr))
		return cli_fail(doing, "hypervisor hostname too long");
	cfg.tls = v->tls;
	cfg.connect_timeout_ms = (int)(v->o.connect_timeout_ns / 1000000);
	if (srpc_client_dial(v->addr, &cfg, &v->client, err, sizeof(err)) < 0)
		return cli_fail(doing, "%s", err);
	return 0;
}

int vmctl_call(struct vmctl *v, const char *doing, const char *method, const struct api_type *req_t,
	       const void *req, const struct api_type *resp_t, void *resp)
{
	json_t *jreq = NULL, *jresp = NULL;
	const char *remote_err;
	char *err = NULL;
	int rc;

	if (vmctl_dial(v, doing))
		return 1;
	if (req_t && !(jreq = api_encode(req_t, req)))
		return cli_fail(doing, "out of memory");
	rc = srpc_client_call(v->client, method, jreq, &jresp);
	json_decref(jreq);
	if (rc < 0)
		return cli_fail(doing, "%s", srpc_client_error(v->client));
	remote_err = json_string_value(sjson_lookup(jresp, "Error"));
	if (remote_err && *remote_err) {
		cli_fail(doing, "%s", remote_err);
		json_decref(jresp);
		return 1;
	}
	rc = api_decode_msg(resp_t, jresp, "reply", resp, &err);
	json_decref(jresp);
	if (rc < 0) {
		cli_fail(doing, "%s", err ? err : strerror(-rc));
		free(err);
		return 1;
	}
	return 0;
}

int vmctl_stream_send(struct vmctl *v, const char *doing, const char *method,
		      const struct api_type *req_t, const void *req)
{
	struct srpc_conn *conn;
	json_t *j;
	int rc;

	if (vmctl_dial(v, doing))
		return 1;
	if (srpc_client_start(v->client, method) < 0)
		return cli_fail(doing, "%s", srpc_client_error(v->client));
	conn = srpc_client_conn(v->client);
	if (!(j = api_encode(req_t, req)))
		return cli_fail(doing, "out of memory");
	rc = srpc_conn_write_json(conn, j);
	json_decref(j);
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	return rc;
}

int vmctl_stream_start(struct vmctl *v, const char *doing, const char *method,
		       const struct api_type *req_t, const void *req, const struct api_type *resp_t,
		       void *resp)
{
	char err[4096];

	if (vmctl_dial(v, doing))
		return 1;
	if (hvclient_start(v->client, method, req_t, req, resp_t, resp, err, sizeof(err)) < 0)
		return cli_fail(doing, "%s", err);
	return 0;
}

int vmctl_call_simple(struct vmctl *v, const char *doing, const char *method,
		      const struct api_type *req_t, const void *req)
{
	struct hvapi_error_response r;

	if (vmctl_call(v, doing, method, req_t, req, &hvapi_error_response_type, &r))
		return 1;
	hvapi_error_response_clear(&r);
	return 0;
}

int vmctl_vm_ip(const char *arg, const char *doing, struct in_addr *out)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	size_t n = 0;
	int rc;

	if (inet_pton(AF_INET, arg, out) == 1)
		return 0;
	rc = getaddrinfo(arg, NULL, &hints, &res);
	if (rc != 0)
		return cli_fail(doing, "lookup %s: %s", arg, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct in_addr a = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if (n == 0 || a.s_addr != out->s_addr)
			n++;
		*out = a;
	}
	freeaddrinfo(res);
	if (n != 1)
		return cli_fail(doing, "%s: num IPs: %zu != 1", arg, n);
	return 0;
}

int vmctl_print_json(const struct api_type *t, const void *obj)
{
	char *s = api_dumps(t, obj, SJSON_PRETTY);

	if (!s)
		return cli_fail("printing", "out of memory");
	fputs(s, stdout);
	free(s);
	return fflush(stdout) == 0 ? 0 : 1;
}

int vmctl_read_file(const char *path, uint8_t **buf, size_t *len)
{
	size_t cap = 0, n = 0;
	uint8_t *b = NULL;
	char *s;
	int rc;

	if (strcmp(path, "-") != 0) {
		rc = fsutil_read_file(path, VMCTL_MAX_FILE, &s, len);
		*buf = (uint8_t *)s;
		return rc;
	}
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb;
			cap = cap ? cap * 2 : 65536;
			if (cap > VMCTL_MAX_FILE || !(nb = realloc(b, cap))) {
				free(b);
				return cap > VMCTL_MAX_FILE ? -EFBIG : -ENOMEM;
			}
			b = nb;
		}
		r = read(STDIN_FILENO, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			free(b);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}
