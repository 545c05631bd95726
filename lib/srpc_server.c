/* srpc_server: serves SRPC connections (spec/rpc.md §2-4, §10): CONNECT handshake, TLS,
 * method registry, per-call authorisation (§3.3) and the RR/streaming call loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srpc_conn.h"
#include "srpc_wire.h"

#define LINE_MAX_BYTES 4096

struct srpc_entry {
	char *name; /* "Service.Method" */
	size_t service_len;
	struct srpc_method m;
};

struct srpc_hook {
	char *service; /* NULL = every service */
	srpc_grant_fn fn;
	void *arg;
};

/* A connection being served, on its thread's stack, so that a stop can shut it down. */
struct conn_slot {
	int fd;
	bool busy; /* in a request/response call */
	struct conn_slot *prev, *next;
};

struct srpc_server {
	struct srpc_server_config cfg;
	struct srpc_entry *methods; /* sorted by name */
	size_t n_methods;
	struct srpc_hook *hooks;
	size_t n_hooks;
	bool any_unauth;
	atomic_uint nconns;
	pthread_mutex_t mu; /* guards conns and stopping */
	struct conn_slot *conns;
	bool stopping;
};

struct srpc_call {
	struct srpc_conn *conn;
	struct srpc_auth auth;
	const char *method;
	char error[512];
};

struct srpc_server *srpc_server_new(const struct srpc_server_config *cfg)
{
	struct srpc_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->cfg = *cfg;
	if (srv->cfg.max_message == 0)
		srv->cfg.max_message = SRPC_DEFAULT_MAX_MESSAGE;
	if (srv->cfg.handshake_timeout_ms <= 0)
		srv->cfg.handshake_timeout_ms = 60000;
	if (srv->cfg.io_timeout_ms == 0)
		srv->cfg.io_timeout_ms = 300000;
	if (srv->cfg.max_conns == 0)
		srv->cfg.max_conns = 256;
	atomic_init(&srv->nconns, 0);
	pthread_mutex_init(&srv->mu, NULL);
	return srv;
}

void srpc_server_free(struct srpc_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->n_methods; i++) {
		if (srv->methods[i].m.free_arg != NULL)
			srv->methods[i].m.free_arg(srv->methods[i].m.arg);
		free(srv->methods[i].name);
	}
	for (i = 0; i < srv->n_hooks; i++)
		free(srv->hooks[i].service);
	free(srv->methods);
	free(srv->hooks);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

unsigned srpc_server_nconns(struct srpc_server *srv)
{
	return atomic_load(&srv->nconns);
}

void srpc_server_shutdown(struct srpc_server *srv, bool force)
{
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	for (struct conn_slot *s = srv->conns; s != NULL; s = s->next)
		if (force || !s->busy)
			shutdown(s->fd, SHUT_RDWR);
	pthread_mutex_unlock(&srv->mu);
}

/* Registers a new connection; false once the server is stopping. */
static bool conn_enter(struct srpc_server *srv, struct conn_slot *s)
{
	bool ok;

	pthread_mutex_lock(&srv->mu);
	ok = !srv->stopping;
	if (ok) {
		s->next = srv->conns;
		if (s->next != NULL)
			s->next->prev = s;
		srv->conns = s;
	}
	pthread_mutex_unlock(&srv->mu);
	return ok;
}

/* Before its fd is closed, so that a stop never shuts down a reused descriptor. */
static void conn_leave(struct srpc_server *srv, struct conn_slot *s)
{
	pthread_mutex_lock(&srv->mu);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else if (srv->conns == s)
		srv->conns = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	pthread_mutex_unlock(&srv->mu);
}

/* Marks the connection busy or idle; false when the server is stopping (the connection
 * should then close instead of reading its next call). */
static bool conn_set_busy(struct srpc_server *srv, struct conn_slot *s, bool busy)
{
	bool ok;

	pthread_mutex_lock(&srv->mu);
	s->busy = busy;
	ok = !srv->stopping;
	pthread_mutex_unlock(&srv->mu);
	return ok;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct srpc_entry *)a)->name, ((const struct srpc_entry *)b)->name);
}

int srpc_server_register(struct srpc_server *srv, const struct srpc_method *m)
{
	const char *dot = m->name != NULL ? strchr(m->name, '.') : NULL;
	struct srpc_entry *n, key;

	if (dot == NULL || dot == m->name || dot[1] == '\0' || strchr(dot + 1, '.') != NULL ||
	    strpbrk(m->name, " \t\r\n") != NULL)
		return -EINVAL;
	if ((m->kind == SRPC_RR && m->rr == NULL) || (m->kind == SRPC_STREAM && m->stream == NULL))
		return -EINVAL;
	key.name = (char *)m->name;
	if (srv->n_methods > 0 &&
	    bsearch(&key, srv->methods, srv->n_methods, sizeof(key), entry_cmp) != NULL)
		return -EEXIST;
	n = realloc(srv->methods, (srv->n_methods + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	srv->methods = n;
	n[srv->n_methods].name = strdup(m->name);
	if (n[srv->n_methods].name == NULL)
		return -ENOMEM;
	n[srv->n_methods].service_len = (size_t)(dot - m->name);
	n[srv->n_methods].m = *m;
	n[srv->n_methods].m.name = n[srv->n_methods].name;
	srv->n_methods++;
	qsort(srv->methods, srv->n_methods, sizeof(*n), entry_cmp);
	srv->any_unauth |= (m->access & SRPC_ACCESS_UNAUTH) != 0;
	return 0;
}

int srpc_server_set_grant_hook(struct srpc_server *srv, const char *service, srpc_grant_fn fn,
			       void *arg)
{
	struct srpc_hook *n = realloc(srv->hooks, (srv->n_hooks + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	srv->hooks = n;
	n[srv->n_hooks].service = NULL;
	if (service != NULL && (n[srv->n_hooks].service = strdup(service)) == NULL)
		return -ENOMEM;
	n[srv->n_hooks].fn = fn;
	n[srv->n_hooks].arg = arg;
	srv->n_hooks++;
	return 0;
}

static const struct srpc_entry *find_method(const struct srpc_server *srv, const char *name)
{
	struct srpc_entry key = {.name = (char *)name};

	if (srv->n_methods == 0)
		return NULL;
	return bsearch(&key, srv->methods, srv->n_methods, sizeof(key), entry_cmp);
}

static bool have_service(const struct srpc_server *srv, const char *service)
{
	size_t i, len = strlen(service);

	for (i = 0; i < srv->n_methods; i++) {
		if (srv->methods[i].service_len == len &&
		    memcmp(srv->methods[i].name, service, len) == 0)
			return true;
	}
	return false;
}

/* ---- call objects ---- */

const struct srpc_auth *srpc_call_auth(const struct srpc_call *call)
{
	return &call->auth;
}

struct srpc_conn *srpc_call_conn(struct srpc_call *call)
{
	return call->conn;
}

const char *srpc_call_method(const struct srpc_call *call)
{
	return call->method;
}

int srpc_call_errorf(struct srpc_call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->error, sizeof(call->error), fmt, ap);
	va_end(ap);
	return -EREMOTEIO;
}

/* ---- authorisation (§3.3) ---- */

static bool listed(char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return true;
	}
	return false;
}

static bool method_power(const struct srpc_server *srv, const struct srpc_auth *auth,
			 const struct tls_identity *id, const char *name)
{
	size_t i;

	if (!auth->tls && srv->cfg.tls == NULL)
		return true;
	if (id != NULL && tls_identity_grants(id, name))
		return true;
	if (auth->username[0] != '\0' && listed(srv->cfg.trusted_users, auth->username))
		return true;
	for (i = 0; i < auth->n_groups; i++) {
		if (listed(srv->cfg.trusted_groups, auth->groups[i]))
			return true;
	}
	return false;
}

static bool hook_grants(const struct srpc_server *srv, const struct srpc_auth *auth,
			const char *service, const char *method)
{
	size_t i;

	for (i = 0; i < srv->n_hooks; i++) {
		const struct srpc_hook *h = &srv->hooks[i];

		if ((h->service == NULL || strcmp(h->service, service) == 0) &&
		    h->fn(auth, service, method, h->arg))
			return true;
	}
	return false;
}

/* Decides one call; sets auth->is_admin. */
static bool call_allowed(const struct srpc_server *srv, struct srpc_auth *auth,
			 const struct tls_identity *id, const struct srpc_entry *e)
{
	const char *service_method = e->name, *method = e->name + e->service_len + 1;
	char service[256];
	bool ok;

	snprintf(service, sizeof(service), "%.*s", (int)e->service_len, e->name);
	auth->is_admin = false;
	if (auth->method_powers) {
		auth->is_admin = method_power(srv, auth, id, service_method) ||
				 hook_grants(srv, auth, service, method);
	}
	ok = auth->is_admin || ((e->m.access & SRPC_ACCESS_PUBLIC) && auth->username[0] != '\0') ||
	     ((e->m.access & SRPC_ACCESS_UNAUTH) && srv->cfg.allow_unauthenticated);
	if (ok && (e->m.access & SRPC_ACCESS_LOOPBACK) && !auth->loopback)
		ok = false;
	return ok;
}

/* ---- connection ---- */

static int send_line(struct srpc_conn *c, const char *text)
{
	int rc = srpc_conn_write(c, text, strlen(text));

	if (rc == 0)
		rc = srpc_conn_write(c, "\n", 1);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	return rc;
}

/* Error lines are single lines. */
static void one_line(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r')
			*s = ' ';
	}
}

static int run_rr(struct srpc_call *call, const struct srpc_entry *e)
{
	struct srpc_conn *c = call->conn;
	json_t *req = NULL, *resp = NULL;
	int rc;

	rc = srpc_conn_read_json(c, &req);
	if (rc == -EBADMSG)
		return send_line(c, "invalid JSON request");
	if (rc == -EMSGSIZE || rc == -EPROTO) {
		send_line(c, c->errmsg);
		return rc;
	}
	if (rc < 0)
		return rc;
	call->error[0] = '\0';
	rc = e->m.rr(call, req, &resp, e->m.arg);
	json_decref(req);
	if (rc < 0) {
		json_decref(resp);
		if (call->error[0] == '\0')
			snprintf(call->error, sizeof(call->error), "%s", strerror(-rc));
		one_line(call->error);
		return send_line(c, call->error);
	}
	rc = srpc_conn_write(c, "\n", 1);
	if (rc == 0) {
		if (resp != NULL) {
			rc = srpc_conn_write_json(c, resp);
		} else {
			json_t *empty = json_object();

			rc = empty != NULL ? srpc_conn_write_json(c, empty) : -ENOMEM;
			json_decref(empty);
		}
	}
	json_decref(resp);
	return rc == 0 ? srpc_conn_flush(c) : rc;
}

static int call_loop(struct srpc_server *srv, struct conn_slot *slot, struct srpc_conn *c,
		     struct srpc_auth *auth, const struct tls_identity *id)
{
	char line[LINE_MAX_BYTES], msg[LINE_MAX_BYTES + 64];

	for (;;) {
		const struct srpc_entry *e;
		struct srpc_call call;
		char *service, *method;
		ssize_t n;
		int kind, rc;

		if (!conn_set_busy(srv, slot, false))
			return 0;
		srpc_conn_set_timeout(c,
				      srv->cfg.idle_timeout_ms > 0 ? srv->cfg.idle_timeout_ms : 0);
		n = srpc_conn_read_line(c, line, sizeof(line));
		if (n == -ECONNRESET)
			return 0;
		if (n < 0)
			return (int)n;
		srpc_conn_set_timeout(c, srv->cfg.io_timeout_ms > 0 ? srv->cfg.io_timeout_ms : 0);
		kind = srpc_wire_method_line(line, &service, &method);
		if (kind == 0) {
			if ((rc = send_line(c, "")) < 0)
				return rc;
			continue;
		}
		e = NULL;
		if (kind < 0) {
			snprintf(msg, sizeof(msg), "malformed Service.Method: %s", service);
		} else if (!have_service(srv, service)) {
			snprintf(msg, sizeof(msg), "unknown service: %s", service);
		} else {
			char full[LINE_MAX_BYTES + 1];

			snprintf(full, sizeof(full), "%s.%s", service, method);
			e = find_method(srv, full);
			if (e == NULL)
				snprintf(msg, sizeof(msg), "%s: unknown method: %s", service,
					 method);
			else if (!call_allowed(srv, auth, id, e))
				snprintf(msg, sizeof(msg), "access to method denied");
			else
				msg[0] = '\0';
		}
		if (msg[0] != '\0') {
			one_line(msg);
			if ((rc = send_line(c, msg)) < 0)
				return rc;
			continue;
		}
		if ((rc = send_line(c, "")) < 0)
			return rc;
		memset(&call, 0, sizeof(call));
		call.conn = c;
		call.auth = *auth;
		call.method = e->name;
		if (e->m.kind == SRPC_RR) {
			/* A stop lets this call finish; the loop then closes. */
			conn_set_busy(srv, slot, true);
			rc = run_rr(&call, e);
		} else {
			rc = e->m.stream(&call, e->m.arg);
			if (rc == 0)
				rc = srpc_conn_flush(c);
		}
		if (rc < 0)
			return rc;
	}
}

static void peer_info(int fd, char *peer, size_t sz, bool *loopback)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	*loopback = false;
	snprintf(peer, sz, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		snprintf(peer, sz, "%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
			    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
		snprintf(peer, sz, "[%s]:%u", host, port);
	}
}

static int http_answer(int fd, int status)
{
	char buf[512];
	int n = srpc_wire_http_error(status, buf, sizeof(buf));

	return n < 0 ? n : srpc_send_all(fd, buf, (size_t)n);
}

/* The CONNECT exchange; returns the accepted request or a negative errno after having
 * answered the client. */
static int handshake(struct srpc_server *srv, int fd, int64_t deadline,
		     struct srpc_wire_request *req)
{
	char hdr[4096];
	ssize_t n = srpc_read_header(fd, hdr, sizeof(hdr), deadline);
	int status = 0;

	if (n == -EMSGSIZE)
		return http_answer(fd, 400), -EPROTO;
	if (n < 0)
		return (int)n;
	if (srpc_wire_parse_request(hdr, (size_t)n, req) < 0)
		return http_answer(fd, 400), -EPROTO;
	if (req->path == SRPC_WIRE_UNKNOWN || req->path == SRPC_WIRE_GOB)
		status = 404;
	else if (req->path == SRPC_WIRE_TLS_JSON && srv->cfg.tls == NULL)
		status = 404;
	else if (!req->is_connect || req->bad_query)
		status = 400;
	else if (req->path == SRPC_WIRE_PLAIN_JSON && srv->cfg.tls != NULL &&
		 !(srv->cfg.allow_unauthenticated && srv->any_unauth))
		status = 405;
	if (status != 0)
		return http_answer(fd, status), -EPROTO;
	return srpc_send_all(fd, SRPC_CONNECTED, strlen(SRPC_CONNECTED));
}

/* After a refused TLS handshake: with TLS 1.3 the client already sends its first call
 * while our alert travels. Closing with that data unread would reset the connection and
 * the client would never see the alert, so half-close and drain briefly first. */
static void linger_close(int fd)
{
	int64_t deadline = srpc_now_ms() + 500;
	char buf[4096];

	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - srpc_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return;
	}
}

/* deadline_ms > 0: a privileged connection (srpc_server_serve_privileged). */
static int serve_conn(struct srpc_server *srv, struct conn_slot *slot, int fd, int deadline_ms)
{
	int64_t deadline =
	    srpc_now_ms() + (deadline_ms > 0 ? deadline_ms : srv->cfg.handshake_timeout_ms);
	struct srpc_wire_request req;
	struct tls_identity id = {0};
	struct srpc_auth auth = {0};
	struct srpc_conn *c;
	char peer[INET6_ADDRSTRLEN + 16], err[256];
	SSL *ssl = NULL;
	int one = 1, rc;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if ((rc = handshake(srv, fd, deadline, &req)) < 0)
		goto out_close;
	if (req.path == SRPC_WIRE_TLS_JSON) {
		ssl = SSL_new(tls_server_ctx(srv->cfg.tls));
		if (ssl == NULL) {
			rc = -ENOMEM;
			goto out_close;
		}
		rc = srpc_ssl_handshake(ssl, fd, true, deadline);
		if (rc == 0)
			rc = tls_server_peer_identity(srv->cfg.tls, ssl, &id, err, sizeof(err));
		if (rc < 0) {
			linger_close(fd);
			goto out_free_ssl;
		}
	}
	if (deadline_ms > 0 && (ssl == NULL || !id.methods_trusted || id.n_methods == 0)) {
		rc = -EACCES; /* the reserve is for admins */
		goto out_free_ssl;
	}
	c = srpc_conn_new(fd, ssl, srv->cfg.max_message);
	if (c == NULL) {
		rc = -ENOMEM;
		goto out_free_ssl;
	}
	peer_info(fd, peer, sizeof(peer), &auth.loopback);
	auth.peer = peer;
	auth.tls = ssl != NULL;
	auth.method_powers = !req.no_method_powers;
	auth.username = id.username != NULL ? id.username : "";
	auth.groups = id.groups;
	auth.n_groups = id.n_groups;
	auth.grants = id.methods;
	auth.n_grants = id.n_methods;
	rc = call_loop(srv, slot, c, &auth, ssl != NULL ? &id : NULL);
	conn_leave(srv, slot);
	srpc_conn_free(c);
	tls_identity_clear(&id);
	return rc;
out_free_ssl:
	SSL_free(ssl);
out_close:
	tls_identity_clear(&id);
	conn_leave(srv, slot);
	close(fd);
	return rc;
}

static int serve(struct srpc_server *srv, int fd, int deadline_ms)
{
	unsigned n = atomic_fetch_add(&srv->nconns, 1);
	struct conn_slot slot = {.fd = fd};
	int rc;

	if (n >= srv->cfg.max_conns) {
		http_answer(fd, 503);
		close(fd);
		rc = -EBUSY;
	} else if (!conn_enter(srv, &slot)) {
		close(fd);
		rc = -ESHUTDOWN;
	} else {
		rc = serve_conn(srv, &slot, fd, deadline_ms);
	}
	atomic_fetch_sub(&srv->nconns, 1);
	return rc;
}

int srpc_server_serve(struct srpc_server *srv, int fd)
{
	return serve(srv, fd, 0);
}

int srpc_server_serve_privileged(struct srpc_server *srv, int fd, int deadline_ms)
{
	return serve(srv, fd, deadline_ms > 0 ? deadline_ms : 1);
}

/* ---- HTTP helpers on the plain HTTP side ---- */

static char *fqdn(void)
{
	struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
	char host[256];
	char *s;

	if (gethostname(host, sizeof(host)) < 0)
		return strdup("localhost");
	host[sizeof(host) - 1] = '\0';
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL)
		s = strdup(ai->ai_canonname);
	else
		s = strdup(host);
	if (ai != NULL)
		freeaddrinfo(ai);
	return s;
}

static char *append(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	p[n] = '\n';
	return p + n + 1;
}

static char *method_list(const struct srpc_server *srv, bool public_only)
{
	static const char builtin[] = ".LocalUpgradeToUnix";
	size_t i, len = sizeof(builtin) + 1;
	char *s, *p;

	for (i = 0; i < srv->n_methods; i++)
		len += strlen(srv->methods[i].name) + 1;
	s = p = malloc(len);
	if (s == NULL)
		return NULL;
	/* Go lists its built-in method too; '.' sorts before every service name. */
	if (!public_only)
		p = append(p, builtin);
	for (i = 0; i < srv->n_methods; i++) {
		if (!public_only || (srv->methods[i].m.access & SRPC_ACCESS_PUBLIC))
			p = append(p, srv->methods[i].name);
	}
	*p = '\0';
	return s;
}

int srpc_server_http(struct srpc_server *srv, const char *method, const char *path, int *status,
		     char **body)
{
	size_t plen = strcspn(path, "?");
	enum srpc_wire_path kind = srpc_wire_classify(path, plen);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	*body = NULL;
	*status = 200;
	if (get && plen == strlen("/_goSRPC_/listMethods") &&
	    strncmp(path, "/_goSRPC_/listMethods", plen) == 0) {
		*body = method_list(srv, false);
	} else if (get && plen == strlen("/_goSRPC_/listPublicMethods") &&
		   strncmp(path, "/_goSRPC_/listPublicMethods", plen) == 0) {
		*body = method_list(srv, true);
	} else if (get && plen == strlen("/_goSRPC_/getHostname") &&
		   strncmp(path, "/_goSRPC_/getHostname", plen) == 0) {
		char *h = srv->cfg.hostname != NULL ? strdup(srv->cfg.hostname) : fqdn();

		if (h != NULL && asprintf(body, "%s\n", h) < 0)
			*body = NULL;
		free(h);
	} else if (kind == SRPC_WIRE_GOB) {
		*status = 404;
		*body = strdup("404 page not found\n");
	} else if (kind == SRPC_WIRE_TLS_JSON || kind == SRPC_WIRE_PLAIN_JSON) {
		*status = 400;
		*body = strdup("400 Bad Request\n");
	} else {
		return -ENOENT;
	}
	return *body != NULL ? 0 : -ENOMEM;
}
