/* The image server's HTTP pages on its port: / (streams, images with size and expiry,
 * object count and bytes), /metrics (Prometheus text), /healthz, and /logs for loopback
 * callers. Image names are not secret (any certificate may list them), so / is public. */
#ifndef IS_STATUS_H
#define IS_STATUS_H

#include <time.h>

#include "daemon/imageserver/gc.h"
#include "daemon/imageserver/store.h"
#include "http.h"

struct is_status {
	struct store *s;
	struct gc *gc;
	struct srpc_server *srpc;
	const char *version;
	struct timespec started;
};

/* The routing table of the pages (borrows st), for server_config.routes. */
struct http_routes is_status_routes(struct is_status *st);

#endif
