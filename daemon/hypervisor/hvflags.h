/* The hypervisor's command-line flags (spec/hypervisor.md §2.2) plus the libvirt ones,
 * bound to one configuration struct. Flags that only made sense when the daemon ran
 * QEMU itself are still accepted so existing flags files keep working. */
#ifndef HV_HVFLAGS_H
#define HV_HVFLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "server_flags.h"

struct hv_config {
	int port_num;
	const char *state_dir;
	struct flags_list volume_directories;
	const char *image_server_hostname;
	int image_server_port_num;
	const char *object_cache_directory;
	uint64_t object_cache_size;
	const char *local_images_directory;
	const char *network_boot_image;
	const char *tftpboot_image_stream;
	const char *tftpboot_directory; /* -tftpbootDirectory: a fixed local boot root */
	bool dhcp_server_on_bridges_only;
	bool http_boot; /* -httpBoot: iPXE/UEFI HTTP clients get a URL on the port */
	const char *username;
	bool show_vga;
	const char *identity_provider;
	bool allow_unauthenticated_reads;
	int64_t lock_check_interval_ns;
	int64_t lock_log_timeout_ns;
	uint64_t test_memory_available;
	bool add_hypervisor_subnet;
	const char *qemu_command;
	struct server_flags srv; /* TLS files, SRPC trust and timeouts, logging */
	bool srpc_trust_vm_owners;
	int64_t srpc_keep_alive_ns;

	/* Ours (libvirt and fixes of weaknesses.md). */
	const char *libvirt_uri;
	const char *virt_type; /* auto, kvm, qemu */
	const char *uefi_code;
	const char *uefi_vars;
	int64_t acknowledge_timeout_ns; /* #36 */
	int64_t stop_timeout_ns;
	bool enable_lock_debug_methods;	       /* #37 */
	const char *power_off_command;	       /* PowerOff runs it (tests: a script) */
	const char *virtualiser_log_directory; /* libvirt's QEMU logs: <domain>.log* */
	int64_t tftpboot_check_interval_ns;    /* -tftpbootImageStream polling */

	/* The upgrade agent and GET /health (docs/upgrades.md). */
	const char *fleet_manager_hostname; /* empty: the agent does not poll */
	int fleet_manager_port_num;
	int64_t upgrade_check_interval_ns;
	int64_t upgrade_trial_timeout_ns;
	const char *upgrade_slot_directory; /* empty: the GPT partitions ss-slot-a/-b */
	const char *upgrade_grubenv;	    /* empty: the GPT partition ss-esp */
	const char *upgrade_sys_block;	    /* where partitions are looked up by name */
	const char *upgrade_state_file;	    /* empty: <stateDir>/upgrade.json */
	const char *upgrade_cmdline_file;
	const char *upgrade_reboot_command;
	const char *test_fail_health_check; /* a check /health reports failing (tests) */
};

/* Defines every flag on fs, bound to cfg. */
void hvflags_define(struct flags *fs, struct hv_config *cfg);

#define HVFLAGS_USAGE                                                                              \
	"Usage: hypervisor [flags...] [run|stop|stop-vms-on-next-stop|check-vms|"                  \
	"repair-vm-volume-allocations]\n"                                                          \
	"Runs VMs through libvirt and serves status pages and RPC on one port.\n"                  \
	"Flags are read from /etc/hypervisor/flags.default and flags.extra first.\n"

#endif
