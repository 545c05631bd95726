/* Status page routing, access control and response plumbing (see status.h). */
#include "daemon/hypervisor/status/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "json.h"
#include "srpc.h"

void status_esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

void status_page_start(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>", f);
	status_esc(f, title);
	fputs("</title>\n<style>\n"
	      "body{font-family:system-ui,sans-serif;margin:1.5em "
	      "2em;color:#222;background:#fafafa}\n"
	      "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
	      "table{border-collapse:collapse;background:#fff}\n"
	      "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\n"
	      "th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	      ".bad{color:#b00;font-weight:bold}.warn{color:#a60}.ok{color:#070}\n"
	      "nav a{margin-right:1em}pre{background:#fff;border:1px solid #ccc;padding:.5em;"
	      "overflow:auto;font-size:.85em}\n"
	      ".st-running{color:#070}.st-stopped{color:#555}.st-crashed,.st-failed{color:#b00}\n"
	      "</style></head><body>\n",
	      f);
}

void status_page_end(FILE *f)
{
	fputs("</body></html>\n", f);
}

static bool is_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char *body = strdup(text);

	return body ? reply(c, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

/* The single query key of "/showVM?10.0.0.5" style URLs; *n counts the keys. */
struct first_key {
	const char *key;
	const char *value;
	int n;
};

static enum MHD_Result collect_key(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct first_key *fk = cls;

	(void)kind;
	if (strcmp(key, "output") == 0) {
		fk->value = value;
		return MHD_YES;
	}
	if (fk->n++ == 0)
		fk->key = key;
	return MHD_YES;
}

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

enum page_kind { PAGE_HTML, PAGE_TEXT, PAGE_JSON, PAGE_METRICS };

static const char *content_type(enum page_kind k)
{
	switch (k) {
	case PAGE_HTML:
		return "text/html; charset=utf-8";
	case PAGE_JSON:
		return "application/json";
	case PAGE_METRICS:
		return "text/plain; version=0.0.4; charset=utf-8";
	default:
		return "text/plain; charset=utf-8";
	}
}

/* Builds the page for url into f; returns the HTTP status (0: unknown URL). */
static int route(struct status *s, struct MHD_Connection *c, const char *url, bool local, FILE *f,
		 enum page_kind *kind)
{
	struct first_key fk = {0};
	const char *output;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_key, &fk);
	output = fk.value ? fk.value : "";
	*kind = PAGE_HTML;
	if (strcmp(url, "/healthz") == 0) {
		*kind = PAGE_TEXT;
		return status_healthz(s, f);
	}
	if (strcmp(url, "/metrics") == 0) {
		*kind = PAGE_METRICS;
		status_metrics(s, f);
		return 200;
	}
	if (strcmp(url, "/") == 0) {
		status_overview(s, f, local);
		return 200;
	}
	if (!local)
		return 403;
	if (strcmp(url, "/listVMs") == 0) {
		const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
		const char *owner =
		    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "primaryOwner");

		*kind = strcmp(output, "json") == 0   ? PAGE_JSON
			: strcmp(output, "text") == 0 ? PAGE_TEXT
						      : PAGE_HTML;
		return status_list_vms(s, f, state, owner, output);
	}
	if (strcmp(url, "/showVM") == 0 || strcmp(url, "/showVmBootLog") == 0) {
		if (fk.n != 1)
			return 400;
		if (strcmp(url, "/showVmBootLog") == 0) {
			*kind = PAGE_TEXT;
			return boot_log(s, f, fk.key);
		}
		*kind = strcmp(output, "json") == 0 ? PAGE_JSON : PAGE_HTML;
		return status_show_vm(s, f, fk.key, *kind == PAGE_JSON);
	}
	if (strcmp(url, "/subnets") == 0) {
		status_subnets(s, f);
		return 200;
	}
	if (strcmp(url, "/addresses") == 0) {
		status_addresses(s, f);
		return 200;
	}
	if (strcmp(url, "/logs") == 0) {
		status_logs(s, f);
		return 200;
	}
	if (strcmp(url, "/showDhcpStatus") == 0) {
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
	*kind = PAGE_JSON;
	if (strcmp(url, "/listSubnets") == 0) {
		subnets_json(s, f);
		return 200;
	}
	if (strcmp(url, "/listAvailableAddresses") == 0 ||
	    strcmp(url, "/listRegisteredAddresses") == 0) {
		addresses_json(s, f, strcmp(url, "/listRegisteredAddresses") == 0);
		return 200;
	}
	if (strcmp(url, "/showVolumeDirectories") == 0) {
		volume_dirs(s, f, true);
		return 200;
	}
	if (strcmp(url, "/listVolumeDirectories") == 0) {
		*kind = PAGE_TEXT;
		volume_dirs(s, f, false);
		return 200;
	}
	return 0;
}

enum MHD_Result status_handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct status *s = cls;
	enum page_kind kind = PAGE_HTML;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int code;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, 405, "method not allowed\n");
	if (s->srpc != NULL) {
		int st = 0;

		if (srpc_server_http(s->srpc, method, url, &st, &body) == 0)
			return reply(c, (unsigned)st, "text/plain; charset=utf-8", body,
				     strlen(body));
	}
	f = open_memstream(&body, &len);
	if (f == NULL)
		return MHD_NO;
	code = route(s, c, url, is_loopback(c), f, &kind);
	fclose(f);
	if (code == 0 || code == 403 || code == 400 || code == 404) {
		free(body);
		return reply_text(c, code ? (unsigned)code : 404,
				  code == 403
				      ? "forbidden: this page is only served to local callers\n"
				  : code == 400 ? "bad request\n"
						: "404 page not found\n");
	}
	return reply(c, (unsigned)code, content_type(kind), body, len);
}
