/* Flag definitions of the fleet manager (see fmflags.h). */
#include "daemon/fleet-manager/fmflags.h"

#include <errno.h>
#include <stdio.h>

#define SEC 1000000000LL

void fmflags_define(struct flags *fs, struct fm_config *c)
{
	server_flags_define(fs, &c->srv, "fleet-manager", 300 * SEC);
	flags_int(fs, "portNum", &c->port_num, 6977,
		  "Port number to allocate and listen on for HTTP/RPC");
	flags_string(fs, "topologyDir", &c->topology_dir, "",
		     "Directory of the topology, used as it is and re-read when it changes");
	flags_string(fs, "topologyRepository", &c->topology_repository, "",
		     "Git URL or path of the topology, cloned into <stateDir>/topology and "
		     "pulled every -checkInterval");
	flags_string(fs, "topologyBranch", &c->topology_branch, "",
		     "Branch of -topologyRepository to follow (empty: the remote's default)");
	flags_duration(fs, "checkInterval", &c->check_interval_ns, 60 * SEC,
		       "Interval between checks of the topology for changes");
	flags_duration(fs, "gitTimeout", &c->git_timeout_ns, 120 * SEC,
		       "Longest run of one git clone or pull");
	flags_string(fs, "stateDir", &c->state_dir, "/var/lib/fleet-manager",
		     "Directory of the fleet manager's state (local tags, pools, the clone)");
	flags_bool(fs, "manageHypervisors", &c->manage_hypervisors, false,
		   "Manage the hypervisors' address pools and serve full machine information "
		   "(only one fleet manager per hypervisor may)");
	flags_string(fs, "clientCertDir", &c->client_cert_dir, "",
		     "Directory of the client certificates (X.cert + X.key) used to dial "
		     "hypervisors (empty: -certFile and -keyFile)");
	flags_string(fs, "hypervisorCAfile", &c->hypervisor_ca_file, "",
		     "CA bundle the hypervisors' certificates must chain to (empty: -CAfile)");
	flags_int(fs, "hypervisorPortNum", &c->hypervisor_port, 6976,
		  "Port number of the hypervisors' SRPC service");
	flags_string(fs, "ipmiUsername", &c->ipmi_username, "",
		     "User name for IPMI power-on (ipmitool lanplus)");
	flags_string(fs, "ipmiPasswordFile", &c->ipmi_password_file, "",
		     "File holding the IPMI password");
	flags_int(fs, "ipmiCipherSuite", &c->ipmi_cipher_suite, -1,
		  "IPMI cipher suite (ipmitool -C); -1: ipmitool's default");
	flags_string(fs, "ipmitool", &c->ipmitool, "ipmitool", "The ipmitool program");
	flags_int(fs, "wakeOnLanPort", &c->wake_on_lan_port, 9,
		  "UDP port of Wake-on-LAN magic packets");
	flags_string(fs, "imageServerHostname", &c->image_server_hostname, "",
		     "Image server served to installers at /tftpdata/imageserver (empty: 404)");
	flags_int(fs, "imageServerPortNum", &c->image_server_port_num, 6971,
		  "Port number of the image server served at /tftpdata/imageserver");
	flags_int(fs, "desiredAddressPoolSize", &c->desired_pool, 16,
		  "Free addresses a managed subnet of a hypervisor is refilled to");
	flags_int(fs, "minimumAddressPoolSize", &c->min_pool, 8,
		  "Fewer free addresses than this are refilled");
	flags_int(fs, "maximumAddressPoolSize", &c->max_pool, 24,
		  "More free addresses than this are trimmed");
}

static bool port_ok(int p)
{
	return p > 0 && p < 65536;
}

int fmflags_check(const struct fm_config *c, char *err, size_t errsz)
{
	if (!port_ok(c->port_num) && c->port_num != 0)
		snprintf(err, errsz, "-portNum %d: not a port number", c->port_num);
	else if (!port_ok(c->hypervisor_port))
		snprintf(err, errsz, "-hypervisorPortNum %d: not a port number",
			 c->hypervisor_port);
	else if (!port_ok(c->wake_on_lan_port))
		snprintf(err, errsz, "-wakeOnLanPort %d: not a port number", c->wake_on_lan_port);
	else if (!port_ok(c->image_server_port_num))
		snprintf(err, errsz, "-imageServerPortNum %d: not a port number",
			 c->image_server_port_num);
	else if (c->check_interval_ns < SEC / 10)
		snprintf(err, errsz, "-checkInterval must be at least 100ms");
	else if (c->git_timeout_ns < SEC)
		snprintf(err, errsz, "-gitTimeout must be at least 1s");
	else if (c->ipmi_cipher_suite < -1 || c->ipmi_cipher_suite > 17)
		snprintf(err, errsz, "-ipmiCipherSuite %d: not -1 or 0..17", c->ipmi_cipher_suite);
	else if (c->min_pool < 0 || c->desired_pool < c->min_pool || c->max_pool < c->desired_pool)
		snprintf(err, errsz,
			 "address pool sizes must be 0 <= minimum (%d) <= desired (%d) <= "
			 "maximum (%d)",
			 c->min_pool, c->desired_pool, c->max_pool);
	else if (*c->topology_dir != '\0' && *c->topology_repository != '\0')
		snprintf(err, errsz, "-topologyDir and -topologyRepository exclude each other");
	else
		return 0;
	return -EINVAL;
}
