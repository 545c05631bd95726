/* Persistence of acknowledged dynamic leases: a snapshot, stateDir/dynamic-leases.json
 * (netboot.md §1.3, written atomically, removed when empty), plus a journal of the
 * ACKs since that snapshot, stateDir/dynamic-leases.journal (one JSON object per
 * line), written once per batch of ACKs before they are sent and synced shortly
 * after, and folded into the snapshot now and then. Rewriting the whole snapshot per
 * ACK would make every lease cost O(leases). */
#ifndef SS_DHCP_STORE_H
#define SS_DHCP_STORE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_lease.h"

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

struct dhcp_journal;

/* Opens (creates) the journal for appending. 0 or -errno. */
int dhcp_journal_open(const char *path, struct dhcp_journal **out);
void dhcp_journal_close(struct dhcp_journal *j);
/* Buffers one record: a lease set (del false) or removed (del true, by MAC). */
int dhcp_journal_add(struct dhcp_journal *j, const struct dhcp_store_entry *e, bool del);
/* Writes the buffered records (to the page cache: a crash of the process loses
 * nothing), and fdatasyncs too when sync. 0 or -errno (records stay buffered). */
int dhcp_journal_commit(struct dhcp_journal *j, bool sync);
/* fdatasync of what was written. 0 or -errno. */
int dhcp_journal_sync(struct dhcp_journal *j);
/* Empties the journal after a snapshot took its content. 0 or -errno. */
int dhcp_journal_truncate(struct dhcp_journal *j);
/* Records written since the last truncate. */
size_t dhcp_journal_count(const struct dhcp_journal *j);
/* Applies the journal at path to the entries (*e is realloc'ed): a set replaces the
 * entry of its MAC (and of its IP), a del removes the MAC's. A torn or bad line is
 * skipped and counted in *bad. A missing file changes nothing. 0 or -errno. */
int dhcp_journal_replay(const char *path, struct dhcp_store_entry **e, size_t *n, size_t *bad);

#endif
