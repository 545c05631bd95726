/* machines: the Fleet Manager's view of its machines — the topology snapshot in force
 * and the local tag overrides of ChangeMachineTags, persisted atomically in the state
 * directory (local-tags.json). A machine's effective tags are its topology tags with
 * its local overrides on top. Thread-safe. */
#ifndef SS_FM_MACHINES_H
#define SS_FM_MACHINES_H

#include <stdbool.h>
#include <stddef.h>

#include "api/fleetmanager.h"
#include "topology.h"

struct machines;

/* Loads <state_dir>/local-tags.json (absent: none). -errno with err on a bad file. */
int machines_new(const char *state_dir, struct machines **out, char *err, size_t errsz);
void machines_free(struct machines *ms);

/* The topology in force (a new reference; NULL before the first one). */
struct topology *machines_topology(struct machines *ms);

/* Puts t in force (takes the caller's reference) and returns, for GetUpdates watchers,
 * what changed against the previous one: machines added or changed (with effective
 * tags) in u->changed_machines, removed ones in u->deleted_machines. The caller clears
 * u. */
void machines_set_topology(struct machines *ms, struct topology *t, struct fmapi_update *u);

/* The machine's record as served (a deep copy into *out: clear it with
 * fmapi_machine_clear): effective tags. -ENOENT if no such hostname. */
int machines_get(struct machines *ms, const char *hostname, struct fmapi_machine *out);

/* ChangeMachineTags: tags replace the machine's local overrides; keys whose value equals
 * the topology's are dropped. Persisted before it returns. On success u holds the
 * machine's new record for watchers. -ENOENT (unknown machine) or -errno with err. */
int machines_change_tags(struct machines *ms, const char *hostname, const struct hvapi_tags *tags,
			 struct fmapi_update *u, char *err, size_t errsz);

#endif
