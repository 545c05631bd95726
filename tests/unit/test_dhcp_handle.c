/* DHCP server decisions: which MACs get answers, NAK rules (weakness #28), relays,
 * the wrong-interface check, RELEASE/DECLINE/INFORM, netboot boot files, ACK
 * counting for waiters and netboot files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_handle.h"
#include "tests/unit/dhcp_test_pkt.h"

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static const uint8_t macVM[6] = {0x52, 0x54, 0, 0, 0, 1};
static const uint8_t macX[6] = {0x52, 0x54, 0, 0, 0, 2};
static const uint8_t macY[6] = {0x52, 0x54, 0, 0, 0, 3};
static const uint8_t macR[6] = {0x52, 0x54, 0, 0, 0, 4};
static const uint8_t macNB[6] = {0x52, 0x54, 0, 0, 0, 5};

struct fx {
	struct dhcp_iface ifaces[2];
	struct dhcp_subnet subnets[3];
	struct dhcp_ctx ctx;
	struct dhcp_result res;
	struct sockaddr_in from;
};

static int setup(void **st)
{
	struct fx *f = calloc(1, sizeof(*f));
	/* br0: 10.0.0.1/24 (gateway of s0, which has a dynamic range) */
	struct dhcp_iface *b0 = &f->ifaces[0];
	b0->ifindex = 2;
	snprintf(b0->name, sizeof(b0->name), "br0");
	b0->serving = true;
	b0->addr[0] = ip("10.0.0.1");
	b0->addr_mask[0] = ip("255.255.255.0");
	b0->naddrs = 1;
	b0->route[0] = ip("10.0.0.0");
	b0->route_mask[0] = ip("255.255.255.0");
	b0->nroutes = 1;
	/* br1: 10.3.0.1/24 (gateway of s2: static leases only) */
	struct dhcp_iface *b1 = &f->ifaces[1];
	b1->ifindex = 3;
	snprintf(b1->name, sizeof(b1->name), "br1");
	b1->serving = true;
	b1->addr[0] = ip("10.3.0.1");
	b1->addr_mask[0] = ip("255.255.255.0");
	b1->naddrs = 1;
	b1->route[0] = ip("10.3.0.0");
	b1->route_mask[0] = ip("255.255.255.0");
	b1->nroutes = 1;

	struct dhcp_subnet *s = f->subnets;
	snprintf(s[0].id, sizeof(s[0].id), "s0");
	s[0].gateway = ip("10.0.0.1");
	s[0].mask = ip("255.255.255.0");
	s[0].dns[0] = ip("10.0.0.53");
	s[0].ndns = 1;
	snprintf(s[0].domain, sizeof(s[0].domain), "test.example");
	s[0].first_dynamic = ip("10.0.0.100");
	s[0].last_dynamic = ip("10.0.0.110");
	snprintf(s[1].id, sizeof(s[1].id), "remote");
	s[1].gateway = ip("10.1.0.1"); /* behind a relay */
	s[1].mask = ip("255.255.255.0");
	snprintf(s[2].id, sizeof(s[2].id), "s2");
	s[2].gateway = ip("10.3.0.1");
	s[2].mask = ip("255.255.255.0");

	struct dhcp_ctx *c = &f->ctx;
	c->ifaces = f->ifaces;
	c->nifaces = 2;
	c->ingress = b0;
	c->subnets = f->subnets;
	c->nsubnets = 3;
	c->leases = dhcp_leases_new();
	c->files = nbf_registry_new();
	c->boot_template = "pxelinux.%d";
	c->ipxe_script = "boot.ipxe";
	dhcp_times_default(&c->times);
	c->now = 1000000;

	struct dhcp_lease l = {.kind = DHCP_LEASE_VM, .ip = ip("10.0.0.5")};
	memcpy(l.mac, macVM, 6);
	snprintf(l.hostname, sizeof(l.hostname), "vm1");
	assert_int_equal(dhcp_leases_add(c->leases, &l, NULL), 0);
	struct dhcp_lease r = {.kind = DHCP_LEASE_EXTERNAL, .ip = ip("10.1.0.7")};
	memcpy(r.mac, macR, 6);
	assert_int_equal(dhcp_leases_add(c->leases, &r, NULL), 0);

	f->from.sin_family = AF_INET;
	f->from.sin_port = htons(68);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;
	dhcp_leases_free(f->ctx.leases);
	nbf_registry_free(f->ctx.files);
	free(f);
	return 0;
}

static struct dhcp_result *run(struct fx *f, struct tpkt *p)
{
	tpkt_end(p);
	assert_int_equal(dhcp_handle(&f->ctx, p->b, p->len, &f->from, &f->res), 0);
	return &f->res;
}

static void reply_msg(struct dhcp_result *r, struct dhcp_msg *m)
{
	assert_int_equal(r->action, DHCP_SEND);
	r->reply[0] = 1; /* let the request parser read the reply */
	assert_int_equal(dhcp_msg_parse(r->reply, r->len, m), 0);
	r->reply[0] = 2;
}

static uint32_t opt32(const struct dhcp_msg *m, uint8_t code)
{
	size_t l;
	const uint8_t *p = dhcp_msg_opt(m, code, &l);
	assert_non_null(p);
	assert_int_equal(l, 4);
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_static_offer(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, macVM, 1);
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.type, DHCP_OFFER);
	assert_int_equal(m.yiaddr.s_addr, ip("10.0.0.5").s_addr);
	assert_int_equal(m.siaddr.s_addr, ip("10.0.0.1").s_addr);
	assert_int_equal(r->dest.sin_addr.s_addr, htonl(INADDR_BROADCAST));
	assert_int_equal(r->dest.sin_port, htons(68));
	assert_int_equal(r->server_ip.s_addr, ip("10.0.0.1").s_addr);
	assert_int_equal(opt32(&m, DHCP_OPT_LEASE_TIME), 48 * 3600);
	char host[16];
	assert_int_equal(dhcp_msg_opt_str(&m, DHCP_OPT_HOSTNAME, host, sizeof(host)), 3);
	assert_string_equal(host, "vm1");
	assert_false(dhcp_msg_has(&m, DHCP_OPT_BOOTFILE)); /* not a netboot lease */
	assert_false(r->netboot);
}

static void test_unknown_mac_no_range(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	f->ctx.ingress = &f->ifaces[1]; /* br1: no dynamic range */
	tpkt_init(&p, DHCP_DISCOVER, macX, 1);
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	/* nor a REQUEST: it stays silent (another server may own the client) */
	tpkt_init(&p, DHCP_REQUEST, macX, 2);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.3.0.50");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	assert_true(f->res.requested);
	assert_int_equal(f->res.requested_ip.s_addr, ip("10.3.0.50").s_addr);
}

static void test_dynamic_dora(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, macX, 1);
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.yiaddr.s_addr, ip("10.0.0.100").s_addr);
	assert_int_equal(opt32(&m, DHCP_OPT_LEASE_TIME), 60);
	struct dhcp_ack_state w;
	dhcp_leases_watch(f->ctx.leases, ip("10.0.0.100"), &w);
	tpkt_init(&p, DHCP_REQUEST, macX, 1);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.100");
	tpkt_opt_ip(&p, DHCP_OPT_SERVER_ID, "10.0.0.1");
	tpkt_opt_str(&p, DHCP_OPT_HOSTNAME, "laptop");
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.type, DHCP_ACK);
	assert_int_equal(opt32(&m, DHCP_OPT_LEASE_TIME), 2 * 3600);
	assert_true(r->journal); /* persisted before the ACK leaves */
	assert_int_equal(r->j_ip.s_addr, ip("10.0.0.100").s_addr);
	assert_int_equal(r->j_expires, f->ctx.now + 4 * 3600 * 1000LL);
	assert_string_equal(r->j_host, "laptop");
	assert_false(r->dyn_changed);
	assert_true(r->acked);
	struct dhcp_ack_state now;
	assert_true(dhcp_leases_ack_state(f->ctx.leases, ip("10.0.0.100"), &now));
	assert_int_equal(now.acks, w.acks + 1);
	struct dhcp_lease *l = dhcp_leases_by_mac(f->ctx.leases, macX, f->ctx.now);
	assert_true(l->acked);
	assert_string_equal(l->hostname, "laptop");
	/* renewal (unicast from ciaddr): journaled again with the new expiry */
	tpkt_init(&p, DHCP_REQUEST, macX, 3);
	tpkt_set_addr(&p, TPKT_CIADDR, "10.0.0.100");
	f->from.sin_addr = ip("10.0.0.100");
	r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.type, DHCP_ACK);
	assert_true(r->journal);
	assert_false(r->dyn_changed);
	assert_int_equal(r->dest.sin_addr.s_addr, ip("10.0.0.100").s_addr);
	/* release frees it */
	tpkt_init(&p, DHCP_RELEASE, macX, 4);
	tpkt_set_addr(&p, TPKT_CIADDR, "10.0.0.100");
	r = run(f, &p);
	assert_int_equal(r->action, DHCP_DROP);
	assert_true(r->dyn_changed);
	/* the result struct is reused: nothing of the previous ACK may stick */
	assert_false(r->journal);
	assert_false(r->acked);
	assert_null(dhcp_leases_by_mac(f->ctx.leases, macX, f->ctx.now));
	dhcp_leases_unwatch(f->ctx.leases, ip("10.0.0.100"));
}

static void test_nak_rules(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	/* INIT-REBOOT for an address of our range never offered to this MAC */
	tpkt_init(&p, DHCP_REQUEST, macY, 1);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.105");
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.type, DHCP_NAK);
	assert_int_equal(r->dest.sin_addr.s_addr, htonl(INADDR_BROADCAST));
	assert_null(dhcp_leases_by_mac(f->ctx.leases, macY, f->ctx.now)); /* nothing created */
	/* address of another network on an authoritative link */
	tpkt_init(&p, DHCP_REQUEST, macY, 2);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "192.168.1.5");
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.type, DHCP_NAK);
	char msg[64];
	dhcp_msg_opt_str(&m, DHCP_OPT_MESSAGE, msg, sizeof(msg));
	assert_string_equal(msg, "wrong network");
	/* known static MAC asking for another address */
	tpkt_init(&p, DHCP_REQUEST, macVM, 3);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.6");
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.type, DHCP_NAK);
	assert_false(dhcp_msg_has(&m, DHCP_OPT_LEASE_TIME));
	/* and for its own: ACK */
	tpkt_init(&p, DHCP_REQUEST, macVM, 4);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.5");
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.type, DHCP_ACK);
}

static void test_request_for_other_server(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	tpkt_init(&p, DHCP_DISCOVER, macX, 1);
	assert_int_equal(run(f, &p)->action, DHCP_SEND);
	assert_non_null(dhcp_leases_by_mac(f->ctx.leases, macX, f->ctx.now));
	tpkt_init(&p, DHCP_REQUEST, macX, 1);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.100");
	tpkt_opt_ip(&p, DHCP_OPT_SERVER_ID, "10.0.0.254");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	/* our offer was withdrawn */
	assert_null(dhcp_leases_by_mac(f->ctx.leases, macX, f->ctx.now));
}

static void test_relay(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	f->from.sin_addr = ip("10.1.0.1");
	f->from.sin_port = htons(67);
	tpkt_init(&p, DHCP_DISCOVER, macR, 1);
	tpkt_set_addr(&p, TPKT_GIADDR, "10.1.0.1");
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.yiaddr.s_addr, ip("10.1.0.7").s_addr);
	assert_int_equal(m.giaddr.s_addr, ip("10.1.0.1").s_addr);
	assert_true(r->relayed);
	assert_int_equal(r->dest.sin_addr.s_addr, ip("10.1.0.1").s_addr);
	assert_int_equal(r->dest.sin_port, htons(67));
	assert_int_equal(opt32(&m, DHCP_OPT_SUBNET_MASK), 0xffffff00);
	/* a lease of another network through that relay: wrong link, no answer */
	tpkt_init(&p, DHCP_DISCOVER, macVM, 2);
	tpkt_set_addr(&p, TPKT_GIADDR, "10.1.0.1");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	/* unknown relay network */
	tpkt_init(&p, DHCP_DISCOVER, macR, 3);
	tpkt_set_addr(&p, TPKT_GIADDR, "172.16.0.1");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	/* a relay on our own attached subnet may get dynamic leases (perfdhcp) */
	tpkt_init(&p, DHCP_DISCOVER, macX, 4);
	tpkt_set_addr(&p, TPKT_GIADDR, "10.0.0.2");
	r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.yiaddr.s_addr, ip("10.0.0.100").s_addr);
	assert_int_equal(r->dest.sin_addr.s_addr, ip("10.0.0.2").s_addr);
}

static void test_wrong_interface(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	/* the VM's lease is on br0's network; a DISCOVER on br1 is suppressed */
	f->ctx.ingress = &f->ifaces[1];
	tpkt_init(&p, DHCP_DISCOVER, macVM, 1);
	struct dhcp_result *r = run(f, &p);
	assert_int_equal(r->action, DHCP_DROP);
	assert_string_equal(r->why, "suppressing offer: wrong interface");
}

static void test_decline_and_inform(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, macX, 1);
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.yiaddr.s_addr, ip("10.0.0.100").s_addr);
	tpkt_init(&p, DHCP_DECLINE, macX, 1);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.100");
	tpkt_opt_ip(&p, DHCP_OPT_SERVER_ID, "10.0.0.1");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
	tpkt_init(&p, DHCP_DISCOVER, macX, 2);
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.yiaddr.s_addr, ip("10.0.0.101").s_addr); /* .100 is held back */
	/* INFORM from a client that configured itself inside our subnet */
	tpkt_init(&p, DHCP_INFORM, macY, 3);
	tpkt_set_addr(&p, TPKT_CIADDR, "10.0.0.77");
	f->from.sin_addr = ip("10.0.0.77");
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_int_equal(m.type, DHCP_ACK);
	assert_int_equal(m.yiaddr.s_addr, 0);
	assert_int_equal(m.ciaddr.s_addr, ip("10.0.0.77").s_addr);
	assert_false(dhcp_msg_has(&m, DHCP_OPT_LEASE_TIME));
	assert_int_equal(r->dest.sin_addr.s_addr, ip("10.0.0.77").s_addr);
	/* INFORM from outside anything we serve: silence */
	tpkt_init(&p, DHCP_INFORM, macY, 4);
	tpkt_set_addr(&p, TPKT_CIADDR, "192.168.9.9");
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
}

static void add_netboot(struct fx *f)
{
	struct dhcp_lease l = {.kind = DHCP_LEASE_NETBOOT,
			       .ip = ip("10.0.0.20"),
			       .token = 5,
			       .expires = f->ctx.now + 60000};
	memcpy(l.mac, macNB, 6);
	assert_int_equal(dhcp_leases_add(f->ctx.leases, &l, NULL), 0);
	struct netboot_file nf[] = {{"config.json", "{}", 2}};
	assert_int_equal(nbf_set(f->ctx.files, l.ip, macNB, nf, 1, 0, 5), 0);
}

static void test_netboot_pxe(void **st)
{
	struct fx *f = *st;
	struct tpkt p;
	struct dhcp_msg m;
	add_netboot(f);
	uint8_t prl[] = {1, 3, 60, 66, 67};
	tpkt_init(&p, DHCP_DISCOVER, macNB, 1);
	tpkt_opt_str(&p, DHCP_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
	tpkt_opt(&p, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	struct dhcp_result *r = run(f, &p);
	reply_msg(r, &m);
	assert_true(r->netboot);
	assert_string_equal((const char *)r->reply + 108, "pxelinux.0");
	char s[64];
	dhcp_msg_opt_str(&m, DHCP_OPT_BOOTFILE, s, sizeof(s));
	assert_string_equal(s, "pxelinux.0");
	dhcp_msg_opt_str(&m, DHCP_OPT_VENDOR_CLASS, s, sizeof(s));
	assert_string_equal(s, "PXEClient");
	dhcp_msg_opt_str(&m, DHCP_OPT_TFTP_SERVER, s, sizeof(s));
	assert_string_equal(s, "10.0.0.1");
	assert_int_equal(m.siaddr.s_addr, ip("10.0.0.1").s_addr);
	/* files are not served before the ACK */
	struct nbf_blob *b;
	assert_int_equal(nbf_lookup(f->ctx.files, ip("10.0.0.20"), "config.json", 0, NULL, &b),
			 NBF_NOT_ACKED);
	/* iPXE with HTTP boot: script URL */
	f->ctx.http_port = 8080;
	f->ctx.http_path = "/boot/";
	tpkt_init(&p, DHCP_REQUEST, macNB, 2);
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.20");
	tpkt_opt_str(&p, DHCP_OPT_USER_CLASS, "iPXE");
	tpkt_opt(&p, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	reply_msg(run(f, &p), &m);
	assert_int_equal(m.type, DHCP_ACK);
	dhcp_msg_opt_str(&m, DHCP_OPT_BOOTFILE, s, sizeof(s));
	assert_string_equal(s, "http://10.0.0.1:8080/boot/boot.ipxe");
	assert_int_equal(nbf_lookup(f->ctx.files, ip("10.0.0.20"), "config.json", 0, NULL, &b),
			 NBF_FOUND);
	nbf_blob_unref(b);
	/* after the netboot lease expired, the MAC is unknown again */
	f->ctx.now += 60000;
	f->ctx.ingress = &f->ifaces[1];
	tpkt_init(&p, DHCP_DISCOVER, macNB, 3);
	assert_int_equal(run(f, &p)->action, DHCP_DROP);
}

static void test_malformed(void **st)
{
	struct fx *f = *st;
	uint8_t junk[300] = {1, 1, 6};
	struct dhcp_result *r = &f->res;
	assert_int_equal(dhcp_handle(&f->ctx, junk, sizeof(junk), &f->from, r), 0);
	assert_int_equal(r->action, DHCP_DROP);
	assert_true(r->malformed);
	assert_int_equal(dhcp_handle(&f->ctx, junk, 10, &f->from, r), 0);
	assert_true(r->malformed);
	/* a BOOTREPLY sent to the server is ignored */
	struct tpkt p;
	tpkt_init(&p, DHCP_OFFER, macVM, 1);
	p.b[0] = 2;
	r = run(f, &p);
	assert_int_equal(r->action, DHCP_DROP);
	assert_false(r->malformed);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_static_offer),    T(test_unknown_mac_no_range),     T(test_dynamic_dora),
	    T(test_nak_rules),	     T(test_request_for_other_server), T(test_relay),
	    T(test_wrong_interface), T(test_decline_and_inform),       T(test_netboot_pxe),
	    T(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
