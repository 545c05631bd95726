/* The metadata namespace of one bridge, built with rtnetlink (libmnl). The namespace is
 * made by a short-lived thread that unshares its network namespace and creates every
 * socket needed inside it; the namespace then lives on through those descriptors, so no
 * daemon thread ever runs in it and nothing is mounted. */
#include "daemon/hypervisor/metadata/metadata_netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MD_ADDR "169.254.169.254"
#define MD_NS_IF "eth0"
#define MD_SALTS 16
#define NL_REQ_BUF 4096	  /* our requests are small */
#define NL_RECV_BUF 32768 /* the largest dump skb the kernel builds */

static uint32_t md_fnv1a(const char *s, uint32_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void metadata_veth_name(const char *bridge, unsigned int salt, char out[IFNAMSIZ])
{
	uint32_t h = md_fnv1a(bridge, 2166136261u);

	h ^= salt;
	h *= 16777619u;
	snprintf(out, IFNAMSIZ, "mdv%08x", h);
}

void metadata_ns_mac(const char *bridge, uint8_t mac[6])
{
	uint32_t h = md_fnv1a(bridge, md_fnv1a("mac", 2166136261u));

	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0xa9;
	mac[2] = 0xfe;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

void metadata_host_mac(const char *bridge, uint8_t mac[6])
{
	uint32_t h = md_fnv1a(bridge, md_fnv1a("host-mac", 2166136261u));

	mac[0] = 0xfe; /* locally administered, unicast, above any NIC's */
	mac[1] = 0xa9;
	mac[2] = 0xfe;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

int metadata_mask_prefix(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int n = 0;

	while (n < 32 && (m & (0x80000000u >> n)))
		n++;
	if (n < 32 && (m << n) != 0)
		return -EINVAL;
	return n;
}

/* ---- rtnetlink plumbing ---- */

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

/* Sends one request (ACKed or dump) and runs cb over the replies. */
static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static unsigned int seq_base;
	char buf[NL_RECV_BUF];
	unsigned int portid = mnl_socket_get_portid(nl);
	int rc;

	nlh->nlmsg_seq = __atomic_add_fetch(&seq_base, 1, __ATOMIC_RELAXED) ^ (unsigned)time(NULL);
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *nl_link_msg(char *buf, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

struct nl_link {
	int index;
	unsigned int mtu;
	char kind[16];
	char alias[64];
};

static int nl_link_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	const struct nlattr *in;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_LINKINFO:
		mnl_attr_for_each_nested(in, a)
		{
			if (mnl_attr_get_type(in) == IFLA_INFO_KIND &&
			    mnl_attr_validate(in, MNL_TYPE_STRING) == 0)
				snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(in));
		}
		break;
	}
	return MNL_CB_OK;
}

static int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_link *l = data;

	l->index = ifi->ifi_index;
	return mnl_attr_parse(nlh, sizeof(*ifi), nl_link_attr, l);
}

/* -ENODEV when there is no such link. */
static int nl_get_link(struct mnl_socket *nl, const char *name, struct nl_link *out)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_GETLINK, 0, 0);

	memset(out, 0, sizeof(*out));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, nl_link_cb, out);
}

static int nl_del_link(struct mnl_socket *nl, const char *name)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_DELLINK, 0, 0);

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, NULL, NULL);
}

/* Brings a link up; master > 0 also makes it a port of that bridge. */
static int nl_set_link(struct mnl_socket *nl, int index, int master, const char *alias)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, 0, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (master > 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int nl_add_veth(struct mnl_socket *nl, const char *name, const uint8_t host_mac[6],
		       unsigned int mtu, int nsfd, const uint8_t mac[6])
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *info, *data, *peer;
	void *pifi;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, host_mac);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow its own ifinfomsg header. */
	pifi = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifi, 0, sizeof(struct ifinfomsg));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, MD_NS_IF);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int nl_add_addr(struct mnl_socket *nl, int index, struct in_addr addr)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr.s_addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr.s_addr);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int nl_route(struct mnl_socket *nl, uint16_t type, uint16_t flags, int oif,
		    const struct metadata_route *r)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = r->prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, r->base.s_addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	return nl_talk(nl, nlh, NULL, NULL);
}

struct nl_routes {
	int oif;
	struct metadata_route *v;
	size_t n, cap;
	int err;
};

static int nl_route_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if ((type == RTA_DST || type == RTA_OIF || type == RTA_TABLE) &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int nl_route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_routes *rs = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	uint32_t table;

	if (mnl_attr_parse(nlh, sizeof(*rtm), nl_route_attr, tb) < 0)
		return MNL_CB_ERROR;
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (rtm->rtm_family != AF_INET || table != RT_TABLE_MAIN ||
	    rtm->rtm_protocol != RTPROT_STATIC || !tb[RTA_OIF] ||
	    (int)mnl_attr_get_u32(tb[RTA_OIF]) != rs->oif)
		return MNL_CB_OK;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct metadata_route *v = reallocarray(rs->v, cap, sizeof(*v));
		if (!v) {
			rs->err = -ENOMEM;
			return MNL_CB_OK;
		}
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n].base.s_addr = tb[RTA_DST] ? mnl_attr_get_u32(tb[RTA_DST]) : 0;
	rs->v[rs->n].prefix = rtm->rtm_dst_len;
	rs->n++;
	return MNL_CB_OK;
}

static bool md_route_in(const struct metadata_route *r, const struct metadata_route *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].prefix == r->prefix && v[i].base.s_addr == r->base.s_addr)
			return true;
	return false;
}

int metadata_ns_set_routes(struct metadata_ns *ns, const struct metadata_route *routes, size_t n)
{
	char buf[NL_REQ_BUF] = {0}; /* no uninitialised padding on the wire */
	struct nl_routes cur = {.oif = ns->eth0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	int rc, first = 0;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rc = nl_talk(ns->nl, nlh, nl_route_cb, &cur);
	if (rc == 0)
		rc = cur.err;
	if (rc) {
		free(cur.v);
		return rc;
	}
	for (size_t i = 0; i < cur.n; i++) {
		if (md_route_in(&cur.v[i], routes, n))
			continue;
		rc = nl_route(ns->nl, RTM_DELROUTE, 0, ns->eth0, &cur.v[i]);
		if (rc && rc != -ESRCH && !first)
			first = rc;
	}
	for (size_t i = 0; i < n; i++) {
		if (md_route_in(&routes[i], cur.v, cur.n) || md_route_in(&routes[i], routes, i))
			continue;
		rc = nl_route(ns->nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ns->eth0,
			      &routes[i]);
		if (rc && !first)
			first = rc;
	}
	free(cur.v);
	return first;
}

/* ---- the namespace itself ---- */

struct ns_setup {
	uint16_t rpc_port;
	int nsfd, http_fd, rpc_fd;
	struct mnl_socket *nl;
	int err;
};

static int ns_listen(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, fd;

	inet_pton(AF_INET, MD_ADDR, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The address is added to eth0 only once the veth exists: bind before that. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/* The namespace has only the veth to VMs: no IPv6 chatter on it. Best effort. */
static void ns_no_ipv6(void)
{
	static const char *const files[] = {"/proc/sys/net/ipv6/conf/all/disable_ipv6",
					    "/proc/sys/net/ipv6/conf/default/disable_ipv6"};
	for (size_t i = 0; i < 2; i++) {
		int fd = open(files[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0) {
			/* nothing to do: IPv6 stays on */
		}
		close(fd);
	}
}

static void *ns_thread(void *arg)
{
	struct ns_setup *s = arg;

	if (unshare(CLONE_NEWNET) < 0) {
		s->err = -errno;
		return NULL;
	}
	s->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->nsfd < 0) {
		s->err = -errno;
		return NULL;
	}
	ns_no_ipv6();
	s->nl = nl_open();
	if (!s->nl) {
		s->err = -errno;
		return NULL;
	}
	s->http_fd = ns_listen(80);
	if (s->http_fd < 0) {
		s->err = s->http_fd;
		return NULL;
	}
	if (s->rpc_port) {
		s->rpc_fd = ns_listen(s->rpc_port);
		if (s->rpc_fd < 0)
			s->err = s->rpc_fd;
	}
	return NULL;
}

static int ns_setup_run(struct ns_setup *s)
{
	pthread_t t;
	int rc;

	s->nsfd = s->http_fd = s->rpc_fd = -1;
	rc = pthread_create(&t, NULL, ns_thread, s);
	if (rc)
		return -rc;
	pthread_join(t, NULL);
	return s->err;
}

/* Picks the veth name: the first salt whose name is free or names a stale veth of ours
 * for this bridge (then deleted). A foreign interface is never touched. */
static int ns_pick_veth(struct mnl_socket *host, const char *bridge, char name[IFNAMSIZ])
{
	char alias[64];
	struct nl_link l;

	snprintf(alias, sizeof(alias), METADATA_VETH_ALIAS "%s", bridge);
	for (unsigned int salt = 0; salt < MD_SALTS; salt++) {
		int rc;

		metadata_veth_name(bridge, salt, name);
		rc = nl_get_link(host, name, &l);
		if (rc == -ENODEV)
			return 0;
		if (rc)
			return rc;
		if (strcmp(l.kind, "veth") == 0 && strcmp(l.alias, alias) == 0) {
			rc = nl_del_link(host, name);
			return rc == -ENODEV ? 0 : rc;
		}
	}
	return -EEXIST;
}

static int ns_inside(struct metadata_ns *ns)
{
	struct nl_link l;
	struct in_addr addr;
	int rc;

	rc = nl_get_link(ns->nl, "lo", &l);
	if (rc == 0)
		rc = nl_set_link(ns->nl, l.index, 0, NULL);
	if (rc == 0)
		rc = nl_get_link(ns->nl, MD_NS_IF, &l);
	if (rc)
		return rc;
	ns->eth0 = l.index;
	inet_pton(AF_INET, MD_ADDR, &addr);
	rc = nl_add_addr(ns->nl, ns->eth0, addr);
	return rc ? rc : nl_set_link(ns->nl, ns->eth0, 0, NULL);
}

int metadata_ns_create(const char *bridge, uint16_t rpc_port, struct metadata_ns *out)
{
	struct ns_setup s = {.rpc_port = rpc_port};
	struct mnl_socket *host;
	struct nl_link br, veth;
	uint8_t host_mac[6];
	char alias[64];
	int rc;

	memset(out, 0, sizeof(*out));
	out->nsfd = out->http_fd = out->rpc_fd = -1;
	if (strlen(bridge) >= IFNAMSIZ)
		return -EINVAL;
	host = nl_open();
	if (!host)
		return -errno;
	rc = nl_get_link(host, bridge, &br);
	if (rc)
		goto out_host;
	if (strcmp(br.kind, "bridge") != 0) {
		rc = -ENOTSUP;
		goto out_host;
	}
	rc = ns_pick_veth(host, bridge, out->veth);
	if (rc)
		goto out_host;
	snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
	metadata_ns_mac(bridge, out->mac);
	rc = ns_setup_run(&s);
	out->nsfd = s.nsfd;
	out->nl = s.nl;
	out->http_fd = s.http_fd;
	out->rpc_fd = s.rpc_fd;
	out->live = 1;
	if (rc)
		goto out_destroy;
	metadata_host_mac(bridge, host_mac);
	rc = nl_add_veth(host, out->veth, host_mac, br.mtu, out->nsfd, out->mac);
	if (rc) {
		out->veth[0] = '\0'; /* not ours to delete */
		goto out_destroy;
	}
	snprintf(alias, sizeof(alias), METADATA_VETH_ALIAS "%s", bridge);
	rc = nl_get_link(host, out->veth, &veth);
	if (rc == 0)
		rc = nl_set_link(host, veth.index, br.index, alias);
	if (rc == 0)
		rc = ns_inside(out);
	if (rc)
		goto out_destroy;
	mnl_socket_close(host);
	return 0;
out_destroy:
	metadata_ns_destroy(out);
out_host:
	mnl_socket_close(host);
	return rc;
}

void metadata_ns_destroy(struct metadata_ns *ns)
{
	if (!ns || !ns->live)
		return;
	if (ns->veth[0]) {
		struct mnl_socket *host = nl_open();
		if (host) {
			nl_del_link(host, ns->veth);
			mnl_socket_close(host);
		}
	}
	if (ns->http_fd >= 0)
		close(ns->http_fd);
	if (ns->rpc_fd >= 0)
		close(ns->rpc_fd);
	if (ns->nl)
		mnl_socket_close(ns->nl);
	if (ns->nsfd >= 0)
		close(ns->nsfd);
	memset(ns, 0, sizeof(*ns));
	ns->nsfd = ns->http_fd = ns->rpc_fd = -1;
}
