/* api/hypervisor_msgs: method names, the method table and the request/response messages
 * of the Hypervisor service (spec/rpc.md §5), the latter declared from
 * hypervisor_msgs.def. Included by api/hypervisor.h; include that. Methods without
 * request fields take an empty object ({}: pass NULL to srpc_client_call). */
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
#define HVAPI_M_GET_UPGRADE_STATUS "Hypervisor.GetUpgradeStatus"
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

/* ---- The messages: the schema in hypervisor_msgs.def ---- */

#include "schema.h"
#include "hypervisor_msgs.def"

#endif
