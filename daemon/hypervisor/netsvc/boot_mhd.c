/* HTTP boot on a libmicrohttpd connection (netsvc_mhd_boot): the client's IPv4
 * address picks its per-IP files, as TFTP does by the packet's source. */
#include "daemon/hypervisor/netsvc/boot_mhd.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/hypervisor/netsvc/netsvc.h"

/* The client's IPv4 address, also from an IPv4-mapped IPv6 one; 0.0.0.0 otherwise. */
static struct in_addr client_ip(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct in_addr ip = {0};

	if (ci == NULL || ci->client_addr == NULL)
		return ip;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ci->client_addr;

		ip = s->sin_addr;
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ci->client_addr;

		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			memcpy(&ip, &s->sin6_addr.s6_addr[12], 4);
	}
	return ip;
}

enum MHD_Result netsvc_mhd_boot(struct netsvc *ns, struct MHD_Connection *c, const char *path)
{
	static char not_found[] = "not found\n", forbidden[] = "forbidden\n";
	struct netsvc_http_reply r;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	netsvc_http_get(ns, path, client_ip(c), &r);
	if (r.status == 200 && r.fd >= 0) {
		resp = MHD_create_response_from_fd64(r.size, r.fd);
		if (resp != NULL)
			r.fd = -1; /* MHD closes it */
	} else if (r.status == 200 && r.blob) {
		resp = MHD_create_response_from_buffer(r.blob->len, r.blob->data,
						       MHD_RESPMEM_MUST_COPY);
	} else if (r.status == 403) {
		resp = MHD_create_response_from_buffer(sizeof(forbidden) - 1, forbidden,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(sizeof(not_found) - 1, not_found,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL) {
		netsvc_http_reply_free(&r);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				r.status == 200 ? r.content_type : "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned)r.status, resp);
	MHD_destroy_response(resp);
	netsvc_http_reply_free(&r);
	return ret;
}
