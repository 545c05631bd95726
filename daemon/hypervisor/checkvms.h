/* The offline sub-commands check-vms and repair-vm-volume-allocations (spec §5 plus
 * the comparison with libvirt): they read the state directory (the daemon may be
 * running), print one line per inconsistency, and return the exit status. */
#ifndef HV_CHECKVMS_H
#define HV_CHECKVMS_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/hypervisor/hvflags.h"

/* check-vms (repair false): every difference between state files, libvirt's domains
 * and the volume files, then "Total allocation increase required: N" if any.
 * repair-vm-volume-allocations (repair true): allocates missing volume blocks and
 * prints "Total allocation increase: N". Returns 0 if nothing was found (check) or
 * everything was repaired, 1 otherwise. */
int checkvms_run(const struct hv_config *cfg, bool repair, FILE *out);

#endif
