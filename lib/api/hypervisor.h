/* api/hypervisor: the wire types of the hypervisor, shared by the daemon and its clients
 * (vm-control, hyper-control, fleet-manager): the state-file records (info.json =
 * LocalVmInfo, address-pool.json, subnets.json, create-request.json), the request and
 * response messages of every Hypervisor.* method (spec/rpc.md §5) and the pure helpers
 * every side needs (state names, tag matching, VM list filters, version-string order).
 *
 * Each struct hvapi_X has a descriptor hvapi_X_type and typed wrappers
 * hvapi_X_to_json / hvapi_X_from_json / hvapi_X_clear (api/codec.h); api_dumps,
 * api_load_file and api_write_file take the descriptor. Field order follows the Go
 * declaration order so our output matches the original byte for byte. */
#ifndef SS_API_HYPERVISOR_H
#define SS_API_HYPERVISOR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "codec.h"

#define HVAPI_DEFAULT_PORT 6976

/* ---- Enumerations (JSON: the names in hvapi_*_names, value = index) ---- */

enum hvapi_state {
	HVAPI_STATE_STARTING = 0,
	HVAPI_STATE_RUNNING = 1,
	HVAPI_STATE_FAILED_TO_START = 2,
	HVAPI_STATE_STOPPING = 3,
	HVAPI_STATE_STOPPED = 4,
	HVAPI_STATE_DESTROYING = 5,
	HVAPI_STATE_MIGRATING = 6,
	HVAPI_STATE_EXPORTING = 7,
	HVAPI_STATE_CRASHED = 8,
	HVAPI_STATE_DEBUGGING = 9,
	HVAPI_STATE_COUNT
};

enum hvapi_console_type { HVAPI_CONSOLE_NONE, HVAPI_CONSOLE_DUMMY, HVAPI_CONSOLE_VNC };
enum hvapi_arch { HVAPI_ARCH_AUTO, HVAPI_ARCH_AMD64, HVAPI_ARCH_ARM64 };
enum hvapi_firmware { HVAPI_FIRMWARE_DEFAULT, HVAPI_FIRMWARE_BIOS, HVAPI_FIRMWARE_UEFI };
enum hvapi_machine_type {
	HVAPI_MACHINE_AUTO,
	HVAPI_MACHINE_Q35,
	HVAPI_MACHINE_PC,
	HVAPI_MACHINE_VIRT
};
enum hvapi_watchdog_action {
	HVAPI_WATCHDOG_ACTION_NONE,
	HVAPI_WATCHDOG_ACTION_RESET,
	HVAPI_WATCHDOG_ACTION_SHUTDOWN,
	HVAPI_WATCHDOG_ACTION_POWEROFF
};
enum hvapi_watchdog_model {
	HVAPI_WATCHDOG_MODEL_NONE,
	HVAPI_WATCHDOG_MODEL_IB700,
	HVAPI_WATCHDOG_MODEL_I6300ESB
};
enum hvapi_volume_format { HVAPI_VOLUME_FORMAT_RAW, HVAPI_VOLUME_FORMAT_QCOW2 };
enum hvapi_volume_interface {
	HVAPI_VOLUME_INTERFACE_VIRTIO,
	HVAPI_VOLUME_INTERFACE_IDE,
	HVAPI_VOLUME_INTERFACE_NVME,
	HVAPI_VOLUME_INTERFACE_DFM
};
enum hvapi_volume_type { HVAPI_VOLUME_TYPE_PERSISTENT, HVAPI_VOLUME_TYPE_MEMORY };

/* NULL-terminated name tables, indexed by value ("failed to start", "qcow2", ...). */
extern const char *const hvapi_state_names[];
extern const char *const hvapi_console_type_names[];
extern const char *const hvapi_arch_names[];
extern const char *const hvapi_firmware_names[];
extern const char *const hvapi_machine_type_names[];
extern const char *const hvapi_watchdog_action_names[];
extern const char *const hvapi_watchdog_model_names[];
extern const char *const hvapi_volume_format_names[];
extern const char *const hvapi_volume_interface_names[];
extern const char *const hvapi_volume_type_names[];

/* Name of a value ("?" when out of range), and value of a name (exact match; -1 if
 * unknown). For command-line parsing and status pages. */
const char *hvapi_enum_name(const char *const *names, int value);
int hvapi_enum_parse(const char *const *names, const char *name);
const char *hvapi_state_name(enum hvapi_state s);

/* ---- Shared records ---- */

/* Map entries (JSON objects with sorted keys). */
struct hvapi_tag {
	char *key;
	char *value;
};
struct hvapi_tags {
	size_t n;
	struct hvapi_tag *v;
};

struct hvapi_match_tag { /* key -> acceptable values */
	char *key;
	struct api_strlist values;
};
struct hvapi_match_tags {
	size_t n;
	struct hvapi_match_tag *v;
};

struct hvapi_snapshot { /* Volume.Snapshots: name ("" = unnamed) -> size */
	char *name;
	uint64_t size;
};

struct hvapi_file { /* OverlayFiles, Files, ExtraFiles: name -> contents */
	char *name;
	struct api_bytes data;
};

struct hvapi_count { /* NumFreeAddresses, MaximumFreeAddresses: subnet id -> count */
	char *key;
	uint32_t count;
};

struct hvapi_address {
	struct in_addr ip; /* IpAddress (o); 0.0.0.0 = none (external DHCP) */
	uint8_t mac[6];	   /* MacAddress */
};
struct hvapi_addresses {
	size_t n;
	struct hvapi_address *v;
};

struct hvapi_subnet {
	char *id;				      /* Id */
	struct in_addr ip_gateway;		      /* IpGateway */
	struct in_addr ip_mask;			      /* IpMask */
	char *domain_name;			      /* DomainName (o) */
	API_LIST(struct in_addr) domain_name_servers; /* DomainNameServers */
	bool disable_metadata;			      /* DisableMetadata (o) */
	bool manage;				      /* Manage (o) */
	uint32_t vlan_id;			      /* VlanId (o) */
	struct api_strlist allowed_groups;	      /* AllowedGroups (o) */
	struct api_strlist allowed_users;	      /* AllowedUsers (o) */
	struct in_addr first_dynamic_ip;	      /* FirstDynamicIP (o) */
	struct in_addr last_dynamic_ip;		      /* LastDynamicIP (o) */
	struct hvapi_tags tags;			      /* Tags (o) */
};
struct hvapi_subnets {
	size_t n;
	struct hvapi_subnet *v;
};

struct hvapi_dfm {
	uint64_t nvram_size; /* NvramSize (o) */
	char *profile;	     /* Profile (o) */
};

struct hvapi_volume {
	struct hvapi_dfm dfm;			   /* DFM (always written, {} when empty) */
	enum hvapi_volume_format format;	   /* Format (o) */
	enum hvapi_volume_interface interface;	   /* Interface (o) */
	uint64_t size;				   /* Size */
	API_LIST(struct hvapi_snapshot) snapshots; /* Snapshots (o) */
	enum hvapi_volume_type type;		   /* Type (o) */
	uint64_t virtual_size;			   /* VirtualSize (o): qcow2 logical size */
};
struct hvapi_volumes {
	size_t n;
	struct hvapi_volume *v;
};

/* max(Size, VirtualSize). */
uint64_t hvapi_volume_effective_size(const struct hvapi_volume *v);

struct hvapi_network_entry {
	uint32_t num_queues; /* NumQueues (o) */
};

struct hvapi_vm_info {
	struct hvapi_address address;			      /* Address */
	enum hvapi_arch architecture;			      /* ArchitectureType (o) */
	struct timespec changed_state_on;		      /* ChangedStateOn */
	enum hvapi_console_type console_type;		      /* ConsoleType (o) */
	struct timespec created_on;			      /* CreatedOn */
	int cpu_priority;				      /* CpuPriority (o) */
	bool destroy_on_powerdown;			      /* DestroyOnPowerdown (o) */
	bool destroy_protection;			      /* DestroyProtection (o) */
	bool disable_virtio;				      /* DisableVirtIO (o) */
	char *extra_kernel_options;			      /* ExtraKernelOptions (o) */
	enum hvapi_firmware firmware;			      /* FirmwareType (o) */
	char *hostname;					      /* Hostname (o) */
	struct timespec identity_expires;		      /* IdentityExpires */
	char *identity_name;				      /* IdentityName (o) */
	char *image_name;				      /* ImageName (o) */
	char *image_url;				      /* ImageURL (o) */
	enum hvapi_machine_type machine_type;		      /* MachineType (o) */
	uint64_t memory_mib;				      /* MemoryInMiB */
	uint32_t milli_cpus;				      /* MilliCPUs */
	API_LIST(struct hvapi_network_entry) network_entries; /* NetworkEntries (o) */
	struct api_strlist owner_groups;		      /* OwnerGroups (o) */
	struct api_strlist owner_users;		    /* OwnerUsers (o); [0] = primary owner */
	char *root_fs_label;			    /* RootFileSystemLabel (o) */
	bool spread_volumes;			    /* SpreadVolumes (o) */
	enum hvapi_state state;			    /* State */
	struct hvapi_addresses secondary_addresses; /* SecondaryAddresses (o) */
	struct api_strlist secondary_subnet_ids;    /* SecondarySubnetIDs (o) */
	char *subnet_id;			    /* SubnetId (o) */
	struct hvapi_tags tags;			    /* Tags (o) */
	bool uncommitted;			    /* Uncommitted (o) */
	uint32_t virtual_cpus;			    /* VirtualCPUs (o) */
	char *virtualiser_image_name;		    /* VirtualiserImageName (o) */
	struct hvapi_volumes volumes;		    /* Volumes (o) */
	enum hvapi_watchdog_action watchdog_action; /* WatchdogAction (o) */
	enum hvapi_watchdog_model watchdog_model;   /* WatchdogModel (o) */
};

struct hvapi_local_volume {
	char *directory_to_cleanup; /* DirectoryToCleanup */
	char *filename;		    /* Filename */
};

/* info.json: VmInfo fields flattened, then VolumeLocations. */
struct hvapi_local_vm_info {
	struct hvapi_vm_info vm;
	API_LIST(struct hvapi_local_volume) volume_locations; /* VolumeLocations */
};

/* address-pool.json. Free is a subset of Registered. */
struct hvapi_address_pool {
	struct hvapi_addresses free;	   /* Free */
	struct hvapi_addresses registered; /* Registered */
};

/* subnets.json is a JSON array of Subnet: see hvapi_subnets_{to,from}_json. */

struct hvapi_volume_init {		     /* SecondaryVolumesInit entry */
	uint64_t bytes_per_inode;	     /* BytesPerInode */
	char *label;			     /* Label */
	uint16_t reserved_blocks_percentage; /* ReservedBlocksPercentage */
	uint32_t root_group_id;		     /* RootGroupId */
	uint32_t root_user_id;		     /* RootUserId */
};

/* CreateVm request; also create-request.json. Raw data follow it on the wire:
 * ImageDataSize bytes of image, UserDataSize bytes of user data, then (if
 * SecondaryVolumesData) each secondary volume's Size bytes. */
struct hvapi_create_vm_request {
	int64_t dhcp_timeout_ns;		   /* DhcpTimeout (o): <0 no lease, 0 no wait */
	bool do_not_start;			   /* DoNotStart (o) */
	bool enable_netboot;			   /* EnableNetboot (o) */
	struct api_bytes identity_certificate;	   /* IdentityCertificate (o), PEM */
	struct api_bytes identity_key;		   /* IdentityKey (o), PEM */
	uint64_t image_data_size;		   /* ImageDataSize (o) */
	int64_t image_timeout_ns;		   /* ImageTimeout (o) */
	uint64_t minimum_free_bytes;		   /* MinimumFreeBytes (o) */
	struct api_strlist overlay_directories;	   /* OverlayDirectories (o) */
	API_LIST(struct hvapi_file) overlay_files; /* OverlayFiles (o) */
	uint64_t roundup_power;			   /* RoundupPower (o) */
	struct hvapi_volumes secondary_volumes;	   /* SecondaryVolumes (o) */
	bool secondary_volumes_data;		   /* SecondaryVolumesData (o) */
	API_LIST(struct hvapi_volume_init) secondary_volumes_init; /* (o) */
	bool skip_bootloader;					   /* SkipBootloader (o) */
	bool skip_memory_check;					   /* SkipMemoryCheck (o) */
	API_LIST(uint32_t) storage_indices;			   /* StorageIndices (o) */
	uint64_t user_data_size;				   /* UserDataSize (o) */
	struct hvapi_vm_info vm;				   /* VmInfo fields, flattened */
};

/* One message of the CreateVm (and CopyVm) reply stream. */
struct hvapi_create_vm_response {
	bool dhcp_timed_out;	/* DhcpTimedOut */
	bool final;		/* Final */
	struct in_addr ip;	/* IpAddress */
	char *progress_message; /* ProgressMessage */
	char *error;		/* Error */
};

/* Descriptors of the map entries and nested records (for tables elsewhere). */
extern const struct api_type hvapi_tag_type, hvapi_match_tag_type, hvapi_snapshot_type,
    hvapi_file_type, hvapi_count_type, hvapi_dfm_type, hvapi_network_entry_type,
    hvapi_local_volume_type, hvapi_volume_init_type;

API_CODEC_DECLARE(hvapi, address)
API_CODEC_DECLARE(hvapi, subnet)
API_CODEC_DECLARE(hvapi, volume)
API_CODEC_DECLARE(hvapi, vm_info)
API_CODEC_DECLARE(hvapi, local_vm_info)
API_CODEC_DECLARE(hvapi, address_pool)
API_CODEC_DECLARE(hvapi, create_vm_request)
API_CODEC_DECLARE(hvapi, create_vm_response)

/* subnets.json / Subnets lists: a JSON array (null for none). */
json_t *hvapi_subnets_to_json(const struct hvapi_subnets *l);
int hvapi_subnets_from_json(struct sjson_dec *d, json_t *j, struct hvapi_subnets *out);
void hvapi_subnets_clear(struct hvapi_subnets *l);

/* ---- Pure helpers ---- */

/* True when IgnoreStateMask skips VMs in state s (bit 1 << s). */
bool hvapi_state_ignored(uint64_t ignore_state_mask, enum hvapi_state s);

/* MatchTags (spec/rpc.md §5.2): every key of m must be a tag of the VM whose value is
 * one of the key's values. An empty m matches everything. */
bool hvapi_match_tags(const struct hvapi_match_tags *m, const struct hvapi_tags *tags);

/* Owner filter (§5.2): with groups given, the VM needs one of them among its
 * OwnerGroups; with users given, the VM is included iff one of them is among its
 * OwnerUsers (this overrides the group result). Nothing given includes every VM. */
bool hvapi_owner_filter(const struct api_strlist *groups, const struct api_strlist *users,
			const struct hvapi_vm_info *vm);

/* The VM selection of ListVMs / GetVmInfos: state mask, owners, then tags. */
bool hvapi_vm_selected(uint64_t ignore_state_mask, const struct api_strlist *groups,
		       const struct api_strlist *users, const struct hvapi_match_tags *match,
		       const struct hvapi_vm_info *vm);

/* Go verstr.Less order, as ListVMs Sort uses: runs of digits compare numerically,
 * everything else bytewise ("10.0.0.9" < "10.0.0.10"). strcmp-style result. */
int hvapi_verstr_cmp(const char *a, const char *b);

/* Tag helpers: the value of key (NULL if absent); set (replace or add, keeps the list
 * sorted by key). 0 or -ENOMEM. */
const char *hvapi_tags_get(const struct hvapi_tags *t, const char *key);
int hvapi_tags_set(struct hvapi_tags *t, const char *key, const char *value);

#include "hypervisor_msgs.h"

#endif
