#!/usr/bin/env bash
# timeout: 300
# serial
# The upgrade agent on a boot disk laid out as the installer lays it out (docs/
# upgrades.md, installer.md "Disk layout"), attached as a partitioned loop device: GPT
# partitions ss-esp (the boot kit's esp.img with GRUB's environment block inside the
# FAT), ss-slot-a (ext4 SS_SLOT_A holding v1), ss-slot-b (ext4 SS_SLOT_B, empty), each
# attached as a loop device at its offset (this host's loop driver makes no partition
# devices) and described by a uevent file as the kernel writes it for a GPT partition
# (PARTNAME=...), in a directory given as -upgradeSysBlockDirectory. No slot directory
# and no grubenv file are given: the agent finds the partitions by name, reads the
# running image by mounting slot A, writes slot B with mkfs.ext4 -d, and sets ss_try
# inside the ESP in place. Checked with debugfs and mtools:
# slot B's label and files, slot A untouched, grubenv ss_try=B ss_slot=A as GRUB reads
# it from the FAT; then the trial boot of slot B (ss.slot=B): the image read from the
# partition, healthy, ss_slot=B, ss_try cleared.
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/upgrade.sh"
t_require jq "the answers are read with jq"
t_require openssl "test certificates are made with openssl"
t_require sfdisk "the disk is partitioned with sfdisk"
t_require losetup "the disk is a loop device"
t_require debugfs "slots are read with debugfs"
t_require mtype "the ESP is read with mtools"
t_require mkfs.ext4 "slots are ext4"
esp_gz=${SS_IMAGES:-$SS_TOP/build/images}/hypervisor/boot/esp.img.gz
if [ ! -f "$esp_gz" ]; then
	t_skip "upgrade on a partitioned disk" "$esp_gz missing (make images)"
	exit 0
fi

upg_setup 10.118.0.1/24 v1 v2 || exit 0

# ---- the disk: 1 MiB gap, ESP 64 MiB, two 16 MiB slots ----
disk=$d/disk.raw
truncate -s 100M "$disk"
sfdisk -q "$disk" <<'EOF' || t_fail "sfdisk"
label: gpt
start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ss-esp
size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-slot-a
size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=ss-slot-b
EOF
mkdir -p "$d/slot-a"
cp "$d/src/v1"/* "$d/slot-a/"
echo hypervisor/v1 >"$d/slot-a/image-name"
# One loop device per partition (this host's loop driver makes no partition devices),
# and for each a uevent file as the kernel writes it for a GPT partition.
declare -A dev
n=0
for name in ss-esp ss-slot-a ss-slot-b; do
	n=$((n + 1))
	off=$(sfdisk -J "$disk" | jq ".partitiontable.partitions[$((n - 1))].start * 512")
	size=$(sfdisk -J "$disk" | jq ".partitiontable.partitions[$((n - 1))].size * 512")
	if ! l=$(losetup --show -f -o "$off" --sizelimit "$size" "$disk"); then
		t_fail "loop device for $name"
		exit 0
	fi
	t_cleanup losetup -d "$l"
	dev[$name]=$l
	mkdir -p "$d/sys/$(basename "$l")"
	printf 'MAJOR=7\nMINOR=%s\nDEVNAME=%s\nDEVTYPE=partition\nPARTN=%s\nPARTNAME=%s\n' \
		"${l#/dev/loop}" "$(basename "$l")" "$n" "$name" >"$d/sys/$(basename "$l")/uevent"
done
# A whole disk (no PARTNAME) is passed over.
mkdir -p "$d/sys/vdz" && printf 'MAJOR=252\nMINOR=0\nDEVNAME=vdz\nDEVTYPE=disk\n' >"$d/sys/vdz/uevent"
esp=${dev[ss-esp]} sa=${dev[ss-slot-a]} sb=${dev[ss-slot-b]}
gunzip -c "$esp_gz" | dd of="$esp" bs=1M conv=fsync status=none
if ! { mke2fs -q -F -t ext4 -L SS_SLOT_A -d "$d/slot-a" "$sa" && mke2fs -q -F -t ext4 -L SS_SLOT_B "$sb"; }; then
	t_fail "slot file systems"
fi
echo "console=ttyS0,115200n8 panic=10 ss.slot=A" >"$d/cmdline"
AGENT+=(-upgradeSysBlockDirectory="$d/sys")
env_get() { MTOOLS_SKIP_CHECK=1 mtype -i "$esp" ::/grub/grubenv 2>/dev/null | sed -n "s/^$1=//p"; }
t_check "the boot kit's grubenv says ss_slot=A" test "$(env_get ss_slot)" = A

hv_daemon_start -virtType=qemu "${AGENT[@]}" || {
	t_fail "daemon starts" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_check "the running image read from slot A's partition" wait_field '[.RunningImage, .Slot, .DefaultSlot] | join(" ")' "hypervisor/v1 A A"

t_expect "ChangeMachineTags RequiredImage=hypervisor/v2" '"Error":""|^\{\}$' tag hypervisor/v2
t_check "the agent writes slot B and reboots" wait_field .State rebooting
slotcat() { debugfs -R "cat /$2" "$1" 2>/dev/null; }
t_check "slot B: still labelled SS_SLOT_B" test "$(e2label "$sb")" = SS_SLOT_B
t_check "slot B: image-name hypervisor/v2" test "$(slotcat "$sb" image-name)" = hypervisor/v2
t_check "slot B: v2's kernel" cmp <(slotcat "$sb" vmlinuz) "$d/src/v2/vmlinuz"
t_check "slot B: v2's initrd and manifest" \
	bash -c "cmp <(debugfs -R 'cat /initrd.img' '$sb' 2>/dev/null) '$d/src/v2/initrd.img' &&
		cmp <(debugfs -R 'cat /manifest.json' '$sb' 2>/dev/null) '$d/src/v2/manifest.json'"
t_check "slot A untouched" test "$(slotcat "$sa" image-name)" = hypervisor/v1
t_check "grubenv in the ESP: ss_try=B, ss_slot=A" test "$(env_get ss_try)/$(env_get ss_slot)" = B/A
t_check "the FAT is still clean (fsck.vfat -n)" fsck.vfat -n "$esp"
t_check "the reboot command ran once" test "$(reboots)" = 1

# ---- the trial boot of slot B ----
hv_daemon_stop
echo "console=ttyS0,115200n8 panic=10 ss.slot=B" >"$d/cmdline"
hv_daemon_start -virtType=qemu "${AGENT[@]}" || {
	t_fail "daemon starts in slot B" "$(tail -5 "$HV_LOG")"
	exit 0
}
t_check "trial: succeeded" wait_field .LastUpgrade.Result succeeded
t_check "trial: the running image read from slot B's partition" \
	test "$(field '[.RunningImage, .Slot, .DefaultSlot] | join(" ")')" = "hypervisor/v2 B B"
t_check "grubenv in the ESP: ss_slot=B, ss_try cleared" test "$(env_get ss_slot)/$(env_get ss_try)" = B/
t_check "no second reboot" test "$(reboots)" = 1
hv_daemon_stop
