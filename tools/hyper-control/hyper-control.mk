# hyper-control: the administrators' tool for hypervisors, the fleet manager, the
# imageserver and the installer (spec/hyper-control.md). Every .c here is part of it:
# the command families are weak tables, so a family not yet written is simply absent.
PROGRAMS += hyper-control
hyper-control_SRCS := $(sort $(wildcard tools/hyper-control/*.c))
INSTALL_BIN += hyper-control
