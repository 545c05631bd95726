/* hvconn: the internals shared by hypervisors.c (the set of hypervisors, the queries)
 * and hvconn.c (one connection thread per hypervisor: ChangeOwners, GetUpdates,
 * keep-alive, subnets and address pool). Not for other modules: use hypervisors.h. */
#ifndef SS_FM_HVCONN_H
#define SS_FM_HVCONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/fleet-manager/hypervisors.h"
#include "daemon/fleet-manager/pool.h"

struct hv_vms {
	size_t n;
	struct hvapi_vm_entry *v; /* vm never NULL */
};

/* One hypervisor of the topology. Fields below mu are guarded by hs->mu. */
struct hv {
	struct hypervisors *hs;
	char *hostname;
	pthread_t thread;
	bool thread_started;
	pthread_cond_t cond; /* wakes the thread's waits (stop) */

	/* guarded by hs->mu */
	char addr[300]; /* host:port */
	struct fmapi_machine machine;
	bool stop;
	bool kept;			/* hypervisors_set_topology's mark */
	bool push_owners, push_subnets; /* the topology changed */
	int fd;				/* socket of the GetUpdates stream, -1 */
	bool connected;
	struct timespec since;
	char *last_error;
	bool disabled;
	char *health, *serial;
	enum hvapi_arch arch;
	uint64_t memory_mib, available_memory_mib, total_volume_bytes;
	uint32_t num_cpus;
	struct hvapi_count *num_free;
	size_t n_num_free;
	struct hv_vms vms;
	bool have_subnets_known;
	struct hvapi_subnets have_subnets;
};

struct hypervisors {
	struct hypervisors_config cfg; /* state_dir copied */
	struct pool_marks marks;
	int keepalive_ms, unreachable_ms, reconnect_ms, dial_ms;
	struct tls_client *tls;
	pthread_attr_t attr;

	pthread_mutex_t mu;
	struct topology *topo;
	struct hv **hvs; /* sorted by hostname */
	size_t nhvs;
	struct hv **dead; /* stopping, to join */
	size_t ndead;
	struct pool *pool;
	struct ipmap vms; /* VM IP -> struct hv */

	pthread_mutex_t save_mu; /* one writer of the pool file */
	uint64_t saved_version;
	int64_t last_save_ms;
	char *pool_path;
};

/* The thread of one hypervisor (arg: struct hv). */
void *hvconn_main(void *arg);

/* Writes the pool record if it changed since the last write (force) or if it changed
 * and the last write is a second old (lazy). Takes hs->mu itself: call it unlocked.
 * 0 or -errno (logged). */
int hv_persist(struct hypervisors *hs, bool force);

/* Is ip used by a topology machine or a known VM? (pool_in_use_fn; hs->mu held) */
bool hv_ip_in_use(void *arg, struct in_addr ip);

/* Dials h's hypervisor for one request/response call (its own connection: the
 * GetUpdates stream is busy). 0, -EREMOTEIO (the hypervisor refused: err), -errno. */
int hv_call(struct hypervisors *hs, const char *addr, const char *method,
	    const struct api_type *req_t, const void *req, char *err, size_t errsz);

/* h's HypervisorData for GetUpdates watchers (hs->mu held). 0 or -ENOMEM; clear d. */
int hv_data(const struct hv *h, struct fmapi_hypervisor_data *d);

/* Monotonic milliseconds. */
int64_t hv_now_ms(void);

#endif
