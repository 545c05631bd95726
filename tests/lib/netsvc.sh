# shellcheck shell=bash
# Helpers for the network-service tests (sourced after tap.sh, bash).
#   nsv_host NS BR CIDR         namespace NS with lo up and bridge BR holding CIDR
#   nsv_bridge NS BR CIDR       another bridge in NS
#   nsv_client NS HOSTNS BR PORT MAC
#                               client namespace NS whose eth0 (MAC) is plugged into
#                               bridge BR of HOSTNS through host-side veth PORT
#   nsv_routed NS ROUTER MAC CIDR HOSTNS VIA
#                               client namespace NS (eth0 with MAC) on a network behind
#                               namespace ROUTER, whose eth1 holds CIDR and forwards;
#                               HOSTNS routes that network via ROUTER's address VIA
#   nsv_start NS CONFIG LOG     runs ss-netsvc in NS, waits for "ready"; sets NSV_PID
#   nsv_stop                    stops that server (SIGTERM) and waits for it
#   nsv_status NS URL_IP PORT   prints the server's /status JSON
#   nsv_bg NAME CMD...          runs CMD in the background, killed at exit
# Everything is named with $SS_ID and removed by t_cleanup.

nsv_host() {
	local ns=$1 br=$2 cidr=$3
	ip netns add "$ns"
	t_cleanup ip netns del "$ns"
	ip -n "$ns" link set lo up
	nsv_bridge "$ns" "$br" "$cidr"
}

nsv_bridge() {
	local ns=$1 br=$2 cidr=$3
	ip -n "$ns" link add "$br" type bridge
	# No multicast snooping: clients' solicitations reach the host without a querier.
	ip -n "$ns" link set "$br" type bridge mcast_snooping 0
	[ -n "$cidr" ] && ip -n "$ns" addr add "$cidr" dev "$br"
	ip -n "$ns" link set "$br" up
}

nsv_client() {
	local ns=$1 hostns=$2 br=$3 port=$4 mac=$5
	ip netns add "$ns"
	t_cleanup ip netns del "$ns"
	ip -n "$ns" link set lo up
	ip -n "$hostns" link add "$port" type veth peer name eth0 netns "$ns"
	ip -n "$hostns" link set "$port" master "$br" up
	ip -n "$ns" link set eth0 address "$mac" up
}

nsv_routed() {
	local ns=$1 router=$2 mac=$3 cidr=$4 hostns=$5 via=$6 net
	ip netns add "$ns"
	t_cleanup ip netns del "$ns"
	ip -n "$ns" link set lo up
	ip -n "$router" link add eth1 type veth peer name eth0 netns "$ns"
	ip -n "$router" addr add "$cidr" dev eth1
	ip -n "$router" link set eth1 up
	ip -n "$ns" link set eth0 address "$mac" up
	ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
	net=$(ip -n "$router" -4 route show dev eth1 scope link | awk '{print $1; exit}')
	ip -n "$hostns" route add "$net" via "$via"
}

NSV_PID=
nsv_start() {
	local ns=$1 cfg=$2 log=$3 i
	ip netns exec "$ns" "$SS_BIN/ss-netsvc" -v "$cfg" >"$log" 2>&1 &
	NSV_PID=$!
	t_cleanup nsv_kill "$NSV_PID"
	for ((i = 0; i < 100; i++)); do
		grep -q "ss-netsvc: ready" "$log" && return 0
		kill -0 "$NSV_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "ss-netsvc did not start:" >&2
	cat "$log" >&2
	return 1
}

nsv_kill() {
	kill "$1" 2>/dev/null || return 0
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	return 0
}

nsv_stop() {
	[ -n "$NSV_PID" ] || return 0
	nsv_kill "$NSV_PID"
	wait "$NSV_PID" 2>/dev/null
	NSV_PID=
}

nsv_status() {
	ip netns exec "$1" curl -s --max-time 5 "http://$2:$3/status"
}

nsv_bg() {
	local name=$1
	shift
	"$@" &
	t_cleanup nsv_kill "$!"
	eval "NSV_BG_$name=$!"
}

# A counter from the /status JSON: nsv_counter NS IP PORT NAME
nsv_counter() {
	nsv_status "$1" "$2" "$3" | jq -r ".Counters.$4"
}
