/* api/fleetmanager: the wire types of the FleetManager service (spec/fleet-and-images.md
 * §2–3), shared by the fleet-manager daemon and its clients (hyper-control, the
 * installer): the topology records and the request/response messages, declared from
 * fleetmanager.def, and the method names. */
#ifndef SS_API_FLEETMANAGER_H
#define SS_API_FLEETMANAGER_H

#include "api/hypervisor.h"

#define FMAPI_DEFAULT_PORT 6977
#define FMAPI_SERVICE "FleetManager"
#define FMAPI_M_CHANGE_MACHINE_TAGS "FleetManager.ChangeMachineTags"
#define FMAPI_M_GET_HYPERVISOR_FOR_VM "FleetManager.GetHypervisorForVM"
#define FMAPI_M_GET_MACHINE_INFO "FleetManager.GetMachineInfo"
#define FMAPI_M_GET_UPDATES "FleetManager.GetUpdates"
#define FMAPI_M_LIST_HYPERVISORS_IN_LOCATION "FleetManager.ListHypervisorsInLocation"
#define FMAPI_M_MOVE_IP_ADDRESSES "FleetManager.MoveIpAddresses"
#define FMAPI_M_POWER_ON_MACHINE "FleetManager.PowerOnMachine"

#include "schema.h"
#include "fleetmanager.def"

/* The MAC the Fleet Manager gives an address it adds to a pool: 52:54 then the four
 * bytes of the IP (spec §1.4). */
void fmapi_mac_from_ip(struct in_addr ip, uint8_t mac[6]);

#endif
