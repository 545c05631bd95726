/* DHCP server I/O: one UDP socket on :67 with IP_PKTINFO; replies leave through the
 * interface the request came in on. Requests are handled in batches so that the
 * dynamic leases acknowledged in one batch are journaled with one write before their
 * ACKs go out (and synced shortly after, see netsvc.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/netsvc_priv.h"

struct rx {
	uint8_t buf[DHCP_MAX_LEN];
	size_t len;
	struct sockaddr_in from;
	int ifindex;
};

/* One datagram with its ingress interface; 0 when none is left. */
static int receive(int fd, struct rx *rx)
{
	struct iovec iov = {.iov_base = rx->buf, .iov_len = sizeof(rx->buf)};
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = {.msg_name = &rx->from,
			    .msg_namelen = sizeof(rx->from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	rx->len = (size_t)n;
	rx->ifindex = 0;
	if (mh.msg_flags & MSG_TRUNC)
		rx->len = sizeof(rx->buf) + 1; /* oversize: fails the sanity check */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			rx->ifindex = pi.ipi_ifindex;
		}
	}
	return 1;
}

static int send_reply(struct netsvc *ns, int ifindex, const struct dhcp_result *r)
{
	struct iovec iov = {.iov_base = (void *)r->reply, .iov_len = r->len};
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = {.msg_name = (void *)&r->dest,
			    .msg_namelen = sizeof(r->dest),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	memset(&cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	/* Direct replies leave through the ingress interface (broadcasts need that);
	 * relayed ones are routed to giaddr. Our address on the subnet is the source. */
	struct in_pktinfo pi = {.ipi_ifindex = r->relayed ? 0 : ifindex,
				.ipi_spec_dst = r->server_ip};
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(ns->dhcp.io.fd, &mh, 0) < 0)
		return -errno;
	return 0;
}

static void log_result(struct netsvc *ns, const char *ifname, const struct dhcp_result *r)
{
	char ip[INET_ADDRSTRLEN] = "";
	if (r->action == DHCP_SEND) {
		inet_ntop(AF_INET, r->reply + 16, ip, sizeof(ip));
		netsvc_log(ns, NETSVC_LOG_DEBUG, "dhcpd: %s from %s on %s: %s %s%s%s",
			   dhcp_msg_type_name(r->type), r->mac, ifname,
			   dhcp_msg_type_name(r->reply_type), ip, r->why ? " " : "",
			   r->why ? r->why : "");
	} else {
		netsvc_log(ns, NETSVC_LOG_DEBUG, "dhcpd: %s from %s on %s dropped: %s",
			   r->malformed ? "packet" : dhcp_msg_type_name(r->type),
			   r->mac[0] ? r->mac : "?", ifname, r->why);
	}
}

/* Handles one received datagram under the lock; the result waits in the batch. */
static void handle_one(struct netsvc *ns, struct rx *rx, struct dhcp_result *res, char *ifname)
{
	struct dhcp_ctx ctx;

	res->action = DHCP_DROP;
	pthread_mutex_lock(&ns->lock);
	const struct dhcp_iface *f = netsvc_iface_lookup(ns, rx->ifindex);
	if (!f || !f->serving) {
		pthread_mutex_unlock(&ns->lock);
		res->why = "interface not served";
		return;
	}
	snprintf(ifname, IF_NAMESIZE, "%s", f->name);
	netsvc_fill_ctx(ns, &ctx, f);
	int rc = dhcp_handle(&ctx, rx->buf, rx->len, &rx->from, res);
	if (res->dyn_changed)
		ns->dyn_dirty = true;
	pthread_mutex_unlock(&ns->lock);
	if (rc < 0) {
		res->action = DHCP_DROP;
		res->why = "internal error";
	}
	NETSVC_STAT_ADD(ns, dhcp_rx, 1);
	if (res->malformed)
		NETSVC_STAT_ADD(ns, dhcp_malformed, 1);
	else if (ns->hooks.dhcp_packet)
		ns->hooks.dhcp_packet(ns->hooks.arg, ifname, rx->buf, rx->len);
}

/* Counters and hooks for one handled packet, after its reply (if any) went out. */
static void after_send(struct netsvc *ns, const struct dhcp_result *r, bool sent, bool *wake)
{
	if (!sent)
		NETSVC_STAT_ADD(ns, dhcp_dropped, 1);
	else if (r->reply_type == DHCP_OFFER)
		NETSVC_STAT_ADD(ns, dhcp_offers, 1);
	else if (r->reply_type == DHCP_NAK)
		NETSVC_STAT_ADD(ns, dhcp_naks, 1);
	if (r->requested && ns->hooks.dhcp_request)
		ns->hooks.dhcp_request(ns->hooks.arg, r->hwaddr, r->requested_ip);
	if (r->acked) {
		/* Waiters were already counted in; a failed send still wakes them. */
		*wake = true;
		if (sent)
			NETSVC_STAT_ADD(ns, dhcp_acks, 1);
		if (sent && ns->hooks.dhcp_ack)
			ns->hooks.dhcp_ack(ns->hooks.arg, r->ack_ip, r->ack_mac);
	}
}

static void dhcp_readable(struct ev_io *io, uint32_t events)
{
	struct netsvc *ns = io->arg;
	struct rx *rx = malloc(sizeof(*rx));
	char ifnames[DHCP_BATCH][IF_NAMESIZE];
	size_t n = 0;
	bool wake = false;

	(void)events;
	if (!rx)
		return;
	while (n < DHCP_BATCH && receive(io->fd, rx) > 0) {
		struct dhcp_result *res = &ns->dhcp.res[n];
		ifnames[n][0] = 0;
		handle_one(ns, rx, res, ifnames[n]);
		ns->dhcp.ifindex[n] = rx->ifindex;
		n++;
	}
	free(rx);
	netsvc_journal_batch(ns, ns->dhcp.res, n);
	for (size_t i = 0; i < n; i++) {
		struct dhcp_result *r = &ns->dhcp.res[i];
		bool sent = false;
		if (!ifnames[i][0])
			continue; /* not a served interface: silently ignored */
		log_result(ns, ifnames[i], r);
		if (r->action == DHCP_SEND) {
			int rc = send_reply(ns, ns->dhcp.ifindex[i], r);
			if (rc < 0)
				netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: send %s to %s on %s: %s",
					   dhcp_msg_type_name(r->reply_type), r->mac, ifnames[i],
					   strerror(-rc));
			sent = rc == 0;
		}
		after_send(ns, r, sent, &wake);
	}
	if (wake)
		pthread_cond_broadcast(&ns->cond);
}

static int dhcp_server_open(struct netsvc *ns)
{
	uint16_t port = ns->cfg.dhcp_port ? ns->cfg.dhcp_port : 67;
	int fd;

	ns->dhcp.res = calloc(DHCP_BATCH, sizeof(*ns->dhcp.res));
	if (!ns->dhcp.res)
		return -ENOMEM;
	/* Room for bursts while the loop is busy (a snapshot rewrite, many clients). */
	fd = netsvc_udp_listen(port, 4 << 20, true);
	if (fd < 0) {
		netsvc_log(ns, NETSVC_LOG_ERROR, "dhcpd: listen on UDP %u: %s", port,
			   strerror(-fd));
		return fd;
	}
	return netsvc_watch(ns, &ns->dhcp.io, fd, dhcp_readable);
}

static void dhcp_server_close(struct netsvc *ns)
{
	if (ns->dhcp.io.fd >= 0) {
		evloop_del(ns->loop, &ns->dhcp.io);
		close(ns->dhcp.io.fd);
		ns->dhcp.io.fd = -1;
	}
	free(ns->dhcp.res);
	ns->dhcp.res = NULL;
}

static bool dhcp_wanted(const struct netsvc_config *cfg)
{
	return !cfg->no_dhcp;
}

const struct netsvc_server netsvc_dhcp_server = {
    .name = "dhcp",
    .wanted = dhcp_wanted,
    .open = dhcp_server_open,
    .close = dhcp_server_close,
};
