/* HTTP status pages on the daemon's port (spec/hypervisor.md §10): a lib/http routing
 * table served through the one-port listener. Public to anyone: /healthz, /metrics and a
 * minimal summary at /. Everything that names VMs, owners, addresses or shows logs and
 * boot logs is sensitive (weaknesses.md #4) and only answered to loopback callers:
 * the port speaks plain HTTP, so there is no client certificate to check. */
#ifndef HV_STATUS_H
#define HV_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct hv_config;
struct hvapi_health;
struct manager;
struct metadata;
struct netsvc;
struct srpc_server;
struct server;
struct tftpboot;
struct upgrade;

/* Extra readiness checks for /healthz (DHCP, TFTP, metadata...). Return true when
 * ready; otherwise write a short reason to why. */
typedef bool (*status_ready_fn)(void *arg, char *why, size_t whysz);

struct status {
	struct manager *m;
	struct srpc_server *srpc;    /* may be NULL */
	struct server *srv;	     /* the port's admission counters; may be NULL */
	struct netsvc *ns;	     /* DHCP/TFTP, may be NULL */
	struct tftpboot *tftpboot;   /* -tftpbootImageStream, may be NULL */
	const struct hv_config *cfg; /* the state directory, -testFailHealthCheck */
	struct metadata *md;	     /* may be NULL (no bridges) */
	struct upgrade *upg;	     /* the upgrade agent, may be NULL */
	const char *version;
	char hostname[256];
	bool rpc_enabled; /* false: "log-only mode" (no bridges at start) */
	status_ready_fn ready[4];
	void *ready_arg[4];
	size_t nready;
};

/* GET /health's answer (health.c): h's strings are new (hvapi_health_clear).
 * 0 or -ENOMEM. */
int status_health(struct status *s, struct hvapi_health *h);
/* upgrade_health_fn over status_health (arg: the struct status). */
bool status_healthy(void *arg, char *why, size_t whysz);

/* The routing table of the pages of s (which it borrows), for server_config.routes. */
struct http_routes status_routes(struct status *s);

#endif
