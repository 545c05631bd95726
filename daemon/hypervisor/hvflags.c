/* Flag definitions of the hypervisor daemon (see hvflags.h). */
#include "daemon/hypervisor/hvflags.h"

#define SEC 1000000000LL

void hvflags_define(struct flags *fs, struct hv_config *c)
{
	server_flags_define(fs, &c->srv, "hypervisor", 120 * SEC);
	flags_int(fs, "portNum", &c->port_num, 6976,
		  "Port number to allocate and listen on for HTTP/RPC");
	flags_string(fs, "stateDir", &c->state_dir, "/var/lib/hypervisor",
		     "Name of state directory");
	flags_strlist(fs, "volumeDirectories", &c->volume_directories, "",
		      "Comma separated list of directories for volumes (empty: auto-detect)");
	flags_string(fs, "imageServerHostname", &c->image_server_hostname, "localhost",
		     "Hostname of image server");
	flags_int(fs, "imageServerPortNum", &c->image_server_port_num, 6971,
		  "Port number of image server");
	flags_string(fs, "objectCacheDirectory", &c->object_cache_directory, "",
		     "Directory to cache objects (empty: <volume directory parent>/objectcache)");
	flags_size(fs, "objectCacheSize", &c->object_cache_size, 10ULL << 30,
		   "Maximum size of object cache");
	flags_string(fs, "powerOffCommand", &c->power_off_command, "/sbin/poweroff",
		     "Command PowerOff runs to power the host off");
	flags_string(fs, "virtualiserLogDirectory", &c->virtualiser_log_directory,
		     "/var/log/libvirt/qemu", "Where libvirt writes each domain's QEMU log");
	flags_string(fs, "localImagesDirectory", &c->local_images_directory, "",
		     "Directory for file:// image URLs (empty: file:// not allowed)");
	flags_string(fs, "networkBootImage", &c->network_boot_image, "pxelinux.%d",
		     "DHCP boot filename template for netboot (%d = client architecture)");
	flags_string(fs, "tftpbootImageStream", &c->tftpboot_image_stream, "",
		     "Default image stream for TFTP boot files");
	flags_string(fs, "tftpbootDirectory", &c->tftpboot_directory, "",
		     "Local directory of TFTP/HTTP boot files (when no -tftpbootImageStream)");
	flags_duration(fs, "tftpbootCheckInterval", &c->tftpboot_check_interval_ns, 30 * SEC,
		       "How often to look for a newer image in -tftpbootImageStream");
	flags_bool(fs, "httpBoot", &c->http_boot, true,
		   "Give iPXE and UEFI HTTP boot clients http://<ip>:<portNum>/boot/ URLs "
		   "(false: everything over TFTP)");
	flags_bool(fs, "dhcpServerOnBridgesOnly", &c->dhcp_server_on_bridges_only, false,
		   "If true, run the DHCP server on bridge interfaces only");
	flags_string(fs, "username", &c->username, "nobody",
		     "Unprivileged user QEMU runs as (libvirt: see qemu.conf)");
	flags_bool(fs, "showVGA", &c->show_vga, false, "If true, give every VM a VGA display");
	flags_string(fs, "identityProvider", &c->identity_provider, "",
		     "Base URL of the identity provider for VM role certificates");
	flags_bool(fs, "allowUnauthenticatedReads", &c->allow_unauthenticated_reads, false,
		   "If true, allow unauthenticated reads of VM and capacity information");
	flags_duration(fs, "lockCheckInterval", &c->lock_check_interval_ns, 2 * SEC,
		       "Interval between lock-holding checks");
	flags_duration(fs, "lockLogTimeout", &c->lock_log_timeout_ns, 5 * SEC,
		       "Log when a lock is held longer than this");
	flags_uint64(fs, "testMemoryAvailable", &c->test_memory_available, 0,
		     "Internal: allocate and touch this many MiB, then exit");
	flags_bool(fs, "addHypervisorSubnet", &c->add_hypervisor_subnet, false,
		   "(deprecated) Add the \"hypervisor\" subnet from the default route");
	flags_string(fs, "qemuCommand", &c->qemu_command, "",
		     "(no effect: libvirt chooses the emulator)");
	flags_bool(fs, "srpcTrustVmOwners", &c->srpc_trust_vm_owners, true,
		   "If running in a SmallStack VM, trust its owners");
	flags_duration(fs, "srpcDefaultKeepAlivePeriod", &c->srpc_keep_alive_ns, 300 * SEC,
		       "TCP keep-alive period of RPC connections");

	flags_string(fs, "libvirtURI", &c->libvirt_uri, "qemu:///system",
		     "libvirt connection URI (test:///default for libvirt's test driver)");
	flags_string(fs, "virtType", &c->virt_type, "auto",
		     "Domain type: kvm, qemu (TCG) or auto (kvm if /dev/kvm opens)");
	flags_string(fs, "uefiCode", &c->uefi_code, "/usr/share/OVMF/OVMF_CODE_4M.fd",
		     "UEFI firmware image for FirmwareType uefi");
	flags_string(fs, "uefiVars", &c->uefi_vars, "/usr/share/OVMF/OVMF_VARS_4M.fd",
		     "UEFI variable store template");
	flags_duration(fs, "acknowledgeTimeout", &c->acknowledge_timeout_ns, 15 * SEC,
		       "Destroy a created VM unless AcknowledgeVm comes within this time");
	flags_duration(fs, "stopTimeout", &c->stop_timeout_ns, 15 * SEC,
		       "Kill a VM that has not powered down this long after StopVm");
	flags_bool(fs, "enableLockDebugMethods", &c->enable_lock_debug_methods, false,
		   "If true, serve the HoldLock and HoldVmLock debugging methods");

	flags_string(fs, "fleetManagerHostname", &c->fleet_manager_hostname, "",
		     "Fleet manager the upgrade agent asks for RequiredImage (empty: no agent)");
	flags_int(fs, "fleetManagerPortNum", &c->fleet_manager_port_num, 6977,
		  "Port number of the fleet manager");
	flags_duration(fs, "upgradeCheckInterval", &c->upgrade_check_interval_ns, 60 * SEC,
		       "How often the upgrade agent asks the fleet manager");
	flags_duration(fs, "upgradeTrialTimeout", &c->upgrade_trial_timeout_ns, 300 * SEC,
		       "A trial boot of a new image must be healthy within this time");
	flags_string(fs, "upgradeSlotDirectory", &c->upgrade_slot_directory, "",
		     "Directory with slots A/ and B/ (empty: GPT partitions ss-slot-a, ss-slot-b)");
	flags_string(fs, "upgradeGrubenv", &c->upgrade_grubenv, "",
		     "File or device holding the GRUB environment block (empty: partition "
		     "ss-esp)");
	flags_string(fs, "upgradeSysBlockDirectory", &c->upgrade_sys_block, "/sys/class/block",
		     "Where the slot and ESP partitions are found by GPT name (<dev>/uevent)");
	flags_string(fs, "upgradeStateFile", &c->upgrade_state_file, "",
		     "The upgrade agent's record (empty: <stateDir>/upgrade.json)");
	flags_string(fs, "upgradeCmdlineFile", &c->upgrade_cmdline_file, "/proc/cmdline",
		     "Kernel command line naming the running slot (ss.slot=A or B)");
	flags_string(fs, "upgradeRebootCommand", &c->upgrade_reboot_command, "",
		     "Command that reboots the host into a new image (empty: sync and reboot)");
	flags_string(fs, "testFailHealthCheck", &c->test_fail_health_check, "",
		     "Internal: report this /health check as failing");
}
