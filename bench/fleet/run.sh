#!/usr/bin/env bash
# One fleet-manager against N simulated hypervisors (fleet-sim: one process, one port,
# hypervisor i at 127.16.0.1 + i), both in a private network namespace. Measures:
#   - time until every hypervisor is connected (the simulator sees N GetUpdates streams
#     and ListHypervisorsInLocation lists N), and until every pool is filled
#     (-manageHypervisors: each hypervisor starts with no free address)
#   - fleet-manager RSS once all N are connected (goal <= 200 MB at N = 10,000)
#   - time for a ChangeMachineTags to reach every GetUpdates watcher (goal <= 2 s)
#   - fleet-manager CPU over IDLE seconds when nothing changes (keep-alives only)
# and prints a table. Build first (make; the figures come from build/bin).
# Usage: bench/fleet/run.sh [-n N] [-watchers W] [-idle SECONDS] [-vms V] [-nomanage]
#   -n 100 / -n 10000 are the two sizes of the closing note (default 100).
# Env: FLEET_BENCH_BIN (default build/bin), FLEET_BENCH_KEEP=1 keeps the directory.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FLEET_BENCH_BIN:-$top/build/bin}
n=100 watchers=10 idle=60 vms=3 manage=1
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-watchers) watchers=$2; shift 2 ;;
	-idle) idle=$2; shift 2 ;;
	-vms) vms=$2; shift 2 ;;
	-nomanage) manage=0; shift ;;
	*) echo "usage: $0 [-n N] [-watchers W] [-idle SECONDS] [-vms V] [-nomanage]" >&2; exit 2 ;;
	esac
done
for p in fleet-manager fleet-sim fleet-bench; do
	[ -x "$bin/$p" ] || { echo "fleet bench: $bin/$p missing: build first (make)" >&2; exit 2; }
done
. "$top/tests/lib/srpc.sh"

# Each connection is a socket in both processes, and a thread in each.
need=$((n + 2000))
[ "$(ulimit -n)" -ge "$need" ] || ulimit -n "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge "$need" ] || { echo "fleet bench: open-file limit $(ulimit -n) < $need" >&2; exit 2; }
threads_now=$(awk '{print $4}' /proc/loadavg | cut -d/ -f2)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ $((threads_now + 2 * n + 500)) -gt "$pid_max" ]; then
	echo "fleet bench: $threads_now threads now + 2 x $n would pass pid_max $pid_max" >&2
	exit 2
fi

id=ss$(($$ % 100000))
ns=${id}fb
d=$(mktemp -d "/tmp/$id-fleetbench.XXXXXX")
fm_pid="" sim_pid=""
cleanup() {
	local rc
	if [ -n "$fm_pid" ]; then
		kill "$fm_pid" 2>/dev/null
		rc=0
		wait "$fm_pid" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || echo "fleet-manager exit status after SIGTERM: $rc (log $d/fm.log)"
	fi
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null
		wait "$sim_pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	if [ -n "${FLEET_BENCH_KEEP:-}" ]; then echo "kept $d"; else rm -rf "$d"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
inns() { ip netns exec "$ns" "$@"; }
# The simulator's one port stands for N hosts dialled at once: room in its queues.
inns sysctl -qw net.core.somaxconn=$((n + 1000)) net.ipv4.tcp_max_syn_backlog=$((n + 1000)) || true
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Reads /stats of the simulator as "key value" lines.
stats() { inns curl -s --max-time 10 "http://127.0.0.1:6976/stats" | tr -d '{}"' | tr ',:' '\n '; }
simstat() { stats | awk -v k="$1" '$1 == k {print $2}'; }

# ---- certificates: the CA signs the fleet-manager's and (in fleet-sim) each hypervisor's
mkdir -p "$d/certs"
srpc_ca "$d/certs" CA
srpc_cert "$d/certs" fm CA fleet-manager san=DNS:localhost,IP:127.0.0.1 grants='Hypervisor.*'
srpc_cert "$d/certs" admin CA admin grants='FleetManager.*'
srpc_cert "$d/certs" sim CA hypervisor san=IP:127.0.0.1

# ---- topology: bench/dc<D>/rack<R>, 100 machines a rack, 10 racks a data centre; each
# rack has a managed /20 subnet; machine i is hv<i> at 127.16.0.1 + i.
topo=$d/topology
mkdir -p "$topo"
echo '{"RequiredImage": "hypervisor/bench"}' >"$topo/tags.json"
echo '{"OwnerGroups": ["bench-ops"]}' >"$topo/owners.json"
awk -v n="$n" -v topo="$topo" -v manage="$manage" 'BEGIN {
	per = 100
	for (r = 0; r * per < n; r++) {
		dir = sprintf("%s/bench/dc%d/rack%d", topo, int(r / 10), r)
		system("mkdir -p " dir)
		a = 100 + int(r / 16); b = (r % 16) * 16
		printf "[{\"Id\": \"rack%d\", \"IpGateway\": \"10.%d.%d.1\", \"IpMask\": \"255.255.240.0\", " \
			"\"DomainNameServers\": [\"10.%d.%d.1\"], \"Manage\": %s, " \
			"\"FirstAutoIP\": \"10.%d.%d.10\", \"LastAutoIP\": \"10.%d.%d.250\"}]\n", \
			r, a, b, a, b, manage ? "true" : "false", a, b, a, b + 15 > (dir "/subnets.json")
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

# ---- the simulator, then the fleet-manager (both in the namespace)
ip netns exec "$ns" "$bin/fleet-sim" -n="$n" -vms="$vms" -certFile="$d/certs/sim.cert" \
	-keyFile="$d/certs/sim.key" -CAfile="$d/certs/CA.pem" -CAkeyFile="$d/certs/CA.key" \
	>"$d/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -n "$(simstat Hypervisors 2>/dev/null)" ] && break; sleep 0.1; done
[ -n "$(simstat Hypervisors)" ] || { echo "fleet-sim did not start:" >&2; cat "$d/sim.log" >&2; exit 1; }

mflag=()
[ "$manage" = 1 ] && mflag=(-manageHypervisors)
t_start=$(now_ms)
ip netns exec "$ns" "$bin/fleet-manager" -stateDir="$d/state" -logDir="$d/log" -portNum=6977 \
	-CAfile="$d/certs/CA.pem" -certFile="$d/certs/fm.cert" -keyFile="$d/certs/fm.key" \
	-topologyDir="$topo" -hypervisorPortNum=6976 "${mflag[@]}" >"$d/fm.log" 2>&1 &
fm_pid=$!
bench=(ip netns exec "$ns" "$bin/fleet-bench" -addr=127.0.0.1:6977 -CAfile="$d/certs/CA.pem"
	-certFile="$d/certs/admin.cert" -keyFile="$d/certs/admin.key")
for _ in $(seq 600); do
	kill -0 "$fm_pid" 2>/dev/null || { echo "fleet-manager exited:" >&2; tail -20 "$d/fm.log" >&2; exit 1; }
	inns curl -sf --max-time 5 http://127.0.0.1:6977/healthz >/dev/null 2>&1 && break
	sleep 0.1
done

# ---- every hypervisor connected, as both sides see it
limit=$((120 + n / 20))
streaming=0 listed=0 t_conn=""
while [ $(($(now_ms) - t_start)) -lt $((limit * 1000)) ]; do
	kill -0 "$fm_pid" 2>/dev/null || { echo "fleet-manager exited:" >&2; tail -20 "$d/fm.log" >&2; exit 1; }
	streaming=$(simstat Streaming)
	if [ "$streaming" -ge "$n" ]; then
		listed=$("${bench[@]}" count 2>/dev/null || echo 0)
		[ "$listed" -ge "$n" ] && { t_conn=$(($(now_ms) - t_start)); break; }
	fi
	sleep 1
done
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
threads() { awk '$1 == "Threads:" {print $2}' "/proc/$1/status"; }
echo "connected: simulator sees $streaming/$n GetUpdates streams, fleet-manager lists $listed/$n" \
	"(${t_conn:-not all within ${limit}s}${t_conn:+ ms})"
t_pools="" filled=0
if [ "$manage" = 1 ]; then
	while [ $(($(now_ms) - t_start)) -lt $((limit * 2000)) ]; do
		filled=$(simstat PoolsFilled)
		[ "$filled" -ge "$n" ] && { t_pools=$(($(now_ms) - t_start)); break; }
		sleep 1
	done
	echo "pools: $filled/$n hypervisors hold >= 8 free addresses (${t_pools:-not all}${t_pools:+ ms})"
fi
sleep 2
rss=$(rss_kb "$fm_pid" VmRSS) hwm=$(rss_kb "$fm_pid" VmHWM) fm_threads=$(threads "$fm_pid")
sim_rss=$(rss_kb "$sim_pid" VmRSS)

# ---- a tag change to every watcher
tw=$("${bench[@]}" -timeout=30s tagwatch "$watchers" hv00000 BenchTag 2>&1) || true
echo "$tw"
slow=$(sed -n 's/.*slowest \([0-9.]*\) ms.*/\1/p' <<<"$tw")
med=$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$tw")
saw=$(sed -n 's/^tagwatch: \([0-9]*\)\/.*/\1/p' <<<"$tw")

# ---- CPU when nothing changes
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ka0=$(simstat KeepAlives) c0=$(cpu "$fm_pid") s0=$(cpu "$sim_pid") w0=$(now_ms)
sleep "$idle"
ka1=$(simstat KeepAlives) c1=$(cpu "$fm_pid") s1=$(cpu "$sim_pid") w1=$(now_ms)
el=$((w1 - w0))
fm_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v ms="$el" 'BEGIN {printf "%.2f", 100 * t / hz / (ms / 1000)}')
sim_cpu=$(awk -v t=$((s1 - s0)) -v hz="$hz" -v ms="$el" 'BEGIN {printf "%.2f", 100 * t / hz / (ms / 1000)}')
ka_rate=$(awk -v k=$((ka1 - ka0)) -v ms="$el" 'BEGIN {printf "%.0f", k / (ms / 1000)}')
still=$(simstat Streaming)

mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k / 1024}'; }
printf '\nfleet bench: N=%s hypervisors (%s VMs each), %s watchers, %s CPUs, %s\n' "$n" "$vms" \
	"$watchers" "$(nproc)" "$([ "$manage" = 1 ] && echo "-manageHypervisors" || echo "read-only")"
printf '%-52s %s\n' "measure" "value" "-------" "-----" \
	"all connected after" "${t_conn:-NOT ALL ($streaming streams, $listed listed)}${t_conn:+ ms}" \
	"pools filled after" "$([ "$manage" = 1 ] && echo "${t_pools:-NOT ALL ($filled)}${t_pools:+ ms}" || echo n/a)" \
	"fleet-manager RSS, all connected (goal <= 200 MB)" "$(mb "$rss") (peak $(mb "$hwm"))" \
	"fleet-manager threads" "$fm_threads" \
	"tag change reached $saw/$watchers watchers (goal <= 2 s)" "slowest ${slow:-?} ms, median ${med:-?} ms" \
	"fleet-manager CPU, ${idle}s idle (% of one CPU)" "$fm_cpu %" \
	"simulator CPU in the same window" "$sim_cpu %" \
	"keep-alives answered per second" "$ka_rate" \
	"simulator RSS" "$(mb "$sim_rss")" \
	"still connected at the end" "$still/$n"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
[ -n "$t_conn" ] && [ "${saw:-0}" = "$watchers" ] && [ "$still" -ge "$n" ]
