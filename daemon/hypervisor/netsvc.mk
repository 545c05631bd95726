# Network services of the hypervisor (DHCP, TFTP, HTTP boot handler, RA answers).
# NETSVC_SRCS is meant for the hypervisor program: its fragment adds them with
#     hypervisor_SRCS = ... $(NETSVC_SRCS)      (recursive "=", or "+=" after this
# file: fragments are included in name order and hypervisor.mk comes first).
# Needs only the base libraries (jansson, pthread).
NETSVC_DIR := daemon/hypervisor
NETSVC_PURE_SRCS := $(addprefix $(NETSVC_DIR)/, dhcp_packet.c dhcp_boot.c dhcp_subnet.c \
	dhcp_lease.c dhcp_handle.c dhcp_store.c tftp_packet.c tftp_path.c netboot_files.c \
	ipxe_script.c)
NETSVC_SRCS := $(NETSVC_PURE_SRCS) $(addprefix $(NETSVC_DIR)/, evloop.c netsvc.c \
	netsvc_ifaces.c netsvc_status.c dhcp_server.c tftp_server.c ra6.c boot_http.c)

# Standalone runner of the services from a JSON config (tests, benches, a tool).
PROGRAMS += ss-netsvc
ss-netsvc_SRCS := $(NETSVC_DIR)/netsvc_main.c $(NETSVC_SRCS)
ss-netsvc_LIBS := $(call pkg_libs,libmicrohttpd)

# Test and benchmark clients: hand-made DHCP packets; TFTP with windowsize and many
# concurrent transfers.
PROGRAMS += ss-dhcp-probe ss-tftpc
ss-dhcp-probe_SRCS := tests/helpers/dhcp_probe.c $(NETSVC_DIR)/dhcp_packet.c
ss-tftpc_SRCS := bench/tftp/tftpc.c $(NETSVC_DIR)/tftp_packet.c

UNIT_TESTS += test_dhcp_packet test_dhcp_lease test_tftp_packet test_tftp_path \
	test_netboot_files test_dhcp_handle
test_dhcp_packet_SRCS := $(NETSVC_PURE_SRCS)
test_dhcp_lease_SRCS := $(NETSVC_PURE_SRCS)
test_tftp_packet_SRCS := $(NETSVC_PURE_SRCS)
test_tftp_path_SRCS := $(NETSVC_PURE_SRCS)
test_netboot_files_SRCS := $(NETSVC_PURE_SRCS)
test_dhcp_handle_SRCS := $(NETSVC_PURE_SRCS)
