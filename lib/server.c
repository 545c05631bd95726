/* server: signals, logs, TLS, SRPC and the listener of a server program, and its stop. */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "listener.h"

/* After the drain, how long forcibly shut down connections get to end their threads. */
#define FORCE_GRACE_MS 1000

struct server {
	struct server_config cfg;
	int sfd;    /* signalfd: SIGINT, SIGTERM, SIGHUP */
	int stopfd; /* eventfd: server_request_stop */
	int log_rc;
	struct tls_server *tls;
	struct srpc_server *srpc;
	struct listener *lis;
	bool stopped; /* listener stopped, SRPC drained */
	bool drained; /* no SRPC connection left: srpc and tls may be freed */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int server_new(const struct server_config *cfg, struct server **out, char *err, size_t errsz)
{
	struct server *s = calloc(1, sizeof(*s));
	sigset_t mask;
	int rc;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	/* A thread per connection: with glibc's default of 8 malloc arenas per core, bursts
	 * of connections left the hypervisor at 70 MB RSS instead of 40 (bench/soak). */
	mallopt(M_ARENA_MAX, 2);
	s->cfg = *cfg;
	if (s->cfg.log.ident == NULL)
		s->cfg.log.ident = cfg->prog;
	if (s->cfg.drain_ms == 0)
		s->cfg.drain_ms = SERVER_DEFAULT_DRAIN_MS;
	/* OpenSSL writes with write(2): a peer gone away must be EPIPE (srpc.h). */
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread exists: these signals are only taken by server_wait. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	s->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	if (s->sfd < 0 || s->stopfd < 0) {
		rc = -errno;
		snprintf(err, errsz, "signalfd/eventfd: %s", strerror(errno));
		goto out_close;
	}
	s->log_rc = log_init(&s->cfg.log);
	*out = s;
	return 0;
out_close:
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	free(s);
	return rc;
}

int server_log_error(const struct server *s)
{
	return s->log_rc;
}

int server_load_tls(struct server *s, char *err, size_t errsz)
{
	struct srpc_server_config sc = s->cfg.srpc;
	char why[1024];
	int rc;

	if (s->srpc != NULL)
		return 0;
	if (s->cfg.tls != NULL && s->tls == NULL) {
		rc = tls_server_new(s->cfg.tls, &s->tls, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errsz, "TLS: %s", why);
			return rc;
		}
	}
	sc.tls = s->tls;
	s->srpc = srpc_server_new(&sc);
	if (s->srpc == NULL) {
		snprintf(err, errsz, "SRPC server: out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct srpc_server *server_srpc(struct server *s)
{
	return s->srpc;
}

int server_listen(struct server *s, char *err, size_t errsz)
{
	struct listener_config lc = {0};
	char addr[64], why[1024];
	int rc;

	rc = server_load_tls(s, err, errsz);
	if (rc < 0)
		return rc;
	if (s->cfg.srpc_register != NULL) {
		rc = s->cfg.srpc_register(s->srpc, s->cfg.arg);
		if (rc < 0) {
			snprintf(err, errsz, "registering RPC methods: %s", strerror(-rc));
			return rc;
		}
	}
	if (s->cfg.addr != NULL)
		snprintf(addr, sizeof(addr), "%s", s->cfg.addr);
	else
		snprintf(addr, sizeof(addr), ":%d", s->cfg.port);
	lc.addr = addr;
	lc.srpc = s->srpc;
#ifdef SS_HTTP_MINI /* lib/http_mini answers from the routes; no handler of one's own */
	if (s->cfg.http != NULL) {
		snprintf(err, errsz, "a libmicrohttpd handler needs the full build of lib/server");
		return -EINVAL;
	}
	lc.http_arg = (void *)s->cfg.routes;
#else
	if (s->cfg.http != NULL) {
		lc.http = s->cfg.http;
		lc.http_arg = s->cfg.http_arg;
	} else if (s->cfg.routes != NULL) {
		lc.http = http_handler;
		lc.http_arg = (void *)s->cfg.routes;
	}
#endif
	rc = listener_start(&lc, &s->lis, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errsz, "listening on %s: %s", addr, why);
		return rc;
	}
	return 0;
}

void server_port_stats(struct server *s, struct listener_stats *out)
{
	if (s->lis != NULL)
		listener_get_stats(s->lis, out);
	else
		*out = (struct listener_stats){0};
}

int server_port(const struct server *s)
{
	return s->lis != NULL ? listener_port(s->lis) : 0;
}

void server_request_stop(struct server *s)
{
	uint64_t one = 1;

	(void)!write(s->stopfd, &one, sizeof(one));
}

/* Waits until no SRPC connection is left or the deadline passes. */
static bool drained_by(struct srpc_server *srv, int64_t deadline)
{
	while (srpc_server_nconns(srv) > 0 && now_ms() < deadline)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	return srpc_server_nconns(srv) == 0;
}

/* Closes the port, then lets request/response calls in progress finish until the drain
 * deadline before shutting every connection down. */
static void stop_serving(struct server *s)
{
	if (s->stopped)
		return;
	s->stopped = true;
	listener_stop(s->lis);
	s->lis = NULL;
	if (s->srpc == NULL) {
		s->drained = true;
		return;
	}
	srpc_server_shutdown(s->srpc, false);
	if (drained_by(s->srpc, now_ms() + (s->cfg.drain_ms > 0 ? s->cfg.drain_ms : 0))) {
		s->drained = true;
		return;
	}
	log_debug(1, "%s: %u SRPC connections past the drain deadline: shut down",
		  s->cfg.prog ? s->cfg.prog : "server", srpc_server_nconns(s->srpc));
	srpc_server_shutdown(s->srpc, true);
	s->drained = drained_by(s->srpc, now_ms() + FORCE_GRACE_MS);
}

int server_wait(struct server *s)
{
	int signo;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->sfd, .events = POLLIN},
				      {.fd = s->stopfd, .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & POLLIN) {
			signo = 0;
			break;
		}
		if (read(s->sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			s->log_rc = log_init(&s->cfg.log);
			if (s->cfg.on_reopen != NULL)
				s->cfg.on_reopen(s->cfg.arg, s->log_rc);
			continue;
		}
		signo = (int)si.ssi_signo;
		break;
	}
	stop_serving(s);
	return s->cfg.on_stop != NULL ? s->cfg.on_stop(s->cfg.arg, signo) : 0;
}

void server_free(struct server *s)
{
	if (s == NULL)
		return;
	stop_serving(s);
	if (s->drained) {
		srpc_server_free(s->srpc);
		tls_server_free(s->tls);
	} else {
		log_debug(1, "%s: %u SRPC connections still running: SRPC server kept",
			  s->cfg.prog ? s->cfg.prog : "server", srpc_server_nconns(s->srpc));
	}
	close(s->sfd);
	close(s->stopfd);
	free(s);
	log_shutdown();
}

void server_log_reopened(void *arg, int rc)
{
	(void)arg;
	(void)rc;
	log_info("SIGHUP: log files reopened");
}
