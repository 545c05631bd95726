/* The services of the loop, in start order: a new server adds its entry here. */
#include "daemon/hypervisor/netsvc/netsvc_priv.h"

const struct netsvc_server *const netsvc_servers[] = {
    &netsvc_dhcp_server,
    &netsvc_tftp_server,
    &netsvc_ra6_server,
    NULL,
};
