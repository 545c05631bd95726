/* imagetool: the administrator's tool for the image server (spec/fleet-and-images.md
 * §4-5), over SRPC with mutual TLS. Flags come from ~/.config/imagetool/flags.default,
 * then flags.extra, then the command line (which wins). Exit status: 0 success,
 * 1 failure, 2 bad usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imagetool.h"

static const char usage_head[] = "Usage: imagetool [flags...] command [args...]\n"
				 "Common flags:";

static void define_flags(struct imgtool *t)
{
	struct flags *fs = t->fs;
	struct imgtool_opts *o = &t->o;

	flags_string(fs, "imageServerHostname", &o->server_hostname, "localhost",
		     "Hostname of image server");
	flags_int(fs, "imageServerPortNum", &o->server_port, IMAGESERVER_DEFAULT_PORT,
		  "Port number of image server");
	flags_string(fs, "certDirectory", &o->cert_directory, "~/.ssl",
		     "Directory holding the client certificates (X.cert + X.key)");
	flags_string(fs, "CAfile", &o->ca_file, "/etc/ssl/CA.pem",
		     "CA certificate(s) the image server's certificate must chain to");
	flags_duration(fs, "connectTimeout", &o->connect_timeout_ns, 15000000000LL,
		       "Time to wait for the connection to the image server");
	flags_duration(fs, "expiresIn", &o->expires_in_ns, 0,
		       "How long before an added image expires (auto deletes); 0: never");
	flags_duration(fs, "timeout", &o->timeout_ns, 0,
		       "How long get and wait let the server wait for the image to appear");
	flags_bool(fs, "ignoreExpiring", &o->ignore_expiring, false,
		   "If true, find-latest-image skips images that expire");
	flags_bool(fs, "quiet", &o->quiet, false, "If true, print no progress lines");
	flags_int(fs, "getConnections", &o->get_connections, 2,
		  "Parallel connections get fetches the objects over (hashing on as many cores)");
}

static const struct imgtool_cmd commands[] = {
    {"add", "NAME DIR", 2, 2, imgtool_cmd_add, "adding image",
     "upload the tree DIR as image NAME (-expiresIn)"},
    {"change-image-expiration", "NAME DURATION", 2, 2, imgtool_cmd_change_expiration,
     "changing image expiration", "expire NAME DURATION from now (0: never)"},
    {"check", "NAME", 1, 1, imgtool_cmd_check, "checking image",
     "check that NAME exists and that every object it needs is intact"},
    {"check-directory", "DIR", 1, 1, imgtool_cmd_check_directory, "checking directory",
     "exit 0 if the directory exists, 1 if not"},
    {"delete", "NAME", 1, 1, imgtool_cmd_delete, "deleting image", "delete image NAME"},
    {"estimate-usage", "NAME", 1, 1, imgtool_cmd_estimate_usage, "estimating image usage",
     "print the bytes the image takes unpacked (4 KiB blocks)"},
    {"find-latest-image", "STREAM", 1, 1, imgtool_cmd_find_latest, "finding latest image",
     "print the newest image of STREAM (-ignoreExpiring)"},
    {"get", "NAME DIR", 2, 2, imgtool_cmd_get, "getting image",
     "fetch image NAME (or a stream's latest) into the new directory DIR, verified"},
    {"get-image-expiration", "NAME", 1, 1, imgtool_cmd_get_expiration, "getting image expiration",
     "print when NAME expires (\"never\" if permanent)"},
    {"list", "", 0, 0, imgtool_cmd_list, "listing images", "list every image"},
    {"listdirs", "", 0, 0, imgtool_cmd_listdirs, "listing directories",
     "list every directory (stream)"},
    {"mkdir", "DIR", 1, 1, imgtool_cmd_mkdir, "making directory",
     "make directory DIR and any missing parents"},
    {"show", "NAME", 1, 1, imgtool_cmd_show, "showing image",
     "show the metadata, size, object count and expiry of NAME"},
    {"show-metadata", "NAME", 1, 1, imgtool_cmd_show_metadata, "showing image metadata",
     "print the image without its file system, as JSON"},
    {"wait", "NAME", 1, 1, imgtool_cmd_wait, "waiting for image",
     "wait up to -timeout for image NAME to exist"},
};

static void print_usage(const struct imgtool *t, FILE *out)
{
	flags_print_usage(t->fs, out);
	fputs("Commands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char left[80];
		snprintf(left, sizeof(left), "%s%s%s", commands[i].name,
			 *commands[i].args ? " " : "", commands[i].args);
		fprintf(out, "  %-38s %s\n", left, commands[i].help);
	}
	fputs("NAME is \"<stream>/<leaf>\"; where get, show, check and estimate-usage take a "
	      "NAME, a stream means its latest image.\n",
	      out);
}

static const struct imgtool_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char *argv[])
{
	const struct imgtool_cmd *c;
	struct imgtool t;
	char *dir, *err = NULL;
	int rc, nargs;

	signal(SIGPIPE, SIG_IGN);
	memset(&t, 0, sizeof(t));
	t.fs = flags_new("imagetool", usage_head);
	if (!t.fs)
		return 1;
	define_flags(&t);
	dir = flags_user_config_dir("imagetool");
	if (flags_load_config(t.fs, dir) < 0) {
		rc = 2;
		goto out;
	}
	rc = flags_parse(t.fs, argc, argv, &err);
	if (rc == FLAGS_EHELP) {
		print_usage(&t, stdout);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "imagetool: %s\n(imagetool -h lists commands and flags)\n",
			err ? err : "bad flags");
		rc = 2;
		goto out;
	}
	nargs = flags_nargs(t.fs);
	if (nargs < 1) {
		fprintf(stderr, "imagetool: no command given\n");
		print_usage(&t, stderr);
		rc = 2;
		goto out;
	}
	c = find_command(flags_arg(t.fs, 0));
	if (!c) {
		fprintf(stderr, "imagetool: unknown command \"%s\" (imagetool -h lists them)\n",
			flags_arg(t.fs, 0));
		rc = 2;
		goto out;
	}
	if (nargs - 1 < c->min_args || nargs - 1 > c->max_args) {
		fprintf(stderr, "imagetool: usage: imagetool [flags...] %s%s%s\n", c->name,
			*c->args ? " " : "", c->args);
		rc = 2;
		goto out;
	}
	if (t.o.get_connections < 1 || t.o.get_connections > 16) {
		fprintf(stderr, "imagetool: -getConnections must be 1 to 16\n");
		rc = 2;
		goto out;
	}
	if (t.o.expires_in_ns < 0 || t.o.timeout_ns < 0) {
		fprintf(stderr, "imagetool: -expiresIn and -timeout cannot be negative\n");
		rc = 2;
		goto out;
	}
	rc = c->fn(&t, c, nargs - 1, flags_args(t.fs) + 1);
	srpc_client_close(t.client);
	tls_client_free(t.tls);
out:
	free(err);
	free(dir);
	flags_free(t.fs);
	return rc;
}
