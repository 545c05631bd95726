/* What the manager's lock guards, private to vmm/: the VM map and the host's settings
 * (address pool, subnets, owners). Outside vmm/ they are read through manager_view()
 * and changed through the manager's functions; nothing else takes the lock.
 *
 * Lock order: settings_mu, then lock, then a VM's mu.
 *   - lock (read/write) guards the fields below in memory; it is held only for
 *     lookups, copies and swaps, never across a file write or a libvirt call.
 *   - settings_mu serializes the writers of the pool, subnets and owners (and the VM
 *     map changes that go with a pool change): a writer copies under the read lock,
 *     writes the state file holding only settings_mu, then swaps under the write lock.
 *     While a writer holds settings_mu, the pool and subnets cannot change under it,
 *     so it may read them without the read lock. */
#ifndef HV_MANAGER_STATE_H
#define HV_MANAGER_STATE_H

#include <pthread.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager.h"

struct manager_state {
	pthread_mutex_t settings_mu;
	pthread_rwlock_t lock;
	struct vm **vms; /* sorted by IP */
	size_t nvms;
	struct hvapi_address_pool pool;
	struct hvapi_subnets subnets;
	struct api_strlist owner_users, owner_groups; /* ChangeOwners, persisted (#45) */
};

/* Map primitives; call with st->lock held (for writing for insert/remove). Insert
 * takes the caller's reference; remove drops the map's. */
int manager_insert_locked(struct manager *m, struct vm *vm);
bool manager_remove_locked(struct manager *m, struct vm *vm);
struct vm *manager_find_locked(struct manager *m, struct in_addr ip);

/* The addresses every VM uses (new array). Call with st->lock held. */
int manager_uses_locked(struct manager *m, struct addrpool_use **uses, size_t *n);
/* Σ over VMs; call with st->lock held. */
void manager_usage_locked(struct manager *m, uint64_t *milli_cpus, uint64_t *mem_mib,
			  uint64_t *storage);

/* A change of the address pool (host_settings.c). Begin takes settings_mu and copies
 * the pool and the VMs' addresses; the caller edits t->pool (it may read
 * m->st->subnets without the lock); commit writes address-pool.json holding only
 * settings_mu, then, under the write lock, calls locked(m, arg, saved) (when not
 * NULL; saved says whether the write worked) and swaps the pool in if it did. Abort
 * drops the copy. Both release settings_mu and clear t. */
struct manager_pool_txn {
	struct hvapi_address_pool pool;
	struct addrpool_use *uses;
	size_t nuses;
};
typedef void (*manager_locked_fn)(struct manager *m, void *arg, bool saved);
int manager_pool_begin(struct manager *m, struct manager_pool_txn *t);
int manager_pool_commit(struct manager *m, struct manager_pool_txn *t, manager_locked_fn locked,
			void *arg);
void manager_pool_abort(struct manager *m, struct manager_pool_txn *t);

#endif
