/* api/hypervisor_msgs: descriptors of the Hypervisor.* request and response messages
 * (field order = Go declaration order) and the method table of spec/rpc.md §5. */
#include "hypervisor.h"

#include <string.h>

#define O API_OMITEMPTY

/* Update.VMs entries: a deleted VM is written {} (never null: the Go Fleet Manager
 * crashes on null) and {} decodes back to vm == NULL. */
static const struct api_field vm_entry_fields[] = {
    API_FLD(hvapi_vm_entry, "IpAddress", API_STR, ip, 0),
    {.name = "VmInfo",
     .kind = API_PTR,
     .offset = offsetof(struct hvapi_vm_entry, vm),
     .flags = API_EMPTY_NULL,
     .type = &hvapi_vm_info_type},
};
API_TYPE(hvapi_vm_entry, "VmEntry", vm_entry_fields);

static const struct api_field ip_request_fields[] = {
    API_FLD(hvapi_ip_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_ip_request, "IpRequest", ip_request_fields);

static const struct api_field vm_token_request_fields[] = {
    API_FLD(hvapi_vm_token_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_vm_token_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_vm_token_request, "VmTokenRequest", vm_token_request_fields);

static const struct api_field error_response_fields[] = {
    API_FLD(hvapi_error_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_error_response, "ErrorResponse", error_response_fields);

static const struct api_field dhcp_response_fields[] = {
    API_FLD(hvapi_dhcp_response, "DhcpTimedOut", API_BOOL, dhcp_timed_out, 0),
    API_FLD(hvapi_dhcp_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_dhcp_response, "DhcpResponse", dhcp_response_fields);

static const struct api_field length_response_fields[] = {
    API_FLD(hvapi_length_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_length_response, "Length", API_UINT64, length, 0),
};
API_TYPE(hvapi_length_response, "LengthResponse", length_response_fields);

static const struct api_field image_response_fields[] = {
    API_FLD(hvapi_image_response, "DhcpTimedOut", API_BOOL, dhcp_timed_out, 0),
    API_FLD(hvapi_image_response, "Final", API_BOOL, final, 0),
    API_FLD(hvapi_image_response, "ProgressMessage", API_STR, progress_message, 0),
    API_FLD(hvapi_image_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_image_response, "ImageResponse", image_response_fields);

static const struct api_field add_vm_volumes_request_fields[] = {
    API_FLD(hvapi_add_vm_volumes_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_LIST(hvapi_add_vm_volumes_request, "VolumeSizes", volume_sizes, 0, API_UINT64),
};
API_TYPE(hvapi_add_vm_volumes_request, "AddVmVolumesRequest", add_vm_volumes_request_fields);

static const struct api_field change_address_pool_request_fields[] = {
    API_FLD_LIST_T(hvapi_change_address_pool_request, "AddressesToAdd", addresses_to_add, 0,
		   API_STRUCT, hvapi_address_type),
    API_FLD_LIST_T(hvapi_change_address_pool_request, "AddressesToRemove", addresses_to_remove, 0,
		   API_STRUCT, hvapi_address_type),
    API_FLD_T(hvapi_change_address_pool_request, "MaximumFreeAddresses", API_MAP,
	      maximum_free_addresses, 0, hvapi_count_type),
};
API_TYPE(hvapi_change_address_pool_request, "ChangeAddressPoolRequest",
	 change_address_pool_request_fields);

static const struct api_field change_owners_request_fields[] = {
    API_FLD_LIST(hvapi_change_owners_request, "OwnerGroups", owner_groups, O, API_STR),
    API_FLD_LIST(hvapi_change_owners_request, "OwnerUsers", owner_users, O, API_STR),
};
API_TYPE(hvapi_change_owners_request, "ChangeOwnersRequest", change_owners_request_fields);

static const struct api_field change_vm_console_type_request_fields[] = {
    API_FLD_ENUM(hvapi_change_vm_console_type_request, "ConsoleType", console_type, 0,
		 hvapi_console_type_names),
    API_FLD(hvapi_change_vm_console_type_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_console_type_request, "ChangeVmConsoleTypeRequest",
	 change_vm_console_type_request_fields);

static const struct api_field change_vm_cpu_priority_request_fields[] = {
    API_FLD(hvapi_change_vm_cpu_priority_request, "CpuPriority", API_INT, cpu_priority, 0),
    API_FLD(hvapi_change_vm_cpu_priority_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_cpu_priority_request, "ChangeVmCpuPriorityRequest",
	 change_vm_cpu_priority_request_fields);

static const struct api_field change_vm_destroy_protection_request_fields[] = {
    API_FLD(hvapi_change_vm_destroy_protection_request, "DestroyProtection", API_BOOL,
	    destroy_protection, 0),
    API_FLD(hvapi_change_vm_destroy_protection_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_destroy_protection_request, "ChangeVmDestroyProtectionRequest",
	 change_vm_destroy_protection_request_fields);

static const struct api_field change_vm_hostname_request_fields[] = {
    API_FLD(hvapi_change_vm_hostname_request, "Hostname", API_STR, hostname, 0),
    API_FLD(hvapi_change_vm_hostname_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_hostname_request, "ChangeVmHostnameRequest",
	 change_vm_hostname_request_fields);

static const struct api_field change_vm_machine_type_request_fields[] = {
    API_FLD_ENUM(hvapi_change_vm_machine_type_request, "MachineType", machine_type, 0,
		 hvapi_machine_type_names),
    API_FLD(hvapi_change_vm_machine_type_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_machine_type_request, "ChangeVmMachineTypeRequest",
	 change_vm_machine_type_request_fields);

static const struct api_field change_vm_num_network_queues_request_fields[] = {
    API_FLD(hvapi_change_vm_num_network_queues_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_LIST(hvapi_change_vm_num_network_queues_request, "NumQueuesPerInterface",
		 num_queues_per_interface, 0, API_UINT32),
};
API_TYPE(hvapi_change_vm_num_network_queues_request, "ChangeVmNumNetworkQueuesRequest",
	 change_vm_num_network_queues_request_fields);

static const struct api_field change_vm_owner_groups_request_fields[] = {
    API_FLD(hvapi_change_vm_owner_groups_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_LIST(hvapi_change_vm_owner_groups_request, "OwnerGroups", owner_groups, 0, API_STR),
};
API_TYPE(hvapi_change_vm_owner_groups_request, "ChangeVmOwnerGroupsRequest",
	 change_vm_owner_groups_request_fields);

static const struct api_field change_vm_owner_users_request_fields[] = {
    API_FLD(hvapi_change_vm_owner_users_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_LIST(hvapi_change_vm_owner_users_request, "OwnerUsers", owner_users, 0, API_STR),
};
API_TYPE(hvapi_change_vm_owner_users_request, "ChangeVmOwnerUsersRequest",
	 change_vm_owner_users_request_fields);

static const struct api_field change_vm_size_request_fields[] = {
    API_FLD(hvapi_change_vm_size_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_change_vm_size_request, "MemoryInMiB", API_UINT64, memory_mib, 0),
    API_FLD(hvapi_change_vm_size_request, "MilliCPUs", API_UINT32, milli_cpus, 0),
    API_FLD(hvapi_change_vm_size_request, "VirtualCPUs", API_UINT32, virtual_cpus, 0),
};
API_TYPE(hvapi_change_vm_size_request, "ChangeVmSizeRequest", change_vm_size_request_fields);

static const struct api_field change_vm_subnet_request_fields[] = {
    API_FLD(hvapi_change_vm_subnet_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_change_vm_subnet_request, "SubnetId", API_STR, subnet_id, 0),
};
API_TYPE(hvapi_change_vm_subnet_request, "ChangeVmSubnetRequest", change_vm_subnet_request_fields);

static const struct api_field change_vm_subnet_response_fields[] = {
    API_FLD(hvapi_change_vm_subnet_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_change_vm_subnet_response, "NewIpAddress", API_IPV4, new_ip, 0),
    API_FLD(hvapi_change_vm_subnet_response, "OldIdentityName", API_STR, old_identity_name, 0),
};
API_TYPE(hvapi_change_vm_subnet_response, "ChangeVmSubnetResponse",
	 change_vm_subnet_response_fields);

static const struct api_field change_vm_tags_request_fields[] = {
    API_FLD(hvapi_change_vm_tags_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_T(hvapi_change_vm_tags_request, "Tags", API_MAP, tags, 0, hvapi_tag_type),
};
API_TYPE(hvapi_change_vm_tags_request, "ChangeVmTagsRequest", change_vm_tags_request_fields);

static const struct api_field change_vm_volume_interfaces_request_fields[] = {
    API_FLD_LIST_ENUM(hvapi_change_vm_volume_interfaces_request, "Interfaces", interfaces, 0,
		      hvapi_volume_interface_names),
    API_FLD(hvapi_change_vm_volume_interfaces_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_change_vm_volume_interfaces_request, "ChangeVmVolumeInterfacesRequest",
	 change_vm_volume_interfaces_request_fields);

static const struct api_field change_vm_volume_size_request_fields[] = {
    API_FLD(hvapi_change_vm_volume_size_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_change_vm_volume_size_request, "VolumeIndex", API_UINT32, volume_index, 0),
    API_FLD(hvapi_change_vm_volume_size_request, "VolumeSize", API_UINT64, volume_size, 0),
};
API_TYPE(hvapi_change_vm_volume_size_request, "ChangeVmVolumeSizeRequest",
	 change_vm_volume_size_request_fields);

static const struct api_field change_vm_volume_storage_index_request_fields[] = {
    API_FLD(hvapi_change_vm_volume_storage_index_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_change_vm_volume_storage_index_request, "StorageIndex", API_UINT32, storage_index,
	    0),
    API_FLD(hvapi_change_vm_volume_storage_index_request, "VolumeIndex", API_UINT32, volume_index,
	    0),
};
API_TYPE(hvapi_change_vm_volume_storage_index_request, "ChangeVmVolumeStorageIndexRequest",
	 change_vm_volume_storage_index_request_fields);

static const struct api_field connect_to_vm_serial_port_request_fields[] = {
    API_FLD(hvapi_connect_to_vm_serial_port_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_connect_to_vm_serial_port_request, "PortNumber", API_UINT32, port_number, 0),
};
API_TYPE(hvapi_connect_to_vm_serial_port_request, "ConnectToVmSerialPortRequest",
	 connect_to_vm_serial_port_request_fields);

static const struct api_field copy_vm_request_fields[] = {
    API_FLD(hvapi_copy_vm_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_copy_vm_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_copy_vm_request, "SkipMemoryCheck", API_BOOL, skip_memory_check, 0),
    API_FLD(hvapi_copy_vm_request, "SourceHypervisor", API_STR, source_hypervisor, 0),
    API_FLD_EMBED(hvapi_copy_vm_request, vm, hvapi_vm_info_type),
};
API_TYPE(hvapi_copy_vm_request, "CopyVmRequest", copy_vm_request_fields);

static const struct api_field copy_vm_response_fields[] = {
    API_FLD(hvapi_copy_vm_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_copy_vm_response, "Final", API_BOOL, final, 0),
    API_FLD(hvapi_copy_vm_response, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_copy_vm_response, "ProgressMessage", API_STR, progress_message, 0),
};
API_TYPE(hvapi_copy_vm_response, "CopyVmResponse", copy_vm_response_fields);

static const struct api_field debug_vm_image_request_fields[] = {
    API_FLD(hvapi_debug_vm_image_request, "DhcpTimeout", API_INT64, dhcp_timeout_ns, 0),
    API_FLD(hvapi_debug_vm_image_request, "ImageDataSize", API_UINT64, image_data_size, 0),
    API_FLD(hvapi_debug_vm_image_request, "ImageName", API_STR, image_name, 0),
    API_FLD(hvapi_debug_vm_image_request, "ImageTimeout", API_INT64, image_timeout_ns, 0),
    API_FLD(hvapi_debug_vm_image_request, "ImageURL", API_STR, image_url, 0),
    API_FLD(hvapi_debug_vm_image_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_debug_vm_image_request, "MinimumFreeBytes", API_UINT64, minimum_free_bytes, 0),
    API_FLD_T(hvapi_debug_vm_image_request, "OverlayFiles", API_MAP, overlay_files, 0,
	      hvapi_file_type),
    API_FLD(hvapi_debug_vm_image_request, "RoundupPower", API_UINT64, roundup_power, 0),
};
API_TYPE(hvapi_debug_vm_image_request, "DebugVmImageRequest", debug_vm_image_request_fields);

static const struct api_field delete_vm_volume_request_fields[] = {
    API_FLD(hvapi_delete_vm_volume_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_delete_vm_volume_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_delete_vm_volume_request, "VolumeIndex", API_UINT32, volume_index, 0),
};
API_TYPE(hvapi_delete_vm_volume_request, "DeleteVmVolumeRequest", delete_vm_volume_request_fields);

static const struct api_field discard_vm_snapshot_request_fields[] = {
    API_FLD(hvapi_discard_vm_snapshot_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_discard_vm_snapshot_request, "Name", API_STR, name, 0),
};
API_TYPE(hvapi_discard_vm_snapshot_request, "DiscardVmSnapshotRequest",
	 discard_vm_snapshot_request_fields);

static const struct api_field export_local_vm_request_fields[] = {
    API_FLD(hvapi_export_local_vm_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_export_local_vm_request, "VerificationCookie", API_BYTES, verification_cookie, O),
};
API_TYPE(hvapi_export_local_vm_request, "ExportLocalVmRequest", export_local_vm_request_fields);

static const struct api_field export_local_vm_info_fields[] = {
    API_FLD_LIST(hvapi_export_local_vm_info, "Bridges", bridges, 0, API_STR),
    API_FLD_EMBED(hvapi_export_local_vm_info, local, hvapi_local_vm_info_type),
};
API_TYPE(hvapi_export_local_vm_info, "ExportLocalVmInfo", export_local_vm_info_fields);

static const struct api_field export_local_vm_response_fields[] = {
    API_FLD(hvapi_export_local_vm_response, "Error", API_STR, error, 0),
    API_FLD_T(hvapi_export_local_vm_response, "VmInfo", API_STRUCT, vm_info, 0,
	      hvapi_export_local_vm_info_type),
};
API_TYPE(hvapi_export_local_vm_response, "ExportLocalVmResponse", export_local_vm_response_fields);

static const struct api_field get_capacity_response_fields[] = {
    API_FLD(hvapi_get_capacity_response, "Error", API_STR, error, O),
    API_FLD(hvapi_get_capacity_response, "AvailableMemoryInMiB", API_UINT64, available_memory_mib,
	    O),
    API_FLD(hvapi_get_capacity_response, "MemoryInMiB", API_UINT64, memory_mib, O),
    API_FLD(hvapi_get_capacity_response, "NumCPUs", API_UINT32, num_cpus, O),
    API_FLD(hvapi_get_capacity_response, "TotalVolumeBytes", API_UINT64, total_volume_bytes, O),
};
API_TYPE(hvapi_get_capacity_response, "GetCapacityResponse", get_capacity_response_fields);

static const struct api_field get_identity_provider_response_fields[] = {
    API_FLD(hvapi_get_identity_provider_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_get_identity_provider_response, "BaseUrl", API_STR, base_url, 0),
};
API_TYPE(hvapi_get_identity_provider_response, "GetIdentityProviderResponse",
	 get_identity_provider_response_fields);

static const struct api_field get_public_key_response_fields[] = {
    API_FLD(hvapi_get_public_key_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_get_public_key_response, "KeyPEM", API_BYTES, key_pem, 0),
};
API_TYPE(hvapi_get_public_key_response, "GetPublicKeyResponse", get_public_key_response_fields);

static const struct api_field get_root_cookie_path_response_fields[] = {
    API_FLD(hvapi_get_root_cookie_path_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_get_root_cookie_path_response, "Path", API_STR, path, 0),
};
API_TYPE(hvapi_get_root_cookie_path_response, "GetRootCookiePathResponse",
	 get_root_cookie_path_response_fields);

static const struct api_field register_external_leases_request_fields[] = {
    API_FLD_LIST_T(hvapi_register_external_leases_request, "Addresses", addresses, 0, API_STRUCT,
		   hvapi_address_type),
    API_FLD_LIST(hvapi_register_external_leases_request, "Hostnames", hostnames, O, API_STR),
};
API_TYPE(hvapi_register_external_leases_request, "RegisterExternalLeasesRequest",
	 register_external_leases_request_fields);

static const struct api_field get_updates_request_fields[] = {
    API_FLD_T(hvapi_get_updates_request, "RegisterExternalLeasesRequest", API_PTR,
	      register_external_leases, 0, hvapi_register_external_leases_request_type),
};
API_TYPE(hvapi_get_updates_request, "GetUpdatesRequest", get_updates_request_fields);

static const struct api_field update_fields[] = {
    API_FLD(hvapi_update, "HaveAddressPool", API_BOOL, have_address_pool, O),
    API_FLD_LIST_T(hvapi_update, "AddressPool", address_pool, O, API_STRUCT, hvapi_address_type),
    API_FLD_ENUM(hvapi_update, "ArchitectureType", architecture, O, hvapi_arch_names),
    API_FLD_HAS(hvapi_update, "AvailableMemoryInMiB", API_UINT64, available_memory_mib,
		has_available_memory),
    API_FLD(hvapi_update, "HaveDisabled", API_BOOL, have_disabled, O),
    API_FLD(hvapi_update, "Disabled", API_BOOL, disabled, O),
    API_FLD_HAS(hvapi_update, "MemoryInMiB", API_UINT64, memory_mib, has_memory),
    API_FLD_HAS(hvapi_update, "NumCPUs", API_UINT32, num_cpus, has_num_cpus),
    API_FLD_T(hvapi_update, "NumFreeAddresses", API_MAP, num_free_addresses, O, hvapi_count_type),
    API_FLD(hvapi_update, "HealthStatus", API_STR, health_status, O),
    API_FLD(hvapi_update, "HaveSerialNumber", API_BOOL, have_serial_number, O),
    API_FLD(hvapi_update, "SerialNumber", API_STR, serial_number, O),
    API_FLD(hvapi_update, "HaveSubnets", API_BOOL, have_subnets, O),
    API_FLD_LIST_T(hvapi_update, "Subnets", subnets, O, API_STRUCT, hvapi_subnet_type),
    API_FLD_HAS(hvapi_update, "TotalVolumeBytes", API_UINT64, total_volume_bytes,
		has_total_volume_bytes),
    API_FLD(hvapi_update, "HaveVMs", API_BOOL, have_vms, O),
    API_FLD_T(hvapi_update, "VMs", API_MAP, vms, O, hvapi_vm_entry_type),
};
API_TYPE(hvapi_update, "Update", update_fields);

static const struct api_field get_vm_access_token_request_fields[] = {
    API_FLD(hvapi_get_vm_access_token_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_get_vm_access_token_request, "Lifetime", API_INT64, lifetime_ns, 0),
};
API_TYPE(hvapi_get_vm_access_token_request, "GetVmAccessTokenRequest",
	 get_vm_access_token_request_fields);

static const struct api_field get_vm_access_token_response_fields[] = {
    API_FLD(hvapi_get_vm_access_token_response, "Token", API_BYTES, token, O),
    API_FLD(hvapi_get_vm_access_token_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_get_vm_access_token_response, "GetVmAccessTokenResponse",
	 get_vm_access_token_response_fields);

static const struct api_field get_vm_create_request_response_fields[] = {
    API_FLD(hvapi_get_vm_create_request_response, "Error", API_STR, error, 0),
    API_FLD_T(hvapi_get_vm_create_request_response, "CreateVmRequest", API_STRUCT, request, 0,
	      hvapi_create_vm_request_type),
};
API_TYPE(hvapi_get_vm_create_request_response, "GetVmCreateRequestResponse",
	 get_vm_create_request_response_fields);

static const struct api_field get_vm_info_response_fields[] = {
    API_FLD_T(hvapi_get_vm_info_response, "VmInfo", API_STRUCT, vm_info, 0, hvapi_vm_info_type),
    API_FLD(hvapi_get_vm_info_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_get_vm_info_response, "GetVmInfoResponse", get_vm_info_response_fields);

static const struct api_field get_vm_infos_request_fields[] = {
    API_FLD(hvapi_get_vm_infos_request, "IgnoreStateMask", API_UINT64, ignore_state_mask, 0),
    API_FLD_LIST(hvapi_get_vm_infos_request, "OwnerGroups", owner_groups, 0, API_STR),
    API_FLD_LIST(hvapi_get_vm_infos_request, "OwnerUsers", owner_users, 0, API_STR),
    API_FLD_T(hvapi_get_vm_infos_request, "VmTagsToMatch", API_MAP, vm_tags_to_match, 0,
	      hvapi_match_tag_type),
};
API_TYPE(hvapi_get_vm_infos_request, "GetVmInfosRequest", get_vm_infos_request_fields);

static const struct api_field get_vm_infos_response_fields[] = {
    API_FLD(hvapi_get_vm_infos_response, "Error", API_STR, error, 0),
    API_FLD_LIST_T(hvapi_get_vm_infos_response, "VmInfos", vm_infos, 0, API_STRUCT,
		   hvapi_vm_info_type),
};
API_TYPE(hvapi_get_vm_infos_response, "GetVmInfosResponse", get_vm_infos_response_fields);

static const struct api_field get_vm_last_patch_log_response_fields[] = {
    API_FLD(hvapi_get_vm_last_patch_log_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_get_vm_last_patch_log_response, "Length", API_UINT64, length, 0),
    API_FLD(hvapi_get_vm_last_patch_log_response, "PatchTime", API_TIME, patch_time, 0),
};
API_TYPE(hvapi_get_vm_last_patch_log_response, "GetVmLastPatchLogResponse",
	 get_vm_last_patch_log_response_fields);

static const struct api_field get_vm_virtualiser_log_file_request_fields[] = {
    API_FLD(hvapi_get_vm_virtualiser_log_file_request, "Filename", API_STR, filename, 0),
    API_FLD(hvapi_get_vm_virtualiser_log_file_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_get_vm_virtualiser_log_file_request, "GetVmVirtualiserLogFileRequest",
	 get_vm_virtualiser_log_file_request_fields);

static const struct api_field get_vm_volume_request_fields[] = {
    API_FLD(hvapi_get_vm_volume_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_get_vm_volume_request, "GetExtraFiles", API_BOOL, get_extra_files, 0),
    API_FLD(hvapi_get_vm_volume_request, "IgnoreExtraFiles", API_BOOL, ignore_extra_files, 0),
    API_FLD(hvapi_get_vm_volume_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_get_vm_volume_request, "VolumeIndex", API_UINT32, volume_index, 0),
};
API_TYPE(hvapi_get_vm_volume_request, "GetVmVolumeRequest", get_vm_volume_request_fields);

static const struct api_field get_vm_volume_response_fields[] = {
    API_FLD(hvapi_get_vm_volume_response, "Error", API_STR, error, 0),
    API_FLD_T(hvapi_get_vm_volume_response, "ExtraFiles", API_MAP, extra_files, 0, hvapi_file_type),
};
API_TYPE(hvapi_get_vm_volume_response, "GetVmVolumeResponse", get_vm_volume_response_fields);

static const struct api_field storage_info_fields[] = {
    API_FLD(hvapi_storage_info, "AvailableBytes", API_UINT64, available_bytes, 0),
    API_FLD(hvapi_storage_info, "FreeBytes", API_UINT64, free_bytes, 0),
    API_FLD(hvapi_storage_info, "SizeBytes", API_UINT64, size_bytes, 0),
    API_FLD(hvapi_storage_info, "UsableBytes", API_UINT64, usable_bytes, 0),
};
API_TYPE(hvapi_storage_info, "StorageInfo", storage_info_fields);

static const struct api_field get_vm_volume_storage_configuration_response_fields[] = {
    API_FLD(hvapi_get_vm_volume_storage_configuration_response, "Error", API_STR, error, 0),
    API_FLD_LIST_T(hvapi_get_vm_volume_storage_configuration_response, "StorageInfos",
		   storage_infos, 0, API_STRUCT, hvapi_storage_info_type),
    API_FLD_LIST(hvapi_get_vm_volume_storage_configuration_response, "VolumeStorageIndices",
		 volume_storage_indices, 0, API_UINT32),
};
API_TYPE(hvapi_get_vm_volume_storage_configuration_response,
	 "GetVmVolumeStorageConfigurationResponse",
	 get_vm_volume_storage_configuration_response_fields);

static const struct api_field hold_lock_request_fields[] = {
    API_FLD(hvapi_hold_lock_request, "Timeout", API_INT64, timeout_ns, 0),
    API_FLD(hvapi_hold_lock_request, "WriteLock", API_BOOL, write_lock, 0),
};
API_TYPE(hvapi_hold_lock_request, "HoldLockRequest", hold_lock_request_fields);

static const struct api_field hold_vm_lock_request_fields[] = {
    API_FLD(hvapi_hold_vm_lock_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_hold_vm_lock_request, "Timeout", API_INT64, timeout_ns, 0),
    API_FLD(hvapi_hold_vm_lock_request, "WriteLock", API_BOOL, write_lock, 0),
};
API_TYPE(hvapi_hold_vm_lock_request, "HoldVmLockRequest", hold_vm_lock_request_fields);

static const struct api_field import_local_vm_request_fields[] = {
    API_FLD(hvapi_import_local_vm_request, "SkipMemoryCheck", API_BOOL, skip_memory_check, 0),
    API_FLD(hvapi_import_local_vm_request, "VerificationCookie", API_BYTES, verification_cookie, O),
    API_FLD_EMBED(hvapi_import_local_vm_request, vm, hvapi_vm_info_type),
    API_FLD_LIST(hvapi_import_local_vm_request, "VolumeFilenames", volume_filenames, 0, API_STR),
};
API_TYPE(hvapi_import_local_vm_request, "ImportLocalVmRequest", import_local_vm_request_fields);

static const struct api_field list_subnets_request_fields[] = {
    API_FLD(hvapi_list_subnets_request, "Sort", API_BOOL, sort, 0),
};
API_TYPE(hvapi_list_subnets_request, "ListSubnetsRequest", list_subnets_request_fields);

static const struct api_field list_subnets_response_fields[] = {
    API_FLD(hvapi_list_subnets_response, "Error", API_STR, error, 0),
    API_FLD_LIST_T(hvapi_list_subnets_response, "Subnets", subnets, O, API_STRUCT,
		   hvapi_subnet_type),
};
API_TYPE(hvapi_list_subnets_response, "ListSubnetsResponse", list_subnets_response_fields);

static const struct api_field list_vms_request_fields[] = {
    API_FLD(hvapi_list_vms_request, "IgnoreStateMask", API_UINT64, ignore_state_mask, 0),
    API_FLD_LIST(hvapi_list_vms_request, "OwnerGroups", owner_groups, 0, API_STR),
    API_FLD_LIST(hvapi_list_vms_request, "OwnerUsers", owner_users, 0, API_STR),
    API_FLD(hvapi_list_vms_request, "Sort", API_BOOL, sort, 0),
    API_FLD_T(hvapi_list_vms_request, "VmTagsToMatch", API_MAP, vm_tags_to_match, 0,
	      hvapi_match_tag_type),
};
API_TYPE(hvapi_list_vms_request, "ListVMsRequest", list_vms_request_fields);

static const struct api_field list_vms_response_fields[] = {
    API_FLD_LIST(hvapi_list_vms_response, "IpAddresses", ip_addresses, 0, API_IPV4),
};
API_TYPE(hvapi_list_vms_response, "ListVMsResponse", list_vms_response_fields);

static const struct api_field list_vm_virtualiser_log_files_response_fields[] = {
    API_FLD(hvapi_list_vm_virtualiser_log_files_response, "Error", API_STR, error, 0),
    API_FLD_LIST(hvapi_list_vm_virtualiser_log_files_response, "Filenames", filenames, 0, API_STR),
    API_FLD_LIST(hvapi_list_vm_virtualiser_log_files_response, "Lengths", lengths, 0, API_UINT64),
};
API_TYPE(hvapi_list_vm_virtualiser_log_files_response, "ListVmVirtualiserLogFilesResponse",
	 list_vm_virtualiser_log_files_response_fields);

static const struct api_field list_volume_directories_response_fields[] = {
    API_FLD_LIST(hvapi_list_volume_directories_response, "Directories", directories, 0, API_STR),
    API_FLD(hvapi_list_volume_directories_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_list_volume_directories_response, "ListVolumeDirectoriesResponse",
	 list_volume_directories_response_fields);

static const struct api_field migrate_vm_request_fields[] = {
    API_FLD(hvapi_migrate_vm_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_migrate_vm_request, "DhcpTimeout", API_INT64, dhcp_timeout_ns, 0),
    API_FLD(hvapi_migrate_vm_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_migrate_vm_request, "SkipMemoryCheck", API_BOOL, skip_memory_check, 0),
    API_FLD(hvapi_migrate_vm_request, "SourceHypervisor", API_STR, source_hypervisor, 0),
};
API_TYPE(hvapi_migrate_vm_request, "MigrateVmRequest", migrate_vm_request_fields);

static const struct api_field migrate_vm_response_fields[] = {
    API_FLD(hvapi_migrate_vm_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_migrate_vm_response, "Final", API_BOOL, final, 0),
    API_FLD(hvapi_migrate_vm_response, "ProgressMessage", API_STR, progress_message, 0),
    API_FLD(hvapi_migrate_vm_response, "RequestCommit", API_BOOL, request_commit, 0),
};
API_TYPE(hvapi_migrate_vm_response, "MigrateVmResponse", migrate_vm_response_fields);

static const struct api_field migrate_vm_response_response_fields[] = {
    API_FLD(hvapi_migrate_vm_response_response, "Commit", API_BOOL, commit, 0),
};
API_TYPE(hvapi_migrate_vm_response_response, "MigrateVmResponseResponse",
	 migrate_vm_response_response_fields);

static const struct api_field netboot_machine_request_fields[] = {
    API_FLD_T(hvapi_netboot_machine_request, "Address", API_STRUCT, address, 0, hvapi_address_type),
    API_FLD_T(hvapi_netboot_machine_request, "Files", API_MAP, files, 0, hvapi_file_type),
    API_FLD(hvapi_netboot_machine_request, "FilesExpiration", API_INT64, files_expiration_ns, 0),
    API_FLD(hvapi_netboot_machine_request, "Hostname", API_STR, hostname, 0),
    API_FLD(hvapi_netboot_machine_request, "NumAcknowledgementsToWaitFor", API_UINT32,
	    num_acknowledgements_to_wait_for, 0),
    API_FLD(hvapi_netboot_machine_request, "OfferExpiration", API_INT64, offer_expiration_ns, 0),
    API_FLD_T(hvapi_netboot_machine_request, "Subnet", API_PTR, subnet, 0, hvapi_subnet_type),
    API_FLD(hvapi_netboot_machine_request, "WaitTimeout", API_INT64, wait_timeout_ns, 0),
};
API_TYPE(hvapi_netboot_machine_request, "NetbootMachineRequest", netboot_machine_request_fields);

static const struct api_field patch_vm_image_request_fields[] = {
    API_FLD(hvapi_patch_vm_image_request, "ImageName", API_STR, image_name, 0),
    API_FLD(hvapi_patch_vm_image_request, "ImageTimeout", API_INT64, image_timeout_ns, 0),
    API_FLD(hvapi_patch_vm_image_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_T(hvapi_patch_vm_image_request, "OverlayFiles", API_MAP, overlay_files, 0,
	      hvapi_file_type),
    API_FLD(hvapi_patch_vm_image_request, "SkipBackup", API_BOOL, skip_backup, 0),
};
API_TYPE(hvapi_patch_vm_image_request, "PatchVmImageRequest", patch_vm_image_request_fields);

static const struct api_field patch_vm_image_response_fields[] = {
    API_FLD(hvapi_patch_vm_image_response, "Final", API_BOOL, final, 0),
    API_FLD(hvapi_patch_vm_image_response, "ProgressMessage", API_STR, progress_message, 0),
    API_FLD(hvapi_patch_vm_image_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_patch_vm_image_response, "PatchVmImageResponse", patch_vm_image_response_fields);

static const struct api_field power_off_request_fields[] = {
    API_FLD(hvapi_power_off_request, "StopVMs", API_BOOL, stop_vms, 0),
};
API_TYPE(hvapi_power_off_request, "PowerOffRequest", power_off_request_fields);

static const struct api_field prepare_vm_for_migration_request_fields[] = {
    API_FLD(hvapi_prepare_vm_for_migration_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_prepare_vm_for_migration_request, "Enable", API_BOOL, enable, 0),
    API_FLD(hvapi_prepare_vm_for_migration_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_prepare_vm_for_migration_request, "PrepareVmForMigrationRequest",
	 prepare_vm_for_migration_request_fields);

static const struct api_field probe_vm_port_request_fields[] = {
    API_FLD(hvapi_probe_vm_port_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_probe_vm_port_request, "PortNumber", API_UINT32, port_number, 0),
    API_FLD(hvapi_probe_vm_port_request, "Timeout", API_INT64, timeout_ns, 0),
};
API_TYPE(hvapi_probe_vm_port_request, "ProbeVmPortRequest", probe_vm_port_request_fields);

static const struct api_field probe_vm_port_response_fields[] = {
    API_FLD(hvapi_probe_vm_port_response, "PortIsOpen", API_BOOL, port_is_open, 0),
    API_FLD(hvapi_probe_vm_port_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_probe_vm_port_response, "ProbeVmPortResponse", probe_vm_port_response_fields);

static const struct api_field reboot_vm_request_fields[] = {
    API_FLD(hvapi_reboot_vm_request, "DhcpTimeout", API_INT64, dhcp_timeout_ns, 0),
    API_FLD(hvapi_reboot_vm_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_reboot_vm_request, "RebootVmRequest", reboot_vm_request_fields);

static const struct api_field reorder_vm_volumes_request_fields[] = {
    API_FLD(hvapi_reorder_vm_volumes_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_reorder_vm_volumes_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD_LIST(hvapi_reorder_vm_volumes_request, "VolumeIndices", volume_indices, 0, API_UINT32),
};
API_TYPE(hvapi_reorder_vm_volumes_request, "ReorderVmVolumesRequest",
	 reorder_vm_volumes_request_fields);

static const struct api_field replace_vm_credentials_request_fields[] = {
    API_FLD(hvapi_replace_vm_credentials_request, "IdentityCertificate", API_BYTES,
	    identity_certificate, 0),
    API_FLD(hvapi_replace_vm_credentials_request, "IdentityKey", API_BYTES, identity_key, 0),
    API_FLD(hvapi_replace_vm_credentials_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_replace_vm_credentials_request, "ReplaceVmCredentialsRequest",
	 replace_vm_credentials_request_fields);

static const struct api_field replace_vm_identity_request_fields[] = {
    API_FLD(hvapi_replace_vm_identity_request, "IdentityRequestorCertificate", API_BYTES,
	    identity_requestor_certificate, 0),
    API_FLD(hvapi_replace_vm_identity_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_replace_vm_identity_request, "ReplaceVmIdentityRequest",
	 replace_vm_identity_request_fields);

static const struct api_field replace_vm_image_request_fields[] = {
    API_FLD(hvapi_replace_vm_image_request, "DhcpTimeout", API_INT64, dhcp_timeout_ns, 0),
    API_FLD(hvapi_replace_vm_image_request, "ImageDataSize", API_UINT64, image_data_size, 0),
    API_FLD(hvapi_replace_vm_image_request, "ImageName", API_STR, image_name, O),
    API_FLD(hvapi_replace_vm_image_request, "ImageTimeout", API_INT64, image_timeout_ns, 0),
    API_FLD(hvapi_replace_vm_image_request, "ImageURL", API_STR, image_url, O),
    API_FLD(hvapi_replace_vm_image_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_replace_vm_image_request, "MinimumFreeBytes", API_UINT64, minimum_free_bytes, 0),
    API_FLD_T(hvapi_replace_vm_image_request, "OverlayFiles", API_MAP, overlay_files, 0,
	      hvapi_file_type),
    API_FLD(hvapi_replace_vm_image_request, "PreDelete", API_BOOL, pre_delete, 0),
    API_FLD(hvapi_replace_vm_image_request, "RoundupPower", API_UINT64, roundup_power, 0),
    API_FLD(hvapi_replace_vm_image_request, "SkipBackup", API_BOOL, skip_backup, 0),
    API_FLD(hvapi_replace_vm_image_request, "SkipBootloader", API_BOOL, skip_bootloader, 0),
    API_FLD_ENUM(hvapi_replace_vm_image_request, "VolumeFormat", volume_format, O,
		 hvapi_volume_format_names),
};
API_TYPE(hvapi_replace_vm_image_request, "ReplaceVmImageRequest", replace_vm_image_request_fields);

static const struct api_field replace_vm_user_data_request_fields[] = {
    API_FLD(hvapi_replace_vm_user_data_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_replace_vm_user_data_request, "Size", API_UINT64, size, 0),
};
API_TYPE(hvapi_replace_vm_user_data_request, "ReplaceVmUserDataRequest",
	 replace_vm_user_data_request_fields);

static const struct api_field restore_vm_from_snapshot_request_fields[] = {
    API_FLD(hvapi_restore_vm_from_snapshot_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_restore_vm_from_snapshot_request, "ForceIfNotStopped", API_BOOL,
	    force_if_not_stopped, 0),
    API_FLD(hvapi_restore_vm_from_snapshot_request, "Name", API_STR, name, 0),
    API_FLD(hvapi_restore_vm_from_snapshot_request, "Retain", API_BOOL, retain, 0),
};
API_TYPE(hvapi_restore_vm_from_snapshot_request, "RestoreVmFromSnapshotRequest",
	 restore_vm_from_snapshot_request_fields);

static const struct api_field set_disabled_state_request_fields[] = {
    API_FLD(hvapi_set_disabled_state_request, "Disable", API_BOOL, disable, 0),
};
API_TYPE(hvapi_set_disabled_state_request, "SetDisabledStateRequest",
	 set_disabled_state_request_fields);

static const struct api_field snapshot_vm_request_fields[] = {
    API_FLD(hvapi_snapshot_vm_request, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_snapshot_vm_request, "ForceIfNotStopped", API_BOOL, force_if_not_stopped, 0),
    API_FLD(hvapi_snapshot_vm_request, "Name", API_STR, name, 0),
    API_FLD(hvapi_snapshot_vm_request, "RootOnly", API_BOOL, root_only, 0),
};
API_TYPE(hvapi_snapshot_vm_request, "SnapshotVmRequest", snapshot_vm_request_fields);

static const struct api_field start_vm_request_fields[] = {
    API_FLD(hvapi_start_vm_request, "AccessToken", API_BYTES, access_token, 0),
    API_FLD(hvapi_start_vm_request, "DhcpTimeout", API_INT64, dhcp_timeout_ns, 0),
    API_FLD(hvapi_start_vm_request, "IpAddress", API_IPV4, ip, 0),
};
API_TYPE(hvapi_start_vm_request, "StartVmRequest", start_vm_request_fields);

static const struct api_field update_subnets_request_fields[] = {
    API_FLD_LIST_T(hvapi_update_subnets_request, "Add", add, 0, API_STRUCT, hvapi_subnet_type),
    API_FLD_LIST_T(hvapi_update_subnets_request, "Change", change, 0, API_STRUCT,
		   hvapi_subnet_type),
    API_FLD_LIST(hvapi_update_subnets_request, "Delete", delete_ids, 0, API_STR),
};
API_TYPE(hvapi_update_subnets_request, "UpdateSubnetsRequest", update_subnets_request_fields);

static const struct api_field watch_dhcp_request_fields[] = {
    API_FLD(hvapi_watch_dhcp_request, "Interface", API_STR, interface, 0),
    API_FLD(hvapi_watch_dhcp_request, "MaxPackets", API_UINT32, max_packets, 0),
};
API_TYPE(hvapi_watch_dhcp_request, "WatchDhcpRequest", watch_dhcp_request_fields);

static const struct api_field watch_dhcp_response_fields[] = {
    API_FLD(hvapi_watch_dhcp_response, "Error", API_STR, error, 0),
    API_FLD(hvapi_watch_dhcp_response, "Interface", API_STR, interface, 0),
    API_FLD(hvapi_watch_dhcp_response, "Packet", API_BYTES, packet, 0),
};
API_TYPE(hvapi_watch_dhcp_response, "WatchDhcpResponse", watch_dhcp_response_fields);

/* ---- The method table ---- */

#define P HVAPI_ACCESS_PUBLIC
#define VM HVAPI_ACCESS_VM
#define L HVAPI_ACCESS_LOOPBACK
#define U HVAPI_ACCESS_UNAUTH
#define RR(name, acc, req, resp)                                                                   \
	{                                                                                          \
		"Hypervisor." name, false, (acc), (req), (resp)                                    \
	}
#define ST(name, acc, req, resp)                                                                   \
	{                                                                                          \
		"Hypervisor." name, true, (acc), (req), (resp)                                     \
	}
#define T(x) (&hvapi_##x##_type)

const struct hvapi_method hvapi_methods[] = {
    RR("AcknowledgeVm", P | VM, T(ip_request), T(error_response)),
    RR("AddVmVolumes", P | VM, T(add_vm_volumes_request), T(error_response)),
    RR("BecomePrimaryVmOwner", P | VM, T(ip_request), T(error_response)),
    RR("ChangeAddressPool", 0, T(change_address_pool_request), T(error_response)),
    RR("ChangeOwners", 0, T(change_owners_request), T(error_response)),
    RR("ChangeVmConsoleType", P | VM, T(change_vm_console_type_request), T(error_response)),
    RR("ChangeVmCpuPriority", P | VM, T(change_vm_cpu_priority_request), T(error_response)),
    RR("ChangeVmDestroyProtection", P | VM, T(change_vm_destroy_protection_request),
       T(error_response)),
    RR("ChangeVmHostname", P | VM, T(change_vm_hostname_request), T(error_response)),
    RR("ChangeVmMachineType", P | VM, T(change_vm_machine_type_request), T(error_response)),
    RR("ChangeVmNumNetworkQueues", P | VM, T(change_vm_num_network_queues_request),
       T(error_response)),
    RR("ChangeVmOwnerGroups", P | VM, T(change_vm_owner_groups_request), T(error_response)),
    RR("ChangeVmOwnerUsers", P | VM, T(change_vm_owner_users_request), T(error_response)),
    RR("ChangeVmSize", P | VM, T(change_vm_size_request), T(error_response)),
    RR("ChangeVmSubnet", P | VM, T(change_vm_subnet_request), T(change_vm_subnet_response)),
    RR("ChangeVmTags", P | VM, T(change_vm_tags_request), T(error_response)),
    RR("ChangeVmVolumeInterfaces", P | VM, T(change_vm_volume_interfaces_request),
       T(error_response)),
    RR("ChangeVmVolumeSize", P | VM, T(change_vm_volume_size_request), T(error_response)),
    RR("ChangeVmVolumeStorageIndex", P | VM, T(change_vm_volume_storage_index_request),
       T(error_response)),
    RR("CommitImportedVm", P | VM, T(ip_request), T(error_response)),
    ST("ConnectToVmConsole", P | VM, T(ip_request), T(error_response)),
    ST("ConnectToVmManager", 0, T(ip_request), T(error_response)),
    ST("ConnectToVmSerialPort", P | VM, T(connect_to_vm_serial_port_request), T(error_response)),
    ST("CopyVm", P, T(copy_vm_request), T(copy_vm_response)),
    ST("CreateVm", P, T(create_vm_request), T(create_vm_response)),
    ST("DebugVmImage", P | VM, T(debug_vm_image_request), T(image_response)),
    RR("DeleteVmVolume", P | VM, T(delete_vm_volume_request), T(error_response)),
    RR("DestroyVm", P | VM, T(vm_token_request), T(error_response)),
    RR("DiscardVmAccessToken", P | VM, T(vm_token_request), T(error_response)),
    RR("DiscardVmOldImage", P | VM, T(ip_request), T(error_response)),
    RR("DiscardVmOldUserData", P | VM, T(ip_request), T(error_response)),
    RR("DiscardVmSnapshot", P | VM, T(discard_vm_snapshot_request), T(error_response)),
    RR("ExportLocalVm", P | L | VM, T(export_local_vm_request), T(export_local_vm_response)),
    RR("GetCapacity", P | U, NULL, T(get_capacity_response)),
    RR("GetIdentityProvider", P, NULL, T(get_identity_provider_response)),
    RR("GetPublicKey", P, NULL, T(get_public_key_response)),
    RR("GetRootCookiePath", P, NULL, T(get_root_cookie_path_response)),
    ST("GetUpdates", P, T(get_updates_request), T(update)),
    RR("GetVmAccessToken", P | VM, T(get_vm_access_token_request), T(get_vm_access_token_response)),
    RR("GetVmCreateRequest", P | VM, T(ip_request), T(get_vm_create_request_response)),
    RR("GetVmInfo", P | U, T(ip_request), T(get_vm_info_response)),
    RR("GetVmInfos", P | U, T(get_vm_infos_request), T(get_vm_infos_response)),
    ST("GetVmLastPatchLog", P | U, T(ip_request), T(get_vm_last_patch_log_response)),
    ST("GetVmUserData", P | VM, T(vm_token_request), T(length_response)),
    ST("GetVmVirtualiserLogFile", P | VM, T(get_vm_virtualiser_log_file_request),
       T(length_response)),
    ST("GetVmVolume", P | VM, T(get_vm_volume_request), T(get_vm_volume_response)),
    RR("GetVmVolumeStorageConfiguration", P, T(ip_request),
       T(get_vm_volume_storage_configuration_response)),
    RR("HoldLock", 0, T(hold_lock_request), T(error_response)),
    RR("HoldVmLock", 0, T(hold_vm_lock_request), T(error_response)),
    RR("ImportLocalVm", P | L, T(import_local_vm_request), T(error_response)),
    RR("ListSubnets", P | U, T(list_subnets_request), T(list_subnets_response)),
    RR("ListVMs", P | U, T(list_vms_request), T(list_vms_response)),
    RR("ListVmVirtualiserLogFiles", P, T(ip_request), T(list_vm_virtualiser_log_files_response)),
    RR("ListVolumeDirectories", P | L, NULL, T(list_volume_directories_response)),
    ST("MigrateVm", P, T(migrate_vm_request), T(migrate_vm_response)),
    RR("NetbootMachine", 0, T(netboot_machine_request), T(error_response)),
    ST("PatchVmImage", P | VM, T(patch_vm_image_request), T(patch_vm_image_response)),
    RR("PowerOff", 0, T(power_off_request), T(error_response)),
    RR("PrepareVmForMigration", VM, T(prepare_vm_for_migration_request), T(error_response)),
    RR("ProbeVmPort", P, T(probe_vm_port_request), T(probe_vm_port_response)),
    RR("RebootVm", P | VM, T(reboot_vm_request), T(dhcp_response)),
    RR("RegisterExternalLeases", 0, T(register_external_leases_request), T(error_response)),
    RR("ReorderVmVolumes", P | VM, T(reorder_vm_volumes_request), T(error_response)),
    RR("ReplaceVmCredentials", P | VM, T(replace_vm_credentials_request), T(error_response)),
    RR("ReplaceVmIdentity", P | VM, T(replace_vm_identity_request), T(error_response)),
    ST("ReplaceVmImage", P | VM, T(replace_vm_image_request), T(image_response)),
    RR("ReplaceVmUserData", P | VM, T(replace_vm_user_data_request), T(error_response)),
    RR("RestoreVmFromSnapshot", P | VM, T(restore_vm_from_snapshot_request), T(error_response)),
    RR("RestoreVmImage", P | VM, T(ip_request), T(error_response)),
    RR("RestoreVmUserData", P | VM, T(ip_request), T(error_response)),
    RR("ScanVmRoot", P | VM, T(ip_request), NULL),
    RR("SetDisabledState", 0, T(set_disabled_state_request), T(error_response)),
    RR("SnapshotVm", P | VM, T(snapshot_vm_request), T(error_response)),
    RR("StartVm", P | VM, T(start_vm_request), T(dhcp_response)),
    RR("StopVm", P | VM, T(vm_token_request), T(error_response)),
    ST("TraceVmMetadata", P | VM, T(ip_request), T(error_response)),
    RR("UpdateSubnets", 0, T(update_subnets_request), T(error_response)),
    ST("WatchDhcp", 0, T(watch_dhcp_request), T(watch_dhcp_response)),
};

const size_t hvapi_n_methods = sizeof(hvapi_methods) / sizeof(hvapi_methods[0]);

const struct hvapi_method *hvapi_method_find(const char *name)
{
	size_t plen = strlen(HVAPI_SERVICE ".");

	if (strncmp(name, HVAPI_SERVICE ".", plen) == 0)
		name += plen;
	for (size_t i = 0; i < hvapi_n_methods; i++)
		if (strcmp(hvapi_methods[i].name + plen, name) == 0)
			return &hvapi_methods[i];
	return NULL;
}
