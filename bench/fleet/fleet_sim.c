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
 * Like real hypervisors, each one shows its own certificate (CN hv<i>, subjectAltName
 * its IP), made at its first handshake and signed with -CAkeyFile. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "api/hypervisor.h"
#include "flags.h"
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
};

static struct sim_hv *hvs;
static uint32_t base_ip; /* host order */
static int nhv, nvms, pool_mark;
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
	if (strcmp(url, "/stats") == 0) {
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
	const char *addr, *cert, *key, *ca, *ca_key_file, *base;
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
	flags_parse_or_exit(fs, argc, argv);
	if (nhv <= 0 || nvms < 0 || inet_pton(AF_INET, base, &b) != 1) {
		fprintf(stderr, "fleet-sim: bad -n, -vms or -base\n");
		return 2;
	}
	base_ip = ntohl(b.s_addr);
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
