/* The libvirt backend against libvirt's in-process test driver (test:///default):
 * domain naming by prefix, start/stop/destroy and the lifecycle events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/hypervisor/vmm/libvirt/domxml.h"
#include "daemon/hypervisor/vmm/libvirt/virt.h"

struct events {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int n[VIRT_EV_DISCONNECTED + 1];
	char last_vm[64];
};

static struct events evs = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, ""};

static void on_event(const struct virt_event *ev, void *arg)
{
	struct events *e = arg;

	pthread_mutex_lock(&e->mu);
	e->n[ev->kind]++;
	if (ev->vm != NULL)
		snprintf(e->last_vm, sizeof(e->last_vm), "%s", ev->vm);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->mu);
}

/* Waits up to 5 s until at least want events of kind were seen. */
static int wait_events(enum virt_event_kind kind, int want)
{
	struct timespec ts;
	int got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&evs.mu);
	while (evs.n[kind] < want && pthread_cond_timedwait(&evs.cond, &evs.mu, &ts) == 0)
		;
	got = evs.n[kind];
	pthread_mutex_unlock(&evs.mu);
	return got;
}

static char *make_xml(const char *name, const char *ip)
{
	struct domxml_disk disk = {.path = "/tmp/none", .format = "raw"};
	struct domxml_vm vm = {
	    .name = name,
	    .ip = ip,
	    .virt_type = "qemu",
	    .arch = "x86_64",
	    .machine = "pc",
	    .memory_mib = 64,
	    .vcpus = 1,
	    .disks = &disk,
	    .ndisks = 1,
	    .serial_socket = "/tmp/none.sock",
	    .bootlog = "/tmp/none.log",
	};
	char *xml = NULL;

	assert_int_equal(domxml_build(&vm, &xml), 0);
	return xml;
}

static void test_lifecycle(void **state)
{
	struct virt *v = NULL;
	char err[256] = "", name[64], **list = NULL;
	char *xml;
	int n;

	(void)state;
	assert_int_equal(virt_open("test:///default", "ut1-", on_event, &evs, &v, err, sizeof(err)),
			 0);
	assert_true(virt_connected(v));
	assert_string_equal(virt_domain_name(v, "10.0.0.1", name, sizeof(name)), "ut1-10.0.0.1");

	/* The test driver's own "test" domain is not ours. */
	n = virt_list(v, &list);
	assert_int_equal(n, 0);
	virt_list_free(list);
	assert_int_equal(virt_is_running(v, "10.0.0.1"), 0);

	xml = make_xml("ut1-10.0.0.1", "10.0.0.1");
	assert_int_equal(virt_start(v, xml, err, sizeof(err)), 0);
	assert_int_equal(wait_events(VIRT_EV_STARTED, 1), 1);
	assert_string_equal(evs.last_vm, "10.0.0.1");
	assert_int_equal(virt_is_running(v, "10.0.0.1"), 1);
	n = virt_list(v, &list);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "10.0.0.1");
	assert_null(list[1]);
	virt_list_free(list);

	/* Starting it twice fails; the first keeps running. */
	assert_true(virt_start(v, xml, err, sizeof(err)) < 0);
	assert_int_equal(virt_is_running(v, "10.0.0.1"), 1);

	assert_int_equal(virt_shutdown(v, "10.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(wait_events(VIRT_EV_SHUTDOWN, 1), 1);
	assert_int_equal(virt_is_running(v, "10.0.0.1"), 0);

	assert_int_equal(virt_start(v, xml, err, sizeof(err)), 0);
	assert_int_equal(wait_events(VIRT_EV_STARTED, 2), 2);
	assert_int_equal(virt_destroy(v, "10.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(wait_events(VIRT_EV_DESTROYED, 1), 1);
	assert_int_equal(virt_is_running(v, "10.0.0.1"), 0);

	assert_int_equal(virt_destroy(v, "10.0.0.9", err, sizeof(err)), -ENOENT);
	assert_int_equal(virt_shutdown(v, "10.0.0.9", err, sizeof(err)), -ENOENT);
	assert_null(virt_xml(v, "10.0.0.9"));
	free(xml);
	virt_close(v);
}

/* Domains of another prefix (another daemon on the same libvirt) are invisible. */
static void test_prefix_isolation(void **state)
{
	struct virt *a = NULL, *b = NULL;
	char err[256], **list = NULL;
	char *xml;

	(void)state;
	assert_int_equal(virt_open("test:///default", "ua-", on_event, &evs, &a, err, sizeof(err)),
			 0);
	assert_int_equal(virt_open("test:///default", "ub-", on_event, &evs, &b, err, sizeof(err)),
			 0);
	xml = make_xml("ua-10.0.0.2", "10.0.0.2");
	assert_int_equal(virt_start(a, xml, err, sizeof(err)), 0);
	assert_int_equal(virt_is_running(a, "10.0.0.2"), 1);
	assert_int_equal(virt_is_running(b, "10.0.0.2"), 0);
	assert_int_equal(virt_list(b, &list), 0);
	virt_list_free(list);
	assert_int_equal(virt_destroy(b, "10.0.0.2", err, sizeof(err)), -ENOENT);
	assert_int_equal(virt_destroy(a, "10.0.0.2", err, sizeof(err)), 0);
	free(xml);
	virt_close(b);
	virt_close(a);
}

static void test_open_failure(void **state)
{
	struct virt *v = (struct virt *)1;
	char err[256] = "";

	(void)state;
	assert_true(virt_open("qemu:///system?socket=/nonexistent/sock", "x-", on_event, &evs, &v,
			      err, sizeof(err)) < 0);
	assert_null(v);
	assert_non_null(strstr(err, "qemu:///system"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_prefix_isolation),
	    cmocka_unit_test(test_open_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
