/* A small epoll event loop with monotonic timers, run by one thread; used by the
 * UDP services (DHCP, TFTP, RA). Only evloop_stop() and evloop_wake() may be called
 * from other threads. */
#ifndef SS_EVLOOP_H
#define SS_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;

/* A registered descriptor; embed it in the owner. */
struct ev_io {
	int fd;
	void (*cb)(struct ev_io *io, uint32_t events);
	void *arg;
};

/* A one-shot timer; embed it in the owner. heap_idx is internal (SIZE_MAX = idle). */
struct ev_timer {
	int64_t when; /* monotonic ms */
	size_t heap_idx;
	void (*cb)(struct ev_timer *t);
	void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);

int evloop_add(struct evloop *l, struct ev_io *io, uint32_t events);
void evloop_del(struct evloop *l, struct ev_io *io);
/* Changes the events a registered descriptor waits for. 0 or -errno. */
int evloop_mod(struct evloop *l, struct ev_io *io, uint32_t events);

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_timer *), void *arg);
/* (Re)arms t to fire at `when` (monotonic ms). 0 or -ENOMEM. */
int evloop_timer_set(struct evloop *l, struct ev_timer *t, int64_t when);
void evloop_timer_cancel(struct evloop *l, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_idx != (size_t)-1;
}

/* Called (in the loop thread) after every batch of events, and when woken. */
void evloop_set_idle(struct evloop *l, void (*fn)(void *), void *arg);

/* Runs until evloop_stop(). 0 or -errno. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l);
/* Makes the loop run its idle callback soon (thread-safe). */
void evloop_wake(struct evloop *l);

int64_t evloop_now_ms(void);  /* CLOCK_MONOTONIC */
int64_t evloop_wall_ms(void); /* CLOCK_REALTIME */

#endif
