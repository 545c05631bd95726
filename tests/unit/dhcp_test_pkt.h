/* Test helper: builds BOOTREQUEST packets option by option (header-only, static). */
#ifndef SS_TEST_DHCP_PKT_H
#define SS_TEST_DHCP_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"

struct tpkt {
	uint8_t b[1500];
	size_t len;
};

static inline void tpkt_init(struct tpkt *p, uint8_t type, const uint8_t mac[6], uint32_t xid)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = 1;
	p->b[1] = 1;
	p->b[2] = 6;
	p->b[4] = (uint8_t)(xid >> 24);
	p->b[5] = (uint8_t)(xid >> 16);
	p->b[6] = (uint8_t)(xid >> 8);
	p->b[7] = (uint8_t)xid;
	memcpy(p->b + 28, mac, 6);
	p->b[236] = 99;
	p->b[237] = 130;
	p->b[238] = 83;
	p->b[239] = 99;
	p->len = 240;
	if (type) {
		p->b[p->len++] = DHCP_OPT_MSG_TYPE;
		p->b[p->len++] = 1;
		p->b[p->len++] = type;
	}
}

static inline void tpkt_opt(struct tpkt *p, uint8_t code, const void *data, uint8_t len)
{
	p->b[p->len++] = code;
	p->b[p->len++] = len;
	memcpy(p->b + p->len, data, len);
	p->len += len;
}

static inline void tpkt_opt_str(struct tpkt *p, uint8_t code, const char *s)
{
	tpkt_opt(p, code, s, (uint8_t)strlen(s));
}

static inline void tpkt_opt_ip(struct tpkt *p, uint8_t code, const char *ip)
{
	struct in_addr a;
	inet_pton(AF_INET, ip, &a);
	tpkt_opt(p, code, &a, 4);
}

static inline void tpkt_end(struct tpkt *p)
{
	p->b[p->len++] = DHCP_OPT_END;
	if (p->len < 300)
		p->len = 300;
}

static inline void tpkt_set_addr(struct tpkt *p, size_t off, const char *ip)
{
	struct in_addr a;
	inet_pton(AF_INET, ip, &a);
	memcpy(p->b + off, &a, 4);
}

#define TPKT_CIADDR 12
#define TPKT_GIADDR 24

#endif
