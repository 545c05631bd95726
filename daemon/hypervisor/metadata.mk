# Metadata service (169.254.169.254): namespaces, HTTP server, nftables rules.
# The hypervisor program links $(METADATA_SRCS) with $(METADATA_LIBS); this fragment
# sorts after hypervisor.mk, so refer to them with recursive (=) variables there.
METADATA_SRCS := daemon/hypervisor/metadata.c daemon/hypervisor/metadata_handler.c \
	daemon/hypervisor/metadata_http.c daemon/hypervisor/metadata_netns.c \
	daemon/hypervisor/metadata_nft.c
METADATA_LIBS := $(call pkg_libs,libmicrohttpd libmnl libnftables)

# ss-metadatad: the service alone, driven by a JSON file (tests, trying it out).
PROGRAMS += ss-metadatad
ss-metadatad_SRCS := $(METADATA_SRCS) daemon/hypervisor/metadata_relay.c \
	daemon/hypervisor/metadata_standalone.c
ss-metadatad_LIBS := $(METADATA_LIBS)

UNIT_TESTS += test_metadata_handler test_metadata_nft test_metadata_netns
test_metadata_handler_SRCS := daemon/hypervisor/metadata_handler.c
test_metadata_nft_SRCS := daemon/hypervisor/metadata_nft.c
test_metadata_nft_LIBS := $(call pkg_libs,libnftables)
test_metadata_netns_SRCS := daemon/hypervisor/metadata_netns.c
test_metadata_netns_LIBS := $(call pkg_libs,libmnl)
