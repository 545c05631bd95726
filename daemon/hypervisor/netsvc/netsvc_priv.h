/* Internals shared by the network-service files (netsvc.c, netsvc_state.c,
 * dhcp_server.c, tftp_server.c, ra6.c, boot_http.c, netsvc_ifaces.c). Not for other
 * users.
 *
 * Locking: ns->lock guards leases, files, subnets, ifaces, rootfd and the token
 * counter. It is held only for table operations: never across socket I/O, file
 * writes or hook calls. ns->cond is broadcast after ACKs and lease removals. */
#ifndef SS_NETSVC_PRIV_H
#define SS_NETSVC_PRIV_H

#include <pthread.h>
#include <stdarg.h>

#include "ratelimit.h"

#include "daemon/hypervisor/netsvc/dhcp/dhcp_handle.h"
#include "daemon/hypervisor/netsvc/dhcp/dhcp_store.h"
#include "daemon/hypervisor/netsvc/evloop.h"
#include "daemon/hypervisor/netsvc/netsvc.h"

#define DHCP_BATCH 32

struct dhcp_server {
	struct ev_io io;
	struct dhcp_result *res; /* DHCP_BATCH results of one receive batch */
	int ifindex[DHCP_BATCH];
};

/* The kinds of rate-limited log lines (netsvc_log_peer). */
enum netsvc_peer_log {
	NETSVC_PEER_LOG_TFTP_REFUSED, /* "tftpd(ip:file): refused: ..." */
	NETSVC_PEER_LOG_TFTP_FAILED,  /* "tftpd(ip:file): failed after ..." */
	NETSVC_PEER_LOG_TFTP_DONE,    /* "tftpd(ip:file): N bytes sent in ..." */
	NETSVC_PEER_LOG_FILES,	      /* "netboot files of ip: name refused: ..." */
	NETSVC_PEER_LOG_KINDS,
};

struct tftp_xfer;

struct tftp_server {
	struct ev_io io;
	struct tftp_xfer *xfers; /* list of active transfers */
	unsigned active;
};

struct ra6 {
	struct ev_io io;
	int joined[64]; /* ifindexes that joined ff02::2 */
	size_t njoined;
};

struct netsvc_stats {
	uint64_t dhcp_rx, dhcp_malformed, dhcp_dropped, dhcp_offers, dhcp_acks, dhcp_naks;
	uint64_t dhcp_persist_errors;
	uint64_t tftp_rrq, tftp_refused, tftp_done, tftp_failed, tftp_probes, tftp_bytes,
	    tftp_retransmits;
	uint64_t ra_sent;
	uint64_t http_requests;
};

#define NETSVC_STAT_ADD(ns, field, n) __atomic_add_fetch(&(ns)->stats.field, (n), __ATOMIC_RELAXED)

struct netsvc {
	/* Configuration (strings owned). */
	struct netsvc_config cfg;
	char **ifnames;
	struct dhcp_boot_map *boot_map;
	char *leases_path, *journal_path;
	struct dhcp_journal *journal; /* loop thread only */
	struct netsvc_hooks hooks;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dhcp_leases *leases;
	struct nbf_registry *files;
	struct dhcp_subnet *subnets;
	size_t nsubnets;
	struct dhcp_iface *ifaces;
	size_t nifaces;
	int64_t ifaces_scanned; /* monotonic ms */
	int64_t ra_joined_scan; /* the scan ra6 last joined groups for (loop thread) */
	bool ra_rejoin;
	int rootfd;
	uint64_t next_token;
	struct netsvc_reg *regs; /* netboot registrations */
	size_t nregs;
	bool dyn_dirty;
	int64_t last_fold; /* monotonic ms of the last snapshot rewrite */

	struct evloop *loop;
	pthread_t thread;
	bool running;
	bool stopping; /* under lock: waits end with -ECANCELED */
	struct ev_timer sweep, jsync;
	struct dhcp_server dhcp;
	struct tftp_server tftp;
	struct ra6 ra;
	struct netsvc_stats stats;

	pthread_mutex_t log_lock; /* guards peer_log (leaf lock) */
	struct ratelimit peer_log[NETSVC_PEER_LOG_KINDS];
};

/* A NetbootMachine registration (token -> IP, MAC, ACK baseline). */
struct netsvc_reg {
	uint64_t token;
	struct in_addr ip;
	uint8_t mac[6];
	struct netsvc_ack_watch watch;
};

enum netsvc_log_level {
	NETSVC_LOG_ERROR,
	NETSVC_LOG_INFO,
	NETSVC_LOG_DEBUG,
};

/* Logs through lib/log (debug lines at debug level 1). */
void netsvc_log(struct netsvc *ns, enum netsvc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* netsvc_log for a line a client can cause once per packet, limited per kind
 * (netsvc_config.peer_log_burst at once, peer_log_rate per second); the lines it drops
 * are counted and netsvc_log_flush says how many. Thread-safe (HTTP boot threads
 * resolve files too). */
void netsvc_log_peer(struct netsvc *ns, enum netsvc_peer_log kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One line per kind that dropped lines since the last call ("tftpd: 1972 refusal
 * lines suppressed ..."). Called by the sweep, every second. */
void netsvc_log_flush(struct netsvc *ns);

/* Interface table (netsvc_ifaces.c). Caller holds ns->lock. */
int netsvc_ifaces_scan(struct netsvc *ns);
const struct dhcp_iface *netsvc_iface_by_index(struct netsvc *ns, int ifindex);
/* Looks the ingress interface up, rescanning at most once a second when unknown. */
const struct dhcp_iface *netsvc_iface_lookup(struct netsvc *ns, int ifindex);
/* MAC of ip in the kernel's neighbour table; false when unknown. No lock needed. */
bool netsvc_neigh_mac(struct in_addr ip, uint8_t mac[6]);
/* MTU of an interface, 0 when unknown. */
unsigned netsvc_iface_mtu(int ifindex);

/* A service of the loop (dhcp/, tftp/, ra6.c): opened at start when the configuration
 * wants it, closed at stop (also when never opened); refresh runs on the loop thread
 * after interface rescans. open logs its own failure. */
struct netsvc_server {
	const char *name;
	bool (*wanted)(const struct netsvc_config *cfg);
	int (*open)(struct netsvc *ns);
	void (*close)(struct netsvc *ns);
	void (*refresh)(struct netsvc *ns); /* may be NULL */
	bool optional;			    /* a failure to open is not fatal */
};
extern const struct netsvc_server netsvc_dhcp_server, netsvc_tftp_server, netsvc_ra6_server;
/* Every server, NULL-terminated (netsvc_servers.c). */
extern const struct netsvc_server *const netsvc_servers[];

/* A UDP socket bound to port on every address, with IP_PKTINFO (and SO_BROADCAST);
 * rcvbuf > 0 sets its receive buffer. The fd or -errno. */
int netsvc_udp_listen(uint16_t port, int rcvbuf, bool broadcast);
/* Watches fd for input on the loop with cb (io->arg = ns). On failure closes fd and
 * sets io->fd = -1. 0 or -errno. */
int netsvc_watch(struct netsvc *ns, struct ev_io *io, int fd,
		 void (*cb)(struct ev_io *io, uint32_t events));

/* Rewrites the dynamic-lease snapshot and empties the journal (loop thread, or after
 * it stopped; no lock held). */
void netsvc_persist(struct netsvc *ns);
/* Journals the acknowledged dynamic leases of a batch and syncs, before the ACKs go
 * out (loop thread). */
void netsvc_journal_batch(struct netsvc *ns, const struct dhcp_result *res, size_t n);
/* Fills a dhcp_ctx from ns (caller holds ns->lock). */
void netsvc_fill_ctx(struct netsvc *ns, struct dhcp_ctx *ctx, const struct dhcp_iface *ingress);

/* Resolves a boot file for TFTP/HTTP: per-IP files first, then the root. On success
 * either *blob (new reference) or *fd (new descriptor) is set. Returns 0, -ENOENT,
 * -EACCES, or another -errno. Takes ns->lock itself. */
int netsvc_resolve(struct netsvc *ns, struct in_addr client, const char *name,
		   struct nbf_blob **blob, int *fd);

#endif
