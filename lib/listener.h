/* listener: one TCP port for HTTP and SRPC (DESIGN.md "One port per server"). Each
 * accepted connection gets a thread that peeks at its first bytes: "CONNECT " goes to
 * the SRPC server on that thread, anything else is handed to libmicrohttpd
 * (MHD_USE_NO_LISTEN_SOCKET + MHD_add_connection), which also answers SRPC's plain GET
 * helpers (/_goSRPC_/listMethods ...) before the caller's pages. */
#ifndef SS_LISTENER_H
#define SS_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>

#include "srpc.h"

struct listener_config {
	const char *addr;		/* "host:port", "[v6]:port" or ":port"; port 0
					    picks a free one (see listener_port) */
	struct srpc_server *srpc;	/* borrowed; NULL: CONNECT gets HTTP 404 */
	MHD_AccessHandlerCallback http; /* the caller's pages; NULL: 404 for the rest */
	void *http_arg;
	int peek_timeout_ms;	 /* first bytes must arrive within; 0 = 5 s */
	unsigned max_conns;	 /* every connection of the port; 0 = 256 */
	unsigned max_http_conns; /* of them HTTP; 0 = 64 */
	unsigned max_per_source; /* of them from one address; 0 = 32 */
	unsigned reserve;	 /* of max_conns kept for the privileged; 0 = 16 */
	int http_timeout_s;	 /* an HTTP connection idle this long is closed; 0 = 10 */
	/* HTTP paths answered from the reserve (GET or HEAD): NULL-terminated; NULL =
	 * "/healthz" and "/metrics". */
	const char *const *reserved_paths;
};

/* Admission (hostile clients, issue 17): a connection is admitted normally while the
 * port holds fewer than max_conns - reserve connections, its source fewer than
 * max_per_source, and (for HTTP) fewer than max_http_conns are HTTP. Past those marks,
 * up to max_conns, it is on probation: within a short deadline it must be a GET/HEAD of
 * a reserved path, or an SRPC connection whose TLS certificate carries method grants
 * (an admin's); anything else is answered 503 (HTTP) or closed. Past max_conns a
 * connection is closed at once. libmicrohttpd's own limit stays above all of this, so
 * it is never reached (reaching it deadlocks 0.9.75 with NO_LISTEN_SOCKET). */
struct listener_stats {
	unsigned live, http, undecided;			 /* now */
	unsigned long long accepted, refused, probation; /* since the start */
};

struct listener; /* opaque */

/* Binds, listens and starts the accept thread and libmicrohttpd.
 * Returns 0 and *out, or -errno with a message in err. */
int listener_start(const struct listener_config *cfg, struct listener **out, char *err,
		   size_t errsz);

/* The bound TCP port. */
int listener_port(const struct listener *l);

/* Admission counters, for /metrics. */
void listener_get_stats(struct listener *l, struct listener_stats *out);

/* Whether a complete HTTP request head asks for GET or HEAD of one of paths
 * (NULL-terminated); the query string is ignored. */
bool listener_reserved_request(const char *head, const char *const *paths);

/* Stops accepting, stops libmicrohttpd and frees l (after the last SRPC connection
 * ends). SRPC connections already being served keep their threads until their peers
 * close (they borrow cfg->srpc: stop the
 * listener, srpc_server_shutdown, wait for srpc_server_nconns to reach 0, then free the
 * server; lib/server does all that). Connections
 * whose first bytes have not arrived yet are closed. */
void listener_stop(struct listener *l);

#endif
