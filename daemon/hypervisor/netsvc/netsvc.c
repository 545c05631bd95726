/* The network services object: configuration, its lifecycle (the loop thread, the
 * servers of netsvc_servers[] opened and closed), and the API the VM manager calls
 * (see netsvc.h). What the servers share lives in netsvc_state.c. */
#include "daemon/hypervisor/netsvc/netsvc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"
#include "daemon/hypervisor/netsvc/netsvc_priv.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"
#include "log.h"

#define SWEEP_MS 1000
#define IFACE_RESCAN_MS 30000
#define FOLD_MS 30000

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int open_root(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

struct netsvc *netsvc_new(const struct netsvc_config *cfg, const struct netsvc_hooks *hooks)
{
	struct netsvc *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->cfg = *cfg;
	if (hooks)
		ns->hooks = *hooks;
	ns->rootfd = -1;
	ns->dhcp.io.fd = ns->tftp.io.fd = ns->ra.io.fd = -1;
	pthread_mutex_init(&ns->lock, NULL);
	pthread_cond_init(&ns->cond, NULL);
	pthread_mutex_init(&ns->log_lock, NULL);
	for (int k = 0; k < NETSVC_PEER_LOG_KINDS; k++)
		ratelimit_init(&ns->peer_log[k], cfg->peer_log_rate ? cfg->peer_log_rate : 10,
			       cfg->peer_log_burst ? cfg->peer_log_burst : 20, evloop_now_ms());
	ns->cfg.state_dir = dup_or_null(cfg->state_dir);
	ns->cfg.tftp_root = dup_or_null(cfg->tftp_root);
	ns->cfg.boot_template = strdup(cfg->boot_template ? cfg->boot_template : "pxelinux.%d");
	ns->cfg.http_path = strdup(cfg->http_path ? cfg->http_path : "/boot/");
	ns->leases = dhcp_leases_new();
	ns->files = nbf_registry_new();
	if (!ns->cfg.boot_template || !ns->cfg.http_path || !ns->leases || !ns->files)
		goto fail;
	if (cfg->state_dir &&
	    (asprintf(&ns->leases_path, "%s/dynamic-leases.json", cfg->state_dir) < 0 ||
	     asprintf(&ns->journal_path, "%s/dynamic-leases.journal", cfg->state_dir) < 0))
		goto fail;
	if (cfg->interfaces) {
		size_t n = 0;
		while (cfg->interfaces[n])
			n++;
		ns->ifnames = calloc(n + 1, sizeof(char *));
		if (!ns->ifnames)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if (!(ns->ifnames[i] = strdup(cfg->interfaces[i])))
				goto fail;
	}
	ns->cfg.interfaces = NULL;
	if (cfg->nboot_map) {
		ns->boot_map = calloc(cfg->nboot_map, sizeof(*ns->boot_map));
		if (!ns->boot_map)
			goto fail;
		for (size_t i = 0; i < cfg->nboot_map; i++) {
			ns->boot_map[i].arch = cfg->boot_map[i].arch;
			ns->boot_map[i].file = strdup(cfg->boot_map[i].file);
			if (!ns->boot_map[i].file)
				goto fail;
		}
	}
	ns->cfg.boot_map = ns->boot_map;
	return ns;
fail:
	netsvc_free(ns);
	return NULL;
}

/* Snapshot + journal into the table; the first sweep folds them into a new snapshot. */
static void load_leases(struct netsvc *ns)
{
	struct dhcp_store_entry *e;
	size_t n, bad, jbad = 0, stale = 0;
	if (!ns->leases_path)
		return;
	int rc = dhcp_store_load(ns->leases_path, &e, &n, &bad);
	if (rc < 0) {
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: load %s: %s", ns->leases_path,
			   strerror(-rc));
		return;
	}
	rc = dhcp_journal_replay(ns->journal_path, &e, &n, &jbad);
	if (rc < 0)
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: replay %s: %s", ns->journal_path,
			   strerror(-rc));
	int64_t now = evloop_wall_ms();
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < n; i++)
		if (dhcp_leases_restore(ns->leases, e[i].mac, e[i].ip, e[i].hostname, e[i].expires,
					now) < 0)
			stale++;
	ns->dyn_dirty = true; /* fold the journal in, drop what expired */
	pthread_mutex_unlock(&ns->lock);
	netsvc_log(
	    ns, NETSVC_LOG_INFO,
	    "dhcpd: loaded %zu dynamic leases (%zu expired, %zu malformed, %zu bad journal lines)",
	    n - stale, stale, bad, jbad);
	free(e);
}

static void journal_sync(struct ev_timer *t)
{
	struct netsvc *ns = t->arg;
	int rc = ns->journal ? dhcp_journal_sync(ns->journal) : 0;
	if (rc < 0) {
		NETSVC_STAT_ADD(ns, dhcp_persist_errors, 1);
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: sync %s: %s", ns->journal_path,
			   strerror(-rc));
	}
}

/* Periodic work on the loop thread: expiry, lazy persistence, interface rescans. */
static void sweep(struct ev_timer *t)
{
	struct netsvc *ns = t->arg;
	int64_t now = evloop_wall_ms();
	bool changed = false, rescanned = false;

	pthread_mutex_lock(&ns->lock);
	size_t before = dhcp_leases_count(ns->leases);
	dhcp_leases_expire(ns->leases, now, &changed);
	bool removed = dhcp_leases_count(ns->leases) != before;
	nbf_expire(ns->files, now);
	if (changed)
		ns->dyn_dirty = true;
	/* Fold the journal into a new snapshot every FOLD_MS, or at once when it grew
	 * longer than the table (each fold costs O(leases)). */
	size_t jn = ns->journal ? dhcp_journal_count(ns->journal) : 0;
	int64_t mono = evloop_now_ms();
	bool dirty = ns->dyn_dirty || (jn > 4096 && jn > dhcp_leases_count(ns->leases)) ||
		     (jn > 0 && mono - ns->last_fold >= FOLD_MS);
	if (dirty)
		ns->last_fold = mono;
	if (evloop_now_ms() - ns->ifaces_scanned >= IFACE_RESCAN_MS)
		netsvc_ifaces_scan(ns);
	rescanned = ns->ra_rejoin || ns->ifaces_scanned != ns->ra_joined_scan;
	ns->ra_rejoin = false;
	ns->ra_joined_scan = ns->ifaces_scanned;
	pthread_mutex_unlock(&ns->lock);
	if (removed)
		pthread_cond_broadcast(&ns->cond);
	if (dirty)
		netsvc_persist(ns);
	for (const struct netsvc_server *const *sv = netsvc_servers; rescanned && *sv != NULL; sv++)
		if ((*sv)->refresh != NULL)
			(*sv)->refresh(ns);
	netsvc_log_flush(ns);
	evloop_timer_set(ns->loop, t, evloop_now_ms() + SWEEP_MS);
}

static void *loop_main(void *arg)
{
	struct netsvc *ns = arg;
	int rc = evloop_run(ns->loop);
	if (rc < 0)
		netsvc_log(ns, NETSVC_LOG_ERROR, "netsvc: event loop: %s", strerror(-rc));
	return NULL;
}

int netsvc_start(struct netsvc *ns)
{
	int rc;
	ns->loop = evloop_new();
	if (!ns->loop)
		return -ENOMEM;
	if (ns->cfg.tftp_root && (rc = netsvc_set_tftp_root(ns, ns->cfg.tftp_root)) < 0) {
		netsvc_log(ns, NETSVC_LOG_ERROR, "tftpd: root %s: %s", ns->cfg.tftp_root,
			   strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&ns->lock);
	rc = netsvc_ifaces_scan(ns);
	pthread_mutex_unlock(&ns->lock);
	if (rc < 0)
		return rc;
	load_leases(ns);
	if (ns->journal_path && (rc = dhcp_journal_open(ns->journal_path, &ns->journal)) < 0) {
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: open %s: %s", ns->journal_path,
			   strerror(-rc));
		return rc;
	}
	for (const struct netsvc_server *const *sv = netsvc_servers; *sv != NULL; sv++)
		if ((*sv)->wanted(&ns->cfg) && (rc = (*sv)->open(ns)) < 0 && !(*sv)->optional)
			return rc;
	ev_timer_init(&ns->sweep, sweep, ns);
	ev_timer_init(&ns->jsync, journal_sync, ns);
	evloop_timer_set(ns->loop, &ns->sweep, evloop_now_ms() + SWEEP_MS);
	rc = pthread_create(&ns->thread, NULL, loop_main, ns);
	if (rc != 0)
		return -rc;
	ns->running = true;
	return 0;
}

void netsvc_stop(struct netsvc *ns)
{
	pthread_mutex_lock(&ns->lock);
	ns->stopping = true;
	pthread_mutex_unlock(&ns->lock);
	pthread_cond_broadcast(&ns->cond);
	if (ns->running) {
		evloop_stop(ns->loop);
		pthread_join(ns->thread, NULL);
		ns->running = false;
	}
	if (ns->loop) {
		for (const struct netsvc_server *const *sv = netsvc_servers; *sv != NULL; sv++)
			(*sv)->close(ns);
		if (ns->dyn_dirty || (ns->journal && dhcp_journal_count(ns->journal)))
			netsvc_persist(ns);
		evloop_free(ns->loop);
		ns->loop = NULL;
	}
}

void netsvc_free(struct netsvc *ns)
{
	if (!ns)
		return;
	netsvc_stop(ns);
	if (ns->rootfd >= 0)
		close(ns->rootfd);
	for (size_t i = 0; i < ns->nregs; i++)
		dhcp_leases_unwatch(ns->leases, ns->regs[i].ip);
	free(ns->regs);
	dhcp_leases_free(ns->leases);
	nbf_registry_free(ns->files);
	free(ns->subnets);
	free(ns->ifaces);
	if (ns->ifnames)
		for (char **n = ns->ifnames; *n; n++)
			free(*n);
	free(ns->ifnames);
	for (size_t i = 0; i < ns->cfg.nboot_map && ns->boot_map; i++)
		free((char *)ns->boot_map[i].file);
	free(ns->boot_map);
	if (ns->journal) {
		dhcp_journal_close(ns->journal);
		if (!ns->dyn_dirty)
			unlink(ns->journal_path); /* empty: the snapshot holds everything */
	}
	free(ns->leases_path);
	free(ns->journal_path);
	free((char *)ns->cfg.state_dir);
	free((char *)ns->cfg.tftp_root);
	free((char *)ns->cfg.boot_template);
	free((char *)ns->cfg.http_path);
	pthread_mutex_destroy(&ns->lock);
	pthread_cond_destroy(&ns->cond);
	pthread_mutex_destroy(&ns->log_lock);
	free(ns);
}

void netsvc_refresh_interfaces(struct netsvc *ns)
{
	pthread_mutex_lock(&ns->lock);
	netsvc_ifaces_scan(ns);
	ns->ra_rejoin = true; /* the loop thread re-joins multicast groups */
	pthread_mutex_unlock(&ns->lock);
}

int netsvc_set_tftp_root(struct netsvc *ns, const char *dir)
{
	int fd = open_root(dir);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&ns->lock);
	int old = ns->rootfd;
	ns->rootfd = fd;
	pthread_mutex_unlock(&ns->lock);
	if (old >= 0)
		close(old);
	return 0;
}

int netsvc_set_subnets(struct netsvc *ns, const struct dhcp_subnet *s, size_t n)
{
	struct dhcp_subnet *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, s, n * sizeof(*copy));
	}
	pthread_mutex_lock(&ns->lock);
	free(ns->subnets);
	ns->subnets = copy;
	ns->nsubnets = n;
	pthread_mutex_unlock(&ns->lock);
	return 0;
}

void netsvc_subnet_from_api(const struct hvapi_subnet *in, struct dhcp_subnet *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", in->id ? in->id : "");
	snprintf(out->domain, sizeof(out->domain), "%s", in->domain_name ? in->domain_name : "");
	out->gateway = in->ip_gateway;
	out->mask = in->ip_mask;
	for (size_t i = 0; i < in->domain_name_servers.n && out->ndns < DHCP_SUBNET_MAX_DNS; i++)
		out->dns[out->ndns++] = in->domain_name_servers.v[i];
	out->first_dynamic = in->first_dynamic_ip;
	out->last_dynamic = in->last_dynamic_ip;
}

int netsvc_set_api_subnets(struct netsvc *ns, const struct hvapi_subnets *l)
{
	struct dhcp_subnet *v = calloc(l->n ? l->n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		netsvc_subnet_from_api(&l->v[i], &v[i]);
	int rc = netsvc_set_subnets(ns, v, l->n);
	free(v);
	return rc;
}

static const struct dhcp_subnet *subnet_for(struct netsvc *ns, struct in_addr ip)
{
	for (size_t i = 0; i < ns->nsubnets; i++)
		if (dhcp_subnet_contains(&ns->subnets[i], ip))
			return &ns->subnets[i];
	return NULL;
}

static int add_locked(struct netsvc *ns, const struct netsvc_lease *l)
{
	struct dhcp_lease dl = {.ip = l->ip};
	bool changed = false;
	if (!l->ip.s_addr)
		return -EINVAL;
	if (!subnet_for(ns, l->ip))
		return -ENOENT;
	memcpy(dl.mac, l->mac, 6);
	dl.kind = l->kind == NETSVC_LEASE_EXTERNAL ? DHCP_LEASE_EXTERNAL : DHCP_LEASE_VM;
	snprintf(dl.hostname, sizeof(dl.hostname), "%s", l->hostname ? l->hostname : "");
	int rc = dhcp_leases_add(ns->leases, &dl, &changed);
	if (changed)
		ns->dyn_dirty = true;
	return rc;
}

int netsvc_lease_add(struct netsvc *ns, const struct netsvc_lease *l)
{
	pthread_mutex_lock(&ns->lock);
	int rc = add_locked(ns, l);
	pthread_mutex_unlock(&ns->lock);
	pthread_cond_broadcast(&ns->cond);
	return rc;
}

int netsvc_lease_remove(struct netsvc *ns, struct in_addr ip)
{
	bool changed = false;
	pthread_mutex_lock(&ns->lock);
	int rc = dhcp_leases_remove_ip(ns->leases, ip, 0, &changed);
	if (changed)
		ns->dyn_dirty = true;
	pthread_mutex_unlock(&ns->lock);
	pthread_cond_broadcast(&ns->cond);
	return rc;
}

struct ext_scan {
	const struct netsvc_lease *keep;
	size_t nkeep;
	struct in_addr drop[256];
	size_t ndrop;
	bool more;
};

static void ext_one(const struct dhcp_lease *l, void *arg)
{
	struct ext_scan *s = arg;
	if (l->kind != DHCP_LEASE_EXTERNAL)
		return;
	for (size_t i = 0; i < s->nkeep; i++)
		if (s->keep[i].ip.s_addr == l->ip.s_addr && !memcmp(s->keep[i].mac, l->mac, 6))
			return;
	if (s->ndrop < 256)
		s->drop[s->ndrop++] = l->ip;
	else
		s->more = true;
}

int netsvc_external_replace(struct netsvc *ns, const struct netsvc_lease *l, size_t n)
{
	int rc = 0;
	pthread_mutex_lock(&ns->lock);
	struct ext_scan s;
	do {
		memset(&s, 0, sizeof(s));
		s.keep = l;
		s.nkeep = n;
		dhcp_leases_foreach(ns->leases, ext_one, &s);
		for (size_t i = 0; i < s.ndrop; i++)
			dhcp_leases_remove_ip(ns->leases, s.drop[i], 0, NULL);
	} while (s.more);
	for (size_t i = 0; i < n; i++) {
		struct netsvc_lease e = l[i];
		e.kind = NETSVC_LEASE_EXTERNAL;
		int r = add_locked(ns, &e);
		if (r < 0 && rc == 0)
			rc = r;
	}
	pthread_mutex_unlock(&ns->lock);
	pthread_cond_broadcast(&ns->cond);
	return rc;
}

int netsvc_ack_watch(struct netsvc *ns, struct in_addr ip, struct netsvc_ack_watch *w)
{
	struct dhcp_ack_state st;
	pthread_mutex_lock(&ns->lock);
	int rc = dhcp_leases_watch(ns->leases, ip, &st);
	pthread_mutex_unlock(&ns->lock);
	w->ip = ip;
	w->acks = st.acks;
	w->cancels = st.cancels;
	return rc;
}

static int wait_locked(struct netsvc *ns, const struct netsvc_ack_watch *w, unsigned n,
		       int64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = deadline_ms / 1000,
			      .tv_nsec = (deadline_ms % 1000) * 1000000};
	for (;;) {
		struct dhcp_ack_state st;
		if (!dhcp_leases_ack_state(ns->leases, w->ip, &st))
			return -ENOENT;
		if (st.acks - w->acks >= n)
			return 0;
		if (st.cancels != w->cancels || ns->stopping)
			return -ECANCELED;
		int rc = pthread_cond_timedwait(&ns->cond, &ns->lock, &ts);
		if (rc == ETIMEDOUT) {
			if (dhcp_leases_ack_state(ns->leases, w->ip, &st) && st.acks - w->acks >= n)
				return 0;
			return -ETIMEDOUT;
		}
	}
}

int netsvc_ack_wait(struct netsvc *ns, const struct netsvc_ack_watch *w, unsigned n,
		    int64_t deadline_ms)
{
	pthread_mutex_lock(&ns->lock);
	int rc = wait_locked(ns, w, n, deadline_ms);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void netsvc_ack_unwatch(struct netsvc *ns, const struct netsvc_ack_watch *w)
{
	pthread_mutex_lock(&ns->lock);
	dhcp_leases_unwatch(ns->leases, w->ip);
	pthread_mutex_unlock(&ns->lock);
}

static struct netsvc_reg *reg_find(struct netsvc *ns, uint64_t token)
{
	for (size_t i = 0; i < ns->nregs; i++)
		if (ns->regs[i].token == token)
			return &ns->regs[i];
	return NULL;
}

int netsvc_netboot_begin(struct netsvc *ns, const struct netsvc_netboot *nb, uint64_t *token)
{
	int rc;
	if (!nb->ip.s_addr)
		return -EINVAL;
	pthread_mutex_lock(&ns->lock);
	int64_t now = evloop_wall_ms();
	struct dhcp_lease *old = dhcp_leases_by_mac(ns->leases, nb->mac, now);
	const struct dhcp_subnet *s = nb->subnet ? nb->subnet : subnet_for(ns, nb->ip);
	struct netsvc_reg *regs = realloc(ns->regs, (ns->nregs + 1) * sizeof(*regs));
	if (regs)
		ns->regs = regs;
	if (old && dhcp_lease_is_static(old)) {
		rc = -EEXIST;
		goto out;
	}
	if (!s) {
		rc = -ENOENT;
		goto out;
	}
	if (!regs) {
		rc = -ENOMEM;
		goto out;
	}
	struct dhcp_lease l = {.ip = nb->ip,
			       .kind = DHCP_LEASE_NETBOOT,
			       .expires = nb->offer_expires_ms,
			       .has_subnet = true,
			       .subnet = *s};
	memcpy(l.mac, nb->mac, 6);
	snprintf(l.hostname, sizeof(l.hostname), "%s", nb->hostname ? nb->hostname : "");
	l.token = ++ns->next_token;
	bool changed = false;
	rc = dhcp_leases_add(ns->leases, &l, &changed);
	if (changed)
		ns->dyn_dirty = true;
	if (rc < 0)
		goto out;
	if (nb->nfiles) {
		rc = nbf_set(ns->files, nb->ip, nb->mac, nb->files, nb->nfiles,
			     nb->files_expires_ms, l.token);
		if (rc < 0) {
			dhcp_leases_remove_ip(ns->leases, nb->ip, l.token, NULL);
			goto out;
		}
	}
	struct netsvc_reg *r = &ns->regs[ns->nregs];
	struct dhcp_ack_state st;
	rc = dhcp_leases_watch(ns->leases, nb->ip, &st);
	if (rc < 0) {
		dhcp_leases_remove_ip(ns->leases, nb->ip, l.token, NULL);
		nbf_remove(ns->files, nb->ip, l.token);
		goto out;
	}
	ns->nregs++;
	r->token = l.token;
	r->ip = nb->ip;
	memcpy(r->mac, nb->mac, 6);
	r->watch = (struct netsvc_ack_watch){.ip = nb->ip, .acks = st.acks, .cancels = st.cancels};
	*token = l.token;
out:
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

int netsvc_netboot_wait(struct netsvc *ns, uint64_t token, unsigned n, int64_t deadline_ms)
{
	pthread_mutex_lock(&ns->lock);
	struct netsvc_reg *r = reg_find(ns, token);
	int rc = -ENOENT;
	if (r) {
		struct netsvc_ack_watch w = r->watch; /* r may move while we sleep */
		rc = wait_locked(ns, &w, n, deadline_ms);
	}
	pthread_mutex_unlock(&ns->lock);
	return rc;
}

void netsvc_netboot_end(struct netsvc *ns, uint64_t token, bool success, int64_t files_expires_ms)
{
	pthread_mutex_lock(&ns->lock);
	struct netsvc_reg *r = reg_find(ns, token);
	if (r) {
		dhcp_leases_remove_ip(ns->leases, r->ip, token, NULL);
		if (success)
			nbf_set_expiry(ns->files, r->ip, token, files_expires_ms);
		else
			nbf_remove(ns->files, r->ip, token);
		dhcp_leases_unwatch(ns->leases, r->ip);
		*r = ns->regs[--ns->nregs];
	}
	pthread_mutex_unlock(&ns->lock);
	pthread_cond_broadcast(&ns->cond);
}

void netsvc_netboot_detach(struct netsvc *ns, uint64_t token)
{
	pthread_mutex_lock(&ns->lock);
	struct netsvc_reg *r = reg_find(ns, token);
	if (r) {
		dhcp_leases_unwatch(ns->leases, r->ip);
		*r = ns->regs[--ns->nregs];
	}
	pthread_mutex_unlock(&ns->lock);
}

int netsvc_files_set(struct netsvc *ns, struct in_addr ip, const uint8_t *mac,
		     const struct netboot_file *files, size_t n, int64_t expires_ms)
{
	pthread_mutex_lock(&ns->lock);
	int rc = nbf_set(ns->files, ip, mac, files, n, expires_ms, 0);
	pthread_mutex_unlock(&ns->lock);
	return rc;
}
