# The hypervisor daemon (daemon/hypervisor/): VMs through libvirt, status pages and
# RPC on one port, control socket.

UNIT_TESTS += test_domxml
test_domxml_SRCS := daemon/hypervisor/domxml.c

UNIT_TESTS += test_virt
test_virt_SRCS := daemon/hypervisor/virt.c daemon/hypervisor/domxml.c
test_virt_LIBS := $(call pkg_libs,libvirt)

UNIT_TESTS += test_vmstate test_addrpool test_subnets
test_vmstate_SRCS := daemon/hypervisor/vmstate.c
test_addrpool_SRCS := daemon/hypervisor/addrpool.c daemon/hypervisor/subnets.c
test_subnets_SRCS := daemon/hypervisor/subnets.c

PROGRAMS += hypervisor
INSTALL_SBIN += hypervisor
HYPERVISOR_CORE_SRCS := daemon/hypervisor/addrpool.c daemon/hypervisor/bridges.c \
	daemon/hypervisor/checkvms.c daemon/hypervisor/control.c daemon/hypervisor/domxml.c \
	daemon/hypervisor/hvflags.c daemon/hypervisor/imagefetch.c daemon/hypervisor/manager.c \
	daemon/hypervisor/manager_pool.c daemon/hypervisor/reconcile.c daemon/hypervisor/rpc.c \
	daemon/hypervisor/rpc_host.c daemon/hypervisor/rpc_stream.c daemon/hypervisor/rpc_vm.c daemon/hypervisor/rpc_volumes.c \
	daemon/hypervisor/statedir.c daemon/hypervisor/status.c daemon/hypervisor/status_metrics.c \
	daemon/hypervisor/status_pages.c daemon/hypervisor/subnets.c daemon/hypervisor/updates.c \
	daemon/hypervisor/virt.c daemon/hypervisor/vm.c daemon/hypervisor/vmcreate.c \
	daemon/hypervisor/vmdomain.c daemon/hypervisor/vmops.c daemon/hypervisor/vmstate.c \
	daemon/hypervisor/volumes.c
HYPERVISOR_CORE_SRCS += daemon/hypervisor/rpc_more.c
hypervisor_SRCS = daemon/hypervisor/main.c $(HYPERVISOR_CORE_SRCS) $(NETSVC_SRCS) $(METADATA_SRCS)
hypervisor_LIBS = $(call pkg_libs,libvirt libmicrohttpd) $(METADATA_LIBS)
