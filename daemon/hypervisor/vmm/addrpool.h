/* The address pool (spec/hypervisor.md §6.1, §6.2), pure: operations on
 * address-pool.json's {Free, Registered} lists. Every operation validates the whole
 * request before it changes anything; the manager runs them on a copy and commits the
 * copy once it is on disk, so memory never runs ahead of the file. Invariants kept:
 * Free ⊆ Registered, no IP or MAC twice in Registered, and an address in use by a VM
 * is never in Free (so no address is ever handed to two VMs). */
#ifndef HV_ADDRPOOL_H
#define HV_ADDRPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/subnets.h"

/* Bounds (issue 17): addresses one ChangeAddressPool may add, and addresses the pool
 * may hold (Registered). Every operation is linear in the pool (addrindex.h). */
#define ADDRPOOL_MAX_ADD 4096
#define ADDRPOOL_MAX 65536

/* ChangeAddressPool.AddressesToAdd. Errors: "too many addresses to add: N (at most
 * 4096 in one call)", "address pool full: ...", "bad MAC address: M", "no subnet
 * matching: X", "IP X is the gateway of subnet S" (also the network and broadcast
 * address, the DHCP dynamic range: subnets_reserved), "duplicate IP address: X",
 * "duplicate MAC address: M" (the original's texts, also for an IP or a MAC a VM uses
 * with another MAC or IP). An address whose MAC a VM already uses (with the same IP)
 * is adopted: registered, not made free. */
int addrpool_add(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		 const struct addrpool_use *uses, size_t nuses, const struct hvapi_addresses *add,
		 char *err, size_t errsz);

/* AddressesToRemove: matched by IP when given, else by MAC; each must be free (no VM
 * may use it) and registered. Errors are the original's: "IPs: map[X:{}] not in free
 * pool", then "MACs: map[M:{}] not in free pool", then the same with "not
 * registered". */
int addrpool_remove(struct hvapi_address_pool *p, const struct addrpool_use *uses, size_t nuses,
		    const struct hvapi_addresses *rm, char *err, size_t errsz);

/* MaximumFreeAddresses: keeps at most max[subnet] free addresses per subnet (key ""
 * counts every subnet); the rest leave Free and Registered. Returns the number
 * removed. */
int addrpool_trim(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		  const struct hvapi_count *max, size_t nmax);

/* Takes a free address of subnet s out of Free: ip if non-zero (must be free), else the
 * first free one in the subnet. Addresses the subnet reserves (a pool written before
 * they were refused) are never handed out. Errors: "no free addresses in pool", "no
 * free address in subnet: X", "address: X not found in free pool", "IP X is the
 * gateway of subnet S" (subnets_reserved). */
int addrpool_allocate(struct hvapi_address_pool *p, const struct hvapi_subnet *s, struct in_addr ip,
		      struct hvapi_address *out, char *err, size_t errsz);

/* Puts a released address back into Free. -ENOENT if it is not registered (then it
 * is not ours to hand out), 0 if it already was free. */
int addrpool_release(struct hvapi_address_pool *p, const struct hvapi_address *a);

/* Removes an address from Free and Registered (exported VM). */
void addrpool_unregister(struct hvapi_address_pool *p, const struct hvapi_address *a);
/* The same for every address of l, in one pass. 0 or -ENOMEM (p unchanged). */
int addrpool_unregister_all(struct hvapi_address_pool *p, const struct hvapi_addresses *l);

/* Number of free addresses in subnet s. */
size_t addrpool_num_free(const struct hvapi_address_pool *p, const struct hvapi_subnet *s);

/* True if a is in the list (same IP when a has one, else same MAC). */
bool addrpool_contains(const struct hvapi_addresses *l, const struct hvapi_address *a);

/* Start-up repair (§4.1 step 9, made safe): drops duplicates, drops the addresses no VM
 * uses that their subnet reserves (gateway, network, broadcast, dynamic range: a pool
 * written before they were refused), drops Free entries not registered or in use by a
 * VM, returns to Free the registered addresses no VM uses, and reports each fix and
 * each VM address that is not registered (or is reserved) through report(). Returns
 * the number of fixes (the pool must then be rewritten) or -ENOMEM. */
int addrpool_reconcile(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		       const struct addrpool_use *uses, size_t nuses,
		       void (*report)(void *arg, const char *msg), void *arg);

/* A copy of src in *dst: two plain arrays, no JSON round trip (api_copy builds some
 * 70 MB of jansson objects for 65,536 addresses). 0 or -ENOMEM (*dst then empty). */
int addrpool_copy(struct hvapi_address_pool *dst, const struct hvapi_address_pool *src);

/* address-pool.json's text, byte for byte what api_write_file writes, printed address
 * by address: the whole pool as jansson objects takes some 70 MB for 65,536 addresses,
 * and glibc keeps that much of the heap once it has grown (issue 17). Returns a new
 * string (*len its length) or NULL when out of memory. */
char *addrpool_to_text(const struct hvapi_address_pool *p, size_t *len);

#endif
