/* One VM in the daemon: its record (info.json = LocalVmInfo), its lock, and what only
 * lives in memory (busy flag, acknowledgement, access token). The manager owns the
 * map of VMs; a struct vm is refcounted so that a handler can keep using a VM that
 * another thread removes from the map.
 *
 * Locking: vm->mu guards every field below it. Take the manager's lock first when
 * both are needed. Never call libvirt or do long I/O with vm->mu held. */
#ifndef HV_VM_H
#define HV_VM_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/subnets.h"
#include "daemon/hypervisor/vmm/vmstate.h"

#define VM_TOKEN_LEN 32

struct vm {
	atomic_int refs;
	struct in_addr ip; /* primary IP: the map key; fixed for the struct's life */
	char ipstr[INET_ADDRSTRLEN];
	char *dir; /* <stateDir>/VMs/<ip> */

	pthread_mutex_t mu;
	pthread_cond_t changed; /* broadcast on every state change and on removal */
	struct hvapi_local_vm_info info;
	bool busy;		      /* a long operation runs: other mutations fail (§7.1) */
	bool acknowledged;	      /* CreateVm answered by AcknowledgeVm (or loaded from disk) */
	struct timespec ack_deadline; /* CLOCK_REALTIME; meaningful while !acknowledged */
	bool ack_expired;	      /* the deadline passed: the VM is being destroyed */
	bool removed;		      /* gone from the map; its files are being or were deleted */
	bool deleted;		      /* removed, and its files and addresses are gone */
	bool managed;		      /* false: loading failed; listed but left alone */
	bool boot_network;	      /* EnableNetboot: the next domain start boots from the network
				       * first; only CreateVm's start, as the original (not saved) */
	uint8_t token[VM_TOKEN_LEN];  /* GetVmAccessToken, valid until token_expires */
	struct timespec token_expires; /* CLOCK_MONOTONIC; {0,0} = no token */
};

/* New VM with one reference, for the given primary IP and state directory; takes
 * ownership of *info (which is zeroed). NULL on allocation failure. */
struct vm *vm_new(const char *state_dir, struct hvapi_local_vm_info *info);
struct vm *vm_ref(struct vm *vm);
void vm_unref(struct vm *vm);

/* Writes info.json (0644, atomically). Call with vm->mu held. */
int vm_save(struct vm *vm);

/* Changes through a copy: writes info as the VM's info.json and, once it is on disk,
 * makes it the VM's record (the old one is freed, *info zeroed). On failure nothing
 * changes. Call with vm->mu held. */
int vm_commit(struct vm *vm, struct hvapi_local_vm_info *info);

/* Sets the state; when it changes, stamps ChangedStateOn, saves and wakes waiters.
 * Call with vm->mu held. Returns vm_save's result (0 if unchanged). */
int vm_set_state(struct vm *vm, enum hvapi_state s);

/* The caller of a VM operation. */
struct vm_caller {
	const char *user;
	char *const *groups;
	size_t ngroups;
	bool admin;
};

/* checkAuth (§7.1): admin, owner user, owner group, or the VM's current access token
 * (token may be NULL). Call with vm->mu held. */
bool vm_access(const struct vm *vm, const struct vm_caller *c, const uint8_t *token,
	       size_t token_len);

/* True when c may see the VM at all (#5: owners and admins; no token). */
bool vm_visible(const struct vm *vm, const struct vm_caller *c);

/* vCPUs for the domain: max(ceil(MilliCPUs/1000), 1, VirtualCPUs) capped at ncpus. */
unsigned vm_vcpus(const struct hvapi_vm_info *info, unsigned ncpus);

/* Σ MilliCPUs, MemoryInMiB and storage (EffectiveSize + snapshots) of one VM. */
uint64_t vm_storage_bytes(const struct hvapi_vm_info *info);

/* The VM's addresses (primary first) as pool "uses": appends to *uses (realloc).
 * Call with vm->mu held. 0 or -ENOMEM. */
int vm_append_uses(const struct vm *vm, struct addrpool_use **uses, size_t *n);

/* Path of a file in the VM's directory into buf. 0 or -ENAMETOOLONG. */
int vm_path(const struct vm *vm, const char *name, char *buf, size_t sz);

/* Appends a volume record (size; format and interface from proto when given) and its
 * location (file path, directory to clean up with the VM) to info. 0 or -ENOMEM. */
int vm_append_volume(struct hvapi_local_vm_info *info, const struct hvapi_volume *proto,
		     uint64_t size, const char *dir, const char *path);

#endif
