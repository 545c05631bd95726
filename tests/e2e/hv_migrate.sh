#!/usr/bin/env bash
# timeout: 900
# MigrateVm and CopyVm between two hypervisor daemons, each in its own network
# namespace with its own private libvirt (tests/lib/hyper2.sh), their bridges joined
# by a veth pair so that both serve the same subnet and an address can move.
#   - refusals: a user who does not own the VM, a source hypervisor that does not
#     answer, a VM the source does not have;
#   - migrate a running VM A -> B: the volumes' checksums are equal on B, the VM runs
#     there, its address left A's pool for B's, A holds nothing (ListVMs, VM and
#     volume directories);
#   - copy it B -> A: a new VM with an address of A's pool and the same disk content;
#     the source VM runs again;
#   - kill -9 of the target while it copies a (stopped) VM, then of the source, and
#     both daemons restarted each time: the VM exists exactly once, where it was, in
#     its state, and check-vms is clean on both; kill -9 of the source when the target
#     asks to commit, then commit: the restarted source removes its copy.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
. "$SS_TOP/tests/lib/hyper2.sh"
t_require libvirtd "private libvirtds run the VMs"
t_require qemu-system-x86_64 "VMs are QEMU processes"
t_require syslinux "the test disk boots with syslinux"
t_require sha256sum "volumes are compared by checksum"
ss_test_kernel >/dev/null || { t_skip "migration" "no kernel in /boot"; exit 0; }

vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
NET=10.104.0
IPA=$NET.1
IPB=$NET.2
BIG=$((256 << 20)) # a secondary volume, so that a copy takes a moment

# ---- two environments ----
HV_CERT_SAN="DNS:localhost, IP:127.0.0.1, IP:$IPA, IP:$IPB"
export HV_CERT_SAN
hv_libvirt_start || { t_fail "private libvirt A starts"; exit 0; }
hv_bridge "${SS_ID}ba" "$IPA/24"
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
hv2_save A
t_cleanup hv2_cleanup A
id=$SS_ID
SS_ID=${id}b
hv_libvirt_start || { t_fail "private libvirt B starts"; exit 0; }
SS_ID=$id
hv_bridge "${SS_ID}bb" "$IPB/24"
cp -r "$C" "$HV_DIR/certs"
hv2_save B
t_cleanup hv2_cleanup B
hv2_link A B "${SS_ID}va" "${SS_ID}vb" || { t_fail "veth between the namespaces"; exit 0; }
hv2_use A
hv2_enslave "${SS_ID}va" "${SS_ID}ba"
hv2_use B
hv2_enslave "${SS_ID}vb" "${SS_ID}bb"

mkdir -p "$HV_DIR/images"
IMG=$HV_DIR/images/disk.img
cat >"$HV_DIR/ticks.sh" <<'SNIPPET'
i=0; while :; do echo "SS-TICK $i"; i=$((i + 1)); sleep 5; done
SNIPPET
hv_test_disk "$IMG" "$HV_DIR/ticks.sh" || { t_fail "test disk"; exit 0; }

start_daemon() { # NAME: start (or restart) the daemon of environment NAME
	hv2_use "$1"
	hv_daemon_start -virtType="$vt" -stopTimeout=2s -acknowledgeTimeout=60s \
		-srpcTrustedUsers=hypervisor || return 1
	hv2_save "$1"
}
TMPOUT=$(mktemp "/tmp/${SS_ID}mig.XXXXXX")
t_cleanup rm -f "$TMPOUT"
# NAME: restart in this shell, not in t_check's subshell, so that the new daemon's
# pid is remembered and the cleanup kills it.
restarted() {
	if start_daemon "$1" >"$TMPOUT" 2>&1; then
		t_ok "$1 restarts"
	else
		t_fail "$1 restarts" "$(tail -5 "$TMPOUT" | tr '\n' ' ')"
	fi
}
kill9() { # NAME
	hv2_use "$1"
	hv_daemon_kill9
	hv2_save "$1"
}
on() { # NAME CMD...: CMD against environment NAME
	local name=$1
	shift
	hv2_use "$name"
	"$@"
}
vms() { on "$1" rpc admin Hypervisor.ListVMs '{"Sort":true}' | sed -n 's/.*"IpAddresses":\[\(.*\)\].*/\1/p' | tr -d '"'; }
state_of() { on "$1" vmc admin get-vm-info "$2" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }
check_vms() { # NAME
	hv2_use "$1"
	"$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
		-libvirtURI="$HV_URI" check-vms
}
sums() { # NAME IP: checksums of the VM's volume files, in volume order
	hv2_use "$1"
	(cd "$HV_DIR/volumes/$2" && sha256sum root secondary-volume.0 | cut -d' ' -f1 | tr '\n' ' ')
}
pool_has() { hv2_use "$1" && grep -q "\"$2\"" "$HV_STATE/address-pool.json"; }
has_file() { hv2_use "$1" && test -e "$HV_STATE/VMs/$VM/$2"; } # NAME FILE: of the VM
no_vms() { test -z "$(vms "$1")"; }
in_state() { test "$(state_of "$1" "$VM")" = "$2"; }
wait_for() { # SECONDS CMD...
	local i n=$(($1 * 5))
	shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.2; done
	return 1
}

for e in A B; do
	start_daemon $e || { t_fail "daemon $e starts" "$(tail -5 "$HV_LOG")"; exit 0; }
	on $e t_expect "$e: subnet" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
		"{\"Add\":[{\"Id\":\"t\",\"IpGateway\":\"$IPA\",\"IpMask\":\"255.255.255.0\"}]}"
done
on A t_expect "A: addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	"{\"AddressesToAdd\":[{\"IpAddress\":\"$NET.10\",\"MacAddress\":\"52:54:00:68:00:0a\"},{\"IpAddress\":\"$NET.11\",\"MacAddress\":\"52:54:00:68:00:0b\"}]}"
on B t_expect "B: addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	"{\"AddressesToAdd\":[{\"IpAddress\":\"$NET.20\",\"MacAddress\":\"52:54:00:68:00:14\"}]}"

VM=$(on A vmc admin -memory=128M -milliCPUs=200 -vmTags=Name=mig -imageFile="$IMG" \
	-secondaryVolumeSizes=$BIG create-vm 2>"$HV_DIR/create.err")
[ "$VM" = "$NET.10" ] || { t_fail "a running VM on A" "$VM $(tail -3 "$HV_DIR/create.err")"; exit 0; }
t_ok "a running VM on A"
hv2_use A
# Content that must arrive: random bytes deep in the secondary volume.
head -c 1048576 /dev/urandom | dd of="$HV_DIR/volumes/$VM/secondary-volume.0" bs=1M seek=200 conv=notrunc status=none
SUMS=$(sums A "$VM")

# ---- refusals ----
on B t_expect_fail "alice (not an owner) cannot migrate it" 'no VM with IP address|no access to resource' \
	vmc user -sourceHypervisor="$IPA" migrate-vm "$VM"
on B t_expect "MigrateVm from a hypervisor that does not answer" '"Error":"[^"]+' \
	first admin Hypervisor.MigrateVm "{\"AccessToken\":\"AAAA\",\"IpAddress\":\"$VM\",\"SourceHypervisor\":\"$NET.99:$HV_PORT\"}"
on B t_expect "MigrateVm of a VM the source does not have" "\"Error\":\"no VM with IP address: $NET.77 found\"" \
	first admin Hypervisor.MigrateVm "{\"AccessToken\":\"AAAA\",\"IpAddress\":\"$NET.77\",\"SourceHypervisor\":\"$IPA:$HV_PORT\"}"
on B t_expect "MigrateVm without the owner's token" '"Error":"no access to resource"' \
	first admin Hypervisor.MigrateVm "{\"IpAddress\":\"$VM\",\"SourceHypervisor\":\"$IPA:$HV_PORT\"}"
t_expect "A still runs the VM after the refusals" '^running$' state_of A "$VM"
t_expect "B has no VM" '^$' vms B

# ---- MigrateVm of the running VM, A -> B ----
out=$(echo commit | on B vmc admin -sourceHypervisor="$IPA" migrate-vm "$VM" 2>&1)
t_expect "migrate-vm: the second pass after the stop" '^update volume\(s\)$' echo "$out"
t_expect "migrate-vm: asked to commit" 'Commit VM \(commit/abandon\)' echo "$out"
t_expect "B runs the VM" '^running$' state_of B "$VM"
t_expect "A has no VM" '^$' vms A
t_expect "B lists it" "^$VM\$" vms B
t_expect "the volumes are identical on B" "^$SUMS\$" sums B "$VM"
no_dir() { hv2_use "$1" && { [ ! -e "$HV_STATE/VMs/$VM" ] || { find "$HV_STATE/VMs/$VM"; false; }; }; }
t_check "A: no VM directory" no_dir A
no_vdir() { hv2_use "$1" && test ! -e "$HV_DIR/volumes/$VM"; }
t_check "A: no volume directory" no_vdir A
t_check "the address moved into B's pool" pool_has B "$VM"
t_expect_fail "and out of A's" '' pool_has A "$VM"
committed() { hv2_use "$1" && ! grep -q Uncommitted "$HV_STATE/VMs/$VM/info.json" && ! has_file "$1" migration.json; }
t_check "B's record is committed, no marker left" committed B

# ---- CopyVm, B -> A ----
COPY=$(on A vmc admin -sourceHypervisor="$IPB" copy-vm "$VM" 2>"$HV_DIR/copy.err")
t_expect "copy-vm prints the copy's address from A's pool" "^$NET.11( |$)" echo "$COPY $(cat "$HV_DIR/copy.err")"
t_expect "the copy's volumes are identical" "^$SUMS\$" sums A "$COPY"
t_expect "the copy is stopped" '^stopped$' state_of A "$COPY"
t_expect "the source VM runs again on B" '^running$' state_of B "$VM"
t_check "the copy starts" on A vmc admin start-vm "$COPY"
t_check "destroy the copy" on A vmc admin destroy-vm "$COPY"

# ---- kill -9 of the target while it copies a stopped VM ----
t_check "stop the VM on B" on B vmc admin stop-vm "$VM"
FIFO=$C/../never # fixed paths: HV_DIR changes with the environment
mkfifo "$FIFO"
(on A vmc admin -sourceHypervisor="$IPB" migrate-vm "$VM" <"$FIFO" >"$C/../m1.out" 2>&1) &
mpid=$!
exec 7<>"$FIFO" # keeps the client's stdin open: it never commits
t_check "the target records the incoming VM" wait_for 60 has_file A info.json
t_expect "the source marked it migrating" '^migrating$' state_of B "$VM"
t_check "the source's marker names the target" has_file B migration.json
kill9 A
wait "$mpid" 2>/dev/null
restarted A
kill9 B
restarted B
t_check "B gives the VM back (stopped) after asking A" wait_for 60 in_state B stopped
t_expect "the VM exists once: on B" "^$VM\$" vms B
t_expect "and not on A" '^$' vms A
t_check "B's address pool holds it again" pool_has B "$VM"
t_check "check-vms clean on A" check_vms A
t_check "check-vms clean on B" check_vms B

# ---- kill -9 of the source while the target copies ----
(on A vmc admin -sourceHypervisor="$IPB" migrate-vm "$VM" <"$FIFO" >"$C/../m2.out" 2>&1) &
mpid=$!
t_check "the target records the incoming VM" wait_for 60 has_file A info.json
kill9 B
echo abandon >&7 # in case the copy was done and the target waits for the answer
wait "$mpid" 2>/dev/null
t_expect "the migration fails" 'Error migrating VM' cat "$C/../m2.out"
t_check "A removed the incoming VM" wait_for 30 no_vms A
kill9 A
restarted A
restarted B
t_check "B settles the VM (stopped) after asking A" wait_for 60 in_state B stopped
t_expect "the VM exists once: on B" "^$VM\$" vms B
t_expect "and not on A" '^$' vms A
t_check "check-vms clean on A" check_vms A
t_check "check-vms clean on B" check_vms B
# ---- kill -9 of the source once the target asks to commit; then commit ----
# The target commits, cannot destroy the source's copy (it is down); the restarted
# source asks the target, finds the VM committed there and removes its own.
M3=$C/../m3.out
while read -r -t 0.5 -u 7 _; do :; done # an "abandon" nobody read must not answer this one
(on A vmc admin -sourceHypervisor="$IPB" migrate-vm "$VM" <"$FIFO" >"$M3" 2>&1) &
mpid=$!
t_check "the target asks to commit" wait_for 120 grep -q 'Commit VM' "$M3"
kill9 B
echo commit >&7
wait "$mpid" 2>/dev/null
t_expect "the VM runs on the target" '^running$' state_of A "$VM"
restarted B
t_check "B removes its copy after asking A" wait_for 60 no_vms B
t_expect "the VM exists once: on A" "^$VM\$" vms A
t_check "its address is in A's pool" pool_has A "$VM"
t_check "check-vms clean on A" check_vms A
t_check "check-vms clean on B" check_vms B
exec 7>&-
for e in A B; do on $e t_check "daemon $e stops" hv_daemon_stop; done
