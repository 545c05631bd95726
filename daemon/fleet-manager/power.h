/* power: PowerOnMachine (spec/fleet-and-images.md §3): IPMI through ipmitool lanplus when
 * the machine has an IPMI address (the chassis power status is read back: the tool's
 * exit status alone is not trusted), else a Wake-on-LAN magic packet to the directed
 * broadcast of the subnet of the machine's address, else an error. */
#ifndef SS_FM_POWER_H
#define SS_FM_POWER_H

#include <stddef.h>

#include "topology.h"

struct power_config {
	const char *ipmitool;		/* NULL: "ipmitool" from PATH */
	const char *ipmi_username;	/* -ipmiUsername */
	const char *ipmi_password_file; /* -ipmiPasswordFile */
	int ipmi_cipher_suite;		/* -ipmiCipherSuite; < 0: ipmitool's default */
	int wake_on_lan_port;		/* -wakeOnLanPort, 9 */
	int timeout_ms;			/* per ipmitool run; 0 = 30 s */
};

/* Powers m on. 0 with what was done in msg ("IPMI 10.0.1.5: chassis power is on",
 * "Wake-on-LAN: magic packet for 52:54:.. sent to 10.0.0.255:9"), or -errno with the
 * reason in msg. */
int power_on_machine(const struct power_config *cfg, const struct topo_machine *m, char *msg,
		     size_t msgsz);

#endif
