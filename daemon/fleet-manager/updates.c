/* updates: GetUpdates fan-out with per-subscriber coalescing (see updates.h). An
 * Update is encoded to JSON once per publish and its items (each machine, hypervisor
 * and VM) are shared by reference between the subscribers' pending maps, so that a
 * change costs one map store per subscriber. */
#include "daemon/fleet-manager/updates.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "topology.h"

struct fm_updates_sub {
	struct fm_updates_sub *next;
	char *location;
	int efd;
	bool signalled;
	/* Pending, latest state per key; null marks a deletion. */
	json_t *machines; /* hostname -> Machine | null */
	json_t *hvs;	  /* hostname -> HypervisorEntry's HypervisorData */
	json_t *vms;	  /* IP -> VmInfo | null */
	json_t *vm2hv;	  /* IP -> hostname */
};

struct fm_updates {
	pthread_mutex_t mu;
	struct fm_updates_sub *subs;
	size_t nsubs;
	bool closed;
	unsigned long long nsent;
	json_t *host_loc; /* machine hostname -> location */
	json_t *machines; /* hostname -> Machine: the latest state, for first messages */
	json_t *vm_host;  /* VM IP -> hypervisor hostname */
};

struct fm_updates *fm_updates_new(void)
{
	struct fm_updates *up = calloc(1, sizeof(*up));

	if (up == NULL)
		return NULL;
	up->host_loc = json_object();
	up->vm_host = json_object();
	up->machines = json_object();
	if (up->host_loc == NULL || up->vm_host == NULL || up->machines == NULL) {
		fm_updates_free(up);
		return NULL;
	}
	pthread_mutex_init(&up->mu, NULL);
	return up;
}

void fm_updates_free(struct fm_updates *up)
{
	if (up == NULL)
		return;
	json_decref(up->host_loc);
	json_decref(up->vm_host);
	json_decref(up->machines);
	pthread_mutex_destroy(&up->mu);
	free(up);
}

static void sub_free(struct fm_updates_sub *s)
{
	if (s == NULL)
		return;
	if (s->efd >= 0)
		close(s->efd);
	json_decref(s->machines);
	json_decref(s->hvs);
	json_decref(s->vms);
	json_decref(s->vm2hv);
	free(s->location);
	free(s);
}

struct fm_updates_sub *fm_updates_subscribe(struct fm_updates *up, const char *location)
{
	struct fm_updates_sub *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->location = strdup(location ? location : "");
	s->machines = json_object();
	s->hvs = json_object();
	s->vms = json_object();
	s->vm2hv = json_object();
	if (s->efd < 0 || s->location == NULL || s->machines == NULL || s->hvs == NULL ||
	    s->vms == NULL || s->vm2hv == NULL) {
		sub_free(s);
		return NULL;
	}
	pthread_mutex_lock(&up->mu);
	if (up->closed) {
		pthread_mutex_unlock(&up->mu);
		sub_free(s);
		return NULL;
	}
	s->next = up->subs;
	up->subs = s;
	up->nsubs++;
	pthread_mutex_unlock(&up->mu);
	return s;
}

void fm_updates_unsubscribe(struct fm_updates *up, struct fm_updates_sub *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&up->mu);
	for (struct fm_updates_sub **p = &up->subs; *p != NULL; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			up->nsubs--;
			break;
		}
	}
	pthread_mutex_unlock(&up->mu);
	sub_free(s);
}

int fm_updates_sub_fd(const struct fm_updates_sub *s)
{
	return s->efd;
}

static void wake(struct fm_updates_sub *s)
{
	uint64_t one = 1;

	if (s->signalled)
		return;
	s->signalled = true;
	if (write(s->efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with one write per take: nothing to do. */
	}
}

/* Stores value (borrowed) under key in field of every subscriber of loc (NULL: a
 * location unknown to us, for the subscribers of everything only). */
static void fan_out(struct fm_updates *up, const char *loc, size_t field, const char *key,
		    json_t *value)
{
	for (struct fm_updates_sub *s = up->subs; s != NULL; s = s->next) {
		json_t *map = *(json_t **)((char *)s + field);

		if (loc == NULL ? *s->location != '\0' : !topology_location_in(loc, s->location))
			continue;
		json_object_set(map, key, value);
		wake(s);
	}
}

#define SUB_FIELD(m) offsetof(struct fm_updates_sub, m)

static const char *host_location(struct fm_updates *up, const char *host)
{
	return json_string_value(json_object_get(up->host_loc, host));
}

static const char *vm_location(struct fm_updates *up, const char *ip)
{
	const char *host = json_string_value(json_object_get(up->vm_host, ip));

	return host ? host_location(up, host) : NULL;
}

static void publish_machines(struct fm_updates *up, json_t *j)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(j, "ChangedMachines"), i, v)
	{
		const char *host = json_string_value(json_object_get(v, "Hostname"));
		const char *loc = json_string_value(json_object_get(v, "Location"));

		if (host == NULL)
			continue;
		json_object_set_new(up->host_loc, host, json_string(loc ? loc : ""));
		json_object_set(up->machines, host, v);
		fan_out(up, loc ? loc : "", SUB_FIELD(machines), host, v);
	}
	json_array_foreach(json_object_get(j, "DeletedMachines"), i, v)
	{
		const char *host = json_string_value(v);
		char *loc;

		if (host == NULL)
			continue;
		loc = host_location(up, host) ? strdup(host_location(up, host)) : NULL;
		json_object_del(up->host_loc, host);
		json_object_del(up->machines, host);
		fan_out(up, loc, SUB_FIELD(machines), host, json_null());
		free(loc);
	}
}

static void publish_vms(struct fm_updates *up, json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	/* Placement first: the VMs of this Update are placed by it. */
	json_object_foreach(json_object_get(j, "VmToHypervisor"), key, v)
	{
		json_object_set(up->vm_host, key, v);
		fan_out(up, vm_location(up, key), SUB_FIELD(vm2hv), key, v);
	}
	json_object_foreach(json_object_get(j, "ChangedVMs"), key, v)
	{
		fan_out(up, vm_location(up, key), SUB_FIELD(vms), key, v);
	}
	json_array_foreach(json_object_get(j, "DeletedVMs"), i, v)
	{
		const char *ip = json_string_value(v);

		if (ip == NULL)
			continue;
		fan_out(up, vm_location(up, ip), SUB_FIELD(vms), ip, json_null());
		json_object_del(up->vm_host, ip);
	}
}

void fm_updates_publish(struct fm_updates *up, const struct fmapi_update *u)
{
	json_t *j = fmapi_update_to_json(u);
	const char *key;
	json_t *v;

	if (j == NULL)
		return;
	pthread_mutex_lock(&up->mu);
	publish_machines(up, j);
	json_object_foreach(json_object_get(j, "ChangedHypervisors"), key, v)
	{
		fan_out(up, host_location(up, key), SUB_FIELD(hvs), key, v);
	}
	publish_vms(up, j);
	pthread_mutex_unlock(&up->mu);
	json_decref(j);
}

/* The pending maps of s as one Update; empties them. */
static json_t *build(struct fm_updates_sub *s)
{
	json_t *u = json_object(), *changed = json_array(), *deleted = json_array();
	json_t *dvms = json_array(), *cvms = json_object();
	const char *key;
	json_t *v;

	if (u == NULL || changed == NULL || deleted == NULL || dvms == NULL || cvms == NULL) {
		json_decref(u);
		json_decref(changed);
		json_decref(deleted);
		json_decref(dvms);
		json_decref(cvms);
		return NULL;
	}
	json_object_foreach(s->machines, key, v)
	{
		if (json_is_null(v))
			json_array_append_new(deleted, json_string(key));
		else
			json_array_append(changed, v);
	}
	json_object_foreach(s->vms, key, v)
	{
		if (json_is_null(v))
			json_array_append_new(dvms, json_string(key));
		else
			json_object_set(cvms, key, v);
	}
	if (json_object_size(s->hvs) > 0)
		json_object_set(u, "ChangedHypervisors", s->hvs);
	json_object_set_new(u, "ChangedMachines", changed);
	json_object_set_new(u, "ChangedVMs", cvms);
	json_object_set_new(u, "DeletedMachines", deleted);
	json_object_set_new(u, "DeletedVMs", dvms);
	if (json_object_size(s->vm2hv) > 0)
		json_object_set(u, "VmToHypervisor", s->vm2hv);
	/* omitempty, as the codec writes an Update */
	if (json_array_size(changed) == 0)
		json_object_del(u, "ChangedMachines");
	if (json_object_size(cvms) == 0)
		json_object_del(u, "ChangedVMs");
	if (json_array_size(deleted) == 0)
		json_object_del(u, "DeletedMachines");
	if (json_array_size(dvms) == 0)
		json_object_del(u, "DeletedVMs");
	json_decref(s->hvs);
	json_decref(s->vm2hv);
	s->hvs = json_object();
	s->vm2hv = json_object();
	json_object_clear(s->machines);
	json_object_clear(s->vms);
	return u;
}

json_t *fm_updates_take(struct fm_updates *up, struct fm_updates_sub *s, bool *closed)
{
	uint64_t n;
	json_t *u = NULL;

	pthread_mutex_lock(&up->mu);
	if (read(s->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was signalled; the maps say what is pending anyway. */
	}
	s->signalled = false;
	*closed = up->closed;
	if (json_object_size(s->machines) + json_object_size(s->hvs) + json_object_size(s->vms) +
		json_object_size(s->vm2hv) >
	    0) {
		u = build(s);
		if (u != NULL)
			up->nsent++;
	}
	pthread_mutex_unlock(&up->mu);
	return u;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *fm_updates_machines(struct fm_updates *up, const char *location)
{
	json_t *a = json_array(), *v;
	const char **keys = NULL, *key;
	size_t n = 0;

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&up->mu);
	keys = calloc(json_object_size(up->machines) + 1, sizeof(*keys));
	json_object_foreach(up->machines, key, v)
	{
		const char *loc = json_string_value(json_object_get(v, "Location"));

		if (keys != NULL && topology_location_in(loc ? loc : "", location))
			keys[n++] = key;
	}
	if (keys != NULL)
		qsort(keys, n, sizeof(*keys), cmp_str); /* by hostname, as the topology */
	for (size_t i = 0; i < n; i++)
		json_array_append(a, json_object_get(up->machines, keys[i]));
	pthread_mutex_unlock(&up->mu);
	if (keys == NULL) {
		json_decref(a);
		return NULL;
	}
	free(keys);
	return a;
}

void fm_updates_shutdown(struct fm_updates *up)
{
	pthread_mutex_lock(&up->mu);
	up->closed = true;
	for (struct fm_updates_sub *s = up->subs; s != NULL; s = s->next) {
		s->signalled = false;
		wake(s);
	}
	pthread_mutex_unlock(&up->mu);
}

void fm_updates_stats(struct fm_updates *up, size_t *nsubs, unsigned long long *nsent)
{
	pthread_mutex_lock(&up->mu);
	*nsubs = up->nsubs;
	*nsent = up->nsent;
	pthread_mutex_unlock(&up->mu);
}
