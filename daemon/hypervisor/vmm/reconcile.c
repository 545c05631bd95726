/* State files vs libvirt vs volume files (see reconcile.h). */
#include "daemon/hypervisor/vmm/reconcile.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/addrpool.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/vmm/manager_state.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

static void reportf(reconcile_report_fn report, void *arg, enum reconcile_kind kind, const char *vm,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reportf(reconcile_report_fn report, void *arg, enum reconcile_kind kind, const char *vm,
		    const char *fmt, ...)
{
	struct reconcile_finding f = {.kind = kind, .vm = vm};
	char text[4608];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f.text = text;
	report(arg, &f);
}

static int cmp_info(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct hvapi_local_vm_info *)a)->vm.address.ip.s_addr);
	uint32_t y = ntohl(((const struct hvapi_local_vm_info *)b)->vm.address.ip.s_addr);

	return x < y ? -1 : x > y;
}

void reconcile_infos_free(struct hvapi_local_vm_info *infos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		api_clear(&hvapi_local_vm_info_type, &infos[i]);
	free(infos);
}

int reconcile_load_infos(const char *state_dir, struct hvapi_local_vm_info **infos, size_t *n,
			 reconcile_report_fn report, void *arg)
{
	struct hvapi_local_vm_info *v = NULL;
	char dir[4096];
	struct dirent *e;
	DIR *d;
	size_t k = 0;

	*infos = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "%s/VMs", state_dir);
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		struct hvapi_local_vm_info info = {0}, *nv;
		char path[4400], *msg = NULL;
		struct in_addr ip;
		int rc;

		if (e->d_name[0] == '.')
			continue;
		if (inet_pton(AF_INET, e->d_name, &ip) != 1) {
			reportf(report, arg, RECONCILE_STATE_DIR, NULL, "%s/%s: not a VM directory",
				dir, e->d_name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s/info.json", dir, e->d_name);
		rc = api_load_file(&hvapi_local_vm_info_type, path, &info, &msg);
		if (rc < 0) {
			reportf(report, arg, RECONCILE_STATE_DIR, e->d_name, "%s",
				rc == -ENOENT ? "VM directory without info.json"
				: msg	      ? msg
					      : path);
			free(msg);
			continue;
		}
		if (info.vm.address.ip.s_addr != ip.s_addr) {
			reportf(report, arg, RECONCILE_STATE_DIR, e->d_name,
				"%s: IpAddress does not match its directory", path);
			api_clear(&hvapi_local_vm_info_type, &info);
			continue;
		}
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (nv == NULL) {
			api_clear(&hvapi_local_vm_info_type, &info);
			reconcile_infos_free(v, k);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		v[k++] = info;
	}
	closedir(d);
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_info);
	*infos = v;
	*n = k;
	return 0;
}

static bool in_list(char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static const struct hvapi_local_vm_info *info_of(const struct hvapi_local_vm_info *infos, size_t n,
						 const char *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ip, &a) != 1)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (infos[i].vm.address.ip.s_addr == a.s_addr)
			return &infos[i];
	return NULL;
}

/* Files the daemon may keep beside volumes in a VM's volume directory. */
static bool known_volume_file(const struct hvapi_local_vm_info *info, const char *dir,
			      const char *name)
{
	static const char *const known[] = {
	    "kernel",	  "initrd",	  "kernel.old", "initrd.old",  "root.old",
	    "root.debug", "lastPatchLog", "logs",	"virtualiser", NULL};
	char path[4352];

	for (size_t i = 0; known[i]; i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	if (strstr(name, ".snapshot") != NULL)
		return true;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	for (size_t i = 0; i < info->volume_locations.n; i++)
		if (strcmp(api_str(info->volume_locations.v[i].filename), path) == 0)
			return true;
	return false;
}

static int compare_volume_dirs(const struct hvapi_local_vm_info *infos, size_t n,
			       const struct volumes *vols, reconcile_report_fn report, void *arg)
{
	int found = 0;

	for (size_t k = 0; k < vols->n; k++) {
		DIR *d = opendir(vols->v[k].path);
		struct dirent *e;

		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			const struct hvapi_local_vm_info *info;
			char dir[4352];
			struct dirent *f;
			DIR *sub;

			if (e->d_name[0] == '.')
				continue;
			snprintf(dir, sizeof(dir), "%s/%s", vols->v[k].path, e->d_name);
			info = info_of(infos, n, e->d_name);
			if (info == NULL) {
				reportf(report, arg, RECONCILE_VOLUME_EXTRA, NULL,
					"%s: volume directory of no VM", dir);
				found++;
				continue;
			}
			sub = opendir(dir);
			while (sub != NULL && (f = readdir(sub)) != NULL) {
				if (f->d_name[0] == '.' || known_volume_file(info, dir, f->d_name))
					continue;
				reportf(report, arg, RECONCILE_VOLUME_EXTRA, e->d_name,
					"%s/%s: file no volume of VM %s uses", dir, f->d_name,
					e->d_name);
				found++;
			}
			if (sub != NULL)
				closedir(sub);
		}
		closedir(d);
	}
	return found;
}

struct size_ctx {
	reconcile_report_fn report;
	void *arg;
	const char *vm;
};

static void size_report(void *arg, bool missing, const char *line)
{
	struct size_ctx *c = arg;

	reportf(c->report, c->arg, missing ? RECONCILE_VOLUME_MISSING : RECONCILE_VOLUME_SIZE,
		c->vm, "VM %s: %s", c->vm, line);
}

int reconcile_compare(const struct hvapi_local_vm_info *infos, size_t n, char *const *domains,
		      const struct volumes *vols, reconcile_report_fn report, void *arg)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		const struct hvapi_vm_info *v = &infos[i].vm;
		char ip[INET_ADDRSTRLEN];
		bool has = false;
		uint64_t increase = 0;
		struct size_ctx sc = {report, arg, ip};
		int r;

		inet_ntop(AF_INET, &v->address.ip, ip, sizeof(ip));
		has = in_list(domains, ip);
		if (vmstate_has_domain(v->state) && !has) {
			reportf(report, arg, RECONCILE_DOMAIN_MISSING, ip,
				"VM %s is %s but libvirt has no domain for it", ip,
				hvapi_state_name(v->state));
			found++;
		} else if (!vmstate_has_domain(v->state) && has) {
			reportf(report, arg, RECONCILE_DOMAIN_UNEXPECTED, ip,
				"VM %s is %s but its domain runs", ip, hvapi_state_name(v->state));
			found++;
		}
		r = volumes_check(&infos[i], false, &increase, size_report, &sc);
		found += r > 0 ? r : 0;
	}
	for (char *const *d = domains; d != NULL && *d != NULL; d++) {
		if (info_of(infos, n, *d) != NULL)
			continue;
		reportf(report, arg, RECONCILE_DOMAIN_ORPHAN, *d,
			"domain for %s runs but no such VM exists", *d);
		found++;
	}
	return found + compare_volume_dirs(infos, n, vols, report, arg);
}

/* ---- daemon side ---- */

static void start_vm(struct manager *m, struct vm *vm, const char *why)
{
	char err[512];

	log_info("%s: %s: starting it", vm->ipstr, why);
	pthread_mutex_lock(&vm->mu);
	vm_set_state(vm, HVAPI_STATE_STARTING);
	pthread_mutex_unlock(&vm->mu);
	if (vmops_boot(m, vm, 0, NULL, err, sizeof(err)) < 0)
		manager_problem(m, "VM %s: restart failed: %s", vm->ipstr, err);
}

/* Brings one VM in line with whether its domain runs. */
static void fix_domain_state(struct manager *m, struct vm *vm, bool running, bool at_start)
{
	enum hvapi_state s;
	char err[256];

	pthread_mutex_lock(&vm->mu);
	s = vm->info.vm.state;
	if (running && !vmstate_has_domain(s)) {
		/* A domain runs that we think is off (e.g. a crash between starting it and
		 * recording that): adopt it. */
		log_warn("%s: adopting running domain (recorded %s)", vm->ipstr,
			 hvapi_state_name(s));
		vm_set_state(vm, HVAPI_STATE_RUNNING);
	} else if (running && s == HVAPI_STATE_STARTING) {
		vm_set_state(vm, HVAPI_STATE_RUNNING);
	} else if (!running && (s == HVAPI_STATE_STOPPING)) {
		vm_set_state(vm, HVAPI_STATE_STOPPED);
	} else if (!running && s == HVAPI_STATE_DESTROYING) {
		pthread_mutex_unlock(&vm->mu);
		vmops_delete(m, vm);
		return;
	} else if (!running && vmstate_has_domain(s) && !at_start) {
		log_warn("%s: domain vanished while libvirt was away: crashed", vm->ipstr);
		vm_set_state(vm, HVAPI_STATE_CRASHED);
	}
	pthread_mutex_unlock(&vm->mu);
	if (running && s == HVAPI_STATE_STOPPING)
		virt_shutdown(m->virt, vm->ipstr, err, sizeof(err));
	if (running && s == HVAPI_STATE_DESTROYING)
		virt_destroy(m->virt, vm->ipstr, err, sizeof(err));
	if (!running && at_start && vmstate_restart_at_boot(s))
		start_vm(m, vm,
			 s == HVAPI_STATE_CRASHED ? "recorded crashed"
						  : "its domain is not running");
}

void reconcile_domains(struct manager *m)
{
	struct vm **vms = NULL;
	char **domains = NULL;
	size_t n = 0;

	if (virt_list(m->virt, &domains) < 0 || manager_vms(m, &vms, &n) < 0) {
		virt_list_free(domains);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fix_domain_state(m, vms[i], in_list(domains, vms[i]->ipstr), false);
	for (char **d = domains; *d != NULL; d++) {
		struct vm *vm = manager_find_str(m, *d);

		if (vm == NULL)
			log_warn("domain for %s runs but no such VM exists", *d);
		vm_unref(vm);
	}
	manager_vms_free(vms, n);
	virt_list_free(domains);
}

static void problem_report(void *arg, const struct reconcile_finding *f)
{
	struct manager *m = arg;

	/* Domain states are fixed by fix_domain_state; the rest is for the operator. */
	if (f->kind != RECONCILE_DOMAIN_MISSING && f->kind != RECONCILE_DOMAIN_UNEXPECTED)
		manager_problem(m, "%s", f->text);
}

static void pool_report(void *arg, const char *msg)
{
	log_warn("%s", msg);
	(void)arg;
}

static void reconcile_pool(struct manager *m)
{
	struct manager_pool_txn t;
	int rc;

	if (manager_pool_begin(m, &t) < 0)
		return;
	/* settings_mu (held by the transaction) keeps the subnets still. */
	rc = addrpool_reconcile(&t.pool, &m->st->subnets, t.uses, t.nuses, pool_report, m);
	if (rc <= 0) {
		if (rc < 0)
			manager_problem(m, "repairing the address pool: %s", strerror(-rc));
		manager_pool_abort(m, &t);
		return;
	}
	rc = manager_pool_commit(m, &t, NULL, NULL);
	if (rc < 0)
		manager_problem(m, "writing address pool: %s", strerror(-rc));
}

/* Stale temporaries of atomic writes (fsutil_write_atomic: NAME~) in dir. Only the
 * manager writes in a VM directory; in the state directory only its own files. */
static void remove_temporaries(const char *dir, bool only_own)
{
	static const char *const own[] = {"address-pool.json~", "subnets.json~", "owners.json~",
					  NULL};
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char path[4352];
		bool mine = !only_own;

		for (size_t i = 0; only_own && own[i] != NULL; i++)
			mine |= strcmp(e->d_name, own[i]) == 0;
		if (len < 2 || e->d_name[len - 1] != '~' || !mine)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			log_warn("%s: removed a temporary file left by a crash", path);
	}
	if (d != NULL)
		closedir(d);
}

static void remove_volume_dirs(struct manager *m, const char *ip)
{
	char path[4352];
	struct stat st;
	int rc;

	for (size_t k = 0; k < m->vols.n; k++) {
		snprintf(path, sizeof(path), "%s/%s", m->vols.v[k].path, ip);
		if (lstat(path, &st) < 0)
			continue;
		rc = vmops_rmtree(path);
		if (rc < 0)
			manager_problem(m, "%s: cannot remove: %s", path, strerror(-rc));
		else
			log_warn("%s: removed the volumes of VM %s, which does not exist", path,
				 ip);
	}
}

/* Leftovers of VMs that do not exist: a VM directory without info.json is a create
 * that never committed (the directory is made before the volumes, info.json written
 * after them) or a destroy that had already removed info.json; a volume directory
 * named after an IP with no VM directory is a destroy interrupted after the VM
 * directory went. Both are removed with their volumes. A VM directory whose
 * info.json exists but did not load is left alone (reported) with its volumes. */
static void remove_unfinished(struct manager *m)
{
	char dir[4096], path[4352];
	struct dirent *e;
	struct in_addr a;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/VMs", m->state_dir);
	remove_temporaries(m->state_dir, true);
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		struct vm *vm;
		int rc;

		if (inet_pton(AF_INET, e->d_name, &a) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		vm = manager_find(m, a);
		if (vm != NULL) {
			remove_temporaries(path, false);
			vm_unref(vm);
			continue;
		}
		if (snprintf(path, sizeof(path), "%s/%s/info.json", dir, e->d_name) >=
			(int)sizeof(path) ||
		    lstat(path, &st) == 0 || errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = vmops_rmtree(path);
		if (rc < 0) {
			manager_problem(m, "%s: cannot remove: %s", path, strerror(-rc));
			continue;
		}
		log_warn("%s: removed the directory of an unfinished create or destroy", path);
		remove_volume_dirs(m, e->d_name);
	}
	if (d != NULL)
		closedir(d);
	for (size_t k = 0; k < m->vols.n; k++) {
		d = opendir(m->vols.v[k].path);
		while (d != NULL && (e = readdir(d)) != NULL) {
			struct vm *vm;

			if (inet_pton(AF_INET, e->d_name, &a) != 1)
				continue;
			vm = manager_find(m, a);
			vm_unref(vm);
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (vm == NULL && lstat(path, &st) < 0 && errno == ENOENT)
				remove_volume_dirs(m, e->d_name);
		}
		if (d != NULL)
			closedir(d);
	}
}

void reconcile_at_start(struct manager *m)
{
	struct hvapi_local_vm_info *infos;
	struct vm **vms = NULL;
	char **domains = NULL;
	size_t n = 0;
	int nd;

	nd = virt_list(m->virt, &domains);
	if (nd < 0) {
		manager_problem(m, "cannot list libvirt domains: %s", strerror(-nd));
		return;
	}
	remove_unfinished(m);
	if (manager_vms(m, &vms, &n) < 0) {
		virt_list_free(domains);
		return;
	}
	/* Report first (on the records as loaded), then fix. */
	infos = calloc(n + 1, sizeof(*infos));
	for (size_t i = 0; infos != NULL && i < n; i++)
		infos[i] = vms[i]->info; /* shallow: read-only, nothing runs yet */
	if (infos != NULL)
		reconcile_compare(infos, n, domains, &m->vols, problem_report, m);
	free(infos);
	for (size_t i = 0; i < n; i++)
		fix_domain_state(m, vms[i], in_list(domains, vms[i]->ipstr), true);
	manager_vms_free(vms, n);
	virt_list_free(domains);
	reconcile_pool(m);
}
