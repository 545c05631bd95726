/* fleet-sim: N simulated hypervisors in one process for bench/fleet/run.sh. It listens on
 * one port (0.0.0.0:6976 by default, in the bench's network namespace) and answers as
 * hypervisor i for a connection made to the local address base + i (everything in
 * 127.0.0.0/8 reaches loopback; getsockname says which one is meant). Each hypervisor
 * serves, like the real daemon:
 *   Hypervisor.GetUpdates    a first Update (HaveSubnets, NumFreeAddresses,
 *                            HaveAddressPool, HealthStatus "healthy", HaveVMs with a few
 *                            VMs, memory, CPUs, serial number), then an Update for every
 *                            change below and one answer per GetUpdatesRequest (the
 *                            Fleet Manager's keep-alive)
 *   Hypervisor.ChangeOwners, Hypervisor.UpdateSubnets (Add, Change, Delete),
 *   Hypervisor.ChangeAddressPool (AddressesToAdd, AddressesToRemove, MaximumFreeAddresses)
 * GET /stats on the same port answers counters as JSON (hypervisors with a GetUpdates
 * stream, calls per method, hypervisors whose pools hold at least -poolMark free
 * addresses in every managed subnet).
 * With -fleetManager (bench/rollout, tests/integration/hc_rollout.sh) each hypervisor
 * also has an upgrade agent as the appliance has (docs/hyper-control/rollout.md): one
 * FleetManager.GetUpdates stream tells every agent its RequiredImage tag; an agent whose
 * tag names another image checks it with ImageServer.CheckImage (-imageServer), takes
 * -upgradeTime, then runs it; a "bad" host's new image fails its health check and the
 * host falls back to the old image by itself after -fallbackTime. Each host serves
 *   GET /health              {"Healthy", "Failing", "Checks", "RunningImage", "Slot"}
 *   Hypervisor.GetUpgradeStatus, Hypervisor.ListVMs (hosts below -idle run no VM)
 * and the simulator GET /upgrades (every host's upgrades, with their start times) and
 * GET /control?bad=I,J&unhealthy=K&upgradeTime=MS (changes the injections).
 * Like real hypervisors, each one shows its own certificate (CN hv<i>, subjectAltName
 * its IP), made at its first handshake and signed with -CAkeyFile. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "api/hypervisor.h"
#include "flags.h"
#include "image/client.h"
#include "tls.h"
#include "listener.h"
#include "srpc.h"

#define SIM_WAKE_SIGNAL SIGUSR1

/* One simulated hypervisor. subnets and pool are JSON as the wire has them. */
struct sim_hv {
	pthread_mutex_t lock;
	json_t *subnets;    /* array of Subnet */
	json_t *pool;	    /* array of Address: the free addresses */
	json_t *owners;	    /* ChangeOwnersRequest */
	pthread_t streamer; /* the newest GetUpdates stream's thread, */
	bool has_streamer;  /* while it runs */
	unsigned streams;   /* GetUpdates streams open now */
	bool dirty;	    /* a change not yet sent on the stream */
	unsigned long gen;  /* changes so far */
	X509 *cert;	    /* made at the first handshake */
	/* the upgrade agent (under lock) */
	char running[128], required[128], refused[128]; /* refused: rolled back, not retried */
	char last_from[128], last_to[128], last_result[16], last_error[128];
	char last_time[32];
	char slot;	/* 'A' or 'B' */
	int ustate;	/* SIM_U_* */
	int64_t due_ms; /* end of the current upgrade step */
	bool bad, unhealthy;
	unsigned nup;	/* upgrades started */
	json_t *starts; /* [{"Image", "StartMs"}] */
};

enum { SIM_U_IDLE, SIM_U_FETCHING, SIM_U_REBOOTING, SIM_U_TRIAL, SIM_U_FAILED };
static const char *const sim_ustate_names[] = {"idle", "fetching", "rebooting", "trial", "failed"};

static struct sim_hv *hvs;
static uint32_t base_ip; /* host order */
static int nhv, nvms, pool_mark, nidle;
static int64_t upgrade_ms, fallback_ms;
static struct tls_client *agent_tls;
static const char *fm_addr, *is_addr;
static atomic_ulong n_streams, n_getupdates, n_keepalives, n_owners, n_subnets, n_pool, n_updates,
    n_refused;
static sigset_t wait_mask; /* the thread's mask without the wake signal */
static X509 *ca_cert;
static EVP_PKEY *ca_key, *leaf_key; /* one key for every hypervisor's certificate */

static void wake(int sig)
{
	(void)sig;
}

/* The hypervisor a connection was made to, NULL if its address is not one of ours. */
static struct sim_hv *sim_hv_of_fd(int fd, int *index)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	uint32_t a;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sin_family != AF_INET)
		return NULL;
	a = ntohl(sa.sin_addr.s_addr);
	if (a < base_ip || a - base_ip >= (uint32_t)nhv) {
		atomic_fetch_add(&n_refused, 1);
		return NULL;
	}
	*index = (int)(a - base_ip);
	return &hvs[a - base_ip];
}

static struct sim_hv *sim_hv_of(struct srpc_call *call, int *index)
{
	return sim_hv_of_fd(srpc_conn_fd(srpc_call_conn(call)), index);
}

static bool sim_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	bool ok;

	X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = e && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok;
}

/* Hypervisor i's certificate: CN hv<i>, subjectAltName IP:<its address>, 2 days. */
static X509 *sim_make_cert(int i)
{
	struct in_addr a = {.s_addr = htonl(base_ip + (uint32_t)i)};
	char cn[32], san[64], ip[INET_ADDRSTRLEN];
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(cn, sizeof(cn), "hv%05d", i);
	snprintf(san, sizeof(san), "IP:%s", ip);
	if (!x || !name || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + i) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0) !=
		1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1 ||
	    X509_set_pubkey(x, leaf_key) != 1 || !sim_ext(x, NID_subject_alt_name, san) ||
	    !sim_ext(x, NID_basic_constraints, "CA:FALSE") ||
	    !sim_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    X509_sign(x, ca_key, EVP_sha256()) <= 0) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(name);
	return x;
}

/* The handshake's certificate: the hypervisor's own (the default one for an address
 * that is not a hypervisor's). */
static int sim_cert_cb(SSL *ssl, void *arg)
{
	struct sim_hv *h;
	X509 *x;
	int i;

	(void)arg;
	h = sim_hv_of_fd(SSL_get_fd(ssl), &i);
	if (!h)
		return 1;
	pthread_mutex_lock(&h->lock);
	if (!h->cert)
		h->cert = sim_make_cert(i);
	x = h->cert;
	pthread_mutex_unlock(&h->lock);
	if (!x || SSL_use_certificate(ssl, x) != 1 || SSL_use_PrivateKey(ssl, leaf_key) != 1)
		return 0;
	return 1;
}

/* The CA that signs the hypervisors' certificates, and their key. */
static int sim_load_ca(const char *cert_file, const char *key_file)
{
	FILE *f = fopen(cert_file, "r");

	if (!f)
		return -errno;
	ca_cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(key_file, "r");
	if (!f)
		return -errno;
	ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	leaf_key = EVP_EC_gen("P-256");
	return ca_cert && ca_key && leaf_key ? 0 : -EINVAL;
}

static json_t *sim_ip(uint32_t host_order)
{
	struct in_addr a = {.s_addr = htonl(host_order)};
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	return json_string(s);
}

/* VM j of hypervisor i: 100.64.0.0/10 + i * nvms + j + 1 (no topology subnet has it). */
static json_t *sim_vms(int i)
{
	json_t *vms = json_object();
	int j;

	for (j = 0; j < nvms; j++) {
		uint32_t ip = (100u << 24 | 64u << 16) + (uint32_t)(i * nvms + j) + 1;
		char mac[18], name[64];
		json_t *ips = sim_ip(ip);

		snprintf(mac, sizeof(mac), "52:54:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 0xff,
			 (ip >> 8) & 0xff, ip & 0xff);
		snprintf(name, sizeof(name), "vm-%d-%d", i, j);
		json_object_set_new(
		    vms, json_string_value(ips),
		    json_pack(
			"{s:{s:O,s:s}, s:s, s:s, s:s, s:s, s:I, s:i, s:[s], s:s, s:s, s:{s:s},"
			" s:[{s:{}, s:I}]}",
			"Address", "IpAddress", ips, "MacAddress", mac, "ChangedStateOn",
			"2026-01-01T00:00:00Z", "CreatedOn", "2026-01-01T00:00:00Z",
			"IdentityExpires", "0001-01-01T00:00:00Z", "Hostname", name, "MemoryInMiB",
			(json_int_t)1024, "MilliCPUs", 1000, "OwnerUsers", "bench", "State",
			"running", "ImageName", "bench/vm", "Tags", "Name", name, "Volumes", "DFM",
			"Size", (json_int_t)1 << 30));
		json_decref(ips);
	}
	return vms;
}

/* Free addresses per subnet ("" for addresses in none of them). Caller holds the lock. */
static json_t *sim_num_free(struct sim_hv *h)
{
	json_t *counts = json_object(), *s, *a;
	size_t i, k;

	json_array_foreach(h->subnets, i, s)
	{
		struct in_addr gw, mask;
		unsigned n = 0;

		if (inet_pton(AF_INET, json_string_value(json_object_get(s, "IpGateway")), &gw) !=
			1 ||
		    inet_pton(AF_INET, json_string_value(json_object_get(s, "IpMask")), &mask) != 1)
			continue;
		json_array_foreach(h->pool, k, a)
		{
			struct in_addr ip;

			if (inet_pton(AF_INET, json_string_value(json_object_get(a, "IpAddress")),
				      &ip) == 1 &&
			    (ip.s_addr & mask.s_addr) == (gw.s_addr & mask.s_addr))
				n++;
		}
		json_object_set_new(counts, json_string_value(json_object_get(s, "Id")),
				    json_integer(n));
	}
	return counts;
}

/* The Update after a change (or the first one, full). Caller holds the lock. */
static json_t *sim_update(struct sim_hv *h, int i, bool full)
{
	json_t *u = json_pack("{s:b, s:O, s:b, s:O, s:o, s:s}", "HaveSubnets", 1, "Subnets",
			      h->subnets, "HaveAddressPool", 1, "AddressPool", h->pool,
			      "NumFreeAddresses", sim_num_free(h), "HealthStatus", "healthy");
	char serial[32];

	if (!full)
		return u;
	snprintf(serial, sizeof(serial), "SIM%06d", i);
	json_object_set_new(u, "ArchitectureType", json_string("amd64"));
	json_object_set_new(u, "AvailableMemoryInMiB", json_integer(65536 - 1024 * nvms));
	json_object_set_new(u, "HaveDisabled", json_true());
	json_object_set_new(u, "MemoryInMiB", json_integer(65536));
	json_object_set_new(u, "NumCPUs", json_integer(32));
	json_object_set_new(u, "HaveSerialNumber", json_true());
	json_object_set_new(u, "SerialNumber", json_string(serial));
	json_object_set_new(u, "TotalVolumeBytes", json_integer((json_int_t)4 << 40));
	json_object_set_new(u, "HaveVMs", json_true());
	json_object_set_new(u, "VMs", sim_vms(i));
	return u;
}

/* Marks a change and wakes the hypervisor's GetUpdates stream. Caller holds the lock. */
static void sim_changed(struct sim_hv *h)
{
	h->dirty = true;
	h->gen++;
	if (h->has_streamer)
		pthread_kill(h->streamer, SIM_WAKE_SIGNAL);
}

static int sim_send(struct srpc_conn *c, json_t *msg)
{
	int rc = srpc_conn_write_json(c, msg);

	json_decref(msg);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	return rc;
}

static int get_updates(struct srpc_call *call, void *arg)
{
	struct srpc_conn *c = srpc_call_conn(call);
	struct sim_hv *h;
	json_t *msg;
	int i, rc;

	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h)
		return -ENOENT;
	srpc_conn_set_timeout(c, 60000);
	pthread_mutex_lock(&h->lock);
	h->streamer = pthread_self();
	h->has_streamer = true;
	if (h->streams++ == 0)
		atomic_fetch_add(&n_streams, 1);
	h->dirty = false;
	msg = sim_update(h, i, true);
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_add(&n_getupdates, 1);
	rc = sim_send(c, msg);
	while (rc == 0) {
		struct pollfd p = {.fd = srpc_conn_fd(c), .events = POLLIN};
		int n = srpc_conn_pending(c) ? 1 : ppoll(&p, 1, NULL, &wait_mask);

		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (n > 0) { /* a GetUpdatesRequest: the keep-alive, answered at once */
			rc = srpc_conn_read_json(c, &msg);
			if (rc < 0)
				break;
			json_decref(msg);
			atomic_fetch_add(&n_keepalives, 1);
			/* What a hypervisor's heartbeat holds, its health included. */
			rc = sim_send(c, json_pack("{s:s, s:i}", "HealthStatus", "healthy",
						   "AvailableMemoryInMiB", 65536 - 1024 * nvms));
			if (rc < 0)
				break;
		}
		pthread_mutex_lock(&h->lock);
		msg = h->dirty ? sim_update(h, i, false) : NULL;
		h->dirty = false;
		pthread_mutex_unlock(&h->lock);
		if (msg) {
			atomic_fetch_add(&n_updates, 1);
			rc = sim_send(c, msg);
		}
	}
	pthread_mutex_lock(&h->lock);
	if (pthread_equal(h->streamer, pthread_self()))
		h->has_streamer = false;
	if (--h->streams == 0)
		atomic_fetch_sub(&n_streams, 1);
	pthread_mutex_unlock(&h->lock);
	return -ECONNRESET; /* no defined end: close the connection */
}

static int change_owners(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct sim_hv *h;
	int i;

	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h)
		return srpc_call_errorf(call, "no simulated hypervisor at this address");
	pthread_mutex_lock(&h->lock);
	json_decref(h->owners);
	h->owners = json_deep_copy(req);
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_add(&n_owners, 1);
	*resp = json_pack("{s:s}", "Error", "");
	return 0;
}

static json_t *sim_find(json_t *arr, const char *key, const char *value, size_t *at)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
	{
		const char *v = json_string_value(json_object_get(e, key));

		if (v && value && strcmp(v, value) == 0) {
			*at = i;
			return e;
		}
	}
	return NULL;
}

static int update_subnets(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	json_t *s, *del = json_object_get(req, "Delete");
	struct sim_hv *h;
	size_t k, at;
	int i;

	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h)
		return srpc_call_errorf(call, "no simulated hypervisor at this address");
	pthread_mutex_lock(&h->lock);
	json_array_foreach(json_object_get(req, "Add"), k, s)
	{
		const char *id = json_string_value(json_object_get(s, "Id"));

		if (sim_find(h->subnets, "Id", id, &at)) {
			pthread_mutex_unlock(&h->lock);
			return srpc_call_errorf(call, "subnet %s already exists", id);
		}
		json_array_append(h->subnets, s);
	}
	json_array_foreach(json_object_get(req, "Change"), k, s)
	{
		if (sim_find(h->subnets, "Id", json_string_value(json_object_get(s, "Id")), &at))
			json_array_set(h->subnets, at, s);
	}
	json_array_foreach(del, k, s)
	{
		if (sim_find(h->subnets, "Id", json_string_value(s), &at))
			json_array_remove(h->subnets, at);
	}
	sim_changed(h);
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_add(&n_subnets, 1);
	*resp = json_pack("{s:s}", "Error", "");
	return 0;
}

/* The pool's addresses in the subnet with this Id ("" = all), newest last. */
static void sim_trim(struct sim_hv *h, const char *id, size_t max)
{
	struct in_addr gw = {0}, mask = {0};
	json_t *s = NULL, *a;
	size_t at, n = 0, k;

	if (*id) {
		s = sim_find(h->subnets, "Id", id, &at);
		if (!s)
			return;
		inet_pton(AF_INET, json_string_value(json_object_get(s, "IpGateway")), &gw);
		inet_pton(AF_INET, json_string_value(json_object_get(s, "IpMask")), &mask);
	}
	for (k = json_array_size(h->pool); k-- > 0;) {
		struct in_addr ip = {0};

		a = json_array_get(h->pool, k);
		inet_pton(AF_INET, json_string_value(json_object_get(a, "IpAddress")), &ip);
		if ((ip.s_addr & mask.s_addr) != (gw.s_addr & mask.s_addr))
			continue;
		if (++n > max)
			json_array_remove(h->pool, k);
	}
}

static int change_address_pool(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	json_t *a, *max = json_object_get(req, "MaximumFreeAddresses");
	const char *id;
	struct sim_hv *h;
	size_t k, at;
	int i;

	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h)
		return srpc_call_errorf(call, "no simulated hypervisor at this address");
	pthread_mutex_lock(&h->lock);
	json_array_foreach(json_object_get(req, "AddressesToRemove"), k, a)
	{
		if (sim_find(h->pool, "IpAddress",
			     json_string_value(json_object_get(a, "IpAddress")), &at))
			json_array_remove(h->pool, at);
	}
	json_array_foreach(json_object_get(req, "AddressesToAdd"), k, a)
	{
		if (!sim_find(h->pool, "IpAddress",
			      json_string_value(json_object_get(a, "IpAddress")), &at))
			json_array_append(h->pool, a);
	}
	json_object_foreach(max, id, a)
	{
		sim_trim(h, id, (size_t)json_integer_value(a));
	}
	sim_changed(h);
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_add(&n_pool, 1);
	*resp = json_pack("{s:s}", "Error", "");
	return 0;
}

/* Hypervisors whose every Manage subnet has at least pool_mark free addresses. */
static int sim_pools_filled(void)
{
	int i, filled = 0;

	for (i = 0; i < nhv; i++) {
		struct sim_hv *h = &hvs[i];
		json_t *counts, *s;
		bool ok = true, managed = false;
		size_t k;

		pthread_mutex_lock(&h->lock);
		counts = sim_num_free(h);
		json_array_foreach(h->subnets, k, s)
		{
			if (!json_is_true(json_object_get(s, "Manage")))
				continue;
			managed = true;
			if (json_integer_value(json_object_get(
				counts, json_string_value(json_object_get(s, "Id")))) < pool_mark)
				ok = false;
		}
		pthread_mutex_unlock(&h->lock);
		json_decref(counts);
		if (ok && managed)
			filled++;
	}
	return filled;
}

/* ---- the upgrade agents ---- */

static int64_t sim_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sim_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sim_set(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

/* The last upgrade's result and its time. Caller holds the lock. */
static void sim_result(struct sim_hv *h, const char *result, const char *error)
{
	time_t t = time(NULL);
	struct tm tm;

	sim_set(h->last_result, sizeof(h->last_result), result);
	sim_set(h->last_error, sizeof(h->last_error), error);
	gmtime_r(&t, &tm);
	strftime(h->last_time, sizeof(h->last_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Dials addr with the agent's credentials, or NULL (printed). */
static struct srpc_client *sim_dial(const char *addr)
{
	struct srpc_client_config cfg = {.tls = agent_tls, .connect_timeout_ms = 5000};
	struct srpc_client *cl = NULL;
	char err[512];

	if (srpc_client_dial(addr, &cfg, &cl, err, sizeof(err)) < 0)
		fprintf(stderr, "fleet-sim: %s\n", err);
	return cl;
}

/* Host i's RequiredImage from a Machine of an Update. */
static void sim_machine(json_t *m)
{
	const char *ip = json_string_value(json_object_get(m, "HostIpAddress"));
	const char *req =
	    json_string_value(json_object_get(json_object_get(m, "Tags"), "RequiredImage"));
	struct in_addr a;
	uint32_t i;

	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return;
	i = ntohl(a.s_addr) - base_ip;
	if (i >= (uint32_t)nhv)
		return;
	pthread_mutex_lock(&hvs[i].lock);
	sim_set(hvs[i].required, sizeof(hvs[i].required), req);
	pthread_mutex_unlock(&hvs[i].lock);
}

/* One FleetManager.GetUpdates stream for every agent, dialled again when it ends. */
static void *sim_watch(void *arg)
{
	(void)arg;
	for (;;) {
		struct srpc_client *cl = sim_dial(fm_addr);
		struct srpc_conn *c;
		json_t *req, *msg;
		int rc;

		if (!cl) {
			sleep(1);
			continue;
		}
		rc = srpc_client_start(cl, "FleetManager.GetUpdates");
		c = srpc_client_conn(cl);
		req = json_pack("{s:b, s:s, s:i}", "IgnoreMissingLocalTags", 1, "Location", "",
				"MaxUpdates", 0);
		if (rc == 0)
			rc = srpc_conn_write_json(c, req);
		json_decref(req);
		if (rc == 0)
			rc = srpc_conn_flush(c);
		while (rc == 0 && (rc = srpc_conn_read_json(c, &msg)) == 0) {
			json_t *m;
			size_t k;

			json_array_foreach(json_object_get(msg, "ChangedMachines"), k, m)
			{
				sim_machine(m);
			}
			json_decref(msg);
		}
		fprintf(stderr, "fleet-sim: the Fleet Manager's update stream ended (%s)\n",
			rc < 0 ? strerror(-rc) : "closed");
		srpc_client_close(cl);
		sleep(1);
	}
	return NULL;
}

/* Whether the imageserver has image (false also when it cannot be asked). */
static bool sim_image_exists(struct srpc_client **is, const char *image)
{
	bool exists = false;

	if (!is_addr || !*is_addr)
		return true;
	if (!*is && !(*is = sim_dial(is_addr)))
		return false;
	if (imgclient_check_image(*is, image, &exists) < 0) {
		fprintf(stderr, "fleet-sim: CheckImage %s: %s\n", image, srpc_client_error(*is));
		srpc_client_close(*is);
		*is = NULL;
		return false;
	}
	return exists;
}

/* One step of host i's agent. */
static void sim_agent_step(struct srpc_client **is, int i, int64_t now)
{
	struct sim_hv *h = &hvs[i];
	char target[128];

	pthread_mutex_lock(&h->lock);
	if (h->ustate == SIM_U_REBOOTING && now >= h->due_ms) {
		sim_set(h->running, sizeof(h->running), h->last_to);
		h->slot = h->slot == 'A' ? 'B' : 'A';
		if (h->bad) { /* boots, fails its health check, falls back by itself */
			h->ustate = SIM_U_TRIAL;
			h->due_ms = now + fallback_ms;
		} else {
			h->ustate = SIM_U_IDLE;
			sim_result(h, "succeeded", "");
		}
	} else if (h->ustate == SIM_U_TRIAL && now >= h->due_ms) {
		sim_set(h->running, sizeof(h->running), h->last_from);
		sim_set(h->refused, sizeof(h->refused), h->last_to);
		h->slot = h->slot == 'A' ? 'B' : 'A';
		h->ustate = SIM_U_IDLE;
		sim_result(h, "rolled-back", "health check failed: libvirt");
	}
	if ((h->ustate != SIM_U_IDLE && h->ustate != SIM_U_FAILED) || !*h->required ||
	    strcmp(h->required, h->running) == 0 || strcmp(h->required, h->refused) == 0) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	sim_set(target, sizeof(target), h->required);
	h->ustate = SIM_U_FETCHING;
	pthread_mutex_unlock(&h->lock);
	if (!sim_image_exists(is, target)) {
		pthread_mutex_lock(&h->lock);
		h->ustate = SIM_U_FAILED;
		sim_set(h->last_from, sizeof(h->last_from), h->running);
		sim_set(h->last_to, sizeof(h->last_to), target);
		sim_set(h->refused, sizeof(h->refused), target);
		sim_result(h, "failed", "image not found on the imageserver");
		pthread_mutex_unlock(&h->lock);
		return;
	}
	pthread_mutex_lock(&h->lock);
	h->nup++;
	json_array_append_new(h->starts, json_pack("{s:s, s:I}", "Image", target, "StartMs",
						   (json_int_t)sim_wall_ms()));
	sim_set(h->last_from, sizeof(h->last_from), h->running);
	sim_set(h->last_to, sizeof(h->last_to), target);
	sim_result(h, "in-progress", "");
	h->ustate = SIM_U_REBOOTING;
	h->due_ms = now + upgrade_ms;
	pthread_mutex_unlock(&h->lock);
}

static void *sim_agents(void *arg)
{
	struct srpc_client *is = NULL;

	(void)arg;
	for (;;) {
		int64_t now = sim_mono_ms();

		for (int i = 0; i < nhv; i++)
			sim_agent_step(&is, i, now);
		usleep(5000);
	}
	return NULL;
}

/* The failing checks of host i. Caller holds the lock. */
static json_t *sim_failing(struct sim_hv *h)
{
	json_t *f = json_array();

	if (h->unhealthy || h->ustate == SIM_U_TRIAL)
		json_array_append_new(f, json_string("libvirt"));
	if (*h->required && strcmp(h->required, h->running) != 0)
		json_array_append_new(f, json_string("image"));
	return f;
}

/* GET /health of host i: 200 healthy, 503 not. */
static json_t *sim_health(int i, int *status)
{
	static const char *const checks[] = {"daemon",	 "libvirt",	   "dhcp", "tftp",
					     "metadata", "data-partition", "image"};
	struct sim_hv *h = &hvs[i];
	json_t *failing, *list = json_array(), *j;
	char slot[2];

	pthread_mutex_lock(&h->lock);
	failing = sim_failing(h);
	for (size_t k = 0; k < sizeof(checks) / sizeof(checks[0]); k++) {
		json_t *f;
		size_t n;
		bool ok = true;

		json_array_foreach(failing, n, f)
		{
			if (strcmp(json_string_value(f), checks[k]) == 0)
				ok = false;
		}
		json_array_append_new(list, json_pack("{s:s, s:b, s:s}", "Name", checks[k],
						      "Healthy", ok, "Detail", ""));
	}
	slot[0] = h->slot;
	slot[1] = '\0';
	*status = json_array_size(failing) == 0 ? 200 : 503;
	j = json_pack("{s:b, s:o, s:o, s:s, s:s}", "Healthy", *status == 200, "Failing", failing,
		      "Checks", list, "RunningImage", h->running, "Slot", slot);
	pthread_mutex_unlock(&h->lock);
	return j;
}

static int get_upgrade_status(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	struct sim_hv *h;
	char slot[2];
	int i;

	(void)req;
	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h)
		return srpc_call_errorf(call, "no simulated hypervisor at this address");
	pthread_mutex_lock(&h->lock);
	slot[0] = h->slot;
	slot[1] = '\0';
	*resp =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "RunningImage",
		      h->running, "RequiredImage", h->required, "Slot", slot, "DefaultSlot", slot,
		      "State", sim_ustate_names[h->ustate], "LastUpgrade", "FromImage",
		      h->last_from, "ToImage", h->last_to, "Result", h->last_result, "Error",
		      h->last_error, "Time", *h->last_time ? h->last_time : "0001-01-01T00:00:00Z");
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int list_vms(struct srpc_call *call, const json_t *req, json_t **resp, void *arg)
{
	json_t *ips = json_array();
	struct sim_hv *h;
	int i;

	(void)req;
	(void)arg;
	h = sim_hv_of(call, &i);
	if (!h) {
		json_decref(ips);
		return srpc_call_errorf(call, "no simulated hypervisor at this address");
	}
	for (int j = 0; i >= nidle && j < nvms; j++)
		json_array_append_new(
		    ips, sim_ip((100u << 24 | 64u << 16) + (uint32_t)(i * nvms + j) + 1));
	*resp = json_pack("{s:o}", "IpAddresses", ips);
	return 0;
}

/* "3,7" -> flag field set on those hosts (others cleared). */
static void sim_mark(const char *list, size_t off)
{
	for (int i = 0; i < nhv; i++) {
		pthread_mutex_lock(&hvs[i].lock);
		*(bool *)((char *)&hvs[i] + off) = false;
		pthread_mutex_unlock(&hvs[i].lock);
	}
	while (list && *list) {
		char *end;
		long i = strtol(list, &end, 10);

		if (end == list)
			break;
		if (i >= 0 && i < nhv) {
			pthread_mutex_lock(&hvs[i].lock);
			*(bool *)((char *)&hvs[i] + off) = true;
			pthread_mutex_unlock(&hvs[i].lock);
		}
		list = *end == ',' ? end + 1 : end;
	}
}

static json_t *sim_upgrades(void)
{
	json_t *j = json_object();

	for (int i = 0; i < nhv; i++) {
		struct sim_hv *h = &hvs[i];
		char name[32];

		snprintf(name, sizeof(name), "hv%05d", i);
		pthread_mutex_lock(&h->lock);
		json_object_set_new(j, name,
				    json_pack("{s:i, s:O, s:s, s:s, s:s}", "Upgrades", h->nup,
					      "Starts", h->starts, "Running", h->running,
					      "Required", h->required, "State",
					      sim_ustate_names[h->ustate]));
		pthread_mutex_unlock(&h->lock);
	}
	return j;
}

/* The host an HTTP connection was made to (-1: none). */
static int sim_http_host(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	int i = -1;

	if (ci && sim_hv_of_fd(ci->connect_fd, &i))
		return i;
	return -1;
}

static int sim_agents_start(const char *initial, const char *cert, const char *key, const char *ca)
{
	struct tls_client_config cfg = {.cert_file = cert, .key_file = key, .ca_file = ca};
	pthread_t t;
	char err[512];

	for (int i = 0; i < nhv; i++) {
		sim_set(hvs[i].running, sizeof(hvs[i].running), initial);
		hvs[i].slot = 'A';
		hvs[i].starts = json_array();
	}
	if (!fm_addr || !*fm_addr)
		return 0;
	if (tls_client_new(&cfg, &agent_tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-sim: agent credentials: %s\n", err);
		return -1;
	}
	if (pthread_create(&t, NULL, sim_watch, NULL) != 0 ||
	    pthread_create(&t, NULL, sim_agents, NULL) != 0)
		return -1;
	return 0;
}

static enum MHD_Result page(void *cls, struct MHD_Connection *conn, const char *url,
			    const char *method, const char *version, const char *upload_data,
			    size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	int status = 404;

	(void)cls;
	(void)method;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/health") == 0 && sim_http_host(conn) >= 0) {
		json_t *j = sim_health(sim_http_host(conn), &status);

		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!body)
			status = 500;
	} else if (strcmp(url, "/upgrades") == 0) {
		json_t *j = sim_upgrades();

		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		status = body ? 200 : 500;
	} else if (strcmp(url, "/control") == 0) {
		const char *v;

		if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "bad")))
			sim_mark(v, offsetof(struct sim_hv, bad));
		if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "unhealthy")))
			sim_mark(v, offsetof(struct sim_hv, unhealthy));
		if ((v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "upgradeTime")))
			upgrade_ms = strtoll(v, NULL, 10);
		body = strdup("{}");
		status = body ? 200 : 500;
	} else if (strcmp(url, "/stats") == 0) {
		json_t *j = json_pack(
		    "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "Hypervisors", nhv,
		    "Streaming", (json_int_t)atomic_load(&n_streams), "GetUpdates",
		    (json_int_t)atomic_load(&n_getupdates), "KeepAlives",
		    (json_int_t)atomic_load(&n_keepalives), "ChangeOwners",
		    (json_int_t)atomic_load(&n_owners), "UpdateSubnets",
		    (json_int_t)atomic_load(&n_subnets), "ChangeAddressPool",
		    (json_int_t)atomic_load(&n_pool), "UpdatesSent",
		    (json_int_t)atomic_load(&n_updates), "Refused",
		    (json_int_t)atomic_load(&n_refused), "PoolsFilled", sim_pools_filled());

		body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		status = body ? 200 : 500;
	}
	r = MHD_create_response_from_buffer(body ? strlen(body) : 0, body ? body : (char *)"",
					    body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const struct srpc_method methods[] = {
    {HVAPI_M_GET_UPDATES, SRPC_STREAM, SRPC_ACCESS_PUBLIC, NULL, get_updates, NULL, NULL},
    {HVAPI_M_CHANGE_OWNERS, SRPC_RR, SRPC_ACCESS_PUBLIC, change_owners, NULL, NULL, NULL},
    {HVAPI_M_UPDATE_SUBNETS, SRPC_RR, SRPC_ACCESS_PUBLIC, update_subnets, NULL, NULL, NULL},
    {HVAPI_M_CHANGE_ADDRESS_POOL, SRPC_RR, SRPC_ACCESS_PUBLIC, change_address_pool, NULL, NULL,
     NULL},
    {"Hypervisor.GetUpgradeStatus", SRPC_RR, SRPC_ACCESS_PUBLIC, get_upgrade_status, NULL, NULL,
     NULL},
    {HVAPI_M_LIST_VMS, SRPC_RR, SRPC_ACCESS_PUBLIC, list_vms, NULL, NULL, NULL},
};

/* lib/listener listens with a backlog of 128, right for one host; this port stands for
 * N hosts dialled at once, so its listening socket gets a backlog of its own size (a
 * second listen() on a listening socket only changes the backlog). */
static void sim_raise_backlog(int port, int backlog)
{
	int fd;

	for (fd = 3; fd < 64; fd++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		int on = 0;
		socklen_t olen = sizeof(on);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == 0 && on &&
		    getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.sin_family == AF_INET && ntohs(sa.sin_port) == port)
			listen(fd, backlog);
	}
}

int main(int argc, char **argv)
{
	const char *addr, *cert, *key, *ca, *ca_key_file, *base, *initial, *bad, *unhealthy;
	const char *agent_cert, *agent_key;
	int64_t upgrade_ns, fallback_ns;
	struct srpc_server_config scfg = {0};
	struct tls_server_config tcfg;
	struct listener_config lcfg = {0};
	struct tls_server *tls;
	struct srpc_server *srv;
	struct listener *l;
	struct flags *fs = flags_new("fleet-sim", NULL);
	struct sigaction sa = {.sa_handler = wake};
	pthread_attr_t attr;
	struct in_addr b;
	char err[512];
	sigset_t set;
	size_t i;
	int sig, rc;

	flags_string(fs, "addr", &addr, ":6976", "Address to listen on");
	flags_string(fs, "certFile", &cert, "", "Server certificate");
	flags_string(fs, "keyFile", &key, "", "Server key");
	flags_string(fs, "CAfile", &ca, "",
		     "CA.pem: issuer of the Fleet Manager's certificate and of the hypervisors'");
	flags_string(fs, "CAkeyFile", &ca_key_file, "", "Key of CA.pem, to sign the hypervisors'");
	flags_string(fs, "base", &base, "127.16.0.1", "Address of hypervisor 0");
	flags_int(fs, "n", &nhv, 100, "Number of hypervisors");
	flags_int(fs, "vms", &nvms, 3, "VMs per hypervisor");
	flags_int(fs, "poolMark", &pool_mark, 8, "Free addresses /stats counts as filled");
	flags_int(fs, "idle", &nidle, 0, "Hypervisors (the first ones) whose ListVMs is empty");
	flags_string(fs, "fleetManager", &fm_addr, "",
		     "host:port of the Fleet Manager: run the upgrade agents");
	flags_string(fs, "imageServer", &is_addr, "",
		     "host:port of the imageserver the agents check images with");
	flags_string(fs, "agentCertFile", &agent_cert, "", "The agents' client certificate");
	flags_string(fs, "agentKeyFile", &agent_key, "", "The agents' client key");
	flags_string(fs, "initialImage", &initial, "hypervisor/v1", "Image every host runs first");
	flags_duration(fs, "upgradeTime", &upgrade_ns, 2000000000LL,
		       "Time an upgrade takes (fetch, write, reboot)");
	flags_duration(fs, "fallbackTime", &fallback_ns, 1000000000LL,
		       "Time a bad image runs before the host falls back to the old one");
	flags_string(fs, "badHosts", &bad, "", "Hosts (indexes) whose new images fail health");
	flags_string(fs, "unhealthyHosts", &unhealthy, "", "Hosts (indexes) unhealthy throughout");
	flags_parse_or_exit(fs, argc, argv);
	if (nhv <= 0 || nvms < 0 || inet_pton(AF_INET, base, &b) != 1) {
		fprintf(stderr, "fleet-sim: bad -n, -vms or -base\n");
		return 2;
	}
	base_ip = ntohl(b.s_addr);
	upgrade_ms = upgrade_ns / 1000000;
	fallback_ms = fallback_ns / 1000000;
	hvs = calloc((size_t)nhv, sizeof(*hvs));
	if (!hvs)
		return 1;
	for (i = 0; i < (size_t)nhv; i++) {
		pthread_mutex_init(&hvs[i].lock, NULL);
		hvs[i].subnets = json_array();
		hvs[i].pool = json_array();
	}

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIM_WAKE_SIGNAL, &sa, NULL); /* no SA_RESTART: ppoll returns EINTR */
	/* Blocked everywhere (threads inherit it); ppoll opens the wake signal only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIM_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIM_WAKE_SIGNAL);
	sigdelset(&set, SIM_WAKE_SIGNAL);
	/* One thread per connection: small stacks for ten thousand of them. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_setattr_default_np(&attr);
	pthread_attr_destroy(&attr);

	tcfg = (struct tls_server_config){cert, key, ca, NULL};
	if (tls_server_new(&tcfg, &tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-sim: %s\n", err);
		return 1;
	}
	if (*ca_key_file) {
		if (sim_load_ca(ca, ca_key_file) < 0) {
			fprintf(stderr, "fleet-sim: cannot load %s and %s\n", ca, ca_key_file);
			return 1;
		}
		SSL_CTX_set_cert_cb(tls_server_ctx(tls), sim_cert_cb, NULL);
	}
	sim_mark(bad, offsetof(struct sim_hv, bad));
	sim_mark(unhealthy, offsetof(struct sim_hv, unhealthy));
	if (sim_agents_start(initial, agent_cert, agent_key, ca) < 0)
		return 1;
	scfg.tls = tls;
	scfg.max_conns = (unsigned)nhv + 1000;
	scfg.io_timeout_ms = 60000;
	scfg.hostname = "fleet-sim";
	srv = srpc_server_new(&scfg);
	if (!srv)
		return 1;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if ((rc = srpc_server_register(srv, &methods[i])) < 0) {
			fprintf(stderr, "fleet-sim: register %s: %s\n", methods[i].name,
				strerror(-rc));
			return 1;
		}
	}
	lcfg.addr = addr;
	lcfg.srpc = srv;
	lcfg.http = page;
	lcfg.max_conns = (unsigned)nhv + 1000;
	lcfg.max_per_source = (unsigned)nhv + 1000;
	lcfg.peek_timeout_ms = 30000;
	if (listener_start(&lcfg, &l, err, sizeof(err)) < 0) {
		fprintf(stderr, "fleet-sim: %s\n", err);
		return 1;
	}
	sim_raise_backlog(listener_port(l), nhv + 1000);
	printf("fleet-sim: %d hypervisors at %s.. on port %d\n", nhv, base, listener_port(l));
	fflush(stdout);
	sigwait(&set, &sig);
	/* The connection threads borrow everything, and N hypervisors' state is not worth
	 * freeing one by one: the process just ends (without a leak scan of it all). */
	listener_stop(l);
	fflush(stdout);
	_exit(0);
}
