/* Per-client virtual files for network boot (config.json, imagename, ...), registered
 * per client IP by the netboot RPCs and served by TFTP and HTTP boot. A set may be
 * bound to a MAC: then it is served only after the DHCP server acknowledged that IP
 * to that MAC (weakness #10), and only until it expires. Pure: the owner locks. */
#ifndef SS_NETBOOT_FILES_H
#define SS_NETBOOT_FILES_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Immutable refcounted bytes, shared with transfers still sending them. */
struct nbf_blob {
	int refs; /* atomic */
	size_t len;
	uint8_t data[];
};

struct nbf_blob *nbf_blob_new(const void *data, size_t len);
struct nbf_blob *nbf_blob_ref(struct nbf_blob *b);
void nbf_blob_unref(struct nbf_blob *b);

/* A file to register: name as a client would ask for it (normalised on entry). */
struct netboot_file {
	const char *name;
	const void *data;
	size_t len;
};

struct nbf_registry;

struct nbf_registry *nbf_registry_new(void);
void nbf_registry_free(struct nbf_registry *r);

/* Replaces the set of ip wholesale (n == 0 deletes it). mac may be NULL (no MAC
 * binding). expires is wall-clock ms, 0 = never. token tags the owner.
 * 0, -EINVAL (bad name) or -ENOMEM. */
int nbf_set(struct nbf_registry *r, struct in_addr ip, const uint8_t *mac,
	    const struct netboot_file *files, size_t n, int64_t expires, uint64_t token);
/* Removes / re-times the set of ip if token is 0 or matches. 0, -ENOENT, -EPERM. */
int nbf_remove(struct nbf_registry *r, struct in_addr ip, uint64_t token);
int nbf_set_expiry(struct nbf_registry *r, struct in_addr ip, uint64_t token, int64_t expires);
/* The DHCP server acknowledged ip to mac. */
void nbf_note_ack(struct nbf_registry *r, struct in_addr ip, const uint8_t mac[6]);
bool nbf_has(struct nbf_registry *r, struct in_addr ip, int64_t now);

enum nbf_lookup_result {
	NBF_FOUND,
	NBF_NO_SET,    /* nothing registered for this IP (fall back to the root) */
	NBF_NO_FILE,   /* a set exists but not this name (fall back to the root) */
	NBF_NOT_ACKED, /* bound to a MAC that has not completed DHCP yet */
	NBF_WRONG_MAC, /* the peer's MAC is known and differs */
};

/* Looks up a normalised name for a client. peer_mac is the client's MAC when known
 * (neighbour table), else NULL. On NBF_FOUND *blob is a new reference. */
enum nbf_lookup_result nbf_lookup(struct nbf_registry *r, struct in_addr ip, const char *name,
				  int64_t now, const uint8_t *peer_mac, struct nbf_blob **blob);

/* Drops expired sets; returns the earliest remaining expiry (INT64_MAX if none). */
int64_t nbf_expire(struct nbf_registry *r, int64_t now);
size_t nbf_count(const struct nbf_registry *r);

#endif
