/* The DHCP lease table: static leases (VMs, registered external leases, temporary
 * netboot leases), dynamic leases and declined addresses, indexed by MAC and IP, plus
 * per-IP acknowledgement counters for waiters. Pure logic: time is a parameter and
 * there is no locking (the owner serialises access). */
#ifndef SS_DHCP_LEASE_H
#define SS_DHCP_LEASE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_subnet.h"

#define DHCP_HOSTNAME_MAX 64

enum dhcp_lease_kind {
	DHCP_LEASE_VM,	     /* a VM's address (static, not persisted) */
	DHCP_LEASE_EXTERNAL, /* RegisterExternalLeases (static) */
	DHCP_LEASE_NETBOOT,  /* NetbootMachine: static with boot file, expires */
	DHCP_LEASE_DYNAMIC,  /* from a subnet's dynamic range, persisted once acked */
	DHCP_LEASE_DECLINED, /* address a client reported in use; no MAC */
};

struct dhcp_lease {
	uint8_t mac[6];
	struct in_addr ip;
	enum dhcp_lease_kind kind;
	char hostname[DHCP_HOSTNAME_MAX]; /* static: given name; dynamic: client's option 12 */
	uint64_t token;			  /* owner tag (netboot registrations); 0 = none */
	int64_t expires;		  /* wall-clock ms; 0 = never */
	bool acked;			  /* dynamic: false while only offered */
	bool has_subnet;		  /* explicit subnet (NetbootMachine's Subnet) */
	struct dhcp_subnet subnet;
	/* Table internals. */
	struct dhcp_lease *next_mac, *next_ip;
};

struct dhcp_leases;

struct dhcp_leases *dhcp_leases_new(void);
void dhcp_leases_free(struct dhcp_leases *t);

static inline bool dhcp_lease_is_static(const struct dhcp_lease *l)
{
	return l->kind == DHCP_LEASE_VM || l->kind == DHCP_LEASE_EXTERNAL ||
	       l->kind == DHCP_LEASE_NETBOOT;
}

/* Adds a static lease (copied). Drops a dynamic lease of the same MAC, replaces a
 * static lease of the same MAC and evicts whatever else held the IP (netboot.md
 * §1.3). *dyn_changed is set when a dynamic lease vanished (persist again).
 * 0, -EINVAL (dynamic kind, zero IP) or -ENOMEM. */
int dhcp_leases_add(struct dhcp_leases *t, const struct dhcp_lease *l, bool *dyn_changed);

/* Removes the lease holding ip / mac when token is 0 or matches its token.
 * 0, -ENOENT, or -EPERM when the lease belongs to another owner. */
int dhcp_leases_remove_ip(struct dhcp_leases *t, struct in_addr ip, uint64_t token,
			  bool *dyn_changed);
int dhcp_leases_remove_mac(struct dhcp_leases *t, const uint8_t mac[6], uint64_t token,
			   bool *dyn_changed);

/* Live (not expired) lease of a MAC / holding an IP, or NULL. Borrowed. */
struct dhcp_lease *dhcp_leases_by_mac(struct dhcp_leases *t, const uint8_t mac[6], int64_t now);
struct dhcp_lease *dhcp_leases_by_ip(struct dhcp_leases *t, struct in_addr ip, int64_t now);

/* Dynamic lease offered to mac in subnet s: its live dynamic lease in s if any, else
 * the requested address when it is in the range and free, else the next free
 * address round-robin. A new or still unacked offer expires at now + offer_ms.
 * Returns the lease (borrowed) or NULL when the range is full (-ENOSPC) or on
 * allocation failure. */
struct dhcp_lease *dhcp_leases_offer(struct dhcp_leases *t, const uint8_t mac[6],
				     const struct dhcp_subnet *s, struct in_addr requested,
				     int64_t now, int64_t offer_ms);

/* Marks a dynamic lease acknowledged until now + lease_ms; hostname may be NULL. */
void dhcp_leases_commit(struct dhcp_lease *l, int64_t now, int64_t lease_ms, const char *hostname);

/* Inserts a dynamic lease read back from disk (expired ones are refused: -ESTALE). */
int dhcp_leases_restore(struct dhcp_leases *t, const uint8_t mac[6], struct in_addr ip,
			const char *hostname, int64_t expires, int64_t now);

/* DECLINE: the address is in use by someone else; hold it back for hold_ms. */
void dhcp_leases_decline(struct dhcp_leases *t, struct in_addr ip, int64_t now, int64_t hold_ms,
			 bool *dyn_changed);

/* Deletes expired leases; returns the earliest remaining expiry (INT64_MAX if none). */
int64_t dhcp_leases_expire(struct dhcp_leases *t, int64_t now, bool *dyn_changed);

/* Calls fn for every lease (expired ones included until the next sweep). fn must not
 * modify the table. */
void dhcp_leases_foreach(struct dhcp_leases *t, void (*fn)(const struct dhcp_lease *, void *),
			 void *arg);
size_t dhcp_leases_count(const struct dhcp_leases *t);

/* Acknowledgement counters (weakness #16): a waiter watches an IP, remembers the
 * counters, and compares later. acks counts ACKs sent for the IP; cancels counts
 * removals of a lease holding it. Counting starts with the first watch. */
struct dhcp_ack_state {
	uint64_t acks, cancels;
};
int dhcp_leases_watch(struct dhcp_leases *t, struct in_addr ip, struct dhcp_ack_state *now_state);
void dhcp_leases_unwatch(struct dhcp_leases *t, struct in_addr ip);
bool dhcp_leases_ack_state(const struct dhcp_leases *t, struct in_addr ip,
			   struct dhcp_ack_state *st);
/* Records one ACK for ip (no-op when nobody watches it). */
void dhcp_leases_note_ack(struct dhcp_leases *t, struct in_addr ip);

#endif
