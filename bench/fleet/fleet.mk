# bench/fleet: N simulated hypervisors for one fleet-manager (fleet-sim) and the client
# that measures how fast a tag change reaches GetUpdates watchers (fleet-bench).
PROGRAMS += fleet-sim fleet-bench
fleet-sim_SRCS := bench/fleet/fleet_sim.c
fleet-sim_LIBS := $(call pkg_libs,libmicrohttpd)
fleet-bench_SRCS := bench/fleet/fleet_bench.c
