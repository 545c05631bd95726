/* vm-control: shared state of the admin tool for VMs (options from flags files and the
 * command line, the lazily dialled hypervisor connection) and the helpers every
 * subcommand uses. Subcommands return the process exit status (0, 1 on failure). */
#ifndef SS_VMCTL_H
#define SS_VMCTL_H

#include "cli.h"
#include <stdbool.h>
#include <stdint.h>

#include "api/hypervisor.h"
#include "flags.h"
#include "srpc.h"

/* A comma-separated list of sizes or small integers. */
struct vmctl_u64list {
	size_t n;
	uint64_t *v;
};

/* An enum flag: names table and the chosen value. */
struct vmctl_enum {
	const char *const *names;
	int value;
};

struct vmctl_enumlist {
	const char *const *names;
	size_t n;
	int *v;
};

struct vmctl_opts {
	/* connection */
	const char *hypervisor_hostname;
	int hypervisor_port;
	const char *cert_directory;
	const char *ca_file;
	bool insecure;
	int64_t connect_timeout_ns;

	/* VM properties (create-vm and change-*) */
	const char *image_file, *image_url, *image_name;
	int64_t image_timeout_ns;
	uint64_t memory;
	uint64_t milli_cpus, virtual_cpus;
	const char *hostname, *vm_hostname;
	struct hvapi_tags tags, vm_tags;
	const char *user_data_file;
	const char *subnet_id;
	struct flags_list secondary_subnet_ids;
	struct vmctl_u64list volume_sizes, secondary_volume_sizes;
	uint64_t min_free_bytes;
	uint64_t roundup_power;
	bool do_not_start;
	struct flags_list owner_users, owner_groups;
	int64_t dhcp_timeout_ns;
	struct vmctl_enum console_type, firmware_type, machine_type, watchdog_action,
	    watchdog_model, volume_format;
	int cpu_priority;
	bool destroy_protection, destroy_on_powerdown, disable_virtio, enable_netboot;
	const char *extra_kernel_options;
	struct flags_list request_ips;
	bool skip_bootloader, skip_memory_check, spread_volumes;
	struct vmctl_enumlist volume_interfaces, volume_types;
	struct vmctl_u64list num_network_queues;
	const char *identity_cert_file, *identity_key_file;

	/* other subcommands */
	uint64_t volume_index, storage_index;
	uint64_t volume_size;
	struct vmctl_u64list volume_indices;
	const char *snapshot_name;
	bool force_if_not_stopped, snapshot_root_only;
	uint64_t serial_port;
	uint64_t probe_port;
	int64_t probe_timeout_ns;
	struct hvapi_match_tags vm_tags_to_match;
	struct api_bytes access_token; /* -accessToken (base64) */
	int64_t token_lifetime_ns;
	const char *local_vm_create, *local_vm_destroy; /* export-local-vm */
	const char *vnc_viewer, *identity_name;		/* cmd_console.c */
	bool skip_backup, pre_delete;			/* replace-vm-image, patch-vm-image */

	/* volumes over the wire (cmd_migrate.c) */
	const char *volume_filename;
	const char *source_hypervisor;
};

struct vmctl {
	struct vmctl_opts o;
	struct flags *fs;
	struct tls_client *tls;
	struct srpc_client *client;
	char addr[300];
};

/* Connects to the hypervisor once (later calls reuse the connection). 0, or prints the
 * failure as cli_fail(doing, ...) and returns 1. */
int vmctl_dial(struct vmctl *v, const char *doing);

/* One request/response call: encodes req with req_t (NULL: {}), decodes the reply into
 * resp with resp_t and turns a non-empty "Error" into a failure. Returns 0 or 1 (after
 * printing "Error <doing>: ..."). resp must be cleared by the caller on success. */
int vmctl_call(struct vmctl *v, const char *doing, const char *method, const struct api_type *req_t,
	       const void *req, const struct api_type *resp_t, void *resp);

/* The same for methods answering {Error} only. */
int vmctl_call_simple(struct vmctl *v, const char *doing, const char *method,
		      const struct api_type *req_t, const void *req);

/* Starts the streaming call method and sends req (encoded with req_t), flushed. 0;
 * 1 after printing a failure to connect, to start or to encode; or -errno of the
 * write, not printed (the caller words it). */
int vmctl_stream_send(struct vmctl *v, const char *doing, const char *method,
		      const struct api_type *req_t, const void *req);

/* Starts the streaming call method with req and reads the first reply into resp
 * (hvclient_start: a non-empty "Error" is a failure; clear resp on success). 0 or 1
 * (error printed). */
int vmctl_stream_start(struct vmctl *v, const char *doing, const char *method,
		       const struct api_type *req_t, const void *req, const struct api_type *resp_t,
		       void *resp);

/* Resolves a VM argument (dotted IPv4 or a name with exactly one IPv4 address).
 * 0, or prints "Error <doing>: ..." and returns 1. */
int vmctl_vm_ip(const char *arg, const char *doing, struct in_addr *out);

/* Prints obj as 4-space indented JSON to stdout. 0 or 1. */
int vmctl_print_json(const struct api_type *t, const void *obj);

/* Reads a whole file (or stdin for "-") into a new buffer. 0 or -errno. */
int vmctl_read_file(const char *path, uint8_t **buf, size_t *len);

/* A subcommand: argv are the arguments after its name (count already checked). */
struct vmctl_cmd;
typedef int (*vmctl_cmd_fn)(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[]);

struct vmctl_cmd {
	const char *name;
	const char *args; /* usage of the arguments, e.g. "IPaddr" */
	int min_args, max_args;
	vmctl_cmd_fn fn;
	const char *method; /* for the generic commands */
	const char *doing;  /* "starting VM": error messages say "Error starting VM: ..." */
	const char *help;
};

/* cmd_vm.c: one request/response call per command. */
int vmctl_cmd_ip_only(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_vm_token(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_start_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_reboot_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_change(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_change_subnet(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[]);
int vmctl_cmd_volumes(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_snapshots(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_migrating(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_access_token(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			   char *const argv[]);
int vmctl_cmd_probe_port(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);

/* cmd_info.c: queries that print. */
int vmctl_cmd_list_vms(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_print(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);

/* cmd_create.c */
int vmctl_cmd_create_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);

/* cmd_stream.c: raw byte streams. */
int vmctl_cmd_serial(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_get_user_data(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[]);
int vmctl_cmd_replace_user_data(struct vmctl *v, const struct vmctl_cmd *c, int argc,
				char *const argv[]);
int vmctl_cmd_trace_metadata(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			     char *const argv[]);

/* cmd_local.c: VMs to and from another VM manager on this host. */
int vmctl_cmd_export_local_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			      char *const argv[]);
int vmctl_cmd_import_local_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			      char *const argv[]);
/* cmd_console.c: console and identity. */
int vmctl_cmd_console(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_replace_credentials(struct vmctl *v, const struct vmctl_cmd *c, int argc,
				  char *const argv[]);
int vmctl_cmd_replace_identity(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			       char *const argv[]);
/* cmd_image.c: a VM's root image. */
int vmctl_cmd_replace_image(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[]);
int vmctl_cmd_debug_image(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_patch_image(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_last_patch_log(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			     char *const argv[]);
/* cmd_migrate.c: volumes over the wire. */
int vmctl_cmd_get_volume(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_migrate_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);
int vmctl_cmd_copy_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[]);

#endif
