# libFuzzer harnesses (tests/fuzz/fuzz.mk explains the layout). Each calls the real
# parser from libsmallstack.a; seeds in tests/fuzz/corpus/<name>/.
FUZZERS += srpc
fuzz_srpc_SRCS :=
fuzz_srpc_LIBS :=

FUZZERS += tls_ident
fuzz_tls_ident_SRCS :=
fuzz_tls_ident_LIBS :=

FUZZERS += hvapi_json
fuzz_hvapi_json_SRCS :=
fuzz_hvapi_json_LIBS :=
