/* A subnet as the DHCP server sees it (hypervisor.md §6.1 Subnet), plus the pure
 * helpers on it. */
#ifndef SS_DHCP_SUBNET_H
#define SS_DHCP_SUBNET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define DHCP_SUBNET_MAX_DNS 8

struct dhcp_subnet {
	char id[64];
	struct in_addr gateway, mask;
	struct in_addr dns[DHCP_SUBNET_MAX_DNS];
	size_t ndns;
	char domain[256];			    /* a DNS name: 253 characters at most */
	struct in_addr first_dynamic, last_dynamic; /* 0.0.0.0 when unset */
};

/* x & mask == gateway & mask (hypervisor.md §6.1). */
bool dhcp_subnet_contains(const struct dhcp_subnet *s, struct in_addr ip);
/* Both ends of the dynamic range are set and ordered. */
bool dhcp_subnet_has_range(const struct dhcp_subnet *s);
bool dhcp_subnet_in_range(const struct dhcp_subnet *s, struct in_addr ip);
/* Number of bits set in the mask, or -1 when it is not contiguous. */
int dhcp_mask_prefix(struct in_addr mask);

#endif
