#!/usr/bin/env bash
# timeout: 420
# A real guest handed from one daemon to another on the same host: daemon A (the test
# namespace) and daemon B (a second namespace and state directory; both drive the one
# private libvirt, volume directories on one file system). The guest prints the last
# sector of its disk and powers off; a token written there on A's disk after its first
# boot is what the guest prints when B boots it after ExportLocalVm (A) and
# vm-control import-local-vm + commit (B); the volume's bytes match; then A destroys
# its exported copy and B's guest boots once more from the same disk.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require syslinux "the test disk boots with syslinux"
t_require jq "replies are taken apart with jq"
ss_test_kernel >/dev/null || { t_skip "export/import with a guest" "no kernel in /boot"; exit 0; }

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "${SS_ID}br" 10.102.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
NSB=${SS_ID}hvb
ip netns add "$NSB" || { t_fail "second namespace"; exit 0; }
stop_b() {
	[ -n "${B_PID:-}" ] && kill -9 "$B_PID" 2>/dev/null
	B_PID=
	cp "$HV_DIR/daemonB.out" "$SS_TOP/build/test-logs/e2e-hv_local-hypervisorB.out" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
t_cleanup stop_b
# B names the bridge of its subnet from its own namespace; libvirt (in A's) plugs the
# taps into A's bridge of the same name.
ip netns exec "$NSB" ip link set lo up
ip netns exec "$NSB" ip link add "${SS_ID}br" type bridge
ip netns exec "$NSB" ip addr add 10.102.0.1/24 dev "${SS_ID}br"
ip netns exec "$NSB" ip link set "${SS_ID}br" up

mkdir -p "$HV_DIR/images" "$HV_DIR/volB" "$HV_DIR/stateB"
cat >"$HV_DIR/token.sh" <<'SNIPPET'
n=$(cat /sys/block/vda/size)
echo "SS-TOKEN: [$(busybox dd if=/dev/vda bs=512 skip=$((n - 1)) count=1 2>/dev/null | busybox tr -d '\000' | busybox head -c 32)]"
SNIPPET
SS_INITRD_MODULES="virtio_pci virtio_blk" hv_test_disk "$HV_DIR/images/token.img" "$HV_DIR/token.sh" ||
	{ t_fail "test disk"; exit 0; }

daemon() { # NS STATE VOLUMES LOG: prints the pid once /healthz answers
	local ns=$1 pid i
	ip netns exec "$ns" "$SS_BIN/hypervisor" -stateDir="$2" -volumeDirectories="$3" \
		-logDir="$2-log" -libvirtURI="$HV_URI" -portNum="$HV_PORT" -virtType="$vt" \
		-stopTimeout=3s -CAfile="$C/ca/ca.pem" -identityCAfile="$C/idca/ca.pem" \
		-certFile="$C/server/cert.pem" -keyFile="$C/server/key.pem" >>"$4" 2>&1 &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if ip netns exec "$ns" curl -sf --max-time 5 "http://127.0.0.1:$HV_PORT/healthz" >/dev/null 2>&1; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}
HV_STATE=$HV_DIR/state HV_LOG=$HV_DIR/daemon.out SB=$HV_DIR/stateB VB=$HV_DIR/volB
HV_PID=$(daemon "$HV_NS" "$HV_STATE" "$HV_DIR/volumes" "$HV_LOG") || { t_fail "daemon A starts" "$(tail -5 "$HV_LOG")"; exit 0; }
B_PID=$(daemon "$NSB" "$SB" "$VB" "$HV_DIR/daemonB.out") || { t_fail "daemon B starts" "$(tail -5 "$HV_DIR/daemonB.out")"; exit 0; }
t_ok "daemons A and B start against one private libvirt"

rpcb() {
	ip netns exec "$NSB" "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
		-certFile="$C/user/user.cert" -keyFile="$C/user/user.key" -CAfile="$C/ca/ca.pem" -timeout=30s call "$@"
}
state() { # RPC-FUNCTION IP
	"$1" user Hypervisor.GetVmInfo "{\"IpAddress\":\"$2\"}" 2>/dev/null | jq -r .VmInfo.State
}
rpcb_user() { shift; rpcb "$@"; }
wait_stopped() { # RPC-FUNCTION IP SECONDS
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(state "$1" "$2")" = stopped ] && return 0
		sleep 0.2
	done
	return 1
}

subnet='{"Add":[{"Id":"w","IpGateway":"10.102.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.102.0.1"]}]}'
rpc admin Hypervisor.UpdateSubnets "$subnet" >/dev/null
rpc admin Hypervisor.ChangeAddressPool '{"AddressesToAdd":[{"IpAddress":"10.102.0.10","MacAddress":"52:54:00:66:00:0a"}]}' >/dev/null
rpcb_admin() {
	ip netns exec "$NSB" "$SS_BIN/srpc-testc" -addr="127.0.0.1:$HV_PORT" -serverName=localhost \
		-certFile="$C/admin/admin.cert" -keyFile="$C/admin/admin.key" -CAfile="$C/ca/ca.pem" -timeout=30s call "$@"
}
rpcb_admin Hypervisor.UpdateSubnets "$subnet" >/dev/null
rpcb_admin Hypervisor.ChangeAddressPool '{"AddressesToAdd":[{"IpAddress":"10.102.0.20","MacAddress":"52:54:00:66:00:14"}]}' >/dev/null

VM=$(vmc user -memory=128M -milliCPUs=500 -vmTags=Name=token -imageFile="$HV_DIR/images/token.img" create-vm 2>"$HV_DIR/create.err")
t_expect "alice creates the VM on A" '^10\.102\.0\.10$' echo "$VM"
if wait_stopped rpc "$VM" 120; then
	t_ok "the guest booted on A, printed the empty last sector and powered off"
else
	t_fail "the guest powers off on A" "state $(state rpc "$VM"); $(grep -a SS- "$HV_STATE/VMs/$VM/bootlog" | tail -3)"
fi
t_expect "...its first boot saw no token" 'SS-TOKEN: \[\]' cat "$HV_STATE/VMs/$VM/bootlog"

TOKEN=token-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
root=$HV_DIR/volumes/$VM/root
size=$(stat -c %s "$root")
printf '%s' "$TOKEN" | dd of="$root" bs=512 seek=$((size / 512 - 1)) conv=notrunc 2>/dev/null
SUM=$(sha256sum "$root" | cut -d' ' -f1)

COOKIE=$(base64 -w0 "$HV_STATE/root-cookie")
rpc user Hypervisor.ExportLocalVm "{\"IpAddress\":\"$VM\",\"VerificationCookie\":\"$COOKIE\"}" >"$HV_DIR/export.json" 2>&1
t_expect "A exports the stopped VM" '^ exporting$' jq -r '[.Error, .VmInfo.State] | join(" ")' "$HV_DIR/export.json"
jq '.VmInfo' "$HV_DIR/export.json" >"$HV_DIR/vminfo.json"
t_expect "vm-control import-local-vm on B, committed" "Commit VM $VM" \
	bash -c "echo commit | ip netns exec '$NSB' '$SS_BIN/vm-control' -certDirectory='$C/user' -CAfile='$C/ca/ca.pem' \
		-hypervisorHostname=127.0.0.1 import-local-vm '$HV_DIR/vminfo.json' '$root'"
if ss_wait_for "$SB/VMs/$VM/bootlog" "SS-TOKEN: \\[$TOKEN\\]" 120; then
	t_ok "the guest, booted by B, reads the token written on A's disk"
else
	t_fail "the guest, booted by B, reads the token" "$(grep -a SS- "$SB/VMs/$VM/bootlog" 2>&1 | tail -3)"
fi
t_expect "B's volume has A's bytes" "^$SUM\$" bash -c "sha256sum '$VB/$VM/root' | cut -d' ' -f1"
info=$(rpcb Hypervisor.GetVmInfo "{\"IpAddress\":\"$VM\"}" 2>&1)
t_expect "B: the VM is committed and alice's" '^false alice$' \
	jq -r '[(.VmInfo.Uncommitted // false), (.VmInfo.OwnerUsers | join(","))] | join(" ")' <<<"$info"
t_check "the guest powers off on B" wait_stopped rpcb_user "$VM" 120
t_expect "A destroys its exported copy" '"Error":""' rpc user Hypervisor.DestroyVm "{\"IpAddress\":\"$VM\"}"
t_check "A: nothing left of the VM; its address left A's pool" \
	bash -c "[ ! -e '$HV_STATE/VMs/$VM' ] && [ ! -e '$HV_DIR/volumes/$VM' ] && ! grep -q '\"$VM\"' '$HV_STATE/address-pool.json'"
t_check "B starts the VM again" ip netns exec "$NSB" "$SS_BIN/vm-control" -certDirectory="$C/user" \
	-CAfile="$C/ca/ca.pem" -hypervisorHostname=127.0.0.1 -dhcpTimeout=0 start-vm "$VM"
if ss_wait_for "$SB/VMs/$VM/bootlog" "SS-TOKEN: \\[$TOKEN\\]" 120; then
	t_ok "...and its guest still reads the token (A's destroy took only A's names)"
else
	t_fail "the guest reads the token after A's destroy" "$(grep -a SS- "$SB/VMs/$VM/bootlog" 2>&1 | tail -3)"
fi
t_check "the guest powers off on B again" wait_stopped rpcb_user "$VM" 120
t_check "daemon A stops cleanly" hv_daemon_stop
t_check "daemon B stops cleanly" bash -c "'$SS_BIN/hypervisor' -stateDir='$SB' stop && for i in \$(seq 100); do kill -0 $B_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
t_check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$HV_LOG' '$HV_DIR/daemonB.out'"
