/* wol-listen: a Wake-on-LAN receiver for tests/integration/fm_power.sh.
 *   wol-listen PORT MAC [SECONDS] [EXPECTED_DESTINATION]
 * Binds UDP 0.0.0.0:PORT (in the test's namespace), prints "listening" once bound, waits
 * up to SECONDS (default 30) for one datagram and checks that it is exactly a magic
 * packet for MAC: 102 bytes, 6 x 0xff, then MAC 16 times, and, if given, that it was
 * sent to EXPECTED_DESTINATION (the directed broadcast). Prints one line:
 *   "WOL ok: 102 bytes from A:P to B"            exit 0
 *   "WOL bad: <what is wrong> (N bytes from ...)" exit 1
 *   "WOL none within S s"                        exit 2 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (unsigned char)b[i];
	}
	return 0;
}

/* NULL if pkt is the magic packet for mac, else what is wrong with it. */
static const char *check_packet(const unsigned char *pkt, size_t n, const unsigned char mac[6],
				char *why, size_t sz)
{
	size_t i;

	if (n != 102) {
		snprintf(why, sz, "length %zu, not 102", n);
		return why;
	}
	for (i = 0; i < 6; i++)
		if (pkt[i] != 0xff) {
			snprintf(why, sz, "byte %zu of the header is 0x%02x, not 0xff", i, pkt[i]);
			return why;
		}
	for (i = 0; i < 16; i++)
		if (memcmp(pkt + 6 + 6 * i, mac, 6) != 0) {
			snprintf(why, sz, "copy %zu of the MAC differs", i);
			return why;
		}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, from;
	unsigned char mac[6], pkt[2048];
	char cbuf[256], why[128], froms[INET_ADDRSTRLEN], tos[INET_ADDRSTRLEN] = "?";
	struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
	struct msghdr mh = {.msg_name = &from,
			    .msg_namelen = sizeof(from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct pollfd pfd;
	struct cmsghdr *c;
	const char *bad;
	int fd, one = 1, secs = 30, port;
	ssize_t n;

	if (argc < 3 || argc > 5 || (port = atoi(argv[1])) <= 0 || port > 65535 ||
	    parse_mac(argv[2], mac) < 0) {
		fprintf(stderr, "usage: wol-listen PORT MAC [SECONDS] [EXPECTED_DESTINATION]\n");
		return 64;
	}
	if (argc >= 4)
		secs = atoi(argv[3]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
		perror("wol-listen: socket");
		return 3;
	}
	sa.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("wol-listen: bind");
		return 3;
	}
	printf("listening on 0.0.0.0:%d\n", port);
	fflush(stdout);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, secs * 1000) <= 0) {
		printf("WOL none within %d s\n", secs);
		return 2;
	}
	n = recvmsg(fd, &mh, 0);
	if (n < 0) {
		perror("wol-listen: recvmsg");
		return 3;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_addr, tos, sizeof(tos));
		}
	inet_ntop(AF_INET, &from.sin_addr, froms, sizeof(froms));
	bad = check_packet(pkt, (size_t)n, mac, why, sizeof(why));
	if (!bad && argc == 5 && strcmp(tos, argv[4]) != 0) {
		snprintf(why, sizeof(why), "sent to %s, not %s", tos, argv[4]);
		bad = why;
	}
	if (bad) {
		printf("WOL bad: %s (%zd bytes from %s:%d to %s)\n", bad, n, froms,
		       ntohs(from.sin_port), tos);
		return 1;
	}
	printf("WOL ok: %zd bytes from %s:%d to %s\n", n, froms, ntohs(from.sin_port), tos);
	close(fd);
	return 0;
}
