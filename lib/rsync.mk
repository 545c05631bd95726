# Dominator's GetBlocks block-sync exchange (GetVmVolume, migration).
LIB_SRCS += lib/rsync.c

UNIT_TESTS += test_rsync
