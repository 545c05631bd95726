/* The status pages' routing table (see status.h) and the small pages that need no more
 * than a few lines: boot logs, JSON lists, volume directories, DHCP status. */
#include "daemon/hypervisor/status/status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "daemon/hypervisor/status/status_pages.h"
#include "json.h"
#include "log_page.h"
#include "metrics.h"

/* Boot log of a VM: text with CRLF converted to LF. */
static int boot_log(struct status *s, FILE *f, const char *ip)
{
	struct vm *vm = manager_find_str(s->m, ip);
	char path[4096];
	FILE *in;
	int ch, prev = -1;

	if (vm == NULL)
		return 404;
	vm_path(vm, "bootlog", path, sizeof(path));
	vm_unref(vm);
	in = fopen(path, "r");
	if (in == NULL)
		return 200;
	while ((ch = fgetc(in)) != EOF) {
		if (prev == '\r' && ch != '\n')
			fputc('\r', f);
		if (ch != '\r')
			fputc(ch, f);
		prev = ch;
	}
	fclose(in);
	return 200;
}

static void json_out(FILE *f, json_t *j)
{
	char *text = j ? sjson_dumps(j, SJSON_PRETTY) : NULL;

	if (text != NULL)
		fputs(text, f);
	free(text);
	json_decref(j);
}

static void addresses_json(struct status *s, FILE *f, bool registered)
{
	struct manager_view v;
	const struct hvapi_addresses *l;
	json_t *a = json_array();

	if (manager_view(s->m, MANAGER_VIEW_POOL, &v) == 0) {
		l = registered ? &v.pool.registered : &v.pool.free;
		for (size_t i = 0; a != NULL && i < l->n; i++)
			json_array_append_new(a, hvapi_address_to_json(&l->v[i]));
		manager_view_clear(&v);
	}
	json_out(f, a);
}

static void subnets_json(struct status *s, FILE *f)
{
	struct manager_view v;
	json_t *j = NULL;

	if (manager_view(s->m, MANAGER_VIEW_SUBNETS, &v) == 0) {
		j = hvapi_subnets_to_json(&v.subnets);
		manager_view_clear(&v);
	}
	json_out(f, j);
}

static void volume_dirs(struct status *s, FILE *f, bool json)
{
	json_t *a = json ? json_array() : NULL;

	for (size_t i = 0; i < s->m->vols.n; i++) {
		const struct volumes_dir *d = &s->m->vols.v[i];

		if (!json)
			fprintf(f, "%s\n", d->path);
		else if (a != NULL)
			json_array_append_new(a, json_pack("{s:s, s:b, s:s}", "Directory", d->path,
							   "CanTrim", d->can_trim, "MountPoint",
							   d->mount_point ? d->mount_point : ""));
	}
	if (json)
		json_out(f, a);
}

static const char *output_arg(const struct http_req *r)
{
	const char *output = http_req_arg(r, "output");

	return output != NULL ? output : "";
}

static int page_healthz(struct http_req *r, FILE *f)
{
	return status_healthz(r->arg, f);
}

static int page_health(struct http_req *r, FILE *f)
{
	return status_health_page(r->arg, f);
}

static int page_metrics(struct http_req *r, FILE *f)
{
	status_metrics(r->arg, f);
	return 200;
}

/* The summary for everyone, the details for local callers. */
static int page_overview(struct http_req *r, FILE *f)
{
	status_overview(r->arg, f, r->loopback);
	return 200;
}

static int page_list_vms(struct http_req *r, FILE *f)
{
	const char *output = output_arg(r);

	http_req_set_type(r, strcmp(output, "json") == 0   ? HTTP_TYPE_JSON
			     : strcmp(output, "text") == 0 ? HTTP_TYPE_TEXT
							   : HTTP_TYPE_HTML);
	return status_list_vms(r->arg, f, http_req_arg(r, "state"), http_req_arg(r, "primaryOwner"),
			       output);
}

/* "/showVM?10.0.0.5" (and "&output=json"). */
static int page_show_vm(struct http_req *r, FILE *f)
{
	const char *ip = http_req_lone_key(r, "output");
	bool json = strcmp(output_arg(r), "json") == 0;

	if (ip == NULL)
		return 400;
	if (json)
		http_req_set_type(r, HTTP_TYPE_JSON);
	return status_show_vm(r->arg, f, ip, json);
}

static int page_boot_log(struct http_req *r, FILE *f)
{
	const char *ip = http_req_lone_key(r, "output");

	return ip != NULL ? boot_log(r->arg, f, ip) : 400;
}

static int page_subnets(struct http_req *r, FILE *f)
{
	status_subnets(r->arg, f);
	return 200;
}

static int page_addresses(struct http_req *r, FILE *f)
{
	status_addresses(r->arg, f);
	return 200;
}

static int page_dhcp(struct http_req *r, FILE *f)
{
	struct status *s = r->arg;
	json_t *j = s->ns ? netsvc_status_json(s->ns) : NULL;
	char *text = j ? sjson_dumps(j, SJSON_PRETTY) : NULL;

	status_page_start(f, "DHCP status");
	fputs("<h1>DHCP, TFTP: interfaces and leases</h1>\n<pre>", f);
	status_esc(f, text ? text : "DHCP server not running");
	fputs("</pre>\n", f);
	status_page_end(f);
	free(text);
	json_decref(j);
	return 200;
}

static int page_list_subnets(struct http_req *r, FILE *f)
{
	subnets_json(r->arg, f);
	return 200;
}

/* /listAvailableAddresses, /listRegisteredAddresses */
static int page_list_addresses(struct http_req *r, FILE *f)
{
	addresses_json(r->arg, f, strcmp(r->url, "/listRegisteredAddresses") == 0);
	return 200;
}

/* /showVolumeDirectories (JSON), /listVolumeDirectories (text) */
static int page_volume_dirs(struct http_req *r, FILE *f)
{
	volume_dirs(r->arg, f, strcmp(r->url, "/showVolumeDirectories") == 0);
	return 200;
}

#define PUBLIC HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC
#define LOCAL HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK

static const struct http_route routes[] = {
    {"/healthz", PUBLIC, HTTP_TYPE_TEXT, page_healthz, NULL},
    {"/health", PUBLIC, HTTP_TYPE_JSON, page_health, NULL},
    {"/metrics", PUBLIC, METRICS_CONTENT_TYPE, page_metrics, NULL},
    {"/", PUBLIC, HTTP_TYPE_HTML, page_overview, NULL},
    {"/listVMs", LOCAL, HTTP_TYPE_HTML, page_list_vms, NULL},
    {"/showVM", LOCAL, HTTP_TYPE_HTML, page_show_vm, NULL},
    {"/showVmBootLog", LOCAL, HTTP_TYPE_TEXT, page_boot_log, NULL},
    {"/subnets", LOCAL, HTTP_TYPE_HTML, page_subnets, NULL},
    {"/addresses", LOCAL, HTTP_TYPE_HTML, page_addresses, NULL},
    {"/logs", LOCAL, HTTP_TYPE_HTML, log_page_handler, &status_chrome},
    {"/showDhcpStatus", LOCAL, HTTP_TYPE_HTML, page_dhcp, NULL},
    {"/listSubnets", LOCAL, HTTP_TYPE_JSON, page_list_subnets, NULL},
    {"/listAvailableAddresses", LOCAL, HTTP_TYPE_JSON, page_list_addresses, NULL},
    {"/listRegisteredAddresses", LOCAL, HTTP_TYPE_JSON, page_list_addresses, NULL},
    {"/showVolumeDirectories", LOCAL, HTTP_TYPE_JSON, page_volume_dirs, NULL},
    {"/listVolumeDirectories", LOCAL, HTTP_TYPE_TEXT, page_volume_dirs, NULL},
    /* Off loopback, every other URL is forbidden rather than not found: a remote caller
     * learns nothing about which pages exist. */
    {"/", HTTP_ROUTE_PREFIX, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_TEXT, http_not_found, NULL},
};

#undef PUBLIC
#undef LOCAL

struct http_routes status_routes(struct status *s)
{
	return (struct http_routes){routes, sizeof(routes) / sizeof(routes[0]), s};
}
