/* HTTP boot on a libmicrohttpd connection: the glue between netsvc_http_get and the
 * HTTP server of the daemon (or of ss-netsvc). Kept apart from netsvc.h so that the
 * services themselves need no HTTP library. */
#ifndef SS_BOOT_MHD_H
#define SS_BOOT_MHD_H

#include <microhttpd.h>

struct netsvc;

/* Answers a GET or HEAD for path (what follows the mount point, e.g. "boot.ipxe")
 * from the connection's client: files are streamed from their descriptor, per-IP
 * files and generated scripts from memory; 403/404 with a short text. The client
 * address may be IPv4 or IPv4-mapped IPv6 (a dual-stack listener). */
enum MHD_Result netsvc_mhd_boot(struct netsvc *ns, struct MHD_Connection *c, const char *path);

#endif
