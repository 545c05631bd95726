/* The VM state machine (spec/hypervisor.md §7.5, §7.6), pure: which RPC operation is
 * allowed in which state (and the exact refusal text), and where a libvirt lifecycle
 * event takes a VM. The manager applies the results under the VM's lock. */
#ifndef HV_VMSTATE_H
#define HV_VMSTATE_H

#include <stdbool.h>

#include "api/hypervisor.h"

enum vmstate_op {
	VMSTATE_OP_START,
	VMSTATE_OP_STOP,
	VMSTATE_OP_DESTROY,
	VMSTATE_OP_REBOOT,
	VMSTATE_OP_OFFLINE_CHANGE, /* Change* methods that need a stopped VM */
	VMSTATE_OP_MIGRATE_ENABLE,
	VMSTATE_OP_MIGRATE_DISABLE,
	VMSTATE_OP_CONSOLE, /* serial port / VNC: the VM must run */
};

/* What an allowed operation does from the current state. */
enum vmstate_action {
	VMSTATE_REFUSE,	    /* not allowed: see the error text */
	VMSTATE_RUN,	    /* go ahead (start: -> starting; stop: -> stopping;
			       destroy: -> destroying and kill; others: do it) */
	VMSTATE_SETTLE,	    /* stop of a crashed / failed VM: just record stopped */
	VMSTATE_DELETE_NOW, /* destroy of a VM that does not run: delete at once */
};

/* Decides op in state s. destroy_protection matters for destroying a running VM.
 * On VMSTATE_REFUSE *err is the message for the client (static). */
enum vmstate_action vmstate_check(enum vmstate_op op, enum hvapi_state s, bool destroy_protection,
				  const char **err);

enum vmstate_event {
	VMSTATE_EV_STARTED,	 /* the domain is up */
	VMSTATE_EV_SHUTDOWN,	 /* it stopped after a guest/ACPI power-down */
	VMSTATE_EV_DESTROYED,	 /* it was killed from the host */
	VMSTATE_EV_CRASHED,	 /* QEMU died or libvirt lost it */
	VMSTATE_EV_WATCHDOG,	 /* watchdog with action poweroff */
	VMSTATE_EV_START_FAILED, /* the start request itself failed */
};

struct vmstate_result {
	enum hvapi_state next; /* new state (may equal the old one) */
	bool delete_vm;	       /* remove the VM and its volumes */
};

/* Where event ev takes a VM in state s. destroy_on_powerdown / destroy_protection are
 * the VM's settings; shutting_down is set while the daemon shuts VMs down for a host
 * shutdown: VMs that go down then are recorded crashed so the next start restarts
 * them (§9). */
struct vmstate_result vmstate_on_event(enum hvapi_state s, enum vmstate_event ev,
				       bool destroy_on_powerdown, bool destroy_protection,
				       bool shutting_down);

/* True for states in which the VM's domain should be running (running, starting,
 * debugging, stopping, destroying). */
bool vmstate_has_domain(enum hvapi_state s);

/* True for states the daemon restarts at start-up when the domain is missing (the
 * "survive host reboot" mechanism, §7.3: running, starting, failed to start, crashed,
 * debugging). */
bool vmstate_restart_at_boot(enum hvapi_state s);

#endif
