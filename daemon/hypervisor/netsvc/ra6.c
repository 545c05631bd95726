/* Answers IPv6 router solicitations from netbooting clients with a router
 * advertisement that announces nothing (router lifetime 0, no prefixes, M=O=0).
 * iPXE configures IPv4 and IPv6 in parallel and waits for an RA before it boots:
 * ~13 s on a link without IPv6 routers; this answer ends that wait at once
 * (iPXE ndp.c: ipv6conf finishes on the first RA without M/O flags). Only MACs that
 * hold a netboot lease get an answer, so VMs and other hosts see nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/netsvc_priv.h"

static bool netboot_mac(struct netsvc *ns, const uint8_t mac[6])
{
	pthread_mutex_lock(&ns->lock);
	struct dhcp_lease *l = dhcp_leases_by_mac(ns->leases, mac, evloop_wall_ms());
	bool yes = l && l->kind == DHCP_LEASE_NETBOOT;
	pthread_mutex_unlock(&ns->lock);
	return yes;
}

/* Source link-layer address option of a solicitation; false when absent. */
static bool rs_source_mac(const uint8_t *p, size_t len, uint8_t mac[6])
{
	size_t off = sizeof(struct nd_router_solicit);
	while (off + 2 <= len) {
		size_t olen = (size_t)p[off + 1] * 8;
		if (olen == 0 || off + olen > len)
			return false;
		if (p[off] == ND_OPT_SOURCE_LINKADDR && olen >= 8) {
			memcpy(mac, p + off + 2, 6);
			return true;
		}
		off += olen;
	}
	return false;
}

static void send_ra(struct netsvc *ns, const struct sockaddr_in6 *to, int ifindex)
{
	struct nd_router_advert ra;
	memset(&ra, 0, sizeof(ra));
	ra.nd_ra_type = ND_ROUTER_ADVERT;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = &ra, .iov_len = sizeof(ra)};
	struct msghdr mh = {.msg_name = (void *)to,
			    .msg_namelen = sizeof(*to),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	memset(&cbuf, 0, sizeof(cbuf));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
	struct in6_pktinfo pi = {.ipi6_ifindex = (unsigned)ifindex};
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(ns->ra.io.fd, &mh, 0) < 0) {
		netsvc_log(ns, NETSVC_LOG_DEBUG, "ra6: send: %s", strerror(errno));
		return;
	}
	NETSVC_STAT_ADD(ns, ra_sent, 1);
}

static void ra_readable(struct ev_io *io, uint32_t events)
{
	struct netsvc *ns = io->arg;
	uint8_t pkt[1500];
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in6 from;
		struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.buf,
				    .msg_controllen = sizeof(cbuf.buf)};
		ssize_t n = recvmsg(io->fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		int ifindex = 0, hops = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != IPPROTO_IPV6)
				continue;
			if (c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				ifindex = (int)pi.ipi6_ifindex;
			} else if (c->cmsg_type == IPV6_HOPLIMIT) {
				memcpy(&hops, CMSG_DATA(c), sizeof(hops));
			}
		}
		uint8_t mac[6];
		/* RFC 4861 6.1.1: hop limit 255, code 0, at least 8 bytes. */
		if ((size_t)n < sizeof(struct nd_router_solicit) || pkt[0] != ND_ROUTER_SOLICIT ||
		    pkt[1] != 0 || hops != 255 || !ifindex)
			continue;
		if (!rs_source_mac(pkt, (size_t)n, mac) || !netboot_mac(ns, mac))
			continue;
		struct sockaddr_in6 to = {.sin6_family = AF_INET6,
					  .sin6_scope_id = (uint32_t)ifindex};
		if (IN6_IS_ADDR_UNSPECIFIED(&from.sin6_addr))
			inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
		else
			to.sin6_addr = from.sin6_addr;
		send_ra(ns, &to, ifindex);
	}
}

static void ra6_refresh(struct netsvc *ns)
{
	int idx[64];
	size_t n = 0;
	if (ns->ra.io.fd < 0)
		return;
	pthread_mutex_lock(&ns->lock);
	for (size_t i = 0; i < ns->nifaces && n < 64; i++)
		if (ns->ifaces[i].serving && ns->ifaces[i].ifindex > 0)
			idx[n++] = ns->ifaces[i].ifindex;
	pthread_mutex_unlock(&ns->lock);
	for (size_t i = 0; i < n; i++) {
		bool have = false;
		for (size_t j = 0; j < ns->ra.njoined; j++)
			have |= ns->ra.joined[j] == idx[i];
		if (have || ns->ra.njoined >= 64)
			continue;
		struct ipv6_mreq mr = {.ipv6mr_interface = (unsigned)idx[i]};
		inet_pton(AF_INET6, "ff02::2", &mr.ipv6mr_multiaddr);
		if (setsockopt(ns->ra.io.fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) == 0)
			ns->ra.joined[ns->ra.njoined++] = idx[i];
	}
}

static int ra6_failed(struct netsvc *ns, int rc)
{
	netsvc_log(ns, NETSVC_LOG_ERROR, "ra6: raw ICMPv6 socket: %s (no RA answers)",
		   strerror(-rc));
	return rc;
}

static int ra6_open(struct netsvc *ns)
{
	int one = 1, hops = 255;
	struct icmp6_filter filt;
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0)
		return ra6_failed(ns, -errno);
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filt);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0) {
		int e = -errno;
		close(fd);
		return ra6_failed(ns, e);
	}
	int rc = netsvc_watch(ns, &ns->ra.io, fd, ra_readable);
	if (rc < 0)
		return ra6_failed(ns, rc);
	ra6_refresh(ns);
	return 0;
}

static void ra6_close(struct netsvc *ns)
{
	if (ns->ra.io.fd >= 0) {
		evloop_del(ns->loop, &ns->ra.io);
		close(ns->ra.io.fd);
		ns->ra.io.fd = -1;
	}
	ns->ra.njoined = 0;
}

static bool ra6_wanted(const struct netsvc_config *cfg)
{
	return cfg->send_ra;
}

const struct netsvc_server netsvc_ra6_server = {
    .name = "ra6",
    .wanted = ra6_wanted,
    .open = ra6_open,
    .close = ra6_close,
    .refresh = ra6_refresh,
    .optional = true,
};
