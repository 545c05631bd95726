/* api/hypervisor: descriptors of the hypervisor's shared records (Address, Subnet,
 * Volume, VmInfo, LocalVmInfo, the address pool, CreateVmRequest) and the enum names. */
#include "hypervisor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define O API_OMITEMPTY

_Static_assert(sizeof(enum hvapi_state) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum hvapi_volume_interface) == sizeof(int), "enums are stored as int");

const char *const hvapi_state_names[] = {
    "starting",	 "running",   "failed to start", "stopping",  "stopped", "destroying",
    "migrating", "exporting", "crashed",	 "debugging", NULL,
};
const char *const hvapi_console_type_names[] = {"none", "dummy", "vnc", NULL};
const char *const hvapi_arch_names[] = {"auto", "amd64", "arm64", NULL};
const char *const hvapi_firmware_names[] = {"default", "bios", "uefi", NULL};
const char *const hvapi_machine_type_names[] = {"auto", "q35", "pc", "virt", NULL};
const char *const hvapi_watchdog_action_names[] = {"none", "reset", "shutdown", "poweroff", NULL};
const char *const hvapi_watchdog_model_names[] = {"none", "ib700", "i6300esb", NULL};
const char *const hvapi_volume_format_names[] = {"raw", "qcow2", NULL};
const char *const hvapi_volume_interface_names[] = {"virtio", "ide", "nvme", "dfm", NULL};
const char *const hvapi_volume_type_names[] = {"persistent", "memory", NULL};

const char *hvapi_enum_name(const char *const *names, int value)
{
	for (int i = 0; names[i]; i++)
		if (i == value)
			return names[i];
	return "?";
}

int hvapi_enum_parse(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *hvapi_state_name(enum hvapi_state s)
{
	return hvapi_enum_name(hvapi_state_names, (int)s);
}

uint64_t hvapi_volume_effective_size(const struct hvapi_volume *v)
{
	return v->size > v->virtual_size ? v->size : v->virtual_size;
}

/* ---- Map entries ---- */

static const struct api_field tag_fields[] = {
    API_FLD(hvapi_tag, "Key", API_STR, key, 0),
    API_FLD(hvapi_tag, "Value", API_STR, value, 0),
};
API_TYPE(hvapi_tag, "Tag", tag_fields);

static const struct api_field match_tag_fields[] = {
    API_FLD(hvapi_match_tag, "Key", API_STR, key, 0),
    API_FLD_LIST(hvapi_match_tag, "Values", values, 0, API_STR),
};
API_TYPE(hvapi_match_tag, "MatchTag", match_tag_fields);

static const struct api_field snapshot_fields[] = {
    API_FLD(hvapi_snapshot, "Name", API_STR, name, 0),
    API_FLD(hvapi_snapshot, "Size", API_UINT64, size, 0),
};
API_TYPE(hvapi_snapshot, "Snapshot", snapshot_fields);

static const struct api_field file_fields[] = {
    API_FLD(hvapi_file, "Name", API_STR, name, 0),
    API_FLD(hvapi_file, "Data", API_BYTES, data, 0),
};
API_TYPE(hvapi_file, "File", file_fields);

static const struct api_field count_fields[] = {
    API_FLD(hvapi_count, "Key", API_STR, key, 0),
    API_FLD(hvapi_count, "Count", API_UINT32, count, 0),
};
API_TYPE(hvapi_count, "Count", count_fields);

/* ---- Records ---- */

static const struct api_field address_fields[] = {
    API_FLD(hvapi_address, "IpAddress", API_IPV4, ip, O),
    API_FLD(hvapi_address, "MacAddress", API_MAC, mac, 0),
};
API_TYPE(hvapi_address, "Address", address_fields);

static const struct api_field subnet_fields[] = {
    API_FLD(hvapi_subnet, "Id", API_STR, id, 0),
    API_FLD(hvapi_subnet, "IpGateway", API_IPV4, ip_gateway, 0),
    API_FLD(hvapi_subnet, "IpMask", API_IPV4, ip_mask, 0),
    API_FLD(hvapi_subnet, "DomainName", API_STR, domain_name, O),
    API_FLD_LIST(hvapi_subnet, "DomainNameServers", domain_name_servers, 0, API_IPV4),
    API_FLD(hvapi_subnet, "DisableMetadata", API_BOOL, disable_metadata, O),
    API_FLD(hvapi_subnet, "Manage", API_BOOL, manage, O),
    API_FLD(hvapi_subnet, "VlanId", API_UINT32, vlan_id, O),
    API_FLD_LIST(hvapi_subnet, "AllowedGroups", allowed_groups, O, API_STR),
    API_FLD_LIST(hvapi_subnet, "AllowedUsers", allowed_users, O, API_STR),
    API_FLD(hvapi_subnet, "FirstDynamicIP", API_IPV4, first_dynamic_ip, O),
    API_FLD(hvapi_subnet, "LastDynamicIP", API_IPV4, last_dynamic_ip, O),
    API_FLD_T(hvapi_subnet, "Tags", API_MAP, tags, O, hvapi_tag_type),
};
API_TYPE(hvapi_subnet, "Subnet", subnet_fields);

static const struct api_field dfm_fields[] = {
    API_FLD(hvapi_dfm, "NvramSize", API_UINT64, nvram_size, O),
    API_FLD(hvapi_dfm, "Profile", API_STR, profile, O),
};
API_TYPE(hvapi_dfm, "DFM", dfm_fields);

static const struct api_field volume_fields[] = {
    API_FLD_T(hvapi_volume, "DFM", API_STRUCT, dfm, 0, hvapi_dfm_type),
    API_FLD_ENUM(hvapi_volume, "Format", format, O, hvapi_volume_format_names),
    API_FLD_ENUM(hvapi_volume, "Interface", interface, O, hvapi_volume_interface_names),
    API_FLD(hvapi_volume, "Size", API_UINT64, size, 0),
    API_FLD_T(hvapi_volume, "Snapshots", API_MAP, snapshots, O, hvapi_snapshot_type),
    API_FLD_ENUM(hvapi_volume, "Type", type, O, hvapi_volume_type_names),
    API_FLD(hvapi_volume, "VirtualSize", API_UINT64, virtual_size, O),
};
API_TYPE(hvapi_volume, "Volume", volume_fields);

static const struct api_field network_entry_fields[] = {
    API_FLD(hvapi_network_entry, "NumQueues", API_UINT32, num_queues, O),
};
API_TYPE(hvapi_network_entry, "NetworkEntry", network_entry_fields);

#define VI hvapi_vm_info
static const struct api_field vm_info_fields[] = {
    API_FLD_T(VI, "Address", API_STRUCT, address, 0, hvapi_address_type),
    API_FLD_ENUM(VI, "ArchitectureType", architecture, O, hvapi_arch_names),
    API_FLD(VI, "ChangedStateOn", API_TIME, changed_state_on, 0),
    API_FLD_ENUM(VI, "ConsoleType", console_type, O, hvapi_console_type_names),
    API_FLD(VI, "CreatedOn", API_TIME, created_on, 0),
    API_FLD(VI, "CpuPriority", API_INT, cpu_priority, O),
    API_FLD(VI, "DestroyOnPowerdown", API_BOOL, destroy_on_powerdown, O),
    API_FLD(VI, "DestroyProtection", API_BOOL, destroy_protection, O),
    API_FLD(VI, "DisableVirtIO", API_BOOL, disable_virtio, O),
    API_FLD(VI, "ExtraKernelOptions", API_STR, extra_kernel_options, O),
    API_FLD_ENUM(VI, "FirmwareType", firmware, O, hvapi_firmware_names),
    API_FLD(VI, "Hostname", API_STR, hostname, O),
    API_FLD(VI, "IdentityExpires", API_TIME, identity_expires, 0),
    API_FLD(VI, "IdentityName", API_STR, identity_name, O),
    API_FLD(VI, "ImageName", API_STR, image_name, O),
    API_FLD(VI, "ImageURL", API_STR, image_url, O),
    API_FLD_ENUM(VI, "MachineType", machine_type, O, hvapi_machine_type_names),
    API_FLD(VI, "MemoryInMiB", API_UINT64, memory_mib, 0),
    API_FLD(VI, "MilliCPUs", API_UINT32, milli_cpus, 0),
    API_FLD_LIST_T(VI, "NetworkEntries", network_entries, O, API_STRUCT, hvapi_network_entry_type),
    API_FLD_LIST(VI, "OwnerGroups", owner_groups, O, API_STR),
    API_FLD_LIST(VI, "OwnerUsers", owner_users, O, API_STR),
    API_FLD(VI, "RootFileSystemLabel", API_STR, root_fs_label, O),
    API_FLD(VI, "SpreadVolumes", API_BOOL, spread_volumes, O),
    API_FLD_ENUM(VI, "State", state, 0, hvapi_state_names),
    API_FLD_LIST_T(VI, "SecondaryAddresses", secondary_addresses, O, API_STRUCT,
		   hvapi_address_type),
    API_FLD_LIST(VI, "SecondarySubnetIDs", secondary_subnet_ids, O, API_STR),
    API_FLD(VI, "SubnetId", API_STR, subnet_id, O),
    API_FLD_T(VI, "Tags", API_MAP, tags, O, hvapi_tag_type),
    API_FLD(VI, "Uncommitted", API_BOOL, uncommitted, O),
    API_FLD(VI, "VirtualCPUs", API_UINT32, virtual_cpus, O),
    API_FLD(VI, "VirtualiserImageName", API_STR, virtualiser_image_name, O),
    API_FLD_LIST_T(VI, "Volumes", volumes, O, API_STRUCT, hvapi_volume_type),
    API_FLD_ENUM(VI, "WatchdogAction", watchdog_action, O, hvapi_watchdog_action_names),
    API_FLD_ENUM(VI, "WatchdogModel", watchdog_model, O, hvapi_watchdog_model_names),
};
#undef VI
API_TYPE(hvapi_vm_info, "VmInfo", vm_info_fields);

static const struct api_field local_volume_fields[] = {
    API_FLD(hvapi_local_volume, "DirectoryToCleanup", API_STR, directory_to_cleanup, 0),
    API_FLD(hvapi_local_volume, "Filename", API_STR, filename, 0),
};
API_TYPE(hvapi_local_volume, "LocalVolume", local_volume_fields);

static const struct api_field local_vm_info_fields[] = {
    API_FLD_EMBED(hvapi_local_vm_info, vm, hvapi_vm_info_type),
    API_FLD_LIST_T(hvapi_local_vm_info, "VolumeLocations", volume_locations, 0, API_STRUCT,
		   hvapi_local_volume_type),
};
API_TYPE(hvapi_local_vm_info, "LocalVmInfo", local_vm_info_fields);

static const struct api_field address_pool_fields[] = {
    API_FLD_LIST_T(hvapi_address_pool, "Free", free, 0, API_STRUCT, hvapi_address_type),
    API_FLD_LIST_T(hvapi_address_pool, "Registered", registered, 0, API_STRUCT, hvapi_address_type),
};
API_TYPE(hvapi_address_pool, "AddressPool", address_pool_fields);

static const struct api_field volume_init_fields[] = {
    API_FLD(hvapi_volume_init, "BytesPerInode", API_UINT64, bytes_per_inode, 0),
    API_FLD(hvapi_volume_init, "Label", API_STR, label, 0),
    API_FLD(hvapi_volume_init, "ReservedBlocksPercentage", API_UINT16, reserved_blocks_percentage,
	    0),
    API_FLD(hvapi_volume_init, "RootGroupId", API_UINT32, root_group_id, 0),
    API_FLD(hvapi_volume_init, "RootUserId", API_UINT32, root_user_id, 0),
};
API_TYPE(hvapi_volume_init, "VolumeInitialisationInfo", volume_init_fields);

#define CR hvapi_create_vm_request
static const struct api_field create_vm_request_fields[] = {
    API_FLD(CR, "DhcpTimeout", API_INT64, dhcp_timeout_ns, O),
    API_FLD(CR, "DoNotStart", API_BOOL, do_not_start, O),
    API_FLD(CR, "EnableNetboot", API_BOOL, enable_netboot, O),
    API_FLD(CR, "IdentityCertificate", API_BYTES, identity_certificate, O),
    API_FLD(CR, "IdentityKey", API_BYTES, identity_key, O),
    API_FLD(CR, "ImageDataSize", API_UINT64, image_data_size, O),
    API_FLD(CR, "ImageTimeout", API_INT64, image_timeout_ns, O),
    API_FLD(CR, "MinimumFreeBytes", API_UINT64, minimum_free_bytes, O),
    API_FLD_LIST(CR, "OverlayDirectories", overlay_directories, O, API_STR),
    API_FLD_T(CR, "OverlayFiles", API_MAP, overlay_files, O, hvapi_file_type),
    API_FLD(CR, "RoundupPower", API_UINT64, roundup_power, O),
    API_FLD_LIST_T(CR, "SecondaryVolumes", secondary_volumes, O, API_STRUCT, hvapi_volume_type),
    API_FLD(CR, "SecondaryVolumesData", API_BOOL, secondary_volumes_data, O),
    API_FLD_LIST_T(CR, "SecondaryVolumesInit", secondary_volumes_init, O, API_STRUCT,
		   hvapi_volume_init_type),
    API_FLD(CR, "SkipBootloader", API_BOOL, skip_bootloader, O),
    API_FLD(CR, "SkipMemoryCheck", API_BOOL, skip_memory_check, O),
    API_FLD_LIST(CR, "StorageIndices", storage_indices, O, API_UINT32),
    API_FLD(CR, "UserDataSize", API_UINT64, user_data_size, O),
    API_FLD_EMBED(CR, vm, hvapi_vm_info_type),
};
#undef CR
API_TYPE(hvapi_create_vm_request, "CreateVmRequest", create_vm_request_fields);

static const struct api_field create_vm_response_fields[] = {
    API_FLD(hvapi_create_vm_response, "DhcpTimedOut", API_BOOL, dhcp_timed_out, 0),
    API_FLD(hvapi_create_vm_response, "Final", API_BOOL, final, 0),
    API_FLD(hvapi_create_vm_response, "IpAddress", API_IPV4, ip, 0),
    API_FLD(hvapi_create_vm_response, "ProgressMessage", API_STR, progress_message, 0),
    API_FLD(hvapi_create_vm_response, "Error", API_STR, error, 0),
};
API_TYPE(hvapi_create_vm_response, "CreateVmResponse", create_vm_response_fields);

/* ---- subnets.json: a bare array ---- */

static const struct api_field subnet_list_field =
    API_FLD_LIST_T(hvapi_subnets, "Subnets", n, 0, API_STRUCT, hvapi_subnet_type);

json_t *hvapi_subnets_to_json(const struct hvapi_subnets *l)
{
	return api_encode_value(&subnet_list_field, l);
}

int hvapi_subnets_from_json(struct sjson_dec *d, json_t *j, struct hvapi_subnets *out)
{
	return api_decode_value(&subnet_list_field, d, j, out);
}

void hvapi_subnets_clear(struct hvapi_subnets *l)
{
	api_clear_value(&subnet_list_field, l);
}
