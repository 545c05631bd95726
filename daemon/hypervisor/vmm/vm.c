/* One VM's record and rights (see vm.h). */
#include "daemon/hypervisor/vmm/vm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vm *vm_new(const char *state_dir, struct hvapi_local_vm_info *info)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (vm == NULL)
		return NULL;
	atomic_init(&vm->refs, 1);
	vm->ip = info->vm.address.ip;
	inet_ntop(AF_INET, &vm->ip, vm->ipstr, sizeof(vm->ipstr));
	if (asprintf(&vm->dir, "%s/VMs/%s", state_dir, vm->ipstr) < 0) {
		free(vm);
		return NULL;
	}
	pthread_mutex_init(&vm->mu, NULL);
	pthread_cond_init(&vm->changed, NULL);
	vm->info = *info;
	memset(info, 0, sizeof(*info));
	vm->acknowledged = true;
	vm->managed = true;
	return vm;
}

struct vm *vm_ref(struct vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
	return vm;
}

void vm_unref(struct vm *vm)
{
	if (vm == NULL || atomic_fetch_sub(&vm->refs, 1) != 1)
		return;
	api_clear(&hvapi_local_vm_info_type, &vm->info);
	OPENSSL_cleanse(vm->token, sizeof(vm->token));
	pthread_mutex_destroy(&vm->mu);
	pthread_cond_destroy(&vm->changed);
	free(vm->dir);
	free(vm);
}

int vm_path(const struct vm *vm, const char *name, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%s/%s", vm->dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int vm_save(struct vm *vm)
{
	char path[4096];
	int rc = vm_path(vm, "info.json", path, sizeof(path));

	return rc < 0 ? rc : api_write_file(&hvapi_local_vm_info_type, path, &vm->info, 0644);
}

int vm_commit(struct vm *vm, struct hvapi_local_vm_info *info)
{
	char path[4096];
	int rc = vm_path(vm, "info.json", path, sizeof(path));

	if (rc == 0)
		rc = api_write_file(&hvapi_local_vm_info_type, path, info, 0644);
	if (rc < 0)
		return rc;
	api_clear(&hvapi_local_vm_info_type, &vm->info);
	vm->info = *info;
	memset(info, 0, sizeof(*info));
	return 0;
}

int vm_set_state(struct vm *vm, enum hvapi_state s)
{
	if (vm->info.vm.state == s)
		return 0;
	vm->info.vm.state = s;
	clock_gettime(CLOCK_REALTIME, &vm->info.vm.changed_state_on);
	pthread_cond_broadcast(&vm->changed);
	return vm_save(vm);
}

static bool owner(const struct vm *vm, const struct vm_caller *c)
{
	const struct hvapi_vm_info *i = &vm->info.vm;

	if (c->user != NULL && *c->user && api_strlist_contains(&i->owner_users, c->user))
		return true;
	for (size_t k = 0; k < c->ngroups; k++)
		if (api_strlist_contains(&i->owner_groups, c->groups[k]))
			return true;
	return false;
}

bool vm_access(const struct vm *vm, const struct vm_caller *c, const uint8_t *token,
	       size_t token_len)
{
	struct timespec now;

	if (c->admin || owner(vm, c))
		return true;
	if (token == NULL || token_len != VM_TOKEN_LEN || vm->token_expires.tv_sec == 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > vm->token_expires.tv_sec ||
	    (now.tv_sec == vm->token_expires.tv_sec && now.tv_nsec >= vm->token_expires.tv_nsec))
		return false;
	return CRYPTO_memcmp(token, vm->token, VM_TOKEN_LEN) == 0;
}

bool vm_visible(const struct vm *vm, const struct vm_caller *c)
{
	return c->admin || owner(vm, c);
}

unsigned vm_vcpus(const struct hvapi_vm_info *info, unsigned ncpus)
{
	unsigned n = (info->milli_cpus + 999) / 1000;

	if (n < 1)
		n = 1;
	if (info->virtual_cpus > n)
		n = info->virtual_cpus;
	if (ncpus > 0 && n > ncpus)
		n = ncpus;
	return n;
}

uint64_t vm_storage_bytes(const struct hvapi_vm_info *info)
{
	uint64_t total = 0;

	for (size_t i = 0; i < info->volumes.n; i++) {
		const struct hvapi_volume *v = &info->volumes.v[i];

		total += hvapi_volume_effective_size(v);
		for (size_t k = 0; k < v->snapshots.n; k++)
			total += v->snapshots.v[k].size;
	}
	return total;
}

int vm_append_uses(const struct vm *vm, struct addrpool_use **uses, size_t *n)
{
	const struct hvapi_vm_info *i = &vm->info.vm;
	size_t add = 1 + i->secondary_addresses.n;
	struct addrpool_use *u = realloc(*uses, (*n + add) * sizeof(*u));

	if (u == NULL)
		return -ENOMEM;
	u[*n] = (struct addrpool_use){.addr = i->address, .vm = vm->ip};
	for (size_t k = 0; k < i->secondary_addresses.n; k++)
		u[*n + 1 + k] =
		    (struct addrpool_use){.addr = i->secondary_addresses.v[k], .vm = vm->ip};
	*uses = u;
	*n += add;
	return 0;
}

int vm_append_volume(struct hvapi_local_vm_info *info, const struct hvapi_volume *proto,
		     uint64_t size, const char *dir, const char *path)
{
	struct hvapi_volume *nv =
	    realloc(info->vm.volumes.v, (info->vm.volumes.n + 1) * sizeof(*nv));
	struct hvapi_local_volume *nl;

	if (nv == NULL)
		return -ENOMEM;
	info->vm.volumes.v = nv;
	nl = realloc(info->volume_locations.v, (info->volume_locations.n + 1) * sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	info->volume_locations.v = nl;
	memset(&nv[info->vm.volumes.n], 0, sizeof(*nv));
	nv[info->vm.volumes.n].size = size;
	if (proto != NULL) {
		nv[info->vm.volumes.n].format = proto->format;
		nv[info->vm.volumes.n].interface = proto->interface;
	}
	memset(&nl[info->volume_locations.n], 0, sizeof(*nl));
	nl[info->volume_locations.n].directory_to_cleanup = strdup(dir);
	nl[info->volume_locations.n].filename = strdup(path);
	info->vm.volumes.n++;
	info->volume_locations.n++;
	if (nl[info->volume_locations.n - 1].filename == NULL ||
	    nl[info->volume_locations.n - 1].directory_to_cleanup == NULL)
		return -ENOMEM;
	return 0;
}
