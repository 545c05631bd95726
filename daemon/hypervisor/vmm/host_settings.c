/* The manager's host-wide settings: address pool, subnets, hypervisor owners and the
 * disabled flag. Each change is computed on a copy, written to its state file, and
 * only then swapped in, all under the write lock (weaknesses.md #14, #45). */
#include "daemon/hypervisor/vmm/manager.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/subnets.h"
#include "json.h"
#include "log.h"

int manager_uses(struct manager *m, struct addrpool_use **uses, size_t *n)
{
	int rc = 0;

	*uses = NULL;
	*n = 0;
	for (size_t i = 0; i < m->nvms && rc == 0; i++) {
		pthread_mutex_lock(&m->vms[i]->mu);
		rc = vm_append_uses(m->vms[i], uses, n);
		pthread_mutex_unlock(&m->vms[i]->mu);
	}
	return rc;
}

int manager_save_pool(struct manager *m, const struct hvapi_address_pool *p)
{
	char path[4096];

	statedir_path(path, sizeof(path), m->state_dir, "address-pool.json");
	return api_write_file(&hvapi_address_pool_type, path, p, 0644);
}

static int save_subnets(struct manager *m, const struct hvapi_subnets *l)
{
	char path[4096];
	json_t *j = hvapi_subnets_to_json(l);
	int rc;

	if (j == NULL)
		return -ENOMEM;
	statedir_path(path, sizeof(path), m->state_dir, "subnets.json");
	rc = sjson_write_file(path, j, 0644);
	json_decref(j);
	return rc;
}

int manager_change_address_pool(struct manager *m,
				const struct hvapi_change_address_pool_request *r, char *err,
				size_t errsz)
{
	struct hvapi_address_pool p = {0};
	struct addrpool_use *uses = NULL;
	size_t nuses = 0;
	int rc;

	pthread_rwlock_wrlock(&m->lock);
	rc = manager_uses(m, &uses, &nuses);
	if (rc == 0)
		rc = api_copy(&hvapi_address_pool_type, &p, &m->pool);
	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	rc = addrpool_add(&p, &m->subnets, uses, nuses, &r->addresses_to_add, err, errsz);
	if (rc == 0)
		rc = addrpool_remove(&p, uses, nuses, &r->addresses_to_remove, err, errsz);
	if (rc == 0) {
		int removed = addrpool_trim(&p, &m->subnets, r->maximum_free_addresses.v,
					    r->maximum_free_addresses.n);

		rc = removed < 0 ? removed : 0;
		if (rc < 0)
			snprintf(err, errsz, "out of memory");
	}
	if (rc == 0) {
		rc = manager_save_pool(m, &p);
		if (rc < 0)
			snprintf(err, errsz, "writing address pool: %s", strerror(-rc));
	}
	if (rc == 0) {
		api_clear(&hvapi_address_pool_type, &m->pool);
		m->pool = p;
		memset(&p, 0, sizeof(p));
	}
out:
	pthread_rwlock_unlock(&m->lock);
	api_clear(&hvapi_address_pool_type, &p);
	free(uses);
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	return rc;
}

int manager_update_subnets(struct manager *m, const struct hvapi_update_subnets_request *r,
			   char *err, size_t errsz)
{
	struct hvapi_subnets next = {0};
	struct hvapi_addresses drop = {0};
	struct hvapi_address_pool p = {0};
	struct addrpool_use *uses = NULL;
	size_t nuses = 0;
	int rc;

	pthread_rwlock_wrlock(&m->lock);
	rc = manager_uses(m, &uses, &nuses);
	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	rc = subnets_update(&m->subnets, r, &m->pool, uses, nuses, &next, &drop, err, errsz);
	if (rc < 0)
		goto out;
	if (drop.n > 0) {
		rc = api_copy(&hvapi_address_pool_type, &p, &m->pool);
		for (size_t i = 0; rc == 0 && i < drop.n; i++)
			addrpool_unregister(&p, &drop.v[i]);
		/* The pool first: a crash between the two writes leaves addresses out of
		 * the pool, never addresses outside every subnet. */
		if (rc == 0)
			rc = manager_save_pool(m, &p);
		if (rc < 0) {
			snprintf(err, errsz, "writing address pool: %s", strerror(-rc));
			goto out;
		}
	}
	rc = save_subnets(m, &next);
	if (rc < 0) {
		snprintf(err, errsz, "writing subnets: %s", strerror(-rc));
		goto out;
	}
	hvapi_subnets_clear(&m->subnets);
	m->subnets = next;
	memset(&next, 0, sizeof(next));
	if (drop.n > 0) {
		log_info("UpdateSubnets: %zu free addresses left the pool with their subnet",
			 drop.n);
		api_clear(&hvapi_address_pool_type, &m->pool);
		m->pool = p;
		memset(&p, 0, sizeof(p));
	}
out:
	pthread_rwlock_unlock(&m->lock);
	hvapi_subnets_clear(&next);
	api_clear(&hvapi_address_pool_type, &p);
	free(drop.v);
	free(uses);
	if (rc == 0) {
		manager_changed(m, MANAGER_CHANGED_SUBNETS, NULL);
		manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	}
	return rc;
}

int manager_change_owners(struct manager *m, const struct api_strlist *users,
			  const struct api_strlist *groups, char *err, size_t errsz)
{
	struct hvapi_change_owners_request o = {0};
	char path[4096];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < users->n; i++)
		rc = api_strlist_add(&o.owner_users, users->v[i]);
	for (size_t i = 0; rc == 0 && i < groups->n; i++)
		rc = api_strlist_add(&o.owner_groups, groups->v[i]);
	statedir_path(path, sizeof(path), m->state_dir, "owners.json");
	pthread_rwlock_wrlock(&m->lock);
	if (rc == 0)
		rc = api_write_file(&hvapi_change_owners_request_type, path, &o, 0644);
	if (rc == 0) {
		api_strlist_clear(&m->owner_users);
		api_strlist_clear(&m->owner_groups);
		m->owner_users = o.owner_users;
		m->owner_groups = o.owner_groups;
		memset(&o, 0, sizeof(o));
	}
	pthread_rwlock_unlock(&m->lock);
	api_clear(&hvapi_change_owners_request_type, &o);
	if (rc < 0)
		snprintf(err, errsz, "writing owners: %s", strerror(-rc));
	return rc;
}

bool manager_is_owner(struct manager *m, const char *user, char *const *groups, size_t ngroups)
{
	bool yes = false;

	pthread_rwlock_rdlock(&m->lock);
	if (user != NULL && *user && api_strlist_contains(&m->owner_users, user))
		yes = true;
	for (size_t i = 0; !yes && i < ngroups; i++)
		yes = api_strlist_contains(&m->owner_groups, groups[i]);
	pthread_rwlock_unlock(&m->lock);
	return yes;
}

int manager_set_disabled(struct manager *m, bool disabled, char *err, size_t errsz)
{
	int rc;

	pthread_rwlock_wrlock(&m->lock);
	rc = statedir_set_disabled(m->state_dir, disabled);
	if (rc == 0)
		atomic_store(&m->disabled, disabled);
	pthread_rwlock_unlock(&m->lock);
	if (rc < 0) {
		snprintf(err, errsz, "%s disabled marker: %s", disabled ? "creating" : "removing",
			 strerror(-rc));
		return rc;
	}
	manager_changed(m, MANAGER_CHANGED_DISABLED, NULL);
	return 0;
}

void manager_free_counts(struct hvapi_count *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

int manager_num_free(struct manager *m, struct hvapi_count **out, size_t *n)
{
	struct hvapi_count *v;
	size_t k = 0;

	pthread_rwlock_rdlock(&m->lock);
	v = calloc(m->subnets.n + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < m->subnets.n; i++) {
		const struct hvapi_subnet *s = &m->subnets.v[i];

		if (*api_str(s->id) == '\0' || strcmp(s->id, SUBNETS_HYPERVISOR_ID) == 0)
			continue;
		v[k].key = strdup(s->id);
		if (v[k].key == NULL)
			break;
		v[k++].count = (uint32_t)addrpool_num_free(&m->pool, s);
	}
	pthread_rwlock_unlock(&m->lock);
	if (v == NULL)
		return -ENOMEM;
	*out = v;
	*n = k;
	return 0;
}

void manager_usage(struct manager *m, uint64_t *milli_cpus, uint64_t *mem_mib, uint64_t *storage)
{
	*milli_cpus = *mem_mib = *storage = 0;
	for (size_t i = 0; i < m->nvms; i++) {
		struct vm *vm = m->vms[i];

		pthread_mutex_lock(&vm->mu);
		*milli_cpus += vm->info.vm.milli_cpus;
		*mem_mib += vm->info.vm.memory_mib;
		*storage += vm_storage_bytes(&vm->info.vm);
		pthread_mutex_unlock(&vm->mu);
	}
}
