/* The libvirt backend (see virt.h). Two threads: libvirt's default event loop, which
 * delivers lifecycle events, and a reconnect thread that re-opens the connection after
 * libvirtd went away. API calls take a reference on the current connection under a
 * mutex and run without it. */
#include "daemon/hypervisor/vmm/libvirt/virt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

struct virt {
	char *uri;
	char *prefix;
	size_t prefix_len;
	virt_event_fn fn;
	void *arg;

	pthread_mutex_t mu;
	pthread_cond_t cond; /* reconnect thread waits on it */
	virConnectPtr conn;  /* NULL while disconnected */
	virConnectPtr dead;  /* lost connection, closed by the reconnect thread */
	int lifecycle_id;
	int watchdog_id;
	int stopping;

	atomic_int loop_stop;
	int wake_timer;
	pthread_t loop_thread;
	pthread_t reconnect_thread;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void silent_error(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

static void global_init(void)
{
	virSetErrorFunc(NULL, silent_error);
	init_rc = virInitialize() < 0 || virEventRegisterDefaultImpl() < 0 ? -EIO : 0;
}

static void last_error(char *err, size_t errsz, const char *what)
{
	virErrorPtr e = virGetLastError();

	if (err == NULL || errsz == 0)
		return;
	snprintf(err, errsz, "%s: %s", what,
		 e && e->message ? e->message : "unknown libvirt error");
}

static int last_error_code(void)
{
	virErrorPtr e = virGetLastError();

	if (e == NULL)
		return -EIO;
	if (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID)
		return -ENOENT;
	if (e->code == VIR_ERR_SYSTEM_ERROR && e->domain == VIR_FROM_RPC)
		return -ENOTCONN;
	if (e->code == VIR_ERR_INTERNAL_ERROR && e->message &&
	    strstr(e->message, "client socket is closed"))
		return -ENOTCONN;
	return -EIO;
}

/* The VM part of a domain name of ours, or NULL. */
static const char *our_vm(const struct virt *v, const char *name)
{
	if (name == NULL || strncmp(name, v->prefix, v->prefix_len) != 0 ||
	    name[v->prefix_len] == '\0')
		return NULL;
	return name + v->prefix_len;
}

static void emit(struct virt *v, enum virt_event_kind kind, const char *vm)
{
	struct virt_event ev = {.kind = kind, .vm = vm};

	v->fn(&ev, v->arg);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct virt *v = opaque;
	const char *vm = our_vm(v, virDomainGetName(dom));

	(void)conn;
	if (vm == NULL)
		return 0;
	if (event == VIR_DOMAIN_EVENT_STARTED) {
		emit(v, VIRT_EV_STARTED, vm);
	} else if (event == VIR_DOMAIN_EVENT_STOPPED) {
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
			emit(v, VIRT_EV_SHUTDOWN, vm);
			break;
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
			emit(v, VIRT_EV_DESTROYED, vm);
			break;
		default:
			emit(v, VIRT_EV_CRASHED, vm);
			break;
		}
	} else if (event == VIR_DOMAIN_EVENT_CRASHED) {
		emit(v, VIRT_EV_CRASHED, vm);
	}
	return 0;
}

static void on_watchdog(virConnectPtr conn, virDomainPtr dom, int action, void *opaque)
{
	struct virt *v = opaque;
	const char *vm = our_vm(v, virDomainGetName(dom));

	(void)conn;
	if (vm != NULL && action == VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF)
		emit(v, VIRT_EV_WATCHDOG, vm);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct virt *v = opaque;
	int lost = 0;

	(void)reason;
	pthread_mutex_lock(&v->mu);
	if (v->conn == conn) {
		/* Our reference is dropped outside libvirt's callback. */
		v->dead = conn;
		v->conn = NULL;
		lost = 1;
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->mu);
	if (lost)
		emit(v, VIRT_EV_DISCONNECTED, NULL);
}

/* Opens the connection and registers callbacks; on success installs it in v. */
static int connect_once(struct virt *v, char *err, size_t errsz)
{
	virConnectPtr c = virConnectOpen(v->uri);
	int lc, wd;

	if (c == NULL) {
		last_error(err, errsz, v->uri);
		return -ENOTCONN;
	}
	lc = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), v, NULL);
	wd = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_WATCHDOG,
					      VIR_DOMAIN_EVENT_CALLBACK(on_watchdog), v, NULL);
	if (lc < 0 || wd < 0) {
		last_error(err, errsz, "registering for domain events");
		virConnectClose(c);
		return -EIO;
	}
	/* Keep-alive lets the client notice a dead libvirtd (5 s interval, 3 misses). */
	virConnectSetKeepAlive(c, 5, 3);
	virConnectRegisterCloseCallback(c, on_close, v, NULL);
	pthread_mutex_lock(&v->mu);
	v->conn = c;
	v->lifecycle_id = lc;
	v->watchdog_id = wd;
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static void *loop_main(void *arg)
{
	struct virt *v = arg;

	while (!atomic_load(&v->loop_stop))
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

static void *reconnect_main(void *arg)
{
	struct virt *v = arg;

	pthread_mutex_lock(&v->mu);
	while (!v->stopping) {
		struct timespec ts;

		if (v->dead != NULL) {
			virConnectPtr dead = v->dead;

			v->dead = NULL;
			pthread_mutex_unlock(&v->mu);
			virConnectClose(dead);
			pthread_mutex_lock(&v->mu);
			continue;
		}
		if (v->conn != NULL) {
			pthread_cond_wait(&v->cond, &v->mu);
			continue;
		}
		pthread_mutex_unlock(&v->mu);
		if (connect_once(v, NULL, 0) == 0)
			emit(v, VIRT_EV_RECONNECTED, NULL);
		pthread_mutex_lock(&v->mu);
		if (v->conn != NULL || v->stopping)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&v->cond, &v->mu, &ts);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

static void wake_loop(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

int virt_open(const char *uri, const char *prefix, virt_event_fn fn, void *arg, struct virt **out,
	      char *err, size_t errsz)
{
	struct virt *v;
	int rc;

	*out = NULL;
	pthread_once(&init_once, global_init);
	if (init_rc < 0) {
		snprintf(err, errsz, "initialising libvirt failed");
		return init_rc;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v->uri = strdup(uri);
	v->prefix = strdup(prefix);
	if (v->uri == NULL || v->prefix == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	v->prefix_len = strlen(prefix);
	v->fn = fn;
	v->arg = arg;
	v->wake_timer = -1;
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cond, NULL);
	rc = connect_once(v, err, errsz);
	if (rc < 0)
		goto out_free;
	/* A disabled timer that virt_close enables to get the loop out of poll(). */
	v->wake_timer = virEventAddTimeout(-1, wake_loop, v, NULL);
	if (pthread_create(&v->loop_thread, NULL, loop_main, v) != 0) {
		rc = -EAGAIN;
		goto out_close;
	}
	if (pthread_create(&v->reconnect_thread, NULL, reconnect_main, v) != 0) {
		atomic_store(&v->loop_stop, 1);
		virEventUpdateTimeout(v->wake_timer, 0);
		pthread_join(v->loop_thread, NULL);
		rc = -EAGAIN;
		goto out_close;
	}
	*out = v;
	return 0;

out_close:
	if (v->wake_timer >= 0)
		virEventRemoveTimeout(v->wake_timer);
	virConnectClose(v->conn);
out_free:
	free(v->uri);
	free(v->prefix);
	free(v);
	return rc;
}

void virt_close(struct virt *v)
{
	virConnectPtr c;

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	v->stopping = 1;
	c = v->conn;
	v->conn = NULL;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->reconnect_thread, NULL);
	if (v->dead != NULL)
		virConnectClose(v->dead);
	if (c != NULL) {
		virConnectDomainEventDeregisterAny(c, v->lifecycle_id);
		virConnectDomainEventDeregisterAny(c, v->watchdog_id);
		virConnectUnregisterCloseCallback(c, on_close);
		virConnectClose(c);
	}
	atomic_store(&v->loop_stop, 1);
	virEventUpdateTimeout(v->wake_timer, 0);
	pthread_join(v->loop_thread, NULL);
	virEventRemoveTimeout(v->wake_timer);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cond);
	free(v->uri);
	free(v->prefix);
	free(v);
}

char *virt_domain_name(const struct virt *v, const char *vm, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s", v->prefix, vm);
	return buf;
}

/* A new reference to the current connection, or NULL while disconnected. */
static virConnectPtr get_conn(struct virt *v)
{
	virConnectPtr c;

	pthread_mutex_lock(&v->mu);
	c = v->conn;
	if (c != NULL)
		virConnectRef(c);
	pthread_mutex_unlock(&v->mu);
	return c;
}

static virDomainPtr lookup(struct virt *v, virConnectPtr c, const char *vm)
{
	char name[256];

	return virDomainLookupByName(c, virt_domain_name(v, vm, name, sizeof(name)));
}

int virt_start(struct virt *v, const char *xml, char *err, size_t errsz)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr d;
	int rc = 0;

	if (c == NULL) {
		snprintf(err, errsz, "not connected to libvirt");
		return -ENOTCONN;
	}
	d = virDomainCreateXML(c, xml, VIR_DOMAIN_NONE);
	if (d == NULL) {
		virErrorPtr e = virGetLastError();

		last_error(err, errsz, "starting domain");
		rc = e && e->code == VIR_ERR_OPERATION_FAILED && e->message &&
			     strstr(e->message, "already")
			 ? -EEXIST
			 : -EIO;
	} else {
		virDomainFree(d);
	}
	virConnectClose(c);
	return rc;
}

typedef int (*dom_op)(virDomainPtr d);

static int op_shutdown(virDomainPtr d)
{
	return virDomainShutdown(d); /* ACPI power button (no guest agent configured) */
}

static int op_destroy(virDomainPtr d)
{
	return virDomainDestroy(d);
}

static int op_reboot(virDomainPtr d)
{
	/* ctrl-alt-delete: KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE (Linux keycodes). */
	unsigned int keys[] = {29, 56, 111};

	return virDomainSendKey(d, VIR_KEYCODE_SET_LINUX, 0, keys, 3, 0);
}

static int on_domain(struct virt *v, const char *vm, dom_op op, const char *what, char *err,
		     size_t errsz)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr d;
	int rc = 0;

	if (c == NULL) {
		snprintf(err, errsz, "not connected to libvirt");
		return -ENOTCONN;
	}
	d = lookup(v, c, vm);
	if (d == NULL) {
		rc = last_error_code();
		last_error(err, errsz, what);
		goto out;
	}
	if (op(d) < 0) {
		rc = last_error_code();
		last_error(err, errsz, what);
	}
	virDomainFree(d);
out:
	virConnectClose(c);
	return rc;
}

int virt_shutdown(struct virt *v, const char *vm, char *err, size_t errsz)
{
	return on_domain(v, vm, op_shutdown, "shutting down domain", err, errsz);
}

int virt_reboot(struct virt *v, const char *vm, char *err, size_t errsz)
{
	return on_domain(v, vm, op_reboot, "sending ctrl-alt-delete", err, errsz);
}

int virt_destroy(struct virt *v, const char *vm, char *err, size_t errsz)
{
	return on_domain(v, vm, op_destroy, "destroying domain", err, errsz);
}

int virt_qmp(struct virt *v, const char *vm, const char *cmd, char **reply, char *err, size_t errsz)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr d;
	int rc = 0;

	*reply = NULL;
	if (c == NULL) {
		snprintf(err, errsz, "not connected to libvirt");
		return -ENOTCONN;
	}
	d = lookup(v, c, vm);
	if (d == NULL || virDomainQemuMonitorCommand(d, cmd, reply, 0) < 0) {
		rc = last_error_code();
		last_error(err, errsz, "QMP command");
	}
	if (d != NULL)
		virDomainFree(d);
	virConnectClose(c);
	return rc;
}

int virt_is_running(struct virt *v, const char *vm)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr d;
	int rc;

	if (c == NULL)
		return -ENOTCONN;
	d = lookup(v, c, vm);
	if (d == NULL) {
		rc = last_error_code();
		rc = rc == -ENOENT ? 0 : rc;
	} else {
		rc = virDomainIsActive(d);
		rc = rc < 0 ? last_error_code() : rc;
		virDomainFree(d);
	}
	virConnectClose(c);
	return rc;
}

void virt_list_free(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

int virt_list(struct virt *v, char ***out)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr *doms = NULL;
	char **list;
	int n, k = 0;

	*out = NULL;
	if (c == NULL)
		return -ENOTCONN;
	n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		int rc = last_error_code();

		virConnectClose(c);
		return rc == -ENOENT ? -EIO : rc;
	}
	list = calloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; i < n; i++) {
		const char *vm = our_vm(v, virDomainGetName(doms[i]));

		if (list != NULL && vm != NULL) {
			list[k] = strdup(vm);
			if (list[k] != NULL)
				k++;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	virConnectClose(c);
	if (list == NULL)
		return -ENOMEM;
	*out = list;
	return k;
}

char *virt_xml(struct virt *v, const char *vm)
{
	virConnectPtr c = get_conn(v);
	virDomainPtr d;
	char *xml = NULL;

	if (c == NULL)
		return NULL;
	d = lookup(v, c, vm);
	if (d != NULL) {
		xml = virDomainGetXMLDesc(d, 0);
		virDomainFree(d);
	}
	virConnectClose(c);
	return xml;
}

int virt_connected(struct virt *v)
{
	int up;

	pthread_mutex_lock(&v->mu);
	up = v->conn != NULL;
	pthread_mutex_unlock(&v->mu);
	return up;
}

static void format_version(unsigned long ver, char *buf, size_t sz)
{
	snprintf(buf, sz, "%lu.%lu.%lu", ver / 1000000, ver / 1000 % 1000, ver % 1000);
}

char *virt_describe(struct virt *v, char *buf, size_t sz)
{
	virConnectPtr c = get_conn(v);
	unsigned long hv = 0, lib = 0;
	char hvs[32] = "?", libs[32] = "?";
	const char *type = NULL;

	if (c == NULL) {
		snprintf(buf, sz, "not connected to libvirt");
		return buf;
	}
	type = virConnectGetType(c);
	if (virConnectGetVersion(c, &hv) == 0)
		format_version(hv, hvs, sizeof(hvs));
	if (virConnectGetLibVersion(c, &lib) == 0)
		format_version(lib, libs, sizeof(libs));
	snprintf(buf, sz, "%s %s (libvirt %s)", type ? type : "?", hvs, libs);
	virConnectClose(c);
	return buf;
}
