/* Host interfaces as the network services see them: addresses (getifaddrs),
 * connected routes (/proc/net/route), which ones to serve, MTU and neighbours. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/netsvc_priv.h"

/* Does dir/name/leaf exist (leaf may be NULL)? */
static bool path_exists(const char *dir, const char *name, const char *leaf)
{
	char p[256];
	struct stat st;
	if (snprintf(p, sizeof(p), "%s/%s%s%s", dir, name, leaf ? "/" : "", leaf ? leaf : "") >=
	    (int)sizeof(p))
		return false;
	return stat(p, &st) == 0;
}

static bool want_iface(const struct netsvc *ns, const char *name, unsigned flags)
{
	if (ns->ifnames) {
		for (char **n = ns->ifnames; *n; n++)
			if (!strcmp(*n, name))
				return true;
		return false;
	}
	if (!(flags & IFF_UP) || !(flags & IFF_BROADCAST) || (flags & IFF_LOOPBACK))
		return false;
	bool bridge = path_exists("/sys/class/net", name, "bridge");
	if (ns->cfg.bridges_only)
		return bridge;
	return bridge || path_exists("/sys/class/net", name, "device") ||
	       path_exists("/proc/net/vlan", name, NULL);
}

static struct dhcp_iface *find_or_add(struct dhcp_iface **v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name))
			return &(*v)[i];
	struct dhcp_iface *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	struct dhcp_iface *f = &nv[(*n)++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->ifindex = (int)if_nametoindex(name);
	return f;
}

/* Directly connected routes (no gateway, up) from the kernel's main table. */
static void read_routes(struct dhcp_iface *v, size_t n)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[512];
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char ifname[IF_NAMESIZE + 1];
		unsigned dest, gw, flags, mask;
		if (sscanf(line, "%16s %x %x %x %*d %*d %*d %x", ifname, &dest, &gw, &flags,
			   &mask) != 5)
			continue;
		if (gw != 0 || !(flags & RTF_UP) || (flags & RTF_GATEWAY))
			continue;
		for (size_t i = 0; i < n; i++) {
			struct dhcp_iface *d = &v[i];
			if (strcmp(d->name, ifname) || d->nroutes >= DHCP_IFACE_MAX_ADDRS)
				continue;
			d->route[d->nroutes].s_addr = dest;
			d->route_mask[d->nroutes].s_addr = mask;
			d->nroutes++;
		}
	}
	fclose(f);
}

int netsvc_ifaces_scan(struct netsvc *ns)
{
	struct ifaddrs *ifa, *p;
	struct dhcp_iface *v = NULL;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_name)
			continue;
		struct dhcp_iface *f = find_or_add(&v, &n, p->ifa_name);
		if (!f)
			break;
		f->serving = want_iface(ns, p->ifa_name, p->ifa_flags);
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET || !p->ifa_netmask)
			continue;
		if (!(p->ifa_flags & IFF_UP) || (p->ifa_flags & IFF_LOOPBACK))
			continue;
		if (f->naddrs >= DHCP_IFACE_MAX_ADDRS)
			continue;
		f->addr[f->naddrs] = ((struct sockaddr_in *)(void *)p->ifa_addr)->sin_addr;
		f->addr_mask[f->naddrs] = ((struct sockaddr_in *)(void *)p->ifa_netmask)->sin_addr;
		f->naddrs++;
	}
	freeifaddrs(ifa);
	read_routes(v, n);
	free(ns->ifaces);
	ns->ifaces = v;
	ns->nifaces = n;
	ns->ifaces_scanned = evloop_now_ms();
	return 0;
}

const struct dhcp_iface *netsvc_iface_by_index(struct netsvc *ns, int ifindex)
{
	for (size_t i = 0; i < ns->nifaces; i++)
		if (ns->ifaces[i].ifindex == ifindex)
			return &ns->ifaces[i];
	return NULL;
}

const struct dhcp_iface *netsvc_iface_lookup(struct netsvc *ns, int ifindex)
{
	const struct dhcp_iface *f = netsvc_iface_by_index(ns, ifindex);
	if (!f && evloop_now_ms() - ns->ifaces_scanned >= 1000) {
		netsvc_ifaces_scan(ns);
		f = netsvc_iface_by_index(ns, ifindex);
	}
	return f;
}

bool netsvc_neigh_mac(struct in_addr ip, uint8_t mac[6])
{
	FILE *f = fopen("/proc/net/arp", "re");
	char line[256], want[INET_ADDRSTRLEN];
	bool found = false;
	if (!f)
		return false;
	inet_ntop(AF_INET, &ip, want, sizeof(want));
	while (!found && fgets(line, sizeof(line), f)) {
		char ipstr[64], hw[64];
		unsigned flags, m[6];
		if (sscanf(line, "%63s %*x %x %63s", ipstr, &flags, hw) != 3)
			continue;
		if (strcmp(ipstr, want) || !(flags & 0x2)) /* ATF_COM: complete entry */
			continue;
		if (sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			continue;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		found = true;
	}
	fclose(f);
	return found;
}

unsigned netsvc_iface_mtu(int ifindex)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	int rc = ioctl(s, SIOCGIFMTU, &ifr);
	close(s);
	return rc < 0 ? 0 : (unsigned)ifr.ifr_mtu;
}
