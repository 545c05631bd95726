# Metadata service (169.254.169.254) (daemon/hypervisor/metadata/): namespaces, HTTP
# server, nftables rules; ss-metadatad runs it alone.
METADATA_DIR := daemon/hypervisor/metadata
METADATA_SRCS := $(addprefix $(METADATA_DIR)/, metadata.c metadata_handler.c metadata_http.c \
	metadata_netns.c metadata_nft.c)
METADATA_LIBS := $(call pkg_libs,libmicrohttpd libmnl libnftables)

# ss-metadatad: the service alone, driven by a JSON file (tests, trying it out).
PROGRAMS += ss-metadatad
ss-metadatad_SRCS := $(METADATA_SRCS) $(METADATA_DIR)/metadata_relay.c $(METADATA_DIR)/ss_metadatad.c
ss-metadatad_LIBS := $(METADATA_LIBS)

UNIT_TESTS += test_metadata_handler test_metadata_nft test_metadata_netns
test_metadata_handler_SRCS := $(METADATA_DIR)/metadata_handler.c
test_metadata_nft_SRCS := $(METADATA_DIR)/metadata_nft.c
test_metadata_nft_LIBS := $(call pkg_libs,libnftables)
test_metadata_netns_SRCS := $(METADATA_DIR)/metadata_netns.c
test_metadata_netns_LIBS := $(call pkg_libs,libmnl)
