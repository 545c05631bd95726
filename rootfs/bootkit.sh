#!/usr/bin/env bash
# Builds the appliance image's boot kit (boot/ of the hypervisor image): what the
# installer writes to a disk laid out as docs/installer.md says (GPT; p1 ss-bios at
# LBA 2048, 1 MiB; p2 ss-esp; p3/p4 slots labelled SS_SLOT_A/B; ...):
#   bios-boot.img  GRUB's boot.img (440 bytes) for LBA 0, reading core.img at LBA 2048
#   bios-core.img  GRUB i386-pc core image for the BIOS boot partition, its blocklist
#                  pointing at LBA 2049.. (written at LBA 2048)
#   esp.img.gz     the ESP's FAT image (gzip -n): /EFI/BOOT/BOOTX64.EFI (GRUB
#                  x86_64-efi, the removable path), /grub/grub.cfg, /grub/grubenv
#                  (1024 bytes, ss_slot=A), /ss/data.key (4096 zero bytes: the LUKS key
#                  goes there)
#   esp.json       {"Size","GrubenvOffset","GrubenvSize","KeyOffset","KeySize"}: byte
#                  offsets inside esp.img of grubenv and data.key, so the installer
#                  writes them in place without a FAT driver
# Both GRUBs carry every module they need and the same early configuration: find the
# ESP by its label SS_ESP, prefix=(ESP)/grub; normal mode then reads /grub/grub.cfg.
# Reproducible: the bytes depend only on GRUB's files and SOURCE_DATE_EPOCH (every
# FAT timestamp; TZ=UTC because FAT stores local time; fixed volume serial).
#
# Usage: rootfs/bootkit.sh OUT_DIR
set -euo pipefail
out=${1:?usage: bootkit.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export TZ=UTC LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
grub=/usr/lib/grub
for f in "$grub/i386-pc/boot.img" "$grub/i386-pc/diskboot.img" "$grub/x86_64-efi/linux.mod"; do
  [ -f "$f" ] || { echo "bootkit: $f missing (apt-get install grub-pc-bin grub-efi-amd64-bin)" >&2; exit 1; }
done
core_lba=2048               # INST_BIOS_START_LBA (installer/installer.h)
esp_kib=$((64 * 1024))      # INST_ESP_BYTES: the FAT fills the whole ESP
esp_serial=55e5b007         # fixed FAT volume serial ("SS boot")
esp_label=SS_ESP            # INST_LABEL_ESP

work=$(mktemp -d "${TMPDIR:-/tmp}/bootkit.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022
mkdir -p "$out"

# Modules both GRUBs embed; BIOS adds biosdisk, EFI its video output.
modules="part_gpt part_msdos fat ext2 search search_label search_fs_uuid normal configfile
  linux loadenv test echo serial terminal boot sleep reboot halt"
cat >"$work/early.cfg" <<'CFG'
search --no-floppy --set=root --label SS_ESP
set prefix=($root)/grub
CFG

echo "bootkit: bios-core.img (grub-mkimage i386-pc, blocklist at LBA $((core_lba + 1)))"
# shellcheck disable=SC2086
grub-mkimage -O i386-pc -p /grub -c "$work/early.cfg" -o "$work/core.img" biosdisk $modules
python3 "$here/bootkit.py" core-img "$work/core.img" "$out/bios-core.img.tmp" "$core_lba"
echo "bootkit: bios-boot.img (kernel sector $core_lba)"
python3 "$here/bootkit.py" boot-img "$grub/i386-pc/boot.img" "$out/bios-boot.img.tmp" "$core_lba"

echo "bootkit: BOOTX64.EFI (grub-mkimage x86_64-efi)"
mkdir -p "$work/esp/EFI/BOOT" "$work/esp/grub" "$work/esp/ss"
# shellcheck disable=SC2086
grub-mkimage -O x86_64-efi -p /grub -c "$work/early.cfg" -o "$work/esp/EFI/BOOT/BOOTX64.EFI" \
  $modules efi_gop efi_uga all_video

# The boot menu: slot A unless grubenv says ss_slot=B; ss_try=X boots slot X once (an
# upgrade's trial boot: cleared before booting, so a failed trial falls back).
# panic=10: a kernel that panics (also when init dies) reboots after 10 s, so a trial
# image that does not come up at all falls back as well (docs/upgrades.md).
cat >"$work/esp/grub/grub.cfg" <<'CFG'
# SmallStack appliance boot (ESP /grub/grub.cfg; rootfs/bootkit.sh)
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
load_env ss_slot ss_try
if [ "$ss_slot" = B ]; then set slot=B; else set slot=A; fi
if [ "$ss_try" = A -o "$ss_try" = B ]; then
  set slot=$ss_try
  set ss_try=
  save_env ss_try
  echo "ss: trying slot $slot once"
fi
if ! search --no-floppy --set=root --label SS_SLOT_$slot; then
  echo "ss: no file system labelled SS_SLOT_$slot"
  if [ $slot = A ]; then set slot=B; else set slot=A; fi
  search --no-floppy --set=root --label SS_SLOT_$slot
fi
echo "ss: booting slot $slot from ($root)"
linux /vmlinuz console=tty0 console=ttyS0,115200n8 panic=10 ss.slot=$slot
initrd /initrd.img
boot
CFG
grub-editenv "$work/esp/grub/grubenv" create
grub-editenv "$work/esp/grub/grubenv" set ss_slot=A
[ "$(stat -c %s "$work/esp/grub/grubenv")" = 1024 ] || { echo "bootkit: grubenv is not 1024 bytes" >&2; exit 1; }
# data.key: a unique marker first so that its place in the image can be found; the
# marker is zeroed in the image afterwards.
python3 -c 'import hashlib,sys; sys.stdout.buffer.write(b"".join(hashlib.sha256(b"ss-data-key %d" % i).digest() for i in range(128)))' \
  >"$work/esp/ss/data.key"

echo "bootkit: esp.img (FAT32, $esp_kib KiB, serial $esp_serial)"
mkfs.vfat --invariant -F 32 -s 1 -i "$esp_serial" -n "$esp_label" -C "$work/esp.img" "$esp_kib" >/dev/null
find "$work/esp" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$work/esp.img" "$work/esp/EFI" "$work/esp/grub" "$work/esp/ss" ::/
# Offsets: each file's bytes occur exactly once at a sector boundary in the image
# (mcopy writes a small file contiguously into fresh clusters).
grubenv_off=$(python3 "$here/bootkit.py" find "$work/esp.img" "$work/esp/grub/grubenv")
key_off=$(python3 "$here/bootkit.py" find "$work/esp.img" "$work/esp/ss/data.key")
dd if=/dev/zero of="$work/esp.img" bs=4096 count=1 seek="$key_off" oflag=seek_bytes conv=notrunc status=none
# Check through the FAT driver (mtools) that both are where esp.json says.
MTOOLS_SKIP_CHECK=1 mtype -i "$work/esp.img" ::/ss/data.key | cmp -s - <(head -c 4096 /dev/zero) ||
  { echo "bootkit: data.key is not at $key_off" >&2; exit 1; }
MTOOLS_SKIP_CHECK=1 mtype -i "$work/esp.img" ::/grub/grubenv |
  cmp -s - <(dd if="$work/esp.img" bs=1024 count=1 skip="$grubenv_off" iflag=skip_bytes status=none) ||
  { echo "bootkit: grubenv is not at $grubenv_off" >&2; exit 1; }
printf '{"Size":%d,"GrubenvOffset":%d,"GrubenvSize":1024,"KeyOffset":%d,"KeySize":4096}\n' \
  "$(stat -c %s "$work/esp.img")" "$grubenv_off" "$key_off" >"$out/esp.json.tmp"
gzip -n -9 <"$work/esp.img" >"$out/esp.img.gz.tmp"

for f in bios-boot.img bios-core.img esp.img.gz esp.json; do
  touch -d "@$SOURCE_DATE_EPOCH" "$out/$f.tmp"
  mv "$out/$f.tmp" "$out/$f"
done
echo "bootkit: done: $(cd "$out" && stat -c '%n %s' bios-boot.img bios-core.img esp.img.gz | tr '\n' ' ')"
