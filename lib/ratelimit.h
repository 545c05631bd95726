/* ratelimit: a token bucket for events a peer can cause once per packet (log lines
 * above all): at most burst at once, then rate per second; what it refuses is counted
 * so that the caller can say once how much it dropped. Pure (the caller passes the
 * monotonic clock) and not locked: the caller serialises calls on one bucket. */
#ifndef SS_RATELIMIT_H
#define SS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	unsigned rate;	     /* events per second */
	unsigned burst;	     /* events at once (the bucket's size) */
	uint64_t milli;	     /* tokens held, in thousandths */
	int64_t last_ms;     /* when milli was last brought up to date */
	uint64_t suppressed; /* refused since the last ratelimit_take_suppressed */
};

/* A full bucket. rate 0 refuses everything after the burst; burst 0 is taken as 1. */
void ratelimit_init(struct ratelimit *r, unsigned rate, unsigned burst, int64_t now_ms);

/* True when one more event may happen at now_ms (it takes a token); false counts it as
 * suppressed. A clock going backwards refills nothing. */
bool ratelimit_allow(struct ratelimit *r, int64_t now_ms);

/* How many events were refused since the last call; resets the count. */
uint64_t ratelimit_take_suppressed(struct ratelimit *r);

#endif
