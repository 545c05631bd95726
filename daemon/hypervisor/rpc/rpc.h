/* The Hypervisor.* RPC service (spec/rpc.md §5): registration of every implemented
 * method with the SRPC server, a generic request/response wrapper driven by the
 * api method table (decode, call, encode, errors in the reply's Error field), the
 * per-VM rights check, and the grant hook for hypervisor owners (weaknesses.md #6:
 * owners get an explicit subset, not every method). Handlers live in rpc_*.c. */
#ifndef HV_RPC_H
#define HV_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "srpc.h"

struct updates;

struct rpc {
	struct manager *m;
	const struct hv_config *cfg;
	struct updates *updates;
};

/* An RR handler: req and resp are the method's api structs (resp zeroed). A failure
 * is a message in err (sent as the reply's Error); the return value only says
 * whether err was set. */
typedef int (*rpc_fn)(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		      size_t errsz);

/* Registers every implemented method and the owner grant hook. 0 or -errno. */
int rpc_register(struct srpc_server *srv, struct rpc *r);

/* The caller as the manager sees it. */
struct vm_caller rpc_caller(struct srpc_call *call);

/* The VM at ip if the caller may act on it (admin, owner, or token): a new reference.
 * NULL with err "no VM with IP address: X found" or "no access to resource". */
struct vm *rpc_vm(struct rpc *r, struct srpc_call *call, struct in_addr ip,
		  const struct api_bytes *token, char *err, size_t errsz);

/* Non-admin callers only see VMs they own (#5), unless the operator allowed
 * unauthenticated reads. */
bool rpc_may_see(struct rpc *r, struct srpc_call *call, struct vm *vm);

/* Handler tables of each rpc_*.c file (NULL-name terminated). */
struct rpc_rr {
	const char *method; /* "Hypervisor.X" */
	rpc_fn fn;
};
struct rpc_stream {
	const char *method;
	srpc_stream_fn fn;
};
/* One method each (rpc_*.c registration functions). 0 or -errno (logged). */
int rpc_register_rr(struct srpc_server *srv, struct rpc *r, const struct rpc_rr *e);
int rpc_register_stream(struct srpc_server *srv, struct rpc *r, const struct rpc_stream *e);
/* rpc_more.c: PowerOff, virtualiser logs, external leases, WatchDhcp, TraceVmMetadata. */
int rpc_more_register(struct srpc_server *srv, struct rpc *r);
/* Where WatchDhcp and TraceVmMetadata get their events (main.c wires them). */
extern const struct netsvc_hooks rpc_more_netsvc_hooks;
void rpc_more_metadata_trace(void *ctx, struct in_addr ip, const char *path);
extern const struct rpc_rr rpc_host_methods[];
extern const struct rpc_rr rpc_vm_methods[];
extern const struct rpc_stream rpc_stream_methods[];
/* rpc_volumes.c: volume and snapshot methods. */
int rpc_volumes_register(struct srpc_server *srv, struct rpc *r);

/* Streaming helpers: reads the first request of a streaming method into its api
 * struct (obj zeroed first). 0 or -errno (the connection is then closed). */
int rpc_read_request(struct srpc_call *call, const struct api_type *t, void *obj);
/* Writes one api struct as a message and flushes. */
int rpc_write(struct srpc_call *call, const struct api_type *t, const void *obj);
/* Writes {"Error": err} (plus zero fields of t) and flushes. */
int rpc_write_error(struct srpc_call *call, const struct api_type *t, const char *err);

#endif
