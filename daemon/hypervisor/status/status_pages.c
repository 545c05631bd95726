/* The HTML status pages: overview, VM list, one VM, subnets, address pool. */
#include "daemon/hypervisor/status/status_pages.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/hypervisor/vmm/addrindex.h"
#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/objcache.h"
#include "daemon/hypervisor/vmm/tftpboot.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "json.h"
#include "log_page.h"
#include "srpc.h"

static void bytes(FILE *f, uint64_t b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	fprintf(f, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void duration(FILE *f, int64_t secs)
{
	if (secs >= 86400)
		fprintf(f, "%lldd ", (long long)(secs / 86400));
	fprintf(f, "%02lld:%02lld:%02lld", (long long)(secs % 86400 / 3600),
		(long long)(secs % 3600 / 60), (long long)(secs % 60));
}

static const char *state_class(enum hvapi_state s)
{
	switch (s) {
	case HVAPI_STATE_RUNNING:
		return "st-running";
	case HVAPI_STATE_CRASHED:
		return "st-crashed";
	case HVAPI_STATE_FAILED_TO_START:
		return "st-failed";
	default:
		return "st-stopped";
	}
}

const struct html_chrome status_chrome = {
    .css = ".st-running{color:#070}.st-stopped{color:#555}.st-crashed,.st-failed{color:#b00}\n",
    .nav = "<nav><a href=\"/\">overview</a><a href=\"/listVMs\">VMs</a>"
	   "<a href=\"/subnets\">subnets</a><a href=\"/addresses\">address pool</a>"
	   "<a href=\"/showDhcpStatus\">DHCP</a><a href=\"/logs\">logs</a>"
	   "<a href=\"/metrics\">metrics</a></nav>\n",
};

static void nav(FILE *f)
{
	fputs(status_chrome.nav, f);
}

void status_overview(struct status *s, FILE *f, bool full)
{
	struct manager *m = s->m;
	size_t counts[HVAPI_STATE_COUNT] = {0}, nvms = 0, nfree = 0, nreg = 0, nsubnets = 0,
	       nprob = 0;
	uint64_t mcpu = 0, mem = 0, storage = 0, total_storage = volumes_total_bytes(&m->vols);
	struct manager_view v;
	struct timespec now;
	char libvirt[128], **probs;

	if (manager_view(m, MANAGER_VIEW_POOL | MANAGER_VIEW_SUBNETS | MANAGER_VIEW_COUNTS, &v) ==
	    0) {
		nvms = v.nvms;
		memcpy(counts, v.by_state, sizeof(counts));
		mcpu = v.milli_cpus;
		mem = v.mem_mib;
		storage = v.storage;
		nfree = v.pool.free.n;
		nreg = v.pool.registered.n;
		nsubnets = v.subnets.n;
		manager_view_clear(&v);
	}
	clock_gettime(CLOCK_REALTIME, &now);

	status_page_start(f, "hypervisor status page");
	fputs("<h1>hypervisor status page</h1>\n", f);
	if (full)
		nav(f);
	if (atomic_load(&m->disabled))
		fputs("<p class=\"bad\">Hypervisor is disabled</p>\n", f);
	if (!virt_connected(m->virt))
		fputs("<p class=\"bad\">Not connected to libvirt</p>\n", f);
	if (!s->rpc_enabled)
		fputs("<p class=\"bad\">No bridges found: log-only mode (no RPC)</p>\n", f);
	fputs("<table>\n<tr><th>Host</th><td>", f);
	status_esc(f, s->hostname);
	fputs("</td></tr>\n<tr><th>Version</th><td>", f);
	status_esc(f, s->version);
	fputs("</td></tr>\n<tr><th>Up</th><td>", f);
	duration(f, now.tv_sec - m->started.tv_sec);
	fputs("</td></tr>\n<tr><th>Virtualisation</th><td>", f);
	status_esc(f, virt_describe(m->virt, libvirt, sizeof(libvirt)));
	fprintf(f, ", domain type %s</td></tr>\n", m->virt_type);
	fputs("<tr><th>VMs</th><td>", f);
	fprintf(f, "%zu", nvms);
	for (int st = 0; st < HVAPI_STATE_COUNT; st++) {
		if (counts[st] == 0)
			continue;
		fputs(", ", f);
		if (full) {
			fputs("<a href=\"/listVMs?state=", f);
			status_esc(f, hvapi_state_name((enum hvapi_state)st));
			fputs("\">", f);
		}
		fprintf(f, "<span class=\"%s\">%zu %s</span>", state_class((enum hvapi_state)st),
			counts[st], hvapi_state_name((enum hvapi_state)st));
		if (full)
			fputs("</a>", f);
	}
	fputs("</td></tr>\n", f);
	fprintf(f, "<tr><th>Addresses</th><td>%zu free of %zu registered</td></tr>\n", nfree, nreg);
	fprintf(f, "<tr><th>CPU</th><td>%" PRIu64 " of %u milli-CPUs allocated</td></tr>\n", mcpu,
		m->ncpus * 1000);
	fprintf(f,
		"<tr><th>Memory</th><td>%" PRIu64 " of %" PRIu64 " MiB allocated, %" PRIu64
		" MiB available</td></tr>\n",
		mem, m->mem_total_mib, manager_mem_available_mib());
	fputs("<tr><th>Storage</th><td>", f);
	bytes(f, storage);
	fputs(" of ", f);
	bytes(f, total_storage);
	fprintf(f, " in %zu volume director%s</td></tr>\n", m->vols.n,
		m->vols.n == 1 ? "y" : "ies");
	fprintf(f, "<tr><th>Subnets</th><td>%zu</td></tr>\n", nsubnets);
	if (m->objcache != NULL) {
		struct objcache_stats cs;

		objcache_stats(m->objcache, &cs);
		fputs("<tr><th>Object cache</th><td>", f);
		if (cs.enabled) {
			fprintf(f, "%" PRIu64 " objects, ", cs.objects);
			bytes(f, cs.bytes);
			fputs(" of ", f);
			bytes(f, cs.max_bytes);
		} else {
			fputs("disabled (objects fetched for each use)", f);
		}
		fprintf(f,
			"; %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " corrupt, %" PRIu64
			" evictions</td></tr>\n",
			cs.hits, cs.misses, cs.corrupt, cs.evictions);
	}
	if (s->tftpboot != NULL) {
		char image[1100], error[1100];

		tftpboot_status(s->tftpboot, image, sizeof(image), error, sizeof(error));
		fputs("<tr><th>TFTP boot image</th><td>", f);
		status_esc(f, *image ? image : "(none yet)");
		if (*error) {
			fputs(" <span class=\"warn\">", f);
			status_esc(f, error);
			fputs("</span>", f);
		}
		fputs("</td></tr>\n", f);
	}
	if (full && *m->serial_number) {
		fputs("<tr><th>Serial number</th><td>", f);
		status_esc(f, m->serial_number);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	if (!full) {
		fputs("<p>Details are served to local callers only.</p>\n", f);
		status_page_end(f);
		return;
	}
	probs = manager_problems(m, &nprob);
	if (nprob > 0) {
		fprintf(f, "<h2 class=\"warn\">%zu inconsistenc%s found at start-up</h2>\n<ul>\n",
			nprob, nprob == 1 ? "y" : "ies");
		for (size_t i = 0; i < nprob; i++) {
			fputs("<li>", f);
			status_esc(f, probs[i]);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	sjson_strlist_free(probs);
	if (s->srpc != NULL)
		fprintf(f, "<h2>RPC</h2>\n<p>%u connection%s</p>\n", srpc_server_nconns(s->srpc),
			srpc_server_nconns(s->srpc) == 1 ? "" : "s");
	fputs("<h2>Recent log lines</h2>\n<pre>", f);
	log_page_lines(f, 15, true);
	fputs("</pre>\n", f);
	status_page_end(f);
}

struct vm_row {
	struct hvapi_vm_info info;
	char ip[INET_ADDRSTRLEN];
};

/* Snapshot of the VMs' records (copies), filtered. */
static struct vm_row *snapshot(struct manager *m, const char *state, const char *owner, size_t *n)
{
	struct vm **vms = NULL;
	struct vm_row *rows;
	size_t nvms = 0, k = 0;

	*n = 0;
	if (manager_vms(m, &vms, &nvms) < 0)
		return NULL;
	rows = calloc(nvms + 1, sizeof(*rows));
	for (size_t i = 0; rows != NULL && i < nvms; i++) {
		struct vm *vm = vms[i];
		bool keep;

		pthread_mutex_lock(&vm->mu);
		keep = (state == NULL || strcmp(state, hvapi_state_name(vm->info.vm.state)) == 0) &&
		       (owner == NULL || (vm->info.vm.owner_users.n > 0 &&
					  strcmp(vm->info.vm.owner_users.v[0], owner) == 0));
		if (keep && api_copy(&hvapi_vm_info_type, &rows[k].info, &vm->info.vm) == 0) {
			snprintf(rows[k].ip, sizeof(rows[k].ip), "%s", vm->ipstr);
			k++;
		}
		pthread_mutex_unlock(&vm->mu);
	}
	manager_vms_free(vms, nvms);
	*n = k;
	return rows;
}

static void rows_free(struct vm_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		api_clear(&hvapi_vm_info_type, &rows[i].info);
	free(rows);
}

int status_list_vms(struct status *s, FILE *f, const char *state, const char *owner,
		    const char *output)
{
	struct manager *m = s->m;
	size_t n = 0;
	struct vm_row *rows = snapshot(m, state, owner, &n);
	uint64_t tmem = 0, tcpu = 0, tstore = 0, total_storage;

	if (rows == NULL)
		return 500;
	if (strcmp(output, "json") == 0) {
		json_t *a = json_array();
		char *text;

		for (size_t i = 0; a != NULL && i < n; i++)
			json_array_append_new(a, hvapi_vm_info_to_json(&rows[i].info));
		text = a ? sjson_dumps(a, SJSON_PRETTY) : NULL;
		if (text != NULL)
			fputs(text, f);
		free(text);
		json_decref(a);
		rows_free(rows, n);
		return 200;
	}
	if (strcmp(output, "text") == 0) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s\n", rows[i].ip);
		rows_free(rows, n);
		return 200;
	}
	status_page_start(f, "VMs");
	fputs("<h1>VMs</h1>\n", f);
	nav(f);
	fputs("<table>\n<tr><th>IP address</th><th>MAC address</th><th>Name</th><th>State</th>"
	      "<th>RAM</th><th>CPU</th><th>vCPUs</th><th>Volumes</th><th>Storage</th>"
	      "<th>Primary owner</th></tr>\n",
	      f);
	for (size_t i = 0; i < n; i++) {
		const struct hvapi_vm_info *v = &rows[i].info;
		const char *name = hvapi_tags_get(&v->tags, "Name");
		char mac[18];
		uint64_t st = vm_storage_bytes(v);

		sjson_format_mac(v->address.mac, mac, sizeof(mac));
		fprintf(f, "<tr><td><a href=\"/showVM?%s\">%s</a></td><td>%s</td><td>", rows[i].ip,
			rows[i].ip, mac);
		status_esc(f, name ? name : "");
		fprintf(f,
			"</td><td class=\"%s\">%s</td><td class=\"n\">%" PRIu64
			" MiB</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td "
			"class=\"n\">%zu</td>"
			"<td class=\"n\">",
			state_class(v->state), hvapi_state_name(v->state), v->memory_mib,
			v->milli_cpus, vm_vcpus(v, m->ncpus), v->volumes.n);
		bytes(f, st);
		fputs("</td><td>", f);
		/* #26: a VM without owners is shown, not a crash. */
		status_esc(f, v->owner_users.n > 0 ? v->owner_users.v[0] : "");
		fputs("</td></tr>\n", f);
		tmem += v->memory_mib;
		tcpu += v->milli_cpus;
		tstore += st;
	}
	total_storage = volumes_total_bytes(&m->vols);
	fprintf(f,
		"<tr><th colspan=\"4\">%zu VMs</th><th class=\"n\">%" PRIu64
		" MiB</th><th class=\"n\">%" PRIu64 "</th><th></th><th></th><th class=\"n\">",
		n, tmem, tcpu);
	bytes(f, tstore);
	fputs("</th><th></th></tr>\n", f);
	fprintf(f,
		"<tr><th colspan=\"4\">Capacity</th><td class=\"n\">%" PRIu64
		" MiB</td><td class=\"n\">%u</td><td></td><td></td><td class=\"n\">",
		m->mem_total_mib, m->ncpus * 1000);
	bytes(f, total_storage);
	fputs("</td><td></td></tr>\n", f);
	/* #26: guard the percentages against empty capacity. */
	fprintf(f,
		"<tr><th colspan=\"4\">Usage</th><td class=\"n\">%" PRIu64
		"%%</td><td class=\"n\">%" PRIu64
		"%%</td><td></td><td></td><td class=\"n\">%" PRIu64
		"%%</td><td></td></tr>\n</table>\n",
		m->mem_total_mib ? tmem * 100 / m->mem_total_mib : 0,
		m->ncpus ? tcpu * 100 / ((uint64_t)m->ncpus * 1000) : 0,
		total_storage ? tstore * 100 / total_storage : 0);
	status_page_end(f);
	rows_free(rows, n);
	return 200;
}

static void row_list(FILE *f, const char *k, const struct api_strlist *l)
{
	fputs("<tr><th>", f);
	status_esc(f, k);
	fputs("</th><td>", f);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			fputs(", ", f);
		status_esc(f, l->v[i]);
	}
	fputs("</td></tr>\n", f);
}

int status_show_vm(struct status *s, FILE *f, const char *ip, bool json)
{
	struct vm *vm = manager_find_str(s->m, ip);
	struct hvapi_local_vm_info info = {0};
	char buf[64], mac[18], t[SJSON_TIME_LEN];
	const struct hvapi_vm_info *v = &info.vm;
	int rc;

	if (vm == NULL)
		return 404;
	pthread_mutex_lock(&vm->mu);
	rc = api_copy(&hvapi_local_vm_info_type, &info, &vm->info);
	pthread_mutex_unlock(&vm->mu);
	vm_unref(vm);
	if (rc < 0)
		return 500;
	if (json) {
		char *text = api_dumps(&hvapi_vm_info_type, &info.vm, SJSON_PRETTY);

		if (text != NULL)
			fputs(text, f);
		free(text);
		api_clear(&hvapi_local_vm_info_type, &info);
		return 200;
	}
	status_page_start(f, ip);
	fputs("<h1>VM ", f);
	status_esc(f, ip);
	fputs("</h1>\n", f);
	nav(f);
	fputs("<table>\n", f);
	sjson_format_mac(v->address.mac, mac, sizeof(mac));
	html_row(f, "MAC address", mac);
	html_row(f, "Hostname", api_str(v->hostname));
	fprintf(f, "<tr><th>State</th><td class=\"%s\">%s</td></tr>\n", state_class(v->state),
		hvapi_state_name(v->state));
	html_row(f, "Since", sjson_format_time(&v->changed_state_on, t, sizeof(t)));
	html_row(f, "Created", sjson_format_time(&v->created_on, t, sizeof(t)));
	html_row(f, "Subnet", api_str(v->subnet_id));
	snprintf(buf, sizeof(buf), "%" PRIu64 " MiB", v->memory_mib);
	html_row(f, "Memory", buf);
	snprintf(buf, sizeof(buf), "%u milli-CPUs, %u vCPUs", v->milli_cpus,
		 vm_vcpus(v, s->m->ncpus));
	html_row(f, "CPU", buf);
	html_row(f, "Image", *api_str(v->image_name) ? v->image_name : api_str(v->image_url));
	html_row(f, "Console", hvapi_enum_name(hvapi_console_type_names, (int)v->console_type));
	row_list(f, "Owner users", &v->owner_users);
	row_list(f, "Owner groups", &v->owner_groups);
	for (size_t i = 0; i < v->tags.n; i++) {
		fputs("<tr><th>Tag ", f);
		status_esc(f, v->tags.v[i].key);
		fputs("</th><td>", f);
		status_esc(f, v->tags.v[i].value);
		fputs("</td></tr>\n", f);
	}
	html_row(f, "Destroy protection", v->destroy_protection ? "yes" : "no");
	fputs("</table>\n<h2>Volumes</h2>\n<table>\n<tr><th>#</th><th>File</th><th>Format</th>"
	      "<th>Interface</th><th>Size</th></tr>\n",
	      f);
	for (size_t i = 0; i < v->volumes.n; i++) {
		fprintf(f, "<tr><td class=\"n\">%zu</td><td>", i);
		status_esc(f, i < info.volume_locations.n
				  ? api_str(info.volume_locations.v[i].filename)
				  : "?");
		fprintf(
		    f, "</td><td>%s</td><td>%s</td><td class=\"n\">",
		    hvapi_enum_name(hvapi_volume_format_names, (int)v->volumes.v[i].format),
		    hvapi_enum_name(hvapi_volume_interface_names, (int)v->volumes.v[i].interface));
		bytes(f, hvapi_volume_effective_size(&v->volumes.v[i]));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<p>", f);
	fprintf(f,
		"<a href=\"/showVmBootLog?%s\">boot log</a> &middot; "
		"<a href=\"/showVM?%s&amp;output=json\">JSON</a></p>\n",
		ip, ip);
	status_page_end(f);
	api_clear(&hvapi_local_vm_info_type, &info);
	return 200;
}

void status_subnets(struct status *s, FILE *f)
{
	struct manager_view v;

	status_page_start(f, "subnets");
	fputs("<h1>Subnets</h1>\n", f);
	nav(f);
	fputs("<table>\n<tr><th>Id</th><th>Gateway</th><th>Mask</th><th>VLAN</th><th>DNS</th>"
	      "<th>Domain</th><th>Free addresses</th><th>Allowed</th></tr>\n",
	      f);
	if (manager_view(s->m, MANAGER_VIEW_POOL | MANAGER_VIEW_SUBNETS, &v) < 0)
		memset(&v, 0, sizeof(v));
	for (size_t i = 0; i < v.subnets.n; i++) {
		const struct hvapi_subnet *sn = &v.subnets.v[i];
		char gw[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], dns[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sn->ip_gateway, gw, sizeof(gw));
		inet_ntop(AF_INET, &sn->ip_mask, mask, sizeof(mask));
		fputs("<tr><td>", f);
		status_esc(f, sn->id);
		fprintf(f, "</td><td>%s</td><td>%s</td><td class=\"n\">%u</td><td>", gw, mask,
			sn->vlan_id);
		for (size_t k = 0; k < sn->domain_name_servers.n; k++) {
			inet_ntop(AF_INET, &sn->domain_name_servers.v[k], dns, sizeof(dns));
			fprintf(f, "%s%s", k ? ", " : "", dns);
		}
		fputs("</td><td>", f);
		status_esc(f, api_str(sn->domain_name));
		fprintf(f, "</td><td class=\"n\">%zu</td><td>", addrpool_num_free(&v.pool, sn));
		for (size_t k = 0; k < sn->allowed_users.n; k++) {
			status_esc(f, sn->allowed_users.v[k]);
			fputc(' ', f);
		}
		for (size_t k = 0; k < sn->allowed_groups.n; k++) {
			fputc('@', f);
			status_esc(f, sn->allowed_groups.v[k]);
			fputc(' ', f);
		}
		fputs("</td></tr>\n", f);
	}
	manager_view_clear(&v);
	fputs("</table>\n<p><a href=\"/listSubnets\">JSON</a></p>\n", f);
	status_page_end(f);
}

void status_addresses(struct status *s, FILE *f)
{
	struct addrindex free_ix = {0}, mac_use = {0};
	struct manager_view v;
	bool ok;

	status_page_start(f, "address pool");
	fputs("<h1>Address pool</h1>\n", f);
	nav(f);
	fputs("<table>\n<tr><th>IP address</th><th>MAC "
	      "address</th><th>Subnet</th><th>Use</th></tr>\n",
	      f);
	if (manager_view(s->m, MANAGER_VIEW_POOL | MANAGER_VIEW_SUBNETS | MANAGER_VIEW_USES, &v) <
	    0)
		memset(&v, 0, sizeof(v));
	/* Indexes, not a search per row: the pool may hold 65,536 addresses. */
	ok = addrindex_of_list(&free_ix, &v.pool.free) == 0;
	for (size_t k = 0; ok && k < v.nuses; k++)
		ok = addrindex_put(&mac_use, addrindex_mac_key(v.uses[k].addr.mac), k) >= 0;
	if (!ok)
		fputs("<tr><td colspan=\"4\" class=\"warn\">out of memory</td></tr>\n", f);
	for (size_t i = 0; ok && i < v.pool.registered.n; i++) {
		const struct hvapi_address *a = &v.pool.registered.v[i];
		const struct hvapi_subnet *sn = subnets_for_ip(&v.subnets, a->ip);
		char ip[INET_ADDRSTRLEN] = "", mac[18], owner[INET_ADDRSTRLEN] = "";
		bool is_free = addrindex_find(&free_ix, a, NULL);
		size_t k;

		if (a->ip.s_addr != 0)
			inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
		sjson_format_mac(a->mac, mac, sizeof(mac));
		if (!is_free && addrindex_get(&mac_use, addrindex_mac_key(a->mac), &k))
			inet_ntop(AF_INET, &v.uses[k].vm, owner, sizeof(owner));
		fprintf(f, "<tr><td>%s</td><td>%s</td><td>", ip, mac);
		status_esc(f, sn ? sn->id : "");
		if (is_free)
			fputs("</td><td class=\"ok\">free</td></tr>\n", f);
		else if (*owner != '\0')
			fprintf(f, "</td><td>VM <a href=\"/showVM?%s\">%s</a></td></tr>\n", owner,
				owner);
		else
			fputs("</td><td class=\"warn\">in use</td></tr>\n", f);
	}
	fprintf(f,
		"</table>\n<p>%zu free of %zu registered. <a href=\"/listAvailableAddresses\">free "
		"(JSON)"
		"</a> &middot; <a href=\"/listRegisteredAddresses\">registered (JSON)</a></p>\n",
		v.pool.free.n, v.pool.registered.n);
	addrindex_fini(&free_ix);
	addrindex_fini(&mac_use);
	manager_view_clear(&v);
	status_page_end(f);
}
