# libFuzzer harnesses (tests/fuzz/fuzz.mk explains the layout). Each calls the real
# parser from libsmallstack.a; seeds in tests/fuzz/corpus/<name>/.
FUZZERS += srpc
fuzz_srpc_SRCS :=
fuzz_srpc_LIBS :=

FUZZERS += tls_ident
fuzz_tls_ident_SRCS :=
fuzz_tls_ident_LIBS :=

FUZZERS += hvapi_json
fuzz_hvapi_json_SRCS := daemon/hypervisor/netsvc/dhcp/dhcp_store.c
fuzz_hvapi_json_LIBS :=

# DHCP packets through the parser, the reply builder and the server's decisions.
FUZZERS += dhcp
fuzz_dhcp_SRCS := $(NETSVC_PURE_SRCS)
fuzz_dhcp_LIBS :=

# TFTP datagrams: requests, names, netboot files, option negotiation, replies.
FUZZERS += tftp
fuzz_tftp_SRCS := $(NETSVC_PURE_SRCS)
fuzz_tftp_LIBS :=
