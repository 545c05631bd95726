#!/usr/bin/env bash
# Writes a hybrid installer ISO: boots as a CD and raw from a USB stick, with
# BIOS (ISOLINUX, isohdpfx MBR) and UEFI (GRUB EFI image in an El Torito FAT
# image, GPT entry via -isohybrid-gpt-basdat). Per-machine configuration (the
# files a netbooted installer fetches by TFTP: config.json, imagename, imageserver,
# storage-layout.json, ...) is baked in under /tftpdata on the ISO; the installer's
# init finds the medium by its volume label (kernel argument ss.label=).
# Reproducible: equal inputs and SOURCE_DATE_EPOCH give an identical ISO.
#
# Usage: iso/mkiso.sh -i IMAGE_DIR -o OUT.iso [-c CONFIG_DIR] [-l LABEL] [-a "KERNEL ARGS"]
#   IMAGE_DIR holds vmlinuz and initrd.img (build/images/installer).
#   CONFIG_DIR: files to bake in (regular files only, no subdirectories).
#   LABEL: ISO volume id (default SS_INSTALLER; A-Z 0-9 _ only).
set -euo pipefail
umask 022
label=SS_INSTALLER
append=
image='' out='' config=''
while getopts "i:o:c:l:a:h" opt; do
  case $opt in
    i) image=$OPTARG ;;
    o) out=$OPTARG ;;
    c) config=$OPTARG ;;
    l) label=$OPTARG ;;
    a) append=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ] || [ -z "$out" ]; then sed -n '2,16p' "$0" >&2; exit 2; fi
[[ $label =~ ^[A-Z0-9_]{1,32}$ ]] || { echo "mkiso: bad label '$label' (A-Z 0-9 _, at most 32)" >&2; exit 2; }
for f in vmlinuz initrd.img; do
  [ -f "$image/$f" ] || { echo "mkiso: $image/$f missing" >&2; exit 1; }
done
if [ -n "$config" ]; then
  [ -d "$config" ] || { echo "mkiso: $config is not a directory" >&2; exit 1; }
  if [ -n "$(find "$config" -mindepth 1 ! -type f)" ]; then
    echo "mkiso: $config may hold only regular files" >&2
    exit 1
  fi
fi
isolinux=/usr/lib/ISOLINUX
bios_modules=/usr/lib/syslinux/modules/bios
for f in "$isolinux/isolinux.bin" "$isolinux/isohdpfx.bin" "$bios_modules/ldlinux.c32"; do
  [ -f "$f" ] || { echo "mkiso: $f missing (apt-get install isolinux syslinux-common)" >&2; exit 1; }
done
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
# FAT stores local time: UTC, so that the build's time zone cannot change a byte.
export TZ=UTC
[ "$SOURCE_DATE_EPOCH" -gt 0 ] || { echo "mkiso: SOURCE_DATE_EPOCH must be positive (xorriso ignores 0)" >&2; exit 2; }
# Fixed FAT volume serial derived from the label, so the ESP image is stable.
fat_serial=$(printf '%s' "$label" | sha256sum | cut -c1-8)
iso_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S00)
cmdline="console=tty0 console=ttyS0,115200n8 ss.label=$label${append:+ $append}"

work=$(mktemp -d "${TMPDIR:-/tmp}/mkiso.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { echo "mkiso: $*"; }

step "boot menus (label $label)"
mkdir -p "$work/isolinux" "$work/efi/EFI/BOOT"
cp "$isolinux/isolinux.bin" "$bios_modules/ldlinux.c32" "$work/isolinux/"
cat >"$work/isolinux/isolinux.cfg" <<CFG
SERIAL 0 115200
PROMPT 0
TIMEOUT 1
DEFAULT installer
LABEL installer
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img $cmdline
CFG
cat >"$work/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
search --no-floppy --set=root --label $label
echo "SmallStack installer: loading kernel and initrd from (\$root)"
linux /vmlinuz $cmdline
initrd /initrd.img
boot
CFG

step "UEFI loader (grub-mkimage x86_64-efi)"
grub-mkimage -O x86_64-efi -p /boot/grub -c "$work/grub.cfg" -o "$work/efi/EFI/BOOT/BOOTX64.EFI" \
  part_gpt part_msdos fat iso9660 search search_label linux echo serial terminal efi_gop boot

step "EFI system partition image (FAT, serial $fat_serial)"
kb=$(( $(stat -c %s "$work/efi/EFI/BOOT/BOOTX64.EFI") / 1024 + 200 ))
mkfs.vfat --invariant -i "$fat_serial" -n EFIBOOT -C "$work/efiboot.img" "$kb" >/dev/null
find "$work/efi" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$work/efiboot.img" "$work/efi/EFI" ::/
touch -d "@$SOURCE_DATE_EPOCH" "$work/efiboot.img"

step "writing $out"
grafts=(/vmlinuz="$image/vmlinuz" /initrd.img="$image/initrd.img" /isolinux/="$work/isolinux"
  /efiboot.img="$work/efiboot.img")
if [ -n "$config" ] && [ -n "$(ls -A "$config")" ]; then
  grafts+=(/tftpdata/="$config")
  step "baked-in configuration: $(cd "$config" && echo *)"
fi
mkdir -p "$(dirname "$out")"
xorriso -report_about WARNING -as mkisofs -o "$out.tmp" -V "$label" -r \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -isohybrid-mbr "$isolinux/isohdpfx.bin" \
  -eltorito-alt-boot -e efiboot.img -no-emul-boot -isohybrid-gpt-basdat \
  --modification-date="$iso_date" -graft-points "${grafts[@]}" --set_all_file_dates "$iso_date"
mv "$out.tmp" "$out"
step "done: $out ($(stat -c %s "$out") bytes)"
