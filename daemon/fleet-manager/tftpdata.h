/* tftpdata: the installers' configuration pages (spec/fleet-and-images.md §3, no
 * authentication): /tftpdata/config.json (the machine's GetMachineInfoResponse),
 * /tftpdata/imagename, /tftpdata/storage-layout.json and /tftpdata/imageserver
 * (weakness 50). The machine is the one of the query's hostname=, else ip=, else
 * serial_number= (as its hypervisor reports it), else the caller's address, else any
 * mac=; 404 when none matches, 400 with the reason for a malformed query. A hostname=
 * or ip= given decides alone (unknown: 404, never another machine); an unknown serial
 * number falls through to the caller's address and the MACs. */
#ifndef SS_FM_TFTPDATA_H
#define SS_FM_TFTPDATA_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "daemon/fleet-manager/methods.h"
#include "http.h"

struct tftpdata {
	struct fm_methods *fm;		   /* borrowed */
	const char *image_server_hostname; /* "" or NULL: /tftpdata/imageserver is 404 */
	int image_server_port;
	const struct http_routes *routes;	     /* the other pages */
	unsigned long long requests, not_found, bad; /* for /metrics (relaxed counts) */
};

/* One query argument. */
struct tftpdata_arg {
	const char *key, *value;
};

/* Answers path (below /tftpdata/) for a caller at peer (NULL if not IPv4) with the
 * query args. Returns 0 with *a (free a->body), or -ENOMEM. Pure but for the lookups. */
int tftpdata_answer(struct tftpdata *td, const char *path, const struct tftpdata_arg *args,
		    size_t nargs, const struct in_addr *peer, struct http_answer *a);

/* The libmicrohttpd handler of the port (server_config.http, cls = td): /tftpdata/...
 * here, everything else through http_handler with td->routes. */
enum MHD_Result tftpdata_http(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls);

#endif
