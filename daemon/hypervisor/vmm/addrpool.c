/* Address pool logic (see addrpool.h). */
#include "daemon/hypervisor/vmm/addrpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same_mac(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 6) == 0;
}

static bool matches(const struct hvapi_address *entry, const struct hvapi_address *a)
{
	if (a->ip.s_addr != 0)
		return entry->ip.s_addr == a->ip.s_addr;
	return same_mac(entry->mac, a->mac);
}

bool addrpool_contains(const struct hvapi_addresses *l, const struct hvapi_address *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (matches(&l->v[i], a))
			return true;
	return false;
}

static ssize_t find_ip(const struct hvapi_addresses *l, struct in_addr ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (ip.s_addr != 0 && l->v[i].ip.s_addr == ip.s_addr)
			return (ssize_t)i;
	return -1;
}

static ssize_t find_mac(const struct hvapi_addresses *l, const uint8_t *mac)
{
	for (size_t i = 0; i < l->n; i++)
		if (same_mac(l->v[i].mac, mac))
			return (ssize_t)i;
	return -1;
}

static void remove_at(struct hvapi_addresses *l, size_t i)
{
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

static const struct addrpool_use *use_of_ip(const struct addrpool_use *u, size_t n,
					    struct in_addr ip)
{
	for (size_t i = 0; i < n; i++)
		if (ip.s_addr != 0 && u[i].addr.ip.s_addr == ip.s_addr)
			return &u[i];
	return NULL;
}

static const struct addrpool_use *use_of_mac(const struct addrpool_use *u, size_t n,
					     const uint8_t *mac)
{
	for (size_t i = 0; i < n; i++)
		if (same_mac(u[i].addr.mac, mac))
			return &u[i];
	return NULL;
}

static bool zero_mac(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return same_mac(mac, zero);
}

/* Checks one address to add; sets *adopt when a VM already holds it. */
static int check_add(const struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		     const struct addrpool_use *uses, size_t nuses,
		     const struct hvapi_addresses *add, size_t i, bool *adopt, char *err,
		     size_t errsz)
{
	const struct hvapi_address *a = &add->v[i];
	const struct addrpool_use *u;
	char ip[INET_ADDRSTRLEN], mac[18], vm[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	sjson_format_mac(a->mac, mac, sizeof(mac));
	*adopt = false;
	if (zero_mac(a->mac) || (a->mac[0] & 1)) {
		snprintf(err, errsz, "bad MAC address: %s", mac);
		return -EINVAL;
	}
	if (a->ip.s_addr != 0) {
		if (subnets_for_ip(subnets, a->ip) == NULL) {
			snprintf(err, errsz, "no subnet matching: %s", ip);
			return -EINVAL;
		}
		if (find_ip(&p->registered, a->ip) >= 0) {
			snprintf(err, errsz, "duplicate IP address: %s", ip);
			return -EEXIST;
		}
		for (size_t j = 0; j < i; j++)
			if (add->v[j].ip.s_addr == a->ip.s_addr) {
				snprintf(err, errsz, "duplicate IP address: %s", ip);
				return -EEXIST;
			}
		u = use_of_ip(uses, nuses, a->ip);
		if (u != NULL && !same_mac(u->addr.mac, a->mac)) {
			inet_ntop(AF_INET, &u->vm, vm, sizeof(vm));
			snprintf(err, errsz, "IP %s used by VM %s with another MAC", ip, vm);
			return -EEXIST;
		}
	}
	if (find_mac(&p->registered, a->mac) >= 0) {
		snprintf(err, errsz, "duplicate MAC address: %s", mac);
		return -EEXIST;
	}
	for (size_t j = 0; j < i; j++)
		if (same_mac(add->v[j].mac, a->mac)) {
			snprintf(err, errsz, "duplicate MAC address: %s", mac);
			return -EEXIST;
		}
	u = use_of_mac(uses, nuses, a->mac);
	if (u != NULL) {
		if (u->addr.ip.s_addr != a->ip.s_addr) {
			inet_ntop(AF_INET, &u->vm, vm, sizeof(vm));
			snprintf(err, errsz, "MAC %s used by VM %s", mac, vm);
			return -EEXIST;
		}
		*adopt = true;
	}
	return 0;
}

int addrpool_add(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		 const struct addrpool_use *uses, size_t nuses, const struct hvapi_addresses *add,
		 char *err, size_t errsz)
{
	bool *adopt;
	int rc = 0;

	if (add->n == 0)
		return 0;
	adopt = calloc(add->n, sizeof(*adopt));
	if (adopt == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < add->n && rc == 0; i++)
		rc = check_add(p, subnets, uses, nuses, add, i, &adopt[i], err, errsz);
	for (size_t i = 0; i < add->n && rc == 0; i++) {
		rc = hvapi_addresses_add(&p->registered, &add->v[i]);
		if (rc == 0 && !adopt[i])
			rc = hvapi_addresses_add(&p->free, &add->v[i]);
	}
	free(adopt);
	return rc;
}

/* Appends "X" to a comma list in buf. */
static void list_add(char *buf, size_t sz, const char *item)
{
	size_t len = strlen(buf);

	snprintf(buf + len, sz - len, "%s%s", len ? ", " : "", item);
}

static void describe(const struct hvapi_address *a, char *buf, size_t sz)
{
	if (a->ip.s_addr != 0)
		inet_ntop(AF_INET, &a->ip, buf, (socklen_t)sz);
	else
		sjson_format_mac(a->mac, buf, sz);
}

int addrpool_remove(struct hvapi_address_pool *p, const struct addrpool_use *uses, size_t nuses,
		    const struct hvapi_addresses *rm, char *err, size_t errsz)
{
	char notfree[512] = "", notreg[512] = "", used[512] = "";

	for (size_t i = 0; i < rm->n; i++) {
		const struct hvapi_address *a = &rm->v[i];
		char d[INET_ADDRSTRLEN + 18];

		describe(a, d, sizeof(d));
		if ((a->ip.s_addr != 0 && use_of_ip(uses, nuses, a->ip) != NULL) ||
		    (a->ip.s_addr == 0 && use_of_mac(uses, nuses, a->mac) != NULL))
			list_add(used, sizeof(used), d);
		else if (!addrpool_contains(&p->registered, a))
			list_add(notreg, sizeof(notreg), d);
		else if (!addrpool_contains(&p->free, a))
			list_add(notfree, sizeof(notfree), d);
	}
	if (*used) {
		snprintf(err, errsz, "addresses in use by VMs: %s", used);
		return -EBUSY;
	}
	if (*notreg) {
		snprintf(err, errsz, "addresses: %s not registered", notreg);
		return -ENOENT;
	}
	if (*notfree) {
		snprintf(err, errsz, "addresses: %s not in free pool", notfree);
		return -ENOENT;
	}
	for (size_t i = 0; i < rm->n; i++)
		addrpool_unregister(p, &rm->v[i]);
	return 0;
}

int addrpool_trim(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		  const struct hvapi_count *max, size_t nmax)
{
	size_t *seen = calloc(subnets->n + 1, sizeof(*seen)), total = 0;
	int removed = 0;

	if (seen == NULL || nmax == 0) {
		free(seen);
		return nmax == 0 ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < p->free.n;) {
		const struct hvapi_address a = p->free.v[i];
		const struct hvapi_subnet *s = subnets_for_ip(subnets, a.ip);
		size_t si = s ? (size_t)(s - subnets->v) : subnets->n;
		bool drop = false;

		seen[si]++;
		total++;
		for (size_t k = 0; k < nmax; k++) {
			const char *key = api_str(max[k].key);

			if ((*key == '\0' && total > max[k].count) ||
			    (s != NULL && strcmp(key, api_str(s->id)) == 0 &&
			     seen[si] > max[k].count))
				drop = true;
		}
		if (!drop) {
			i++;
			continue;
		}
		seen[si]--;
		total--;
		addrpool_unregister(p, &a);
		removed++;
	}
	free(seen);
	return removed;
}

int addrpool_allocate(struct hvapi_address_pool *p, const struct hvapi_subnet *s, struct in_addr ip,
		      struct hvapi_address *out, char *err, size_t errsz)
{
	char text[INET_ADDRSTRLEN];

	if (p->free.n == 0) {
		snprintf(err, errsz, "no free addresses in pool");
		return -ENOSPC;
	}
	if (ip.s_addr != 0) {
		ssize_t i = find_ip(&p->free, ip);

		if (i < 0 || !subnets_contains(s, ip)) {
			inet_ntop(AF_INET, &ip, text, sizeof(text));
			snprintf(err, errsz, "address: %s not found in free pool", text);
			return -ENOENT;
		}
		*out = p->free.v[i];
		remove_at(&p->free, (size_t)i);
		return 0;
	}
	for (size_t i = 0; i < p->free.n; i++) {
		if (p->free.v[i].ip.s_addr == 0 || !subnets_contains(s, p->free.v[i].ip))
			continue;
		*out = p->free.v[i];
		remove_at(&p->free, i);
		return 0;
	}
	snprintf(err, errsz, "no free address in subnet: %s", api_str(s->id));
	return -ENOSPC;
}

int addrpool_release(struct hvapi_address_pool *p, const struct hvapi_address *a)
{
	if (!addrpool_contains(&p->registered, a))
		return -ENOENT;
	if (addrpool_contains(&p->free, a))
		return 0;
	return hvapi_addresses_add(&p->free, a);
}

void addrpool_unregister(struct hvapi_address_pool *p, const struct hvapi_address *a)
{
	for (size_t i = 0; i < p->free.n;)
		if (matches(&p->free.v[i], a))
			remove_at(&p->free, i);
		else
			i++;
	for (size_t i = 0; i < p->registered.n;)
		if (matches(&p->registered.v[i], a))
			remove_at(&p->registered, i);
		else
			i++;
}

size_t addrpool_num_free(const struct hvapi_address_pool *p, const struct hvapi_subnet *s)
{
	size_t n = 0;

	for (size_t i = 0; i < p->free.n; i++)
		if (p->free.v[i].ip.s_addr != 0 && subnets_contains(s, p->free.v[i].ip))
			n++;
	return n;
}

/* Reports "address pool: <address> <what>". */
static void reportf(void (*report)(void *, const char *), void *arg, const char *what,
		    const struct hvapi_address *a)
{
	char d[INET_ADDRSTRLEN + 18], msg[256];

	describe(a, d, sizeof(d));
	snprintf(msg, sizeof(msg), "address pool: %s %s", d, what);
	report(arg, msg);
}

/* Removes later entries that repeat an earlier IP or MAC. */
static int dedup(struct hvapi_addresses *l, const char *what, void (*report)(void *, const char *),
		 void *arg)
{
	int fixes = 0;

	for (size_t i = 0; i < l->n; i++)
		for (size_t j = i + 1; j < l->n;) {
			if ((l->v[i].ip.s_addr != 0 && l->v[i].ip.s_addr == l->v[j].ip.s_addr) ||
			    same_mac(l->v[i].mac, l->v[j].mac)) {
				reportf(report, arg, what, &l->v[j]);
				remove_at(l, j);
				fixes++;
			} else {
				j++;
			}
		}
	return fixes;
}

int addrpool_reconcile(struct hvapi_address_pool *p, const struct addrpool_use *uses, size_t nuses,
		       void (*report)(void *arg, const char *msg), void *arg)
{
	int fixes = dedup(&p->registered, "registered twice: dropped the copy", report, arg);

	fixes += dedup(&p->free, "free twice: dropped the copy", report, arg);
	for (size_t i = 0; i < p->free.n;) {
		const struct hvapi_address *a = &p->free.v[i];

		if (!addrpool_contains(&p->registered, a)) {
			reportf(report, arg, "free but not registered: dropped", a);
		} else if ((a->ip.s_addr != 0 && use_of_ip(uses, nuses, a->ip) != NULL) ||
			   use_of_mac(uses, nuses, a->mac) != NULL) {
			reportf(report, arg, "free but used by a VM: no longer free", a);
		} else {
			i++;
			continue;
		}
		remove_at(&p->free, i);
		fixes++;
	}
	for (size_t i = 0; i < p->registered.n; i++) {
		const struct hvapi_address *a = &p->registered.v[i];

		if (addrpool_contains(&p->free, a) ||
		    (a->ip.s_addr != 0 && use_of_ip(uses, nuses, a->ip) != NULL) ||
		    use_of_mac(uses, nuses, a->mac) != NULL)
			continue;
		reportf(report, arg, "registered but unused: made free again", a);
		if (hvapi_addresses_add(&p->free, a) < 0)
			return -ENOMEM;
		fixes++;
	}
	for (size_t i = 0; i < nuses; i++)
		if (!addrpool_contains(&p->registered, &uses[i].addr))
			reportf(report, arg, "used by a VM but not registered", &uses[i].addr);
	return fixes;
}
