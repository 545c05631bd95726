/* rollout: the parts of `hyper-control rollout-image` (docs/hyper-control/rollout.md):
 * the hosts and their states, the planner that ramps the upgrades (rollout_plan.c), the
 * probes of one host (rollout_probe.c: GET /health, Hypervisor.GetUpgradeStatus) and the
 * state file that lets a killed rollout continue (rollout_state.c). */
#ifndef SS_HC_ROLLOUT_H
#define SS_HC_ROLLOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hyperctl.h"

/* Where a host is in the rollout. The order matters: below RH_DONE the host still
 * needs the planner. */
enum rollout_hstate {
	RH_PENDING,	 /* waiting for a slot */
	RH_BASELINE,	 /* reading its health before anything changes */
	RH_PRE,		 /* -preUpdateCommand */
	RH_TAG,		 /* RequiredImage=<image> sent */
	RH_WAIT,	 /* polling GetUpgradeStatus until it runs the image */
	RH_BAKE,	 /* running the image; must stay healthy for -bakeTime */
	RH_POST,	 /* -postUpdateCommand */
	RH_RESTORE_TAG,	 /* failed: its previous RequiredImage sent back */
	RH_RESTORE_WAIT, /* failed: polling until it runs the old image, healthy */
	RH_DONE,	 /* upgraded and baked */
	RH_FAILED,	 /* failed (restored or not: see restored) */
	RH_SKIPPED,	 /* not upgraded: unhealthy before, unreachable, other stream */
	RH_UPDATED,	 /* already running the image before this rollout */
};

/* What a worker found out about a host (filled by rollout_probe.c). */
struct rollout_probe {
	bool ok;	     /* the call answered */
	char err[256];	     /* why not, or the failure of a step */
	char running[256];   /* GetUpgradeStatus RunningImage */
	char upstate[32];    /* State */
	char last_from[256]; /* LastUpgrade.FromImage */
	char last_to[256];   /* LastUpgrade.ToImage */
	char last_res[32];   /* LastUpgrade.Result */
	char last_err[256];  /* LastUpgrade.Error */
	bool healthy;	     /* GET /health */
	json_t *failing;     /* its Failing list (owned) */
	bool used;	     /* ListVMs lists a VM */
};

struct rollout_host {
	char *hostname;
	char *addr;	  /* what is dialled: its IP if the topology has one */
	json_t *tags;	  /* the tags the Fleet Manager has for it (owned) */
	char *old_image;  /* RequiredImage before this rollout */
	json_t *baseline; /* failing checks before the upgrade (owned) */
	enum rollout_hstate st;
	bool used;		/* has VMs (the second phase) */
	bool busy;		/* a worker has it */
	bool restored;		/* failed, and back on old_image and healthy */
	bool resumed;		/* taken over from the state file in flight */
	char *why;		/* failure or skip reason */
	int64_t next_ms;	/* when to poll next */
	int64_t since_ms;	/* when the current state began */
	int64_t started_ms;	/* when it left RH_PENDING */
	int64_t reached_ms;	/* when it ran the image (bake start) */
	struct srpc_client *cl; /* to the host, while in flight */
	struct rollout_probe pr;
	struct rollout_host *qnext; /* work or result queue link */
};

struct rollout {
	struct hc *h;
	const char *image;
	const char *doing;
	struct rollout_host *hosts;
	size_t n;
	/* options */
	int64_t bake_ms, poll_ms, upgrade_timeout_ms, health_timeout_ms;
	uint64_t max_failures;
	unsigned workers;
	const char *state_file;
	/* progress */
	unsigned conc[2]; /* ramp concurrency of the unused (0) and used (1) phase */
	int phase;
	unsigned failures;
	int64_t start_ms, end_ms; /* of the upgrades (rollout_plan_run) */
	bool stopping;		  /* failure budget passed: no new upgrades */
	bool dirty;		  /* state file out of date */
	int64_t saved_ms;
};

/* ---- rollout_probe.c (worker side: blocking I/O, no printing) ---- */

/* GET http://addr:port/health into p->healthy and p->failing. 0 or -errno (p->err). */
int rollout_probe_health(const char *addr, int port, int timeout_ms, struct rollout_probe *p);

/* Hypervisor.GetUpgradeStatus on *cl (dialled first when NULL; closed on failure). */
int rollout_probe_status(struct hc *h, const char *addr, struct srpc_client **cl,
			 struct rollout_probe *p);

/* Hypervisor.ListVMs (running VMs only) into p->used. */
int rollout_probe_used(struct srpc_client *cl, struct rollout_probe *p);

/* Runs "command hostname" and waits. 0, or -1 with p->err. */
int rollout_run_command(const char *command, const char *hostname, struct rollout_probe *p);

/* The checks of failing that are not in baseline, comma separated ("" if none). */
void rollout_new_failures(const json_t *failing, const json_t *baseline, char *out, size_t outsz);

/* ---- rollout_state.c ---- */

/* Loads the state file into the hosts of r (matched by hostname). 0 (also when the file
 * is absent or is for another image: then nothing is taken), or 1 (printed). */
int rollout_state_load(struct rollout *r);

/* Writes the state file atomically. 0 or -errno. */
int rollout_state_save(struct rollout *r);

/* The name of a state, for the log and the state file; and back (-1: unknown). */
const char *rollout_hstate_name(enum rollout_hstate s);
int rollout_hstate_parse(const char *s);

/* ---- rollout_plan.c ---- */

/* Runs the phases (unused hosts, then used ones) with the ramp rule; returns when no host
 * is in flight and nothing more may start. Prints progress. 0, or -errno when the
 * workers could not start. */
int rollout_plan_run(struct rollout *r);

/* Scans the n hosts of list (the state file settled the others): their running image
 * and whether they run VMs, into each host's probe. 0 or -errno. */
int rollout_plan_scan(struct rollout *r, struct rollout_host **list, size_t n);

#endif
