#!/usr/bin/env bash
# timeout: 180
# The ChangeVm* methods that edit a VM's record (rpc_vm.c's table of changes), against
# libvirt's test driver: each one stores what it was given in info.json and in
# GetVmInfo, refuses what the spec refuses (a running VM for the offline changes, bad
# values, strangers), and leaves the record as it was after a refusal.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "test certificates are made with openssl"
t_require jq "info.json is read with jq"

hv_setup "${SS_ID}br" 10.103.0.1/24 || exit 0

info() { jq -c "$1" "$HV_STATE/VMs/$VM/info.json"; }

hv_daemon_start -virtType=qemu -stopTimeout=2s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"s","IpGateway":"10.103.0.1","IpMask":"255.255.255.0"}]}' >/dev/null
rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.103.0.10","MacAddress":"52:54:00:67:00:0a"}]}' >/dev/null
VM=$(vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=s create-vm 2>/dev/null)
t_expect "a VM to change" '^10\.103\.0\.10$' echo "$VM"

# Offline changes need a stopped VM: refused while it runs, record unchanged.
t_expect "ChangeVmConsoleType refused while running" 'not stopped|running' \
	rpc user Hypervisor.ChangeVmConsoleType "{\"IpAddress\":\"$VM\",\"ConsoleType\":\"vnc\"}"
t_expect "...console type unchanged" '^"?(none|0|null)?"?$' info '.ConsoleType // "none"'
t_expect "ChangeVmMachineType refused while running" 'not stopped|running' \
	rpc user Hypervisor.ChangeVmMachineType "{\"IpAddress\":\"$VM\",\"MachineType\":\"pc\"}"
t_check "stop the VM" vmc user stop-vm "$VM"

t_expect "ChangeVmConsoleType" '"Error":""' \
	rpc user Hypervisor.ChangeVmConsoleType "{\"IpAddress\":\"$VM\",\"ConsoleType\":\"vnc\"}"
t_expect "...stored in info.json" '^"vnc"$' info '.ConsoleType'
t_expect "...and in GetVmInfo" '"ConsoleType": "vnc"' vmc user get-vm-info "$VM"
t_expect "ChangeVmMachineType" '"Error":""' \
	rpc user Hypervisor.ChangeVmMachineType "{\"IpAddress\":\"$VM\",\"MachineType\":\"pc\"}"
t_expect "...stored in info.json" '^"pc"$' info '.MachineType'
t_expect "ChangeVmDestroyProtection on" '"Error":""' \
	rpc user Hypervisor.ChangeVmDestroyProtection "{\"IpAddress\":\"$VM\",\"DestroyProtection\":true}"
t_expect "...stored in info.json" '^true$' info '.DestroyProtection'
t_check "start the protected VM" vmc user start-vm "$VM"
t_expect_fail "...destroy of the running VM is refused" 'protected' vmc user destroy-vm "$VM"
t_check "...and stop it again" vmc user stop-vm "$VM"
t_expect "ChangeVmDestroyProtection off" '"Error":""' \
	rpc user Hypervisor.ChangeVmDestroyProtection "{\"IpAddress\":\"$VM\",\"DestroyProtection\":false}"
t_expect "...stored in info.json" '^false$' info '.DestroyProtection // false'
t_expect "ChangeVmCpuPriority 5" '"Error":""' \
	rpc user Hypervisor.ChangeVmCpuPriority "{\"IpAddress\":\"$VM\",\"CpuPriority\":5}"
t_expect "...stored in info.json" '^5$' info '.CpuPriority'
t_expect "a negative CPU priority needs admin rights" 'admin' \
	rpc user Hypervisor.ChangeVmCpuPriority "{\"IpAddress\":\"$VM\",\"CpuPriority\":-5}"
t_expect "CPU priority out of range refused" '-20\.\.19' \
	rpc admin Hypervisor.ChangeVmCpuPriority "{\"IpAddress\":\"$VM\",\"CpuPriority\":40}"
t_expect "...refusals left it at 5" '^5$' info '.CpuPriority'
t_expect "ChangeVmTags" '"Error":""' \
	rpc user Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"Name\":\"renamed\",\"k\":\"v\"}}"
t_expect "...stored in info.json" '^\{"Name":"renamed","k":"v"\}$' info '.Tags'
t_expect "ChangeVmOwnerGroups" '"Error":""' \
	rpc user Hypervisor.ChangeVmOwnerGroups "{\"IpAddress\":\"$VM\",\"OwnerGroups\":[\"ops\"]}"
t_expect "...stored in info.json" '^\["ops"\]$' info '.OwnerGroups'
t_expect "another user changes nothing" 'no access' \
	rpc idonly Hypervisor.ChangeVmTags "{\"IpAddress\":\"$VM\",\"Tags\":{\"Name\":\"evil\"}}"
t_expect "...tags as they were" '"renamed"' info '.Tags.Name'
t_expect "an unknown VM" 'no VM with IP address: 10.103.0.99' \
	rpc admin Hypervisor.ChangeVmConsoleType '{"IpAddress":"10.103.0.99","ConsoleType":"vnc"}'
t_expect "info.json is still valid JSON" '^"10\.103\.0\.10"$' info '.Address.IpAddress'
