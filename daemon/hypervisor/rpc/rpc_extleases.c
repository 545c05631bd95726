/* External DHCP leases (rpc.md §5 RegisterExternalLeases, §6 GetUpdates): one set,
 * replaced wholesale by each registration. A set registered through a GetUpdates
 * stream (a fleet manager's "managed" leases) is removed when that stream ends; one
 * registered by RegisterExternalLeases stays, as in the original. Unlike the
 * original, the end of another stream (an old connection of a fleet manager that has
 * reconnected and registered again) leaves the set alone. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/vmcheck.h"
#include "log.h"

/* The GetUpdates stream that registered the set, NULL if none did. One RPC service
 * per process, so one owner; the lock also orders registrations against a stream's
 * end. */
static pthread_mutex_t ext_mu = PTHREAD_MUTEX_INITIALIZER;
static const void *ext_owner;

/* True when ip lies in one of the subnets (checked for every address first, so that
 * a refused request registers nothing). */
static bool in_subnet(const struct hvapi_subnets *l, struct in_addr ip)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hvapi_subnet *s = &l->v[i];

		if (s->ip_mask.s_addr != 0 &&
		    (ip.s_addr & s->ip_mask.s_addr) == (s->ip_gateway.s_addr & s->ip_mask.s_addr))
			return true;
	}
	return false;
}

/* The checks of RegisterExternalLeases on every address (0, or -errno with err). */
static int check_leases(struct rpc *r, const struct hvapi_register_external_leases_request *q,
			char *err, size_t errsz)
{
	const struct hvapi_addresses *a = &q->addresses;
	struct manager_view v;
	int rc = 0;

	if (manager_view(r->m, MANAGER_VIEW_SUBNETS, &v) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < a->n; i++) {
		static const uint8_t zero[6];

		if (a->v[i].ip.s_addr == 0) {
			snprintf(err, errsz, "address %zu: no IP address", i);
			rc = -EINVAL;
		} else if (!in_subnet(&v.subnets, a->v[i].ip)) {
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a->v[i].ip, ip, sizeof(ip));
			snprintf(err, errsz, "no subnet found for %s", ip);
			rc = -ENOENT;
		} else if (memcmp(a->v[i].mac, zero, 6) == 0 || (a->v[i].mac[0] & 1)) {
			snprintf(err, errsz, "address %zu: bad MAC address", i);
			rc = -EINVAL;
		} else if (i < q->hostnames.n) {
			rc = vmcheck_hostname(q->hostnames.v[i], err, errsz);
		}
	}
	manager_view_clear(&v);
	return rc;
}

/* The leases of q for netsvc (hostname: given, else the IP as text). */
static int apply(struct rpc *r, const struct hvapi_register_external_leases_request *q, char *err,
		 size_t errsz)
{
	const struct hvapi_addresses *a = &q->addresses;
	char(*names)[INET_ADDRSTRLEN] = calloc(a->n ? a->n : 1, sizeof(*names));
	struct netsvc_lease *l = calloc(a->n ? a->n : 1, sizeof(*l));
	int rc;

	if (l == NULL || names == NULL) {
		free(l);
		free(names);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n; i++) {
		inet_ntop(AF_INET, &a->v[i].ip, names[i], sizeof(names[i]));
		memcpy(l[i].mac, a->v[i].mac, 6);
		l[i].ip = a->v[i].ip;
		l[i].kind = NETSVC_LEASE_EXTERNAL;
		l[i].hostname =
		    i < q->hostnames.n && q->hostnames.v[i] != NULL && q->hostnames.v[i][0] != '\0'
			? q->hostnames.v[i]
			: names[i];
	}
	rc = netsvc_external_replace(r->m->netsvc, l, a->n);
	if (rc == -ENOENT)
		snprintf(err, errsz, "no subnet found for one of the addresses");
	else if (rc < 0)
		snprintf(err, errsz, "registering leases: %s", strerror(-rc));
	free(l);
	free(names);
	return rc;
}

int rpc_external_leases_set(struct rpc *r, const struct hvapi_register_external_leases_request *q,
			    const void *stream, const char *who, char *err, size_t errsz)
{
	int rc;

	if (r->m->netsvc == NULL) {
		snprintf(err, errsz, "DHCP server not running");
		return -ENOTCONN;
	}
	if (q->hostnames.n > q->addresses.n) {
		snprintf(err, errsz, "%zu hostnames for %zu addresses", q->hostnames.n,
			 q->addresses.n);
		return -EINVAL;
	}
	rc = check_leases(r, q, err, errsz);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&ext_mu);
	rc = apply(r, q, err, errsz);
	if (rc == 0)
		ext_owner = stream;
	pthread_mutex_unlock(&ext_mu);
	if (rc == 0)
		log_info("%s registered %zu %sexternal leases", who, q->addresses.n,
			 stream ? "managed " : "");
	return rc;
}

void rpc_external_leases_stream_end(struct rpc *r, const void *stream)
{
	pthread_mutex_lock(&ext_mu);
	if (stream != NULL && ext_owner == stream && r->m->netsvc != NULL) {
		ext_owner = NULL;
		if (netsvc_external_replace(r->m->netsvc, NULL, 0) < 0)
			log_error("removing the managed external leases failed");
		else
			log_info("managed external leases removed: their GetUpdates stream ended");
	}
	pthread_mutex_unlock(&ext_mu);
}
