/* fm-power-testc: calls power_on_machine (daemon/fleet-manager/power.c) for one machine
 * described on the command line, for tests/integration/fm_power.sh.
 *   fm-power-testc [-u USER] [-f PASSWORD_FILE] [-C SUITE] [-p WOL_PORT] [-t TIMEOUT_MS]
 *                  [-T IPMITOOL] [-I IPMI_IP_OR_HOSTNAME] [-a IP] [-m MAC]
 *                  [-e MAC[/IP]]... [-s ID=GATEWAY/PREFIX]... HOSTNAME
 * -e adds a secondary network entry, -s a visible topology subnet (nearest first).
 * Prints "ok: <msg>" and exits 0, or "error: <msg> (errno name)" and exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fleet-manager/power.h"

#define MAX_ENTRIES 8

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i, len = 0;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &len) != 6 ||
	    (s[len] != '\0' && s[len] != '/'))
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return len;
}

static void usage(void)
{
	fprintf(stderr, "usage: fm-power-testc [-u USER] [-f PWFILE] [-C SUITE] [-p WOL_PORT] "
			"[-t TIMEOUT_MS] [-T IPMITOOL] [-I IPMI] [-a IP] [-m MAC] [-e MAC[/IP]]... "
			"[-s ID=GATEWAY/PREFIX]... HOSTNAME\n");
	exit(64);
}

int main(int argc, char **argv)
{
	static struct fmapi_topology_subnet subs[MAX_ENTRIES];
	static const struct fmapi_topology_subnet *subp[MAX_ENTRIES];
	static struct fmapi_network_entry sec[MAX_ENTRIES];
	struct power_config cfg = {.ipmi_cipher_suite = -1, .wake_on_lan_port = 9};
	struct topo_machine m;
	char msg[4096], *slash, *eq;
	int opt, len, prefix, rc;

	memset(&m, 0, sizeof(m));
	while ((opt = getopt(argc, argv, "u:f:C:p:t:T:I:a:m:e:s:")) != -1) {
		switch (opt) {
		case 'u':
			cfg.ipmi_username = optarg;
			break;
		case 'f':
			cfg.ipmi_password_file = optarg;
			break;
		case 'C':
			cfg.ipmi_cipher_suite = atoi(optarg);
			break;
		case 'p':
			cfg.wake_on_lan_port = atoi(optarg);
			break;
		case 't':
			cfg.timeout_ms = atoi(optarg);
			break;
		case 'T':
			cfg.ipmitool = optarg;
			break;
		case 'I':
			if (inet_pton(AF_INET, optarg, &m.m.ipmi.host_ip) != 1)
				m.m.ipmi.hostname = optarg;
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &m.m.net.host_ip) != 1)
				usage();
			break;
		case 'm':
			if (parse_mac(optarg, m.m.net.host_mac) < 0)
				usage();
			break;
		case 'e':
			if (m.m.secondary.n == MAX_ENTRIES)
				usage();
			len = parse_mac(optarg, sec[m.m.secondary.n].host_mac);
			if (len < 0 ||
			    (optarg[len] == '/' && inet_pton(AF_INET, optarg + len + 1,
							     &sec[m.m.secondary.n].host_ip) != 1))
				usage();
			m.m.secondary.v = sec;
			m.m.secondary.n++;
			break;
		case 's':
			eq = strchr(optarg, '=');
			slash = strrchr(optarg, '/');
			if (m.nsubnets == MAX_ENTRIES || !eq || !slash || slash < eq)
				usage();
			*eq = *slash = '\0';
			prefix = atoi(slash + 1);
			if (prefix < 0 || prefix > 32 ||
			    inet_pton(AF_INET, eq + 1, &subs[m.nsubnets].subnet.ip_gateway) != 1)
				usage();
			subs[m.nsubnets].subnet.id = optarg;
			subs[m.nsubnets].subnet.ip_mask.s_addr =
			    prefix ? htonl(~0U << (32 - prefix)) : 0;
			subp[m.nsubnets] = &subs[m.nsubnets];
			m.subnets = subp;
			m.nsubnets++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	m.m.net.hostname = argv[optind];
	rc = power_on_machine(&cfg, &m, msg, sizeof(msg));
	if (rc < 0) {
		printf("error: %s (%s)\n", msg, strerrorname_np(-rc));
		return 1;
	}
	printf("ok: %s\n", msg);
	return 0;
}
