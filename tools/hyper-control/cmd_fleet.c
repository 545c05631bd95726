/* cmd_fleet: the Fleet Manager's commands (spec/hyper-control.md §3: get-machine-info,
 * change-tags, move-ip-address, power-on), power-off and get-updates (§2), and the
 * network configuration commands of §6 on lib/netconf. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "fleettags.h"
#include "fsutil.h"
#include "hyperctl.h"
#include "json.h"
#include "netconf.h"

#define FLEET_MAX_NICS 64
#define FLEET_MAX_FILE (1u << 20)
#define FLEET_SEPARATOR "============================================================"

/* The files and commands of update-network-configuration; the environment replaces
 * them (tests, or a machine laid out differently). */
#define FLEET_ENV_INTERFACES "HYPER_CONTROL_INTERFACES_FILE"
#define FLEET_ENV_RESOLV "HYPER_CONTROL_RESOLV_CONF"
#define FLEET_ENV_IFUP "HYPER_CONTROL_IFUP_COMMAND"
#define FLEET_ENV_RESTART "HYPER_CONTROL_RESTART_COMMAND"
#define FLEET_ENV_SYSFS "HYPER_CONTROL_SYSFS"

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

static bool empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* ---- get-machine-info ---- */

static int cmd_get_machine_info(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct fmapi_get_machine_info_response mi;
	int rc;

	(void)argc;
	if (hc_machine_info(h, c->doing, argv[0], &mi) != 0)
		return 1;
	rc = hc_print_json(&fmapi_get_machine_info_response_type, &mi);
	fmapi_get_machine_info_response_clear(&mi);
	return rc;
}

/* ---- change-tags ---- */

static int cmd_change_tags(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct fmapi_change_machine_tags_request q = {.hostname = (char *)h->o.hypervisor_hostname};
	struct fmapi_get_machine_info_response mi;
	struct fmapi_error_response r;
	struct srpc_client *fm;
	int rc;

	(void)argc;
	(void)argv;
	if (empty(h->o.hypervisor_hostname))
		return hc_fail(c->doing, "hypervisorHostname unspecified");
	if (hc_fleet_manager(h, c->doing, &fm) != 0)
		return 1;
	if (h->o.hypervisor_tags.n > 0) {
		if (hc_machine_info(h, c->doing, h->o.hypervisor_hostname, &mi) != 0)
			return 1;
		rc = fleet_tags_merge(&mi.machine.tags, &h->o.hypervisor_tags, &q.tags);
		fmapi_get_machine_info_response_clear(&mi);
		if (rc < 0) {
			fleet_tags_free(&q.tags);
			return hc_fail(c->doing, "out of memory");
		}
	}
	rc = hc_call(fm, c->doing, FMAPI_M_CHANGE_MACHINE_TAGS,
		     &fmapi_change_machine_tags_request_type, &q, &fmapi_error_response_type, &r);
	fleet_tags_free(&q.tags);
	if (rc == 0)
		fmapi_error_response_clear(&r);
	return rc;
}

/* ---- move-ip-address, power-on ---- */

static int fm_error_call(struct hc *h, const struct hc_cmd *c, const char *method,
			 const struct api_type *t, const void *req)
{
	struct fmapi_error_response r;
	struct srpc_client *fm;

	if (hc_fleet_manager(h, c->doing, &fm) != 0)
		return 1;
	if (hc_call(fm, c->doing, method, t, req, &fmapi_error_response_type, &r) != 0)
		return 1;
	fmapi_error_response_clear(&r);
	return 0;
}

static int cmd_move_ip_address(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct in_addr ip;
	struct fmapi_move_ip_addresses_request q = {
	    .hypervisor_hostname = (char *)h->o.hypervisor_hostname,
	    .ips = {.n = 1, .v = &ip},
	};

	(void)argc;
	if (inet_pton(AF_INET, argv[0], &ip) != 1)
		return hc_fail(c->doing, "invalid IP address: %s", argv[0]);
	if (empty(h->o.hypervisor_hostname))
		return hc_fail(c->doing, "hypervisorHostname unspecified");
	return fm_error_call(h, c, FMAPI_M_MOVE_IP_ADDRESSES, &fmapi_move_ip_addresses_request_type,
			     &q);
}

static int cmd_power_on(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct fmapi_power_on_machine_request q = {.hostname = (char *)h->o.hypervisor_hostname};

	(void)argc;
	(void)argv;
	if (empty(h->o.hypervisor_hostname))
		return hc_fail(c->doing, "hypervisorHostname unspecified");
	return fm_error_call(h, c, FMAPI_M_POWER_ON_MACHINE, &fmapi_power_on_machine_request_type,
			     &q);
}

/* ---- power-off ---- */

static int cmd_power_off(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_power_off_request q = {.stop_vms = false};
	struct hvapi_error_response r;
	struct srpc_client *hv;
	char self[256];

	(void)argc;
	(void)argv;
	if (empty(h->o.hypervisor_hostname))
		return hc_fail(c->doing, "hypervisorHostname unspecified");
	if (gethostname(self, sizeof(self)) == 0 && strcmp(self, h->o.hypervisor_hostname) == 0)
		return hc_fail(c->doing, "cannot power down myself");
	if (hc_hypervisor(h, c->doing, &hv) != 0)
		return 1;
	if (hc_call(hv, c->doing, HVAPI_M_POWER_OFF, &hvapi_power_off_request_type, &q,
		    &hvapi_error_response_type, &r) != 0)
		return 1;
	hvapi_error_response_clear(&r);
	return 0;
}

/* ---- get-updates ---- */

/* Reads one message of a stream into obj of type t. 0, 1 at the end, or prints. */
static int read_msg(struct srpc_conn *conn, const char *doing, const struct api_type *t, void *obj)
{
	char *msg = NULL;
	json_t *j;
	int rc = srpc_conn_read_json(conn, &j);

	if (rc == -ECONNRESET)
		return 1;
	if (rc < 0)
		return -hc_fail(doing, "reading an update: %s", strerror(-rc));
	rc = api_decode_msg(t, j, t->name, obj, &msg);
	json_decref(j);
	if (rc < 0) {
		hc_fail(doing, "%s", msg != NULL ? msg : strerror(-rc));
		free(msg);
		return -1;
	}
	return 0;
}

/* Hypervisor.GetUpdates of cl, each Update printed, until the hypervisor closes. */
static int hypervisor_updates(struct srpc_client *cl, const char *doing)
{
	struct srpc_conn *conn;
	int rc;

	if (srpc_client_start(cl, HVAPI_M_GET_UPDATES) < 0)
		return hc_fail(doing, "%s", srpc_client_error(cl));
	conn = srpc_client_conn(cl);
	for (;;) {
		struct hvapi_update u;

		rc = read_msg(conn, doing, &hvapi_update_type, &u);
		if (rc != 0)
			return rc < 0 ? 1 : hc_fail(doing, "the hypervisor closed the connection");
		rc = hc_print_json(&hvapi_update_type, &u);
		hvapi_update_clear(&u);
		if (rc != 0)
			return 1;
	}
}

/* FleetManager.GetUpdates: each Update printed, -maxUpdates of them (0: for ever). */
static int fleet_updates(struct hc *h, struct srpc_client *cl, const char *doing)
{
	struct fmapi_get_updates_request q = {
	    .ignore_missing_local_tags = h->o.ignore_missing_local_tags,
	    .location = (char *)h->o.location,
	    .max_updates = h->o.max_updates,
	};
	struct srpc_conn *conn;
	struct fmapi_update u;
	char err[4096];
	uint64_t n = 0;
	int rc;

	if (hvclient_start(cl, FMAPI_M_GET_UPDATES, &fmapi_get_updates_request_type, &q,
			   &fmapi_update_type, &u, err, sizeof(err)) < 0)
		return hc_fail(doing, "%s", err);
	conn = srpc_client_conn(cl);
	for (;;) {
		rc = hc_print_json(&fmapi_update_type, &u);
		fmapi_update_clear(&u);
		if (rc != 0)
			return 1;
		if (++n == h->o.max_updates)
			return 0;
		rc = read_msg(conn, doing, &fmapi_update_type, &u);
		if (rc != 0)
			return rc < 0 ? 1
				      : hc_fail(doing, "the Fleet Manager closed the connection");
		if (!empty(u.error)) {
			hc_fail(doing, "%s", u.error);
			fmapi_update_clear(&u);
			return 1;
		}
	}
}

static int cmd_get_updates(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct srpc_client *cl;

	(void)argc;
	(void)argv;
	if (!empty(h->o.hypervisor_hostname)) {
		if (hc_hypervisor(h, c->doing, &cl) != 0)
			return 1;
		return hypervisor_updates(cl, c->doing);
	}
	if (!empty(h->o.fleet_manager_hostname)) {
		if (hc_fleet_manager(h, c->doing, &cl) != 0)
			return 1;
		return fleet_updates(h, cl, c->doing);
	}
	if (hc_dial(h, c->doing, "localhost", h->o.hypervisor_port, &h->hv) != 0)
		return 1;
	return hypervisor_updates(h->hv, c->doing);
}

/* ---- the network configuration (§6) ---- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int end = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    s[end] != '\0')
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Reads <dir>/<name>/<attr>, one line, its newline cut. */
static int read_attr(const char *dir, const char *name, const char *attr, char *buf, size_t sz)
{
	char path[512];
	FILE *f;
	bool ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", dir, name, attr) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	ok = fgets(buf, (int)sz, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int cmp_nic(const void *a, const void *b)
{
	return strcmp(((const struct netconf_nic *)a)->name, ((const struct netconf_nic *)b)->name);
}

/* The Ethernet NICs of this machine (<sysfs>/class/net: type 1, a MAC), sorted by
 * name; up = carrier. */
static int local_nics(const char *doing, struct netconf_nic *nics, size_t *n)
{
	char dir[256], buf[64];
	struct dirent *de;
	DIR *d;

	*n = 0;
	snprintf(dir, sizeof(dir), "%s/class/net", env_or(FLEET_ENV_SYSFS, "/sys"));
	d = opendir(dir);
	if (d == NULL)
		return hc_fail(doing, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL && *n < FLEET_MAX_NICS) {
		struct netconf_nic *nic = &nics[*n];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(nic->name))
			continue;
		if (read_attr(dir, de->d_name, "type", buf, sizeof(buf)) < 0 || strcmp(buf, "1"))
			continue;
		if (read_attr(dir, de->d_name, "address", buf, sizeof(buf)) < 0 ||
		    parse_mac(buf, nic->mac) < 0 || memcmp(nic->mac, "\0\0\0\0\0\0", 6) == 0)
			continue;
		snprintf(nic->name, sizeof(nic->name), "%s", de->d_name);
		/* carrier reads EINVAL while the link is down */
		nic->up = read_attr(dir, de->d_name, "carrier", buf, sizeof(buf)) == 0 &&
			  strcmp(buf, "1") == 0;
		(*n)++;
	}
	closedir(d);
	qsort(nics, *n, sizeof(*nics), cmp_nic);
	return 0;
}

/* -networkInterfacesFile: [{"HardwareAddr": "52:54:..", "Name": "eth0", "Up": true}]. */
static int file_nics(const char *doing, const char *path, struct netconf_nic *nics, size_t *n)
{
	char *err = NULL;
	json_t *j, *e;
	size_t i;

	*n = 0;
	if (sjson_load_file(path, FLEET_MAX_FILE, &j, &err) < 0) {
		hc_fail(doing, "%s", err != NULL ? err : path);
		free(err);
		return 1;
	}
	if (!json_is_array(j) || json_array_size(j) > FLEET_MAX_NICS) {
		json_decref(j);
		return hc_fail(doing, "%s: not a list of at most %d interfaces", path,
			       FLEET_MAX_NICS);
	}
	json_array_foreach(j, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "Name"));
		const char *mac = json_string_value(json_object_get(e, "HardwareAddr"));
		json_t *up = json_object_get(e, "Up");

		if (name == NULL || *name == '\0' || strlen(name) >= sizeof(nics[i].name) ||
		    mac == NULL || parse_mac(mac, nics[i].mac) < 0 ||
		    (up && !json_is_boolean(up))) {
			json_decref(j);
			return hc_fail(doing,
				       "%s: interface %zu: needs Name, HardwareAddr "
				       "(aa:bb:cc:dd:ee:ff) and Up (true/false)",
				       path, i);
		}
		snprintf(nics[i].name, sizeof(nics[i].name), "%s", name);
		nics[i].up = json_is_true(up);
	}
	*n = json_array_size(j);
	json_decref(j);
	qsort(nics, *n, sizeof(*nics), cmp_nic);
	return 0;
}

/* `hostname -f`, or "" when it fails. */
static void fqdn(char *buf, size_t sz)
{
	FILE *p = popen("hostname -f 2>/dev/null", "r");

	*buf = '\0';
	if (p == NULL)
		return;
	if (fgets(buf, (int)sz, p) == NULL)
		*buf = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}

/* The local machine's info: its hostname, then `hostname -f` when that fails and
 * differs (spec §6; weaknesses.md #21: the fallback's own failure is what is reported). */
static int local_info(struct hc *h, const char *doing, struct fmapi_get_machine_info_response *mi)
{
	char name[256], full[256];

	if (gethostname(name, sizeof(name)) < 0)
		return hc_fail(doing, "gethostname: %s", strerror(errno));
	name[sizeof(name) - 1] = '\0';
	if (hc_machine_info(h, doing, name, mi) == 0)
		return 0;
	fqdn(full, sizeof(full));
	if (*full == '\0' || strcmp(full, name) == 0)
		return 1;
	hc_progress("trying the full hostname %s", full);
	return hc_machine_info(h, doing, full, mi);
}

static bool is_local_name(const char *host)
{
	char name[256], full[256];

	if (strcmp(host, "localhost") == 0)
		return true;
	if (gethostname(name, sizeof(name)) == 0 && strcmp(name, host) == 0)
		return true;
	fqdn(full, sizeof(full));
	return *full != '\0' && strcmp(full, host) == 0;
}

static void note(void *arg, const char *msg)
{
	(void)arg;
	hc_progress("%s", msg);
}

/* Machine info, NICs, and the rendered files (*ifs, *resolv: new strings). */
static int compute(struct hc *h, const char *doing, bool local_only, char **ifs, char **resolv)
{
	struct fmapi_get_machine_info_response mi;
	struct netconf_nic nics[FLEET_MAX_NICS];
	const char *host = h->o.hypervisor_hostname;
	bool from_file = !local_only && !empty(h->o.network_interfaces_file);
	char err[512];
	size_t n;
	int rc;

	if (!empty(host) && !from_file && !is_local_name(host))
		return hc_fail(doing,
			       local_only
				   ? "%s is not this machine: only the local configuration "
				     "is updated"
				   : "networkInterfacesFile unspecified: needed for remote host %s",
			       host);
	if (from_file)
		rc = file_nics(doing, h->o.network_interfaces_file, nics, &n);
	else
		rc = local_nics(doing, nics, &n);
	if (rc != 0)
		return 1;
	rc = empty(host) ? local_info(h, doing, &mi) : hc_machine_info(h, doing, host, &mi);
	if (rc != 0)
		return 1;
	rc = netconf_render(&mi, nics, n, note, NULL, ifs, resolv, err, sizeof(err));
	fmapi_get_machine_info_response_clear(&mi);
	if (rc < 0)
		return hc_fail(doing, "%s", rc == -ENOMEM ? "out of memory" : err);
	return 0;
}

static int cmd_show_network_configuration(struct hc *h, const struct hc_cmd *c, int argc,
					  char *const argv[])
{
	char *ifs, *resolv;

	(void)argc;
	(void)argv;
	if (compute(h, c->doing, false, &ifs, &resolv) != 0)
		return 1;
	printf("%s\nNetwork configuration:\n%s%s\nDNS configuration:\n%s", FLEET_SEPARATOR, ifs,
	       FLEET_SEPARATOR, resolv);
	free(ifs);
	free(resolv);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Runs cmd through /bin/sh. 0 or prints. */
static int run(const char *doing, const char *cmd)
{
	int st = system(cmd);

	if (st == -1)
		return hc_fail(doing, "running %s: %s", cmd, strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return hc_fail(doing, "%s: %s %d", cmd, WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

/* Replaces path with text when it differs: 1 replaced, 0 equal, -1 printed. With
 * marker, the existing file's first line must contain it. */
static int replace(const char *doing, const char *path, const char *text, const char *marker)
{
	char *old = NULL;
	size_t len = 0;
	int rc = fsutil_read_file(path, FLEET_MAX_FILE, &old, &len);

	if (rc < 0 && (rc != -ENOENT || marker != NULL))
		return -hc_fail(doing, "%s: %s", path, strerror(-rc));
	if (marker != NULL) {
		size_t first = strcspn(old, "\n");
		bool ok = memmem(old, first, marker, strlen(marker)) != NULL;

		if (!ok) {
			free(old);
			return -hc_fail(doing, "%s: its first line does not say \"%s\": left alone",
					path, marker);
		}
	}
	if (old != NULL && len == strlen(text) && memcmp(old, text, len) == 0) {
		free(old);
		return 0;
	}
	free(old);
	rc = fsutil_write_atomic(path, text, strlen(text), 0644);
	if (rc < 0)
		return -hc_fail(doing, "writing %s: %s", path, strerror(-rc));
	hc_progress("%s updated", path);
	return 1;
}

static int cmd_update_network_configuration(struct hc *h, const struct hc_cmd *c, int argc,
					    char *const argv[])
{
	const char *ifs_path = env_or(FLEET_ENV_INTERFACES, "/etc/network/interfaces");
	const char *resolv_path = env_or(FLEET_ENV_RESOLV, "/etc/resolv.conf");
	char *ifs, *resolv;
	int r1, r2 = 0, rc = 0;

	(void)argc;
	(void)argv;
	if (compute(h, c->doing, true, &ifs, &resolv) != 0)
		return 1;
	r1 = replace(c->doing, ifs_path, ifs, "created by SmallStack");
	if (r1 > 0)
		rc = run(c->doing, env_or(FLEET_ENV_IFUP, "ifup -a"));
	if (r1 >= 0 && rc == 0)
		r2 = replace(c->doing, resolv_path, resolv, NULL);
	free(ifs);
	free(resolv);
	if (r1 < 0 || r2 < 0 || rc != 0)
		return 1;
	if (r1 == 0 && r2 == 0) {
		hc_progress("network configuration unchanged");
		return 0;
	}
	return run(c->doing, env_or(FLEET_ENV_RESTART, "service hypervisor restart"));
}

const struct hc_cmd hc_fleet_cmds[] = {
    {"get-machine-info", "hostname", 1, 1, cmd_get_machine_info, "getting machine info",
     "Print a machine's info (Fleet Manager, else -topologyDir)"},
    {"change-tags", "", 0, 0, cmd_change_tags, "changing tags",
     "Merge -hypervisorTags into the machine's local tags (none: clear them)"},
    {"move-ip-address", "IP", 1, 1, cmd_move_ip_address, "moving IP address",
     "Move a free IP address to -hypervisorHostname's pool"},
    {"power-on", "", 0, 0, cmd_power_on, "powering on machine",
     "Power on -hypervisorHostname (Fleet Manager: IPMI or Wake-on-LAN)"},
    {"power-off", "", 0, 0, cmd_power_off, "powering off hypervisor",
     "Power off -hypervisorHostname (refused while VMs run)"},
    {"get-updates", "", 0, 0, cmd_get_updates, "getting updates",
     "Print updates of a hypervisor or the Fleet Manager"},
    {"show-network-configuration", "", 0, 0, cmd_show_network_configuration,
     "showing network configuration", "Print the computed interfaces and resolv.conf"},
    {"update-network-configuration", "", 0, 0, cmd_update_network_configuration,
     "updating network configuration", "Update this machine's interfaces and resolv.conf"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
