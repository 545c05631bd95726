/* hypervisor: the daemon's entry point. Sub-commands run (default), stop,
 * stop-vms-on-next-stop, check-vms, repair-vm-volume-allocations (spec §2, §9).
 * `run` goes through lib/server (signals, logging, TLS, SRPC and status pages on one
 * port) and adds its own parts: the state directory, the control socket, the manager
 * (state + libvirt) and the network services. SIGHUP reopens the log files (#39);
 * SIGINT/SIGTERM and "stop" leave the VMs running (libvirt owns them). */
#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/bridges.h"
#include "daemon/hypervisor/checkvms.h"
#include "daemon/hypervisor/control.h"
#include "daemon/hypervisor/hvflags.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/tftpboot.h"
#include "daemon/hypervisor/metadata/metadata.h"
#include "daemon/hypervisor/netsvc/boot_mhd.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "daemon/hypervisor/rpc/rpc.h"
#include "daemon/hypervisor/status/status.h"
#include "daemon/hypervisor/rpc/updates.h"
#include "daemon/hypervisor/upgrade/upgrade.h"
#include "flags.h"
#include "http.h"
#include "log.h"
#include "log_rpc.h"
#include "server.h"

#define BOOT_PATH "/boot/"

/* Everything run() sets up; static, so it stays reachable until the process exits
 * (VMs keep running; the manager and the network services are not freed). */
struct daemon {
	struct hv_config cfg;
	struct manager *m;
	int lock_fd;	      /* the state directory's lock */
	atomic_bool stop_vms; /* "stop-vms-on-next-stop" arrived */
	struct server *srv;   /* signals, logs, TLS, SRPC, the port */
	struct http_routes routes;
	struct control *ctl;
	struct updates *upd;
	struct status st;
	struct rpc r;
	struct netsvc *ns;
	struct tftpboot *tftpboot;
	struct metadata *md;
	struct metadata_vm_source mdsrc;
	struct upgrade *upg; /* the A/B upgrade agent */
};

static int test_memory(uint64_t mib)
{
	size_t len = (size_t)mib << 20;
	char *p = malloc(len);

	if (p == NULL)
		return 1;
	for (size_t i = 0; i < len; i += 4096)
		p[i] = 1;
	free(p);
	return 0;
}

static int on_control(const char *cmd, void *arg)
{
	struct daemon *d = arg;

	if (strcmp(cmd, "stop") == 0) {
		server_request_stop(d->srv);
		return 0;
	}
	if (strcmp(cmd, "stop-vms-on-next-stop") == 0) {
		atomic_store(&d->stop_vms, true);
		log_info("VMs will be shut down at the next stop");
		return 0;
	}
	return -EINVAL;
}

/* Subnets went to DHCP and to the metadata namespaces' routes (#15). */
static void push_subnets(struct daemon *d)
{
	struct manager_view v;
	struct hvapi_subnets copy;
	struct metadata_subnet *ms;

	if (manager_view(d->m, MANAGER_VIEW_SUBNETS, &v) < 0) {
		log_error("out of memory passing subnets on");
		return;
	}
	copy = v.subnets;
	if (d->ns != NULL && netsvc_set_api_subnets(d->ns, &copy) < 0)
		log_error("dhcpd: cannot take the new subnets");
	ms = calloc(copy.n + 1, sizeof(*ms));
	for (size_t i = 0; ms != NULL && i < copy.n; i++)
		ms[i] = (struct metadata_subnet){copy.v[i].ip_gateway, copy.v[i].ip_mask,
						 copy.v[i].disable_metadata};
	if (d->md != NULL && ms != NULL && metadata_set_subnets(d->md, ms, copy.n) < 0)
		log_error("metadata: cannot route to every subnet");
	free(ms);
	manager_view_clear(&v);
}

/* The manager's change callback: GetUpdates subscribers and the network services. */
static void on_change(void *arg, enum manager_change what, const char *ip)
{
	struct daemon *d = arg;

	updates_notify(d->upd, what, ip);
	if (what == MANAGER_CHANGED_SUBNETS)
		push_subnets(d);
}

static bool metadata_healthy(void *arg, char *why, size_t whysz)
{
	struct daemon *d = arg;

	if (d->md == NULL || metadata_ready(d->md))
		return true;
	snprintf(why, whysz, "metadata: not ready");
	return false;
}

/* DHCP/TFTP (netboot.md) and the metadata service on every bridge. Fatal on error,
 * as in the original. */
static int start_network(struct daemon *d, const struct bridges *br)
{
	const struct hv_config *c = &d->cfg;
	struct netsvc_config nc = {
	    .state_dir = c->state_dir,
	    .boot_template = c->network_boot_image,
	    .bridges_only = c->dhcp_server_on_bridges_only,
	    .tftp_root = *c->tftpboot_directory != '\0' ? c->tftpboot_directory : NULL,
	    /* Boot files are also served under BOOT_PATH on the daemon's own port
	     * (on_http); the DHCP server hands iPXE that URL. */
	    .http_port = c->http_boot ? (uint16_t)c->port_num : 0,
	    .http_path = BOOT_PATH,
	    /* Answers only the router solicitations of MACs holding a netboot lease,
	     * so iPXE does not wait ~13 s for IPv6 (ra6.c). */
	    .send_ra = true,
	};
	struct metadata_config mc = {.source = &d->mdsrc};
	char *why;
	int rc;

	d->ns = netsvc_new(&nc, &rpc_watch_netsvc_hooks);
	if (d->ns == NULL)
		return -ENOMEM;
	rc = netsvc_start(d->ns);
	if (rc < 0) {
		log_error("starting DHCP/TFTP: %s", strerror(-rc));
		return rc;
	}
	d->mdsrc = (struct metadata_vm_source){.lookup_by_ip = manager_metadata_lookup,
					       .trace = rpc_watch_metadata_trace,
					       .ctx = d->m};
	d->md = metadata_new(&mc);
	if (d->md == NULL)
		return -ENOMEM;
	rc = metadata_start(d->md);
	for (size_t i = 0; rc == 0 && i < br->n; i++)
		rc = metadata_add_bridge(d->md, br->v[i].name);
	if (rc < 0) {
		why = metadata_last_error(d->md);
		log_error("starting metadata service: %s", why ? why : strerror(-rc));
		free(why);
		return rc;
	}
	push_subnets(d);
	manager_set_net(d->m, d->ns, d->md);
	return 0;
}

static int set_tftp_root(void *arg, const char *dir)
{
	struct daemon *d = arg;

	return netsvc_set_tftp_root(d->ns, dir);
}

/* -tftpbootImageStream: the TFTP root follows the stream's latest image. */
static int start_tftpboot(struct daemon *d)
{
	const struct hv_config *c = &d->cfg;
	char err[1024] = "";
	int rc;

	if (c->tftpboot_image_stream == NULL || *c->tftpboot_image_stream == '\0')
		return 0;
	rc = tftpboot_start(c, d->m->objcache, c->tftpboot_check_interval_ns, set_tftp_root, d,
			    &d->tftpboot, err, sizeof(err));
	if (rc < 0)
		log_error("%s", err);
	else
		log_info("tftpboot: following image stream %s", c->tftpboot_image_stream);
	return rc;
}

/* The daemon's HTTP side: boot files under BOOT_PATH for netbooting clients (public:
 * a PXE ROM has no certificate; per-IP files are bound to the MAC that was given the
 * lease), the status pages (lib/http routes) for everything else. */
static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct daemon *d = cls;

	if (d->ns != NULL && strncmp(url, BOOT_PATH, strlen(BOOT_PATH)) == 0 &&
	    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
		return netsvc_mhd_boot(d->ns, c, url + strlen(BOOT_PATH));
	return http_handler(&d->routes, c, url, method, version, upload_data, upload_data_size,
			    con_cls);
}

/* Only registered when there are bridges: otherwise "log-only mode" without RPC. */
static int register_rpc(struct srpc_server *srv, void *arg)
{
	struct daemon *d = arg;
	int rc = log_rpc_register(srv);

	if (rc < 0 || !d->st.rpc_enabled)
		return rc;
	d->r = (struct rpc){.m = d->m, .cfg = &d->cfg, .updates = d->upd, .upg = d->upg};
	return rpc_register(srv, &d->r);
}

/* The port is closed: a control stop leaves (or, after stop-vms-on-next-stop, shuts
 * down) the VMs and exits 0; a signal leaves them running and exits 1. */
static int on_stop(void *arg, int signo)
{
	struct daemon *d = arg;
	bool stop_vms = atomic_load(&d->stop_vms);

	manager_flush_cache(d->m);
	if (signo != 0) {
		log_info("exiting on signal %u: VMs keep running", (unsigned)signo);
		return 1;
	}
	log_info("stop requested%s", stop_vms ? ": shutting VMs down" : ": VMs keep running");
	statedir_remove_root_cookie(d->cfg.state_dir);
	tftpboot_stop(d->tftpboot);
	d->tftpboot = NULL;
	netsvc_stop(d->ns);
	if (stop_vms)
		manager_close(d->m, true);
	log_info("exiting");
	return 0;
}

static int run(struct daemon *d)
{
	struct hv_config *c = &d->cfg;
	struct status *st = &d->st;
	struct tls_server_config tc;
	struct server_config sc = {
	    .prog = "hypervisor",
	    .port = c->port_num,
	    .srpc =
		{
		    .allow_unauthenticated = c->allow_unauthenticated_reads,
		},
	    .routes = &d->routes,
	    .http = on_http,
	    .http_arg = d,
	    .srpc_register = register_rpc,
	    .on_reopen = server_log_reopened,
	    .on_stop = on_stop,
	    .arg = d,
	};
	struct bridges br;
	char err[1024] = "", path[4096], *msg = NULL;
	int rc;

	server_flags_apply(&c->srv, &sc, &tc);
	if (geteuid() != 0) {
		fprintf(stderr, "Must run the Hypervisor as root\n");
		return 1;
	}
	rc = server_new(&sc, &d->srv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hypervisor: %s\n", err);
		return 1;
	}
	if (server_log_error(d->srv) < 0)
		fprintf(stderr, "hypervisor: cannot write logs to %s\n", c->srv.log_dir);
	log_info("hypervisor %s starting", SS_VERSION);

	/* The lock first (a second daemon must not touch the first one's socket), then
	 * the control socket: "stop" works while the rest starts up. */
	rc = statedir_create(c->state_dir);
	if (rc < 0) {
		log_error("mkdir %s: %s", c->state_dir, strerror(-rc));
		return 1;
	}
	d->lock_fd = statedir_lock(c->state_dir, &msg);
	if (d->lock_fd < 0) {
		log_error("%s", msg ? msg : "state directory is locked");
		free(msg);
		return 1;
	}
	statedir_path(path, sizeof(path), c->state_dir, "control");
	rc = control_start(path, on_control, d, &d->ctl);
	if (rc < 0) {
		log_error("control socket %s: %s", path, strerror(-rc));
		return 1;
	}

	rc = server_load_tls(d->srv, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return 1;
	}
	rc = manager_open(c, &d->m, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return 1;
	}
	d->upd = updates_new(d->m);
	if (d->upd == NULL)
		return 1;
	manager_set_notify(d->m, on_change, d);

	st->m = d->m;
	st->srpc = server_srpc(d->srv);
	st->srv = d->srv;
	st->version = SS_VERSION;
	gethostname(st->hostname, sizeof(st->hostname) - 1);
	st->rpc_enabled = bridges_scan(&br, "/sys/class/net", "/proc/net/vlan") > 0;
	if (!st->rpc_enabled) {
		log_warn("No bridges found: entering log-only mode");
	} else {
		if (start_network(d, &br) < 0 || start_tftpboot(d) < 0)
			return 1;
		st->ns = d->ns;
		st->tftpboot = d->tftpboot;
		st->ready[st->nready] = metadata_healthy;
		st->ready_arg[st->nready++] = d;
	}
	st->cfg = c;
	st->md = d->md;
	rc = upgrade_start(c, d->m->objcache, status_healthy, st, &d->upg, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return 1;
	}
	st->upg = d->upg;
	d->r.upg = d->upg;
	d->routes = status_routes(st);
	rc = server_listen(d->srv, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return 1;
	}
	log_info("serving on port %d", c->port_num);
	rc = server_wait(d->srv);
	/* VMs keep running; the process exit closes the control client waiting for EOF.
	 * The socket name goes now. */
	unlink(path);
	server_free(d->srv);
	return rc < 0 ? 1 : rc;
}

/* Runs the sub-command; returns the exit status. */
static int dispatch(struct daemon *d, struct flags *fs)
{
	const char *cmd;
	char err[512];
	int rc;

	if (d->cfg.test_memory_available > 0)
		return test_memory(d->cfg.test_memory_available);
	if (flags_nargs(fs) > 1) {
		flags_print_usage(fs, stderr);
		return 2;
	}
	cmd = flags_nargs(fs) == 1 ? flags_arg(fs, 0) : "run";
	if (strcmp(cmd, "run") == 0)
		return run(d);
	if (strcmp(cmd, "stop") == 0 || strcmp(cmd, "stop-vms-on-next-stop") == 0) {
		char path[4096];

		statedir_path(path, sizeof(path), d->cfg.state_dir, "control");
		rc = control_send(path, cmd, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "%s\n", err);
		return rc < 0 ? 1 : 0;
	}
	if (strcmp(cmd, "check-vms") == 0 || strcmp(cmd, "repair-vm-volume-allocations") == 0)
		return checkvms_run(&d->cfg, strcmp(cmd, "repair-vm-volume-allocations") == 0,
				    stdout);
	flags_print_usage(fs, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct flags *fs;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	fs = flags_new("hypervisor", HVFLAGS_USAGE);
	hvflags_define(fs, &d.cfg);
	flags_version(fs, "hypervisor " SS_VERSION);
	if (flags_load_config(fs, "/etc/hypervisor") < 0) {
		flags_free(fs);
		return 1;
	}
	flags_parse_or_exit(fs, argc, argv);
	rc = dispatch(&d, fs);
	flags_free(fs);
	return rc;
}
