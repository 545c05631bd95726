/* The DHCP lease table: two chained hash indexes (MAC, IP) over one set of leases. */
#include "daemon/hypervisor/netsvc/dhcp/dhcp_lease.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	char subnet_id[64];
	uint32_t next; /* offset into the range */
};

struct ackrec {
	struct in_addr ip;
	struct dhcp_ack_state st;
	unsigned watchers;
};

struct dhcp_leases {
	struct dhcp_lease **by_mac, **by_ip;
	size_t nbuckets; /* power of two, shared by both indexes */
	size_t count;
	struct cursor *cursors;
	size_t ncursors;
	struct ackrec *acks;
	size_t nacks;
};

static uint64_t mac_key(const uint8_t mac[6])
{
	uint64_t k = 0;
	for (int i = 0; i < 6; i++)
		k = k << 8 | mac[i];
	return k;
}

static size_t hash64(uint64_t k, size_t n)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (n - 1);
}

static size_t mac_bucket(const struct dhcp_leases *t, const uint8_t mac[6])
{
	return hash64(mac_key(mac), t->nbuckets);
}

static size_t ip_bucket(const struct dhcp_leases *t, struct in_addr ip)
{
	return hash64(ip.s_addr, t->nbuckets);
}

static bool has_mac(const struct dhcp_lease *l)
{
	return l->kind != DHCP_LEASE_DECLINED;
}

struct dhcp_leases *dhcp_leases_new(void)
{
	struct dhcp_leases *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nbuckets = 64;
	t->by_mac = calloc(t->nbuckets, sizeof(*t->by_mac));
	t->by_ip = calloc(t->nbuckets, sizeof(*t->by_ip));
	if (!t->by_mac || !t->by_ip) {
		dhcp_leases_free(t);
		return NULL;
	}
	return t;
}

void dhcp_leases_free(struct dhcp_leases *t)
{
	if (!t)
		return;
	if (t->by_ip) {
		for (size_t i = 0; i < t->nbuckets; i++) {
			struct dhcp_lease *l = t->by_ip[i];
			while (l) {
				struct dhcp_lease *n = l->next_ip;
				free(l);
				l = n;
			}
		}
	}
	free(t->by_mac);
	free(t->by_ip);
	free(t->cursors);
	free(t->acks);
	free(t);
}

static void link_lease(struct dhcp_leases *t, struct dhcp_lease *l)
{
	size_t b = ip_bucket(t, l->ip);
	l->next_ip = t->by_ip[b];
	t->by_ip[b] = l;
	l->next_mac = NULL;
	if (has_mac(l)) {
		b = mac_bucket(t, l->mac);
		l->next_mac = t->by_mac[b];
		t->by_mac[b] = l;
	}
}

static int grow(struct dhcp_leases *t)
{
	size_t n = t->nbuckets * 2;
	struct dhcp_lease **bm = calloc(n, sizeof(*bm)), **bi = calloc(n, sizeof(*bi));
	if (!bm || !bi) {
		free(bm);
		free(bi);
		return -ENOMEM;
	}
	struct dhcp_lease **old = t->by_ip;
	size_t oldn = t->nbuckets;
	free(t->by_mac);
	t->by_mac = bm;
	t->by_ip = bi;
	t->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct dhcp_lease *l = old[i];
		while (l) {
			struct dhcp_lease *next = l->next_ip;
			link_lease(t, l);
			l = next;
		}
	}
	free(old);
	return 0;
}

static struct ackrec *ackrec_find(const struct dhcp_leases *t, struct in_addr ip)
{
	for (size_t i = 0; i < t->nacks; i++)
		if (t->acks[i].ip.s_addr == ip.s_addr)
			return &t->acks[i];
	return NULL;
}

static void unlink_lease(struct dhcp_leases *t, struct dhcp_lease *l)
{
	struct dhcp_lease **pp = &t->by_ip[ip_bucket(t, l->ip)];
	while (*pp && *pp != l)
		pp = &(*pp)->next_ip;
	if (*pp)
		*pp = l->next_ip;
	if (has_mac(l)) {
		pp = &t->by_mac[mac_bucket(t, l->mac)];
		while (*pp && *pp != l)
			pp = &(*pp)->next_mac;
		if (*pp)
			*pp = l->next_mac;
	}
}

/* Removes and frees l; a removal cancels waiters on its IP. */
static void drop(struct dhcp_leases *t, struct dhcp_lease *l, bool *dyn_changed)
{
	unlink_lease(t, l);
	t->count--;
	if (l->kind == DHCP_LEASE_DYNAMIC && l->acked && dyn_changed)
		*dyn_changed = true;
	struct ackrec *a = ackrec_find(t, l->ip);
	if (a && l->kind != DHCP_LEASE_DECLINED)
		a->st.cancels++;
	free(l);
}

static int insert(struct dhcp_leases *t, const struct dhcp_lease *src, struct dhcp_lease **out)
{
	if (t->count + 1 > t->nbuckets && grow(t) < 0)
		return -ENOMEM;
	struct dhcp_lease *l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = *src;
	link_lease(t, l);
	t->count++;
	if (out)
		*out = l;
	return 0;
}

static struct dhcp_lease *find_mac_any(struct dhcp_leases *t, const uint8_t mac[6])
{
	for (struct dhcp_lease *l = t->by_mac[mac_bucket(t, mac)]; l; l = l->next_mac)
		if (!memcmp(l->mac, mac, 6))
			return l;
	return NULL;
}

static struct dhcp_lease *find_ip_any(struct dhcp_leases *t, struct in_addr ip)
{
	for (struct dhcp_lease *l = t->by_ip[ip_bucket(t, ip)]; l; l = l->next_ip)
		if (l->ip.s_addr == ip.s_addr)
			return l;
	return NULL;
}

static bool live(const struct dhcp_lease *l, int64_t now)
{
	return l->expires == 0 || l->expires > now;
}

int dhcp_leases_add(struct dhcp_leases *t, const struct dhcp_lease *l, bool *dyn_changed)
{
	if (!dhcp_lease_is_static(l) || l->ip.s_addr == 0)
		return -EINVAL;
	struct dhcp_lease *old;
	while ((old = find_mac_any(t, l->mac)))
		drop(t, old, dyn_changed);
	while ((old = find_ip_any(t, l->ip)))
		drop(t, old, dyn_changed);
	struct dhcp_lease copy = *l;
	copy.acked = false;
	return insert(t, &copy, NULL);
}

static int remove_one(struct dhcp_leases *t, struct dhcp_lease *l, uint64_t token,
		      bool *dyn_changed)
{
	if (!l)
		return -ENOENT;
	if (token && l->token != token)
		return -EPERM;
	drop(t, l, dyn_changed);
	return 0;
}

int dhcp_leases_remove_ip(struct dhcp_leases *t, struct in_addr ip, uint64_t token,
			  bool *dyn_changed)
{
	struct dhcp_lease *l = find_ip_any(t, ip);
	if (l && l->kind == DHCP_LEASE_DECLINED)
		l = NULL;
	return remove_one(t, l, token, dyn_changed);
}

int dhcp_leases_remove_mac(struct dhcp_leases *t, const uint8_t mac[6], uint64_t token,
			   bool *dyn_changed)
{
	return remove_one(t, find_mac_any(t, mac), token, dyn_changed);
}

struct dhcp_lease *dhcp_leases_by_mac(struct dhcp_leases *t, const uint8_t mac[6], int64_t now)
{
	struct dhcp_lease *l = find_mac_any(t, mac);
	return l && live(l, now) ? l : NULL;
}

struct dhcp_lease *dhcp_leases_by_ip(struct dhcp_leases *t, struct in_addr ip, int64_t now)
{
	struct dhcp_lease *l = find_ip_any(t, ip);
	return l && live(l, now) ? l : NULL;
}

static struct cursor *cursor_for(struct dhcp_leases *t, const char *id)
{
	for (size_t i = 0; i < t->ncursors; i++)
		if (!strcmp(t->cursors[i].subnet_id, id))
			return &t->cursors[i];
	struct cursor *c = realloc(t->cursors, (t->ncursors + 1) * sizeof(*c));
	if (!c)
		return NULL;
	t->cursors = c;
	c = &t->cursors[t->ncursors++];
	memset(c, 0, sizeof(*c));
	snprintf(c->subnet_id, sizeof(c->subnet_id), "%s", id);
	return c;
}

/* An address of the range that nothing (live) holds; expired holders are dropped. */
static bool ip_free(struct dhcp_leases *t, const struct dhcp_subnet *s, struct in_addr ip,
		    int64_t now, bool *dyn_changed)
{
	uint32_t h = ntohl(ip.s_addr), m = ntohl(s->mask.s_addr);
	if ((h & ~m) == 0 || (h & ~m) == ~m || ip.s_addr == s->gateway.s_addr)
		return false;
	struct dhcp_lease *l = find_ip_any(t, ip);
	if (!l)
		return true;
	if (live(l, now))
		return false;
	drop(t, l, dyn_changed);
	return true;
}

struct dhcp_lease *dhcp_leases_offer(struct dhcp_leases *t, const uint8_t mac[6],
				     const struct dhcp_subnet *s, struct in_addr requested,
				     int64_t now, int64_t offer_ms)
{
	struct dhcp_lease *l = find_mac_any(t, mac);
	bool changed = false;

	if (!dhcp_subnet_has_range(s))
		return NULL;
	if (l && l->kind == DHCP_LEASE_DYNAMIC && live(l, now) && dhcp_subnet_in_range(s, l->ip)) {
		if (!l->acked && l->expires < now + offer_ms)
			l->expires = now + offer_ms;
		return l;
	}
	if (l) {
		if (l->kind != DHCP_LEASE_DYNAMIC)
			return NULL; /* callers look up static leases first */
		drop(t, l, &changed);
	}
	struct dhcp_lease n = {.kind = DHCP_LEASE_DYNAMIC, .expires = now + offer_ms};
	memcpy(n.mac, mac, 6);
	if (requested.s_addr && dhcp_subnet_in_range(s, requested) &&
	    ip_free(t, s, requested, now, &changed)) {
		n.ip = requested;
	} else {
		struct cursor *c = cursor_for(t, s->id);
		uint32_t first = ntohl(s->first_dynamic.s_addr);
		uint32_t size = ntohl(s->last_dynamic.s_addr) - first + 1;
		if (!c)
			return NULL;
		for (uint32_t i = 0; i < size && !n.ip.s_addr; i++) {
			uint32_t off = (c->next + i) % size;
			struct in_addr cand = {.s_addr = htonl(first + off)};
			if (ip_free(t, s, cand, now, &changed)) {
				n.ip = cand;
				c->next = (off + 1) % size;
			}
		}
		if (!n.ip.s_addr) {
			errno = ENOSPC;
			return NULL;
		}
	}
	struct dhcp_lease *out = NULL;
	return insert(t, &n, &out) < 0 ? NULL : out;
}

void dhcp_leases_commit(struct dhcp_lease *l, int64_t now, int64_t lease_ms, const char *hostname)
{
	l->acked = true;
	l->expires = now + lease_ms;
	if (hostname)
		snprintf(l->hostname, sizeof(l->hostname), "%s", hostname);
}

int dhcp_leases_restore(struct dhcp_leases *t, const uint8_t mac[6], struct in_addr ip,
			const char *hostname, int64_t expires, int64_t now)
{
	if (expires <= now)
		return -ESTALE;
	if (find_mac_any(t, mac) || find_ip_any(t, ip))
		return -EEXIST;
	struct dhcp_lease n = {
	    .kind = DHCP_LEASE_DYNAMIC, .ip = ip, .expires = expires, .acked = true};
	memcpy(n.mac, mac, 6);
	if (hostname)
		snprintf(n.hostname, sizeof(n.hostname), "%s", hostname);
	return insert(t, &n, NULL);
}

void dhcp_leases_decline(struct dhcp_leases *t, struct in_addr ip, int64_t now, int64_t hold_ms,
			 bool *dyn_changed)
{
	struct dhcp_lease *l = find_ip_any(t, ip);
	if (l && dhcp_lease_is_static(l))
		return; /* the operator assigned it; nothing to re-plan */
	if (l)
		drop(t, l, dyn_changed);
	struct dhcp_lease n = {.kind = DHCP_LEASE_DECLINED, .ip = ip, .expires = now + hold_ms};
	insert(t, &n, NULL);
}

int64_t dhcp_leases_expire(struct dhcp_leases *t, int64_t now, bool *dyn_changed)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct dhcp_lease *l = t->by_ip[i];
		while (l) {
			struct dhcp_lease *n = l->next_ip;
			if (!live(l, now))
				drop(t, l, dyn_changed);
			else if (l->expires && l->expires < next)
				next = l->expires;
			l = n;
		}
	}
	return next;
}

void dhcp_leases_foreach(struct dhcp_leases *t, void (*fn)(const struct dhcp_lease *, void *),
			 void *arg)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct dhcp_lease *l = t->by_ip[i]; l; l = l->next_ip)
			fn(l, arg);
}

size_t dhcp_leases_count(const struct dhcp_leases *t)
{
	return t->count;
}

int dhcp_leases_watch(struct dhcp_leases *t, struct in_addr ip, struct dhcp_ack_state *now_state)
{
	struct ackrec *a = ackrec_find(t, ip);
	if (!a) {
		a = realloc(t->acks, (t->nacks + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		t->acks = a;
		a = &t->acks[t->nacks++];
		memset(a, 0, sizeof(*a));
		a->ip = ip;
	}
	a->watchers++;
	if (now_state)
		*now_state = a->st;
	return 0;
}

void dhcp_leases_unwatch(struct dhcp_leases *t, struct in_addr ip)
{
	struct ackrec *a = ackrec_find(t, ip);
	if (!a || --a->watchers > 0)
		return;
	*a = t->acks[--t->nacks];
}

bool dhcp_leases_ack_state(const struct dhcp_leases *t, struct in_addr ip,
			   struct dhcp_ack_state *st)
{
	struct ackrec *a = ackrec_find(t, ip);
	if (!a)
		return false;
	*st = a->st;
	return true;
}

void dhcp_leases_note_ack(struct dhcp_leases *t, struct in_addr ip)
{
	struct ackrec *a = ackrec_find(t, ip);
	if (a)
		a->st.acks++;
}
