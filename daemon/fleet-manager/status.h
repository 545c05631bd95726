/* status: the fleet manager's HTTP pages on its port: / (the locations as a tree, each
 * hypervisor with its connection state, health, image tags, free addresses and VM
 * count, and the latest refused topology edit), /machine?hostname=H (one machine),
 * /metrics (Prometheus text), /healthz, and /logs for loopback callers. Every value
 * shown is escaped. */
#ifndef SS_FM_STATUS_H
#define SS_FM_STATUS_H

#include <time.h>

#include "daemon/fleet-manager/gitsync.h"
#include "daemon/fleet-manager/methods.h"
#include "daemon/fleet-manager/tftpdata.h"
#include "http.h"

struct fm_status {
	struct fm_methods *fm; /* borrowed, as the rest */
	struct gitsync *gs;
	struct tftpdata *td;
	struct srpc_server *srpc;
	const char *version;
	struct timespec started;
};

/* The routing table of the pages (borrows st). */
struct http_routes fm_status_routes(struct fm_status *st);

#endif
