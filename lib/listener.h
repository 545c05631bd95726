/* listener: one TCP port for HTTP and SRPC (DESIGN.md "One port per server"). Each
 * accepted connection gets a thread that peeks at its first bytes: "CONNECT " goes to
 * the SRPC server on that thread, anything else is handed to libmicrohttpd
 * (MHD_USE_NO_LISTEN_SOCKET + MHD_add_connection), which also answers SRPC's plain GET
 * helpers (/_goSRPC_/listMethods ...) before the caller's pages. */
#ifndef SS_LISTENER_H
#define SS_LISTENER_H

#include <stddef.h>
#include <microhttpd.h>

#include "srpc.h"

struct listener_config {
	const char *addr;		/* "host:port", "[v6]:port" or ":port"; port 0
					    picks a free one (see listener_port) */
	struct srpc_server *srpc;	/* borrowed; NULL: CONNECT gets HTTP 404 */
	MHD_AccessHandlerCallback http; /* the caller's pages; NULL: 404 for the rest */
	void *http_arg;
	int peek_timeout_ms;	 /* first bytes must arrive within; 0 = 10 s */
	unsigned max_conns;	 /* SRPC + undecided connections; 0 = 256 */
	unsigned max_http_conns; /* libmicrohttpd's limit; 0 = 64 */
};

struct listener; /* opaque */

/* Binds, listens and starts the accept thread and libmicrohttpd.
 * Returns 0 and *out, or -errno with a message in err. */
int listener_start(const struct listener_config *cfg, struct listener **out, char *err,
		   size_t errsz);

/* The bound TCP port. */
int listener_port(const struct listener *l);

/* Stops accepting, stops libmicrohttpd and frees l. SRPC connections already being
 * served keep their threads until their peers close (they borrow cfg->srpc: stop the
 * listener, srpc_server_shutdown, wait for srpc_server_nconns to reach 0, then free the
 * server; lib/server does all that). Connections
 * whose first bytes have not arrived yet are closed. */
void listener_stop(struct listener *l);

#endif
