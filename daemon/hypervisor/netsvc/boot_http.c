/* HTTP boot: the request handler the daemon mounts under /boot/ on its HTTP port.
 * Same files and confinement as TFTP (netsvc_resolve); "boot.ipxe" falls back to a
 * script generated from the pxelinux configuration for the client. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/ipxe_script.h"
#include "daemon/hypervisor/netsvc/netsvc_priv.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

#define PXECFG_MAX (64 * 1024)

/* Reads a small resolved file (blob or fd) into memory; consumes both. */
static char *slurp(struct nbf_blob *blob, int fd, size_t *len)
{
	char *buf = NULL;
	if (blob) {
		if (blob->len <= PXECFG_MAX && (buf = malloc(blob->len + 1))) {
			memcpy(buf, blob->data, blob->len);
			*len = blob->len;
		}
		nbf_blob_unref(blob);
		return buf;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size <= PXECFG_MAX &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t r = pread(fd, buf, (size_t)st.st_size, 0);
		if (r < 0) {
			free(buf);
			buf = NULL;
		} else {
			*len = (size_t)r;
		}
	}
	close(fd);
	return buf;
}

/* pxelinux's search order: 01-<mac>, the client IP in hex shortened one digit at a
 * time, then default. */
static char *find_pxecfg(struct netsvc *ns, struct in_addr client, size_t *len)
{
	char names[11][64];
	size_t n = 0;
	struct nbf_blob *blob;
	int fd;
	uint8_t mac[6];
	bool have_mac = false;

	pthread_mutex_lock(&ns->lock);
	struct dhcp_lease *l = dhcp_leases_by_ip(ns->leases, client, evloop_wall_ms());
	if (l && l->kind != DHCP_LEASE_DECLINED) {
		memcpy(mac, l->mac, 6);
		have_mac = true;
	}
	pthread_mutex_unlock(&ns->lock);
	if (have_mac)
		snprintf(names[n++], sizeof(names[0]),
			 "pxelinux.cfg/01-%02x-%02x-%02x-%02x-%02x-%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
	char hex[9];
	snprintf(hex, sizeof(hex), "%08X", ntohl(client.s_addr));
	for (int k = 8; k >= 1; k--)
		snprintf(names[n++], sizeof(names[0]), "pxelinux.cfg/%.*s", k, hex);
	snprintf(names[n++], sizeof(names[0]), "pxelinux.cfg/default");
	for (size_t i = 0; i < n; i++)
		if (netsvc_resolve(ns, client, names[i], &blob, &fd) == 0)
			return slurp(blob, fd, len);
	return NULL;
}

static void reply_blob(struct netsvc_http_reply *r, const char *type, const char *text, size_t len)
{
	r->blob = nbf_blob_new(text, len);
	if (!r->blob) {
		r->status = 500;
		return;
	}
	r->status = 200;
	r->content_type = type;
	r->size = len;
}

void netsvc_http_get(struct netsvc *ns, const char *path, struct in_addr client,
		     struct netsvc_http_reply *r)
{
	char name[TFTP_NAME_MAX + 1];
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->status = 404;
	r->content_type = "text/plain";
	NETSVC_STAT_ADD(ns, http_requests, 1);

	int rc = tftp_path_normalize(path, name, sizeof(name));
	if (rc == -EACCES || rc == -EINVAL) {
		r->status = 403;
		return;
	}
	if (rc < 0)
		return;
	rc = netsvc_resolve(ns, client, name, &r->blob, &r->fd);
	if (rc == 0) {
		struct stat st;
		r->status = 200;
		r->content_type =
		    !strcmp(name, "boot.ipxe") ? "text/plain" : "application/octet-stream";
		if (r->blob)
			r->size = r->blob->len;
		else if (fstat(r->fd, &st) == 0)
			r->size = (uint64_t)st.st_size;
		return;
	}
	if (rc == -EACCES) {
		r->status = 403;
		return;
	}
	if (rc != -ENOENT || strcmp(name, "boot.ipxe") != 0)
		return;
	size_t len = 0;
	char *cfg = find_pxecfg(ns, client, &len);
	if (!cfg)
		return;
	char *script = ipxe_script_from_pxelinux(cfg, len);
	free(cfg);
	if (!script)
		return;
	reply_blob(r, "text/plain", script, strlen(script));
	free(script);
}

void netsvc_http_reply_free(struct netsvc_http_reply *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	nbf_blob_unref(r->blob);
	r->blob = NULL;
}
