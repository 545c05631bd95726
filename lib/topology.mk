# lib/topology: the fleet's topology tree loader (spec/fleet-and-images.md §2), pure
# (topology.c, fuzzed) plus its directory reader (topology_dir.c); shared by the fleet
# manager and hyper-control (get-machine-info -topologyDir). Its unit tests, the wire
# types' tests (lib/api/fleetmanager) and the loader's fuzz harness.
LIB_SRCS += lib/topology.c lib/topology_dir.c

UNIT_TESTS += test_topology test_api_fleetmanager
test_topology_SRCS :=
test_api_fleetmanager_SRCS :=

# Files of a topology tree (records "path\0content\0") through topology_load_files.
FUZZERS += topology
fuzz_topology_SRCS :=
fuzz_topology_LIBS :=
