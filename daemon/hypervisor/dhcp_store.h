/* Persistence of acknowledged dynamic leases: stateDir/dynamic-leases.json
 * (netboot.md §1.3), written atomically (fsutil), removed when empty. */
#ifndef SS_DHCP_STORE_H
#define SS_DHCP_STORE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/dhcp_lease.h"

struct dhcp_store_entry {
	uint8_t mac[6];
	struct in_addr ip;
	char hostname[DHCP_HOSTNAME_MAX];
	int64_t expires; /* wall-clock ms */
};

/* JSON text of the entries (Go-style pretty print), sorted by IP string,
 * ClientHostName omitted when empty. Returns a new string (free()) or NULL on
 * allocation failure. */
char *dhcp_store_encode(const struct dhcp_store_entry *e, size_t n);
/* Parses the JSON text; entries with bad fields are skipped and counted in *bad.
 * *out is a new array (free()). 0 or -EBADMSG (not a JSON array) / -ENOMEM. */
int dhcp_store_decode(const char *text, struct dhcp_store_entry **out, size_t *n, size_t *bad);

/* Writes path atomically; n == 0 removes the file. 0 or -errno. */
int dhcp_store_save(const char *path, const struct dhcp_store_entry *e, size_t n);
/* Reads path; a missing file is an empty list. 0 or -errno / -EBADMSG. */
int dhcp_store_load(const char *path, struct dhcp_store_entry **out, size_t *n, size_t *bad);

#endif
