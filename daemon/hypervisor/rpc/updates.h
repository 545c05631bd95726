/* GetUpdates subscribers (spec/rpc.md §6, hypervisor.md §12). Changes are coalesced
 * per subscriber by key (weaknesses.md #32): a subscriber remembers *what* changed
 * (pool, subnets, disabled, the set of VM IPs) and the stream sends the current state
 * of those items, so a slow reader gets fewer, fresher messages instead of being cut
 * off. Non-admin subscribers only hear about their own VMs and see no pool or subnets
 * (#5). */
#ifndef HV_UPDATES_H
#define HV_UPDATES_H

#include <stdbool.h>

#include "daemon/hypervisor/vmm/manager.h"

struct updates;
struct updates_sub;

struct updates *updates_new(struct manager *m);
void updates_free(struct updates *u);

/* The manager's change callback (manager_set_notify(m, updates_notify, u)). */
void updates_notify(void *arg, enum manager_change what, const char *ip);

/* A new subscriber; caller identifies who sees what. The returned fd becomes readable
 * when something changed. NULL on allocation failure. */
struct updates_sub *updates_subscribe(struct updates *u, const struct vm_caller *caller,
				      bool see_all);
int updates_sub_fd(const struct updates_sub *s);
void updates_unsubscribe(struct updates *u, struct updates_sub *s);

/* Builds the next Update into *out: everything (first message) or what changed since
 * the last call. Returns 1 if *out carries changes, 0 if nothing changed. */
int updates_next(struct updates *u, struct updates_sub *s, bool full, struct hvapi_update *out);

/* An Update with only HealthStatus (replies to client messages, heartbeats). */
void updates_heartbeat(struct hvapi_update *out);

#endif
