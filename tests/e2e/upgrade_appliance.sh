#!/usr/bin/env bash
# timeout: 2400
# The A/B upgrade of a real installed appliance in QEMU (docs/upgrades.md): the
# installed-disk fixture of birth_iso.sh (made here first when missing), converted to
# a raw disk whose slot A gets image v1. The images v1, v2, v3 are the built appliance
# with one more cpio segment in the initrd: this tree's hypervisor daemon behind a
# /usr/sbin/hypervisor wrapper that adds the agent's flags (the fleet manager at the
# bridge address, a 3 s poll, a 60 s trial); v3's wrapper also forces a failing
# health check. A real fleet-manager (topology: this machine requires v1) and the
# harness's imageserver run in the test's namespace. QEMU runs with -no-reboot, so each
# reboot of the guest ends QEMU and the test powers it on again from the disk.
#   - v1 boots from slot A: GetUpgradeStatus says so, the machine is healthy;
#   - RequiredImage v2: the agent fetches, writes slot B, reboots; GRUB tries slot B
#     once; healthy: slot B becomes the default, running v2, LastUpgrade succeeded,
#     the hypervisor's state (its subnet) kept;
#   - RequiredImage v3: written into slot A, tried once, unhealthy: rolled back and
#     rebooted; the disk alone comes back on slot B running v2.
# Not in the parallel group 'birth': it starts from the fixture the births write.
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "appliance upgrade" "$why"; exit 0; }
HVBIN=${SS_NORMAL_BIN:-$SS_TOP/build/bin}/hypervisor
[ -x "$HVBIN" ] || { t_skip "appliance upgrade" "$HVBIN missing (make)"; exit 0; }
for c in cpio zstd debugfs losetup; do
	command -v "$c" >/dev/null || { t_skip "appliance upgrade" "$c not installed"; exit 0; }
done

birth_fixture_fresh || BIRTH_FIXTURE=$SS_TOP/build/birth-fixture-hc
birth_fixture_fresh || BIRTH_FIXTURE=$SS_TOP/build/birth-fixture
if birth_fixture_fresh; then
	echo "# starting from the fixture $BIRTH_FIXTURE"
	BIRTH_CERTS_FROM=$BIRTH_FIXTURE/certs
	birth_setup plain || { t_fail "birth environment with the fixture's CA"; exit 0; }
	t_ok "imageserver with the fixture's fleet CA, images published"
else
	echo "# no fresh installed-disk fixture: installing one from the ISO first"
	birth_setup plain || { t_fail "birth environment"; exit 0; }
	if ! { birth_machine iso 1 default && birth_iso iso && birth_disk iso 4G qcow2; }; then
		t_fail "fixture machine"
		exit 0
	fi
	birth_install iso cd || exit 0
	birth_fixture_save iso 1 || { t_fail "fixture saved"; exit 0; }
fi
idx=$(cat "$BIRTH_FIXTURE/idx")
m=up
BIRTH_HOST[$m]=birth-iso BIRTH_IP[$m]=$(birth_ip "$idx") BIRTH_MAC[$m]=$(birth_mac "$idx")
w=$BIRTH_DIR/upgrade
mkdir -p "$w"

# ---- the images: the appliance plus our daemon behind a wrapper ----
mkimage() { # VERSION EXTRA_FLAGS
	local t=$w/img-$1
	mkdir -p "$t/root/usr/sbin" "$t/tree"
	cp "$HVBIN" "$t/root/usr/sbin/hypervisor.bin"
	printf '#!/bin/sh\nexec /usr/sbin/hypervisor.bin -fleetManagerHostname=%s -upgradeCheckInterval=3s -upgradeTrialTimeout=60s %s "$@"\n' \
		"$BIRTH_GW" "$2" >"$t/root/usr/sbin/hypervisor"
	chmod 0755 "$t/root/usr/sbin/hypervisor" "$t/root/usr/sbin/hypervisor.bin"
	cp "$BIRTH_IMAGES/hypervisor/vmlinuz" "$BIRTH_IMAGES/hypervisor/manifest.json" "$t/tree/"
	{
		cat "$BIRTH_IMAGES/hypervisor/initrd.img"
		(cd "$t/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c)
	} >"$t/tree/initrd.img"
	ip netns exec "$HV_NS" "$SS_BIN/imagetool" -imageServerHostname="$BIRTH_GW" \
		-imageServerPortNum="$BIRTH_IMGPORT" -certDirectory="$C/admin" -CAfile="$C/ca/ca.pem" \
		add "smallstack/hypervisor/$1" "$t/tree"
}
t_check "image v1 published" mkimage v1 ""
t_check "image v2 published" mkimage v2 ""
t_check "image v3 (fails its health check) published" mkimage v3 "-testFailHealthCheck=libvirt"

# ---- the disk: the fixture with v1 in slot A ----
disk=$w/disk.raw
qemu-img convert -O raw "$BIRTH_FIXTURE/disk.qcow2" "$disk" || { t_fail "raw disk"; exit 0; }
read -r off size < <(birth_part_offset "$disk" ss-slot-a)
if ! loop=$(losetup --show -f -o "$off" --sizelimit "$size" "$disk"); then
	t_fail "slot A as a loop device"
	exit 0
fi
echo smallstack/hypervisor/v1 >"$w/image-name"
debugfs -w -R "rm /initrd.img" "$loop" >/dev/null 2>&1
debugfs -w -R "write $w/img-v1/tree/initrd.img /initrd.img" "$loop" >/dev/null 2>&1
debugfs -w -R "rm /image-name" "$loop" >/dev/null 2>&1
debugfs -w -R "write $w/image-name /image-name" "$loop" >/dev/null 2>&1
t_check "slot A holds v1" cmp <(debugfs -R "cat /initrd.img" "$loop" 2>/dev/null) "$w/img-v1/tree/initrd.img"
losetup -d "$loop"
birth_use_disk "$m" "$disk" raw

# ---- the fleet manager ----
if ! { _birth_cert "$w/fm" server fleet-manager "$C/ca" "DNS:localhost, IP:127.0.0.1, IP:$BIRTH_GW" &&
	_birth_cert "$w/fm" admin fmadmin "$C/ca" "DNS:localhost" 'FleetManager.*'; }; then
	t_fail "fleet manager certificates"
	exit 0
fi
mkdir -p "$w/fm/topology/BIRTH" "$w/fm/state" "$w/fm/log"
cp -r "$SS_TOP/tests/fixtures/topology/." "$w/fm/topology/"
printf '[{"Hostname": "%s", "HostIpAddress": "%s", "HostMacAddress": "%s", "Tags": {"RequiredImage": "smallstack/hypervisor/v1"}}]\n' \
	"${BIRTH_HOST[$m]}" "${BIRTH_IP[$m]}" "${BIRTH_MAC[$m]}" >"$w/fm/topology/BIRTH/machines.json"
ip netns exec "$HV_NS" "$SS_BIN/fleet-manager" -stateDir="$w/fm/state" -logDir="$w/fm/log" \
	-portNum=6977 -CAfile="$C/ca/ca.pem" -certFile="$w/fm/server.cert" -keyFile="$w/fm/server.key" \
	-topologyDir="$w/fm/topology" -manageHypervisors -alsoLogToStderr >"$w/fm/stderr" 2>&1 &
FMPID=$!
t_cleanup kill "$FMPID"
for _ in $(seq 100); do hv_ns curl -sf -o /dev/null "http://$BIRTH_GW:6977/healthz" && break; sleep 0.1; done
t_check "fleet manager starts" hv_ns curl -sf -o /dev/null "http://$BIRTH_GW:6977/healthz"
tag() {
	hv_ns "$SS_BIN/srpc-testc" -addr="$BIRTH_GW:6977" -serverName="$BIRTH_GW" \
		-certFile="$w/fm/admin.cert" -keyFile="$w/fm/admin.key" -CAfile="$C/ca/ca.pem" \
		-timeout=30s call FleetManager.ChangeMachineTags \
		"{\"Hostname\":\"${BIRTH_HOST[$m]}\",\"Tags\":{\"RequiredImage\":\"$1\"}}"
}
field() { birth_rpc "$m" Hypervisor.GetUpgradeStatus '{}' | jq -r "$1"; }
wait_field() { # JQ WANT SECS
	local i
	for ((i = 0; i < $3; i += 2)); do
		[ "$(field "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 2
	done
	echo "$1 is $(field "$1" 2>&1), not $2: $(birth_rpc "$m" Hypervisor.GetUpgradeStatus '{}' 2>&1)"
	return 1
}
health() { hv_ns curl -sS --max-time 10 "http://${BIRTH_IP[$m]}:6976/health"; }

# ---- boot 1: v1 from slot A ----
birth_boot_disk "$m" disk || exit 0
t_check "v1 from slot A, required v1" wait_field '[.RunningImage, .RequiredImage, .Slot, .DefaultSlot, .State] | join(" ")' \
	"smallstack/hypervisor/v1 smallstack/hypervisor/v1 A A idle" 60
t_check "/health: healthy" test "$(health | jq -c '[.Healthy, .RunningImage, .Slot]')" = '[true,"smallstack/hypervisor/v1","A"]'

# ---- v2: written into slot B, tried once, kept ----
t_expect "RequiredImage v2" '"Error":""|^\{\}$' tag smallstack/hypervisor/v2
if birth_wait_exit "$m" 600; then
	t_ok "the appliance reboots after writing slot B"
else
	t_fail "the appliance reboots after writing slot B"
	exit 0
fi
birth_boot_disk "$m" disk || exit 0
t_expect "GRUB tries slot B once" 'ss: trying slot B once' grep -a 'trying slot' "${BIRTH_LOG[$m]}"
t_check "the trial succeeds: slot B is the default" wait_field '[.LastUpgrade.Result, .RunningImage, .Slot, .DefaultSlot] | join(" ")' \
	"succeeded smallstack/hypervisor/v2 B B" 120
t_expect "the hypervisor's state is kept (its subnet)" '"Id":"birthnet"' birth_rpc "$m" Hypervisor.ListSubnets '{}'

# ---- v3: fails its health check, back on v2 by itself ----
t_expect "RequiredImage v3" '"Error":""|^\{\}$' tag smallstack/hypervisor/v3
if birth_wait_exit "$m" 600; then
	t_ok "the appliance reboots after writing slot A"
else
	t_fail "the appliance reboots after writing slot A"
	exit 0
fi
BIRTH_SERIAL_SOCK=1 birth_qemu "$m" disk -boot c || { t_fail "QEMU starts for the trial of v3"; exit 0; }
if birth_wait "$m" 'ss: trying slot A once' 120; then t_ok "GRUB tries slot A once"; else t_fail "GRUB tries slot A once"; fi
if birth_wait_exit "$m" 400; then
	t_ok "the unhealthy trial reboots by itself"
else
	t_fail "the unhealthy trial reboots by itself" "$(birth_tail "$m" 15)"
	birth_stop "$m"
fi
birth_boot_disk "$m" disk || exit 0
t_expect "GRUB boots the default slot B again" 'ss: booting slot B' grep -a 'ss: booting slot' "${BIRTH_LOG[$m]}"
t_check "rolled back: running v2 from slot B" wait_field '[.LastUpgrade.Result, .RunningImage, .Slot, .DefaultSlot] | join(" ")' \
	"rolled-back smallstack/hypervisor/v2 B B" 60
t_expect "the record names the failing check" 'not healthy within 60s.*libvirt' field .LastUpgrade.Error
birth_stop "$m"
