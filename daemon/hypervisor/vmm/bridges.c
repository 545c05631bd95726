/* Bridge discovery (see bridges.h). */
#include "daemon/hypervisor/vmm/bridges.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_uint(const char *path, unsigned *out)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (f == NULL)
		return -1;
	ok = fscanf(f, "%u", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* VLAN of a bridge from its first real port: tap*, *-ll and tun devices are skipped. */
static int bridge_vlan(const char *sysfs, const char *proc_vlan, const char *br)
{
	char path[512];
	struct dirent *e;
	DIR *d;
	int vlan = -1;

	snprintf(path, sizeof(path), "%s/%s/brif", sysfs, br);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while (vlan < 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char line[256];
		FILE *f;

		if (e->d_name[0] == '.' || strncmp(e->d_name, "tap", 3) == 0 ||
		    (len > 3 && strcmp(e->d_name + len - 3, "-ll") == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s/tun_flags", sysfs, e->d_name);
		if (access(path, F_OK) == 0)
			continue;
		vlan = 0;
		snprintf(path, sizeof(path), "%s/%s", proc_vlan, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(line, sizeof(line), f) != NULL) {
			char *vid = strstr(line, "VID: ");

			if (vid != NULL)
				vlan = atoi(vid + 5);
		}
		fclose(f);
	}
	closedir(d);
	return vlan;
}

int bridges_scan(struct bridges *b, const char *sysfs_net, const char *proc_vlan)
{
	struct dirent *e;
	DIR *d = opendir(sysfs_net);

	b->n = 0;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && b->n < sizeof(b->v) / sizeof(b->v[0])) {
		struct bridges_entry *x = &b->v[b->n];
		char path[512];

		if (e->d_name[0] == '.' || strlen(e->d_name) >= IF_NAMESIZE)
			continue;
		snprintf(path, sizeof(path), "%s/%s/bridge", sysfs_net, e->d_name);
		if (access(path, F_OK) != 0)
			continue;
		memcpy(x->name, e->d_name, strlen(e->d_name) + 1);
		x->vlan = bridge_vlan(sysfs_net, proc_vlan, e->d_name);
		snprintf(path, sizeof(path), "%s/%s/mtu", sysfs_net, e->d_name);
		if (read_uint(path, &x->mtu) < 0)
			x->mtu = 0;
		b->n++;
	}
	closedir(d);
	return (int)b->n;
}

const struct bridges_entry *bridges_for_subnet(const struct bridges *b, const char *subnet_id,
					       uint32_t vlan_id)
{
	char named[IF_NAMESIZE + 8];

	snprintf(named, sizeof(named), "br@%s", subnet_id);
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i].name, named) == 0)
			return &b->v[i];
	for (size_t i = 0; i < b->n; i++)
		if (strncmp(b->v[i].name, "br@", 3) != 0 && b->v[i].vlan == (int)vlan_id)
			return &b->v[i];
	/* A bridge without a classifiable port is used "in hope" when it is alone. */
	if (vlan_id == 0 && b->n == 1 && b->v[0].vlan < 0)
		return &b->v[0];
	return NULL;
}
