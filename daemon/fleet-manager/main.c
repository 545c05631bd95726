/* fleet-manager: the daemon's entry point. Goes through lib/server (signals, logging,
 * TLS, SRPC and the HTTP pages on one port) and wires its parts: the topology's source
 * (gitsync.c), the machines and their local tags (machines.c), the hypervisors
 * (hypervisors.c), the GetUpdates fan-out (updates.c), the methods (methods.c), the
 * installers' pages (tftpdata.c) and the status pages (status.c). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/fleet-manager/fmflags.h"
#include "daemon/fleet-manager/gitsync.h"
#include "daemon/fleet-manager/hypervisors.h"
#include "daemon/fleet-manager/machines.h"
#include "daemon/fleet-manager/methods.h"
#include "daemon/fleet-manager/power.h"
#include "daemon/fleet-manager/status.h"
#include "daemon/fleet-manager/tftpdata.h"
#include "daemon/fleet-manager/updates.h"
#include "flags.h"
#include "fsutil.h"
#include "log.h"
#include "log_rpc.h"
#include "server.h"

struct daemon {
	struct fm_config cfg;
	struct server *srv;
	struct machines *ms;
	struct hypervisors *hs;
	struct fm_updates *up;
	struct gitsync *gs;
	struct power_config power;
	struct fm_methods m;
	struct tftpdata td;
	struct fm_status st;
	struct http_routes routes;
	int lock_fd;
};

/* A start-up failure goes to the log and, unless the log already goes there, to
 * stderr: whoever started the server sees why it did not start. */
static void start_failed(const struct fm_config *c, const char *why)
{
	log_error("%s", why);
	if (!c->srv.also_log_to_stderr)
		fprintf(stderr, "fleet-manager: %s\n", why);
}

static int register_rpc(struct srpc_server *srv, void *arg)
{
	struct daemon *d = arg;
	int rc = fm_methods_register(srv, &d->m);

	return rc < 0 ? rc : log_rpc_register(srv);
}

static int on_stop(void *arg, int signo)
{
	struct daemon *d = arg;

	log_info("stopping%s", signo ? " on a signal" : "");
	fm_updates_shutdown(d->up);
	return 0;
}

/* A new topology from gitsync: the hypervisors follow it, the machines put it in
 * force and the watchers learn what changed. */
static void on_topology(void *arg, struct topology *t)
{
	struct daemon *d = arg;
	struct fmapi_update u = {0};

	log_info("topology %.12s in force: %zu machines in %zu locations", topology_digest(t),
		 topology_nmachines(t), topology_nlocations(t));
	if (d->hs != NULL)
		hypervisors_set_topology(d->hs, t);
	machines_set_topology(d->ms, t, &u);
	fm_updates_publish(d->up, &u);
	fmapi_update_clear(&u);
}

static void on_hv_update(void *arg, const struct fmapi_update *u)
{
	struct daemon *d = arg;

	fm_updates_publish(d->up, u);
}

/* The state directory: made if missing, and locked (one fleet manager per directory). */
static int open_state_dir(struct daemon *d, char *err, size_t errsz)
{
	const char *dir = d->cfg.state_dir;
	char *why = NULL;
	int rc = fsutil_mkdir_p(dir, 0755);

	if (rc == 0 && access(dir, R_OK | W_OK | X_OK) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errsz, "state directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	d->lock_fd = fsutil_lock_dir(dir, "fleet-manager", true, &why);
	if (d->lock_fd < 0) {
		snprintf(err, errsz, "%s", why ? why : strerror(-d->lock_fd));
		free(why);
		return d->lock_fd;
	}
	return 0;
}

static int start_parts(struct daemon *d, struct tls_client_config *tcc, char *err, size_t errsz)
{
	struct fm_config *c = &d->cfg;
	struct hypervisors_config hc = {
	    .state_dir = c->state_dir,
	    .tls = tcc,
	    .port = c->hypervisor_port,
	    .manage = c->manage_hypervisors,
	    .desired = (unsigned)c->desired_pool,
	    .min = (unsigned)c->min_pool,
	    .max = (unsigned)c->max_pool,
	    .on_update = on_hv_update,
	    .arg = d,
	};
	struct gitsync_config gc = {
	    .dir = c->topology_dir,
	    .repository = c->topology_repository,
	    .branch = c->topology_branch,
	    .state_dir = c->state_dir,
	    .interval_ns = c->check_interval_ns,
	    .git_timeout_ns = c->git_timeout_ns,
	    .on_topology = on_topology,
	    .arg = d,
	};
	char sub[1024];
	int rc = open_state_dir(d, err, errsz);

	if (rc < 0)
		return rc;
	rc = machines_new(c->state_dir, &d->ms, sub, sizeof(sub));
	if (rc < 0) {
		snprintf(err, errsz, "local tags: %s", sub);
		return rc;
	}
	d->up = fm_updates_new();
	if (d->up == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = hypervisors_new(&hc, &d->hs, sub, sizeof(sub));
	if (rc < 0) {
		snprintf(err, errsz, "hypervisors: %s", sub);
		return rc;
	}
	rc = gitsync_start(&gc, &d->gs, sub, sizeof(sub));
	if (rc < 0)
		snprintf(err, errsz, "topology %s: %s",
			 *c->topology_dir ? c->topology_dir : c->topology_repository, sub);
	return rc;
}

static void wire(struct daemon *d)
{
	struct fm_config *c = &d->cfg;

	d->power = (struct power_config){
	    .ipmitool = c->ipmitool,
	    .ipmi_username = c->ipmi_username,
	    .ipmi_password_file = c->ipmi_password_file,
	    .ipmi_cipher_suite = c->ipmi_cipher_suite,
	    .wake_on_lan_port = c->wake_on_lan_port,
	};
	d->m = (struct fm_methods){.ms = d->ms,
				   .hs = d->hs,
				   .up = d->up,
				   .power = &d->power,
				   .manage = c->manage_hypervisors,
				   .hypervisor_port = c->hypervisor_port};
	d->st = (struct fm_status){.fm = &d->m,
				   .gs = d->gs,
				   .td = &d->td,
				   .srpc = server_srpc(d->srv),
				   .version = SS_VERSION};
	clock_gettime(CLOCK_REALTIME, &d->st.started);
	d->routes = fm_status_routes(&d->st);
	d->td = (struct tftpdata){.fm = &d->m,
				  .image_server_hostname = c->image_server_hostname,
				  .image_server_port = c->image_server_port_num,
				  .routes = &d->routes};
}

static void stop_parts(struct daemon *d)
{
	size_t nsubs = 0;
	unsigned long long nsent;

	gitsync_stop(d->gs);
	/* A GetUpdates handler still writing a large first message when the server was
	 * freed borrows the parts: give it time to see the end, and keep the parts
	 * (reachable until exit) if it does not. */
	for (int i = 0; d->up != NULL && i < 500; i++) {
		fm_updates_stats(d->up, &nsubs, &nsent);
		if (nsubs == 0)
			break;
		usleep(10000);
	}
	if (nsubs > 0) {
		log_warn("%zu GetUpdates streams still running at exit", nsubs);
		fsutil_unlock(d->lock_fd);
		return;
	}
	hypervisors_free(d->hs);
	fm_updates_free(d->up);
	machines_free(d->ms);
	fsutil_unlock(d->lock_fd);
}

static int run(struct daemon *d)
{
	struct fm_config *c = &d->cfg;
	struct tls_server_config tc;
	struct tls_client_config tcc;
	struct server_config sc = {
	    .prog = "fleet-manager",
	    .port = c->port_num,
	    .http = tftpdata_http,
	    .http_arg = &d->td,
	    .srpc_register = register_rpc,
	    .on_reopen = server_log_reopened,
	    .on_stop = on_stop,
	    .arg = d,
	};
	char err[2048] = "";
	int rc;

	server_flags_apply(&c->srv, &sc, &tc);
	tcc = (struct tls_client_config){
	    .cert_dir = *c->client_cert_dir ? c->client_cert_dir : NULL,
	    .cert_file = c->srv.cert_file,
	    .key_file = c->srv.key_file,
	    .ca_file = *c->hypervisor_ca_file ? c->hypervisor_ca_file : c->srv.ca_file,
	};
	rc = server_new(&sc, &d->srv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "fleet-manager: %s\n", err);
		return 1;
	}
	if (server_log_error(d->srv) < 0)
		fprintf(stderr, "fleet-manager: cannot write logs to %s\n", c->srv.log_dir);
	log_info("fleet-manager %s starting", SS_VERSION);
	rc = server_load_tls(d->srv, err, sizeof(err));
	if (rc == 0)
		rc = start_parts(d, &tcc, err, sizeof(err));
	if (rc == 0) {
		wire(d);
		rc = server_listen(d->srv, err, sizeof(err));
	}
	if (rc < 0) {
		start_failed(c, err);
		if (d->up != NULL)
			fm_updates_shutdown(d->up);
		server_free(d->srv);
		stop_parts(d);
		return 1;
	}
	log_info("serving on port %d%s", server_port(d->srv),
		 c->manage_hypervisors ? ", managing hypervisors" : ", read-only");
	rc = server_wait(d->srv);
	server_free(d->srv);
	stop_parts(d);
	return rc < 0 ? 1 : rc;
}

int main(int argc, char **argv)
{
	static struct daemon d = {.lock_fd = -1};
	char err[512];
	struct flags *fs;
	int rc;

	/* One thread per hypervisor: glibc's default of up to 8 arenas per core would
	 * keep memory freed by one thread from the others (RSS at 10,000 hypervisors). */
	mallopt(M_ARENA_MAX, 2);
	signal(SIGPIPE, SIG_IGN);
	fs = flags_new("fleet-manager", FMFLAGS_USAGE);
	fmflags_define(fs, &d.cfg);
	flags_version(fs, "fleet-manager " SS_VERSION);
	if (flags_load_config(fs, "/etc/fleet-manager") < 0) {
		flags_free(fs);
		return 1;
	}
	flags_parse_or_exit(fs, argc, argv);
	if (flags_nargs(fs) > 0) {
		fprintf(stderr, "fleet-manager: unexpected argument: %s\n", flags_arg(fs, 0));
		flags_print_usage(fs, stderr);
		flags_free(fs);
		return 2;
	}
	if (fmflags_check(&d.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-manager: %s\n", err);
		flags_free(fs);
		return 2;
	}
	if (*d.cfg.topology_dir == '\0' && *d.cfg.topology_repository == '\0') {
		fprintf(stderr, "fleet-manager: no topology: give -topologyDir or "
				"-topologyRepository\n");
		flags_free(fs);
		return 1;
	}
	rc = run(&d);
	flags_free(fs);
	return rc;
}
