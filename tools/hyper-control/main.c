/* hyper-control: the administrators' tool for hypervisors, the fleet manager, the
 * imageserver and the installer. Flags come from /etc/config/hyper-control (errors are
 * warnings), then ~/.config/hyper-control (errors are fatal), each flags.default then
 * flags.extra, then the command line (which wins). Exit status: 0 success, 1 failure,
 * 2 bad usage. Spec: spec/hyper-control.md §1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "hyperctl.h"

#define HC_SYSCONFDIR "/etc/config/hyper-control"
#define HC_MAX_TAGS_FILE (16u << 20)

static const char usage_head[] = "Usage: hyper-control [flags...] command [args...]\n"
				 "Flags:";

static const struct api_field tags_field = {.kind = API_MAP, .type = &hvapi_tag_type};

/* Log options (spec §1): the progress and debug lines on stderr. */
static struct {
	int debug_level;
	bool datestamps, subseconds;
} log_opts;

/* Adds "key=value,key2=value2" to t; "@file.json" merges a JSON object of tags. */
static int add_tags(struct hvapi_tags *t, const char *value, char **err)
{
	char *copy, *save = NULL, *tok;

	if (value[0] == '@') {
		struct hvapi_tags ft = {0, NULL};
		struct sjson_dec d;
		json_t *j;
		int rc = sjson_load_file(value + 1, HC_MAX_TAGS_FILE, &j, err);

		if (rc < 0)
			return rc;
		sjson_dec_init(&d, value + 1);
		rc = api_decode_value(&tags_field, &d, j, &ft);
		json_decref(j);
		if (rc < 0) {
			*err = sjson_dec_take_error(&d);
			sjson_dec_fini(&d);
			return -EINVAL;
		}
		sjson_dec_fini(&d);
		for (size_t i = 0; i < ft.n && rc == 0; i++)
			rc = hvapi_tags_set(t, ft.v[i].key, ft.v[i].value);
		api_clear_value(&tags_field, &ft);
		return rc;
	}
	if (!(copy = strdup(value)))
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			if (asprintf(err, "malformed tag: \"%s\"", tok) < 0)
				*err = NULL;
			free(copy);
			return -EINVAL;
		}
		*eq = '\0';
		if (hvapi_tags_set(t, tok, eq + 1) < 0) {
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	return 0;
}

/* -hypervisorTags: each occurrence adds (k=v,... or @file.json); later keys win. */
static int set_tags(void *arg, const char *value, char **err)
{
	struct hvapi_tags *t = arg, nt = {0, NULL};
	int rc;

	for (size_t i = 0; i < t->n; i++)
		if (hvapi_tags_set(&nt, t->v[i].key, t->v[i].value) < 0) {
			api_clear_value(&tags_field, &nt);
			return -ENOMEM;
		}
	if ((rc = add_tags(&nt, value, err)) < 0) {
		api_clear_value(&tags_field, &nt);
		return rc;
	}
	api_clear_value(&tags_field, t);
	*t = nt;
	return 0;
}

/* -netbootFiles: tftpName=localPath,... (replaces the earlier value). */
static int set_files(void *arg, const char *value, char **err)
{
	struct hvapi_tags *t = arg, nt = {0, NULL};
	int rc;

	if (value[0] == '@') {
		*err = strdup("tftpName=localPath,... expected");
		return -EINVAL;
	}
	if ((rc = add_tags(&nt, value, err)) < 0) {
		api_clear_value(&tags_field, &nt);
		return rc;
	}
	api_clear_value(&tags_field, t);
	*t = nt;
	return 0;
}

static void define_flags(struct hc *h)
{
	struct flags *fs = h->fs;
	struct hc_opts *o = &h->o;

	flags_string(fs, "hypervisorHostname", &o->hypervisor_hostname, "",
		     "Hostname of the hypervisor");
	flags_int(fs, "hypervisorPortNum", &o->hypervisor_port, HVAPI_DEFAULT_PORT,
		  "Port number of the hypervisor");
	flags_string(fs, "fleetManagerHostname", &o->fleet_manager_hostname, "",
		     "Hostname of the Fleet Manager");
	flags_int(fs, "fleetManagerPortNum", &o->fleet_manager_port, FMAPI_DEFAULT_PORT,
		  "Port number of the Fleet Manager");
	flags_string(fs, "imageServerHostname", &o->image_server_hostname, "localhost",
		     "Hostname of the image server");
	flags_int(fs, "imageServerPortNum", &o->image_server_port, 6971,
		  "Port number of the image server");
	flags_string(fs, "installerImageStream", &o->installer_image_stream, "",
		     "Name of the default image stream for the installer");
	flags_int(fs, "installerPortNum", &o->installer_port, 6978, "Port number of the installer");
	flags_string(fs, "location", &o->location, "",
		     "Location to search for hypervisors (rollout-image, netboot-vm, get-updates)");
	flags_string(fs, "topologyDir", &o->topology_dir, "",
		     "Directory (Git working copy) of the fleet topology");
	flags_duration(fs, "connectTimeout", &o->connect_timeout_ns, 15000000000LL,
		       "Time limit for connecting to servers (rollout-image: ListVMs)");
	flags_duration(fs, "lockTimeout", &o->lock_timeout_ns, 15000000000LL,
		       "Duration to hold a lock (hold-lock, hold-vm-lock)");
	flags_bool(fs, "writeLock", &o->write_lock, false,
		   "If true, hold a write lock rather than a read lock");
	flags_uint64(fs, "maxConcurrent", &o->max_concurrent, 0,
		     "rollout-image: maximum number of upgrades at once, each phase (0: no limit)");
	flags_bool(fs, "forceImageChange", &o->force_image_change, false,
		   "If true, allow rollout-image to change the image stream of a hypervisor");
	flags_string(fs, "preUpdateCommand", &o->pre_update_command, "",
		     "Command to run before updating a hypervisor (argument: its hostname)");
	flags_string(fs, "postUpdateCommand", &o->post_update_command, "",
		     "Command to run after updating a hypervisor (argument: its hostname)");
	flags_duration(fs, "bakeTime", &o->bake_time_ns, 60000000000LL,
		       "rollout-image: time an upgraded hypervisor must stay healthy");
	flags_uint64(fs, "maxFailures", &o->max_failures, 0,
		     "rollout-image: failed hypervisors tolerated before it stops");
	flags_duration(fs, "pollInterval", &o->poll_interval_ns, 1000000000LL,
		       "rollout-image: interval of the health and upgrade status polls");
	flags_duration(fs, "upgradeTimeout", &o->upgrade_timeout_ns, 900000000000LL,
		       "rollout-image: time a hypervisor may take to run the new image");
	flags_duration(fs, "healthTimeout", &o->health_timeout_ns, 60000000000LL,
		       "rollout-image: time a hypervisor's health may stay unreachable");
	flags_int(fs, "rolloutWorkers", &o->rollout_workers, 16,
		  "rollout-image: threads (and connections in use) polling hypervisors");
	flags_string(fs, "rolloutStateFile", &o->rollout_state_file, "",
		     "rollout-image: state file (default "
		     "~/.cache/hyper-control/rollout-<location>-<image>.json)");
	flags_uint64(fs, "maxUpdates", &o->max_updates, 0,
		     "Maximum number of updates to print (get-updates; 0: no limit)");
	flags_bool(fs, "ignoreMissingLocalTags", &o->ignore_missing_local_tags, false,
		   "If true, ignore (do not fail on) missing local tags");
	flags_func(fs, "hypervisorTags", "key=value,...|@file.json", set_tags, &o->hypervisor_tags,
		   "", "Tags to apply to the hypervisor (change-tags)");
	flags_string(fs, "externalLeaseAddresses", &o->external_lease_addresses, "",
		     "External leases as MAC;IP,MAC;IP (register-external-leases)");
	flags_string(fs, "externalLeaseHostnames", &o->external_lease_hostnames, "",
		     "Hostnames of the external leases, comma separated");
	flags_func(fs, "netbootFiles", "tftpName=localPath,...", set_files, &o->netboot_files, "",
		   "Extra files served over TFTP when netbooting");
	flags_duration(fs, "netbootTimeout", &o->netboot_timeout_ns, 60000000000LL,
		       "Time to wait for DHCP ACKs when netbooting");
	flags_duration(fs, "netbootFilesTimeout", &o->netboot_files_timeout_ns, 61000000000LL,
		       "Time the TFTP files are served when netbooting");
	flags_duration(fs, "offerTimeout", &o->offer_timeout_ns, 61000000000LL,
		       "Time the DHCP offer is made when netbooting");
	flags_uint64(fs, "numAcknowledgementsToWaitFor", &o->num_acknowledgements, 2,
		     "Number of DHCP ACKs to wait for when netbooting");
	flags_uint64(fs, "randomSeedBytes", &o->random_seed_bytes, 0,
		     "Number of bytes of the random-seed file given to the installer");
	flags_string(fs, "storageLayoutFilename", &o->storage_layout_filename, "",
		     "JSON file with the storage layout (empty: the built-in default)");
	flags_bool(fs, "encrypt", &o->encrypt, true,
		   "If true, the default layout encrypts file-systems other than /");
	flags_bool(fs, "useKexec", &o->use_kexec, false,
		   "If true, the default layout makes the installer kexec into the new OS");
	flags_string(fs, "targetImageName", &o->target_image_name, "",
		     "Image to install (overrides the machine's RequiredImage tag)");
	flags_size(fs, "memory", &o->memory, 4ULL << 30, "Memory of a netbooted VM");
	flags_strlist(fs, "volumeSizes", &o->volume_sizes, "16G",
		      "Sizes of the volumes of a netbooted VM (first: root)");
	flags_strlist(fs, "subnetIDs", &o->subnet_ids, "",
		      "Subnet IDs of a netbooted VM (first: primary)");
	flags_string(fs, "vncViewer", &o->vnc_viewer, "",
		     "Path to the VNC viewer for a netbooted VM's console");
	flags_string(fs, "networkInterfacesFile", &o->network_interfaces_file, "",
		     "JSON file with the network interfaces of a remote host");
	flags_string(fs, "emailBodyFilename", &o->email_body_filename, "",
		     "File with the body of the e-mail (empty: stdin)");
	flags_string(fs, "emailDomain", &o->email_domain, "",
		     "Domain of the sender's address and of the SMTP HELO");
	flags_string(fs, "emailSubject", &o->email_subject, "Hypervisor %s maintenance",
		     "Subject of the e-mail (%s: the hypervisor)");
	flags_string(fs, "smtpServer", &o->smtp_server, "",
		     "SMTP server (host or host:port, port 25 by default)");
	flags_string(fs, "certDirectory", &o->cert_directory, "~/.ssl",
		     "Directory of the client certificates (cert.pem/key.pem, X.cert/X.key)");
	flags_string(fs, "CAfile", &o->ca_file, "",
		     "CA certificates every server's certificate must chain to (default "
		     "<certDirectory>/CA.pem)");
	flags_string(fs, "identityCAfile", &o->identity_ca_file, "",
		     "Identity CA certificates given to installed machines (default "
		     "<certDirectory>/IdentityCA.pem)");
	flags_string(fs, "signerCertFile", &o->signer_cert_file, "",
		     "Certificate of the fleet CA that signs enrolled machines' certificates");
	flags_string(fs, "signerKeyFile", &o->signer_key_file, "",
		     "Key of the fleet CA that signs enrolled machines' certificates");
	flags_duration(fs, "certLifetime", &o->cert_lifetime_ns, 8760LL * 3600 * 1000000000LL,
		       "Lifetime of a machine certificate signed at enrolment");
	flags_bool(fs, "yes", &o->yes, false, "If true, confirm reinstall (it wipes this machine)");
	flags_bool(fs, "dryRun", &o->dry_run, false,
		   "If true, make-installer-iso/reinstall change nothing");
	flags_string(fs, "kexecCommand", &o->kexec_command, "kexec",
		     "kexec program used by reinstall");

	flags_int(fs, "logDebugLevel", &log_opts.debug_level, -1, "Debug log level (-1: none)");
	flags_bool(fs, "logDatestamps", &log_opts.datestamps, false,
		   "If true, prefix log lines with the date and time");
	flags_bool(fs, "logSubseconds", &log_opts.subseconds, false,
		   "If true, datestamps have microseconds");
}

/* The command families in -h order; a family not linked in is NULL. */
static const struct hc_cmd *const *families(size_t *n)
{
	static const struct hc_cmd *tables[6];

	tables[0] = hc_host_cmds;
	tables[1] = hc_term_cmds;
	tables[2] = hc_fleet_cmds;
	tables[3] = hc_netboot_cmds;
	tables[4] = hc_install_cmds;
	tables[5] = hc_rollout_cmds;
	*n = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

static void print_usage(const struct hc *h, FILE *out)
{
	const struct hc_cmd *const *t;
	size_t nt;

	flags_print_usage(h->fs, out);
	fputs("Commands:\n", out);
	t = families(&nt);
	for (size_t f = 0; f < nt; f++)
		for (const struct hc_cmd *c = t[f]; c && c->name; c++) {
			char left[80];
			snprintf(left, sizeof(left), "%s%s%s", c->name, *c->args ? " " : "",
				 c->args);
			fprintf(out, "  %-38s %s\n", left, c->help);
		}
}

static const struct hc_cmd *find_command(const char *name)
{
	const struct hc_cmd *const *t;
	size_t nt;

	t = families(&nt);
	for (size_t f = 0; f < nt; f++)
		for (const struct hc_cmd *c = t[f]; c && c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

/* The /etc level: each file's errors are warnings (spec §1). HYPER_CONTROL_SYSCONFDIR
 * replaces the directory (tests). */
static void load_system_flags(struct flags *fs)
{
	static const char *const names[] = {"flags.default", "flags.extra"};
	const char *dir = getenv("HYPER_CONTROL_SYSCONFDIR");

	if (!dir || !*dir)
		dir = HC_SYSCONFDIR;
	for (size_t i = 0; i < 2; i++) {
		char *path, *err = NULL;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			return;
		if (flags_load_file(fs, path, &err) < 0)
			fprintf(stderr, "hyper-control: warning: %s\n", err ? err : path);
		free(err);
		free(path);
	}
}

/* "~/x" -> "$HOME/x" (a new string). */
static char *expand_home(const char *path)
{
	const char *home = getenv("HOME");
	char *s;

	if ((strncmp(path, "~/", 2) == 0 || strcmp(path, "~") == 0) && home && *home) {
		if (asprintf(&s, "%s%s", home, path + 1) < 0)
			return NULL;
		return s;
	}
	return strdup(path);
}

/* Fills the defaults derived from other flags; the new strings go to *owned. */
static int derive_defaults(struct hc_opts *o, char *owned[3])
{
	if (!(owned[0] = expand_home(o->cert_directory)))
		return -ENOMEM;
	o->cert_directory = owned[0];
	if (!*o->ca_file) {
		if (asprintf(&owned[1], "%s/CA.pem", o->cert_directory) < 0)
			return -ENOMEM;
	} else if (!(owned[1] = expand_home(o->ca_file)))
		return -ENOMEM;
	o->ca_file = owned[1];
	if (!*o->identity_ca_file) {
		if (asprintf(&owned[2], "%s/IdentityCA.pem", o->cert_directory) < 0)
			return -ENOMEM;
	} else if (!(owned[2] = expand_home(o->identity_ca_file)))
		return -ENOMEM;
	o->identity_ca_file = owned[2];
	return 0;
}

static int run(struct hc *h)
{
	const struct hc_cmd *c;
	int nargs = flags_nargs(h->fs);

	if (nargs < 1) {
		fprintf(stderr, "hyper-control: no command given\n");
		print_usage(h, stderr);
		return 2;
	}
	c = find_command(flags_arg(h->fs, 0));
	if (!c) {
		fprintf(stderr, "hyper-control: unknown command \"%s\"\n", flags_arg(h->fs, 0));
		print_usage(h, stderr);
		return 2;
	}
	if (nargs - 1 < c->min_args || (c->max_args >= 0 && nargs - 1 > c->max_args)) {
		fprintf(stderr, "hyper-control: usage: hyper-control [flags...] %s%s%s\n", c->name,
			*c->args ? " " : "", c->args);
		print_usage(h, stderr);
		return 2;
	}
	return c->fn(h, c, nargs - 1, flags_args(h->fs) + 1);
}

int main(int argc, char *argv[])
{
	struct hc h;
	char *dir, *err = NULL, *owned[3] = {NULL, NULL, NULL};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	memset(&h, 0, sizeof(h));
	h.fs = flags_new("hyper-control", usage_head);
	if (!h.fs)
		return 1;
	define_flags(&h);
	load_system_flags(h.fs);
	dir = flags_user_config_dir("hyper-control");
	if (flags_load_config(h.fs, dir) < 0) {
		rc = 2;
		goto out;
	}
	rc = flags_parse(h.fs, argc, argv, &err);
	if (rc == FLAGS_EHELP) {
		print_usage(&h, stdout);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "hyper-control: %s\n(hyper-control -h lists commands and flags)\n",
			err ? err : "bad flags");
		rc = 2;
		goto out;
	}
	if (derive_defaults(&h.o, owned) < 0) {
		rc = hc_fail("starting", "out of memory");
		goto out;
	}
	log_set_debug_level(log_opts.debug_level);
	hc_log_options(log_opts.datestamps, log_opts.subseconds);
	rc = run(&h);
	srpc_client_close(h.hv);
	srpc_client_close(h.fm);
	srpc_client_close(h.is);
	tls_client_free(h.tls);
out:
	for (size_t i = 0; i < 3; i++)
		free(owned[i]);
	free(err);
	free(dir);
	api_clear_value(&tags_field, &h.o.hypervisor_tags);
	api_clear_value(&tags_field, &h.o.netboot_files);
	flags_free(h.fs);
	return rc;
}
