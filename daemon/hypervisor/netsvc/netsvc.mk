# Network services of the hypervisor (daemon/hypervisor/netsvc/): the event loop, the
# shared state, interfaces, HTTP boot, iPXE scripts, router advertisements; dhcp/ and
# tftp/ hold the two servers, each a pure wire-format part plus its socket I/O.
# Needs the base libraries (jansson, pthread) and, for boot_mhd.c only, libmicrohttpd;
# ss-netsvc runs them alone.
NETSVC_DIR := daemon/hypervisor/netsvc
NETSVC_PURE_SRCS := $(addprefix $(NETSVC_DIR)/, dhcp/dhcp_packet.c dhcp/dhcp_boot.c \
	dhcp/dhcp_subnet.c dhcp/dhcp_lease.c dhcp/dhcp_handle.c dhcp/dhcp_store.c \
	tftp/tftp_packet.c tftp/tftp_path.c netboot_files.c ipxe_script.c)
NETSVC_SRCS := $(NETSVC_PURE_SRCS) $(addprefix $(NETSVC_DIR)/, evloop.c netsvc.c netsvc_state.c netsvc_servers.c \
	netsvc_ifaces.c netsvc_status.c dhcp/dhcp_server.c tftp/tftp_server.c ra6.c boot_http.c \
	boot_mhd.c)

# Standalone runner of the services from a JSON config (tests, benches, a tool).
PROGRAMS += ss-netsvc
ss-netsvc_SRCS := $(NETSVC_DIR)/ss_netsvc.c $(NETSVC_SRCS)
ss-netsvc_LIBS := $(call pkg_libs,libmicrohttpd)

# Test and benchmark clients: hand-made DHCP packets; TFTP with windowsize and many
# concurrent transfers.
PROGRAMS += ss-dhcp-probe ss-tftpc
ss-dhcp-probe_SRCS := tests/helpers/dhcp_probe.c $(NETSVC_DIR)/dhcp/dhcp_packet.c
ss-tftpc_SRCS := bench/tftp/tftpc.c $(NETSVC_DIR)/tftp/tftp_packet.c

# Boot-storm load generator (bench/bootstorm): many simulated PXE clients.
PROGRAMS += ss-stormc
ss-stormc_SRCS := bench/bootstorm/stormc.c $(NETSVC_DIR)/dhcp/dhcp_packet.c \
	$(NETSVC_DIR)/tftp/tftp_packet.c

UNIT_TESTS += test_dhcp_packet test_dhcp_lease test_tftp_packet test_tftp_path \
	test_netboot_files test_dhcp_handle
$(foreach t,test_dhcp_packet test_dhcp_lease test_tftp_packet test_tftp_path \
	test_netboot_files test_dhcp_handle,$(eval $(t)_SRCS := $(NETSVC_PURE_SRCS)))
