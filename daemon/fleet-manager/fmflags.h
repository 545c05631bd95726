/* The fleet manager's command-line flags (hypervisor style, flags files in
 * /etc/fleet-manager/), bound to one configuration struct. */
#ifndef SS_FM_FMFLAGS_H
#define SS_FM_FMFLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "server_flags.h"

struct fm_config {
	int port_num;
	const char *topology_dir;	 /* -topologyDir: a directory used as it is */
	const char *topology_repository; /* -topologyRepository: cloned into the state dir */
	const char *topology_branch;	 /* -topologyBranch: "" = the remote's default */
	int64_t check_interval_ns;	 /* -checkInterval: pull / re-read period */
	int64_t git_timeout_ns;		 /* -gitTimeout: one git run */
	const char *state_dir;
	bool manage_hypervisors;
	const char *client_cert_dir;	/* -clientCertDir; "" = -certFile and -keyFile */
	const char *hypervisor_ca_file; /* -hypervisorCAfile; "" = -CAfile */
	int hypervisor_port;		/* -hypervisorPortNum */
	const char *ipmi_username;
	const char *ipmi_password_file;
	int ipmi_cipher_suite;
	const char *ipmitool;
	int wake_on_lan_port;
	const char *image_server_hostname; /* /tftpdata/imageserver (weakness 50) */
	int image_server_port_num;
	int desired_pool, min_pool, max_pool; /* free addresses per managed subnet */
	struct server_flags srv;	      /* TLS files, SRPC trust and timeouts, logging */
};

/* Defines every flag on fs, bound to cfg. */
void fmflags_define(struct flags *fs, struct fm_config *cfg);

/* Checks values the flag syntax cannot: 0, or -EINVAL with err. */
int fmflags_check(const struct fm_config *cfg, char *err, size_t errsz);

#define FMFLAGS_USAGE                                                                              \
	"Usage: fleet-manager [flags...]\n"                                                        \
	"Serves the fleet's topology (from a Git repository or a directory) and its\n"             \
	"hypervisors: the FleetManager SRPC methods, the installers' /tftpdata pages,\n"           \
	"status pages and /metrics, on one port. Exactly one of -topologyDir and\n"                \
	"-topologyRepository is needed.\n"                                                         \
	"Flags are read from /etc/fleet-manager/flags.default and flags.extra first.\n"

#endif
