/* Single-threaded poll(2) TCP relay with bounded buffers, connections and idle time. */
#include "daemon/hypervisor/metadata/metadata_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_MAX 32
#define RELAY_BUF 16384
#define RELAY_IDLE_MS 60000

/* Bytes read from fd[side] waiting to be written to the other side. */
struct relay_half {
	char buf[RELAY_BUF];
	size_t len, off;
	bool eof;
};

struct relay_conn {
	int fd[2]; /* accepted, outgoing; -1 when the slot is free */
	struct relay_half h[2];
	bool connecting;
	int64_t last;
};

struct metadata_relay {
	int listen_fd;
	struct sockaddr_in to;
	int stop[2];
	pthread_t thread;
	struct relay_conn c[RELAY_MAX];
};

static int64_t relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void relay_close(struct relay_conn *c)
{
	for (int i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
}

static void relay_accept(struct metadata_relay *r)
{
	struct relay_conn *c = NULL;
	int in, out;

	for (int i = 0; i < RELAY_MAX && !c; i++)
		if (r->c[i].fd[0] < 0)
			c = &r->c[i];
	in = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (in < 0)
		return;
	if (!c) {
		close(in);
		return;
	}
	out = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (out < 0) {
		close(in);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd[0] = in;
	c->fd[1] = out;
	c->last = relay_now_ms();
	if (connect(out, (struct sockaddr *)&r->to, sizeof(r->to)) < 0) {
		if (errno != EINPROGRESS) {
			relay_close(c);
			return;
		}
		c->connecting = true;
	}
}

/* Moves data for one connection after poll; false when it is finished. */
static bool relay_step(struct relay_conn *c, const struct pollfd *p)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (!p[1].revents)
			return true;
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
			return false;
		c->connecting = false;
		return true;
	}
	for (int i = 0; i < 2; i++) {
		struct relay_half *h = &c->h[i];
		int from = c->fd[i], to = c->fd[1 - i];

		if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && !h->eof && h->len == 0) {
			ssize_t n = read(from, h->buf, sizeof(h->buf));
			if (n > 0) {
				h->len = (size_t)n;
				h->off = 0;
				c->last = relay_now_ms();
			} else if (n == 0) {
				h->eof = true;
				shutdown(to, SHUT_WR);
			} else if (errno != EAGAIN && errno != EINTR) {
				return false;
			}
		}
		if (h->len > h->off && (p[1 - i].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = send(to, h->buf + h->off, h->len - h->off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return false;
			if (n > 0) {
				h->off += (size_t)n;
				c->last = relay_now_ms();
			}
			if (h->off == h->len)
				h->len = h->off = 0;
		}
	}
	if (c->h[0].eof && c->h[1].eof && c->h[0].len == 0 && c->h[1].len == 0)
		return false;
	return relay_now_ms() - c->last < RELAY_IDLE_MS;
}

static void *relay_thread(void *arg)
{
	struct metadata_relay *r = arg;
	struct pollfd p[2 + 2 * RELAY_MAX];

	for (;;) {
		p[0] = (struct pollfd){.fd = r->stop[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
		for (int k = 0; k < RELAY_MAX; k++) {
			struct relay_conn *c = &r->c[k];
			struct pollfd *q = &p[2 + 2 * k];
			q[0] = (struct pollfd){.fd = c->fd[0]};
			q[1] = (struct pollfd){.fd = c->fd[1]};
			if (c->fd[0] < 0)
				continue;
			if (c->connecting) {
				q[1].events = POLLOUT;
				continue;
			}
			for (int i = 0; i < 2; i++) {
				if (!c->h[i].eof && c->h[i].len == 0)
					q[i].events |= POLLIN;
				if (c->h[i].len > c->h[i].off)
					q[1 - i].events |= POLLOUT;
			}
		}
		if (poll(p, 2 + 2 * RELAY_MAX, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN)
			relay_accept(r);
		for (int k = 0; k < RELAY_MAX; k++)
			if (r->c[k].fd[0] >= 0 && !relay_step(&r->c[k], &p[2 + 2 * k]))
				relay_close(&r->c[k]);
	}
	return NULL;
}

int metadata_relay_start(int listen_fd, const struct sockaddr_in *to, struct metadata_relay **out)
{
	struct metadata_relay *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->listen_fd = listen_fd;
	r->to = *to;
	for (int k = 0; k < RELAY_MAX; k++)
		r->c[k].fd[0] = r->c[k].fd[1] = -1;
	if (pipe2(r->stop, O_CLOEXEC) < 0) {
		rc = -errno;
		free(r);
		return rc;
	}
	rc = pthread_create(&r->thread, NULL, relay_thread, r);
	if (rc) {
		close(r->stop[0]);
		close(r->stop[1]);
		free(r);
		return -rc;
	}
	*out = r;
	return 0;
}

void metadata_relay_stop(struct metadata_relay *r)
{
	if (!r)
		return;
	if (write(r->stop[1], "x", 1) < 0) {
		/* the pipe cannot be full: the thread reads nothing from it and exits */
	}
	pthread_join(r->thread, NULL);
	for (int k = 0; k < RELAY_MAX; k++)
		relay_close(&r->c[k]);
	close(r->stop[0]);
	close(r->stop[1]);
	free(r);
}
