/* net: the installer's static network from config.json (net.h). */
#include "installer/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

static bool in_subnet(struct in_addr ip, const struct hvapi_subnet *s)
{
	uint32_t m = s->ip_mask.s_addr;

	return m != 0 && (ip.s_addr & m) == (s->ip_gateway.s_addr & m);
}

static const struct net_nic *nic_by_mac(const struct net_nic *nics, size_t n, const uint8_t *mac)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(nics[i].mac, mac, 6) == 0)
			return &nics[i];
	return NULL;
}

/* Does entry e fit a local NIC and a subnet? Fills out if so. */
static bool entry_fits(const struct fmapi_get_machine_info_response *info,
		       const struct fmapi_network_entry *e, const struct net_nic *nics, size_t n,
		       struct net_choice *out)
{
	const struct net_nic *nic;

	if (e->host_ip.s_addr == 0)
		return false;
	nic = nic_by_mac(nics, n, e->host_mac);
	if (nic == NULL)
		return false;
	for (size_t i = 0; i < info->subnets.n; i++) {
		const struct hvapi_subnet *s = &info->subnets.v[i];

		if (!in_subnet(e->host_ip, s))
			continue;
		snprintf(out->nic, sizeof(out->nic), "%s", nic->name);
		out->ip = e->host_ip;
		out->mask = s->ip_mask;
		out->gateway = s->ip_gateway;
		out->subnet = s;
		return true;
	}
	return false;
}

int inst_net_choose(const struct fmapi_get_machine_info_response *info, const struct net_nic *nics,
		    size_t n, struct net_choice *out)
{
	const struct fmapi_machine *m = &info->machine;

	if (entry_fits(info, &m->net, nics, n, out))
		return 0;
	for (size_t i = 0; i < m->secondary.n; i++)
		if (entry_fits(info, &m->secondary.v[i], nics, n, out))
			return 0;
	return -ENOENT;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int inst_net_list_nics(const char *sysfs, struct net_nic *nics, size_t max)
{
	char dir[4096], path[4096 + 512], buf[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/net", sysfs);
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL && n < max) {
		char *text = NULL;
		size_t len = 0;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(nics[0].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/type", dir, de->d_name);
		if (fsutil_read_file(path, 4096, &text, &len) < 0)
			continue;
		snprintf(buf, sizeof(buf), "%.*s", (int)len, text);
		free(text);
		if (atoi(buf) != 1) /* ARPHRD_ETHER: loopback and tunnels are not NICs */
			continue;
		snprintf(path, sizeof(path), "%s/%s/address", dir, de->d_name);
		if (fsutil_read_file(path, 4096, &text, &len) < 0)
			continue;
		snprintf(buf, sizeof(buf), "%.*s", (int)len, text);
		free(text);
		snprintf(nics[n].name, sizeof(nics[n].name), "%s", de->d_name);
		if (parse_mac(buf, nics[n].mac) == 0)
			n++;
	}
	closedir(d);
	return (int)n;
}

static int if_up(int sk, const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sk, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int if_addr(int sk, const char *name, unsigned long req, struct in_addr a)
{
	struct ifreq ifr = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	sin->sin_addr = a;
	return ioctl(sk, req, &ifr) < 0 ? -errno : 0;
}

static int default_route(int sk, const char *nic, struct in_addr gw)
{
	struct rtentry rt = {0};
	char dev[16];
	int rc;

	snprintf(dev, sizeof(dev), "%s", nic);
	((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_gateway)->sin_addr = gw;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	rc = ioctl(sk, SIOCADDRT, &rt) < 0 ? -errno : 0;
	if (rc == -EEXIST) { /* an old default route: replace it */
		struct rtentry old = rt;

		old.rt_flags = RTF_UP;
		old.rt_dev = NULL;
		ioctl(sk, SIOCDELRT, &old);
		rc = ioctl(sk, SIOCADDRT, &rt) < 0 ? -errno : 0;
	}
	return rc;
}

/* resolv.conf from the subnet: its domain and name servers. */
static int write_resolv(const char *path, const struct hvapi_subnet *s)
{
	char buf[2048], a[INET_ADDRSTRLEN];
	size_t len = 0;

	if (s->domain_name != NULL && s->domain_name[0] != '\0')
		len +=
		    (size_t)snprintf(buf + len, sizeof(buf) - len, "search %s\n", s->domain_name);
	for (size_t i = 0; i < s->domain_name_servers.n && len < sizeof(buf) - 64; i++) {
		inet_ntop(AF_INET, &s->domain_name_servers.v[i], a, sizeof(a));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "nameserver %s\n", a);
	}
	return fsutil_write_atomic(path, buf, len, 0644);
}

int inst_net_configure(const struct fmapi_get_machine_info_response *info, const char *sysfs,
		       const char *resolv_conf, bool dry_run, char *err, size_t errsz)
{
	struct net_nic nics[64];
	struct net_choice c;
	char ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	int n, sk, rc;

	n = inst_net_list_nics(sysfs, nics, sizeof(nics) / sizeof(nics[0]));
	if (n < 0) {
		snprintf(err, errsz, "listing network interfaces in %s/class/net: %s", sysfs,
			 strerror(-n));
		return n;
	}
	if (inst_net_choose(info, nics, (size_t)n, &c) < 0) {
		snprintf(err, errsz, "no network interfaces match injected configuration");
		return -ENOENT;
	}
	inet_ntop(AF_INET, &c.ip, ip, sizeof(ip));
	inet_ntop(AF_INET, &c.mask, mask, sizeof(mask));
	inet_ntop(AF_INET, &c.gateway, gw, sizeof(gw));
	log_info("network: %s %s netmask %s, default via %s (subnet %s)%s", c.nic, ip, mask, gw,
		 c.subnet->id ? c.subnet->id : "", dry_run ? ": dry run, not applied" : "");
	if (dry_run)
		return 0;
	sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -errno;
	}
	if_up(sk, "lo");
	for (int i = 0; i < n; i++)
		if_up(sk, nics[i].name);
	rc = if_addr(sk, c.nic, SIOCSIFADDR, c.ip);
	if (rc == 0)
		rc = if_addr(sk, c.nic, SIOCSIFNETMASK, c.mask);
	if (rc == 0)
		rc = if_up(sk, c.nic);
	if (rc < 0) {
		snprintf(err, errsz, "configuring %s %s/%s: %s", c.nic, ip, mask, strerror(-rc));
		goto out;
	}
	if (c.gateway.s_addr != 0 && (rc = default_route(sk, c.nic, c.gateway)) < 0) {
		snprintf(err, errsz, "default route via %s on %s: %s", gw, c.nic, strerror(-rc));
		goto out;
	}
	rc = write_resolv(resolv_conf, c.subnet);
	if (rc < 0) {
		snprintf(err, errsz, "writing %s: %s", resolv_conf, strerror(-rc));
		goto out;
	}
	nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
out:
	close(sk);
	return rc;
}
