/* The hypervisor as a client of the image server (spec/hypervisor.md §2.2, §7.2): one
 * SRPC connection to -imageServerHostname:-imageServerPortNum over mTLS, presenting the
 * daemon's own -certFile/-keyFile and verifying the server against -CAfile. A fresh
 * connection per use (creates and the tftpboot stream are rare; certificates renewed on
 * disk are picked up). */
#ifndef HV_IMGCONN_H
#define HV_IMGCONN_H

#include <stddef.h>

#include "daemon/hypervisor/hvflags.h"
#include "image/client.h"

struct imgconn {
	struct tls_client *tls;
	struct srpc_client *cl;
	char addr[300]; /* host:port, for messages */
};

/* Connects. 0, or -errno with err "image server not available: <host:port>: <why>". */
int imgconn_open(const struct hv_config *cfg, struct imgconn *c, char *err, size_t errsz);
void imgconn_close(struct imgconn *c); /* accepts a zeroed or closed one */

/* The image named by name_or_stream (a stream means its latest image) with its
 * FileSystem: *resolved is a new string. 0 or -errno with err. */
int imgconn_get_image(struct imgconn *c, const char *name_or_stream, char **resolved,
		      struct image *img, char *err, size_t errsz);

/* objcache_fetch_fn over the connection (arg: struct imgconn *). */
int imgconn_fetch(void *arg, const struct image_hash *hashes, size_t n, struct objstore *st,
		  char *err, size_t errsz);

#endif
