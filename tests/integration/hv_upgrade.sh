#!/usr/bin/env bash
# timeout: 420
# The hypervisor's A/B upgrade agent, GET /health and Hypervisor.GetUpgradeStatus
# (docs/upgrades.md) against a real fleet-manager and a real imageserver with real
# certificates, all in the test's network namespace; the agent works on plain files:
# slot directories A/ and B/, a grubenv made by grub-editenv, a kernel command line
# file and a reboot script that only counts. Checked:
#   - the topology requires what runs: running hypervisor/v1 from slot A, /health 200
#     with its seven checks in order, GetUpgradeStatus idle (also for a certificate
#     without grants);
#   - ChangeMachineTags RequiredImage=hypervisor/v2: slot B written with v2's files
#     (slot A untouched), grubenv ss_try=B with ss_slot=A kept, the reboot command run
#     once, the state file records the attempt (Phase rebooting);
#   - the trial boot (the daemon restarted with ss.slot=B, ss_try cleared as GRUB
#     does): healthy, so ss_slot=B and LastUpgrade succeeded, no more reboots; a VM
#     that ran before is running again (its record kept, its domain started anew);
#   - v3 into slot A, then an unhealthy trial (-testFailHealthCheck=libvirt): /health
#     503 naming libvirt, rolled-back, rebooted, ss_slot still B; back on slot B the
#     agent does not try v3 again and /health fails "image";
#   - v4 with an object corrupted on the imageserver's disk: failed with a hash
#     mismatch, slot A not rewritten, no ss_try, no reboot;
#   - an immutable state directory: /health 503 with data-partition failing.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/upgrade.sh"
t_require jq "the answers are read with jq"
t_require openssl "test certificates are made with openssl"
t_require grub-editenv "the GRUB environment block is made and read with grub-editenv"
t_require curl "/health is fetched with curl"

upg_setup 10.116.0.1/24 v1 v2 v3 v4 || exit 0
mkdir -p "$d/slots/A"

# ---- slot A holds v1; slot B is empty; grubenv ss_slot=A ----
cp "$d/src/v1"/* "$d/slots/A/"
echo hypervisor/v1 >"$d/slots/A/image-name"
grub-editenv "$d/grubenv" create
grub-editenv "$d/grubenv" set ss_slot=A
echo "console=ttyS0,115200n8 ss.slot=A" >"$d/cmdline"
env_get() { grub-editenv "$d/grubenv" list | sed -n "s/^$1=//p"; }
AGENT+=(-upgradeSlotDirectory="$d/slots" -upgradeGrubenv="$d/grubenv")

hv_daemon_start -virtType=qemu "${AGENT[@]}" || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_ok "daemon starts with the agent"

# ---- the topology requires what runs ----
t_check "the agent learns RequiredImage hypervisor/v1 from the topology" wait_field .RequiredImage hypervisor/v1
t_expect "GetUpgradeStatus: v1 from slot A, idle" \
	'"RunningImage":"hypervisor/v1".*"Slot":"A","DefaultSlot":"A","State":"idle"' status
t_expect "GetUpgradeStatus: public (a certificate without grants)" '"State":"idle"' status user
h=$(hv_curl health)
t_check "/health: 200" test "$(health_code)" = 200
t_check "/health: healthy, nothing failing" test "$(jq -c '[.Healthy, .Failing]' <<<"$h")" = '[true,[]]'
t_check "/health: the seven checks in order" test "$(jq -c '[.Checks[].Name]' <<<"$h")" = \
	'["daemon","libvirt","dhcp","tftp","metadata","data-partition","image"]'
t_check "/health: RunningImage and Slot" test "$(jq -c '[.RunningImage, .Slot]' <<<"$h")" = '["hypervisor/v1","A"]'
t_check "/health: exactly the documented keys" test "$(jq -c 'keys_unsorted' <<<"$h")" = \
	'["Healthy","Failing","Checks","RunningImage","Slot"]'
t_check "/health: no probe file left in the state directory" \
	test -z "$(find "$HV_STATE" -maxdepth 1 -name '.health-probe*')"

# A running VM: its record is on the data partition (the state directory). libvirt's
# in-process test driver forgets its domain when the daemon stops, as a reboot would.
t_expect "UpdateSubnets" '"Error":""' rpc admin Hypervisor.UpdateSubnets \
	'{"Add":[{"Id":"t","IpGateway":"10.117.0.1","IpMask":"255.255.255.0"}]}'
t_expect "ChangeAddressPool" '"Error":""' rpc admin Hypervisor.ChangeAddressPool \
	'{"AddressesToAdd":[{"IpAddress":"10.117.0.10","MacAddress":"52:54:00:75:00:0a"}]}'
t_expect "a VM is created and runs" '^10\.117\.0\.10$' \
	vmc admin -memory=64M -milliCPUs=100 -minFreeBytes=1M -vmTags=Name=keep create-vm
state_of() { vmc admin get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }

# ---- the tag: v2 into slot B, ss_try=B, one reboot ----
t_expect "ChangeMachineTags RequiredImage=hypervisor/v2" '"Error":""|^\{\}$' tag hypervisor/v2
t_check "the agent reboots into the new slot" wait_field .State rebooting
t_check "slot B holds v2's kernel" cmp "$d/src/v2/vmlinuz" "$d/slots/B/vmlinuz"
t_check "slot B holds v2's initrd and manifest" \
	bash -c "cmp '$d/src/v2/initrd.img' '$d/slots/B/initrd.img' && cmp '$d/src/v2/manifest.json' '$d/slots/B/manifest.json'"
t_check "slot B's image-name is hypervisor/v2" test "$(cat "$d/slots/B/image-name")" = hypervisor/v2
t_check "slot A untouched" bash -c "cmp '$d/src/v1/vmlinuz' '$d/slots/A/vmlinuz' && grep -qx hypervisor/v1 '$d/slots/A/image-name'"
t_check "grubenv: ss_try=B, ss_slot=A kept" test "$(env_get ss_try)/$(env_get ss_slot)" = B/A
t_check "the reboot command ran once" test "$(reboots)" = 1
t_check "the state file records the attempt" test \
	"$(jq -c '[.FromImage, .ToImage, .ToSlot, .Result, .Phase]' "$HV_STATE/upgrade.json")" = \
	'["hypervisor/v1","hypervisor/v2","B","in-progress","rebooting"]'
t_check "LastUpgrade in-progress" test "$(field .LastUpgrade.Result)" = in-progress
sleep 2
t_check "no second attempt while rebooting" test "$(reboots)" = 1

# ---- the trial boot of slot B: healthy ----
hv_daemon_stop
echo "console=ttyS0,115200n8 ss.slot=B" >"$d/cmdline"
grub-editenv "$d/grubenv" set ss_try= # what GRUB does before booting the trial
hv_daemon_start -virtType=qemu "${AGENT[@]}" || {
	t_fail "daemon starts in slot B" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_check "trial: healthy, LastUpgrade succeeded" wait_field .LastUpgrade.Result succeeded
t_check "trial: grubenv ss_slot=B" test "$(env_get ss_slot)" = B
t_expect "GetUpgradeStatus after the upgrade" \
	'^\{"RunningImage":"hypervisor/v2","RequiredImage":"hypervisor/v2","Slot":"B","DefaultSlot":"B","State":"idle","LastUpgrade":\{"FromImage":"hypervisor/v1","ToImage":"hypervisor/v2","Result":"succeeded","Error":"","Time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"\}\}$' \
	compact
t_check "/health: v2 from slot B" test "$(hv_curl health | jq -c '[.Healthy, .RunningImage, .Slot]')" = '[true,"hypervisor/v2","B"]'
t_check "the VM record survived the switch and the VM runs again" test "$(state_of 10.117.0.10)" = running
t_expect "the daemon started it again (its domain was gone)" '10.117.0.10: .*starting it' grep -rh 'starting it' "$HV_DIR/daemon-log"
sleep 2
t_check "no reboot after a healthy trial" test "$(reboots)" = 1

# ---- v3 into slot A, then an unhealthy trial ----
tag hypervisor/v3 >/dev/null
t_check "v3: the agent reboots into slot A" wait_field .State rebooting
t_check "v3: slot A holds v3, grubenv ss_try=A ss_slot=B" \
	test "$(cat "$d/slots/A/image-name") $(env_get ss_try)/$(env_get ss_slot)" = "hypervisor/v3 A/B"
t_check "v3: the reboot command ran" test "$(reboots)" = 2
hv_daemon_stop
echo "ss.slot=A" >"$d/cmdline"
grub-editenv "$d/grubenv" set ss_try=
hv_daemon_start -virtType=qemu "${AGENT[@]}" -upgradeTrialTimeout=3s -testFailHealthCheck=libvirt || {
	t_fail "daemon starts in slot A" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_check "/health: 503 while a check fails" test "$(health_code)" = 503
t_check "/health: Healthy false, Failing [libvirt]" \
	test "$(hv_curl health | jq -c '[.Healthy, .Failing, (.Checks[] | select(.Name == "libvirt") | .Detail)]')" = \
	'[false,["libvirt"],"failing by -testFailHealthCheck"]'
t_check "unhealthy trial: rolled-back" wait_field .LastUpgrade.Result rolled-back 20
t_expect "unhealthy trial: the error names the failing check" 'not healthy within 3s.*libvirt' field .LastUpgrade.Error
t_check "unhealthy trial: the reboot command ran" test "$(reboots)" = 3
t_check "unhealthy trial: ss_slot still B, no ss_try" test "$(env_get ss_slot)/$(env_get ss_try)" = B/
t_check "unhealthy trial: State failed" test "$(field .State)" = failed

# GRUB boots the default slot B again.
hv_daemon_stop
echo "ss.slot=B" >"$d/cmdline"
hv_daemon_start -virtType=qemu "${AGENT[@]}" || {
	t_fail "daemon starts in slot B again" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_check "back on slot B: running v2, required v3" wait_field '[.RunningImage, .RequiredImage, .Slot] | join(" ")' \
	"hypervisor/v2 hypervisor/v3 B"
t_check "back on slot B: LastUpgrade still rolled-back" test "$(field .LastUpgrade.Result)" = rolled-back
t_check "/health: 503 with Failing [image]" \
	test "$(health_code) $(hv_curl health | jq -c .Failing)" = '503 ["image"]'
sleep 3
t_check "a rolled-back image is not tried again" test "$(reboots)" = 3

# ---- v4 with an object corrupted on the imageserver ----
h=$(sha512sum "$d/src/v4/vmlinuz" | cut -c1-128)
obj=$d/is/objects/${h:0:2}/${h:2}
chmod u+w "$obj"
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0xff]))' "$obj"
tag hypervisor/v4 >/dev/null
t_check "corrupt v4: the attempt fails" wait_field '.LastUpgrade | [.ToImage, .Result] | join(" ")' "hypervisor/v4 failed"
t_expect "corrupt v4: the error says hash mismatch" 'mismatch|corrupt' field .LastUpgrade.Error
t_check "corrupt v4: State failed" test "$(field .State)" = failed
t_check "corrupt v4: slot A not rewritten, no ss_try, ss_slot B" \
	test "$(cat "$d/slots/A/image-name") $(env_get ss_try)/$(env_get ss_slot)" = "hypervisor/v3 /B"
sleep 2
t_check "corrupt v4: nothing rebooted, no retry" \
	test "$(reboots) $(jq -r .Result "$HV_STATE/upgrade.json")" = "3 failed"
t_check "no work directory left" test ! -e "$HV_STATE/upgrade-work"

# ---- the data partition stops taking writes (an immutable state directory) ----
if chattr +i "$HV_STATE" 2>/dev/null; then
	t_cleanup chattr -i "$HV_STATE"
	sleep 1.2 # the probe's answer is kept for a second
	t_check "/health: 503, data-partition failing" \
		test "$(health_code) $(hv_curl health | jq -c '[.Failing[] | select(. == "data-partition")]')" = '503 ["data-partition"]'
	dp_detail() { hv_curl health | jq -r '.Checks[] | select(.Name == "data-partition") | .Detail'; }
	t_expect "/health: the detail says why" 'write .*/\.health-probe\..*: Operation not permitted' dp_detail
	chattr -i "$HV_STATE"
	sleep 1.2
	t_check "/health: data-partition healthy again" \
		test "$(hv_curl health | jq -r '.Checks[] | select(.Name == "data-partition") | .Healthy')" = true
else
	t_skip "/health with a state directory that takes no writes" "chattr +i is not supported on $(stat -f -c %T "$HV_STATE")"
fi

hv_daemon_stop
