/* imagetool: shared state of the admin tool for the image server (options, the lazily
 * dialled connection) and the helpers every subcommand uses. Subcommands return the
 * process exit status: 0, 1 on failure (after printing "Error <doing>: why"). */
#ifndef SS_IMAGETOOL_H
#define SS_IMAGETOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "flags.h"
#include "image/client.h"
#include "srpc.h"

struct imgtool_opts {
	const char *server_hostname;
	int server_port;
	const char *cert_directory;
	const char *ca_file;
	int64_t connect_timeout_ns;
	int64_t expires_in_ns; /* add: 0 = permanent */
	int64_t timeout_ns;    /* get, wait: how long the server waits for the image */
	bool ignore_expiring;  /* find-latest-image */
	bool quiet;	       /* no progress lines */
	int get_connections;   /* get: parallel connections for the objects */
};

struct imgtool {
	struct imgtool_opts o;
	struct flags *fs;
	struct tls_client *tls;
	struct srpc_client *client;
	char addr[300];
};

/* Prints "Error <doing>: <detail>" to stderr and returns 1 (for `return imgtool_fail`). */
int imgtool_fail(const char *doing, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connects once (later calls reuse the connection). 0, or prints the failure and
 * returns 1. */
int imgtool_dial(struct imgtool *t, const char *doing);

/* A new connection for a worker thread (same credentials): 0, or -errno with err. */
int imgtool_dial_new(struct imgtool *t, struct srpc_client **out, char *err, size_t errsz);

/* The user the image is created by: the CN of the first client certificate, else $USER.
 * Writes into buf and returns it. */
const char *imgtool_username(const struct imgtool *t, char *buf, size_t sz);

/* Fails (1) with the client's text for rc (a server error, or the transport's). */
int imgtool_rpc_fail(struct imgtool *t, const char *doing, int rc);

/* Checks an image or directory name before it goes to the server: 0, or prints
 * "imagetool: ..." and returns 2 (a bad argument). */
int imgtool_check_name(const char *name, bool is_image);

/* Removes a directory tree (rm -rf; symlinks are not followed). 0 or -errno. */
int imgtool_remove_tree(const char *path);

/* Progress lines on stderr for a transfer: nothing during the first two seconds,
 * then a line at most every two seconds ("get: 120.0 MiB of 200.0 MiB (60%),
 * 95.3 MB/s"), and a summary at the end if a line was printed. */
struct imgtool_progress {
	const char *what;
	bool quiet;
	struct timespec start, last;
	uint64_t done, total;
	bool printed;
};
void imgtool_progress_start(struct imgtool_progress *p, const char *what, bool quiet);
void imgtool_progress_cb(uint64_t done, uint64_t total, void *arg); /* arg: the progress */
void imgtool_progress_end(struct imgtool_progress *p);

/* Seconds since p->start. */
double imgtool_progress_elapsed(const struct imgtool_progress *p);

/* Formats a time as RFC 3339 UTC ("2026-12-07T02:47:16Z"), "never" for zero. */
const char *imgtool_time_text(const struct timespec *ts, char *buf, size_t sz);

/* ObjectServer.GetObjects without storing anything: fetches the objects and checks
 * each one's SHA-512. bad[i] is set true for an object whose bytes do not match its
 * hash. Returns the number of bad objects (>= 0), or -errno with err. */
int imgtool_verify_objects(struct imgtool *t, const struct image_hash *hashes,
			   const uint64_t *sizes, size_t n, bool *bad, struct imgtool_progress *p,
			   char *err, size_t errsz);

/* fetch.c: GetObjects of the objects into st over -getConnections connections (the
 * first is t->client, dialled), each object verified while written. 0, or -errno with
 * err. */
int imgtool_fetch_objects(struct imgtool *t, const struct image_hash *hashes, const uint64_t *sizes,
			  size_t n, struct objstore *st, struct imgtool_progress *p, char *err,
			  size_t errsz);

struct imgtool_cmd;
typedef int (*imgtool_cmd_fn)(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			      char *const argv[]);

struct imgtool_cmd {
	const char *name;
	const char *args; /* "NAME DIR" */
	int min_args, max_args;
	imgtool_cmd_fn fn;
	const char *doing; /* "adding image": errors say "Error adding image: ..." */
	const char *help;
};

/* cmd_add.c */
int imgtool_cmd_add(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
/* cmd_get.c */
int imgtool_cmd_get(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
int imgtool_cmd_check(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
/* cmd_info.c */
int imgtool_cmd_list(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
int imgtool_cmd_listdirs(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			 char *const argv[]);
int imgtool_cmd_mkdir(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
int imgtool_cmd_check_directory(struct imgtool *t, const struct imgtool_cmd *c, int argc,
				char *const argv[]);
int imgtool_cmd_find_latest(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			    char *const argv[]);
int imgtool_cmd_show(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);
int imgtool_cmd_show_metadata(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			      char *const argv[]);
int imgtool_cmd_estimate_usage(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			       char *const argv[]);
int imgtool_cmd_delete(struct imgtool *t, const struct imgtool_cmd *c, int argc,
		       char *const argv[]);
int imgtool_cmd_change_expiration(struct imgtool *t, const struct imgtool_cmd *c, int argc,
				  char *const argv[]);
int imgtool_cmd_get_expiration(struct imgtool *t, const struct imgtool_cmd *c, int argc,
			       char *const argv[]);
int imgtool_cmd_wait(struct imgtool *t, const struct imgtool_cmd *c, int argc, char *const argv[]);

#endif
