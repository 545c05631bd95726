/* gitsync: the topology's source, followed (see gitsync.h). */
#include "daemon/fleet-manager/gitsync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

extern char **environ;

struct gitsync {
	struct gitsync_config cfg;
	char *clone;	  /* <state_dir>/topology with a repository */
	const char *tree; /* what is loaded: clone or cfg.dir */
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	struct gitsync_status st;
};

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The environment of git: ours plus GIT_TERMINAL_PROMPT=0 (never asks for a password
 * on a terminal), built before fork. NULL on allocation failure. */
static char **git_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_TERMINAL_PROMPT=", 20) != 0)
			env[k++] = environ[i];
	env[k] = (char *)"GIT_TERMINAL_PROMPT=0";
	return env;
}

/* Keeps the last outsz-1 bytes of what the child wrote. */
static void keep_tail(char *out, size_t outsz, size_t *len, const char *buf, size_t n)
{
	if (outsz == 0)
		return;
	if (n >= outsz - 1) {
		memcpy(out, buf + n - (outsz - 1), outsz - 1);
		*len = outsz - 1;
	} else {
		if (*len + n > outsz - 1) {
			size_t drop = *len + n - (outsz - 1);

			memmove(out, out + drop, *len - drop);
			*len -= drop;
		}
		memcpy(out + *len, buf, n);
		*len += n;
	}
	out[*len] = '\0';
}

int gitsync_run(char *const argv[], const char *dir, int timeout_ms, char *out, size_t outsz)
{
	char **env = git_env();
	int64_t deadline = now_ms(CLOCK_MONOTONIC) + timeout_ms;
	size_t len = 0;
	int p[2], status = 0, rc = 0;
	sigset_t none;
	pid_t pid;

	if (outsz > 0)
		*out = '\0';
	if (env == NULL)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(env);
		return -errno;
	}
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks its signals */
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (dir != NULL && chdir(dir) < 0)
			_exit(126);
		execvpe(argv[0], argv, env);
		_exit(127);
	}
	close(p[1]);
	free(env);
	if (pid < 0) {
		close(p[0]);
		return -errno;
	}
	for (;;) {
		char buf[4096];
		int64_t left = deadline - now_ms(CLOCK_MONOTONIC);
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		ssize_t n;

		if (left <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pf, 1, (int)left) < 0 && errno != EINTR) {
			rc = -errno;
			kill(-pid, SIGKILL);
			break;
		}
		if (pf.revents == 0)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep_tail(out, outsz, &len, buf, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		rc = -ENOENT;
	else if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = -EIO;
	while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
		out[--len] = '\0';
	return rc;
}

static int git_timeout_ms(const struct gitsync *gs)
{
	return (int)(gs->cfg.git_timeout_ns / 1000000);
}

static bool is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The first clone, into a temporary name renamed into place once complete. */
static int git_clone(struct gitsync *gs, char *err, size_t errsz)
{
	char tmp[4096], out[1024];
	const char *argv[10];
	int n = 0, rc;

	snprintf(tmp, sizeof(tmp), "%s.new", gs->clone);
	{
		const char *rm[] = {"rm", "-rf", "--", tmp, NULL};

		gitsync_run((char *const *)rm, NULL, git_timeout_ms(gs), out, sizeof(out));
	}
	argv[n++] = "git";
	argv[n++] = "clone";
	argv[n++] = "--quiet";
	if (*gs->cfg.branch != '\0') {
		argv[n++] = "--branch";
		argv[n++] = gs->cfg.branch;
	}
	argv[n++] = "--";
	argv[n++] = gs->cfg.repository;
	argv[n++] = tmp;
	argv[n] = NULL;
	rc = gitsync_run((char *const *)argv, gs->cfg.state_dir, git_timeout_ms(gs), out,
			 sizeof(out));
	if (rc == 0 && rename(tmp, gs->clone) < 0)
		rc = -errno;
	if (rc < 0)
		snprintf(err, errsz, "git clone %s: %s", gs->cfg.repository,
			 *out ? out : strerror(-rc));
	return rc;
}

/* Brings the clone to the remote's head: fetch, then a hard reset to what was fetched
 * (a rewritten remote history is followed too). */
static int git_update(struct gitsync *gs, char *err, size_t errsz)
{
	const char *ref = *gs->cfg.branch != '\0' ? gs->cfg.branch : "HEAD";
	const char *fetch[] = {"git", "fetch", "--quiet", "origin", ref, NULL};
	const char *reset[] = {"git", "reset", "--quiet", "--hard", "FETCH_HEAD", NULL};
	char out[1024];
	int rc = gitsync_run((char *const *)fetch, gs->clone, git_timeout_ms(gs), out, sizeof(out));

	if (rc == 0)
		rc = gitsync_run((char *const *)reset, gs->clone, git_timeout_ms(gs), out,
				 sizeof(out));
	if (rc < 0)
		snprintf(err, errsz, "git pull in %s: %s", gs->clone,
			 rc == -ETIMEDOUT ? "timed out"
			 : *out		  ? out
					  : strerror(-rc));
	return rc;
}

static int sync_repo(struct gitsync *gs, char *err, size_t errsz)
{
	char dotgit[4200];

	snprintf(dotgit, sizeof(dotgit), "%s/.git", gs->clone);
	if (is_dir(dotgit))
		return git_update(gs, err, errsz);
	if (is_dir(gs->clone)) {
		snprintf(err, errsz, "%s exists and is not a Git clone", gs->clone);
		return -EEXIST;
	}
	return git_clone(gs, err, errsz);
}

/* Loads the tree; a topology different from the one in force is handed on. Returns 0
 * (loaded, changed or not) or -errno with err. */
static int reload(struct gitsync *gs, char *err, size_t errsz)
{
	struct topology *t = NULL;
	int rc = topology_load_dir(gs->tree, &t, err, errsz);
	bool changed;

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&gs->mu);
	changed = strcmp(gs->st.digest, topology_digest(t)) != 0;
	if (changed) {
		snprintf(gs->st.digest, sizeof(gs->st.digest), "%s", topology_digest(t));
		clock_gettime(CLOCK_REALTIME, &gs->st.loaded);
		gs->st.loads++;
	}
	pthread_mutex_unlock(&gs->mu);
	if (changed)
		gs->cfg.on_topology(gs->cfg.arg, t);
	else
		topology_unref(t);
	return 0;
}

static void set_error(struct gitsync *gs, const char *err, bool git)
{
	bool fresh;

	pthread_mutex_lock(&gs->mu);
	fresh = strcmp(gs->st.error, err) != 0;
	snprintf(gs->st.error, sizeof(gs->st.error), "%s", err);
	if (*err != '\0' && git)
		gs->st.git_failures++;
	else if (*err != '\0' && fresh)
		gs->st.refusals++;
	clock_gettime(CLOCK_REALTIME, &gs->st.checked);
	pthread_mutex_unlock(&gs->mu);
	/* Once per distinct failure, not on every check. */
	if (fresh && *err != '\0')
		log_error("topology %s: %s",
			  git ? "update failed"
			      : "refused, keeping the last "
				"good one",
			  err);
	else if (fresh)
		log_info("topology: the latest version loads again");
}

static void check_once(struct gitsync *gs)
{
	char err[2048] = "";

	if (gs->clone != NULL && sync_repo(gs, err, sizeof(err)) < 0) {
		set_error(gs, err, true);
		return;
	}
	if (reload(gs, err, sizeof(err)) < 0) {
		set_error(gs, err, false);
		return;
	}
	set_error(gs, "", false);
}

static void *loop(void *arg)
{
	struct gitsync *gs = arg;

	pthread_mutex_lock(&gs->mu);
	while (!gs->stop) {
		struct timespec ts;
		int64_t ns;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ns = ts.tv_nsec + gs->cfg.interval_ns;
		ts.tv_sec += ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		if (pthread_cond_timedwait(&gs->cond, &gs->mu, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&gs->mu);
		check_once(gs);
		pthread_mutex_lock(&gs->mu);
	}
	pthread_mutex_unlock(&gs->mu);
	return NULL;
}

static void gs_free(struct gitsync *gs)
{
	pthread_cond_destroy(&gs->cond);
	pthread_mutex_destroy(&gs->mu);
	free(gs->clone);
	free(gs);
}

int gitsync_start(const struct gitsync_config *cfg, struct gitsync **out, char *err, size_t errsz)
{
	struct gitsync *gs = calloc(1, sizeof(*gs));
	pthread_condattr_t ca;
	char gerr[2048] = "";
	int rc;

	*out = NULL;
	if (gs == NULL)
		return -ENOMEM;
	gs->cfg = *cfg;
	if (gs->cfg.branch == NULL)
		gs->cfg.branch = "";
	pthread_mutex_init(&gs->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gs->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->repository != NULL && *cfg->repository != '\0') {
		if (fsutil_path_join(cfg->state_dir, "topology", &gs->clone) < 0) {
			gs_free(gs);
			return -ENOMEM;
		}
		gs->tree = gs->clone;
		snprintf(gs->st.source, sizeof(gs->st.source), "%s", cfg->repository);
		rc = sync_repo(gs, gerr, sizeof(gerr));
		if (rc < 0 && !is_dir(gs->clone)) {
			snprintf(err, errsz, "%s", gerr);
			gs_free(gs);
			return rc;
		}
		if (rc < 0) /* an older clone is there: serve it meanwhile */
			set_error(gs, gerr, true);
	} else {
		gs->tree = cfg->dir;
		snprintf(gs->st.source, sizeof(gs->st.source), "%s", cfg->dir);
	}
	rc = reload(gs, err, errsz);
	if (rc < 0) {
		gs_free(gs);
		return rc;
	}
	clock_gettime(CLOCK_REALTIME, &gs->st.checked);
	rc = -pthread_create(&gs->thread, NULL, loop, gs);
	if (rc < 0) {
		snprintf(err, errsz, "starting the topology thread: %s", strerror(-rc));
		gs_free(gs);
		return rc;
	}
	gs->running = true;
	*out = gs;
	return 0;
}

void gitsync_stop(struct gitsync *gs)
{
	if (gs == NULL)
		return;
	pthread_mutex_lock(&gs->mu);
	gs->stop = true;
	pthread_cond_signal(&gs->cond);
	pthread_mutex_unlock(&gs->mu);
	if (gs->running)
		pthread_join(gs->thread, NULL);
	gs_free(gs);
}

void gitsync_get_status(struct gitsync *gs, struct gitsync_status *st)
{
	pthread_mutex_lock(&gs->mu);
	*st = gs->st;
	pthread_mutex_unlock(&gs->mu);
}
