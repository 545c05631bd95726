/* fuzz_dhcp: the DHCP server's packet path (daemon/hypervisor/netsvc/dhcp/dhcp_packet.c,
 * dhcp_boot.c, dhcp_handle.c, dhcp_lease.c): parse a request, walk its options,
 * classify the boot client and build a reply from it; then hand the same packet to
 * dhcp_handle against a lease table like the one of tests/fuzz/seeds/dhcp.sh (VM,
 * external and netboot leases, a dynamic range, a relayed subnet), on each interface
 * and again after the leases ran out.
 * The input is one UDP payload as it arrives on port 67 (seeds: real packets).
 * Checks beyond the sanitizers: every reply is at most DHCP_MAX_LEN bytes, at least
 * the BOOTP minimum, parses again with the type, xid and chaddr of the request, and
 * the option walker never points outside the packet. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_handle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "%s\n", what);
	abort();
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return a;
}

/* ---- the pure path ---- */

static void walk_options(const uint8_t *pkt, size_t len)
{
	struct dhcp_opt_iter it;
	const uint8_t *d;
	uint8_t code, olen;
	unsigned n = 0;

	if (len < DHCP_MIN_LEN)
		return;
	dhcp_opt_iter_init(&it, pkt, len);
	while (dhcp_opt_iter_next(&it, &code, &d, &olen) == 1) {
		if (d < pkt || d + olen > pkt + len)
			fail("option data outside the packet");
		if (++n > len)
			fail("option walker does not advance");
	}
}

/* A reply must parse as the answer to req: same xid and hardware address. */
static void check_reply(const struct dhcp_msg *req, uint8_t *reply, size_t len, uint8_t want_type,
			size_t cap)
{
	struct dhcp_msg *m = malloc(sizeof(*m));

	if (m == NULL)
		abort();
	if (len > cap || len > DHCP_MAX_LEN || len < DHCP_BOOTP_MIN_LEN)
		fail("reply length out of bounds");
	if (reply[0] != DHCP_OP_REPLY)
		fail("reply is not a BOOTREPLY");
	reply[0] = DHCP_OP_REQUEST; /* the parser reads requests */
	if (dhcp_msg_parse(reply, len, m) < 0)
		fail("reply does not parse");
	reply[0] = DHCP_OP_REPLY;
	if (m->type != want_type || m->xid != req->xid ||
	    memcmp(m->chaddr, req->chaddr, sizeof(m->chaddr)) != 0)
		fail("reply type, xid or chaddr differ from the request");
	free(m);
}

static void pure_path(const uint8_t *pkt, size_t len)
{
	struct dhcp_msg *m = malloc(sizeof(*m));
	struct dhcp_boot_info bi;
	struct dhcp_boot_choice bc;
	struct dhcp_boot_config cfg = {.template = "pxelinux.%d",
				       .http_base = "http://10.77.0.1:8067/boot/",
				       .ipxe_script = "boot.ipxe"};
	struct dhcp_reply_params p = {0};
	struct in_addr dns[2] = {ip4("10.77.0.53"), ip4("10.77.0.54")};
	uint8_t reply[DHCP_MAX_LEN];
	char s[256];
	struct in_addr a;
	size_t caps[] = {DHCP_MAX_LEN, DHCP_BOOTP_MIN_LEN, 320};
	int n, i;

	if (m == NULL)
		abort();
	walk_options(pkt, len);
	if (dhcp_msg_parse(pkt, len, m) < 0) {
		free(m);
		return;
	}
	for (i = 0; i < 256; i++) {
		size_t olen;
		const uint8_t *d = dhcp_msg_opt(m, (uint8_t)i, &olen);

		if (d != NULL && (d < m->optbuf || d + olen > m->optbuf + sizeof(m->optbuf)))
			fail("option view outside optbuf");
		if (d != NULL && !dhcp_msg_has(m, (uint8_t)i))
			fail("option data without its presence bit");
		(void)dhcp_msg_opt_addr(m, (uint8_t)i, &a);
		n = dhcp_msg_opt_str(m, (uint8_t)i, s, sizeof(s));
		if (n >= 0 && ((size_t)n >= sizeof(s) || strlen(s) != (size_t)n))
			fail("dhcp_msg_opt_str length");
	}
	(void)dhcp_msg_opt_str(m, DHCP_OPT_HOSTNAME, s, 1);
	(void)dhcp_msg_mac_str(m, s, sizeof(s));
	(void)dhcp_msg_type_name(m->type);
	dhcp_boot_classify(m, &bi);
	if (dhcp_boot_choose(&cfg, &bi, &bc) < 0)
		bc.bootfile[0] = '\0';

	/* Every option the builder knows, from values taken out of the request. */
	p.type = m->type == DHCP_REQUEST  ? DHCP_ACK
		 : m->type == DHCP_INFORM ? DHCP_ACK
					  : DHCP_OFFER;
	p.yiaddr = ip4("10.77.0.11");
	p.siaddr = p.server_id = p.router = ip4("10.77.0.1");
	p.mask = ip4("255.255.255.0");
	p.have_mask = p.have_router = true;
	p.lease_secs = 172800;
	p.dns = dns;
	p.ndns = 2;
	p.domain = "lan.example";
	if (dhcp_msg_opt_str(m, DHCP_OPT_HOSTNAME, s, sizeof(s)) < 0)
		snprintf(s, sizeof(s), "vm-one");
	p.hostname = s;
	p.bootfile = bc.bootfile[0] != '\0' ? bc.bootfile : NULL;
	p.tftp_server = "10.77.0.1";
	p.vendor_class = bc.vendor_class;
	p.copy_ciaddr = m->type == DHCP_INFORM;
	for (i = 0; i < 3; i++) {
		n = dhcp_reply_build(m, &p, reply, caps[i]);
		if (n >= 0)
			check_reply(m, reply, (size_t)n, p.type, caps[i]);
	}
	p.type = DHCP_NAK;
	p.message = "requested address not leased to you";
	n = dhcp_reply_build(m, &p, reply, sizeof(reply));
	if (n >= 0)
		check_reply(m, reply, (size_t)n, DHCP_NAK, sizeof(reply));
	free(m);
}

/* ---- the server's decisions ---- */

static const uint8_t mac_vm1[6] = {0x52, 0x54, 0, 0x77, 0, 0x11};
static const uint8_t mac_vm2[6] = {0x52, 0x54, 0, 0x77, 0, 0x12};
static const uint8_t mac_far[6] = {0x52, 0x54, 0, 0x79, 0, 0x44};
static const uint8_t mac_nb[6] = {0x52, 0x54, 0, 0x77, 0, 0x55};

struct fixture {
	struct dhcp_iface ifaces[2];
	struct dhcp_subnet subnets[3];
	struct dhcp_boot_map map[1];
};

static void iface(struct dhcp_iface *f, int index, const char *name, const char *addr,
		  const char *net)
{
	memset(f, 0, sizeof(*f));
	f->ifindex = index;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->serving = true;
	f->addr[0] = ip4(addr);
	f->addr_mask[0] = f->route_mask[0] = ip4("255.255.255.0");
	f->naddrs = 1;
	f->route[0] = ip4(net);
	f->nroutes = 1;
}

static void subnet(struct dhcp_subnet *s, const char *id, const char *gw, const char *dns,
		   const char *first, const char *last)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->gateway = ip4(gw);
	s->mask = ip4("255.255.255.0");
	s->dns[0] = ip4(dns);
	s->ndns = 1;
	if (first != NULL) {
		s->first_dynamic = ip4(first);
		s->last_dynamic = ip4(last);
	}
}

static const struct fixture *fixture(void)
{
	static struct fixture fx;
	static bool done;

	if (done)
		return &fx;
	iface(&fx.ifaces[0], 2, "br0", "10.77.0.1", "10.77.0.0");
	iface(&fx.ifaces[1], 3, "br1", "10.78.0.1", "10.78.0.0");
	subnet(&fx.subnets[0], "lan", "10.77.0.1", "10.77.0.53", NULL, NULL);
	snprintf(fx.subnets[0].domain, sizeof(fx.subnets[0].domain), "lan.example");
	subnet(&fx.subnets[1], "dyn", "10.78.0.1", "10.78.0.1", "10.78.0.100", "10.78.0.110");
	subnet(&fx.subnets[2], "remote", "10.79.0.1", "10.77.0.53", NULL, NULL);
	fx.map[0] = (struct dhcp_boot_map){.arch = 7, .file = "bootx64.efi"};
	done = true;
	return &fx;
}

static void add_lease(struct dhcp_leases *t, const uint8_t mac[6], const char *ip,
		      enum dhcp_lease_kind kind, const char *host)
{
	struct dhcp_lease l = {.kind = kind, .ip = ip4(ip)};

	memcpy(l.mac, mac, 6);
	snprintf(l.hostname, sizeof(l.hostname), "%s", host);
	if (dhcp_leases_add(t, &l, NULL) < 0)
		abort();
}

static void server_path(const uint8_t *pkt, size_t len)
{
	static const char cfg_json[] = "{\"hostname\": \"nb\"}\n";
	const struct fixture *fx = fixture();
	struct netboot_file file = {
	    .name = "config.json", .data = cfg_json, .len = sizeof(cfg_json) - 1};
	struct dhcp_ctx ctx = {
	    .ifaces = fx->ifaces,
	    .nifaces = 2,
	    .subnets = fx->subnets,
	    .nsubnets = 3,
	    .boot_template = "pxelinux.%d",
	    .boot_map = fx->map,
	    .nboot_map = 1,
	    .http_port = 8067,
	    .http_path = "/boot/",
	    .ipxe_script = "boot.ipxe",
	    .now = 1700000000000,
	};
	struct dhcp_result *res = malloc(sizeof(*res));
	struct dhcp_msg *req = malloc(sizeof(*req));
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(68)};
	bool parsed;
	int round;

	if (res == NULL || req == NULL)
		abort();
	ctx.leases = dhcp_leases_new();
	ctx.files = nbf_registry_new();
	if (ctx.leases == NULL || ctx.files == NULL)
		abort();
	dhcp_times_default(&ctx.times);
	add_lease(ctx.leases, mac_vm1, "10.77.0.11", DHCP_LEASE_VM, "vm-one");
	add_lease(ctx.leases, mac_vm2, "10.77.0.12", DHCP_LEASE_VM, "vm-two");
	add_lease(ctx.leases, mac_far, "10.79.0.44", DHCP_LEASE_EXTERNAL, "far");
	add_lease(ctx.leases, mac_nb, "10.77.0.55", DHCP_LEASE_NETBOOT, "");
	if (nbf_set(ctx.files, ip4("10.77.0.55"), mac_nb, &file, 1, 0, 0) < 0)
		abort();

	parsed = dhcp_msg_parse(pkt, len, req) == 0;
	if (parsed && req->giaddr.s_addr != 0) {
		from.sin_addr = req->giaddr;
		from.sin_port = htons(67);
	} else if (parsed) {
		from.sin_addr = req->ciaddr;
	}
	/* On each interface, then once more after every offer and lease expired. */
	for (round = 0; round < 3; round++) {
		ctx.ingress = &fx->ifaces[round == 1];
		if (round == 2)
			ctx.now += ctx.times.lease_hold_ms + ctx.times.decline_hold_ms + 1;
		memset(res, 0, sizeof(*res));
		if (dhcp_handle(&ctx, pkt, len, &from, res) < 0)
			continue;
		if (res->action == DHCP_SEND) {
			if (!parsed)
				fail("answered a packet that does not parse");
			check_reply(req, res->reply, res->len, res->reply_type, DHCP_MAX_LEN);
		}
		(void)dhcp_leases_expire(ctx.leases, ctx.now, NULL);
	}
	dhcp_leases_free(ctx.leases);
	nbf_registry_free(ctx.files);
	free(req);
	free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > DHCP_MAX_LEN)
		return 0;
	pure_path(data, size);
	server_path(data, size);
	return 0;
}
