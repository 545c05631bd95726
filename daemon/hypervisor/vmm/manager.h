/* The VM manager: everything the daemon knows (VMs, address pool, subnets, owners,
 * capacity) behind one read/write lock, loaded from the state directory and kept in
 * step with libvirt. RPC handlers, status pages and the control socket all go
 * through it; it knows nothing of SRPC or HTTP.
 *
 * The lock and what it guards are private to vmm/ (manager_state.h). A VM's mu is
 * never held while calling libvirt or doing long I/O (volume copies): long operations
 * mark the VM busy and drop its lock. */
#ifndef HV_MANAGER_H
#define HV_MANAGER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/hvflags.h"
#include "daemon/hypervisor/vmm/statedir.h"
#include "daemon/hypervisor/vmm/vm.h"
#include "daemon/hypervisor/vmm/volumes.h"

struct virt;
struct objcache;
struct netsvc;
struct metadata;

/* What changed, for GetUpdates subscribers and the status pages. */
enum manager_change {
	MANAGER_CHANGED_VM,	 /* ip: its VmInfo changed */
	MANAGER_CHANGED_VM_GONE, /* ip: deleted */
	MANAGER_CHANGED_POOL,	 /* address pool (and free counts) */
	MANAGER_CHANGED_SUBNETS,
	MANAGER_CHANGED_DISABLED,
};
typedef void (*manager_notify_fn)(void *arg, enum manager_change what, const char *ip);

struct manager {
	const struct hv_config *cfg;
	const char *state_dir;
	char uuid[STATEDIR_UUID_LEN + 1];
	char domain_prefix[32];
	uint8_t root_cookie[STATEDIR_COOKIE_LEN];
	EVP_PKEY *key;
	char *public_key_pem;
	struct virt *virt;
	const char *virt_type; /* "kvm" or "qemu" */
	char host_arch[65];    /* uname machine: "x86_64" / "aarch64" */
	uint64_t mem_total_mib;
	unsigned ncpus;
	char serial_number[128];
	struct volumes vols;
	struct objcache *objcache; /* image objects (-objectCacheDirectory) */
	ssize_t cache_vol;	   /* volume directory on the cache's file system, or -1 */
	struct timespec started;   /* CLOCK_REALTIME */

	/* The VM map, pool, subnets and owners: private to vmm/ (vmm/manager_state.h),
	 * read from outside through manager_view() and the accessors below. */
	struct manager_state *st;

	atomic_bool disabled;
	atomic_bool shutting_down;

	manager_notify_fn notify;
	void *notify_arg;
	struct netsvc *netsvc;	   /* DHCP/TFTP: VM leases; NULL when not running */
	struct metadata *metadata; /* 169.254.169.254: VM taps; NULL when not running */

	pthread_mutex_t problems_mu; /* reconciliation findings, for pages and logs */
	char **problems;
	size_t nproblems;

	pthread_t timer_thread;
	pthread_mutex_t timer_mu;
	pthread_cond_t timer_cond;
	bool timer_stop;

	atomic_uint_fast64_t n_starts, n_start_failures, n_creates, n_destroys, n_crashes;
};

/* Loads the state directory (the caller holds its lock: statedir_lock), connects to
 * libvirt and reconciles. Returns 0 and *out, or -errno with the reason in err.
 * Borrows cfg for the manager's life. */
int manager_open(const struct hv_config *cfg, struct manager **out, char *err, size_t errsz);

/* Writes the object cache's state (SIGINT/SIGTERM: spec §4 step 11). */
void manager_flush_cache(struct manager *m);

/* Sets the change callback (before serving). */
void manager_set_notify(struct manager *m, manager_notify_fn fn, void *arg);
/* The network services VMs need (both may be NULL). Set before serving; every VM's
 * leases and taps are then registered. */
void manager_set_net(struct manager *m, struct netsvc *ns, struct metadata *md);

/* With stop_vms, shuts every running VM down first (§9 host shutdown: they are then
 * recorded crashed so that the next start brings them back). Frees m. */
void manager_close(struct manager *m, bool stop_vms);

/* The VM with primary IP ip, with a new reference (vm_unref it), or NULL. */
struct vm *manager_find(struct manager *m, struct in_addr ip);
struct vm *manager_find_str(struct manager *m, const char *ip);

/* Every VM with a new reference each, in IP order: free with manager_vms_free. */
int manager_vms(struct manager *m, struct vm ***out, size_t *n);
void manager_vms_free(struct vm **vms, size_t n);

/* Records a reconciliation finding (logged too). */
void manager_problem(struct manager *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies the findings (new array of new strings; free with sjson_strlist_free). */
char **manager_problems(struct manager *m, size_t *n);

/* Calls the change callback. */
void manager_changed(struct manager *m, enum manager_change what, const char *ip);

/* The metadata server's "who is this IP" (struct metadata_vm_source.lookup_by_ip):
 * ctx is the manager. Fills *out (a struct metadata_vm) for the VM with primary IP
 * ip: 0 or -ENOENT. */
struct metadata_vm;
int manager_metadata_lookup(void *ctx, struct in_addr ip, struct metadata_vm *out);

/* ---- pool, subnets, owners, disabled (host_settings.c) ---- */

int manager_change_address_pool(struct manager *m,
				const struct hvapi_change_address_pool_request *r, char *err,
				size_t errsz);
int manager_update_subnets(struct manager *m, const struct hvapi_update_subnets_request *r,
			   char *err, size_t errsz);
int manager_change_owners(struct manager *m, const struct api_strlist *users,
			  const struct api_strlist *groups, char *err, size_t errsz);
int manager_set_disabled(struct manager *m, bool disabled, char *err, size_t errsz);
/* True if user/groups are hypervisor owners (the grant hook of rpc.md §3.3 step 2). */
bool manager_is_owner(struct manager *m, const char *user, char *const *groups, size_t ngroups);

/* Free addresses per subnet (NumFreeAddresses): new list; free with free_counts. */
int manager_num_free(struct manager *m, struct hvapi_count **out, size_t *n);
void manager_free_counts(struct hvapi_count *v, size_t n);

/* Capacity. */
uint64_t manager_mem_available_mib(void);
/* Σ over VMs of milli-CPUs, memory and storage. */
void manager_usage(struct manager *m, uint64_t *milli_cpus, uint64_t *mem_mib, uint64_t *storage);
/* Bytes promised to VM volumes per volume directory (m->vols.n entries; free()). */
uint64_t *manager_volume_allocation(struct manager *m);

/* A consistent copy of what the manager's lock guards, for readers (pages, GetUpdates,
 * RPC): taken under the lock, used without it. Only the parts asked for are filled. */
enum {
	MANAGER_VIEW_POOL = 1 << 0,
	MANAGER_VIEW_SUBNETS = 1 << 1,
	MANAGER_VIEW_USES = 1 << 2,   /* the addresses VMs use */
	MANAGER_VIEW_COUNTS = 1 << 3, /* VMs per state, usage */
};
struct addrpool_use;
struct manager_view {
	struct hvapi_address_pool pool;
	struct hvapi_subnets subnets;
	struct addrpool_use *uses;
	size_t nuses;
	size_t nvms, by_state[HVAPI_STATE_COUNT];
	uint64_t milli_cpus, mem_mib, storage;
};
/* 0 or -ENOMEM (v is then empty). Free with manager_view_clear. */
int manager_view(struct manager *m, unsigned what, struct manager_view *v);
void manager_view_clear(struct manager_view *v);

/* HoldLock (weaknesses #31, lock debugging): holds the manager's lock for ns, and
 * logs (naming who) once it holds it. */
void manager_hold_lock(struct manager *m, const char *who, bool write, int64_t ns);
/* A line of /proc/meminfo ("MemTotal"...) in MiB; 0 if unreadable. */
uint64_t manager_meminfo_mib(const char *key);

#endif
