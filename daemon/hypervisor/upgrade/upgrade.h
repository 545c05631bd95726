/* The A/B upgrade agent of the appliance (docs/upgrades.md). At start it reads the
 * running slot (ss.slot= on the kernel command line), its image name and grubenv's
 * default slot, and settles a trial boot that its record (the state file on the data
 * partition) announces: healthy within -upgradeTrialTimeout makes the slot the default,
 * otherwise the host reboots and GRUB goes back to the old slot by itself. With
 * -fleetManagerHostname it then asks the fleet manager every -upgradeCheckInterval for
 * the machine's RequiredImage tag; a different image is fetched from the image server
 * (every object verified), written into the inactive slot, booted once through grubenv
 * ss_try, and the host reboots with -upgradeRebootCommand. */
#ifndef HV_UPGRADE_H
#define HV_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/hvflags.h"

struct objcache;
struct upgrade;

/* Whether the host is healthy (GET /health's answer; the trial's test); on false, the
 * failing checks with their details in why. */
typedef bool (*upgrade_health_fn)(void *arg, char *why, size_t whysz);

/* Starts the agent (its thread), which lives as long as the process: an exit in the
 * middle of an upgrade leaves at worst an unmarked slot, never booted. cfg, cache and
 * health_arg are borrowed for the daemon's life. 0, or -errno with err. */
int upgrade_start(const struct hv_config *cfg, struct objcache *cache, upgrade_health_fn health,
		  void *health_arg, struct upgrade **out, char *err, size_t errsz);

/* What GetUpgradeStatus answers: out's strings are new (hvapi_..._clear frees them).
 * 0 or -ENOMEM. */
int upgrade_status(struct upgrade *u, struct hvapi_get_upgrade_status_response *out);

/* The running image and slot, and the required image ("" when not known), for
 * /health. u may be NULL (everything ""). */
void upgrade_images(struct upgrade *u, char *running, size_t runsz, char *slot, size_t slotsz,
		    char *required, size_t reqsz);

#endif
