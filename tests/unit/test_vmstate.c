/* The VM state machine: RPC operations per state with their refusal texts
 * (spec/hypervisor.md §7.6) and lifecycle events (§7.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/hypervisor/vmm/vmstate.h"

static void expect_refusal(enum vmstate_op op, enum hvapi_state s, const char *text)
{
	const char *err = NULL;

	assert_int_equal(vmstate_check(op, s, false, &err), VMSTATE_REFUSE);
	assert_non_null(err);
	assert_string_equal(err, text);
}

static void expect_action(enum vmstate_op op, enum hvapi_state s, enum vmstate_action a)
{
	const char *err = "x";

	assert_int_equal(vmstate_check(op, s, false, &err), a);
	assert_null(err);
}

static void test_start(void **state)
{
	(void)state;
	expect_action(VMSTATE_OP_START, HVAPI_STATE_STOPPED, VMSTATE_RUN);
	expect_action(VMSTATE_OP_START, HVAPI_STATE_FAILED_TO_START, VMSTATE_RUN);
	expect_action(VMSTATE_OP_START, HVAPI_STATE_CRASHED, VMSTATE_RUN);
	expect_action(VMSTATE_OP_START, HVAPI_STATE_EXPORTING, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_START, HVAPI_STATE_STARTING, "VM is already starting");
	expect_refusal(VMSTATE_OP_START, HVAPI_STATE_RUNNING, "VM is running");
	expect_refusal(VMSTATE_OP_START, HVAPI_STATE_STOPPING, "VM is stopping");
	expect_refusal(VMSTATE_OP_START, HVAPI_STATE_DESTROYING, "VM is destroying");
	expect_refusal(VMSTATE_OP_START, HVAPI_STATE_MIGRATING, "VM is migrating");
}

static void test_stop(void **state)
{
	(void)state;
	expect_action(VMSTATE_OP_STOP, HVAPI_STATE_RUNNING, VMSTATE_RUN);
	expect_action(VMSTATE_OP_STOP, HVAPI_STATE_DEBUGGING, VMSTATE_RUN);
	expect_action(VMSTATE_OP_STOP, HVAPI_STATE_CRASHED, VMSTATE_SETTLE);
	expect_action(VMSTATE_OP_STOP, HVAPI_STATE_FAILED_TO_START, VMSTATE_SETTLE);
	expect_refusal(VMSTATE_OP_STOP, HVAPI_STATE_STOPPED, "VM is already stopped");
	expect_refusal(VMSTATE_OP_STOP, HVAPI_STATE_STOPPING, "VM is already stopping");
	expect_refusal(VMSTATE_OP_STOP, HVAPI_STATE_STARTING, "VM is starting");
	expect_refusal(VMSTATE_OP_STOP, HVAPI_STATE_DESTROYING, "VM is destroying");
}

static void test_destroy(void **state)
{
	const char *err;

	(void)state;
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_STOPPED, VMSTATE_DELETE_NOW);
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_CRASHED, VMSTATE_DELETE_NOW);
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_FAILED_TO_START, VMSTATE_DELETE_NOW);
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_MIGRATING, VMSTATE_DELETE_NOW);
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_EXPORTING, VMSTATE_DELETE_NOW);
	expect_action(VMSTATE_OP_DESTROY, HVAPI_STATE_RUNNING, VMSTATE_RUN);
	assert_int_equal(vmstate_check(VMSTATE_OP_DESTROY, HVAPI_STATE_RUNNING, true, &err),
			 VMSTATE_REFUSE);
	assert_string_equal(err, "cannot destroy running VM when protected");
	/* Protection is about running VMs: a stopped protected VM can go. */
	assert_int_equal(vmstate_check(VMSTATE_OP_DESTROY, HVAPI_STATE_STOPPED, true, &err),
			 VMSTATE_DELETE_NOW);
	expect_refusal(VMSTATE_OP_DESTROY, HVAPI_STATE_STARTING, "VM is starting");
	expect_refusal(VMSTATE_OP_DESTROY, HVAPI_STATE_STOPPING, "VM is stopping");
	expect_refusal(VMSTATE_OP_DESTROY, HVAPI_STATE_DESTROYING, "VM is already destroying");
}

static void test_other_ops(void **state)
{
	(void)state;
	expect_action(VMSTATE_OP_REBOOT, HVAPI_STATE_RUNNING, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_REBOOT, HVAPI_STATE_STOPPED, "VM is not running");
	expect_action(VMSTATE_OP_OFFLINE_CHANGE, HVAPI_STATE_STOPPED, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_OFFLINE_CHANGE, HVAPI_STATE_RUNNING, "VM is not stopped");
	expect_refusal(VMSTATE_OP_OFFLINE_CHANGE, HVAPI_STATE_CRASHED, "VM is not stopped");
	expect_action(VMSTATE_OP_MIGRATE_ENABLE, HVAPI_STATE_STOPPED, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_MIGRATE_ENABLE, HVAPI_STATE_RUNNING, "VM is not stopped");
	expect_action(VMSTATE_OP_MIGRATE_DISABLE, HVAPI_STATE_MIGRATING, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_MIGRATE_DISABLE, HVAPI_STATE_STOPPED, "VM is not migrating");
	expect_action(VMSTATE_OP_CONSOLE, HVAPI_STATE_RUNNING, VMSTATE_RUN);
	expect_refusal(VMSTATE_OP_CONSOLE, HVAPI_STATE_STOPPED, "VM is not running");
}

static void expect_event(enum hvapi_state s, enum vmstate_event ev, bool dop, bool prot, bool down,
			 enum hvapi_state next, bool del)
{
	struct vmstate_result r = vmstate_on_event(s, ev, dop, prot, down);

	assert_int_equal(r.next, next);
	assert_int_equal(r.delete_vm, del);
}

static void test_events(void **state)
{
	(void)state;
	expect_event(HVAPI_STATE_STARTING, VMSTATE_EV_STARTED, 0, 0, 0, HVAPI_STATE_RUNNING, 0);
	expect_event(HVAPI_STATE_STARTING, VMSTATE_EV_START_FAILED, 0, 0, 0,
		     HVAPI_STATE_FAILED_TO_START, 0);
	expect_event(HVAPI_STATE_STARTING, VMSTATE_EV_CRASHED, 0, 0, 0, HVAPI_STATE_FAILED_TO_START,
		     0);
	/* Guest power-down: stopped, or destroyed with DestroyOnPowerdown unless protected. */
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_SHUTDOWN, 0, 0, 0, HVAPI_STATE_STOPPED, 0);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_SHUTDOWN, 1, 0, 0, HVAPI_STATE_DESTROYING, 1);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_SHUTDOWN, 1, 1, 0, HVAPI_STATE_STOPPED, 0);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_WATCHDOG, 0, 0, 0, HVAPI_STATE_CRASHED, 0);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_WATCHDOG, 1, 0, 0, HVAPI_STATE_DESTROYING, 1);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_CRASHED, 1, 0, 0, HVAPI_STATE_CRASHED, 0);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_DESTROYED, 0, 0, 0, HVAPI_STATE_CRASHED, 0);
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_STARTED, 0, 0, 0, HVAPI_STATE_RUNNING, 0);
	/* Host shutdown: whatever goes down is recorded crashed, to come back at boot. */
	expect_event(HVAPI_STATE_RUNNING, VMSTATE_EV_SHUTDOWN, 1, 0, 1, HVAPI_STATE_CRASHED, 0);
	expect_event(HVAPI_STATE_STOPPING, VMSTATE_EV_SHUTDOWN, 0, 0, 1, HVAPI_STATE_CRASHED, 0);
	expect_event(HVAPI_STATE_STOPPING, VMSTATE_EV_SHUTDOWN, 0, 0, 0, HVAPI_STATE_STOPPED, 0);
	expect_event(HVAPI_STATE_STOPPING, VMSTATE_EV_DESTROYED, 0, 0, 0, HVAPI_STATE_STOPPED, 0);
	expect_event(HVAPI_STATE_DESTROYING, VMSTATE_EV_DESTROYED, 0, 0, 0, HVAPI_STATE_DESTROYING,
		     1);
	expect_event(HVAPI_STATE_STOPPED, VMSTATE_EV_CRASHED, 0, 0, 0, HVAPI_STATE_STOPPED, 0);
	expect_event(HVAPI_STATE_CRASHED, VMSTATE_EV_STARTED, 0, 0, 0, HVAPI_STATE_CRASHED, 0);
}

static void test_domain_states(void **state)
{
	(void)state;
	assert_true(vmstate_has_domain(HVAPI_STATE_RUNNING));
	assert_true(vmstate_has_domain(HVAPI_STATE_STOPPING));
	assert_false(vmstate_has_domain(HVAPI_STATE_STOPPED));
	assert_false(vmstate_has_domain(HVAPI_STATE_CRASHED));
	assert_true(vmstate_restart_at_boot(HVAPI_STATE_CRASHED));
	assert_true(vmstate_restart_at_boot(HVAPI_STATE_RUNNING));
	assert_false(vmstate_restart_at_boot(HVAPI_STATE_STOPPED));
	assert_false(vmstate_restart_at_boot(HVAPI_STATE_MIGRATING));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start),   cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_destroy), cmocka_unit_test(test_other_ops),
	    cmocka_unit_test(test_events),  cmocka_unit_test(test_domain_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
