/* hypervisors: the set of hypervisors the topology names, one connection thread each
 * (hvconn.c), the pool record on disk (pool.c decides), and the queries of the status
 * page and the FleetManager methods. */
#include "daemon/fleet-manager/hypervisors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/fleet-manager/hvconn.h"
#include "fsutil.h"
#include "log.h"

#define POOL_FILE "address-pools.json"
#define POOL_FILE_MAX (256u << 20)

/* Threads of connections block in little but SRPC and JSON. */
#if defined(__SANITIZE_ADDRESS__)
#define HV_STACK (1024u << 10)
#else
#define HV_STACK (128u << 10)
#endif

static int load_pool(struct hypervisors *hs, char *err, size_t errsz)
{
	char *buf = NULL, e[256];
	size_t len;
	int rc = fsutil_read_file(hs->pool_path, POOL_FILE_MAX, &buf, &len);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(err, errsz, "read %s: %s", hs->pool_path, strerror(-rc));
		return rc;
	}
	rc = pool_load(hs->pool, buf, len, e, sizeof(e));
	free(buf);
	if (rc < 0)
		snprintf(err, errsz, "%s: %s", hs->pool_path, e);
	else
		hs->saved_version = pool_version(hs->pool);
	return rc;
}

int hypervisors_new(const struct hypervisors_config *cfg, struct hypervisors **out, char *err,
		    size_t errsz)
{
	struct hypervisors *hs = calloc(1, sizeof(*hs));
	int rc = -ENOMEM;

	*out = NULL;
	if (hs == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	hs->cfg = *cfg;
	hs->cfg.state_dir = NULL;
	hs->marks = (struct pool_marks){cfg->desired, cfg->min, cfg->max};
	hs->marks = pool_marks_for(&hs->marks, false, NULL);
	hs->keepalive_ms = cfg->keepalive_ms > 0 ? cfg->keepalive_ms : 5000;
	hs->unreachable_ms = cfg->unreachable_ms > 0 ? cfg->unreachable_ms : 19000;
	hs->reconnect_ms = cfg->reconnect_ms > 0 ? cfg->reconnect_ms : 1000;
	hs->dial_ms = cfg->dial_ms > 0 ? cfg->dial_ms : 15000;
	pthread_mutex_init(&hs->mu, NULL);
	pthread_mutex_init(&hs->save_mu, NULL);
	pthread_attr_init(&hs->attr);
	pthread_attr_setstacksize(&hs->attr, HV_STACK);
	if (hs->marks.min > hs->marks.desired || hs->marks.desired > hs->marks.max) {
		snprintf(err, errsz,
			 "address pool sizes: need minimum %u <= desired %u <= maximum %u",
			 hs->marks.min, hs->marks.desired, hs->marks.max);
		rc = -EINVAL;
		goto fail;
	}
	hs->pool = pool_new();
	if (hs->pool == NULL || fsutil_path_join(cfg->state_dir ? cfg->state_dir : ".", POOL_FILE,
						 &hs->pool_path) < 0) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	if (cfg->state_dir != NULL && (rc = fsutil_mkdir_p(cfg->state_dir, 0755)) < 0) {
		snprintf(err, errsz, "mkdir %s: %s", cfg->state_dir, strerror(-rc));
		goto fail;
	}
	if ((rc = load_pool(hs, err, errsz)) < 0)
		goto fail;
	if (cfg->tls != NULL && (rc = tls_client_new(cfg->tls, &hs->tls, err, errsz)) < 0)
		goto fail;
	*out = hs;
	return 0;
fail:
	hypervisors_free(hs);
	return rc;
}

static void hv_free(struct hv *h)
{
	if (h == NULL)
		return;
	free(h->hostname);
	fmapi_machine_clear(&h->machine);
	free(h->last_error);
	free(h->health);
	free(h->serial);
	for (size_t i = 0; i < h->n_num_free; i++)
		free(h->num_free[i].key);
	free(h->num_free);
	for (size_t i = 0; i < h->vms.n; i++)
		hvapi_vm_entry_clear(&h->vms.v[i]);
	free(h->vms.v);
	hvapi_subnets_clear(&h->have_subnets);
	pthread_cond_destroy(&h->cond);
	free(h);
}

/* Asks h's thread to end (hs->mu held). */
static void hv_stop(struct hv *h)
{
	h->stop = true;
	if (h->fd >= 0)
		shutdown(h->fd, SHUT_RDWR);
	pthread_cond_signal(&h->cond);
}

static void hv_join(struct hv *h)
{
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	hv_free(h);
}

void hypervisors_free(struct hypervisors *hs)
{
	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->mu);
	for (size_t i = 0; i < hs->nhvs; i++)
		hv_stop(hs->hvs[i]);
	pthread_mutex_unlock(&hs->mu);
	for (size_t i = 0; i < hs->nhvs; i++)
		hv_join(hs->hvs[i]);
	for (size_t i = 0; i < hs->ndead; i++)
		hv_join(hs->dead[i]);
	free(hs->hvs);
	free(hs->dead);
	if (hs->pool != NULL && hs->pool_path != NULL)
		hv_persist(hs, true);
	pool_free(hs->pool);
	ipmap_clear(&hs->vms);
	if (hs->topo != NULL)
		topology_unref(hs->topo);
	tls_client_free(hs->tls);
	free(hs->pool_path);
	pthread_attr_destroy(&hs->attr);
	pthread_mutex_destroy(&hs->save_mu);
	pthread_mutex_destroy(&hs->mu);
	free(hs);
}

static void machine_addr(const struct hypervisors *hs, const struct fmapi_machine *m, char *buf,
			 size_t sz)
{
	char ip[INET_ADDRSTRLEN];
	int port = hs->cfg.port > 0 ? hs->cfg.port : HVAPI_DEFAULT_PORT;

	if (m->net.host_ip.s_addr != 0 && inet_ntop(AF_INET, &m->net.host_ip, ip, sizeof(ip)))
		snprintf(buf, sz, "%s:%d", ip, port);
	else
		snprintf(buf, sz, "%s:%d", api_str(m->net.hostname), port);
}

static struct hv *hv_new(struct hypervisors *hs, const struct fmapi_machine *m)
{
	struct hv *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;

	if (h == NULL)
		return NULL;
	h->hs = hs;
	h->fd = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_REALTIME, &h->since);
	h->hostname = strdup(api_str(m->net.hostname));
	h->last_error = strdup("");
	h->health = strdup("");
	h->serial = strdup("");
	if (h->hostname == NULL || h->last_error == NULL || h->health == NULL ||
	    h->serial == NULL || api_copy(&fmapi_machine_type, &h->machine, m) < 0) {
		hv_free(h);
		return NULL;
	}
	machine_addr(hs, m, h->addr, sizeof(h->addr));
	return h;
}

static struct hv *hv_find(struct hypervisors *hs, const char *hostname)
{
	size_t lo = 0, hi = hs->nhvs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(hs->hvs[mid]->hostname, hostname);

		if (c == 0)
			return hs->hvs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int hv_cmp(const void *a, const void *b)
{
	return strcmp((*(struct hv *const *)a)->hostname, (*(struct hv *const *)b)->hostname);
}

static bool strlist_equal(const struct api_strlist *a, const struct api_strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* The topology's record of an existing hypervisor changed (hs->mu held). */
static void hv_retopo(struct hv *h, const struct fmapi_machine *m)
{
	struct fmapi_machine n = {0};

	if (!strlist_equal(&h->machine.owner_groups, &m->owner_groups) ||
	    !strlist_equal(&h->machine.owner_users, &m->owner_users))
		h->push_owners = true;
	h->push_subnets = true;
	if (api_copy(&fmapi_machine_type, &n, m) == 0) {
		char addr[sizeof(h->addr)];

		fmapi_machine_clear(&h->machine);
		h->machine = n;
		machine_addr(h->hs, m, addr, sizeof(addr));
		/* A new address: the stream to the old one ends, the thread dials anew. */
		if (strcmp(addr, h->addr) != 0 && h->fd >= 0)
			shutdown(h->fd, SHUT_RDWR);
		memcpy(h->addr, addr, sizeof(addr));
	}
}

static void hv_forget_vms(struct hypervisors *hs, struct hv *h)
{
	for (size_t i = 0; i < h->vms.n; i++) {
		struct in_addr ip;

		if (inet_pton(AF_INET, h->vms.v[i].ip, &ip) == 1 && ipmap_get(&hs->vms, ip) == h)
			ipmap_del(&hs->vms, ip);
	}
}

void hypervisors_set_topology(struct hypervisors *hs, struct topology *t)
{
	size_t n = topology_nmachines(t), nnew = 0, nstart = 0;
	struct hv **hvs, **start = calloc(n + 1, sizeof(*start));
	struct topology *old;

	pthread_mutex_lock(&hs->mu);
	/* Room for the removed ones too, should they have to stay. */
	hvs = calloc(n + hs->nhvs + 1, sizeof(*hvs));
	if (hvs == NULL || start == NULL) {
		pthread_mutex_unlock(&hs->mu);
		log_error("hypervisors: out of memory taking the new topology");
		free(hvs);
		free(start);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fmapi_machine *m = &topology_machine(t, i)->m;
		struct hv *h = hv_find(hs, api_str(m->net.hostname));

		if (h != NULL) {
			hv_retopo(h, m);
			h->kept = true;
		} else if ((h = hv_new(hs, m)) != NULL) {
			start[nstart++] = h;
		} else {
			log_error("%s: out of memory", api_str(m->net.hostname));
			continue;
		}
		hvs[nnew++] = h;
	}
	for (size_t i = 0; i < hs->nhvs; i++) {
		struct hv *h = hs->hvs[i];
		struct hv **d;

		if (h->kept) {
			h->kept = false;
			continue;
		}
		d = realloc(hs->dead, (hs->ndead + 1) * sizeof(*d));
		if (d == NULL) {
			/* Kept running rather than leaked. */
			hvs[nnew++] = h;
			continue;
		}
		log_info("%s: left the topology", h->hostname);
		hs->dead = d;
		hs->dead[hs->ndead++] = h;
		hv_forget_vms(hs, h);
		hv_stop(h);
	}
	qsort(hvs, nnew, sizeof(*hvs), hv_cmp);
	free(hs->hvs);
	hs->hvs = hvs;
	hs->nhvs = nnew;
	old = hs->topo;
	hs->topo = topology_ref(t);
	for (size_t i = 0; i < nstart; i++) {
		struct hv *h = start[i];

		if (pthread_create(&h->thread, &hs->attr, hvconn_main, h) == 0)
			h->thread_started = true;
		else
			log_error("%s: cannot start its connection thread", h->hostname);
	}
	/* Joins the removed ones whose threads have ended. */
	for (size_t i = 0; i < hs->ndead;) {
		struct hv *h = hs->dead[i];

		if (!h->thread_started || pthread_tryjoin_np(h->thread, NULL) == 0) {
			hv_free(h);
			hs->dead[i] = hs->dead[--hs->ndead];
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&hs->mu);
	free(start);
	if (old != NULL)
		topology_unref(old);
}

/* ---- queries ---- */

static char *dup0(const char *s)
{
	return strdup(s ? s : "");
}

static int status_fill(const struct hv *h, struct hv_status *s)
{
	memset(s, 0, sizeof(*s));
	s->hostname = dup0(h->hostname);
	s->location = dup0(h->machine.location);
	s->address = dup0(h->addr);
	s->health = dup0(h->health);
	s->serial_number = dup0(h->serial);
	s->last_error = dup0(h->last_error);
	s->connected = h->connected;
	s->disabled = h->disabled;
	s->architecture = h->arch;
	s->memory_mib = h->memory_mib;
	s->available_memory_mib = h->available_memory_mib;
	s->total_volume_bytes = h->total_volume_bytes;
	s->num_cpus = h->num_cpus;
	s->num_vms = h->vms.n;
	s->since = h->since;
	if (h->n_num_free > 0) {
		s->num_free = calloc(h->n_num_free, sizeof(*s->num_free));
		if (s->num_free == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < h->n_num_free; i++) {
			s->num_free[i].key = dup0(h->num_free[i].key);
			s->num_free[i].count = h->num_free[i].count;
			s->n_num_free++;
			if (s->num_free[i].key == NULL)
				return -ENOMEM;
		}
	}
	return s->hostname && s->location && s->address && s->health && s->serial_number &&
		       s->last_error
		   ? 0
		   : -ENOMEM;
}

static void status_clear(struct hv_status *s)
{
	free(s->hostname);
	free(s->location);
	free(s->address);
	free(s->health);
	free(s->serial_number);
	free(s->last_error);
	for (size_t i = 0; i < s->n_num_free; i++)
		free(s->num_free[i].key);
	free(s->num_free);
}

size_t hypervisors_list(struct hypervisors *hs, const char *prefix, struct hv_status **out)
{
	struct hv_status *l;
	size_t n = 0;

	pthread_mutex_lock(&hs->mu);
	l = calloc(hs->nhvs ? hs->nhvs : 1, sizeof(*l));
	for (size_t i = 0; l != NULL && i < hs->nhvs; i++) {
		const struct hv *h = hs->hvs[i];

		if (!topology_location_in(api_str(h->machine.location), api_str(prefix)))
			continue;
		if (status_fill(h, &l[n]) < 0) {
			status_clear(&l[n]);
			continue;
		}
		n++;
	}
	pthread_mutex_unlock(&hs->mu);
	*out = l;
	return n;
}

void hv_status_list_free(struct hv_status *l, size_t n)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		status_clear(&l[i]);
	free(l);
}

int hypervisors_for_vm(struct hypervisors *hs, struct in_addr ip, char *addr, size_t sz)
{
	struct hv *h;
	int rc = -ENOENT;

	pthread_mutex_lock(&hs->mu);
	h = ipmap_get(&hs->vms, ip);
	if (h != NULL) {
		snprintf(addr, sz, "%s", h->addr);
		rc = 0;
	}
	pthread_mutex_unlock(&hs->mu);
	return rc;
}

void hypervisors_snapshot(struct hypervisors *hs, const char *location, struct fmapi_update *u)
{
	pthread_mutex_lock(&hs->mu);
	for (size_t i = 0; i < hs->nhvs; i++) {
		const struct hv *h = hs->hvs[i];
		struct fmapi_hypervisor_entry *e;

		if (!topology_location_in(api_str(h->machine.location), api_str(location)))
			continue;
		e = realloc(u->changed_hypervisors.v, (u->changed_hypervisors.n + 1) * sizeof(*e));
		if (e == NULL)
			break;
		u->changed_hypervisors.v = e;
		e = &e[u->changed_hypervisors.n];
		memset(e, 0, sizeof(*e));
		e->hostname = dup0(h->hostname);
		u->changed_hypervisors.n++;
		if (e->hostname == NULL || hv_data(h, &e->data) < 0)
			break;
		for (size_t k = 0; k < h->vms.n; k++) {
			struct hvapi_vm_entry *v =
			    realloc(u->changed_vms.v, (u->changed_vms.n + 1) * sizeof(*v));
			struct hvapi_tag *t;

			if (v == NULL)
				goto out;
			u->changed_vms.v = v;
			memset(&v[u->changed_vms.n], 0, sizeof(*v));
			if (api_copy(&hvapi_vm_entry_type, &v[u->changed_vms.n], &h->vms.v[k]) < 0)
				goto out;
			u->changed_vms.n++;
			t = realloc(u->vm_to_hypervisor.v,
				    (u->vm_to_hypervisor.n + 1) * sizeof(*t));
			if (t == NULL)
				goto out;
			u->vm_to_hypervisor.v = t;
			t[u->vm_to_hypervisor.n].key = dup0(h->vms.v[k].ip);
			t[u->vm_to_hypervisor.n].value = dup0(h->hostname);
			u->vm_to_hypervisor.n++;
		}
	}
out:
	pthread_mutex_unlock(&hs->mu);
}

/* ---- MoveIpAddresses ---- */

/* Waits (up to 10 s) until host's reports show ip (present) or not (and it is no longer
 * assigned to host). */
static bool wait_report(struct hypervisors *hs, const char *host, struct in_addr ip, bool present)
{
	for (int i = 0; i < 1000; i++) {
		bool done;
		const char *owner;

		pthread_mutex_lock(&hs->mu);
		owner = pool_owner(hs->pool, ip);
		done = present ? pool_reported(hs->pool, host, ip)
			       : !pool_reported(hs->pool, host, ip) &&
				     (owner == NULL || strcmp(owner, host) != 0);
		pthread_mutex_unlock(&hs->mu);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

static int change_pool(struct hypervisors *hs, const char *addr, struct in_addr ip, bool add,
		       char *err, size_t errsz)
{
	struct hvapi_change_address_pool_request q = {0};
	struct hvapi_address a = {.ip = ip};

	if (add)
		fmapi_mac_from_ip(ip, a.mac);
	if (add) {
		q.addresses_to_add.v = &a;
		q.addresses_to_add.n = 1;
	} else {
		q.addresses_to_remove.v = &a;
		q.addresses_to_remove.n = 1;
	}
	return hv_call(hs, addr, HVAPI_M_CHANGE_ADDRESS_POOL,
		       &hvapi_change_address_pool_request_type, &q, err, errsz);
}

/* Checks one address against the target (hs->mu held). */
static int move_check(struct hypervisors *hs, const char *hostname, struct in_addr ip, char *err,
		      size_t errsz)
{
	const struct topo_machine *tm = topology_find_hostname(hs->topo, hostname), *user;
	const struct fmapi_topology_subnet *sub = NULL;
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, s, sizeof(s));
	for (size_t i = 0; tm != NULL && i < tm->nsubnets && sub == NULL; i++)
		if (pool_subnet_contains(&tm->subnets[i]->subnet, ip))
			sub = tm->subnets[i];
	if (sub == NULL) {
		snprintf(err, errsz, "%s is in no subnet of %s", s, hostname);
		return -EINVAL;
	}
	if (ipmap_get(&hs->vms, ip) != NULL) {
		snprintf(err, errsz, "%s is used by a VM", s);
		return -EBUSY;
	}
	/* Never into a pool: the gateway, a reserved address, a machine's. */
	if (pool_taken(hs->pool, sub, ip, NULL, NULL) && pool_owner(hs->pool, ip) == NULL) {
		snprintf(err, errsz, "%s is reserved in subnet %s", s, api_str(sub->subnet.id));
		return -EBUSY;
	}
	user = topology_find_ip(hs->topo, ip);
	if (user != NULL) {
		snprintf(err, errsz, "%s is the address of machine %s", s,
			 api_str(user->m.net.hostname));
		return -EBUSY;
	}
	return 0;
}

/* Moves one address to target. */
static int move_one(struct hypervisors *hs, const char *target, const char *taddr,
		    struct in_addr ip, char *err, size_t errsz)
{
	char s[INET_ADDRSTRLEN], src[256] = "", saddr[300] = "";
	const char *owner;
	int rc;

	inet_ntop(AF_INET, &ip, s, sizeof(s));
	pthread_mutex_lock(&hs->mu);
	owner = pool_owner(hs->pool, ip);
	if (owner != NULL) {
		struct hv *sh = hv_find(hs, owner);

		snprintf(src, sizeof(src), "%s", owner);
		if (sh != NULL)
			snprintf(saddr, sizeof(saddr), "%s", sh->addr);
	}
	pthread_mutex_unlock(&hs->mu);
	if (strcmp(src, target) == 0)
		return 0;
	if (src[0] != '\0') {
		if (saddr[0] == '\0') {
			snprintf(err, errsz, "%s is in the pool of %s, not in the topology", s,
				 src);
			return -EBUSY;
		}
		rc = change_pool(hs, saddr, ip, false, err, errsz);
		if (rc < 0)
			return rc;
		if (!wait_report(hs, src, ip, false)) {
			snprintf(err, errsz, "timed out waiting for %s to leave %s", s, src);
			return -ETIMEDOUT;
		}
	}
	pthread_mutex_lock(&hs->mu);
	rc = pool_assign(hs->pool, target, ip);
	owner = pool_owner(hs->pool, ip);
	if (rc == -EBUSY)
		snprintf(err, errsz, "%s is taken by %s", s, owner ? owner : "another hypervisor");
	pthread_mutex_unlock(&hs->mu);
	if (rc < 0)
		return rc;
	if ((rc = hv_persist(hs, true)) < 0) {
		snprintf(err, errsz, "recording the move of %s: %s", s, strerror(-rc));
		pthread_mutex_lock(&hs->mu);
		pool_sent(hs->pool, target, &ip, 1, true);
		pthread_mutex_unlock(&hs->mu);
		return rc;
	}
	rc = change_pool(hs, taddr, ip, true, err, errsz);
	pthread_mutex_lock(&hs->mu);
	pool_sent(hs->pool, target, &ip, 1, rc == -EREMOTEIO);
	pthread_mutex_unlock(&hs->mu);
	if (rc < 0)
		return rc;
	if (!wait_report(hs, target, ip, true)) {
		snprintf(err, errsz, "timed out waiting for %s to reach %s", s, target);
		return -ETIMEDOUT;
	}
	log_info("moved %s from %s to %s", s, src[0] ? src : "no hypervisor", target);
	return 0;
}

int hypervisors_move_ips(struct hypervisors *hs, const char *hostname, const struct in_addr *ips,
			 size_t n, char *err, size_t errsz)
{
	char taddr[300];
	struct hv *h;
	int rc = 0;

	if (!hs->cfg.manage) {
		snprintf(err, errsz, "this is a read-only Fleet Manager");
		return -EPERM;
	}
	pthread_mutex_lock(&hs->mu);
	h = hv_find(hs, hostname);
	if (h == NULL) {
		snprintf(err, errsz, "unknown hypervisor: %s", hostname);
		rc = -ENOENT;
	} else if (strcmp(api_str(h->health), "marginal") == 0 ||
		   strcmp(api_str(h->health), "at risk") == 0) {
		snprintf(err, errsz, "cannot move IPs to unhealthy hypervisor");
		rc = -EBUSY;
	} else {
		snprintf(taddr, sizeof(taddr), "%s", h->addr);
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = move_check(hs, hostname, ips[i], err, errsz);
	}
	pthread_mutex_unlock(&hs->mu);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = move_one(hs, hostname, taddr, ips[i], err, errsz);
	return rc;
}
