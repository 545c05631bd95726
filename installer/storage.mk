# The installer's storage part (installer/drives.c, layout.c, storage.c, install.c):
# which drives, the partition plan, and every write to a disk.
installer_SRCS += installer/drives.c installer/layout.c installer/storage.c installer/install.c

UNIT_TESTS += test_inst_layout
test_inst_layout_SRCS := installer/layout.c
installer_LIBS += -lz

# inst-storage-testc drives inst_validate + inst_write without the rest of the
# installer (tests/integration/installer_storage.sh).
INST_STORAGE_SRCS := installer/drives.c installer/layout.c installer/storage.c installer/install.c
PROGRAMS += inst-storage-testc
inst-storage-testc_SRCS := tests/helpers/inst_storage_testc.c $(INST_STORAGE_SRCS) \
	installer/config.c installer/fetch.c installer/target.c
inst-storage-testc_LIBS := -lz

UNIT_TESTS += test_inst_drives
test_inst_drives_SRCS := installer/drives.c
