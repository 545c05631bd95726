/* /metrics (Prometheus text exposition format 0.0.4) and /healthz (weaknesses.md #54:
 * reflects libvirt, RPC and the network services' readiness). Only counts: nothing
 * that names a VM or its owner. */
#include "daemon/hypervisor/status/status_pages.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/objcache.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "metrics.h"
#include "server.h"
#include "srpc.h"

void status_metrics(struct status *s, FILE *f)
{
	struct manager *m = s->m;
	size_t counts[HVAPI_STATE_COUNT] = {0}, nreg = 0, nfree = 0, nprob = 0;
	uint64_t mcpu = 0, mem = 0, storage = 0;
	struct manager_view v;
	struct timespec now;
	char **probs;

	metrics_declare(f, "hypervisor_subnet_free_addresses", METRICS_GAUGE,
			"Free addresses in the pool per subnet.");
	if (manager_view(m, MANAGER_VIEW_POOL | MANAGER_VIEW_SUBNETS | MANAGER_VIEW_COUNTS, &v) ==
	    0) {
		memcpy(counts, v.by_state, sizeof(counts));
		mcpu = v.milli_cpus;
		mem = v.mem_mib;
		storage = v.storage;
		nreg = v.pool.registered.n;
		nfree = v.pool.free.n;
		for (size_t i = 0; i < v.subnets.n; i++)
			metrics_uint(f, "hypervisor_subnet_free_addresses",
				     addrpool_num_free(&v.pool, &v.subnets.v[i]), "subnet",
				     api_str(v.subnets.v[i].id), NULL);
		manager_view_clear(&v);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	probs = manager_problems(m, &nprob);
	for (size_t i = 0; i < nprob; i++)
		free(probs[i]);
	free(probs);

	metrics_declare(f, "hypervisor_build_info", METRICS_GAUGE,
			"Version of the running daemon.");
	metrics_uint(f, "hypervisor_build_info", 1, "version", s->version, "domain_type",
		     m->virt_type, NULL);
	metrics_declare(f, "hypervisor_start_time_seconds", METRICS_GAUGE,
			"Start time of the daemon (Unix time).");
	metrics_int(f, "hypervisor_start_time_seconds", m->started.tv_sec, NULL);
	metrics_declare(f, "hypervisor_uptime_seconds", METRICS_GAUGE,
			"Seconds since the daemon started.");
	metrics_int(f, "hypervisor_uptime_seconds", now.tv_sec - m->started.tv_sec, NULL);
	metrics_declare(f, "hypervisor_vms", METRICS_GAUGE, "VMs by state.");
	for (int st = 0; st < HVAPI_STATE_COUNT; st++)
		metrics_uint(f, "hypervisor_vms", counts[st], "state",
			     hvapi_state_name((enum hvapi_state)st), NULL);
	metrics_one(f, "hypervisor_registered_addresses", METRICS_GAUGE,
		    "Addresses owned by this hypervisor.", nreg);
	metrics_one(f, "hypervisor_free_addresses", METRICS_GAUGE, "Addresses free for new VMs.",
		    nfree);
	metrics_declare(f, "hypervisor_memory_mib", METRICS_GAUGE,
			"Host memory: total, allocated to VMs, available.");
	metrics_uint(f, "hypervisor_memory_mib", m->mem_total_mib, "kind", "total", NULL);
	metrics_uint(f, "hypervisor_memory_mib", mem, "kind", "allocated", NULL);
	metrics_uint(f, "hypervisor_memory_mib", manager_mem_available_mib(), "kind", "available",
		     NULL);
	metrics_declare(f, "hypervisor_milli_cpus", METRICS_GAUGE,
			"CPU capacity and allocation in milli-CPUs.");
	metrics_uint(f, "hypervisor_milli_cpus", m->ncpus * 1000, "kind", "total", NULL);
	metrics_uint(f, "hypervisor_milli_cpus", mcpu, "kind", "allocated", NULL);
	metrics_declare(f, "hypervisor_storage_bytes", METRICS_GAUGE,
			"Volume storage: total and allocated to VMs.");
	metrics_uint(f, "hypervisor_storage_bytes", volumes_total_bytes(&m->vols), "kind", "total",
		     NULL);
	metrics_uint(f, "hypervisor_storage_bytes", storage, "kind", "allocated", NULL);
	metrics_one(f, "hypervisor_vm_starts_total", METRICS_COUNTER, "VM starts attempted.",
		    atomic_load(&m->n_starts));
	metrics_one(f, "hypervisor_vm_start_failures_total", METRICS_COUNTER,
		    "VM starts that failed.", atomic_load(&m->n_start_failures));
	metrics_one(f, "hypervisor_vm_creates_total", METRICS_COUNTER, "VMs created.",
		    atomic_load(&m->n_creates));
	if (m->objcache != NULL) {
		struct objcache_stats cs;

		objcache_stats(m->objcache, &cs);
		metrics_one(f, "hypervisor_object_cache_objects", METRICS_GAUGE,
			    "Image objects in the object cache.", cs.objects);
		metrics_declare(f, "hypervisor_object_cache_bytes", METRICS_GAUGE,
				"Bytes of the object cache: used and the budget.");
		metrics_uint(f, "hypervisor_object_cache_bytes", cs.bytes, "kind", "used", NULL);
		metrics_uint(f, "hypervisor_object_cache_bytes", cs.max_bytes, "kind", "max", NULL);
		metrics_one(f, "hypervisor_object_cache_hits_total", METRICS_COUNTER,
			    "Objects a create found valid in the cache.", cs.hits);
		metrics_one(f, "hypervisor_object_cache_misses_total", METRICS_COUNTER,
			    "Objects fetched from the image server.", cs.misses);
		metrics_one(f, "hypervisor_object_cache_corrupt_total", METRICS_COUNTER,
			    "Cached objects dropped because their bytes did not match.",
			    cs.corrupt);
		metrics_one(f, "hypervisor_object_cache_evictions_total", METRICS_COUNTER,
			    "Objects evicted to stay within the budget.", cs.evictions);
	}
	metrics_one(f, "hypervisor_vm_destroys_total", METRICS_COUNTER, "VMs destroyed.",
		    atomic_load(&m->n_destroys));
	metrics_one(f, "hypervisor_vm_crashes_total", METRICS_COUNTER,
		    "VMs that went down unexpectedly.", atomic_load(&m->n_crashes));
	metrics_one(f, "hypervisor_libvirt_connected", METRICS_GAUGE,
		    "1 while connected to libvirt.", virt_connected(m->virt) ? 1 : 0);
	metrics_one(f, "hypervisor_disabled", METRICS_GAUGE, "1 while the hypervisor is disabled.",
		    atomic_load(&m->disabled) ? 1 : 0);
	metrics_one(f, "hypervisor_inconsistencies", METRICS_GAUGE,
		    "Inconsistencies found at start-up.", nprob);
	metrics_one(f, "hypervisor_rpc_connections", METRICS_GAUGE, "Open RPC connections.",
		    s->srpc ? srpc_server_nconns(s->srpc) : 0);
	if (s->srv != NULL) {
		struct listener_stats ls;

		server_port_stats(s->srv, &ls);
		metrics_one(f, "hypervisor_port_connections", METRICS_GAUGE,
			    "Open connections of the port (RPC, HTTP and undecided).", ls.live);
		metrics_one(f, "hypervisor_port_http_connections", METRICS_GAUGE,
			    "Open HTTP connections of the port.", ls.http);
		metrics_one(f, "hypervisor_port_refused_total", METRICS_COUNTER,
			    "Connections refused by the port's limits.", ls.refused);
		metrics_one(f, "hypervisor_port_probation_total", METRICS_COUNTER,
			    "Connections admitted from the reserve (past a limit).", ls.probation);
	}
}

int status_healthz(struct status *s, FILE *f)
{
	char why[256];
	int ok = 1;

	if (!virt_connected(s->m->virt)) {
		fputs("libvirt: not connected\n", f);
		ok = 0;
	}
	if (!s->rpc_enabled) {
		fputs("rpc: no bridges (log-only mode)\n", f);
		ok = 0;
	}
	for (size_t i = 0; i < s->nready; i++) {
		why[0] = '\0';
		if (!s->ready[i](s->ready_arg[i], why, sizeof(why))) {
			fprintf(f, "%s\n", why);
			ok = 0;
		}
	}
	if (ok)
		fputs("OK\n", f);
	return ok ? 200 : 503;
}
