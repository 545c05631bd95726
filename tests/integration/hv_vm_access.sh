#!/usr/bin/env bash
# timeout: 180
# Who may see and do what, against libvirt's in-process test driver: fixes of
# weaknesses of the original (docs/weaknesses.md; each case name starts with its item
# number). Per-VM authorisation of GetUpdates, GetVmVolumeStorageConfiguration,
# ProbeVmPort and ConnectToVmSerialPort (#5); hypervisor owners get VM methods, never
# host-wide ones (#6); ListVolumeDirectories for remote admins (#25); /listVMs and
# /showVM with a VM that has no owner and no CPUs (#26).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"

hv_setup "${SS_ID}br" 10.102.0.1/24 || exit 0

rpc_remote() { rpc_at "10.102.0.1:$HV_PORT" "$@"; }

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

# ---- #5: per-VM authorisation of the remaining read methods ----
upd_user=$(first user Hypervisor.GetUpdates 2>&1)
upd_admin=$(first admin Hypervisor.GetUpdates 2>&1)
upd() { jq -r "$2" <<<"$1" 2>&1 | tr '\n' ' '; }
t_expect "#5 GetUpdates (admin): the first message holds both VMs" "^$VA $VB \$" upd "$upd_admin" '.VMs | keys[]'
t_expect "#5 GetUpdates (admin): with address pool and subnets" '^true true $' \
	upd "$upd_admin" '(.AddressPool | length > 0), (.Subnets | length > 0)'
t_expect "#5 GetUpdates (alice): only her own VM" "^$VA \$" upd "$upd_user" '.VMs | keys[]'
t_expect "#5 GetUpdates (alice): no address pool, subnets or free address counts" '^true $' \
	upd "$upd_user" '.AddressPool == null and .Subnets == null and .NumFreeAddresses == null'
t_expect "#5 GetVmVolumeStorageConfiguration of her own VM" '"Error":"".*"VolumeStorageIndices":\[0\]' \
	rpc user Hypervisor.GetVmVolumeStorageConfiguration "{\"IpAddress\":\"$VA\"}"
t_expect "#5 GetVmVolumeStorageConfiguration of the admin's VM refused" 'no access to resource' \
	rpc user Hypervisor.GetVmVolumeStorageConfiguration "{\"IpAddress\":\"$VB\"}"
t_expect "#5 ProbeVmPort of the admin's VM refused (no port scanner for everyone)" 'no access to resource' \
	rpc user Hypervisor.ProbeVmPort "{\"IpAddress\":\"$VB\",\"PortNumber\":22,\"Timeout\":1000000}"
t_expect "#5 ProbeVmPort of her own VM answered" '^\{"PortIsOpen":false,"Error":""\}$' \
	rpc user Hypervisor.ProbeVmPort "{\"IpAddress\":\"$VA\",\"PortNumber\":22,\"Timeout\":1000000}"
t_expect "#5 ConnectToVmSerialPort of the admin's VM refused" '^\{"Error":"no access to resource"\}$' \
	first user Hypervisor.ConnectToVmSerialPort "{\"IpAddress\":\"$VB\"}"

# ---- #6: hypervisor owners get VM methods, never host-wide ones ----
t_expect "#6 ChangeOwners makes bob an owner" '"Error":""' rpc admin Hypervisor.ChangeOwners '{"OwnerUsers":["bob"]}'
t_expect "#6 owner may stop any VM on the host" '"Error":""' rpc idonly Hypervisor.StopVm "{\"IpAddress\":\"$VB\"}"
t_check "#6 ... and start it again" vmc admin start-vm "$VB"
for m in UpdateSubnets ChangeOwners ChangeAddressPool PrepareVmForMigration; do
	t_expect_fail "#6 owner may not call $m" 'access to method denied' rpc idonly "Hypervisor.$m" '{}'
done

# ---- #25: ListVolumeDirectories for remote admins ----
t_expect "#25 admin from a remote address lists volume directories" "\"$HV_DIR/volumes\"" \
	rpc_remote admin Hypervisor.ListVolumeDirectories '{}'
t_expect "#25 a non-admin from a remote address is refused" 'loopback only|access to method denied' \
	rpc_remote user Hypervisor.ListVolumeDirectories '{}'
t_expect "#25 a non-admin on the host itself may list them" "\"$HV_DIR/volumes\"" \
	rpc user Hypervisor.ListVolumeDirectories '{}'

# ---- #26: /listVMs with a VM without owners or CPUs ----
t_check "stop the admin's VM" vmc admin stop-vm "$VB"
t_check "stop the daemon" hv_daemon_stop
info=$HV_STATE/VMs/$VB/info.json
jq '.OwnerUsers = [] | .MilliCPUs = 0 | .OwnerGroups = []' "$info" >"$info.new" && mv "$info.new" "$info"
hv_daemon_start -virtType=qemu -stopTimeout=2s || t_fail "restart" "$(tail -5 "$HV_LOG")"
t_expect "#26 /listVMs answers 200 with a VM without owners and CPUs" '^200$' \
	hv_curl listVMs -o /dev/null -w '%{http_code}'
t_expect "#26 ... and lists it" "$VB" hv_curl listVMs
t_expect "#26 /showVM of it answers 200" '^200$' hv_curl "showVM?$VB" -o /dev/null -w '%{http_code}'
t_expect "#26 /listVMs?output=json of it" "\"$VB\"" hv_curl "listVMs?output=json"
t_check "#26 the daemon still runs" kill -0 "$HV_PID"
t_check "daemon stops cleanly" hv_daemon_stop
t_check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$HV_LOG'"
