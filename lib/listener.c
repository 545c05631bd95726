/* listener: one TCP port, HTTP and SRPC together. A thread per accepted connection
 * peeks at the first bytes; "CONNECT " is served by the SRPC server on that thread,
 * everything else goes to libmicrohttpd through MHD_add_connection. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "listener.h"
#include "srpc_conn.h"

#define CONNECT_PREFIX "CONNECT "

struct listener {
	struct listener_config cfg;
	int lfd;
	int stopfd; /* eventfd: wakes the accept thread */
	int port;
	pthread_t accept_thread;
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when undecided reaches 0 */
	unsigned undecided;  /* connection threads still peeking */
	bool stopping;
};

struct conn_arg {
	struct listener *l;
	int fd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

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

/* Waits for the first bytes: 1 for CONNECT, 0 for anything else, <0 to drop (also
 * when the listener stops: a silent peer must not hold listener_stop up). */
static int classify(int fd, int timeout_ms, int stopfd)
{
	int64_t deadline = srpc_now_ms() + timeout_ms;
	char buf[sizeof(CONNECT_PREFIX) - 1];

	for (;;) {
		struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
					{.fd = stopfd, .events = POLLIN}};
		int64_t left = deadline - srpc_now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(pfd, 2, (int)left) <= 0)
			continue;
		if (pfd[1].revents != 0)
			return -ECANCELED;
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

static void undecided_done(struct listener *l)
{
	pthread_mutex_lock(&l->lock);
	if (--l->undecided == 0)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->lock);
}

static void *conn_main(void *p)
{
	struct conn_arg *a = p;
	struct listener *l = a->l;
	struct srpc_server *srv = l->cfg.srpc;
	sigset_t pipe;
	int kind;

	/* OpenSSL writes with write(2): a peer that went away must give EPIPE, not kill the
	 * process, even if the program forgot to ignore SIGPIPE. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	kind = classify(a->fd, l->cfg.peek_timeout_ms, l->stopfd);

	if (kind == 0) {
		pthread_mutex_lock(&l->lock);
		if (!l->stopping) {
			/* MHD closes the socket even when it refuses it. */
			MHD_add_connection(l->mhd, a->fd, (struct sockaddr *)&a->addr, a->addrlen);
			a->fd = -1;
		}
		pthread_mutex_unlock(&l->lock);
	}
	undecided_done(l);
	if (kind == 1 && srv != NULL) {
		srpc_server_serve(srv, a->fd);
	} else if (a->fd >= 0) {
		if (kind == 1) {
			static const char nf[] =
			    "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";

			srpc_send_all(a->fd, nf, sizeof(nf) - 1);
		}
		close(a->fd);
	}
	free(a);
	return NULL;
}

static void spawn(struct listener *l, int fd, struct sockaddr_storage *ss, socklen_t len)
{
	struct conn_arg *a;
	pthread_attr_t attr;
	pthread_t t;
	bool full;

	pthread_mutex_lock(&l->lock);
	full = l->undecided >= l->cfg.max_conns ||
	       (l->cfg.srpc != NULL && srpc_server_nconns(l->cfg.srpc) >= l->cfg.max_conns);
	if (!full)
		l->undecided++;
	pthread_mutex_unlock(&l->lock);
	if (full || (a = calloc(1, sizeof(*a))) == NULL) {
		if (!full)
			undecided_done(l);
		close(fd);
		return;
	}
	a->l = l;
	a->fd = fd;
	a->addr = *ss;
	a->addrlen = len;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, a) != 0) {
		close(fd);
		free(a);
		undecided_done(l);
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
		l->cfg.peek_timeout_ms = 10000;
	if (l->cfg.max_conns == 0)
		l->cfg.max_conns = 256;
	if (l->cfg.max_http_conns == 0)
		l->cfg.max_http_conns = 64;
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
	l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				      MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
				  0, NULL, NULL, http_dispatch, l, MHD_OPTION_CONNECTION_LIMIT,
				  l->cfg.max_http_conns, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
				  MHD_OPTION_END);
	if (l->mhd == NULL) {
		snprintf(err, errsz, "start libmicrohttpd failed");
		rc = -EIO;
		goto out_close_listen;
	}
	if ((rc = -pthread_create(&l->accept_thread, NULL, accept_main, l)) < 0) {
		snprintf(err, errsz, "accept thread: %s", strerror(-rc));
		goto out_stop_mhd;
	}
	*out = l;
	return 0;
out_stop_mhd:
	MHD_stop_daemon(l->mhd);
out_close_listen:
	close(l->lfd);
out_close_stop:
	close(l->stopfd);
out_free:
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	free(l);
	return rc;
}

int listener_port(const struct listener *l)
{
	return l->port;
}

void listener_stop(struct listener *l)
{
	uint64_t one = 1;

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
	MHD_stop_daemon(l->mhd);
	close(l->lfd);
	close(l->stopfd);
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
