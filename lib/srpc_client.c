/* srpc_client: dials an SRPC server (spec/rpc.md §2, §4, §9): TCP, CONNECT, TLS with
 * server verification, then RR and streaming calls over the shared message stream. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srpc_conn.h"
#include "srpc_wire.h"

struct srpc_client {
	struct srpc_conn *conn;
	int call_timeout_ms;
	char host[256];
	char err[1024];
};

/* Splits "host:port" / "[v6]:port". */
static int split_addr(const char *addr, char *host, size_t hsz, char *port, size_t psz)
{
	const char *colon;
	size_t hl;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		if (rb == NULL || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - addr - 1);
		addr++;
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - addr);
	}
	if (hl >= hsz || strlen(colon + 1) >= psz || colon[1] == '\0')
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	snprintf(port, psz, "%s", colon + 1);
	return 0;
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	int flags, rc = 0, soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -errno;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int64_t left = deadline - srpc_now_ms();

		if (errno != EINPROGRESS) {
			rc = -errno;
		} else if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			rc = -ETIMEDOUT;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			rc = -(soerr != 0 ? soerr : errno);
		}
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	fcntl(fd, F_SETFL, flags);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

static int dial_tcp(const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -EHOSTUNREACH, gr;

	gr = getaddrinfo(host, port, &hints, &res);
	if (gr != 0)
		return gr == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

/* The CONNECT exchange on fd; messages per §2.3. */
static int connect_request(int fd, const struct srpc_client_config *cfg, const char *host,
			   int64_t deadline, char *err, size_t errsz)
{
	char req[128], hdr[4096], status[128];
	bool connected;
	ssize_t n;
	int code, rc;

	snprintf(req, sizeof(req), "CONNECT %s%s HTTP/1.0\n\n",
		 cfg->tls != NULL ? SRPC_PATH_TLS_JSON : SRPC_PATH_PLAIN_JSON,
		 cfg->no_method_powers ? "?doNotUseMethodPowers=true" : "");
	if ((rc = srpc_send_all(fd, req, strlen(req))) < 0) {
		snprintf(err, errsz, "%s: send CONNECT: %s", host, strerror(-rc));
		return rc;
	}
	n = srpc_read_header(fd, hdr, sizeof(hdr), deadline);
	if (n < 0) {
		snprintf(err, errsz, "%s: read CONNECT answer: %s", host,
			 n == -ECONNRESET ? "connection closed" : strerror((int)-n));
		return (int)n;
	}
	code = srpc_wire_parse_status(hdr, (size_t)n, &connected, status, sizeof(status));
	if (code < 0) {
		snprintf(err, errsz, "%s: malformed HTTP response", host);
		return -EPROTO;
	}
	if (connected)
		return 0;
	if (code == 404)
		snprintf(err, errsz, "%s: no SRPC endpoint", host);
	else if (code == 401)
		snprintf(err, errsz, "%s: bad certificate", host);
	else if (code == 405)
		snprintf(err, errsz, "%s: missing certificate", host);
	else
		snprintf(err, errsz, "%s: unexpected HTTP response: %s", host, status);
	return code == 404 ? -ENOENT : -EPROTO;
}

int srpc_client_dial(const char *addr, const struct srpc_client_config *cfg,
		     struct srpc_client **out, char *err, size_t errsz)
{
	int64_t deadline =
	    srpc_now_ms() + (cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 15000);
	struct srpc_client *cl;
	char port[16];
	SSL *ssl = NULL;
	int fd, rc;

	*out = NULL;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->call_timeout_ms = cfg->call_timeout_ms;
	if (split_addr(addr, cl->host, sizeof(cl->host), port, sizeof(port)) < 0) {
		snprintf(err, errsz, "bad address %s: want host:port", addr);
		rc = -EINVAL;
		goto out_free;
	}
	fd = dial_tcp(cl->host, port, deadline);
	if (fd < 0) {
		snprintf(err, errsz, "dial %s: %s", addr, strerror(-fd));
		rc = fd;
		goto out_free;
	}
	if ((rc = connect_request(fd, cfg, addr, deadline, err, errsz)) < 0)
		goto out_close;
	if (cfg->tls != NULL) {
		const char *name = cfg->server_name != NULL ? cfg->server_name : cl->host;

		ssl = tls_client_ssl_new(cfg->tls, name);
		if (ssl == NULL) {
			rc = -ENOMEM;
			goto out_close;
		}
		rc = srpc_ssl_handshake(ssl, fd, false, deadline);
		if (rc < 0) {
			if (rc == -ETIMEDOUT)
				snprintf(err, errsz, "TLS handshake with %s: timed out", name);
			else
				tls_client_handshake_error(ssl, name, err, errsz);
			goto out_free_ssl;
		}
	}
	cl->conn = srpc_conn_new(fd, ssl, cfg->max_message);
	if (cl->conn == NULL) {
		rc = -ENOMEM;
		goto out_free_ssl;
	}
	srpc_conn_set_timeout(cl->conn, cl->call_timeout_ms);
	*out = cl;
	return 0;
out_free_ssl:
	SSL_free(ssl);
out_close:
	close(fd);
out_free:
	free(cl);
	return rc;
}

void srpc_client_close(struct srpc_client *cl)
{
	if (cl == NULL)
		return;
	srpc_conn_free(cl->conn);
	free(cl);
}

const char *srpc_client_error(const struct srpc_client *cl)
{
	return cl->err;
}

void srpc_client_set_error(struct srpc_client *cl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->err, sizeof(cl->err), fmt, ap);
	va_end(ap);
}

struct srpc_conn *srpc_client_conn(struct srpc_client *cl)
{
	return cl->conn;
}

static int transport_error(struct srpc_client *cl, int rc, const char *what)
{
	const char *why = cl->conn->errmsg[0] != '\0' ? cl->conn->errmsg
			  : rc == -ECONNRESET	      ? "connection closed"
						      : strerror(-rc);

	snprintf(cl->err, sizeof(cl->err), "%s: %s: %s", cl->host, what, why);
	cl->conn->errmsg[0] = '\0';
	return rc;
}

/* Reads an accept/answer line: 0 if empty, -EREMOTEIO with the text in cl->err. */
static int read_status_line(struct srpc_client *cl, const char *what)
{
	char line[768];
	ssize_t n = srpc_conn_read_line(cl->conn, line, sizeof(line));

	if (n < 0)
		return transport_error(cl, (int)n, what);
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (n == 0)
		return 0;
	snprintf(cl->err, sizeof(cl->err), "%s", line);
	return -EREMOTEIO;
}

int srpc_client_start(struct srpc_client *cl, const char *method)
{
	int rc;

	cl->err[0] = '\0';
	if (strchr(method, '\n') != NULL)
		return -EINVAL;
	rc = srpc_conn_write(cl->conn, method, strlen(method));
	if (rc == 0)
		rc = srpc_conn_write(cl->conn, "\n", 1);
	if (rc == 0)
		rc = srpc_conn_flush(cl->conn);
	if (rc < 0)
		return transport_error(cl, rc, method);
	return read_status_line(cl, method);
}

int srpc_client_ping(struct srpc_client *cl)
{
	return srpc_client_start(cl, "");
}

int srpc_client_call(struct srpc_client *cl, const char *method, const json_t *req, json_t **resp)
{
	json_t *empty = NULL;
	int rc;

	*resp = NULL;
	if ((rc = srpc_client_start(cl, method)) < 0)
		return rc;
	if (req == NULL && (req = empty = json_object()) == NULL)
		return -ENOMEM;
	rc = srpc_conn_write_json(cl->conn, req);
	json_decref(empty);
	if (rc == 0)
		rc = srpc_conn_flush(cl->conn);
	if (rc < 0)
		return transport_error(cl, rc, method);
	if ((rc = read_status_line(cl, method)) < 0)
		return rc;
	rc = srpc_conn_read_json(cl->conn, resp);
	if (rc < 0)
		return transport_error(cl, rc, method);
	return 0;
}
