# The installer's storage part (installer/drives.c, layout.c, storage.c, install.c):
# which drives, the partition plan, and every write to a disk.
installer_SRCS += installer/drives.c installer/layout.c installer/storage.c installer/install.c

UNIT_TESTS += test_inst_layout
test_inst_layout_SRCS := installer/layout.c
installer_LIBS += -lz
