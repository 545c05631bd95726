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

/* checkSubnetAccess: admin, or no Allowed lists, or user/group allowed. */
bool subnets_access(const struct hvapi_subnet *s, const struct subnets_caller *c);

/* The subnet for a new VM (§6.3): id if given (must exist and be accessible), else
 * the only permitted one. Returns 0 and *out (borrowed from l), or -ENOENT/-EACCES/
 * -EINVAL with the message in err. */
int subnets_select(const struct hvapi_subnets *l, const char *id, const struct subnets_caller *c,
		   const struct hvapi_subnet **out, char *err, size_t errsz);

/* Checks a subnet's own fields: non-empty id without '/', a contiguous mask, the
 * gateway inside it, a dynamic range inside the subnet. 0 or -EINVAL with err. */
int subnets_validate_one(const struct hvapi_subnet *s, char *err, size_t errsz);

/* UpdateSubnets as a pure function. Validates the whole request against cur (no id
 * "hypervisor"; Add ids new and unique, Change/Delete ids existing; every subnet
 * well-formed; every address a VM uses still inside a subnet afterwards). On success
 * *out is the new list (sorted by Id, caller clears it) and *drop lists the free
 * pool addresses no subnet contains any more (to be removed from the pool in the same
 * commit; caller clears it). On failure nothing is allocated and err says why. */
int subnets_update(const struct hvapi_subnets *cur, const struct hvapi_update_subnets_request *req,
		   const struct hvapi_address_pool *pool, const struct addrpool_use *uses,
		   size_t nuses, struct hvapi_subnets *out, struct hvapi_addresses *drop, char *err,
		   size_t errsz);

#endif
