/* More Hypervisor.* methods: PowerOff (hypervisor.md §9), ListVmVirtualiserLogFiles and
 * GetVmVirtualiserLogFile (libvirt's QEMU log of the VM), RegisterExternalLeases
 * (netboot.md §1.6), WatchDhcp and TraceVmMetadata (rpc.md §5). The two watch streams
 * get their events from the DHCP server's packet hook and the metadata server's trace
 * hook through a small hub of watchers, each with a bounded queue and an eventfd. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "log.h"

extern char **environ;

#define DHCP_QUEUE 16	 /* rpc.md: WatchDhcp queue 16, overflow ends the stream */
#define TRACE_QUEUE 1024 /* metadata paths waiting for the next 100 ms flush */
#define TRACE_FLUSH_MS 100

/* ---- the watcher hub ---- */

struct item {
	char ifname[IFNAMSIZ];
	uint8_t *data;
	size_t len;
};

struct watcher {
	struct watcher *next;
	bool trace;	       /* TraceVmMetadata (else WatchDhcp) */
	char ifname[IFNAMSIZ]; /* WatchDhcp: "" = every interface */
	struct in_addr ip;     /* TraceVmMetadata: the VM */
	int efd;	       /* eventfd: the queue got something */
	struct item *q;	       /* ring of cap items */
	size_t cap, head, n;
	bool overflow;
};

static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static struct watcher *hub;

static void push(struct watcher *w, const char *ifname, const void *data, size_t len)
{
	struct item *it;
	uint64_t one = 1;

	if (w->n == w->cap) {
		w->overflow = true;
		(void)!write(w->efd, &one, sizeof(one));
		return;
	}
	it = &w->q[(w->head + w->n) % w->cap];
	it->data = malloc(len ? len : 1);
	if (it->data == NULL) {
		w->overflow = true;
		return;
	}
	memcpy(it->data, data, len);
	it->len = len;
	snprintf(it->ifname, sizeof(it->ifname), "%s", ifname ? ifname : "");
	w->n++;
	(void)!write(w->efd, &one, sizeof(one));
}

/* Takes the oldest item (false when empty). The caller frees out->data. */
static bool pop(struct watcher *w, struct item *out)
{
	bool got;

	pthread_mutex_lock(&hub_mu);
	got = w->n > 0;
	if (got) {
		*out = w->q[w->head];
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
	pthread_mutex_unlock(&hub_mu);
	return got;
}

static void dhcp_packet(void *arg, const char *ifname, const uint8_t *pkt, size_t len)
{
	(void)arg;
	pthread_mutex_lock(&hub_mu);
	for (struct watcher *w = hub; w != NULL; w = w->next)
		if (!w->trace && (w->ifname[0] == '\0' || strcmp(w->ifname, ifname) == 0))
			push(w, ifname, pkt, len);
	pthread_mutex_unlock(&hub_mu);
}

const struct netsvc_hooks rpc_more_netsvc_hooks = {.dhcp_packet = dhcp_packet};

void rpc_more_metadata_trace(void *ctx, struct in_addr ip, const char *path)
{
	(void)ctx;
	pthread_mutex_lock(&hub_mu);
	for (struct watcher *w = hub; w != NULL; w = w->next)
		if (w->trace && w->ip.s_addr == ip.s_addr)
			push(w, NULL, path, strlen(path));
	pthread_mutex_unlock(&hub_mu);
}

static struct watcher *watch_add(bool trace, const char *ifname, struct in_addr ip, size_t cap)
{
	struct watcher *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->q = calloc(cap, sizeof(*w->q));
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->q == NULL || w->efd < 0) {
		if (w->efd >= 0)
			close(w->efd);
		free(w->q);
		free(w);
		return NULL;
	}
	w->trace = trace;
	w->cap = cap;
	w->ip = ip;
	snprintf(w->ifname, sizeof(w->ifname), "%s", ifname ? ifname : "");
	pthread_mutex_lock(&hub_mu);
	w->next = hub;
	hub = w;
	pthread_mutex_unlock(&hub_mu);
	return w;
}

static void watch_remove(struct watcher *w)
{
	struct item it;

	pthread_mutex_lock(&hub_mu);
	for (struct watcher **p = &hub; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&hub_mu);
	while (pop(w, &it))
		free(it.data);
	close(w->efd);
	free(w->q);
	free(w);
}

/* Waits up to ms for the watcher or the client. 1: events may be queued, 0: timeout,
 * -ECONNRESET: the client went away (anything it sends is ignored). */
static int watch_wait(struct watcher *w, struct srpc_call *call, int ms)
{
	struct srpc_conn *c = srpc_call_conn(call);
	struct pollfd p[2] = {{.fd = w->efd, .events = POLLIN},
			      {.fd = srpc_conn_fd(c), .events = POLLIN}};
	uint64_t v;
	char junk[256];
	int n;

	if (srpc_conn_pending(c))
		return srpc_conn_read_some(c, junk, sizeof(junk)) > 0 ? 1 : -ECONNRESET;
	n = poll(p, 2, ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		if (srpc_conn_read_some(c, junk, sizeof(junk)) <= 0)
			return -ECONNRESET;
	}
	if (p[0].revents & POLLIN)
		(void)!read(w->efd, &v, sizeof(v));
	return n > 0;
}

/* ---- PowerOff ---- */

static int run_power_off(const char *cmd, char *err, size_t errsz)
{
	char *const argv[] = {(char *)cmd, NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, cmd, NULL, NULL, argv, environ), status;

	if (rc != 0) {
		snprintf(err, errsz, "running %s: %s", cmd, strerror(rc));
		return -rc;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errsz, "waiting for %s: %s", cmd, strerror(errno));
			return -errno;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsz, "%s failed (status %d)", cmd, status);
		return -EIO;
	}
	return 0;
}

/* A VM is shut down when it is stopped, or when it crashed / failed to start and
 * libvirt has no running domain for it (the §9 host shutdown records crashed). */
static bool vm_is_down(struct manager *m, struct vm *vm)
{
	enum hvapi_state s;

	pthread_mutex_lock(&vm->mu);
	s = vm->info.vm.state;
	pthread_mutex_unlock(&vm->mu);
	if (s == HVAPI_STATE_STOPPED)
		return true;
	if (s != HVAPI_STATE_CRASHED && s != HVAPI_STATE_FAILED_TO_START)
		return false;
	return m->virt == NULL || virt_is_running(m->virt, vm->ipstr) != 1;
}

static int power_off(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_power_off_request *q = req;
	struct vm **vms = NULL;
	size_t n = 0;
	int rc;

	(void)resp;
	log_info("%s asked to power off the host%s", srpc_call_auth(call)->username,
		 q->stop_vms ? ", stopping VMs" : "");
	if (q->stop_vms && r->m->virt != NULL)
		vmops_shutdown_all(r->m);
	rc = manager_vms(r->m, &vms, &n);
	if (rc < 0) {
		snprintf(err, errsz, "%s", strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!vm_is_down(r->m, vms[i])) {
			snprintf(err, errsz, "%s is not shut down", vms[i]->ipstr);
			rc = -EBUSY;
			goto out;
		}
	rc = run_power_off(r->cfg->power_off_command, err, errsz);
	if (rc == 0)
		log_info("host power-off started (%s)", r->cfg->power_off_command);
out:
	if (rc < 0)
		atomic_store(&r->m->shutting_down, false); /* the host stays up */
	manager_vms_free(vms, n);
	return rc;
}

/* ---- virtualiser logs ---- */

/* The log file name prefix of the VM: "<domain>.log". */
static void log_prefix(struct rpc *r, struct vm *vm, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s.log", r->m->domain_prefix, vm->ipstr);
}

static bool is_vm_log(const char *prefix, const char *name)
{
	size_t pl = strlen(prefix);

	return strncmp(name, prefix, pl) == 0 && (name[pl] == '\0' || name[pl] == '.');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_logs(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_ip_request *q = req;
	struct hvapi_list_vm_virtualiser_log_files_response *p = resp;
	const char *dir = r->cfg->virtualiser_log_directory;
	char prefix[128], path[4096];
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (vm == NULL)
		return -ENOENT;
	log_prefix(r, vm, prefix, sizeof(prefix));
	vm_unref(vm);
	d = opendir(dir);
	if (d == NULL)
		return 0; /* no logs yet */
	while ((de = readdir(d)) != NULL) {
		char **v;

		if (!is_vm_log(prefix, de->d_name))
			continue;
		v = realloc(p->filenames.v, (p->filenames.n + 1) * sizeof(*v));
		if (v == NULL)
			break;
		p->filenames.v = v;
		v[p->filenames.n] = strdup(de->d_name);
		if (v[p->filenames.n] != NULL)
			p->filenames.n++;
	}
	closedir(d);
	qsort(p->filenames.v, p->filenames.n, sizeof(char *), cmp_str);
	p->lengths.v = calloc(p->filenames.n ? p->filenames.n : 1, sizeof(uint64_t));
	if (p->lengths.v == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->lengths.n = p->filenames.n;
	for (size_t i = 0; i < p->filenames.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, p->filenames.v[i]);
		if (stat(path, &st) == 0)
			p->lengths.v[i] = (uint64_t)st.st_size;
	}
	return 0;
}

static int get_log(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_get_vm_virtualiser_log_file_request q = {0};
	struct hvapi_length_response resp = {0};
	char err[512] = "", prefix[128], path[4096], buf[65536];
	struct srpc_conn *c = srpc_call_conn(call);
	uint64_t left;
	struct vm *vm;
	struct stat st;
	int rc = rpc_read_request(call, &hvapi_get_vm_virtualiser_log_file_request_type, &q),
	    fd = -1;

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, NULL, err, sizeof(err));
	if (vm != NULL) {
		log_prefix(r, vm, prefix, sizeof(prefix));
		vm_unref(vm);
		if (q.filename == NULL || q.filename[0] == '\0' ||
		    strchr(q.filename, '/') != NULL || strcmp(q.filename, ".") == 0 ||
		    strcmp(q.filename, "..") == 0)
			snprintf(err, sizeof(err), "filename must be a plain basename");
		else if (!is_vm_log(prefix, q.filename))
			snprintf(err, sizeof(err), "%s is not a log file of this VM", q.filename);
		else {
			snprintf(path, sizeof(path), "%s/%s", r->cfg->virtualiser_log_directory,
				 q.filename);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
				snprintf(err, sizeof(err), "%s: %s", q.filename,
					 fd < 0 ? strerror(errno) : "not a regular file");
		}
	}
	api_clear(&hvapi_get_vm_virtualiser_log_file_request_type, &q);
	if (err[0] != '\0') {
		if (fd >= 0)
			close(fd);
		return rpc_write_error(call, &hvapi_length_response_type, err) < 0 ? -EIO : 0;
	}
	resp.length = (uint64_t)st.st_size;
	rc = rpc_write(call, &hvapi_length_response_type, &resp);
	for (left = resp.length; rc == 0 && left > 0;) {
		ssize_t got = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (got <= 0) {
			rc = -EIO; /* truncated under us: the client cannot be told otherwise */
			break;
		}
		rc = srpc_conn_write(c, buf, (size_t)got);
		left -= (uint64_t)got;
	}
	close(fd);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	return rc;
}

/* ---- RegisterExternalLeases ---- */

/* True when ip lies in one of the hypervisor's subnets (checked for every address
 * first, so that a refused request registers nothing). */
static bool in_subnet(struct manager *m, struct in_addr ip)
{
	bool found = false;

	pthread_rwlock_rdlock(&m->lock);
	for (size_t i = 0; !found && i < m->subnets.n; i++) {
		const struct hvapi_subnet *s = &m->subnets.v[i];

		found = s->ip_mask.s_addr != 0 && (ip.s_addr & s->ip_mask.s_addr) ==
						      (s->ip_gateway.s_addr & s->ip_mask.s_addr);
	}
	pthread_rwlock_unlock(&m->lock);
	return found;
}

static int register_leases(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
			   char *err, size_t errsz)
{
	const struct hvapi_register_external_leases_request *q = req;
	const struct hvapi_addresses *a = &q->addresses;
	struct netsvc_lease *l;
	char(*names)[INET_ADDRSTRLEN];
	int rc;

	(void)resp;
	if (r->m->netsvc == NULL) {
		snprintf(err, errsz, "DHCP server not running");
		return -ENOTCONN;
	}
	if (q->hostnames.n > a->n) {
		snprintf(err, errsz, "%zu hostnames for %zu addresses", q->hostnames.n, a->n);
		return -EINVAL;
	}
	for (size_t i = 0; i < a->n; i++) {
		static const uint8_t zero[6];

		if (a->v[i].ip.s_addr == 0) {
			snprintf(err, errsz, "address %zu: no IP address", i);
			return -EINVAL;
		}
		if (!in_subnet(r->m, a->v[i].ip)) {
			char ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &a->v[i].ip, ip, sizeof(ip));
			snprintf(err, errsz, "no subnet found for %s", ip);
			return -ENOENT;
		}
		if (memcmp(a->v[i].mac, zero, 6) == 0 || (a->v[i].mac[0] & 1)) {
			snprintf(err, errsz, "address %zu: bad MAC address", i);
			return -EINVAL;
		}
		if (i < q->hostnames.n && q->hostnames.v[i] != NULL &&
		    q->hostnames.v[i][0] != '\0' && !vm_hostname_valid(q->hostnames.v[i])) {
			snprintf(err, errsz, "bad hostname: %s", q->hostnames.v[i]);
			return -EINVAL;
		}
	}
	l = calloc(a->n ? a->n : 1, sizeof(*l));
	names = calloc(a->n ? a->n : 1, sizeof(*names));
	if (l == NULL || names == NULL) {
		free(l);
		free(names);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n; i++) {
		inet_ntop(AF_INET, &a->v[i].ip, names[i], sizeof(names[i]));
		memcpy(l[i].mac, a->v[i].mac, 6);
		l[i].ip = a->v[i].ip;
		l[i].kind = NETSVC_LEASE_EXTERNAL;
		l[i].hostname =
		    i < q->hostnames.n && q->hostnames.v[i] != NULL && q->hostnames.v[i][0] != '\0'
			? q->hostnames.v[i]
			: names[i];
	}
	rc = netsvc_external_replace(r->m->netsvc, l, a->n);
	if (rc == -ENOENT)
		snprintf(err, errsz, "no subnet found for one of the addresses");
	else if (rc < 0)
		snprintf(err, errsz, "registering leases: %s", strerror(-rc));
	else
		log_info("%s registered %zu external leases", srpc_call_auth(call)->username, a->n);
	free(l);
	free(names);
	return rc;
}

/* ---- WatchDhcp ---- */

static int watch_dhcp(struct srpc_call *call, void *arg)
{
	struct hvapi_watch_dhcp_request q = {0};
	struct hvapi_watch_dhcp_response m = {0};
	struct watcher *w = NULL;
	struct item it;
	uint32_t sent = 0;
	bool overflow;
	int rc = rpc_read_request(call, &hvapi_watch_dhcp_request_type, &q);

	(void)arg;
	if (rc < 0)
		return rc;
	if (q.interface != NULL && q.interface[0] != '\0' &&
	    (strlen(q.interface) >= IFNAMSIZ || if_nametoindex(q.interface) == 0)) {
		char err[IFNAMSIZ + 64];

		snprintf(err, sizeof(err), "unknown interface: %.*s", IFNAMSIZ, q.interface);
		rc = rpc_write_error(call, &hvapi_watch_dhcp_response_type, err) < 0 ? -EIO : 0;
		goto out;
	}
	w = watch_add(false, q.interface, (struct in_addr){0}, DHCP_QUEUE);
	if (w == NULL) {
		rc = rpc_write_error(call, &hvapi_watch_dhcp_response_type, "out of memory") < 0
			 ? -EIO
			 : 0;
		goto out;
	}
	log_info("%s watches DHCP on %s", srpc_call_auth(call)->username,
		 q.interface && q.interface[0] ? q.interface : "every interface");
	while (rc == 0 && (q.max_packets == 0 || sent < q.max_packets)) {
		while (rc == 0 && (q.max_packets == 0 || sent < q.max_packets) && pop(w, &it)) {
			m.interface = it.ifname;
			m.packet = (struct api_bytes){it.data, it.len};
			rc = rpc_write(call, &hvapi_watch_dhcp_response_type, &m);
			free(it.data);
			sent++;
		}
		pthread_mutex_lock(&hub_mu);
		overflow = w->overflow && w->n == 0;
		pthread_mutex_unlock(&hub_mu);
		if (rc == 0 && overflow) {
			rc = rpc_write_error(call, &hvapi_watch_dhcp_response_type,
					     "receiver not keeping up with DHCP packets");
			break;
		}
		if (rc == 0 && (q.max_packets == 0 || sent < q.max_packets))
			rc = watch_wait(w, call, 1000) < 0 ? -ECONNRESET : 0;
	}
out:
	if (w != NULL)
		watch_remove(w);
	api_clear(&hvapi_watch_dhcp_request_type, &q);
	return rc;
}

/* ---- TraceVmMetadata ---- */

static int trace_metadata(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_ip_request q = {0};
	struct hvapi_error_response ok = {0};
	struct srpc_conn *c = srpc_call_conn(call);
	char err[256] = "";
	struct watcher *w;
	struct item it;
	struct vm *vm;
	bool gone;
	int rc = rpc_read_request(call, &hvapi_ip_request_type, &q);

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, NULL, err, sizeof(err));
	if (vm == NULL)
		return rpc_write_error(call, &hvapi_error_response_type, err) < 0 ? -EIO : 0;
	w = watch_add(true, NULL, q.ip, TRACE_QUEUE);
	if (w == NULL) {
		vm_unref(vm);
		return rpc_write_error(call, &hvapi_error_response_type, "out of memory") < 0 ? -EIO
											      : 0;
	}
	rc = rpc_write(call, &hvapi_error_response_type, &ok);
	while (rc == 0) {
		rc = watch_wait(w, call, TRACE_FLUSH_MS) < 0 ? -ECONNRESET : 0;
		while (rc == 0 && pop(w, &it)) {
			rc = srpc_conn_write(c, it.data, it.len);
			if (rc == 0)
				rc = srpc_conn_write(c, "\n", 1);
			free(it.data);
		}
		pthread_mutex_lock(&vm->mu);
		gone = vm->removed;
		pthread_mutex_unlock(&vm->mu);
		if (rc == 0 && gone) {
			rc = srpc_conn_write(c, "VM destroyed\n\n", 14);
			if (rc == 0)
				rc = srpc_conn_flush(c);
			break;
		}
		if (rc == 0)
			rc = srpc_conn_flush(c);
	}
	watch_remove(w);
	vm_unref(vm);
	return rc;
}

/* ---- registration ---- */

static const struct rpc_rr rr_methods[] = {
    {HVAPI_M_LIST_VM_VIRTUALISER_LOG_FILES, list_logs},
    {HVAPI_M_POWER_OFF, power_off},
    {HVAPI_M_REGISTER_EXTERNAL_LEASES, register_leases},
    {NULL, NULL},
};

static const struct rpc_stream stream_methods[] = {
    {HVAPI_M_GET_VM_VIRTUALISER_LOG_FILE, get_log},
    {HVAPI_M_TRACE_VM_METADATA, trace_metadata},
    {HVAPI_M_WATCH_DHCP, watch_dhcp},
    {NULL, NULL},
};

int rpc_more_register(struct srpc_server *srv, struct rpc *r)
{
	int rc = 0;

	for (const struct rpc_rr *e = rr_methods; e->method != NULL && rc == 0; e++)
		rc = rpc_register_rr(srv, r, e);
	for (const struct rpc_stream *e = stream_methods; e->method != NULL && rc == 0; e++)
		rc = rpc_register_stream(srv, r, e);
	return rc;
}
