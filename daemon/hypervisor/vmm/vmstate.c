/* The VM state machine (see vmstate.h). */
#include "daemon/hypervisor/vmm/vmstate.h"

#include <stddef.h>

/* The refusal for a VM that is busy in state s with something else. */
static const char *busy_text(enum hvapi_state s)
{
	switch (s) {
	case HVAPI_STATE_STARTING:
		return "VM is starting";
	case HVAPI_STATE_RUNNING:
		return "VM is running";
	case HVAPI_STATE_STOPPING:
		return "VM is stopping";
	case HVAPI_STATE_DESTROYING:
		return "VM is destroying";
	case HVAPI_STATE_MIGRATING:
		return "VM is migrating";
	case HVAPI_STATE_EXPORTING:
		return "VM is exporting";
	case HVAPI_STATE_DEBUGGING:
		return "VM is debugging";
	case HVAPI_STATE_STOPPED:
		return "VM is not running";
	case HVAPI_STATE_CRASHED:
		return "VM has crashed";
	case HVAPI_STATE_FAILED_TO_START:
		return "VM failed to start";
	default:
		return "VM is in an unknown state";
	}
}

static enum vmstate_action refuse(const char **err, const char *text)
{
	*err = text;
	return VMSTATE_REFUSE;
}

static enum vmstate_action check_start(enum hvapi_state s, const char **err)
{
	switch (s) {
	case HVAPI_STATE_STOPPED:
	case HVAPI_STATE_FAILED_TO_START:
	case HVAPI_STATE_EXPORTING:
	case HVAPI_STATE_CRASHED:
		return VMSTATE_RUN;
	case HVAPI_STATE_STARTING:
		return refuse(err, "VM is already starting");
	default:
		return refuse(err, busy_text(s));
	}
}

static enum vmstate_action check_stop(enum hvapi_state s, const char **err)
{
	switch (s) {
	case HVAPI_STATE_RUNNING:
	case HVAPI_STATE_DEBUGGING:
		return VMSTATE_RUN;
	case HVAPI_STATE_FAILED_TO_START:
	case HVAPI_STATE_CRASHED:
		return VMSTATE_SETTLE;
	case HVAPI_STATE_STOPPING:
		return refuse(err, "VM is already stopping");
	case HVAPI_STATE_STOPPED:
		return refuse(err, "VM is already stopped");
	default:
		return refuse(err, busy_text(s));
	}
}

static enum vmstate_action check_destroy(enum hvapi_state s, bool prot, const char **err)
{
	switch (s) {
	case HVAPI_STATE_STOPPED:
	case HVAPI_STATE_FAILED_TO_START:
	case HVAPI_STATE_MIGRATING:
	case HVAPI_STATE_EXPORTING:
	case HVAPI_STATE_CRASHED:
		return VMSTATE_DELETE_NOW;
	case HVAPI_STATE_RUNNING:
	case HVAPI_STATE_DEBUGGING:
		if (prot)
			return refuse(err, "cannot destroy running VM when protected");
		return VMSTATE_RUN;
	case HVAPI_STATE_DESTROYING:
		return refuse(err, "VM is already destroying");
	default:
		return refuse(err, busy_text(s));
	}
}

enum vmstate_action vmstate_check(enum vmstate_op op, enum hvapi_state s, bool destroy_protection,
				  const char **err)
{
	*err = NULL;
	switch (op) {
	case VMSTATE_OP_START:
		return check_start(s, err);
	case VMSTATE_OP_STOP:
		return check_stop(s, err);
	case VMSTATE_OP_DESTROY:
		return check_destroy(s, destroy_protection, err);
	case VMSTATE_OP_REBOOT:
	case VMSTATE_OP_CONSOLE:
		return s == HVAPI_STATE_RUNNING || s == HVAPI_STATE_DEBUGGING
			   ? VMSTATE_RUN
			   : refuse(err, "VM is not running");
	case VMSTATE_OP_OFFLINE_CHANGE:
		return s == HVAPI_STATE_STOPPED ? VMSTATE_RUN : refuse(err, "VM is not stopped");
	case VMSTATE_OP_MIGRATE_ENABLE:
		return s == HVAPI_STATE_STOPPED ? VMSTATE_RUN : refuse(err, "VM is not stopped");
	case VMSTATE_OP_MIGRATE_DISABLE:
		return s == HVAPI_STATE_MIGRATING ? VMSTATE_RUN
						  : refuse(err, "VM is not migrating");
	}
	return refuse(err, "unknown operation");
}

static struct vmstate_result went_down(bool destroy_on_powerdown, bool prot, enum hvapi_state next)
{
	struct vmstate_result r = {.next = next};

	if (destroy_on_powerdown && !prot) {
		r.next = HVAPI_STATE_DESTROYING;
		r.delete_vm = true;
	}
	return r;
}

struct vmstate_result vmstate_on_event(enum hvapi_state s, enum vmstate_event ev,
				       bool destroy_on_powerdown, bool destroy_protection,
				       bool shutting_down)
{
	struct vmstate_result same = {.next = s};
	bool down = ev != VMSTATE_EV_STARTED;

	switch (s) {
	case HVAPI_STATE_STARTING:
		if (ev == VMSTATE_EV_STARTED)
			return (struct vmstate_result){.next = HVAPI_STATE_RUNNING};
		return (struct vmstate_result){.next = HVAPI_STATE_FAILED_TO_START};
	case HVAPI_STATE_RUNNING:
	case HVAPI_STATE_DEBUGGING:
		if (!down)
			return same;
		if (shutting_down)
			return (struct vmstate_result){.next = HVAPI_STATE_CRASHED};
		if (ev == VMSTATE_EV_SHUTDOWN)
			return went_down(destroy_on_powerdown, destroy_protection,
					 HVAPI_STATE_STOPPED);
		if (ev == VMSTATE_EV_WATCHDOG)
			return went_down(destroy_on_powerdown, destroy_protection,
					 HVAPI_STATE_CRASHED);
		return (struct vmstate_result){.next = HVAPI_STATE_CRASHED};
	case HVAPI_STATE_STOPPING:
		if (!down)
			return same;
		return (struct vmstate_result){.next = shutting_down ? HVAPI_STATE_CRASHED
								     : HVAPI_STATE_STOPPED};
	case HVAPI_STATE_DESTROYING:
		if (!down)
			return same;
		return (struct vmstate_result){.next = HVAPI_STATE_DESTROYING, .delete_vm = true};
	default:
		/* stopped, crashed, failed to start, migrating, exporting: a domain event
		 * here is late news about a domain we already wrote off. */
		return same;
	}
}

bool vmstate_has_domain(enum hvapi_state s)
{
	return s == HVAPI_STATE_RUNNING || s == HVAPI_STATE_STARTING ||
	       s == HVAPI_STATE_DEBUGGING || s == HVAPI_STATE_STOPPING ||
	       s == HVAPI_STATE_DESTROYING;
}

bool vmstate_restart_at_boot(enum hvapi_state s)
{
	return s == HVAPI_STATE_RUNNING || s == HVAPI_STATE_STARTING || s == HVAPI_STATE_CRASHED ||
	       s == HVAPI_STATE_FAILED_TO_START || s == HVAPI_STATE_DEBUGGING;
}
