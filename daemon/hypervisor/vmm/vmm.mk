# The VM manager (daemon/hypervisor/vmm/): VM records and their state machine, create
# and lifecycle operations, reconciliation, the host's pool and subnets, volumes,
# bridges, the state directory; libvirt/ holds the libvirt backend and domain XML.
VMM_DIR := daemon/hypervisor/vmm
VMM_SRCS := $(addprefix $(VMM_DIR)/, vmm.c manager.c host_settings.c vm.c vmstate.c vmcreate.c \
	vmops.c vmcheck.c reconcile.c addrpool.c addrindex.c subnets.c bridges.c statedir.c \
	volumes.c imagefetch.c objlru.c objcache.c imgconn.c vmimage.c rootdisk.c rootdisk_efi.c gpt.c cmdrun.c tftpboot.c libvirt/virt.c libvirt/domxml.c libvirt/vmdomain.c)
VMM_SRCS += $(VMM_DIR)/vmlocal.c $(VMM_DIR)/vmmove.c
VMM_SRCS += $(VMM_DIR)/identity.c
VMM_SRCS += $(VMM_DIR)/volresize.c
VMM_SRCS += $(VMM_DIR)/vmreimage.c $(VMM_DIR)/imgfilter.c

UNIT_TESTS += test_imgfilter
test_imgfilter_SRCS := $(VMM_DIR)/imgfilter.c
VMM_SRCS += $(VMM_DIR)/migrate.c

UNIT_TESTS += test_domxml test_virt test_vmstate test_addrpool test_subnets
test_domxml_SRCS := $(VMM_DIR)/libvirt/domxml.c
test_virt_SRCS := $(VMM_DIR)/libvirt/virt.c $(VMM_DIR)/libvirt/domxml.c
test_virt_LIBS := $(call pkg_libs,libvirt libvirt-qemu)
test_vmstate_SRCS := $(VMM_DIR)/vmstate.c
test_addrpool_SRCS := $(VMM_DIR)/addrpool.c $(VMM_DIR)/addrindex.c $(VMM_DIR)/subnets.c \
	$(VMM_DIR)/vmcheck.c
test_subnets_SRCS := $(VMM_DIR)/subnets.c $(VMM_DIR)/vmcheck.c

UNIT_TESTS += test_vmcheck
test_vmcheck_SRCS := $(VMM_DIR)/vmcheck.c

UNIT_TESTS += test_objlru
test_objlru_SRCS := $(VMM_DIR)/objlru.c

UNIT_TESTS += test_rootdisk
test_rootdisk_SRCS := $(VMM_DIR)/rootdisk.c $(VMM_DIR)/rootdisk_efi.c $(VMM_DIR)/gpt.c \
	$(VMM_DIR)/cmdrun.c

UNIT_TESTS += test_objcache
test_objcache_SRCS := $(VMM_DIR)/objcache.c $(VMM_DIR)/objlru.c
