/* updates: the GetUpdates watchers of the fleet manager. What changes (machines of a new
 * topology or of ChangeMachineTags, hypervisors, VMs) is published once and coalesced
 * per subscriber, latest state per key (machine hostname, hypervisor hostname, VM IP):
 * a slow watcher gets fewer, fuller messages and is never dropped for being slow
 * (weakness 32), and what waits for it is bounded by the size of the fleet.
 * Thread-safe. */
#ifndef SS_FM_UPDATES_H
#define SS_FM_UPDATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/fleetmanager.h"

struct fm_updates;
struct fm_updates_sub;

/* NULL on allocation failure. */
struct fm_updates *fm_updates_new(void);
/* Frees; every subscriber must be gone (accepts NULL). */
void fm_updates_free(struct fm_updates *up);

/* Hands u (borrowed) to every subscriber whose location holds each item. Machines carry
 * their Location; hypervisors and VMs are placed by the machine of the hypervisor
 * (learned from the machines published before). */
void fm_updates_publish(struct fm_updates *up, const struct fmapi_update *u);

/* A new subscriber for location ("" = all). NULL on allocation failure or after
 * fm_updates_shutdown. */
struct fm_updates_sub *fm_updates_subscribe(struct fm_updates *up, const char *location);
void fm_updates_unsubscribe(struct fm_updates *up, struct fm_updates_sub *s);

/* Readable (poll) when something is pending or the feed shut down. */
int fm_updates_sub_fd(const struct fm_updates_sub *s);

/* What is pending for s as one Update (a new reference), NULL when nothing is; *closed
 * is set once fm_updates_shutdown has run. */
json_t *fm_updates_take(struct fm_updates *up, struct fm_updates_sub *s, bool *closed);

/* The latest state of every machine published so far in location (the machines of
 * the topology in force with their effective tags), sorted by hostname: a new JSON
 * array (shared items: do not modify them), NULL on allocation failure. */
json_t *fm_updates_machines(struct fm_updates *up, const char *location);

/* Wakes every subscriber for the end (their fm_updates_take reports closed). */
void fm_updates_shutdown(struct fm_updates *up);

/* Current subscribers and Update messages taken so far, for /metrics. */
void fm_updates_stats(struct fm_updates *up, size_t *nsubs, unsigned long long *nsent);

#endif
