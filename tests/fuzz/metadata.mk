# Metadata request handler (daemon/hypervisor/metadata/metadata_handler.c); sorts after
# tests/fuzz/fuzz.mk, which resets FUZZERS.
FUZZERS += metadata_handler
fuzz_metadata_handler_SRCS := daemon/hypervisor/metadata/metadata_handler.c
