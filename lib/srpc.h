/* srpc: the SRPC transport with the JSON coder (spec/rpc.md §2-4, §10): an HTTP CONNECT
 * tunnel, TLS on the same socket, then sequential calls "Service.Method\n". Server
 * (method registry, per-call authorisation) and client, sharing one message stream type.
 *
 * Message framing (weaknesses.md #40): each message is exactly one compact JSON value
 * followed by one '\n'. The reader parses exactly one value, consumes that '\n' and
 * never reads ahead into the bytes that follow, so raw data sent after a message
 * starts at the right offset.
 *
 * OpenSSL writes to sockets with write(2): a program using this module must ignore
 * SIGPIPE (signal(SIGPIPE, SIG_IGN)) or block it in the threads that call it (the
 * listener's connection threads do). */
#ifndef SS_SRPC_H
#define SS_SRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "tls.h"

#define SRPC_DEFAULT_MAX_MESSAGE (16u << 20)

/* ---- the message stream, shared by server handlers and clients ---- */

struct srpc_conn; /* opaque; used by one thread at a time */

/* Reads one JSON message. Returns 0 with *out a new reference; -EMSGSIZE when the
 * message exceeds the limit (the stream is then unusable), -EBADMSG when it is not
 * JSON (with the value's bytes consumed), -ECONNRESET on EOF, -ETIMEDOUT, -EIO. */
int srpc_conn_read_json(struct srpc_conn *c, json_t **out);

/* Buffers one message: compact JSON + '\n'. Call srpc_conn_flush to send. Borrows msg. */
int srpc_conn_write_json(struct srpc_conn *c, const json_t *msg);

/* Reads exactly len raw bytes. 0, -ECONNRESET on EOF before len, -ETIMEDOUT, -EIO. */
int srpc_conn_read(struct srpc_conn *c, void *buf, size_t len);

/* Reads 1..max bytes (what is buffered, else one socket read). Returns the count,
 * 0 on EOF, or -errno. */
ssize_t srpc_conn_read_some(struct srpc_conn *c, void *buf, size_t max);

/* Reads one line up to and excluding '\n' (a trailing '\r' is kept) into buf, NUL
 * terminated. Returns its length, -EMSGSIZE if longer than sz-1, -ECONNRESET on EOF.
 * A NUL byte inside the line is stored as 0x1a (ASCII SUB): the string is the whole
 * line, and a parser that refuses control bytes refuses it (never reads it cut). */
ssize_t srpc_conn_read_line(struct srpc_conn *c, char *buf, size_t sz);

/* Buffers raw bytes (large writes go straight out). 0 or -errno. */
int srpc_conn_write(struct srpc_conn *c, const void *buf, size_t len);
int srpc_conn_flush(struct srpc_conn *c);

/* Limits every later socket read and write to ms milliseconds (0 = no limit). */
int srpc_conn_set_timeout(struct srpc_conn *c, int ms);

/* For handlers that relay both ways (console): poll this fd for input, but first check
 * srpc_conn_pending, which is true when bytes are already decrypted and buffered. */
int srpc_conn_fd(const struct srpc_conn *c);
bool srpc_conn_pending(const struct srpc_conn *c);

/* Relays raw bytes both ways between c and fd until one side closes or fails: 0 when
 * c's side ended, 1 when fd's side ended, -errno if poll fails. */
int srpc_conn_relay(struct srpc_conn *c, int fd);

/* ---- server ---- */

enum srpc_kind {
	SRPC_RR,     /* request/response: one request message, one response message */
	SRPC_STREAM, /* handler-defined sequence of messages and raw bytes */
};

/* Access flags (spec/rpc.md §5 legend). No flag = admin only. */
enum {
	SRPC_ACCESS_PUBLIC = 1 << 0,   /* any caller with a username (certificate CN) */
	SRPC_ACCESS_UNAUTH = 1 << 1,   /* also without certificate, if the server allows it */
	SRPC_ACCESS_LOOPBACK = 1 << 2, /* additionally the TCP peer must be a loopback address */
};

/* The caller of one call. All pointers are valid during the call only. */
struct srpc_auth {
	const char *username; /* "" when unauthenticated */
	char *const *groups;
	size_t n_groups;
	char *const *grants; /* method globs from a CA.pem-rooted certificate */
	size_t n_grants;
	bool is_admin; /* passed the method-power check (§3.3 steps 1-2) */
	bool tls;
	bool loopback;	    /* TCP peer is 127.0.0.0/8 or ::1 */
	bool method_powers; /* client did not send ?doNotUseMethodPowers=true */
	const char *peer;   /* "address:port" */
};

struct srpc_call; /* one call on a server connection; valid inside the handler only */

const struct srpc_auth *srpc_call_auth(const struct srpc_call *call);
struct srpc_conn *srpc_call_conn(struct srpc_call *call);
const char *srpc_call_method(const struct srpc_call *call); /* "Service.Method" */

/* Sets the error line an RR handler's failure sends (default: strerror of its return
 * value). Returns -EREMOTEIO so a handler can `return srpc_call_errorf(...)`. */
int srpc_call_errorf(struct srpc_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RR handler: borrows req; on success sets *resp to a new reference (NULL sends {}).
 * A negative return sends the error line; the connection stays open (§10.1). */
typedef int (*srpc_rr_fn)(struct srpc_call *call, const json_t *req, json_t **resp, void *arg);

/* Streaming handler: the accept line has been sent. Returns 0 to continue with the next
 * call, negative to close the connection (no error line is sent, §10.1). */
typedef int (*srpc_stream_fn)(struct srpc_call *call, void *arg);

/* Service grant hook (§3.3 step 2), e.g. "caller is a hypervisor owner"; it decides per
 * method. auth->is_admin is false while it runs. */
typedef bool (*srpc_grant_fn)(const struct srpc_auth *auth, const char *service, const char *method,
			      void *arg);

struct srpc_method {
	const char *name; /* "Service.Method"; copied */
	enum srpc_kind kind;
	unsigned access;       /* SRPC_ACCESS_* */
	srpc_rr_fn rr;	       /* for SRPC_RR */
	srpc_stream_fn stream; /* for SRPC_STREAM */
	void *arg;
	/* If set, a successful registration hands arg to the server, which calls
	 * free_arg(arg) in srpc_server_free (e.g. per-method state built at start-up). */
	void (*free_arg)(void *arg);
};

struct srpc_server_config {
	struct tls_server *tls;	     /* borrowed; NULL: TLS paths answer 404 */
	bool allow_unauthenticated;  /* SRPC_ACCESS_UNAUTH methods are callable (this also
					opens /_SRPC_/unsecured/JSON when one is registered) */
	char *const *trusted_users;  /* -srpcTrustedUsers; borrowed, NULL-terminated or NULL */
	char *const *trusted_groups; /* -srpcTrustedGroups */
	size_t max_message;	     /* bytes of one JSON message; 0 = 16 MiB */
	int handshake_timeout_ms;    /* CONNECT request + TLS handshake; 0 = 60 s */
	int io_timeout_ms;	     /* each read/write inside a call; 0 = 5 min, <0 none */
	int idle_timeout_ms;	     /* waiting for the next method line; 0 = none */
	unsigned max_conns;	     /* concurrent connections; 0 = 256 (more get 503) */
	const char *hostname;	     /* answer of /_goSRPC_/getHostname; NULL = FQDN */
};

struct srpc_server; /* opaque; thread-safe once methods are registered */

/* Copies cfg (not what it points to). NULL on allocation failure. */
struct srpc_server *srpc_server_new(const struct srpc_server_config *cfg);
void srpc_server_free(struct srpc_server *srv);

/* Register every method and hook before the first srpc_server_serve.
 * Returns 0, -EINVAL (name not Service.Method, handler missing), -EEXIST, -ENOMEM. */
int srpc_server_register(struct srpc_server *srv, const struct srpc_method *m);

/* Hook for one service, or for every service when service is NULL. */
int srpc_server_set_grant_hook(struct srpc_server *srv, const char *service, srpc_grant_fn fn,
			       void *arg);

/* Serves one accepted TCP connection whose first bytes are the CONNECT request: the
 * handshake, TLS, then calls until the peer closes. Takes ownership of fd; blocks (call
 * it on the connection's own thread). Returns 0 when the peer closed normally, else
 * -errno (the reason is only of debugging interest; nothing is logged). */
int srpc_server_serve(struct srpc_server *srv, int fd);

/* The same for a connection admitted from the listener's reserve: the CONNECT request
 * and TLS handshake must end within deadline_ms, and the client's certificate must
 * carry method grants from CA.pem (an admin's); otherwise the connection is closed
 * after the handshake (-EACCES). */
int srpc_server_serve_privileged(struct srpc_server *srv, int fd, int deadline_ms);

/* The HTTP side of SRPC for the plain HTTP server on the same port: the GET helpers
 * /_goSRPC_/listMethods (".LocalUpgradeToUnix" first), /_goSRPC_/listPublicMethods,
 * /_goSRPC_/getHostname; 400 for other methods on the JSON tunnel paths, 404 for the gob
 * paths. Returns 0 with *status and *body (new malloc'd string) when path is SRPC's,
 * -ENOENT when it is not, -ENOMEM. */
int srpc_server_http(struct srpc_server *srv, const char *method, const char *path, int *status,
		     char **body);

/* Current number of connections being served. */
unsigned srpc_server_nconns(struct srpc_server *srv);

/* For a clean stop, once nothing hands the server new connections (listener_stop):
 * connections in the handshake, waiting for their next call or in a streaming call are
 * shut down now; a request/response call in progress finishes, its reply is sent and
 * its connection closes. With force, every connection is shut down now (a handler
 * blocked elsewhere than on its socket still runs until it returns). The threads then
 * end by themselves: free the server once srpc_server_nconns is 0. Later connections
 * are closed at once. */
void srpc_server_shutdown(struct srpc_server *srv, bool force);

/* ---- client ---- */

struct srpc_client_config {
	struct tls_client *tls;	 /* borrowed; NULL: plain /_SRPC_/unsecured/JSON */
	const char *server_name; /* name to verify; NULL = host part of the address */
	int connect_timeout_ms;	 /* dial + CONNECT + TLS handshake; 0 = 15 s */
	int call_timeout_ms;	 /* each read/write of a call; 0 = none */
	bool no_method_powers;	 /* send ?doNotUseMethodPowers=true */
	size_t max_message;	 /* 0 = 16 MiB */
};

struct srpc_client; /* one connection; used by one thread at a time */

/* Dials "host:port" ("[v6]:port"), CONNECTs and (with tls) does the TLS handshake,
 * verifying the server. Returns 0 and *out, or -errno with a message naming the host in
 * err: "no SRPC endpoint" (404), "bad certificate" (401), "unexpected HTTP response:
 * <status>", or the TLS/verification failure. */
int srpc_client_dial(const char *addr, const struct srpc_client_config *cfg,
		     struct srpc_client **out, char *err, size_t errsz);
void srpc_client_close(struct srpc_client *cl);

/* Text of the last failure on cl (server error line, or local error with host name). */
const char *srpc_client_error(const struct srpc_client *cl);

/* One RR call. Borrows req (NULL sends {}); *resp is a new reference.
 * Returns 0, -EREMOTEIO when the server answered an error line (srpc_client_error has
 * it, e.g. "access to method denied"), or -errno for transport failures. */
int srpc_client_call(struct srpc_client *cl, const char *method, const json_t *req, json_t **resp);

/* Sets the text srpc_client_error returns, for a client library that finds a failure
 * inside a reply (an Error field) or in a streaming call. */
void srpc_client_set_error(struct srpc_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts a streaming call: sends the method line and reads the accept line. Then use
 * srpc_client_conn with the srpc_conn_* functions. -EREMOTEIO on an error line. */
int srpc_client_start(struct srpc_client *cl, const char *method);
struct srpc_conn *srpc_client_conn(struct srpc_client *cl);

/* Empty-line ping; 0 when the server answered. */
int srpc_client_ping(struct srpc_client *cl);

#endif
