/* The method table of the Hypervisor service: every handler file's contribution,
 * listed once; rpc_register registers them all. A new handler file adds its table
 * here and nowhere else. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static const struct rpc_method *const rpc_table[] = {
    rpc_host_methods,	 rpc_vm_methods,      rpc_volume_methods,  rpc_create_methods,
    rpc_updates_methods, rpc_console_methods, rpc_vmlog_methods,   rpc_watch_methods,
    rpc_local_methods,	 rpc_image_methods,   rpc_netboot_methods, rpc_getvolume_methods,
    rpc_migrate_methods, rpc_upgrade_methods,
};

/* Only with -enableLockDebugMethods (#37). */
static bool lock_debug(const char *name)
{
	return strcmp(name, HVAPI_M_HOLD_LOCK) == 0 || strcmp(name, HVAPI_M_HOLD_VM_LOCK) == 0;
}

int rpc_register(struct srpc_server *srv, struct rpc *r)
{
	int rc = 0;

	for (size_t t = 0; t < sizeof(rpc_table) / sizeof(rpc_table[0]) && rc == 0; t++)
		for (const struct rpc_method *e = rpc_table[t]; e->name != NULL && rc == 0; e++) {
			if (!r->cfg->enable_lock_debug_methods && lock_debug(e->name))
				continue;
			rc = rpc_register_method(srv, r, e);
			if (rc < 0)
				log_error("registering %s: %s", e->name, strerror(-rc));
		}
	if (rc == 0)
		rc = srpc_server_set_grant_hook(srv, HVAPI_SERVICE, rpc_owner_grant, r);
	return rc;
}
