/* Subnets (spec/hypervisor.md §6.1, §6.3, §6.4), pure: containment, selection of a
 * VM's subnet with the caller's rights, and UpdateSubnets computed as a new list that
 * the caller commits only after it has been written (weaknesses.md #14: validate
 * everything first; a delete or change never strands an address). */
#ifndef HV_SUBNETS_H
#define HV_SUBNETS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"

#define SUBNETS_HYPERVISOR_ID "hypervisor"

/* Bounds on what UpdateSubnets accepts (issue 17). An id is a short printable name
 * (letters, digits, '.', '_', '-'; 63 at most, what the DHCP server keeps); a domain
 * name is a DNS name; the DHCP server sends at most 8 name servers. */
#define SUBNETS_ID_MAX 63
#define SUBNETS_DOMAIN_MAX 253
#define SUBNETS_LABEL_MAX 63
#define SUBNETS_DNS_MAX 8
#define SUBNETS_MAX 256

/* An address in use by a VM (primary or secondary) and that VM's primary IP. */
struct addrpool_use {
	struct hvapi_address addr;
	struct in_addr vm;
};

/* Who asks (from the RPC caller's certificate). */
struct subnets_caller {
	const char *user;
	char *const *groups;
	size_t ngroups;
	bool admin;
};

/* x & mask == gateway & mask. */
bool subnets_contains(const struct hvapi_subnet *s, struct in_addr ip);
const struct hvapi_subnet *subnets_find(const struct hvapi_subnets *l, const char *id);
/* The first subnet containing ip, or NULL. */
const struct hvapi_subnet *subnets_for_ip(const struct hvapi_subnets *l, struct in_addr ip);

/* When the host keeps ip of subnet s for itself (the gateway, the network and
 * broadcast addresses of a subnet wider than /31, the DHCP dynamic range), writes what
 * it is ("the gateway of subnet t", "in the DHCP dynamic range of subnet t
 * (10.99.0.100-10.99.0.200)") into what and returns true: no pool address may be one
 * of these (issue 17). False when ip is free for a VM. */
bool subnets_reserved(const struct hvapi_subnet *s, struct in_addr ip, char *what, size_t whatsz);

/* Writes text from a peer (an id, a domain name) for an error message: at most 40
 * characters, anything but printable ASCII as '?', "..." when cut. Returns buf. */
const char *subnets_show(const char *text, char *buf, size_t sz);

/* checkSubnetAccess: admin, or no Allowed lists, or user/group allowed. */
bool subnets_access(const struct hvapi_subnet *s, const struct subnets_caller *c);

/* The subnet for a new VM (§6.3): id if given (must exist and be accessible), else
 * the only permitted one. Returns 0 and *out (borrowed from l), or -ENOENT/-EACCES/
 * -EINVAL with the message in err. */
int subnets_select(const struct hvapi_subnets *l, const char *id, const struct subnets_caller *c,
		   const struct hvapi_subnet **out, char *err, size_t errsz);

/* Checks a subnet's own fields: an id of 1 to SUBNETS_ID_MAX characters of
 * [A-Za-z0-9._-], a contiguous mask of /31 or wider, a gateway that is neither the
 * network nor the broadcast address, a dynamic range inside the subnet that holds none
 * of gateway, network and broadcast address, a DNS domain name (or none) and at most
 * SUBNETS_DNS_MAX name servers. 0 or -EINVAL with err. */
int subnets_validate_one(const struct hvapi_subnet *s, char *err, size_t errsz);

/* UpdateSubnets as a pure function. Validates the whole request against cur (no id
 * "hypervisor"; Add ids new and unique, Change/Delete ids existing; every subnet
 * well-formed; at most SUBNETS_MAX subnets; an added or changed subnet overlaps no
 * other; every address a VM uses still inside a subnet afterwards; no registered pool
 * address or VM address becomes reserved by an added or changed subnet). On success
 * *out is the new list (sorted by Id, caller clears it) and *drop lists the free
 * pool addresses no subnet contains any more (to be removed from the pool in the same
 * commit; caller clears it). On failure nothing is allocated and err says why. */
int subnets_update(const struct hvapi_subnets *cur, const struct hvapi_update_subnets_request *req,
		   const struct hvapi_address_pool *pool, const struct addrpool_use *uses,
		   size_t nuses, struct hvapi_subnets *out, struct hvapi_addresses *drop, char *err,
		   size_t errsz);

#endif
