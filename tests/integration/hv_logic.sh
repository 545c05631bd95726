#!/usr/bin/env bash
# timeout: 240
# The hypervisor daemon against libvirt's in-process test driver (no real boots):
# state directory layout, RPC surface with real clients (vm-control, srpc-testc),
# address pool and subnets (#14, #45), per-VM authorisation (#5, #6), acknowledgement
# (#18), hostname (#12), migration preparation (#13), refusals, status pages (#4, #26,
# #54), control socket and SIGHUP (#39).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/prom.sh"
t_require curl "status pages are fetched with curl"
t_require openssl "test certificates are made with openssl"

hv_setup "${SS_ID}br" 10.100.0.1/24 || exit 0

state_of() { vmc admin get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }

t_expect "hypervisor -h prints the usage" 'stateDir' "$SS_BIN/hypervisor" -h
t_expect_fail --exit=2 "unknown sub-command exits 2 with the usage" '^Usage: hypervisor ' "$SS_BIN/hypervisor" bogus

hv_daemon_start -virtType=qemu -stopTimeout=2s -acknowledgeTimeout=3s || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts (test driver) and answers /healthz"

# ---- state directory (spec §3) ----
mode() { stat -c %a "$1"; }
t_expect "uuid: 32 hex chars + newline, 0644" '^644 33 [0-9a-f]{32}$' \
	bash -c "echo \$(stat -c '%a %s' '$HV_STATE/uuid') \$(cat '$HV_STATE/uuid')"
t_expect "root-cookie: 32 bytes, 0600" '^600 32$' stat -c '%a %s' "$HV_STATE/root-cookie"
t_expect "key.pem: PKCS#8 RSA key, 0600" '^600$' mode "$HV_STATE/key.pem"
t_expect "key.pem holds a 3072-bit key" '3072 bit' openssl pkey -in "$HV_STATE/key.pem" -text -noout
t_expect "control socket 0600" '^600 socket$' stat -c '%a %F' "$HV_STATE/control"
t_expect "VMs directory 0755" '^755$' mode "$HV_STATE/VMs"
# The original answers an empty BaseUrl without -identityProvider (no error).
t_expect "GetIdentityProvider without a provider: empty BaseUrl, no Error" '^\{"Error":"","BaseUrl":""\}$' \
	rpc user Hypervisor.GetIdentityProvider

# ---- subnets and address pool ----
t_expect "UpdateSubnets adds a subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.100.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.100.0.1"]},{"Id":"u","IpGateway":"10.101.0.1","IpMask":"255.255.255.0"}]}'
t_expect "subnets.json written (pretty, sorted)" '^    \{' cat "$HV_STATE/subnets.json"
t_expect "UpdateSubnets refuses the hypervisor subnet" 'hypervisor' rpc admin Hypervisor.UpdateSubnets '{"Delete":["hypervisor"]}'
t_expect "ChangeAddressPool adds addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.100.0.10","MacAddress":"52:54:00:64:00:0a"},{"IpAddress":"10.100.0.11","MacAddress":"52:54:00:64:00:0b"},{"IpAddress":"10.101.0.10","MacAddress":"52:54:00:65:00:0a"}]}'
t_expect "a bad address rejects the whole request" 'no subnet matching: 10.9.9.9' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.100.0.12","MacAddress":"52:54:00:64:00:0c"},{"IpAddress":"10.9.9.9","MacAddress":"52:54:00:64:00:0d"}]}'
t_check "nothing of the rejected request was added" bash -c "! grep -q 10.100.0.12 '$HV_STATE/address-pool.json'"
t_expect "duplicate MAC refused" 'duplicate MAC' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.100.0.13","MacAddress":"52:54:00:64:00:0a"}]}'

# ---- VMs (two subnets: pick one) ----
t_expect_fail "create without subnet refused when several are permitted" 'multiple available subnets' \
	vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=x create-vm
t_expect "alice creates a VM" '^10\.100\.0\.1[01]$' vmc user -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=t -vmTags=Name=alice1 create-vm
VM1=$(vmc admin list-vms | head -1)
t_expect "it runs" '^running$' state_of "$VM1"
t_expect "info.json has VolumeLocations" 'VolumeLocations' cat "$HV_STATE/VMs/$VM1/info.json"
t_expect "create-request.json written" 'MemoryInMiB' cat "$HV_STATE/VMs/$VM1/create-request.json"
t_expect "root volume in the volume directory" '^1048576$' stat -c %s "$HV_DIR/volumes/$VM1/root"
t_expect "admin creates a second VM: a different address" '^10\.100\.0\.1[01]$' \
	vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=t -vmTags=Name=y create-vm
VM2=$(vmc admin list-vms | grep -v "^$VM1\$" | head -1)
t_check "the two VMs have distinct addresses" test -n "$VM2" -a "$VM1" != "$VM2"
t_expect_fail "a third VM in the full subnet is refused" 'no free address' \
	vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -subnetId=t -vmTags=Name=y create-vm
avail=$(hv_curl listAvailableAddresses)
t_check "no free address left in subnet t" bash -c "! grep -q '10\.100\.' <<<'$avail'"

# #5: non-admins see only their own VMs.
t_expect "alice lists only her VM" "^$VM1\$" vmc user list-vms
t_expect_fail "alice cannot read the admin's VM" 'no VM with IP address' vmc user get-vm-info "$VM2"
t_expect_fail "alice cannot stop the admin's VM" 'no access to resource' vmc user stop-vm "$VM2"
infos=$(vmc user get-vm-infos)
t_expect "GetVmInfos for alice holds one VM" '^1$' bash -c "grep -c '\"State\"' <<<'$infos'"

# Lifecycle.
t_check "stop (test driver powers down at once)" vmc user stop-vm "$VM1"
t_expect "stopped" '^stopped$' state_of "$VM1"
t_expect_fail "stopping again is refused" 'already stopped' vmc user stop-vm "$VM1"
t_check "start" vmc user start-vm "$VM1"
t_expect "running again" '^running$' state_of "$VM1"
t_check "change tags" vmc user -tags=Name=renamed,team=x change-vm-tags "$VM1"
t_expect "tags stored" 'renamed' cat "$HV_STATE/VMs/$VM1/info.json"
t_check "#12 change hostname" vmc user -hostname=newname change-vm-hostname "$VM1"
t_expect "#12 new hostname recorded" '"Hostname": "newname"' cat "$HV_STATE/VMs/$VM1/info.json"
t_expect_fail "invalid hostname refused" 'invalid hostname' vmc user -hostname='bad_name!' change-vm-hostname "$VM1"
t_expect_fail "change size needs a stopped VM" 'not stopped' vmc user -memory=128M change-vm-memory "$VM1"
t_expect "#13 PrepareVmForMigration on an unknown VM fails" 'no VM with IP address' \
	rpc admin Hypervisor.PrepareVmForMigration '{"Enable":true,"IpAddress":"10.100.0.99"}'
t_expect "#13 PrepareVmForMigration of a running VM fails" 'not stopped' \
	rpc admin Hypervisor.PrepareVmForMigration "{\"Enable\":true,\"IpAddress\":\"$VM2\"}"

# #14: a subnet in use cannot be deleted; free addresses go with a deleted subnet.
t_expect "#14 deleting a subnet with VMs is refused" 'would be in no subnet' \
	rpc admin Hypervisor.UpdateSubnets '{"Delete":["t"]}'
t_expect "#14 subnets.json unchanged" '"t"' cat "$HV_STATE/subnets.json"
t_expect "#14 deleting subnet u drops its free address" '"Error":""' rpc admin Hypervisor.UpdateSubnets '{"Delete":["u"]}'
t_check "#14 10.101.0.10 left the pool file" bash -c "! grep -q 10.101.0.10 '$HV_STATE/address-pool.json'"
t_expect "#14 later pool writes still work" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.100.0.20","MacAddress":"52:54:00:64:00:14"}]}'

# Destroy frees the address and the volumes.
t_check "destroy alice's VM" vmc user destroy-vm "$VM1"
t_check "its state directory is gone" test ! -e "$HV_STATE/VMs/$VM1"
t_check "its volume directory is gone" test ! -e "$HV_DIR/volumes/$VM1"
t_expect "its address is free again" "$VM1" cat "$HV_STATE/address-pool.json"
t_expect "and listed as available" "$VM1" hv_curl listAvailableAddresses

# #18: unacknowledged VMs are destroyed; a late AcknowledgeVm is refused.
# srpc-testc reads the first reply message and hangs up: nobody acknowledges.
first=$(rpc admin Hypervisor.CreateVm '{"MemoryInMiB":64,"MilliCPUs":100,"MinimumFreeBytes":1048576,"SubnetId":"t"}' 2>&1)
VM3=$(sed -n 's/.*"IpAddress":"\([0-9.]*\)".*/\1/p' <<<"$first")
t_check "#18 CreateVm answered with the new VM's address" test -n "$VM3"
sleep 5
t_check "#18 the unacknowledged VM is destroyed" test ! -e "$HV_STATE/VMs/$VM3"
t_expect "#18 a late AcknowledgeVm is refused, not answered ok" 'no VM with IP address|not acknowledged in time' \
	rpc admin Hypervisor.AcknowledgeVm "{\"IpAddress\":\"$VM3\"}"
t_expect "#18 the log says why" 'not acknowledged' cat "$HV_DIR"/daemon-log/latest
t_expect "#18 acknowledging an acknowledged VM is fine" '"Error":""' \
	rpc admin Hypervisor.AcknowledgeVm "{\"IpAddress\":\"$VM2\"}"
t_expect "#18 ... and idempotent" '"Error":""' rpc admin Hypervisor.AcknowledgeVm "{\"IpAddress\":\"$VM2\"}"

# Refusals.
t_expect_fail "a certificate from an unknown CA is refused" 'certificate|handshake|alert|unknown ca' \
	vmc stranger list-vms
t_expect_fail "identity-only certificate: grants ignored, admin method denied" 'access to method denied' \
	rpc idonly Hypervisor.ChangeAddressPool '{}'
t_expect "identity-only certificate: public method allowed" 'IpAddresses' rpc idonly Hypervisor.ListVMs '{}'
t_expect_fail "CA certificate without grants: admin method denied" 'access to method denied' \
	rpc user Hypervisor.UpdateSubnets '{}'

# #6, #45: hypervisor owners get VM methods, not host-wide ones; persisted.
t_expect "ChangeOwners" '"Error":""' rpc admin Hypervisor.ChangeOwners '{"OwnerUsers":["bob"]}'
t_expect "#45 owners.json written" 'bob' cat "$HV_STATE/owners.json"
t_expect "#6 owner (bob) may read every VM" "$VM2" rpc idonly Hypervisor.ListVMs '{}'
t_expect_fail "#6 owner may not ChangeAddressPool" 'access to method denied' rpc idonly Hypervisor.ChangeAddressPool '{}'

# ---- status pages ----
t_expect "/ overview" 'hypervisor status page' hv_curl ""
for p in listVMs "listVMs?output=json" "listVMs?output=text" "showVM?$VM2" "showVM?$VM2&output=json" \
	"showVmBootLog?$VM2" subnets addresses logs listSubnets listAvailableAddresses \
	listRegisteredAddresses listVolumeDirectories showVolumeDirectories metrics healthz; do
	t_expect "GET /$p answers 200" '^200$' hv_curl "$p" -o /dev/null -w '%{http_code}'
done
t_expect "/listVMs lists the VM" "$VM2" hv_curl listVMs
t_expect "/showVM of an unknown VM is 404" '^404$' hv_curl "showVM?10.1.1.1" -o /dev/null -w '%{http_code}'
t_expect "/healthz says OK" '^OK$' hv_curl healthz
hv_curl metrics >"$HV_DIR/metrics.txt"
t_check "/metrics is valid Prometheus text" prom_check "$HV_DIR/metrics.txt"
t_expect "/metrics counts the running VM" 'hypervisor_vms\{state="running"\} 1' cat "$HV_DIR/metrics.txt"
# #4: a caller that is not on loopback gets the summary and health, nothing else.
remote() { hv_ns curl -sS --max-time 10 --interface 10.100.0.1 "$@"; }
t_expect "#4 remote caller: summary 200" '^200$' remote -o /dev/null -w '%{http_code}' "http://10.100.0.1:$HV_PORT/"
summary=$(remote "http://10.100.0.1:$HV_PORT/")
t_check "#4 remote caller: summary names no VM" bash -c "! grep -q '$VM2' <<<'$summary'"
for p in listVMs "showVmBootLog?$VM2" logs "showVM?$VM2"; do
	t_expect "#4 remote caller: /$p forbidden" '^403$' remote -o /dev/null -w '%{http_code}' "http://10.100.0.1:$HV_PORT/$p"
done
t_expect "#4 remote caller: /healthz allowed" '^200$' remote -o /dev/null -w '%{http_code}' "http://10.100.0.1:$HV_PORT/healthz"

# ---- SIGHUP (#39) and restart with state ----
nlogs() { find "$HV_DIR/daemon-log" -mindepth 1 -maxdepth 1 ! -name '.*' | wc -l; }
before=$(nlogs)
sleep 1.1
kill -HUP "$HV_PID"
sleep 0.5
t_check "#39 SIGHUP keeps the daemon running" kill -0 "$HV_PID"
t_expect "#39 SIGHUP reopened the logs (new file)" "^$((before + 1))\$" nlogs

t_check "hypervisor stop via the control socket" hv_daemon_stop
t_check "stop removed root-cookie" test ! -e "$HV_STATE/root-cookie"
hv_daemon_start -virtType=qemu -stopTimeout=2s || t_fail "restart" "$(tail -5 "$HV_LOG")"
t_expect "after restart the VM is listed" "$VM2" vmc admin list-vms
t_expect "after restart it runs again (test driver lost the domain: restarted)" '^running$' state_of "$VM2"
t_expect "#45 owners survive a restart" "$VM2" rpc idonly Hypervisor.ListVMs '{}'
t_expect "#18 AcknowledgeVm of a VM loaded from disk" '"Error":""' \
	rpc admin Hypervisor.AcknowledgeVm "{\"IpAddress\":\"$VM2\"}"
t_expect_fail "hypervisor stop without a daemon fails" 'Error connecting to' \
	"$SS_BIN/hypervisor" -stateDir="/tmp/${SS_ID}-nonexistent" stop
