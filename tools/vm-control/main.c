/* vm-control: the administrator's tool for VMs on a hypervisor, over SRPC with mutual
 * TLS. Flags come from ~/.config/vm-control/flags.default, then flags.extra, then the
 * command line (which wins). Exit status: 0 success, 1 failure, 2 bad usage. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmctl.h"

static const char usage_head[] = "Usage: vm-control [flags...] command [args...]\n"
				 "Common flags:";

/* ---- Flag types ---- */

static int set_u64list(void *arg, const char *value, char **err)
{
	struct vmctl_u64list *l = arg;
	uint64_t *v = NULL;
	size_t n = 0;
	char *copy = strdup(value), *save = NULL, *tok;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			rc = -ENOMEM;
			break;
		}
		v = nv;
		if (flags_parse_size(tok, &v[n]) < 0) {
			if (asprintf(err, "bad number or size \"%s\"", tok) < 0)
				*err = NULL;
			rc = -EINVAL;
			break;
		}
		n++;
	}
	free(copy);
	if (rc < 0) {
		free(v);
		return rc;
	}
	free(l->v);
	l->v = v;
	l->n = n;
	return 0;
}

/* "one of: a, b, c" for messages. */
static char *names_text(const char *const *names)
{
	size_t len = 16, off;
	char *s;

	for (int i = 0; names[i]; i++)
		len += strlen(names[i]) + 2;
	if (!(s = malloc(len)))
		return NULL;
	off = (size_t)snprintf(s, len, "one of: ");
	for (int i = 0; names[i] && off < len; i++)
		off += (size_t)snprintf(s + off, len - off, "%s%s", i ? ", " : "", names[i]);
	return s;
}

static int set_enum(void *arg, const char *value, char **err)
{
	struct vmctl_enum *e = arg;
	int v = hvapi_enum_parse(e->names, value);

	if (v < 0) {
		*err = names_text(e->names);
		return -EINVAL;
	}
	e->value = v;
	return 0;
}

static int set_enumlist(void *arg, const char *value, char **err)
{
	struct vmctl_enumlist *l = arg;
	char *copy = strdup(value), *save = NULL, *tok;
	int *v = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int x = hvapi_enum_parse(l->names, tok);
		int *nv = x >= 0 ? realloc(v, (n + 1) * sizeof(*v)) : NULL;
		if (!nv) {
			if (x < 0)
				*err = names_text(l->names);
			free(v);
			free(copy);
			return x < 0 ? -EINVAL : -ENOMEM;
		}
		v = nv;
		v[n++] = x;
	}
	free(copy);
	free(l->v);
	l->v = v;
	l->n = n;
	return 0;
}

/* "key=value,key2=value2" (Go tags.Tags flag). */
static int set_tags(void *arg, const char *value, char **err)
{
	struct hvapi_tags *t = arg, nt = {0, NULL};
	char *copy = strdup(value), *save = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			if (asprintf(err, "malformed tag: \"%s\"", tok) < 0)
				*err = NULL;
			free(copy);
			api_clear_value(
			    &(struct api_field){.kind = API_MAP, .type = &hvapi_tag_type}, &nt);
			return -EINVAL;
		}
		*eq = '\0';
		if (hvapi_tags_set(&nt, tok, eq + 1) < 0) {
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	api_clear_value(&(struct api_field){.kind = API_MAP, .type = &hvapi_tag_type}, t);
	*t = nt;
	return 0;
}

/* "key=value,key=value2": each key may list several acceptable values. */
static int set_match_tags(void *arg, const char *value, char **err)
{
	struct hvapi_match_tags *m = arg;
	const struct api_field mf = {.kind = API_MAP, .type = &hvapi_match_tag_type};
	struct hvapi_tags pairs = {0, NULL};
	int rc = set_tags(&pairs, value, err);
	char *copy, *save = NULL, *tok;

	if (rc < 0)
		return rc;
	api_clear_value(&(struct api_field){.kind = API_MAP, .type = &hvapi_tag_type}, &pairs);
	api_clear_value(&mf, m);
	if (!(copy = strdup(value)))
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		struct hvapi_match_tag *e = NULL;
		*eq = '\0';
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->v[i].key, tok) == 0)
				e = &m->v[i];
		if (!e) {
			struct hvapi_match_tag *nv = realloc(m->v, (m->n + 1) * sizeof(*nv));
			if (!nv)
				goto nomem;
			m->v = nv;
			e = &nv[m->n++];
			memset(e, 0, sizeof(*e));
			if (!(e->key = strdup(tok)))
				goto nomem;
		}
		if (!api_strlist_contains(&e->values, eq + 1) &&
		    api_strlist_add(&e->values, eq + 1) < 0)
			goto nomem;
	}
	free(copy);
	return 0;
nomem:
	free(copy);
	return -ENOMEM;
}

/* -accessToken: base64 of a token from get-vm-access-token. */
static int set_token(void *arg, const char *value, char **err)
{
	struct api_bytes *b = arg;
	uint8_t *data;
	size_t len;

	if (sjson_base64_decode(value, &data, &len) < 0) {
		*err = strdup("not base64");
		return -EINVAL;
	}
	free(b->data);
	b->data = data;
	b->len = len;
	return 0;
}

static void define_flags(struct vmctl *v)
{
	struct flags *fs = v->fs;
	struct vmctl_opts *o = &v->o;

	o->console_type.names = hvapi_console_type_names;
	o->firmware_type.names = hvapi_firmware_names;
	o->machine_type.names = hvapi_machine_type_names;
	o->watchdog_action.names = hvapi_watchdog_action_names;
	o->watchdog_model.names = hvapi_watchdog_model_names;
	o->volume_format.names = hvapi_volume_format_names;
	o->volume_interfaces.names = hvapi_volume_interface_names;
	o->volume_types.names = hvapi_volume_type_names;

	flags_string(fs, "hypervisorHostname", &o->hypervisor_hostname, "localhost",
		     "Hostname of hypervisor");
	flags_int(fs, "hypervisorPortNum", &o->hypervisor_port, HVAPI_DEFAULT_PORT,
		  "Port number of hypervisor");
	flags_string(fs, "certDirectory", &o->cert_directory, "~/.ssl",
		     "Directory of client certificates (X.cert + X.key)");
	flags_string(fs, "CAfile", &o->ca_file, "/etc/ssl/CA.pem",
		     "CA certificates the hypervisor's certificate must be signed by");
	flags_bool(fs, "insecure", &o->insecure, false,
		   "If true, do not verify the hypervisor's certificate (bootstrap only)");
	flags_duration(fs, "connectTimeout", &o->connect_timeout_ns, 15000000000LL,
		       "Time limit for connecting to the hypervisor");

	flags_string(fs, "imageFile", &o->image_file, "", "Name of RAW image file to boot with");
	flags_string(fs, "imageURL", &o->image_url, "", "URL of image to boot with");
	flags_string(fs, "imageName", &o->image_name, "", "Name of image to boot with");
	flags_duration(fs, "imageTimeout", &o->image_timeout_ns, 60000000000LL,
		       "Time to wait before timing out on image fetch");
	flags_size(fs, "memory", &o->memory, 0, "memory (default 1GiB)");
	flags_uint64(fs, "milliCPUs", &o->milli_cpus, 0, "milli CPUs (default 250)");
	flags_uint64(fs, "vCPUs", &o->virtual_cpus, 0,
		     "virtual CPUs (default rounds up milliCPUs)");
	flags_string(fs, "hostname", &o->hostname, "", "Hostname for VM");
	flags_string(fs, "vmHostname", &o->vm_hostname, "", "Hostname for VM (alias of -hostname)");
	flags_func(fs, "tags", "key=value,...", set_tags, &o->tags, "", "Tags to apply to VM");
	flags_func(fs, "vmTags", "key=value,...", set_tags, &o->vm_tags, "",
		   "Tags to apply to VM (alias of -tags)");
	flags_string(fs, "userDataFile", &o->user_data_file, "",
		     "File with user data for the metadata server (\"-\": stdin/stdout)");
	flags_string(fs, "subnetId", &o->subnet_id, "", "Subnet ID to launch VM in");
	flags_strlist(fs, "secondarySubnetIDs", &o->secondary_subnet_ids, "",
		      "Secondary Subnet IDs");
	flags_func(fs, "volumeSizes", "size,...", set_u64list, &o->volume_sizes, "",
		   "Sizes of secondary volumes (create-vm, add-vm-volumes)");
	flags_func(fs, "secondaryVolumeSizes", "size,...", set_u64list, &o->secondary_volume_sizes,
		   "", "Sizes of secondary volumes (alias of -volumeSizes)");
	flags_size(fs, "minFreeBytes", &o->min_free_bytes, 256 << 20,
		   "Minimum free bytes in root volume; without an image, the size of an empty "
		   "root volume");
	flags_uint64(fs, "roundupPower", &o->roundup_power, 28,
		     "power of 2 to round up root volume size");
	flags_bool(fs, "doNotStart", &o->do_not_start, false,
		   "If true, do not start VM when creating");
	flags_strlist(fs, "ownerUsers", &o->owner_users, "", "Extra users who own the VM");
	flags_strlist(fs, "ownerGroups", &o->owner_groups, "", "Groups who own the VM");
	flags_duration(fs, "dhcpTimeout", &o->dhcp_timeout_ns, 60000000000LL,
		       "Time to wait before timing out on DHCP request from VM");
	flags_func(fs, "consoleType", "none|dummy|vnc", set_enum, &o->console_type, "none",
		   "type of graphical console");
	flags_func(fs, "firmwareType", "default|bios|uefi", set_enum, &o->firmware_type, "default",
		   "firmware to boot with");
	flags_func(fs, "machineType", "auto|q35|pc|virt", set_enum, &o->machine_type, "auto",
		   "machine type to emulate");
	flags_func(fs, "watchdogAction", "none|reset|shutdown|poweroff", set_enum,
		   &o->watchdog_action, "none", "action when the watchdog fires");
	flags_func(fs, "watchdogModel", "none|ib700|i6300esb", set_enum, &o->watchdog_model, "none",
		   "watchdog device");
	flags_func(fs, "volumeFormat", "raw|qcow2", set_enum, &o->volume_format, "raw",
		   "format of the root volume image");
	flags_func(fs, "volumeInterfaces", "virtio|ide|nvme|dfm,...", set_enumlist,
		   &o->volume_interfaces, "", "Interfaces of the volumes (root first)");
	flags_func(fs, "volumeTypes", "persistent|memory,...", set_enumlist, &o->volume_types, "",
		   "Types of the volumes (root first)");
	flags_int(fs, "cpuPriority", &o->cpu_priority, 0, "CPU priority (nice value) of the VM");
	flags_bool(fs, "destroyProtection", &o->destroy_protection, false,
		   "If true, do not destroy running VM");
	flags_bool(fs, "destroyOnPowerdown", &o->destroy_on_powerdown, false,
		   "If true, destroy VM when it powers down");
	flags_bool(fs, "disableVirtIO", &o->disable_virtio, false,
		   "If true, disable virtio drivers, reducing I/O performance");
	flags_bool(fs, "enableNetboot", &o->enable_netboot, false,
		   "If true, enable boot from network for first boot");
	flags_string(fs, "extraKernelOptions", &o->extra_kernel_options, "",
		     "Extra options for the kernel when booting it directly");
	flags_strlist(fs, "requestIPs", &o->request_ips, "", "Request specific IPs, if available");
	flags_bool(fs, "skipBootloader", &o->skip_bootloader, false,
		   "If true, directly boot into the kernel");
	flags_bool(fs, "skipMemoryCheck", &o->skip_memory_check, false,
		   "If true, skip memory availability check before creating VM");
	flags_bool(fs, "spreadVolumes", &o->spread_volumes, false,
		   "If true, spread volumes over storage devices");
	flags_func(fs, "numNetworkQueues", "n,...", set_u64list, &o->num_network_queues, "",
		   "Number of queues of each network interface");
	flags_string(fs, "identityCertFile", &o->identity_cert_file, "",
		     "Identity certificate (PEM) for the VM");
	flags_string(fs, "identityKeyFile", &o->identity_key_file, "",
		     "Identity key (PEM) for the VM");

	flags_uint64(fs, "volumeIndex", &o->volume_index, 0, "Index of volume to change or delete");
	flags_uint64(fs, "storageIndex", &o->storage_index, 0, "Index of storage device");
	flags_size(fs, "volumeSize", &o->volume_size, 0, "New size of specified volume");
	flags_func(fs, "volumeIndices", "n,...", set_u64list, &o->volume_indices, "",
		   "Index of volumes");
	flags_string(fs, "snapshotName", &o->snapshot_name, "", "Name of snapshot");
	flags_bool(fs, "forceIfNotStopped", &o->force_if_not_stopped, false,
		   "If true, snapshot or restore VM even if not stopped");
	flags_bool(fs, "snapshotRootOnly", &o->snapshot_root_only, false,
		   "If true, snapshot only the root volume");
	flags_uint64(fs, "serialPort", &o->serial_port, 0, "Serial port number on VM");
	flags_uint64(fs, "probePortNum", &o->probe_port, 0, "Port number on VM to probe");
	flags_duration(fs, "probeTimeout", &o->probe_timeout_ns, 300000000000LL,
		       "Time to wait before timing out on probing VM port");
	flags_func(fs, "accessToken", "base64", set_token, &o->access_token, "",
		   "VM access token (from get-vm-access-token) instead of ownership");
	flags_duration(fs, "tokenLifetime", &o->token_lifetime_ns, 3600000000000LL,
		       "Lifetime of a new VM access token (1m to 24h)");
	flags_func(fs, "vmTagsToMatch", "key=value,...", set_match_tags, &o->vm_tags_to_match, "",
		   "Tags a VM must have to be listed (a key may be given several values)");
	flags_string(fs, "localVmCreate", &o->local_vm_create, "",
		     "Command to make a local VM from the exported VM (JSON on stdin)");
	flags_string(fs, "localVmDestroy", &o->local_vm_destroy, "",
		     "Command to destroy the local VM made by -localVmCreate");
	flags_string(fs, "vncViewer", &o->vnc_viewer, "",
		     "Path to VNC viewer for connect-to-vm-console (none: print the local port)");
	flags_string(fs, "identityName", &o->identity_name, "",
		     "Name of identity for replace-vm-identity (none: erase the identity)");
	flags_bool(fs, "skipBackup", &o->skip_backup, false,
		   "If true, do not keep the old root as root.old (replace/patch-vm-image)");
	flags_bool(fs, "preDelete", &o->pre_delete, false,
		   "If true, delete the old root before the new image is written (stopped VM, "
		   "replace-vm-image)");
	flags_string(fs, "volumeFilename", &o->volume_filename, "",
		     "Local file of get-vm-volume (an existing file is the earlier copy)");
	flags_string(fs, "sourceHypervisor", &o->source_hypervisor, "",
		     "Hypervisor (host[:port]) migrate-vm and copy-vm take the VM from");
}

/* ---- Subcommands ---- */

#define IP "IPaddr"
static const struct vmctl_cmd commands[] = {
    {"add-vm-volumes", IP, 1, 1, vmctl_cmd_volumes, HVAPI_M_ADD_VM_VOLUMES, "adding VM volumes",
     "add volumes of -volumeSizes to a VM"},
    {"become-primary-vm-owner", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_BECOME_PRIMARY_VM_OWNER,
     "becoming primary VM owner", "become the primary owner of a VM"},
    {"change-vm-console-type", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_CONSOLE_TYPE,
     "changing VM console type", "change the console type (-consoleType)"},
    {"change-vm-cpu-priority", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_CPU_PRIORITY,
     "changing VM CPU priority", "change the CPU priority (-cpuPriority)"},
    {"change-vm-cpus", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_SIZE, "changing VM CPUs",
     "change the milli CPUs (-milliCPUs)"},
    {"change-vm-destroy-protection", IP, 1, 1, vmctl_cmd_change,
     HVAPI_M_CHANGE_VM_DESTROY_PROTECTION, "changing VM destroy protection",
     "enable/disable destroy protection (-destroyProtection)"},
    {"change-vm-hostname", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_HOSTNAME,
     "changing VM hostname", "change the hostname (-hostname)"},
    {"change-vm-machine-type", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_MACHINE_TYPE,
     "changing VM machine type", "change the machine type (-machineType)"},
    {"change-vm-memory", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_SIZE, "changing VM memory",
     "change the memory (-memory)"},
    {"change-vm-num-network-queues", IP, 1, 1, vmctl_cmd_change,
     HVAPI_M_CHANGE_VM_NUM_NETWORK_QUEUES, "changing VM network queues",
     "change the queues per network interface (-numNetworkQueues)"},
    {"change-vm-owner-groups", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_OWNER_GROUPS,
     "changing VM owner groups", "change the owner groups (-ownerGroups)"},
    {"change-vm-owner-users", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_OWNER_USERS,
     "changing VM owner users", "change the extra owners (-ownerUsers)"},
    {"change-vm-size", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_SIZE, "changing VM size",
     "change -memory, -milliCPUs and/or -vCPUs"},
    {"change-vm-subnet", IP, 1, 1, vmctl_cmd_change_subnet, HVAPI_M_CHANGE_VM_SUBNET,
     "changing VM subnet", "move a stopped VM to -subnetId; prints the new IP"},
    {"change-vm-tags", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_TAGS, "changing VM tags",
     "replace the tags (-tags)"},
    {"change-vm-vcpus", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_SIZE, "changing VM vCPUs",
     "change the virtual CPUs (-vCPUs)"},
    {"change-vm-volume-interfaces", IP, 1, 1, vmctl_cmd_change, HVAPI_M_CHANGE_VM_VOLUME_INTERFACES,
     "changing VM volume interfaces", "change the volume interfaces (-volumeInterfaces)"},
    {"change-vm-volume-size", IP, 1, 1, vmctl_cmd_volumes, HVAPI_M_CHANGE_VM_VOLUME_SIZE,
     "changing VM volume size", "resize volume -volumeIndex to -volumeSize"},
    {"change-vm-volume-storage-index", IP, 1, 1, vmctl_cmd_volumes,
     HVAPI_M_CHANGE_VM_VOLUME_STORAGE_INDEX, "changing VM volume storage index",
     "move volume -volumeIndex to storage -storageIndex"},
    {"commit-imported-vm", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_COMMIT_IMPORTED_VM,
     "committing imported VM", "commit a VM imported with import-local-vm (after defer)"},
    {"connect-to-vm-serial-port", IP, 1, 1, vmctl_cmd_serial, HVAPI_M_CONNECT_TO_VM_SERIAL_PORT,
     "connecting to VM serial port",
     "connect stdin/stdout to serial port -serialPort; ~. or end of input disconnects"},
    {"connect-to-vm-console", IP, 1, 1, vmctl_cmd_console, HVAPI_M_CONNECT_TO_VM_CONSOLE,
     "connecting to VM console",
     "proxy a local port to the VM's VNC console (and start -vncViewer on it)"},
    {"copy-vm", IP, 1, 1, vmctl_cmd_copy_vm, HVAPI_M_COPY_VM, "copying VM",
     "copy a VM from -sourceHypervisor to this hypervisor (new address; prints it)"},
    {"create-vm", "", 0, 0, vmctl_cmd_create_vm, HVAPI_M_CREATE_VM, "creating VM",
     "create a VM; prints its IP address"},
    {"debug-vm-image", IP, 1, 1, vmctl_cmd_debug_image, HVAPI_M_DEBUG_VM_IMAGE,
     "debugging VM image",
     "boot the VM from root.debug made from -imageName, -imageURL or -imageFile"},
    {"delete-vm-volume", IP, 1, 1, vmctl_cmd_volumes, HVAPI_M_DELETE_VM_VOLUME,
     "deleting VM volume", "delete volume -volumeIndex (>= 1)"},
    {"destroy-vm", IP, 1, 1, vmctl_cmd_vm_token, HVAPI_M_DESTROY_VM, "destroying VM",
     "destroy a VM (all its data are lost)"},
    {"discard-vm-access-token", IP, 1, 1, vmctl_cmd_vm_token, HVAPI_M_DISCARD_VM_ACCESS_TOKEN,
     "discarding VM access token", "discard the VM's access token (-accessToken)"},
    {"discard-vm-old-image", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_DISCARD_VM_OLD_IMAGE,
     "discarding VM old image", "discard the previous root image"},
    {"discard-vm-old-user-data", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_DISCARD_VM_OLD_USER_DATA,
     "discarding VM old user data", "discard the previous user data"},
    {"discard-vm-snapshot", IP, 1, 1, vmctl_cmd_snapshots, HVAPI_M_DISCARD_VM_SNAPSHOT,
     "discarding VM snapshot", "discard snapshot -snapshotName"},
    {"export-local-vm", IP, 1, 1, vmctl_cmd_export_local_vm, HVAPI_M_EXPORT_LOCAL_VM,
     "exporting VM",
     "stop the VM and hand it to -localVmCreate, then commit/defer/abandon (root only)"},
    {"get-capacity", "", 0, 0, vmctl_cmd_print, HVAPI_M_GET_CAPACITY, "getting capacity",
     "show the hypervisor's capacity"},
    {"get-vm-access-token", IP, 1, 1, vmctl_cmd_access_token, HVAPI_M_GET_VM_ACCESS_TOKEN,
     "getting VM access token", "print a new access token (-tokenLifetime) for the VM"},
    {"get-vm-create-request", IP, 1, 1, vmctl_cmd_print, HVAPI_M_GET_VM_CREATE_REQUEST,
     "getting VM create request", "show the request a VM was created with"},
    {"get-vm-info", IP, 1, 1, vmctl_cmd_print, HVAPI_M_GET_VM_INFO, "getting VM info",
     "show the information of a VM"},
    {"get-vm-infos", "", 0, 0, vmctl_cmd_print, HVAPI_M_GET_VM_INFOS, "getting VM infos",
     "show every VM (filters: -ownerGroups, -ownerUsers, -vmTagsToMatch)"},
    {"get-vm-last-patch-log", IP, 1, 1, vmctl_cmd_last_patch_log, HVAPI_M_GET_VM_LAST_PATCH_LOG,
     "getting VM last patch log", "write the log of the last patch-vm-image to stdout"},
    {"get-vm-user-data", IP, 1, 1, vmctl_cmd_get_user_data, HVAPI_M_GET_VM_USER_DATA,
     "getting VM user data", "write the user data to -userDataFile (default stdout)"},
    {"get-vm-volume", IP, 1, 1, vmctl_cmd_get_volume, HVAPI_M_GET_VM_VOLUME, "getting VM volume",
     "fetch volume -volumeIndex into -volumeFilename"},
    {"get-vm-volume-storage-configuration", IP, 1, 1, vmctl_cmd_print,
     HVAPI_M_GET_VM_VOLUME_STORAGE_CONFIGURATION, "getting VM volume storage configuration",
     "show where the volumes of a VM are stored"},
    {"import-local-vm", "info-file root-volume [secondary-volume...]", 2, 65,
     vmctl_cmd_import_local_vm, HVAPI_M_IMPORT_LOCAL_VM, "importing VM",
     "import a stopped VM's VmInfo and volume files, then commit/defer/abandon (root only)"},
    {"list-subnets", "", 0, 0, vmctl_cmd_print, HVAPI_M_LIST_SUBNETS, "listing subnets",
     "show the subnets"},
    {"list-vms", "", 0, 0, vmctl_cmd_list_vms, HVAPI_M_LIST_VMS, "listing VMs",
     "list VM IP addresses (filters: -ownerGroups, -ownerUsers, -vmTagsToMatch)"},
    {"patch-vm-image", IP, 1, 1, vmctl_cmd_patch_image, HVAPI_M_PATCH_VM_IMAGE, "patching VM image",
     "bring the root file system to image -imageName (-skipBackup)"},
    {"migrate-vm", IP, 1, 1, vmctl_cmd_migrate_vm, HVAPI_M_MIGRATE_VM, "migrating VM",
     "move a VM (address and all) from -sourceHypervisor here; asks to commit"},
    {"probe-vm-port", IP, 1, 1, vmctl_cmd_probe_port, HVAPI_M_PROBE_VM_PORT, "probing VM port",
     "probe TCP port -probePortNum of a VM from its hypervisor"},
    {"reboot-vm", IP, 1, 1, vmctl_cmd_reboot_vm, HVAPI_M_REBOOT_VM, "rebooting VM", "reboot a VM"},
    {"reorder-vm-volumes", IP, 1, 1, vmctl_cmd_volumes, HVAPI_M_REORDER_VM_VOLUMES,
     "reordering VM volumes", "reorder the volumes (-volumeIndices)"},
    {"replace-vm-credentials", IP, 1, 1, vmctl_cmd_replace_credentials,
     HVAPI_M_REPLACE_VM_CREDENTIALS, "replacing VM credentials",
     "replace the VM's identity with -identityCertFile and -identityKeyFile"},
    {"replace-vm-identity", IP, 1, 1, vmctl_cmd_replace_identity, HVAPI_M_REPLACE_VM_IDENTITY,
     "replacing VM identity", "erase the VM's identity (-identityName is not supported)"},
    {"replace-vm-image", IP, 1, 1, vmctl_cmd_replace_image, HVAPI_M_REPLACE_VM_IMAGE,
     "replacing VM image",
     "replace the root with -imageName, -imageURL or -imageFile (old kept as root.old)"},
    {"replace-vm-user-data", IP, 1, 1, vmctl_cmd_replace_user_data, HVAPI_M_REPLACE_VM_USER_DATA,
     "replacing VM user data", "replace the user data with -userDataFile (\"-\": stdin)"},
    {"restore-vm-from-snapshot", IP, 1, 1, vmctl_cmd_snapshots, HVAPI_M_RESTORE_VM_FROM_SNAPSHOT,
     "restoring VM from snapshot", "restore the volumes from snapshot -snapshotName"},
    {"restore-vm-image", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_RESTORE_VM_IMAGE,
     "restoring VM image", "restore the previous root image"},
    {"restore-vm-user-data", IP, 1, 1, vmctl_cmd_ip_only, HVAPI_M_RESTORE_VM_USER_DATA,
     "restoring VM user data", "restore the previous user data"},
    {"set-vm-migrating", IP, 1, 1, vmctl_cmd_migrating, HVAPI_M_PREPARE_VM_FOR_MIGRATION,
     "setting VM migrating", "set the VM state to migrating (debugging only)"},
    {"snapshot-vm", IP, 1, 1, vmctl_cmd_snapshots, HVAPI_M_SNAPSHOT_VM, "snapshotting VM",
     "snapshot the volumes (-snapshotName, -snapshotRootOnly)"},
    {"start-vm", IP, 1, 1, vmctl_cmd_start_vm, HVAPI_M_START_VM, "starting VM",
     "start a stopped VM"},
    {"stop-vm", IP, 1, 1, vmctl_cmd_vm_token, HVAPI_M_STOP_VM, "stopping VM",
     "stop a running VM (data are kept)"},
    {"trace-vm-metadata", IP, 1, 1, vmctl_cmd_trace_metadata, HVAPI_M_TRACE_VM_METADATA,
     "tracing VM metadata", "print the metadata requests of a VM until it is destroyed"},
    {"unset-vm-migrating", IP, 1, 1, vmctl_cmd_migrating, HVAPI_M_PREPARE_VM_FOR_MIGRATION,
     "unsetting VM migrating", "set a migrating VM back to stopped (debugging only)"},
};
#undef IP

static void print_usage(const struct vmctl *v, FILE *out)
{
	flags_print_usage(v->fs, out);
	fputs("Commands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char left[80];
		snprintf(left, sizeof(left), "%s%s%s", commands[i].name,
			 *commands[i].args ? " " : "", commands[i].args);
		fprintf(out, "  %-38s %s\n", left, commands[i].help);
	}
}

static const struct vmctl_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void free_opts(struct vmctl_opts *o)
{
	const struct api_field tags = {.kind = API_MAP, .type = &hvapi_tag_type};
	const struct api_field match = {.kind = API_MAP, .type = &hvapi_match_tag_type};

	api_clear_value(&tags, &o->tags);
	api_clear_value(&tags, &o->vm_tags);
	api_clear_value(&match, &o->vm_tags_to_match);
	free(o->volume_sizes.v);
	free(o->secondary_volume_sizes.v);
	free(o->num_network_queues.v);
	free(o->volume_indices.v);
	free(o->volume_interfaces.v);
	free(o->volume_types.v);
	free(o->access_token.data);
}

int main(int argc, char *argv[])
{
	struct vmctl v;
	const struct vmctl_cmd *c;
	char *dir, *err = NULL;
	int rc, nargs;

	signal(SIGPIPE, SIG_IGN);
	memset(&v, 0, sizeof(v));
	v.fs = flags_new("vm-control", usage_head);
	if (!v.fs)
		return 1;
	define_flags(&v);
	dir = flags_user_config_dir("vm-control");
	if (flags_load_config(v.fs, dir) < 0) {
		rc = 2;
		goto out;
	}
	rc = flags_parse(v.fs, argc, argv, &err);
	if (rc == FLAGS_EHELP) {
		print_usage(&v, stdout);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "vm-control: %s\n(vm-control -h lists commands and flags)\n",
			err ? err : "bad flags");
		rc = 2;
		goto out;
	}
	nargs = flags_nargs(v.fs);
	if (nargs < 1) {
		fprintf(stderr, "vm-control: no command given\n");
		print_usage(&v, stderr);
		rc = 2;
		goto out;
	}
	c = find_command(flags_arg(v.fs, 0));
	if (!c) {
		fprintf(stderr, "vm-control: unknown command \"%s\" (vm-control -h lists them)\n",
			flags_arg(v.fs, 0));
		rc = 2;
		goto out;
	}
	if (nargs - 1 < c->min_args || nargs - 1 > c->max_args) {
		fprintf(stderr, "vm-control: usage: vm-control [flags...] %s%s%s\n", c->name,
			*c->args ? " " : "", c->args);
		rc = 2;
		goto out;
	}
	if (v.o.memory > 0 && v.o.memory < (1u << 20)) {
		fprintf(stderr, "vm-control: unreasonably small -memory: %llu bytes\n",
			(unsigned long long)v.o.memory);
		rc = 2;
		goto out;
	}
	rc = c->fn(&v, c, nargs - 1, flags_args(v.fs) + 1);
	srpc_client_close(v.client);
	tls_client_free(v.tls);
out:
	free(err);
	free(dir);
	free_opts(&v.o);
	flags_free(v.fs);
	return rc;
}
