#!/usr/bin/env bash
# timeout: 1500
# parallel: birth
# Bad input refused before a single disk byte is written: each case boots the
# installer from a per-machine ISO (ss.test=1: it powers off after a failure), sees
# the error on the serial console and compares the SHA-256 of every disk before and
# after:
#   nodisk      no candidate disk (only a removable USB disk, which is no candidate)
#   selector    the configuration names a drive that does not exist (driveSelector)
#   badjson     malformed config.json
#   nofit       a storage layout that does not fit the disk
#   badhash     an object of the image corrupted on the imageserver's disk
#   untrusted   an imageserver whose certificate chains to a CA nobody trusts
#   unreachable an imageserver address where nothing listens
set -u
. "$SS_TOP/tests/lib/tap.sh"
. "$SS_TOP/tests/lib/birth.sh"
why=$(birth_prereqs) || { t_skip "installer refusals" "$why"; exit 0; }
birth_setup plain || { t_fail "birth environment (namespace, certificates, imageserver, published images)"; exit 0; }
birth_imageserver_start 6972 "$C/badsrv" || { t_fail "imageserver with an untrusted certificate"; exit 0; }
t_ok "imageserver (trusted, :$BIRTH_IMGPORT) and one with an untrusted certificate (:6972)"

# refuse CASE IDX ERROR_REGEX: boots, waits for the failure, checks the disks.
refuse() {
	local name=$1 re=$3 before=() after=() i ok=1
	birth_iso "$name" || { t_fail "$name: per-machine ISO"; return; }
	for i in "${!disks[@]}"; do before[i]=$(sha256sum <"${disks[i]}" | cut -d' ' -f1); done
	birth_qemu "$name" cd "${extra[@]}" || { t_fail "$name: QEMU starts"; return; }
	if birth_wait "$name" '(^|] )installer: (FAILED|install complete)' 600; then
		if grep -qaE '(^|] )installer: install complete' "${BIRTH_LOG[$name]}"; then
			t_fail "$name: refused" "the installer installed"
			ok=0
		else
			t_expect "$name: refused with the reason on the serial console" "$re" \
				grep -aE '(^|] )installer: (FAILED|step [a-z]+: FAILED)' "${BIRTH_LOG[$name]}"
		fi
	else
		t_fail "$name: refused with the reason on the serial console" "$(birth_tail "$name")"
		ok=0
	fi
	if [ "$ok" = 1 ] && birth_wait_exit "$name" 120; then
		t_ok "$name: the installer powers off after the failure (ss.test=1)"
	else
		[ "$ok" = 1 ] && t_fail "$name: the installer powers off after the failure (ss.test=1)"
		birth_stop "$name"
	fi
	for i in "${!disks[@]}"; do after[i]=$(sha256sum <"${disks[i]}" | cut -d' ' -f1); done
	if [ "${before[*]}" = "${after[*]}" ]; then
		t_ok "$name: every disk byte-identical (${#disks[@]} disk(s), SHA-256)"
	else
		t_fail "$name: every disk byte-identical" "before ${before[*]} after ${after[*]}"
	fi
}
plain() { # NAME IDX [LAYOUT]: machine with a raw 2 GiB disk
	birth_machine "$1" "$2" "${3:-default}" && birth_disk "$1" 2G raw
	disks=("${BIRTH_DISK[$1]}") extra=()
}

# No candidate disk: only a removable USB disk (with bytes on it) beside the CD.
birth_machine nodisk 20 default
mkdir -p "$BIRTH_DIR/nodisk"
head -c 4M /dev/urandom >"$BIRTH_DIR/nodisk/stick.raw"
truncate -s 256M "$BIRTH_DIR/nodisk/stick.raw"
disks=("$BIRTH_DIR/nodisk/stick.raw")
extra=(-device qemu-xhci -drive "file=$BIRTH_DIR/nodisk/stick.raw,format=raw,if=none,id=st"
	-device "usb-storage,drive=st,removable=on")
refuse nodisk 20 'no (drives|disks?|candidate)|drive'

# A drive selector naming a disk the machine does not have: the installer image with a
# second initramfs appended (as kexec-image does) holding /etc/installer/flags.extra
# (driveSelector=a program that prints "nvme7n1").
plain selector 21
sel=$BIRTH_DIR/selector/image
mkdir -p "$sel/root/etc/installer"
printf '#!/bin/sh\necho nvme7n1\n' >"$sel/root/etc/installer/select-drive"
chmod 755 "$sel/root/etc/installer/select-drive"
echo "driveSelector=/etc/installer/select-drive" >"$sel/root/etc/installer/flags.extra"
cp "$BIRTH_IMAGES/installer/vmlinuz" "$sel/vmlinuz"
{
	cat "$BIRTH_IMAGES/installer/initrd.img"
	pad=$(( (4 - $(stat -c %s "$BIRTH_IMAGES/installer/initrd.img") % 4) % 4 ))
	head -c "$pad" /dev/zero
	(cd "$sel/root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
} >"$sel/initrd.img"
BIRTH_ISO_IMAGE=$sel refuse selector 21 'nvme7n1|unknown drive'

plain badjson 22
printf '{"Machine": {"Hostname": "birth-badjson", ' >"$BIRTH_DIR/badjson/cfg/config.json"
refuse badjson 22 'config\.json'

plain nofit 23 nofit
refuse nofit 23 'fit|too small|space|bytes|needs [0-9]+ MiB'

# One object of smallstack/hypervisor (its initrd, the largest) corrupted on the
# imageserver's disk: same size, one byte flipped.
plain badhash 24
obj=$(find "$BIRTH_OBJECTS" -type f -size "$(stat -c %s "$BIRTH_IMAGES/hypervisor/initrd.img")c" | head -1)
if [ -n "$obj" ]; then
	cp "$obj" "$BIRTH_DIR/badhash/object.orig"
	printf '\xff' | dd of="$obj" bs=1 seek=4096 conv=notrunc status=none
	refuse badhash 24 'hash|mismatch|checksum|SHA'
	cp "$BIRTH_DIR/badhash/object.orig" "$obj"
else
	t_fail "badhash: the initrd's object on the imageserver's disk" "not found under $BIRTH_OBJECTS"
fi

plain untrusted 25
echo "$BIRTH_GW:6972" >"$BIRTH_DIR/untrusted/cfg/imageserver"
refuse untrusted 25 'certificate|verify|trust|TLS|tls'

plain unreachable 26
echo "$BIRTH_GW:6999" >"$BIRTH_DIR/unreachable/cfg/imageserver"
refuse unreachable 26 'unreachable|refused|connect'
