# The hypervisor daemon (daemon/hypervisor/): start-up, flags, control socket and the
# offline sub-commands here; its parts are folders, each with its own fragment that
# sets <PART>_SRCS: vmm/ (VM manager), rpc/, status/, netsvc/, metadata/. Fragments are
# included in name order, so this one refers to theirs with recursive (=) variables.

PROGRAMS += hypervisor
INSTALL_SBIN += hypervisor
hypervisor_SRCS = $(addprefix daemon/hypervisor/, main.c hvflags.c control.c checkvms.c) \
	$(VMM_SRCS) $(RPC_SRCS) $(STATUS_SRCS) $(NETSVC_SRCS) $(METADATA_SRCS) $(UPGRADE_SRCS)
hypervisor_LIBS = $(call pkg_libs,libvirt libvirt-qemu libmicrohttpd) $(METADATA_LIBS)
