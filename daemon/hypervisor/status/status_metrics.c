/* /metrics (Prometheus text exposition format 0.0.4) and /healthz (weaknesses.md #54:
 * reflects libvirt, RPC and the network services' readiness). Only counts: nothing
 * that names a VM or its owner. */
#include "daemon/hypervisor/status/status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "srpc.h"

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: escape backslash, double quote and newline. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

void status_metrics(struct status *s, FILE *f)
{
	struct manager *m = s->m;
	size_t counts[HVAPI_STATE_COUNT] = {0}, nreg = 0, nfree = 0, nprob = 0;
	uint64_t mcpu = 0, mem = 0, storage = 0;
	struct manager_view v;
	struct timespec now;
	char **probs;

	metric(f, "hypervisor_subnet_free_addresses", "gauge",
	       "Free addresses in the pool per subnet.");
	if (manager_view(m, MANAGER_VIEW_POOL | MANAGER_VIEW_SUBNETS | MANAGER_VIEW_COUNTS, &v) ==
	    0) {
		memcpy(counts, v.by_state, sizeof(counts));
		mcpu = v.milli_cpus;
		mem = v.mem_mib;
		storage = v.storage;
		nreg = v.pool.registered.n;
		nfree = v.pool.free.n;
		for (size_t i = 0; i < v.subnets.n; i++) {
			fputs("hypervisor_subnet_free_addresses{subnet=\"", f);
			label_value(f, api_str(v.subnets.v[i].id));
			fprintf(f, "\"} %zu\n", addrpool_num_free(&v.pool, &v.subnets.v[i]));
		}
		manager_view_clear(&v);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	probs = manager_problems(m, &nprob);
	for (size_t i = 0; i < nprob; i++)
		free(probs[i]);
	free(probs);

	metric(f, "hypervisor_build_info", "gauge", "Version of the running daemon.");
	fputs("hypervisor_build_info{version=\"", f);
	label_value(f, s->version);
	fprintf(f, "\",domain_type=\"%s\"} 1\n", m->virt_type);
	metric(f, "hypervisor_start_time_seconds", "gauge",
	       "Start time of the daemon (Unix time).");
	fprintf(f, "hypervisor_start_time_seconds %lld\n", (long long)m->started.tv_sec);
	metric(f, "hypervisor_uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(f, "hypervisor_uptime_seconds %lld\n", (long long)(now.tv_sec - m->started.tv_sec));
	metric(f, "hypervisor_vms", "gauge", "VMs by state.");
	for (int st = 0; st < HVAPI_STATE_COUNT; st++)
		fprintf(f, "hypervisor_vms{state=\"%s\"} %zu\n",
			hvapi_state_name((enum hvapi_state)st), counts[st]);
	metric(f, "hypervisor_registered_addresses", "gauge",
	       "Addresses owned by this hypervisor.");
	fprintf(f, "hypervisor_registered_addresses %zu\n", nreg);
	metric(f, "hypervisor_free_addresses", "gauge", "Addresses free for new VMs.");
	fprintf(f, "hypervisor_free_addresses %zu\n", nfree);
	metric(f, "hypervisor_memory_mib", "gauge",
	       "Host memory: total, allocated to VMs, available.");
	fprintf(f, "hypervisor_memory_mib{kind=\"total\"} %" PRIu64 "\n", m->mem_total_mib);
	fprintf(f, "hypervisor_memory_mib{kind=\"allocated\"} %" PRIu64 "\n", mem);
	fprintf(f, "hypervisor_memory_mib{kind=\"available\"} %" PRIu64 "\n",
		manager_mem_available_mib());
	metric(f, "hypervisor_milli_cpus", "gauge", "CPU capacity and allocation in milli-CPUs.");
	fprintf(f, "hypervisor_milli_cpus{kind=\"total\"} %u\n", m->ncpus * 1000);
	fprintf(f, "hypervisor_milli_cpus{kind=\"allocated\"} %" PRIu64 "\n", mcpu);
	metric(f, "hypervisor_storage_bytes", "gauge",
	       "Volume storage: total and allocated to VMs.");
	fprintf(f, "hypervisor_storage_bytes{kind=\"total\"} %" PRIu64 "\n",
		volumes_total_bytes(&m->vols));
	fprintf(f, "hypervisor_storage_bytes{kind=\"allocated\"} %" PRIu64 "\n", storage);
	metric(f, "hypervisor_vm_starts_total", "counter", "VM starts attempted.");
	fprintf(f, "hypervisor_vm_starts_total %" PRIu64 "\n", (uint64_t)atomic_load(&m->n_starts));
	metric(f, "hypervisor_vm_start_failures_total", "counter", "VM starts that failed.");
	fprintf(f, "hypervisor_vm_start_failures_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&m->n_start_failures));
	metric(f, "hypervisor_vm_creates_total", "counter", "VMs created.");
	fprintf(f, "hypervisor_vm_creates_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&m->n_creates));
	metric(f, "hypervisor_vm_destroys_total", "counter", "VMs destroyed.");
	fprintf(f, "hypervisor_vm_destroys_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&m->n_destroys));
	metric(f, "hypervisor_vm_crashes_total", "counter", "VMs that went down unexpectedly.");
	fprintf(f, "hypervisor_vm_crashes_total %" PRIu64 "\n",
		(uint64_t)atomic_load(&m->n_crashes));
	metric(f, "hypervisor_libvirt_connected", "gauge", "1 while connected to libvirt.");
	fprintf(f, "hypervisor_libvirt_connected %d\n", virt_connected(m->virt) ? 1 : 0);
	metric(f, "hypervisor_disabled", "gauge", "1 while the hypervisor is disabled.");
	fprintf(f, "hypervisor_disabled %d\n", atomic_load(&m->disabled) ? 1 : 0);
	metric(f, "hypervisor_inconsistencies", "gauge", "Inconsistencies found at start-up.");
	fprintf(f, "hypervisor_inconsistencies %zu\n", nprob);
	metric(f, "hypervisor_rpc_connections", "gauge", "Open RPC connections.");
	fprintf(f, "hypervisor_rpc_connections %u\n", s->srpc ? srpc_server_nconns(s->srpc) : 0);
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
