/* WatchDhcp and TraceVmMetadata (rpc.md §5): the two watch streams get their events
 * from the DHCP server's packet hook and the metadata server's trace hook through a
 * small hub of watchers, each with a bounded queue and an eventfd. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

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

const struct netsvc_hooks rpc_watch_netsvc_hooks = {.dhcp_packet = dhcp_packet};

void rpc_watch_metadata_trace(void *ctx, struct in_addr ip, const char *path)
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

/* ---- WatchDhcp ---- */

static int watch_dhcp(struct srpc_call *call, void *arg)
{
	struct hvapi_watch_dhcp_request q = {0};
	struct hvapi_watch_dhcp_response m = {0};
	struct watcher *w = NULL;
	struct item it;
	uint32_t sent = 0;
	bool overflow;
	int rc = rpc_read_request(call, &hvapi_watch_dhcp_request_type, &q,
				  &hvapi_watch_dhcp_response_type);

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
	int rc = rpc_read_request(call, &hvapi_ip_request_type, &q, &hvapi_error_response_type);

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

const struct rpc_method rpc_watch_methods[] = {
    {.name = HVAPI_M_TRACE_VM_METADATA, .stream = trace_metadata},
    {.name = HVAPI_M_WATCH_DHCP, .stream = watch_dhcp},
    {NULL},
};
