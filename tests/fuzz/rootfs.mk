# Image builder parsers (rootfs/); sorts after tests/fuzz/fuzz.mk.
FUZZERS += rootfs
fuzz_rootfs_SRCS := rootfs/manifest.c rootfs/elf.c rootfs/modules.c
