/* pool: which addresses the Fleet Manager gave to which hypervisor, and which it may
 * still give (spec/fleet-and-images.md §1.4).
 *
 * The rule, so that no IP is ever in two hypervisors' pools:
 *  - An address is TAKEN when a hypervisor is assigned it (the record says so), when any
 *    hypervisor's latest report lists it among its registered addresses (HaveAddressPool
 *    + AddressPool), when a topology machine or a VM uses it, when it is the subnet's
 *    gateway or one of its ReservedIPs. Only addresses that are not taken are handed
 *    out, each to one hypervisor.
 *  - The record is persisted (atomically, by the caller) before the ChangeAddressPool
 *    that adds an address is sent: a crash can leave an address assigned that the
 *    hypervisor never got (it is then released, below), never the reverse.
 *  - A report makes every address it lists assigned to its hypervisor (unless another
 *    hypervisor is assigned it: a conflict, logged by the caller; it stays taken).
 *  - An assigned address missing from its hypervisor's report is released (free again)
 *    only when the report is known to be newer than the address's addition: the
 *    address was seen in an earlier report (confirmed; the hypervisor let it go, e.g.
 *    after MaximumFreeAddresses), or the report comes on a GetUpdates connection opened
 *    after the ChangeAddressPool that added it had ended. An addition still in flight
 *    is never released by a report; one the hypervisor refused with an error (it
 *    changes its pool atomically) is released at once.
 *  - At start-up every address of the record is assigned and unconfirmed: it stays
 *    taken until its hypervisor reports on a connection of this process (opened after
 *    the previous process died, so after any addition it had in flight reached the
 *    hypervisor), which keeps what the hypervisor has and releases the rest. A
 *    hypervisor that never reports keeps its addresses.
 * Not thread-safe: the caller serialises. */
#include "daemon/fleet-manager/pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ipmap ---- */

static size_t ipmap_hash(uint32_t ip, size_t cap)
{
	uint32_t h = ip * 2654435761u;

	return (h ^ (h >> 16)) & (cap - 1);
}

static int ipmap_grow(struct ipmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct ipmap_slot *s = calloc(cap, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->s[i].ip == 0)
			continue;
		for (j = ipmap_hash(m->s[i].ip, cap); s[j].ip != 0; j = (j + 1) & (cap - 1))
			;
		s[j] = m->s[i];
	}
	free(m->s);
	m->s = s;
	m->cap = cap;
	return 0;
}

static struct ipmap_slot *ipmap_find(const struct ipmap *m, uint32_t ip)
{
	if (m->cap == 0)
		return NULL;
	for (size_t j = ipmap_hash(ip, m->cap);; j = (j + 1) & (m->cap - 1)) {
		if (m->s[j].ip == ip)
			return &m->s[j];
		if (m->s[j].ip == 0)
			return NULL;
	}
}

int ipmap_put(struct ipmap *m, struct in_addr ip, void *val)
{
	struct ipmap_slot *f;
	size_t j;

	if (ip.s_addr == 0)
		return -EINVAL;
	f = ipmap_find(m, ip.s_addr);
	if (f != NULL) {
		f->val = val;
		return 0;
	}
	if ((m->n + 1) * 4 > m->cap * 3 && ipmap_grow(m) < 0)
		return -ENOMEM;
	for (j = ipmap_hash(ip.s_addr, m->cap); m->s[j].ip != 0; j = (j + 1) & (m->cap - 1))
		;
	m->s[j].ip = ip.s_addr;
	m->s[j].val = val;
	m->n++;
	return 0;
}

void *ipmap_get(const struct ipmap *m, struct in_addr ip)
{
	struct ipmap_slot *f = ip.s_addr ? ipmap_find(m, ip.s_addr) : NULL;

	return f ? f->val : NULL;
}

void ipmap_del(struct ipmap *m, struct in_addr ip)
{
	struct ipmap_slot *f = ip.s_addr ? ipmap_find(m, ip.s_addr) : NULL;
	size_t i, j;

	if (f == NULL)
		return;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	i = (size_t)(f - m->s);
	m->s[i].ip = 0;
	m->s[i].val = NULL;
	for (j = (i + 1) & (m->cap - 1); m->s[j].ip != 0; j = (j + 1) & (m->cap - 1)) {
		size_t h = ipmap_hash(m->s[j].ip, m->cap);

		/* Moves j into the hole i unless its home h lies cyclically in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->s[i] = m->s[j];
			m->s[j].ip = 0;
			m->s[j].val = NULL;
			i = j;
		}
	}
	m->n--;
}

void ipmap_clear(struct ipmap *m)
{
	free(m->s);
	memset(m, 0, sizeof(*m));
}

/* ---- marks ---- */

struct pool_marks pool_marks_for(const struct pool_marks *def, bool disabled, const char *health)
{
	struct pool_marks m = {16, 8, 24};

	if (def != NULL && (def->desired || def->min || def->max))
		m = *def;
	if (disabled)
		return (struct pool_marks){0, 0, 0};
	if (health != NULL && (strcmp(health, "marginal") == 0 || strcmp(health, "at risk") == 0))
		return (struct pool_marks){1, 1, 1};
	return m;
}

enum pool_action pool_decide(const struct pool_marks *m, unsigned nfree, unsigned *count)
{
	*count = 0;
	if (nfree < m->min && m->desired > nfree) {
		*count = m->desired - nfree;
		return POOL_REFILL;
	}
	if (nfree > m->max) {
		*count = m->desired;
		return POOL_TRIM;
	}
	return POOL_KEEP;
}

/* ---- the record ---- */

enum pool_ip_state {
	POOL_IP_INFLIGHT,  /* its ChangeAddressPool has not ended */
	POOL_IP_PENDING,   /* ended at done_seq (or loaded: 0), not yet reported */
	POOL_IP_CONFIRMED, /* its owner reported it */
};

struct pool_host {
	char *name;
	uint32_t *rep; /* latest report, sorted (network order compared as numbers) */
	size_t nrep;
	uint32_t *asg; /* assigned to it, unsorted */
	size_t nasg, casg;
	uint64_t conn_seq; /* when its current connection opened */
};

struct pool_ip {
	struct pool_host *owner; /* assigned to; NULL: only reported */
	enum pool_ip_state state;
	uint64_t done_seq;
	unsigned nrep; /* hosts whose latest report lists it */
};

struct pool {
	struct ipmap ips;	  /* -> struct pool_ip */
	struct pool_host **hosts; /* sorted by name */
	size_t nhosts;
	uint64_t seq, version;
};

struct pool *pool_new(void)
{
	return calloc(1, sizeof(struct pool));
}

void pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->ips.cap; i++)
		free(p->ips.s[i].val);
	ipmap_clear(&p->ips);
	for (size_t i = 0; i < p->nhosts; i++) {
		free(p->hosts[i]->name);
		free(p->hosts[i]->rep);
		free(p->hosts[i]->asg);
		free(p->hosts[i]);
	}
	free(p->hosts);
	free(p);
}

uint64_t pool_version(const struct pool *p)
{
	return p->version;
}

static size_t host_index(const struct pool *p, const char *name, bool *found)
{
	size_t lo = 0, hi = p->nhosts;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->hosts[mid]->name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct pool_host *host_find(const struct pool *p, const char *name)
{
	bool found;
	size_t i = host_index(p, name, &found);

	return found ? p->hosts[i] : NULL;
}

static struct pool_host *host_get(struct pool *p, const char *name)
{
	bool found;
	size_t i = host_index(p, name, &found);
	struct pool_host **v, *h;

	if (found)
		return p->hosts[i];
	h = calloc(1, sizeof(*h));
	v = realloc(p->hosts, (p->nhosts + 1) * sizeof(*v));
	if (v != NULL)
		p->hosts = v;
	if (h == NULL || v == NULL || (h->name = strdup(name)) == NULL) {
		free(h);
		return NULL;
	}
	memmove(&v[i + 1], &v[i], (p->nhosts - i) * sizeof(*v));
	v[i] = h;
	p->nhosts++;
	return h;
}

static int asg_add(struct pool_host *h, uint32_t ip)
{
	if (h->nasg == h->casg) {
		size_t c = h->casg ? h->casg * 2 : 16;
		uint32_t *v = realloc(h->asg, c * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		h->asg = v;
		h->casg = c;
	}
	h->asg[h->nasg++] = ip;
	return 0;
}

static void asg_del(struct pool_host *h, uint32_t ip)
{
	for (size_t i = 0; i < h->nasg; i++)
		if (h->asg[i] == ip) {
			h->asg[i] = h->asg[--h->nasg];
			return;
		}
}

static struct pool_ip *ip_get(struct pool *p, uint32_t ip)
{
	struct in_addr a = {ip};
	struct pool_ip *e = ipmap_get(&p->ips, a);

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL || ipmap_put(&p->ips, a, e) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

/* Forgets e when nothing holds it any more. */
static void ip_gc(struct pool *p, uint32_t ip, struct pool_ip *e)
{
	struct in_addr a = {ip};

	if (e->owner == NULL && e->nrep == 0) {
		ipmap_del(&p->ips, a);
		free(e);
	}
}

static int assign(struct pool *p, struct pool_host *h, uint32_t ip, enum pool_ip_state st)
{
	struct pool_ip *e = ip_get(p, ip);

	if (e == NULL)
		return -ENOMEM;
	if (e->owner != NULL && e->owner != h)
		return -EBUSY;
	if (e->owner == NULL) {
		if (asg_add(h, ip) < 0) {
			ip_gc(p, ip, e);
			return -ENOMEM;
		}
		e->owner = h;
		p->version++;
	}
	e->state = st;
	e->done_seq = 0;
	return 0;
}

static void release(struct pool *p, struct pool_host *h, uint32_t ip, struct pool_ip *e)
{
	asg_del(h, ip);
	e->owner = NULL;
	p->version++;
	ip_gc(p, ip, e);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t ip)
{
	return n > 0 && bsearch(&ip, v, n, sizeof(*v), cmp_u32) != NULL;
}

int pool_hv_connected(struct pool *p, const char *host)
{
	struct pool_host *h = host_get(p, host);

	if (h == NULL)
		return -ENOMEM;
	h->conn_seq = ++p->seq;
	return 0;
}

int pool_hv_report(struct pool *p, const char *host, const struct in_addr *ips, size_t n,
		   size_t *conflicts)
{
	struct pool_host *h = host_get(p, host);
	uint32_t *rep;
	size_t nrep = 0;

	*conflicts = 0;
	if (h == NULL)
		return -ENOMEM;
	rep = malloc((n ? n : 1) * sizeof(*rep));
	if (rep == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ips[i].s_addr != 0)
			rep[nrep++] = ips[i].s_addr;
	qsort(rep, nrep, sizeof(*rep), cmp_u32);
	{
		size_t k = 0;

		for (size_t i = 0; i < nrep; i++)
			if (k == 0 || rep[k - 1] != rep[i])
				rep[k++] = rep[i];
		nrep = k;
	}
	/* Entries first, so that nothing below can fail half-way. */
	for (size_t i = 0; i < nrep; i++)
		if (ip_get(p, rep[i]) == NULL) {
			free(rep);
			return -ENOMEM;
		}
	if (h->nasg + nrep > h->casg) {
		uint32_t *v = realloc(h->asg, (h->nasg + nrep) * sizeof(*v));

		if (v == NULL) {
			free(rep);
			return -ENOMEM;
		}
		h->asg = v;
		h->casg = h->nasg + nrep;
	}
	for (size_t i = 0; i < nrep; i++) {
		struct pool_ip *e = ipmap_get(&p->ips, (struct in_addr){rep[i]});

		if (!in_sorted(h->rep, h->nrep, rep[i]))
			e->nrep++;
		if (e->owner == NULL)
			assign(p, h, rep[i], POOL_IP_CONFIRMED);
		else if (e->owner == h)
			e->state = POOL_IP_CONFIRMED;
		else
			(*conflicts)++;
	}
	for (size_t i = 0; i < h->nrep; i++)
		if (!in_sorted(rep, nrep, h->rep[i])) {
			struct pool_ip *e = ipmap_get(&p->ips, (struct in_addr){h->rep[i]});

			e->nrep--;
			ip_gc(p, h->rep[i], e);
		}
	free(h->rep);
	h->rep = rep;
	h->nrep = nrep;
	for (size_t i = 0; i < h->nasg;) {
		uint32_t ip = h->asg[i];
		struct pool_ip *e = ipmap_get(&p->ips, (struct in_addr){ip});

		if (!in_sorted(rep, nrep, ip) &&
		    (e->state == POOL_IP_CONFIRMED ||
		     (e->state == POOL_IP_PENDING && e->done_seq < h->conn_seq))) {
			release(p, h, ip, e); /* moves the last one to i */
			continue;
		}
		i++;
	}
	return 0;
}

bool pool_taken(const struct pool *p, const struct fmapi_topology_subnet *s, struct in_addr ip,
		pool_in_use_fn in_use, void *arg)
{
	if (ipmap_get(&p->ips, ip) != NULL)
		return true;
	if (s != NULL) {
		if (s->subnet.ip_gateway.s_addr == ip.s_addr)
			return true;
		for (size_t i = 0; i < s->reserved_ips.n; i++)
			if (s->reserved_ips.v[i].s_addr == ip.s_addr)
				return true;
	}
	return in_use != NULL && in_use(arg, ip);
}

const char *pool_owner(const struct pool *p, struct in_addr ip)
{
	struct pool_ip *e = ipmap_get(&p->ips, ip);

	if (e == NULL)
		return NULL;
	if (e->owner != NULL)
		return e->owner->name;
	for (size_t i = 0; i < p->nhosts; i++)
		if (in_sorted(p->hosts[i]->rep, p->hosts[i]->nrep, ip.s_addr))
			return p->hosts[i]->name;
	return NULL;
}

bool pool_reported(const struct pool *p, const char *host, struct in_addr ip)
{
	const struct pool_host *h = host_find(p, host);

	return h != NULL && in_sorted(h->rep, h->nrep, ip.s_addr);
}

size_t pool_count(const struct pool *p, const char *host)
{
	const struct pool_host *h = host_find(p, host);

	return h ? h->nasg : 0;
}

size_t pool_unconfirmed(const struct pool *p, const char *host, const struct hvapi_subnet *s)
{
	const struct pool_host *h = host_find(p, host);
	size_t n = 0;

	for (size_t i = 0; h != NULL && i < h->nasg; i++) {
		struct in_addr a = {h->asg[i]};
		const struct pool_ip *e = ipmap_get(&p->ips, a);

		if (e->state != POOL_IP_CONFIRMED && pool_subnet_contains(s, a))
			n++;
	}
	return n;
}

int pool_alloc(struct pool *p, const char *host, const struct fmapi_topology_subnet *s, unsigned n,
	       pool_in_use_fn in_use, void *arg, struct in_addr *out)
{
	uint32_t gw = ntohl(s->subnet.ip_gateway.s_addr), mask = ntohl(s->subnet.ip_mask.s_addr);
	uint32_t first = (gw & mask) + 1, last = (gw | ~mask) - 1;
	struct pool_host *h;
	unsigned got = 0;

	if (s->first_auto_ip.s_addr != 0)
		first = ntohl(s->first_auto_ip.s_addr);
	if (s->last_auto_ip.s_addr != 0)
		last = ntohl(s->last_auto_ip.s_addr);
	if (n == 0 || first > last || mask == 0)
		return 0;
	h = host_get(p, host);
	if (h == NULL)
		return -ENOMEM;
	for (uint32_t a = first;; a++) {
		struct in_addr ip = {htonl(a)};

		if (!pool_taken(p, s, ip, in_use, arg)) {
			int rc = assign(p, h, ip.s_addr, POOL_IP_INFLIGHT);

			if (rc < 0) {
				pool_sent(p, host, out, got, true);
				return rc;
			}
			out[got++] = ip;
			if (got == n)
				break;
		}
		if (a == last)
			break;
	}
	return (int)got;
}

int pool_assign(struct pool *p, const char *host, struct in_addr ip)
{
	struct pool_host *h = host_get(p, host);

	if (h == NULL)
		return -ENOMEM;
	return assign(p, h, ip.s_addr, POOL_IP_INFLIGHT);
}

void pool_sent(struct pool *p, const char *host, const struct in_addr *ips, size_t n, bool rejected)
{
	struct pool_host *h = host_find(p, host);
	uint64_t seq = ++p->seq;

	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct pool_ip *e = ipmap_get(&p->ips, ips[i]);

		if (e == NULL || e->owner != h || e->state != POOL_IP_INFLIGHT)
			continue;
		if (rejected) {
			release(p, h, ips[i].s_addr, e);
			continue;
		}
		e->state = POOL_IP_PENDING;
		e->done_seq = seq;
	}
}

/* ---- persistence ---- */

struct pool_snap_host {
	char *name;
	uint32_t *v; /* host order */
	size_t n;
};

struct pool_snap {
	struct pool_snap_host *h;
	size_t n;
};

void pool_snap_free(struct pool_snap *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->h[i].name);
		free(s->h[i].v);
	}
	free(s->h);
	free(s);
}

struct pool_snap *pool_snapshot(const struct pool *p)
{
	struct pool_snap *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->h = calloc(p->nhosts ? p->nhosts : 1, sizeof(*s->h))) == NULL)
		goto fail;
	for (size_t i = 0; i < p->nhosts; i++) {
		const struct pool_host *h = p->hosts[i];
		struct pool_snap_host *d = &s->h[s->n];

		if (h->nasg == 0)
			continue;
		d->name = strdup(h->name);
		d->v = malloc(h->nasg * sizeof(*d->v));
		s->n++;
		if (d->name == NULL || d->v == NULL)
			goto fail;
		for (size_t k = 0; k < h->nasg; k++)
			d->v[k] = ntohl(h->asg[k]);
		d->n = h->nasg;
	}
	return s;
fail:
	pool_snap_free(s);
	return NULL;
}

char *pool_snap_dump(const struct pool_snap *snap)
{
	json_t *root = json_object(), *as = json_object();
	char *s = NULL;

	if (snap == NULL || root == NULL || as == NULL ||
	    json_object_set_new(root, "Assignments", as) < 0) {
		json_decref(as);
		goto out;
	}
	for (size_t i = 0; i < snap->n; i++) {
		struct pool_snap_host *h = &snap->h[i];
		json_t *l = json_array();

		if (l == NULL || json_object_set_new(as, h->name, l) < 0)
			goto out;
		qsort(h->v, h->n, sizeof(*h->v), cmp_u32);
		for (size_t j = 0; j < h->n; j++) {
			char buf[INET_ADDRSTRLEN];
			struct in_addr a = {htonl(h->v[j])};

			inet_ntop(AF_INET, &a, buf, sizeof(buf));
			if (json_array_append_new(l, json_string(buf)) < 0)
				goto out;
		}
	}
	s = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
out:
	json_decref(root);
	return s;
}

char *pool_dump(const struct pool *p)
{
	struct pool_snap *snap = pool_snapshot(p);
	char *s = pool_snap_dump(snap);

	pool_snap_free(snap);
	return s;
}

int pool_load(struct pool *p, const char *json, size_t len, char *err, size_t errsz)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je), *as, *l;
	const char *host;
	int rc = -EINVAL;

	if (root == NULL) {
		snprintf(err, errsz, "line %d: %s", je.line, je.text);
		return -EINVAL;
	}
	as = json_object_get(root, "Assignments");
	if (as != NULL && !json_is_object(as)) {
		snprintf(err, errsz, "Assignments: not an object");
		goto out;
	}
	json_object_foreach(as, host, l)
	{
		struct pool_host *h;
		size_t i;
		json_t *v;

		if (!json_is_array(l)) {
			snprintf(err, errsz, "Assignments.%s: not an array", host);
			goto out;
		}
		h = host_get(p, host);
		if (h == NULL)
			goto nomem;
		json_array_foreach(l, i, v)
		{
			struct in_addr a;
			int r;

			if (!json_is_string(v) ||
			    inet_pton(AF_INET, json_string_value(v), &a) != 1 || a.s_addr == 0) {
				snprintf(err, errsz, "Assignments.%s[%zu]: not an IPv4 address",
					 host, i);
				goto out;
			}
			r = assign(p, h, a.s_addr, POOL_IP_PENDING);
			if (r == -EBUSY) {
				snprintf(err, errsz,
					 "Assignments.%s[%zu]: %s is also assigned to %s", host, i,
					 json_string_value(v), pool_owner(p, a));
				goto out;
			}
			if (r < 0)
				goto nomem;
		}
	}
	rc = 0;
	goto out;
nomem:
	rc = -ENOMEM;
	snprintf(err, errsz, "out of memory");
out:
	json_decref(root);
	return rc;
}

/* ---- subnets ---- */

bool pool_subnet_contains(const struct hvapi_subnet *s, struct in_addr ip)
{
	uint32_t m = s->ip_mask.s_addr;

	return m != 0 && (ip.s_addr & m) == (s->ip_gateway.s_addr & m);
}

static bool subnet_equal(const struct hvapi_subnet *a, const struct hvapi_subnet *b)
{
	char *x = api_dumps(&hvapi_subnet_type, a, 0);
	char *y = api_dumps(&hvapi_subnet_type, b, 0);
	bool eq = x != NULL && y != NULL && strcmp(x, y) == 0;

	free(x);
	free(y);
	return eq;
}

static int subnets_append(struct hvapi_subnets *l, const struct hvapi_subnet *s)
{
	struct hvapi_subnet *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	memset(&v[l->n], 0, sizeof(v[l->n]));
	if (api_copy(&hvapi_subnet_type, &v[l->n], s) < 0)
		return -ENOMEM;
	l->n++;
	return 0;
}

int pool_subnets_diff(const struct hvapi_subnet *have, size_t nhave,
		      const struct fmapi_topology_subnet *const *need, size_t nneed,
		      struct hvapi_update_subnets_request *req)
{
	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i < nneed; i++) {
		const struct hvapi_subnet *n = &need[i]->subnet, *h = NULL;
		bool seen = false;

		/* The nearest definition of an Id wins (need is nearest first). */
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(api_str(need[k]->subnet.id), api_str(n->id)) == 0;
		if (seen)
			continue;
		for (size_t j = 0; j < nhave && h == NULL; j++)
			if (strcmp(api_str(have[j].id), api_str(n->id)) == 0)
				h = &have[j];
		if (h == NULL ? subnets_append(&req->add, n) < 0
			      : !subnet_equal(h, n) && subnets_append(&req->change, n) < 0)
			goto nomem;
	}
	for (size_t j = 0; j < nhave; j++) {
		bool needed = false;

		for (size_t i = 0; i < nneed && !needed; i++)
			needed = strcmp(api_str(have[j].id), api_str(need[i]->subnet.id)) == 0;
		if (!needed && api_strlist_add(&req->delete_ids, api_str(have[j].id)) < 0)
			goto nomem;
	}
	return req->add.n + req->change.n + req->delete_ids.n > 0;
nomem:
	hvapi_update_subnets_request_clear(req);
	return -ENOMEM;
}
