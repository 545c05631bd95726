/* api/hypervisor_msgs: descriptors of the Hypervisor.* request and response messages
 * (generated from hypervisor_msgs.def) and the method table of spec/rpc.md §5. */
#include "hypervisor.h"

#include <string.h>

#define API_SCHEMA_DEFINE
#include "schema.h"
#include "hypervisor_msgs.def"
#undef API_SCHEMA_DEFINE

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
    RR("GetUpgradeStatus", P | U, NULL, T(get_upgrade_status_response)),
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
