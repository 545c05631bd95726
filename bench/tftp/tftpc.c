/* ss-tftpc: a TFTP read client with windowsize (RFC 7440) and many concurrent
 * transfers, for the TFTP benchmark (same client for every server) and for tests
 * (wraparound, duplicate-ACK storms).
 *
 *   ss-tftpc [-b BLKSIZE] [-w WINDOW] [-t] [-n CONCURRENT] [-o OUT] [-D] [-q]
 *            SERVER[:PORT] FILE
 *   -t  ask for tsize        -D  send every ACK twice (a misbehaving client)
 *   -o  write the file (only with -n 1)
 * Prints one line: "ok n=N done=N bytes=B secs=S MBps=R data_pkts=P dup_pkts=D sha256=H"
 * (sha256 of the first transfer's data; "differ" when transfers disagree).
 * Exit 0 if every transfer completed, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"

#define TIMEOUT_MS 1000
#define MAX_RETRIES 8

struct sess {
	int fd;
	struct sockaddr_in server; /* the transfer's TID once known */
	bool locked, done, failed;
	uint32_t blksize, window;
	uint64_t got;	    /* blocks received in order */
	uint32_t in_window; /* in-order blocks since the last ACK */
	bool gap_acked;	    /* an out-of-order block was already answered */
	uint64_t bytes, data_pkts, dup_pkts;
	unsigned retries;
	int64_t last_rx;
	uint8_t last_ack[4];
	size_t last_ack_len;
	EVP_MD_CTX *md;
	unsigned char digest[32];
	FILE *out;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool dup_acks;

static void send_ack(struct sess *s, uint16_t block)
{
	s->last_ack_len = (size_t)tftp_build_ack(s->last_ack, sizeof(s->last_ack), block);
	for (int i = 0; i < (dup_acks ? 2 : 1); i++)
		sendto(s->fd, s->last_ack, s->last_ack_len, 0, (struct sockaddr *)&s->server,
		       sizeof(s->server));
}

static void finish(struct sess *s)
{
	unsigned int len;
	s->done = true;
	EVP_DigestFinal_ex(s->md, s->digest, &len);
}

static void on_packet(struct sess *s, const uint8_t *pkt, size_t n, const struct sockaddr_in *from)
{
	struct tftp_reply r;
	if (s->locked && (from->sin_port != s->server.sin_port ||
			  from->sin_addr.s_addr != s->server.sin_addr.s_addr))
		return; /* not our transfer's peer */
	if (tftp_reply_parse(pkt, n, &r) < 0)
		return;
	if (!s->locked) {
		s->server.sin_port = from->sin_port;
		s->locked = true;
	}
	s->last_rx = now_ms();
	s->retries = 0;
	if (r.opcode == TFTP_ERROR) {
		fprintf(stderr, "ss-tftpc: server error %u: %s\n", r.errcode, r.errmsg);
		s->failed = true;
		return;
	}
	if (r.opcode == TFTP_OACK) {
		struct tftp_opts o;
		if (s->got != 0 || tftp_oack_parse(pkt, n, &o) < 0)
			return;
		if (o.has_blksize)
			s->blksize = o.blksize;
		s->window = o.has_windowsize ? o.windowsize : 1;
		send_ack(s, 0);
		return;
	}
	if (r.opcode != TFTP_DATA)
		return;
	s->data_pkts++;
	if (s->got == 0 && s->window == 0) {
		/* DATA 1 without an OACK: the server refused every option */
		s->blksize = TFTP_BLKSIZE_DEFAULT;
		s->window = 1;
	}
	if (r.block != (uint16_t)(s->got + 1)) {
		s->dup_pkts++;
		/* A gap (or a stale repeat): ask once for a resend from our position. */
		if (!s->gap_acked) {
			s->gap_acked = true;
			send_ack(s, (uint16_t)s->got);
		}
		return;
	}
	s->got++;
	s->gap_acked = false;
	s->bytes += r.datalen;
	EVP_DigestUpdate(s->md, r.data, r.datalen);
	if (s->out)
		fwrite(r.data, 1, r.datalen, s->out);
	bool last = r.datalen < s->blksize;
	if (++s->in_window >= s->window || last) {
		s->in_window = 0;
		send_ack(s, (uint16_t)s->got);
	}
	if (last)
		finish(s);
}

static int start(struct sess *s, const struct sockaddr_in *srv, const char *file, uint32_t blksize,
		 uint32_t window, bool tsize)
{
	uint8_t pkt[600];
	struct tftp_opts o = {0};
	memset(s, 0, sizeof(*s));
	s->server = *srv;
	s->blksize = TFTP_BLKSIZE_DEFAULT;
	if (blksize) {
		o.has_blksize = true;
		o.blksize = blksize;
	}
	if (window) {
		o.has_windowsize = true;
		o.windowsize = window;
	}
	o.has_tsize = tsize;
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	s->md = EVP_MD_CTX_new();
	if (s->fd < 0 || !s->md || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL))
		return -1;
	int buf = 4 << 20;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	int n = tftp_build_rrq(pkt, sizeof(pkt), file, "octet", &o);
	if (n < 0)
		return -1;
	memcpy(s->last_ack, pkt, 4);
	sendto(s->fd, pkt, (size_t)n, 0, (const struct sockaddr *)srv, sizeof(*srv));
	s->last_rx = now_ms();
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t blksize = 0, window = 0;
	int n = 1, c;
	bool tsize = false, quiet = false;
	const char *outpath = NULL;
	while ((c = getopt(argc, argv, "b:w:tn:o:Dq")) != -1) {
		switch (c) {
		case 'b':
			blksize = (uint32_t)atoi(optarg);
			break;
		case 'w':
			window = (uint32_t)atoi(optarg);
			break;
		case 't':
			tsize = true;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'D':
			dup_acks = true;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return 2;
		}
	}
	if (optind + 2 != argc || n < 1 || n > 1000 || (outpath && n != 1)) {
		fprintf(stderr, "usage: ss-tftpc [-b BLKSIZE] [-w WINDOW] [-t] [-n N] [-o OUT] "
				"[-D] [-q] SERVER[:PORT] FILE\n");
		return 2;
	}
	char host[64];
	snprintf(host, sizeof(host), "%s", argv[optind]);
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(69)};
	char *colon = strchr(host, ':');
	if (colon) {
		*colon = 0;
		srv.sin_port = htons((uint16_t)atoi(colon + 1));
	}
	if (inet_pton(AF_INET, host, &srv.sin_addr) != 1)
		return 2;
	struct sess *s = calloc((size_t)n, sizeof(*s));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	if (!s || !p)
		return 2;
	int64_t t0 = now_ms();
	for (int i = 0; i < n; i++) {
		if (start(&s[i], &srv, argv[optind + 1], blksize, window, tsize) < 0)
			return 2;
		if (outpath && !(s[i].out = fopen(outpath, "wb")))
			return 2;
	}
	for (;;) {
		int active = 0;
		for (int i = 0; i < n; i++) {
			p[i].fd = s[i].done || s[i].failed ? -1 : s[i].fd;
			p[i].events = POLLIN;
			active += p[i].fd >= 0;
		}
		if (!active)
			break;
		int r = poll(p, (nfds_t)n, 100);
		int64_t now = now_ms();
		for (int i = 0; i < n; i++) {
			struct sess *x = &s[i];
			if (p[i].fd < 0)
				continue;
			if (r > 0 && (p[i].revents & POLLIN)) {
				uint8_t pkt[65536 + 4];
				for (int k = 0; k < 256; k++) {
					struct sockaddr_in from;
					socklen_t fl = sizeof(from);
					ssize_t got =
					    recvfrom(x->fd, pkt, sizeof(pkt), MSG_DONTWAIT,
						     (struct sockaddr *)&from, &fl);
					if (got < 0)
						break;
					on_packet(x, pkt, (size_t)got, &from);
					if (x->done || x->failed)
						break;
				}
			} else if (now - x->last_rx >= TIMEOUT_MS) {
				/* Nothing for a while: repeat the last ACK (or the RRQ). */
				if (++x->retries > MAX_RETRIES) {
					x->failed = true;
					continue;
				}
				x->last_rx = now;
				x->gap_acked = false;
				if (x->locked)
					sendto(x->fd, x->last_ack, x->last_ack_len, 0,
					       (struct sockaddr *)&x->server, sizeof(x->server));
			}
		}
	}
	double secs = (double)(now_ms() - t0) / 1000.0;
	uint64_t bytes = 0, pkts = 0, dups = 0;
	int ok = 0;
	bool differ = false;
	for (int i = 0; i < n; i++) {
		bytes += s[i].bytes;
		pkts += s[i].data_pkts;
		dups += s[i].dup_pkts;
		ok += s[i].done && !s[i].failed;
		if (s[i].done && memcmp(s[i].digest, s[0].digest, 32) != 0)
			differ = true;
		if (s[i].out)
			fclose(s[i].out);
	}
	char hex[65] = "none";
	if (s[0].done)
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", s[0].digest[i]);
	if (!quiet || ok != n)
		printf("%s n=%d done=%d bytes=%llu secs=%.3f MBps=%.2f data_pkts=%llu "
		       "dup_pkts=%llu sha256=%s\n",
		       ok == n ? "ok" : "FAIL", n, ok, (unsigned long long)bytes, secs,
		       secs > 0 ? (double)bytes / secs / 1e6 : 0.0, (unsigned long long)pkts,
		       (unsigned long long)dups, differ ? "differ" : hex);
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX_free(s[i].md);
		close(s[i].fd);
	}
	free(s);
	free(p);
	return ok == n && !differ ? 0 : 1;
}
