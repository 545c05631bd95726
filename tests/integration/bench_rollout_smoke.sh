#!/usr/bin/env bash
# timeout: 180
# bench/rollout/run.sh, small: 20 simulated hypervisors with upgrade agents, a real
# fleet-manager and imageserver in a namespace; rollout-image upgrades every host once
# and the table reports the wall time against the ramp's ideal schedule, CPU and RSS.
. "$SS_TOP/tests/lib/tap.sh"
t_require curl "bench/rollout/run.sh reads the simulator's pages with curl"
t_require openssl "bench/rollout/run.sh makes its certificates with openssl"
t_require python3 "bench/rollout/run.sh reads the simulator's record with python3"
[ -x /usr/bin/time ] || { t_skip "bench/rollout/run.sh" "GNU time (/usr/bin/time) not installed"; exit 0; }

out=$(ROLLOUT_BENCH_BIN=$SS_BIN bash "$SS_TOP/bench/rollout/run.sh" -n 20 -upgrade 1000 -poll 50 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
t_check "run.sh N=20 completes (exit 0)" test "$rc" = 0
t_expect "every host on the new image, none upgraded twice" \
	"hosts on the new image / upgraded twice +20/20 / 0" echo "$out"
t_expect "the ideal schedule is 6 steps of 1 s" "ideal schedule \(6 steps x 1000 ms\) +6.0 s" echo "$out"
t_expect "the table reports the wall time against it" "upgrades' wall time.* s \([0-9.]+x\)" echo "$out"
t_expect "the table reports CPU and RSS" "hyper-control peak RSS +[0-9.]+ MB" echo "$out"
