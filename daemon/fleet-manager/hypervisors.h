/* hypervisors: the Fleet Manager's side of every hypervisor of the topology
 * (spec/fleet-and-images.md §1): one connection per machine to <HostIpAddress or
 * Hostname>:6976 that calls ChangeOwners, follows GetUpdates (5 s keep-alive, 19 s
 * unreachable, reconnect), pushes the topology's subnets (UpdateSubnets diff) and, when
 * managing, keeps each Manage subnet's free addresses between the marks
 * (ChangeAddressPool / MaximumFreeAddresses). What it hands out is persisted in the
 * state directory before it is sent, so that no IP is ever in two pools, across a
 * restart too. Thread-safe. */
#ifndef SS_FM_HYPERVISORS_H
#define SS_FM_HYPERVISORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "api/fleetmanager.h"
#include "topology.h"
#include "tls.h"

struct hypervisors_config {
	const char *state_dir;
	const struct tls_client_config *tls; /* our client certificate, and the CA */
	int port;			     /* 0 = 6976 */
	bool manage;			     /* -manageHypervisors */
	unsigned desired, min, max;	     /* free addresses per subnet: 16, 8, 24 */
	/* Called from connection threads with what changed (ChangedHypervisors,
	 * ChangedVMs, DeletedVMs, VmToHypervisor) for GetUpdates watchers. u is
	 * borrowed for the call. */
	void (*on_update)(void *arg, const struct fmapi_update *u);
	void *arg;
	/* Timings in milliseconds, 0 = the spec's (tests lower them): keep-alive after
	 * 5000 of silence, unreachable after 19000, reconnect after 1000 (60000 when the
	 * service is unknown, not changed here), dial 15000. */
	int keepalive_ms, unreachable_ms, reconnect_ms, dial_ms;
};

struct hypervisors;

int hypervisors_new(const struct hypervisors_config *cfg, struct hypervisors **out, char *err,
		    size_t errsz);
/* Closes every connection and frees. */
void hypervisors_free(struct hypervisors *hs);

/* A new topology (a reference is taken): connections for new machines are started,
 * those of removed machines closed, owners and subnets pushed again where they
 * changed. */
void hypervisors_set_topology(struct hypervisors *hs, struct topology *t);

/* One hypervisor as the status page and ListHypervisorsInLocation see it. */
struct hv_status {
	char *hostname, *location, *address; /* address: "host:port" */
	bool connected;
	bool disabled;
	char *health;	     /* HealthStatus: "" unknown, "healthy", "marginal", ... */
	char *serial_number; /* "" unknown */
	enum hvapi_arch architecture;
	uint64_t memory_mib, available_memory_mib, total_volume_bytes;
	uint32_t num_cpus;
	size_t num_vms;
	struct hvapi_count *num_free; /* per subnet */
	size_t n_num_free;
	struct timespec since; /* connected or unreachable since */
	char *last_error;      /* why the last connection failed ("" none) */
};

/* The hypervisors whose location is in prefix (topology_location_in), sorted by
 * hostname. Free with hv_status_list_free. */
size_t hypervisors_list(struct hypervisors *hs, const char *prefix, struct hv_status **out);
void hv_status_list_free(struct hv_status *l, size_t n);

/* "host:port" of the hypervisor that has the VM with this IP, -ENOENT if none. */
int hypervisors_for_vm(struct hypervisors *hs, struct in_addr ip, char *addr, size_t sz);

/* MoveIpAddresses: each IP must be in a subnet visible to the target and not used by a
 * VM; it is removed from the pool of the hypervisor that has it (ChangeAddressPool
 * AddressesToRemove) and added to the target's with the MAC fmapi_mac_from_ip gives.
 * 0, or -errno with err (the first failure; what was done before it stays done and is
 * recorded). */
int hypervisors_move_ips(struct hypervisors *hs, const char *hostname, const struct in_addr *ips,
			 size_t n, char *err, size_t errsz);

/* The full state of the hypervisors in the location for a new GetUpdates watcher:
 * ChangedHypervisors, ChangedVMs and VmToHypervisor. The caller clears u. */
void hypervisors_snapshot(struct hypervisors *hs, const char *location, struct fmapi_update *u);

#endif
