/* http: routing table, request arguments and answers for the HTTP side of a port. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const char text_400[] = "bad request\n";
static const char text_403[] = "forbidden: this page is only served to local callers\n";
static const char text_404[] = "404 page not found\n";
static const char text_405[] = "method not allowed\n";

const char *http_req_arg(const struct http_req *req, const char *key)
{
	for (size_t i = 0; i < req->nargs; i++)
		if (strcmp(req->args[i].key, key) == 0)
			return req->args[i].value;
	return NULL;
}

const char *http_req_lone_key(const struct http_req *req, const char *except)
{
	const char *key = NULL;

	for (size_t i = 0; i < req->nargs; i++) {
		if (except != NULL && strcmp(req->args[i].key, except) == 0)
			continue;
		if (key != NULL)
			return NULL;
		key = req->args[i].key;
	}
	return key;
}

void http_req_set_type(struct http_req *req, const char *type)
{
	req->type = type;
}

int http_not_found(struct http_req *req, FILE *body)
{
	(void)req;
	(void)body;
	return 404;
}

bool http_is_loopback(const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static int canned(struct http_answer *a, unsigned status, const char *text)
{
	a->status = status;
	a->type = HTTP_TYPE_TEXT;
	a->len = strlen(text);
	a->body = strdup(text);
	return a->body != NULL ? 0 : -ENOMEM;
}

static const struct http_route *find(const struct http_routes *t, const char *url)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct http_route *r = &t->v[i];

		if (r->match == HTTP_ROUTE_EXACT ? strcmp(url, r->path) == 0
						 : strncmp(url, r->path, strlen(r->path)) == 0)
			return r;
	}
	return NULL;
}

int http_dispatch(const struct http_routes *t, struct http_req *req, struct http_answer *a)
{
	const struct http_route *r;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int code;

	memset(a, 0, sizeof(*a));
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return canned(a, 405, text_405);
	r = find(t, req->url);
	if (r == NULL)
		return canned(a, 404, text_404);
	if (r->access == HTTP_ROUTE_LOOPBACK && !req->loopback)
		return canned(a, 403, text_403);
	req->tail = r->match == HTTP_ROUTE_PREFIX ? req->url + strlen(r->path) : "";
	req->arg = t->arg;
	req->data = r->data;
	req->type = r->type != NULL ? r->type : HTTP_TYPE_HTML;
	f = open_memstream(&body, &len);
	if (f == NULL)
		return -ENOMEM;
	code = r->fn(req, f);
	if (fclose(f) != 0) {
		free(body);
		return -ENOMEM;
	}
	if (code < 100 || code > 599)
		code = 500;
	if (code == 400 || code == 403 || code == 404) {
		free(body);
		return canned(a, (unsigned)code,
			      code == 400   ? text_400
			      : code == 403 ? text_403
					    : text_404);
	}
	a->status = (unsigned)code;
	a->type = req->type;
	a->body = body;
	a->len = len;
	return 0;
}

#ifndef SS_HTTP_MINI /* the libmicrohttpd side; lib/http_mini.c serves without it */
struct arg_list {
	struct http_arg *v;
	size_t n, cap;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_list *l = cls;

	(void)kind;
	if (l->n < l->cap)
		l->v[l->n++] = (struct http_arg){key, value};
	return MHD_YES;
}

enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct http_req req = {.method = method, .url = url};
	struct arg_list args = {0};
	struct http_answer a;
	int n;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	req.loopback = ci != NULL && http_is_loopback(ci->client_addr);
	n = MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL);
	if (n > 0) {
		args.v = calloc((size_t)n, sizeof(*args.v));
		if (args.v == NULL)
			return MHD_NO;
		args.cap = (size_t)n;
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
	}
	req.args = args.v;
	req.nargs = args.n;
	n = http_dispatch(cls, &req, &a);
	free(args.v);
	if (n < 0)
		return MHD_NO;
	return http_queue_answer(c, &a);
}

enum MHD_Result http_queue_answer(struct MHD_Connection *c, struct http_answer *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(a->body);
		return MHD_NO;
	}
	a->body = NULL;
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, a->status, r);
	MHD_destroy_response(r);
	return ret;
}
#endif
