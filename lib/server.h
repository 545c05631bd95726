/* server: what every server program does around its one port (DESIGN.md "One port per
 * server"): signals, logging, TLS, the SRPC server, the listener with the program's HTTP
 * routes, and a clean stop. The program keeps its own parts in between the steps:
 *
 *   server_new       ignores SIGPIPE, blocks SIGINT, SIGTERM and SIGHUP (call it before
 *                    any thread starts) and takes them through a signalfd; log_init
 *   server_load_tls  the TLS context and the SRPC server (server_srpc)
 *   server_listen    the program's methods (srpc_register), then the listener
 *   server_wait      SIGHUP: the logs are reopened (log_init again, then on_reopen).
 *                    SIGINT, SIGTERM or server_request_stop: the listener stops, SRPC
 *                    connections are drained (idle and streaming ones closed at once,
 *                    request/response calls given until drain_ms), then on_stop runs
 *                    and its result is returned
 *   server_free      frees what the server made, then log_shutdown
 *
 * Nothing here logs above debug or exits: failures come back as -errno with a message
 * in err ("TLS: ...", "listening on :6976: ..."), and the program logs and decides. */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include <stddef.h>

#include "http.h"
#include "listener.h"
#include "log.h"
#include "srpc.h"
#include "tls.h"

#define SERVER_DEFAULT_DRAIN_MS 5000

struct server_config {
	const char *prog;		     /* syslog ident when log.ident is NULL */
	int port;			     /* listens on ":port", */
	const char *addr;		     /* or on addr if set ("127.0.0.1:0") */
	const struct tls_server_config *tls; /* NULL: no TLS (plain SRPC only) */
	struct srpc_server_config srpc;	     /* trust and limits; .tls is ignored */
	struct log_config log;		     /* applied again on every SIGHUP */
	const struct http_routes *routes;    /* the pages; NULL: 404 for all */
	/* Set: the program's own libmicrohttpd handler instead of routes' (it passes what it
	 * does not answer itself on to http_handler with its routes). */
	MHD_AccessHandlerCallback http;
	void *http_arg;
	int (*srpc_register)(struct srpc_server *srv, void *arg); /* 0 or -errno */
	void (*on_reopen)(void *arg, int rc);			  /* after SIGHUP; rc of log_init */
	/* The port is closed and SRPC drained: stop the program's own work. signo is
	 * SIGINT or SIGTERM, 0 for server_request_stop. Returns the exit status that
	 * server_wait returns (NULL: 0). */
	int (*on_stop)(void *arg, int signo);
	void *arg;    /* for the callbacks */
	int drain_ms; /* 0 = SERVER_DEFAULT_DRAIN_MS, < 0 = none */
};

/* An on_reopen for a program with nothing of its own to reopen: logs "SIGHUP: log
 * files reopened" at info. The program opts in by naming it, so lib/ still logs only
 * where a program asks. */
void server_log_reopened(void *arg, int rc);

struct server; /* opaque */

/* Copies cfg; what it points to (strings, tls, routes, log directory...) is borrowed
 * until server_free. Returns 0 and *out, or -errno with a message in err. A log_init
 * failure is not one: see server_log_error. */
int server_new(const struct server_config *cfg, struct server **out, char *err, size_t errsz);

/* The result of the latest log_init (at server_new or SIGHUP): 0, or -errno when the
 * log directory could not be used (stderr, syslog and the ring still work). */
int server_log_error(const struct server *s);

/* Loads the TLS credentials and makes the SRPC server. Returns 0 or -errno with err
 * ("TLS: <why>"). Called by server_listen if the program did not. */
int server_load_tls(struct server *s, char *err, size_t errsz);

/* The SRPC server (after server_load_tls), e.g. for grant hooks. Borrowed. */
struct srpc_server *server_srpc(struct server *s);

/* The admission counters of the port (lib/listener.h); zeros before server_listen. */
void server_port_stats(struct server *s, struct listener_stats *out);

/* Registers the program's methods, then listens. Returns 0 or -errno with err
 * ("registering RPC methods: <why>", "listening on <addr>: <why>"). */
int server_listen(struct server *s, char *err, size_t errsz);

/* The bound TCP port (after server_listen), 0 before. */
int server_port(const struct server *s);

/* Makes server_wait stop as for a signal (signo 0). Async-signal-safe, any thread. */
void server_request_stop(struct server *s);

/* Serves until a stop (see above). Returns on_stop's result, or -errno when waiting
 * failed (nothing stopped yet: server_free does it). */
int server_wait(struct server *s);

/* Stops serving if server_wait did not, frees everything the server made and shuts the
 * logger down. SRPC connections still running after the drain (a handler blocked
 * elsewhere than on its socket) keep the SRPC server and TLS context, which they
 * borrow, allocated. The signals stay blocked. Accepts NULL. */
void server_free(struct server *s);

#endif
