/* GetUpdates subscribers with per-key coalescing (see updates.h). */
#include "daemon/hypervisor/rpc/updates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct updates_sub {
	struct updates_sub *next;
	int efd;
	bool see_all;
	char *user;
	struct api_strlist groups;
	/* dirty items, guarded by updates->mu */
	bool pool, subnets, disabled;
	struct api_strlist vms;
};

struct updates {
	struct manager *m;
	pthread_mutex_t mu;
	struct updates_sub *subs;
};

struct updates *updates_new(struct manager *m)
{
	struct updates *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->m = m;
	pthread_mutex_init(&u->mu, NULL);
	return u;
}

void updates_free(struct updates *u)
{
	if (u == NULL)
		return;
	pthread_mutex_destroy(&u->mu);
	free(u);
}

static void wake(struct updates_sub *s)
{
	uint64_t one = 1;

	(void)!write(s->efd, &one, sizeof(one));
}

void updates_notify(void *arg, enum manager_change what, const char *ip)
{
	struct updates *u = arg;

	pthread_mutex_lock(&u->mu);
	for (struct updates_sub *s = u->subs; s != NULL; s = s->next) {
		switch (what) {
		case MANAGER_CHANGED_VM:
		case MANAGER_CHANGED_VM_GONE:
			/* Deleted VMs are sent as {} (a VM unknown at send time). */
			if (ip != NULL && strcmp(ip, "0.0.0.0") != 0 &&
			    !api_strlist_contains(&s->vms, ip))
				api_strlist_add(&s->vms, ip);
			break;
		case MANAGER_CHANGED_POOL:
			s->pool = true;
			break;
		case MANAGER_CHANGED_SUBNETS:
			s->subnets = true;
			break;
		case MANAGER_CHANGED_DISABLED:
			s->disabled = true;
			break;
		}
		wake(s);
	}
	pthread_mutex_unlock(&u->mu);
}

struct updates_sub *updates_subscribe(struct updates *u, const struct vm_caller *caller,
				      bool see_all)
{
	struct updates_sub *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->user = strdup(caller->user ? caller->user : "");
	s->see_all = see_all;
	for (size_t i = 0; i < caller->ngroups; i++)
		api_strlist_add(&s->groups, caller->groups[i]);
	if (s->efd < 0 || s->user == NULL) {
		if (s->efd >= 0)
			close(s->efd);
		free(s->user);
		api_strlist_clear(&s->groups);
		free(s);
		return NULL;
	}
	pthread_mutex_lock(&u->mu);
	s->next = u->subs;
	u->subs = s;
	pthread_mutex_unlock(&u->mu);
	return s;
}

int updates_sub_fd(const struct updates_sub *s)
{
	return s->efd;
}

void updates_unsubscribe(struct updates *u, struct updates_sub *s)
{
	pthread_mutex_lock(&u->mu);
	for (struct updates_sub **p = &u->subs; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&u->mu);
	close(s->efd);
	free(s->user);
	api_strlist_clear(&s->groups);
	api_strlist_clear(&s->vms);
	free(s);
}

void updates_heartbeat(struct hvapi_update *out)
{
	memset(out, 0, sizeof(*out));
	out->health_status = strdup("");
	out->has_available_memory = true;
	out->available_memory_mib = manager_mem_available_mib();
}

static bool visible(const struct updates_sub *s, struct vm *vm)
{
	struct vm_caller c = {.user = s->user, .groups = s->groups.v, .ngroups = s->groups.n};

	return s->see_all || vm_visible(vm, &c);
}

static int add_vm(struct hvapi_update *out, const char *ip, struct vm *vm)
{
	struct hvapi_vm_entry *e = realloc(out->vms.v, (out->vms.n + 1) * sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	out->vms.v = e;
	e = &e[out->vms.n];
	memset(e, 0, sizeof(*e));
	e->ip = strdup(ip);
	if (e->ip == NULL)
		return -ENOMEM;
	out->vms.n++;
	if (vm != NULL) {
		e->vm = calloc(1, sizeof(*e->vm));
		if (e->vm == NULL || api_copy(&hvapi_vm_info_type, e->vm, &vm->info.vm) < 0)
			return -ENOMEM;
	}
	out->have_vms = true;
	return 0;
}

static void fill_host(struct updates *u, struct updates_sub *s, bool full, bool pool, bool subnets,
		      bool disabled, struct hvapi_update *out)
{
	struct manager *m = u->m;
	struct manager_view v;

	if (full) {
		out->architecture =
		    strcmp(m->host_arch, "aarch64") == 0 ? HVAPI_ARCH_ARM64 : HVAPI_ARCH_AMD64;
		out->has_memory = true;
		out->memory_mib = m->mem_total_mib;
		out->has_num_cpus = true;
		out->num_cpus = m->ncpus;
		out->has_total_volume_bytes = true;
		out->total_volume_bytes = volumes_total_bytes(&m->vols);
		out->have_serial_number = true;
		out->serial_number = strdup(m->serial_number);
	}
	if (full || disabled) {
		out->have_disabled = true;
		out->disabled = atomic_load(&m->disabled);
	}
	if (!s->see_all)
		return;
	if ((full || pool || subnets) &&
	    manager_view(m,
			 (full || pool ? MANAGER_VIEW_POOL : 0) |
			     (full || subnets ? MANAGER_VIEW_SUBNETS : 0),
			 &v) == 0) {
		if (full || pool) {
			out->have_address_pool = true;
			out->address_pool = v.pool.registered;
			memset(&v.pool.registered, 0, sizeof(v.pool.registered));
		}
		if (full || subnets) {
			/* The host's own subnet is not sent (as the original). */
			out->have_subnets = true;
			out->subnets.v = calloc(v.subnets.n + 1, sizeof(*out->subnets.v));
			for (size_t i = 0; out->subnets.v != NULL && i < v.subnets.n; i++)
				if (strcmp(api_str(v.subnets.v[i].id), "hypervisor") != 0)
					out->subnets.v[out->subnets.n++] = v.subnets.v[i];
				else
					api_clear(&hvapi_subnet_type, &v.subnets.v[i]);
			if (out->subnets.v != NULL)
				v.subnets.n = 0; /* moved out */
		}
		manager_view_clear(&v);
	}
	if (full || pool || subnets || disabled) {
		struct hvapi_count *counts;
		size_t n;

		if (manager_num_free(m, &counts, &n) == 0) {
			out->num_free_addresses.v = counts;
			out->num_free_addresses.n = n;
		}
	}
}

int updates_next(struct updates *u, struct updates_sub *s, bool full, struct hvapi_update *out)
{
	struct api_strlist vms = {0};
	bool pool, subnets, disabled;
	uint64_t drained;

	(void)!read(s->efd, &drained, sizeof(drained));
	pthread_mutex_lock(&u->mu);
	vms = s->vms;
	memset(&s->vms, 0, sizeof(s->vms));
	pool = s->pool;
	subnets = s->subnets;
	disabled = s->disabled;
	s->pool = s->subnets = s->disabled = false;
	pthread_mutex_unlock(&u->mu);

	updates_heartbeat(out);
	fill_host(u, s, full, pool, subnets, disabled, out);
	if (full) {
		struct vm **all = NULL;
		size_t n = 0;

		out->have_vms = true;
		if (manager_vms(u->m, &all, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				pthread_mutex_lock(&all[i]->mu);
				if (visible(s, all[i]) && !all[i]->removed)
					add_vm(out, all[i]->ipstr, all[i]);
				pthread_mutex_unlock(&all[i]->mu);
			}
			manager_vms_free(all, n);
		}
	} else {
		for (size_t i = 0; i < vms.n; i++) {
			struct vm *vm = manager_find_str(u->m, vms.v[i]);

			if (vm == NULL) {
				/* Gone: non-admins only learn about removals of VMs they could
				 * have known; an unknown IP reveals nothing. */
				add_vm(out, vms.v[i], NULL);
				continue;
			}
			pthread_mutex_lock(&vm->mu);
			if (visible(s, vm))
				add_vm(out, vm->ipstr, vm->removed ? NULL : vm);
			pthread_mutex_unlock(&vm->mu);
			vm_unref(vm);
		}
	}
	api_strlist_clear(&vms);
	return full || out->have_vms || out->have_address_pool || out->have_subnets ||
	       out->have_disabled || out->num_free_addresses.n > 0;
}
