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

struct updates;
struct updates_sub;

/* NULL on allocation failure. */
struct updates *updates_new(void);
/* Frees; every subscriber must be gone (accepts NULL). */
void updates_free(struct updates *up);

/* Hands u (borrowed) to every subscriber whose location holds each item. Machines carry
 * their Location; hypervisors and VMs are placed by the machine of the hypervisor
 * (learned from the machines published before). */
void updates_publish(struct updates *up, const struct fmapi_update *u);

/* A new subscriber for location ("" = all). NULL on allocation failure or after
 * updates_shutdown. */
struct updates_sub *updates_subscribe(struct updates *up, const char *location);
void updates_unsubscribe(struct updates *up, struct updates_sub *s);

/* Readable (poll) when something is pending or the feed shut down. */
int updates_sub_fd(const struct updates_sub *s);

/* What is pending for s as one Update (a new reference), NULL when nothing is; *closed
 * is set once updates_shutdown has run. */
json_t *updates_take(struct updates *up, struct updates_sub *s, bool *closed);

/* Wakes every subscriber for the end (their updates_take reports closed). */
void updates_shutdown(struct updates *up);

/* Current subscribers and Update messages taken so far, for /metrics. */
void updates_stats(struct updates *up, size_t *nsubs, unsigned long long *nsent);

#endif
