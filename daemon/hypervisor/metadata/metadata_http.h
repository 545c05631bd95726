/* The metadata HTTP server of one bridge (libmicrohttpd, plain HTTP, one thread). */
#ifndef SS_METADATA_HTTP_H
#define SS_METADATA_HTTP_H

#include "daemon/hypervisor/metadata/metadata_handler.h"

#include <stdint.h>

struct metadata_http;

struct metadata_http_stats {
	uint64_t requests; /* every request seen */
	uint64_t refused;  /* 400/403/405: metadata_request_check */
	uint64_t unknown;  /* 404 because the caller is no VM of this bridge */
};

/* Serves metadata on `listen_fd` (a listening TCP socket; ownership taken, also on
 * failure) for the VMs behind `bridge`. The caller is the TCP source address, looked
 * up through `src` (borrowed: must outlive the server); a VM whose record names another
 * bridge is answered 404. Connections idle for `idle_timeout` seconds are closed.
 * Returns 0 and sets *out, or a negative errno. */
int metadata_http_start(int listen_fd, const char *bridge, const struct metadata_vm_source *src,
			unsigned int idle_timeout, struct metadata_http **out);

/* Stops the server, closing its socket and connections; accepts NULL. */
void metadata_http_stop(struct metadata_http *h);

/* A snapshot of the counters. */
void metadata_http_get_stats(const struct metadata_http *h, struct metadata_http_stats *out);

#endif
