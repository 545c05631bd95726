/* DHCP wire format: parser (malformed inputs), option walker, reply builder, and
 * the PXE classification / boot file choice. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_boot.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"
#include "tests/unit/dhcp_test_pkt.h"

static const uint8_t mac1[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void test_parse_discover(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	uint8_t prl[] = {1, 3, 6};
	tpkt_init(&p, DHCP_DISCOVER, mac1, 0xdeadbeef);
	tpkt_opt(&p, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	tpkt_opt_str(&p, DHCP_OPT_HOSTNAME, "host");
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	assert_int_equal(m.type, DHCP_DISCOVER);
	assert_int_equal(m.xid, 0xdeadbeef);
	assert_int_equal(m.hlen, 6);
	size_t l;
	const uint8_t *o = dhcp_msg_opt(&m, DHCP_OPT_PARAM_LIST, &l);
	assert_non_null(o);
	assert_int_equal(l, 3);
	assert_memory_equal(o, prl, 3);
	char mac[18], host[16];
	assert_int_equal(dhcp_msg_mac_str(&m, mac, sizeof(mac)), 0);
	assert_string_equal(mac, "52:54:00:12:34:56");
	assert_int_equal(dhcp_msg_opt_str(&m, DHCP_OPT_HOSTNAME, host, sizeof(host)), 4);
	assert_string_equal(host, "host");
	assert_false(dhcp_msg_has(&m, DHCP_OPT_CLIENT_ARCH));
}

static void test_parse_short(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	assert_int_equal(dhcp_msg_parse(p.b, 239, &m), -EBADMSG);
	assert_int_equal(dhcp_msg_parse(p.b, 0, &m), -EBADMSG);
	assert_int_equal(dhcp_msg_parse(p.b, 1501, &m), -EBADMSG);
}

static void test_parse_bad_hlen(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	tpkt_end(&p);
	p.b[2] = 17;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
	p.b[2] = 16;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	char mac[18];
	assert_int_equal(dhcp_msg_mac_str(&m, mac, sizeof(mac)), -EINVAL); /* not Ethernet */
}

static void test_parse_bad_cookie(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	tpkt_end(&p);
	p.b[239] = 0;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
}

static void test_parse_missing_53(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, 0, mac1, 1);
	tpkt_opt_str(&p, DHCP_OPT_HOSTNAME, "x");
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
	/* out of range and wrong length */
	uint8_t nine = 9, two[2] = {1, 1};
	tpkt_init(&p, 0, mac1, 1);
	tpkt_opt(&p, DHCP_OPT_MSG_TYPE, &nine, 1);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
	tpkt_init(&p, 0, mac1, 1);
	tpkt_opt(&p, DHCP_OPT_MSG_TYPE, two, 2);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
}

static void test_parse_overrun(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	p.b[p.len++] = DHCP_OPT_HOSTNAME;
	p.b[p.len++] = 40; /* runs past the end */
	p.b[p.len++] = 'a';
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
	/* code without length byte at the very end */
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	p.b[p.len++] = DHCP_OPT_HOSTNAME;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
}

static void test_parse_no_end_pad(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	tpkt_init(&p, DHCP_REQUEST, mac1, 1);
	p.b[p.len++] = 0; /* pad */
	tpkt_opt_ip(&p, DHCP_OPT_REQUESTED_IP, "10.0.0.9");
	/* no END: the walker stops at the end of the datagram */
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	struct in_addr a;
	assert_true(dhcp_msg_opt_addr(&m, DHCP_OPT_REQUESTED_IP, &a));
	assert_string_equal(inet_ntoa(a), "10.0.0.9");
}

static void test_parse_concat_and_overload(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	uint8_t ov = 1;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 1);
	tpkt_opt_str(&p, DHCP_OPT_HOSTNAME, "ab");
	tpkt_opt(&p, DHCP_OPT_OVERLOAD, &ov, 1);
	tpkt_opt_str(&p, DHCP_OPT_HOSTNAME, "cd");
	tpkt_end(&p);
	/* file field carries more options: another hostname part and option 93 */
	uint8_t *f = p.b + 108;
	f[0] = DHCP_OPT_HOSTNAME;
	f[1] = 1;
	f[2] = 'e';
	f[3] = DHCP_OPT_CLIENT_ARCH;
	f[4] = 2;
	f[5] = 0;
	f[6] = 7;
	f[7] = DHCP_OPT_END;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	char host[16];
	dhcp_msg_opt_str(&m, DHCP_OPT_HOSTNAME, host, sizeof(host));
	assert_string_equal(host, "abcde");
	size_t l;
	const uint8_t *a = dhcp_msg_opt(&m, DHCP_OPT_CLIENT_ARCH, &l);
	assert_non_null(a);
	assert_int_equal(l, 2);
	assert_int_equal(a[1], 7);
	/* an overrun inside the overloaded file field is malformed too */
	f[4] = 200;
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), -EBADMSG);
}

/* Codes of the options of a built reply, in order. */
static size_t reply_codes(const uint8_t *b, size_t len, uint8_t *codes, size_t max)
{
	struct dhcp_opt_iter it;
	uint8_t c, l;
	const uint8_t *d;
	size_t n = 0;
	dhcp_opt_iter_init(&it, b, len);
	while (n < max && dhcp_opt_iter_next(&it, &c, &d, &l) > 0)
		codes[n++] = c;
	return n;
}

static void base_params(struct dhcp_reply_params *p, struct in_addr *dns)
{
	memset(p, 0, sizeof(*p));
	p->type = DHCP_OFFER;
	inet_pton(AF_INET, "10.0.0.5", &p->yiaddr);
	inet_pton(AF_INET, "10.0.0.1", &p->server_id);
	p->siaddr = p->server_id;
	p->lease_secs = 3600;
	inet_pton(AF_INET, "255.255.255.0", &p->mask);
	p->have_mask = true;
	inet_pton(AF_INET, "10.0.0.1", &p->router);
	p->have_router = true;
	inet_pton(AF_INET, "10.0.0.53", dns);
	p->dns = dns;
	p->ndns = 1;
	p->domain = "example.test";
	p->hostname = "vm1";
}

static void test_reply_option55_order(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	struct dhcp_reply_params rp;
	struct in_addr dns;
	uint8_t out[DHCP_MAX_LEN], codes[32];
	uint8_t prl[] = {6, 1, 15, 6, 3, 12, 42};
	tpkt_init(&p, DHCP_DISCOVER, mac1, 7);
	tpkt_opt(&p, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	base_params(&rp, &dns);
	int n = dhcp_reply_build(&m, &rp, out, sizeof(out));
	assert_true(n >= DHCP_BOOTP_MIN_LEN);
	uint8_t want[] = {53, 54, 51, 6, 1, 15, 3, 12};
	size_t nc = reply_codes(out, (size_t)n, codes, 32);
	assert_int_equal(nc, sizeof(want));
	assert_memory_equal(codes, want, sizeof(want));
	assert_int_equal(out[0], DHCP_OP_REPLY);
	assert_memory_equal(out + 4, p.b + 4, 4); /* xid */
	assert_memory_equal(out + 28, mac1, 6);	  /* chaddr */
	assert_memory_equal(out + 16, &rp.yiaddr, 4);
	assert_memory_equal(out + 20, &rp.siaddr, 4);
}

static void test_reply_no55_default(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	struct dhcp_reply_params rp;
	struct in_addr dns;
	uint8_t out[DHCP_MAX_LEN], codes[32];
	tpkt_init(&p, DHCP_DISCOVER, mac1, 7);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	base_params(&rp, &dns);
	rp.bootfile = "pxelinux.0";
	int n = dhcp_reply_build(&m, &rp, out, sizeof(out));
	uint8_t want[] = {53, 54, 51, 1, 3, 6, 15, 12, 67};
	size_t nc = reply_codes(out, (size_t)n, codes, 32);
	assert_int_equal(nc, sizeof(want));
	assert_memory_equal(codes, want, sizeof(want));
	assert_string_equal((const char *)out + 108, "pxelinux.0"); /* BOOTP file field */
}

static void test_reply_nak(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	struct dhcp_reply_params rp;
	struct in_addr dns;
	uint8_t out[DHCP_MAX_LEN], codes[8];
	tpkt_init(&p, DHCP_REQUEST, mac1, 7);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	base_params(&rp, &dns);
	rp.type = DHCP_NAK;
	rp.message = "no";
	int n = dhcp_reply_build(&m, &rp, out, sizeof(out));
	size_t nc = reply_codes(out, (size_t)n, codes, 8);
	uint8_t want[] = {53, 54, 56};
	assert_int_equal(nc, 3);
	assert_memory_equal(codes, want, 3);
	static const uint8_t zero[4];
	assert_memory_equal(out + 16, zero, 4); /* no yiaddr */
	assert_memory_equal(out + 20, zero, 4);
}

static void test_reply_relay_fields(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	struct dhcp_reply_params rp;
	struct in_addr dns;
	uint8_t out[DHCP_MAX_LEN];
	tpkt_init(&p, DHCP_DISCOVER, mac1, 9);
	tpkt_set_addr(&p, TPKT_GIADDR, "10.1.0.1");
	p.b[10] = 0x80; /* broadcast flag */
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	base_params(&rp, &dns);
	int n = dhcp_reply_build(&m, &rp, out, sizeof(out));
	assert_true(n > 0);
	assert_memory_equal(out + 24, p.b + 24, 4); /* giaddr kept */
	assert_int_equal(out[10], 0x80);	    /* flags kept */
	assert_int_equal(out[3], 0);		    /* hops reset */
}

static void test_reply_size_limit(void **st)
{
	(void)st;
	struct tpkt p;
	struct dhcp_msg m;
	struct dhcp_reply_params rp;
	struct in_addr dns;
	uint8_t out[DHCP_MAX_LEN];
	char longname[250];
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 9);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	base_params(&rp, &dns);
	rp.hostname = longname;
	rp.domain = longname;
	/* 576-byte default limit leaves 308 bytes of options: too small */
	assert_int_equal(dhcp_reply_build(&m, &rp, out, sizeof(out)), -EMSGSIZE);
	uint8_t max[2] = {0x05, 0xdc}; /* 1500 */
	tpkt_init(&p, DHCP_DISCOVER, mac1, 9);
	tpkt_opt(&p, DHCP_OPT_MAX_MSG_SIZE, max, 2);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	assert_true(dhcp_reply_build(&m, &rp, out, sizeof(out)) > 576);
}

static void parse_pkt(struct dhcp_msg *m, const char *vendor, const char *userclass, int arch,
		      bool opt175)
{
	struct tpkt p;
	tpkt_init(&p, DHCP_DISCOVER, mac1, 3);
	if (vendor)
		tpkt_opt_str(&p, DHCP_OPT_VENDOR_CLASS, vendor);
	if (userclass)
		tpkt_opt_str(&p, DHCP_OPT_USER_CLASS, userclass);
	if (arch >= 0) {
		uint8_t a[2] = {(uint8_t)(arch >> 8), (uint8_t)arch};
		tpkt_opt(&p, DHCP_OPT_CLIENT_ARCH, a, 2);
	}
	if (opt175) {
		uint8_t eb[3] = {0x13, 1, 1};
		tpkt_opt(&p, DHCP_OPT_IPXE_ENCAP, eb, 3);
	}
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, m), 0);
}

static void test_boot_arch(void **st)
{
	(void)st;
	struct dhcp_msg m;
	struct dhcp_boot_info bi;
	struct dhcp_boot_choice ch;
	struct dhcp_boot_map map[] = {{7, "syslinux.efi"}};
	struct dhcp_boot_config c = {.template = "pxelinux.%d"};

	parse_pkt(&m, "PXEClient:Arch:00000:UNDI:002001", NULL, 0, false);
	dhcp_boot_classify(&m, &bi);
	assert_true(bi.pxeclient);
	assert_false(bi.ipxe);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "pxelinux.0");
	assert_string_equal(ch.vendor_class, "PXEClient");
	assert_false(ch.http);

	parse_pkt(&m, "PXEClient:Arch:00007:UNDI:003016", NULL, 7, false);
	dhcp_boot_classify(&m, &bi);
	assert_int_equal(bi.arch, 7);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "pxelinux.7");
	c.map = map;
	c.nmap = 1;
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "syslinux.efi");

	/* No option 93 and no vendor class: BIOS file, no option 60 echo. */
	parse_pkt(&m, NULL, NULL, -1, false);
	dhcp_boot_classify(&m, &bi);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "pxelinux.0");
	assert_null(ch.vendor_class);
}

static void test_boot_ipxe(void **st)
{
	(void)st;
	struct dhcp_msg m;
	struct dhcp_boot_info bi;
	struct dhcp_boot_choice ch;
	struct dhcp_boot_config c = {.template = "pxelinux.%d",
				     .http_base = "http://10.0.0.1:8080/boot/",
				     .ipxe_script = "boot.ipxe"};

	parse_pkt(&m, "PXEClient:Arch:00000:UNDI:002001", "iPXE", 0, false);
	dhcp_boot_classify(&m, &bi);
	assert_true(bi.ipxe);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "http://10.0.0.1:8080/boot/boot.ipxe");
	assert_true(ch.http);
	assert_string_equal(ch.vendor_class, "PXEClient");

	/* option 175 alone also marks iPXE */
	parse_pkt(&m, NULL, NULL, 0, true);
	dhcp_boot_classify(&m, &bi);
	assert_true(bi.ipxe);

	/* A user class that merely contains iPXE is not iPXE. */
	parse_pkt(&m, NULL, "iPXEx", 0, false);
	dhcp_boot_classify(&m, &bi);
	assert_false(bi.ipxe);

	/* iPXE without HTTP boot keeps the TFTP file: no second chain-load of iPXE. */
	parse_pkt(&m, "PXEClient:Arch:00000:UNDI:002001", "iPXE", 0, false);
	dhcp_boot_classify(&m, &bi);
	c.http_base = NULL;
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "pxelinux.0");
	assert_false(ch.http);
}

static void test_boot_httpclient(void **st)
{
	(void)st;
	struct dhcp_msg m;
	struct dhcp_boot_info bi;
	struct dhcp_boot_choice ch;
	struct dhcp_boot_map map[] = {{16, "bootx64.efi"}};
	struct dhcp_boot_config c = {.template = "pxelinux.%d",
				     .map = map,
				     .nmap = 1,
				     .http_base = "http://10.0.0.1:8080/boot/"};

	parse_pkt(&m, "HTTPClient:Arch:00016:UNDI:003001", NULL, 16, false);
	dhcp_boot_classify(&m, &bi);
	assert_true(bi.httpclient);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.vendor_class, "HTTPClient");
	assert_string_equal(ch.bootfile, "http://10.0.0.1:8080/boot/bootx64.efi");

	/* The echo reaches the wire even when option 60 was not requested. */
	struct tpkt p;
	uint8_t prl[] = {1, 67};
	tpkt_init(&p, DHCP_DISCOVER, mac1, 3);
	tpkt_opt_str(&p, DHCP_OPT_VENDOR_CLASS, "HTTPClient:Arch:00016:UNDI:003001");
	tpkt_opt(&p, DHCP_OPT_PARAM_LIST, prl, 2);
	tpkt_end(&p);
	assert_int_equal(dhcp_msg_parse(p.b, p.len, &m), 0);
	struct dhcp_reply_params rp = {
	    .type = DHCP_OFFER, .bootfile = ch.bootfile, .vendor_class = ch.vendor_class};
	uint8_t out[DHCP_MAX_LEN];
	int n = dhcp_reply_build(&m, &rp, out, sizeof(out));
	struct dhcp_msg r;
	out[0] = 1; /* parse the reply with the request parser */
	assert_int_equal(dhcp_msg_parse(out, (size_t)n, &r), 0);
	char v[32];
	assert_int_equal(dhcp_msg_opt_str(&r, DHCP_OPT_VENDOR_CLASS, v, sizeof(v)), 10);
	assert_string_equal(v, "HTTPClient");

	/* Without HTTP boot configured: no URL to give. */
	c.http_base = NULL;
	parse_pkt(&m, "HTTPClient:Arch:00016:UNDI:003001", NULL, 16, false);
	dhcp_boot_classify(&m, &bi);
	assert_int_equal(dhcp_boot_choose(&c, &bi, &ch), 0);
	assert_string_equal(ch.bootfile, "");
}

static void test_boot_expand(void **st)
{
	(void)st;
	char out[16];
	assert_int_equal(dhcp_boot_expand("a%%b.%d", 11, out, sizeof(out)), 0);
	assert_string_equal(out, "a%b.11");
	assert_int_equal(dhcp_boot_expand("%s%x", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "%s%x"); /* only %d and %% are expanded */
	assert_int_equal(dhcp_boot_expand("0123456789abcdef", 0, out, sizeof(out)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_discover),
	    cmocka_unit_test(test_parse_short),
	    cmocka_unit_test(test_parse_bad_hlen),
	    cmocka_unit_test(test_parse_bad_cookie),
	    cmocka_unit_test(test_parse_missing_53),
	    cmocka_unit_test(test_parse_overrun),
	    cmocka_unit_test(test_parse_no_end_pad),
	    cmocka_unit_test(test_parse_concat_and_overload),
	    cmocka_unit_test(test_reply_option55_order),
	    cmocka_unit_test(test_reply_no55_default),
	    cmocka_unit_test(test_reply_nak),
	    cmocka_unit_test(test_reply_relay_fields),
	    cmocka_unit_test(test_reply_size_limit),
	    cmocka_unit_test(test_boot_arch),
	    cmocka_unit_test(test_boot_ipxe),
	    cmocka_unit_test(test_boot_httpclient),
	    cmocka_unit_test(test_boot_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
