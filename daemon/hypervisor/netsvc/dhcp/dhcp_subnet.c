/* Subnet helpers for the DHCP server. */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_subnet.h"

#include <arpa/inet.h>
#include <stdint.h>

bool dhcp_subnet_contains(const struct dhcp_subnet *s, struct in_addr ip)
{
	return (ip.s_addr & s->mask.s_addr) == (s->gateway.s_addr & s->mask.s_addr);
}

bool dhcp_subnet_has_range(const struct dhcp_subnet *s)
{
	return s->first_dynamic.s_addr && s->last_dynamic.s_addr &&
	       ntohl(s->first_dynamic.s_addr) <= ntohl(s->last_dynamic.s_addr);
}

bool dhcp_subnet_in_range(const struct dhcp_subnet *s, struct in_addr ip)
{
	uint32_t v = ntohl(ip.s_addr);
	return dhcp_subnet_has_range(s) && v >= ntohl(s->first_dynamic.s_addr) &&
	       v <= ntohl(s->last_dynamic.s_addr);
}

int dhcp_mask_prefix(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int n = 0;
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}
