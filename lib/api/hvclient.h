/* hvclient: client calls of the Hypervisor service shared by the programs that call
 * one hypervisor from another place (vm-control, and a hypervisor fetching a VM from
 * another for MigrateVm/CopyVm): a request/response call through the api codec, the
 * start of a streaming call, and GetVmVolume with its GetBlocks exchange. Errors come
 * back as text in err: the server's Error field, its error line, or the transport's. */
#ifndef SS_HVCLIENT_H
#define SS_HVCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "api/hypervisor.h"
#include "rsync.h"
#include "srpc.h"

/* One RR call: encodes req (req_t NULL: {}), decodes the reply into resp (zeroed
 * first; clear it on success) and turns a non-empty Error into a failure.
 * 0, -EREMOTEIO (err has the server's text) or -errno. */
int hvclient_call(struct srpc_client *cl, const char *method, const struct api_type *req_t,
		  const void *req, const struct api_type *resp_t, void *resp, char *err,
		  size_t errsz);

/* Starts a streaming call: the method line, req, and the first reply into resp, whose
 * Error must be empty. Same returns as hvclient_call. */
int hvclient_start(struct srpc_client *cl, const char *method, const struct api_type *req_t,
		   const void *req, const struct api_type *resp_t, void *resp, char *err,
		   size_t errsz);

/* GetVmVolume: the call, then the GetBlocks exchange into writer_fd (see
 * rsync_get_blocks: reader_fd with reader_bytes of an earlier copy, or -1). size is
 * the volume's size as GetVmInfo reports it. *resp receives the reply (ExtraFiles);
 * clear it on success. */
int hvclient_get_vm_volume(struct srpc_client *cl, const struct hvapi_get_vm_volume_request *req,
			   int reader_fd, int writer_fd, uint64_t size, uint64_t reader_bytes,
			   struct hvapi_get_vm_volume_response *resp, struct rsync_stats *st,
			   char *err, size_t errsz);

#endif
