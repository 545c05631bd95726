# lib/api/: wire types shared by servers and their clients (table-driven JSON codec).
LIB_SRCS += lib/api/codec.c lib/api/hypervisor.c lib/api/hypervisor_msgs.c \
	lib/api/hypervisor_filter.c

UNIT_TESTS += test_api_hypervisor
LIB_SRCS += lib/api/hvclient.c
LIB_SRCS += lib/api/fleetmanager.c
LIB_SRCS += lib/api/installer.c
