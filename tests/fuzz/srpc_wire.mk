# SRPC wire parsers (lib/srpc_wire.c) and grant globbing; lives here because
# tests/fuzz/fuzz.mk must be read first (it resets FUZZERS).
FUZZERS += srpc_wire
