/* The VM manager's store: the VM map, the readers' view of the guarded state, usage,
 * findings and change notification (see manager.h, manager_state.h). */
#include "daemon/hypervisor/vmm/manager.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "log.h"

uint64_t manager_meminfo_mib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t klen = strlen(key);
	uint64_t kib = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kib = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib / 1024;
}

uint64_t manager_mem_available_mib(void)
{
	return manager_meminfo_mib("MemAvailable");
}

void manager_problem(struct manager *m, const char *fmt, ...)
{
	char msg[1024], **p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
	pthread_mutex_lock(&m->problems_mu);
	p = realloc(m->problems, (m->nproblems + 1) * sizeof(*p));
	if (p != NULL) {
		m->problems = p;
		p[m->nproblems] = strdup(msg);
		if (p[m->nproblems] != NULL)
			m->nproblems++;
	}
	pthread_mutex_unlock(&m->problems_mu);
}

char **manager_problems(struct manager *m, size_t *n)
{
	char **out;

	pthread_mutex_lock(&m->problems_mu);
	out = calloc(m->nproblems + 1, sizeof(*out));
	*n = 0;
	for (size_t i = 0; out != NULL && i < m->nproblems; i++) {
		out[i] = strdup(m->problems[i]);
		if (out[i] == NULL)
			break;
		*n = i + 1;
	}
	pthread_mutex_unlock(&m->problems_mu);
	return out;
}

void manager_changed(struct manager *m, enum manager_change what, const char *ip)
{
	if (m->notify != NULL)
		m->notify(m->notify_arg, what, ip);
}

void manager_set_notify(struct manager *m, manager_notify_fn fn, void *arg)
{
	m->notify = fn;
	m->notify_arg = arg;
}

/* ---- the VM map (sorted by IP, in host byte order) ---- */

static size_t lower_bound(struct manager *m, struct in_addr ip)
{
	size_t lo = 0, hi = m->st->nvms;
	uint32_t key = ntohl(ip.s_addr);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ntohl(m->st->vms[mid]->ip.s_addr) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts vm (taking its reference). Call with m->st->lock held for writing. */
int manager_insert_locked(struct manager *m, struct vm *vm)
{
	size_t i = lower_bound(m, vm->ip);
	struct vm **v;

	if (i < m->st->nvms && m->st->vms[i]->ip.s_addr == vm->ip.s_addr)
		return -EEXIST;
	v = realloc(m->st->vms, (m->st->nvms + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	memmove(&v[i + 1], &v[i], (m->st->nvms - i) * sizeof(*v));
	v[i] = vm;
	m->st->vms = v;
	m->st->nvms++;
	return 0;
}

/* Removes vm from the map and drops the map's reference. Call with m->st->lock held
 * for writing. Returns false if it was not there. */
bool manager_remove_locked(struct manager *m, struct vm *vm)
{
	size_t i = lower_bound(m, vm->ip);

	if (i >= m->st->nvms || m->st->vms[i] != vm)
		return false;
	memmove(&m->st->vms[i], &m->st->vms[i + 1], (m->st->nvms - i - 1) * sizeof(*m->st->vms));
	m->st->nvms--;
	vm_unref(vm);
	return true;
}

struct vm *manager_find_locked(struct manager *m, struct in_addr ip)
{
	size_t i = lower_bound(m, ip);

	if (i < m->st->nvms && m->st->vms[i]->ip.s_addr == ip.s_addr)
		return m->st->vms[i];
	return NULL;
}

struct vm *manager_find(struct manager *m, struct in_addr ip)
{
	struct vm *vm;

	pthread_rwlock_rdlock(&m->st->lock);
	vm = manager_find_locked(m, ip);
	if (vm != NULL)
		vm_ref(vm);
	pthread_rwlock_unlock(&m->st->lock);
	return vm;
}

struct vm *manager_find_str(struct manager *m, const char *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return NULL;
	return manager_find(m, a);
}

int manager_vms(struct manager *m, struct vm ***out, size_t *n)
{
	struct vm **v;

	pthread_rwlock_rdlock(&m->st->lock);
	v = calloc(m->st->nvms + 1, sizeof(*v));
	if (v == NULL) {
		pthread_rwlock_unlock(&m->st->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->st->nvms; i++)
		v[i] = vm_ref(m->st->vms[i]);
	*n = m->st->nvms;
	pthread_rwlock_unlock(&m->st->lock);
	*out = v;
	return 0;
}

void manager_vms_free(struct vm **vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm_unref(vms[i]);
	free(vms);
}

/* ---- readers ---- */

int manager_uses_locked(struct manager *m, struct addrpool_use **uses, size_t *n)
{
	int rc = 0;

	*uses = NULL;
	*n = 0;
	for (size_t i = 0; i < m->st->nvms && rc == 0; i++) {
		pthread_mutex_lock(&m->st->vms[i]->mu);
		rc = vm_append_uses(m->st->vms[i], uses, n);
		pthread_mutex_unlock(&m->st->vms[i]->mu);
	}
	return rc;
}

void manager_usage_locked(struct manager *m, uint64_t *milli_cpus, uint64_t *mem_mib,
			  uint64_t *storage)
{
	*milli_cpus = *mem_mib = *storage = 0;
	for (size_t i = 0; i < m->st->nvms; i++) {
		struct vm *vm = m->st->vms[i];

		pthread_mutex_lock(&vm->mu);
		*milli_cpus += vm->info.vm.milli_cpus;
		*mem_mib += vm->info.vm.memory_mib;
		*storage += vm_storage_bytes(&vm->info.vm);
		pthread_mutex_unlock(&vm->mu);
	}
}

void manager_usage(struct manager *m, uint64_t *milli_cpus, uint64_t *mem_mib, uint64_t *storage)
{
	pthread_rwlock_rdlock(&m->st->lock);
	manager_usage_locked(m, milli_cpus, mem_mib, storage);
	pthread_rwlock_unlock(&m->st->lock);
}

uint64_t *manager_volume_allocation(struct manager *m)
{
	uint64_t *a = calloc(m->vols.n + 1, sizeof(uint64_t));

	if (a == NULL)
		return NULL;
	pthread_rwlock_rdlock(&m->st->lock);
	for (size_t i = 0; i < m->st->nvms; i++) {
		struct vm *vm = m->st->vms[i];

		pthread_mutex_lock(&vm->mu);
		for (size_t k = 0; k < vm->info.volume_locations.n && k < vm->info.vm.volumes.n;
		     k++) {
			int d = volumes_index_of(&m->vols,
						 api_str(vm->info.volume_locations.v[k].filename));

			if (d >= 0)
				a[d] += hvapi_volume_effective_size(&vm->info.vm.volumes.v[k]);
		}
		pthread_mutex_unlock(&vm->mu);
	}
	pthread_rwlock_unlock(&m->st->lock);
	return a;
}

static int copy_subnets(struct hvapi_subnets *dst, const struct hvapi_subnets *src)
{
	int rc = 0;

	dst->v = calloc(src->n + 1, sizeof(*dst->v));
	if (dst->v == NULL)
		return -ENOMEM;
	for (size_t i = 0; rc == 0 && i < src->n; i++)
		if ((rc = api_copy(&hvapi_subnet_type, &dst->v[i], &src->v[i])) == 0)
			dst->n++;
	return rc;
}

int manager_view(struct manager *m, unsigned what, struct manager_view *v)
{
	int rc = 0;

	memset(v, 0, sizeof(*v));
	pthread_rwlock_rdlock(&m->st->lock);
	if (what & MANAGER_VIEW_POOL)
		rc = addrpool_copy(&v->pool, &m->st->pool);
	if (rc == 0 && (what & MANAGER_VIEW_SUBNETS))
		rc = copy_subnets(&v->subnets, &m->st->subnets);
	if (rc == 0 && (what & MANAGER_VIEW_USES))
		rc = manager_uses_locked(m, &v->uses, &v->nuses);
	if (rc == 0 && (what & MANAGER_VIEW_COUNTS)) {
		v->nvms = m->st->nvms;
		for (size_t i = 0; i < m->st->nvms; i++) {
			pthread_mutex_lock(&m->st->vms[i]->mu);
			if ((unsigned)m->st->vms[i]->info.vm.state < HVAPI_STATE_COUNT)
				v->by_state[m->st->vms[i]->info.vm.state]++;
			pthread_mutex_unlock(&m->st->vms[i]->mu);
		}
		manager_usage_locked(m, &v->milli_cpus, &v->mem_mib, &v->storage);
	}
	pthread_rwlock_unlock(&m->st->lock);
	if (rc < 0)
		manager_view_clear(v);
	return rc;
}

void manager_view_clear(struct manager_view *v)
{
	api_clear(&hvapi_address_pool_type, &v->pool);
	hvapi_subnets_clear(&v->subnets);
	free(v->uses);
	memset(v, 0, sizeof(*v));
}

void manager_hold_lock(struct manager *m, const char *who, bool write, int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	if (write)
		pthread_rwlock_wrlock(&m->st->lock);
	else
		pthread_rwlock_rdlock(&m->st->lock);
	log_info("HoldLock(%s): manager %s lock held for %lld ms", who, write ? "write" : "read",
		 (long long)(ns / 1000000));
	nanosleep(&ts, NULL);
	pthread_rwlock_unlock(&m->st->lock);
}
