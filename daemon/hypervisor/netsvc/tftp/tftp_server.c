/* TFTP server I/O (read-only): requests on :69, one connected UDP socket per transfer
 * (so only the transfer's peer reaches it), option negotiation, windows (RFC 7440),
 * retransmission with backoff, block numbers wrapping past 65535.
 *
 * Retransmission rules (no Sorcerer's Apprentice, no "TFTP storm"): an ACK that
 * advances the window sends the next window at once (from the block after the ACK,
 * so a partial ACK repairs a gap); a duplicate ACK of the block before the window
 * resends the window at most once per timeout period, and never in lockstep mode
 * (RFC 1123 4.2.3.1); the timer resends with a doubling timeout.
 *
 * Hostile clients (issue 17): one address may hold tftp_max_per_client transfers at
 * once (a host that sends RRQs and never ACKs would otherwise hold every slot for
 * the whole retransmission time); further RRQs get an ERROR. The log lines a client
 * causes per packet go through netsvc_log_peer (rate-limited per kind). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/netsvc_priv.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

#define TFTP_NETASCII_MAX (16u << 20)
#define TFTP_MAX_BACKOFF_MS 8000
#define TFTP_MAX_WINDOW 64 /* hard cap on negotiated windowsize */
/* Transfers at once: a boot storm of 500 PXE clients (bench/bootstorm) holds 500. At
 * most 2 fds and (4 + blksize) * window bytes each. */
#define TFTP_MAX_TRANSFERS_DEFAULT 1024

struct tftp_xfer {
	struct ev_io io;
	struct ev_timer timer;
	struct netsvc *ns;
	struct tftp_xfer *next;
	struct sockaddr_in peer;
	char name[TFTP_NAME_MAX + 1];
	int fd;		       /* file source, or -1 */
	struct nbf_blob *blob; /* memory source, or NULL */
	uint64_t size, nblocks;
	uint32_t blksize, window;
	int64_t timeout_ms, cur_timeout_ms;
	unsigned retries;
	uint64_t base;	    /* first unacknowledged block; 0 while the OACK is unanswered */
	uint64_t sent_hi;   /* highest block sent */
	int64_t dup_resend; /* when a duplicate ACK last triggered a resend */
	uint64_t loaded_first, loaded_last; /* blocks held in buf */
	uint64_t pending_from;		    /* socket was full: continue sending here (0: none) */
	uint8_t oack[TFTP_OACK_MAX];
	size_t oack_len;
	int64_t started;
	uint64_t bytes_sent;
	unsigned resends;
	uint8_t *buf; /* window slots of 4 + blksize bytes */
};

static void xfer_free(struct tftp_xfer *x)
{
	struct netsvc *ns = x->ns;
	struct tftp_xfer **pp = &ns->tftp.xfers;
	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp)
		*pp = x->next;
	ns->tftp.active--;
	evloop_timer_cancel(ns->loop, &x->timer);
	if (x->io.fd >= 0) {
		evloop_del(ns->loop, &x->io);
		close(x->io.fd);
	}
	if (x->fd >= 0)
		close(x->fd);
	nbf_blob_unref(x->blob);
	free(x->buf);
	free(x);
}

static void xfer_finish(struct tftp_xfer *x, bool ok, const char *why)
{
	struct netsvc *ns = x->ns;
	char ip[INET_ADDRSTRLEN];
	int64_t ms = evloop_now_ms() - x->started;
	inet_ntop(AF_INET, &x->peer.sin_addr, ip, sizeof(ip));
	if (ok) {
		NETSVC_STAT_ADD(ns, tftp_done, 1);
		double rate = ms > 0 ? (double)x->size * 1000.0 / (double)ms : 0;
		netsvc_log_peer(
		    ns, NETSVC_PEER_LOG_TFTP_DONE,
		    "tftpd(%s:%s): %llu bytes sent in %lld ms (%.0f B/s), blksize %u window %u, "
		    "%u resends",
		    ip, x->name, (unsigned long long)x->size, (long long)ms, rate, x->blksize,
		    x->window, x->resends);
	} else {
		NETSVC_STAT_ADD(ns, tftp_failed, 1);
		netsvc_log_peer(ns, NETSVC_PEER_LOG_TFTP_FAILED,
				"tftpd(%s:%s): failed after %llu bytes: %s", ip, x->name,
				(unsigned long long)x->bytes_sent, why);
	}
	xfer_free(x);
}

static void send_error_fd(int fd, const struct sockaddr_in *to, uint16_t code, const char *msg)
{
	uint8_t pkt[160];
	int n = tftp_build_error(pkt, sizeof(pkt), code, msg);
	if (n > 0)
		sendto(fd, pkt, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)to,
		       to ? sizeof(*to) : 0);
}

static size_t block_len(const struct tftp_xfer *x, uint64_t b)
{
	uint64_t off = (b - 1) * x->blksize;
	if (off >= x->size)
		return 0;
	return x->size - off < x->blksize ? (size_t)(x->size - off) : x->blksize;
}

/* Reads blocks first..last (1-based) into their slots of x->buf (each slot is a DATA
 * packet: 4-byte header + blksize) with one preadv. 0 or -errno. */
static int load_blocks(struct tftp_xfer *x, uint64_t first, uint64_t last)
{
	size_t slot = 4 + (size_t)x->blksize, n = (size_t)(last - first + 1), want = 0;
	struct iovec iov[TFTP_MAX_WINDOW];
	for (size_t i = 0; i < n; i++) {
		uint8_t *pkt = x->buf + i * slot;
		size_t len = block_len(x, first + i);
		tftp_build_data_hdr(pkt, (uint16_t)(first + i));
		if (x->blob)
			memcpy(pkt + 4, x->blob->data + (first + i - 1) * x->blksize, len);
		iov[i] = (struct iovec){.iov_base = pkt + 4, .iov_len = len};
		want += len;
	}
	if (x->blob || want == 0)
		return 0;
	off_t off = (off_t)((first - 1) * x->blksize);
	size_t got = 0;
	struct iovec *v = iov;
	int nv = (int)n;
	while (got < want) {
		ssize_t r = preadv(x->fd, v, nv, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		got += (size_t)r;
		while (nv > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			nv--;
		}
		if (nv > 0) {
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Sends blocks from..last of the window with one sendmmsg. When the socket buffer is
 * full, waits for EPOLLOUT and continues from there (x->pending_from). */
static int send_blocks(struct tftp_xfer *x, uint64_t from, uint64_t last)
{
	size_t slot = 4 + (size_t)x->blksize, n = (size_t)(last - from + 1);
	struct mmsghdr mm[TFTP_MAX_WINDOW];
	struct iovec iov[TFTP_MAX_WINDOW];
	size_t base_i = (size_t)(from - x->loaded_first);
	memset(mm, 0, n * sizeof(mm[0]));
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = x->buf + (base_i + i) * slot;
		iov[i].iov_len = 4 + block_len(x, from + i);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	int sent = sendmmsg(x->io.fd, mm, (unsigned)n, MSG_DONTWAIT);
	if (sent < 0 && errno != EAGAIN && errno != ENOBUFS)
		return -errno;
	if (sent < 0)
		sent = 0;
	for (uint64_t b = from; b < from + (uint64_t)sent; b++) {
		if (b <= x->sent_hi) {
			NETSVC_STAT_ADD(x->ns, tftp_retransmits, 1);
		} else {
			x->bytes_sent += block_len(x, b);
			NETSVC_STAT_ADD(x->ns, tftp_bytes, block_len(x, b));
			x->sent_hi = b;
		}
	}
	bool blocked = (size_t)sent < n;
	if (blocked != (x->pending_from != 0))
		evloop_mod(x->ns->loop, &x->io, blocked ? EPOLLIN | EPOLLOUT : EPOLLIN);
	x->pending_from = blocked ? from + (uint64_t)sent : 0;
	return 0;
}

/* Sends the window starting at x->base and arms the retransmission timer. */
static int send_window(struct tftp_xfer *x)
{
	uint64_t last = x->base + x->window - 1;
	if (last > x->nblocks)
		last = x->nblocks;
	int rc = load_blocks(x, x->base, last);
	if (rc < 0)
		return rc;
	x->loaded_first = x->base;
	x->loaded_last = last;
	rc = send_blocks(x, x->base, last);
	if (rc < 0)
		return rc;
	evloop_timer_set(x->ns->loop, &x->timer, evloop_now_ms() + x->cur_timeout_ms);
	return 0;
}

static int send_oack(struct tftp_xfer *x)
{
	if (send(x->io.fd, x->oack, x->oack_len, MSG_DONTWAIT) < 0 && errno != EAGAIN)
		return -errno;
	evloop_timer_set(x->ns->loop, &x->timer, evloop_now_ms() + x->cur_timeout_ms);
	return 0;
}

static void on_timeout(struct ev_timer *t)
{
	struct tftp_xfer *x = t->arg;
	unsigned max = x->ns->cfg.tftp_retries ? x->ns->cfg.tftp_retries : 6;
	if (++x->retries > max) {
		xfer_finish(x, false, "timed out");
		return;
	}
	x->cur_timeout_ms *= 2;
	if (x->cur_timeout_ms > TFTP_MAX_BACKOFF_MS)
		x->cur_timeout_ms =
		    x->timeout_ms > TFTP_MAX_BACKOFF_MS ? x->timeout_ms : TFTP_MAX_BACKOFF_MS;
	x->resends++;
	int rc = x->base == 0 ? send_oack(x) : send_window(x);
	if (rc < 0)
		xfer_finish(x, false, strerror(-rc));
}

/* ACK of wire block k16. Returns false when the transfer ended (x is freed). */
static bool on_ack(struct tftp_xfer *x, uint16_t k16)
{
	int rc;
	if (x->base == 0) {
		if (k16 != 0)
			return true;
		x->base = 1;
	} else {
		/* Unwrap relative to the block before the window. */
		uint16_t diff = (uint16_t)(k16 - (uint16_t)(x->base - 1));
		uint64_t k = x->base - 1 + diff;
		if (diff > x->window || k > x->sent_hi)
			return true; /* stale, or a block never sent */
		if (diff == 0) {
			int64_t now = evloop_now_ms();
			if (x->window == 1 || now - x->dup_resend < x->timeout_ms)
				return true;
			x->dup_resend = now;
			x->resends++;
			rc = send_window(x);
			goto out;
		}
		x->base = k + 1;
		if (x->base > x->nblocks) {
			xfer_finish(x, true, NULL);
			return false;
		}
	}
	x->retries = 0;
	x->cur_timeout_ms = x->timeout_ms;
	rc = send_window(x);
out:
	if (rc < 0) {
		xfer_finish(x, false, strerror(-rc));
		return false;
	}
	return true;
}

static void xfer_readable(struct ev_io *io, uint32_t events)
{
	struct tftp_xfer *x = io->arg;
	uint8_t pkt[600];
	if ((events & EPOLLOUT) && x->pending_from) {
		int rc = send_blocks(x, x->pending_from, x->loaded_last);
		if (rc < 0) {
			xfer_finish(x, false, strerror(-rc));
			return;
		}
	}
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(io->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			xfer_finish(x, false, strerror(errno)); /* e.g. ICMP port unreachable */
			return;
		}
		/* The socket is connected; check anyway (RFC 1350 §4). */
		if (from.sin_addr.s_addr != x->peer.sin_addr.s_addr ||
		    from.sin_port != x->peer.sin_port)
			continue;
		struct tftp_reply r;
		if (tftp_reply_parse(pkt, (size_t)n, &r) < 0)
			continue;
		if (r.opcode == TFTP_ERROR && r.errcode == 8 && x->bytes_sent == 0) {
			/* A PXE ROM's size probe: it reads tsize from the OACK and aborts
			 * (RFC 2347 error 8), then asks again. Not a failure. */
			NETSVC_STAT_ADD(x->ns, tftp_probes, 1);
			xfer_free(x);
			return;
		}
		if (r.opcode == TFTP_ERROR) {
			char why[160];
			snprintf(why, sizeof(why), "client error %u: %s", r.errcode, r.errmsg);
			xfer_finish(x, false, why);
			return;
		}
		if (r.opcode == TFTP_ACK && !on_ack(x, r.block))
			return;
	}
}

/* Converts to netascii (LF -> CR LF, CR -> CR NUL) into a new blob. */
static int to_netascii(int fd, struct nbf_blob *src, struct nbf_blob **out)
{
	uint8_t *in = NULL, *conv = NULL;
	size_t len = 0;
	int rc = 0;
	if (src) {
		in = src->data;
		len = src->len;
	} else {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		if ((uint64_t)st.st_size > TFTP_NETASCII_MAX)
			return -EFBIG;
		len = (size_t)st.st_size;
		in = malloc(len ? len : 1);
		if (!in)
			return -ENOMEM;
		for (size_t got = 0; got < len;) {
			ssize_t r = pread(fd, in + got, len - got, (off_t)got);
			if (r <= 0) {
				rc = r < 0 ? -errno : -EIO;
				goto out;
			}
			got += (size_t)r;
		}
	}
	conv = malloc(2 * len + 1);
	if (!conv) {
		rc = -ENOMEM;
		goto out;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			conv[o++] = '\r';
			conv[o++] = '\n';
		} else if (in[i] == '\r') {
			conv[o++] = '\r';
			conv[o++] = 0;
		} else {
			conv[o++] = in[i];
		}
	}
	*out = nbf_blob_new(conv, o);
	if (!*out)
		rc = -ENOMEM;
out:
	if (!src)
		free(in);
	free(conv);
	return rc;
}

static int refuse(struct netsvc *ns, const struct sockaddr_in *to, uint16_t code, const char *msg,
		  const char *name)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &to->sin_addr, ip, sizeof(ip));
	NETSVC_STAT_ADD(ns, tftp_refused, 1);
	netsvc_log_peer(ns, NETSVC_PEER_LOG_TFTP_REFUSED, "tftpd(%s:%s): refused: %s", ip, name,
			msg);
	send_error_fd(ns->tftp.io.fd, to, code, msg);
	return 0;
}

/* Option negotiation (RFC 2347): accepted options go into the OACK. */
static void negotiate(struct netsvc *ns, const struct tftp_request *rq, int ifindex,
		      struct tftp_xfer *x)
{
	struct tftp_opts ack = {0};
	const struct tftp_opts *o = &rq->opts;
	unsigned maxwin = ns->cfg.tftp_max_window ? ns->cfg.tftp_max_window : TFTP_MAX_WINDOW;
	if (maxwin > TFTP_MAX_WINDOW)
		maxwin = TFTP_MAX_WINDOW;

	if (o->has_blksize) {
		/* Never more than fits the ingress link unfragmented. */
		uint32_t v = o->blksize;
		unsigned mtu = netsvc_iface_mtu(ifindex);
		if (mtu > 32 && v > mtu - 32)
			v = mtu - 32;
		if (v > TFTP_BLKSIZE_MAX)
			v = TFTP_BLKSIZE_MAX;
		if (v >= TFTP_BLKSIZE_MIN) {
			x->blksize = v;
			ack.has_blksize = true;
			ack.blksize = v;
		}
	}
	if (o->has_tsize) {
		ack.has_tsize = true;
		ack.tsize = x->size;
	}
	if (o->has_timeout) {
		x->timeout_ms = (int64_t)o->timeout * 1000;
		ack.has_timeout = true;
		ack.timeout = o->timeout;
	}
	if (o->has_windowsize) {
		x->window = o->windowsize < maxwin ? o->windowsize : maxwin;
		ack.has_windowsize = true;
		ack.windowsize = x->window;
	}
	if (ack.has_blksize || ack.has_tsize || ack.has_timeout || ack.has_windowsize) {
		int n = tftp_build_oack(x->oack, sizeof(x->oack), &ack);
		x->oack_len = n > 0 ? (size_t)n : 0;
	}
}

static int xfer_socket(struct tftp_xfer *x, struct in_addr local)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = local};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int sndbuf = (int)(x->window * (x->blksize + 64) * 2);
	if (sndbuf > 256 * 1024)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		sa.sin_addr.s_addr = INADDR_ANY;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&x->peer, sizeof(x->peer)) < 0)
		goto fail;
	return fd;
fail:;
	int e = -errno;
	close(fd);
	return e;
}

static void start_xfer(struct netsvc *ns, const struct tftp_request *rq, const char *name,
		       const struct sockaddr_in *peer, struct in_addr local, int ifindex, int fd,
		       struct nbf_blob *blob)
{
	struct tftp_xfer *x = calloc(1, sizeof(*x));
	int rc = -ENOMEM;
	if (!x) {
		if (fd >= 0)
			close(fd);
		nbf_blob_unref(blob);
		return;
	}
	x->ns = ns;
	x->io.fd = -1;
	x->fd = fd;
	x->blob = blob;
	x->peer = *peer;
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->blksize = TFTP_BLKSIZE_DEFAULT;
	x->window = 1;
	x->timeout_ms = ns->cfg.tftp_timeout_ms ? ns->cfg.tftp_timeout_ms : 1000;
	x->started = evloop_now_ms();
	x->dup_resend = INT64_MIN / 2;
	ev_timer_init(&x->timer, on_timeout, x);
	x->next = ns->tftp.xfers;
	ns->tftp.xfers = x;
	ns->tftp.active++;
	if (blob) {
		x->size = blob->len;
	} else {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		x->size = (uint64_t)st.st_size;
	}
	negotiate(ns, rq, ifindex, x);
	x->cur_timeout_ms = x->timeout_ms;
	x->nblocks = x->size / x->blksize + 1;
	x->buf = malloc((4 + (size_t)x->blksize) * x->window);
	if (!x->buf)
		goto fail;
	rc = xfer_socket(x, local);
	if (rc < 0)
		goto fail;
	x->io.fd = rc;
	x->io.cb = xfer_readable;
	x->io.arg = x;
	rc = evloop_add(ns->loop, &x->io, EPOLLIN);
	if (rc < 0) {
		close(x->io.fd);
		x->io.fd = -1;
		goto fail;
	}
	if (x->oack_len) {
		rc = send_oack(x);
	} else {
		x->base = 1;
		rc = send_window(x);
	}
	if (rc < 0)
		goto fail;
	return;
fail:
	send_error_fd(ns->tftp.io.fd, peer, TFTP_ENOTDEF, strerror(-rc));
	xfer_finish(x, false, strerror(-rc));
}

/* Transfers running for the client at addr (at most tftp_max_transfers to walk). */
static unsigned xfers_from(const struct netsvc *ns, struct in_addr addr)
{
	unsigned n = 0;

	for (const struct tftp_xfer *x = ns->tftp.xfers; x; x = x->next)
		n += x->peer.sin_addr.s_addr == addr.s_addr;
	return n;
}

static int on_request(struct netsvc *ns, const uint8_t *pkt, size_t len,
		      const struct sockaddr_in *from, struct in_addr local, int ifindex)
{
	struct tftp_request rq;
	char name[TFTP_NAME_MAX + 1];
	unsigned max =
	    ns->cfg.tftp_max_transfers ? ns->cfg.tftp_max_transfers : TFTP_MAX_TRANSFERS_DEFAULT;
	unsigned per_client = ns->cfg.tftp_max_per_client ? ns->cfg.tftp_max_per_client : 8;
	int rc = tftp_request_parse(pkt, len, &rq);

	if (rc == -EOPNOTSUPP)
		return 0; /* stray DATA/ACK/garbage: no answer, no reflection */
	NETSVC_STAT_ADD(ns, tftp_rrq, 1);
	if (rc == -ENAMETOOLONG)
		return refuse(ns, from, TFTP_EACCESS, "file name too long", "?");
	if (rc == -EPROTONOSUPPORT)
		return refuse(ns, from, TFTP_EBADOP, "unsupported transfer mode", rq.filename);
	if (rc < 0)
		return refuse(ns, from, TFTP_EBADOP, "malformed request", "?");
	if (rq.opcode == TFTP_WRQ)
		return refuse(ns, from, TFTP_EACCESS, "write requests are refused", rq.filename);
	if (rq.mode == TFTP_MODE_MAIL)
		return refuse(ns, from, TFTP_EBADOP, "mail mode is not supported", rq.filename);
	rc = tftp_path_normalize(rq.filename, name, sizeof(name));
	if (rc == -EACCES || rc == -EINVAL)
		return refuse(ns, from, TFTP_EACCESS, "access violation", rq.filename);
	if (rc < 0)
		return refuse(ns, from, TFTP_ENOTFOUND, "file not found", rq.filename);
	if (ns->tftp.active >= max)
		return refuse(ns, from, TFTP_ENOTDEF, "server busy, try again", name);
	if (xfers_from(ns, from->sin_addr) >= per_client)
		return refuse(ns, from, TFTP_ENOTDEF, "too many transfers from this address", name);

	struct nbf_blob *blob = NULL;
	int fd = -1;
	rc = netsvc_resolve(ns, from->sin_addr, name, &blob, &fd);
	if (rc == -ENOENT)
		return refuse(ns, from, TFTP_ENOTFOUND, "file not found", name);
	if (rc == -EACCES)
		return refuse(ns, from, TFTP_EACCESS, "access violation", name);
	if (rc < 0)
		return refuse(ns, from, TFTP_ENOTDEF, strerror(-rc), name);
	if (rq.mode == TFTP_MODE_NETASCII) {
		struct nbf_blob *conv = NULL;
		rc = to_netascii(fd, blob, &conv);
		if (fd >= 0)
			close(fd);
		nbf_blob_unref(blob);
		if (rc < 0)
			return refuse(ns, from, TFTP_ENOTDEF, strerror(-rc), name);
		fd = -1;
		blob = conv;
	}
	start_xfer(ns, &rq, name, from, local, ifindex, fd, blob);
	return 0;
}

static bool serving(struct netsvc *ns, int ifindex)
{
	if (!ns->ifnames)
		return true;
	pthread_mutex_lock(&ns->lock);
	const struct dhcp_iface *f = netsvc_iface_lookup(ns, ifindex);
	bool ok = f && f->serving;
	pthread_mutex_unlock(&ns->lock);
	return ok;
}

static void tftp_readable(struct ev_io *io, uint32_t events)
{
	struct netsvc *ns = io->arg;
	uint8_t pkt[1500];
	(void)events;
	for (int i = 0; i < 32; i++) {
		struct sockaddr_in from;
		struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
		union {
			char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cbuf;
		struct msghdr mh = {.msg_name = &from,
				    .msg_namelen = sizeof(from),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.buf,
				    .msg_controllen = sizeof(cbuf.buf)};
		ssize_t n = recvmsg(io->fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		struct in_pktinfo pi = {0};
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		if (from.sin_port == 0 || !serving(ns, pi.ipi_ifindex))
			continue;
		on_request(ns, pkt, (size_t)n, &from, pi.ipi_spec_dst, pi.ipi_ifindex);
	}
}

static int tftp_server_open(struct netsvc *ns)
{
	uint16_t port = ns->cfg.tftp_port ? ns->cfg.tftp_port : 69;
	int fd = netsvc_udp_listen(port, 0, false);

	if (fd < 0) {
		netsvc_log(ns, NETSVC_LOG_ERROR, "tftpd: listen on UDP %u: %s", port,
			   strerror(-fd));
		return fd;
	}
	return netsvc_watch(ns, &ns->tftp.io, fd, tftp_readable);
}

static void tftp_server_close(struct netsvc *ns)
{
	while (ns->tftp.xfers)
		xfer_free(ns->tftp.xfers);
	if (ns->tftp.io.fd >= 0) {
		evloop_del(ns->loop, &ns->tftp.io);
		close(ns->tftp.io.fd);
		ns->tftp.io.fd = -1;
	}
}

static bool tftp_wanted(const struct netsvc_config *cfg)
{
	return !cfg->no_tftp;
}

const struct netsvc_server netsvc_tftp_server = {
    .name = "tftp",
    .wanted = tftp_wanted,
    .open = tftp_server_open,
    .close = tftp_server_close,
};
