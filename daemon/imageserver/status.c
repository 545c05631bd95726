/* The image server's status page and /metrics (see status.h). */
#include "daemon/imageserver/status.h"

#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "html.h"
#include "json.h"
#include "log_page.h"
#include "metrics.h"
#include "srpc.h"

static void image_row(const struct store_entry *e, void *arg)
{
	FILE *f = arg;
	char size[32], when[64];

	flags_format_size(e->total_data_bytes, size, sizeof(size));
	fputs("<tr><td>", f);
	html_esc(f, e->name);
	fprintf(f, "</td><td>%s</td><td>%zu</td><td>", size, e->nobjs);
	if (e->expires_at.tv_sec == 0 && e->expires_at.tv_nsec == 0)
		fputs("never", f);
	else
		html_esc(f, sjson_format_time(&e->expires_at, when, sizeof(when)));
	fputs("</td><td>", f);
	html_esc(f, sjson_format_time(&e->created_on, when, sizeof(when)));
	fputs("</td></tr>\n", f);
}

static int page_overview(struct http_req *r, FILE *f)
{
	struct is_status *st = r->arg;
	size_t nimages, ndirs, n = 0;
	uint64_t nobjects, bytes;
	char buf[64], **dirs;

	store_counts(st->s, &nimages, &ndirs, &nobjects, &bytes);
	html_page_start(f, "imageserver status", NULL);
	fputs("<h1>imageserver status</h1>\n<table>\n", f);
	html_row(f, "Version", st->version);
	snprintf(buf, sizeof(buf), "%zu", nimages);
	html_row(f, "Images", buf);
	snprintf(buf, sizeof(buf), "%zu", ndirs);
	html_row(f, "Streams (directories)", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)nobjects);
	html_row(f, "Objects", buf);
	flags_format_size(bytes, buf, sizeof(buf));
	html_row(f, "Object bytes", buf);
	snprintf(buf, sizeof(buf), "%u", atomic_load(&st->s->gets_in_flight));
	html_row(f, "GetObjects in flight", buf);
	fputs("</table>\n<h2>Streams</h2>\n<ul>\n", f);
	dirs = store_list_dirs(st->s, &n);
	for (size_t i = 0; dirs != NULL && i < n; i++) {
		fputs("<li>", f);
		html_esc(f, dirs[i]);
		fputs("</li>\n", f);
	}
	store_strv_free(dirs);
	fputs("</ul>\n<h2>Images</h2>\n<table>\n<tr><th>Name</th><th>Data bytes</th>"
	      "<th>Objects</th><th>Expires</th><th>Created</th></tr>\n",
	      f);
	store_each_image(st->s, image_row, f);
	fputs("</table>\n", f);
	html_page_end(f);
	return 200;
}

static int page_metrics(struct http_req *r, FILE *f)
{
	struct is_status *st = r->arg;
	struct store *s = st->s;
	size_t nimages, ndirs;
	uint64_t nobjects, bytes, gc_runs, gc_removed;

	store_counts(s, &nimages, &ndirs, &nobjects, &bytes);
	pthread_mutex_lock(&s->mu);
	gc_runs = st->gc->runs;
	gc_removed = st->gc->objects_removed;
	pthread_mutex_unlock(&s->mu);
	http_req_set_type(r, METRICS_CONTENT_TYPE);
	metrics_declare(f, "imageserver_build_info", METRICS_GAUGE, "Version of the server.");
	metrics_uint(f, "imageserver_build_info", 1, "version", st->version, NULL);
	metrics_declare(f, "imageserver_start_time_seconds", METRICS_GAUGE,
			"Start time of the server (Unix time).");
	metrics_int(f, "imageserver_start_time_seconds", st->started.tv_sec, NULL);
	metrics_one(f, "imageserver_images", METRICS_GAUGE, "Images held.", nimages);
	metrics_one(f, "imageserver_directories", METRICS_GAUGE, "Directories (streams).", ndirs);
	metrics_one(f, "imageserver_objects", METRICS_GAUGE, "Objects in the object store.",
		    nobjects);
	metrics_one(f, "imageserver_object_bytes", METRICS_GAUGE,
		    "Bytes of the objects in the object store.", bytes);
	metrics_one(f, "imageserver_getobjects_in_flight", METRICS_GAUGE,
		    "GetObjects calls being served.", atomic_load(&s->gets_in_flight));
	metrics_one(f, "imageserver_bytes_served_total", METRICS_COUNTER,
		    "Object bytes sent by GetObjects.", atomic_load(&s->bytes_served));
	metrics_one(f, "imageserver_bytes_received_total", METRICS_COUNTER,
		    "Object bytes received by AddObjects.", atomic_load(&s->bytes_received));
	metrics_one(f, "imageserver_objects_added_total", METRICS_COUNTER,
		    "New objects stored by AddObjects.", atomic_load(&s->objects_added));
	metrics_one(f, "imageserver_gc_runs_total", METRICS_COUNTER,
		    "Garbage collections of unreferenced objects.", gc_runs);
	metrics_one(f, "imageserver_gc_objects_removed_total", METRICS_COUNTER,
		    "Unreferenced objects removed by garbage collection.", gc_removed);
	if (st->srpc != NULL) {
		metrics_one(f, "imageserver_rpc_connections", METRICS_GAUGE,
			    "SRPC connections being served.", srpc_server_nconns(st->srpc));
	}
	return 200;
}

static int page_healthz(struct http_req *r, FILE *f)
{
	(void)r;
	fputs("OK\n", f);
	return 200;
}

static const struct http_route routes[] = {
    {"/", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_HTML, page_overview, NULL},
    {"/metrics", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, METRICS_CONTENT_TYPE, page_metrics, NULL},
    {"/healthz", HTTP_ROUTE_EXACT, HTTP_ROUTE_PUBLIC, HTTP_TYPE_TEXT, page_healthz, NULL},
    {"/logs", HTTP_ROUTE_EXACT, HTTP_ROUTE_LOOPBACK, HTTP_TYPE_HTML, log_page_handler, NULL},
};

struct http_routes is_status_routes(struct is_status *st)
{
	return (struct http_routes){routes, sizeof(routes) / sizeof(routes[0]), st};
}
