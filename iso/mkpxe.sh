#!/usr/bin/env bash
# Lays out the network-boot tree of the installer for a TFTP (or HTTP) root:
#   pxelinux.0, ldlinux.c32     BIOS PXE (DHCP boot file "pxelinux.%d" with arch 0)
#   pxelinux.cfg/default        PXELINUX menu; per-machine files pxelinux.cfg/01-<mac>
#   pxelinux.7, pxelinux.9      x86-64 UEFI PXE (arch 7 and 9): a GRUB netboot image
#   grub/grub.cfg               its menu, read over TFTP from the same server
#   boot.ipxe                   iPXE script; loads vmlinuz and initrd.img relative to
#                               its own URL (HTTP or TFTP base)
#   vmlinuz, initrd.img         the installer image
# All regular files (TFTP servers that serve images refuse symlinks). Reproducible.
# Usage: iso/mkpxe.sh -i IMAGE_DIR -o OUT_DIR [-a "KERNEL ARGS"]
set -euo pipefail
# Files served as they are: modes must not depend on the build's umask.
umask 022
image='' out='' append=''
while getopts "i:o:a:h" opt; do
  case $opt in
    i) image=$OPTARG ;;
    o) out=$OPTARG ;;
    a) append=$OPTARG ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
if [ -z "$image" ] || [ -z "$out" ]; then sed -n '2,13p' "$0" >&2; exit 2; fi
for f in vmlinuz initrd.img; do
  [ -f "$image/$f" ] || { echo "mkpxe: $image/$f missing" >&2; exit 1; }
done
pxelinux=/usr/lib/PXELINUX/pxelinux.0
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "$pxelinux" "$ldlinux"; do
  [ -f "$f" ] || { echo "mkpxe: $f missing (apt-get install pxelinux syslinux-common)" >&2; exit 1; }
done
cmdline="console=tty0 console=ttyS0,115200n8${append:+ $append}"
step() { echo "mkpxe: $*"; }

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/pxelinux.cfg" "$tmp/grub"
step "BIOS loader (pxelinux.0, ldlinux.c32)"
cp "$pxelinux" "$ldlinux" "$tmp/"
cat >"$tmp/pxelinux.cfg/default" <<CFG
SERIAL 0 115200
PROMPT 0
TIMEOUT 1
DEFAULT installer
LABEL installer
  KERNEL vmlinuz
  APPEND initrd=initrd.img $cmdline
CFG

step "UEFI loader (grub-mkimage x86_64-efi, efinet + tftp) as pxelinux.7 and pxelinux.9"
cat >"$tmp/grub/early.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
configfile (tftp)/grub/grub.cfg
CFG
grub-mkimage -O x86_64-efi -p '(tftp)/grub' -c "$tmp/grub/early.cfg" -o "$tmp/pxelinux.9" \
  efinet tftp net linux configfile echo serial terminal efi_gop normal test boot
rm "$tmp/grub/early.cfg"
cp "$tmp/pxelinux.9" "$tmp/pxelinux.7"
cat >"$tmp/grub/grub.cfg" <<CFG
set timeout=0
echo "SmallStack installer: loading kernel and initrd from (tftp,\$net_default_server)"
linux (tftp)/vmlinuz $cmdline
initrd (tftp)/initrd.img
boot
CFG

step "iPXE script (boot.ipxe)"
cat >"$tmp/boot.ipxe" <<CFG
#!ipxe
# SmallStack installer: vmlinuz and initrd.img are fetched relative to this
# script's own URL, e.g. http://server/installer/boot.ipxe -> .../vmlinuz.
echo SmallStack installer: loading kernel and initrd
kernel vmlinuz initrd=initrd.img $cmdline
initrd initrd.img
boot
CFG

step "kernel and initrd"
cp "$image/vmlinuz" "$image/initrd.img" "$tmp/"
chmod -R u=rwX,go=rX "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
step "done: $out ($(du -sk "$out" | cut -f1) KiB)"
