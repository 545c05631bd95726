#!/usr/bin/env bash
# Boot storm (issue 19): CLIENTS simulated PXE clients (ss-stormc, bench/bootstorm/
# stormc.c) boot at once against one hypervisor daemon, then against dnsmasq serving
# the same files on the same bridge, in the same run. Each client: DHCP DISCOVER,
# OFFER, REQUEST, ACK with its own MAC (a static lease: RegisterExternalLeases for the
# daemon, dhcp-host lines for dnsmasq), then TFTP from its leased address of
# pxelinux.0 (tsize probe aborted, then blksize 1468, as a PXE ROM) and of a random
# KERNEL_MIB MiB vmlinuz (tsize + blksize, as pxelinux), checked by SHA-256. PXE ROM
# retries: DHCP 4 tries (4, 8, 16, 32 s), TFTP 6 resends after 1 s each.
# Namespaces as tests/lib/hyper.sh makes them: the daemon (and later dnsmasq) in the
# server namespace with the bridge 10.106.0.1/16 and a private libvirtd (libvirt's test
# driver when libvirtd is not installed); the clients in their own namespace behind a
# veth in that bridge, with their addresses on it. Plain build (build/bin).
# Prints per server: clients done, timeouts, errors, time to the last client, per-client
# p50/p99, resends, server CPU time and peak RSS (VmHWM). Exit 1 when a client of the
# daemon failed. Everything is removed at exit, also on failure; the clients' output
# and the servers' logs stay in build/bench-logs/bootstorm/.
# Usage: bench/bootstorm/run.sh [CLIENTS=500] [KERNEL_MIB=10]   (root; make first)
# Environment: SPREAD_MS (0: all at once; client i starts at i*SPREAD/N ms),
# BLKSIZE (1468), WINDOW (1: lockstep, as PXE ROMs and pxelinux; >1 asks windowsize),
# LIMIT_S (600), SERVERS ("hypervisor dnsmasq").
set -u
SS_TOP=$(cd "$(dirname "$0")/../.." && pwd)
SS_BIN=${SS_BIN:-$SS_TOP/build/bin}
export SS_TOP SS_BIN
n=${1:-500}
mib=${2:-10}
spread=${SPREAD_MS:-0}
blksize=${BLKSIZE:-1468}
window=${WINDOW:-1}
limit=${LIMIT_S:-600}
read -r -a servers <<<"${SERVERS:-hypervisor dnsmasq}"
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/bootstorm.sh"
for p in dnsmasq openssl curl ss; do
	command -v "$p" >/dev/null || { echo "bench: $p not installed (tools/deps.sh)" >&2; exit 2; }
done
for p in hypervisor srpc-testc ss-stormc; do
	[ -x "$SS_BIN/$p" ] || { echo "bench: $SS_BIN/$p missing: make first" >&2; exit 2; }
done
case "$n$mib" in *[!0-9]*) echo "usage: $0 [CLIENTS] [KERNEL_MIB]" >&2; exit 2 ;; esac
if [ "$n" -lt 1 ] || [ "$n" -gt 60000 ]; then echo "bench: 1 to 60000 clients" >&2; exit 2; fi

if command -v libvirtd >/dev/null; then
	hv_libvirt_start || { echo "bench: private libvirt did not start" >&2; exit 2; }
	libvirt="private libvirtd $(libvirtd --version | awk '{print $NF}')"
else
	hv_env_start || { echo "bench: namespace failed" >&2; exit 2; }
	libvirt="libvirt test driver (no libvirtd installed)"
fi
bs_setup "$n" "$mib" || { echo "bench: setup failed" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || true
logs=$SS_TOP/build/bench-logs/bootstorm
mkdir -p "$logs"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
declare -A R
storm() { # NAME PID
	local name=$1 pid=$2 t0 out f
	t0=$(cpu_ticks "$pid")
	bs_storm -c "$BS_ROOT" -s "$spread" -b "$blksize" -w "$window" -t "$limit" \
		>"$HV_DIR/storm-$name.out" 2>"$HV_DIR/storm-$name.err"
	R[$name.cpu]=$(echo "scale=1; ($(cpu_ticks "$pid") - $t0) / $(getconf CLK_TCK)" | bc)
	R[$name.rss]=$(echo "scale=1; $(bs_peak_rss "$pid") / 1024" | bc)
	out=$(grep '^clients=' "$HV_DIR/storm-$name.out")
	for f in "done" timeouts errors mismatches dhcp_resends naks tftp_resends p50_ms p99_ms last_s MB; do
		R[$name.$f]=$(sed -n "s/.* $f=\\([0-9.]*\\).*/\\1/p" <<<" $out")
	done
	cp "$HV_DIR/storm-$name.out" "$HV_DIR/storm-$name.err" "$logs/"
	if [ "${R[$name.done]:-0}" != "$n" ]; then
		echo "bench: $name: $out" >&2
		head -10 "$HV_DIR/storm-$name.err" >&2
	fi
}

for s in "${servers[@]}"; do
	case $s in
	hypervisor)
		bs_daemon_start -virtType=qemu -stopTimeout=2s ||
			{ echo "bench: daemon did not start: $(tail -3 "$HV_LOG")" >&2; exit 2; }
		storm hypervisor "$HV_PID"
		kill -0 "$HV_PID" 2>/dev/null || echo "bench: the daemon died during the storm" >&2
		cp "$HV_DIR/daemon-log/latest" "$logs/hypervisor.log" 2>/dev/null
		hv_daemon_stop || hv_daemon_kill9
		;;
	dnsmasq)
		bs_dnsmasq_start || { echo "bench: dnsmasq did not start" >&2; exit 2; }
		storm dnsmasq "$BS_DNSMASQ_PID"
		bs_dnsmasq_stop
		cp "$HV_DIR/dnsmasq.log" "$logs/dnsmasq.log" 2>/dev/null
		;;
	*) echo "bench: unknown server $s" >&2; exit 2 ;;
	esac
done

ms_s() { [ -n "$1" ] && echo "scale=2; $1 / 1000" | bc; }
echo
echo "boot storm: $n clients, pxelinux.0 ($(stat -c %s "$BS_ROOT/pxelinux.0") B) + vmlinuz ($mib MiB) over TFTP, blksize $blksize, window $window, start spread $spread ms"
echo "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $libvirt, dnsmasq $(dnsmasq --version | awk 'NR == 1 {print $3}')"
printf '%-34s' ""
for s in "${servers[@]}"; do printf '%14s' "$s"; done
echo
row() { # LABEL KEY [FORMAT-FUNCTION]
	local s v
	printf '%-34s' "$1"
	for s in "${servers[@]}"; do
		v=${R[$s.$2]:-}
		[ -n "${3:-}" ] && v=$($3 "$v")
		printf '%14s' "${v:--}"
	done
	echo
}
row "clients done" "done"
row "timeouts" timeouts
row "errors" errors
row "checksum mismatches" mismatches
row "time to the last client (s)" last_s
row "per client p50 (s)" p50_ms ms_s
row "per client p99 (s)" p99_ms ms_s
row "DHCP resends" dhcp_resends
row "TFTP resends" tftp_resends
row "server CPU time (s)" cpu
row "server peak RSS (MiB)" rss
row "MB received by the clients" MB
for s in "${servers[@]}"; do
	[ "$s" = hypervisor ] || continue
	if [ "${R[hypervisor.done]:-0}" = "$n" ] && [ "${R[hypervisor.timeouts]:-1}" = 0 ]; then
		echo "hypervisor: all $n clients complete, 0 timeouts"
	else
		echo "hypervisor: FAILED: ${R[hypervisor.done]:-0} of $n done, ${R[hypervisor.timeouts]:-?} timeouts (logs in $logs)"
		exit 1
	fi
done
