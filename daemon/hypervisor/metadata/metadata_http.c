/* libmicrohttpd front of the metadata handler: who is calling (TCP source address,
 * trustworthy because of the per-tap anti-spoofing rules), request hygiene
 * (metadata_request_check: no control bytes in the path, one Host at most and it the
 * metadata address, GET/HEAD only, no proxy headers), then metadata_handle. */
#include "daemon/hypervisor/metadata/metadata_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MD_CONN_LIMIT 256
#define MD_PER_IP_LIMIT 16
#define MD_CONN_MEMORY (16 * 1024) /* bounds the request line and headers */

struct metadata_http {
	struct MHD_Daemon *mhd;
	const struct metadata_vm_source *src;
	char bridge[IFNAMSIZ];
	struct metadata_http_stats stats; /* updated atomically */
};

static enum MHD_Result md_scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct metadata_request *rq = cls;

	(void)kind;
	if (metadata_header_is_proxy(key))
		rq->proxy = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0 && rq->nhost++ == 0)
		rq->host = value;
	return MHD_YES;
}

static size_t md_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return metadata_url_unescape(s);
}

static enum MHD_Result md_queue(struct MHD_Connection *c, unsigned int status, const char *type,
				struct MHD_Response *r)
{
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result md_queue_empty(struct MHD_Connection *c, unsigned int status)
{
	return md_queue(c, status, "text/plain; charset=utf-8",
			MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

/* Refusal reason, or 0 to go on. */
static unsigned int md_refuse(struct MHD_Connection *c, const char *method, const char *url)
{
	struct metadata_request rq = {.method = method, .path = url};

	MHD_get_connection_values(c, MHD_HEADER_KIND, md_scan_header, &rq);
	return metadata_request_check(&rq);
}

static enum MHD_Result md_answer(struct metadata_http *h, struct MHD_Connection *c,
				 struct in_addr ip, const char *url)
{
	struct metadata_vm vm = {0};
	struct metadata_response resp;
	struct MHD_Response *r;
	struct timespec now;
	bool known;

	known = h->src->lookup_by_ip(h->src->ctx, ip, &vm) == 0;
	/* A VM is only served on its own bridge's namespace. */
	if (known && vm.bridge[0] && strcmp(vm.bridge, h->bridge) != 0)
		known = false;
	if (!known)
		__atomic_add_fetch(&h->stats.unknown, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &now);
	metadata_handle(url, known ? &vm : NULL, &now, &resp);
	metadata_vm_clear(&vm);
	if (resp.fd >= 0) {
		r = MHD_create_response_from_fd64(resp.fd_size, resp.fd);
		if (r)
			resp.fd = -1; /* MHD owns it now */
	} else {
		r = MHD_create_response_from_buffer(resp.body_len, resp.body,
						    resp.body ? MHD_RESPMEM_MUST_FREE
							      : MHD_RESPMEM_PERSISTENT);
		if (r)
			resp.body = NULL;
	}
	unsigned int status = resp.status;
	const char *type = resp.content_type;
	metadata_response_clear(&resp);
	return md_queue(c, status, type, r);
}

static enum MHD_Result md_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_size, void **con_cls)
{
	struct metadata_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr_in *sin;
	unsigned int refuse;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	__atomic_add_fetch(&h->stats.requests, 1, __ATOMIC_RELAXED);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return MHD_NO;
	sin = (const struct sockaddr_in *)ci->client_addr;
	if (h->src->trace)
		h->src->trace(h->src->ctx, sin->sin_addr, url);
	refuse = md_refuse(c, method, url);
	if (refuse) {
		__atomic_add_fetch(&h->stats.refused, 1, __ATOMIC_RELAXED);
		return md_queue_empty(c, refuse);
	}
	return md_answer(h, c, sin->sin_addr, url);
}

int metadata_http_start(int listen_fd, const char *bridge, const struct metadata_vm_source *src,
			unsigned int idle_timeout, struct metadata_http **out)
{
	struct metadata_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h || strlen(bridge) >= IFNAMSIZ) {
		close(listen_fd);
		free(h);
		return h ? -EINVAL : -ENOMEM;
	}
	h->src = src;
	snprintf(h->bridge, sizeof(h->bridge), "%s", bridge);
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				  md_access, h, MHD_OPTION_LISTEN_SOCKET, listen_fd,
				  MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout ? idle_timeout : 5u,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MD_CONN_LIMIT,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)MD_PER_IP_LIMIT,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MD_CONN_MEMORY,
				  MHD_OPTION_UNESCAPE_CALLBACK, md_unescape, NULL, MHD_OPTION_END);
	if (!h->mhd) {
		/* MHD closes a socket given with MHD_OPTION_LISTEN_SOCKET when it fails. */
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

void metadata_http_stop(struct metadata_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}

void metadata_http_get_stats(const struct metadata_http *h, struct metadata_http_stats *out)
{
	out->requests = __atomic_load_n(&h->stats.requests, __ATOMIC_RELAXED);
	out->refused = __atomic_load_n(&h->stats.refused, __ATOMIC_RELAXED);
	out->unknown = __atomic_load_n(&h->stats.unknown, __ATOMIC_RELAXED);
}
