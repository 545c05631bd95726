/* FleetManager.* methods (see methods.h). Requests are decoded strictly with the codec;
 * a malformed request gets the codec's error line, a refusal the original's text in the
 * reply's Error. */
#include "daemon/fleet-manager/methods.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define READ_ONLY_INFO                                                                             \
	"this is a read-only Fleet Manager: full machine information is not available"
#define NO_ACCESS "no access to resource"
#define WATCH_IO_TIMEOUT_MS (10 * 60 * 1000) /* a write stuck this long: the peer is gone */
#define BATCH_US 10000

/* Decodes req into obj of type t; a failure becomes the call's error line. */
static int decode(struct srpc_call *call, const struct api_type *t, const json_t *req, void *obj)
{
	char *msg = NULL;
	int rc = api_decode_msg(t, (json_t *)req, t->name, obj, &msg);

	if (rc < 0) {
		rc = srpc_call_errorf(call, "%s", msg ? msg : "bad request");
		free(msg);
	}
	return rc;
}

static int reply(const struct api_type *t, void *obj, json_t **resp)
{
	*resp = api_encode(t, obj);
	api_clear(t, obj);
	return *resp != NULL ? 0 : -ENOMEM;
}

static int error_reply(const char *text, json_t **resp)
{
	struct fmapi_error_response r = {.error = (char *)text};

	*resp = fmapi_error_response_to_json(&r);
	return *resp != NULL ? 0 : -ENOMEM;
}

bool fm_methods_may_change(const struct srpc_auth *a, const struct fmapi_machine *m)
{
	if (a->is_admin)
		return true;
	if (*a->username != '\0' && api_strlist_contains(&m->owner_users, a->username))
		return true;
	for (size_t i = 0; i < a->n_groups; i++)
		if (api_strlist_contains(&m->owner_groups, a->groups[i]))
			return true;
	return false;
}

/* ---- GetMachineInfo ---- */

int fm_machine_info(struct fm_methods *fm, const char *hostname,
		    struct fmapi_get_machine_info_response *p)
{
	struct topology *t = machines_topology(fm->ms);
	const struct topo_machine *tm = t ? topology_find_hostname(t, hostname) : NULL;
	int rc = tm ? machines_get(fm->ms, hostname, &p->machine) : -ENOENT;

	if (rc == 0) {
		p->location = strdup(api_str(tm->m.location));
		p->subnets.v = calloc(tm->nsubnets + 1, sizeof(*p->subnets.v));
		for (size_t i = 0; p->subnets.v != NULL && i < tm->nsubnets; i++)
			if (api_copy(&hvapi_subnet_type, &p->subnets.v[p->subnets.n],
				     &tm->subnets[i]->subnet) == 0)
				p->subnets.n++;
	}
	topology_unref(t);
	return rc;
}

static int get_machine_info(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	struct fmapi_get_machine_info_request q = {0};
	struct fmapi_get_machine_info_response p = {0};
	int rc = decode(call, &fmapi_get_machine_info_request_type, req, &q);

	if (rc < 0)
		return rc;
	if (!fm->manage && !q.ignore_missing_local_tags)
		p.error = strdup(READ_ONLY_INFO);
	else if (fm_machine_info(fm, api_str(q.hostname), &p) < 0) {
		fmapi_get_machine_info_response_clear(&p);
		p.error = strdup("Hypervisor not found");
	}
	fmapi_get_machine_info_request_clear(&q);
	return reply(&fmapi_get_machine_info_response_type, &p, resp);
}

/* ---- ListHypervisorsInLocation ---- */

static bool hv_selected(const struct topology *t,
			const struct fmapi_list_hypervisors_in_location_request *q,
			const struct hv_status *h, const struct fmapi_machine *m)
{
	const struct topo_machine *tm = topology_find_hostname(t, h->hostname);

	if (!h->connected)
		return false;
	if (!q->include_unhealthy && *api_str(h->health) != '\0' &&
	    strcmp(h->health, "healthy") != 0)
		return false;
	if (q->architecture != HVAPI_ARCH_AUTO && h->architecture != q->architecture &&
	    m->data.architecture != q->architecture)
		return false;
	if (*api_str(q->subnet_id) != '\0' &&
	    (tm == NULL || topology_machine_subnet(tm, q->subnet_id) == NULL))
		return false;
	return hvapi_match_tags(&q->hypervisor_tags_to_match, &m->tags);
}

static int add_included_tags(struct fmapi_list_hypervisors_in_location_response *p,
			     const struct api_strlist *keys, const struct fmapi_machine *m)
{
	struct hvapi_tags *v =
	    realloc(p->tags_for_hypervisors.v, (p->tags_for_hypervisors.n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	p->tags_for_hypervisors.v = v;
	v += p->tags_for_hypervisors.n++;
	memset(v, 0, sizeof(*v));
	for (size_t k = 0; k < keys->n; k++) {
		const char *val = hvapi_tags_get(&m->tags, keys->v[k]);

		if (val != NULL && hvapi_tags_set(v, keys->v[k], val) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int list_hypervisors(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	struct fmapi_list_hypervisors_in_location_request q = {0};
	struct fmapi_list_hypervisors_in_location_response p = {0};
	json_t *r = json_deep_copy(req);
	struct hv_status *l = NULL;
	struct topology *t;
	size_t n;
	int rc;

	/* Go clients send "" for no architecture. */
	if (r != NULL && json_is_string(json_object_get(r, "ArchitectureType")) &&
	    *json_string_value(json_object_get(r, "ArchitectureType")) == '\0')
		json_object_del(r, "ArchitectureType");
	rc = decode(call, &fmapi_list_hypervisors_in_location_request_type, r ? r : req, &q);
	json_decref(r);
	if (rc < 0)
		return rc;
	t = machines_topology(fm->ms);
	n = t ? hypervisors_list(fm->hs, api_str(q.location), &l) : 0;
	for (size_t i = 0; i < n; i++) {
		struct fmapi_machine m;
		char addr[512];

		if (machines_get(fm->ms, l[i].hostname, &m) < 0)
			continue;
		if (hv_selected(t, &q, &l[i], &m)) {
			snprintf(addr, sizeof(addr), "%s:%d", l[i].hostname, fm->hypervisor_port);
			api_strlist_add(&p.hypervisor_addresses, addr);
			if (q.tags_to_include.n > 0)
				add_included_tags(&p, &q.tags_to_include, &m);
		}
		fmapi_machine_clear(&m);
	}
	hv_status_list_free(l, n);
	topology_unref(t);
	fmapi_list_hypervisors_in_location_request_clear(&q);
	return reply(&fmapi_list_hypervisors_in_location_response_type, &p, resp);
}

/* ---- ChangeMachineTags ---- */

static int change_machine_tags(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	const struct srpc_auth *a = srpc_call_auth(call);
	struct fmapi_change_machine_tags_request q = {0};
	struct fmapi_update u = {0};
	struct fmapi_machine m;
	char err[1024] = "";
	int rc = decode(call, &fmapi_change_machine_tags_request_type, req, &q);

	if (rc < 0)
		return rc;
	if (!fm->manage) {
		snprintf(err, sizeof(err), "this is a read-only Fleet Manager");
	} else if (machines_get(fm->ms, api_str(q.hostname), &m) < 0) {
		snprintf(err, sizeof(err), "Hypervisor not found");
	} else {
		bool ok = fm_methods_may_change(a, &m);

		fmapi_machine_clear(&m);
		if (!ok)
			snprintf(err, sizeof(err), NO_ACCESS);
		else if (machines_change_tags(fm->ms, q.hostname, &q.tags, &u, err, sizeof(err)) ==
			 0) {
			log_info("ChangeMachineTags(%s) by %s: %zu local tags", q.hostname,
				 a->username, q.tags.n);
			fm_updates_publish(fm->up, &u);
		}
	}
	if (*err != '\0')
		log_debug(0, "ChangeMachineTags(%s) by %s: %s", api_str(q.hostname), a->username,
			  err);
	fmapi_update_clear(&u);
	fmapi_change_machine_tags_request_clear(&q);
	return error_reply(err, resp);
}

/* ---- MoveIpAddresses ---- */

static int move_ip_addresses(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	struct fmapi_move_ip_addresses_request q = {0};
	char err[1024] = "";
	int rc = decode(call, &fmapi_move_ip_addresses_request_type, req, &q);

	if (rc < 0)
		return rc;
	if (!fm->manage)
		snprintf(err, sizeof(err), "this is a read-only Fleet Manager");
	else if (q.ips.n == 0)
		snprintf(err, sizeof(err), "no IP addresses given");
	else if (hypervisors_move_ips(fm->hs, api_str(q.hypervisor_hostname), q.ips.v, q.ips.n, err,
				      sizeof(err)) == 0)
		log_info("MoveIpAddresses: %zu addresses to %s by %s", q.ips.n,
			 q.hypervisor_hostname, srpc_call_auth(call)->username);
	fmapi_move_ip_addresses_request_clear(&q);
	return error_reply(err, resp);
}

/* ---- PowerOnMachine ---- */

static int power_on(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	const struct srpc_auth *a = srpc_call_auth(call);
	struct fmapi_power_on_machine_request q = {0};
	struct topology *t;
	const struct topo_machine *tm;
	struct fmapi_machine m;
	char msg[1024] = "";
	int rc = decode(call, &fmapi_power_on_machine_request_type, req, &q);

	if (rc < 0)
		return rc;
	t = machines_topology(fm->ms);
	tm = t ? topology_find_hostname(t, api_str(q.hostname)) : NULL;
	if (tm == NULL || machines_get(fm->ms, q.hostname, &m) < 0) {
		snprintf(msg, sizeof(msg), "Hypervisor not found");
	} else {
		bool ok = fm_methods_may_change(a, &m);

		fmapi_machine_clear(&m);
		if (!ok) {
			snprintf(msg, sizeof(msg), NO_ACCESS);
		} else {
			rc = power_on_machine(fm->power, tm, msg, sizeof(msg));
			log_info("PowerOnMachine(%s) by %s: %s", q.hostname, a->username, msg);
			if (rc == 0)
				*msg = '\0';
		}
	}
	topology_unref(t);
	fmapi_power_on_machine_request_clear(&q);
	return error_reply(msg, resp);
}

/* ---- GetHypervisorForVM ---- */

static int hypervisor_for_vm(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct fm_methods *fm = arg;
	struct fmapi_get_hypervisor_for_vm_request q = {0};
	struct fmapi_get_hypervisor_for_vm_response p = {0};
	char addr[512];
	int rc = decode(call, &fmapi_get_hypervisor_for_vm_request_type, req, &q);

	if (rc < 0)
		return rc;
	if (hypervisors_for_vm(fm->hs, q.ip, addr, sizeof(addr)) == 0)
		p.hypervisor_address = strdup(addr);
	else
		p.error = strdup("VM not found");
	return reply(&fmapi_get_hypervisor_for_vm_response_type, &p, resp);
}

/* ---- GetUpdates ---- */

static int write_msg(struct srpc_conn *c, json_t *j)
{
	int rc = j ? srpc_conn_write_json(c, j) : -ENOMEM;

	json_decref(j);
	return rc == 0 ? srpc_conn_flush(c) : rc;
}

/* The full state of the location: its machines with effective tags (as published to
 * the watchers: encoded once, shared), and what the hypervisors of it report. */
static json_t *full_state(struct fm_methods *fm, const char *location)
{
	struct fmapi_update u = {0};
	json_t *j, *machines = fm_updates_machines(fm->up, location);

	hypervisors_snapshot(fm->hs, location, &u);
	j = fmapi_update_to_json(&u);
	fmapi_update_clear(&u);
	if (j == NULL || machines == NULL) {
		json_decref(j);
		json_decref(machines);
		return NULL;
	}
	/* Field order of an Update: ChangedHypervisors, ChangedMachines, ... (json
	 * objects keep insertion order when dumped without JSON_SORT_KEYS). */
	if (json_array_size(machines) > 0) {
		json_t *o = json_object();
		const char *k;
		json_t *v;

		v = json_object_get(j, "ChangedHypervisors");
		if (v != NULL)
			json_object_set(o, "ChangedHypervisors", v);
		json_object_set_new(o, "ChangedMachines", machines);
		machines = NULL;
		json_object_foreach(j, k, v)
		{
			if (strcmp(k, "ChangedHypervisors") != 0)
				json_object_set(o, k, v);
		}
		json_decref(j);
		j = o;
	}
	json_decref(machines);
	return j;
}

/* Follows the subscription until the client hangs up, MaxUpdates were sent or the
 * server stops. */
static int follow(struct fm_methods *fm, struct srpc_conn *c, struct fm_updates_sub *s,
		  uint64_t max, uint64_t sent)
{
	int rc = 0;

	while (rc == 0 && (max == 0 || sent < max)) {
		struct pollfd p[2] = {{.fd = srpc_conn_fd(c), .events = POLLIN},
				      {.fd = fm_updates_sub_fd(s), .events = POLLIN}};
		bool closed = false;
		json_t *u;
		int n = srpc_conn_pending(c) ? 1 : poll(p, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (srpc_conn_pending(c) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			json_t *j = NULL;

			/* Nothing is expected from a watcher: read and drop; EOF ends. */
			rc = srpc_conn_read_json(c, &j);
			json_decref(j);
			if (rc == -EBADMSG)
				rc = 0;
			continue;
		}
		if (!(p[1].revents & POLLIN))
			continue;
		usleep(BATCH_US); /* let a burst of changes gather */
		u = fm_updates_take(fm->up, s, &closed);
		if (closed) {
			json_decref(u);
			return -ECONNRESET;
		}
		if (u != NULL) {
			rc = write_msg(c, u);
			sent++;
		}
	}
	return rc;
}

static int get_updates(struct srpc_call *call, void *arg)
{
	struct fm_methods *fm = arg;
	struct srpc_conn *c = srpc_call_conn(call);
	struct fmapi_get_updates_request q = {0};
	struct fm_updates_sub *s;
	char *msg = NULL;
	json_t *j = NULL;
	int rc = srpc_conn_read_json(c, &j);

	if (rc < 0)
		return rc;
	rc = api_decode_msg(&fmapi_get_updates_request_type, j, "GetUpdatesRequest", &q, &msg);
	json_decref(j);
	if (rc < 0 || (!fm->manage && !q.ignore_missing_local_tags)) {
		struct fmapi_update e = {.error = rc < 0 ? msg : (char *)READ_ONLY_INFO};

		rc = write_msg(c, fmapi_update_to_json(&e));
		free(msg);
		fmapi_get_updates_request_clear(&q);
		return rc;
	}
	s = fm_updates_subscribe(fm->up, api_str(q.location));
	if (s == NULL) {
		fmapi_get_updates_request_clear(&q);
		return -ENOMEM;
	}
	srpc_conn_set_timeout(c, WATCH_IO_TIMEOUT_MS);
	log_debug(0, "GetUpdates(%s) by %s", api_str(q.location), srpc_call_auth(call)->username);
	rc = write_msg(c, full_state(fm, api_str(q.location)));
	if (rc == 0)
		rc = follow(fm, c, s, q.max_updates, 1);
	fm_updates_unsubscribe(fm->up, s);
	fmapi_get_updates_request_clear(&q);
	return rc == -ECONNRESET ? -ECONNRESET : rc;
}

int fm_methods_register(struct srpc_server *srv, struct fm_methods *fm)
{
#define RR(n, acc, fn)                                                                             \
	{                                                                                          \
		.name = (n), .kind = SRPC_RR, .access = (acc), .rr = (fn), .arg = fm               \
	}
	const struct srpc_method ms[] = {
	    RR(FMAPI_M_GET_MACHINE_INFO, SRPC_ACCESS_PUBLIC, get_machine_info),
	    RR(FMAPI_M_LIST_HYPERVISORS_IN_LOCATION, SRPC_ACCESS_PUBLIC, list_hypervisors),
	    {.name = FMAPI_M_GET_UPDATES,
	     .kind = SRPC_STREAM,
	     .access = SRPC_ACCESS_PUBLIC,
	     .stream = get_updates,
	     .arg = fm},
	    RR(FMAPI_M_CHANGE_MACHINE_TAGS, SRPC_ACCESS_PUBLIC, change_machine_tags),
	    RR(FMAPI_M_MOVE_IP_ADDRESSES, 0, move_ip_addresses), /* admins only */
	    RR(FMAPI_M_POWER_ON_MACHINE, SRPC_ACCESS_PUBLIC, power_on),
	    RR(FMAPI_M_GET_HYPERVISOR_FOR_VM, SRPC_ACCESS_PUBLIC, hypervisor_for_vm),
	};
#undef RR

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		int rc = srpc_server_register(srv, &ms[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
