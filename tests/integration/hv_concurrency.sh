#!/usr/bin/env bash
# timeout: 180
# The hypervisor daemon under concurrent callers, against libvirt's test driver: fixes
# of weaknesses of the original (docs/weaknesses.md; each case name starts with its
# item number). SetDisabledState racing with readers (#29); a console client that
# stops reading stalls no VM operation (#30); ownership checks under a held read lock
# (#31); the lock debug methods HoldLock and HoldVmLock only with
# -enableLockDebugMethods (#37).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"
t_require socat "the fake serial port is a socat listener"

hv_setup "${SS_ID}br" 10.102.0.1/24 || exit 0

vmc_t() { # vmc_t CERT ARGS...: vmc that gives up after 20 s
	local who=$1
	shift
	timeout 20 ip netns exec "$HV_NS" "$SS_BIN/vm-control" -certDirectory="$C/$who" -CAfile="$C/ca/ca.pem" \
		-hypervisorHostname=127.0.0.1 -dhcpTimeout=0 "$@"
}
state_of() { vmc admin get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }

hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts (test driver)"

rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"w","IpGateway":"10.102.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.102.0.1"]}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.102.0.10","MacAddress":"52:54:00:66:00:0a"},{"IpAddress":"10.102.0.11","MacAddress":"52:54:00:66:00:0b"}]}' >/dev/null
create() { vmc "$1" -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=w -vmTags=Name="$2" create-vm 2>&1 | tail -1; }
VA=$(create user alice-vm 2>&1)
VB=$(create admin admin-vm 2>&1)
if [[ $VA =~ ^10\.102\.0\.1[01]$ && $VB =~ ^10\.102\.0\.1[01]$ ]]; then
	t_ok "alice and the admin each create a VM"
else
	t_fail "alice and the admin each create a VM" "alice: $VA admin: $VB"
	exit 0
fi
t_expect "bob becomes a hypervisor owner (for #31)" '"Error":""' \
	rpc admin Hypervisor.ChangeOwners '{"OwnerUsers":["bob"]}'

# ---- #37: lock debug methods need -enableLockDebugMethods ----
t_expect_fail "#37 HoldLock is not served without -enableLockDebugMethods" 'unknown method' \
	rpc admin Hypervisor.HoldLock '{"Timeout":1000000}'
t_expect_fail "#37 HoldVmLock is not served without -enableLockDebugMethods" 'unknown method' \
	rpc admin Hypervisor.HoldVmLock "{\"IpAddress\":\"$VB\",\"Timeout\":1000000}"

# ---- #29: SetDisabledState racing with readers ----
# 40 toggles from 4 clients while /metrics, /healthz and GetUpdates are read; the
# last write (enabled) must be what every reader sees afterwards.
race_dir=$HV_DIR/race
mkdir -p "$race_dir"
writers=()
for w in 1 2 3 4; do
	(for i in 1 2 3 4 5 6 7 8 9 10; do
		d=true
		[ $((i % 2)) = 0 ] && d=false
		rpc admin Hypervisor.SetDisabledState "{\"Disable\":$d}" >>"$race_dir/w$w" 2>&1
	done) &
	writers+=($!)
done
for i in $(seq 20); do
	hv_curl metrics -o /dev/null -w '%{http_code}\n' >>"$race_dir/readers" 2>&1
	first user Hypervisor.GetUpdates >/dev/null 2>&1 || echo "GetUpdates failed" >>"$race_dir/readers"
done
wait "${writers[@]}"
t_check "#29 every concurrent SetDisabledState succeeded" bash -c "[ \$(cat '$race_dir'/w* | grep -c '\"Error\":\"\"') = 40 ]"
t_check "#29 every concurrent reader got an answer" bash -c "! grep -qv '^200$' '$race_dir/readers'"
rpc admin Hypervisor.SetDisabledState '{"Disable":true}' >/dev/null
t_expect "#29 disabled: /metrics says so" '^hypervisor_disabled 1$' hv_curl metrics
t_check "#29 disabled: the marker file exists" test -e "$HV_STATE/disabled"
t_expect "#29 disabled: GetUpdates says so" '"Disabled":true' first admin Hypervisor.GetUpdates
t_expect_fail "#29 disabled: CreateVm refused" 'disabled' \
	vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=w -vmTags=Name=refused create-vm
rpc admin Hypervisor.SetDisabledState '{"Disable":false}' >/dev/null
t_expect "#29 enabled again: /metrics says so" '^hypervisor_disabled 0$' hv_curl metrics
t_check "#29 enabled again: the marker file is gone" test ! -e "$HV_STATE/disabled"

# ---- #30: a console client that stops reading stalls no VM operation ----
# The test driver has no QEMU: a socat listener stands in for the VM's serial socket
# and writes without end; vm-control's stdout goes into a pipe nobody reads.
sock=$HV_STATE/VMs/$VB/serial0.sock
hv_ns socat -u OPEN:/dev/zero "UNIX-LISTEN:$sock" >/dev/null 2>&1 &
SERIAL_PID=$!
t_cleanup kill "$SERIAL_PID"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
# shellcheck disable=SC2216 # the reader that never reads is the point
(sleep 600 | vmc admin connect-to-vm-serial-port "$VB" | sleep 600) >/dev/null 2>&1 &
CONSOLE_PID=$!
t_cleanup pkill -P "$CONSOLE_PID"
stalled=
for _ in $(seq 100); do
	# The daemon's side of the console connection has bytes it cannot send.
	q=$(hv_ns ss -tnH state established "( sport = :$HV_PORT )" | awk '$2 > 100000 {print $2}' | head -1)
	[ -n "$q" ] && { stalled=$q; break; }
	sleep 0.1
done
if [ -n "$stalled" ]; then
	t_ok "#30 the console client stopped reading (daemon Send-Q $stalled bytes)"
else
	t_fail "#30 the console client stopped reading" "$(hv_ns ss -tn | tail -5 | tr '\n' ' ')"
fi
t_check "#30 stop of that VM completes while its console is stalled" vmc_t admin stop-vm "$VB"
t_expect "#30 ... and it is stopped" '^stopped$' state_of "$VB"
t_check "#30 start completes while the console is stalled" vmc_t admin start-vm "$VB"
t_check "#30 other VMs' operations complete" vmc_t user -tags=Name=a2 change-vm-tags "$VA"
t_expect "#30 the status page answers" '^200$' hv_curl listVMs -o /dev/null -w '%{http_code}'
pkill -P "$CONSOLE_PID" 2>/dev/null
kill "$SERIAL_PID" 2>/dev/null

# ---- #31: ownership checks need no write lock ----
# A restart with the lock debug methods: HoldLock (read) keeps the manager's read
# lock for 4 s; calls that check ownership must complete while it is held. The
# control (write lock) shows the same calls do wait for a write holder.
t_check "restart with -enableLockDebugMethods" hv_daemon_stop
hv_daemon_start -virtType=qemu -stopTimeout=2s -enableLockDebugMethods || t_fail "restart" "$(tail -5 "$HV_LOG")"
t_expect "#37 HoldLock is served with -enableLockDebugMethods" '"Error":""' \
	rpc admin Hypervisor.HoldLock '{"Timeout":10000000}'
holds() { cat "$HV_DIR"/daemon-log/* 2>/dev/null | grep -c 'lock held for 4000 ms'; }
held_call() { # held_call WRITE CMD...: runs CMD while HoldLock(WRITE) holds the lock for
	# 4 s; prints "during" if CMD finished well before the lock was released, else "after"
	local wl=$1 hp base i
	shift
	base=$(holds)
	rpc admin Hypervisor.HoldLock "{\"Timeout\":4000000000,\"WriteLock\":$wl}" >/dev/null 2>&1 &
	hp=$!
	# The daemon logs once it holds the lock.
	for ((i = 0; i < 100; i++)); do
		[ "$(holds)" -gt "$base" ] && break
		sleep 0.05
	done
	[ "$i" -lt 100 ] || { echo "lock never held"; wait "$hp"; return; }
	"$@" >/dev/null 2>&1
	# A call that waited for the lock returns as the holder is answered, and the
	# holder's client ends a moment later; one that did not wait leaves it seconds.
	sleep 1
	if kill -0 "$hp" 2>/dev/null; then echo during; else echo after; fi
	wait "$hp"
}
t_expect "#31 owner (bob) lists VMs while a read lock is held" '^during$' \
	held_call false rpc idonly Hypervisor.ListVMs '{}'
t_expect "#31 alice reads her VM while a read lock is held" '^during$' \
	held_call false rpc user Hypervisor.GetVmInfo "{\"IpAddress\":\"$VA\"}"
t_expect "#31 alice changes her VM's tags while a read lock is held" '^during$' \
	held_call false vmc user -tags=Name=a3 change-vm-tags "$VA"
t_expect "#31 control: under a write lock the owner's call waits" '^after$' \
	held_call true rpc idonly Hypervisor.ListVMs '{}'

t_check "daemon stops cleanly" hv_daemon_stop
t_check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$HV_LOG'"
