/* epoll loop + binary min-heap of timers + eventfd for cross-thread wake-ups. */
#include "daemon/hypervisor/netsvc/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct evloop {
	int epfd;
	struct ev_io wake;
	struct ev_timer **heap;
	size_t nheap, capheap;
	volatile int stop;
	void (*idle)(void *);
	void *idle_arg;
};

static int64_t clock_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t evloop_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t evloop_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

static void wake_cb(struct ev_io *io, uint32_t events)
{
	uint64_t v;
	(void)events;
	while (read(io->fd, &v, sizeof(v)) > 0)
		;
}

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->wake.cb = wake_cb;
	if (l->epfd < 0 || l->wake.fd < 0 || evloop_add(l, &l->wake, EPOLLIN) < 0) {
		evloop_free(l);
		return NULL;
	}
	return l;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake.fd >= 0)
		close(l->wake.fd);
	free(l->heap);
	free(l);
}

int evloop_add(struct evloop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

int evloop_mod(struct evloop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

void evloop_del(struct evloop *l, struct ev_io *io)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_timer *), void *arg)
{
	t->when = 0;
	t->heap_idx = (size_t)-1;
	t->cb = cb;
	t->arg = arg;
}

static void heap_swap(struct evloop *l, size_t a, size_t b)
{
	struct ev_timer *t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct evloop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->when <= l->heap[i]->when)
			break;
		heap_swap(l, p, i);
		i = p;
	}
}

static void heap_down(struct evloop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		if (c < l->nheap && l->heap[c]->when < l->heap[m]->when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void evloop_timer_cancel(struct evloop *l, struct ev_timer *t)
{
	size_t i = t->heap_idx;
	if (i == (size_t)-1)
		return;
	t->heap_idx = (size_t)-1;
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	l->heap[i]->heap_idx = i;
	heap_up(l, i);
	heap_down(l, l->heap[i]->heap_idx);
}

int evloop_timer_set(struct evloop *l, struct ev_timer *t, int64_t when)
{
	evloop_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		size_t cap = l->capheap ? 2 * l->capheap : 64;
		struct ev_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->capheap = cap;
	}
	t->when = when;
	t->heap_idx = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->heap_idx);
	return 0;
}

void evloop_set_idle(struct evloop *l, void (*fn)(void *), void *arg)
{
	l->idle = fn;
	l->idle_arg = arg;
}

static void run_timers(struct evloop *l)
{
	int64_t now = evloop_now_ms();
	while (l->nheap && l->heap[0]->when <= now) {
		struct ev_timer *t = l->heap[0];
		evloop_timer_cancel(l, t);
		t->cb(t);
	}
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[64];
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		int timeout = -1;
		if (l->nheap) {
			int64_t d = l->heap[0]->when - evloop_now_ms();
			timeout = d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
		}
		int n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct ev_io *io = evs[i].data.ptr;
			io->cb(io, evs[i].events);
		}
		run_timers(l);
		if (l->idle)
			l->idle(l->idle_arg);
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	evloop_wake(l);
}

void evloop_wake(struct evloop *l)
{
	uint64_t one = 1;
	ssize_t r = write(l->wake.fd, &one, sizeof(one));
	(void)r;
}
