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
