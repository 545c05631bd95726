/* ss-netsvc: runs the hypervisor's DHCP, TFTP and HTTP boot services alone, from a
 * JSON configuration. Used by the network-service tests and benchmarks, and handy
 * for serving netboot on a bench bridge.
 *
 *   ss-netsvc [-v] CONFIG.json
 *
 * Configuration (every key optional):
 *   state_dir, tftp_root, boot_template ("pxelinux.%d"), boot_map {"7": "x.efi"},
 *   interfaces ["br0"], bridges_only, dhcp_port, tftp_port, no_dhcp, no_tftp,
 *   http_port (serves http_path "/boot/" and "/status"), http_path,
 *   http_boot (default true: DHCP hands iPXE/HTTP clients URLs on http_port), send_ra,
 *   tftp_max_transfers, tftp_max_per_client, tftp_max_window, tftp_timeout_ms,
 *   tftp_retries, peer_log_rate, peer_log_burst,
 *   subnets [Subnet objects as in hypervisor.md §6.1],
 *   leases [{"mac", "ip", "hostname", "kind": "vm"|"external"|"netboot",
 *            netboot only: "files" {name: text}, "file_paths" {name: path},
 *            "wait_acks" N, "wait_timeout" s, "offer_expiration" s,
 *            "files_expiration" s}],
 *   files [{"ip", "mac" (optional), "files" {...}, "file_paths" {...}}]
 * A netboot lease with wait_acks runs NetbootMachine's wait and logs
 * "netboot <ip>: <N> acknowledgements" or the error. SIGINT/SIGTERM stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/netsvc/evloop.h"
#include "daemon/hypervisor/netsvc/boot_mhd.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "json.h"
#include "log.h"

static int get_addr(json_t *o, const char *key, struct in_addr *out)
{
	const char *s = json_string_value(json_object_get(o, key));
	out->s_addr = 0;
	if (!s || !*s)
		return -ENOENT;
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* Files of an entry: inline "files" {name: text} and "file_paths" {name: path}. */
struct fileset {
	struct netboot_file *f;
	char **bufs;
	size_t n;
};

static void fileset_free(struct fileset *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->bufs[i]);
	free(fs->bufs);
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long l = ftell(f);
		if (l >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)l + 1))) {
			*len = fread(buf, 1, (size_t)l, f);
			buf[*len] = 0;
		}
	}
	fclose(f);
	return buf;
}

static int parse_files(json_t *o, struct fileset *fs)
{
	json_t *inl = json_object_get(o, "files"), *paths = json_object_get(o, "file_paths");
	size_t n = json_object_size(inl) + json_object_size(paths);
	const char *k;
	json_t *v;
	memset(fs, 0, sizeof(*fs));
	if (!n)
		return 0;
	fs->f = calloc(n, sizeof(*fs->f));
	fs->bufs = calloc(n, sizeof(char *));
	if (!fs->f || !fs->bufs)
		return -ENOMEM;
	json_object_foreach(inl, k, v)
	{
		const char *text = json_string_value(v);
		fs->bufs[fs->n] = strdup(text ? text : "");
		if (!fs->bufs[fs->n])
			return -ENOMEM;
		fs->f[fs->n] = (struct netboot_file){
		    .name = k, .data = fs->bufs[fs->n], .len = strlen(fs->bufs[fs->n])};
		fs->n++;
	}
	json_object_foreach(paths, k, v)
	{
		size_t len = 0;
		const char *p = json_string_value(v);
		fs->bufs[fs->n] = p ? read_file(p, &len) : NULL;
		if (!fs->bufs[fs->n]) {
			log_info("ss-netsvc: cannot read %s", p ? p : "(null)");
			return -ENOENT;
		}
		fs->f[fs->n] =
		    (struct netboot_file){.name = k, .data = fs->bufs[fs->n], .len = len};
		fs->n++;
	}
	return 0;
}

struct waiter {
	struct netsvc *ns;
	uint64_t token;
	unsigned n;
	int64_t deadline, files_exp;
	char ip[INET_ADDRSTRLEN];
	pthread_t th;
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	int rc = netsvc_netboot_wait(w->ns, w->token, w->n, w->deadline);
	if (rc == 0)
		log_info("netboot %s: %u acknowledgements", w->ip, w->n);
	else
		log_info("netboot %s: %s", w->ip,
			 rc == -ETIMEDOUT ? "timed out receiving lease acknowledgement"
					  : strerror(-rc));
	netsvc_netboot_end(w->ns, w->token, rc == 0, w->files_exp);
	return NULL;
}

static int64_t secs(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? (int64_t)(json_number_value(v) * 1000) : dflt;
}

#define MAX_WAITERS 64
static struct waiter *waiters[MAX_WAITERS];
static size_t nwaiters;

static int add_lease(struct netsvc *ns, json_t *o)
{
	struct in_addr ip;
	uint8_t mac[6];
	const char *ms = json_string_value(json_object_get(o, "mac"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *host = json_string_value(json_object_get(o, "hostname"));
	if (get_addr(o, "ip", &ip) < 0 || !ms || sjson_parse_mac(ms, mac) < 0)
		return -EINVAL;
	if (!kind || strcmp(kind, "netboot") != 0) {
		struct netsvc_lease l = {.ip = ip,
					 .hostname = host,
					 .kind = kind && !strcmp(kind, "external")
						     ? NETSVC_LEASE_EXTERNAL
						     : NETSVC_LEASE_VM};
		memcpy(l.mac, mac, 6);
		return netsvc_lease_add(ns, &l);
	}
	struct fileset fs;
	int rc = parse_files(o, &fs);
	int64_t now = evloop_wall_ms();
	int64_t wait = secs(o, "wait_timeout", 60000);
	struct netsvc_netboot nb = {.ip = ip,
				    .hostname = host,
				    .files = fs.f,
				    .nfiles = fs.n,
				    .offer_expires_ms = now + secs(o, "offer_expiration", 3600000),
				    .files_expires_ms = now + secs(o, "files_expiration", 3600000)};
	memcpy(nb.mac, mac, 6);
	uint64_t token = 0;
	if (rc == 0)
		rc = netsvc_netboot_begin(ns, &nb, &token);
	fileset_free(&fs);
	json_t *wa = json_object_get(o, "wait_acks");
	if (rc < 0 || !json_is_integer(wa))
		return rc;
	struct waiter *w = nwaiters < MAX_WAITERS ? calloc(1, sizeof(*w)) : NULL;
	if (!w)
		return -ENOMEM;
	*w = (struct waiter){.ns = ns,
			     .token = token,
			     .n = (unsigned)json_integer_value(wa),
			     .deadline = now + wait,
			     .files_exp = now + secs(o, "files_expiration", 61000)};
	inet_ntop(AF_INET, &ip, w->ip, sizeof(w->ip));
	rc = pthread_create(&w->th, NULL, wait_main, w);
	if (rc) {
		free(w);
		return -rc;
	}
	waiters[nwaiters++] = w;
	return 0;
}

static int add_files(struct netsvc *ns, json_t *o)
{
	struct in_addr ip;
	uint8_t mac[6];
	const char *ms = json_string_value(json_object_get(o, "mac"));
	struct fileset fs;
	if (get_addr(o, "ip", &ip) < 0 || (ms && sjson_parse_mac(ms, mac) < 0))
		return -EINVAL;
	int rc = parse_files(o, &fs);
	if (rc == 0)
		rc = netsvc_files_set(ns, ip, ms ? mac : NULL, fs.f, fs.n, 0);
	fileset_free(&fs);
	return rc;
}

struct http_ctx {
	struct netsvc *ns;
	const char *path;
};

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_size, void **state)
{
	struct http_ctx *hc = cls;
	struct MHD_Response *resp;
	unsigned status;
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	size_t plen = strlen(hc->path);
	if (!strcmp(url, "/status")) {
		json_t *st = netsvc_status_json(hc->ns);
		char *text = st ? json_dumps(st, JSON_INDENT(2)) : NULL;
		json_decref(st);
		if (!text)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		status = 200;
	} else if (!strncmp(url, hc->path, plen)) {
		return netsvc_mhd_boot(hc->ns, c, url + plen);
	} else {
		static char msg[] = "not found\n";
		resp =
		    MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		status = 404;
	}
	if (!resp)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int setup(struct netsvc *ns, json_t *cfg)
{
	struct hvapi_subnets subs = {0};
	struct sjson_dec d;
	json_t *v;
	size_t i;
	sjson_dec_init(&d, "config");
	int rc = hvapi_subnets_from_json(&d, json_object_get(cfg, "subnets"), &subs);
	if (rc < 0) {
		log_info("ss-netsvc: subnets: %s",
			 sjson_dec_error(&d) ? sjson_dec_error(&d) : strerror(-rc));
		sjson_dec_fini(&d);
		return rc;
	}
	sjson_dec_fini(&d);
	rc = netsvc_set_api_subnets(ns, &subs);
	hvapi_subnets_clear(&subs);
	if (rc < 0)
		return rc;
	json_array_foreach(json_object_get(cfg, "leases"), i, v)
	{
		if ((rc = add_lease(ns, v)) < 0) {
			log_info("ss-netsvc: lease %zu: %s", i, strerror(-rc));
			return rc;
		}
	}
	json_array_foreach(json_object_get(cfg, "files"), i, v)
	{
		if ((rc = add_files(ns, v)) < 0) {
			log_info("ss-netsvc: files %zu: %s", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static const char *str(json_t *cfg, const char *key)
{
	return json_string_value(json_object_get(cfg, key));
}

static unsigned num(json_t *cfg, const char *key)
{
	return (unsigned)json_integer_value(json_object_get(cfg, key));
}

int main(int argc, char **argv)
{
	json_error_t jerr;
	int argi = 1, rc = 1;
	struct log_config lc = {.to_stderr = true, .debug_level = -1};
	if (argi < argc && !strcmp(argv[argi], "-v")) {
		lc.debug_level = 1;
		argi++;
	}
	log_init(&lc);
	if (argi != argc - 1) {
		fprintf(stderr, "usage: ss-netsvc [-v] CONFIG.json\n");
		return 2;
	}
	json_t *cfg = json_load_file(argv[argi], 0, &jerr);
	if (!cfg) {
		fprintf(stderr, "ss-netsvc: %s:%d: %s\n", argv[argi], jerr.line, jerr.text);
		return 2;
	}

	const char *ifn[33] = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "interfaces"), i, v) if (i < 32) ifn[i] =
	    json_string_value(v);
	struct dhcp_boot_map map[16];
	size_t nmap = 0;
	const char *k;
	json_object_foreach(json_object_get(cfg, "boot_map"), k, v)
	{
		if (nmap < 16 && json_string_value(v))
			map[nmap++] = (struct dhcp_boot_map){.arch = (uint16_t)atoi(k),
							     .file = json_string_value(v)};
	}
	struct netsvc_config c = {
	    .state_dir = str(cfg, "state_dir"),
	    .tftp_root = str(cfg, "tftp_root"),
	    .boot_template = str(cfg, "boot_template"),
	    .boot_map = map,
	    .nboot_map = nmap,
	    .interfaces = ifn[0] ? ifn : NULL,
	    .bridges_only = json_is_true(json_object_get(cfg, "bridges_only")),
	    .dhcp_port = (uint16_t)num(cfg, "dhcp_port"),
	    .tftp_port = (uint16_t)num(cfg, "tftp_port"),
	    .no_dhcp = json_is_true(json_object_get(cfg, "no_dhcp")),
	    .no_tftp = json_is_true(json_object_get(cfg, "no_tftp")),
	    .http_port = json_is_false(json_object_get(cfg, "http_boot"))
			     ? 0
			     : (uint16_t)num(cfg, "http_port"),
	    .http_path = str(cfg, "http_path"),
	    .send_ra = json_is_true(json_object_get(cfg, "send_ra")),
	    .tftp_max_transfers = num(cfg, "tftp_max_transfers"),
	    .tftp_max_per_client = num(cfg, "tftp_max_per_client"),
	    .tftp_max_window = num(cfg, "tftp_max_window"),
	    .tftp_timeout_ms = num(cfg, "tftp_timeout_ms"),
	    .tftp_retries = num(cfg, "tftp_retries"),
	    .peer_log_rate = num(cfg, "peer_log_rate"),
	    .peer_log_burst = num(cfg, "peer_log_burst"),
	};
	struct netsvc_hooks hooks = {0};
	struct MHD_Daemon *httpd = NULL;
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct netsvc *ns = netsvc_new(&c, &hooks);
	if (!ns)
		goto out;
	if (setup(ns, cfg) < 0)
		goto out;
	if (netsvc_start(ns) < 0)
		goto out;
	struct http_ctx hc = {.ns = ns, .path = c.http_path ? c.http_path : "/boot/"};
	uint16_t http_port = (uint16_t)num(cfg, "http_port");
	if (http_port) {
		httpd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, http_port, NULL, NULL,
					 http_handler, &hc, MHD_OPTION_CONNECTION_TIMEOUT,
					 (unsigned)30, MHD_OPTION_END);
		if (!httpd) {
			log_info("ss-netsvc: HTTP on port %u failed", http_port);
			goto out;
		}
	}
	log_info("ss-netsvc: ready");
	int sig;
	sigwait(&sigs, &sig);
	log_info("ss-netsvc: signal %d, stopping", sig);
	rc = 0;
out:
	if (httpd)
		MHD_stop_daemon(httpd);
	if (ns)
		netsvc_stop(ns); /* waiters return -ECANCELED */
	for (size_t w = 0; w < nwaiters; w++) {
		pthread_join(waiters[w]->th, NULL);
		free(waiters[w]);
	}
	netsvc_free(ns);
	json_decref(cfg);
	log_shutdown();
	return rc;
}
