# The fleet manager daemon (daemon/fleet-manager/): flags and start-up (main.c,
# fmflags.c), the topology's source (gitsync.c), machines and local tags (machines.c),
# GetUpdates fan-out (updates.c), the FleetManager methods (methods.c), the installers'
# /tftpdata pages (tftpdata.c) and the status pages (status.c). The topology loader is
# lib/topology; the hypervisor connections and power-on add their sources in their own
# fragments.
PROGRAMS += fleet-manager
INSTALL_SBIN += fleet-manager
fleet-manager_SRCS += $(addprefix daemon/fleet-manager/, main.c fmflags.c gitsync.c \
	machines.c updates.c methods.c tftpdata.c status.c)
fleet-manager_LIBS += $(call pkg_libs,libmicrohttpd)

# The /tftpdata/ pages with hostile queries (tests/fuzz/fuzz_tftpdata.c): the real
# loader, machines and methods over a small in-memory topology.
FUZZERS += tftpdata
fuzz_tftpdata_SRCS := $(addprefix daemon/fleet-manager/, tftpdata.c methods.c machines.c \
	updates.c hypervisors.c hvconn.c pool.c power.c)
fuzz_tftpdata_LIBS := $(call pkg_libs,libmicrohttpd)
