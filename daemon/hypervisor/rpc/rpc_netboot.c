/* Hypervisor.NetbootMachine (netboot.md §4.1): a temporary DHCP lease with the boot
 * file, the per-IP files for the installer, and a wait for N acknowledgements under one
 * overall deadline. Everything this call adds is tagged with its netsvc token, so the
 * expiry of one call never removes what a later call or a VM registered (#17); neither
 * lease nor files are persisted, so a daemon restart leaves nothing behind. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/evloop.h"
#include "json.h"
#include "log.h"

#define NS_PER_MS 1000000LL
#define DEFAULT_WAIT_NS (60 * 1000 * NS_PER_MS)
/* An hour is far beyond any PXE ROM's patience; it bounds how long a call can hold a
 * lease and a connection thread. */
#define MAX_WAIT_NS (3600 * 1000 * NS_PER_MS)
#define MAX_FILES 256

/* The request's timeouts after the original's defaults: WaitTimeout <= 0 is one
 * minute; both expirations last at least WaitTimeout + 1 s. */
struct nb_times {
	int64_t wait_ms, files_ms, offer_ms;
};

static struct nb_times nb_times(const struct hvapi_netboot_machine_request *q)
{
	int64_t wait = q->wait_timeout_ns > 0 ? q->wait_timeout_ns : DEFAULT_WAIT_NS;
	int64_t files, offer;

	if (wait > MAX_WAIT_NS)
		wait = MAX_WAIT_NS;
	files = q->files_expiration_ns < wait + 1000 * NS_PER_MS ? wait + 1000 * NS_PER_MS
								 : q->files_expiration_ns;
	offer = q->offer_expiration_ns < wait + 1000 * NS_PER_MS ? wait + 1000 * NS_PER_MS
								 : q->offer_expiration_ns;
	if (files > MAX_WAIT_NS * 24)
		files = MAX_WAIT_NS * 24;
	if (offer > MAX_WAIT_NS * 24)
		offer = MAX_WAIT_NS * 24;
	return (struct nb_times){wait / NS_PER_MS, files / NS_PER_MS, offer / NS_PER_MS};
}

/* The request's Files as netsvc's (borrowing the bytes) in *out. 0 or -errno with err. */
static int nb_files(const struct hvapi_netboot_machine_request *q, struct netboot_file **out,
		    char *err, size_t errsz)
{
	struct netboot_file *f;

	if (q->files.n > MAX_FILES) {
		snprintf(err, errsz, "too many files: %zu (at most %d)", q->files.n, MAX_FILES);
		return -E2BIG;
	}
	f = calloc(q->files.n ? q->files.n : 1, sizeof(*f));
	if (f == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < q->files.n; i++)
		f[i] = (struct netboot_file){.name = api_str(q->files.v[i].name),
					     .data = q->files.v[i].data.data,
					     .len = q->files.v[i].data.len};
	*out = f;
	return 0;
}

/* netsvc_netboot_begin's refusals in the original's words. */
static void begin_error(int rc, const struct hvapi_address *a, char *err, size_t errsz)
{
	char ip[INET_ADDRSTRLEN], mac[18];

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	sjson_format_mac(a->mac, mac, sizeof(mac));
	if (rc == -EEXIST)
		snprintf(err, errsz, "already have lease for: %s", mac);
	else if (rc == -ENOENT)
		snprintf(err, errsz, "no subnet found for %s", ip);
	else if (rc == -EINVAL)
		snprintf(err, errsz, "bad file name among the netboot files");
	else
		snprintf(err, errsz, "adding netboot lease for %s: %s", ip, strerror(-rc));
}

static int netboot_machine(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_netboot_machine_request *q = req;
	struct netsvc *ns = r->m->netsvc;
	struct nb_times t = nb_times(q);
	struct dhcp_subnet subnet;
	struct netboot_file *files;
	struct netsvc_netboot nb = {.ip = q->address.ip, .hostname = q->hostname};
	char ip[INET_ADDRSTRLEN];
	uint64_t token = 0;
	int64_t start;
	int rc;

	(void)resp;
	inet_ntop(AF_INET, &q->address.ip, ip, sizeof(ip));
	if (ns == NULL) {
		snprintf(err, errsz, "DHCP server not running");
		return -ENOTCONN;
	}
	if (q->address.ip.s_addr == 0) {
		snprintf(err, errsz, "no IP address");
		return -EINVAL;
	}
	if (r->cfg->network_boot_image == NULL || r->cfg->network_boot_image[0] == '\0') {
		snprintf(err, errsz, "no Network Boot Image name configured");
		return -EINVAL;
	}
	memcpy(nb.mac, q->address.mac, 6);
	if (q->subnet != NULL) {
		netsvc_subnet_from_api(q->subnet, &subnet);
		nb.subnet = &subnet;
	}
	rc = nb_files(q, &files, err, errsz);
	if (rc < 0)
		return rc;
	nb.files = files;
	nb.nfiles = q->files.n;
	start = evloop_wall_ms();
	nb.offer_expires_ms = start + t.offer_ms;
	nb.files_expires_ms = start + t.files_ms;
	rc = netsvc_netboot_begin(ns, &nb, &token);
	free(files);
	if (rc < 0) {
		begin_error(rc, &q->address, err, errsz);
		return rc;
	}
	if (q->num_acknowledgements_to_wait_for == 0) {
		/* Nothing to wait for: the lease lasts OfferExpiration and the files
		 * FilesExpiration (the original removed the lease at once, #17). */
		netsvc_netboot_detach(ns, token);
		log_info("%s: netboot %s: %zu files, lease for %lld s, no wait",
			 srpc_call_auth(call)->username, ip, q->files.n,
			 (long long)(t.offer_ms / 1000));
		return 0;
	}
	log_info("%s: netboot %s: %zu files, waiting %lld s for %u acknowledgements",
		 srpc_call_auth(call)->username, ip, q->files.n, (long long)(t.wait_ms / 1000),
		 q->num_acknowledgements_to_wait_for);
	rc = netsvc_netboot_wait(ns, token, q->num_acknowledgements_to_wait_for, start + t.wait_ms);
	if (rc == 0) {
		/* The installer fetches its files after the last ACK: they stay for
		 * FilesExpiration from now; the lease goes at once. */
		netsvc_netboot_end(ns, token, true, evloop_wall_ms() + t.files_ms);
		log_info("netboot %s: %u acknowledgements", ip,
			 q->num_acknowledgements_to_wait_for);
		return 0;
	}
	netsvc_netboot_end(ns, token, false, 0);
	if (rc == -ETIMEDOUT)
		snprintf(err, errsz, "timed out receiving lease acknowledgement");
	else if (rc == -ECANCELED)
		snprintf(err, errsz, "netboot lease for %s was removed while waiting", ip);
	else
		snprintf(err, errsz, "waiting for lease acknowledgement: %s", strerror(-rc));
	log_info("netboot %s: %s", ip, err);
	return rc;
}

const struct rpc_method rpc_netboot_methods[] = {
    {.name = HVAPI_M_NETBOOT_MACHINE, .fn = netboot_machine},
    {.name = NULL},
};
