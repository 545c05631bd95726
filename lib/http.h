/* http: the HTTP side of a server's port (lib/listener hands it the connections that are
 * not SRPC): a routing table of pages, each written by a handler into a FILE*, and the
 * plumbing around it (query arguments, access by caller address, standard answers,
 * libmicrohttpd responses).
 *
 * A table is searched in order; the first route whose path matches wins (exact, or a
 * prefix of the URL). A HTTP_ROUTE_LOOPBACK route is only answered to callers on a
 * loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): the port speaks plain HTTP,
 * so the caller's address is all there is to go by; others get 403. Only GET and HEAD
 * are served (405 otherwise). A URL no route matches gets 404.
 *
 *     static const struct http_route routes[] = {
 *         {"/healthz", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, healthz},
 *         {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_HTML, log_page_handler},
 *     };
 *     struct http_routes t = {routes, 2, &my_state};   -> listener_config.http_arg = &t,
 *                                                         .http = http_handler */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define HTTP_TYPE_HTML "text/html; charset=utf-8"
#define HTTP_TYPE_TEXT "text/plain; charset=utf-8"
#define HTTP_TYPE_JSON "application/json"

enum http_route_match {
	HTTP_ROUTE_EXACT,  /* the URL path equals path */
	HTTP_ROUTE_PREFIX, /* the URL path starts with path */
};

enum http_route_access {
	HTTP_ROUTE_PUBLIC,
	HTTP_ROUTE_LOOPBACK, /* sensitive: loopback callers only, 403 for the rest */
};

struct http_req;

/* Writes the page into body and returns the HTTP status. 400, 403 and 404 are answered
 * with the standard plain-text bodies (what the handler wrote is dropped); any other
 * status is sent with the handler's body. A status outside 100..599 becomes 500. */
typedef int (*http_handler_fn)(struct http_req *req, FILE *body);

struct http_route {
	const char *path;
	enum http_route_match match;
	enum http_route_access access;
	const char *type; /* Content-Type; NULL = HTTP_TYPE_HTML; see http_req_set_type */
	http_handler_fn fn;
	const void *data; /* for the handler (req->data) */
};

struct http_routes {
	const struct http_route *v; /* borrowed */
	size_t n;
	void *arg; /* for every handler (req->arg) */
};

struct http_arg {
	const char *key;
	const char *value; /* NULL for "?key" without '=' */
};

/* One request as a handler sees it. All pointers are valid during the request only. */
struct http_req {
	const char *method;
	const char *url;  /* the path, without the query */
	const char *tail; /* for a prefix route: what follows the prefix */
	bool loopback;	  /* the caller is on a loopback address */
	const struct http_arg *args;
	size_t nargs;
	void *arg;	  /* the table's arg */
	const void *data; /* the route's data */
	const char *type; /* the Content-Type to send (the route's unless a handler sets it) */
};

/* The value of query argument key (the first if repeated); NULL when absent or when it
 * has no '=' value. */
const char *http_req_arg(const struct http_req *req, const char *key);

/* For "/page?10.0.0.5" style URLs: the only query key other than except (which may be
 * NULL); NULL when there is none or more than one. */
const char *http_req_lone_key(const struct http_req *req, const char *except);

/* Sends type (a string that outlives the request) instead of the route's. */
void http_req_set_type(struct http_req *req, const char *type);

/* An answer ready to send. */
struct http_answer {
	unsigned status;
	const char *type; /* static */
	char *body;	  /* malloc'd, not NUL-terminated past len */
	size_t len;
};

/* Sends a (status, Content-Type, body; Cache-Control: no-store) on c; the body is
 * the response's (or freed) afterwards. */
enum MHD_Result http_queue_answer(struct MHD_Connection *c, struct http_answer *a);

/* Routes req (method, url, loopback and args set; the rest is filled in) through t and
 * runs the handler. Returns 0 with *a (free a->body), or -ENOMEM. Pure: no socket. */
int http_dispatch(const struct http_routes *t, struct http_req *req, struct http_answer *a);

/* A handler that answers 404, e.g. for a final {"/", PREFIX, LOOPBACK} route so that
 * callers off loopback get 403 for every URL that is not a public page. */
int http_not_found(struct http_req *req, FILE *body);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool http_is_loopback(const struct sockaddr *sa);

/* The libmicrohttpd access handler (listener_config.http); cls is a const struct
 * http_routes *. Every answer carries Cache-Control: no-store. */
enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls);

#endif
