/* imageserver: the daemon's entry point. Goes through lib/server (signals, logging,
 * TLS, SRPC and the status pages on one port) and adds its own parts: the store
 * (store.c), the methods (methods.c, objects.c) and the housekeeping thread (gc.c). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/imageserver/gc.h"
#include "daemon/imageserver/isflags.h"
#include "daemon/imageserver/methods.h"
#include "daemon/imageserver/status.h"
#include "daemon/imageserver/store.h"
#include "flags.h"
#include "log.h"
#include "log_rpc.h"
#include "server.h"

struct daemon {
	struct is_config cfg;
	struct server *srv;
	struct store store;
	struct methods m;
	struct gc gc;
	struct is_status st;
	struct http_routes routes;
};

/* Is one directory inside the other (or the same)? Objects scanned as images would be
 * moved aside as bad image files. Paths that do not exist yet are compared as given. */
static void dir_key(const char *path, char *out, size_t sz)
{
	char real[PATH_MAX];
	size_t n;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	n = strlen(real);
	while (n > 0 && real[n - 1] == '/')
		real[--n] = '\0';
	snprintf(out, sz, "%s/", real); /* "/a/b/": a prefix only of what lies beneath */
}

static bool dirs_overlap(const char *a, const char *b)
{
	char ka[PATH_MAX + 2], kb[PATH_MAX + 2];
	size_t la, lb;

	dir_key(a, ka, sizeof(ka));
	dir_key(b, kb, sizeof(kb));
	la = strlen(ka);
	lb = strlen(kb);
	return strncmp(ka, kb, la < lb ? la : lb) == 0;
}

/* A start-up failure goes to the log and, unless the log already goes there, to stderr:
 * whoever started the server sees why it did not start. */
static void start_failed(const struct is_config *c, const char *why)
{
	log_error("%s", why);
	if (!c->srv.also_log_to_stderr)
		fprintf(stderr, "imageserver: %s\n", why);
}

static int register_rpc(struct srpc_server *srv, void *arg)
{
	struct daemon *d = arg;
	int rc = methods_register_images(srv, &d->m);

	if (rc == 0)
		rc = methods_register_objects(srv, &d->m);
	return rc < 0 ? rc : log_rpc_register(srv);
}

static int on_stop(void *arg, int signo)
{
	struct daemon *d = arg;

	log_info("stopping%s", signo ? " on a signal" : "");
	gc_stop(&d->gc);
	store_stop_waiters(&d->store);
	return 0;
}

static int run(struct daemon *d)
{
	struct is_config *c = &d->cfg;
	struct tls_server_config tc;
	struct server_config sc = {
	    .prog = "imageserver",
	    .port = c->port_num,
	    .srpc =
		{
		    .max_message = (size_t)c->max_message_size,
		},
	    .routes = &d->routes,
	    .srpc_register = register_rpc,
	    .on_reopen = server_log_reopened,
	    .on_stop = on_stop,
	    .arg = d,
	};
	char err[1024] = "";
	int rc;

	server_flags_apply(&c->srv, &sc, &tc);
	if (dirs_overlap(c->image_dir, c->object_dir)) {
		fprintf(stderr,
			"imageserver: -imageDir %s and -objectDir %s must not contain "
			"each other\n",
			c->image_dir, c->object_dir);
		return 2;
	}
	if (c->max_concurrent_gets < 1 || c->gc_interval_ns < 0 || c->gc_grace_ns < 0) {
		fprintf(stderr, "imageserver: -maxConcurrentGetObjects must be at least 1, "
				"-gcInterval and -gcGracePeriod not negative\n");
		return 2;
	}
	rc = server_new(&sc, &d->srv, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "imageserver: %s\n", err);
		return 1;
	}
	if (server_log_error(d->srv) < 0)
		fprintf(stderr, "imageserver: cannot write logs to %s\n", c->srv.log_dir);
	log_info("imageserver %s starting", SS_VERSION);
	rc = server_load_tls(d->srv, err, sizeof(err));
	if (rc < 0) {
		start_failed(c, err);
		return 1;
	}
	rc = store_open(&d->store, c->image_dir, c->object_dir, (size_t)c->max_message_size, err,
			sizeof(err));
	if (rc < 0) {
		start_failed(c, err);
		return 1;
	}
	d->m = (struct methods){.s = &d->store,
				.max_get_image_wait_ns = c->max_get_image_wait_ns,
				.max_concurrent_gets = (unsigned)c->max_concurrent_gets};
	d->gc = (struct gc){
	    .s = &d->store, .interval_ns = c->gc_interval_ns, .grace_ns = c->gc_grace_ns};
	d->st = (struct is_status){
	    .s = &d->store, .gc = &d->gc, .srpc = server_srpc(d->srv), .version = SS_VERSION};
	clock_gettime(CLOCK_REALTIME, &d->st.started);
	d->routes = is_status_routes(&d->st);
	rc = gc_start(&d->gc);
	if (rc < 0) {
		snprintf(err, sizeof(err), "starting the expiry and GC thread: %s", strerror(-rc));
		start_failed(c, err);
		return 1;
	}
	rc = server_listen(d->srv, err, sizeof(err));
	if (rc < 0) {
		start_failed(c, err);
		gc_stop(&d->gc);
		return 1;
	}
	log_info("serving on port %d", server_port(d->srv));
	rc = server_wait(d->srv);
	gc_stop(&d->gc);
	store_stop_waiters(&d->store);
	/* GetImage calls released just now end their connections: let them, briefly, so
	 * that the exit does not cut a thread in the middle of its cleanup. */
	for (int i = 0; i < 200 && srpc_server_nconns(server_srpc(d->srv)) > 0; i++)
		usleep(10000);
	server_free(d->srv);
	/* The store stays: static, reachable until exit (see store_stop_waiters). */
	return rc < 0 ? 1 : rc;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct flags *fs;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	fs = flags_new("imageserver", ISFLAGS_USAGE);
	isflags_define(fs, &d.cfg);
	flags_version(fs, "imageserver " SS_VERSION);
	if (flags_load_config(fs, "/etc/imageserver") < 0) {
		flags_free(fs);
		return 1;
	}
	flags_parse_or_exit(fs, argc, argv);
	if (flags_nargs(fs) > 0) {
		fprintf(stderr, "imageserver: unexpected argument: %s\n", flags_arg(fs, 0));
		flags_print_usage(fs, stderr);
		flags_free(fs);
		return 2;
	}
	rc = run(&d);
	flags_free(fs);
	return rc;
}
