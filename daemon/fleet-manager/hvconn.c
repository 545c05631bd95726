/* hvconn: the connection thread of one hypervisor (spec/fleet-and-images.md §1): dial,
 * ChangeOwners, the GetUpdates stream with its keep-alive and unreachable timers, and
 * what each Update triggers: the FM's view (VMs, capacity, health), the subnets push
 * and, when managing, the address-pool refill and trim. */
#include "daemon/fleet-manager/hvconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/hvclient.h"
#include "fsutil.h"
#include "log.h"

int64_t hv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hv_call(struct hypervisors *hs, const char *addr, const char *method,
	    const struct api_type *req_t, const void *req, char *err, size_t errsz)
{
	struct srpc_client_config cc = {
	    .tls = hs->tls, .connect_timeout_ms = hs->dial_ms, .call_timeout_ms = 60000};
	struct hvapi_error_response resp;
	struct srpc_client *cl;
	int rc = srpc_client_dial(addr, &cc, &cl, err, errsz);

	if (rc < 0)
		return rc;
	rc = hvclient_call(cl, method, req_t, req, &hvapi_error_response_type, &resp, err, errsz);
	if (rc == 0)
		hvapi_error_response_clear(&resp);
	srpc_client_close(cl);
	return rc;
}

bool hv_ip_in_use(void *arg, struct in_addr ip)
{
	struct hypervisors *hs = arg;

	return (hs->topo != NULL && topology_find_ip(hs->topo, ip) != NULL) ||
	       ipmap_get(&hs->vms, ip) != NULL;
}

int hv_persist(struct hypervisors *hs, bool force)
{
	struct pool_snap *snap;
	uint64_t want, v;
	char *s;
	int rc = 0;

	pthread_mutex_lock(&hs->mu);
	want = pool_version(hs->pool);
	pthread_mutex_unlock(&hs->mu);
	pthread_mutex_lock(&hs->save_mu);
	if (want <= hs->saved_version || (!force && hv_now_ms() - hs->last_save_ms < 1000)) {
		pthread_mutex_unlock(&hs->save_mu);
		return 0;
	}
	/* Group commit: this write carries every change made so far. */
	/* Only the copy under the lock: every connection thread waits on it. */
	pthread_mutex_lock(&hs->mu);
	v = pool_version(hs->pool);
	snap = pool_snapshot(hs->pool);
	pthread_mutex_unlock(&hs->mu);
	s = pool_snap_dump(snap);
	pool_snap_free(snap);
	if (s == NULL)
		rc = -ENOMEM;
	else
		rc = fsutil_write_atomic(hs->pool_path, s, strlen(s), 0644);
	if (rc == 0) {
		hs->saved_version = v;
		hs->last_save_ms = hv_now_ms();
	} else {
		log_error("write %s: %s", hs->pool_path, strerror(-rc));
	}
	pthread_mutex_unlock(&hs->save_mu);
	free(s);
	return rc;
}

/* Sleeps ms unless the hypervisor is stopped. hs->mu held. */
static void wait_locked(struct hv *h, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!h->stop && pthread_cond_timedwait(&h->cond, &h->hs->mu, &ts) != ETIMEDOUT)
		;
}

static void set_state(struct hv *h, bool connected, const char *error)
{
	h->connected = connected;
	clock_gettime(CLOCK_REALTIME, &h->since);
	if (error != NULL) {
		char *e = strdup(error);

		if (e != NULL) {
			free(h->last_error);
			h->last_error = e;
		}
	}
}

/* ---- owners and subnets ---- */

static int strlist_copy(struct api_strlist *dst, const struct api_strlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (api_strlist_add(dst, src->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* The ChangeOwnersRequest of h's machine. hs->mu held. */
static int owners_request(struct hv *h, struct hvapi_change_owners_request *q)
{
	memset(q, 0, sizeof(*q));
	if (strlist_copy(&q->owner_groups, &h->machine.owner_groups) < 0 ||
	    strlist_copy(&q->owner_users, &h->machine.owner_users) < 0) {
		hvapi_change_owners_request_clear(q);
		return -ENOMEM;
	}
	return 0;
}

static void owners_result(struct hv *h, int rc, const char *err)
{
	if (rc == 0)
		log_debug(1, "%s: owners changed", h->hostname);
	else if (strncmp(err, "unknown service", 15) == 0)
		log_debug(1, "%s: ChangeOwners: %s", h->hostname, err);
	else
		log_error("%s: ChangeOwners: %s", h->hostname, err);
}

/* ChangeOwners on its own connection (the topology changed the owners). */
static void push_owners(struct hv *h)
{
	struct hypervisors *hs = h->hs;
	struct hvapi_change_owners_request q;
	char addr[sizeof(h->addr)], err[512] = "";
	int rc;

	pthread_mutex_lock(&hs->mu);
	h->push_owners = false;
	snprintf(addr, sizeof(addr), "%s", h->addr);
	rc = owners_request(h, &q);
	pthread_mutex_unlock(&hs->mu);
	if (rc < 0)
		return;
	rc = hv_call(hs, addr, HVAPI_M_CHANGE_OWNERS, &hvapi_change_owners_request_type, &q, err,
		     sizeof(err));
	owners_result(h, rc, err);
	hvapi_change_owners_request_clear(&q);
}

/* UpdateSubnets with the difference between what h reported and the topology. */
static void push_subnets(struct hv *h)
{
	struct hypervisors *hs = h->hs;
	struct hvapi_update_subnets_request q;
	const struct topo_machine *tm;
	char addr[sizeof(h->addr)], err[512] = "";
	int rc = 0;

	pthread_mutex_lock(&hs->mu);
	h->push_subnets = false;
	snprintf(addr, sizeof(addr), "%s", h->addr);
	tm = hs->topo ? topology_find_hostname(hs->topo, h->hostname) : NULL;
	if (tm != NULL && h->have_subnets_known)
		rc = pool_subnets_diff(h->have_subnets.v, h->have_subnets.n, tm->subnets,
				       tm->nsubnets, &q);
	pthread_mutex_unlock(&hs->mu);
	if (tm == NULL || rc <= 0)
		return;
	rc = hv_call(hs, addr, HVAPI_M_UPDATE_SUBNETS, &hvapi_update_subnets_request_type, &q, err,
		     sizeof(err));
	if (rc < 0)
		log_error("%s: UpdateSubnets: %s", h->hostname, err);
	else
		log_info("%s: subnets: %zu added, %zu changed, %zu deleted", h->hostname, q.add.n,
			 q.change.n, q.delete_ids.n);
	hvapi_update_subnets_request_clear(&q);
}

/* ---- the address pool ---- */

static int add_address(struct hvapi_addresses *l, struct in_addr ip)
{
	struct hvapi_address *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	l->v = v;
	memset(&v[l->n], 0, sizeof(v[l->n]));
	v[l->n].ip = ip;
	fmapi_mac_from_ip(ip, v[l->n].mac);
	l->n++;
	return 0;
}

static int add_count(struct hvapi_count **v, size_t *n, const char *key, uint32_t count)
{
	struct hvapi_count *c = realloc(*v, (*n + 1) * sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	*v = c;
	c[*n].key = strdup(key);
	c[*n].count = count;
	if (c[*n].key == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Decides the refills and trims of one update's NumFreeAddresses and assigns the
 * refills' addresses (hs->mu held). 1 when q has something to send, 0, -errno. */
static int pool_plan(struct hv *h, const struct hvapi_count *nf, size_t n,
		     struct hvapi_change_address_pool_request *q)
{
	struct hypervisors *hs = h->hs;
	const struct topo_machine *tm =
	    hs->topo ? topology_find_hostname(hs->topo, h->hostname) : NULL;
	struct pool_marks m = pool_marks_for(&hs->marks, h->disabled, h->health);

	if (tm == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct fmapi_topology_subnet *s = topology_machine_subnet(tm, nf[i].key);
		unsigned count, nfree = nf[i].count;
		struct in_addr ips[256];
		int got;

		if (s == NULL) {
			log_error("%s: update for missing subnet: %s", h->hostname, nf[i].key);
			return -ENOENT;
		}
		if (!s->subnet.manage)
			continue;
		/* Addresses given but not yet reported count as free already: a report
		 * sent before they arrived does not refill twice. */
		nfree += (unsigned)pool_unconfirmed(hs->pool, h->hostname, &s->subnet);
		switch (pool_decide(&m, nfree, &count)) {
		case POOL_KEEP:
			break;
		case POOL_REFILL:
			if (count > 256)
				count = 256;
			got = pool_alloc(hs->pool, h->hostname, s, count, hv_ip_in_use, hs, ips);
			if (got < 0)
				return got;
			if (got < (int)count)
				log_warn("%s: subnet %s: only %d free addresses to add (%u wanted)",
					 h->hostname, nf[i].key, got, count);
			for (int k = 0; k < got; k++)
				if (add_address(&q->addresses_to_add, ips[k]) < 0) {
					pool_sent(hs->pool, h->hostname, ips + k, (size_t)(got - k),
						  true);
					return -ENOMEM;
				}
			break;
		case POOL_TRIM:
			if (add_count(&q->maximum_free_addresses.v, &q->maximum_free_addresses.n,
				      nf[i].key, count) < 0)
				return -ENOMEM;
			break;
		}
	}
	return q->addresses_to_add.n + q->maximum_free_addresses.n > 0;
}

static void pool_give_back(struct hv *h, const struct hvapi_addresses *l, bool rejected)
{
	struct in_addr *ips = calloc(l->n ? l->n : 1, sizeof(*ips));

	if (ips == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		ips[i] = l->v[i].ip;
	pthread_mutex_lock(&h->hs->mu);
	pool_sent(h->hs->pool, h->hostname, ips, l->n, rejected);
	pthread_mutex_unlock(&h->hs->mu);
	free(ips);
}

/* Keeps each Manage subnet's free addresses between the marks. */
static void manage_pool(struct hv *h, const struct hvapi_count *nf, size_t n)
{
	struct hypervisors *hs = h->hs;
	struct hvapi_change_address_pool_request q = {0};
	char addr[sizeof(h->addr)], err[512] = "";
	int rc;

	pthread_mutex_lock(&hs->mu);
	snprintf(addr, sizeof(addr), "%s", h->addr);
	rc = pool_plan(h, nf, n, &q);
	pthread_mutex_unlock(&hs->mu);
	if (rc <= 0) {
		if (q.addresses_to_add.n > 0)
			pool_give_back(h, &q.addresses_to_add, true);
		goto out;
	}
	/* What is given is on disk before the hypervisor hears of it. */
	if (q.addresses_to_add.n > 0 && hv_persist(hs, true) < 0) {
		pool_give_back(h, &q.addresses_to_add, true);
		goto out;
	}
	rc = hv_call(hs, addr, HVAPI_M_CHANGE_ADDRESS_POOL, &hvapi_change_address_pool_request_type,
		     &q, err, sizeof(err));
	if (q.addresses_to_add.n > 0)
		pool_give_back(h, &q.addresses_to_add, rc == -EREMOTEIO);
	if (rc < 0)
		log_error("%s: ChangeAddressPool: %s", h->hostname, err);
	else if (q.addresses_to_add.n > 0)
		log_info("%s: replenished the pool with %zu addresses", h->hostname,
			 q.addresses_to_add.n);
	else
		log_info("%s: trimmed the pool (%zu subnets)", h->hostname,
			 q.maximum_free_addresses.n);
out:
	hvapi_change_address_pool_request_clear(&q);
}

/* ---- updates ---- */

static uint64_t vm_storage(const struct hvapi_vm_info *vm)
{
	uint64_t t = 0;

	for (size_t i = 0; i < vm->volumes.n; i++)
		t += vm->volumes.v[i].size;
	return t;
}

/* h's HypervisorData (hs->mu held). Clear it. */
int hv_data(const struct hv *h, struct fmapi_hypervisor_data *d)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < h->vms.n; i++) {
		d->allocated_milli_cpus += h->vms.v[i].vm->milli_cpus;
		d->allocated_memory_mib += h->vms.v[i].vm->memory_mib;
		d->allocated_volume_bytes += vm_storage(h->vms.v[i].vm);
	}
	d->available_memory_mib = h->available_memory_mib;
	for (size_t i = 0; i < h->n_num_free; i++)
		if (add_count(&d->num_free_addresses.v, &d->num_free_addresses.n,
			      h->num_free[i].key, h->num_free[i].count) < 0) {
			fmapi_hypervisor_data_clear(d);
			return -ENOMEM;
		}
	return 0;
}

static char *data_dump(const struct hv *h)
{
	struct fmapi_hypervisor_data d;
	char *s;

	if (hv_data(h, &d) < 0)
		return NULL;
	s = api_dumps(&fmapi_hypervisor_data_type, &d, 0);
	fmapi_hypervisor_data_clear(&d);
	return s;
}

static ssize_t vm_find(const struct hv *h, const char *ip)
{
	for (size_t i = 0; i < h->vms.n; i++)
		if (strcmp(h->vms.v[i].ip, ip) == 0)
			return (ssize_t)i;
	return -1;
}

static int tag_add(struct hvapi_tags *l, const char *k, const char *v)
{
	struct hvapi_tag *t = realloc(l->v, (l->n + 1) * sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	l->v = t;
	t[l->n].key = strdup(k);
	t[l->n].value = strdup(v);
	l->n++;
	return t[l->n - 1].key && t[l->n - 1].value ? 0 : -ENOMEM;
}

static int vm_entry_add(struct fmapi_update *out, const struct hvapi_vm_entry *e)
{
	struct hvapi_vm_entry *v =
	    realloc(out->changed_vms.v, (out->changed_vms.n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	out->changed_vms.v = v;
	memset(&v[out->changed_vms.n], 0, sizeof(*v));
	if (api_copy(&hvapi_vm_entry_type, &v[out->changed_vms.n], e) < 0)
		return -ENOMEM;
	out->changed_vms.n++;
	return 0;
}

static void vm_forget(struct hv *h, size_t i, struct fmapi_update *out)
{
	struct hypervisors *hs = h->hs;
	struct in_addr ip;

	if (inet_pton(AF_INET, h->vms.v[i].ip, &ip) == 1 && ipmap_get(&hs->vms, ip) == h)
		ipmap_del(&hs->vms, ip);
	api_strlist_add(&out->deleted_vms, h->vms.v[i].ip);
	hvapi_vm_entry_clear(&h->vms.v[i]);
	h->vms.v[i] = h->vms.v[--h->vms.n];
}

/* One VM of an update (hs->mu held): a VmInfo without Volumes means deleted. */
static int vm_update(struct hv *h, const struct hvapi_vm_entry *e, struct fmapi_update *out)
{
	ssize_t i = vm_find(h, e->ip);
	struct in_addr ip;

	if (e->vm == NULL || e->vm->volumes.n == 0) {
		if (i >= 0)
			vm_forget(h, (size_t)i, out);
		return 0;
	}
	if (i < 0) {
		struct hvapi_vm_entry *v = realloc(h->vms.v, (h->vms.n + 1) * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		h->vms.v = v;
		i = (ssize_t)h->vms.n;
		memset(&v[i], 0, sizeof(v[i]));
		if (api_copy(&hvapi_vm_entry_type, &v[i], e) < 0)
			return -ENOMEM;
		h->vms.n++;
	} else {
		struct hvapi_vm_entry n = {0};

		if (api_copy(&hvapi_vm_entry_type, &n, e) < 0)
			return -ENOMEM;
		hvapi_vm_entry_clear(&h->vms.v[i]);
		h->vms.v[i] = n;
	}
	if (inet_pton(AF_INET, e->ip, &ip) == 1)
		ipmap_put(&h->hs->vms, ip, h);
	if (vm_entry_add(out, e) < 0 || tag_add(&out->vm_to_hypervisor, e->ip, h->hostname) < 0)
		return -ENOMEM;
	return 0;
}

static bool update_has(const struct hvapi_update *u, const char *ip)
{
	for (size_t i = 0; i < u->vms.n; i++)
		if (strcmp(u->vms.v[i].ip, ip) == 0)
			return true;
	return false;
}

static void set_str(char **dst, const char *s)
{
	char *n = strdup(s ? s : "");

	if (n != NULL) {
		free(*dst);
		*dst = n;
	}
}

/* The view's part of an update (hs->mu held). */
static void apply_update(struct hv *h, const struct hvapi_update *u, bool first,
			 struct fmapi_update *out)
{
	struct hypervisors *hs = h->hs;

	if (u->has_available_memory)
		h->available_memory_mib = u->available_memory_mib;
	if (u->have_disabled)
		h->disabled = u->disabled;
	if (u->has_memory)
		h->memory_mib = u->memory_mib;
	if (u->has_num_cpus)
		h->num_cpus = u->num_cpus;
	if (u->has_total_volume_bytes)
		h->total_volume_bytes = u->total_volume_bytes;
	if (first || u->architecture != 0)
		h->arch = u->architecture;
	if (u->num_free_addresses.n > 0) {
		struct hvapi_count *v = NULL;
		size_t n = 0;

		for (size_t i = 0; i < u->num_free_addresses.n; i++)
			if (add_count(&v, &n, u->num_free_addresses.v[i].key,
				      u->num_free_addresses.v[i].count) < 0)
				break;
		for (size_t i = 0; i < h->n_num_free; i++)
			free(h->num_free[i].key);
		free(h->num_free);
		h->num_free = v;
		h->n_num_free = n;
	}
	/* As the original: every update carries the health status. */
	if (!first && strcmp(api_str(h->health), api_str(u->health_status)) != 0)
		log_info("%s: health status changed from \"%s\" to \"%s\"", h->hostname,
			 api_str(h->health), api_str(u->health_status));
	set_str(&h->health, u->health_status);
	if (u->have_serial_number && u->serial_number != NULL && u->serial_number[0] != '\0')
		set_str(&h->serial, u->serial_number);
	if (u->have_vms) {
		for (size_t i = 0; first && i < h->vms.n;) {
			if (!update_has(u, h->vms.v[i].ip))
				vm_forget(h, i, out);
			else
				i++;
		}
		for (size_t i = 0; i < u->vms.n; i++)
			if (vm_update(h, &u->vms.v[i], out) < 0)
				log_error("%s: out of memory recording VM %s", h->hostname,
					  u->vms.v[i].ip);
	}
	if (u->have_address_pool) {
		struct in_addr *ips =
		    calloc(u->address_pool.n ? u->address_pool.n : 1, sizeof(*ips));
		size_t conflicts = 0;

		if (ips == NULL)
			return;
		for (size_t i = 0; i < u->address_pool.n; i++)
			ips[i] = u->address_pool.v[i].ip;
		if (pool_hv_report(hs->pool, h->hostname, ips, u->address_pool.n, &conflicts) < 0)
			log_error("%s: out of memory recording the address pool", h->hostname);
		if (conflicts > 0)
			log_error("%s: %zu addresses of its pool are assigned to other hypervisors",
				  h->hostname, conflicts);
		free(ips);
	}
	if (u->have_subnets) {
		struct hvapi_subnets s = {0};

		for (size_t i = 0; i < u->subnets.n; i++) {
			struct hvapi_subnet *v = realloc(s.v, (s.n + 1) * sizeof(*v));

			if (v == NULL)
				break;
			s.v = v;
			memset(&v[s.n], 0, sizeof(v[s.n]));
			if (api_copy(&hvapi_subnet_type, &v[s.n], &u->subnets.v[i]) < 0)
				break;
			s.n++;
		}
		hvapi_subnets_clear(&h->have_subnets);
		h->have_subnets = s;
		h->have_subnets_known = true;
		h->push_subnets = true;
	}
}

static void process_update(struct hv *h, const struct hvapi_update *u, bool first)
{
	struct hypervisors *hs = h->hs;
	struct fmapi_update out = {0};
	char *before, *after;
	bool manage = hs->cfg.manage;

	pthread_mutex_lock(&hs->mu);
	before = data_dump(h);
	apply_update(h, u, first, &out);
	after = data_dump(h);
	if (before != NULL && after != NULL && strcmp(before, after) != 0) {
		struct fmapi_hypervisor_entry *e = calloc(1, sizeof(*e));

		if (e != NULL && (e->hostname = strdup(h->hostname)) != NULL &&
		    hv_data(h, &e->data) == 0) {
			out.changed_hypervisors.v = e;
			out.changed_hypervisors.n = 1;
		} else if (e != NULL) {
			free(e->hostname);
			free(e);
		}
	}
	pthread_mutex_unlock(&hs->mu);
	free(before);
	free(after);
	/* Subnets first: the hypervisor refuses addresses outside its subnets. */
	if (manage && u->have_subnets)
		push_subnets(h);
	if (manage && u->num_free_addresses.n > 0)
		manage_pool(h, u->num_free_addresses.v, u->num_free_addresses.n);
	if (hs->cfg.on_update != NULL &&
	    out.changed_hypervisors.n + out.changed_vms.n + out.deleted_vms.n > 0)
		hs->cfg.on_update(hs->cfg.arg, &out);
	fmapi_update_clear(&out);
	hv_persist(hs, false);
}

/* ---- the connection ---- */

/* Follows the GetUpdates stream until it fails, stops or goes silent too long.
 * Returns a message for last_error (static), NULL when stopped. */
static const char *follow(struct hv *h, struct srpc_client *cl)
{
	struct hypervisors *hs = h->hs;
	struct srpc_conn *c = srpc_client_conn(cl);
	int64_t last_rx = hv_now_ms(), last_tx = last_rx;
	json_t *ping =
	    api_encode(&hvapi_get_updates_request_type, &(struct hvapi_get_updates_request){0});
	const char *why = NULL;
	bool first = true;

	srpc_conn_set_timeout(c, hs->unreachable_ms);
	for (;;) {
		int64_t now = hv_now_ms(), quiet = now - (last_rx > last_tx ? last_rx : last_tx);
		int wait = hs->keepalive_ms - (int)quiet;
		bool stop, owners, subnets;
		struct pollfd p = {.fd = srpc_conn_fd(c), .events = POLLIN};
		int n;

		pthread_mutex_lock(&hs->mu);
		stop = h->stop;
		owners = h->push_owners && hs->cfg.manage;
		subnets = h->push_subnets && hs->cfg.manage;
		pthread_mutex_unlock(&hs->mu);
		if (stop)
			break;
		if (owners)
			push_owners(h);
		if (subnets)
			push_subnets(h);
		if (now - last_rx >= hs->unreachable_ms) {
			why = "unreachable: nothing received";
			log_warn("%s: nothing received for %d ms: unreachable", h->hostname,
				 (int)(now - last_rx));
			break;
		}
		if (wait > hs->unreachable_ms - (int)(now - last_rx))
			wait = hs->unreachable_ms - (int)(now - last_rx);
		if (wait <= 0) {
			if (ping == NULL || srpc_conn_write_json(c, ping) < 0 ||
			    srpc_conn_flush(c) < 0) {
				why = "sending the keep-alive failed";
				break;
			}
			last_tx = hv_now_ms();
			continue;
		}
		n = srpc_conn_pending(c) ? 1 : poll(&p, 1, wait);
		if (n < 0 && errno != EINTR) {
			why = "poll failed";
			break;
		}
		if (n > 0) {
			struct hvapi_update u;
			char *msg = NULL;
			json_t *j;
			int rc = srpc_conn_read_json(c, &j);

			if (rc < 0) {
				why = rc == -ECONNRESET ? "the hypervisor closed the connection"
							: "reading an update failed";
				pthread_mutex_lock(&hs->mu);
				if (h->stop)
					why = NULL; /* we closed it */
				pthread_mutex_unlock(&hs->mu);
				break;
			}
			rc = api_decode_msg(&hvapi_update_type, j, "Update", &u, &msg);
			json_decref(j);
			if (rc < 0) {
				log_error("%s: %s", h->hostname, msg ? msg : "bad Update");
				free(msg);
				why = "bad Update";
				break;
			}
			last_rx = hv_now_ms();
			process_update(h, &u, first);
			first = false;
			hvapi_update_clear(&u);
		}
	}
	json_decref(ping);
	return why;
}

/* One connection: dial, ChangeOwners, GetUpdates. Returns the delay before the next
 * attempt in ms. */
static int connect_once(struct hv *h)
{
	struct hypervisors *hs = h->hs;
	struct srpc_client_config cc = {.tls = hs->tls, .connect_timeout_ms = hs->dial_ms};
	struct hvapi_change_owners_request q;
	struct hvapi_error_response resp;
	char addr[sizeof(h->addr)], err[512] = "";
	struct srpc_client *cl;
	const char *why;
	int rc, delay = hs->reconnect_ms;

	pthread_mutex_lock(&hs->mu);
	snprintf(addr, sizeof(addr), "%s", h->addr);
	pthread_mutex_unlock(&hs->mu);
	rc = srpc_client_dial(addr, &cc, &cl, err, sizeof(err));
	if (rc < 0) {
		pthread_mutex_lock(&hs->mu);
		if (h->connected)
			log_warn("%s: %s", h->hostname, err);
		set_state(h, false, err);
		pthread_mutex_unlock(&hs->mu);
		log_debug(1, "%s: %s", h->hostname, err);
		return delay;
	}
	if (hs->cfg.manage) {
		pthread_mutex_lock(&hs->mu);
		h->push_owners = false;
		rc = owners_request(h, &q);
		pthread_mutex_unlock(&hs->mu);
		if (rc == 0) {
			rc = hvclient_call(cl, HVAPI_M_CHANGE_OWNERS,
					   &hvapi_change_owners_request_type, &q,
					   &hvapi_error_response_type, &resp, err, sizeof(err));
			if (rc == 0)
				hvapi_error_response_clear(&resp);
			owners_result(h, rc, err);
			hvapi_change_owners_request_clear(&q);
		}
	}
	rc = srpc_client_start(cl, HVAPI_M_GET_UPDATES);
	if (rc < 0) {
		snprintf(err, sizeof(err), "GetUpdates: %s", srpc_client_error(cl));
		if (strncmp(srpc_client_error(cl), "unknown service", 15) == 0)
			delay = 60000;
		log_error("%s: %s", h->hostname, err);
		pthread_mutex_lock(&hs->mu);
		set_state(h, false, err);
		pthread_mutex_unlock(&hs->mu);
		srpc_client_close(cl);
		return delay;
	}
	pthread_mutex_lock(&hs->mu);
	if (h->stop) {
		pthread_mutex_unlock(&hs->mu);
		srpc_client_close(cl);
		return 0;
	}
	h->fd = srpc_conn_fd(srpc_client_conn(cl));
	pool_hv_connected(hs->pool, h->hostname);
	set_state(h, true, NULL);
	pthread_mutex_unlock(&hs->mu);
	log_info("%s: connected", h->hostname);
	why = follow(h, cl);
	pthread_mutex_lock(&hs->mu);
	h->fd = -1;
	set_state(h, false, why);
	pthread_mutex_unlock(&hs->mu);
	srpc_client_close(cl);
	if (why != NULL)
		log_info("%s: disconnected: %s", h->hostname, why);
	return delay;
}

void *hvconn_main(void *arg)
{
	struct hv *h = arg;
	struct hypervisors *hs = h->hs;

	for (;;) {
		int delay;

		pthread_mutex_lock(&hs->mu);
		if (h->stop) {
			pthread_mutex_unlock(&hs->mu);
			break;
		}
		pthread_mutex_unlock(&hs->mu);
		delay = connect_once(h);
		pthread_mutex_lock(&hs->mu);
		wait_locked(h, delay);
		pthread_mutex_unlock(&hs->mu);
	}
	return NULL;
}
