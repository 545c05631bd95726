/* listener: one TCP port, HTTP and SRPC together. A thread per accepted connection
 * peeks at the first bytes; "CONNECT " is served by the SRPC server on that thread,
 * everything else goes to libmicrohttpd through MHD_add_connection.
 *
 * Admission (listener.h): every connection holds a slot from accept until it closes,
 * counted in total, per source address and (while libmicrohttpd has it) as HTTP. An
 * HTTP slot is released by libmicrohttpd's CLOSED notification. MHD_add_connection
 * may queue the socket for libmicrohttpd's own thread (0.9.75 does), so the slot waits
 * in a handoff table under its descriptor until the STARTED notification takes it.
 *
 * Built with SS_HTTP_MINI (the installer's copy, linked statically), HTTP is answered
 * by lib/http_mini on the connection's own thread instead, one request per connection,
 * with cfg.http_arg as the routes (struct http_routes); listener_stop waits for those
 * threads as MHD_stop_daemon waits for libmicrohttpd's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "listener.h"
#include "srpc_conn.h"
#ifdef SS_HTTP_MINI
#include "http_mini.h"
#endif

#define CONNECT_PREFIX "CONNECT "
#define PROBATION_MS 3000   /* a connection on probation must show itself within */
#define PROBATION_IDLE_S 2u /* and an HTTP one is closed after this idle time */
#define HEAD_MAX 2048	    /* bytes of a request head read on probation */

/* Connections from one address. */
struct source {
	struct in6_addr addr;
	unsigned n, probation;
};

struct listener {
	struct listener_config cfg;
	int lfd;
	int stopfd; /* eventfd: wakes the accept thread */
	int port;
	pthread_t accept_thread;
#ifndef SS_HTTP_MINI
	struct MHD_Daemon *mhd;
#endif
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when undecided (SS_HTTP_MINI: or http) drops */
	unsigned undecided;  /* connection threads still peeking */
	unsigned live, http; /* slots held; of them libmicrohttpd's */
	struct source *sources;
	unsigned nsources;     /* used entries of sources[] (at most max_conns) */
	struct slot **handoff; /* HTTP slots given to libmicrohttpd, not yet STARTED */
	unsigned nhandoff;
	unsigned long long accepted, refused, probation;
	bool stopping;
	bool stopped; /* listener_stop is done: the last release frees l */
};

/* One connection from accept to close. */
struct slot {
	struct listener *l;
	int fd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct in6_addr src;
	bool probation;	 /* admitted past a normal mark: counted at its source */
	bool restricted; /* probation, or HTTP past max_http_conns: reserved paths only */
	bool http;	 /* counted in l->http */
};

static const char *const default_reserved[] = {"/healthz", "/metrics", NULL};

static void source_key(const struct sockaddr_storage *ss, struct in6_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)ss)->sin6_addr;
	} else if (ss->ss_family == AF_INET) {
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

/* The entry of addr, added when missing (there is room: one per live slot). */
static struct source *source_get(struct listener *l, const struct in6_addr *addr)
{
	for (unsigned i = 0; i < l->nsources; i++)
		if (memcmp(&l->sources[i].addr, addr, sizeof(*addr)) == 0)
			return &l->sources[i];
	l->sources[l->nsources] = (struct source){.addr = *addr};
	return &l->sources[l->nsources++];
}

/* Takes a slot for a new connection, or refuses it: false. Lock held. */
static bool admit(struct listener *l, struct slot *s)
{
	const struct listener_config *c = &l->cfg;
	unsigned probation_cap = c->reserve / 2 > 0 ? c->reserve / 2 : 1;
	struct source *src;

	if (l->stopping || l->live >= c->max_conns)
		return false;
	src = source_get(l, &s->src);
	s->probation = l->live >= c->max_conns - c->reserve || src->n >= c->max_per_source;
	if (s->probation && src->probation >= probation_cap) {
		if (src->n == 0)
			*src = l->sources[--l->nsources];
		return false;
	}
	src->n++;
	if (s->probation) {
		src->probation++;
		l->probation++;
	}
	l->live++;
	return true;
}

static void destroy(struct listener *l)
{
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	free(l->sources);
	free(l->handoff);
	free(l);
}

static void release_locked(struct listener *l, struct slot *s)
{
	struct source *src = source_get(l, &s->src);

	src->n--;
	if (s->probation)
		src->probation--;
	if (src->n == 0)
		*src = l->sources[--l->nsources];
	if (s->http)
		l->http--;
#ifdef SS_HTTP_MINI
	if (s->http)
		pthread_cond_broadcast(&l->idle);
#endif
	l->live--;
	free(s);
}

#ifndef SS_HTTP_MINI
/* Removes the slot s, or (s NULL) the one under descriptor fd, from the handoff table;
 * returns it, or NULL if it was not there. Lock held. */
static struct slot *handoff_remove(struct listener *l, const struct slot *s, int fd)
{
	for (unsigned i = 0; i < l->nhandoff; i++) {
		struct slot *h = l->handoff[i];

		if (s != NULL ? h == s : h->fd == fd) {
			l->handoff[i] = l->handoff[--l->nhandoff];
			return h;
		}
	}
	return NULL;
}

/* Puts s in the handoff table. A slot there under the same descriptor is stale: its
 * socket was closed without a STARTED notification (libmicrohttpd refused it). */
static void handoff_put(struct listener *l, struct slot *s)
{
	struct slot *stale;

	pthread_mutex_lock(&l->lock);
	stale = handoff_remove(l, NULL, s->fd);
	if (stale != NULL)
		release_locked(l, stale);
	l->handoff[l->nhandoff++] = s;
	pthread_mutex_unlock(&l->lock);
}
#endif

static void release(struct slot *s)
{
	struct listener *l = s->l;
	bool last;

	pthread_mutex_lock(&l->lock);
	release_locked(l, s);
	last = l->stopped && l->live == 0;
	pthread_mutex_unlock(&l->lock);
	if (last)
		destroy(l);
}

#ifndef SS_HTTP_MINI
static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_dispatch(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_data_size,
				     void **con_cls)
{
	struct listener *l = cls;
	enum MHD_Result ret;
	char *body;
	int status;

	if (l->cfg.srpc != NULL &&
	    srpc_server_http(l->cfg.srpc, method, url, &status, &body) == 0) {
		ret = respond(c, status, body);
		free(body);
		return ret;
	}
	if (l->cfg.http != NULL)
		return l->cfg.http(l->cfg.http_arg, c, url, method, version, upload_data,
				   upload_data_size, con_cls);
	return respond(c, 404, "404 page not found\n");
}

static void http_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct listener *l = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct slot *s = NULL;

		if (ci != NULL) {
			pthread_mutex_lock(&l->lock);
			s = handoff_remove(l, NULL, ci->connect_fd);
			pthread_mutex_unlock(&l->lock);
		}
		*socket_context = s;
		if (s != NULL && s->restricted)
			MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
						  PROBATION_IDLE_S);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
		release(*socket_context);
		*socket_context = NULL;
	}
}
#endif

/* Waits until fd is readable, the deadline passes (-ETIMEDOUT) or the listener stops
 * (-ECANCELED: a silent peer must not hold listener_stop up). */
static int wait_readable(int fd, int64_t deadline, int stopfd)
{
	for (;;) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
					{.fd = stopfd, .events = POLLIN}};
		int64_t left = deadline - srpc_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(pfd, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (pfd[1].revents != 0)
			return -ECANCELED;
		return 0;
	}
}

/* Waits for the first bytes: 1 for CONNECT, 0 for anything else, <0 to drop. */
static int classify(int fd, int timeout_ms, int stopfd)
{
	int64_t deadline = srpc_now_ms() + timeout_ms;
	char buf[sizeof(CONNECT_PREFIX) - 1];

	for (;;) {
		int rc = wait_readable(fd, deadline, stopfd);
		ssize_t n;

		if (rc < 0)
			return rc;
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		if (memcmp(buf, CONNECT_PREFIX, (size_t)n) != 0)
			return 0;
		if ((size_t)n == sizeof(buf))
			return 1;
		/* A prefix of "CONNECT ": the rest is on its way. */
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
	}
}

/* Whether head (a complete request head) asks for GET or HEAD of one of paths. */
bool listener_reserved_request(const char *head, const char *const *paths)
{
	const char *p, *end;
	size_t len;

	if (strncmp(head, "GET ", 4) == 0)
		p = head + 4;
	else if (strncmp(head, "HEAD ", 5) == 0)
		p = head + 5;
	else
		return false;
	end = p + strcspn(p, " ?\r\n");
	if (*end != ' ' && *end != '?')
		return false;
	len = (size_t)(end - p);
	for (; *paths != NULL; paths++)
		if (strlen(*paths) == len && memcmp(*paths, p, len) == 0)
			return true;
	return false;
}

/* A connection on probation that is not SRPC: its whole request head must arrive
 * within the probation deadline and ask for a reserved path. */
static bool reserved_http(struct listener *l, int fd)
{
	int64_t deadline = srpc_now_ms() + PROBATION_MS;
	char head[HEAD_MAX + 1];

	for (;;) {
		ssize_t n;

		if (wait_readable(fd, deadline, l->stopfd) < 0)
			return false;
		n = recv(fd, head, HEAD_MAX, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		head[n] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL || strstr(head, "\n\n") != NULL)
			return listener_reserved_request(head, l->cfg.reserved_paths);
		if (n == HEAD_MAX)
			return false;
		/* More of the head is on its way. */
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
}

static void undecided_done(struct listener *l)
{
	pthread_mutex_lock(&l->lock);
	if (--l->undecided == 0)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->lock);
}

static void send_and_close(int fd, const char *msg)
{
	srpc_send_all(fd, msg, strlen(msg));
	close(fd);
}

/* Counts s as HTTP; false when the listener stops first. */
static bool to_mhd(struct listener *l, struct slot *s)
{
	bool taken = false;

	pthread_mutex_lock(&l->lock);
	if (!l->stopping) {
		s->restricted = s->probation || l->http >= l->cfg.max_http_conns;
		s->http = true;
		l->http++;
		taken = true;
	}
	pthread_mutex_unlock(&l->lock);
	return taken;
}

static void refused(struct listener *l)
{
	pthread_mutex_lock(&l->lock);
	l->refused++;
	pthread_mutex_unlock(&l->lock);
}

static void *conn_main(void *p)
{
	struct slot *s = p;
	struct listener *l = s->l;
	struct srpc_server *srv = l->cfg.srpc;
	sigset_t pipe;
	int kind, fd = s->fd;

	/* OpenSSL writes with write(2): a peer that went away must give EPIPE, not kill the
	 * process, even if the program forgot to ignore SIGPIPE. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	kind = classify(fd, s->probation ? PROBATION_MS : l->cfg.peek_timeout_ms, l->stopfd);

	if (kind == 0) {
		if (!to_mhd(l, s)) {
			kind = -ECANCELED;
		} else if (s->restricted && !reserved_http(l, fd)) {
			refused(l);
			send_and_close(fd, "HTTP/1.1 503 Service Unavailable\r\n"
					   "Connection: close\r\nContent-Length: 5\r\n\r\nbusy\n");
			fd = -1;
		} else {
#ifdef SS_HTTP_MINI
			kind = 2; /* served below, on this thread */
#else
			/* The STARTED notification takes the slot; MHD closes the socket even
			 * when it refuses it (then the slot is still ours). */
			handoff_put(l, s);
			if (MHD_add_connection(l->mhd, fd, (struct sockaddr *)&s->addr,
					       s->addrlen) == MHD_YES) {
				s = NULL;
			} else {
				pthread_mutex_lock(&l->lock);
				if (handoff_remove(l, s, -1) == NULL)
					s = NULL; /* released as stale already */
				pthread_mutex_unlock(&l->lock);
			}
			fd = -1;
#endif
		}
	}
	undecided_done(l);
#ifdef SS_HTTP_MINI
	if (kind == 2) {
		struct timeval tv = {.tv_sec = s->restricted ? (int)PROBATION_IDLE_S
							     : l->cfg.http_timeout_s};

		/* A peer that does not read its answer must not hold listener_stop up. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		http_mini_serve(fd, (const struct sockaddr *)&s->addr, srv, l->cfg.http_arg,
				(int)tv.tv_sec, l->stopfd);
		close(fd);
		fd = -1;
	}
#endif
	if (kind == 1 && srv != NULL) {
		if (s->probation)
			srpc_server_serve_privileged(srv, fd, PROBATION_MS);
		else
			srpc_server_serve(srv, fd);
	} else if (fd >= 0) {
		if (kind == 1)
			send_and_close(fd, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
		else
			close(fd);
	}
	if (s != NULL)
		release(s);
	return NULL;
}

static void spawn(struct listener *l, int fd, struct sockaddr_storage *ss, socklen_t len)
{
	struct slot *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t t;
	bool ok = false;

	if (s != NULL) {
		s->l = l;
		s->fd = fd;
		s->addr = *ss;
		s->addrlen = len;
		source_key(ss, &s->src);
		pthread_mutex_lock(&l->lock);
		ok = admit(l, s);
		if (ok) {
			l->accepted++;
			l->undecided++;
		} else {
			l->refused++;
		}
		pthread_mutex_unlock(&l->lock);
	}
	if (!ok) {
		close(fd);
		free(s);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, s) != 0) {
		close(fd);
		undecided_done(l);
		release(s);
	}
	pthread_attr_destroy(&attr);
}
static void *accept_main(void *p)
{
	struct listener *l = p;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = l->lfd, .events = POLLIN},
					{.fd = l->stopfd, .events = POLLIN}};
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		fd = accept4(l->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
			continue;
		}
		spawn(l, fd, &ss, len);
	}
	return NULL;
}

static int bind_listen(const char *addr, int *port_out, char *err, size_t errsz)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
	char host[256] = "", port[16];
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1, gr, e = EINVAL;

	if (colon == NULL || strlen(colon + 1) >= sizeof(port)) {
		snprintf(err, errsz, "bad listen address %s: want host:port", addr);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (addr[0] == '[' && colon > addr + 1 && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr - 2), addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	gr = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (gr != 0) {
		snprintf(err, errsz, "listen address %s: %s", addr, gai_strerror(gr));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errsz, "listen on %s: %s", addr, strerror(e));
		return -e;
	} else {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &len);
		getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port, sizeof(port),
			    NI_NUMERICSERV);
		*port_out = atoi(port);
	}
	return fd;
}

int listener_start(const struct listener_config *cfg, struct listener **out, char *err,
		   size_t errsz)
{
	struct listener *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (l == NULL)
		return -ENOMEM;
	l->cfg = *cfg;
	if (l->cfg.peek_timeout_ms <= 0)
		l->cfg.peek_timeout_ms = 5000;
	if (l->cfg.max_conns == 0)
		l->cfg.max_conns = 256;
	if (l->cfg.max_http_conns == 0)
		l->cfg.max_http_conns = 64;
	if (l->cfg.max_per_source == 0)
		l->cfg.max_per_source = 32;
	if (l->cfg.reserve == 0)
		l->cfg.reserve = 16;
	if (l->cfg.reserve >= l->cfg.max_conns)
		l->cfg.reserve = l->cfg.max_conns / 2;
	if (l->cfg.http_timeout_s <= 0)
		l->cfg.http_timeout_s = 10;
	if (l->cfg.reserved_paths == NULL)
		l->cfg.reserved_paths = default_reserved;
	l->sources = calloc(l->cfg.max_conns, sizeof(*l->sources));
	l->handoff = calloc(l->cfg.max_conns, sizeof(*l->handoff));
	if (l->sources == NULL || l->handoff == NULL) {
		free(l->sources);
		free(l->handoff);
		free(l);
		return -ENOMEM;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->stopfd = eventfd(0, EFD_CLOEXEC);
	if (l->stopfd < 0) {
		rc = -errno;
		snprintf(err, errsz, "eventfd: %s", strerror(errno));
		goto out_free;
	}
	l->lfd = bind_listen(cfg->addr, &l->port, err, errsz);
	if (l->lfd < 0) {
		rc = l->lfd;
		goto out_close_stop;
	}
#ifndef SS_HTTP_MINI
	/* libmicrohttpd's limit: above anything the slots let through (connections it has
	 * closed but not yet cleaned up included), so it is never reached; poll(), not
	 * select(), so descriptors above FD_SETSIZE work. */
	l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				      MHD_USE_POLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
				  0, NULL, NULL, http_dispatch, l, MHD_OPTION_CONNECTION_LIMIT,
				  4 * l->cfg.max_conns + 64, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)l->cfg.http_timeout_s, MHD_OPTION_NOTIFY_CONNECTION,
				  http_notify, l, MHD_OPTION_END);
	if (l->mhd == NULL) {
		snprintf(err, errsz, "start libmicrohttpd failed");
		rc = -EIO;
		goto out_close_listen;
	}
#endif
	if ((rc = -pthread_create(&l->accept_thread, NULL, accept_main, l)) < 0) {
		snprintf(err, errsz, "accept thread: %s", strerror(-rc));
		goto out_stop_mhd;
	}
	*out = l;
	return 0;
out_stop_mhd:
#ifndef SS_HTTP_MINI
	MHD_stop_daemon(l->mhd);
out_close_listen:
#endif
	close(l->lfd);
out_close_stop:
	close(l->stopfd);
out_free:
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	free(l->sources);
	free(l->handoff);
	free(l);
	return rc;
}

int listener_port(const struct listener *l)
{
	return l->port;
}

void listener_get_stats(struct listener *l, struct listener_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = (struct listener_stats){
	    .live = l->live,
	    .http = l->http,
	    .undecided = l->undecided,
	    .accepted = l->accepted,
	    .refused = l->refused,
	    .probation = l->probation,
	};
	pthread_mutex_unlock(&l->lock);
}

void listener_stop(struct listener *l)
{
	uint64_t one = 1;
	bool last;

	if (l == NULL)
		return;
	if (write(l->stopfd, &one, sizeof(one)) < 0)
		abort(); /* an eventfd write of 1 cannot fail */
	pthread_join(l->accept_thread, NULL);
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	while (l->undecided > 0)
		pthread_cond_wait(&l->idle, &l->lock);
	pthread_mutex_unlock(&l->lock);
#ifdef SS_HTTP_MINI
	pthread_mutex_lock(&l->lock); /* the stop event ends their waits for a head */
	while (l->http > 0)
		pthread_cond_wait(&l->idle, &l->lock);
	pthread_mutex_unlock(&l->lock);
#else
	MHD_stop_daemon(l->mhd); /* its CLOSED notifications release the HTTP slots */
#endif
	close(l->lfd);
	close(l->stopfd);
	pthread_mutex_lock(&l->lock);
	while (l->nhandoff > 0) /* queued in libmicrohttpd, never started */
		release_locked(l, l->handoff[--l->nhandoff]);
	l->stopped = true;
	last = l->live == 0;
	pthread_mutex_unlock(&l->lock);
	if (last)
		destroy(l);
}
