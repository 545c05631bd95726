#!/usr/bin/env bash
# timeout: 300
# bench/fleet/run.sh, small: 50 simulated hypervisors (fleet-sim) and a real fleet-manager
# in a namespace; the run completes with every hypervisor connected (both sides), every
# pool filled through ChangeAddressPool, a tag change seen by every watcher, and all
# still connected after a short idle window.
. "$SS_TOP/tests/lib/tap.sh"
t_require curl "bench/fleet/run.sh reads the simulator's /stats with curl"
t_require openssl "bench/fleet/run.sh makes its certificates with openssl"

out=$(FLEET_BENCH_BIN=$SS_BIN bash "$SS_TOP/bench/fleet/run.sh" -n 50 -watchers 3 -idle 3 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
t_check "run.sh N=50 completes (exit 0)" test "$rc" = 0
t_expect "every hypervisor connected, as both sides see it" \
	"simulator sees 50/50 GetUpdates streams, fleet-manager lists 50/50" echo "$out"
t_expect "every pool filled through ChangeAddressPool" "pools: 50/50 hypervisors" echo "$out"
t_expect "the tag change reached every watcher" "tagwatch: 3/3 watchers saw the change" echo "$out"
t_expect "still connected after the idle window" "still connected at the end +50/50" echo "$out"
t_expect "the table reports RSS and CPU" "fleet-manager RSS.*MB.*" echo "$out"
