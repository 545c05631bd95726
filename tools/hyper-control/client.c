/* hyper-control client helpers: credentials (rpc.md §9; every server verified against
 * -CAfile), the lazily dialled hypervisor, fleet manager and imageserver connections,
 * request/response calls through the lib/api codec, output, and the interactive
 * terminal of spec §2. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "hyperctl.h"
#include "log.h"
#include "tls.h"

#define HC_ROOT_CERT "/etc/ssl/hypervisor/cert.pem"
#define HC_ROOT_KEY "/etc/ssl/hypervisor/key.pem"
#define HC_CTRL_BACKSLASH 0x1c

static bool log_datestamps, log_subseconds;

void hc_log_options(bool datestamps, bool subseconds)
{
	log_datestamps = datestamps;
	log_subseconds = subseconds;
}

int hc_fail(const char *doing, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "error %s: ", doing);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void hc_progress(const char *fmt, ...)
{
	va_list ap;

	if (log_datestamps) {
		char ts[64];
		fprintf(stderr, "%s ", log_timestamp(ts, sizeof(ts), log_subseconds));
	}
	fputs("hyper-control: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int hc_tls(struct hc *h, const char *doing)
{
	struct tls_client_config cfg = {0};
	char err[512];
	int rc;

	if (h->tls)
		return 0;
	cfg.cert_dir = h->o.cert_directory;
	cfg.ca_file = h->o.ca_file;
	rc = tls_client_new(&cfg, &h->tls, err, sizeof(err));
	if (rc == -ENOENT && geteuid() == 0 && access(HC_ROOT_KEY, R_OK) == 0) {
		/* rpc.md §9: root falls back to the machine's own certificate. */
		cfg.cert_dir = NULL;
		cfg.cert_file = HC_ROOT_CERT;
		cfg.key_file = HC_ROOT_KEY;
		rc = tls_client_new(&cfg, &h->tls, err, sizeof(err));
	}
	if (rc < 0)
		return hc_fail(doing, "loading credentials: %s", err);
	return 0;
}

int hc_dial(struct hc *h, const char *doing, const char *host, int port, struct srpc_client **out)
{
	struct srpc_client_config cfg = {0};
	char addr[300], err[512];
	int n;

	*out = NULL;
	if (hc_tls(h, doing))
		return 1;
	n = snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	if (n < 0 || (size_t)n >= sizeof(addr))
		return hc_fail(doing, "hostname too long: %s", host);
	cfg.tls = h->tls;
	cfg.connect_timeout_ms = (int)(h->o.connect_timeout_ns / 1000000);
	if (srpc_client_dial(addr, &cfg, out, err, sizeof(err)) < 0)
		return hc_fail(doing, "%s", err);
	return 0;
}

int hc_hypervisor(struct hc *h, const char *doing, struct srpc_client **out)
{
	if (!h->hv) {
		if (!*h->o.hypervisor_hostname)
			return hc_fail(doing, "hypervisorHostname unspecified");
		if (hc_dial(h, doing, h->o.hypervisor_hostname, h->o.hypervisor_port, &h->hv))
			return 1;
	}
	*out = h->hv;
	return 0;
}

int hc_fleet_manager(struct hc *h, const char *doing, struct srpc_client **out)
{
	if (!h->fm) {
		if (!*h->o.fleet_manager_hostname)
			return hc_fail(doing, "fleetManagerHostname unspecified");
		if (hc_dial(h, doing, h->o.fleet_manager_hostname, h->o.fleet_manager_port, &h->fm))
			return 1;
	}
	*out = h->fm;
	return 0;
}

int hc_image_server(struct hc *h, const char *doing, struct srpc_client **out)
{
	if (!h->is) {
		const char *host =
		    *h->o.image_server_hostname ? h->o.image_server_hostname : "localhost";
		if (hc_dial(h, doing, host, h->o.image_server_port, &h->is))
			return 1;
	}
	*out = h->is;
	return 0;
}

int hc_call(struct srpc_client *cl, const char *doing, const char *method,
	    const struct api_type *req_t, const void *req, const struct api_type *resp_t,
	    void *resp)
{
	char err[4096];

	if (hvclient_call(cl, method, req_t, req, resp_t, resp, err, sizeof(err)) < 0)
		return hc_fail(doing, "%s", err);
	return 0;
}

int hc_print_json(const struct api_type *t, const void *obj)
{
	char *s = api_dumps(t, obj, SJSON_PRETTY);

	if (!s)
		return hc_fail("printing", "out of memory");
	fputs(s, stdout);
	free(s);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Copies what the connection has to stderr. 0, or 1 when the connection ended. */
static int conn_to_stderr(struct srpc_conn *conn)
{
	char buf[16384];
	ssize_t n = srpc_conn_read_some(conn, buf, sizeof(buf));

	if (n <= 0)
		return 1;
	for (ssize_t off = 0, w; off < n; off += w) {
		w = write(STDERR_FILENO, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			return 1;
	}
	return 0;
}

/* Copies what stdin has to the connection. 0; 1 at the end of stdin; 2 at Ctrl-\;
 * -errno when the connection fails. */
static int stdin_to_conn(struct srpc_conn *conn)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	int rc;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return 1;
	if (buf[0] == HC_CTRL_BACKSLASH)
		return 2;
	if ((rc = srpc_conn_write(conn, buf, (size_t)n)) < 0 || (rc = srpc_conn_flush(conn)) < 0)
		return rc;
	return 0;
}

int hc_terminal(struct srpc_client *cl, const char *doing)
{
	struct srpc_conn *conn = srpc_client_conn(cl);
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true;
	int rc = 0;

	if (tty) {
		if (tcgetattr(STDIN_FILENO, &saved) < 0)
			return hc_fail(doing, "reading terminal mode: %s", strerror(errno));
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
			return hc_fail(doing, "setting raw terminal mode: %s", strerror(errno));
	}
	fputs("Press control-\\ to disconnect\r\n", stderr);
	for (;;) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(conn), .events = POLLIN},
				      {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
		int r;

		if (!srpc_conn_pending(conn) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if ((srpc_conn_pending(conn) || p[0].revents) && conn_to_stderr(conn))
			break;
		if (!p[1].revents)
			continue;
		r = stdin_to_conn(conn);
		if (r < 0) {
			rc = r;
			break;
		}
		/* Ctrl-\ ends the session; the end of a piped stdin only stops input: the
		 * session goes on until the other side closes. */
		if (r == 2 || (r == 1 && tty))
			break;
		if (r == 1)
			in_open = false;
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	fputs("\r\n", stderr);
	if (rc < 0)
		return hc_fail(doing, "%s", strerror(-rc));
	return 0;
}

/* host:port of a HypervisorAddress into h->hv. */
static int dial_address(struct hc *h, const char *doing, const char *address)
{
	const char *colon = strrchr(address, ':');
	char host[256];
	int port = h->o.hypervisor_port;

	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		size_t len = (size_t)(colon - address);

		if (*end || p <= 0 || p > 65535 || len >= sizeof(host))
			return hc_fail(doing, "bad hypervisor address: %s", address);
		memcpy(host, address, len);
		host[len] = '\0';
		port = (int)p;
	} else if (snprintf(host, sizeof(host), "%s", address) >= (int)sizeof(host)) {
		return hc_fail(doing, "bad hypervisor address: %s", address);
	}
	return hc_dial(h, doing, host, port, &h->hv);
}

int hc_vm_hypervisor(struct hc *h, const char *doing, const char *vm, struct in_addr *ip,
		     struct srpc_client **out)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	size_t n = 0;
	int rc;

	rc = getaddrinfo(vm, NULL, &hints, &res);
	if (rc != 0)
		return hc_fail(doing, "lookup %s: %s", vm, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct in_addr a = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if (n == 0 || a.s_addr != ip->s_addr)
			n++;
		*ip = a;
	}
	freeaddrinfo(res);
	if (n != 1)
		return hc_fail(doing, "num IPs: %zu != 1", n);
	if (h->hv || *h->o.hypervisor_hostname)
		return hc_hypervisor(h, doing, out);
	if (*h->o.fleet_manager_hostname) {
		struct fmapi_get_hypervisor_for_vm_request q = {.ip = *ip};
		struct fmapi_get_hypervisor_for_vm_response r;
		struct srpc_client *fm;

		if (hc_fleet_manager(h, doing, &fm) ||
		    hc_call(fm, doing, FMAPI_M_GET_HYPERVISOR_FOR_VM,
			    &fmapi_get_hypervisor_for_vm_request_type, &q,
			    &fmapi_get_hypervisor_for_vm_response_type, &r))
			return 1;
		rc = dial_address(h, doing, r.hypervisor_address);
		fmapi_get_hypervisor_for_vm_response_clear(&r);
	} else {
		rc = hc_dial(h, doing, "localhost", h->o.hypervisor_port, &h->hv);
	}
	*out = h->hv;
	return rc;
}
