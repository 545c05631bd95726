/* The Hypervisor.* RPC service (spec/rpc.md §5): the method table (rpc_table.c, fed
 * by the handler files rpc_*.c), a generic request/response wrapper driven by the api
 * method table (decode, call, encode, errors in the reply's Error field), the per-VM
 * rights check, and the grant hook for hypervisor owners (weaknesses.md #6: owners
 * get an explicit subset, not every method). */
#ifndef HV_RPC_H
#define HV_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "api/hypervisor.h"
#include "daemon/hypervisor/vmm/manager.h"
#include "daemon/hypervisor/netsvc/netsvc.h"
#include "srpc.h"

struct updates;
struct upgrade;

struct rpc {
	struct manager *m;
	const struct hv_config *cfg;
	struct updates *updates;
	struct upgrade *upg; /* the upgrade agent (GetUpgradeStatus) */
};

/* An RR handler: req and resp are the method's api structs (resp zeroed). A failure
 * is a message in err (sent as the reply's Error); the return value only says
 * whether err was set. */
typedef int (*rpc_fn)(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		      size_t errsz);

/* Registers every method of the table (rpc_table.c) and the owners' grant hook. 0 or
 * -errno. */
int rpc_register(struct srpc_server *srv, struct rpc *r);

/* The caller as the manager sees it. */
struct vm_caller rpc_caller(struct srpc_call *call);

/* The VM at ip if the caller may act on it (admin, owner, or token): a new reference.
 * NULL with err "no VM with IP address: X found" or "no access to resource". */
struct vm *rpc_vm(struct rpc *r, struct srpc_call *call, struct in_addr ip,
		  const struct api_bytes *token, char *err, size_t errsz);

/* The body of the handlers that run one operation on the VM at ip: rpc_vm (token may
 * be NULL), op, vm_unref. -EACCES (err from rpc_vm) or what op returns. */
int rpc_vm_op(struct rpc *r, struct srpc_call *call, struct in_addr ip,
	      const struct api_bytes *token,
	      int (*op)(struct manager *m, struct vm *vm, char *err, size_t errsz), char *err,
	      size_t errsz);

/* Non-admin callers only see VMs they own (#5), unless the operator allowed
 * unauthenticated reads. */
bool rpc_may_see(struct rpc *r, struct srpc_call *call, struct vm *vm);

/* External leases (rpc_extleases.c): the set becomes q's addresses after the checks
 * of RegisterExternalLeases (0, or -errno with err). stream: the GetUpdates call that
 * sent them (managed leases, removed by rpc_external_leases_stream_end when that
 * stream ends), or NULL (RegisterExternalLeases: kept). */
int rpc_external_leases_set(struct rpc *r, const struct hvapi_register_external_leases_request *q,
			    const void *stream, const char *who, char *err, size_t errsz);
void rpc_external_leases_stream_end(struct rpc *r, const void *stream);

/* One method: a request/response handler (fn) or a streaming one (stream, called
 * with the struct rpc as its arg). */
struct rpc_method {
	const char *name; /* "Hypervisor.X" */
	rpc_fn fn;
	srpc_stream_fn stream;
};

/* What each handler file contributes to the method table (NULL-name terminated);
 * rpc_table.c lists them once, as tmux's cmd_table, and registers them. */
extern const struct rpc_method rpc_host_methods[];    /* rpc_host.c */
extern const struct rpc_method rpc_vm_methods[];      /* rpc_vm.c */
extern const struct rpc_method rpc_volume_methods[];  /* rpc_volumes.c */
extern const struct rpc_method rpc_create_methods[];  /* rpc_create.c */
extern const struct rpc_method rpc_updates_methods[]; /* rpc_updates.c */
extern const struct rpc_method rpc_console_methods[]; /* rpc_console.c */
extern const struct rpc_method rpc_vmlog_methods[];   /* rpc_vmlogs.c */
extern const struct rpc_method rpc_watch_methods[];   /* rpc_watch.c */
extern const struct rpc_method rpc_local_methods[];   /* rpc_local.c */
extern const struct rpc_method rpc_image_methods[];   /* rpc_image.c */
extern const struct rpc_method rpc_netboot_methods[]; /* rpc_netboot.c */

/* Volumes over the wire and migration between hypervisors. */
extern const struct rpc_method rpc_getvolume_methods[]; /* rpc_getvolume.c */
extern const struct rpc_method rpc_migrate_methods[];	/* rpc_migrate.c */
extern const struct rpc_method rpc_upgrade_methods[];	/* rpc_upgrade.c */

/* Registers one method with its access rules (rpc.c). 0 or -errno. */
int rpc_register_method(struct srpc_server *srv, struct rpc *r, const struct rpc_method *e);
/* The hook that grants hypervisor owners their methods (rpc.c, weaknesses.md #6). */
bool rpc_owner_grant(const struct srpc_auth *auth, const char *service, const char *method,
		     void *arg);

/* Where WatchDhcp and TraceVmMetadata get their events (main.c wires them). */
extern const struct netsvc_hooks rpc_watch_netsvc_hooks;
void rpc_watch_metadata_trace(void *ctx, struct in_addr ip, const char *path);

/* Streaming helpers: reads the first request of a streaming method into its api
 * struct (obj zeroed first). 0 or -errno (the connection is then closed). A request
 * that does not decode ("CreateVmRequest: .Tags.Name: string contains a NUL
 * character") is first answered with that error as the Error of a reply of type
 * reply, when not NULL. */
int rpc_read_request(struct srpc_call *call, const struct api_type *t, void *obj,
		     const struct api_type *reply);
/* Writes one api struct as a message and flushes. */
int rpc_write(struct srpc_call *call, const struct api_type *t, const void *obj);
/* Writes {"Error": err} (plus zero fields of t) and flushes. */
int rpc_write_error(struct srpc_call *call, const struct api_type *t, const char *err);

#endif
