#!/usr/bin/env bash
# timeout: 400
# The daemon holds its port under hostile clients (issue 17 #1-#3), test driver, no
# boots. Each case is the attack itself, from sources the test picks on the
# namespace's loopback (127.0.0.2-6; the checks come from 127.0.0.1): during and after
# it /healthz answers and an admin's ListVMs is served (hostile_alive), and at the end
# the daemon's fds and RSS are back to their start figures (hostile_settled).
#   #1 65+ half HTTP requests (once deadlocked libmicrohttpd: no page answered again)
#   #2 idle TLS connections of an identity-only certificate, half calls, half CONNECT
#      lines, idle TCP, slowloris, a connect flood: per-source limit, the reserve,
#      I/O, idle and handshake timeouts
#   #3 the bridge's MAC address does not move across three restarts
#   #6, #7 at the daemon itself, from a "VM" namespace on its bridge: 2,000 TFTP RRQs
#      (tests/lib/tftp_flood.py; no TFTP root here, so each is refused: the log stays
#      bounded) and 200 metadata requests with %00 paths or two Host headers (400)
# The attacker of the port is tests/lib/hostile.py.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/hostile.sh"
. "$SS_TOP/tests/lib/metadata.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require python3 "the hostile clients are a python3 script"

BR=${SS_ID}br
hv_setup "$BR" 10.117.0.1/24 || exit 0
# A "VM tap" on the bridge, with a libvirt-like MAC (lower than the metadata veth's).
hv_ns ip link add "${SS_ID}tap" address 52:54:00:17:00:01 type veth peer name "${SS_ID}tpe"
hv_ns ip link set "${SS_ID}tap" master "$BR" up
hv_ns ip link set "${SS_ID}tpe" up

flags=(-virtType=qemu -rpcIoTimeout=3s -rpcIdleTimeout=4s -srpcDefaultTlsHandshakeTimeout=3s)
hv_daemon_start "${flags[@]}" || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts"
hostile_mark

# attack MODE COUNT SOURCE HOLD [ARGS]: in the background; its summary line goes to
# $HV_DIR/attack.N.out. Waits until its connections are set up. attacks_wait waits for
# every attack (not the daemon); attacks_out prints their summaries and forgets them.
natt=0 apids=()
attack() {
	local mode=$1 count=$2 src=$3 hold=$4 i
	shift 4
	natt=$((natt + 1))
	rm -f "$HV_DIR/ready.$natt"
	hv_ns python3 "$SS_TOP/tests/lib/hostile.py" --addr "127.0.0.1:$HV_PORT" --source "$src" \
		--hold "$hold" --ready "$HV_DIR/ready.$natt" --ca "$C/ca/ca.pem" "$@" "$mode" "$count" \
		>"$HV_DIR/attack.$natt.out" 2>&1 &
	apids+=($!)
	for ((i = 0; i < 300; i++)); do
		[ -e "$HV_DIR/ready.$natt" ] && return 0
		kill -0 $! 2>/dev/null || return 0
		sleep 0.1
	done
}
attacks_wait() {
	[ ${#apids[@]} -eq 0 ] || wait "${apids[@]}"
	apids=()
}
attacks_out() { cat "$HV_DIR"/attack.*.out; rm -f "$HV_DIR"/attack.*.out; }
metric() { hv_curl metrics | awk -v m="$1" '$1 == m {print $2}'; }
none_held() { ! grep -qE '(^|[^0-9])[1-9][0-9]* still held' <<<"$1"; }
one_value() { [ "$(tr ' ' '\n' <<<"$1" | sort -u | wc -l)" = 1 ]; }
fe_fixed() { one_value "$1" && [[ $1 == fe:* ]]; }

# ---- #1: 65 half HTTP requests from one source, then 100 from four ----
attack http-half 65 127.0.0.2 3
hostile_alive "#1 65 half HTTP requests held"
attacks_wait
out=$(attacks_out)
echo "# $out"
hostile_alive "#1 after 65 half HTTP requests"
for s in 2 3 4 5; do attack http-half 25 127.0.0.$s 3; done
hostile_alive "#1 100 half HTTP requests from four sources held"
attacks_wait
out=$(attacks_out)
echo "# ${out//$'\n'/ | }"
answered=$(awk '{s += $(NF-1)} END {print s + 0}' <<<"$out")
if [ "$answered" -ge 64 ]; then
	t_ok "#1 the held requests are answered when they end ($answered of 100)"
else
	t_fail "#1 the held requests are answered when they end" "$answered of 100: $out"
fi
hostile_alive "#1 after 100 half HTTP requests"
refused=$(metric hypervisor_port_refused_total)
t_check "#1 /metrics counts refused connections ($refused)" [ "${refused:-0}" -gt 0 ]

# ---- #2: idle TLS connections of an identity-only certificate ----
for s in 2 3 4 5 6; do
	attack tls-idle 60 127.0.0.$s 2 --cert "$C/idonly/idonly.cert" --key "$C/idonly/idonly.key"
done
hostile_alive "#2 300 idle identity-only TLS connections held"
live=$(metric hypervisor_port_connections)
t_check "#2 the port holds at most 256 connections ($live)" [ "${live:-999}" -le 256 ]
attacks_wait
out=$(attacks_out)
echo "# ${out//$'\n'/ | }"
hostile_alive "#2 after 300 idle TLS connections"

# The idle timeout (-rpcIdleTimeout=4s) closes idle TLS connections.
attack tls-idle 10 127.0.0.2 6 --cert "$C/idonly/idonly.cert" --key "$C/idonly/idonly.key"
attacks_wait
out=$(attacks_out)
t_check "#2 idle RPC connections are closed after -rpcIdleTimeout ($out)" \
	grep -q ' 10 opened, 0 still held' <<<"$out"

# ---- #2: half calls (a method line, half a JSON body) ----
for s in 2 3; do
	attack call-half 40 127.0.0.$s 5 --cert "$C/admin/admin.cert" --key "$C/admin/admin.key"
done
hostile_alive "#2 80 half calls held"
attacks_wait
out=$(attacks_out)
echo "# ${out//$'\n'/ | }"
t_check "#2 half calls are dropped after -rpcIoTimeout" none_held "$out"

# ---- #2: half CONNECT lines, idle TCP, slowloris ----
for s in 2 3 4; do attack connect-half 100 127.0.0.$s 5; done
hostile_alive "#2 300 half CONNECT lines held"
attacks_wait
out=$(attacks_out)
echo "# ${out//$'\n'/ | }"
t_check "#2 half CONNECT lines are dropped after the handshake deadline" \
	none_held "$out"
for s in 2 3 4; do attack tcp-idle 100 127.0.0.$s 7; done
hostile_alive "#2 300 idle TCP connections held"
attacks_wait
out=$(attacks_out)
echo "# ${out//$'\n'/ | }"
t_check "#2 silent TCP connections are dropped after the peek deadline" \
	none_held "$out"
for s in 2 3; do attack http-slow 40 127.0.0.$s 4; done
hostile_alive "#2 80 slowloris connections held"
attacks_wait
attacks_out >/dev/null

# ---- #2: one source cannot take the port: the rest still get in ----
attack tls-idle 200 127.0.0.2 3 --cert "$C/idonly/idonly.cert" --key "$C/idonly/idonly.key"
t_expect "#2 another source's RPC while one source floods" 'IpAddresses' \
	hv_ns "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
	-certFile="$C/user/user.cert" -keyFile="$C/user/user.key" -CAfile="$C/ca/ca.pem" \
	-timeout=10s call Hypervisor.ListVMs '{}'
attacks_wait
out=$(attacks_out)
echo "# $out"
held=$(awk '{print $4}' <<<"$out")
t_check "#2 one source holds at most 40 connections ($held of 200 opened)" [ "${held:-999}" -le 40 ]

# ---- #2: a connect flood ----
attack flood 2000 127.0.0.3 0
hostile_alive "#2 during a flood of 2000 connections"
attacks_wait
attacks_out >/dev/null
hostile_alive "#2 after the attacks"

# ---- #6, #7 at the daemon: TFTP and metadata from a VM on the bridge ----
# A VM (test driver) and a namespace on its tap (name, MAC, IP) standing in for it: the
# metadata service answers only a VM's own tap.
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"h","IpGateway":"10.117.0.1","IpMask":"255.255.255.0"}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.117.0.42","MacAddress":"52:54:00:17:00:2a"}]}' >/dev/null
VA=$(vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=h -vmTags=Name=attacker create-vm 2>&1 | tail -1)
t_expect "a VM for the attacks from its tap" '^10\.117\.0\.42$' echo "$VA"
VM=${SS_ID}vm
md_vm_add "$HV_NS" "$VM" tap0a75002a "$BR" 52:54:00:17:00:2a 10.117.0.42/24 10.117.0.1
ip -n "$VM" route replace 169.254.0.0/16 dev eth0
tftp_lines() { find "$HV_DIR/daemon-log" -type f -exec cat {} + 2>/dev/null | grep -c 'tftpd'; }
lines0=$(tftp_lines)
ip netns exec "$VM" python3 "$SS_TOP/tests/lib/tftp_flood.py" 10.117.0.1 pxelinux.0 2000 4 \
	>"$HV_DIR/tftp.out" 2>&1 &
flood=$!
sleep 1
hostile_alive "#7 during 2,000 TFTP RRQs"
wait "$flood"
echo "# TFTP attacker: $(cat "$HV_DIR/tftp.out")"
sleep 1.5 # the once-a-second "suppressed" line
lines=$(($(tftp_lines) - lines0))
t_check "#7 2,000 refused RRQs wrote $lines log lines (at most 40)" test "$lines" -le 40
hostile_alive "#7 after 2,000 TFTP RRQs"
for ((i = 0; i < 20; i++)); do # the stand-in reaches the metadata service
	md_get "$VM" /latest/meta-data/instance-id
	[ "$MD_CODE" = 200 ] && break
	sleep 0.5
done
t_expect "#6 the VM's stand-in reaches the metadata service" '^200$' echo "$MD_CODE"
for ((i = 0; i < 100 && MD_CODE != 0; i++)); do
	md_get "$VM" '/latest/user-data%00.txt' --path-as-is
	echo "$MD_CODE" >>"$HV_DIR/md.codes"
	# curl sends only one Host header: the request is written raw.
	md_raw "$VM" 'GET /latest/user-data HTTP/1.1\r\nHost: 169.254.169.254\r\nHost: evil.example\r\nConnection: close\r\n\r\n' |
		awk 'NR == 1 {print $2}' >>"$HV_DIR/md.codes"
done &
mdloop=$!
hostile_alive "#6 during 200 malformed metadata requests"
wait "$mdloop"
t_expect "#6 every %00 path and double Host got 400" '^200 400$' \
	bash -c "echo \$(wc -l <'$HV_DIR/md.codes') \$(sort -u '$HV_DIR/md.codes')"
hostile_alive "#6 after 200 malformed metadata requests"
hostile_settled "#1-#7 after the attacks"

# ---- #3: the bridge's MAC does not move across restarts ----
mac0=$(hv_ns cat "/sys/class/net/$BR/address")
macs=$mac0
for i in 1 2 3; do
	hv_daemon_stop
	hv_daemon_start "${flags[@]}" || { t_fail "#3 restart $i" "$(tail -5 "$HV_LOG")"; break; }
	macs="$macs $(hv_ns cat "/sys/class/net/$BR/address")"
done
t_check "#3 the bridge's MAC is the same across three restarts ($macs)" one_value "$macs"
# Without the taps the bridge takes the metadata veth's address: still fixed.
hv_ns ip link del "${SS_ID}tap"
hv_ns ip link del tap0a75002a
hv_daemon_stop
hv_daemon_start "${flags[@]}" || t_fail "#3 restart without the tap"
macs=$(hv_ns cat "/sys/class/net/$BR/address")
for i in 1 2; do
	hv_daemon_stop
	hv_daemon_start "${flags[@]}" || { t_fail "#3 restart $i without the tap"; break; }
	macs="$macs $(hv_ns cat "/sys/class/net/$BR/address")"
done
t_check "#3 with only the metadata veth, the bridge's MAC is fixed and high ($macs)" \
	fe_fixed "$macs"
