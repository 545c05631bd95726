# lib/netconf: /etc/network/interfaces and resolv.conf from a machine's record and NICs
# (spec/hyper-control.md §6), shared by the installer and hyper-control.
LIB_SRCS += lib/netconf.c
UNIT_TESTS += test_netconf
test_netconf_SRCS :=
