/* http_mini: one HTTP/1.x request per connection, answered through lib/http's routes. */
#include "http_mini.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srpc_conn.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX (and '+' as space in a query) in place; false for a bad escape or a
 * decoded NUL. */
static bool pct_decode(char *s, bool query)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (lo < 0 || (hi == 0 && lo == 0))
				return false;
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*w++ = query && *s == '+' ? ' ' : *s;
		}
	}
	*w = '\0';
	return true;
}

int http_mini_parse(char *buf, struct http_mini_req *req)
{
	char *line_end, *sp1, *sp2, *target, *query;

	memset(req, 0, sizeof(*req));
	line_end = strpbrk(buf, "\r\n");
	if (line_end == NULL)
		return 400;
	*line_end = '\0';
	sp1 = strchr(buf, ' ');
	if (sp1 == NULL || sp1 == buf)
		return 400;
	*sp1 = '\0';
	target = sp1 + 1;
	sp2 = strchr(target, ' ');
	if (sp2 == NULL || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || strchr(sp2 + 1, ' ') != NULL)
		return 400;
	*sp2 = '\0';
	for (const char *m = buf; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return 400;
	if (target[0] != '/')
		return 400;
	req->method = buf;
	query = strchr(target, '?');
	if (query != NULL)
		*query++ = '\0';
	if (!pct_decode(target, false))
		return 400;
	req->path = target;
	while (query != NULL && *query) {
		char *next = strchr(query, '&'), *eq;

		if (next != NULL)
			*next++ = '\0';
		if (*query) {
			if (req->nargs == sizeof(req->args) / sizeof(req->args[0]))
				return 414;
			eq = strchr(query, '=');
			if (eq != NULL)
				*eq++ = '\0';
			if (!pct_decode(query, true) || (eq != NULL && !pct_decode(eq, true)))
				return 400;
			req->args[req->nargs++] = (struct http_arg){query, eq};
		}
		query = next;
	}
	return 0;
}

static const char *reason(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Client Error" : "Server Error";
	}
}

static void send_answer(int fd, unsigned status, const char *type, const char *body, size_t len,
			bool head_only)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, reason(status), type, len);

	if (n <= 0 || (size_t)n >= sizeof(head))
		return;
	if (srpc_send_all(fd, head, (size_t)n) == 0 && !head_only && len > 0)
		srpc_send_all(fd, body, len);
}

static void send_text(int fd, unsigned status, const char *text)
{
	send_answer(fd, status, HTTP_TYPE_TEXT, text, strlen(text), false);
}

/* Reads until the end of the head: its length, 0 when it did not come in time or the
 * peer closed, -1 when it is too long. */
static ssize_t read_head(int fd, char *buf, size_t size, int timeout_s, int stopfd)
{
	int64_t deadline = srpc_now_ms() + (int64_t)timeout_s * 1000;
	size_t have = 0;

	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = stopfd, .events = POLLIN}};
		int64_t left = deadline - srpc_now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return 0;
		r = poll(p, stopfd >= 0 ? 2 : 1, (int)left);
		if (r < 0 && errno != EINTR)
			return 0;
		if (r <= 0)
			continue;
		if (stopfd >= 0 && p[1].revents != 0)
			return 0;
		n = recv(fd, buf + have, size - 1 - have, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return (ssize_t)have;
		if (have == size - 1)
			return -1;
	}
}

void http_mini_serve(int fd, const struct sockaddr *peer, struct srpc_server *srpc,
		     const struct http_routes *routes, int timeout_s, int stopfd)
{
	static const struct http_routes none = {NULL, 0, NULL};
	char buf[HTTP_MINI_HEAD_MAX + 1];
	struct http_mini_req mr;
	struct http_req req = {0};
	struct http_answer a;
	ssize_t n = read_head(fd, buf, sizeof(buf), timeout_s, stopfd);
	bool head_only;
	char *body;
	int status;

	if (n == 0)
		return;
	if (n < 0) {
		send_text(fd, 431, "request head too large\n");
		return;
	}
	status = http_mini_parse(buf, &mr);
	if (status != 0) {
		send_text(fd, (unsigned)status, "bad request\n");
		return;
	}
	head_only = strcmp(mr.method, "HEAD") == 0;
	if (srpc != NULL && srpc_server_http(srpc, mr.method, mr.path, &status, &body) == 0) {
		send_answer(fd, (unsigned)status, HTTP_TYPE_TEXT, body, strlen(body), head_only);
		free(body);
		return;
	}
	req.method = mr.method;
	req.url = mr.path;
	req.loopback = http_is_loopback(peer);
	req.args = mr.args;
	req.nargs = mr.nargs;
	if (http_dispatch(routes != NULL ? routes : &none, &req, &a) < 0) {
		send_text(fd, 500, "out of memory\n");
		return;
	}
	send_answer(fd, a.status, a.type, a.body, a.len, head_only);
	free(a.body);
}
