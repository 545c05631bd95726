/* progress: the steps of the install and their progress, written to the log (console,
 * serial line, ring) as the markers of docs/installer.md and kept for the status page. */
#include "installer/progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "html.h"
#include "installer/installer.h"
#include "log.h"

#define PROGRESS_MAX_STEPS 16
#define PROGRESS_LINE_NS 2000000000LL /* console progress lines: one every 2 s */

struct step {
	char name[32];
	enum progress_state state;
	struct timespec begin;
	double seconds;
	uint64_t done, total;
	char unit[16];
	char msg[512];
	int64_t last_line_ns;
};

static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static struct step steps[PROGRESS_MAX_STEPS];
static size_t nsteps;
static char final_state[512];

static const char *const known_steps[] = {"config",    "network", "enrol",     "validate", "fetch",
					  "partition", "write",	  "configure", "boot"};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The step named name, added if new (the known steps first, in their order). Under
 * progress_mu. */
static struct step *step_get(const char *name)
{
	if (nsteps == 0) {
		for (size_t i = 0; i < sizeof(known_steps) / sizeof(known_steps[0]); i++)
			snprintf(steps[nsteps++].name, sizeof(steps[0].name), "%s", known_steps[i]);
	}
	for (size_t i = 0; i < nsteps; i++)
		if (strcmp(steps[i].name, name) == 0)
			return &steps[i];
	if (nsteps == PROGRESS_MAX_STEPS)
		return NULL;
	snprintf(steps[nsteps].name, sizeof(steps[0].name), "%s", name);
	return &steps[nsteps++];
}

void inst_step_begin(const char *step)
{
	struct step *s;

	pthread_mutex_lock(&progress_mu);
	s = step_get(step);
	if (s != NULL) {
		s->state = PROGRESS_RUNNING;
		clock_gettime(CLOCK_MONOTONIC, &s->begin);
		s->done = s->total = 0;
		s->unit[0] = s->msg[0] = '\0';
		s->last_line_ns = 0;
	}
	pthread_mutex_unlock(&progress_mu);
	log_info("installer: step %s: begin", step);
}

void inst_step_end(const char *step, int rc, const char *msg)
{
	struct timespec now;
	struct step *s;
	double secs = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&progress_mu);
	s = step_get(step);
	if (s != NULL) {
		if (s->state == PROGRESS_RUNNING)
			secs = (double)(now.tv_sec - s->begin.tv_sec) +
			       (double)(now.tv_nsec - s->begin.tv_nsec) / 1e9;
		s->seconds = secs;
		s->state = rc < 0 ? PROGRESS_FAILED : PROGRESS_DONE;
		snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "");
	}
	pthread_mutex_unlock(&progress_mu);
	if (rc < 0)
		log_error("installer: step %s: FAILED: %s", step, msg && *msg ? msg : "error");
	else if (msg != NULL && *msg != '\0')
		log_info("installer: step %s: done in %.3f s (%s)", step, secs, msg);
	else
		log_info("installer: step %s: done in %.3f s", step, secs);
}

void inst_progress(const char *step, uint64_t done, uint64_t total, const char *unit)
{
	int64_t now = mono_ns();
	bool line = false;
	struct step *s;

	pthread_mutex_lock(&progress_mu);
	s = step_get(step);
	if (s != NULL) {
		s->done = done;
		s->total = total;
		snprintf(s->unit, sizeof(s->unit), "%s", unit ? unit : "");
		if (s->last_line_ns == 0 || now - s->last_line_ns >= PROGRESS_LINE_NS) {
			line = true;
			s->last_line_ns = now;
		}
	}
	pthread_mutex_unlock(&progress_mu);
	if (!line)
		return;
	if (total > 0)
		log_info("installer: step %s: %llu/%llu %s", step, (unsigned long long)done,
			 (unsigned long long)total, unit ? unit : "");
	else
		log_info("installer: step %s: %llu %s", step, (unsigned long long)done,
			 unit ? unit : "");
}

void inst_progress_finish(int rc, const char *msg)
{
	if (rc < 0) {
		inst_progress_set_state("FAILED: %s", msg);
		log_error("installer: FAILED: %s", msg);
	} else {
		inst_progress_set_state("install complete");
		log_info("installer: install complete");
	}
}

void inst_progress_set_state(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&progress_mu);
	va_start(ap, fmt);
	vsnprintf(final_state, sizeof(final_state), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&progress_mu);
}

static const char *state_name(enum progress_state st)
{
	switch (st) {
	case PROGRESS_RUNNING:
		return "running";
	case PROGRESS_DONE:
		return "done";
	case PROGRESS_FAILED:
		return "FAILED";
	default:
		return "waiting";
	}
}

/* Seconds of a step: its duration when ended, the time so far when running. */
static double step_seconds(const struct step *s)
{
	struct timespec now;

	if (s->state != PROGRESS_RUNNING)
		return s->seconds;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - s->begin.tv_sec) +
	       (double)(now.tv_nsec - s->begin.tv_nsec) / 1e9;
}

void inst_progress_html(FILE *f)
{
	char buf[128];

	pthread_mutex_lock(&progress_mu);
	step_get("config"); /* the known steps, even before the first one began */
	fputs("<table>\n<tr><th>Step</th><th>State</th><th>Seconds</th><th>Progress</th>"
	      "<th>Message</th></tr>\n",
	      f);
	for (size_t i = 0; i < nsteps; i++) {
		const struct step *s = &steps[i];

		fputs("<tr><td>", f);
		html_esc(f, s->name);
		fprintf(f, "</td><td>%s</td><td>", state_name(s->state));
		if (s->state != PROGRESS_WAITING)
			fprintf(f, "%.3f", step_seconds(s));
		fputs("</td><td>", f);
		if (s->total > 0)
			snprintf(buf, sizeof(buf), "%llu/%llu %s (%llu%%)",
				 (unsigned long long)s->done, (unsigned long long)s->total, s->unit,
				 (unsigned long long)(s->done * 100 / s->total));
		else if (s->done > 0)
			snprintf(buf, sizeof(buf), "%llu %s", (unsigned long long)s->done, s->unit);
		else
			buf[0] = '\0';
		html_esc(f, buf);
		fputs("</td><td>", f);
		html_esc(f, s->msg);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<p>State: ", f);
	html_esc(f, final_state[0] ? final_state : "installing");
	fputs("</p>\n", f);
	pthread_mutex_unlock(&progress_mu);
}

void inst_progress_text(FILE *f)
{
	pthread_mutex_lock(&progress_mu);
	step_get("config");
	for (size_t i = 0; i < nsteps; i++) {
		const struct step *s = &steps[i];

		fprintf(f, "%s %s", s->name, state_name(s->state));
		if (s->state != PROGRESS_WAITING)
			fprintf(f, " %.3f", step_seconds(s));
		if (s->total > 0 || s->done > 0)
			fprintf(f, " %llu/%llu %s", (unsigned long long)s->done,
				(unsigned long long)s->total, s->unit);
		if (s->msg[0])
			fprintf(f, " %s", s->msg);
		fputc('\n', f);
	}
	fprintf(f, "state %s\n", final_state[0] ? final_state : "installing");
	pthread_mutex_unlock(&progress_mu);
}
