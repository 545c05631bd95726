/* hyper-control: shared state of the administrators' tool for hypervisors, the fleet
 * manager, the imageserver and the installer (options from flags files and the command
 * line, lazily dialled connections) and the helpers every command family uses.
 * Commands return the process exit status: 0, 1 on failure (after printing
 * "error <doing X>: <detail>"), 2 on bad usage. Spec: spec/hyper-control.md. */
#ifndef SS_HYPERCTL_H
#define SS_HYPERCTL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "api/fleetmanager.h"
#include "api/hypervisor.h"
#include "cli.h"
#include "flags.h"
#include "srpc.h"

/* Every flag of spec/hyper-control.md §1.1, plus the trust and enrolment flags. */
struct hc_opts {
	/* servers */
	const char *hypervisor_hostname; /* -hypervisorHostname */
	int hypervisor_port;		 /* -hypervisorPortNum 6976 */
	const char *fleet_manager_hostname;
	int fleet_manager_port;		   /* 6977 */
	const char *image_server_hostname; /* "localhost" */
	int image_server_port;		   /* 6971 */
	const char *installer_image_stream;
	int installer_port; /* 6978 */
	const char *location;
	const char *topology_dir;
	int64_t connect_timeout_ns; /* 15 s */
	int64_t lock_timeout_ns;    /* 15 s */
	bool write_lock;
	uint64_t max_concurrent;
	bool force_image_change;
	const char *pre_update_command, *post_update_command;
	/* rollout-image (docs/hyper-control/rollout.md) */
	int64_t bake_time_ns;		/* -bakeTime 1m */
	uint64_t max_failures;		/* -maxFailures 0 */
	int64_t poll_interval_ns;	/* -pollInterval 1s */
	int64_t upgrade_timeout_ns;	/* -upgradeTimeout 15m */
	int64_t health_timeout_ns;	/* -healthTimeout 1m */
	int rollout_workers;		/* -rolloutWorkers 16 */
	const char *rollout_state_file; /* -rolloutStateFile */
	uint64_t max_updates;
	bool ignore_missing_local_tags;
	struct hvapi_tags hypervisor_tags; /* -hypervisorTags k=v,k2=v2 | @file.json */
	const char *external_lease_addresses, *external_lease_hostnames;
	struct hvapi_tags netboot_files;  /* -netbootFiles tftpName=localPath,... */
	int64_t netboot_timeout_ns;	  /* 1 m */
	int64_t netboot_files_timeout_ns; /* 61 s */
	int64_t offer_timeout_ns;	  /* 61 s */
	uint64_t num_acknowledgements;	  /* 2 */
	uint64_t random_seed_bytes;
	const char *storage_layout_filename;
	bool encrypt;	/* true */
	bool use_kexec; /* false */
	const char *target_image_name;
	uint64_t memory;		/* 4 GiB */
	struct flags_list volume_sizes; /* "16G" */
	struct flags_list subnet_ids;
	const char *vnc_viewer;
	const char *network_interfaces_file;
	const char *email_body_filename, *email_domain, *email_subject, *smtp_server;

	/* credentials and trust: every server's certificate is verified against ca_file */
	const char *cert_directory;   /* ~/.ssl: cert.pem/key.pem pairs (rpc.md §9) */
	const char *ca_file;	      /* -CAfile: the fleet CA (default <certDirectory>/CA.pem) */
	const char *identity_ca_file; /* -identityCAfile: IdentityCA.pem shipped to machines */
	/* enrolment (docs/enrolment.md): the fleet CA's certificate and key that sign a
	 * newborn machine's certificate */
	const char *signer_cert_file, *signer_key_file; /* -signerCertFile, -signerKeyFile */
	int64_t cert_lifetime_ns;			/* -certLifetime */

	/* reinstall, make-installer-iso */
	bool yes;		   /* -yes: the explicit confirmation of reinstall */
	bool dry_run;		   /* -dryRun */
	const char *kexec_command; /* -kexecCommand, default "kexec" */
};

struct hc {
	struct hc_opts o;
	struct flags *fs;
	struct tls_client *tls;		  /* loaded once, for every server */
	struct srpc_client *hv, *fm, *is; /* hypervisor, fleet manager, imageserver */
};

/* ---- client.c ---- */

/* Loads the credentials once (~/.ssl pairs, -CAfile). 0, or prints
 * "error <doing>: ..." and returns 1. */
int hc_tls(struct hc *h, const char *doing);

/* Dials host:port with the verified TLS client. 0, or prints and returns 1. The caller
 * frees *out with srpc_client_free. */
int hc_dial(struct hc *h, const char *doing, const char *host, int port, struct srpc_client **out);

/* The -hypervisorHostname connection (dialled once; "hypervisorHostname unspecified"
 * when empty and required), the -fleetManagerHostname one ("fleetManagerHostname
 * unspecified"), the -imageServerHostname one. 0 or 1 (printed). */
int hc_hypervisor(struct hc *h, const char *doing, struct srpc_client **out);
int hc_fleet_manager(struct hc *h, const char *doing, struct srpc_client **out);
int hc_image_server(struct hc *h, const char *doing, struct srpc_client **out);

/* The hypervisor of VM vm (spec §1 "Address selection helper"): vm must resolve to
 * exactly one IPv4 address (*ip); the hypervisor is -hypervisorHostname if set, else
 * FleetManager.GetHypervisorForVM when -fleetManagerHostname is set, else
 * localhost:-hypervisorPortNum. The connection is kept in h->hv. 0 or 1 (printed). */
int hc_vm_hypervisor(struct hc *h, const char *doing, const char *vm, struct in_addr *ip,
		     struct srpc_client **out);

/* One request/response call: encodes req with req_t (NULL: {}), decodes into resp with
 * resp_t and turns a non-empty "Error" into a failure. 0, or prints "error <doing>: ..."
 * and returns 1. The caller clears resp on success. */
int hc_call(struct srpc_client *cl, const char *doing, const char *method,
	    const struct api_type *req_t, const void *req, const struct api_type *resp_t,
	    void *resp);

/* Prints obj as 4-space indented JSON to stdout. 0 or 1. */
int hc_print_json(const struct api_type *t, const void *obj);

/* "error <doing>: <detail>" on stderr; returns 1. */
int hc_fail(const char *doing, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The -logDatestamps and -logSubseconds options of hc_progress (main.c sets them). */
void hc_log_options(bool datestamps, bool subseconds);

/* Progress line on stderr ("hyper-control: ..."), for every command that waits. */
void hc_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Interactive terminal of spec §2 over a raw stream connection (connect-to-vm-manager,
 * installer-shell): raw stdin, "Press control-\ to disconnect", Ctrl-\ ends. 0 or 1. */
int hc_terminal(struct srpc_client *cl, const char *doing);

/* ---- the command table ---- */

struct hc_cmd;
typedef int (*hc_cmd_fn)(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[]);

struct hc_cmd {
	const char *name;
	const char *args;	/* usage of the arguments, e.g. "MAC [IP]" */
	int min_args, max_args; /* max -1: any number */
	hc_cmd_fn fn;
	const char *doing; /* "adding address": errors say "error adding address: ..." */
	const char *help;  /* one line for -h */
};

/* Each command family's table, ended by an entry with name NULL. main.c lists them in
 * this order in -h; docs/hyper-control/<family>.md documents each family. Weak while
 * the families are written side by side (main.c skips a table that is not linked in);
 * the attribute goes when all are in. */
#define HC_TABLE extern const struct hc_cmd __attribute__((weak))
HC_TABLE hc_host_cmds[];    /* cmd_host.c: spec §2, one hypervisor */
HC_TABLE hc_term_cmds[];    /* cmd_term.c: connect-to-vm-manager, installer-shell,
			       watch-dhcp */
HC_TABLE hc_fleet_cmds[];   /* cmd_fleet.c: spec §3 and §6, get-updates, power-on/off */
HC_TABLE hc_netboot_cmds[]; /* cmd_netboot.c: netboot-host/-machine/-vm,
			       write-netboot-files */
HC_TABLE hc_install_cmds[]; /* cmd_install.c: make-installer-iso, reinstall */
HC_TABLE hc_rollout_cmds[]; /* cmd_rollout.c: rollout-image */

/* ---- installcfg.c: the configuration files of spec §4.3 (getInstallConfig) ---- */

/* One generated file: its TFTP name and bytes. */
struct hc_file {
	char *name;
	uint8_t *data;
	size_t len;
};

struct hc_files {
	struct hc_file *v;
	size_t n;
};

void hc_files_clear(struct hc_files *f);
/* Adds (or replaces) name with a copy of data. 0 or -ENOMEM. */
int hc_files_put(struct hc_files *f, const char *name, const void *data, size_t len);

/* What the generation may add beyond spec §4.3's files. */
enum {
	HC_CFG_RANDOM_SEED = 1 << 0, /* random-seed (-randomSeedBytes > 0) */
	HC_CFG_CA_FILES = 1 << 1,    /* CA.pem, IdentityCA.pem */
	HC_CFG_ENROL_TOKEN = 1 << 2, /* enrol-token (PXE: 64 hex digits, fresh) */
};

/* Builds the configuration files for machine info mi (from the fleet manager, the
 * topology or synthesised for a VM): config.json, imagename, imageserver, resolv.conf,
 * storage-layout.json, -netbootFiles, and what flags asks for. 0, or prints
 * "error <doing>: <spec's message>" and returns 1. */
int hc_install_config(struct hc *h, const char *doing,
		      const struct fmapi_get_machine_info_response *mi, unsigned flags,
		      struct hc_files *out);

/* The machine info of hostname: from -fleetManagerHostname, else from -topologyDir
 * ("machine: X not found in topology"). 0 or 1 (printed). */
int hc_machine_info(struct hc *h, const char *doing, const char *hostname,
		    struct fmapi_get_machine_info_response *out);

/* ---- enrol.c: the signer's side of a PXE enrolment (docs/enrolment.md) ---- */

/* The fleet CA's certificate and key (-signerCertFile, -signerKeyFile) and the PEM
 * text of -CAfile and -identityCAfile handed to the machine; loaded before a netboot
 * so that a missing signer fails before anything changes. 0 or 1 (printed). */
struct hc_signer;
int hc_signer_load(struct hc *h, const char *doing, struct hc_signer **out);
void hc_signer_free(struct hc_signer *s);

/* Enrols the installer netbooted for mi at ip: dials ip:-installerPortNum with back-off
 * until timeout_ns, Installer.GetCertificateRequest, checks the Mac with token, that the
 * request is for the key of the TLS session and only for mi's hostname and addresses,
 * signs it for -certLifetime and calls Installer.SetCertificates. 0 or 1 (printed). */
int hc_enrol(struct hc *h, const char *doing, const struct hc_signer *s,
	     const struct fmapi_get_machine_info_response *mi, struct in_addr ip, const char *token,
	     int64_t timeout_ns);

#endif
