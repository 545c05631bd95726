/* ratelimit: token bucket (see ratelimit.h). */
#include "ratelimit.h"

void ratelimit_init(struct ratelimit *r, unsigned rate, unsigned burst, int64_t now_ms)
{
	r->rate = rate;
	r->burst = burst ? burst : 1;
	r->milli = (uint64_t)r->burst * 1000;
	r->last_ms = now_ms;
	r->suppressed = 0;
}

bool ratelimit_allow(struct ratelimit *r, int64_t now_ms)
{
	uint64_t full = (uint64_t)r->burst * 1000;

	if (now_ms > r->last_ms) {
		/* ms x events/s = thousandths of an event; past the time that fills the
		 * bucket the product could overflow, so it is not computed. */
		uint64_t dt = (uint64_t)(now_ms - r->last_ms);

		if (r->rate > 0 && dt > full / r->rate)
			r->milli = full;
		else
			r->milli += dt * r->rate;
		if (r->milli > full)
			r->milli = full;
		r->last_ms = now_ms;
	}
	if (r->milli >= 1000) {
		r->milli -= 1000;
		return true;
	}
	r->suppressed++;
	return false;
}

uint64_t ratelimit_take_suppressed(struct ratelimit *r)
{
	uint64_t n = r->suppressed;

	r->suppressed = 0;
	return n;
}
