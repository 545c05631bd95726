/* rollout_plan: the planner of rollout-image. One thread (the caller's) owns every
 * host's state and decides; a fixed pool of -rolloutWorkers threads does the blocking
 * calls (health, upgrade status, tags, commands) for the hosts the planner hands them,
 * so ten thousand hosts need neither ten thousand threads nor as many connections: a
 * host holds a connection only while it is in flight. The ramp rule is spec
 * hyper-control.md §5 step 8; the per-host steps are docs/hyper-control/rollout.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rollout.h"
#include "srpc_conn.h"

#define PLAN_TICK_MAX_MS 200
/* The state file is rewritten whole (every host that left "pending"): at most once a
 * second, so that ten thousand hosts do not make it quadratic. A host tagged since the
 * last write is recognised by its tag when a killed rollout starts again (cmd_rollout.c
 * scan). */
#define PLAN_SAVE_EVERY_MS 1000
#define PLAN_LINE_EVERY_MS 250
#define PLAN_LOG_EVERY_MS 10000

static volatile sig_atomic_t plan_paused;

static void plan_on_tstp(int sig)
{
	(void)sig;
	plan_paused = 1;
}

static void plan_on_cont(int sig)
{
	(void)sig;
	plan_paused = 0;
}

/* The work and result queues shared with the workers. */
struct plan_q {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct rollout_host *work_head, **work_tail;
	struct rollout_host *done_head, **done_tail;
	bool quit;
	pthread_mutex_t fm_mu; /* the Fleet Manager connection: one call at a time */
	struct rollout *r;
};

static void q_push(struct rollout_host ***tail, struct rollout_host *x)
{
	x->qnext = NULL;
	**tail = x;
	*tail = &x->qnext;
}

static struct rollout_host *q_pop(struct rollout_host **head, struct rollout_host ***tail)
{
	struct rollout_host *x = *head;

	if (x) {
		*head = x->qnext;
		if (!*head)
			*tail = head;
	}
	return x;
}

/* The tag set of x with RequiredImage = image ("" removes it) and no PlannedImage,
 * sent with FleetManager.ChangeMachineTags. */
static int plan_set_tag(struct plan_q *q, struct rollout_host *x, const char *image)
{
	struct rollout *r = q->r;
	json_t *tags = json_deep_copy(x->tags), *req, *resp = NULL;
	struct srpc_client *fm;
	int rc;

	if (!tags)
		return -ENOMEM;
	if (*image)
		json_object_set_new(tags, "RequiredImage", json_string(image));
	else
		json_object_del(tags, "RequiredImage");
	json_object_del(tags, "PlannedImage");
	req = json_pack("{s:s, s:O}", "Hostname", x->hostname, "Tags", tags);
	if (!req) {
		json_decref(tags);
		return -ENOMEM;
	}
	pthread_mutex_lock(&q->fm_mu);
	fm = r->h->fm;
	rc = srpc_client_call(fm, "FleetManager.ChangeMachineTags", req, &resp);
	if (rc < 0)
		snprintf(x->pr.err, sizeof(x->pr.err), "ChangeMachineTags: %s",
			 srpc_client_error(fm));
	pthread_mutex_unlock(&q->fm_mu);
	json_decref(req);
	if (rc == 0 && json_string_length(json_object_get(resp, "Error")) > 0) {
		snprintf(x->pr.err, sizeof(x->pr.err), "ChangeMachineTags: %s",
			 json_string_value(json_object_get(resp, "Error")));
		rc = -EREMOTEIO;
	}
	json_decref(resp);
	if (rc < 0) {
		json_decref(tags);
		return rc;
	}
	json_decref(x->tags);
	x->tags = tags;
	return 0;
}

/* One job for host x, chosen by its state. */
static void plan_job(struct plan_q *q, struct rollout_host *x)
{
	struct rollout *r = q->r;
	struct hc *h = r->h;
	int hto = (int)(h->o.connect_timeout_ns / 1000000);

	x->pr.ok = false;
	x->pr.err[0] = '\0';
	switch (x->st) {
	case RH_BASELINE:
		rollout_probe_health(x->addr, h->o.hypervisor_port, hto, &x->pr);
		break;
	case RH_PRE:
		x->pr.ok = rollout_run_command(h->o.pre_update_command, x->hostname, &x->pr) == 0;
		break;
	case RH_POST:
		x->pr.ok = rollout_run_command(h->o.post_update_command, x->hostname, &x->pr) == 0;
		break;
	case RH_TAG:
		x->pr.ok = plan_set_tag(q, x, r->image) == 0;
		break;
	case RH_RESTORE_TAG:
		x->pr.ok = plan_set_tag(q, x, x->old_image ? x->old_image : "") == 0;
		break;
	case RH_WAIT:
	case RH_BAKE:
	case RH_RESTORE_WAIT: {
		const char *want = x->st == RH_RESTORE_WAIT ? x->old_image : r->image;

		json_decref(x->pr.failing);
		x->pr.failing = NULL;
		x->pr.healthy = false;
		if (rollout_probe_status(h, x->addr, &x->cl, &x->pr) < 0)
			break;
		if (strcmp(x->pr.running, want ? want : "") == 0 &&
		    rollout_probe_health(x->addr, h->o.hypervisor_port, hto, &x->pr) < 0) {
			/* status answered, health did not (failing stays NULL): the step
			 * waits up to -healthTimeout */
			x->pr.ok = true;
			x->pr.healthy = false;
		}
		break;
	}
	case RH_PENDING: /* the scan: its image and whether it runs VMs */
		if (rollout_probe_status(h, x->addr, &x->cl, &x->pr) == 0) {
			/* spec §5 step 6: a host whose ListVMs fails counts as used */
			x->pr.used = true;
			if (rollout_probe_used(x->cl, &x->pr) < 0)
				x->pr.ok = true;
		}
		srpc_client_close(x->cl);
		x->cl = NULL;
		break;
	default:
		break;
	}
}

static void *plan_worker(void *arg)
{
	struct plan_q *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct rollout_host *x;

		while (!q->quit && !q->work_head)
			pthread_cond_wait(&q->work_cv, &q->mu);
		if (q->quit)
			break;
		x = q_pop(&q->work_head, &q->work_tail);
		pthread_mutex_unlock(&q->mu);
		plan_job(q, x);
		pthread_mutex_lock(&q->mu);
		q_push(&q->done_tail, x);
		pthread_cond_signal(&q->done_cv);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void plan_give(struct plan_q *q, struct rollout_host *x)
{
	x->busy = true;
	pthread_mutex_lock(&q->mu);
	q_push(&q->work_tail, x);
	pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
}

/* ---- the planner's bookkeeping ---- */

struct plan {
	struct rollout *r;
	struct plan_q q;
	pthread_t *threads;
	unsigned nthreads;
	struct rollout_host **fly; /* hosts in flight */
	size_t nfly;
	size_t next[2]; /* next pending index in each phase's order */
	struct rollout_host **order[2];
	size_t norder[2];
	unsigned max[2];    /* the ramp's ceiling per phase */
	unsigned ramp_done; /* hosts done at the current concurrency */
	unsigned ndone, nfailed, nskipped;
	struct rollout_host **to_give;
	size_t ngive;
	double dur_sum; /* seconds from start to done, for the estimate */
	unsigned dur_n;
	/* The shortest upgrade seen (tag to running the image): a host is first polled
	 * after 80% of it, so that ten thousand hosts are not polled for nothing. */
	int64_t wait_min_ms;
	bool tty, paused;
	int64_t line_ms, log_ms;
};

static int64_t now_ms(void)
{
	return srpc_now_ms();
}

static void plan_line(struct plan *p, bool force);

static void plan_log(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_log(struct plan *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->tty)
		fputs("\r\033[K", stderr);
	hc_progress("%s", msg);
	if (p->tty)
		plan_line(p, true);
}

static unsigned plan_remaining(const struct plan *p)
{
	return (unsigned)(p->norder[0] - p->next[0] + p->norder[1] - p->next[1]);
}

/* Seconds left: the remaining hosts in steps of the growing concurrency, each step the
 * mean time of a host so far. -1 while nothing is known. */
static double plan_estimate(const struct plan *p)
{
	const struct rollout *r = p->r;
	double mean, steps = 0;
	unsigned left = plan_remaining(p) + (unsigned)p->nfly;
	unsigned c = r->conc[r->phase];
	int ph = r->phase;

	if (p->dur_n == 0)
		return -1;
	mean = p->dur_sum / p->dur_n;
	while (left > 0) {
		unsigned take = c < left ? c : left;

		left -= take;
		steps += 1;
		if (c < p->max[ph])
			c++;
	}
	return steps * mean;
}

static void plan_line(struct plan *p, bool force)
{
	const struct rollout *r = p->r;
	int64_t t = now_ms();
	double el = (double)(t - r->start_ms) / 1000, est = plan_estimate(p);
	char e[32] = "?";

	if (!force && t - (p->tty ? p->line_ms : p->log_ms) <
			  (p->tty ? PLAN_LINE_EVERY_MS : PLAN_LOG_EVERY_MS))
		return;
	if (est >= 0)
		snprintf(e, sizeof(e), "%.0fs", est);
	if (p->tty) {
		p->line_ms = t;
		fprintf(stderr,
			"\r\033[K%u done / %zu in flight / %u failed / %u skipped / %u remaining, "
			"%.0fs elapsed, ~%s left%s",
			p->ndone, p->nfly, p->nfailed, p->nskipped, plan_remaining(p), el, e,
			p->paused ? " (paused)" : "");
		fflush(stderr);
	} else if (!force) {
		p->log_ms = t;
		hc_progress("progress: %u done / %zu in flight / %u failed / %u skipped / %u "
			    "remaining, %.0fs elapsed, ~%s left%s",
			    p->ndone, p->nfly, p->nfailed, p->nskipped, plan_remaining(p), el, e,
			    p->paused ? " (paused)" : "");
	}
}

static void plan_enter(struct plan *p, struct rollout_host *x, enum rollout_hstate st)
{
	x->st = st;
	x->since_ms = now_ms();
	x->next_ms = x->since_ms;
	p->r->dirty = true;
}

static void plan_set_why(struct rollout_host *x, const char *why)
{
	free(x->why);
	x->why = strdup(why);
}

/* x leaves the flight: done, failed or skipped. */
static void plan_land(struct plan *p, struct rollout_host *x, enum rollout_hstate st)
{
	struct rollout *r = p->r;

	plan_enter(p, x, st);
	srpc_client_close(x->cl);
	x->cl = NULL;
	for (size_t i = 0; i < p->nfly; i++)
		if (p->fly[i] == x) {
			p->fly[i] = p->fly[--p->nfly];
			break;
		}
	if (st == RH_DONE) {
		unsigned *c = &r->conc[x->used];

		p->ndone++;
		p->dur_sum += (double)(x->since_ms - x->started_ms) / 1000;
		p->dur_n++;
		/* The ramp: c completions at concurrency c make it c + 1. */
		if (++p->ramp_done >= *c && *c < p->max[x->used]) {
			(*c)++;
			p->ramp_done = 0;
		}
	} else if (st == RH_SKIPPED) {
		p->nskipped++;
	} else {
		p->nfailed++;
	}
}

/* A step of x failed: count it against the budget, then give its old image back. */
static void plan_fail(struct plan *p, struct rollout_host *x, const char *why)
{
	struct rollout *r = p->r;

	plan_set_why(x, why);
	r->failures++;
	plan_log(p, "%s: failed: %s; restoring RequiredImage %s", x->hostname, why,
		 x->old_image && *x->old_image ? x->old_image : "(none)");
	if (r->failures > r->max_failures && !r->stopping) {
		r->stopping = true;
		plan_log(p,
			 "%u failure%s (-maxFailures %" PRIu64 "): no more upgrades start; "
			 "waiting for the %zu in flight",
			 r->failures, r->failures == 1 ? "" : "s", r->max_failures, p->nfly);
	}
	plan_enter(p, x, RH_RESTORE_TAG);
}

static bool plan_timed_out(const struct plan *p, const struct rollout_host *x)
{
	return now_ms() - x->since_ms > p->r->upgrade_timeout_ms;
}

/* What the result of x's job means. */
static void plan_result(struct plan *p, struct rollout_host *x)
{
	struct rollout *r = p->r;
	struct rollout_probe *pr = &x->pr;
	int64_t t = now_ms();
	char newfail[2048];

	x->busy = false;
	x->next_ms = t + r->poll_ms;
	switch (x->st) {
	case RH_BASELINE:
		if (!pr->ok) {
			plan_set_why(x, pr->err);
			plan_land(p, x, RH_SKIPPED);
			plan_log(p, "%s: not upgraded: health unreachable before the upgrade (%s)",
				 x->hostname, pr->err);
			return;
		}
		json_decref(x->baseline);
		x->baseline = json_incref(pr->failing);
		if (!pr->healthy) {
			char *s = json_dumps(pr->failing, JSON_COMPACT);

			snprintf(newfail, sizeof(newfail),
				 "unhealthy before the upgrade: failing %s", s ? s : "?");
			free(s);
			plan_set_why(x, newfail);
			plan_land(p, x, RH_SKIPPED);
			plan_log(p, "%s: not upgraded: %s", x->hostname, newfail);
			return;
		}
		plan_enter(p, x, *r->h->o.pre_update_command ? RH_PRE : RH_TAG);
		return;
	case RH_PRE:
		if (!pr->ok) {
			plan_set_why(x, pr->err);
			r->failures++;
			if (r->failures > r->max_failures)
				r->stopping = true;
			plan_log(p, "%s: failed: %s (nothing changed)", x->hostname, pr->err);
			x->restored = true;
			plan_land(p, x, RH_FAILED);
			return;
		}
		plan_enter(p, x, RH_TAG);
		return;
	case RH_TAG:
		if (!pr->ok) {
			plan_fail(p, x, pr->err);
			return;
		}
		plan_enter(p, x, RH_WAIT);
		x->next_ms = t + r->poll_ms;
		if (x->next_ms < t + p->wait_min_ms * 4 / 5)
			x->next_ms = t + p->wait_min_ms * 4 / 5;
		return;
	case RH_WAIT:
		if (pr->ok && strcmp(pr->running, r->image) == 0) {
			if (p->wait_min_ms == 0 || t - x->since_ms < p->wait_min_ms)
				p->wait_min_ms = t - x->since_ms;
			x->reached_ms = t;
			plan_enter(p, x, RH_BAKE);
			x->reached_ms = t;
			break; /* judge this health reading as the bake's first */
		}
		if (pr->ok && strcmp(pr->last_to, r->image) == 0 &&
		    (strcmp(pr->last_res, "rolled-back") == 0 ||
		     strcmp(pr->upstate, "failed") == 0)) {
			snprintf(newfail, sizeof(newfail), "upgrade %s, running %s%s%s",
				 *pr->last_res ? pr->last_res : "failed", pr->running,
				 *pr->last_err ? ": " : "", pr->last_err);
			plan_fail(p, x, newfail);
			return;
		}
		if (plan_timed_out(p, x))
			plan_fail(p, x, "timed out waiting for image update to complete");
		return;
	case RH_BAKE:
		break;
	case RH_POST:
		if (!pr->ok) {
			plan_fail(p, x, pr->err);
			return;
		}
		plan_land(p, x, RH_DONE);
		plan_log(p, "%s: upgraded to %s", x->hostname, r->image);
		return;
	case RH_RESTORE_TAG:
		if (!pr->ok) {
			snprintf(newfail, sizeof(newfail), "%s; not restored: %s", x->why, pr->err);
			plan_set_why(x, newfail);
			plan_land(p, x, RH_FAILED);
			return;
		}
		plan_enter(p, x, RH_RESTORE_WAIT);
		x->next_ms = t + r->poll_ms;
		return;
	case RH_RESTORE_WAIT:
		if (pr->ok && strcmp(pr->running, x->old_image ? x->old_image : "") == 0) {
			rollout_new_failures(pr->failing, x->baseline, newfail, sizeof(newfail));
			if (pr->failing && !*newfail) {
				x->restored = true;
				plan_land(p, x, RH_FAILED);
				plan_log(p, "%s: restored: running %s, healthy", x->hostname,
					 x->old_image);
				return;
			}
		}
		if (plan_timed_out(p, x)) {
			snprintf(newfail, sizeof(newfail), "%s; not restored: running %s", x->why,
				 pr->ok ? pr->running : pr->err);
			plan_set_why(x, newfail);
			plan_land(p, x, RH_FAILED);
			plan_log(p, "%s: NOT restored (running %s)", x->hostname,
				 pr->ok ? pr->running : "?");
		}
		return;
	default:
		return;
	}
	x->next_ms = t + r->poll_ms;
	/* RH_BAKE (also straight from RH_WAIT): the host runs the image. */
	if (pr->ok && strcmp(pr->running, r->image) != 0) {
		snprintf(newfail, sizeof(newfail), "rolled back to %s during the bake%s%s",
			 pr->running, *pr->last_err ? ": " : "", pr->last_err);
		plan_fail(p, x, newfail);
		return;
	}
	if (!pr->ok || !pr->failing) {
		if (t - x->reached_ms > r->health_timeout_ms)
			plan_fail(p, x, pr->ok ? "health unreachable" : pr->err);
		return;
	}
	rollout_new_failures(pr->failing, x->baseline, newfail, sizeof(newfail));
	if (*newfail) {
		char why[2100];

		snprintf(why, sizeof(why), "health check failed: %s", newfail);
		plan_fail(p, x, why);
		return;
	}
	if (t - x->reached_ms < r->bake_ms)
		return;
	if (*r->h->o.post_update_command) {
		plan_enter(p, x, RH_POST);
		return;
	}
	plan_land(p, x, RH_DONE);
	if (!p->tty)
		plan_log(p, "%s: upgraded to %s", x->hostname, r->image);
}

/* Starts pending hosts of the current phase while the ramp allows. */
static void plan_schedule(struct plan *p)
{
	struct rollout *r = p->r;
	int ph = r->phase;

	if (r->stopping || p->paused)
		return;
	if (ph == 0 && p->next[0] >= p->norder[0] && p->nfly == 0 && p->norder[1] > 0) {
		r->phase = ph = 1;
		p->ramp_done = 0;
		r->dirty = true;
		plan_log(p,
			 "the %zu unused hypervisors are done; now the %zu used ones (up to "
			 "%u at once)",
			 p->norder[0], p->norder[1], p->max[1]);
	}
	while (p->nfly < r->conc[ph] && p->next[ph] < p->norder[ph]) {
		struct rollout_host *x = p->order[ph][p->next[ph]++];

		if (x->st != RH_PENDING)
			continue;
		p->fly[p->nfly++] = x;
		plan_enter(p, x, RH_BASELINE);
		x->started_ms = x->since_ms;
		if (!p->tty)
			plan_log(p, "%s: starting (%s, concurrency %u, %zu in flight)", x->hostname,
				 ph ? "used" : "unused", r->conc[ph], p->nfly);
	}
}

static int plan_start_workers(struct plan *p)
{
	struct plan_q *q = &p->q;

	pthread_mutex_init(&q->mu, NULL);
	pthread_mutex_init(&q->fm_mu, NULL);
	pthread_cond_init(&q->work_cv, NULL);
	pthread_cond_init(&q->done_cv, NULL);
	q->work_tail = &q->work_head;
	q->done_tail = &q->done_head;
	q->r = p->r;
	p->threads = calloc(p->r->workers, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	for (; p->nthreads < p->r->workers; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, plan_worker, q) != 0)
			return -EAGAIN;
	return 0;
}

static void plan_stop_workers(struct plan *p)
{
	pthread_mutex_lock(&p->q.mu);
	p->q.quit = true;
	pthread_cond_broadcast(&p->q.work_cv);
	pthread_mutex_unlock(&p->q.mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
}

/* Waits for results until deadline; moves them out of the queue. */
static struct rollout_host *plan_wait(struct plan *p, int64_t deadline)
{
	struct plan_q *q = &p->q;
	struct rollout_host *got;
	struct timespec ts;

	pthread_mutex_lock(&q->mu);
	if (!q->done_head && deadline > now_ms()) {
		int64_t ms = deadline - now_ms();

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&q->done_cv, &q->mu, &ts);
	}
	got = q->done_head;
	q->done_head = NULL;
	q->done_tail = &q->done_head;
	pthread_mutex_unlock(&q->mu);
	return got;
}

int rollout_plan_scan(struct rollout *r, struct rollout_host **list, size_t n)
{
	struct plan p = {.r = r};
	size_t given = 0, got = 0;
	int rc = plan_start_workers(&p);

	if (rc < 0) {
		plan_stop_workers(&p);
		return rc;
	}
	{
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_destroy(&p.q.done_cv);
		pthread_cond_init(&p.q.done_cv, &a);
		pthread_condattr_destroy(&a);
	}
	while (got < n) {
		struct rollout_host *x;

		while (given < n && given - got < (size_t)r->workers * 4)
			plan_give(&p.q, list[given++]);
		for (x = plan_wait(&p, now_ms() + 1000); x; x = x->qnext) {
			x->busy = false;
			got++;
		}
	}
	plan_stop_workers(&p);
	return 0;
}

int rollout_plan_run(struct rollout *r)
{
	struct plan p = {.r = r};
	struct sigaction sa = {.sa_handler = plan_on_tstp}, sc = {.sa_handler = plan_on_cont},
			 old_tstp, old_cont;
	pthread_condattr_t ca;
	int rc;

	p.tty = isatty(STDERR_FILENO);
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];
		p.norder[x->used]++;
	}
	for (int ph = 0; ph < 2; ph++) {
		p.order[ph] = calloc(p.norder[ph] + 1, sizeof(*p.order[ph]));
		if (!p.order[ph])
			return -ENOMEM;
		p.norder[ph] = 0;
	}
	p.fly = calloc(r->n + 1, sizeof(*p.fly));
	if (!p.fly)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];

		if (x->st == RH_PENDING)
			p.order[x->used][p.norder[x->used]++] = x;
		else if (x->st < RH_DONE) { /* in flight when the last run stopped */
			p.fly[p.nfly++] = x;
			x->started_ms = now_ms();
		} else if (x->st == RH_DONE && x->resumed)
			p.ndone++;
		else if (x->st == RH_FAILED && x->resumed)
			p.nfailed++;
	}
	/* spec §5 step 8: all unused at once at most; used: half; -maxConcurrent caps both */
	p.max[0] = p.norder[0] > 0 ? (unsigned)p.norder[0] : 1;
	p.max[1] = p.norder[1] / 2 > 1 ? (unsigned)(p.norder[1] / 2) : 1;
	for (int ph = 0; ph < 2; ph++) {
		if (r->h->o.max_concurrent > 0 && p.max[ph] > r->h->o.max_concurrent)
			p.max[ph] = (unsigned)r->h->o.max_concurrent;
		if (r->conc[ph] < 1)
			r->conc[ph] = 1;
		if (r->conc[ph] > p.max[ph])
			r->conc[ph] = p.max[ph];
	}
	if (r->phase == 0 && p.norder[0] == 0)
		r->phase = 1;
	if ((rc = plan_start_workers(&p)) < 0)
		goto out;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&p.q.done_cv);
	pthread_cond_init(&p.q.done_cv, &ca);
	pthread_condattr_destroy(&ca);
	sigaction(SIGTSTP, &sa, &old_tstp);
	sigaction(SIGCONT, &sc, &old_cont);
	r->start_ms = now_ms();
	for (;;) {
		struct rollout_host *got, *x;
		int64_t wake = now_ms() + PLAN_TICK_MAX_MS;

		if ((bool)plan_paused != p.paused) {
			p.paused = plan_paused;
			plan_log(&p,
				 p.paused
				     ? "paused (SIGTSTP): no new upgrades start; in-flight ones "
				       "go on; SIGCONT resumes"
				     : "resumed (SIGCONT)");
		}
		plan_schedule(&p);
		if (p.nfly == 0 &&
		    (r->stopping || (p.next[0] >= p.norder[0] && p.next[1] >= p.norder[1])))
			break;
		/* Hand out the due polls and steps. */
		p.ngive = 0;
		for (size_t i = 0; i < p.nfly; i++) {
			x = p.fly[i];
			if (x->busy)
				continue;
			if (x->next_ms <= now_ms()) {
				x->busy = true;
				if (!p.to_give)
					p.to_give = calloc(r->n + 1, sizeof(*p.to_give));
				if (!p.to_give) {
					rc = -ENOMEM;
					goto out_stop;
				}
				p.to_give[p.ngive++] = x;
			} else if (x->next_ms < wake) {
				wake = x->next_ms;
			}
		}
		if (r->dirty && now_ms() - r->saved_ms >= PLAN_SAVE_EVERY_MS) {
			if ((rc = rollout_state_save(r)) < 0)
				plan_log(&p, "warning: writing the state file %s: %s",
					 r->state_file, strerror(-rc));
			r->dirty = false;
			r->saved_ms = now_ms();
		}
		for (size_t i = 0; i < p.ngive; i++)
			plan_give(&p.q, p.to_give[i]);
		plan_line(&p, false);
		got = plan_wait(&p, wake);
		while ((x = got)) {
			got = x->qnext;
			plan_result(&p, x);
		}
	}
	rc = 0;
out_stop:
	r->end_ms = now_ms();
	plan_stop_workers(&p);
	sigaction(SIGTSTP, &old_tstp, NULL);
	sigaction(SIGCONT, &old_cont, NULL);
	if (p.tty)
		fputs("\r\033[K", stderr);
	rollout_state_save(r);
out:
	free(p.order[0]);
	free(p.order[1]);
	free(p.fly);
	free(p.to_give);
	return rc;
}
