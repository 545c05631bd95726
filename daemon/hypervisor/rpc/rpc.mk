# The Hypervisor.* RPC service (daemon/hypervisor/rpc/): the method table, handlers by
# concern, and the GetUpdates feed.
RPC_SRCS := $(addprefix daemon/hypervisor/rpc/, rpc.c rpc_host.c rpc_vm.c rpc_volumes.c \
	rpc_stream.c rpc_more.c updates.c)
