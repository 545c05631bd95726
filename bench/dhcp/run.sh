#!/usr/bin/env bash
# DHCP benchmark: DORA exchanges per second of our server (ss-netsvc, dynamic range,
# leases journaled) against dnsmasq (--no-ping) and Kea 2.2 (memfile, persist, single
# threaded), measured with perfdhcp (Kea's load generator) across a veth pair in
# private namespaces. perfdhcp acts as a relay on the server's own subnet. For each
# server the offered rate is raised step by step (STEP_SECS seconds each, fresh server
# per step) until DISCOVER-OFFER or REQUEST-ACK loses 1% or more; the figure is the
# highest rate that stayed under 1%, with the rate perfdhcp actually achieved there.
# Usage: bench/dhcp/run.sh [RATES...]   (root; make first; SERVERS="ours kea" for a subset)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SS_NORMAL_BIN:-$top/build/bin}
step_secs=${STEP_SECS:-5}
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100 200 500 1000 2000 3000 4000 6000 8000 12000)
[ -x "$bin/ss-netsvc" ] || { echo "build first: make" >&2; exit 2; }
for c in perfdhcp dnsmasq kea-dhcp4; do
	command -v "$c" >/dev/null || { echo "$c missing (tools/deps.sh)" >&2; exit 2; }
done

id=ss$(($$ % 100000))
S=${id}ds C=${id}dc
d=$(mktemp -d "/tmp/${id}dhcpbench.XXXXXX")
srv=""
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT

ip netns add "$S"
ip netns add "$C"
ip -n "$S" link set lo up
ip -n "$C" link set lo up
ip -n "$S" link add eth0 type veth peer name eth0 netns "$C"
ip -n "$S" addr add 10.80.0.1/16 dev eth0
ip -n "$C" addr add 10.80.0.2/16 dev eth0
ip -n "$S" link set eth0 up
ip -n "$C" link set eth0 up

start_ours() {
	cat >"$d/ours.json" <<EOF
{"state_dir": "$d/state", "no_tftp": true, "interfaces": ["eth0"],
 "subnets": [{"Id": "bench", "IpGateway": "10.80.0.1", "IpMask": "255.255.0.0",
              "FirstDynamicIP": "10.80.1.0", "LastDynamicIP": "10.80.255.254"}]}
EOF
	ip netns exec "$S" "$bin/ss-netsvc" "$d/ours.json" >"$d/ours.log" 2>&1 &
	srv=$!
}
start_dnsmasq() {
	ip netns exec "$S" dnsmasq --no-daemon --port=0 --interface=eth0 --bind-interfaces \
		--dhcp-range=10.80.1.0,10.80.255.254,255.255.0.0,2h --dhcp-authoritative \
		--dhcp-leasefile="$d/state/dnsmasq.leases" --no-ping --dhcp-lease-max=200000 \
		--pid-file="$d/dnsmasq.pid" --log-facility="$d/dnsmasq.log" --quiet-dhcp >/dev/null 2>&1 &
	srv=$!
}
start_kea() {
	cat >"$d/kea.json" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "persist": true, "name": "$d/state/kea-leases4.csv",
                     "lfc-interval": 3600},
  "valid-lifetime": 7200,
  "subnet4": [{"subnet": "10.80.0.0/16", "pools": [{"pool": "10.80.1.0 - 10.80.255.254"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "ERROR",
               "output_options": [{"output": "$d/kea.log"}]}]
}}
EOF
	KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$S" kea-dhcp4 -c "$d/kea.json" \
		>"$d/kea.out" 2>&1 &
	srv=$!
}
stop() {
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	srv=""
}

# One step: prints "achieved_rate do_drop% ra_drop%"
step() { # SERVER RATE
	rm -rf "$d/state"
	mkdir -p "$d/state"
	"start_$1"
	sleep 1
	local out
	# perfdhcp writes files into its working directory.
	out=$(cd "$d" || exit; ip netns exec "$C" timeout $((step_secs + 20)) perfdhcp -4 -r "$2" \
		-R 30000 -p "$step_secs" -l 10.80.0.2 10.80.0.1 2>&1) || true
	stop
	local rate drops
	rate=$(sed -n 's/^Rate: \([0-9.]*\) .*/\1/p' <<<"$out")
	drops=$(sed -n 's/^drops ratio: \([0-9.]*\) %.*/\1/p' <<<"$out" | tr '\n' ' ')
	echo "${rate:-0} ${drops:-100 100}"
}

read -r -a servers <<<"${SERVERS:-ours dnsmasq kea}"
declare -A best_rate best_achieved
echo "dhcp bench: $(nproc) CPUs, perfdhcp $(perfdhcp -v 2>&1 | head -1), $step_secs s per step, <1% loss"
for s in "${servers[@]}"; do
	best_rate[$s]=0
	best_achieved[$s]=0
	for r in "${rates[@]}"; do
		read -r achieved do_drop ra_drop <<<"$(step "$s" "$r")"
		printf '  %-8s offered %6s/s: achieved %9s/s, drops DO %s%% RA %s%%\n' "$s" "$r" \
			"$achieved" "$do_drop" "$ra_drop"
		if [ "$(echo "$do_drop < 1 && $ra_drop < 1" | bc)" = 1 ]; then
			best_rate[$s]=$r
			best_achieved[$s]=$achieved
		else
			break
		fi
	done
done

ratio() {
	if [ "$2" = 0 ]; then echo "-"; else echo "scale=2; $1 / $2" | bc; fi
}
printf '\n%-10s %22s %18s\n' server "max rate (<1% loss)" "achieved there"
for s in "${servers[@]}"; do
	printf '%-10s %20s/s %16s/s\n' "$s" "${best_rate[$s]}" "${best_achieved[$s]}"
done
if [ -n "${best_achieved[ours]:-}" ]; then
	for s in "${servers[@]}"; do
		[ "$s" = ours ] && continue
		printf 'ours/%s: %s   ' "$s" "$(ratio "${best_achieved[ours]}" "${best_achieved[$s]}")"
	done
	printf '(achieved DORA/s at <1%% loss)\n'
fi
