/* Address index (see addrindex.h). */
#include "daemon/hypervisor/vmm/addrindex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAG_IP (1ull << 56)
#define TAG_MAC (2ull << 56)

uint64_t addrindex_ip_key(struct in_addr ip)
{
	return TAG_IP | ip.s_addr;
}

uint64_t addrindex_mac_key(const uint8_t *mac)
{
	uint64_t k = 0;

	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return TAG_MAC | k;
}

/* splitmix64's finalizer: every key bit moves every slot bit. */
static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebull;
	key ^= key >> 31;
	return (size_t)key & (cap - 1);
}

/* A power of two at least twice n (load at most one half), at least 16. */
static int cap_for(size_t n, size_t *cap)
{
	size_t c = 16;

	while (c / 2 < n) {
		if (c > SIZE_MAX / 4)
			return -ENOMEM;
		c *= 2;
	}
	*cap = c;
	return 0;
}

int addrindex_init(struct addrindex *ix, size_t expect)
{
	memset(ix, 0, sizeof(*ix));
	if (cap_for(expect, &ix->cap) < 0)
		return -ENOMEM;
	ix->keys = calloc(ix->cap, sizeof(*ix->keys));
	ix->vals = calloc(ix->cap, sizeof(*ix->vals));
	if (ix->keys == NULL || ix->vals == NULL) {
		addrindex_fini(ix);
		return -ENOMEM;
	}
	return 0;
}

void addrindex_fini(struct addrindex *ix)
{
	free(ix->keys);
	free(ix->vals);
	memset(ix, 0, sizeof(*ix));
}

/* The slot holding key, or the empty slot where it belongs. */
static size_t probe(const struct addrindex *ix, uint64_t key)
{
	size_t i = slot_of(key, ix->cap);

	while (ix->keys[i] != 0 && ix->keys[i] != key)
		i = (i + 1) & (ix->cap - 1);
	return i;
}

static int grow(struct addrindex *ix)
{
	struct addrindex bigger;

	if (addrindex_init(&bigger, ix->n + 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->keys[i] != 0) {
			size_t s = probe(&bigger, ix->keys[i]);

			bigger.keys[s] = ix->keys[i];
			bigger.vals[s] = ix->vals[i];
			bigger.n++;
		}
	addrindex_fini(ix);
	*ix = bigger;
	return 0;
}

int addrindex_put(struct addrindex *ix, uint64_t key, size_t val)
{
	size_t s;

	if (ix->cap == 0 && addrindex_init(ix, 0) < 0)
		return -ENOMEM;
	s = probe(ix, key);
	if (ix->keys[s] == key)
		return 1;
	if ((ix->n + 1) * 2 > ix->cap) {
		if (grow(ix) < 0)
			return -ENOMEM;
		s = probe(ix, key);
	}
	ix->keys[s] = key;
	ix->vals[s] = val;
	ix->n++;
	return 0;
}

bool addrindex_get(const struct addrindex *ix, uint64_t key, size_t *val)
{
	size_t s;

	if (ix->cap == 0)
		return false;
	s = probe(ix, key);
	if (ix->keys[s] != key)
		return false;
	if (val != NULL)
		*val = ix->vals[s];
	return true;
}

int addrindex_put_address(struct addrindex *ix, const struct hvapi_address *a, size_t val)
{
	if (a->ip.s_addr != 0 && addrindex_put(ix, addrindex_ip_key(a->ip), val) < 0)
		return -ENOMEM;
	return addrindex_put(ix, addrindex_mac_key(a->mac), val) < 0 ? -ENOMEM : 0;
}

int addrindex_of_list(struct addrindex *ix, const struct hvapi_addresses *l)
{
	if (addrindex_init(ix, 2 * l->n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (addrindex_put_address(ix, &l->v[i], i) < 0) {
			addrindex_fini(ix);
			return -ENOMEM;
		}
	return 0;
}

bool addrindex_find(const struct addrindex *ix, const struct hvapi_address *a, size_t *val)
{
	if (a->ip.s_addr != 0)
		return addrindex_get(ix, addrindex_ip_key(a->ip), val);
	return addrindex_get(ix, addrindex_mac_key(a->mac), val);
}
