/* cmd_rollout: `hyper-control rollout-image IMAGE` (spec/hyper-control.md §5, issue 23;
 * docs/hyper-control/rollout.md): the preconditions (a clean topology Git tree, the image
 * on the imageserver and its expiry), the hypervisors of the location and their tags,
 * the scan (running image, used or unused), the ramped upgrade (rollout_plan.c), the
 * summary, and on success the image made permanent and tags.json committed and pushed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "fsutil.h"
#include "image/client.h"
#include "json.h"
#include "rollout.h"
#include "srpc_conn.h"

#define ROLLOUT_GIT_MAX_OUT (1u << 20)

/* Runs git -C dir args... with stdout into *out (may be NULL: discarded). The exit
 * status, or -errno. */
static int git_run(const char *dir, char *const args[], char **out)
{
	char *argv[16];
	int pfd[2], status, n = 0;
	size_t len = 0;
	pid_t pid;

	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = (char *)dir;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execvp("git", argv);
		_exit(127);
	}
	close(pfd[1]);
	if (out) {
		*out = malloc(ROLLOUT_GIT_MAX_OUT);
		if (*out) {
			ssize_t r;
			while (len < ROLLOUT_GIT_MAX_OUT - 1 &&
			       (r = read(pfd[0], *out + len, ROLLOUT_GIT_MAX_OUT - 1 - len)) > 0)
				len += (size_t)r;
			(*out)[len] = '\0';
		}
	} else {
		char buf[4096];
		while (read(pfd[0], buf, sizeof(buf)) > 0)
			;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int git_check(struct rollout *r)
{
	const char *dir = r->h->o.topology_dir;
	char *out = NULL;
	int rc = git_run(dir, (char *[]){"status", "--porcelain", NULL}, &out);

	if (rc != 0) {
		free(out);
		return hc_fail(r->doing, "git status in %s failed (exit %d)", dir, rc);
	}
	if (out && *out) {
		free(out);
		return hc_fail(r->doing, "Git repository is not clean");
	}
	free(out);
	rc = git_run(dir, (char *[]){"pull", "-q", NULL}, NULL);
	if (rc != 0)
		return hc_fail(r->doing, "git pull in %s failed (exit %d)", dir, rc);
	return 0;
}

/* spec §5 step 11: <topologyDir>/<location>/tags.json gets RequiredImage, loses
 * PlannedImage; add, commit, push. */
static int git_commit(struct rollout *r)
{
	const char *dir = r->h->o.topology_dir, *loc = r->h->o.location;
	char *path = NULL, *err = NULL, msg[1024];
	const char *oldv;
	json_t *tags = NULL;
	char *old = NULL;
	int rc;

	if (asprintf(&path, "%s/%s%stags.json", dir, loc, *loc ? "/" : "") < 0)
		return hc_fail(r->doing, "out of memory");
	rc = sjson_load_file(path, 0, &tags, &err);
	if (rc == -ENOENT)
		tags = json_object();
	else if (rc < 0) {
		hc_fail(r->doing, "%s", err ? err : strerror(-rc));
		goto out;
	}
	oldv = json_string_value(json_object_get(tags, "RequiredImage"));
	old = strdup(oldv ? oldv : "");
	if (old && strcmp(old, r->image) == 0 && !json_object_get(tags, "PlannedImage")) {
		hc_progress("%s already says RequiredImage %s: nothing to commit", path, r->image);
		rc = 0;
		goto out;
	}
	json_object_set_new(tags, "RequiredImage", json_string(r->image));
	json_object_del(tags, "PlannedImage");
	if ((rc = sjson_write_file(path, tags, 0644)) < 0) {
		hc_fail(r->doing, "writing %s: %s", path, strerror(-rc));
		goto out;
	}
	snprintf(msg, sizeof(msg), "Upgrade %s%s%sfrom %s to %s", *loc ? "in " : "", loc,
		 *loc ? " " : "", old, r->image);
	if ((rc = git_run(dir, (char *[]){"add", path, NULL}, NULL)) != 0 ||
	    (rc = git_run(dir, (char *[]){"commit", "-q", "-m", msg, NULL}, NULL)) != 0) {
		hc_fail(r->doing, "git add/commit in %s failed (exit %d)", dir, rc);
		rc = -1;
		goto out;
	}
	if ((rc = git_run(dir, (char *[]){"push", "-q", NULL}, NULL)) != 0) {
		hc_fail(r->doing, "git push in %s failed (exit %d)", dir, rc);
		rc = -1;
		goto out;
	}
	hc_progress("committed and pushed %s: %s", path, msg);
out:
	free(old);
	free(err);
	free(path);
	json_decref(tags);
	return rc < 0 ? 1 : 0;
}

/* spec §5 step 2: the image exists; an expiring one is given its expiry again (proves
 * the right to change it). */
static int image_check(struct rollout *r, struct timespec *exp)
{
	struct srpc_client *is;
	bool exists = false;

	if (hc_image_server(r->h, r->doing, &is))
		return 1;
	if (imgclient_check_image(is, r->image, &exists) < 0)
		return hc_fail(r->doing, "%s", srpc_client_error(is));
	if (!exists)
		return hc_fail(r->doing, "image %s does not exist", r->image);
	if (imgclient_get_expiration(is, r->image, exp) < 0)
		return hc_fail(r->doing, "%s", srpc_client_error(is));
	if ((exp->tv_sec || exp->tv_nsec) && imgclient_change_expiration(is, r->image, exp) < 0)
		return hc_fail(r->doing, "%s", srpc_client_error(is));
	return 0;
}

static json_t *tags_json(const struct hvapi_tags *t)
{
	json_t *j = json_object();

	for (size_t i = 0; j && i < t->n; i++)
		json_object_set_new(j, api_str(t->v[i].key), json_string(api_str(t->v[i].value)));
	return j;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rollout_host *)a)->hostname,
		      ((const struct rollout_host *)b)->hostname);
}

/* spec §5 step 3: the hypervisors of the location and their tags. */
static int load_hosts(struct rollout *r)
{
	struct fmapi_list_hypervisors_in_location_request lq = {
	    .include_unhealthy = true, .location = (char *)r->h->o.location};
	struct fmapi_list_hypervisors_in_location_response lr;
	struct fmapi_get_updates_request uq = {.location = (char *)r->h->o.location,
					       .max_updates = 1};
	struct fmapi_update u;
	struct srpc_client *fm;
	char err[4096];

	if (hc_fleet_manager(r->h, r->doing, &fm) ||
	    hc_call(fm, r->doing, FMAPI_M_LIST_HYPERVISORS_IN_LOCATION,
		    &fmapi_list_hypervisors_in_location_request_type, &lq,
		    &fmapi_list_hypervisors_in_location_response_type, &lr))
		return 1;
	r->hosts = calloc(lr.hypervisor_addresses.n + 1, sizeof(*r->hosts));
	if (!r->hosts) {
		fmapi_list_hypervisors_in_location_response_clear(&lr);
		return hc_fail(r->doing, "out of memory");
	}
	for (size_t i = 0; i < lr.hypervisor_addresses.n; i++) {
		const char *a = lr.hypervisor_addresses.v[i], *colon = strrchr(a, ':');
		struct rollout_host *x = &r->hosts[r->n++];

		x->hostname = colon ? strndup(a, (size_t)(colon - a)) : strdup(a);
		x->addr = strdup(x->hostname);
		x->tags = json_object();
	}
	fmapi_list_hypervisors_in_location_response_clear(&lr);
	qsort(r->hosts, r->n, sizeof(*r->hosts), host_cmp);
	/* The tags (and addresses) of every machine: the first update of a GetUpdates. */
	srpc_client_close(r->h->fm);
	r->h->fm = NULL;
	if (hc_fleet_manager(r->h, r->doing, &fm))
		return 1;
	if (hvclient_start(fm, FMAPI_M_GET_UPDATES, &fmapi_get_updates_request_type, &uq,
			   &fmapi_update_type, &u, err, sizeof(err)) < 0)
		return hc_fail(r->doing, "%s", err);
	for (size_t i = 0; i < u.changed_machines.n; i++) {
		const struct fmapi_machine *m = &u.changed_machines.v[i];
		struct rollout_host key = {.hostname = (char *)api_str(m->net.hostname)}, *x;
		char ip[INET_ADDRSTRLEN];

		x = bsearch(&key, r->hosts, r->n, sizeof(*r->hosts), host_cmp);
		if (!x)
			continue;
		json_decref(x->tags);
		x->tags = tags_json(&m->tags);
		if (m->net.host_ip.s_addr && inet_ntop(AF_INET, &m->net.host_ip, ip, sizeof(ip))) {
			free(x->addr);
			x->addr = strdup(ip);
		}
	}
	fmapi_update_clear(&u);
	/* The stream stays open otherwise: a fresh connection for the calls that follow. */
	srpc_client_close(r->h->fm);
	r->h->fm = NULL;
	return hc_fleet_manager(r->h, r->doing, &fm);
}

static const char *tag(const struct rollout_host *x, const char *key)
{
	const char *v = json_string_value(json_object_get(x->tags, key));

	return v ? v : "";
}

/* Sets (value non-NULL) or removes tags, one FleetManager.ChangeMachineTags with the
 * full set; nothing when unchanged. */
static int set_tags(struct rollout *r, struct rollout_host *x, const char *required,
		    const char *planned)
{
	json_t *t = json_deep_copy(x->tags), *req, *resp = NULL;
	int rc;

	if (required)
		json_object_set_new(t, "RequiredImage", json_string(required));
	if (planned)
		json_object_set_new(t, "PlannedImage", json_string(planned));
	else
		json_object_del(t, "PlannedImage");
	if (json_equal(t, x->tags)) {
		json_decref(t);
		return 0;
	}
	req = json_pack("{s:s, s:O}", "Hostname", x->hostname, "Tags", t);
	rc = srpc_client_call(r->h->fm, "FleetManager.ChangeMachineTags", req, &resp);
	json_decref(req);
	if (rc < 0 || json_string_length(json_object_get(resp, "Error")) > 0) {
		hc_progress("%s: setting tags: %s", x->hostname,
			    rc < 0 ? srpc_client_error(r->h->fm)
				   : json_string_value(json_object_get(resp, "Error")));
		json_decref(resp);
		json_decref(t);
		return -1;
	}
	json_decref(resp);
	json_decref(x->tags);
	x->tags = t;
	return 0;
}

/* The square root, without libm (spec §5 step 7 needs it once). */
static double root(double v)
{
	double s = v > 1 ? v : 1;

	for (int i = 0; i < 64 && v > 0; i++)
		s = (s + v / s) / 2;
	return v > 0 ? s : 0;
}

static bool same_stream(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;

	return la == lb && strncmp(a, b, la) == 0;
}

static void skip(struct rollout_host *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void skip(struct rollout_host *x, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	free(x->why);
	x->why = strdup(why);
	x->st = RH_SKIPPED;
	hc_progress("%s: not upgraded: %s", x->hostname, why);
}

/* spec §5 steps 4–6: what each host runs, which need the upgrade, used or unused. */
static int scan(struct rollout *r, size_t *to_upgrade, size_t *updated)
{
	struct rollout_host **list = calloc(r->n + 1, sizeof(*list));
	size_t n = 0;
	int rc;

	if (!list)
		return hc_fail(r->doing, "out of memory");
	for (size_t i = 0; i < r->n; i++)
		if (r->hosts[i].st == RH_PENDING)
			list[n++] = &r->hosts[i];
	rc = rollout_plan_scan(r, list, n);
	free(list);
	if (rc < 0)
		return hc_fail(r->doing, "scanning: %s", strerror(-rc));
	*to_upgrade = *updated = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];
		const char *req = tag(x, "RequiredImage");

		if (x->st != RH_PENDING) {
			if (x->st < RH_DONE)
				(*to_upgrade)++;
			continue;
		}
		if (!x->pr.ok) {
			skip(x, "unreachable: %s", x->pr.err);
			continue;
		}
		if (strcmp(x->pr.running, r->image) == 0) {
			x->st = RH_UPDATED;
			(*updated)++;
			set_tags(r, x, r->image, NULL);
			continue;
		}
		if (strcmp(req, r->image) == 0) {
			/* Tagged by a run that was killed before its state file said so: taken
			 * up again at its tag (the same value: no second upgrade). */
			const char *old =
			    strcmp(x->pr.last_to, r->image) == 0 ? x->pr.last_from : x->pr.running;
			free(x->old_image);
			x->old_image = strdup(old);
			x->used = x->pr.used;
			x->resumed = true;
			x->st = RH_TAG;
			hc_progress("%s: already tagged %s: taken up again", x->hostname, r->image);
			(*to_upgrade)++;
			continue;
		}
		if (*req && !same_stream(req, r->image) && !r->h->o.force_image_change) {
			skip(x, "its image stream differs (RequiredImage %s; -forceImageChange)",
			     req);
			continue;
		}
		x->used = x->pr.used;
		free(x->old_image);
		x->old_image = strdup(*req ? req : x->pr.running);
		if (set_tags(r, x, NULL, r->image) < 0) {
			skip(x, "%s", "setting PlannedImage failed");
			continue;
		}
		(*to_upgrade)++;
	}
	return 0;
}

static char *default_state_file(const char *image, const char *location)
{
	const char *home = getenv("HOME");
	char *dir = NULL, *path = NULL, *name;

	if (!home || !*home)
		home = "/tmp";
	if (asprintf(&name, "rollout-%s-%s.json", *location ? location : "all", image) < 0)
		return NULL;
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_';
	if (asprintf(&dir, "%s/.cache/hyper-control", home) >= 0) {
		fsutil_mkdir_p(dir, 0700);
		if (asprintf(&path, "%s/%s", dir, name) < 0)
			path = NULL;
	}
	free(dir);
	free(name);
	return path;
}

static void summary(struct rollout *r, unsigned *failed, unsigned *skipped, unsigned *done,
		    unsigned *left)
{
	*failed = *skipped = *done = *left = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];

		if (x->st == RH_DONE || x->st == RH_UPDATED)
			(*done)++;
		if (x->st == RH_PENDING)
			(*left)++;
		if (x->st == RH_FAILED) {
			(*failed)++;
			hc_progress("failed: %s: %s%s", x->hostname, x->why ? x->why : "",
				    x->restored ? " (restored)" : " (NOT restored)");
		}
		if (x->st == RH_SKIPPED) {
			(*skipped)++;
			hc_progress("not upgraded: %s: %s", x->hostname, x->why ? x->why : "");
		}
	}
}

static void free_hosts(struct rollout *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct rollout_host *x = &r->hosts[i];

		free(x->hostname);
		free(x->addr);
		free(x->old_image);
		free(x->why);
		json_decref(x->tags);
		json_decref(x->baseline);
		json_decref(x->pr.failing);
		srpc_client_close(x->cl);
	}
	free(r->hosts);
}

/* spec §5 step 10: the image no longer expires. 0 or 1 (printed). */
static int make_permanent(struct rollout *r)
{
	struct srpc_client *is = NULL;
	struct timespec zero = {0, 0};

	if (hc_image_server(r->h, r->doing, &is))
		return 1;
	if (imgclient_change_expiration(is, r->image, &zero) < 0)
		return hc_fail(r->doing, "making %s permanent: %s", r->image,
			       srpc_client_error(is));
	return 0;
}

/* CPU seconds (user + system) of the process so far. */
static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmd_rollout_image(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct rollout r = {.h = h, .image = argv[0], .doing = c->doing};
	struct timespec exp = {0, 0};
	unsigned failed, skipped, done, left;
	char *state_file = NULL;
	size_t to_upgrade = 0, updated = 0, nused = 0;
	int64_t t0 = srpc_now_ms();
	double predicted, cpu0;
	int rc = 1;

	(void)argc;
	if (!*h->o.fleet_manager_hostname)
		return hc_fail(c->doing, "fleetManagerHostname unspecified");
	r.bake_ms = h->o.bake_time_ns / 1000000;
	r.poll_ms = h->o.poll_interval_ns / 1000000 > 0 ? h->o.poll_interval_ns / 1000000 : 1;
	r.upgrade_timeout_ms = h->o.upgrade_timeout_ns / 1000000;
	r.health_timeout_ms = h->o.health_timeout_ns / 1000000;
	r.max_failures = h->o.max_failures;
	r.workers = h->o.rollout_workers > 0 ? (unsigned)h->o.rollout_workers : 1;
	state_file = *h->o.rollout_state_file ? strdup(h->o.rollout_state_file)
					      : default_state_file(r.image, h->o.location);
	if (!state_file)
		return hc_fail(c->doing, "out of memory");
	r.state_file = state_file;
	if (*h->o.topology_dir && git_check(&r))
		goto out;
	if (image_check(&r, &exp) || hc_tls(h, c->doing) || load_hosts(&r))
		goto out;
	if (rollout_state_load(&r))
		goto out;
	if (scan(&r, &to_upgrade, &updated))
		goto out;
	if (to_upgrade == 0) {
		if (updated == 0) {
			hc_fail(c->doing, "no hypervisors to update");
			goto out;
		}
		hc_progress("all %zu hypervisors already run %s", updated, r.image);
		goto success;
	}
	for (size_t i = 0; i < r.n; i++)
		nused += r.hosts[i].st == RH_PENDING && r.hosts[i].used;
	/* spec §5 step 7 */
	predicted = 300 * (root(2.0 * (double)(to_upgrade - nused)) + root(2.0 * (double)nused));
	hc_progress("upgrading %zu hypervisors to %s (%zu unused, %zu used; %zu already run it); "
		    "the spec's predicted duration %.0f s; state file %s",
		    to_upgrade, r.image, to_upgrade - nused, nused, updated, predicted,
		    r.state_file);
	if (exp.tv_sec && exp.tv_sec < time(NULL) + (time_t)predicted) {
		struct timespec later = {time(NULL) + 2 * (time_t)predicted, 0};
		struct srpc_client *is;

		if (hc_image_server(h, c->doing, &is) == 0 &&
		    imgclient_change_expiration(is, r.image, &later) == 0)
			hc_progress("image %s expired too soon: its expiry extended", r.image);
	}
	cpu0 = cpu_seconds();
	if ((rc = rollout_plan_run(&r)) < 0) {
		rc = hc_fail(c->doing, "%s", strerror(-rc));
		goto out;
	}
	hc_progress(
	    "the upgrades took %.1fs, the planner %.2fs of CPU (ramp at %u unused, %u used)",
	    (double)(r.end_ms - r.start_ms) / 1000, cpu_seconds() - cpu0, r.conc[0], r.conc[1]);
	summary(&r, &failed, &skipped, &done, &left);
	if (failed || skipped || left) {
		unlink(r.state_file);
		rc = hc_fail(c->doing,
			     "%u failed, %u not upgraded, %u upgraded, %u not started%s; nothing "
			     "committed",
			     failed, skipped, done, left,
			     r.stopping ? " (stopped: -maxFailures passed)" : "");
		goto out;
	}
success:
	if (make_permanent(&r))
		goto out;
	if (*h->o.topology_dir && git_commit(&r))
		goto out;
	unlink(r.state_file);
	hc_progress("rollout completed in %.1fs", (double)(srpc_now_ms() - t0) / 1000);
	rc = 0;
out:
	free_hosts(&r);
	free(state_file);
	return rc;
}

const struct hc_cmd hc_rollout_cmds[] = {
    {"rollout-image", "IMAGE", 1, 1, cmd_rollout_image, "rolling out image",
     "upgrade the hypervisors of -location to IMAGE (ramped, health-checked)"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
