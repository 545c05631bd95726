#!/usr/bin/env bash
# Hypervisor start-up time against the size of the address pool (issue 17, point 5):
# for each pool size, the state directory gets a subnets.json with one /15 subnet and
# an address-pool.json holding that many addresses (all free and registered, as the
# Fleet Manager would have left them), then the daemon is started N times and the time
# from its start to the first 200 from /healthz is taken (polled every 20 ms), with
# its VmHWM (peak RSS) and VmRSS once it answers (the largest of the N runs). libvirt's in-process test driver: no VM, so
# the time is the daemon's own loading and start-up reconciliation.
# Plain build (build/bin); SS_BIN=DIR measures another build (e.g. an older one).
# Figures are printed, never asserted.
# Usage: bench/pool/run.sh [N=3] [SIZES="0 10000 65536"]    (make first)
set -u
SS_TOP=$(cd "$(dirname "$0")/../.." && pwd)
SS_BIN=${SS_BIN:-$SS_TOP/build/bin}
export SS_TOP SS_BIN
n=${1:-3}
sizes=${2:-0 10000 65536}
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
command -v curl >/dev/null || { echo "bench: curl needed" >&2; exit 2; }
[ -x "$SS_BIN/hypervisor" ] || { echo "bench: $SS_BIN/hypervisor missing: make first" >&2; exit 2; }

hv_env_start || { echo "bench: test environment failed" >&2; exit 2; }
hv_bridge "${SS_ID}br" 10.96.0.1/15
hv_certs || { echo "bench: certificates failed" >&2; exit 2; }
C=$HV_DIR/certs
HV_STATE=$HV_DIR/state
HV_LOG=$HV_DIR/daemon.out

now() { date +%s.%N; }
pool_files() { # COUNT: addresses 10.96.1.0 upwards, MACs 52:54:00:00:00:00 upwards
	printf '[{"Id": "bench", "IpGateway": "10.96.0.1", "IpMask": "255.254.0.0"}]\n' \
		>"$HV_STATE/subnets.json"
	awk -v n="$1" 'function list(   i) {
		for (i = 0; i < n; i++)
			printf "%s%s", (i ? ",\n  " : ""), e[i]
	}
	BEGIN {
		for (i = 0; i < n; i++) {
			a = 256 + i
			e[i] = sprintf("{\"IpAddress\": \"10.%d.%d.%d\", \"MacAddress\": \"52:54:00:%02x:%02x:%02x\"}",
				96 + int(a / 65536), int(a / 256) % 256, a % 256,
				int(i / 65536) % 256, int(i / 256) % 256, i % 256)
		}
		printf "{\"Free\": ["; list(); printf "],\n \"Registered\": ["; list(); print "]}"
	}' >"$HV_STATE/address-pool.json"
}
start_timed() { # sets HV_PID, secs, hwm and rss (VmHWM, VmRSS, KiB); the daemon keeps running
	local t0 t1 i
	t0=$(now)
	ip netns exec "$HV_NS" "$SS_BIN/hypervisor" -stateDir="$HV_STATE" \
		-volumeDirectories="$HV_DIR/volumes" -logDir="$HV_DIR/daemon-log" -libvirtURI="$HV_URI" \
		-portNum="$HV_PORT" -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-certFile="$C/server/cert.pem" -keyFile="$C/server/key.pem" -virtType=qemu \
		>>"$HV_LOG" 2>&1 &
	HV_PID=$!
	for ((i = 0; i < 6000; i++)); do
		kill -0 "$HV_PID" 2>/dev/null || { echo "bench: daemon exited: $(tail -3 "$HV_LOG")" >&2; return 1; }
		hv_ns curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$HV_PORT/healthz" && break
		sleep 0.02
	done
	t1=$(now)
	secs=$(echo "$t1 - $t0" | bc)
	hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$HV_PID/status")
	rss=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$HV_PID/status")
}
stats() { # seconds on stdin -> "median min max" in s
	sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%7.2f %7.2f %7.2f", m, v[1], v[NR] }'
}

out=$HV_DIR/figures
printf '%-18s %7s %7s %7s %12s %12s\n' "pool addresses" median min max "VmHWM (KiB)" "VmRSS (KiB)" >"$out"
for size in $sizes; do
	: >"$HV_DIR/t"
	maxhwm=0 maxrss=0
	for ((r = 0; r < n; r++)); do
		pool_files "$size"
		start_timed || exit 2
		echo "$secs" >>"$HV_DIR/t"
		[ "$hwm" -gt "$maxhwm" ] && maxhwm=$hwm
		[ "$rss" -gt "$maxrss" ] && maxrss=$rss
		hv_daemon_stop || { echo "bench: daemon did not stop" >&2; exit 2; }
	done
	printf '%-18s %s %12s %12s\n' "$size" "$(stats <"$HV_DIR/t")" "$maxhwm" "$maxrss" >>"$out"
done
echo "pool start-up bench: $SS_BIN/hypervisor, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), N=$n"
echo "start-up to /healthz (s):"
cat "$out"
