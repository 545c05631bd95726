/* api/hypervisor: the wire types of the hypervisor, shared by the daemon and its clients
 * (vm-control, hyper-control, fleet-manager): the state-file records (info.json =
 * LocalVmInfo, address-pool.json, subnets.json, create-request.json), the request and
 * response messages of every Hypervisor.* method (spec/rpc.md §5) and the pure helpers
 * every side needs (state names, tag matching, VM list filters, version-string order).
 *
 * The enums and structs are declared once, in hypervisor.def and hypervisor_msgs.def
 * (api/schema.h), which also gives each struct hvapi_X a descriptor hvapi_X_type and
 * typed wrappers hvapi_X_to_json / hvapi_X_from_json / hvapi_X_clear (api/codec.h);
 * api_dumps, api_load_file and api_write_file take the descriptor. Field order follows
 * the Go declaration order so our output matches the original byte for byte. */
#ifndef SS_API_HYPERVISOR_H
#define SS_API_HYPERVISOR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "codec.h"

#define HVAPI_DEFAULT_PORT 6976

/* The enums (with their NULL-terminated name tables hvapi_*_names, indexed by value)
 * and the shared records: Address, Subnet, Volume, VmInfo, LocalVmInfo (info.json),
 * AddressPool, CreateVmRequest/Response, the map entries and the named lists
 * (struct hvapi_tags, _match_tags, _addresses, _subnets, _volumes). */
#include "schema.h"
#include "hypervisor.def"

/* Name of a value ("?" when out of range), and value of a name (exact match; -1 if
 * unknown). For command-line parsing and status pages. */
const char *hvapi_enum_name(const char *const *names, int value);
int hvapi_enum_parse(const char *const *names, const char *name);
const char *hvapi_state_name(enum hvapi_state s);

/* max(Size, VirtualSize). */
uint64_t hvapi_volume_effective_size(const struct hvapi_volume *v);

/* subnets.json / Subnets lists: a JSON array (null for none). */
json_t *hvapi_subnets_to_json(const struct hvapi_subnets *l);
int hvapi_subnets_from_json(struct sjson_dec *d, json_t *j, struct hvapi_subnets *out);
void hvapi_subnets_clear(struct hvapi_subnets *l);

/* ---- Pure helpers ---- */

/* True when IgnoreStateMask skips VMs in state s (bit 1 << s). */
bool hvapi_state_ignored(uint64_t ignore_state_mask, enum hvapi_state s);

/* MatchTags (spec/rpc.md §5.2): every key of m must be a tag of the VM whose value is
 * one of the key's values. An empty m matches everything. */
bool hvapi_match_tags(const struct hvapi_match_tags *m, const struct hvapi_tags *tags);

/* Owner filter (§5.2): with groups given, the VM needs one of them among its
 * OwnerGroups; with users given, the VM is included iff one of them is among its
 * OwnerUsers (this overrides the group result). Nothing given includes every VM. */
bool hvapi_owner_filter(const struct api_strlist *groups, const struct api_strlist *users,
			const struct hvapi_vm_info *vm);

/* The VM selection of ListVMs / GetVmInfos: state mask, owners, then tags. */
bool hvapi_vm_selected(uint64_t ignore_state_mask, const struct api_strlist *groups,
		       const struct api_strlist *users, const struct hvapi_match_tags *match,
		       const struct hvapi_vm_info *vm);

/* Go verstr.Less order, as ListVMs Sort uses: runs of digits compare numerically,
 * everything else bytewise ("10.0.0.9" < "10.0.0.10"). strcmp-style result. */
int hvapi_verstr_cmp(const char *a, const char *b);

/* Tag helpers: the value of key (NULL if absent); set (replace or add, keeps the list
 * sorted by key). 0 or -ENOMEM. */
const char *hvapi_tags_get(const struct hvapi_tags *t, const char *key);
int hvapi_tags_set(struct hvapi_tags *t, const char *key, const char *value);

#include "hypervisor_msgs.h"

/* Appends a copy of a to l. 0 or -ENOMEM. */
int hvapi_addresses_add(struct hvapi_addresses *l, const struct hvapi_address *a);

#endif
