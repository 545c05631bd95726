# shellcheck shell=bash
# Boot-storm setup shared by bench/bootstorm/run.sh and tests/integration/
# bootstorm_smoke.sh (sourced after tests/lib/tap.sh and tests/lib/hyper.sh, once
# hv_env_start or hv_libvirt_start made $HV_NS and $HV_DIR).
#   bs_setup N KERNEL_MIB   bridge $BS_BR (10.106.0.1/16) in $HV_NS, client namespace
#                           $BS_NS with eth0 (a veth into the bridge) holding the N
#                           client addresses, TFTP root $BS_ROOT (pxelinux.0 and a
#                           random KERNEL_MIB MiB vmlinuz, world-readable for dnsmasq),
#                           certificates in $C
#   bs_mac I / bs_ip I      client I's MAC (02:42:53:00:hh:ll) and leased address
#   bs_daemon_start         the hypervisor with -tftpbootDirectory=$BS_ROOT, the subnet
#                           and the N clients as external leases (admin cert)
#   bs_dnsmasq_start        dnsmasq on the same bridge and files, static hosts only
#                           (BS_DNSMASQ_PID); bs_dnsmasq_stop
#   bs_storm ARGS...        ss-stormc for the N clients in $BS_NS (ARGS added), with
#                           -f pxelinux.0: the daemon names a boot file only in the
#                           offers of NetbootMachine leases, not of external ones
#   bs_peak_rss PID         VmHWM of PID in KiB
# Everything goes with t_cleanup, even on failure.

BS_GW=10.106.0.1
BS_MAC4=02:42:53:00

bs_mac() { printf '%s:%02x:%02x' "$BS_MAC4" $(($1 >> 8)) $(($1 & 255)); }
bs_ip() { echo "10.106.$((1 + $1 / 250)).$((1 + $1 % 250))"; }

_bs_cleanup() {
	bs_dnsmasq_stop
	ip netns del "$BS_NS" 2>/dev/null
	rm -rf "$BS_ROOT"
}

bs_setup() { # N KERNEL_MIB
	BS_N=$1
	BS_NS=${SS_ID}bc
	BS_BR=${SS_ID}bs
	BS_ROOT=$(mktemp -d "/tmp/${SS_ID}-bsroot.XXXXXX") || return 1
	t_cleanup _bs_cleanup
	hv_bridge "$BS_BR" "$BS_GW/16" || return 1
	ip netns add "$BS_NS" || return 1
	ip -n "$BS_NS" link set lo up
	hv_ns ip link add bsv0 type veth peer name eth0 netns "$BS_NS" || return 1
	hv_ns ip link set bsv0 master "$BS_BR" up || return 1
	ip -n "$BS_NS" link set eth0 up || return 1
	local i
	for ((i = 0; i < BS_N; i++)); do echo "addr add $(bs_ip "$i")/16 dev eth0"; done |
		ip -n "$BS_NS" -batch - || return 1
	chmod 755 "$BS_ROOT"
	if [ -f /usr/lib/PXELINUX/pxelinux.0 ]; then
		cp /usr/lib/PXELINUX/pxelinux.0 "$BS_ROOT/"
	else
		head -c 42000 /dev/urandom >"$BS_ROOT/pxelinux.0"
	fi
	head -c $(($2 << 20)) /dev/urandom >"$BS_ROOT/vmlinuz"
	chmod 644 "$BS_ROOT"/*
	hv_certs || return 1
	# shellcheck disable=SC2034 # hyper.sh's rpc and vmc read it
	C=$HV_DIR/certs
}

bs_daemon_start() { # [FLAGS...]
	hv_daemon_start -tftpbootDirectory="$BS_ROOT" "$@" || return 1
	local out i addrs names
	out=$(rpc admin Hypervisor.UpdateSubnets \
		"{\"Add\":[{\"Id\":\"storm\",\"IpGateway\":\"$BS_GW\",\"IpMask\":\"255.255.0.0\"}]}")
	grep -q '"Error":""' <<<"$out" || { echo "UpdateSubnets: $out" >&2; return 1; }
	addrs='' names=''
	for ((i = 0; i < BS_N; i++)); do
		addrs+="{\"IpAddress\":\"$(bs_ip "$i")\",\"MacAddress\":\"$(bs_mac "$i")\"},"
		names+="\"pxe$i\","
	done
	out=$(rpc admin Hypervisor.RegisterExternalLeases \
		"{\"Addresses\":[${addrs%,}],\"Hostnames\":[${names%,}]}")
	grep -q '"Error":""' <<<"$out" || { echo "RegisterExternalLeases: $out" >&2; return 1; }
}

bs_dnsmasq_start() {
	local i
	for ((i = 0; i < BS_N; i++)); do echo "$(bs_mac "$i"),$(bs_ip "$i"),pxe$i"; done \
		>"$HV_DIR/dnsmasq.hosts"
	: >"$HV_DIR/dnsmasq.leases"
	# Not through hv_ns: $! must be dnsmasq itself (ip execs it). --tftp-max: its
	# default of 50 transfers would refuse most of a storm.
	ip netns exec "$HV_NS" dnsmasq --no-daemon --port=0 --interface="$BS_BR" --bind-interfaces \
		--dhcp-range="$BS_GW,static,255.255.0.0,2h" --dhcp-hostsfile="$HV_DIR/dnsmasq.hosts" \
		--dhcp-boot=pxelinux.0 --enable-tftp --tftp-root="$BS_ROOT" --tftp-max=$((BS_N * 2 + 16)) \
		--dhcp-leasefile="$HV_DIR/dnsmasq.leases" --dhcp-authoritative --no-ping \
		--dhcp-lease-max=$((BS_N + 16)) --log-facility="$HV_DIR/dnsmasq.log" --quiet-dhcp \
		--pid-file="$HV_DIR/dnsmasq.pid" >"$HV_DIR/dnsmasq.out" 2>&1 &
	BS_DNSMASQ_PID=$!
	for ((i = 0; i < 100; i++)); do
		kill -0 "$BS_DNSMASQ_PID" 2>/dev/null || { cat "$HV_DIR/dnsmasq.out" >&2; return 1; }
		hv_ns ss -Hluon 'sport = :69' | grep -q . && hv_ns ss -Hluon 'sport = :67' | grep -q . &&
			return 0
		sleep 0.1
	done
	echo "dnsmasq did not open ports 67 and 69" >&2
	return 1
}

bs_dnsmasq_stop() {
	[ -n "${BS_DNSMASQ_PID:-}" ] || return 0
	kill "$BS_DNSMASQ_PID" 2>/dev/null
	wait "$BS_DNSMASQ_PID" 2>/dev/null
	BS_DNSMASQ_PID=
}

bs_storm() { # ARGS...
	ip netns exec "$BS_NS" "$SS_BIN/ss-stormc" -i eth0 -n "$BS_N" -M "$BS_MAC4" -f pxelinux.0 "$@"
}

bs_peak_rss() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status" 2>/dev/null; }
