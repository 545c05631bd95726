/* http_mini: a small HTTP/1.x responder for one connection, in place of libmicrohttpd
 * where the program must stay small (the installer links statically; libmicrohttpd
 * would bring GnuTLS, p11-kit, libunistring, nettle and gmp, about 2 MB compressed).
 *
 * One request per connection: the head (request line and headers, at most
 * HTTP_MINI_HEAD_MAX bytes) must arrive within the timeout; the path is
 * percent-decoded, the query split into arguments; SRPC's plain GET helpers
 * (/_goSRPC_/...) are answered first, then the routes (lib/http http_dispatch); the
 * answer goes with Content-Length, Cache-Control: no-store and Connection: close, no
 * body for HEAD. Malformed heads get 400, oversized ones 431, a head that does not
 * arrive in time is dropped. Request bodies are not read (GET and HEAD only). */
#ifndef SS_HTTP_MINI_H
#define SS_HTTP_MINI_H

#include <stddef.h>
#include <sys/socket.h>

#include "http.h"
#include "srpc.h"

#define HTTP_MINI_HEAD_MAX 8192

/* A parsed request head. Pointers point into the buffer given to http_mini_parse. */
struct http_mini_req {
	char *method;
	char *path; /* percent-decoded, without the query */
	struct http_arg args[32];
	size_t nargs;
};

/* Parses the head in buf (NUL-terminated, changed in place). 0, or the HTTP status to
 * answer: 400 (malformed), 414 (too many query arguments). Pure. */
int http_mini_parse(char *buf, struct http_mini_req *req);

/* Reads one request from fd (the caller's peer address peer), answers it and returns;
 * the caller closes fd. srpc may be NULL. stopfd (or -1): readable ends the wait. */
void http_mini_serve(int fd, const struct sockaddr *peer, struct srpc_server *srpc,
		     const struct http_routes *routes, int timeout_s, int stopfd);

#endif
