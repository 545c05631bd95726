# The Fleet Manager's side of every hypervisor (fm-hypervisors): the set of
# hypervisors, one connection thread each, the address-pool decisions and record.
fleet-manager_SRCS += daemon/fleet-manager/hypervisors.c daemon/fleet-manager/hvconn.c \
	daemon/fleet-manager/pool.c

UNIT_TESTS += test_fm_pool
test_fm_pool_SRCS := daemon/fleet-manager/pool.c
