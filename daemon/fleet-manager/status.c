/* The fleet manager's status pages and /metrics (see status.h). */
#include "daemon/fleet-manager/status.h"

#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "json.h"
#include "log_page.h"
#include "metrics.h"
#include "srpc.h"

static const struct html_chrome chrome = {
    .css = ".up{color:#080}.down{color:#b00}.err{color:#b00;white-space:pre-wrap}"
	   ".loc{margin-left:1.5em}",
    .nav = "<p><a href=\"/\">Fleet</a> <a href=\"/metrics\">Metrics</a> "
	   "<a href=\"/logs\">Logs</a></p>\n",
};

static const char *fmt_time(const struct timespec *ts, char *buf, size_t sz)
{
	if (ts->tv_sec == 0)
		return "never";
	return sjson_format_time(ts, buf, sz);
}

static unsigned free_addresses(const struct hv_status *h)
{
	unsigned n = 0;

	for (size_t i = 0; i < h->n_num_free; i++)
		n += h->num_free[i].count;
	return n;
}

static void hv_row(struct fm_status *st, FILE *f, const struct hv_status *h)
{
	struct fmapi_machine m;
	bool have = machines_get(st->fm->ms, h->hostname, &m) == 0;

	fputs("<tr><td><a href=\"/machine?hostname=", f);
	html_esc(f, h->hostname);
	fputs("\">", f);
	html_esc(f, h->hostname);
	fprintf(f, "</a></td><td class=\"%s\">%s</td><td>", h->connected ? "up" : "down",
		h->connected ? "connected" : "unreachable");
	html_esc(f, *api_str(h->health) ? h->health : "unknown");
	fputs("</td><td>", f);
	html_esc(f, have ? hvapi_tags_get(&m.tags, "RequiredImage") : NULL);
	fputs("</td><td>", f);
	html_esc(f, have ? hvapi_tags_get(&m.tags, "PlannedImage") : NULL);
	fprintf(f, "</td><td>%u</td><td>%zu</td><td>", free_addresses(h), h->num_vms);
	html_esc(f, h->last_error);
	fputs("</td></tr>\n", f);
	if (have)
		fmapi_machine_clear(&m);
}

static size_t depth(const char *loc)
{
	size_t d = *loc ? 1 : 0;

	for (; *loc; loc++)
		d += *loc == '/';
	return d;
}

static void topology_section(struct fm_status *st, FILE *f)
{
	struct gitsync_status gst;
	char when[64];

	gitsync_get_status(st->gs, &gst);
	fputs("<table>\n", f);
	html_row(f, "Topology", gst.source);
	html_row(f, "Digest", gst.digest);
	html_row(f, "Loaded", fmt_time(&gst.loaded, when, sizeof(when)));
	html_row(f, "Checked", fmt_time(&gst.checked, when, sizeof(when)));
	html_row(f, "Mode", st->fm->manage ? "managing hypervisors" : "read-only");
	fputs("</table>\n", f);
	if (*gst.error != '\0') {
		fputs("<h2>Latest topology change refused</h2>\n<p class=\"err\">", f);
		html_esc(f, gst.error);
		fputs("</p>\n<p>The last good topology stays in force.</p>\n", f);
	}
}

static int page_overview(struct http_req *r, FILE *f)
{
	struct fm_status *st = r->arg;
	struct topology *t = machines_topology(st->fm->ms);
	struct hv_status *l = NULL;
	size_t n = hypervisors_list(st->fm->hs, "", &l);
	size_t nloc = t ? topology_nlocations(t) : 0;

	html_page_start(f, "fleet-manager status", &chrome);
	fputs("<h1>fleet-manager status</h1>\n", f);
	fputs(chrome.nav, f);
	topology_section(st, f);
	fprintf(f, "<h2>Locations</h2>\n<p>%zu machines, %zu hypervisors</p>\n",
		t ? topology_nmachines(t) : 0, n);
	for (size_t i = 0; i < nloc; i++) {
		const char *loc = topology_location(t, i);
		bool header = false;

		fprintf(f, "<div class=\"loc\" style=\"margin-left:%zuem\"><h3>", depth(loc) * 2);
		html_esc(f, *loc ? loc : "(root)");
		fputs("</h3>\n", f);
		for (size_t k = 0; k < n; k++) {
			if (strcmp(api_str(l[k].location), loc) != 0)
				continue;
			if (!header)
				fputs(
				    "<table>\n<tr><th>Hypervisor</th><th>State</th><th>Health</th>"
				    "<th>RequiredImage</th><th>PlannedImage</th><th>Free "
				    "addresses</th><th>VMs</th><th>Last error</th></tr>\n",
				    f);
			header = true;
			hv_row(st, f, &l[k]);
		}
		if (header)
			fputs("</table>\n", f);
		fputs("</div>\n", f);
	}
	hv_status_list_free(l, n);
	topology_unref(t);
	html_page_end(f);
	return 200;
}

static void machine_status(struct fm_status *st, FILE *f, const char *host)
{
	struct hv_status *l = NULL;
	size_t n = hypervisors_list(st->fm->hs, "", &l);
	char when[64], buf[64];

	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].hostname, host) != 0)
			continue;
		fputs("<h2>Hypervisor</h2>\n<table>\n", f);
		html_row(f, "Address", l[i].address);
		html_row(f, "State", l[i].connected ? "connected" : "unreachable");
		html_row(f, "Since", fmt_time(&l[i].since, when, sizeof(when)));
		html_row(f, "Health", *api_str(l[i].health) ? l[i].health : "unknown");
		html_row(f, "Serial number", l[i].serial_number);
		html_row(f, "Disabled", l[i].disabled ? "yes" : "no");
		snprintf(buf, sizeof(buf), "%zu", l[i].num_vms);
		html_row(f, "VMs", buf);
		for (size_t k = 0; k < l[i].n_num_free; k++) {
			snprintf(buf, sizeof(buf), "%u", l[i].num_free[k].count);
			fputs("<tr><th>Free addresses in ", f);
			html_esc(f, l[i].num_free[k].key);
			fputs("</th><td>", f);
			html_esc(f, buf);
			fputs("</td></tr>\n", f);
		}
		html_row(f, "Last error", l[i].last_error);
		fputs("</table>\n", f);
	}
	hv_status_list_free(l, n);
}

static int page_machine(struct http_req *r, FILE *f)
{
	struct fm_status *st = r->arg;
	const char *host = http_req_arg(r, "hostname");
	struct fmapi_get_machine_info_response p = {0};
	json_t *j;
	char *s;

	if (host == NULL || *host == '\0')
		return 400;
	if (fm_machine_info(st->fm, host, &p) < 0) {
		fmapi_get_machine_info_response_clear(&p);
		return 404;
	}
	html_page_start(f, host, &chrome);
	fputs("<h1>", f);
	html_esc(f, host);
	fputs("</h1>\n", f);
	fputs(chrome.nav, f);
	fputs("<table>\n", f);
	html_row(f, "Location", p.location);
	for (size_t i = 0; i < p.machine.tags.n; i++) {
		fputs("<tr><th>Tag ", f);
		html_esc(f, p.machine.tags.v[i].key);
		fputs("</th><td>", f);
		html_esc(f, p.machine.tags.v[i].value);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	machine_status(st, f, host);
	j = fmapi_get_machine_info_response_to_json(&p);
	s = j ? json_dumps(j, JSON_INDENT(4)) : NULL;
	fputs("<h2>Machine information (config.json)</h2>\n<pre>", f);
	html_esc(f, s);
	fputs("</pre>\n", f);
	free(s);
	json_decref(j);
	fmapi_get_machine_info_response_clear(&p);
	html_page_end(f);
	return 200;
}

static int page_metrics(struct http_req *r, FILE *f)
{
	struct fm_status *st = r->arg;
	struct topology *t = machines_topology(st->fm->ms);
	struct gitsync_status gst;
	struct hv_status *l = NULL;
	size_t n = hypervisors_list(st->fm->hs, "", &l), up = 0, vms = 0, nsubs;
	unsigned long long nsent;
	uint64_t nfree = 0;

	for (size_t i = 0; i < n; i++) {
		up += l[i].connected;
		vms += l[i].num_vms;
		nfree += free_addresses(&l[i]);
	}
	hv_status_list_free(l, n);
	gitsync_get_status(st->gs, &gst);
	fm_updates_stats(st->fm->up, &nsubs, &nsent);
	metrics_declare(f, "fleet_manager_build_info", METRICS_GAUGE, "Version of the server.");
	metrics_uint(f, "fleet_manager_build_info", 1, "version", st->version, NULL);
	metrics_declare(f, "fleet_manager_start_time_seconds", METRICS_GAUGE,
			"Start time of the process since the Unix epoch.");
	metrics_int(f, "fleet_manager_start_time_seconds", st->started.tv_sec, NULL);
	metrics_one(f, "fleet_manager_machines", METRICS_GAUGE, "Machines in the topology.",
		    t ? topology_nmachines(t) : 0);
	metrics_one(f, "fleet_manager_locations", METRICS_GAUGE, "Locations in the topology.",
		    t ? topology_nlocations(t) : 0);
	metrics_declare(f, "fleet_manager_hypervisors", METRICS_GAUGE,
			"Hypervisors by connection state.");
	metrics_uint(f, "fleet_manager_hypervisors", up, "state", "connected", NULL);
	metrics_uint(f, "fleet_manager_hypervisors", n - up, "state", "unreachable", NULL);
	metrics_one(f, "fleet_manager_vms", METRICS_GAUGE, "VMs the hypervisors report.", vms);
	metrics_one(f, "fleet_manager_free_addresses", METRICS_GAUGE,
		    "Free addresses in the hypervisors' pools.", nfree);
	metrics_one(f, "fleet_manager_update_watchers", METRICS_GAUGE,
		    "GetUpdates streams being served.", nsubs);
	metrics_one(f, "fleet_manager_updates_sent_total", METRICS_COUNTER,
		    "Update messages sent to GetUpdates watchers after their first.", nsent);
	metrics_one(f, "fleet_manager_topology_loads_total", METRICS_COUNTER,
		    "Topologies put in force.", gst.loads);
	metrics_one(f, "fleet_manager_topology_refusals_total", METRICS_COUNTER,
		    "Topology changes refused because they did not load.", gst.refusals);
	metrics_one(f, "fleet_manager_topology_git_failures_total", METRICS_COUNTER,
		    "Failed git clones or pulls.", gst.git_failures);
	metrics_one(f, "fleet_manager_topology_error", METRICS_GAUGE,
		    "1 while the latest topology change is refused.", *gst.error != '\0');
	metrics_one(f, "fleet_manager_topology_loaded_time_seconds", METRICS_GAUGE,
		    "When the topology in force was loaded.", (uint64_t)gst.loaded.tv_sec);
	metrics_one(f, "fleet_manager_tftpdata_requests_total", METRICS_COUNTER,
		    "Requests of /tftpdata/ pages.",
		    __atomic_load_n(&st->td->requests, __ATOMIC_RELAXED));
	metrics_one(f, "fleet_manager_tftpdata_not_found_total", METRICS_COUNTER,
		    "/tftpdata/ requests that matched no machine.",
		    __atomic_load_n(&st->td->not_found, __ATOMIC_RELAXED));
	metrics_one(f, "fleet_manager_tftpdata_bad_requests_total", METRICS_COUNTER,
		    "/tftpdata/ requests with a malformed query.",
		    __atomic_load_n(&st->td->bad, __ATOMIC_RELAXED));
	if (st->srpc != NULL)
		metrics_one(f, "fleet_manager_rpc_connections", METRICS_GAUGE,
			    "SRPC connections being served.", srpc_server_nconns(st->srpc));
	topology_unref(t);
	return 200;
}

static int page_healthz(struct http_req *r, FILE *f)
{
	(void)r;
	fputs("ok\n", f);
	return 200;
}

static const struct http_route routes[] = {
    {"/", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_HTML, page_overview, NULL},
    {"/machine", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_HTML, page_machine, NULL},
    {"/metrics", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, METRICS_CONTENT_TYPE, page_metrics, NULL},
    {"/healthz", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, page_healthz, NULL},
    {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_HTML, log_page_handler, &chrome},
};

struct http_routes fm_status_routes(struct fm_status *st)
{
	return (struct http_routes){routes, sizeof(routes) / sizeof(routes[0]), st};
}
