/* The metadata service's packet filter: per-tap anti-spoofing, link-local isolation and
 * the MAC rewrite towards each bridge's metadata namespace, as nftables ruleset text for
 * the daemon's own tables (never anybody else's), applied in one atomic transaction. */
#ifndef SS_METADATA_NFT_H
#define SS_METADATA_NFT_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METADATA_NFT_TABLE "smallstack"

/* A bridge served by a metadata namespace. */
struct metadata_nft_bridge {
	char name[IFNAMSIZ];
	char veth[IFNAMSIZ]; /* host end of the namespace's veth, a port of the bridge */
	uint8_t ns_mac[6];   /* MAC of the namespace's end (169.254.169.254) */
};

/* A VM's tap: only this MAC and IP may come out of it. */
struct metadata_tap {
	char name[IFNAMSIZ];
	char bridge[IFNAMSIZ]; /* "" when unknown: no MAC rewrite for this tap */
	uint8_t mac[6];
	struct in_addr ip; /* INADDR_ANY = not known yet: no metadata for this tap */
};

/* True for a name usable as an interface name in our rules: 1..15 printable ASCII
 * characters, none of / : " \ * (so "br@prod" is fine). */
bool metadata_ifname_ok(const char *name);

/* True for a usable table name ([A-Za-z][A-Za-z0-9_]*, at most 32). */
bool metadata_nft_table_ok(const char *table);

/* Returns a new string: the text that atomically replaces tables `bridge <table>` and
 * `inet <table>` with the rules for these bridges and taps. NULL on allocation failure
 * or an invalid name (errno says which). */
char *metadata_nft_ruleset(const char *table, const struct metadata_nft_bridge *bridges,
			   size_t nbridges, const struct metadata_tap *taps, size_t ntaps);

/* Returns a new string: the text that deletes both tables if they exist. */
char *metadata_nft_teardown(const char *table);

/* Runs ruleset text as one nftables transaction (all or nothing) in the calling thread's
 * network namespace. On failure returns a negative errno and, when err is not NULL,
 * sets *err to a new string with nftables' message. */
int metadata_nft_apply(const char *text, char **err);

#endif
