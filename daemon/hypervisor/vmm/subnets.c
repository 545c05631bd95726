/* Subnet logic (see subnets.h). */
#include "daemon/hypervisor/vmm/subnets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (id != NULL && *id != '\0') {
		const struct hvapi_subnet *s = subnets_find(l, id);

		if (s == NULL) {
			snprintf(err, errsz, "no such subnet: %s", id);
			return -ENOENT;
		}
		if (!subnets_access(s, c)) {
			snprintf(err, errsz, "no access to subnet: %s", id);
			return -EACCES;
		}
		*out = s;
		return 0;
	}
	if (l->n == 0) {
		snprintf(err, errsz, "no subnets exist");
		return -ENOENT;
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

int subnets_validate_one(const struct hvapi_subnet *s, char *err, size_t errsz)
{
	const char *id = api_str(s->id);
	char gw[INET_ADDRSTRLEN];

	if (*id == '\0' || strchr(id, '/') != NULL) {
		snprintf(err, errsz, "bad subnet id: \"%s\"", id);
		return -EINVAL;
	}
	if (!mask_contiguous(s->ip_mask)) {
		snprintf(err, errsz, "subnet %s: bad IpMask", id);
		return -EINVAL;
	}
	if (s->ip_gateway.s_addr == 0) {
		snprintf(err, errsz, "subnet %s: missing IpGateway", id);
		return -EINVAL;
	}
	if ((s->first_dynamic_ip.s_addr != 0) != (s->last_dynamic_ip.s_addr != 0) ||
	    (s->first_dynamic_ip.s_addr != 0 &&
	     (!subnets_contains(s, s->first_dynamic_ip) ||
	      !subnets_contains(s, s->last_dynamic_ip) ||
	      ntohl(s->first_dynamic_ip.s_addr) > ntohl(s->last_dynamic_ip.s_addr)))) {
		inet_ntop(AF_INET, &s->ip_gateway, gw, sizeof(gw));
		snprintf(err, errsz, "subnet %s: dynamic range not inside %s/%d", id, gw,
			 __builtin_popcount(s->ip_mask.s_addr));
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

/* Checks the request's ids against cur and each other. */
static int check_ids(const struct hvapi_subnets *cur,
		     const struct hvapi_update_subnets_request *req, char *err, size_t errsz)
{
	for (size_t i = 0; i < req->add.n; i++) {
		const char *id = api_str(req->add.v[i].id);

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			goto hv;
		if (subnets_find(cur, id) != NULL) {
			snprintf(err, errsz, "cannot add existing subnet: %s", id);
			return -EEXIST;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(id, api_str(req->add.v[j].id)) == 0) {
				snprintf(err, errsz, "subnet added twice: %s", id);
				return -EINVAL;
			}
		if (subnets_validate_one(&req->add.v[i], err, errsz) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < req->change.n; i++) {
		const char *id = api_str(req->change.v[i].id);

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			goto hv;
		if (subnets_find(cur, id) == NULL) {
			snprintf(err, errsz, "cannot change missing subnet: %s", id);
			return -ENOENT;
		}
		if (in_strlist(&req->delete_ids, id)) {
			snprintf(err, errsz, "cannot change and delete subnet: %s", id);
			return -EINVAL;
		}
		if (subnets_validate_one(&req->change.v[i], err, errsz) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < req->delete_ids.n; i++) {
		const char *id = req->delete_ids.v[i];

		if (strcmp(id, SUBNETS_HYPERVISOR_ID) == 0)
			goto hv;
		if (subnets_find(cur, id) == NULL) {
			snprintf(err, errsz, "cannot delete missing subnet: %s", id);
			return -ENOENT;
		}
	}
	return 0;
hv:
	snprintf(err, errsz, "cannot modify the \"%s\" subnet", SUBNETS_HYPERVISOR_ID);
	return -EPERM;
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

int subnets_update(const struct hvapi_subnets *cur, const struct hvapi_update_subnets_request *req,
		   const struct hvapi_address_pool *pool, const struct addrpool_use *uses,
		   size_t nuses, struct hvapi_subnets *out, struct hvapi_addresses *drop, char *err,
		   size_t errsz)
{
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
	for (size_t i = 0; i < pool->free.n; i++) {
		if (pool->free.v[i].ip.s_addr == 0 ||
		    subnets_for_ip(out, pool->free.v[i].ip) != NULL)
			continue;
		if (hvapi_addresses_add(drop, &pool->free.v[i]) < 0) {
			hvapi_subnets_clear(out);
			free(drop->v);
			memset(drop, 0, sizeof(*drop));
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}
