/* Moving a VM between hypervisors (MigrateVm, CopyVm; docs/hypervisor.md "Migration"):
 * the on-disk states that make a kill -9 of either side leave exactly one owner, the
 * incoming VM on the target, and the calls one hypervisor makes to another.
 *
 * A marker file migration.json in the VM's directory says which side of a migration a
 * VM is on and who the other side is:
 *   - source: written before PrepareVmForMigration makes the VM migrating (addresses
 *     out of the pool, Uncommitted); removed when it is made stopped again.
 *   - target: written with the incoming VM's first info.json (migrating,
 *     Uncommitted). The commit point is the info.json write that clears Uncommitted.
 * At start-up (migrate_recover, before reconciliation): an uncommitted incoming VM is
 * deleted (domain and files); a committed one gets its addresses registered and its
 * marker removed; a migrating source VM asks its target (GetVmInfo): committed there
 * -> deleted here, unknown there -> back to stopped with its addresses, uncommitted
 * there or unreachable -> asked again later (migrate_resolver). A marker whose VM is
 * not in the matching state is stale and removed. */
#ifndef HV_MIGRATE_H
#define HV_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/hypervisor/vmm/manager.h"
#include "srpc.h"

#define MIGRATE_MARKER "migration.json"

enum migrate_role { MIGRATE_NONE, MIGRATE_SOURCE, MIGRATE_TARGET };

/* Writes (atomically) or reads the marker of the VM directory dir; peer is
 * "host:port". read: MIGRATE_NONE when there is none. */
int migrate_marker_write(const char *dir, enum migrate_role role, const char *peer);
enum migrate_role migrate_marker_read(const char *dir, char *peer, size_t peersz);
void migrate_marker_remove(const char *dir);

/* A connection to another hypervisor at addr ("host:port") with the daemon's own
 * certificate (the server's verified against -CAfile); with powers, the calls may use
 * the certificate's method grants (PrepareVmForMigration needs them), without, only
 * what the requests' access token allows. 0 or -errno with err. */
struct migrate_conn {
	struct tls_client *tls;
	struct srpc_client *cl;
};
int migrate_dial(const struct hv_config *cfg, const char *addr, bool powers, struct migrate_conn *c,
		 char *err, size_t errsz);
void migrate_close(struct migrate_conn *c);

/* The incoming VM: info (taken over, zeroed) recorded as migrating and Uncommitted
 * with the target marker naming source, its directory and volume directories made,
 * inserted into the map, busy. 0 and *out (a new reference), or -errno with err
 * ("cannot migrate to the same hypervisor" when the IP is taken). */
int migrate_incoming_insert(struct manager *m, struct hvapi_local_vm_info *info, const char *source,
			    struct vm **out, char *err, size_t errsz);

/* The commit: Uncommitted cleared in info.json (the commit point), the addresses
 * registered in the pool (in use, not free), the marker removed, busy cleared. */
int migrate_incoming_commit(struct manager *m, struct vm *vm, char *err, size_t errsz);

/* Undoes an incoming VM that was not committed: its domain (if started) and files go;
 * its addresses were never this hypervisor's. */
void migrate_incoming_abort(struct manager *m, struct vm *vm);

/* The target's checks of a VM coming from elsewhere (the original's migrateVmChecks):
 * stopped or running; with same_subnet (MigrateVm: the addresses move), each address
 * in a local subnet of the same ID ("no matching subnet for: X", "subnet ID changing
 * from: A to: B"); CPUs and memory. 0 or -errno with err. */
int migrate_check_target(struct manager *m, const struct hvapi_vm_info *v, bool same_subnet,
			 char *err, size_t errsz);

/* Places src's volumes in the volume directories (root, secondary-volume.N under
 * <dir>/<ipstr>) and sets info's locations and volume records (size, format,
 * interface, type, virtual size: snapshots are not copied). 0 or -errno with err
 * ("no space for a N byte volume"). */
int migrate_plan_volumes(struct manager *m, const char *ipstr, const struct hvapi_vm_info *src,
			 struct hvapi_local_vm_info *info, char *err, size_t errsz);

/* Start-up: settles every VM with a marker (see above). Call before reconciliation. */
void migrate_recover(struct manager *m);

/* Starts the thread that asks targets about source VMs left migrating at start-up,
 * until each is settled (every 5 s). 0 or -errno. Stopped by migrate_resolver_stop. */
int migrate_resolver_start(struct manager *m);
void migrate_resolver_stop(void);

#endif
