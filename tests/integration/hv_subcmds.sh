#!/usr/bin/env bash
# timeout: 300
# The daemon's maintenance sub-commands (spec hypervisor.md §2): `stop` leaves the VMs
# running and a restarted daemon adopts them; `stop-vms-on-next-stop` + `stop` shuts
# them down, records them crashed, and the next start brings them back;
# `repair-vm-volume-allocations` allocates the blocks of a volume made sparse behind
# the daemon's back (check-vms reports it before, not after). Plus vm-control's
# refusals: a method that needs a grant, called with a certificate granting nothing and
# with an identity-only certificate; a certificate from an unknown CA.
# libvirt's test driver hosted by a private libvirtd (held open, so domains outlive the
# daemon exactly as QEMU domains would; no boots needed).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require openssl "test certificates are made with openssl"

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
HV_URI="test+unix:///default?socket=$HV_DIR/sock/libvirt-sock"
# The test driver frees its state when its last connection closes: hold one open.
mkfifo "$HV_DIR/hold"
virsh -c "$HV_URI" <"$HV_DIR/hold" >/dev/null 2>&1 &
holder=$!
exec 9>"$HV_DIR/hold"
t_cleanup eval "exec 9>&-; kill $holder"
hv_bridge "${SS_ID}br" 10.104.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs

hv() { "$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
	-libvirtURI="$HV_URI" "$@"; }
state_of() { vmc admin get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }
recorded_state() { jq -r .State "$HV_STATE/VMs/$1/info.json"; }
domains() { hv_virsh list --name | grep "^hv-" | sort | tr '\n' ' '; }
start() {
	hv_daemon_start -virtType=qemu -stopTimeout=2s || {
		t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
		exit 0
	}
}

start
t_expect "subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"s","IpGateway":"10.104.0.1","IpMask":"255.255.255.0"}]}'
t_expect "three addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.104.0.10","MacAddress":"52:54:00:68:00:0a"},{"IpAddress":"10.104.0.11","MacAddress":"52:54:00:68:00:0b"},{"IpAddress":"10.104.0.12","MacAddress":"52:54:00:68:00:0c"}]}'
V1=$(vmc admin -memory=16M -milliCPUs=10 -minFreeBytes=1M -vmTags=Name=a create-vm 2>/dev/null)
V2=$(vmc admin -memory=16M -milliCPUs=10 -minFreeBytes=1M -vmTags=Name=b create-vm 2>/dev/null)
t_expect "two VMs created" '^10\.104\.0\.1[0-2] 10\.104\.0\.1[0-2]$' echo "$V1 $V2"
t_expect "both running" '^running running$' echo "$(state_of "$V1") $(state_of "$V2")"
doms=$(domains)
t_expect "two domains" '^hv-[^ ]+ hv-[^ ]+ $' echo "$doms"

# ---- stop: VMs keep running, the restarted daemon adopts them ----
t_check "hypervisor stop exits 0" hv_daemon_stop
t_check "the daemon is gone" bash -c "! kill -0 $HV_PID 2>/dev/null"
t_expect "after stop the domains still run" "^$doms\$" domains
t_expect "...and are recorded running" '^running running$' \
	echo "$(recorded_state "$V1") $(recorded_state "$V2")"
start
t_expect "restarted daemon lists both VMs running" '^running running$' \
	echo "$(state_of "$V1") $(state_of "$V2")"
t_expect "...on the same domains" "^$doms\$" domains
out=$(hv check-vms 2>&1)
t_expect "check-vms: nothing to report" '^0:$' echo "$?:$out"

# ---- stop-vms-on-next-stop ----
t_check "stop-vms-on-next-stop accepted" hv stop-vms-on-next-stop
t_expect "the daemon still runs after it" '^ok$' bash -c "kill -0 $HV_PID && echo ok"
t_check "hypervisor stop exits 0" hv_daemon_stop
t_expect "the VMs were shut down with the daemon" '^$' domains
t_expect "...and recorded crashed (so that the next start brings them back)" '^crashed crashed$' \
	echo "$(recorded_state "$V1") $(recorded_state "$V2")"
start
for ((i = 0; i < 50; i++)); do
	[ "$(state_of "$V1") $(state_of "$V2")" = "running running" ] && break
	sleep 0.2
done
t_expect "the next start brings both back" '^running running$' echo "$(state_of "$V1") $(state_of "$V2")"
t_expect "...each with a domain again" '^hv-[^ ]+ hv-[^ ]+ $' domains
t_check "hypervisor stop exits 0 (no stop-VMs flag left over)" hv_daemon_stop
t_expect "...and this time the VMs keep running" '^hv-[^ ]+ hv-[^ ]+ $' domains

# ---- repair-vm-volume-allocations ----
vol=$(jq -r '.Volumes[0].Filename // empty' "$HV_STATE/VMs/$V1/info.json" 2>/dev/null)
[ -n "$vol" ] || vol=$(find "$HV_DIR/volumes" -path "*$V1*" -type f -name 'root*' | head -1)
size=$(stat -c %s "$vol" 2>/dev/null || echo 0)
t_check "V1's root volume found ($vol, $size bytes)" test "$size" -gt 0
cp --sparse=always "$vol" "$vol.sparse" && mv "$vol.sparse" "$vol"
alloc() { echo $(($(stat -c %b "$vol") * $(stat -c %B "$vol"))); }
t_check "volume made sparse behind the daemon's back ($(alloc) of $size bytes allocated)" test "$(alloc)" -lt "$size"
t_expect_fail --exit=1 "check-vms reports the missing allocation and exits 1" \
	'Total allocation increase required: [1-9]' hv check-vms
t_expect "repair-vm-volume-allocations allocates it and exits 0" 'Total allocation increase: [1-9]' \
	hv repair-vm-volume-allocations
t_check "the volume is fully allocated again ($(alloc) of $size bytes)" test "$(alloc)" -ge "$size"
t_expect "its size did not change" "^$size\$" stat -c %s "$vol"
out=$(hv check-vms 2>&1)
t_expect "check-vms: nothing to report after the repair" '^0:$' echo "$?:$out"

# ---- vm-control refusals ----
start
t_expect "V1 stopped (PrepareVmForMigration wants a stopped VM)" '^$' vmc admin stop-vm "$V1"
t_expect_fail "vm-control, certificate granting nothing: set-vm-migrating (needs a grant) refused" \
	'access to method denied|no access' vmc user set-vm-migrating "$V1"
t_expect_fail "vm-control, identity-only certificate granting Hypervisor.*: set-vm-migrating refused" \
	'access to method denied|no access' vmc idonly set-vm-migrating "$V1"
t_expect_fail "vm-control, certificate of an unknown CA: refused" \
	'certificate|tls|TLS|handshake|alert' vmc stranger list-vms
t_expect "nothing changed: V1 still stopped, not migrating" '^stopped$' state_of "$V1"
t_expect "admin certificate: set-vm-migrating served" '^$' vmc admin set-vm-migrating "$V1"
t_expect "...the VM is migrating" '^migrating$' state_of "$V1"
t_expect "...and unset-vm-migrating" '^$' vmc admin unset-vm-migrating "$V1"
t_expect "...stopped again" '^stopped$' state_of "$V1"
t_check "daemon alive" kill -0 "$HV_PID"
