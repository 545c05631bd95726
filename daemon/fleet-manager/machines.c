/* machines: the topology in force and the local tag overrides of ChangeMachineTags (see
 * machines.h). The overrides live in <stateDir>/local-tags.json as
 * {"hostname": {"key": "value", ...}, ...}, keyed by hostname, and are kept for machines
 * that leave the topology (they apply again if the machine comes back). */
#include "daemon/fleet-manager/machines.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"

#define LOCAL_TAGS_MAX (64u << 20)

struct machines {
	pthread_mutex_t mu;
	struct topology *t;
	json_t *local; /* hostname -> {key: value} */
	char *path;
};

static int load_local(const char *path, json_t **out, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *j, *v;
	const char *host, *key;
	json_t *tv;
	int rc = fsutil_read_file(path, LOCAL_TAGS_MAX, &buf, &len);

	if (rc == -ENOENT) {
		*out = json_object();
		return *out != NULL ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
		return rc;
	}
	j = json_loadb(buf, len, 0, &je);
	free(buf);
	if (j == NULL || !json_is_object(j)) {
		snprintf(err, errsz, "%s:%d: %s", path, j ? 1 : je.line,
			 j ? "not a JSON object" : je.text);
		json_decref(j);
		return -EINVAL;
	}
	json_object_foreach(j, host, v)
	{
		if (!json_is_object(v))
			goto bad;
		json_object_foreach(v, key, tv)
		{
			if (!json_is_string(tv))
				goto bad;
		}
	}
	*out = j;
	return 0;
bad:
	snprintf(err, errsz, "%s: the tags of %s are not a map of strings", path, host);
	json_decref(j);
	return -EINVAL;
}

int machines_new(const char *state_dir, struct machines **out, char *err, size_t errsz)
{
	struct machines *ms = calloc(1, sizeof(*ms));
	int rc;

	*out = NULL;
	if (ms == NULL || fsutil_path_join(state_dir, "local-tags.json", &ms->path) < 0) {
		free(ms);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = load_local(ms->path, &ms->local, err, errsz);
	if (rc < 0) {
		free(ms->path);
		free(ms);
		return rc;
	}
	pthread_mutex_init(&ms->mu, NULL);
	*out = ms;
	return 0;
}

void machines_free(struct machines *ms)
{
	if (ms == NULL)
		return;
	topology_unref(ms->t);
	json_decref(ms->local);
	pthread_mutex_destroy(&ms->mu);
	free(ms->path);
	free(ms);
}

struct topology *machines_topology(struct machines *ms)
{
	struct topology *t;

	pthread_mutex_lock(&ms->mu);
	t = ms->t ? topology_ref(ms->t) : NULL;
	pthread_mutex_unlock(&ms->mu);
	return t;
}

/* The effective record of tm with the overrides in local (an object or NULL). */
static int effective(const struct topo_machine *tm, const json_t *local, struct fmapi_machine *out)
{
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (api_copy(&fmapi_machine_type, out, &tm->m) < 0)
		return -ENOMEM;
	json_object_foreach((json_t *)local, key, v)
	{
		if (hvapi_tags_set(&out->tags, key, json_string_value(v)) < 0) {
			fmapi_machine_clear(out);
			return -ENOMEM;
		}
	}
	return 0;
}

static int add_changed(struct fmapi_update *u, struct fmapi_machine *m)
{
	struct fmapi_machine *v =
	    realloc(u->changed_machines.v, (u->changed_machines.n + 1) * sizeof(*v));

	if (v == NULL) {
		fmapi_machine_clear(m);
		return -ENOMEM;
	}
	u->changed_machines.v = v;
	v[u->changed_machines.n++] = *m;
	return 0;
}

static bool same_machine(const struct fmapi_machine *a, const struct fmapi_machine *b)
{
	json_t *ja = fmapi_machine_to_json(a), *jb = fmapi_machine_to_json(b);
	bool eq = ja != NULL && jb != NULL && json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return eq;
}

void machines_set_topology(struct machines *ms, struct topology *t, struct fmapi_update *u)
{
	struct topology *old;
	size_t n = topology_nmachines(t);

	pthread_mutex_lock(&ms->mu);
	old = ms->t;
	for (size_t i = 0; i < n; i++) {
		const struct topo_machine *tm = topology_machine(t, i);
		const char *host = api_str(tm->m.net.hostname);
		const json_t *local = json_object_get(ms->local, host);
		const struct topo_machine *om = old ? topology_find_hostname(old, host) : NULL;
		struct fmapi_machine nm, prev;

		if (effective(tm, local, &nm) < 0)
			continue;
		if (om != NULL && effective(om, local, &prev) == 0) {
			bool same = same_machine(&nm, &prev);

			fmapi_machine_clear(&prev);
			if (same) {
				fmapi_machine_clear(&nm);
				continue;
			}
		}
		add_changed(u, &nm);
	}
	for (size_t i = 0; old != NULL && i < topology_nmachines(old); i++) {
		const char *host = api_str(topology_machine(old, i)->m.net.hostname);

		if (topology_find_hostname(t, host) == NULL)
			api_strlist_add(&u->deleted_machines, host);
	}
	ms->t = t;
	pthread_mutex_unlock(&ms->mu);
	topology_unref(old);
}

int machines_get(struct machines *ms, const char *hostname, struct fmapi_machine *out)
{
	const struct topo_machine *tm;
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ms->mu);
	tm = ms->t ? topology_find_hostname(ms->t, hostname) : NULL;
	if (tm != NULL)
		rc = effective(tm, json_object_get(ms->local, hostname), out);
	pthread_mutex_unlock(&ms->mu);
	return rc;
}

static int save_local(struct machines *ms, char *err, size_t errsz)
{
	char *s = json_dumps(ms->local, JSON_INDENT(4) | JSON_SORT_KEYS);
	int rc;

	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = fsutil_write_atomic(ms->path, s, strlen(s), 0644);
	free(s);
	if (rc < 0)
		snprintf(err, errsz, "writing %s: %s", ms->path, strerror(-rc));
	return rc;
}

int machines_change_tags(struct machines *ms, const char *hostname, const struct hvapi_tags *tags,
			 struct fmapi_update *u, char *err, size_t errsz)
{
	const struct topo_machine *tm;
	json_t *nl = json_object(), *old;
	struct fmapi_machine m;
	int rc;

	if (nl == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&ms->mu);
	tm = ms->t ? topology_find_hostname(ms->t, hostname) : NULL;
	if (tm == NULL) {
		pthread_mutex_unlock(&ms->mu);
		json_decref(nl);
		snprintf(err, errsz, "Hypervisor not found");
		return -ENOENT;
	}
	for (size_t i = 0; i < tags->n; i++) {
		const char *k = api_str(tags->v[i].key), *v = api_str(tags->v[i].value);
		const char *tv = hvapi_tags_get(&tm->m.tags, k);

		if (tv != NULL && strcmp(tv, v) == 0)
			continue; /* the topology says the same: not an override */
		json_object_set_new(nl, k, json_string(v));
	}
	old = json_incref(json_object_get(ms->local, hostname));
	if (json_object_size(nl) > 0)
		json_object_set(ms->local, hostname, nl);
	else
		json_object_del(ms->local, hostname);
	rc = save_local(ms, err, errsz);
	if (rc < 0) { /* what is on disk stays in force */
		if (old != NULL)
			json_object_set(ms->local, hostname, old);
		else
			json_object_del(ms->local, hostname);
	} else if (effective(tm, json_object_get(ms->local, hostname), &m) == 0) {
		add_changed(u, &m);
	}
	pthread_mutex_unlock(&ms->mu);
	json_decref(old);
	json_decref(nl);
	return rc;
}
