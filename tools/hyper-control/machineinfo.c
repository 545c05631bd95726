/* machineinfo: a machine's GetMachineInfoResponse for the commands that need one
 * (get-machine-info, netboot-*, make-installer-iso, the network configuration), from the
 * Fleet Manager when -fleetManagerHostname is set, else from the topology tree under
 * -topologyDir (spec/hyper-control.md §3). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hyperctl.h"
#include "topology.h"

/* The response the Fleet Manager would build from the topology: the machine as the
 * topology serves it (Location inside Machine, merged tags and owners) and every subnet
 * visible to it, the nearest first; the response's own Location stays empty. */
static int from_topology(const struct topo_machine *tm, struct fmapi_get_machine_info_response *out)
{
	if (api_copy(&fmapi_machine_type, &out->machine, &tm->m) < 0)
		return -ENOMEM;
	if (tm->nsubnets == 0)
		return 0;
	out->subnets.v = calloc(tm->nsubnets, sizeof(*out->subnets.v));
	if (out->subnets.v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < tm->nsubnets; i++) {
		if (api_copy(&hvapi_subnet_type, &out->subnets.v[i], &tm->subnets[i]->subnet) < 0)
			return -ENOMEM;
		out->subnets.n++;
	}
	return 0;
}

static int topology_info(struct hc *h, const char *doing, const char *hostname,
			 struct fmapi_get_machine_info_response *out)
{
	char err[512];
	struct topology *t = NULL;
	const struct topo_machine *tm;
	int rc;

	if (h->o.topology_dir == NULL || *h->o.topology_dir == '\0')
		return hc_fail(doing, "neither fleetManagerHostname nor topologyDir specified");
	if (topology_load_dir(h->o.topology_dir, &t, err, sizeof(err)) < 0)
		return hc_fail(doing, "%s", err);
	tm = topology_find_hostname(t, hostname);
	if (tm == NULL) {
		topology_unref(t);
		return hc_fail(doing, "machine: %s not found in topology", hostname);
	}
	rc = from_topology(tm, out);
	topology_unref(t);
	if (rc < 0) {
		fmapi_get_machine_info_response_clear(out);
		return hc_fail(doing, "%s", strerror(-rc));
	}
	return 0;
}

int hc_machine_info(struct hc *h, const char *doing, const char *hostname,
		    struct fmapi_get_machine_info_response *out)
{
	struct fmapi_get_machine_info_request q = {
	    .hostname = (char *)hostname,
	    .ignore_missing_local_tags = h->o.ignore_missing_local_tags,
	};
	struct srpc_client *fm;

	memset(out, 0, sizeof(*out));
	if (h->o.fleet_manager_hostname == NULL || *h->o.fleet_manager_hostname == '\0')
		return topology_info(h, doing, hostname, out);
	if (hc_fleet_manager(h, doing, &fm) != 0)
		return 1;
	return hc_call(fm, doing, FMAPI_M_GET_MACHINE_INFO, &fmapi_get_machine_info_request_type,
		       &q, &fmapi_get_machine_info_response_type, out);
}
