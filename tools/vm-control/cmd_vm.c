/* vm-control subcommands that make one request/response call about one VM: lifecycle
 * (start, stop, destroy, reboot), the change-* family, volumes, snapshots, migration
 * state and port probing. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmctl.h"

#define O (&v->o)

int vmctl_cmd_ip_only(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_ip_request r = {0};

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	return vmctl_call_simple(v, c->doing, c->method, &hvapi_ip_request_type, &r);
}

int vmctl_cmd_vm_token(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_vm_token_request r = {.access_token = O->access_token};

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	return vmctl_call_simple(v, c->doing, c->method, &hvapi_vm_token_request_type, &r);
}

static int check_dhcp(const char *doing, const struct hvapi_dhcp_response *r)
{
	if (r->dhcp_timed_out)
		return cli_fail(doing, "DHCP ACK timed out");
	return 0;
}

int vmctl_cmd_start_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_start_vm_request r = {.access_token = O->access_token,
					   .dhcp_timeout_ns = O->dhcp_timeout_ns};
	struct hvapi_dhcp_response resp;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	if (vmctl_call(v, c->doing, c->method, &hvapi_start_vm_request_type, &r,
		       &hvapi_dhcp_response_type, &resp))
		return 1;
	rc = check_dhcp(c->doing, &resp);
	hvapi_dhcp_response_clear(&resp);
	return rc;
}

int vmctl_cmd_reboot_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_reboot_vm_request r = {.dhcp_timeout_ns = O->dhcp_timeout_ns};
	struct hvapi_dhcp_response resp;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	if (vmctl_call(v, c->doing, c->method, &hvapi_reboot_vm_request_type, &r,
		       &hvapi_dhcp_response_type, &resp))
		return 1;
	rc = check_dhcp(c->doing, &resp);
	hvapi_dhcp_response_clear(&resp);
	return rc;
}

/* The lists in the options are owned by the flag set: requests borrow them. */
static struct api_strlist borrow_strlist(const struct flags_list *l)
{
	struct api_strlist s = {l->n, l->v};
	return s;
}

static int change_size(struct vmctl *v, const struct vmctl_cmd *c, struct in_addr ip)
{
	struct hvapi_change_vm_size_request r = {.ip = ip};
	bool all = strcmp(c->name, "change-vm-size") == 0;

	if (all || strcmp(c->name, "change-vm-memory") == 0)
		r.memory_mib = O->memory >> 20;
	if (all || strcmp(c->name, "change-vm-cpus") == 0)
		r.milli_cpus = (uint32_t)O->milli_cpus;
	if (all || strcmp(c->name, "change-vm-vcpus") == 0)
		r.virtual_cpus = (uint32_t)O->virtual_cpus;
	if (!r.memory_mib && !r.milli_cpus && !r.virtual_cpus)
		return cli_fail(c->doing, "nothing to change: give %s",
				all ? "-memory, -milliCPUs or -vCPUs"
				: strcmp(c->name, "change-vm-memory") == 0 ? "-memory"
				: strcmp(c->name, "change-vm-cpus") == 0   ? "-milliCPUs"
									   : "-vCPUs");
	return vmctl_call_simple(v, c->doing, c->method, &hvapi_change_vm_size_request_type, &r);
}

static const char *hostname_opt(const struct vmctl_opts *o)
{
	return o->hostname && *o->hostname ? o->hostname : o->vm_hostname;
}

static const struct hvapi_tags *tags_opt(const struct vmctl_opts *o)
{
	return o->tags.n ? &o->tags : &o->vm_tags;
}

/* change-vm-*: builds the one request each method takes from the flags. */
int vmctl_cmd_change(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	const char *m = c->method;
	struct in_addr ip;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &ip))
		return 1;
	if (strcmp(m, HVAPI_M_CHANGE_VM_SIZE) == 0)
		return change_size(v, c, ip);
	if (strcmp(m, HVAPI_M_CHANGE_VM_CONSOLE_TYPE) == 0) {
		struct hvapi_change_vm_console_type_request r = {
		    .console_type = (enum hvapi_console_type)O->console_type.value, .ip = ip};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_console_type_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_CPU_PRIORITY) == 0) {
		struct hvapi_change_vm_cpu_priority_request r = {.cpu_priority = O->cpu_priority,
								 .ip = ip};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_cpu_priority_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_DESTROY_PROTECTION) == 0) {
		struct hvapi_change_vm_destroy_protection_request r = {
		    .destroy_protection = O->destroy_protection, .ip = ip};
		return vmctl_call_simple(v, c->doing, m,
					 &hvapi_change_vm_destroy_protection_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_HOSTNAME) == 0) {
		struct hvapi_change_vm_hostname_request r = {.hostname = (char *)hostname_opt(O),
							     .ip = ip};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_hostname_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_MACHINE_TYPE) == 0) {
		struct hvapi_change_vm_machine_type_request r = {
		    .machine_type = (enum hvapi_machine_type)O->machine_type.value, .ip = ip};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_machine_type_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_NUM_NETWORK_QUEUES) == 0) {
		struct hvapi_change_vm_num_network_queues_request r = {.ip = ip};
		int rc;
		r.num_queues_per_interface.n = O->num_network_queues.n;
		r.num_queues_per_interface.v =
		    calloc(O->num_network_queues.n + 1, sizeof(uint32_t));
		if (!r.num_queues_per_interface.v)
			return cli_fail(c->doing, "out of memory");
		for (size_t i = 0; i < O->num_network_queues.n; i++)
			r.num_queues_per_interface.v[i] = (uint32_t)O->num_network_queues.v[i];
		rc = vmctl_call_simple(v, c->doing, m,
				       &hvapi_change_vm_num_network_queues_request_type, &r);
		free(r.num_queues_per_interface.v);
		return rc;
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_OWNER_GROUPS) == 0) {
		struct hvapi_change_vm_owner_groups_request r = {
		    .ip = ip, .owner_groups = borrow_strlist(&O->owner_groups)};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_owner_groups_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_OWNER_USERS) == 0) {
		struct hvapi_change_vm_owner_users_request r = {
		    .ip = ip, .owner_users = borrow_strlist(&O->owner_users)};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_owner_users_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_TAGS) == 0) {
		struct hvapi_change_vm_tags_request r = {.ip = ip, .tags = *tags_opt(O)};
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_tags_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_VOLUME_INTERFACES) == 0) {
		struct hvapi_change_vm_volume_interfaces_request r = {.ip = ip};
		r.interfaces.n = O->volume_interfaces.n;
		r.interfaces.v = (enum hvapi_volume_interface *)O->volume_interfaces.v;
		return vmctl_call_simple(v, c->doing, m,
					 &hvapi_change_vm_volume_interfaces_request_type, &r);
	}
	return cli_fail(c->doing, "unsupported method %s", m);
}

int vmctl_cmd_change_subnet(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			    char *const argv[])
{
	struct hvapi_change_vm_subnet_request r = {.subnet_id = (char *)O->subnet_id};
	struct hvapi_change_vm_subnet_response resp;
	char buf[INET_ADDRSTRLEN];

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	if (!*O->subnet_id)
		return cli_fail(c->doing, "no -subnetId given");
	if (vmctl_call(v, c->doing, c->method, &hvapi_change_vm_subnet_request_type, &r,
		       &hvapi_change_vm_subnet_response_type, &resp))
		return 1;
	printf("%s\n", inet_ntop(AF_INET, &resp.new_ip, buf, sizeof(buf)));
	hvapi_change_vm_subnet_response_clear(&resp);
	return 0;
}

static int u32_list(const struct vmctl_u64list *in, uint32_t **out)
{
	*out = calloc(in->n + 1, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < in->n; i++)
		(*out)[i] = (uint32_t)in->v[i];
	return 0;
}

/* add-vm-volumes, change-vm-volume-size, change-vm-volume-storage-index,
 * delete-vm-volume, reorder-vm-volumes. */
int vmctl_cmd_volumes(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	const char *m = c->method;
	struct in_addr ip;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &ip))
		return 1;
	if (strcmp(m, HVAPI_M_ADD_VM_VOLUMES) == 0) {
		struct hvapi_add_vm_volumes_request r = {.ip = ip};
		const struct vmctl_u64list *sizes =
		    O->volume_sizes.n ? &O->volume_sizes : &O->secondary_volume_sizes;
		if (!sizes->n)
			return cli_fail(c->doing, "no -volumeSizes given");
		r.volume_sizes.n = sizes->n;
		r.volume_sizes.v = sizes->v;
		return vmctl_call_simple(v, c->doing, m, &hvapi_add_vm_volumes_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_VOLUME_SIZE) == 0) {
		struct hvapi_change_vm_volume_size_request r = {.ip = ip,
								.volume_index =
								    (uint32_t)O->volume_index,
								.volume_size = O->volume_size};
		if (!O->volume_size)
			return cli_fail(c->doing, "no -volumeSize given");
		return vmctl_call_simple(v, c->doing, m, &hvapi_change_vm_volume_size_request_type,
					 &r);
	}
	if (strcmp(m, HVAPI_M_CHANGE_VM_VOLUME_STORAGE_INDEX) == 0) {
		struct hvapi_change_vm_volume_storage_index_request r = {
		    .ip = ip,
		    .storage_index = (uint32_t)O->storage_index,
		    .volume_index = (uint32_t)O->volume_index};
		return vmctl_call_simple(v, c->doing, m,
					 &hvapi_change_vm_volume_storage_index_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_DELETE_VM_VOLUME) == 0) {
		struct hvapi_delete_vm_volume_request r = {
		    .ip = ip, .volume_index = (uint32_t)O->volume_index};
		if (O->volume_index < 1)
			return cli_fail(c->doing, "-volumeIndex must be at least 1");
		return vmctl_call_simple(v, c->doing, m, &hvapi_delete_vm_volume_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_REORDER_VM_VOLUMES) == 0) {
		struct hvapi_reorder_vm_volumes_request r = {.ip = ip};
		if (u32_list(&O->volume_indices, &r.volume_indices.v) < 0)
			return cli_fail(c->doing, "out of memory");
		r.volume_indices.n = O->volume_indices.n;
		rc = vmctl_call_simple(v, c->doing, m, &hvapi_reorder_vm_volumes_request_type, &r);
		free(r.volume_indices.v);
		return rc;
	}
	return cli_fail(c->doing, "unsupported method %s", m);
}

/* snapshot-vm, restore-vm-from-snapshot, discard-vm-snapshot. */
int vmctl_cmd_snapshots(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	const char *m = c->method;
	char *name = (char *)O->snapshot_name;
	struct in_addr ip;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &ip))
		return 1;
	if (strcmp(m, HVAPI_M_SNAPSHOT_VM) == 0) {
		struct hvapi_snapshot_vm_request r = {.ip = ip,
						      .force_if_not_stopped =
							  O->force_if_not_stopped,
						      .name = name,
						      .root_only = O->snapshot_root_only};
		return vmctl_call_simple(v, c->doing, m, &hvapi_snapshot_vm_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_RESTORE_VM_FROM_SNAPSHOT) == 0) {
		struct hvapi_restore_vm_from_snapshot_request r = {
		    .ip = ip, .force_if_not_stopped = O->force_if_not_stopped, .name = name};
		return vmctl_call_simple(v, c->doing, m,
					 &hvapi_restore_vm_from_snapshot_request_type, &r);
	}
	if (strcmp(m, HVAPI_M_DISCARD_VM_SNAPSHOT) == 0) {
		struct hvapi_discard_vm_snapshot_request r = {.ip = ip, .name = name};
		return vmctl_call_simple(v, c->doing, m, &hvapi_discard_vm_snapshot_request_type,
					 &r);
	}
	return cli_fail(c->doing, "unsupported method %s", m);
}

/* set-vm-migrating / unset-vm-migrating (debugging aids). */
int vmctl_cmd_migrating(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_prepare_vm_for_migration_request r = {
	    .enable = strcmp(c->name, "set-vm-migrating") == 0};

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	return vmctl_call_simple(v, c->doing, c->method,
				 &hvapi_prepare_vm_for_migration_request_type, &r);
}

int vmctl_cmd_probe_port(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_probe_vm_port_request r = {.port_number = (uint32_t)O->probe_port,
						.timeout_ns = O->probe_timeout_ns};
	struct hvapi_probe_vm_port_response resp;
	int rc = 0;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	if (!O->probe_port || O->probe_port > 65535)
		return cli_fail(c->doing, "-probePortNum must be 1..65535");
	if (vmctl_call(v, c->doing, c->method, &hvapi_probe_vm_port_request_type, &r,
		       &hvapi_probe_vm_port_response_type, &resp))
		return 1;
	if (!resp.port_is_open)
		rc = cli_fail(c->doing, "port %u not open", r.port_number);
	else
		printf("port %u is open\n", r.port_number);
	hvapi_probe_vm_port_response_clear(&resp);
	return rc;
}

/* get-vm-access-token prints a new token (base64, as -accessToken takes it). */
int vmctl_cmd_access_token(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_get_vm_access_token_request r = {.lifetime_ns = O->token_lifetime_ns};
	struct hvapi_get_vm_access_token_response resp;
	char *b64;
	int rc = 0;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip))
		return 1;
	if (vmctl_call(v, c->doing, c->method, &hvapi_get_vm_access_token_request_type, &r,
		       &hvapi_get_vm_access_token_response_type, &resp))
		return 1;
	b64 = sjson_base64_encode(resp.token.data, resp.token.len);
	if (!b64 || !resp.token.len)
		rc = cli_fail(c->doing, "%s", b64 ? "empty token" : "out of memory");
	else
		printf("%s\n", b64);
	free(b64);
	hvapi_get_vm_access_token_response_clear(&resp);
	return rc;
}
