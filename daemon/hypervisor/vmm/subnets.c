/* Subnet logic (see subnets.h). */
#include "daemon/hypervisor/vmm/subnets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/vmcheck.h"

bool subnets_contains(const struct hvapi_subnet *s, struct in_addr ip)
{
	return (ip.s_addr & s->ip_mask.s_addr) == (s->ip_gateway.s_addr & s->ip_mask.s_addr);
}

const struct hvapi_subnet *subnets_find(const struct hvapi_subnets *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(api_str(l->v[i].id), id) == 0)
			return &l->v[i];
	return NULL;
}

const struct hvapi_subnet *subnets_for_ip(const struct hvapi_subnets *l, struct in_addr ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (subnets_contains(&l->v[i], ip))
			return &l->v[i];
	return NULL;
}

bool subnets_access(const struct hvapi_subnet *s, const struct subnets_caller *c)
{
	if (c->admin || (s->allowed_users.n == 0 && s->allowed_groups.n == 0))
		return true;
	if (c->user != NULL && api_strlist_contains(&s->allowed_users, c->user))
		return true;
	for (size_t i = 0; i < c->ngroups; i++)
		if (api_strlist_contains(&s->allowed_groups, c->groups[i]))
			return true;
	return false;
}

int subnets_select(const struct hvapi_subnets *l, const char *id, const struct subnets_caller *c,
		   const struct hvapi_subnet **out, char *err, size_t errsz)
{
	const struct hvapi_subnet *pick = NULL;

	*out = NULL;
	if (l->n == 0) {
		snprintf(err, errsz, "no subnets exist");
		return -ENOENT;
	}
	if (id != NULL && *id != '\0') {
		const struct hvapi_subnet *s = subnets_find(l, id);

		if (s == NULL) {
			snprintf(err, errsz, "subnet: %s does not exist", id);
			return -ENOENT;
		}
		if (!subnets_access(s, c)) {
			snprintf(err, errsz, "no access to subnet: %s", id);
			return -EACCES;
		}
		*out = s;
		return 0;
	}
	if (l->n == 1 && strcmp(api_str(l->v[0].id), SUBNETS_HYPERVISOR_ID) == 0) {
		*out = &l->v[0];
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(api_str(l->v[i].id), SUBNETS_HYPERVISOR_ID) == 0 ||
		    !subnets_access(&l->v[i], c))
			continue;
		if (pick != NULL) {
			snprintf(err, errsz, "multiple available subnets: pick one");
			return -EINVAL;
		}
		pick = &l->v[i];
	}
	if (pick == NULL) {
		snprintf(err, errsz, "no subnets permitted");
		return -EACCES;
	}
	*out = pick;
	return 0;
}

static bool mask_contiguous(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);

	return m != 0 && (~m & (~m + 1)) == 0;
}

static int prefix_of(const struct hvapi_subnet *s)
{
	return __builtin_popcount(s->ip_mask.s_addr);
}

/* Network and broadcast address in host order. */
static uint32_t net_of(const struct hvapi_subnet *s)
{
	return ntohl(s->ip_gateway.s_addr) & ntohl(s->ip_mask.s_addr);
}

static uint32_t bcast_of(const struct hvapi_subnet *s)
{
	return net_of(s) | ~ntohl(s->ip_mask.s_addr);
}

const char *subnets_show(const char *text, char *buf, size_t sz)
{
	size_t n = 0, max = sz > 44 ? 40 : (sz > 4 ? sz - 4 : 0);

	if (sz == 0)
		return buf;
	for (; n < max && text[n] != '\0'; n++)
		buf[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
	if (text[n] != '\0' && sz >= 4) {
		memcpy(&buf[n], "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

bool subnets_reserved(const struct hvapi_subnet *s, struct in_addr ip, char *what, size_t whatsz)
{
	uint32_t x = ntohl(ip.s_addr);
	const char *kind = NULL;
	char id[48], first[INET_ADDRSTRLEN], last[INET_ADDRSTRLEN];

	subnets_show(api_str(s->id), id, sizeof(id));
	/* A /31 is a point-to-point link (RFC 3021): both addresses are hosts. */
	if (ip.s_addr == s->ip_gateway.s_addr)
		kind = "the gateway";
	else if (prefix_of(s) <= 30 && x == net_of(s))
		kind = "the network address";
	else if (prefix_of(s) <= 30 && x == bcast_of(s))
		kind = "the broadcast address";
	if (kind != NULL) {
		snprintf(what, whatsz, "%s of subnet %s", kind, id);
		return true;
	}
	if (s->first_dynamic_ip.s_addr == 0 || x < ntohl(s->first_dynamic_ip.s_addr) ||
	    x > ntohl(s->last_dynamic_ip.s_addr))
		return false;
	inet_ntop(AF_INET, &s->first_dynamic_ip, first, sizeof(first));
	inet_ntop(AF_INET, &s->last_dynamic_ip, last, sizeof(last));
	snprintf(what, whatsz, "in the DHCP dynamic range of subnet %s (%s-%s)", id, first, last);
	return true;
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1..SUBNETS_ID_MAX of [A-Za-z0-9._-], starting with a letter or digit (no "..";
 * ids name bridges "br@<id>" and appear in logs and status pages). */
static bool id_ok(const char *id)
{
	size_t n = 0;

	for (; id[n] != '\0'; n++)
		if (n >= SUBNETS_ID_MAX ||
		    !(alnum(id[n]) || (n > 0 && (id[n] == '.' || id[n] == '_' || id[n] == '-'))))
			return false;
	return n > 0;
}

/* A DNS name (RFC 1035 §2.3.1, as hosts use it; vmcheck_dns_labels): 253 characters
 * at most, one final dot allowed. */
static bool domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		len--;
	return len > 0 && len <= SUBNETS_DOMAIN_MAX && vmcheck_dns_labels(d, len) == NULL;
}

/* A dynamic range inside the subnet may still hold the gateway, the network or the
 * broadcast address: DHCP would lease them to anyone. */
static int check_range_reserved(const struct hvapi_subnet *s, const char *id, char *err,
				size_t errsz)
{
	uint32_t first = ntohl(s->first_dynamic_ip.s_addr), last = ntohl(s->last_dynamic_ip.s_addr);
	uint32_t gw = ntohl(s->ip_gateway.s_addr), x = 0;
	char f[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN], xs[INET_ADDRSTRLEN];
	const char *kind = NULL;
	struct in_addr xa;

	if (first == 0)
		return 0;
	if (prefix_of(s) <= 30 && first <= net_of(s)) {
		kind = "the network address";
		x = net_of(s);
	} else if (prefix_of(s) <= 30 && last >= bcast_of(s)) {
		kind = "the broadcast address";
		x = bcast_of(s);
	} else if (first <= gw && gw <= last) {
		kind = "the gateway";
		x = gw;
	}
	if (kind == NULL)
		return 0;
	xa.s_addr = htonl(x);
	inet_ntop(AF_INET, &s->first_dynamic_ip, f, sizeof(f));
	inet_ntop(AF_INET, &s->last_dynamic_ip, l, sizeof(l));
	inet_ntop(AF_INET, &xa, xs, sizeof(xs));
	snprintf(err, errsz, "subnet %s: dynamic range %s-%s holds %s %s", id, f, l, kind, xs);
	return -EINVAL;
}

/* The address part: mask, gateway, dynamic range. */
static int validate_addresses(const struct hvapi_subnet *s, const char *id, char *err, size_t errsz)
{
	uint32_t first = ntohl(s->first_dynamic_ip.s_addr), last = ntohl(s->last_dynamic_ip.s_addr);
	char gw[INET_ADDRSTRLEN];

	if (!mask_contiguous(s->ip_mask)) {
		snprintf(err, errsz, "subnet %s: bad IpMask", id);
		return -EINVAL;
	}
	if (prefix_of(s) == 32) {
		snprintf(err, errsz, "subnet %s: a /32 has no address besides its gateway", id);
		return -EINVAL;
	}
	if (s->ip_gateway.s_addr == 0) {
		snprintf(err, errsz, "subnet %s: missing IpGateway", id);
		return -EINVAL;
	}
	inet_ntop(AF_INET, &s->ip_gateway, gw, sizeof(gw));
	if (prefix_of(s) <= 30 && (ntohl(s->ip_gateway.s_addr) == net_of(s) ||
				   ntohl(s->ip_gateway.s_addr) == bcast_of(s))) {
		snprintf(err, errsz, "subnet %s: IpGateway %s is the %s address", id, gw,
			 ntohl(s->ip_gateway.s_addr) == net_of(s) ? "network" : "broadcast");
		return -EINVAL;
	}
	if ((first != 0) != (last != 0) ||
	    (first != 0 && (!subnets_contains(s, s->first_dynamic_ip) ||
			    !subnets_contains(s, s->last_dynamic_ip) || first > last))) {
		snprintf(err, errsz, "subnet %s: dynamic range not inside %s/%d", id, gw,
			 prefix_of(s));
		return -EINVAL;
	}
	return check_range_reserved(s, id, err, errsz);
}

int subnets_validate_one(const struct hvapi_subnet *s, char *err, size_t errsz)
{
	const char *dn = api_str(s->domain_name);
	char id[48], shown[48];

	subnets_show(api_str(s->id), id, sizeof(id));
	if (!id_ok(api_str(s->id))) {
		snprintf(err, errsz,
			 "bad subnet id: \"%s\" (%zu bytes): want 1 to %d letters, digits, '.', "
			 "'_' or '-', starting with a letter or digit",
			 id, strlen(api_str(s->id)), SUBNETS_ID_MAX);
		return -EINVAL;
	}
	if (validate_addresses(s, id, err, errsz) < 0)
		return -EINVAL;
	if (*dn != '\0' && !domain_ok(dn)) {
		snprintf(err, errsz,
			 "subnet %s: bad DomainName \"%s\" (%zu bytes): want a DNS name, labels of "
			 "1 to %d letters, digits or '-', %d characters at most",
			 id, subnets_show(dn, shown, sizeof(shown)), strlen(dn), SUBNETS_LABEL_MAX,
			 SUBNETS_DOMAIN_MAX);
		return -EINVAL;
	}
	if (s->domain_name_servers.n > SUBNETS_DNS_MAX) {
		snprintf(err, errsz, "subnet %s: %zu DomainNameServers (at most %d)", id,
			 s->domain_name_servers.n, SUBNETS_DNS_MAX);
		return -EINVAL;
	}
	return 0;
}

static int cmp_subnet(const void *a, const void *b)
{
	const struct hvapi_subnet *x = a, *y = b;

	return strcmp(api_str(x->id), api_str(y->id));
}

static bool in_strlist(const struct api_strlist *l, const char *s)
{
	return api_strlist_contains(l, s);
}

/* The original's "cannot add hypervisor subnet" (change, delete). */
static int hv_refused(const char *what, char *err, size_t errsz)
{
	snprintf(err, errsz, "cannot %s %s subnet", what, SUBNETS_HYPERVISOR_ID);
	return -EPERM;
}

/* Checks the request's ids against cur and each other, and each subnet's fields, with
 * the original's texts ("subnet: X already exists", "subnet: X does not exist"). */
static int check_ids(const struct hvapi_subnets *cur,
		     const struct hvapi_update_subnets_request *req, char *err, size_t errsz)
{
	char shown[48];

	if (req->add.n > SUBNETS_MAX || req->change.n > SUBNETS_MAX) {
		snprintf(err, errsz, "too many subnets: %zu to add, %zu to change (at most %d)",
			 req->add.n, req->change.n, SUBNETS_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < req->add.n; i++) {
		const char *id = api_str(req->add.v[i].id);

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			return hv_refused("add", err, errsz);
		if (subnets_validate_one(&req->add.v[i], err, errsz) < 0)
			return -EINVAL;
		if (subnets_find(cur, id) != NULL) {
			snprintf(err, errsz, "subnet: %s already exists", id);
			return -EEXIST;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(id, api_str(req->add.v[j].id)) == 0) {
				snprintf(err, errsz, "subnet added twice: %s", id);
				return -EINVAL;
			}
	}
	for (size_t i = 0; i < req->change.n; i++) {
		const char *id = api_str(req->change.v[i].id);

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			return hv_refused("change", err, errsz);
		if (subnets_find(cur, id) == NULL) {
			snprintf(err, errsz, "subnet: %s does not exist",
				 subnets_show(id, shown, sizeof(shown)));
			return -ENOENT;
		}
		if (in_strlist(&req->delete_ids, id)) {
			snprintf(err, errsz, "cannot change and delete subnet: %s",
				 subnets_show(id, shown, sizeof(shown)));
			return -EINVAL;
		}
		if (subnets_validate_one(&req->change.v[i], err, errsz) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < req->delete_ids.n; i++) {
		const char *id = req->delete_ids.v[i];

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			return hv_refused("delete", err, errsz);
		if (subnets_find(cur, id) == NULL) {
			snprintf(err, errsz, "subnet: %s does not exist",
				 subnets_show(id, shown, sizeof(shown)));
			return -ENOENT;
		}
	}
	return 0;
}

static const struct hvapi_subnet *changed(const struct hvapi_update_subnets_request *req,
					  const char *id)
{
	return subnets_find(&req->change, id);
}

/* Builds the new list (deep copies) into *out. */
static int build(const struct hvapi_subnets *cur, const struct hvapi_update_subnets_request *req,
		 struct hvapi_subnets *out)
{
	size_t cap = cur->n + req->add.n;
	int rc = 0;

	out->n = 0;
	out->v = calloc(cap ? cap : 1, sizeof(*out->v));
	if (out->v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cur->n && rc == 0; i++) {
		const struct hvapi_subnet *s = &cur->v[i], *c;

		if (in_strlist(&req->delete_ids, api_str(s->id)))
			continue;
		c = changed(req, api_str(s->id));
		rc = api_copy(&hvapi_subnet_type, &out->v[out->n], c ? c : s);
		if (rc == 0)
			out->n++;
	}
	for (size_t i = 0; i < req->add.n && rc == 0; i++) {
		rc = api_copy(&hvapi_subnet_type, &out->v[out->n], &req->add.v[i]);
		if (rc == 0)
			out->n++;
	}
	if (rc < 0) {
		hvapi_subnets_clear(out);
		return rc;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_subnet);
	return 0;
}

static bool overlap(const struct hvapi_subnet *a, const struct hvapi_subnet *b)
{
	uint32_t m = ntohl(a->ip_mask.s_addr) & ntohl(b->ip_mask.s_addr);

	return (net_of(a) & m) == (net_of(b) & m);
}

/* touch[i]: out->v[i] is added or changed by req. */
static bool *touched(const struct hvapi_subnets *out,
		     const struct hvapi_update_subnets_request *req)
{
	bool *touch = calloc(out->n + 1, sizeof(*touch));

	for (size_t i = 0; touch != NULL && i < out->n; i++)
		touch[i] = subnets_find(&req->add, api_str(out->v[i].id)) != NULL ||
			   subnets_find(&req->change, api_str(out->v[i].id)) != NULL;
	return touch;
}

/* An added or changed subnet of out may overlap no other subnet: "first match wins"
 * would otherwise decide silently where an address belongs. */
static int check_overlaps(const struct hvapi_subnets *out, const bool *touch, char *err,
			  size_t errsz)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], ida[48], idb[48];

	for (size_t i = 0; i < out->n; i++) {
		if (!touch[i])
			continue;
		for (size_t j = 0; j < out->n; j++) {
			if (j == i || !overlap(&out->v[i], &out->v[j]))
				continue;
			inet_ntop(AF_INET, &out->v[i].ip_gateway, a, sizeof(a));
			inet_ntop(AF_INET, &out->v[j].ip_gateway, b, sizeof(b));
			snprintf(err, errsz, "subnets %s (%s/%d) and %s (%s/%d) overlap",
				 subnets_show(api_str(out->v[i].id), ida, sizeof(ida)), a,
				 prefix_of(&out->v[i]),
				 subnets_show(api_str(out->v[j].id), idb, sizeof(idb)), b,
				 prefix_of(&out->v[j]));
			return -EINVAL;
		}
	}
	return 0;
}

/* No address a VM uses or the pool holds may become reserved (gateway, network,
 * broadcast, dynamic range) in an added or changed subnet. */
static int check_reserved(const struct hvapi_subnets *out, const bool *touch,
			  const struct hvapi_address_pool *pool, const struct addrpool_use *uses,
			  size_t nuses, char *err, size_t errsz)
{
	char ip[INET_ADDRSTRLEN], vm[INET_ADDRSTRLEN], what[160];
	const struct hvapi_subnet *s;

	for (size_t i = 0; i < nuses; i++) {
		s = subnets_for_ip(out, uses[i].addr.ip);
		if (uses[i].addr.ip.s_addr == 0 || s == NULL || !touch[s - out->v] ||
		    !subnets_reserved(s, uses[i].addr.ip, what, sizeof(what)))
			continue;
		inet_ntop(AF_INET, &uses[i].addr.ip, ip, sizeof(ip));
		inet_ntop(AF_INET, &uses[i].vm, vm, sizeof(vm));
		snprintf(err, errsz, "address %s of VM %s would be %s", ip, vm, what);
		return -EBUSY;
	}
	for (size_t i = 0; i < pool->registered.n; i++) {
		const struct hvapi_address *a = &pool->registered.v[i];

		s = subnets_for_ip(out, a->ip);
		if (a->ip.s_addr == 0 || s == NULL || !touch[s - out->v] ||
		    !subnets_reserved(s, a->ip, what, sizeof(what)))
			continue;
		inet_ntop(AF_INET, &a->ip, ip, sizeof(ip));
		snprintf(err, errsz, "pool address %s would be %s", ip, what);
		return -EBUSY;
	}
	return 0;
}

int subnets_update(const struct hvapi_subnets *cur, const struct hvapi_update_subnets_request *req,
		   const struct hvapi_address_pool *pool, const struct addrpool_use *uses,
		   size_t nuses, struct hvapi_subnets *out, struct hvapi_addresses *drop, char *err,
		   size_t errsz)
{
	bool *touch;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(drop, 0, sizeof(*drop));
	rc = check_ids(cur, req, err, errsz);
	if (rc < 0)
		return rc;
	rc = build(cur, req, out);
	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	if (out->n > SUBNETS_MAX) {
		snprintf(err, errsz, "too many subnets: %zu (at most %d)", out->n, SUBNETS_MAX);
		rc = -E2BIG;
	}
	touch = rc == 0 ? touched(out, req) : NULL;
	if (rc == 0 && touch == NULL) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	if (rc == 0)
		rc = check_overlaps(out, touch, err, errsz);
	if (rc == 0)
		rc = check_reserved(out, touch, pool, uses, nuses, err, errsz);
	free(touch);
	if (rc < 0) {
		hvapi_subnets_clear(out);
		return rc;
	}
	/* Addresses in use must stay inside some subnet. */
	for (size_t i = 0; i < nuses; i++) {
		char ip[INET_ADDRSTRLEN], vm[INET_ADDRSTRLEN];

		if (uses[i].addr.ip.s_addr == 0 || subnets_for_ip(out, uses[i].addr.ip) != NULL)
			continue;
		inet_ntop(AF_INET, &uses[i].addr.ip, ip, sizeof(ip));
		inet_ntop(AF_INET, &uses[i].vm, vm, sizeof(vm));
		snprintf(err, errsz, "address %s of VM %s would be in no subnet", ip, vm);
		hvapi_subnets_clear(out);
		return -EBUSY;
	}
	/* Free addresses outside every subnet leave the pool with the subnet. */
	drop->v = malloc((pool->free.n + 1) * sizeof(*drop->v));
	if (drop->v == NULL) {
		hvapi_subnets_clear(out);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < pool->free.n; i++)
		if (pool->free.v[i].ip.s_addr != 0 &&
		    subnets_for_ip(out, pool->free.v[i].ip) == NULL)
			drop->v[drop->n++] = pool->free.v[i];
	return 0;
}
