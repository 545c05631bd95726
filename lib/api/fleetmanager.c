/* api/fleetmanager: descriptors of the FleetManager records and messages (generated from
 * fleetmanager.def) and the small helpers of the wire. */
#include "fleetmanager.h"

#include <string.h>

#define API_SCHEMA_DEFINE
#include "schema.h"
#include "fleetmanager.def"
#undef API_SCHEMA_DEFINE

void fmapi_mac_from_ip(struct in_addr ip, uint8_t mac[6])
{
	mac[0] = 0x52;
	mac[1] = 0x54;
	memcpy(mac + 2, &ip.s_addr, 4); /* network order: the IP's bytes as written */
}
