/* Hypervisor.GetUpgradeStatus (docs/upgrades.md): the running image and slot, the
 * required image, grubenv's default slot, the agent's state and the last upgrade. Read
 * only, public like GetCapacity. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <stdio.h>

#include "daemon/hypervisor/upgrade/upgrade.h"

static int get_upgrade_status(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			      char *err, size_t errsz)
{
	(void)call;
	(void)req;
	if (r->upg == NULL) {
		snprintf(err, errsz, "the upgrade agent is not running");
		return -ENOTCONN;
	}
	if (upgrade_status(r->upg, resp) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

const struct rpc_method rpc_upgrade_methods[] = {
    {.name = HVAPI_M_GET_UPGRADE_STATUS, .fn = get_upgrade_status},
    {.name = NULL},
};
