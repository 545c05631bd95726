/* ss-dhcp-probe: sends one hand-made DHCP packet and prints the reply, for tests of
 * the DHCP server (relayed requests, NAK rules, RELEASE/DECLINE/INFORM, malformed
 * packets). Prints "type=OFFER yiaddr=... opt<N>=..." per reply; exit 0 when a
 * reply came, 1 on timeout, 2 on usage errors.
 *
 *   ss-dhcp-probe [-i IFACE] [-d DEST] [-p PORT] [-l LOCALPORT] [-t TYPE] [-m MAC]
 *                 [-r REQIP] [-S SERVERID] [-c CIADDR] [-g GIADDR] [-U USERCLASS]
 *                 [-V VENDORCLASS] [-a ARCH] [-B] [-w MS] [-A] [-M]
 * Waits up to MS (1000) for the first reply; -A waits the whole time for all.
 * TYPE: discover request decline release inform. -M sends a set of malformed
 * packets instead (short, bad hlen, no option 53, option overrun) and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/hypervisor/netsvc/dhcp/dhcp_packet.h"
#include "json.h"

struct opts {
	const char *iface, *dest, *user_class, *vendor;
	int port, lport, wait_ms, arch;
	uint8_t type, mac[6];
	struct in_addr req, sid, ciaddr, giaddr;
	bool bcast, malformed, all;
};

static size_t put_opt(uint8_t *b, size_t off, uint8_t code, const void *data, size_t len)
{
	b[off] = code;
	b[off + 1] = (uint8_t)len;
	memcpy(b + off + 2, data, len);
	return off + 2 + len;
}

static size_t build(const struct opts *o, uint32_t xid, uint8_t *b)
{
	static const uint8_t prl[] = {1, 3, 6, 12, 15, 28, 43, 60, 66, 67};
	memset(b, 0, 548);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	b[4] = (uint8_t)(xid >> 24);
	b[5] = (uint8_t)(xid >> 16);
	b[6] = (uint8_t)(xid >> 8);
	b[7] = (uint8_t)xid;
	if (o->bcast)
		b[10] = 0x80;
	memcpy(b + 12, &o->ciaddr, 4);
	memcpy(b + 24, &o->giaddr, 4);
	if (o->giaddr.s_addr)
		b[3] = 1; /* hops */
	memcpy(b + 28, o->mac, 6);
	b[236] = 99;
	b[237] = 130;
	b[238] = 83;
	b[239] = 99;
	size_t off = put_opt(b, 240, DHCP_OPT_MSG_TYPE, &o->type, 1);
	if (o->req.s_addr)
		off = put_opt(b, off, DHCP_OPT_REQUESTED_IP, &o->req, 4);
	if (o->sid.s_addr)
		off = put_opt(b, off, DHCP_OPT_SERVER_ID, &o->sid, 4);
	if (o->vendor)
		off = put_opt(b, off, DHCP_OPT_VENDOR_CLASS, o->vendor, strlen(o->vendor));
	if (o->user_class)
		off = put_opt(b, off, DHCP_OPT_USER_CLASS, o->user_class, strlen(o->user_class));
	if (o->arch >= 0) {
		uint8_t a[2] = {(uint8_t)(o->arch >> 8), (uint8_t)o->arch};
		off = put_opt(b, off, DHCP_OPT_CLIENT_ARCH, a, 2);
	}
	off = put_opt(b, off, DHCP_OPT_PARAM_LIST, prl, sizeof(prl));
	b[off++] = DHCP_OPT_END;
	return off < 300 ? 300 : off;
}

static void print_reply(const struct dhcp_msg *m)
{
	char a[INET_ADDRSTRLEN];
	printf("type=%s", dhcp_msg_type_name(m->type));
	inet_ntop(AF_INET, &m->yiaddr, a, sizeof(a));
	printf(" yiaddr=%s", a);
	inet_ntop(AF_INET, &m->siaddr, a, sizeof(a));
	printf(" siaddr=%s", a);
	inet_ntop(AF_INET, &m->giaddr, a, sizeof(a));
	printf(" giaddr=%s", a);
	inet_ntop(AF_INET, &m->ciaddr, a, sizeof(a));
	printf(" ciaddr=%s", a);
	for (int c = 1; c < 255; c++) {
		size_t l;
		const uint8_t *p = dhcp_msg_opt(m, (uint8_t)c, &l);
		if (!p || c == DHCP_OPT_MSG_TYPE)
			continue;
		printf(" opt%d=", c);
		if (c == 1 || c == 3 || c == 6 || c == 54) {
			for (size_t i = 0; i + 4 <= l; i += 4) {
				inet_ntop(AF_INET, p + i, a, sizeof(a));
				printf("%s%s", i ? "," : "", a);
			}
		} else if (c == 51) {
			printf("%u",
			       l == 4 ? (unsigned)(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]) : 0);
		} else {
			for (size_t i = 0; i < l; i++)
				putchar(p[i] > 0x20 && p[i] < 0x7f ? p[i] : '_');
		}
	}
	putchar('\n');
}

static int send_malformed(int fd, const struct sockaddr_in *to, const struct opts *o)
{
	uint8_t b[600];
	struct opts ok = *o;
	ok.type = DHCP_DISCOVER;
	size_t n = build(&ok, 1, b);
	sendto(fd, b, 100, 0, (const struct sockaddr *)to, sizeof(*to)); /* short */
	b[2] = 17;							 /* bad hlen */
	sendto(fd, b, n, 0, (const struct sockaddr *)to, sizeof(*to));
	n = build(&ok, 2, b);
	b[240] = DHCP_OPT_PAD; /* option 53 gone */
	b[241] = DHCP_OPT_PAD;
	b[242] = DHCP_OPT_PAD;
	sendto(fd, b, n, 0, (const struct sockaddr *)to, sizeof(*to));
	n = build(&ok, 3, b);
	memset(b + 243, 0, n - 243); /* an option whose length runs past the end */
	b[243] = DHCP_OPT_HOSTNAME;
	b[244] = 250;
	sendto(fd, b, 260, 0, (const struct sockaddr *)to, sizeof(*to));
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->dest = "255.255.255.255";
	o->port = 67;
	o->lport = 68;
	o->wait_ms = 1000;
	o->arch = -1;
	o->type = DHCP_DISCOVER;
	memcpy(o->mac, (uint8_t[]){0x52, 0x54, 0, 0xaa, 0xbb, 0xcc}, 6);
	while ((c = getopt(argc, argv, "i:d:p:l:t:m:r:S:c:g:U:V:a:Bw:AM")) != -1) {
		switch (c) {
		case 'i':
			o->iface = optarg;
			break;
		case 'd':
			o->dest = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'l':
			o->lport = atoi(optarg);
			break;
		case 't':
			for (uint8_t t = 1; t <= DHCP_INFORM; t++)
				if (!strcasecmp(optarg, dhcp_msg_type_name(t)))
					o->type = t;
			break;
		case 'm':
			if (sjson_parse_mac(optarg, o->mac) < 0)
				return -1;
			break;
		case 'r':
			inet_pton(AF_INET, optarg, &o->req);
			break;
		case 'S':
			inet_pton(AF_INET, optarg, &o->sid);
			break;
		case 'c':
			inet_pton(AF_INET, optarg, &o->ciaddr);
			break;
		case 'g':
			inet_pton(AF_INET, optarg, &o->giaddr);
			break;
		case 'U':
			o->user_class = optarg;
			break;
		case 'V':
			o->vendor = optarg;
			break;
		case 'a':
			o->arch = atoi(optarg);
			break;
		case 'B':
			o->bcast = true;
			break;
		case 'w':
			o->wait_ms = atoi(optarg);
			break;
		case 'A':
			o->all = true;
			break;
		case 'M':
			o->malformed = true;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int one = 1;
	if (parse_args(argc, argv, &o) < 0) {
		fprintf(stderr,
			"usage: see the comment at the top of tests/helpers/dhcp_probe.c\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.lport)};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	if (fd < 0 || inet_pton(AF_INET, o.dest, &to.sin_addr) != 1)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o.iface &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.iface, (socklen_t)strlen(o.iface)) < 0) {
		perror("SO_BINDTODEVICE");
		return 2;
	}
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 2;
	}
	if (o.malformed)
		return send_malformed(fd, &to, &o);
	uint8_t b[1500];
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	uint32_t xid = (uint32_t)rand();
	size_t n = build(&o, xid, b);
	if (sendto(fd, b, n, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("sendto");
		return 2;
	}
	int got = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = o.wait_ms - ((now.tv_sec - start.tv_sec) * 1000 +
					 (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = recv(fd, b, sizeof(b), 0);
		struct dhcp_msg m;
		if (r < DHCP_MIN_LEN)
			continue;
		b[0] = 1; /* the request parser checks nothing about op; keep it simple */
		if (dhcp_msg_parse(b, (size_t)r, &m) < 0 || m.xid != xid)
			continue;
		print_reply(&m);
		fflush(stdout);
		if (++got && !o.all)
			break;
	}
	close(fd);
	return got ? 0 : 1;
}
