/* Address pool logic (see addrpool.h). Whatever walks the whole pool looks addresses
 * up in an addrindex built for the call, so no operation compares every address with
 * every other (issue 17: 100,000 addresses took 20 s to start). */
#include "daemon/hypervisor/vmm/addrpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/addrindex.h"

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

static void remove_at(struct hvapi_addresses *l, size_t i)
{
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

static bool zero_mac(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return same_mac(mac, zero);
}

/* The addresses VMs use, by IP and by MAC; the value is the position in uses (the
 * first use wins). */
static int index_uses(struct addrindex *ix, const struct addrpool_use *uses, size_t nuses)
{
	if (addrindex_init(ix, 2 * nuses) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < nuses; i++)
		if (addrindex_put_address(ix, &uses[i].addr, i) < 0) {
			addrindex_fini(ix);
			return -ENOMEM;
		}
	return 0;
}

/* True if a VM uses a's IP or a's MAC. */
static bool is_used(const struct addrindex *used, const struct hvapi_address *a)
{
	return (a->ip.s_addr != 0 && addrindex_get(used, addrindex_ip_key(a->ip), NULL)) ||
	       addrindex_get(used, addrindex_mac_key(a->mac), NULL);
}

/* Room for more entries at the end of l. */
static int reserve(struct hvapi_addresses *l, size_t more)
{
	struct hvapi_address *v;

	if (more > SIZE_MAX / sizeof(*v) - l->n - 1)
		return -ENOMEM;
	v = realloc(l->v, (l->n + more + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	return 0;
}

/* What an addition is checked against: the pool, the VMs' addresses and the
 * addresses of the request before the one at hand. */
struct add_check {
	const struct hvapi_subnets *subnets;
	const struct addrpool_use *uses;
	struct addrindex registered, used, earlier;
};

/* Checks the IP of a (non-zero) for an addition. */
static int check_add_ip(const struct add_check *c, const struct hvapi_address *a, char *err,
			size_t errsz)
{
	const struct hvapi_subnet *s = subnets_for_ip(c->subnets, a->ip);
	uint64_t key = addrindex_ip_key(a->ip);
	char ip[INET_ADDRSTRLEN], what[160];
	size_t k;

	inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
	if (s == NULL) {
		snprintf(err, errsz, "no subnet matching: %s", ip);
		return -EINVAL;
	}
	if (subnets_reserved(s, a->ip, what, sizeof(what))) {
		snprintf(err, errsz, "IP %s is %s", ip, what);
		return -EINVAL;
	}
	if (addrindex_get(&c->registered, key, NULL) || addrindex_get(&c->earlier, key, NULL)) {
		snprintf(err, errsz, "duplicate IP address: %s", ip);
		return -EEXIST;
	}
	/* The original's text: it counts the VMs' IPs as registered. */
	if (addrindex_get(&c->used, key, &k) && !same_mac(c->uses[k].addr.mac, a->mac)) {
		snprintf(err, errsz, "duplicate IP address: %s", ip);
		return -EEXIST;
	}
	return 0;
}

/* Checks the i-th address to add; sets *adopt when a VM already holds it. */
static int check_add(struct add_check *c, const struct hvapi_address *a, size_t i, bool *adopt,
		     char *err, size_t errsz)
{
	uint64_t key = addrindex_mac_key(a->mac);
	char mac[18];
	size_t k;
	int rc;

	sjson_format_mac(a->mac, mac, sizeof(mac));
	*adopt = false;
	if (zero_mac(a->mac) || (a->mac[0] & 1)) {
		snprintf(err, errsz, "bad MAC address: %s", mac);
		return -EINVAL;
	}
	if (a->ip.s_addr != 0 && (rc = check_add_ip(c, a, err, errsz)) < 0)
		return rc;
	if (addrindex_get(&c->registered, key, NULL) || addrindex_get(&c->earlier, key, NULL)) {
		snprintf(err, errsz, "duplicate MAC address: %s", mac);
		return -EEXIST;
	}
	if (addrindex_get(&c->used, key, &k)) {
		if (c->uses[k].addr.ip.s_addr != a->ip.s_addr) {
			snprintf(err, errsz, "duplicate MAC address: %s", mac);
			return -EEXIST;
		}
		*adopt = true;
	}
	if (addrindex_put_address(&c->earlier, a, i) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The bounds of one addition (ADDRPOOL_MAX_ADD, ADDRPOOL_MAX). */
static int check_bounds(const struct hvapi_address_pool *p, size_t n, char *err, size_t errsz)
{
	if (n > ADDRPOOL_MAX_ADD) {
		snprintf(err, errsz, "too many addresses to add: %zu (at most %d in one call)", n,
			 ADDRPOOL_MAX_ADD);
		return -E2BIG;
	}
	if (p->registered.n + n > ADDRPOOL_MAX) {
		snprintf(err, errsz,
			 "address pool full: %zu registered, %zu more would pass the limit of %d",
			 p->registered.n, n, ADDRPOOL_MAX);
		return -ENOSPC;
	}
	return 0;
}

int addrpool_add(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		 const struct addrpool_use *uses, size_t nuses, const struct hvapi_addresses *add,
		 char *err, size_t errsz)
{
	struct add_check c = {.subnets = subnets, .uses = uses};
	bool *adopt;
	int rc;

	if (add->n == 0)
		return 0;
	rc = check_bounds(p, add->n, err, errsz);
	if (rc < 0)
		return rc;
	adopt = calloc(add->n, sizeof(*adopt));
	rc = adopt == NULL ? -ENOMEM : addrindex_of_list(&c.registered, &p->registered);
	if (rc == 0)
		rc = index_uses(&c.used, uses, nuses);
	if (rc == 0)
		rc = addrindex_init(&c.earlier, 2 * add->n);
	if (rc < 0)
		snprintf(err, errsz, "out of memory");
	for (size_t i = 0; i < add->n && rc == 0; i++)
		rc = check_add(&c, &add->v[i], i, &adopt[i], err, errsz);
	if (rc == 0 && (reserve(&p->registered, add->n) < 0 || reserve(&p->free, add->n) < 0)) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; i < add->n && rc == 0; i++) {
		p->registered.v[p->registered.n++] = add->v[i];
		if (!adopt[i])
			p->free.v[p->free.n++] = add->v[i];
	}
	addrindex_fini(&c.registered);
	addrindex_fini(&c.used);
	addrindex_fini(&c.earlier);
	free(adopt);
	return rc;
}

static void describe(const struct hvapi_address *a, char *buf, size_t sz)
{
	if (a->ip.s_addr != 0)
		inet_ntop(AF_INET, &a->ip, buf, (socklen_t)sz);
	else
		sjson_format_mac(a->mac, buf, sz);
}

/* The addresses a removal could not find, kept apart by IP and by MAC as the
 * original reports them. */
struct missing {
	char (*ips)[INET_ADDRSTRLEN];
	char (*macs)[18];
	size_t nips, nmacs;
};

static int cmp_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The original's text for a set of keys: Go's "%v" of a map[string]struct{}, keys
 * sorted and unique ("map[10.0.0.5:{} 10.0.0.6:{}]"). Sorts keys in place. */
static void go_set(char *buf, size_t sz, void *keys, size_t n, size_t width)
{
	size_t len;
	const char *prev = NULL;

	qsort(keys, n, width, cmp_text);
	snprintf(buf, sz, "map[");
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)keys + i * width;

		if (prev != NULL && strcmp(prev, k) == 0)
			continue;
		len = strlen(buf);
		snprintf(buf + len, sz - len, "%s%s:{}", prev ? " " : "", k);
		prev = k;
	}
	len = strlen(buf);
	snprintf(buf + len, sz - len, "]");
}

static void missing_add(struct missing *ms, const struct hvapi_address *a)
{
	if (a->ip.s_addr != 0)
		inet_ntop(AF_INET, &a->ip, ms->ips[ms->nips++], INET_ADDRSTRLEN);
	else
		sjson_format_mac(a->mac, ms->macs[ms->nmacs++], 18);
}

/* "IPs: map[...] <what>" or "MACs: map[...] <what>"; false if nothing is missing. */
static bool missing_report(struct missing *ms, const char *what, char *err, size_t errsz)
{
	char set[480];

	if (ms->nips > 0) {
		go_set(set, sizeof(set), ms->ips, ms->nips, INET_ADDRSTRLEN);
		snprintf(err, errsz, "IPs: %s %s", set, what);
	} else if (ms->nmacs > 0) {
		go_set(set, sizeof(set), ms->macs, ms->nmacs, 18);
		snprintf(err, errsz, "MACs: %s %s", set, what);
	}
	return ms->nips + ms->nmacs > 0;
}

int addrpool_remove(struct hvapi_address_pool *p, const struct addrpool_use *uses, size_t nuses,
		    const struct hvapi_addresses *rm, char *err, size_t errsz)
{
	struct addrindex reg = {0}, fr = {0}, inuse = {0};
	struct missing notfree = {0}, notreg = {0};
	int rc = 0;

	if (rm->n == 0)
		return 0;
	notfree.ips = calloc(rm->n, sizeof(*notfree.ips));
	notfree.macs = calloc(rm->n, sizeof(*notfree.macs));
	notreg.ips = calloc(rm->n, sizeof(*notreg.ips));
	notreg.macs = calloc(rm->n, sizeof(*notreg.macs));
	if (notfree.ips == NULL || notfree.macs == NULL || notreg.ips == NULL ||
	    notreg.macs == NULL || addrindex_of_list(&reg, &p->registered) < 0 ||
	    addrindex_of_list(&fr, &p->free) < 0 || index_uses(&inuse, uses, nuses) < 0) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	/* An address a VM uses is not free, whatever the pool file says. */
	for (size_t i = 0; i < rm->n && rc == 0; i++) {
		const struct hvapi_address *a = &rm->v[i];

		if (addrindex_find(&inuse, a, NULL) || !addrindex_find(&fr, a, NULL))
			missing_add(&notfree, a);
		if (!addrindex_find(&reg, a, NULL))
			missing_add(&notreg, a);
	}
	addrindex_fini(&reg);
	addrindex_fini(&fr);
	addrindex_fini(&inuse);
	if (rc == 0 && (missing_report(&notfree, "not in free pool", err, errsz) ||
			missing_report(&notreg, "not registered", err, errsz)))
		rc = -ENOENT;
	if (rc == 0 && (rc = addrpool_unregister_all(p, rm)) < 0)
		snprintf(err, errsz, "out of memory");
	free(notfree.ips);
	free(notfree.macs);
	free(notreg.ips);
	free(notreg.macs);
	return rc;
}

/* limit[i]: the smallest MaximumFreeAddresses of subnet i; limit[n]: of key "". */
static size_t *trim_limits(const struct hvapi_subnets *subnets, const struct hvapi_count *max,
			   size_t nmax)
{
	size_t *limit = malloc((subnets->n + 1) * sizeof(*limit));

	for (size_t i = 0; limit != NULL && i <= subnets->n; i++)
		limit[i] = SIZE_MAX;
	for (size_t k = 0; limit != NULL && k < nmax; k++) {
		const char *key = api_str(max[k].key);
		const struct hvapi_subnet *s = *key ? subnets_find(subnets, key) : NULL;
		size_t i = s != NULL ? (size_t)(s - subnets->v) : subnets->n;

		if ((*key == '\0' || s != NULL) && max[k].count < limit[i])
			limit[i] = max[k].count;
	}
	return limit;
}

int addrpool_trim(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		  const struct hvapi_count *max, size_t nmax)
{
	size_t *seen, *limit, total = 0;
	struct hvapi_addresses gone = {0};
	int rc = 0;

	if (nmax == 0)
		return 0;
	seen = calloc(subnets->n + 1, sizeof(*seen));
	limit = trim_limits(subnets, max, nmax);
	gone.v = malloc((p->free.n + 1) * sizeof(*gone.v));
	if (seen == NULL || limit == NULL || gone.v == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < p->free.n; i++) {
		const struct hvapi_subnet *s = subnets_for_ip(subnets, p->free.v[i].ip);
		size_t si = s ? (size_t)(s - subnets->v) : subnets->n;

		if (total + 1 > limit[subnets->n] || (s != NULL && seen[si] + 1 > limit[si])) {
			gone.v[gone.n++] = p->free.v[i];
			continue;
		}
		seen[si]++;
		total++;
	}
	if (rc == 0)
		rc = addrpool_unregister_all(p, &gone);
	free(seen);
	free(limit);
	free(gone.v);
	return rc < 0 ? rc : (int)gone.n;
}

int addrpool_allocate(struct hvapi_address_pool *p, const struct hvapi_subnet *s, struct in_addr ip,
		      struct hvapi_address *out, char *err, size_t errsz)
{
	char text[INET_ADDRSTRLEN], what[160];

	if (p->free.n == 0) {
		snprintf(err, errsz, "no free addresses in pool");
		return -ENOSPC;
	}
	if (ip.s_addr != 0) {
		ssize_t i = find_ip(&p->free, ip);

		inet_ntop(AF_INET, &ip, text, sizeof(text));
		if (i < 0 || !subnets_contains(s, ip)) {
			snprintf(err, errsz, "address: %s not found in free pool", text);
			return -ENOENT;
		}
		if (subnets_reserved(s, ip, what, sizeof(what))) {
			snprintf(err, errsz, "IP %s is %s", text, what);
			return -EINVAL;
		}
		*out = p->free.v[i];
		remove_at(&p->free, (size_t)i);
		return 0;
	}
	for (size_t i = 0; i < p->free.n; i++) {
		if (p->free.v[i].ip.s_addr == 0 || !subnets_contains(s, p->free.v[i].ip) ||
		    subnets_reserved(s, p->free.v[i].ip, what, sizeof(what)))
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

/* Keeps the entries of l that match no address of gone (addrpool_unregister_all). */
static void filter_out(struct hvapi_addresses *l, const struct addrindex *gone)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct hvapi_address *e = &l->v[i];

		if ((e->ip.s_addr != 0 && addrindex_get(gone, addrindex_ip_key(e->ip), NULL)) ||
		    addrindex_get(gone, addrindex_mac_key(e->mac), NULL))
			continue;
		l->v[k++] = *e;
	}
	l->n = k;
}

int addrpool_unregister_all(struct hvapi_address_pool *p, const struct hvapi_addresses *l)
{
	struct addrindex gone;

	if (l->n == 0)
		return 0;
	if (addrindex_init(&gone, l->n) < 0)
		return -ENOMEM;
	/* The match of addrpool_unregister: by IP when the address has one, else by MAC. */
	for (size_t i = 0; i < l->n; i++) {
		const struct hvapi_address *a = &l->v[i];
		uint64_t key =
		    a->ip.s_addr != 0 ? addrindex_ip_key(a->ip) : addrindex_mac_key(a->mac);

		if (addrindex_put(&gone, key, i) < 0) {
			addrindex_fini(&gone);
			return -ENOMEM;
		}
	}
	filter_out(&p->free, &gone);
	filter_out(&p->registered, &gone);
	addrindex_fini(&gone);
	return 0;
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

/* Removes later entries that repeat an earlier IP or MAC. Returns the number removed
 * or -ENOMEM (l is then half done: the caller drops its copy of the pool). */
static int dedup(struct hvapi_addresses *l, const char *what, void (*report)(void *, const char *),
		 void *arg)
{
	struct addrindex seen;
	size_t k = 0;
	int fixes = 0;

	if (addrindex_init(&seen, 2 * l->n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct hvapi_address a = l->v[i];

		if ((a.ip.s_addr != 0 && addrindex_get(&seen, addrindex_ip_key(a.ip), NULL)) ||
		    addrindex_get(&seen, addrindex_mac_key(a.mac), NULL)) {
			reportf(report, arg, what, &a);
			fixes++;
			continue;
		}
		if (addrindex_put_address(&seen, &a, k) < 0) {
			addrindex_fini(&seen);
			return -ENOMEM;
		}
		l->v[k++] = a;
	}
	l->n = k;
	addrindex_fini(&seen);
	return fixes;
}

/* Drops the registered addresses no VM uses that their subnet reserves; reports the
 * ones a VM uses. Returns the number dropped or -ENOMEM. */
static int drop_reserved(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
			 const struct addrindex *used, void (*report)(void *, const char *),
			 void *arg)
{
	struct hvapi_addresses gone = {0};
	char what[160], msg[200];
	int rc;

	gone.v = malloc((p->registered.n + 1) * sizeof(*gone.v));
	if (gone.v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < p->registered.n; i++) {
		const struct hvapi_address *a = &p->registered.v[i];
		const struct hvapi_subnet *s = subnets_for_ip(subnets, a->ip);

		if (a->ip.s_addr == 0 || s == NULL ||
		    !subnets_reserved(s, a->ip, what, sizeof(what)))
			continue;
		if (is_used(used, a)) {
			snprintf(msg, sizeof(msg), "is %s but used by a VM", what);
			reportf(report, arg, msg, a);
			continue;
		}
		snprintf(msg, sizeof(msg), "is %s: dropped", what);
		reportf(report, arg, msg, a);
		gone.v[gone.n++] = *a;
	}
	rc = addrpool_unregister_all(p, &gone);
	free(gone.v);
	return rc < 0 ? rc : (int)gone.n;
}

/* Free entries must be registered and unused; registered ones no VM uses are free. */
static int refree(struct hvapi_address_pool *p, const struct addrindex *reg,
		  const struct addrindex *used, void (*report)(void *, const char *), void *arg)
{
	struct addrindex fr;
	size_t k = 0;
	int fixes = 0;

	for (size_t i = 0; i < p->free.n; i++) {
		const struct hvapi_address a = p->free.v[i];

		if (!addrindex_find(reg, &a, NULL)) {
			reportf(report, arg, "free but not registered: dropped", &a);
		} else if (is_used(used, &a)) {
			reportf(report, arg, "free but used by a VM: no longer free", &a);
		} else {
			p->free.v[k++] = a;
			continue;
		}
		fixes++;
	}
	p->free.n = k;
	if (addrindex_of_list(&fr, &p->free) < 0 || reserve(&p->free, p->registered.n) < 0) {
		addrindex_fini(&fr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->registered.n; i++) {
		const struct hvapi_address *a = &p->registered.v[i];

		if (addrindex_find(&fr, a, NULL) || is_used(used, a))
			continue;
		reportf(report, arg, "registered but unused: made free again", a);
		p->free.v[p->free.n++] = *a;
		fixes++;
	}
	addrindex_fini(&fr);
	return fixes;
}

int addrpool_reconcile(struct hvapi_address_pool *p, const struct hvapi_subnets *subnets,
		       const struct addrpool_use *uses, size_t nuses,
		       void (*report)(void *arg, const char *msg), void *arg)
{
	struct addrindex used = {0}, reg = {0};
	int fixes = 0, rc;

	rc = index_uses(&used, uses, nuses);
	if (rc < 0)
		goto out_fini;
	rc = dedup(&p->registered, "registered twice: dropped the copy", report, arg);
	if (rc < 0)
		goto out_fini;
	fixes += rc;
	rc = dedup(&p->free, "free twice: dropped the copy", report, arg);
	if (rc < 0)
		goto out_fini;
	fixes += rc;
	rc = drop_reserved(p, subnets, &used, report, arg);
	if (rc < 0)
		goto out_fini;
	fixes += rc;
	rc = addrindex_of_list(&reg, &p->registered);
	if (rc == 0)
		rc = refree(p, &reg, &used, report, arg);
	if (rc < 0)
		goto out_fini;
	fixes += rc;
	for (size_t i = 0; i < nuses; i++)
		if (!addrindex_find(&reg, &uses[i].addr, NULL))
			reportf(report, arg, "used by a VM but not registered", &uses[i].addr);
out_fini:
	addrindex_fini(&used);
	addrindex_fini(&reg);
	return rc < 0 ? rc : fixes;
}

static int copy_list(struct hvapi_addresses *dst, const struct hvapi_addresses *src)
{
	dst->n = 0;
	dst->v = src->n ? malloc(src->n * sizeof(*dst->v)) : NULL;
	if (src->n && dst->v == NULL)
		return -ENOMEM;
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = src->n;
	return 0;
}

int addrpool_copy(struct hvapi_address_pool *dst, const struct hvapi_address_pool *src)
{
	memset(dst, 0, sizeof(*dst));
	if (copy_list(&dst->free, &src->free) < 0 ||
	    copy_list(&dst->registered, &src->registered) < 0) {
		free(dst->free.v);
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	return 0;
}

/* One list of the pool as a field value of the top object, as api_write_file writes it
 * (JSON_INDENT(4), depth 2; test_addrpool checks the two agree): null when empty (a Go
 * nil slice), IpAddress left out when 0.0.0.0 (omitempty). */
static void list_text(FILE *f, const struct hvapi_addresses *l)
{
	char ip[INET_ADDRSTRLEN], mac[18];

	if (l->n == 0) {
		fputs("null", f);
		return;
	}
	fputs("[\n", f);
	for (size_t i = 0; i < l->n; i++) {
		const struct hvapi_address *a = &l->v[i];

		fputs("        {\n", f);
		if (a->ip.s_addr != 0) {
			inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
			fprintf(f, "            \"IpAddress\": \"%s\",\n", ip);
		}
		sjson_format_mac(a->mac, mac, sizeof(mac));
		fprintf(f, "            \"MacAddress\": \"%s\"\n        }%s", mac,
			i + 1 < l->n ? ",\n" : "\n    ]");
	}
}

char *addrpool_to_text(const struct hvapi_address_pool *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	bool bad;

	if (f == NULL)
		return NULL;
	fputs("{\n    \"Free\": ", f);
	list_text(f, &p->free);
	fputs(",\n    \"Registered\": ", f);
	list_text(f, &p->registered);
	fputs("\n}\n", f);
	bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}
