/* The hypervisor's network services: DHCP server (UDP 67), TFTP server (UDP 69),
 * HTTP boot file handler and IPv6 router-advertisement answers for netbooting
 * clients. They run on one event-loop thread (netsvc_start) and share one lock.
 *
 * How the VM manager uses it (every function here is thread-safe unless noted):
 *   - at start: netsvc_new(config, hooks), netsvc_set_subnets(all subnets),
 *     netsvc_start();
 *   - VM start: netsvc_lease_add(VM address + hostname) for each address, then
 *     netsvc_ack_watch() + netsvc_ack_wait() to wait for the VM's DHCP ACK;
 *     VM destroy: netsvc_lease_remove();
 *   - RegisterExternalLeases: netsvc_external_replace();
 *   - NetbootMachine (netboot.md §4.1): netsvc_netboot_begin() adds a temporary
 *     lease and the per-IP files under a fresh token, netsvc_netboot_wait() waits for
 *     N ACKs, netsvc_netboot_end() removes only what that token owns (weakness #17);
 *     leases and files also expire by themselves;
 *   - HTTP: the daemon mounts netsvc_http_get() under /boot/ on its HTTP port;
 *   - status page: netsvc_status_json().
 * Events flow back through struct netsvc_hooks, called on the loop thread with no
 * lock held. Log lines go to lib/log with the prefixes "dhcpd: ", "tftpd(ip:file): ",
 * "ra6: " (per-packet detail at debug level 1); the lines a client causes per packet
 * are rate-limited (netsvc_config.peer_log_*). */
#ifndef SS_NETSVC_H
#define SS_NETSVC_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_boot.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_subnet.h"
#include "daemon/hypervisor/netsvc/netboot_files.h"

struct netsvc;

struct netsvc_hooks {
	void *arg;
	/* Every sane DHCP packet, raw, before handling (WatchDhcp). */
	void (*dhcp_packet)(void *arg, const char *ifname, const uint8_t *pkt, size_t len);
	/* A DHCP REQUEST from mac named ip (learning externally leased VMs). */
	void (*dhcp_request)(void *arg, const uint8_t mac[6], struct in_addr ip);
	/* An ACK for ip was sent to mac. */
	void (*dhcp_ack)(void *arg, struct in_addr ip, const uint8_t mac[6]);
};

struct netsvc_config {
	const char *state_dir;	   /* dynamic-leases.json lives here; NULL: not persisted */
	const char *tftp_root;	   /* boot files (pxelinux.0, kernel, ...); NULL: none */
	const char *boot_template; /* "pxelinux.%d" (-networkBootImage) */
	const struct dhcp_boot_map *boot_map; /* per-arch overrides, may be NULL */
	size_t nboot_map;
	const char *const *interfaces; /* NULL-terminated names to serve; NULL: auto */
	bool bridges_only;	       /* auto mode: bridges only */
	uint16_t dhcp_port;	       /* 0: 67 */
	uint16_t tftp_port;	       /* 0: 69 */
	bool no_dhcp, no_tftp;	       /* run only one of them (tests, tools) */
	uint16_t http_port;	       /* where netsvc_http_get is mounted; 0: no HTTP boot */
	const char *http_path;	       /* mount point, default "/boot/" */
	bool send_ra;		       /* answer router solicitations of netboot clients */
	unsigned tftp_max_transfers;   /* 0: 1024 */
	unsigned tftp_max_per_client;  /* transfers at once from one address, 0: 8 */
	unsigned tftp_max_window;      /* 0: 64 */
	unsigned tftp_timeout_ms;      /* initial retransmit timeout, 0: 1000 */
	unsigned tftp_retries;	       /* 0: 6 */
	/* Log lines a client can cause once per packet (TFTP refusals, failures and
	 * transfers, refused per-IP files), per kind: peer_log_burst at once, then
	 * peer_log_rate per second; the rest is counted in one "suppressed" line a second. */
	unsigned peer_log_rate;	 /* 0: 10 */
	unsigned peer_log_burst; /* 0: 20 */
};

/* Copies the configuration. NULL on allocation failure. hooks may be NULL. */
struct netsvc *netsvc_new(const struct netsvc_config *cfg, const struct netsvc_hooks *hooks);
/* Opens the sockets, loads dynamic-leases.json and starts the loop thread.
 * 0 or -errno (the reason was also logged). */
int netsvc_start(struct netsvc *ns);
/* Stops the loop thread, closes the sockets and makes every ACK wait return
 * -ECANCELED (now and later). Leases persist. Idempotent. */
void netsvc_stop(struct netsvc *ns);
/* netsvc_stop, then frees everything. No thread may still be inside a netsvc call.
 * Accepts NULL. */
void netsvc_free(struct netsvc *ns);
/* Re-reads interfaces and addresses now (also done periodically). */
void netsvc_refresh_interfaces(struct netsvc *ns);
/* Switches the TFTP/HTTP root directory. 0 or -errno. */
int netsvc_set_tftp_root(struct netsvc *ns, const char *dir);

/* Replaces the set of subnets (copied). 0 or -ENOMEM. */
int netsvc_set_subnets(struct netsvc *ns, const struct dhcp_subnet *s, size_t n);
/* The same from the wire type (subnets.json, UpdateSubnets). */
struct hvapi_subnet;
struct hvapi_subnets;
void netsvc_subnet_from_api(const struct hvapi_subnet *in, struct dhcp_subnet *out);
int netsvc_set_api_subnets(struct netsvc *ns, const struct hvapi_subnets *l);

enum netsvc_lease_kind {
	NETSVC_LEASE_VM,
	NETSVC_LEASE_EXTERNAL,
};

struct netsvc_lease {
	uint8_t mac[6];
	struct in_addr ip;
	const char *hostname; /* may be NULL */
	enum netsvc_lease_kind kind;
};

/* Adds or replaces a static lease. 0, -EINVAL ("no IP address"), -ENOENT ("no subnet
 * found for <ip>"), -ENOMEM. */
int netsvc_lease_add(struct netsvc *ns, const struct netsvc_lease *l);
/* Removes the lease holding ip (waiters on it see -ECANCELED). 0 or -ENOENT. */
int netsvc_lease_remove(struct netsvc *ns, struct in_addr ip);
/* The registered external set becomes exactly these leases (hypervisor
 * RegisterExternalLeases): unlisted external leases go, others are added. */
int netsvc_external_replace(struct netsvc *ns, const struct netsvc_lease *l, size_t n);

/* Acknowledgement waiting (weakness #16). netsvc_ack_watch() snapshots the counters
 * of ip into *w; netsvc_ack_wait() then blocks until n ACKs for ip were sent after
 * the snapshot (0), the lease of ip was removed (-ECANCELED), or deadline (wall
 * clock ms) passed (-ETIMEDOUT). Any number of waiters per IP. Every watch needs one
 * netsvc_ack_unwatch(). */
struct netsvc_ack_watch {
	struct in_addr ip;
	uint64_t acks, cancels;
};
int netsvc_ack_watch(struct netsvc *ns, struct in_addr ip, struct netsvc_ack_watch *w);
int netsvc_ack_wait(struct netsvc *ns, const struct netsvc_ack_watch *w, unsigned n,
		    int64_t deadline_ms);
void netsvc_ack_unwatch(struct netsvc *ns, const struct netsvc_ack_watch *w);

/* NetbootMachine (netboot.md §4.1). */
struct netsvc_netboot {
	uint8_t mac[6];
	struct in_addr ip;
	const char *hostname;
	const struct dhcp_subnet *subnet; /* optional explicit subnet */
	const struct netboot_file *files; /* per-IP files, may be empty */
	size_t nfiles;
	int64_t offer_expires_ms; /* wall clock: the lease goes away then, regardless */
	int64_t files_expires_ms; /* wall clock: files go away then unless re-timed */
};

/* Adds the netboot lease (refused with -EEXIST "already have lease for <mac>" if the
 * MAC holds another static lease; -ENOENT without subnet) and registers the files,
 * both tagged with a new token returned in *token, and starts counting ACKs. */
int netsvc_netboot_begin(struct netsvc *ns, const struct netsvc_netboot *nb, uint64_t *token);
/* Waits for n ACKs of the registration's IP since begin. 0, -ETIMEDOUT, -ECANCELED,
 * -ENOENT (unknown token). */
int netsvc_netboot_wait(struct netsvc *ns, uint64_t token, unsigned n, int64_t deadline_ms);
/* Ends a registration: removes its lease if still its own; on success keeps its files
 * until files_expires_ms (wall clock), else removes them. */
void netsvc_netboot_end(struct netsvc *ns, uint64_t token, bool success, int64_t files_expires_ms);

/* Forgets a registration without removing anything: its lease and files stay until
 * their own expiry (offer_expires_ms, files_expires_ms), still tagged with the token,
 * so nothing newer is touched (NetbootMachine with no acknowledgement to wait for). */
void netsvc_netboot_detach(struct netsvc *ns, uint64_t token);

/* Per-IP files without a lease (tools, tests). mac may be NULL. n == 0 deletes. */
int netsvc_files_set(struct netsvc *ns, struct in_addr ip, const uint8_t *mac,
		     const struct netboot_file *files, size_t n, int64_t expires_ms);

/* HTTP boot: content for `path` (below the mount point, e.g. "boot.ipxe" or
 * "vmlinuz") asked by client. Same resolution and confinement as TFTP: per-IP
 * files, then the root; "boot.ipxe" is generated from pxelinux.cfg when the root
 * has no such file. The reply holds either an fd (regular file: size bytes) or a
 * blob; free it with netsvc_http_reply_free. */
struct netsvc_http_reply {
	int status; /* 200, 403, 404 */
	const char *content_type;
	int fd; /* -1 when blob is used */
	uint64_t size;
	struct nbf_blob *blob;
};
void netsvc_http_get(struct netsvc *ns, const char *path, struct in_addr client,
		     struct netsvc_http_reply *r);
void netsvc_http_reply_free(struct netsvc_http_reply *r);

/* Interfaces, leases (static and dynamic), files and counters as JSON (new
 * reference) for the status page. */
json_t *netsvc_status_json(struct netsvc *ns);

/* The state of one service for GET /health: name "dhcp" or "tftp". */
enum netsvc_service_state {
	NETSVC_SERVICE_RUNNING,
	NETSVC_SERVICE_DISABLED,    /* switched off by the configuration */
	NETSVC_SERVICE_NOT_RUNNING, /* the loop is not running or the socket is closed */
};
enum netsvc_service_state netsvc_service(struct netsvc *ns, const char *name);

#endif
