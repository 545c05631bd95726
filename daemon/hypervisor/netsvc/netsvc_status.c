/* netsvc_status_json: interfaces, leases, netboot file sets and counters for the
 * daemon's /showDhcpStatus page. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/netsvc_priv.h"
#include "json.h"

static json_t *addr(struct in_addr a)
{
	return sjson_ipv4(a);
}

static const char *kind_name(enum dhcp_lease_kind k)
{
	switch (k) {
	case DHCP_LEASE_VM:
		return "vm";
	case DHCP_LEASE_EXTERNAL:
		return "external";
	case DHCP_LEASE_NETBOOT:
		return "netboot";
	case DHCP_LEASE_DYNAMIC:
		return "dynamic";
	case DHCP_LEASE_DECLINED:
		return "declined";
	}
	return "?";
}

static void lease_json(const struct dhcp_lease *l, void *arg)
{
	json_t *o = json_object();
	if (!o)
		return;
	json_object_set_new(o, "Kind", json_string(kind_name(l->kind)));
	json_object_set_new(o, "IpAddress", addr(l->ip));
	if (l->kind != DHCP_LEASE_DECLINED)
		json_object_set_new(o, "MacAddress", sjson_mac(l->mac));
	if (l->hostname[0])
		json_object_set_new(o, "Hostname", json_string(l->hostname));
	if (l->expires) {
		struct timespec ts = {.tv_sec = l->expires / 1000,
				      .tv_nsec = (l->expires % 1000) * 1000000};
		json_object_set_new(o, "Expires", sjson_time(&ts));
	}
	if (l->kind == DHCP_LEASE_DYNAMIC)
		json_object_set_new(o, "Acknowledged", json_boolean(l->acked));
	json_array_append_new(arg, o);
}

#define STAT(name)                                                                                 \
	json_object_set_new(                                                                       \
	    st, #name,                                                                             \
	    json_integer((json_int_t)__atomic_load_n(&ns->stats.name, __ATOMIC_RELAXED)))

json_t *netsvc_status_json(struct netsvc *ns)
{
	json_t *root = json_object(), *ifs = json_array(), *leases = json_array(),
	       *st = json_object();
	if (!root || !ifs || !leases || !st) {
		json_decref(root);
		json_decref(ifs);
		json_decref(leases);
		json_decref(st);
		return NULL;
	}
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nifaces; i++) {
		const struct dhcp_iface *f = &ns->ifaces[i];
		json_t *o = json_object(), *a = json_array(), *r = json_array();
		for (size_t j = 0; j < f->naddrs; j++)
			json_array_append_new(a, addr(f->addr[j]));
		for (size_t j = 0; j < f->nroutes; j++) {
			char net[INET_ADDRSTRLEN + 4];
			inet_ntop(AF_INET, &f->route[j], net, INET_ADDRSTRLEN);
			snprintf(net + strlen(net), 4, "/%d", dhcp_mask_prefix(f->route_mask[j]));
			json_array_append_new(r, json_string(net));
		}
		json_object_set_new(o, "Name", json_string(f->name));
		json_object_set_new(o, "Serving", json_boolean(f->serving));
		json_object_set_new(o, "Addresses", a);
		json_object_set_new(o, "ConnectedRoutes", r);
		json_array_append_new(ifs, o);
	}
	dhcp_leases_foreach(ns->leases, lease_json, leases);
	json_object_set_new(root, "NetbootFileSets",
			    json_integer((json_int_t)nbf_count(ns->files)));
	pthread_mutex_unlock(&ns->lock);
	STAT(dhcp_rx);
	STAT(dhcp_malformed);
	STAT(dhcp_dropped);
	STAT(dhcp_offers);
	STAT(dhcp_acks);
	STAT(dhcp_naks);
	STAT(dhcp_persist_errors);
	STAT(tftp_rrq);
	STAT(tftp_refused);
	STAT(tftp_done);
	STAT(tftp_failed);
	STAT(tftp_probes);
	STAT(tftp_bytes);
	STAT(tftp_retransmits);
	STAT(ra_sent);
	STAT(http_requests);
	json_object_set_new(root, "Interfaces", ifs);
	json_object_set_new(root, "Leases", leases);
	json_object_set_new(root, "Counters", st);
	return root;
}

enum netsvc_service_state netsvc_service(struct netsvc *ns, const char *name)
{
	bool tftp = strcmp(name, "tftp") == 0;
	const struct netsvc_server *sv = tftp ? &netsvc_tftp_server : &netsvc_dhcp_server;
	enum netsvc_service_state st = NETSVC_SERVICE_RUNNING;

	if (!sv->wanted(&ns->cfg))
		return NETSVC_SERVICE_DISABLED;
	pthread_mutex_lock(&ns->lock);
	if (!ns->running || ns->stopping || (tftp ? ns->tftp.io.fd : ns->dhcp.io.fd) < 0)
		st = NETSVC_SERVICE_NOT_RUNNING;
	pthread_mutex_unlock(&ns->lock);
	return st;
}
