/* The generic RR wrapper, registration of one method, the owners' grant hook and the
 * shared checks (see rpc.h). */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct rr_binding {
	struct rpc *r;
	rpc_fn fn;
	const struct hvapi_method *api;
};

struct vm_caller rpc_caller(struct srpc_call *call)
{
	const struct srpc_auth *a = srpc_call_auth(call);
	struct vm_caller c = {
	    .user = a->username,
	    .groups = a->groups,
	    .ngroups = a->n_groups,
	    .admin = a->is_admin,
	};

	return c;
}

struct vm *rpc_vm(struct rpc *r, struct srpc_call *call, struct in_addr ip,
		  const struct api_bytes *token, char *err, size_t errsz)
{
	struct vm_caller c = rpc_caller(call);
	struct vm *vm = manager_find(r->m, ip);
	char text[INET_ADDRSTRLEN];
	bool ok;

	if (vm == NULL) {
		inet_ntop(AF_INET, &ip, text, sizeof(text));
		snprintf(err, errsz, "no VM with IP address: %s found", text);
		return NULL;
	}
	pthread_mutex_lock(&vm->mu);
	ok = vm_access(vm, &c, token ? token->data : NULL, token ? token->len : 0);
	pthread_mutex_unlock(&vm->mu);
	if (!ok) {
		vm_unref(vm);
		snprintf(err, errsz, "no access to resource");
		return NULL;
	}
	return vm;
}

int rpc_vm_op(struct rpc *r, struct srpc_call *call, struct in_addr ip,
	      const struct api_bytes *token,
	      int (*op)(struct manager *m, struct vm *vm, char *err, size_t errsz), char *err,
	      size_t errsz)
{
	struct vm *vm = rpc_vm(r, call, ip, token, err, errsz);
	int rc;

	if (vm == NULL)
		return -EACCES;
	rc = op(r->m, vm, err, errsz);
	vm_unref(vm);
	return rc;
}

bool rpc_may_see(struct rpc *r, struct srpc_call *call, struct vm *vm)
{
	struct vm_caller c = rpc_caller(call);
	bool ok;

	if (r->cfg->allow_unauthenticated_reads)
		return true;
	pthread_mutex_lock(&vm->mu);
	ok = vm_visible(vm, &c);
	pthread_mutex_unlock(&vm->mu);
	return ok;
}

static int rr_wrapper(struct srpc_call *call, const json_t *req_json, json_t **resp_json, void *arg)
{
	const struct rr_binding *b = arg;
	void *req = calloc(1, b->api->request ? b->api->request->size : 1);
	void *resp = calloc(1, b->api->response->size);
	char err[1024] = "", *msg = NULL;
	int rc = 0;

	if (req == NULL || resp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (b->api->request != NULL &&
	    api_decode_msg(b->api->request, (json_t *)req_json, b->api->name, req, &msg) < 0) {
		rc = srpc_call_errorf(call, "%s", msg ? msg : "bad request");
		goto out;
	}
	b->fn(b->r, call, req, resp, err, sizeof(err));
	*resp_json = api_encode(b->api->response, resp);
	if (*resp_json == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (err[0] != '\0') {
		json_object_set_new(*resp_json, "Error", json_string(err));
		log_debug(0, "%s(%s): %s", b->api->name, srpc_call_auth(call)->username, err);
	}
out:
	free(msg);
	if (req != NULL && b->api->request != NULL)
		api_clear(b->api->request, req);
	if (resp != NULL)
		api_clear(b->api->response, resp);
	free(req);
	free(resp);
	return rc;
}

static unsigned access_of(const struct hvapi_method *api)
{
	unsigned a = 0;

	if (api->access & HVAPI_ACCESS_PUBLIC)
		a |= SRPC_ACCESS_PUBLIC;
	if (api->access & HVAPI_ACCESS_UNAUTH)
		a |= SRPC_ACCESS_UNAUTH;
	if (api->access & HVAPI_ACCESS_LOOPBACK)
		a |= SRPC_ACCESS_LOOPBACK;
	/* #25: ListVolumeDirectories checks loopback itself, for non-admins only. */
	if (strcmp(api->name, HVAPI_M_LIST_VOLUME_DIRECTORIES) == 0)
		a &= ~(unsigned)SRPC_ACCESS_LOOPBACK;
	return a;
}

/* Methods a hypervisor owner (ChangeOwners) is granted as admin (#6): VM management
 * on this host, not host-wide settings (pool, subnets, owners, power, locks, DHCP). */
static bool owner_method(const char *method)
{
	static const char *const denied[] = {
	    "ChangeAddressPool",
	    "ChangeOwners",
	    "HoldLock",
	    "HoldVmLock",
	    "NetbootMachine",
	    "PowerOff",
	    "RegisterExternalLeases",
	    "UpdateSubnets",
	    "WatchDhcp",
	    "ConnectToVmManager",
	    "PrepareVmForMigration",
	    NULL,
	};
	const struct hvapi_method *api;
	char full[128];

	for (size_t i = 0; denied[i]; i++)
		if (strcmp(method, denied[i]) == 0)
			return false;
	snprintf(full, sizeof(full), "Hypervisor.%s", method);
	api = hvapi_method_find(full);
	return api != NULL &&
	       ((api->access & HVAPI_ACCESS_PUBLIC) || strcmp(method, "SetDisabledState") == 0);
}

bool rpc_owner_grant(const struct srpc_auth *auth, const char *service, const char *method,
		     void *arg)
{
	struct rpc *r = arg;

	if (strcmp(service, HVAPI_SERVICE) != 0 || !owner_method(method))
		return false;
	return manager_is_owner(r->m, auth->username, auth->groups, auth->n_groups);
}

int rpc_register_method(struct srpc_server *srv, struct rpc *r, const struct rpc_method *e)
{
	const struct hvapi_method *api = hvapi_method_find(e->name);
	struct rr_binding *b;
	struct srpc_method m;
	int rc;

	if (api == NULL || (e->fn != NULL && (api->stream || api->response == NULL)))
		return -EINVAL;
	if (e->stream != NULL) {
		m = (struct srpc_method){.name = e->name,
					 .kind = SRPC_STREAM,
					 .access = access_of(api),
					 .stream = e->stream,
					 .arg = r};
		return srpc_server_register(srv, &m);
	}
	b = calloc(1, sizeof(*b)); /* the server frees it */
	if (b == NULL)
		return -ENOMEM;
	*b = (struct rr_binding){.r = r, .fn = e->fn, .api = api};
	m = (struct srpc_method){.name = api->name,
				 .kind = SRPC_RR,
				 .access = access_of(api),
				 .rr = rr_wrapper,
				 .arg = b,
				 .free_arg = free};
	rc = srpc_server_register(srv, &m);
	if (rc < 0)
		free(b);
	return rc;
}

int rpc_read_request(struct srpc_call *call, const struct api_type *t, void *obj,
		     const struct api_type *reply)
{
	json_t *j = NULL;
	char *msg = NULL;
	int rc = srpc_conn_read_json(srpc_call_conn(call), &j);

	if (rc < 0)
		return rc;
	rc = api_decode_msg(t, j, t->name, obj, &msg);
	if (rc < 0) {
		log_debug(0, "%s: %s", srpc_call_method(call), msg ? msg : "bad request");
		if (reply != NULL)
			rpc_write_error(call, reply, msg ? msg : "bad request");
	}
	free(msg);
	json_decref(j);
	return rc;
}

int rpc_write(struct srpc_call *call, const struct api_type *t, const void *obj)
{
	json_t *j = api_encode(t, obj);
	int rc;

	if (j == NULL)
		return -ENOMEM;
	rc = srpc_conn_write_json(srpc_call_conn(call), j);
	json_decref(j);
	return rc < 0 ? rc : srpc_conn_flush(srpc_call_conn(call));
}

int rpc_write_error(struct srpc_call *call, const struct api_type *t, const char *err)
{
	void *obj = calloc(1, t->size);
	json_t *j;
	int rc;

	if (obj == NULL)
		return -ENOMEM;
	j = api_encode(t, obj);
	free(obj);
	if (j == NULL)
		return -ENOMEM;
	json_object_set_new(j, "Error", json_string(err));
	rc = srpc_conn_write_json(srpc_call_conn(call), j);
	json_decref(j);
	return rc < 0 ? rc : srpc_conn_flush(srpc_call_conn(call));
}
