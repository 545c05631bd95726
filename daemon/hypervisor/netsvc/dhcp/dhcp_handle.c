/* DHCP server decisions: lease lookup, OFFER/ACK/NAK rules, relay, PXE extras. */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_handle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void dhcp_times_default(struct dhcp_times *t)
{
	t->static_secs = 48 * 3600;
	t->dynamic_offer_secs = 60;
	t->dynamic_ack_secs = 2 * 3600;
	t->offer_hold_ms = 10 * 1000;
	t->lease_hold_ms = 4 * 3600 * 1000LL;
	t->decline_hold_ms = 10 * 60 * 1000;
}

static bool is_host_ip(const struct dhcp_ctx *ctx, struct in_addr ip)
{
	for (size_t i = 0; i < ctx->nifaces; i++)
		for (size_t j = 0; j < ctx->ifaces[i].naddrs; j++)
			if (ctx->ifaces[i].addr[j].s_addr == ip.s_addr)
				return true;
	return false;
}

static bool iface_has_ip(const struct dhcp_iface *f, struct in_addr ip)
{
	for (size_t j = 0; f && j < f->naddrs; j++)
		if (f->addr[j].s_addr == ip.s_addr)
			return true;
	return false;
}

bool dhcp_server_ip_for(const struct dhcp_ctx *ctx, const struct dhcp_subnet *s,
			struct in_addr *out)
{
	bool have_first = false;
	struct in_addr first = {0};
	for (size_t i = 0; i < ctx->nifaces; i++) {
		for (size_t j = 0; j < ctx->ifaces[i].naddrs; j++) {
			struct in_addr a = ctx->ifaces[i].addr[j];
			if (s && dhcp_subnet_contains(s, a)) {
				*out = a;
				return true;
			}
			if (!have_first) {
				first = a;
				have_first = true;
			}
		}
	}
	*out = first;
	return have_first;
}

/* A subnet is attached to an interface when the interface holds its gateway. */
static bool attached(const struct dhcp_subnet *s, const struct dhcp_iface *f)
{
	return s->gateway.s_addr && iface_has_ip(f, s->gateway);
}

static const struct dhcp_subnet *subnet_containing(const struct dhcp_ctx *ctx, struct in_addr ip)
{
	for (size_t i = 0; i < ctx->nsubnets; i++)
		if (dhcp_subnet_contains(&ctx->subnets[i], ip))
			return &ctx->subnets[i];
	return NULL;
}

static const struct dhcp_subnet *lease_subnet(const struct dhcp_ctx *ctx,
					      const struct dhcp_lease *l)
{
	return l->has_subnet ? &l->subnet : subnet_containing(ctx, l->ip);
}

/* The subnet this link hands dynamic leases from: for a relayed request the subnet
 * of giaddr, if that relay sits on an attached subnet of the ingress interface;
 * otherwise the first attached subnet with a range. The server is its gateway. */
static const struct dhcp_subnet *dynamic_subnet(const struct dhcp_ctx *ctx,
						const struct dhcp_msg *m)
{
	if (m->giaddr.s_addr) {
		const struct dhcp_subnet *s = subnet_containing(ctx, m->giaddr);
		return s && attached(s, ctx->ingress) && dhcp_subnet_has_range(s) ? s : NULL;
	}
	for (size_t i = 0; i < ctx->nsubnets; i++) {
		const struct dhcp_subnet *s = &ctx->subnets[i];
		if (attached(s, ctx->ingress) && dhcp_subnet_has_range(s))
			return s;
	}
	return NULL;
}

/* Is ip on the network the client sits on? Relayed: inside giaddr's subnet. Direct:
 * inside a connected route of the ingress interface, if it has any. */
static bool on_client_link(const struct dhcp_ctx *ctx, const struct dhcp_msg *m, struct in_addr ip)
{
	if (m->giaddr.s_addr) {
		const struct dhcp_subnet *s = subnet_containing(ctx, m->giaddr);
		return s && dhcp_subnet_contains(s, ip);
	}
	const struct dhcp_iface *f = ctx->ingress;
	if (!f || f->nroutes == 0)
		return true;
	for (size_t i = 0; i < f->nroutes; i++)
		if ((ip.s_addr & f->route_mask[i].s_addr) == f->route[i].s_addr)
			return true;
	return false;
}

/* Subnets the server is authoritative for on this link (weakness #28): it hands out
 * dynamic leases there, so a REQUEST for an address it did not give is wrong. */
static bool authoritative_for(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
			      struct in_addr ip, bool *wrong_net)
{
	const struct dhcp_subnet *dyn = dynamic_subnet(ctx, m);
	*wrong_net = false;
	if (!dyn)
		return false;
	if (dhcp_subnet_contains(dyn, ip))
		return true;
	/* Authoritative for the link, and the address belongs to none of its subnets. */
	bool on_link = false;
	for (size_t i = 0; i < ctx->nsubnets; i++) {
		const struct dhcp_subnet *s = &ctx->subnets[i];
		if ((m->giaddr.s_addr ? dhcp_subnet_contains(s, m->giaddr)
				      : attached(s, ctx->ingress)) &&
		    dhcp_subnet_contains(s, ip))
			on_link = true;
	}
	*wrong_net = !on_link;
	return !on_link;
}

static void set_dest(const struct dhcp_msg *m, const struct sockaddr_in *from, uint8_t type,
		     struct dhcp_result *res)
{
	memset(&res->dest, 0, sizeof(res->dest));
	res->dest.sin_family = AF_INET;
	if (m->giaddr.s_addr) {
		res->dest.sin_addr = m->giaddr;
		res->dest.sin_port = htons(67);
		return;
	}
	bool bcast =
	    type == DHCP_NAK || from->sin_addr.s_addr == 0 || (m->flags & DHCP_FLAG_BROADCAST);
	res->dest.sin_addr.s_addr = bcast ? htonl(INADDR_BROADCAST) : from->sin_addr.s_addr;
	res->dest.sin_port = from->sin_port ? from->sin_port : htons(68);
}

static int drop(struct dhcp_result *res, const char *why)
{
	res->action = DHCP_DROP;
	res->why = why;
	return 0;
}

static int send_nak(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
		    const struct sockaddr_in *from, const struct dhcp_subnet *s, const char *why,
		    struct dhcp_result *res)
{
	struct dhcp_reply_params p = {.type = DHCP_NAK, .message = why};
	if (!dhcp_server_ip_for(ctx, s, &p.server_id))
		return drop(res, "no IP addresses found");
	int n = dhcp_reply_build(m, &p, res->reply, sizeof(res->reply));
	if (n < 0)
		return n;
	res->len = (size_t)n;
	res->reply_type = DHCP_NAK;
	res->server_ip = p.server_id;
	res->action = DHCP_SEND;
	res->why = why;
	set_dest(m, from, DHCP_NAK, res);
	return 0;
}

/* Builds OFFER/ACK for lease l on subnet s. */
static int send_lease(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
		      const struct sockaddr_in *from, uint8_t type, const struct dhcp_lease *l,
		      const struct dhcp_subnet *s, struct dhcp_result *res)
{
	struct dhcp_reply_params p = {.type = type, .yiaddr = l->ip};
	struct dhcp_boot_choice choice;
	char base[128], tftp[INET_ADDRSTRLEN];

	if (!dhcp_server_ip_for(ctx, s, &p.server_id))
		return drop(res, "no IP addresses found");
	p.siaddr = p.server_id;
	p.mask = s->mask;
	p.have_mask = true;
	p.router = s->gateway;
	p.have_router = s->gateway.s_addr != 0;
	p.dns = s->dns;
	p.ndns = s->ndns;
	p.domain = s->domain;
	if (dhcp_lease_is_static(l)) {
		p.hostname = l->hostname;
		p.lease_secs = ctx->times.static_secs;
	} else {
		p.lease_secs = type == DHCP_OFFER ? ctx->times.dynamic_offer_secs
						  : ctx->times.dynamic_ack_secs;
	}
	if (l->kind == DHCP_LEASE_NETBOOT) {
		struct dhcp_boot_info bi;
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &p.server_id, ip, sizeof(ip));
		struct dhcp_boot_config bc = {.template = ctx->boot_template,
					      .map = ctx->boot_map,
					      .nmap = ctx->nboot_map,
					      .ipxe_script = ctx->ipxe_script};
		if (ctx->http_port) {
			snprintf(base, sizeof(base), "http://%s:%u%s", ip, (unsigned)ctx->http_port,
				 ctx->http_path ? ctx->http_path : "/boot/");
			bc.http_base = base;
		}
		dhcp_boot_classify(m, &bi);
		if (dhcp_boot_choose(&bc, &bi, &choice) == 0) {
			p.bootfile = choice.bootfile;
			p.vendor_class = choice.vendor_class;
		}
		snprintf(tftp, sizeof(tftp), "%s", ip);
		p.tftp_server = tftp;
		res->netboot = true;
	}
	int n = dhcp_reply_build(m, &p, res->reply, sizeof(res->reply));
	if (n < 0)
		return n;
	res->len = (size_t)n;
	res->reply_type = type;
	res->server_ip = p.server_id;
	res->action = DHCP_SEND;
	set_dest(m, from, type, res);
	return 0;
}

/* Static lease first, then a live dynamic lease; a dynamic lease from a subnet that
 * this link no longer serves dynamically is forgotten. */
static struct dhcp_lease *find_lease(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
				     struct dhcp_result *res)
{
	struct dhcp_lease *l = dhcp_leases_by_mac(ctx->leases, m->chaddr, ctx->now);
	if (!l || dhcp_lease_is_static(l))
		return l;
	const struct dhcp_subnet *dyn = dynamic_subnet(ctx, m);
	if (dyn && dhcp_subnet_in_range(dyn, l->ip))
		return l;
	dhcp_leases_remove_mac(ctx->leases, m->chaddr, 0, &res->dyn_changed);
	return NULL;
}

static int on_discover(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
		       const struct sockaddr_in *from, struct dhcp_result *res)
{
	struct dhcp_lease *l = find_lease(ctx, m, res);
	if (!l) {
		const struct dhcp_subnet *dyn = dynamic_subnet(ctx, m);
		struct in_addr req = {0};
		if (!dyn)
			return drop(res, "unknown MAC");
		dhcp_msg_opt_addr(m, DHCP_OPT_REQUESTED_IP, &req);
		l = dhcp_leases_offer(ctx->leases, m->chaddr, dyn, req, ctx->now,
				      ctx->times.offer_hold_ms);
		if (!l)
			return drop(res, "dynamic range exhausted");
	}
	const struct dhcp_subnet *s = lease_subnet(ctx, l);
	if (!s)
		return drop(res, "no subnet for lease");
	if (!on_client_link(ctx, m, l->ip))
		return drop(res, "suppressing offer: wrong interface");
	return send_lease(ctx, m, from, DHCP_OFFER, l, s, res);
}

static void note_ack(const struct dhcp_ctx *ctx, const struct dhcp_lease *l,
		     struct dhcp_result *res)
{
	res->acked = true;
	res->ack_ip = l->ip;
	memcpy(res->ack_mac, l->mac, 6);
	dhcp_leases_note_ack(ctx->leases, l->ip);
	if (ctx->files)
		nbf_note_ack(ctx->files, l->ip, l->mac);
}

static int on_request(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
		      const struct sockaddr_in *from, struct dhcp_result *res)
{
	struct in_addr req = {0}, sid = {0};
	if (!dhcp_msg_opt_addr(m, DHCP_OPT_REQUESTED_IP, &req))
		req = m->ciaddr;
	if (req.s_addr) {
		res->requested = true;
		res->requested_ip = req;
	}
	if (dhcp_msg_opt_addr(m, DHCP_OPT_SERVER_ID, &sid) && sid.s_addr && !is_host_ip(ctx, sid)) {
		/* The client chose another server: free an offer we made. */
		struct dhcp_lease *l = dhcp_leases_by_mac(ctx->leases, m->chaddr, ctx->now);
		if (l && l->kind == DHCP_LEASE_DYNAMIC && !l->acked)
			dhcp_leases_remove_mac(ctx->leases, m->chaddr, 0, &res->dyn_changed);
		return drop(res, "request for another server");
	}
	struct dhcp_lease *l = find_lease(ctx, m, res);
	if (l) {
		const struct dhcp_subnet *s = lease_subnet(ctx, l);
		if (!s)
			return drop(res, "no subnet for lease");
		if (req.s_addr != l->ip.s_addr || !on_client_link(ctx, m, l->ip))
			return send_nak(ctx, m, from, s, "requested address not leased to you",
					res);
		if (l->kind == DHCP_LEASE_DYNAMIC) {
			char host[DHCP_HOSTNAME_MAX];
			dhcp_leases_commit(
			    l, ctx->now, ctx->times.lease_hold_ms,
			    dhcp_msg_opt_str(m, DHCP_OPT_HOSTNAME, host, sizeof(host)) >= 0 ? host
											    : NULL);
			res->journal = true;
			res->j_ip = l->ip;
			res->j_expires = l->expires;
			snprintf(res->j_host, sizeof(res->j_host), "%s", l->hostname);
		}
		int rc = send_lease(ctx, m, from, DHCP_ACK, l, s, res);
		if (rc == 0 && res->action == DHCP_SEND)
			note_ack(ctx, l, res);
		return rc;
	}
	bool wrong_net;
	if (req.s_addr && authoritative_for(ctx, m, req, &wrong_net))
		return send_nak(ctx, m, from, dynamic_subnet(ctx, m),
				wrong_net ? "wrong network" : "requested address not leased to you",
				res);
	return drop(res, "unknown MAC");
}

static int on_decline(const struct dhcp_ctx *ctx, const struct dhcp_msg *m, struct dhcp_result *res)
{
	struct in_addr ip, sid;
	if (dhcp_msg_opt_addr(m, DHCP_OPT_SERVER_ID, &sid) && !is_host_ip(ctx, sid))
		return drop(res, "decline for another server");
	if (!dhcp_msg_opt_addr(m, DHCP_OPT_REQUESTED_IP, &ip))
		return drop(res, "decline without address");
	struct dhcp_lease *l = dhcp_leases_by_mac(ctx->leases, m->chaddr, ctx->now);
	if (!l || l->ip.s_addr != ip.s_addr)
		return drop(res, "decline of an address not leased");
	if (dhcp_lease_is_static(l))
		return drop(res, "declined static address (conflict on the link)");
	dhcp_leases_decline(ctx->leases, ip, ctx->now, ctx->times.decline_hold_ms,
			    &res->dyn_changed);
	return drop(res, "declined");
}

static int on_release(const struct dhcp_ctx *ctx, const struct dhcp_msg *m, struct dhcp_result *res)
{
	struct dhcp_lease *l = dhcp_leases_by_mac(ctx->leases, m->chaddr, ctx->now);
	if (!l || l->ip.s_addr != m->ciaddr.s_addr)
		return drop(res, "release of an address not leased");
	if (dhcp_lease_is_static(l))
		return drop(res, "released static lease (kept)");
	dhcp_leases_remove_mac(ctx->leases, m->chaddr, 0, &res->dyn_changed);
	return drop(res, "released");
}

/* INFORM: the client has an address and wants the other parameters. */
static int on_inform(const struct dhcp_ctx *ctx, const struct dhcp_msg *m,
		     const struct sockaddr_in *from, struct dhcp_result *res)
{
	if (!m->ciaddr.s_addr)
		return drop(res, "inform without ciaddr");
	struct dhcp_lease *l = dhcp_leases_by_mac(ctx->leases, m->chaddr, ctx->now);
	const struct dhcp_subnet *s = NULL;
	if (l && l->ip.s_addr == m->ciaddr.s_addr)
		s = lease_subnet(ctx, l);
	if (!s) {
		const struct dhcp_subnet *dyn = dynamic_subnet(ctx, m);
		if (dyn && dhcp_subnet_contains(dyn, m->ciaddr))
			s = dyn;
	}
	if (!s)
		return drop(res, "inform from unknown client");
	struct dhcp_reply_params p = {.type = DHCP_ACK, .copy_ciaddr = true};
	if (!dhcp_server_ip_for(ctx, s, &p.server_id))
		return drop(res, "no IP addresses found");
	p.mask = s->mask;
	p.have_mask = true;
	p.router = s->gateway;
	p.have_router = s->gateway.s_addr != 0;
	p.dns = s->dns;
	p.ndns = s->ndns;
	p.domain = s->domain;
	if (l && dhcp_lease_is_static(l))
		p.hostname = l->hostname;
	int n = dhcp_reply_build(m, &p, res->reply, sizeof(res->reply));
	if (n < 0)
		return n;
	res->len = (size_t)n;
	res->reply_type = DHCP_ACK;
	res->server_ip = p.server_id;
	res->action = DHCP_SEND;
	set_dest(m, from, DHCP_ACK, res);
	if (!m->giaddr.s_addr && !(m->flags & DHCP_FLAG_BROADCAST)) {
		res->dest.sin_addr = m->ciaddr;
		res->dest.sin_port = from->sin_port ? from->sin_port : htons(68);
	}
	return 0;
}

int dhcp_handle(const struct dhcp_ctx *ctx, const uint8_t *pkt, size_t len,
		const struct sockaddr_in *from, struct dhcp_result *res)
{
	struct dhcp_msg m;

	memset(res, 0, offsetof(struct dhcp_result, reply));
	if (dhcp_msg_parse(pkt, len, &m) < 0) {
		res->malformed = true;
		return drop(res, "malformed");
	}
	res->type = m.type;
	if (m.op != DHCP_OP_REQUEST)
		return drop(res, "not a BOOTREQUEST");
	if (dhcp_msg_mac_str(&m, res->mac, sizeof(res->mac)) < 0)
		return drop(res, "not Ethernet");
	memcpy(res->hwaddr, m.chaddr, 6);
	res->relayed = m.giaddr.s_addr != 0;
	switch (m.type) {
	case DHCP_DISCOVER:
		return on_discover(ctx, &m, from, res);
	case DHCP_REQUEST:
		return on_request(ctx, &m, from, res);
	case DHCP_DECLINE:
		return on_decline(ctx, &m, res);
	case DHCP_RELEASE:
		return on_release(ctx, &m, res);
	case DHCP_INFORM:
		return on_inform(ctx, &m, from, res);
	default:
		return drop(res, "unexpected message type");
	}
}
