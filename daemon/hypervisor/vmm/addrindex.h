/* Addresses indexed by IP and by MAC (a small open-addressing hash, linear probing),
 * so that the pool's checks and repairs take time linear in the pool instead of
 * comparing every address with every other (issue 17). Pure; no removal (an index is
 * built for one operation and thrown away). */
#ifndef HV_ADDRINDEX_H
#define HV_ADDRINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/hypervisor.h"

struct addrindex {
	uint64_t *keys; /* 0 = empty slot; see addrindex_ip_key, addrindex_mac_key */
	size_t *vals;
	size_t cap, n;
};

/* Keys: an IP (never 0.0.0.0) and a MAC live in one table, told apart by a tag. */
uint64_t addrindex_ip_key(struct in_addr ip);
uint64_t addrindex_mac_key(const uint8_t *mac);

/* An empty index sized for about expect keys (it grows when needed). 0 or -ENOMEM. */
int addrindex_init(struct addrindex *ix, size_t expect);
void addrindex_fini(struct addrindex *ix);

/* Adds key with val. 0 if added, 1 if the key was there already (its value is kept),
 * -ENOMEM. */
int addrindex_put(struct addrindex *ix, uint64_t key, size_t val);
/* True if key is there; *val (if not NULL) gets its value. */
bool addrindex_get(const struct addrindex *ix, uint64_t key, size_t *val);

/* Adds a's IP (when it has one) and its MAC, both with val. 0 or -ENOMEM. */
int addrindex_put_address(struct addrindex *ix, const struct hvapi_address *a, size_t val);
/* An index of every address of l (IP and MAC), each with its position in l; the first
 * position wins for repeats. 0 or -ENOMEM (ix is then empty but valid for _fini). */
int addrindex_of_list(struct addrindex *ix, const struct hvapi_addresses *l);
/* The pool's notion of "the same address": by IP when a has one, else by MAC (the
 * match of addrpool_contains). */
bool addrindex_find(const struct addrindex *ix, const struct hvapi_address *a, size_t *val);

#endif
