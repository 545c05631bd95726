/* pool: the Fleet Manager's address-pool decisions (spec/fleet-and-images.md §1.4) and
 * their record, so that no IP is ever in two hypervisors' pools, across a restart too.
 * Pure logic and JSON (the caller writes the file and serialises calls: not
 * thread-safe). The rule is written out at the top of pool.c. */
#ifndef SS_FM_POOL_H
#define SS_FM_POOL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/fleetmanager.h"

/* ---- a map from IPv4 address to pointer (open addressing; 0.0.0.0 is no key) ---- */
struct ipmap_slot {
	uint32_t ip; /* network order; 0 = empty */
	void *val;
};
struct ipmap {
	size_t n, cap;
	struct ipmap_slot *s;
};

/* Sets ip's value (replacing one). 0, -EINVAL for 0.0.0.0, -ENOMEM. */
int ipmap_put(struct ipmap *m, struct in_addr ip, void *val);
/* NULL when absent. */
void *ipmap_get(const struct ipmap *m, struct in_addr ip);
/* Removes ip (nothing if absent). */
void ipmap_del(struct ipmap *m, struct in_addr ip);
void ipmap_clear(struct ipmap *m);

/* ---- the marks ---- */
struct pool_marks {
	unsigned desired, min, max;
};

/* The marks of one hypervisor: def (0/0/0 given: 16/8/24), 0/0/0 when disabled, 1/1/1
 * when health is "marginal" or "at risk". */
struct pool_marks pool_marks_for(const struct pool_marks *def, bool disabled, const char *health);

enum pool_action {
	POOL_KEEP,
	POOL_REFILL, /* *count = desired - nfree addresses to add */
	POOL_TRIM,   /* MaximumFreeAddresses = *count (desired) */
};
enum pool_action pool_decide(const struct pool_marks *m, unsigned nfree, unsigned *count);

/* ---- the record ---- */
struct pool;

struct pool *pool_new(void);
void pool_free(struct pool *p);

/* Increases on every change of what must be persisted. */
uint64_t pool_version(const struct pool *p);

/* The record as JSON ({"Assignments": {"host": ["10.0.0.5", ...]}}), a new string. */
char *pool_dump(const struct pool *p);

/* The same in two steps, so that the caller's lock is held only for the copy:
 * pool_snapshot (under the lock; NULL when out of memory), then pool_snap_dump (no lock
 * needed; it sorts the snapshot in place) and pool_snap_free. */
struct pool_snap;
struct pool_snap *pool_snapshot(const struct pool *p);
char *pool_snap_dump(const struct pool_snap *snap);
void pool_snap_free(struct pool_snap *snap);
/* Loads a record into an empty pool: every address becomes assigned to its host, not
 * yet confirmed (the host's next report decides). -EINVAL with err, -ENOMEM. */
int pool_load(struct pool *p, const char *json, size_t len, char *err, size_t errsz);

/* A new GetUpdates connection to host starts: its reports from now on describe its
 * pool after every call that has completed so far. */
int pool_hv_connected(struct pool *p, const char *host);

/* host reported its registered addresses (HaveAddressPool): they become assigned to it
 * (conflicts, an address another host is assigned, are counted in *conflicts and
 * stay taken), and assigned addresses missing from the report are released when the
 * report is known to be newer than their addition. Borrows ips. 0 or -ENOMEM. */
int pool_hv_report(struct pool *p, const char *host, const struct in_addr *ips, size_t n,
		   size_t *conflicts);

/* Is ip in use by something the caller knows (a topology machine, a VM)? */
typedef bool (*pool_in_use_fn)(void *arg, struct in_addr ip);

/* Is ip taken: assigned to or reported by any host, reserved in s (s may be NULL), the
 * gateway, or in_use (may be NULL)? */
bool pool_taken(const struct pool *p, const struct fmapi_topology_subnet *s, struct in_addr ip,
		pool_in_use_fn in_use, void *arg);

/* The host ip is assigned to (else the first host that reports it), NULL if none.
 * Borrowed until the next change. */
const char *pool_owner(const struct pool *p, struct in_addr ip);

/* Picks up to n addresses of s's auto range (FirstAutoIP..LastAutoIP, by default the
 * subnet's hosts without network and broadcast) that are not taken, lowest first, and
 * assigns them to host as in flight. Returns the count put in out (n slots) or
 * -ENOMEM. Persist, then send, then call pool_sent. */
int pool_alloc(struct pool *p, const char *host, const struct fmapi_topology_subnet *s, unsigned n,
	       pool_in_use_fn in_use, void *arg, struct in_addr *out);

/* Assigns ip to host as in flight (MoveIpAddresses, after its release by its former
 * host). 0, -EBUSY when another host has it. */
int pool_assign(struct pool *p, const char *host, struct in_addr ip);

/* The ChangeAddressPool carrying these additions to host has ended: rejected (the
 * hypervisor answered an error: it changed nothing) releases them now; otherwise they
 * wait for a report that shows them, or for one of a later connection. */
void pool_sent(struct pool *p, const char *host, const struct in_addr *ips, size_t n,
	       bool rejected);

/* Is ip in the latest report of host? */
bool pool_reported(const struct pool *p, const char *host, struct in_addr ip);

/* Number of addresses assigned to host inside s that its reports have not shown yet. */
size_t pool_unconfirmed(const struct pool *p, const char *host, const struct hvapi_subnet *s);

/* Number of addresses assigned to host. */
size_t pool_count(const struct pool *p, const char *host);

/* ---- subnets ---- */

/* The UpdateSubnets request that turns have (what the hypervisor reports) into need
 * (the topology's subnets visible to it): matched by Id, changed when any field
 * differs. Returns 1 when there is something to send, 0 when not, -ENOMEM. Clear req. */
int pool_subnets_diff(const struct hvapi_subnet *have, size_t nhave,
		      const struct fmapi_topology_subnet *const *need, size_t nneed,
		      struct hvapi_update_subnets_request *req);

/* Is ip inside subnet s (gateway and mask)? */
bool pool_subnet_contains(const struct hvapi_subnet *s, struct in_addr ip);

#endif
