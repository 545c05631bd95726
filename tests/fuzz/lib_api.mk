# lib/api codec on the hypervisor wire types (decode, then round trip). Named to
# sort after tests/fuzz/fuzz.mk, which resets FUZZERS.
FUZZERS += api_hypervisor
