/* gitsync: keeps the topology in force up to date. With a repository it is cloned into
 * <stateDir>/topology on first start and fetched (then reset to the remote head) every
 * interval; with a directory alone the directory is re-read every interval. Whenever
 * the loaded contents differ from those in force (topology_digest) the new topology is
 * handed to on_topology; a tree that does not load is refused: its error (file and
 * line, from topology_load_dir) is logged once and kept for the status page, and the
 * last good topology stays in force. git runs without a shell, with a timeout and
 * GIT_TERMINAL_PROMPT=0. */
#ifndef SS_FM_GITSYNC_H
#define SS_FM_GITSYNC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "topology.h"

struct gitsync_config {
	const char *dir;	/* -topologyDir, or NULL/"" with a repository */
	const char *repository; /* -topologyRepository, or NULL/"" */
	const char *branch;	/* "" = the remote's default branch */
	const char *state_dir;	/* the clone goes to <state_dir>/topology */
	int64_t interval_ns;
	int64_t git_timeout_ns;
	/* A new topology: the callee takes the reference. Called from gitsync_start and
	 * then from gitsync's thread. */
	void (*on_topology)(void *arg, struct topology *t);
	void *arg;
};

struct gitsync;

/* Clones or updates, loads the first topology (on_topology runs once before this
 * returns) and starts the thread. -errno with one message in err when no topology can
 * be had (a clone that fails, a tree that does not load). Borrows cfg's strings. */
int gitsync_start(const struct gitsync_config *cfg, struct gitsync **out, char *err, size_t errsz);

/* Stops the thread and frees (accepts NULL). */
void gitsync_stop(struct gitsync *gs);

struct gitsync_status {
	char source[1024];	 /* the repository URL or the directory */
	char digest[80];	 /* of the topology in force */
	char error[2048];	 /* why the latest attempt was refused, "" if it was not */
	struct timespec loaded;	 /* when the topology in force was loaded */
	struct timespec checked; /* the latest check */
	unsigned long long loads, refusals, git_failures;
};

void gitsync_get_status(struct gitsync *gs, struct gitsync_status *st);

/* Runs argv (argv[0] searched in PATH) in dir without a shell, GIT_TERMINAL_PROMPT=0,
 * killed after timeout_ms. Returns 0, or -errno / -ETIMEDOUT / -EIO (non-zero exit)
 * with the tail of its output in out. */
int gitsync_run(char *const argv[], const char *dir, int timeout_ms, char *out, size_t outsz);

#endif
