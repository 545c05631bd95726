/* netconf: /etc/network/interfaces and resolv.conf from the machine's record and its
 * NICs, by the algorithm of spec/hyper-control.md §6 (which the installer shares). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netconf.h"

struct nc_normal {
	size_t nic;
	struct in_addr ip;
	const struct hvapi_subnet *subnet;
};

struct nc_bridge_only {
	size_t nic;
	const char *subnet_id;
};

struct nc_bonded {
	struct in_addr ip;
	const struct hvapi_subnet *subnet;
};

struct nc_state {
	const struct fmapi_get_machine_info_response *info;
	const struct netconf_nic *nics;
	size_t n_nics;
	bool *taken; /* per NIC: used by an entry */
	bool *used;  /* per subnet */
	struct nc_normal *normal;
	size_t n_normal;
	struct nc_bridge_only *bronly;
	size_t n_bronly;
	struct nc_bonded *bonded;
	size_t n_bonded;
	size_t *slaves; /* NIC indices, sorted by name */
	size_t n_slaves;
	size_t n_vlan_names;
	char raw[40]; /* the VLAN raw device, "" = none */
	const struct hvapi_subnet *def, *preferred;
	netconf_note_fn note;
	void *arg;
};

static const uint8_t zero_mac[6];

static void nc_note(struct nc_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nc_note(struct nc_state *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!s->note)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->note(s->arg, buf);
}

static void fmt_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static const char *fmt_ip(struct in_addr ip, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

const struct hvapi_subnet *netconf_subnet_for_ip(const struct hvapi_subnets *subnets,
						 struct in_addr ip)
{
	for (size_t i = 0; i < subnets->n; i++) {
		const struct hvapi_subnet *sn = &subnets->v[i];
		uint32_t mask = sn->ip_mask.s_addr;

		if ((ip.s_addr & mask) == (sn->ip_gateway.s_addr & mask))
			return sn;
	}
	return NULL;
}

static const struct hvapi_subnet *subnet_by_id(const struct hvapi_subnets *subnets, const char *id)
{
	for (size_t i = 0; i < subnets->n; i++)
		if (strcmp(api_str(subnets->v[i].id), id) == 0)
			return &subnets->v[i];
	return NULL;
}

static long nic_by_mac(const struct nc_state *s, const uint8_t mac[6])
{
	for (size_t i = 0; i < s->n_nics; i++)
		if (memcmp(s->nics[i].mac, mac, 6) == 0)
			return (long)i;
	return -1;
}

static void mark_used(struct nc_state *s, const struct hvapi_subnet *sn)
{
	s->used[sn - s->info->subnets.v] = true;
}

static void take_default(struct nc_state *s, const struct hvapi_subnet *sn)
{
	if (sn == s->preferred || !s->def)
		s->def = sn;
}

static int bridge_only(struct nc_state *s, const struct fmapi_network_entry *e, char *err,
		       size_t errsz)
{
	const char *id = api_str(e->subnet_id);
	const struct hvapi_subnet *sn;
	char mac[18];
	long nic = nic_by_mac(s, e->host_mac);

	fmt_mac(e->host_mac, mac);
	if (nic < 0) {
		snprintf(err, errsz, "MAC address: %s not found", mac);
		return -EINVAL;
	}
	if (!(sn = subnet_by_id(&s->info->subnets, id))) {
		snprintf(err, errsz, "subnetId: %s not found", id);
		return -EINVAL;
	}
	if (!sn->manage) {
		snprintf(err, errsz, "subnetId: %s is not managed", id);
		return -EINVAL;
	}
	if (strlen(id) >= 10) {
		snprintf(err, errsz, "subnetId: %s is over 9 characters", id);
		return -EINVAL;
	}
	if (strpbrk(id, "/.")) {
		snprintf(err, errsz, "subnetId: %s contains '/' or '.'", id);
		return -EINVAL;
	}
	mark_used(s, sn);
	s->bronly[s->n_bronly++] = (struct nc_bridge_only){(size_t)nic, id};
	s->taken[nic] = true;
	return 0;
}

static void normal(struct nc_state *s, const struct fmapi_network_entry *e)
{
	const struct hvapi_subnet *sn;
	char buf[INET_ADDRSTRLEN], mac[18];
	long nic = nic_by_mac(s, e->host_mac);

	if (nic < 0) {
		fmt_mac(e->host_mac, mac);
		nc_note(s, "MAC address: %s not found", mac);
		return;
	}
	if (!(sn = netconf_subnet_for_ip(&s->info->subnets, e->host_ip))) {
		nc_note(s, "no matching subnet for ip=%s", fmt_ip(e->host_ip, buf));
		return;
	}
	mark_used(s, sn);
	s->normal[s->n_normal++] = (struct nc_normal){(size_t)nic, e->host_ip, sn};
	s->taken[nic] = true;
	take_default(s, sn);
	if (e->vlan_trunk) {
		s->n_vlan_names++;
		snprintf(s->raw, sizeof(s->raw), "%s", s->nics[nic].name);
	}
}

static int cmp_slave(const void *a, const void *b, void *arg)
{
	const struct netconf_nic *nics = arg;

	return strcmp(nics[*(const size_t *)a].name, nics[*(const size_t *)b].name);
}

/* Remaining up NICs: bond slaves (sorted by name) and VLAN raw devices. */
static void slaves(struct nc_state *s)
{
	for (size_t i = 0; i < s->n_nics; i++)
		if (!s->taken[i] && s->nics[i].up)
			s->slaves[s->n_slaves++] = i;
	qsort_r(s->slaves, s->n_slaves, sizeof(*s->slaves), cmp_slave, (void *)s->nics);
	if (s->n_slaves) {
		snprintf(s->raw, sizeof(s->raw), "%s", s->nics[s->slaves[s->n_slaves - 1]].name);
		s->n_vlan_names += s->n_slaves;
	}
	if (s->n_vlan_names > 1)
		snprintf(s->raw, sizeof(s->raw), "bond0");
}

static int compute(struct nc_state *s, char *err, size_t errsz)
{
	const struct fmapi_machine *m = &s->info->machine;
	size_t n_entries = 1 + m->secondary.n;
	int rc;

	s->preferred = netconf_subnet_for_ip(&s->info->subnets, m->net.host_ip);
	if (*api_str(m->gateway_subnet_id))
		s->preferred = subnet_by_id(&s->info->subnets, m->gateway_subnet_id);
	for (size_t i = 0; i < n_entries; i++) {
		const struct fmapi_network_entry *e = i == 0 ? &m->net : &m->secondary.v[i - 1];
		bool has_mac = memcmp(e->host_mac, zero_mac, 6) != 0;

		if (!e->host_ip.s_addr) {
			if (!has_mac || !*api_str(e->subnet_id))
				continue;
			if ((rc = bridge_only(s, e, err, errsz)) < 0)
				return rc;
		} else if (!has_mac) {
			s->bonded[s->n_bonded++] = (struct nc_bonded){e->host_ip, NULL};
		} else {
			normal(s, e);
		}
	}
	slaves(s);
	if (s->n_vlan_names == 0) {
		s->n_bonded = 0;
		return 0;
	}
	size_t kept = 0;
	for (size_t i = 0; i < s->n_bonded; i++) {
		char buf[INET_ADDRSTRLEN];
		const struct hvapi_subnet *sn =
		    netconf_subnet_for_ip(&s->info->subnets, s->bonded[i].ip);

		if (!sn) {
			nc_note(s, "no matching subnet for ip=%s", fmt_ip(s->bonded[i].ip, buf));
			continue;
		}
		mark_used(s, sn);
		s->bonded[kept++] = (struct nc_bonded){s->bonded[i].ip, sn};
		take_default(s, sn);
	}
	s->n_bonded = kept;
	return 0;
}

static void render_interfaces(const struct nc_state *s, FILE *f)
{
	const struct hvapi_subnets *subnets = &s->info->subnets;
	char ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], mac[18];
	bool raw_configured = false;

	fputs("# /etc/network/interfaces -- created by SmallStack installer\n\n"
	      "auto lo\niface lo inet loopback\n",
	      f);
	for (size_t i = 0; i < s->n_normal; i++) {
		const struct nc_normal *e = &s->normal[i];
		const struct netconf_nic *nic = &s->nics[e->nic];
		char name[40];

		if (e->subnet->manage)
			snprintf(name, sizeof(name), "br%u", e->subnet->vlan_id);
		else
			snprintf(name, sizeof(name), "%s", nic->name);
		if (strcmp(name, s->raw) == 0)
			raw_configured = true;
		fprintf(f, "\nauto %s\niface %s inet static\n", name, name);
		fprintf(f, "\taddress      %s\n", fmt_ip(e->ip, ip));
		fprintf(f, "\tnetmask      %s\n", fmt_ip(e->subnet->ip_mask, mask));
		if (e->subnet->ip_gateway.s_addr == s->def->ip_gateway.s_addr)
			fprintf(f, "\tgateway      %s\n", fmt_ip(e->subnet->ip_gateway, gw));
		if (e->subnet->manage) {
			fmt_mac(nic->mac, mac);
			fprintf(f, "\thwaddress    %s\n\tbridge_ports %s\n", mac, nic->name);
		}
	}
	for (size_t i = 0; i < s->n_bronly; i++) {
		const struct netconf_nic *nic = &s->nics[s->bronly[i].nic];

		fmt_mac(nic->mac, mac);
		fprintf(f, "\nauto br@%s\niface br@%s inet manual\n", s->bronly[i].subnet_id,
			s->bronly[i].subnet_id);
		fprintf(f, "\thwaddress    %s\n\tbridge_ports %s\n", mac, nic->name);
	}
	if (!s->raw[0])
		return;
	if (!raw_configured) {
		fprintf(f, "\nauto %s\niface %s inet manual\n", s->raw, s->raw);
		if (s->n_slaves > 1) {
			fprintf(f, "\tup ip link set %s mtu 9000\n", s->raw);
			fputs("\tbond-mode 802.3ad\n\tbond-xmit_hash_policy 1\n\tslaves", f);
			for (size_t i = 0; i < s->n_slaves; i++)
				fprintf(f, " %s", s->nics[s->slaves[i]].name);
			fputc('\n', f);
		}
	}
	for (size_t i = 0; i < s->n_bonded; i++) {
		const struct nc_bonded *e = &s->bonded[i];

		fprintf(f, "\nauto %s.%u\niface %s.%u inet static\n", s->raw, e->subnet->vlan_id,
			s->raw, e->subnet->vlan_id);
		fprintf(f, "\tvlan-raw-device %s\n", s->raw);
		fprintf(f, "\taddress %s\n", fmt_ip(e->ip, ip));
		fprintf(f, "\tnetmask %s\n", fmt_ip(e->subnet->ip_mask, mask));
		if (e->subnet->ip_gateway.s_addr == s->def->ip_gateway.s_addr)
			fprintf(f, "\tgateway %s\n", fmt_ip(e->subnet->ip_gateway, gw));
	}
	for (size_t i = 0; i < subnets->n; i++) {
		const struct hvapi_subnet *sn = &subnets->v[i];

		if (s->used[i] || sn->vlan_id == 0 || !sn->manage)
			continue;
		fprintf(f, "\nauto %s.%u\niface %s.%u inet manual\n", s->raw, sn->vlan_id, s->raw,
			sn->vlan_id);
		fprintf(f, "\tvlan-raw-device %s\n", s->raw);
		fprintf(f, "\nauto br%u\niface br%u inet manual\n", sn->vlan_id, sn->vlan_id);
		fprintf(f, "\tbridge_ports %s.%u\n", s->raw, sn->vlan_id);
	}
}

static void render_resolv(const struct hvapi_subnet *sn, FILE *f)
{
	char ip[INET_ADDRSTRLEN];

	fputs("; /etc/resolv.conf -- created by SmallStack installer\n\n", f);
	if (*api_str(sn->domain_name))
		fprintf(f, "domain %s\nsearch %s\n\n", sn->domain_name, sn->domain_name);
	for (size_t i = 0; i < sn->domain_name_servers.n; i++)
		fprintf(f, "nameserver %s\n", fmt_ip(sn->domain_name_servers.v[i], ip));
}

/* Renders with fn into a new string. 0 or -ENOMEM. */
static int to_string(void (*fn)(const void *, FILE *), const void *arg, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);

	if (!f)
		return -ENOMEM;
	fn(arg, f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void interfaces_cb(const void *arg, FILE *f)
{
	render_interfaces(arg, f);
}

static void resolv_cb(const void *arg, FILE *f)
{
	render_resolv(arg, f);
}

int netconf_render(const struct fmapi_get_machine_info_response *info,
		   const struct netconf_nic *nics, size_t n, netconf_note_fn note, void *arg,
		   char **interfaces, char **resolv, char *err, size_t errsz)
{
	size_t n_entries = 1 + info->machine.secondary.n;
	struct nc_state s = {.info = info, .nics = nics, .n_nics = n, .note = note, .arg = arg};
	int rc = -ENOMEM;

	*interfaces = *resolv = NULL;
	s.taken = calloc(n + 1, sizeof(*s.taken));
	s.used = calloc(info->subnets.n + 1, sizeof(*s.used));
	s.normal = calloc(n_entries, sizeof(*s.normal));
	s.bronly = calloc(n_entries, sizeof(*s.bronly));
	s.bonded = calloc(n_entries, sizeof(*s.bonded));
	s.slaves = calloc(n + 1, sizeof(*s.slaves));
	if (!s.taken || !s.used || !s.normal || !s.bronly || !s.bonded || !s.slaves) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if ((rc = compute(&s, err, errsz)) < 0)
		goto out;
	if (!s.def) {
		snprintf(err, errsz, "no default subnet found");
		rc = -EINVAL;
		goto out;
	}
	if ((rc = to_string(interfaces_cb, &s, interfaces)) < 0 ||
	    (rc = to_string(resolv_cb, s.def, resolv)) < 0) {
		free(*interfaces);
		*interfaces = NULL;
		snprintf(err, errsz, "out of memory");
	}
out:
	free(s.taken);
	free(s.used);
	free(s.normal);
	free(s.bronly);
	free(s.bonded);
	free(s.slaves);
	return rc;
}
