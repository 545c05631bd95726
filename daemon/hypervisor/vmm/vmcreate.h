/* CreateVm (spec/hypervisor.md §7.2), independent of the transport: validation,
 * allocation of addresses and capacity, volumes from streamed data, a URL or empty,
 * user data, then the first boot. The caller supplies the streamed bytes and takes the
 * progress messages through struct vmcreate_io. */
#ifndef HV_VMCREATE_H
#define HV_VMCREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/hypervisor/vmm/manager.h"

struct vmcreate_io {
	/* Reads exactly len bytes of the payload that follows the request. 0 or -errno. */
	int (*read)(void *arg, void *buf, size_t len);
	/* A progress message for the client (ip may be 0.0.0.0). */
	void (*progress)(void *arg, const char *msg, struct in_addr ip);
	void *arg;
};

/* Bytes the client streams after the request: image + user data + secondary volumes. */
uint64_t vmcreate_payload_size(const struct hvapi_create_vm_request *req);

/* Creates the VM. On success *ip is its address and the acknowledgement deadline runs;
 * with DhcpTimeout > 0, *dhcp_timed_out says whether its DHCP ACK failed to come;
 * on failure nothing is left behind and err says why. The caller drains whatever part
 * of the payload was not read. req may be modified (defaults filled in). */
int vmcreate(struct manager *m, const struct vm_caller *c, struct hvapi_create_vm_request *req,
	     const struct vmcreate_io *io, struct in_addr *ip, bool *dhcp_timed_out, char *err,
	     size_t errsz);

/* The first steps of vmcreate for a VM whose volumes come from elsewhere (CopyVm):
 * the record from req (the caller first among the owners, no volumes), addresses and
 * capacity allocated, the VM inserted stopped and busy, without its directory yet.
 * 0 and *out (a new reference), or -errno with err. */
int vmcreate_allocate(struct manager *m, const struct vm_caller *c,
		      const struct hvapi_create_vm_request *req, struct vm **out, char *err,
		      size_t errsz);

#endif
