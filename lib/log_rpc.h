/* log_rpc: the Logger.* SRPC service of every daemon (spec/rpc.md §7), wire-compatible
 * with the original's lib/log/serverlogger: Debug, GetStackTrace, Print, SetDebugLevel
 * (request/response) and Watch (streaming). Admin only. */
#ifndef SS_LOG_RPC_H
#define SS_LOG_RPC_H

#include "srpc.h"

/* Registers the five Logger methods on srv. 0 or -errno. */
int log_rpc_register(struct srpc_server *srv);

#endif
