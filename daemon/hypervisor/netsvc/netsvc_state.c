/* The network services' shared state as the servers use it: the log, the dynamic-lease
 * persistence (snapshot and journal), the DHCP decision context, boot-file resolution
 * for TFTP and HTTP, and the socket helpers. The servers include netsvc_priv.h and
 * call only this unit and netsvc_ifaces.c; netsvc.c (the container) starts and stops
 * them through netsvc_servers[] (netsvc_servers.c). */
#include "daemon/hypervisor/netsvc/netsvc_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"
#include "log.h"

/* A power loss may cost the ACKs of the last JOURNAL_SYNC_MS; a crash of the daemon
 * costs nothing (the journal is written before the ACKs leave). One fdatasync per
 * ACK would cap the server at a few thousand leases per second on a real disk. */
#define JOURNAL_SYNC_MS 250

void netsvc_log(struct netsvc *ns, enum netsvc_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	(void)ns;
	if (level == NETSVC_LOG_DEBUG && !log_debug_enabled(1))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level == NETSVC_LOG_DEBUG)
		log_debug(1, "%s", line);
	else
		log_msg(level == NETSVC_LOG_ERROR ? LOG_LVL_ERROR : LOG_LVL_INFO, "%s", line);
}

/* How netsvc_log_flush names each kind: "<prefix>: N <lines> suppressed". */
static const char *const peer_log_what[NETSVC_PEER_LOG_KINDS][2] = {
    [NETSVC_PEER_LOG_TFTP_REFUSED] = {"tftpd", "refusal lines"},
    [NETSVC_PEER_LOG_TFTP_FAILED] = {"tftpd", "failed-transfer lines"},
    [NETSVC_PEER_LOG_TFTP_DONE] = {"tftpd", "transfer lines"},
    [NETSVC_PEER_LOG_FILES] = {"netboot files", "refusal lines"},
};

void netsvc_log_peer(struct netsvc *ns, enum netsvc_peer_log kind, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	bool ok;

	pthread_mutex_lock(&ns->log_lock);
	ok = ratelimit_allow(&ns->peer_log[kind], evloop_now_ms());
	pthread_mutex_unlock(&ns->log_lock);
	if (!ok)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(LOG_LVL_INFO, "%s", line);
}

void netsvc_log_flush(struct netsvc *ns)
{
	uint64_t n[NETSVC_PEER_LOG_KINDS];

	pthread_mutex_lock(&ns->log_lock);
	for (int k = 0; k < NETSVC_PEER_LOG_KINDS; k++)
		n[k] = ratelimit_take_suppressed(&ns->peer_log[k]);
	pthread_mutex_unlock(&ns->log_lock);
	for (int k = 0; k < NETSVC_PEER_LOG_KINDS; k++)
		if (n[k] > 0)
			netsvc_log(ns, NETSVC_LOG_INFO,
				   "%s: %llu %s suppressed (more than %u at once or %u a second)",
				   peer_log_what[k][0], (unsigned long long)n[k],
				   peer_log_what[k][1], ns->peer_log[k].burst,
				   ns->peer_log[k].rate);
}

struct snap {
	struct dhcp_store_entry *e;
	size_t n, cap;
	bool oom;
};

static void snap_one(const struct dhcp_lease *l, void *arg)
{
	struct snap *s = arg;
	if (l->kind != DHCP_LEASE_DYNAMIC || !l->acked || s->oom)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct dhcp_store_entry *e = realloc(s->e, cap * sizeof(*e));
		if (!e) {
			s->oom = true;
			return;
		}
		s->e = e;
		s->cap = cap;
	}
	struct dhcp_store_entry *d = &s->e[s->n++];
	memcpy(d->mac, l->mac, 6);
	d->ip = l->ip;
	snprintf(d->hostname, sizeof(d->hostname), "%s", l->hostname);
	d->expires = l->expires;
}

void netsvc_persist(struct netsvc *ns)
{
	struct snap s = {0};
	if (!ns->leases_path)
		return;
	pthread_mutex_lock(&ns->lock);
	dhcp_leases_foreach(ns->leases, snap_one, &s);
	ns->dyn_dirty = false;
	pthread_mutex_unlock(&ns->lock);
	int rc = s.oom ? -ENOMEM : dhcp_store_save(ns->leases_path, s.e, s.n);
	if (rc == 0 && ns->journal)
		rc = dhcp_journal_truncate(ns->journal);
	if (rc < 0) {
		NETSVC_STAT_ADD(ns, dhcp_persist_errors, 1);
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: write %s: %s", ns->leases_path,
			   strerror(-rc));
		pthread_mutex_lock(&ns->lock);
		ns->dyn_dirty = true;
		pthread_mutex_unlock(&ns->lock);
	}
	free(s.e);
}

void netsvc_journal_batch(struct netsvc *ns, const struct dhcp_result *res, size_t n)
{
	bool any = false;
	if (!ns->journal)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct dhcp_result *r = &res[i];
		if (r->action != DHCP_SEND || !r->journal)
			continue;
		struct dhcp_store_entry e = {.ip = r->j_ip, .expires = r->j_expires};
		memcpy(e.mac, r->hwaddr, 6);
		snprintf(e.hostname, sizeof(e.hostname), "%s", r->j_host);
		any |= dhcp_journal_add(ns->journal, &e, false) == 0;
	}
	if (!any)
		return;
	int rc = dhcp_journal_commit(ns->journal, false);
	if (rc == 0 && !ev_timer_armed(&ns->jsync))
		evloop_timer_set(ns->loop, &ns->jsync, evloop_now_ms() + JOURNAL_SYNC_MS);
	if (rc < 0) {
		/* The ACKs still go out; the next snapshot retries. */
		NETSVC_STAT_ADD(ns, dhcp_persist_errors, 1);
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: journal %s: %s", ns->journal_path,
			   strerror(-rc));
		pthread_mutex_lock(&ns->lock);
		ns->dyn_dirty = true;
		pthread_mutex_unlock(&ns->lock);
	}
}

void netsvc_fill_ctx(struct netsvc *ns, struct dhcp_ctx *ctx, const struct dhcp_iface *ingress)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ifaces = ns->ifaces;
	ctx->nifaces = ns->nifaces;
	ctx->ingress = ingress;
	ctx->subnets = ns->subnets;
	ctx->nsubnets = ns->nsubnets;
	ctx->leases = ns->leases;
	ctx->files = ns->files;
	ctx->boot_template = ns->cfg.boot_template;
	ctx->boot_map = ns->boot_map;
	ctx->nboot_map = ns->cfg.nboot_map;
	ctx->http_port = ns->cfg.http_port;
	ctx->http_path = ns->cfg.http_path;
	ctx->ipxe_script = "boot.ipxe";
	dhcp_times_default(&ctx->times);
	ctx->now = evloop_wall_ms();
}

int netsvc_resolve(struct netsvc *ns, struct in_addr client, const char *name,
		   struct nbf_blob **blob, int *fd)
{
	uint8_t mac[6];
	bool have_mac = false;
	int64_t now = evloop_wall_ms();
	char ip[INET_ADDRSTRLEN];

	*blob = NULL;
	*fd = -1;
	pthread_mutex_lock(&ns->lock);
	bool has = nbf_has(ns->files, client, now);
	pthread_mutex_unlock(&ns->lock);
	if (has)
		have_mac = netsvc_neigh_mac(client, mac);
	pthread_mutex_lock(&ns->lock);
	enum nbf_lookup_result r =
	    nbf_lookup(ns->files, client, name, now, have_mac ? mac : NULL, blob);
	int rc = 0;
	if (r == NBF_NOT_ACKED || r == NBF_WRONG_MAC) {
		rc = -EACCES;
	} else if (r != NBF_FOUND) {
		rc = ns->rootfd < 0 ? -ENOENT : tftp_path_open(ns->rootfd, name);
		if (rc >= 0) {
			*fd = rc;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&ns->lock);
	if (r == NBF_NOT_ACKED || r == NBF_WRONG_MAC) {
		inet_ntop(AF_INET, &client, ip, sizeof(ip));
		netsvc_log_peer(ns, NETSVC_PEER_LOG_FILES, "netboot files of %s: %s refused: %s",
				ip, name,
				r == NBF_NOT_ACKED ? "no DHCP ACK to its MAC yet" : "MAC differs");
	}
	return rc;
}

int netsvc_udp_listen(uint16_t port, int rcvbuf, bool broadcast)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int netsvc_watch(struct netsvc *ns, struct ev_io *io, int fd,
		 void (*cb)(struct ev_io *io, uint32_t events))
{
	int rc;

	io->fd = fd;
	io->cb = cb;
	io->arg = ns;
	rc = evloop_add(ns->loop, io, EPOLLIN);
	if (rc < 0) {
		close(fd);
		io->fd = -1;
	}
	return rc;
}
