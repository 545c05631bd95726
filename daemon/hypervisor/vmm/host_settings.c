/* The host's settings: address pool, subnets, hypervisor owners and the disabled
 * flag. Each change is computed on a copy, written to its state file, and only then
 * swapped in (weaknesses.md #14, #45). Writers are serialized by settings_mu; the
 * manager's lock is held only to copy and to swap, never across a file write
 * (manager_state.h). */
#include "daemon/hypervisor/vmm/manager.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/subnets.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"

#define BIG_POOL_TEXT (1u << 20)

/* Written from a text built address by address (addrpool_to_text), not from a JSON
 * tree of the whole pool. */
static int save_pool(struct manager *m, const struct hvapi_address_pool *p)
{
	char path[4096], *text;
	size_t len;
	int rc;

	statedir_path(path, sizeof(path), m->state_dir, "address-pool.json");
	text = addrpool_to_text(p, &len);
	if (text == NULL)
		return -ENOMEM;
	rc = fsutil_write_atomic(path, text, len, 0644);
	free(text);
	/* A big pool's text is megabytes: give its pages back rather than let every
	 * connection thread's malloc arena keep one. */
	if (len > BIG_POOL_TEXT)
		malloc_trim(0);
	return rc;
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

/* ---- the pool transaction (manager_state.h) ---- */

int manager_pool_begin(struct manager *m, struct manager_pool_txn *t)
{
	int rc;

	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&m->st->settings_mu);
	pthread_rwlock_rdlock(&m->st->lock);
	rc = manager_uses_locked(m, &t->uses, &t->nuses);
	if (rc == 0)
		rc = addrpool_copy(&t->pool, &m->st->pool);
	pthread_rwlock_unlock(&m->st->lock);
	if (rc < 0)
		manager_pool_abort(m, t);
	return rc;
}

void manager_pool_abort(struct manager *m, struct manager_pool_txn *t)
{
	api_clear(&hvapi_address_pool_type, &t->pool);
	free(t->uses);
	memset(t, 0, sizeof(*t));
	pthread_mutex_unlock(&m->st->settings_mu);
}

/* Swaps t's pool in (the write lock held). */
static void swap_pool(struct manager *m, struct manager_pool_txn *t)
{
	api_clear(&hvapi_address_pool_type, &m->st->pool);
	m->st->pool = t->pool;
	memset(&t->pool, 0, sizeof(t->pool));
}

int manager_pool_commit(struct manager *m, struct manager_pool_txn *t, manager_locked_fn locked,
			void *arg)
{
	int rc = save_pool(m, &t->pool);

	pthread_rwlock_wrlock(&m->st->lock);
	if (locked != NULL)
		locked(m, arg, rc == 0);
	if (rc == 0)
		swap_pool(m, t);
	pthread_rwlock_unlock(&m->st->lock);
	manager_pool_abort(m, t);
	if (rc == 0)
		manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	return rc;
}

/* ---- the RPCs' changes ---- */

int manager_change_address_pool(struct manager *m,
				const struct hvapi_change_address_pool_request *r, char *err,
				size_t errsz)
{
	struct manager_pool_txn t;
	int rc = manager_pool_begin(m, &t);

	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	rc = addrpool_add(&t.pool, &m->st->subnets, t.uses, t.nuses, &r->addresses_to_add, err,
			  errsz);
	if (rc == 0)
		rc = addrpool_remove(&t.pool, t.uses, t.nuses, &r->addresses_to_remove, err, errsz);
	if (rc == 0) {
		int removed = addrpool_trim(&t.pool, &m->st->subnets, r->maximum_free_addresses.v,
					    r->maximum_free_addresses.n);

		rc = removed < 0 ? removed : 0;
		if (rc < 0)
			snprintf(err, errsz, "out of memory");
	}
	if (rc < 0) {
		manager_pool_abort(m, &t);
		return rc;
	}
	rc = manager_pool_commit(m, &t, NULL, NULL);
	if (rc < 0)
		snprintf(err, errsz, "writing address pool: %s", strerror(-rc));
	return rc;
}

int manager_update_subnets(struct manager *m, const struct hvapi_update_subnets_request *r,
			   char *err, size_t errsz)
{
	struct hvapi_subnets next = {0};
	struct hvapi_addresses drop = {0};
	struct manager_pool_txn t;
	int rc = manager_pool_begin(m, &t);

	if (rc < 0) {
		snprintf(err, errsz, "out of memory");
		return rc;
	}
	rc = subnets_update(&m->st->subnets, r, &t.pool, t.uses, t.nuses, &next, &drop, err, errsz);
	if (rc == 0 && (rc = addrpool_unregister_all(&t.pool, &drop)) < 0)
		snprintf(err, errsz, "out of memory");
	/* The pool first: a crash between the two writes leaves addresses out of the pool,
	 * never addresses outside every subnet. */
	if (rc == 0 && drop.n > 0 && (rc = save_pool(m, &t.pool)) < 0)
		snprintf(err, errsz, "writing address pool: %s", strerror(-rc));
	if (rc == 0 && (rc = save_subnets(m, &next)) < 0)
		snprintf(err, errsz, "writing subnets: %s", strerror(-rc));
	if (rc == 0) {
		pthread_rwlock_wrlock(&m->st->lock);
		hvapi_subnets_clear(&m->st->subnets);
		m->st->subnets = next;
		memset(&next, 0, sizeof(next));
		if (drop.n > 0)
			swap_pool(m, &t);
		pthread_rwlock_unlock(&m->st->lock);
		if (drop.n > 0)
			log_info(
			    "UpdateSubnets: %zu free addresses left the pool with their subnet",
			    drop.n);
	}
	manager_pool_abort(m, &t);
	hvapi_subnets_clear(&next);
	free(drop.v);
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
	pthread_mutex_lock(&m->st->settings_mu);
	if (rc == 0)
		rc = api_write_file(&hvapi_change_owners_request_type, path, &o, 0644);
	if (rc == 0) {
		pthread_rwlock_wrlock(&m->st->lock);
		api_strlist_clear(&m->st->owner_users);
		api_strlist_clear(&m->st->owner_groups);
		m->st->owner_users = o.owner_users;
		m->st->owner_groups = o.owner_groups;
		memset(&o, 0, sizeof(o));
		pthread_rwlock_unlock(&m->st->lock);
	}
	pthread_mutex_unlock(&m->st->settings_mu);
	api_clear(&hvapi_change_owners_request_type, &o);
	if (rc < 0)
		snprintf(err, errsz, "writing owners: %s", strerror(-rc));
	return rc;
}

bool manager_is_owner(struct manager *m, const char *user, char *const *groups, size_t ngroups)
{
	bool yes = false;

	pthread_rwlock_rdlock(&m->st->lock);
	if (user != NULL && *user && api_strlist_contains(&m->st->owner_users, user))
		yes = true;
	for (size_t i = 0; !yes && i < ngroups; i++)
		yes = api_strlist_contains(&m->st->owner_groups, groups[i]);
	pthread_rwlock_unlock(&m->st->lock);
	return yes;
}

int manager_set_disabled(struct manager *m, bool disabled, char *err, size_t errsz)
{
	int rc;

	pthread_mutex_lock(&m->st->settings_mu);
	rc = statedir_set_disabled(m->state_dir, disabled);
	if (rc == 0)
		atomic_store(&m->disabled, disabled);
	pthread_mutex_unlock(&m->st->settings_mu);
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

	pthread_rwlock_rdlock(&m->st->lock);
	v = calloc(m->st->subnets.n + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < m->st->subnets.n; i++) {
		const struct hvapi_subnet *s = &m->st->subnets.v[i];

		if (*api_str(s->id) == '\0' || strcmp(s->id, SUBNETS_HYPERVISOR_ID) == 0)
			continue;
		v[k].key = strdup(s->id);
		if (v[k].key == NULL)
			break;
		v[k++].count = (uint32_t)addrpool_num_free(&m->st->pool, s);
	}
	pthread_rwlock_unlock(&m->st->lock);
	if (v == NULL)
		return -ENOMEM;
	*out = v;
	*n = k;
	return 0;
}
