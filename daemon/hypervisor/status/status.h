/* HTTP status pages on the daemon's port (spec/hypervisor.md §10), served through
 * libmicrohttpd by the one-port listener. Public to anyone: /healthz, /metrics and a
 * minimal summary at /. Everything that names VMs, owners, addresses or shows logs and
 * boot logs is sensitive (weaknesses.md #4) and only answered to loopback callers:
 * the port speaks plain HTTP, so there is no client certificate to check. */
#ifndef HV_STATUS_H
#define HV_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include <microhttpd.h>

struct manager;
struct netsvc;
struct srpc_server;

/* Extra readiness checks for /healthz (DHCP, TFTP, metadata...). Return true when
 * ready; otherwise write a short reason to why. */
typedef bool (*status_ready_fn)(void *arg, char *why, size_t whysz);

struct status {
	struct manager *m;
	struct srpc_server *srpc; /* may be NULL */
	struct netsvc *ns;	  /* DHCP/TFTP, may be NULL */
	const char *version;
	char hostname[256];
	bool rpc_enabled; /* false: "log-only mode" (no bridges at start) */
	status_ready_fn ready[4];
	void *ready_arg[4];
	size_t nready;
};

/* The libmicrohttpd access handler; cls is a struct status. */
enum MHD_Result status_handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls);

/* Page builders (status_pages.c, status_metrics.c): write the body to f. */
void status_overview(struct status *s, FILE *f, bool full);
int status_list_vms(struct status *s, FILE *f, const char *state, const char *owner,
		    const char *output);
int status_show_vm(struct status *s, FILE *f, const char *ip, bool json);
void status_subnets(struct status *s, FILE *f);
void status_addresses(struct status *s, FILE *f);
void status_logs(struct status *s, FILE *f);
void status_metrics(struct status *s, FILE *f);
/* 200 and "OK\n", or 503 and the reasons. */
int status_healthz(struct status *s, FILE *f);

/* HTML helpers. */
void status_esc(FILE *f, const char *s);
void status_page_start(FILE *f, const char *title);
void status_page_end(FILE *f);

#endif
