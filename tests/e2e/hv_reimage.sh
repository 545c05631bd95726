#!/usr/bin/env bash
# timeout: 900
# A VM's root image changed after creation, with real processes: the hypervisor under a
# private libvirt, an imageserver published to with imagetool, vm-control as the client.
#  - replace-vm-image -imageFile on a running VM: it is stopped, its root swapped for a
#    second test disk (serial marker B instead of A) and started again: the guest prints
#    B; root.old holds the old bytes; restore-vm-image (stopped only) brings A back at
#    the next start; discard-vm-old-image removes root.old;
#  - debug-vm-image boots root.debug (marker D), state debugging; stop-vm removes it;
#    start-vm of a debugging VM powers it down and boots the root again;
#  - a qcow2 image streamed into CreateVm records Volumes[0].VirtualSize (the bytes of
#    its header), and patch-vm-image refuses it (not raw);
#  - patch-vm-image -imageName on a VM made from an image: the image's new file is in
#    the root file system (bytes read back with debugfs), a file under the image's
#    filter is kept, one outside it is gone, root.old is the old root, and
#    get-vm-last-patch-log returns the log (with "keep:" and "delete:" lines);
#  - a separate kernel (SkipBootloader) moves to kernel.old with its root and comes back
#    with restore-vm-image;
#  - refusals: a non-owner, a running VM where the VM must be stopped, PreDelete on a
#    running VM, an impossible size, an image without a filter.
# Six TCG boots (create A, restart B, start A again, debug D twice, start B).
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/hyper.sh"
t_require libvirtd "a private libvirtd runs the VM"
t_require qemu-system-x86_64 "the VM is a QEMU process"
t_require qemu-img "a qcow2 test image is made with qemu-img"
t_require syslinux "the test disks boot with syslinux"
t_require grub-mkimage "image-made roots boot with GRUB (grub-pc-bin)"
t_require mke2fs "root file systems are made by mke2fs -d"
t_require debugfs "the patched root is read back with debugfs"
t_require python3 "the image's filter is added to the stored image with python3"
ss_test_kernel >/dev/null || { t_skip "hv_reimage" "no kernel in /boot"; exit 0; }
for p in imageserver imagetool; do
	[ -x "$SS_BIN/$p" ] || { t_skip "hv_reimage" "$SS_BIN/$p not built"; exit 0; }
done
[ -d /usr/lib/grub/i386-pc ] || { t_skip "hv_reimage" "grub-pc-bin not installed"; exit 0; }

hv_libvirt_start || { t_fail "private libvirt starts"; exit 0; }
hv_bridge "${SS_ID}br" 10.104.0.1/24
hv_certs || { t_fail "test certificates"; exit 0; }
C=$HV_DIR/certs
mkdir -p "$C/publisher"
_hv_cert "$C/publisher" publisher publisher "$C/ca" 'ImageServer.*' 'ObjectServer.*' ||
	{ t_fail "publisher certificate"; exit 0; }
vt=qemu
[ "$(ss_qemu_accel)" = kvm ] && vt=kvm
IMG=$HV_DIR/images
mkdir -p "$IMG"

# ---- three test disks that differ only in their marker ----
for m in A B D; do
	printf 'echo "SS-IMAGE: %s"\nwhile :; do sleep 1; done\n' "$m" >"$IMG/$m.sh"
	hv_test_disk "$IMG/$m.img" "$IMG/$m.sh" || { t_fail "test disk $m"; exit 0; }
done
t_ok "three test disks (markers A, B, D)"

# ---- the image server: two images of a small tree, the second with a filter ----
IS_PORT=6971
IS=$HV_DIR/imageserver
mkdir -p "$IS"/{images,objects,log}
is_start() {
	ip netns exec "$HV_NS" "$SS_BIN/imageserver" -portNum=$IS_PORT -imageDir="$IS/images" \
		-objectDir="$IS/objects" -logDir="$IS/log" -CAfile="$C/ca/ca.pem" \
		-identityCAfile="$C/idca/ca.pem" -certFile="$C/server/cert.pem" \
		-keyFile="$C/server/key.pem" >>"$IS/out" 2>&1 &
	is_pid=$!
	for ((i = 0; i < 100; i++)); do
		hv_ns curl -s -o /dev/null "http://127.0.0.1:$IS_PORT/" && return 0
		sleep 0.1
	done
	return 1
}
is_start || { t_fail "imageserver starts" "$(tail -3 "$IS/out")"; exit 0; }
is_stop() { kill "$(cat "$IS/pid")" 2>/dev/null; }
t_cleanup is_stop
echo "$is_pid" >"$IS/pid"
it() {
	hv_ns "$SS_BIN/imagetool" -imageServerHostname=127.0.0.1 -imageServerPortNum=$IS_PORT \
		-certDirectory="$C/publisher" -CAfile="$C/ca/ca.pem" "$@"
}
for t in one two; do
	mkdir -p "$HV_DIR/tree-$t/etc" "$HV_DIR/tree-$t/var/lib"
	cp "$(ss_test_kernel)" "$HV_DIR/tree-$t/vmlinuz"
	echo "$t" >"$HV_DIR/tree-$t/etc/hostname"
done
echo "only in the first image" >"$HV_DIR/tree-one/etc/old-only"
printf 'patched-bytes-%s\n' "$SS_ID" >"$HV_DIR/tree-two/etc/patched"
t_check "imagetool mkdir base" it mkdir base
t_check "imagetool add base/1" it add base/2026-01-01:00:00:01 "$HV_DIR/tree-one"
t_check "imagetool add base/2 (a new file)" it add base/2026-01-01:00:00:02 "$HV_DIR/tree-two"
t_check "imagetool add base/3 (no filter)" it add base/2026-01-01:00:00:03 "$HV_DIR/tree-two"
# Our imagetool publishes no filter; the original's images carry one. It is added to
# the stored image (the imageserver reads its images at start).
kill "$is_pid"
wait "$is_pid" 2>/dev/null
t_check "the filter /var/lib/keep added to base/2" python3 -c '
import json, sys
p = sys.argv[1]
j = json.load(open(p))
j["Filter"] = {"FilterLines": ["/var/lib/keep"]}
json.dump(j, open(p, "w"))' "$IS/images/base/2026-01-01:00:00:02"
is_start || { t_fail "imageserver restarts" "$(tail -3 "$IS/out")"; exit 0; }
echo "$is_pid" >"$IS/pid"

# ---- the hypervisor ----
hv_daemon_start -virtType="$vt" -stopTimeout=3s -acknowledgeTimeout=60s \
	-imageServerHostname=127.0.0.1 -imageServerPortNum=$IS_PORT -objectCacheSize=256M \
	-localImagesDirectory="$IMG" ||
	{ t_fail "daemon starts" "$(tail -5 "$HV_LOG")"; exit 0; }
t_ok "daemon starts with an image server"
rpc admin Hypervisor.UpdateSubnets '{"Add":[{"Id":"vms","IpGateway":"10.104.0.1","IpMask":"255.255.255.0","DomainNameServers":["10.104.0.1"]}]}' >/dev/null
addrs=$(for i in 10 11 12 13; do printf '{"IpAddress":"10.104.0.%d","MacAddress":"52:54:00:68:00:%02x"},' "$i" "$i"; done)
t_expect "pool of four addresses" '"Error":""' rpc admin Hypervisor.ChangeAddressPool "{\"AddressesToAdd\":[${addrs%,}]}"
state_of() { vmc admin get-vm-info "$1" | sed -n 's/.*"State": "\(.*\)".*/\1/p'; }
wait_state() { # IP STATE SECONDS
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
marker() { # IP MARKER: waits for it in the boot log (truncated at each boot)
	ss_wait_for "$HV_STATE/VMs/$1/bootlog" "SS-IMAGE: $2" 180
}

# ---- replace, restore, discard on a VM from a streamed disk ----
VM=$(vmc admin -memory=128M -milliCPUs=500 -vmTags=Name=reimage -imageFile="$IMG/A.img" create-vm 2>"$HV_DIR/create.err")
t_expect "create-vm from disk A" '^10\.104\.0\.1[0-3]$' echo "$VM"
if marker "$VM" A; then t_ok "the guest prints marker A"; else t_fail "marker A" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"; fi
root=$HV_DIR/volumes/$VM/root
t_expect_fail "replace-vm-image by a non-owner is refused" 'no access to resource' \
	vmc user -imageFile="$IMG/B.img" replace-vm-image "$VM"
t_expect_fail "PreDelete on a running VM is refused (the image is drained)" \
	'VM must be stopped to pre-delete' vmc admin -preDelete -imageFile="$IMG/B.img" replace-vm-image "$VM"
t_expect_fail "an impossible size is refused" 'not enough free space|out of range' \
	vmc admin -imageName=base -minFreeBytes=1099511627776000 replace-vm-image "$VM"
: >"$IMG/empty.img"
t_expect_fail "an empty image file (ImageDataSize 0) is no image" 'no image specified' \
	vmc admin -imageFile="$IMG/empty.img" replace-vm-image "$VM"
t_expect "...and the VM still runs" '^running$' state_of "$VM"
t_check "...without a root.new left behind" test ! -e "$root.new"
t_expect "replace-vm-image -imageFile B on the running VM: stop, swap, start" 'starting VM' \
	vmc admin -imageFile="$IMG/B.img" replace-vm-image "$VM"
if marker "$VM" B; then t_ok "after the restart the guest prints marker B"; else t_fail "marker B" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"; fi
t_check "root.old is the old disk (A), byte for byte" cmp "$root.old" "$IMG/A.img"
t_check "root is the new disk (B)" cmp "$root" "$IMG/B.img"
t_expect "the record's root size is B's size" "\"Size\": $(stat -c %s "$IMG/B.img")" vmc admin get-vm-info "$VM"
t_expect_fail "restore-vm-image on a running VM is refused" 'VM is not stopped' vmc admin restore-vm-image "$VM"
t_expect_fail "restore-vm-image by a non-owner is refused" 'no access to resource' vmc user restore-vm-image "$VM"
t_check "stop-vm" vmc admin stop-vm "$VM"
t_check "restore-vm-image on the stopped VM" vmc admin restore-vm-image "$VM"
t_check "...root is A again" cmp "$root" "$IMG/A.img"
t_check "...and root.old is gone (renamed back)" test ! -e "$root.old"
t_check "start-vm" vmc admin start-vm "$VM"
if marker "$VM" A; then t_ok "the restored root boots: marker A again"; else t_fail "marker A again" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"; fi
t_check "stop-vm" vmc admin stop-vm "$VM"
t_check "replace-vm-image on the stopped VM (B again, stays stopped)" vmc admin -imageFile="$IMG/B.img" replace-vm-image "$VM"
t_expect "...the VM stays stopped" '^stopped$' state_of "$VM"
t_check "...root.old exists" test -e "$root.old"
t_expect_fail "discard-vm-old-image by a non-owner is refused" 'no access to resource' vmc user discard-vm-old-image "$VM"
t_check "discard-vm-old-image" vmc admin discard-vm-old-image "$VM"
t_check "...root.old is gone" test ! -e "$root.old"
t_check "...root (B) is untouched" cmp "$root" "$IMG/B.img"
t_expect_fail "restore-vm-image without root.old fails" "No such file" vmc admin restore-vm-image "$VM"

# ---- debug-vm-image: root.debug boots, stop removes it ----
t_check "debug-vm-image -imageFile D" vmc admin -imageFile="$IMG/D.img" debug-vm-image "$VM"
t_check "...root.debug is disk D" cmp "$root.debug" "$IMG/D.img"
if marker "$VM" D; then t_ok "the guest boots root.debug: marker D"; else t_fail "marker D" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"; fi
t_expect "...in state debugging" '^debugging$' state_of "$VM"
t_check "...and the root is untouched (B)" cmp "$root" "$IMG/B.img"
t_check "stop-vm ends debugging" vmc admin stop-vm "$VM"
t_check "...and removes root.debug" test ! -e "$root.debug"
t_expect "...the VM is stopped" '^stopped$' state_of "$VM"
t_check "debug-vm-image again" vmc admin -imageFile="$IMG/D.img" debug-vm-image "$VM"
t_expect "...debugging" '^debugging$' state_of "$VM"
t_check "start-vm of a debugging VM" vmc admin start-vm "$VM"
if marker "$VM" B; then t_ok "...powers it down and boots the root again: marker B"; else t_fail "marker B after debugging" "$(tail -3 "$HV_STATE/VMs/$VM/bootlog" 2>&1)"; fi
t_expect "...running" '^running$' state_of "$VM"
t_check "...root.debug is gone" test ! -e "$root.debug"
t_check "stop-vm" vmc admin stop-vm "$VM"

# ---- a qcow2 image streamed into CreateVm: its VirtualSize ----
qemu-img create -q -f qcow2 "$IMG/q.qcow2" 96M
# The qcow2 header's size field (bytes 24..31, big-endian) is the virtual size.
vsize=$(od -An -tu1 -j24 -N8 "$IMG/q.qcow2" | awk '{v = 0; for (i = 1; i <= NF; i++) v = v * 256 + $i; printf "%d", v}')
t_expect "the qcow2 header says 96 MiB" '^100663296$' echo "$vsize"
QVM=$(vmc admin -memory=64M -milliCPUs=100 -vmTags=Name=qcow -doNotStart -volumeFormat=qcow2 -imageFile="$IMG/q.qcow2" create-vm 2>/dev/null)
t_expect "create-vm -volumeFormat=qcow2 -imageFile q.qcow2" '^10\.104\.0\.1[0-3]$' echo "$QVM"
t_expect "GetVmInfo: Volumes[0].VirtualSize is the header's $vsize" "\"VirtualSize\":$vsize" rpc admin Hypervisor.GetVmInfo "{\"IpAddress\":\"$QVM\"}"
t_expect "...and Format qcow2" '"Format":"qcow2"' rpc admin Hypervisor.GetVmInfo "{\"IpAddress\":\"$QVM\"}"
t_expect_fail "patch-vm-image on a qcow2 root is refused" 'cannot patch non-RAW volumes' \
	vmc admin -imageName=base/2026-01-01:00:00:02 patch-vm-image "$QVM"
vmc admin destroy-vm "$QVM" >/dev/null 2>&1
# The same in the Go client's wire form (rpc.md §10: its bytes, separate raw write).
hv_ns python3 "$SS_TOP/tests/e2e/hv_reimage_wire.py" "$C/ca/ca.pem" "$C/admin/admin.cert" \
	"$C/admin/admin.key" "127.0.0.1:$HV_PORT" "$IMG/q.qcow2" >"$HV_DIR/wire.out" 2>&1
t_expect "Go-form CreateVm with a streamed qcow2: copying image, then Final" '"Final":true' cat "$HV_DIR/wire.out"
WVM=$(sed -n 's/.*"Final":true.*"IpAddress":"\([0-9.]*\)".*/\1/p' "$HV_DIR/wire.out")
t_expect "...its VirtualSize is the header's $vsize" "\"VirtualSize\":$vsize" rpc admin Hypervisor.GetVmInfo "{\"IpAddress\":\"$WVM\"}"
vmc admin destroy-vm "$WVM" >/dev/null 2>&1

# ---- patch-vm-image on a VM made from an image ----
PVM=$(vmc admin -memory=64M -milliCPUs=100 -vmTags=Name=patch -doNotStart -minFreeBytes=16M -roundupPower=24 -imageName=base/2026-01-01:00:00:01 create-vm 2>"$HV_DIR/pcreate.err")
t_expect "create-vm -imageName base/1 -doNotStart" '^10\.104\.0\.1[0-3]$' echo "$PVM"
proot=$HV_DIR/volumes/$PVM/root
dev="$proot?offset=1048576"
# A file under the filter and one outside it, written into the root as the guest would.
printf 'state-%s\n' "$SS_ID" >"$HV_DIR/state-file"
debugfs -w -R "mkdir /var/lib/keep" "$dev" >/dev/null 2>&1
debugfs -w -R "write $HV_DIR/state-file /var/lib/keep/state" "$dev" >/dev/null 2>&1
debugfs -w -R "write $HV_DIR/state-file /var/lib/junk" "$dev" >/dev/null 2>&1
t_expect "the guest's state file is in the root" "^state-$SS_ID\$" debugfs -R "cat /var/lib/keep/state" "$dev"
cp "$proot" "$HV_DIR/proot.before"
t_expect "get-vm-last-patch-log before any patch: empty" '^$' vmc admin get-vm-last-patch-log "$PVM"
t_expect_fail "patch-vm-image by a non-owner is refused" 'no access to resource' \
	vmc user -imageName=base/2026-01-01:00:00:02 patch-vm-image "$PVM"
t_expect_fail "patch-vm-image with an image without a filter is refused" 'contains no filter' \
	vmc admin -imageName=base/2026-01-01:00:00:03 patch-vm-image "$PVM"
t_check "patch-vm-image -imageName base/2" vmc admin -imageName=base/2026-01-01:00:00:02 patch-vm-image "$PVM"
t_expect "the image's new file is in the root file system (bytes via debugfs)" "^patched-bytes-$SS_ID\$" \
	debugfs -R "cat /etc/patched" "$dev"
t_expect "...the image's changed file too" '^two$' debugfs -R "cat /etc/hostname" "$dev"
t_expect "...the file under the filter is kept" "^state-$SS_ID\$" debugfs -R "cat /var/lib/keep/state" "$dev"
t_expect "...a file of the old image not in the new one is gone" 'File not found' debugfs -R "stat /etc/old-only" "$dev"
t_expect "...and so is a file outside the filter" 'File not found' debugfs -R "stat /var/lib/junk" "$dev"
t_check "root.old is the root before the patch" cmp "$proot.old" "$HV_DIR/proot.before"
t_expect "the record names the new image" '"ImageName": "base/2026-01-01:00:00:02"' vmc admin get-vm-info "$PVM"
vmc admin get-vm-last-patch-log "$PVM" >"$HV_DIR/patch.log" 2>&1
t_expect "get-vm-last-patch-log returns the log" 'update\(base/2026-01-01:00:00:02\) starting' cat "$HV_DIR/patch.log"
t_expect "...which says what was kept" '^keep: /var/lib/keep$' cat "$HV_DIR/patch.log"
t_expect "...and what was dropped" '^delete: /etc/old-only$' cat "$HV_DIR/patch.log"
t_expect_fail "get-vm-last-patch-log by a non-owner is refused (weaknesses #5)" 'no access to resource' \
	vmc user get-vm-last-patch-log "$PVM"
t_check "...byte for byte the lastPatchLog file" cmp "$HV_DIR/patch.log" "$HV_DIR/volumes/$PVM/lastPatchLog"
# The raw reply: {Error, Length, PatchTime} before the bytes.
t_expect "GetVmLastPatchLog's first message carries Length and PatchTime" \
	"\"Length\":$(stat -c %s "$HV_DIR/volumes/$PVM/lastPatchLog"),\"PatchTime\":\"20" \
	first admin Hypervisor.GetVmLastPatchLog "{\"IpAddress\":\"$PVM\"}"
t_check "discard-vm-old-image" vmc admin discard-vm-old-image "$PVM"
t_check "patch-vm-image -skipBackup" vmc admin -skipBackup -imageName=base/2026-01-01:00:00:02 patch-vm-image "$PVM"
t_check "...leaves no root.old" test ! -e "$proot.old"
t_expect "...and the kept file is still there" "^state-$SS_ID\$" debugfs -R "cat /var/lib/keep/state" "$dev"
t_expect "...and the VM stayed stopped" '^stopped$' state_of "$PVM"
# ---- ReplaceVmImage from the image server and from a file:// URL (stopped VM) ----
t_expect "replace-vm-image -imageName base/1 on the stopped VM" 'unpacking image: base/2026-01-01:00:00:01' \
	vmc admin -minFreeBytes=16M -roundupPower=24 -imageName=base/2026-01-01:00:00:01 replace-vm-image "$PVM"
t_expect "...the root is the image's again" '^one$' debugfs -R "cat /etc/hostname" "$dev"
t_expect "...the record names it" '"ImageName": "base/2026-01-01:00:00:01"' vmc admin get-vm-info "$PVM"
t_check "...and root.old is the patched root" bash -c "debugfs -R 'cat /etc/patched' '$proot.old?offset=1048576' 2>/dev/null | grep -q patched-bytes"
t_check "replace-vm-image -skipBackup -imageURL file://.../A.img" \
	vmc admin -skipBackup -imageURL="file://$IMG/A.img" replace-vm-image "$PVM"
t_check "...the root is disk A" cmp "$proot" "$IMG/A.img"
t_expect "...of A's size in the record" "\"Size\": $(stat -c %s "$IMG/A.img")" vmc admin get-vm-info "$PVM"
# ---- a separate kernel (SkipBootloader) follows the root: kernel.old, restored back ----
pdir=$HV_DIR/volumes/$PVM
t_check "replace-vm-image -imageName base/1 -skipBootloader" vmc admin -skipBootloader \
	-minFreeBytes=16M -roundupPower=24 -imageName=base/2026-01-01:00:00:01 replace-vm-image "$PVM"
t_check "...the image's kernel is beside the root" cmp "$pdir/kernel" "$(ss_test_kernel)"
t_check "...root.old is the previous root (disk A)" cmp "$proot.old" "$IMG/A.img"
t_check "discard-vm-old-image" vmc admin discard-vm-old-image "$PVM"
t_check "replace-vm-image -imageFile A (no separate kernel)" vmc admin -imageFile="$IMG/A.img" replace-vm-image "$PVM"
t_check "...the kernel went to kernel.old with the old root" test -e "$pdir/kernel.old" -a ! -e "$pdir/kernel"
t_check "restore-vm-image" vmc admin restore-vm-image "$PVM"
t_check "...brings the kernel back" cmp "$pdir/kernel" "$(ss_test_kernel)"
t_check "...and the image's root" bash -c "debugfs -R 'cat /etc/hostname' '$dev' 2>/dev/null | grep -qx one"
t_check "...and no .old file is left" test ! -e "$pdir/kernel.old" -a ! -e "$proot.old"
t_check "check-vms is clean" "$SS_BIN/hypervisor" -stateDir="$HV_STATE" -volumeDirectories="$HV_DIR/volumes" \
	-libvirtURI="$HV_URI" check-vms
