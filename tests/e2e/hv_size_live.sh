#!/usr/bin/env bash
# timeout: 300
# ChangeVmSize on a booted VM (private libvirt, QEMU; TCG unless KVM works), as the
# original's changeVmMemory/changeVmCPUs (hypervisor/manager/vm.go): nothing changes
# live. While the guest runs, a request that changes nothing and a MilliCPUs change
# keeping one vCPU are taken (the guest keeps running, the domain keeps its vCPU and
# memory); a second vCPU or more memory is refused with "VM is not stopped". Stopped,
# the same change is taken, and the next boot's guest sees 2 CPUs and the new memory.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VM"
t_require qemu-system-x86_64 "the VM is a QEMU process"
t_require syslinux "the test disk boots with syslinux"
t_require jq "GetVmInfo replies are read with jq"
ss_test_kernel >/dev/null || { t_skip "a booted VM" "no kernel in /boot"; exit 0; }

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "${SS_ID}br" 10.109.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
mkdir -p "$HV_DIR/images"
cat >"$HV_DIR/size.sh" <<'SNIPPET'
echo "SS-CPUS $(grep -c ^processor /proc/cpuinfo)"
echo "SS-MEM $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
i=0; while :; do echo "SS-TICK $i"; i=$((i + 1)); sleep 1; done
SNIPPET
hv_test_disk "$HV_DIR/images/size.img" "$HV_DIR/size.sh" || { t_fail "test disk"; exit 0; }
hv_daemon_start -virtType="$vt" -stopTimeout=3s -acknowledgeTimeout=60s \
	-localImagesDirectory="$HV_DIR/images" || { t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts against the private libvirt"

uuid=$(cut -c1-8 "$HV_STATE/uuid")
field() { vmc admin get-vm-info "$VM" | jq -r "$1"; }
dominfo() { hv_virsh dominfo "hv-$uuid-$VM" | awk -F: '/^CPU\(s\)/{c=$2} /^Max memory/{m=$2} END{gsub(/ /,"",c); gsub(/ KiB| /,"",m); print c, m}'; }
size() { printf '{"IpAddress":"%s"%s}' "$VM" "$1"; }
reply() { # METHOD JSON WANT
	local got
	got=$(rpc admin "$1" "$2" 2>&1)
	[ "$got" = "$3" ] || { echo "got: $got"; return 1; }
}
ticks() { grep -c 'SS-TICK' "$HV_STATE/VMs/$VM/bootlog"; }

t_expect "subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"s","IpGateway":"10.109.0.1","IpMask":"255.255.255.0"}]}'
t_expect "one address" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.109.0.10","MacAddress":"52:54:00:6d:00:0a"}]}'
VM=$(vmc admin -memory=128M -milliCPUs=500 -vmTags=Name=size -imageFile="$HV_DIR/images/size.img" \
	create-vm 2>"$HV_DIR/create.err" | tail -1)
[ "$VM" = 10.109.0.10 ] || { t_fail "create-vm" "$VM $(tail -3 "$HV_DIR/create.err")"; exit 0; }
vmc admin acknowledge-vm "$VM" >/dev/null 2>&1
ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-TICK 1' 120 || {
	t_fail "the guest boots" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"
	exit 0
}
t_expect "the guest boots with 1 CPU" '^SS-CPUS 1' grep -a 'SS-CPUS' "$HV_STATE/VMs/$VM/bootlog"
t_expect "the domain: 1 vCPU, 128 MiB" '^1 131072$' dominfo

t_check "running: a request that changes nothing is taken" \
	reply Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":128,"MilliCPUs":500')" '{"Error":""}'
t_check "running: MilliCPUs 900 (still one vCPU) is taken" \
	reply Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":900')" '{"Error":""}'
t_expect "... recorded" '^900$' field .MilliCPUs
t_check "running: 2 vCPUs refused: 'VM is not stopped'" \
	reply Hypervisor.ChangeVmSize "$(size ',"MilliCPUs":1500')" '{"Error":"VM is not stopped"}'
t_check "running: more memory refused: 'VM is not stopped'" \
	reply Hypervisor.ChangeVmSize "$(size ',"MemoryInMiB":192')" '{"Error":"VM is not stopped"}'
t_expect "the domain is unchanged" '^1 131072$' dominfo
before=$(ticks)
sleep 3
t_check "the guest keeps running" test "$(ticks)" -gt "$before"

mem1=$(grep -a 'SS-MEM' "$HV_STATE/VMs/$VM/bootlog" | cut -d' ' -f2 | tr -d '\r')
t_check "stop the VM" vmc admin stop-vm "$VM"
t_check "stopped: 2 vCPUs and 192 MiB are taken" reply Hypervisor.ChangeVmSize \
	"$(size ',"MemoryInMiB":192,"MilliCPUs":1500,"VirtualCPUs":2')" '{"Error":""}'
t_check "start the VM" vmc admin start-vm "$VM"
# The boot log is rewritten at each start (libvirt's log append='off').
if ss_wait_for "$HV_STATE/VMs/$VM/bootlog" 'SS-TICK 1' 120; then
	t_expect "the next boot's guest sees 2 CPUs" '^SS-CPUS 2' grep -a SS-CPUS "$HV_STATE/VMs/$VM/bootlog"
	mem2=$(grep -a 'SS-MEM' "$HV_STATE/VMs/$VM/bootlog" | cut -d' ' -f2 | tr -d '\r')
	t_check "... and more memory than before ($mem1 -> $mem2 KiB)" test "$mem2" -gt "$mem1"
else
	t_fail "the guest boots again" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"
fi
t_expect "the domain: 2 vCPUs, 192 MiB" '^2 196608$' dominfo
t_check "destroy the VM" vmc admin destroy-vm "$VM"
t_check "hypervisor stops" hv_daemon_stop
