/* vm-control subcommands that query and print: list-vms (one IP per line, in
 * version-string order) and the JSON printers (get-vm-info, get-vm-infos,
 * get-vm-create-request, list-subnets, get-capacity, ...). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmctl.h"

#define O (&v->o)

static struct api_strlist borrow(const struct flags_list *l)
{
	struct api_strlist s = {l->n, l->v};
	return s;
}

int vmctl_cmd_list_vms(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_list_vms_request r = {
	    .owner_groups = borrow(&O->owner_groups),
	    .owner_users = borrow(&O->owner_users),
	    .sort = true,
	    .vm_tags_to_match = O->vm_tags_to_match,
	};
	struct hvapi_list_vms_response resp;
	char buf[INET_ADDRSTRLEN];

	(void)argc;
	(void)argv;
	if (vmctl_call(v, c->doing, c->method, &hvapi_list_vms_request_type, &r,
		       &hvapi_list_vms_response_type, &resp))
		return 1;
	for (size_t i = 0; i < resp.ip_addresses.n; i++)
		printf("%s\n", inet_ntop(AF_INET, &resp.ip_addresses.v[i], buf, sizeof(buf)));
	hvapi_list_vms_response_clear(&resp);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Calls c->method with the request its argument (if any) makes and prints the part
 * of the reply a user wants, as indented JSON. */
int vmctl_cmd_print(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	const struct hvapi_method *m = hvapi_method_find(c->method);
	struct hvapi_ip_request ipreq = {0};
	struct hvapi_get_vm_infos_request infos = {
	    .owner_groups = borrow(&O->owner_groups),
	    .owner_users = borrow(&O->owner_users),
	    .vm_tags_to_match = O->vm_tags_to_match,
	};
	struct hvapi_list_subnets_request subnets = {.sort = true};
	const struct api_type *req_t = NULL;
	const void *req = NULL;
	union {
		struct hvapi_get_vm_info_response info;
		struct hvapi_get_vm_infos_response infos;
		struct hvapi_get_vm_create_request_response create;
		struct hvapi_list_subnets_response subnets;
		struct hvapi_get_capacity_response capacity;
		struct hvapi_get_vm_volume_storage_configuration_response storage;
	} resp;
	int rc;

	if (!m)
		return cli_fail(c->doing, "unknown method %s", c->method);
	if (argc > 0) {
		if (vmctl_vm_ip(argv[0], c->doing, &ipreq.ip))
			return 1;
		req_t = &hvapi_ip_request_type;
		req = &ipreq;
	} else if (m->request == &hvapi_get_vm_infos_request_type) {
		req_t = m->request;
		req = &infos;
	} else if (m->request == &hvapi_list_subnets_request_type) {
		req_t = m->request;
		req = &subnets;
	}
	if (vmctl_call(v, c->doing, c->method, req_t, req, m->response, &resp))
		return 1;
	if (m->response == &hvapi_get_vm_info_response_type) {
		rc = vmctl_print_json(&hvapi_vm_info_type, &resp.info.vm_info);
	} else if (m->response == &hvapi_get_vm_create_request_response_type) {
		rc = vmctl_print_json(&hvapi_create_vm_request_type, &resp.create.request);
	} else if (m->response == &hvapi_list_subnets_response_type) {
		json_t *j = hvapi_subnets_to_json(&resp.subnets.subnets);
		char *s = j ? sjson_dumps(j, SJSON_PRETTY) : NULL;
		rc = s ? (fputs(s, stdout), 0) : cli_fail(c->doing, "out of memory");
		free(s);
		json_decref(j);
	} else if (m->response == &hvapi_get_vm_infos_response_type) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < resp.infos.vm_infos.n; i++)
			json_array_append_new(a, hvapi_vm_info_to_json(&resp.infos.vm_infos.v[i]));
		char *s = a ? sjson_dumps(a, SJSON_PRETTY) : NULL;
		rc = s ? (fputs(s, stdout), 0) : cli_fail(c->doing, "out of memory");
		free(s);
		json_decref(a);
	} else {
		rc = vmctl_print_json(m->response, &resp);
	}
	api_clear(m->response, &resp);
	return rc;
}
