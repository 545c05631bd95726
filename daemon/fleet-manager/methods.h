/* methods: the FleetManager SRPC methods (spec/fleet-and-images.md §3) on lib/srpc. All
 * but MoveIpAddresses are public (any certificate of a trusted CA); ChangeMachineTags
 * and PowerOnMachine are further limited to the machine's owners and admins. */
#ifndef SS_FM_METHODS_H
#define SS_FM_METHODS_H

#include <stdbool.h>

#include "daemon/fleet-manager/hypervisors.h"
#include "daemon/fleet-manager/machines.h"
#include "daemon/fleet-manager/power.h"
#include "daemon/fleet-manager/updates.h"
#include "srpc.h"

struct fm_methods {
	struct machines *ms; /* borrowed, as the rest */
	struct hypervisors *hs;
	struct fm_updates *up;
	const struct power_config *power;
	bool manage;	     /* -manageHypervisors: not a read-only fleet manager */
	int hypervisor_port; /* of "hostname:port" in ListHypervisorsInLocation */
};

/* Registers every method with m as its argument (m must outlive srv). 0 or -errno. */
int fm_methods_register(struct srpc_server *srv, struct fm_methods *m);

/* The GetMachineInfoResponse of a machine (also /tftpdata/config.json) into *p (clear
 * it with fmapi_get_machine_info_response_clear). -ENOENT when no such machine. */
int fm_machine_info(struct fm_methods *fm, const char *hostname,
		    struct fmapi_get_machine_info_response *p);

/* Is the caller an admin or one of the machine's owners (user or group)? */
bool fm_methods_may_change(const struct srpc_auth *a, const struct fmapi_machine *m);

#endif
