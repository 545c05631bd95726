/* ss-stormc: a boot storm of simulated PXE clients, for bench/bootstorm and its smoke
 * test. Each client does what a BIOS PXE ROM and pxelinux do: DHCP DISCOVER, OFFER,
 * REQUEST, ACK with its own MAC (broadcast flag, option 93 arch 0, option 60
 * PXEClient), then TFTP from its leased address: the boot file named in the OFFER (a
 * tsize-only request that is aborted with ERROR 8, then the file with blksize, as the
 * ROM does), then the kernel (tsize + blksize, windowsize only with -w, as pxelinux).
 * All clients share one epoll loop; client i starts at i * SPREAD / N ms.
 *
 *   ss-stormc -i IFACE [-n CLIENTS] [-M MAC4] [-f BOOTFILE] [-k KERNEL] [-b BLKSIZE]
 *             [-w WINDOW] [-s SPREAD_MS] [-c DIR] [-D TRIES] [-R RETRIES] [-t LIMIT_S]
 *             [-v]
 *   -i  the clients' interface (the DHCP socket is bound to it); each leased address
 *       must already be on it, the client's TFTP sockets bind to it
 *   -M  the first 4 bytes of the MACs (02:42:53:00): client i has MAC4:i>>8:i&255
 *   -f  the boot file when an OFFER names none (the hypervisor names one only for
 *       NetbootMachine leases, netboot.md 1.4); without -f such an OFFER is ignored,
 *       as a PXE ROM ignores a DHCP offer without a boot file
 *   -k  the file fetched after the boot file (vmlinuz)
 *   -c  compare every file with DIR/<name> (SHA-256); a difference fails the client
 *   -D  DHCP tries per message, waiting 4, 8, 16, 32... s (4); -R TFTP resends after
 *       1 s of silence (6); then the client has timed out, as a ROM gives up
 *   -t  overall limit (600 s): clients unfinished then count as timed out
 *   -v  one line per client: "client I mac=M ip=A server=S boot=F boot_sha256=H
 *       kernel_sha256=H ms=T", or "client I mac=M failed=REASON"
 * Prints "clients=N done=N timeouts=N errors=N mismatches=N offers_with_file=N
 * dhcp_resends=N naks=N tftp_resends=N p50_ms=N p99_ms=N max_ms=N last_s=S MB=M"; last_s runs from
 * the first DISCOVER to the last client's final block. Exit 0 when every client completed, 1
 * otherwise, 2 on usage errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"

#define MAX_CLIENTS 65536
#define TFTP_TIMEOUT_MS 1000
#define SCAN_MS 10
#define DHCP_EV UINT32_MAX
#define BOOTFILE_MAX 128

enum phase {
	PH_WAIT,     /* not started yet */
	PH_DISCOVER, /* DISCOVER sent, waiting for an OFFER */
	PH_REQUEST,  /* REQUEST sent, waiting for the ACK */
	PH_PROBE,    /* boot file asked with tsize only, to be aborted at the OACK */
	PH_BOOT,     /* boot file transfer */
	PH_KERNEL,   /* kernel transfer */
	PH_DONE,
	PH_FAILED,
};

enum failure { F_NONE, F_TIMEOUT, F_ERROR, F_MISMATCH };

struct client {
	enum phase phase;
	enum failure failure;
	const char *why;
	char errmsg[640];
	uint8_t mac[6];
	uint32_t xid;
	unsigned tries;	  /* sends of the current DHCP message, or TFTP resends */
	int64_t deadline; /* ms: what to do when nothing arrived by then */
	int64_t t_start, t_done;
	struct in_addr offered, server_id, tftp_server;
	char bootfile[BOOTFILE_MAX];
	/* the current TFTP transfer */
	int fd;
	struct sockaddr_in peer;
	bool locked, gap_acked;
	uint32_t blksize, window, in_window;
	uint64_t got, bytes;
	uint8_t last[600];
	size_t last_len;
	EVP_MD_CTX *md;
	unsigned char boot_sum[32], kernel_sum[32];
};

struct storm {
	const char *iface, *kernel, *cmpdir, *bootfile;
	unsigned n, spread_ms, dhcp_tries, tftp_retries, limit_s, blksize, window;
	uint8_t mac4[4];
	bool verbose;
	int ep, dhcp_fd;
	unsigned ifindex;
	uint32_t xid_base;
	struct client *c;
	int64_t t0;
	unsigned active;
	uint64_t dhcp_resends, naks, tftp_resends, total_bytes, offers_with_file;
	/* expected SHA-256 of files in cmpdir, by name */
	struct {
		char name[BOOTFILE_MAX];
		unsigned char sum[32];
		bool ok;
	} want[4];
	unsigned nwant;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- DHCP ---- */

static size_t put_opt(uint8_t *b, size_t off, uint8_t code, const void *data, size_t len)
{
	b[off] = code;
	b[off + 1] = (uint8_t)len;
	memcpy(b + off + 2, data, len);
	return off + 2 + len;
}

/* A DISCOVER or REQUEST as a PXE 2.1 ROM sends it. */
static size_t dhcp_build(const struct storm *s, const struct client *c, uint8_t type, uint8_t *b)
{
	static const uint8_t prl[] = {1,  2,  3,  5,  6,   11,	12,  13,  15,  16,  17,	 18,
				      43, 54, 60, 67, 128, 129, 130, 131, 132, 133, 134, 135};
	static const char vc[] = "PXEClient:Arch:00000:UNDI:002001";
	const uint8_t maxmsg[2] = {0x04, 0xec}; /* 1260 */
	const uint8_t arch[2] = {0, 0};
	const uint8_t ndi[3] = {1, 2, 1};
	uint8_t uuid[17] = {0};
	unsigned secs = (unsigned)((now_ms() - c->t_start) / 1000);
	size_t off;

	(void)s;
	memset(b, 0, 548);
	b[0] = DHCP_OP_REQUEST;
	b[1] = 1;
	b[2] = 6;
	b[4] = (uint8_t)(c->xid >> 24);
	b[5] = (uint8_t)(c->xid >> 16);
	b[6] = (uint8_t)(c->xid >> 8);
	b[7] = (uint8_t)c->xid;
	b[8] = (uint8_t)(secs >> 8);
	b[9] = (uint8_t)secs;
	b[10] = 0x80; /* broadcast: the ROM has no address yet */
	memcpy(b + 28, c->mac, 6);
	b[236] = 99;
	b[237] = 130;
	b[238] = 83;
	b[239] = 99;
	memcpy(uuid + 11, c->mac, 6);
	off = put_opt(b, 240, DHCP_OPT_MSG_TYPE, &type, 1);
	off = put_opt(b, off, DHCP_OPT_MAX_MSG_SIZE, maxmsg, 2);
	if (type == DHCP_REQUEST) {
		off = put_opt(b, off, DHCP_OPT_REQUESTED_IP, &c->offered, 4);
		off = put_opt(b, off, DHCP_OPT_SERVER_ID, &c->server_id, 4);
	}
	off = put_opt(b, off, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	off = put_opt(b, off, DHCP_OPT_UUID, uuid, sizeof(uuid));
	off = put_opt(b, off, DHCP_OPT_CLIENT_NDI, ndi, sizeof(ndi));
	off = put_opt(b, off, DHCP_OPT_CLIENT_ARCH, arch, sizeof(arch));
	off = put_opt(b, off, DHCP_OPT_VENDOR_CLASS, vc, sizeof(vc) - 1);
	b[off++] = DHCP_OPT_END;
	return off < DHCP_BOOTP_MIN_LEN ? DHCP_BOOTP_MIN_LEN : off;
}

static void dhcp_send(struct storm *s, struct client *c, uint8_t type)
{
	uint8_t b[600];
	size_t n = dhcp_build(s, c, type, b);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(67)};

	to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	sendto(s->dhcp_fd, b, n, 0, (struct sockaddr *)&to, sizeof(to));
}

/* Wait before DHCP try number `tries` (1-based) times out: 4, 8, 16, 32... s. */
static int64_t dhcp_wait_ms(unsigned tries)
{
	return 4000LL << (tries - 1 < 6 ? tries - 1 : 6);
}

static void fail(struct storm *s, struct client *c, enum failure f, const char *why)
{
	if (c->fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->phase = PH_FAILED;
	c->failure = f;
	c->why = why;
	s->active--;
}

static void tftp_start(struct storm *s, struct client *c, enum phase ph);

/* The boot file and the TFTP server of an OFFER: option 67, else the BOOTP file field;
 * siaddr, else option 66, else the server id. */
static void take_offer(struct client *c, const struct dhcp_msg *m, const uint8_t *raw)
{
	char tftp[64];

	c->offered = m->yiaddr;
	if (!dhcp_msg_opt_addr(m, DHCP_OPT_SERVER_ID, &c->server_id))
		c->server_id.s_addr = 0;
	if (dhcp_msg_opt_str(m, DHCP_OPT_BOOTFILE, c->bootfile, sizeof(c->bootfile)) < 0) {
		memcpy(c->bootfile, raw + 108, BOOTFILE_MAX - 1);
		c->bootfile[BOOTFILE_MAX - 1] = '\0';
	}
	c->tftp_server = m->siaddr;
	if (c->tftp_server.s_addr == 0 &&
	    (dhcp_msg_opt_str(m, DHCP_OPT_TFTP_SERVER, tftp, sizeof(tftp)) < 0 ||
	     inet_pton(AF_INET, tftp, &c->tftp_server) != 1))
		c->tftp_server = c->server_id;
}

static void dhcp_input(struct storm *s, const uint8_t *b, size_t n)
{
	static struct dhcp_msg m; /* large; one loop thread */
	struct client *c;
	uint32_t i;

	if (dhcp_msg_parse(b, n, &m) < 0 || m.op != DHCP_OP_REPLY)
		return;
	i = m.xid - s->xid_base;
	if (i >= s->n)
		return;
	c = &s->c[i];
	if (memcmp(m.chaddr, c->mac, 6) != 0)
		return;
	if (c->phase == PH_DISCOVER && m.type == DHCP_OFFER) {
		take_offer(c, &m, b);
		if (c->bootfile[0] != '\0')
			s->offers_with_file++;
		else if (s->bootfile != NULL)
			snprintf(c->bootfile, sizeof(c->bootfile), "%s", s->bootfile);
		if (c->bootfile[0] == '\0' || c->tftp_server.s_addr == 0)
			return; /* not a PXE offer: a ROM waits for another */
		c->phase = PH_REQUEST;
		c->tries = 1;
		c->deadline = now_ms() + dhcp_wait_ms(1);
		dhcp_send(s, c, DHCP_REQUEST);
	} else if (c->phase == PH_REQUEST && m.type == DHCP_NAK) {
		s->naks++;
		c->phase = PH_DISCOVER;
		c->tries = 1;
		c->deadline = now_ms() + dhcp_wait_ms(1);
		dhcp_send(s, c, DHCP_DISCOVER);
	} else if (c->phase == PH_REQUEST && m.type == DHCP_ACK) {
		if (m.yiaddr.s_addr != c->offered.s_addr) {
			snprintf(c->errmsg, sizeof(c->errmsg), "ACK for another address");
			fail(s, c, F_ERROR, c->errmsg);
			return;
		}
		tftp_start(s, c, PH_PROBE);
	}
}

static void dhcp_readable(struct storm *s)
{
	uint8_t b[DHCP_MAX_LEN + 1];
	ssize_t n;

	while ((n = recv(s->dhcp_fd, b, sizeof(b), 0)) >= 0)
		dhcp_input(s, b, (size_t)n);
}

/* ---- TFTP ---- */

static void tftp_send_last(struct client *c)
{
	sendto(c->fd, c->last, c->last_len, 0, (struct sockaddr *)&c->peer, sizeof(c->peer));
}

static void tftp_send_ack(struct client *c, uint16_t block)
{
	c->last_len = (size_t)tftp_build_ack(c->last, sizeof(c->last), block);
	c->in_window = 0;
	tftp_send_last(c);
}

static void tftp_close(struct storm *s, struct client *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* A new transfer from a new port (a new TID), as a client does for every file. */
static void tftp_start(struct storm *s, struct client *c, enum phase ph)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr = c->offered};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(c - s->c)};
	struct tftp_opts o = {.has_tsize = true};
	const char *name = ph == PH_KERNEL ? s->kernel : c->bootfile;
	int rc;

	c->phase = ph;
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "socket: %s", strerror(errno));
		fail(s, c, F_ERROR, c->errmsg);
		return;
	}
	if (bind(c->fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		snprintf(c->errmsg, sizeof(c->errmsg), "bind %s: %s", inet_ntoa(c->offered),
			 strerror(errno));
		fail(s, c, F_ERROR, c->errmsg);
		return;
	}
	c->peer = (struct sockaddr_in){
	    .sin_family = AF_INET, .sin_addr = c->tftp_server, .sin_port = htons(69)};
	c->locked = false;
	c->gap_acked = false;
	c->got = 0;
	c->bytes = 0;
	c->in_window = 0;
	c->window = 0;
	c->blksize = TFTP_BLKSIZE_DEFAULT;
	if (ph != PH_PROBE) {
		o.has_tsize = ph == PH_KERNEL;
		o.has_blksize = true;
		o.blksize = s->blksize;
		if (ph == PH_KERNEL && s->window > 1) {
			o.has_windowsize = true;
			o.windowsize = s->window;
		}
		EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
	}
	rc = tftp_build_rrq(c->last, sizeof(c->last), name, "octet", &o);
	if (rc < 0) {
		fail(s, c, F_ERROR, "file name too long");
		return;
	}
	c->last_len = (size_t)rc;
	c->tries = 0;
	c->deadline = now_ms() + TFTP_TIMEOUT_MS;
	tftp_send_last(c);
}

static const unsigned char *want_sum(struct storm *s, const char *name)
{
	char path[4096];
	unsigned char buf[65536];
	unsigned int len;
	EVP_MD_CTX *md;
	ssize_t r;
	int fd;

	for (unsigned i = 0; i < s->nwant; i++)
		if (strcmp(s->want[i].name, name) == 0)
			return s->want[i].ok ? s->want[i].sum : NULL;
	if (s->nwant == sizeof(s->want) / sizeof(s->want[0]))
		return NULL;
	snprintf(s->want[s->nwant].name, BOOTFILE_MAX, "%s", name);
	s->want[s->nwant].ok = false;
	snprintf(path, sizeof(path), "%s/%s", s->cmpdir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	md = EVP_MD_CTX_new();
	if (fd >= 0 && md != NULL) {
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(md, buf, (size_t)r);
		if (r == 0) {
			EVP_DigestFinal_ex(md, s->want[s->nwant].sum, &len);
			s->want[s->nwant].ok = true;
		}
	}
	EVP_MD_CTX_free(md);
	if (fd >= 0)
		close(fd);
	return s->want[s->nwant++].ok ? s->want[s->nwant - 1].sum : NULL;
}

/* The last block of a file arrived. */
static void tftp_finished(struct storm *s, struct client *c)
{
	unsigned char *sum = c->phase == PH_KERNEL ? c->kernel_sum : c->boot_sum;
	const char *name = c->phase == PH_KERNEL ? s->kernel : c->bootfile;
	const unsigned char *want;
	unsigned int len;

	tftp_send_ack(c, (uint16_t)c->got);
	EVP_DigestFinal_ex(c->md, sum, &len);
	s->total_bytes += c->bytes;
	tftp_close(s, c);
	if (s->cmpdir != NULL) {
		want = want_sum(s, name);
		if (want == NULL || memcmp(want, sum, 32) != 0) {
			snprintf(c->errmsg, sizeof(c->errmsg), "%s differs from %.200s/%s", name,
				 s->cmpdir, name);
			fail(s, c, F_MISMATCH, c->errmsg);
			return;
		}
	}
	if (c->phase == PH_BOOT) {
		tftp_start(s, c, PH_KERNEL);
		return;
	}
	c->phase = PH_DONE;
	c->t_done = now_ms();
	s->active--;
}

static void tftp_data(struct storm *s, struct client *c, const struct tftp_reply *r)
{
	if (c->window == 0) { /* DATA 1 without an OACK: every option refused */
		c->blksize = TFTP_BLKSIZE_DEFAULT;
		c->window = 1;
	}
	if (r->block != (uint16_t)(c->got + 1)) {
		/* a gap or a stale repeat: ask once for a resend from our position */
		if (!c->gap_acked) {
			c->gap_acked = true;
			tftp_send_ack(c, (uint16_t)c->got);
		}
		return;
	}
	c->got++;
	c->gap_acked = false;
	c->bytes += r->datalen;
	EVP_DigestUpdate(c->md, r->data, r->datalen);
	if (r->datalen < c->blksize) {
		tftp_finished(s, c);
		return;
	}
	if (++c->in_window >= c->window)
		tftp_send_ack(c, (uint16_t)c->got);
}

static void tftp_input(struct storm *s, struct client *c, const uint8_t *b, size_t n,
		       const struct sockaddr_in *from)
{
	struct tftp_reply r;
	struct tftp_opts o;

	if (from->sin_addr.s_addr != c->peer.sin_addr.s_addr ||
	    (c->locked && from->sin_port != c->peer.sin_port))
		return; /* not our transfer's peer */
	if (tftp_reply_parse(b, n, &r) < 0)
		return;
	if (!c->locked) {
		c->peer.sin_port = from->sin_port;
		c->locked = true;
	}
	c->tries = 0;
	c->deadline = now_ms() + TFTP_TIMEOUT_MS;
	if (r.opcode == TFTP_ERROR) {
		snprintf(c->errmsg, sizeof(c->errmsg), "TFTP error %u: %s", r.errcode, r.errmsg);
		fail(s, c, F_ERROR, c->errmsg);
		return;
	}
	if (c->phase == PH_PROBE && (r.opcode == TFTP_OACK || r.opcode == TFTP_DATA)) {
		/* The ROM only wanted the size: it aborts and asks again with blksize. */
		c->last_len = (size_t)tftp_build_error(c->last, sizeof(c->last), TFTP_EOPTNEG,
						       "TFTP Aborted");
		tftp_send_last(c);
		tftp_close(s, c);
		tftp_start(s, c, PH_BOOT);
		return;
	}
	if (r.opcode == TFTP_OACK) {
		if (c->got != 0 || tftp_oack_parse(b, n, &o) < 0)
			return;
		c->blksize = o.has_blksize ? o.blksize : TFTP_BLKSIZE_DEFAULT;
		c->window = o.has_windowsize ? o.windowsize : 1;
		tftp_send_ack(c, 0);
		return;
	}
	if (r.opcode == TFTP_DATA)
		tftp_data(s, c, &r);
}

static void tftp_readable(struct storm *s, struct client *c)
{
	uint8_t b[65536];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;

	while (c->fd >= 0) {
		fl = sizeof(from);
		n = recvfrom(c->fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		tftp_input(s, c, b, (size_t)n, &from);
	}
}

/* ---- timers ---- */

static void expire(struct storm *s, struct client *c, int64_t now)
{
	switch (c->phase) {
	case PH_WAIT:
		c->t_start = now;
		c->phase = PH_DISCOVER;
		c->tries = 1;
		c->deadline = now + dhcp_wait_ms(1);
		dhcp_send(s, c, DHCP_DISCOVER);
		return;
	case PH_DISCOVER:
	case PH_REQUEST:
		if (c->tries >= s->dhcp_tries) {
			fail(s, c, F_TIMEOUT,
			     c->phase == PH_DISCOVER ? "no DHCP OFFER" : "no DHCP ACK");
			return;
		}
		c->tries++;
		s->dhcp_resends++;
		c->deadline = now + dhcp_wait_ms(c->tries);
		dhcp_send(s, c, c->phase == PH_DISCOVER ? DHCP_DISCOVER : DHCP_REQUEST);
		return;
	case PH_PROBE:
	case PH_BOOT:
	case PH_KERNEL:
		if (c->tries >= s->tftp_retries) {
			snprintf(c->errmsg, sizeof(c->errmsg), "TFTP timeout (%s, block %llu)",
				 c->phase == PH_KERNEL ? s->kernel : c->bootfile,
				 (unsigned long long)c->got);
			fail(s, c, F_TIMEOUT, c->errmsg);
			return;
		}
		c->tries++;
		s->tftp_resends++;
		c->deadline = now + TFTP_TIMEOUT_MS;
		tftp_send_last(c);
		return;
	case PH_DONE:
	case PH_FAILED:
		return;
	}
}

/* ---- setup, loop, report ---- */

static int open_dhcp(struct storm *s)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(68)};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = DHCP_EV};
	int one = 1, buf = 8 << 20;

	s->dhcp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->dhcp_fd < 0)
		return -errno;
	setsockopt(s->dhcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s->dhcp_fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(s->dhcp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(s->dhcp_fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	if (setsockopt(s->dhcp_fd, SOL_SOCKET, SO_BINDTODEVICE, s->iface, strlen(s->iface)) < 0 ||
	    bind(s->dhcp_fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->dhcp_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void run(struct storm *s)
{
	struct epoll_event evs[64];
	int64_t now, next_scan = 0, limit;

	s->t0 = now_ms();
	limit = s->t0 + (int64_t)s->limit_s * 1000;
	for (unsigned i = 0; i < s->n; i++)
		s->c[i].deadline = s->t0 + (int64_t)i * s->spread_ms / s->n;
	while (s->active > 0) {
		now = now_ms();
		if (now >= next_scan) {
			for (unsigned i = 0; i < s->n; i++)
				if (s->c[i].deadline <= now)
					expire(s, &s->c[i], now);
			next_scan = now + SCAN_MS;
			if (now >= limit)
				break;
		}
		int k = epoll_wait(s->ep, evs, 64, (int)(next_scan - now));
		for (int j = 0; j < k; j++) {
			if (evs[j].data.u32 == DHCP_EV)
				dhcp_readable(s);
			else
				tftp_readable(s, &s->c[evs[j].data.u32]);
		}
	}
	for (unsigned i = 0; i < s->n; i++)
		if (s->c[i].phase != PH_DONE && s->c[i].phase != PH_FAILED)
			fail(s, &s->c[i], F_TIMEOUT, "overall limit reached");
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(struct storm *s)
{
	unsigned done = 0, timeouts = 0, errors = 0, mismatches = 0;
	int64_t *ms = calloc(s->n ? s->n : 1, sizeof(*ms)), last = s->t0;
	char a[INET_ADDRSTRLEN], srv[INET_ADDRSTRLEN], hb[65], hk[65], mac[18];

	for (unsigned i = 0; i < s->n; i++) {
		struct client *c = &s->c[i];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1],
			 c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
		if (c->phase == PH_DONE) {
			if (ms != NULL)
				ms[done] = c->t_done - c->t_start;
			done++;
			if (c->t_done > last)
				last = c->t_done;
			if (!s->verbose)
				continue;
			inet_ntop(AF_INET, &c->offered, a, sizeof(a));
			inet_ntop(AF_INET, &c->tftp_server, srv, sizeof(srv));
			hex(c->boot_sum, 32, hb);
			hex(c->kernel_sum, 32, hk);
			printf("client %u mac=%s ip=%s server=%s boot=%s boot_sha256=%s "
			       "kernel_sha256=%s ms=%lld\n",
			       i, mac, a, srv, c->bootfile, hb, hk,
			       (long long)(c->t_done - c->t_start));
			continue;
		}
		timeouts += c->failure == F_TIMEOUT;
		errors += c->failure == F_ERROR;
		mismatches += c->failure == F_MISMATCH;
		if (s->verbose)
			printf("client %u mac=%s failed=%s\n", i, mac, c->why ? c->why : "?");
		else if (timeouts + errors + mismatches <= 10)
			fprintf(stderr, "ss-stormc: client %u (%s): %s\n", i, mac,
				c->why ? c->why : "?");
	}
	if (ms != NULL && done > 0)
		qsort(ms, done, sizeof(*ms), cmp_i64);
	printf("clients=%u done=%u timeouts=%u errors=%u mismatches=%u offers_with_file=%llu "
	       "dhcp_resends=%llu naks=%llu tftp_resends=%llu p50_ms=%lld p99_ms=%lld "
	       "max_ms=%lld last_s=%.3f MB=%.1f\n",
	       s->n, done, timeouts, errors, mismatches, (unsigned long long)s->offers_with_file,
	       (unsigned long long)s->dhcp_resends, (unsigned long long)s->naks,
	       (unsigned long long)s->tftp_resends,
	       (long long)(ms != NULL && done ? ms[(done - 1) / 2] : 0),
	       (long long)(ms != NULL && done ? ms[(done * 99 + 99) / 100 - 1] : 0),
	       (long long)(ms != NULL && done ? ms[done - 1] : 0), (double)(last - s->t0) / 1000.0,
	       (double)s->total_bytes / 1e6);
	free(ms);
}

static int parse_mac4(const char *arg, uint8_t out[4])
{
	unsigned v[4];
	char end;

	if (sscanf(arg, "%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &end) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (v[i] > 255)
			return -EINVAL;
		out[i] = (uint8_t)v[i];
	}
	return (out[0] & 1) ? -EINVAL : 0;
}

#define USAGE                                                                                      \
	"usage: ss-stormc -i IFACE [-n CLIENTS] [-M MAC4] [-f BOOTFILE] [-k KERNEL] "              \
	"[-b BLKSIZE] [-w WINDOW] [-s SPREAD_MS] [-c DIR] [-D TRIES] [-R RETRIES] "                \
	"[-t LIMIT_S] [-v]\n"

static int usage(void)
{
	fputs(USAGE, stderr);
	return 2;
}

static int help(void)
{
	fputs(USAGE "Plays CLIENTS PXE clients booting at once from IFACE (bench/bootstorm):\n"
		    "DHCP DISCOVER/OFFER/REQUEST/ACK with its own MAC each, then TFTP of the boot\n"
		    "file and of KERNEL from the leased address (which must be on IFACE).\n"
		    "  -i IFACE      the interface the clients use (required)\n"
		    "  -n CLIENTS    how many (default 500)\n"
		    "  -M MAC4       first 4 bytes of the MACs, aa:bb:cc:dd (default 02:42:53:00)\n"
		    "  -f BOOTFILE   boot file to fetch when the OFFER names none\n"
		    "  -k KERNEL     the second file (default vmlinuz)\n"
		    "  -b BLKSIZE    TFTP blksize asked (default 1468)\n"
		    "  -w WINDOW     TFTP windowsize asked (default 1: lockstep)\n"
		    "  -s SPREAD_MS  start the clients over this many ms (default 0)\n"
		    "  -c DIR        compare the files received with DIR/<name> (SHA-256)\n"
		    "  -D TRIES      DHCP tries, waiting 4, 8, 16, 32 s (default 4)\n"
		    "  -R RETRIES    TFTP resends after 1 s (default 6)\n"
		    "  -t LIMIT_S    give up after this many seconds (default 600)\n"
		    "  -v            one line per client\n"
		    "Prints one summary line (clients, done, timeouts, errors, mismatches, p50,\n"
		    "p99, time to the last client). Exit 0 if every client finished, 1 if not,\n"
		    "2 for a usage error.\n",
	      stdout);
	return 1;
}

static int parse_args(int argc, char **argv, struct storm *s)
{
	int o;

	*s = (struct storm){.kernel = "vmlinuz",
			    .n = 500,
			    .dhcp_tries = 4,
			    .tftp_retries = 6,
			    .limit_s = 600,
			    .blksize = 1468,
			    .window = 1,
			    .mac4 = {0x02, 0x42, 0x53, 0x00}};
	while ((o = getopt(argc, argv, "hi:n:M:f:k:b:w:s:c:D:R:t:v")) != -1) {
		switch (o) {
		case 'h':
			return help();
		case 'i':
			s->iface = optarg;
			break;
		case 'n':
			s->n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'M':
			if (parse_mac4(optarg, s->mac4) < 0)
				return usage();
			break;
		case 'f':
			s->bootfile = optarg;
			break;
		case 'k':
			s->kernel = optarg;
			break;
		case 'b':
			s->blksize = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			s->window = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			s->spread_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			s->cmpdir = optarg;
			break;
		case 'D':
			s->dhcp_tries = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			s->tftp_retries = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			s->limit_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'v':
			s->verbose = true;
			break;
		default:
			return usage();
		}
	}
	if (s->iface == NULL || optind != argc || s->n == 0 || s->n > MAX_CLIENTS ||
	    s->blksize < TFTP_BLKSIZE_MIN || s->blksize > TFTP_BLKSIZE_MAX || s->window == 0 ||
	    s->window > TFTP_WINDOW_MAX || s->dhcp_tries == 0 || s->limit_s == 0 ||
	    strlen(s->kernel) > TFTP_NAME_MAX ||
	    (s->bootfile != NULL && strlen(s->bootfile) >= BOOTFILE_MAX))
		return usage();
	return 0;
}

int main(int argc, char **argv)
{
	struct storm s;
	struct timespec ts;
	int rc;

	rc = parse_args(argc, argv, &s);
	if (rc != 0)
		return rc == 1 ? 0 : 2; /* 1: -h was answered */
	s.c = calloc(s.n, sizeof(*s.c));
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	if (s.c == NULL || s.ep < 0) {
		fprintf(stderr, "ss-stormc: out of memory\n");
		return 1;
	}
	rc = open_dhcp(&s);
	if (rc < 0) {
		fprintf(stderr, "ss-stormc: DHCP socket on %s: %s\n", s.iface, strerror(-rc));
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	s.xid_base = (uint32_t)(ts.tv_nsec ^ ts.tv_sec ^ getpid()) & 0xffff0000u;
	for (unsigned i = 0; i < s.n; i++) {
		struct client *c = &s.c[i];

		memcpy(c->mac, s.mac4, 4);
		c->mac[4] = (uint8_t)(i >> 8);
		c->mac[5] = (uint8_t)i;
		c->xid = s.xid_base + i;
		c->fd = -1;
		c->md = EVP_MD_CTX_new();
		if (c->md == NULL) {
			fprintf(stderr, "ss-stormc: out of memory\n");
			return 1;
		}
	}
	s.active = s.n;
	run(&s);
	report(&s);
	rc = 0;
	for (unsigned i = 0; i < s.n; i++) {
		if (s.c[i].phase != PH_DONE)
			rc = 1;
		EVP_MD_CTX_free(s.c[i].md);
	}
	free(s.c);
	close(s.dhcp_fd);
	close(s.ep);
	return rc;
}
