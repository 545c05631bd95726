/* The image server connection of the hypervisor (see imgconn.h). */
#include "daemon/hypervisor/vmm/imgconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 15000
#define CALL_TIMEOUT_MS 120000

int imgconn_open(const struct hv_config *cfg, struct imgconn *c, char *err, size_t errsz)
{
	struct tls_client_config tc = {
	    .cert_file = cfg->srv.cert_file,
	    .key_file = cfg->srv.key_file,
	    .ca_file = cfg->srv.ca_file,
	};
	struct srpc_client_config sc = {
	    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	    .call_timeout_ms = CALL_TIMEOUT_MS,
	    .max_message = 64u << 20, /* an image with a big FileSystem */
	};
	const char *host = cfg->image_server_hostname;
	char why[512] = "";
	int rc;

	memset(c, 0, sizeof(*c));
	if (host == NULL || *host == '\0') {
		snprintf(err, errsz, "image server not available: no -imageServerHostname");
		return -ENOTCONN;
	}
	snprintf(c->addr, sizeof(c->addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
		 cfg->image_server_port_num);
	rc = tls_client_new(&tc, &c->tls, why, sizeof(why));
	if (rc == 0) {
		sc.tls = c->tls;
		rc = srpc_client_dial(c->addr, &sc, &c->cl, why, sizeof(why));
	}
	if (rc < 0) {
		snprintf(err, errsz, "image server not available: %s: %s", c->addr,
			 why[0] ? why : strerror(-rc));
		imgconn_close(c);
	}
	return rc;
}

void imgconn_close(struct imgconn *c)
{
	if (c->cl != NULL)
		srpc_client_close(c->cl);
	if (c->tls != NULL)
		tls_client_free(c->tls);
	c->cl = NULL;
	c->tls = NULL;
}

int imgconn_get_image(struct imgconn *c, const char *name_or_stream, char **resolved,
		      struct image *img, char *err, size_t errsz)
{
	char why[512] = "";
	int rc;

	*resolved = NULL;
	rc = imgclient_resolve(c->cl, name_or_stream, resolved, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errsz, "image %s: %s", name_or_stream,
			 why[0] ? why : srpc_client_error(c->cl));
		return rc;
	}
	rc = imgclient_get_image(c->cl, *resolved, false, 0, img);
	if (rc == 0 && !img->has_fs) {
		image_free(img);
		rc = -EBADMSG;
		snprintf(err, errsz, "image %s: the server sent no file system", *resolved);
	} else if (rc < 0) {
		snprintf(err, errsz, "image %s: %s", *resolved, srpc_client_error(c->cl));
	}
	if (rc < 0) {
		free(*resolved);
		*resolved = NULL;
	}
	return rc;
}

int imgconn_fetch(void *arg, const struct image_hash *hashes, size_t n, struct objstore *st,
		  char *err, size_t errsz)
{
	struct imgconn *c = arg;
	char why[512] = "";
	int rc = imgclient_get_objects(c->cl, hashes, n, st, NULL, NULL, why, sizeof(why));

	if (rc < 0)
		snprintf(err, errsz, "fetching objects from %s: %s", c->addr,
			 why[0] ? why : srpc_client_error(c->cl));
	return rc;
}
