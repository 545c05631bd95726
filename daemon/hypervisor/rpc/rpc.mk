# The Hypervisor.* RPC service (daemon/hypervisor/rpc/): the method table, handlers by
# concern, and the GetUpdates feed.
RPC_SRCS := $(addprefix daemon/hypervisor/rpc/, rpc.c rpc_table.c rpc_host.c rpc_vm.c rpc_volumes.c \
	rpc_create.c rpc_updates.c rpc_console.c rpc_vmlogs.c rpc_watch.c updates.c)
RPC_SRCS += daemon/hypervisor/rpc/rpc_local.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_identity.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_extleases.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_image.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_netboot.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_getvolume.c daemon/hypervisor/rpc/rpc_migrate.c
RPC_SRCS += daemon/hypervisor/rpc/rpc_upgrade.c
