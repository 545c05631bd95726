#!/usr/bin/env bash
# Prints the size of every image artifact under IMAGES_DIR (default build/images).
set -eu
dir=${1:-build/images}
size() { [ -e "$1" ] && stat -c %s "$1" || echo 0; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
for img in installer hypervisor; do
  [ -f "$dir/$img/initrd.img" ] || continue
  k=$(size "$dir/$img/vmlinuz") i=$(size "$dir/$img/initrd.img")
  printf 'images: %-11s vmlinuz %9d  initrd.img %9d  total %s\n' "$img" "$k" "$i" "$(mb $((k + i)))"
  # Issue 6: the installer (kernel + initrd) must stay within 12,000,000 bytes.
  if [ "$img" = installer ]; then
    printf 'images: %-11s %d bytes left of the 12,000,000-byte budget\n' "" $((12000000 - k - i))
  fi
done
[ -f "$dir/installer.iso" ] && printf 'images: %-11s %s\n' installer.iso "$(mb "$(size "$dir/installer.iso")")"
[ -d "$dir/pxe" ] && printf 'images: %-11s %s in %d files\n' pxe/ "$(mb "$(du -sb "$dir/pxe" | cut -f1)")" \
  "$(find "$dir/pxe" -type f | wc -l)"
exit 0
