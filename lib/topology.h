/* topology: the fleet's topology directory (spec/fleet-and-images.md §2) loaded into an
 * immutable, reference-counted snapshot. The loader is pure: topology_load_files takes
 * the files' contents (what topology_load_dir read from a directory tree), so that it
 * can be fuzzed and unit-tested without a file system.
 *
 * Locations are directory paths relative to the root, '/'-separated, "" for the root.
 * Each machine's record as the Fleet Manager serves it is computed at load time:
 * Location set, Tags = the tags.json of the root down to its directory merged (deeper
 * wins) and then its own tags, owners = the owners.json of its directory and every
 * ancestor plus its own (union, sorted), Hostname = the IP string when none is given.
 * Local tag overrides (ChangeMachineTags) are not the topology's business: see
 * daemon/fleet-manager/machines.h. */
#ifndef SS_TOPOLOGY_H
#define SS_TOPOLOGY_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/fleetmanager.h"

/* One file of the tree: path relative to the root ("NYC/rack0/machines.json"). */
struct topo_file {
	const char *path;
	const char *data;
	size_t len;
};

struct topo_machine {
	struct fmapi_machine m; /* as served: Location, merged Tags and owners */
	/* Every subnet visible to the machine: its directory's and its ancestors', the
	 * nearest first. Pointers into the topology. */
	const struct fmapi_topology_subnet **subnets;
	size_t nsubnets;
	/* StorageLayout of the nearest install-config.json (borrowed, NULL if none). */
	const json_t *storage_layout;
};

struct topology; /* opaque, immutable once loaded */

/* Loads the tree given as files (any order). Files other than the spec's names, and
 * paths with a component starting with '.', are ignored. JSON files may carry comment
 * lines (first non-blank characters "//" or "#"). Every validation rule of §2 is
 * checked; the first failure is returned as -EINVAL with one message in err naming the
 * file and, where it has one, the line ("NYC/rack0/machines.json:12: duplicate IP
 * 10.0.0.5 (also NYC/rack1/machines.json:3)"). On success *out holds one reference. */
int topology_load_files(const struct topo_file *files, size_t nfiles, struct topology **out,
			char *err, size_t errsz);

/* Reads the spec's files of the tree under dir (skipping dot-directories; a file over
 * 16 MiB is an error), then topology_load_files. Same returns; I/O errors name the
 * path. */
int topology_load_dir(const char *dir, struct topology **out, char *err, size_t errsz);

/* Is name (a file's base name) one of the files of §2 ("machines.json"...)? */
bool topology_file_name(const char *name);

/* References (atomic): a snapshot is freed when its last reference goes. */
struct topology *topology_ref(struct topology *t);
void topology_unref(struct topology *t);

/* A digest of the loaded contents (SHA-256 hex of the files, sorted by path): equal
 * digests, equal topologies. */
const char *topology_digest(const struct topology *t);

/* Machines, sorted by hostname. */
size_t topology_nmachines(const struct topology *t);
const struct topo_machine *topology_machine(const struct topology *t, size_t i);

/* Lookups (NULL when none): by hostname; by IP (the primary HostIpAddress or a
 * secondary entry's: not IPMI's); by MAC (any of the machine's entries, IPMI's
 * included). */
const struct topo_machine *topology_find_hostname(const struct topology *t, const char *host);
const struct topo_machine *topology_find_ip(const struct topology *t, struct in_addr ip);
const struct topo_machine *topology_find_mac(const struct topology *t, const uint8_t mac[6]);

/* Every location (directory) of the tree, sorted, "" (the root) first: the directories
 * holding one of the spec's files, and their ancestors. */
size_t topology_nlocations(const struct topology *t);
const char *topology_location(const struct topology *t, size_t i);

/* Is loc inside prefix ("" matches all; "NYC" matches "NYC" and "NYC/rack0", not
 * "NYCX")? */
bool topology_location_in(const char *loc, const char *prefix);

/* The topology subnet with this Id visible to m, NULL if none. */
const struct fmapi_topology_subnet *topology_machine_subnet(const struct topo_machine *m,
							    const char *id);

/* A variable of a variables.json, its ${var} and $var references expanded from the
 * local_variables.json of the same directory (missing ones expand to ""). name is the
 * directory path and the key: "NYC/dns" ("dns" at the root). NULL when none. */
const char *topology_variable(const struct topology *t, const char *name);

#endif
