# The fleet-manager's topology loader (daemon/fleet-manager/topology.c): its unit tests,
# the wire types' tests (lib/api/fleetmanager) and the loader's fuzz harness.
fleet-manager_SRCS += daemon/fleet-manager/topology.c daemon/fleet-manager/topology_dir.c

UNIT_TESTS += test_topology test_api_fleetmanager
test_topology_SRCS := daemon/fleet-manager/topology.c daemon/fleet-manager/topology_dir.c
test_api_fleetmanager_SRCS :=

# Files of a topology tree (records "path\0content\0") through topology_load_files.
FUZZERS += topology
fuzz_topology_SRCS := daemon/fleet-manager/topology.c
fuzz_topology_LIBS :=
