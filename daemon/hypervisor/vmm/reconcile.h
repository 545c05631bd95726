/* Reconciliation of the state files with libvirt and the volume files. The same
 * comparison serves three callers: the daemon at start-up (fixes what it can and
 * reports the rest), after a libvirt reconnect (states of VMs whose events were
 * missed), and `hypervisor check-vms` (reports only, exit status 1 if anything). */
#ifndef HV_RECONCILE_H
#define HV_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/volumes.h"

struct manager;

enum reconcile_kind {
	RECONCILE_DOMAIN_MISSING,    /* the VM should run but libvirt has no domain */
	RECONCILE_DOMAIN_UNEXPECTED, /* a domain runs for a VM recorded as not running */
	RECONCILE_DOMAIN_ORPHAN,     /* a domain of ours without a VM record */
	RECONCILE_VOLUME_MISSING,    /* a volume file of a VM is missing */
	RECONCILE_VOLUME_SIZE,	     /* size or allocation differs from the record */
	RECONCILE_VOLUME_EXTRA,	     /* a volume directory or file no VM owns */
	RECONCILE_STATE_DIR,	     /* unreadable or stray entry under VMs/ */
};

struct reconcile_finding {
	enum reconcile_kind kind;
	const char *vm;	  /* VM IP (or domain VM part for orphans), may be NULL */
	const char *text; /* human-readable, one line */
};

typedef void (*reconcile_report_fn)(void *arg, const struct reconcile_finding *f);

/* Every VM record under <state_dir>/VMs. Unreadable entries are reported as
 * RECONCILE_STATE_DIR. *infos is a new array (free with reconcile_infos_free). */
int reconcile_load_infos(const char *state_dir, struct hvapi_local_vm_info **infos, size_t *n,
			 reconcile_report_fn report, void *arg);
void reconcile_infos_free(struct hvapi_local_vm_info *infos, size_t n);

/* Compares records with the running domains (VM parts of their names, NULL-terminated)
 * and with the volume directories; reports each difference. Returns the count. */
int reconcile_compare(const struct hvapi_local_vm_info *infos, size_t n, char *const *domains,
		      const struct volumes *vols, reconcile_report_fn report, void *arg);

/* Daemon start-up: removes what unfinished creates and destroys left (VM directories
 * without info.json, volume directories without a VM directory, temporaries of atomic
 * writes), fixes domain states (restart VMs that should run, adopt running domains,
 * finish stops and destroys), repairs the address pool, records the rest as problems. */
void reconcile_at_start(struct manager *m);

/* After a libvirt reconnect: VMs whose domain vanished meanwhile become crashed;
 * running domains of stopped VMs are adopted. */
void reconcile_domains(struct manager *m);

#endif
