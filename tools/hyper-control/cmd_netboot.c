/* The netboot commands (spec/hyper-control.md §4.1-4.2, spec/netboot.md §4.2-4.4):
 * write-netboot-files, netboot-machine, netboot-host and netboot-vm. A netbooted
 * installer gets its configuration files over TFTP through Hypervisor.NetbootMachine and
 * is then enrolled (enrol.c): it receives a certificate signed by the fleet CA. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "fsutil.h"
#include "hyperctl.h"
#include "json.h"

#define HC_VM_HOSTNAME "netboot-test"
#define MIB (1ull << 20)

/* ---- write-netboot-files ---- */

/* Removes dir's direct entries; refuses (changing nothing) when one is a directory. */
static int empty_dir(const char *doing, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int pass, rc = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return hc_fail(doing, "%s: %s", dir, strerror(errno));
	}
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		rewinddir(d);
		while (rc == 0 && (de = readdir(d))) {
			struct stat sb;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
				rc = hc_fail(doing, "%s/%s: %s", dir, de->d_name, strerror(errno));
			else if (pass == 0 && S_ISDIR(sb.st_mode))
				rc = hc_fail(doing, "%s/%s is a directory: not removing it", dir,
					     de->d_name);
			else if (pass == 1 && unlinkat(dirfd(d), de->d_name, 0) < 0)
				rc = hc_fail(doing, "removing %s/%s: %s", dir, de->d_name,
					     strerror(errno));
		}
	}
	closedir(d);
	return rc;
}

static int write_files(const char *doing, const char *dir, const struct hc_files *f)
{
	char path[4200];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return hc_fail(doing, "creating %s: %s", dir, strerror(errno));
	for (size_t i = 0; i < f->n; i++) {
		int rc;

		if (strchr(f->v[i].name, '/') || !strcmp(f->v[i].name, "..") ||
		    !strcmp(f->v[i].name, "."))
			return hc_fail(doing, "file name \"%s\": not a plain name", f->v[i].name);
		snprintf(path, sizeof(path), "%s/%s", dir, f->v[i].name);
		rc = fsutil_write_atomic(path, f->v[i].data, f->v[i].len, 0644);
		if (rc < 0)
			return hc_fail(doing, "writing %s: %s", path, strerror(-rc));
	}
	return 0;
}

static int cmd_write_netboot_files(struct hc *h, const struct hc_cmd *c, int argc,
				   char *const argv[])
{
	struct fmapi_get_machine_info_response mi;
	struct hc_files f = {0};
	int rc;

	(void)argc;
	if (hc_machine_info(h, c->doing, argv[0], &mi))
		return 1;
	rc = hc_install_config(h, c->doing, &mi, HC_CFG_CA_FILES, &f);
	if (rc == 0)
		rc = empty_dir(c->doing, argv[1]);
	if (rc == 0)
		rc = write_files(c->doing, argv[1], &f);
	hc_files_clear(&f);
	api_clear(&fmapi_get_machine_info_response_type, &mi);
	return rc;
}

/* ---- NetbootMachine ---- */

/* The files as the request's map (borrowing the bytes). */
static int files_to_request(const char *doing, const struct hc_files *f,
			    struct hvapi_netboot_machine_request *q)
{
	q->files.v = calloc(f->n ? f->n : 1, sizeof(*q->files.v));
	if (!q->files.v)
		return hc_fail(doing, "out of memory");
	for (size_t i = 0; i < f->n; i++) {
		q->files.v[i].name = f->v[i].name;
		q->files.v[i].data.data = f->v[i].data;
		q->files.v[i].data.len = f->v[i].len;
	}
	q->files.n = f->n;
	return 0;
}

/* Hypervisor.NetbootMachine on cl with the flags' timeouts; waits for the ACKs. */
static int netboot(struct hc *h, const char *doing, struct srpc_client *cl, struct in_addr ip,
		   const uint8_t mac[6], const char *hostname, const struct hc_files *f)
{
	struct hvapi_netboot_machine_request q = {0};
	struct hvapi_error_response resp = {0};
	char ipt[INET_ADDRSTRLEN], mact[18];
	int rc;

	if (files_to_request(doing, f, &q))
		return 1;
	q.address.ip = ip;
	memcpy(q.address.mac, mac, 6);
	q.hostname = (char *)hostname;
	q.files_expiration_ns = h->o.netboot_files_timeout_ns;
	q.offer_expiration_ns = h->o.offer_timeout_ns;
	q.wait_timeout_ns = h->o.netboot_timeout_ns;
	q.num_acknowledgements_to_wait_for = (uint32_t)h->o.num_acknowledgements;
	inet_ntop(AF_INET, &ip, ipt, sizeof(ipt));
	hc_progress("netbooting %s (%s, %s): %zu files; waiting for the machine to boot", ipt,
		    sjson_format_mac(mac, mact, sizeof(mact)), *hostname ? hostname : "no hostname",
		    f->n);
	rc = hc_call(cl, doing, HVAPI_M_NETBOOT_MACHINE, &hvapi_netboot_machine_request_type, &q,
		     &hvapi_error_response_type, &resp);
	api_clear(&hvapi_error_response_type, &resp);
	free(q.files.v);
	if (rc == 0)
		hc_progress("netboot acknowledged (%llu DHCP acknowledgements)",
			    (unsigned long long)h->o.num_acknowledgements);
	return rc;
}

static int cmd_netboot_machine(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hc_files f = {0};
	struct srpc_client *hv;
	struct in_addr ip;
	uint8_t mac[6];
	char err[512];
	int rc;

	if (sjson_parse_mac(argv[0], mac) < 0) {
		fprintf(stderr, "hyper-control: bad MAC address \"%s\"\n", argv[0]);
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &ip) != 1 || !ip.s_addr) {
		fprintf(stderr, "hyper-control: bad IP address \"%s\"\n", argv[1]);
		return 2;
	}
	for (size_t i = 0; i < h->o.netboot_files.n; i++) {
		const struct hvapi_tag *t = &h->o.netboot_files.v[i];
		char *data;
		size_t len;

		rc = fsutil_read_file(api_str(t->value), 64u << 20, &data, &len);
		if (rc < 0) {
			snprintf(err, sizeof(err), "reading -netbootFiles file %s: %s",
				 api_str(t->value), strerror(-rc));
			hc_files_clear(&f);
			return hc_fail(c->doing, "%s", err);
		}
		rc = hc_files_put(&f, api_str(t->key), data, len);
		free(data);
		if (rc < 0) {
			hc_files_clear(&f);
			return hc_fail(c->doing, "out of memory");
		}
	}
	rc = hc_hypervisor(h, c->doing, &hv);
	if (rc == 0)
		rc = netboot(h, c->doing, hv, ip, mac, argc > 2 ? argv[2] : "", &f);
	hc_files_clear(&f);
	return rc;
}

/* ---- the boot server ---- */

/* -hypervisorHostname, else the first hypervisor the Fleet Manager lists in location.
 * *out is a new connection or the -hypervisorHostname one (*owned says which). */
static int pick_hypervisor(struct hc *h, const char *doing, const char *location,
			   struct srpc_client **out, bool *owned, char *name, size_t namesz)
{
	struct fmapi_list_hypervisors_in_location_request q = {0};
	struct fmapi_list_hypervisors_in_location_response r = {0};
	struct srpc_client *fm;
	char host[256];
	const char *colon;
	int port = h->o.hypervisor_port, rc;

	*owned = false;
	if (*h->o.hypervisor_hostname) {
		snprintf(name, namesz, "%s", h->o.hypervisor_hostname);
		return hc_hypervisor(h, doing, out);
	}
	if (!*h->o.fleet_manager_hostname)
		return hc_fail(doing,
			       "no nearby Hypervisors available (give -hypervisorHostname or "
			       "-fleetManagerHostname)");
	if (hc_fleet_manager(h, doing, &fm))
		return 1;
	q.location = (char *)location;
	q.include_unhealthy = true;
	if (hc_call(fm, doing, FMAPI_M_LIST_HYPERVISORS_IN_LOCATION,
		    &fmapi_list_hypervisors_in_location_request_type, &q,
		    &fmapi_list_hypervisors_in_location_response_type, &r))
		return 1;
	if (r.hypervisor_addresses.n == 0) {
		api_clear(&fmapi_list_hypervisors_in_location_response_type, &r);
		return hc_fail(doing, "no nearby Hypervisors available");
	}
	snprintf(host, sizeof(host), "%s", r.hypervisor_addresses.v[0]);
	api_clear(&fmapi_list_hypervisors_in_location_response_type, &r);
	colon = strrchr(host, ':');
	if (colon && !strchr(host, ']') && strchr(host, ':') == colon) {
		port = atoi(colon + 1);
		host[colon - host] = '\0';
	}
	snprintf(name, namesz, "%s", host);
	rc = hc_dial(h, doing, host, port, out);
	*owned = rc == 0;
	return rc;
}

/* ---- netboot-host ---- */

/* The first (IP, MAC, hostname) of mi inside a non-VLAN subnet (checked to exist by
 * hc_install_config). */
static const struct fmapi_network_entry *
first_lease(const struct fmapi_get_machine_info_response *mi)
{
	static const uint8_t zero[6];

	for (size_t i = 0; i <= mi->machine.secondary.n; i++) {
		const struct fmapi_network_entry *e =
		    i == 0 ? &mi->machine.net : &mi->machine.secondary.v[i - 1];

		if (!e->host_ip.s_addr || !memcmp(e->host_mac, zero, 6))
			continue;
		for (size_t j = 0; j < mi->subnets.n; j++) {
			const struct hvapi_subnet *s = &mi->subnets.v[j];

			if (s->vlan_id == 0 &&
			    ((e->host_ip.s_addr ^ s->ip_gateway.s_addr) & s->ip_mask.s_addr) == 0)
				return e;
		}
	}
	return NULL;
}

static const char *file_text(const struct hc_files *f, const char *name, char *buf, size_t sz)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].name, name)) {
			size_t n = f->v[i].len < sz ? f->v[i].len : sz - 1;

			memcpy(buf, f->v[i].data, n);
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			return buf;
		}
	return "";
}

/* NetbootMachine with f for mi's first lease, then the enrolment. */
static int netboot_and_enrol(struct hc *h, const char *doing, struct srpc_client *hv,
			     const struct hc_signer *s,
			     const struct fmapi_get_machine_info_response *mi,
			     const struct hc_files *f)
{
	const struct fmapi_network_entry *e = first_lease(mi);
	char token[128];
	int rc;

	if (!e)
		return hc_fail(doing, "no IP and MAC addresses matching a subnet");
	file_text(f, "enrol-token", token, sizeof(token));
	rc = netboot(h, doing, hv, e->host_ip, e->host_mac, api_str(mi->machine.net.hostname), f);
	if (rc == 0)
		rc = hc_enrol(h, doing, s, mi, e->host_ip, token,
			      h->o.netboot_timeout_ns + h->o.netboot_files_timeout_ns);
	explicit_bzero(token, sizeof(token));
	return rc;
}

static int cmd_netboot_host(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct fmapi_get_machine_info_response mi;
	struct hc_signer *s = NULL;
	struct hc_files f = {0};
	struct srpc_client *hv = NULL;
	char name[256];
	bool owned = false;
	int rc;

	(void)argc;
	if (hc_signer_load(h, c->doing, &s))
		return 1;
	if (hc_machine_info(h, c->doing, argv[0], &mi)) {
		hc_signer_free(s);
		return 1;
	}
	rc = hc_install_config(h, c->doing, &mi,
			       HC_CFG_RANDOM_SEED | HC_CFG_CA_FILES | HC_CFG_ENROL_TOKEN, &f);
	if (rc == 0)
		rc = pick_hypervisor(
		    h, c->doing, *api_str(mi.location) ? mi.location : api_str(mi.machine.location),
		    &hv, &owned, name, sizeof(name));
	if (rc == 0) {
		hc_progress("boot server: %s", name);
		rc = netboot_and_enrol(h, c->doing, hv, s, &mi, &f);
	}
	if (owned)
		srpc_client_close(hv);
	hc_files_clear(&f);
	api_clear(&fmapi_get_machine_info_response_type, &mi);
	hc_signer_free(s);
	return rc;
}

/* ---- netboot-vm ---- */

/* What an interruption must undo: the VM on the boot server (cleaner thread). */
static struct {
	pthread_mutex_t lock;
	struct hc *h;
	char host[256];
	struct in_addr vm;
	sigset_t set;
} cleanup = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int destroy_vm(struct hc *h, const char *host, struct in_addr ip)
{
	struct hvapi_vm_token_request q = {.ip = ip};
	struct hvapi_error_response r = {0};
	struct srpc_client *cl;
	char ipt[INET_ADDRSTRLEN];
	int rc;

	inet_ntop(AF_INET, &ip, ipt, sizeof(ipt));
	hc_progress("destroying VM %s", ipt);
	/* A connection of its own: the command's may be in the middle of a call. */
	if (hc_dial(h, "destroying VM", host, h->o.hypervisor_port, &cl))
		return 1;
	rc = hc_call(cl, "destroying VM", HVAPI_M_DESTROY_VM, &hvapi_vm_token_request_type, &q,
		     &hvapi_error_response_type, &r);
	api_clear(&hvapi_error_response_type, &r);
	srpc_client_close(cl);
	return rc;
}

static void *cleaner(void *arg)
{
	int sig = 0;

	(void)arg;
	if (sigwait(&cleanup.set, &sig) != 0)
		return NULL;
	pthread_mutex_lock(&cleanup.lock);
	hc_progress("interrupted (signal %d)", sig);
	if (cleanup.vm.s_addr)
		destroy_vm(cleanup.h, cleanup.host, cleanup.vm);
	_exit(1);
}

/* SIGINT and SIGTERM go to the cleaner thread from now on. */
static int cleaner_start(struct hc *h, const char *doing, const char *host)
{
	pthread_t t;

	cleanup.h = h;
	snprintf(cleanup.host, sizeof(cleanup.host), "%s", host);
	sigemptyset(&cleanup.set);
	sigaddset(&cleanup.set, SIGINT);
	sigaddset(&cleanup.set, SIGTERM);
	sigaddset(&cleanup.set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &cleanup.set, NULL) != 0 ||
	    pthread_create(&t, NULL, cleaner, NULL) != 0)
		return hc_fail(doing, "starting the signal handler thread");
	pthread_detach(t);
	return 0;
}

static void cleanup_set_vm(struct in_addr ip)
{
	pthread_mutex_lock(&cleanup.lock);
	cleanup.vm = ip;
	pthread_mutex_unlock(&cleanup.lock);
}

/* The VM's request of spec/netboot.md §4.4 step 3. */
static int vm_request(struct hc *h, const char *doing, struct hvapi_create_vm_request *r)
{
	const struct flags_list *sz = &h->o.volume_sizes, *sn = &h->o.subnet_ids;
	uint64_t root = 16ull << 30;

	memset(r, 0, sizeof(*r));
	r->dhcp_timeout_ns = -1;
	r->enable_netboot = true;
	r->vm.console_type = HVAPI_CONSOLE_VNC;
	r->vm.hostname = HC_VM_HOSTNAME;
	r->vm.memory_mib = h->o.memory ? h->o.memory / MIB : 1024;
	r->vm.milli_cpus = 1000;
	r->vm.subnet_id = sn->v[0];
	if (sz->n && flags_parse_size(sz->v[0], &root) < 0)
		return hc_fail(doing, "-volumeSizes: bad size \"%s\"", sz->v[0]);
	r->minimum_free_bytes = root;
	if (sz->n > 1) {
		r->secondary_volumes.v = calloc(sz->n - 1, sizeof(*r->secondary_volumes.v));
		if (!r->secondary_volumes.v)
			return hc_fail(doing, "out of memory");
		for (size_t i = 1; i < sz->n; i++) {
			if (flags_parse_size(sz->v[i], &r->secondary_volumes.v[i - 1].size) < 0)
				return hc_fail(doing, "-volumeSizes: bad size \"%s\"", sz->v[i]);
			r->secondary_volumes.n = i;
		}
	}
	if (sn->n > 1) {
		r->vm.secondary_subnet_ids.v = sn->v + 1; /* borrowed */
		r->vm.secondary_subnet_ids.n = sn->n - 1;
	}
	return 0;
}

/* CreateVm (a stream of replies up to the final one): the new VM's address in *ip. */
static int create_vm(struct srpc_client *cl, const char *doing,
		     const struct hvapi_create_vm_request *r, struct in_addr *ip)
{
	struct srpc_conn *conn;
	json_t *j = hvapi_create_vm_request_to_json(r);
	int rc;

	if (!j)
		return hc_fail(doing, "out of memory");
	if (srpc_client_start(cl, HVAPI_M_CREATE_VM) < 0) {
		json_decref(j);
		return hc_fail(doing, "%s", srpc_client_error(cl));
	}
	conn = srpc_client_conn(cl);
	rc = srpc_conn_write_json(conn, j);
	json_decref(j);
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	if (rc < 0)
		return hc_fail(doing, "sending CreateVm: %s", strerror(-rc));
	for (;;) {
		struct hvapi_create_vm_response resp;
		char *err = NULL;

		rc = srpc_conn_read_json(conn, &j);
		if (rc < 0)
			return hc_fail(doing, "reading the CreateVm reply: %s", strerror(-rc));
		rc = api_decode_msg(&hvapi_create_vm_response_type, j, "CreateVmResponse", &resp,
				    &err);
		json_decref(j);
		if (rc < 0) {
			hc_fail(doing, "%s", err ? err : strerror(-rc));
			free(err);
			return 1;
		}
		if (*api_str(resp.error)) {
			hc_fail(doing, "CreateVm: %s", resp.error);
			api_clear(&hvapi_create_vm_response_type, &resp);
			return 1;
		}
		if (*api_str(resp.progress_message))
			hc_progress("%s", resp.progress_message);
		if (resp.final) {
			*ip = resp.ip;
			api_clear(&hvapi_create_vm_response_type, &resp);
			return 0;
		}
		api_clear(&hvapi_create_vm_response_type, &resp);
	}
}

/* Every -subnetIDs entry exists on the boot server; the subnets go into *out. */
static int check_subnets(struct hc *h, const char *doing, struct srpc_client *cl, const char *name,
			 struct hvapi_subnets *out)
{
	struct hvapi_list_subnets_request q = {0};
	struct hvapi_list_subnets_response r = {0};
	int rc = 0;

	if (hc_call(cl, doing, HVAPI_M_LIST_SUBNETS, &hvapi_list_subnets_request_type, &q,
		    &hvapi_list_subnets_response_type, &r))
		return 1;
	for (size_t i = 0; i < h->o.subnet_ids.n && rc == 0; i++) {
		size_t j;

		for (j = 0; j < r.subnets.n; j++)
			if (!strcmp(api_str(r.subnets.v[j].id), h->o.subnet_ids.v[i]))
				break;
		if (j == r.subnets.n)
			rc =
			    hc_fail(doing, "subnet %s not found on %s", h->o.subnet_ids.v[i], name);
	}
	if (rc == 0) {
		*out = r.subnets;
		r.subnets.v = NULL;
		r.subnets.n = 0;
	}
	api_clear(&hvapi_list_subnets_response_type, &r);
	return rc;
}

/* The GetMachineInfoResponse of the VM (spec/netboot.md §4.4 step 5): its addresses as
 * network entries, the subnets it is on. Takes ownership of *subnets. */
static int vm_machine_info(const char *doing, const struct hvapi_vm_info *vm,
			   struct hvapi_subnets *subnets,
			   struct fmapi_get_machine_info_response *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->subnets = *subnets;
	memset(subnets, 0, sizeof(*subnets));
	mi->machine.net.hostname = strdup(HC_VM_HOSTNAME);
	mi->machine.net.subnet_id = strdup(api_str(vm->subnet_id));
	mi->machine.net.host_ip = vm->address.ip;
	memcpy(mi->machine.net.host_mac, vm->address.mac, 6);
	if (vm->secondary_addresses.n) {
		mi->machine.secondary.v =
		    calloc(vm->secondary_addresses.n, sizeof(*mi->machine.secondary.v));
		if (!mi->machine.secondary.v)
			return hc_fail(doing, "out of memory");
		mi->machine.secondary.n = vm->secondary_addresses.n;
	}
	for (size_t i = 0; i < vm->secondary_addresses.n; i++) {
		struct fmapi_network_entry *e = &mi->machine.secondary.v[i];

		e->hostname = strdup(HC_VM_HOSTNAME);
		e->subnet_id = strdup(
		    i < vm->secondary_subnet_ids.n ? api_str(vm->secondary_subnet_ids.v[i]) : "");
		e->host_ip = vm->secondary_addresses.v[i].ip;
		memcpy(e->host_mac, vm->secondary_addresses.v[i].mac, 6);
		if (!e->hostname || !e->subnet_id)
			return hc_fail(doing, "out of memory");
	}
	if (!mi->machine.net.hostname || !mi->machine.net.subnet_id)
		return hc_fail(doing, "out of memory");
	return 0;
}

/* The VM exists (destroyed by the caller on failure): acknowledge it, read its
 * addresses, build its files, netboot it and enrol its installer. */
static int vm_boot(struct hc *h, const char *doing, struct srpc_client *hv,
		   const struct hc_signer *s, struct in_addr ip, struct hvapi_subnets *subnets)
{
	struct hvapi_ip_request q = {.ip = ip};
	struct hvapi_error_response ack = {0};
	struct hvapi_get_vm_info_response info = {0};
	struct fmapi_get_machine_info_response mi;
	struct hc_files f = {0};
	int rc;

	if (hc_call(hv, doing, HVAPI_M_ACKNOWLEDGE_VM, &hvapi_ip_request_type, &q,
		    &hvapi_error_response_type, &ack))
		return 1;
	api_clear(&hvapi_error_response_type, &ack);
	if (hc_call(hv, doing, HVAPI_M_GET_VM_INFO, &hvapi_ip_request_type, &q,
		    &hvapi_get_vm_info_response_type, &info))
		return 1;
	rc = vm_machine_info(doing, &info.vm_info, subnets, &mi);
	api_clear(&hvapi_get_vm_info_response_type, &info);
	if (rc == 0)
		rc = hc_install_config(h, doing, &mi, HC_CFG_CA_FILES | HC_CFG_ENROL_TOKEN, &f);
	if (rc == 0)
		rc = netboot_and_enrol(h, doing, hv, s, &mi, &f);
	hc_files_clear(&f);
	api_clear(&fmapi_get_machine_info_response_type, &mi);
	return rc;
}

static int cmd_netboot_vm(struct hc *h, const struct hc_cmd *c, int argc, char *const argv[])
{
	struct hvapi_subnets subnets = {0};
	struct hvapi_create_vm_request r = {0};
	struct hc_signer *s = NULL;
	struct srpc_client *hv = NULL, *cv = NULL;
	struct in_addr ip = {0};
	char name[256], ipt[INET_ADDRSTRLEN];
	bool owned = false;
	int rc;

	(void)argc;
	(void)argv;
	if (h->o.subnet_ids.n == 0)
		return hc_fail(c->doing, "no -subnetIDs given");
	if (*api_str(h->o.vnc_viewer))
		return hc_fail(c->doing, "-vncViewer is not supported by this hyper-control");
	if (hc_signer_load(h, c->doing, &s))
		return 1;
	rc = pick_hypervisor(h, c->doing, api_str(h->o.location), &hv, &owned, name, sizeof(name));
	if (rc == 0)
		rc = check_subnets(h, c->doing, hv, name, &subnets);
	if (rc == 0)
		rc = vm_request(h, c->doing, &r);
	/* CreateVm is a stream that ends the connection's use for other calls: a
	 * connection of its own. */
	if (rc == 0)
		rc = cleaner_start(h, c->doing, name);
	if (rc == 0)
		rc = hc_dial(h, c->doing, name, h->o.hypervisor_port, &cv);
	if (rc == 0) {
		rc = create_vm(cv, c->doing, &r, &ip);
		srpc_client_close(cv);
	}
	free(r.secondary_volumes.v);
	if (rc == 0) {
		cleanup_set_vm(ip);
		hc_progress("VM %s created on %s", inet_ntop(AF_INET, &ip, ipt, sizeof(ipt)), name);
		rc = vm_boot(h, c->doing, hv, s, ip, &subnets);
		pthread_mutex_lock(&cleanup.lock);
		if (rc != 0)
			destroy_vm(h, name, ip);
		else
			printf("%s\n", ipt);
		cleanup.vm.s_addr = 0;
		pthread_mutex_unlock(&cleanup.lock);
	}
	for (size_t i = 0; i < subnets.n; i++)
		api_clear(&hvapi_subnet_type, &subnets.v[i]);
	free(subnets.v);
	if (owned)
		srpc_client_close(hv);
	hc_signer_free(s);
	return rc;
}

const struct hc_cmd hc_netboot_cmds[] = {
    {"netboot-host", "hostname", 1, 1, cmd_netboot_host, "netbooting host",
     "Netboot the installer on a machine and enrol it"},
    {"netboot-machine", "MAC IP [hostname]", 2, 3, cmd_netboot_machine, "netbooting machine",
     "Netboot a machine with only the -netbootFiles"},
    {"netboot-vm", "", 0, 0, cmd_netboot_vm, "netbooting VM",
     "Create a VM that netboots the installer, and enrol it"},
    {"write-netboot-files", "hostname dirname", 2, 2, cmd_write_netboot_files,
     "writing netboot files", "Write a machine's installer configuration files"},
    {NULL, NULL, 0, 0, NULL, NULL, NULL},
};
