/* api/hypervisor_msgs: method names, the method table and the request/response messages
 * of the Hypervisor service (spec/rpc.md §5). Included by api/hypervisor.h; include that.
 * Field comments give the JSON key; (o) = omitted when zero. Methods without request
 * fields take an empty object ({}: pass NULL to srpc_client_call). */
#ifndef SS_API_HYPERVISOR_MSGS_H
#define SS_API_HYPERVISOR_MSGS_H

#ifndef SS_API_HYPERVISOR_H
#error "include api/hypervisor.h"
#endif

/* ---- Method names ---- */

#define HVAPI_SERVICE "Hypervisor"
#define HVAPI_M_ACKNOWLEDGE_VM "Hypervisor.AcknowledgeVm"
#define HVAPI_M_ADD_VM_VOLUMES "Hypervisor.AddVmVolumes"
#define HVAPI_M_BECOME_PRIMARY_VM_OWNER "Hypervisor.BecomePrimaryVmOwner"
#define HVAPI_M_CHANGE_ADDRESS_POOL "Hypervisor.ChangeAddressPool"
#define HVAPI_M_CHANGE_OWNERS "Hypervisor.ChangeOwners"
#define HVAPI_M_CHANGE_VM_CONSOLE_TYPE "Hypervisor.ChangeVmConsoleType"
#define HVAPI_M_CHANGE_VM_CPU_PRIORITY "Hypervisor.ChangeVmCpuPriority"
#define HVAPI_M_CHANGE_VM_DESTROY_PROTECTION "Hypervisor.ChangeVmDestroyProtection"
#define HVAPI_M_CHANGE_VM_HOSTNAME "Hypervisor.ChangeVmHostname"
#define HVAPI_M_CHANGE_VM_MACHINE_TYPE "Hypervisor.ChangeVmMachineType"
#define HVAPI_M_CHANGE_VM_NUM_NETWORK_QUEUES "Hypervisor.ChangeVmNumNetworkQueues"
#define HVAPI_M_CHANGE_VM_OWNER_GROUPS "Hypervisor.ChangeVmOwnerGroups"
#define HVAPI_M_CHANGE_VM_OWNER_USERS "Hypervisor.ChangeVmOwnerUsers"
#define HVAPI_M_CHANGE_VM_SIZE "Hypervisor.ChangeVmSize"
#define HVAPI_M_CHANGE_VM_SUBNET "Hypervisor.ChangeVmSubnet"
#define HVAPI_M_CHANGE_VM_TAGS "Hypervisor.ChangeVmTags"
#define HVAPI_M_CHANGE_VM_VOLUME_INTERFACES "Hypervisor.ChangeVmVolumeInterfaces"
#define HVAPI_M_CHANGE_VM_VOLUME_SIZE "Hypervisor.ChangeVmVolumeSize"
#define HVAPI_M_CHANGE_VM_VOLUME_STORAGE_INDEX "Hypervisor.ChangeVmVolumeStorageIndex"
#define HVAPI_M_COMMIT_IMPORTED_VM "Hypervisor.CommitImportedVm"
#define HVAPI_M_CONNECT_TO_VM_CONSOLE "Hypervisor.ConnectToVmConsole"
#define HVAPI_M_CONNECT_TO_VM_MANAGER "Hypervisor.ConnectToVmManager"
#define HVAPI_M_CONNECT_TO_VM_SERIAL_PORT "Hypervisor.ConnectToVmSerialPort"
#define HVAPI_M_COPY_VM "Hypervisor.CopyVm"
#define HVAPI_M_CREATE_VM "Hypervisor.CreateVm"
#define HVAPI_M_DEBUG_VM_IMAGE "Hypervisor.DebugVmImage"
#define HVAPI_M_DELETE_VM_VOLUME "Hypervisor.DeleteVmVolume"
#define HVAPI_M_DESTROY_VM "Hypervisor.DestroyVm"
#define HVAPI_M_DISCARD_VM_ACCESS_TOKEN "Hypervisor.DiscardVmAccessToken"
#define HVAPI_M_DISCARD_VM_OLD_IMAGE "Hypervisor.DiscardVmOldImage"
#define HVAPI_M_DISCARD_VM_OLD_USER_DATA "Hypervisor.DiscardVmOldUserData"
#define HVAPI_M_DISCARD_VM_SNAPSHOT "Hypervisor.DiscardVmSnapshot"
#define HVAPI_M_EXPORT_LOCAL_VM "Hypervisor.ExportLocalVm"
#define HVAPI_M_GET_CAPACITY "Hypervisor.GetCapacity"
#define HVAPI_M_GET_IDENTITY_PROVIDER "Hypervisor.GetIdentityProvider"
#define HVAPI_M_GET_PUBLIC_KEY "Hypervisor.GetPublicKey"
#define HVAPI_M_GET_ROOT_COOKIE_PATH "Hypervisor.GetRootCookiePath"
#define HVAPI_M_GET_UPDATES "Hypervisor.GetUpdates"
#define HVAPI_M_GET_VM_ACCESS_TOKEN "Hypervisor.GetVmAccessToken"
#define HVAPI_M_GET_VM_CREATE_REQUEST "Hypervisor.GetVmCreateRequest"
#define HVAPI_M_GET_VM_INFO "Hypervisor.GetVmInfo"
#define HVAPI_M_GET_VM_INFOS "Hypervisor.GetVmInfos"
#define HVAPI_M_GET_VM_LAST_PATCH_LOG "Hypervisor.GetVmLastPatchLog"
#define HVAPI_M_GET_VM_USER_DATA "Hypervisor.GetVmUserData"
#define HVAPI_M_GET_VM_VIRTUALISER_LOG_FILE "Hypervisor.GetVmVirtualiserLogFile"
#define HVAPI_M_GET_VM_VOLUME "Hypervisor.GetVmVolume"
#define HVAPI_M_GET_VM_VOLUME_STORAGE_CONFIGURATION "Hypervisor.GetVmVolumeStorageConfiguration"
#define HVAPI_M_HOLD_LOCK "Hypervisor.HoldLock"
#define HVAPI_M_HOLD_VM_LOCK "Hypervisor.HoldVmLock"
#define HVAPI_M_IMPORT_LOCAL_VM "Hypervisor.ImportLocalVm"
#define HVAPI_M_LIST_SUBNETS "Hypervisor.ListSubnets"
#define HVAPI_M_LIST_VMS "Hypervisor.ListVMs"
#define HVAPI_M_LIST_VM_VIRTUALISER_LOG_FILES "Hypervisor.ListVmVirtualiserLogFiles"
#define HVAPI_M_LIST_VOLUME_DIRECTORIES "Hypervisor.ListVolumeDirectories"
#define HVAPI_M_MIGRATE_VM "Hypervisor.MigrateVm"
#define HVAPI_M_NETBOOT_MACHINE "Hypervisor.NetbootMachine"
#define HVAPI_M_PATCH_VM_IMAGE "Hypervisor.PatchVmImage"
#define HVAPI_M_POWER_OFF "Hypervisor.PowerOff"
#define HVAPI_M_PREPARE_VM_FOR_MIGRATION "Hypervisor.PrepareVmForMigration"
#define HVAPI_M_PROBE_VM_PORT "Hypervisor.ProbeVmPort"
#define HVAPI_M_REBOOT_VM "Hypervisor.RebootVm"
#define HVAPI_M_REGISTER_EXTERNAL_LEASES "Hypervisor.RegisterExternalLeases"
#define HVAPI_M_REORDER_VM_VOLUMES "Hypervisor.ReorderVmVolumes"
#define HVAPI_M_REPLACE_VM_CREDENTIALS "Hypervisor.ReplaceVmCredentials"
#define HVAPI_M_REPLACE_VM_IDENTITY "Hypervisor.ReplaceVmIdentity"
#define HVAPI_M_REPLACE_VM_IMAGE "Hypervisor.ReplaceVmImage"
#define HVAPI_M_REPLACE_VM_USER_DATA "Hypervisor.ReplaceVmUserData"
#define HVAPI_M_RESTORE_VM_FROM_SNAPSHOT "Hypervisor.RestoreVmFromSnapshot"
#define HVAPI_M_RESTORE_VM_IMAGE "Hypervisor.RestoreVmImage"
#define HVAPI_M_RESTORE_VM_USER_DATA "Hypervisor.RestoreVmUserData"
#define HVAPI_M_SCAN_VM_ROOT "Hypervisor.ScanVmRoot"
#define HVAPI_M_SET_DISABLED_STATE "Hypervisor.SetDisabledState"
#define HVAPI_M_SNAPSHOT_VM "Hypervisor.SnapshotVm"
#define HVAPI_M_START_VM "Hypervisor.StartVm"
#define HVAPI_M_STOP_VM "Hypervisor.StopVm"
#define HVAPI_M_TRACE_VM_METADATA "Hypervisor.TraceVmMetadata"
#define HVAPI_M_UPDATE_SUBNETS "Hypervisor.UpdateSubnets"
#define HVAPI_M_WATCH_DHCP "Hypervisor.WatchDhcp"

/* ---- The method table (spec/rpc.md §5 legend) ---- */

enum hvapi_access {
	HVAPI_ACCESS_PUBLIC = 1 << 0,	/* P: any authenticated user; else admin only */
	HVAPI_ACCESS_VM = 1 << 1,	/* VM: per-VM owner/token check in the handler */
	HVAPI_ACCESS_LOOPBACK = 1 << 2, /* L: the TCP peer must be a loopback address */
	HVAPI_ACCESS_UNAUTH = 1 << 3,	/* U: also unauthenticated with
					   -allowUnauthenticatedReads */
};

struct hvapi_method {
	const char *name;		 /* "Hypervisor.X" */
	bool stream;			 /* S (else RR) */
	unsigned access;		 /* enum hvapi_access */
	const struct api_type *request;	 /* first message from the client; NULL = {} */
	const struct api_type *response; /* (first) message from the server; NULL = none
					    (ScanVmRoot: gob only, unsupported) */
};

extern const struct hvapi_method hvapi_methods[];
extern const size_t hvapi_n_methods;

/* The entry for "Hypervisor.X" (or "X"), NULL if unknown. */
const struct hvapi_method *hvapi_method_find(const char *name);

/* ---- Shared message shapes ---- */

/* {IpAddress}: AcknowledgeVm, BecomePrimaryVmOwner, CommitImportedVm,
 * ConnectToVmConsole, ConnectToVmManager, DiscardVmOldImage, DiscardVmOldUserData,
 * GetVmCreateRequest, GetVmInfo, GetVmLastPatchLog, GetVmVolumeStorageConfiguration,
 * ListVmVirtualiserLogFiles, RestoreVmImage, RestoreVmUserData, TraceVmMetadata. */
struct hvapi_ip_request {
	struct in_addr ip; /* IpAddress */
};

/* {AccessToken, IpAddress}: DestroyVm, DiscardVmAccessToken, GetVmUserData, StopVm. */
struct hvapi_vm_token_request {
	struct api_bytes access_token; /* AccessToken */
	struct in_addr ip;	       /* IpAddress */
};

/* {Error}: the reply of most methods. */
struct hvapi_error_response {
	char *error; /* Error */
};

/* {DhcpTimedOut, Error}: RebootVm, StartVm. */
struct hvapi_dhcp_response {
	bool dhcp_timed_out; /* DhcpTimedOut */
	char *error;	     /* Error */
};

/* {Error, Length} then Length raw bytes: GetVmUserData, GetVmVirtualiserLogFile. */
struct hvapi_length_response {
	char *error;	 /* Error */
	uint64_t length; /* Length */
};

/* Stream messages of DebugVmImage and ReplaceVmImage. */
struct hvapi_image_response {
	bool dhcp_timed_out;	/* DhcpTimedOut */
	bool final;		/* Final */
	char *progress_message; /* ProgressMessage */
	char *error;		/* Error */
};

/* ---- Per-method messages, alphabetical ---- */

struct hvapi_add_vm_volumes_request {
	struct in_addr ip;		 /* IpAddress */
	API_LIST(uint64_t) volume_sizes; /* VolumeSizes */
};

struct hvapi_change_address_pool_request {
	struct hvapi_addresses addresses_to_add;    /* AddressesToAdd */
	struct hvapi_addresses addresses_to_remove; /* AddressesToRemove */
	API_LIST(struct hvapi_count)
	maximum_free_addresses; /* MaximumFreeAddresses: subnet
				   id ("" = all) -> max */
};

struct hvapi_change_owners_request {
	struct api_strlist owner_groups; /* OwnerGroups (o) */
	struct api_strlist owner_users;	 /* OwnerUsers (o) */
};

struct hvapi_change_vm_console_type_request {
	enum hvapi_console_type console_type; /* ConsoleType */
	struct in_addr ip;		      /* IpAddress */
};

struct hvapi_change_vm_cpu_priority_request {
	int cpu_priority;  /* CpuPriority */
	struct in_addr ip; /* IpAddress */
};

struct hvapi_change_vm_destroy_protection_request {
	bool destroy_protection; /* DestroyProtection */
	struct in_addr ip;	 /* IpAddress */
};

struct hvapi_change_vm_hostname_request {
	char *hostname;	   /* Hostname */
	struct in_addr ip; /* IpAddress */
};

struct hvapi_change_vm_machine_type_request {
	enum hvapi_machine_type machine_type; /* MachineType */
	struct in_addr ip;		      /* IpAddress */
};

struct hvapi_change_vm_num_network_queues_request {
	struct in_addr ip;			     /* IpAddress */
	API_LIST(uint32_t) num_queues_per_interface; /* NumQueuesPerInterface */
};

struct hvapi_change_vm_owner_groups_request {
	struct in_addr ip;		 /* IpAddress */
	struct api_strlist owner_groups; /* OwnerGroups */
};

struct hvapi_change_vm_owner_users_request {
	struct in_addr ip;		/* IpAddress */
	struct api_strlist owner_users; /* OwnerUsers */
};

struct hvapi_change_vm_size_request {
	struct in_addr ip;     /* IpAddress */
	uint64_t memory_mib;   /* MemoryInMiB (0 = unchanged) */
	uint32_t milli_cpus;   /* MilliCPUs */
	uint32_t virtual_cpus; /* VirtualCPUs */
};

struct hvapi_change_vm_subnet_request {
	struct in_addr ip; /* IpAddress */
	char *subnet_id;   /* SubnetId */
};

struct hvapi_change_vm_subnet_response {
	char *error;		 /* Error */
	struct in_addr new_ip;	 /* NewIpAddress */
	char *old_identity_name; /* OldIdentityName */
};

struct hvapi_change_vm_tags_request {
	struct in_addr ip;	/* IpAddress */
	struct hvapi_tags tags; /* Tags */
};

struct hvapi_change_vm_volume_interfaces_request {
	API_LIST(enum hvapi_volume_interface) interfaces; /* Interfaces */
	struct in_addr ip;				  /* IpAddress */
};

struct hvapi_change_vm_volume_size_request {
	struct in_addr ip;     /* IpAddress */
	uint32_t volume_index; /* VolumeIndex */
	uint64_t volume_size;  /* VolumeSize */
};

struct hvapi_change_vm_volume_storage_index_request {
	struct in_addr ip;	/* IpAddress */
	uint32_t storage_index; /* StorageIndex */
	uint32_t volume_index;	/* VolumeIndex */
};

struct hvapi_connect_to_vm_serial_port_request {
	struct in_addr ip;    /* IpAddress */
	uint32_t port_number; /* PortNumber (must be 0) */
};

struct hvapi_copy_vm_request {
	struct api_bytes access_token; /* AccessToken */
	struct in_addr ip;	       /* IpAddress (source VM) */
	bool skip_memory_check;	       /* SkipMemoryCheck */
	char *source_hypervisor;       /* SourceHypervisor */
	struct hvapi_vm_info vm;       /* VmInfo fields, flattened */
};

struct hvapi_copy_vm_response {
	char *error;		/* Error */
	bool final;		/* Final */
	struct in_addr ip;	/* IpAddress */
	char *progress_message; /* ProgressMessage */
};

struct hvapi_debug_vm_image_request {
	int64_t dhcp_timeout_ns;		   /* DhcpTimeout */
	uint64_t image_data_size;		   /* ImageDataSize */
	char *image_name;			   /* ImageName */
	int64_t image_timeout_ns;		   /* ImageTimeout */
	char *image_url;			   /* ImageURL */
	struct in_addr ip;			   /* IpAddress */
	uint64_t minimum_free_bytes;		   /* MinimumFreeBytes */
	API_LIST(struct hvapi_file) overlay_files; /* OverlayFiles */
	uint64_t roundup_power;			   /* RoundupPower */
};

struct hvapi_delete_vm_volume_request {
	struct api_bytes access_token; /* AccessToken */
	struct in_addr ip;	       /* IpAddress */
	uint32_t volume_index;	       /* VolumeIndex (>= 1) */
};

struct hvapi_discard_vm_snapshot_request {
	struct in_addr ip; /* IpAddress */
	char *name;	   /* Name */
};

struct hvapi_export_local_vm_request {
	struct in_addr ip;		      /* IpAddress */
	struct api_bytes verification_cookie; /* VerificationCookie (o) */
};

struct hvapi_export_local_vm_info {
	struct api_strlist bridges;	  /* Bridges */
	struct hvapi_local_vm_info local; /* LocalVmInfo fields, flattened */
};

struct hvapi_export_local_vm_response {
	char *error;				   /* Error */
	struct hvapi_export_local_vm_info vm_info; /* VmInfo */
};

struct hvapi_get_capacity_response {
	char *error;		       /* Error (o) */
	uint64_t available_memory_mib; /* AvailableMemoryInMiB (o) */
	uint64_t memory_mib;	       /* MemoryInMiB (o) */
	uint32_t num_cpus;	       /* NumCPUs (o) */
	uint64_t total_volume_bytes;   /* TotalVolumeBytes (o) */
};

struct hvapi_get_identity_provider_response {
	char *error;	/* Error */
	char *base_url; /* BaseUrl */
};

struct hvapi_get_public_key_response {
	char *error;		  /* Error */
	struct api_bytes key_pem; /* KeyPEM */
};

struct hvapi_get_root_cookie_path_response {
	char *error; /* Error */
	char *path;  /* Path */
};

struct hvapi_register_external_leases_request {
	struct hvapi_addresses addresses; /* Addresses */
	struct api_strlist hostnames;	  /* Hostnames (o) */
};

/* Client -> server messages of GetUpdates. */
struct hvapi_get_updates_request {
	struct hvapi_register_external_leases_request *register_external_leases;
	/* RegisterExternalLeasesRequest (pointer; null when absent) */
};

struct hvapi_vm_entry { /* Update.VMs: IP -> VmInfo; vm == NULL is a deletion ({}) */
	char *ip;
	struct hvapi_vm_info *vm;
};

/* Server -> client messages of GetUpdates; every field (o). */
struct hvapi_update {
	bool have_address_pool;		     /* HaveAddressPool */
	struct hvapi_addresses address_pool; /* AddressPool (registered list) */
	enum hvapi_arch architecture;	     /* ArchitectureType */
	bool has_available_memory;
	uint64_t available_memory_mib; /* AvailableMemoryInMiB (when has_) */
	bool have_disabled;	       /* HaveDisabled */
	bool disabled;		       /* Disabled */
	bool has_memory;
	uint64_t memory_mib; /* MemoryInMiB (when has_) */
	bool has_num_cpus;
	uint32_t num_cpus;				 /* NumCPUs (when has_) */
	API_LIST(struct hvapi_count) num_free_addresses; /* NumFreeAddresses */
	char *health_status;				 /* HealthStatus */
	bool have_serial_number;			 /* HaveSerialNumber */
	char *serial_number;				 /* SerialNumber */
	bool have_subnets;				 /* HaveSubnets */
	struct hvapi_subnets subnets;			 /* Subnets */
	bool has_total_volume_bytes;
	uint64_t total_volume_bytes;	     /* TotalVolumeBytes (when has_) */
	bool have_vms;			     /* HaveVMs */
	API_LIST(struct hvapi_vm_entry) vms; /* VMs */
};

struct hvapi_get_vm_access_token_request {
	struct in_addr ip;   /* IpAddress */
	int64_t lifetime_ns; /* Lifetime: 1 min .. 24 h */
};

struct hvapi_get_vm_access_token_response {
	struct api_bytes token; /* Token (o) */
	char *error;		/* Error */
};

struct hvapi_get_vm_create_request_response {
	char *error;				/* Error */
	struct hvapi_create_vm_request request; /* CreateVmRequest */
};

struct hvapi_get_vm_info_response {
	struct hvapi_vm_info vm_info; /* VmInfo */
	char *error;		      /* Error */
};

struct hvapi_get_vm_infos_request {
	uint64_t ignore_state_mask;		  /* IgnoreStateMask: bit 1 << state */
	struct api_strlist owner_groups;	  /* OwnerGroups */
	struct api_strlist owner_users;		  /* OwnerUsers */
	struct hvapi_match_tags vm_tags_to_match; /* VmTagsToMatch */
};

struct hvapi_get_vm_infos_response {
	char *error;				 /* Error */
	API_LIST(struct hvapi_vm_info) vm_infos; /* VmInfos */
};

struct hvapi_get_vm_last_patch_log_response {
	char *error;		    /* Error */
	uint64_t length;	    /* Length */
	struct timespec patch_time; /* PatchTime */
};

struct hvapi_get_vm_virtualiser_log_file_request {
	char *filename;	   /* Filename (a plain basename) */
	struct in_addr ip; /* IpAddress */
};

struct hvapi_get_vm_volume_request {
	struct api_bytes access_token; /* AccessToken */
	bool get_extra_files;	       /* GetExtraFiles */
	bool ignore_extra_files;       /* IgnoreExtraFiles */
	struct in_addr ip;	       /* IpAddress */
	uint32_t volume_index;	       /* VolumeIndex */
};

struct hvapi_get_vm_volume_response {
	char *error;				 /* Error */
	API_LIST(struct hvapi_file) extra_files; /* ExtraFiles */
};

struct hvapi_storage_info {
	uint64_t available_bytes; /* AvailableBytes */
	uint64_t free_bytes;	  /* FreeBytes */
	uint64_t size_bytes;	  /* SizeBytes */
	uint64_t usable_bytes;	  /* UsableBytes */
};

struct hvapi_get_vm_volume_storage_configuration_response {
	char *error;					   /* Error */
	API_LIST(struct hvapi_storage_info) storage_infos; /* StorageInfos */
	API_LIST(uint32_t) volume_storage_indices;	   /* VolumeStorageIndices */
};

struct hvapi_hold_lock_request {
	int64_t timeout_ns; /* Timeout (<= 1 min) */
	bool write_lock;    /* WriteLock */
};

struct hvapi_hold_vm_lock_request {
	struct in_addr ip;  /* IpAddress */
	int64_t timeout_ns; /* Timeout */
	bool write_lock;    /* WriteLock */
};

struct hvapi_import_local_vm_request {
	bool skip_memory_check;		      /* SkipMemoryCheck */
	struct api_bytes verification_cookie; /* VerificationCookie (o) */
	struct hvapi_vm_info vm;	      /* VmInfo fields, flattened */
	struct api_strlist volume_filenames;  /* VolumeFilenames */
};

struct hvapi_list_subnets_request {
	bool sort; /* Sort */
};

struct hvapi_list_subnets_response {
	char *error;		      /* Error */
	struct hvapi_subnets subnets; /* Subnets (o) */
};

struct hvapi_list_vms_request {
	uint64_t ignore_state_mask;		  /* IgnoreStateMask */
	struct api_strlist owner_groups;	  /* OwnerGroups */
	struct api_strlist owner_users;		  /* OwnerUsers */
	bool sort;				  /* Sort (version-string order) */
	struct hvapi_match_tags vm_tags_to_match; /* VmTagsToMatch */
};

struct hvapi_list_vms_response {	       /* no Error field */
	API_LIST(struct in_addr) ip_addresses; /* IpAddresses */
};

struct hvapi_list_vm_virtualiser_log_files_response {
	char *error;		      /* Error */
	struct api_strlist filenames; /* Filenames */
	API_LIST(uint64_t) lengths;   /* Lengths */
};

struct hvapi_list_volume_directories_response {
	struct api_strlist directories; /* Directories */
	char *error;			/* Error */
};

struct hvapi_migrate_vm_request {
	struct api_bytes access_token; /* AccessToken */
	int64_t dhcp_timeout_ns;       /* DhcpTimeout */
	struct in_addr ip;	       /* IpAddress */
	bool skip_memory_check;	       /* SkipMemoryCheck */
	char *source_hypervisor;       /* SourceHypervisor */
};

struct hvapi_migrate_vm_response {
	char *error;		/* Error */
	bool final;		/* Final */
	char *progress_message; /* ProgressMessage */
	bool request_commit;	/* RequestCommit */
};

struct hvapi_migrate_vm_response_response {
	bool commit; /* Commit */
};

struct hvapi_netboot_machine_request {
	struct hvapi_address address;		   /* Address */
	API_LIST(struct hvapi_file) files;	   /* Files: TFTP name -> contents */
	int64_t files_expiration_ns;		   /* FilesExpiration */
	char *hostname;				   /* Hostname */
	uint32_t num_acknowledgements_to_wait_for; /* NumAcknowledgementsToWaitFor */
	int64_t offer_expiration_ns;		   /* OfferExpiration */
	struct hvapi_subnet *subnet;		   /* Subnet (pointer; null when absent) */
	int64_t wait_timeout_ns;		   /* WaitTimeout */
};

struct hvapi_patch_vm_image_request {
	char *image_name;			   /* ImageName */
	int64_t image_timeout_ns;		   /* ImageTimeout */
	struct in_addr ip;			   /* IpAddress */
	API_LIST(struct hvapi_file) overlay_files; /* OverlayFiles */
	bool skip_backup;			   /* SkipBackup */
};

struct hvapi_patch_vm_image_response {
	bool final;		/* Final */
	char *progress_message; /* ProgressMessage */
	char *error;		/* Error */
};

struct hvapi_power_off_request {
	bool stop_vms; /* StopVMs */
};

struct hvapi_prepare_vm_for_migration_request {
	struct api_bytes access_token; /* AccessToken */
	bool enable;		       /* Enable */
	struct in_addr ip;	       /* IpAddress */
};

struct hvapi_probe_vm_port_request {
	struct in_addr ip;    /* IpAddress */
	uint32_t port_number; /* PortNumber */
	int64_t timeout_ns;   /* Timeout */
};

struct hvapi_probe_vm_port_response {
	bool port_is_open; /* PortIsOpen */
	char *error;	   /* Error */
};

struct hvapi_reboot_vm_request {
	int64_t dhcp_timeout_ns; /* DhcpTimeout */
	struct in_addr ip;	 /* IpAddress */
};

struct hvapi_reorder_vm_volumes_request {
	struct api_bytes access_token;	   /* AccessToken */
	struct in_addr ip;		   /* IpAddress */
	API_LIST(uint32_t) volume_indices; /* VolumeIndices */
};

struct hvapi_replace_vm_credentials_request {
	struct api_bytes identity_certificate; /* IdentityCertificate */
	struct api_bytes identity_key;	       /* IdentityKey */
	struct in_addr ip;		       /* IpAddress */
};

struct hvapi_replace_vm_identity_request {
	struct api_bytes identity_requestor_certificate; /* IdentityRequestorCertificate */
	struct in_addr ip;				 /* IpAddress */
};

struct hvapi_replace_vm_image_request {
	int64_t dhcp_timeout_ns;		   /* DhcpTimeout */
	uint64_t image_data_size;		   /* ImageDataSize */
	char *image_name;			   /* ImageName (o) */
	int64_t image_timeout_ns;		   /* ImageTimeout */
	char *image_url;			   /* ImageURL (o) */
	struct in_addr ip;			   /* IpAddress */
	uint64_t minimum_free_bytes;		   /* MinimumFreeBytes */
	API_LIST(struct hvapi_file) overlay_files; /* OverlayFiles */
	bool pre_delete;			   /* PreDelete */
	uint64_t roundup_power;			   /* RoundupPower */
	bool skip_backup;			   /* SkipBackup */
	bool skip_bootloader;			   /* SkipBootloader */
	enum hvapi_volume_format volume_format;	   /* VolumeFormat (o) */
};

/* Followed on the wire by Size raw bytes (in a separate write: rpc.md §10.2). */
struct hvapi_replace_vm_user_data_request {
	struct in_addr ip; /* IpAddress */
	uint64_t size;	   /* Size */
};

struct hvapi_restore_vm_from_snapshot_request {
	struct in_addr ip;	   /* IpAddress */
	bool force_if_not_stopped; /* ForceIfNotStopped */
	char *name;		   /* Name */
	bool retain;		   /* Retain */
};

struct hvapi_set_disabled_state_request {
	bool disable; /* Disable */
};

struct hvapi_snapshot_vm_request {
	struct in_addr ip;	   /* IpAddress */
	bool force_if_not_stopped; /* ForceIfNotStopped */
	char *name;		   /* Name */
	bool root_only;		   /* RootOnly */
};

struct hvapi_start_vm_request {
	struct api_bytes access_token; /* AccessToken */
	int64_t dhcp_timeout_ns;       /* DhcpTimeout */
	struct in_addr ip;	       /* IpAddress */
};

struct hvapi_update_subnets_request {
	struct hvapi_subnets add;      /* Add */
	struct hvapi_subnets change;   /* Change */
	struct api_strlist delete_ids; /* Delete */
};

struct hvapi_watch_dhcp_request {
	char *interface;      /* Interface ("" = all) */
	uint32_t max_packets; /* MaxPackets (0 = unlimited) */
};

struct hvapi_watch_dhcp_response {
	char *error;		 /* Error */
	char *interface;	 /* Interface */
	struct api_bytes packet; /* Packet: the raw DHCP payload */
};

extern const struct api_type hvapi_vm_entry_type;

API_CODEC_DECLARE(hvapi_ip_request)
API_CODEC_DECLARE(hvapi_vm_token_request)
API_CODEC_DECLARE(hvapi_error_response)
API_CODEC_DECLARE(hvapi_dhcp_response)
API_CODEC_DECLARE(hvapi_length_response)
API_CODEC_DECLARE(hvapi_image_response)
API_CODEC_DECLARE(hvapi_add_vm_volumes_request)
API_CODEC_DECLARE(hvapi_change_address_pool_request)
API_CODEC_DECLARE(hvapi_change_owners_request)
API_CODEC_DECLARE(hvapi_change_vm_console_type_request)
API_CODEC_DECLARE(hvapi_change_vm_cpu_priority_request)
API_CODEC_DECLARE(hvapi_change_vm_destroy_protection_request)
API_CODEC_DECLARE(hvapi_change_vm_hostname_request)
API_CODEC_DECLARE(hvapi_change_vm_machine_type_request)
API_CODEC_DECLARE(hvapi_change_vm_num_network_queues_request)
API_CODEC_DECLARE(hvapi_change_vm_owner_groups_request)
API_CODEC_DECLARE(hvapi_change_vm_owner_users_request)
API_CODEC_DECLARE(hvapi_change_vm_size_request)
API_CODEC_DECLARE(hvapi_change_vm_subnet_request)
API_CODEC_DECLARE(hvapi_change_vm_subnet_response)
API_CODEC_DECLARE(hvapi_change_vm_tags_request)
API_CODEC_DECLARE(hvapi_change_vm_volume_interfaces_request)
API_CODEC_DECLARE(hvapi_change_vm_volume_size_request)
API_CODEC_DECLARE(hvapi_change_vm_volume_storage_index_request)
API_CODEC_DECLARE(hvapi_connect_to_vm_serial_port_request)
API_CODEC_DECLARE(hvapi_copy_vm_request)
API_CODEC_DECLARE(hvapi_copy_vm_response)
API_CODEC_DECLARE(hvapi_debug_vm_image_request)
API_CODEC_DECLARE(hvapi_delete_vm_volume_request)
API_CODEC_DECLARE(hvapi_discard_vm_snapshot_request)
API_CODEC_DECLARE(hvapi_export_local_vm_request)
API_CODEC_DECLARE(hvapi_export_local_vm_info)
API_CODEC_DECLARE(hvapi_export_local_vm_response)
API_CODEC_DECLARE(hvapi_get_capacity_response)
API_CODEC_DECLARE(hvapi_get_identity_provider_response)
API_CODEC_DECLARE(hvapi_get_public_key_response)
API_CODEC_DECLARE(hvapi_get_root_cookie_path_response)
API_CODEC_DECLARE(hvapi_register_external_leases_request)
API_CODEC_DECLARE(hvapi_get_updates_request)
API_CODEC_DECLARE(hvapi_update)
API_CODEC_DECLARE(hvapi_get_vm_access_token_request)
API_CODEC_DECLARE(hvapi_get_vm_access_token_response)
API_CODEC_DECLARE(hvapi_get_vm_create_request_response)
API_CODEC_DECLARE(hvapi_get_vm_info_response)
API_CODEC_DECLARE(hvapi_get_vm_infos_request)
API_CODEC_DECLARE(hvapi_get_vm_infos_response)
API_CODEC_DECLARE(hvapi_get_vm_last_patch_log_response)
API_CODEC_DECLARE(hvapi_get_vm_virtualiser_log_file_request)
API_CODEC_DECLARE(hvapi_get_vm_volume_request)
API_CODEC_DECLARE(hvapi_get_vm_volume_response)
API_CODEC_DECLARE(hvapi_storage_info)
API_CODEC_DECLARE(hvapi_get_vm_volume_storage_configuration_response)
API_CODEC_DECLARE(hvapi_hold_lock_request)
API_CODEC_DECLARE(hvapi_hold_vm_lock_request)
API_CODEC_DECLARE(hvapi_import_local_vm_request)
API_CODEC_DECLARE(hvapi_list_subnets_request)
API_CODEC_DECLARE(hvapi_list_subnets_response)
API_CODEC_DECLARE(hvapi_list_vms_request)
API_CODEC_DECLARE(hvapi_list_vms_response)
API_CODEC_DECLARE(hvapi_list_vm_virtualiser_log_files_response)
API_CODEC_DECLARE(hvapi_list_volume_directories_response)
API_CODEC_DECLARE(hvapi_migrate_vm_request)
API_CODEC_DECLARE(hvapi_migrate_vm_response)
API_CODEC_DECLARE(hvapi_migrate_vm_response_response)
API_CODEC_DECLARE(hvapi_netboot_machine_request)
API_CODEC_DECLARE(hvapi_patch_vm_image_request)
API_CODEC_DECLARE(hvapi_patch_vm_image_response)
API_CODEC_DECLARE(hvapi_power_off_request)
API_CODEC_DECLARE(hvapi_prepare_vm_for_migration_request)
API_CODEC_DECLARE(hvapi_probe_vm_port_request)
API_CODEC_DECLARE(hvapi_probe_vm_port_response)
API_CODEC_DECLARE(hvapi_reboot_vm_request)
API_CODEC_DECLARE(hvapi_reorder_vm_volumes_request)
API_CODEC_DECLARE(hvapi_replace_vm_credentials_request)
API_CODEC_DECLARE(hvapi_replace_vm_identity_request)
API_CODEC_DECLARE(hvapi_replace_vm_image_request)
API_CODEC_DECLARE(hvapi_replace_vm_user_data_request)
API_CODEC_DECLARE(hvapi_restore_vm_from_snapshot_request)
API_CODEC_DECLARE(hvapi_set_disabled_state_request)
API_CODEC_DECLARE(hvapi_snapshot_vm_request)
API_CODEC_DECLARE(hvapi_start_vm_request)
API_CODEC_DECLARE(hvapi_update_subnets_request)
API_CODEC_DECLARE(hvapi_watch_dhcp_request)
API_CODEC_DECLARE(hvapi_watch_dhcp_response)

#endif
