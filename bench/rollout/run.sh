#!/usr/bin/env bash
# hyper-control rollout-image against N simulated hypervisors (bench/fleet/fleet_sim.c
# with its upgrade agents: a fixed upgrade time each) behind a real fleet-manager and a
# real imageserver, all in a private network namespace. Every host is unused (no VM), so
# the ramp goes 1, 2, 3... up to N in one phase, and with a per-host time T (upgrade time
# + bake) the ideal schedule is K steps of T, K the least with K(K+1)/2 >= N. Measures:
#   - the upgrades' wall time (hyper-control's "the upgrades took") against K x T
#     (goal <= 1.05x), and the whole command's wall time (with the scan of every host)
#   - hyper-control's CPU time (user + system; all of it, and the planner's part after
#     the scan, which hyper-control logs) and peak RSS (/usr/bin/time)
#   - that every host runs the new image, each upgraded once
# and prints a table. Build first (make; the programs come from build/bin).
# Usage: bench/rollout/run.sh [-n N] [-upgrade DURATION_MS] [-poll DURATION_MS]
#   -n 100 and -n 10000 are the two sizes of the closing note (default 100).
# Env: ROLLOUT_BENCH_BIN (default build/bin), ROLLOUT_BENCH_KEEP=1 keeps the directory.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ROLLOUT_BENCH_BIN:-$top/build/bin}
n=100 up_ms=2000 poll_ms=100
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-upgrade) up_ms=$2; shift 2 ;;
	-poll) poll_ms=$2; shift 2 ;;
	*) echo "usage: $0 [-n N] [-upgrade MS] [-poll MS]" >&2; exit 2 ;;
	esac
done
for p in fleet-manager fleet-sim imageserver imagetool hyper-control; do
	[ -x "$bin/$p" ] || { echo "rollout bench: $bin/$p missing: build first (make)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "rollout bench: /usr/bin/time (GNU time) missing" >&2; exit 2; }
. "$top/tests/lib/srpc.sh"

need=$((n + 2000))
[ "$(ulimit -n)" -ge "$need" ] || ulimit -n "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge "$need" ] || { echo "rollout bench: open-file limit $(ulimit -n) < $need" >&2; exit 2; }
# The fleet-manager and the simulator hold a thread per hypervisor connection each.
threads_now=$(awk '{print $4}' /proc/loadavg | cut -d/ -f2)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ $((threads_now + 2 * n + 1000)) -gt "$pid_max" ]; then
	echo "rollout bench: $threads_now threads now + 2 x $n would pass pid_max $pid_max" >&2
	exit 2
fi

id=ss$(($$ % 100000))
ns=${id}rb
d=$(mktemp -d "/tmp/$id-rolloutbench.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	if [ -n "${ROLLOUT_BENCH_KEEP:-}" ]; then echo "kept $d"; else rm -rf "$d"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
# Daemons are started with ip netns exec itself, not inns: $! must be the daemon.
inns() { ip netns exec "$ns" "$@"; }
inns sysctl -qw net.core.somaxconn=$((n + 1000)) net.ipv4.tcp_max_syn_backlog=$((n + 1000)) || true
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- certificates
mkdir -p "$d/certs" "$d/hc" "$d/it" "$d/home"
c=$d/certs
srpc_ca "$c" CA && srpc_ca "$c" IdentityCA
srpc_cert "$c" fm CA fleet-manager san=DNS:localhost,IP:127.0.0.1
srpc_cert "$c" sim CA hypervisor san=IP:127.0.0.1
srpc_cert "$c" roll CA operator grants='FleetManager.*,ImageServer.*,ObjectServer.*,Hypervisor.*'
srpc_cert "$c" agent CA agent grants='FleetManager.*,ImageServer.*'
cp "$c/roll.cert" "$d/hc/cert.pem" && cp "$c/roll.key" "$d/hc/key.pem"
cp "$c/roll.cert" "$c/roll.key" "$d/it/"

# ---- topology: bench/dc<D>/rack<R> under one location "bench", 100 machines a rack;
# machine i is hv<i> at 127.16.0.1 + i
topo=$d/topology
mkdir -p "$topo"
echo '{"RequiredImage": "hypervisor/v1"}' >"$topo/tags.json"
awk -v n="$n" -v topo="$topo" 'BEGIN {
	per = 100
	for (r = 0; r * per < n; r++) {
		dir = sprintf("%s/bench/dc%d/rack%d", topo, int(r / 10), r)
		system("mkdir -p " dir)
		a = 100 + int(r / 16); b = (r % 16) * 16
		printf "[{\"Id\": \"rack%d\", \"IpGateway\": \"10.%d.%d.1\", \"IpMask\": \"255.255.240.0\", \"Manage\": false}]\n", \
			r, a, b > (dir "/subnets.json")
		f = dir "/machines.json"
		printf "[\n" > f
		for (i = r * per; i < n && i < (r + 1) * per; i++) {
			v = 16 * 65536 + 1 + i
			printf "  {\"Hostname\": \"hv%05d\", \"HostIpAddress\": \"127.%d.%d.%d\"}%s\n", \
				i, int(v / 65536), int(v / 256) % 256, v % 256, \
				(i + 1 < n && i + 1 < (r + 1) * per) ? "," : "" > f
		}
		printf "]\n" > f
		close(f)
		close(dir "/subnets.json")
	}
}'

# ---- imageserver with hypervisor/v1 and v2
ip netns exec "$ns" "$bin/imageserver" -portNum=6971 -imageDir="$d/is/images" -objectDir="$d/is/objects" \
	-CAfile="$c/CA.pem" -identityCAfile="$c/IdentityCA.pem" -certFile="$c/fm.cert" \
	-keyFile="$c/fm.key" -logDir="$d/is/log" >"$d/is.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do inns curl -sf -o /dev/null http://127.0.0.1:6971/ && break; sleep 0.1; done
mkdir -p "$d/tree" && echo kernel >"$d/tree/vmlinuz"
it() { inns "$bin/imagetool" -quiet -certDirectory="$d/it" -CAfile="$c/CA.pem" \
	-imageServerHostname=127.0.0.1 "$@"; }
it mkdir hypervisor && it add hypervisor/v1 "$d/tree" && it add hypervisor/v2 "$d/tree"

# ---- the simulator, then the fleet-manager
# ROLLOUT_BENCH_CORE=1: the simulator may leave a core file in the directory.
[ -n "${ROLLOUT_BENCH_CORE:-}" ] && ulimit -c unlimited
(cd "$d" && exec ip netns exec "$ns" "$bin/fleet-sim" -n="$n" -vms=0 -idle="$n" -certFile="$c/sim.cert" -keyFile="$c/sim.key" \
	-CAfile="$c/CA.pem" -CAkeyFile="$c/CA.key" -fleetManager=127.0.0.1:6977 \
	-imageServer=127.0.0.1:6971 -agentCertFile="$c/agent.cert" -agentKeyFile="$c/agent.key" \
	-upgradeTime="${up_ms}ms" -initialImage=hypervisor/v1 >"$d/sim.log" 2>&1) &
sim_pid=$!
pids+=("$sim_pid")
ip netns exec "$ns" "$bin/fleet-manager" -stateDir="$d/state" -logDir="$d/log" -portNum=6977 \
	-CAfile="$c/CA.pem" -certFile="$c/fm.cert" -keyFile="$c/fm.key" -topologyDir="$topo" \
	-hypervisorPortNum=6976 -manageHypervisors >"$d/fm.log" 2>&1 &
fm_pid=$!
pids+=("$fm_pid")
simstat() { inns curl -s --max-time 10 http://127.0.0.1:6976/stats | tr -d '{}"' | tr ',:' '\n ' | awk -v k="$1" '$1 == k {print $2}'; }
t0=$(now_ms)
limit=$((120 + n / 20))
while :; do
	kill -0 "$fm_pid" 2>/dev/null || { echo "fleet-manager exited:" >&2; tail -20 "$d/fm.log" >&2; exit 1; }
	s=$(simstat Streaming)
	[ "${s:-0}" -ge "$n" ] && break
	[ $(($(now_ms) - t0)) -lt $((limit * 1000)) ] || { echo "only ${s:-0}/$n hypervisors connected" >&2; exit 1; }
	sleep 1
done
echo "rollout bench: $n hypervisors connected to the fleet-manager after $(($(now_ms) - t0)) ms"

# ---- the rollout
t1=$(now_ms)
HOME=$d/home HYPER_CONTROL_SYSCONFDIR=/nonexistent inns /usr/bin/time -v -o "$d/time.txt" \
	"$bin/hyper-control" -certDirectory="$d/hc" -CAfile="$c/CA.pem" \
	-fleetManagerHostname=127.0.0.1 -imageServerHostname=127.0.0.1 -location=bench \
	-bakeTime=0s -pollInterval="${poll_ms}ms" -rolloutStateFile="$d/rollout.json" \
	rollout-image hypervisor/v2 >"$d/hc.log" 2>&1 || {
	echo "rollout failed:" >&2
	tail -20 "$d/hc.log" >&2
	kill -0 "$sim_pid" 2>/dev/null || echo "the simulator had exited: $(tail -5 "$d/sim.log")" >&2
	exit 1
}
wall=$(($(now_ms) - t1))
took=$(sed -n 's/.*the upgrades took \([0-9.]*\)s.*/\1/p' "$d/hc.log")
plan_cpu=$(sed -n 's/.*the planner \([0-9.]*\)s of CPU.*/\1/p' "$d/hc.log")
check=$(inns curl -s --max-time 30 http://127.0.0.1:6976/upgrades | python3 -c '
import json, sys
u = json.load(sys.stdin)
print(sum(1 for v in u.values() if v["Running"] == "hypervisor/v2"), sum(1 for v in u.values() if v["Upgrades"] > 1))')
k=0
while [ $((k * (k + 1) / 2)) -lt "$n" ]; do k=$((k + 1)); done
ideal=$(awk -v k="$k" -v t="$up_ms" 'BEGIN {printf "%.1f", k * t / 1000}')
ratio=$(awk -v a="$took" -v b="$ideal" 'BEGIN {printf "%.3f", a / b}')
cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f s (user %.2f, system %.2f)", u + s, u, s}' "$d/time.txt")
rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f MB", $2 / 1024}' "$d/time.txt")

printf '\nrollout bench: N=%s hypervisors, upgrade time %s ms, poll %s ms, bake 0, %s CPUs\n' \
	"$n" "$up_ms" "$poll_ms" "$(nproc)"
printf '%-52s %s\n' "measure" "value" "-------" "-----" \
	"ideal schedule ($k steps x ${up_ms} ms)" "$ideal s" \
	"upgrades' wall time (goal <= 1.05x ideal)" "$took s (${ratio}x)" \
	"whole rollout-image wall time (with the scan)" "$(awk -v w="$wall" 'BEGIN {printf "%.1f s", w / 1000}')" \
	"hyper-control CPU time, all of it" "$cpu" \
	"... of which the planner (the upgrades, after the scan)" "${plan_cpu:-?} s" \
	"hyper-control peak RSS" "$rss" \
	"hosts on the new image / upgraded twice" "$(echo "$check" | awk '{print $1 "/'"$n"' / " $2}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
read -r on_new twice <<<"$check"
[ "$on_new" = "$n" ] && [ "$twice" = 0 ]
